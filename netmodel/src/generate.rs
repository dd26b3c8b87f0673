//! Synthetic but realistic plans for demos, scale tests and benchmarks (`peerplan generate`).
//!
//! Accounts of up to ten VPCs, three regions, a hub per account with its spokes, small meshes among spokes,
//! cross-account links between hubs, a few pending and inter-region peerings; per VPC a main route table
//! (routes to every peer), a public table with an internet gateway, a default and a restricted ACL, and three
//! security groups (web, app, db) whose endpoints listen on 443, 8080 and 5432. Deterministic for a seed.
//!
//! ```
//! use netmodel::generate::{generate, GenerateError, GenerateOptions};
//!
//! let options = GenerateOptions { vpcs: 12, subnets_per_vpc: 3, endpoints_per_subnet: 2, seed: 7 };
//! let plan = generate(&options)?;
//! assert_eq!((plan.accounts.len(), plan.vpcs.len(), plan.subnets.len(), plan.endpoints.len()), (2, 12, 36, 72));
//! assert_eq!(plan.vpcs[0].name, "hub-0");
//! assert_eq!(plan.vpcs[0].cidr.to_string(), "10.0.0.0/16");
//! assert_eq!(plan, generate(&options)?, "the same seed gives the same plan");
//!
//! // Sizes that cannot be laid out in 10.0.0.0/8 are refused.
//! let too_many = GenerateOptions { vpcs: 20_000, ..options };
//! assert_eq!(generate(&too_many), Err(GenerateError::TooManyVpcs { vpcs: 20_000 }));
//! # Ok::<(), GenerateError>(())
//! ```

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

/// Generates a plan: the accounts, the VPCs and their peerings, then each VPC's gateway, subnets, route tables,
/// network ACLs, security groups and endpoints.
pub fn generate(o: &GenerateOptions) -> Result<Plan, GenerateError> {
    let blocks = Blocks::for_options(o)?;
    let mut rng = Rng(o.seed);
    let mut plan = Plan::new(format!(
        "generated: {} VPCs × {} subnets × {} endpoints (seed {})",
        o.vpcs, o.subnets_per_vpc, o.endpoints_per_subnet, o.seed
    ));
    plan.accounts = accounts(o.vpcs);
    plan.vpcs = vpcs(o.vpcs, blocks, &mut rng);
    let pairs = peered_pairs(o.vpcs);
    plan.peerings = peerings(&plan.vpcs, &pairs);
    for (i, routes_to_peers) in routes_to_peers(&plan.vpcs, &pairs).into_iter().enumerate() {
        add_vpc_contents(&mut plan, o, blocks, i, routes_to_peers);
    }
    plan.validate().expect("generated plans are valid");
    Ok(plan)
}

/// Where VPC `i`, its subnets and its endpoints sit in 10.0.0.0/8: VPC blocks of one length side by side,
/// /24 subnets inside each.
#[derive(Clone, Copy)]
struct Blocks {
    vpc_len: u8,
}

impl Blocks {
    /// The widest VPC blocks that fit the options: /16 (256 subnets each) up to 256 VPCs, /20 (16) up to 4096,
    /// /22 (4) beyond; sizes that fit no layout are refused.
    fn for_options(o: &GenerateOptions) -> Result<Blocks, GenerateError> {
        if o.vpcs > 16384 {
            return Err(GenerateError::TooManyVpcs { vpcs: o.vpcs });
        }
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
        Ok(Blocks { vpc_len })
    }

    /// The first address of VPC `i`'s block.
    fn base(self, i: usize) -> u32 {
        0x0a00_0000 | ((i as u32) << (32 - self.vpc_len))
    }

    /// VPC `i`'s block.
    fn vpc(self, i: usize) -> Cidr {
        net(self.base(i), self.vpc_len)
    }

    /// Subnet `s` of VPC `i`: the `s`-th /24 of its block.
    fn subnet(self, i: usize, s: usize) -> Cidr {
        net(self.subnet_base(i, s), 24)
    }

    /// Endpoint `k` of subnet `s` of VPC `i`: from the subnet's tenth address on.
    fn endpoint(self, i: usize, s: usize, k: usize) -> Ipv4Addr {
        Ipv4Addr::from(self.subnet_base(i, s) | (10 + k as u32))
    }

    fn subnet_base(self, i: usize, s: usize) -> u32 {
        self.base(i) | ((s as u32) << 8)
    }
}

/// An IPv4 block from its first address and prefix length.
fn net(addr: u32, len: u8) -> Cidr {
    Cidr::from(ipnet::Ipv4Net::new(Ipv4Addr::from(addr), len).expect("valid length"))
}

fn vpc_id(i: usize) -> VpcId {
    VpcId::from(format!("vpc-{i:04}"))
}

fn subnet_id(i: usize, s: usize) -> SubnetId {
    SubnetId::from(format!("subnet-{i:04}-{s:03}"))
}

/// The account of VPC `i`: ten VPCs to an account.
fn account_of(i: usize) -> usize {
    i / 10
}

/// The hub of VPC `i`'s account (the account's first VPC).
fn hub_of(i: usize) -> usize {
    i / 10 * 10
}

/// One account per ten VPCs (at least one).
fn accounts(vpcs: usize) -> Vec<Account> {
    (0..vpcs.div_ceil(10).max(1))
        .map(|a| Account {
            id: format!("acct-{a:03}").into(),
            name: format!("Team {a}"),
        })
        .collect()
}

/// The VPCs: a hub first in each account, then its spokes; hubs live in the first region, spokes mostly too,
/// some elsewhere; placed on a grid 40 wide.
fn vpcs(count: usize, blocks: Blocks, rng: &mut Rng) -> Vec<Vpc> {
    (0..count)
        .map(|i| {
            let account = account_of(i);
            let region = if i % 10 == 0 || rng.below(5) > 0 {
                REGIONS[0]
            } else {
                REGIONS[1 + rng.below(2) as usize]
            };
            Vpc {
                id: vpc_id(i),
                name: if i % 10 == 0 {
                    format!("hub-{account}")
                } else {
                    format!("spoke-{i}")
                },
                account: format!("acct-{account:03}").into(),
                region: region.into(),
                cidr: blocks.vpc(i),
                secondary_cidrs: vec![],
                ipv6_cidrs: vec![],
                position: Some(Position {
                    x: (i % 40) as f64 * 320.0,
                    y: (i / 40) as f64 * 240.0,
                }),
            }
        })
        .collect()
}

/// Which VPCs peer (by index, requester first): spokes to their hub, small meshes of four spokes, a hub to the
/// next account's hub.
fn peered_pairs(vpcs: usize) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for i in 0..vpcs {
        let hub = hub_of(i);
        if i != hub {
            pairs.push((hub, i));
        }
        if i % 10 != 0 && i % 4 == 1 {
            for j in i + 1..(i + 4).min(vpcs) {
                if account_of(j) == account_of(i) && j % 10 != 0 {
                    pairs.push((i, j));
                }
            }
        }
        if i % 10 == 0 && i + 10 < vpcs {
            pairs.push((i, i + 10));
        }
    }
    pairs
}

fn peering_id(n: usize) -> PeeringId {
    PeeringId::from(format!("pcx-{n:05}"))
}

/// The peering of each pair: every seventeenth pending, every third with DNS resolution.
fn peerings(vpcs: &[Vpc], pairs: &[(usize, usize)]) -> Vec<Peering> {
    let side = |v: &Vpc| PeeringSide {
        vpc: v.id.clone(),
        account: v.account.clone(),
        region: v.region.clone(),
    };
    pairs
        .iter()
        .enumerate()
        .map(|(n, &(a, b))| Peering {
            id: peering_id(n),
            requester: side(&vpcs[a]),
            accepter: side(&vpcs[b]),
            status: if n % 17 == 16 {
                PeeringStatus::Pending
            } else {
                PeeringStatus::Active
            },
            options: PeeringOptions {
                dns_resolution: n % 3 == 0,
            },
            status_message: None,
        })
        .collect()
}

/// Each VPC's routes to its peers' blocks, in the order of the pairs.
fn routes_to_peers(vpcs: &[Vpc], pairs: &[(usize, usize)]) -> Vec<Vec<Route>> {
    let mut routes: Vec<Vec<Route>> = vec![Vec::new(); vpcs.len()];
    for (n, &(a, b)) in pairs.iter().enumerate() {
        routes[a].push(Route {
            destination: vpcs[b].cidr,
            target: Target::Peering(peering_id(n)),
        });
        routes[b].push(Route {
            destination: vpcs[a].cidr,
            target: Target::Peering(peering_id(n)),
        });
    }
    routes
}

/// Everything inside VPC `i`.
fn add_vpc_contents(
    plan: &mut Plan,
    o: &GenerateOptions,
    blocks: Blocks,
    i: usize,
    routes_to_peers: Vec<Route>,
) {
    let igw = GatewayId::from(format!("igw-{i:04}"));
    plan.gateways.push(Gateway {
        id: igw.clone(),
        vpc: vpc_id(i),
        kind: GatewayKind::Internet,
        subnet: None,
        destinations: vec![],
        name: String::new(),
    });
    let region = plan.vpcs[i].region.clone();
    plan.subnets.extend(subnets(o, blocks, i, &region));
    plan.route_tables.extend(route_tables(o, i, routes_to_peers, igw));
    plan.network_acls.extend(network_acls(o, i, plan.vpcs[i].cidr));
    let hub_block = plan.vpcs[hub_of(i)].cidr;
    plan.security_groups
        .extend(security_groups(i, plan.vpcs[i].cidr, hub_block));
    plan.endpoints.extend(endpoints(o, blocks, i));
}

/// The /24 subnets of VPC `i`, across three zones.
fn subnets(o: &GenerateOptions, blocks: Blocks, i: usize, region: &str) -> Vec<Subnet> {
    (0..o.subnets_per_vpc)
        .map(|s| Subnet {
            id: subnet_id(i, s),
            name: String::new(),
            vpc: vpc_id(i),
            cidr: blocks.subnet(i, s),
            ipv6_cidr: None,
            az: format!("{region}{}", ['a', 'b', 'c'][s % 3]),
        })
        .collect()
}

/// The main route table (routes to every peer) and, when there are subnets, a public table for the first one
/// with the same routes and a default route to the internet gateway.
fn route_tables(
    o: &GenerateOptions,
    i: usize,
    routes_to_peers: Vec<Route>,
    igw: GatewayId,
) -> Vec<RouteTable> {
    let mut tables = vec![RouteTable {
        id: format!("rtb-{i:04}-main").into(),
        vpc: vpc_id(i),
        main: true,
        subnets: vec![],
        routes: routes_to_peers.clone(),
    }];
    if o.subnets_per_vpc > 0 {
        let mut routes = routes_to_peers;
        routes.push(Route {
            destination: "0.0.0.0/0".parse().expect("valid"),
            target: Target::InternetGateway(igw),
        });
        tables.push(RouteTable {
            id: format!("rtb-{i:04}-public").into(),
            vpc: vpc_id(i),
            main: false,
            subnets: vec![subnet_id(i, 0)],
            routes,
        });
    }
    tables
}

/// The default ACL (allow all) and, when there are database subnets (every third from the third on), a
/// restricted, stateless ACL for them: PostgreSQL from the VPC, replies from 10.0.0.0/8, and back out.
fn network_acls(o: &GenerateOptions, i: usize, block: Cidr) -> Vec<NetworkAcl> {
    let mut acls = vec![NetworkAcl {
        id: format!("acl-{i:04}-default").into(),
        vpc: vpc_id(i),
        default: true,
        subnets: vec![],
        entries: vec![
            AclEntry::allow_all(100, Direction::Inbound),
            AclEntry::allow_all(100, Direction::Outbound),
        ],
    }];
    let db_subnets: Vec<SubnetId> = (2..o.subnets_per_vpc)
        .step_by(3)
        .map(|s| subnet_id(i, s))
        .collect();
    if db_subnets.is_empty() {
        return acls;
    }
    let entry = |rule, direction, ports: PortRange, cidr: Cidr| AclEntry {
        rule,
        direction,
        protocol: Protocol::Tcp,
        ports: Some(ports),
        cidr,
        action: Action::Allow,
    };
    let ten: Cidr = "10.0.0.0/8".parse().expect("valid");
    let ports = |from, to| PortRange { from, to };
    acls.push(NetworkAcl {
        id: format!("acl-{i:04}-db").into(),
        vpc: vpc_id(i),
        default: false,
        subnets: db_subnets,
        entries: vec![
            entry(100, Direction::Inbound, PortRange::single(5432), block),
            entry(110, Direction::Inbound, ports(1024, 65535), ten),
            entry(100, Direction::Outbound, ports(32768, 61000), block),
            entry(110, Direction::Outbound, PortRange::single(443), ten),
        ],
    });
    acls
}

/// The web (443 from 10.0.0.0/8), app (8080 from the VPC and its hub) and db (5432 from the VPC) groups of VPC
/// `i`, each with all traffic out.
fn security_groups(i: usize, block: Cidr, hub_block: Cidr) -> Vec<SecurityGroup> {
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
    let (block, hub_block) = (block.to_string(), hub_block.to_string());
    let tcp = |port| Some(PortRange::single(port));
    [
        ("web", vec![rule(tcp(443), "10.0.0.0/8")]),
        ("app", vec![rule(tcp(8080), &block), rule(tcp(8080), &hub_block)]),
        ("db", vec![rule(tcp(5432), &block)]),
    ]
    .into_iter()
    .map(|(name, ingress)| SecurityGroup {
        id: format!("sg-{i:04}-{name}").into(),
        name: name.into(),
        vpc: vpc_id(i),
        ingress,
        egress: egress.clone(),
    })
    .collect()
}

/// The endpoints of VPC `i`: in each subnet, by turns web services (443), app instances (8080) and databases
/// (5432), in the group of their role.
fn endpoints(o: &GenerateOptions, blocks: Blocks, i: usize) -> Vec<Endpoint> {
    let mut endpoints = Vec::with_capacity(o.subnets_per_vpc * o.endpoints_per_subnet);
    for s in 0..o.subnets_per_vpc {
        let (role, kind, port) = match s % 3 {
            0 => ("web", EndpointKind::Service, 443),
            1 => ("app", EndpointKind::Instance, 8080),
            _ => ("db", EndpointKind::Database, 5432),
        };
        for k in 0..o.endpoints_per_subnet {
            endpoints.push(Endpoint {
                id: format!("ep-{i:04}-{s:03}-{k:03}").into(),
                name: format!("{role}-{i}-{s}-{k}"),
                kind,
                subnet: subnet_id(i, s),
                ipv4: Some(blocks.endpoint(i, s, k)),
                ipv6: None,
                security_groups: vec![format!("sg-{i:04}-{role}").into()],
                ports: vec![port],
            });
        }
    }
    endpoints
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
