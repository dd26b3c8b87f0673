//! Synthetic but realistic plans for demos, scale tests and benchmarks (`peerplan generate`).
//!
//! Accounts of up to ten VPCs, three regions, a hub per account with its spokes, small meshes among spokes,
//! cross-account links between hubs, a few pending and inter-region peerings; per VPC a main route table
//! (routes to every peer), a public table with an internet gateway, a default and a restricted ACL, and three
//! security groups (web, app, db) whose endpoints listen on 443, 8080 and 5432. Deterministic for a seed.

use std::net::Ipv4Addr;

use crate::{cidr::Cidr, ids::*, model::*};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenerateOptions {
    pub vpcs: usize,
    pub subnets_per_vpc: usize,
    pub endpoints_per_subnet: usize,
    pub seed: u64,
}

/// Sizes that cannot be laid out in the private ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("{vpcs} VPCs do not fit: at most 16384 (as /22 blocks of 10.0.0.0/8)")]
    TooManyVpcs { vpcs: usize },
    #[error("{subnets} subnets per VPC do not fit: at most {max} /24 subnets in each {block} VPC")]
    TooManySubnets {
        subnets: usize,
        max: usize,
        block: String,
    },
    #[error("{endpoints} endpoints per subnet do not fit: at most 240 in a /24")]
    TooManyEndpoints { endpoints: usize },
}

/// SplitMix64: tiny, deterministic, good enough for layouts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// Generates a plan.
pub fn generate(o: &GenerateOptions) -> Result<Plan, GenerateError> {
    if o.vpcs > 16384 {
        return Err(GenerateError::TooManyVpcs { vpcs: o.vpcs });
    }
    // The widest blocks that fit: /16 (256 subnets each) up to 256 VPCs, /20 (16) up to 4096, /22 (4) beyond.
    let (vpc_len, max_subnets) = match o.vpcs {
        0..=256 => (16u8, 256),
        257..=4096 => (20u8, 16),
        _ => (22u8, 4),
    };
    if o.subnets_per_vpc > max_subnets {
        return Err(GenerateError::TooManySubnets {
            subnets: o.subnets_per_vpc,
            max: max_subnets,
            block: format!("/{vpc_len}"),
        });
    }
    if o.endpoints_per_subnet > 240 {
        return Err(GenerateError::TooManyEndpoints {
            endpoints: o.endpoints_per_subnet,
        });
    }
    let mut rng = Rng(o.seed);
    let mut plan = Plan::new(format!(
        "generated: {} VPCs × {} subnets × {} endpoints (seed {})",
        o.vpcs, o.subnets_per_vpc, o.endpoints_per_subnet, o.seed
    ));
    let accounts = o.vpcs.div_ceil(10).max(1);
    for a in 0..accounts {
        plan.accounts.push(Account {
            id: format!("acct-{a:03}").into(),
            name: format!("Team {a}"),
        });
    }
    let base = |i: usize| -> u32 { 0x0a00_0000 | ((i as u32) << (32 - vpc_len)) };
    let net = |addr: u32, len: u8| {
        Cidr::from(ipnet::Ipv4Net::new(Ipv4Addr::from(addr), len).expect("valid length"))
    };
    let vid = |i: usize| VpcId::from(format!("vpc-{i:04}"));
    for i in 0..o.vpcs {
        let account = i / 10;
        // Hubs live in the first region; spokes mostly too, some elsewhere.
        let region = if i % 10 == 0 || rng.below(5) > 0 {
            REGIONS[0]
        } else {
            REGIONS[1 + rng.below(2) as usize]
        };
        plan.vpcs.push(Vpc {
            id: vid(i),
            name: if i % 10 == 0 {
                format!("hub-{account}")
            } else {
                format!("spoke-{i}")
            },
            account: format!("acct-{account:03}").into(),
            region: region.into(),
            cidr: net(base(i), vpc_len),
            secondary_cidrs: vec![],
            ipv6_cidrs: vec![],
            position: Some(Position {
                x: (i % 40) as f64 * 320.0,
                y: (i / 40) as f64 * 240.0,
            }),
        });
    }
    // Peerings: spokes to their hub, small meshes of four spokes, hub to the next account's hub.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for i in 0..o.vpcs {
        let hub = i / 10 * 10;
        if i != hub {
            pairs.push((hub, i));
        }
        if i % 10 != 0 && i % 4 == 1 {
            for j in i + 1..(i + 4).min(o.vpcs) {
                if j / 10 == i / 10 && j % 10 != 0 {
                    pairs.push((i, j));
                }
            }
        }
        if i % 10 == 0 && i + 10 < o.vpcs {
            pairs.push((i, i + 10));
        }
    }
    for (n, (a, b)) in pairs.iter().enumerate() {
        let status = if n % 17 == 16 {
            PeeringStatus::Pending
        } else {
            PeeringStatus::Active
        };
        let (va, vb) = (&plan.vpcs[*a], &plan.vpcs[*b]);
        plan.peerings.push(Peering {
            id: format!("pcx-{n:05}").into(),
            requester: PeeringSide {
                vpc: va.id.clone(),
                account: va.account.clone(),
                region: va.region.clone(),
            },
            accepter: PeeringSide {
                vpc: vb.id.clone(),
                account: vb.account.clone(),
                region: vb.region.clone(),
            },
            status,
            options: PeeringOptions {
                dns_resolution: n % 3 == 0,
            },
            status_message: None,
        });
    }
    let mut peer_routes: Vec<Vec<Route>> = vec![Vec::new(); o.vpcs];
    for (n, (a, b)) in pairs.iter().enumerate() {
        let pid = PeeringId::from(format!("pcx-{n:05}"));
        peer_routes[*a].push(Route {
            destination: plan.vpcs[*b].cidr,
            target: Target::Peering(pid.clone()),
        });
        peer_routes[*b].push(Route {
            destination: plan.vpcs[*a].cidr,
            target: Target::Peering(pid),
        });
    }
    for (i, routes_to_peers) in peer_routes.into_iter().enumerate() {
        let v = plan.vpcs[i].id.clone();
        let block = plan.vpcs[i].cidr;
        let igw = GatewayId::from(format!("igw-{i:04}"));
        plan.gateways.push(Gateway {
            id: igw.clone(),
            vpc: v.clone(),
            kind: GatewayKind::Internet,
            subnet: None,
            destinations: vec![],
            name: String::new(),
        });
        let sn = |s: usize| SubnetId::from(format!("subnet-{i:04}-{s:03}"));
        for s in 0..o.subnets_per_vpc {
            plan.subnets.push(Subnet {
                id: sn(s),
                name: String::new(),
                vpc: v.clone(),
                cidr: net(base(i) | ((s as u32) << 8), 24),
                ipv6_cidr: None,
                az: format!("{}{}", plan.vpcs[i].region, ['a', 'b', 'c'][s % 3]),
            });
        }
        plan.route_tables.push(RouteTable {
            id: format!("rtb-{i:04}-main").into(),
            vpc: v.clone(),
            main: true,
            subnets: vec![],
            routes: routes_to_peers.clone(),
        });
        if o.subnets_per_vpc > 0 {
            let mut routes = routes_to_peers;
            routes.push(Route {
                destination: "0.0.0.0/0".parse().expect("valid"),
                target: Target::InternetGateway(igw),
            });
            plan.route_tables.push(RouteTable {
                id: format!("rtb-{i:04}-public").into(),
                vpc: v.clone(),
                main: false,
                subnets: vec![sn(0)],
                routes,
            });
        }
        plan.network_acls.push(NetworkAcl {
            id: format!("acl-{i:04}-default").into(),
            vpc: v.clone(),
            default: true,
            subnets: vec![],
            entries: vec![
                AclEntry::allow_all(100, Direction::Inbound),
                AclEntry::allow_all(100, Direction::Outbound),
            ],
        });
        // Database subnets (every third from the third on) sit behind a restricted, stateless ACL.
        let db_subnets: Vec<SubnetId> = (2..o.subnets_per_vpc).step_by(3).map(sn).collect();
        if !db_subnets.is_empty() {
            let entry = |rule, direction, ports: Option<PortRange>, cidr: Cidr| AclEntry {
                rule,
                direction,
                protocol: Protocol::Tcp,
                ports,
                cidr,
                action: Action::Allow,
            };
            let ten: Cidr = "10.0.0.0/8".parse().expect("valid");
            plan.network_acls.push(NetworkAcl {
                id: format!("acl-{i:04}-db").into(),
                vpc: v.clone(),
                default: false,
                subnets: db_subnets,
                entries: vec![
                    entry(100, Direction::Inbound, Some(PortRange::single(5432)), block),
                    entry(
                        110,
                        Direction::Inbound,
                        Some(PortRange {
                            from: 1024,
                            to: 65535,
                        }),
                        ten,
                    ),
                    entry(
                        100,
                        Direction::Outbound,
                        Some(PortRange {
                            from: 32768,
                            to: 61000,
                        }),
                        block,
                    ),
                    entry(110, Direction::Outbound, Some(PortRange::single(443)), ten),
                ],
            });
        }
        let rule = |ports: Option<PortRange>, cidr: &str| SgRule {
            protocol: if ports.is_some() {
                Protocol::Tcp
            } else {
                Protocol::All
            },
            ports,
            cidr: Some(cidr.parse().expect("valid")),
            sg: None,
            description: String::new(),
        };
        let egress = vec![rule(None, "0.0.0.0/0")];
        let block_s = block.to_string();
        for (name, ingress) in [
            ("web", vec![rule(Some(PortRange::single(443)), "10.0.0.0/8")]),
            (
                "app",
                vec![
                    rule(Some(PortRange::single(8080)), &block_s),
                    rule(
                        Some(PortRange::single(8080)),
                        &plan.vpcs[i / 10 * 10].cidr.to_string(),
                    ),
                ],
            ),
            ("db", vec![rule(Some(PortRange::single(5432)), &block_s)]),
        ] {
            plan.security_groups.push(SecurityGroup {
                id: format!("sg-{i:04}-{name}").into(),
                name: name.into(),
                vpc: v.clone(),
                ingress,
                egress: egress.clone(),
            });
        }
        for s in 0..o.subnets_per_vpc {
            let (role, kind, port) = match s % 3 {
                0 => ("web", EndpointKind::Service, 443),
                1 => ("app", EndpointKind::Instance, 8080),
                _ => ("db", EndpointKind::Database, 5432),
            };
            for k in 0..o.endpoints_per_subnet {
                plan.endpoints.push(Endpoint {
                    id: format!("ep-{i:04}-{s:03}-{k:03}").into(),
                    name: format!("{role}-{i}-{s}-{k}"),
                    kind,
                    subnet: sn(s),
                    ipv4: Some(Ipv4Addr::from(base(i) | ((s as u32) << 8) | (10 + k as u32))),
                    ipv6: None,
                    security_groups: vec![format!("sg-{i:04}-{role}").into()],
                    ports: vec![port],
                });
            }
        }
    }
    plan.validate().expect("generated plans are valid");
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_plan_is_valid_and_deterministic() {
        let o = GenerateOptions {
            vpcs: 25,
            subnets_per_vpc: 4,
            endpoints_per_subnet: 2,
            seed: 7,
        };
        let a = generate(&o).unwrap();
        let b = generate(&o).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.subnets.len(), 100);
        assert_eq!(a.endpoints.len(), 200);
        let errors: Vec<_> = crate::check(&a, &crate::CheckOptions::default())
            .into_iter()
            .filter(|d| d.severity == crate::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn sizes_that_do_not_fit_are_refused() {
        let o = GenerateOptions {
            vpcs: 300,
            subnets_per_vpc: 17,
            endpoints_per_subnet: 1,
            seed: 1,
        };
        assert!(matches!(generate(&o), Err(GenerateError::TooManySubnets { .. })));
    }
}
