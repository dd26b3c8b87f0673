//! An independent, deliberately simple reference evaluator of the peering semantics, written straight from the
//! rules (AWS and the seed) with linear scans and port-by-port ACL checks. The real simulator must agree with it
//! on random small topologies, and the matrix must agree with the simulator.

use std::net::{IpAddr, Ipv4Addr};

use netmodel::{
    ids::{SecurityGroupId, VpcId},
    matrix::matrix,
    model::*,
    sim::{trace, ClientProfile, Flow, Topology, TraceCode},
};
use proptest::prelude::*;

// ---------- the reference ----------

fn vpc_of<'a>(plan: &'a Plan, subnet: &Subnet) -> &'a Vpc {
    plan.vpcs.iter().find(|v| v.id == subnet.vpc).unwrap()
}

fn table_routes(plan: &Plan, subnet: &Subnet) -> Vec<(netmodel::cidr::Cidr, Target)> {
    let vpc = vpc_of(plan, subnet);
    let mut routes: Vec<_> = vpc.blocks().map(|b| (*b, Target::Local)).collect();
    let table = plan
        .route_tables
        .iter()
        .find(|t| t.subnets.contains(&subnet.id))
        .or_else(|| plan.route_tables.iter().find(|t| t.main && t.vpc == subnet.vpc));
    if let Some(t) = table {
        routes.extend(t.routes.iter().map(|r| (r.destination, r.target.clone())));
    }
    routes
}

/// Longest prefix wins; on a tie the local route wins.
fn best_route(routes: &[(netmodel::cidr::Cidr, Target)], dst: IpAddr) -> Option<Target> {
    let mut best: Option<&(netmodel::cidr::Cidr, Target)> = None;
    for r in routes.iter().filter(|r| r.0.contains_addr(dst)) {
        best = match best {
            None => Some(r),
            Some(b) if r.0.prefix_len() > b.0.prefix_len() => Some(r),
            Some(b)
                if r.0.prefix_len() == b.0.prefix_len() && r.1 == Target::Local && b.1 != Target::Local =>
            {
                Some(r)
            }
            keep => keep,
        };
    }
    best.map(|b| b.1.clone())
}

/// Allowed for one port? First matching entry by rule number decides; none: deny. No ACL: allow.
fn acl_allows_port(
    plan: &Plan,
    subnet: &Subnet,
    dir: Direction,
    remote: IpAddr,
    proto: Protocol,
    port: u16,
) -> bool {
    let acl = plan
        .network_acls
        .iter()
        .find(|a| a.subnets.contains(&subnet.id))
        .or_else(|| {
            plan.network_acls
                .iter()
                .find(|a| a.default && a.vpc == subnet.vpc)
        });
    let Some(acl) = acl else { return true };
    let mut entries: Vec<&AclEntry> = acl.entries.iter().filter(|e| e.direction == dir).collect();
    entries.sort_by_key(|e| e.rule);
    for e in entries {
        let proto_ok =
            e.protocol == Protocol::All || Some(e.protocol) == Some(proto) && proto != Protocol::All;
        let proto_ok = proto_ok || (e.protocol.number().is_some() && e.protocol.number() == proto.number());
        let port_ok = !(e.protocol.has_ports() && proto.has_ports())
            || e.ports.is_none_or(|r| r.from <= port && port <= r.to);
        if proto_ok && port_ok && e.cidr.contains_addr(remote) {
            return e.action == Action::Allow;
        }
    }
    false
}

fn acl_allows(
    plan: &Plan,
    subnet: &Subnet,
    dir: Direction,
    remote: IpAddr,
    proto: Protocol,
    ports: PortRange,
) -> bool {
    if !proto.has_ports() {
        return acl_allows_port(plan, subnet, dir, remote, proto, 0);
    }
    (ports.from..=ports.to).all(|p| acl_allows_port(plan, subnet, dir, remote, proto, p))
}

fn sg_ref_ok(plan: &Plan, own_vpc: &VpcId, group: &SecurityGroupId) -> bool {
    let Some(g) = plan.security_groups.iter().find(|s| &s.id == group) else {
        return false;
    };
    &g.vpc == own_vpc
        || plan.peerings.iter().any(|p| {
            p.status == PeeringStatus::Active
                && ((&p.requester.vpc == own_vpc && p.accepter.vpc == g.vpc)
                    || (&p.accepter.vpc == own_vpc && p.requester.vpc == g.vpc))
                && p.requester.region == p.accepter.region
        })
}

fn sg_allows(
    plan: &Plan,
    ep: &Endpoint,
    egress: bool,
    remote_ip: IpAddr,
    remote: &Endpoint,
    proto: Protocol,
    port: u16,
) -> bool {
    if ep.security_groups.is_empty() {
        return true;
    }
    let own_vpc = &plan.subnets.iter().find(|s| s.id == ep.subnet).unwrap().vpc;
    for g in plan
        .security_groups
        .iter()
        .filter(|g| ep.security_groups.contains(&g.id))
    {
        for r in if egress { &g.egress } else { &g.ingress } {
            let proto_ok = r.protocol == Protocol::All
                || (proto != Protocol::All && r.protocol.number() == proto.number());
            let port_ok = !(r.protocol.has_ports() && proto.has_ports())
                || r.ports.is_none_or(|p| p.from <= port && port <= p.to);
            let peer_ok = match (&r.cidr, &r.sg) {
                (Some(c), _) => c.contains_addr(remote_ip),
                (_, Some(s)) => {
                    remote.security_groups.contains(&s.group) && sg_ref_ok(plan, own_vpc, &s.group)
                }
                _ => false,
            };
            if proto_ok && port_ok && peer_ok {
                return true;
            }
        }
    }
    false
}

fn reference(
    plan: &Plan,
    from: &str,
    to: &str,
    proto: Protocol,
    port: u16,
    client: ClientProfile,
) -> TraceCode {
    use TraceCode::*;
    let src = plan.endpoints.iter().find(|e| e.id.0 == from).unwrap();
    let dst = plan.endpoints.iter().find(|e| e.id.0 == to).unwrap();
    let (s_ip, d_ip) = (IpAddr::V4(src.ipv4.unwrap()), IpAddr::V4(dst.ipv4.unwrap()));
    let s_sub = plan.subnets.iter().find(|s| s.id == src.subnet).unwrap();
    let s_vpc = vpc_of(plan, s_sub);
    let req = if proto.has_ports() {
        PortRange::single(port)
    } else {
        PortRange::ALL
    };
    if !sg_allows(plan, src, true, d_ip, dst, proto, port) {
        return SgDenyEgress;
    }
    if !acl_allows(plan, s_sub, Direction::Outbound, d_ip, proto, req) {
        return NaclDenyOutbound;
    }
    let (arrive_vpc, via) = match best_route(&table_routes(plan, s_sub), d_ip) {
        None => return NoRoute,
        Some(Target::Blackhole) => return BlackholeRoute,
        Some(Target::Local) => (s_vpc, None),
        Some(Target::Peering(pid)) => {
            let Some(p) = plan.peerings.iter().find(|p| p.id == pid) else {
                return BlackholeRoute;
            };
            let peer_id = if p.requester.vpc == s_vpc.id {
                &p.accepter.vpc
            } else if p.accepter.vpc == s_vpc.id {
                &p.requester.vpc
            } else {
                return BlackholeRoute;
            };
            if p.status != PeeringStatus::Active {
                return PeeringNotActive;
            }
            let peer = plan.vpcs.iter().find(|v| &v.id == peer_id).unwrap();
            if !peer.holds(d_ip) {
                let main = plan.route_tables.iter().find(|t| t.main && t.vpc == peer.id);
                let mut routes: Vec<_> = peer.blocks().map(|b| (*b, Target::Local)).collect();
                if let Some(m) = main {
                    routes.extend(m.routes.iter().map(|r| (r.destination, r.target.clone())));
                } else {
                    routes.clear();
                }
                return match best_route(&routes, d_ip) {
                    Some(
                        Target::InternetGateway(_)
                        | Target::NatGateway(_)
                        | Target::VpnGateway(_)
                        | Target::GatewayEndpoint(_),
                    ) => EdgeToEdge,
                    _ => NotTransitive,
                };
            }
            (peer, Some(pid))
        }
        Some(_) => return Exited,
    };
    let Some(d_sub) = plan
        .subnets
        .iter()
        .find(|s| s.vpc == arrive_vpc.id && s.cidr.contains_addr(d_ip))
    else {
        return UnknownDestination;
    };
    if !acl_allows(plan, d_sub, Direction::Inbound, s_ip, proto, req) {
        return NaclDenyInbound;
    }
    if d_sub.id == dst.subnet && !sg_allows(plan, dst, false, s_ip, src, proto, port) {
        return SgDenyIngress;
    }
    let reply = if proto.has_ports() {
        client.ephemeral()
    } else {
        PortRange::ALL
    };
    if !acl_allows(plan, d_sub, Direction::Outbound, s_ip, proto, reply) {
        return ReturnNaclDeny;
    }
    match (best_route(&table_routes(plan, d_sub), s_ip), &via) {
        (Some(Target::Local), None) => {}
        (Some(Target::Peering(q)), Some(p)) if &q == p => {}
        (None | Some(Target::Blackhole), _) => return ReturnNoRoute,
        _ => return ReturnMisrouted,
    }
    if !acl_allows(plan, s_sub, Direction::Inbound, d_ip, proto, reply) {
        return ReturnNaclDeny;
    }
    Accepted
}

// ---------- random small topologies ----------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize].clone()
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn cidr(s: &str) -> netmodel::cidr::Cidr {
    s.parse().unwrap()
}

/// 2–4 VPCs drawn from a small pool of blocks (overlaps happen), 1–2 subnets each with 1–2 endpoints, random
/// peerings and statuses, routes, security groups (CIDR and group references) and ACL entries.
fn random_plan(seed: u64) -> Plan {
    let mut r = Rng(seed);
    let pool = [
        "10.0.0.0/16",
        "10.1.0.0/16",
        "172.16.0.0/16",
        "10.0.0.0/16",
        "192.168.0.0/16",
    ];
    let rule_blocks = [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "10.0.0.0/16",
        "10.1.0.0/16",
        "172.16.0.0/16",
        "192.168.0.0/16",
        "10.0.1.0/24",
        "172.16.1.10/32",
    ];
    let ports = [22u16, 443, 8080];
    let mut plan = Plan::new("random");
    plan.accounts.push(Account {
        id: "a".into(),
        name: String::new(),
    });
    let n = 2 + (r.next() % 3) as usize;
    for i in 0..n {
        let block = cidr(pool[(r.next() % pool.len() as u64) as usize]);
        let base = match block.0 {
            ipnet::IpNet::V4(b) => u32::from(b.network()),
            _ => unreachable!(),
        };
        let v = format!("v{i}");
        plan.vpcs.push(Vpc {
            id: v.as_str().into(),
            name: String::new(),
            account: "a".into(),
            region: if r.chance(15) {
                "eu-west-1".into()
            } else {
                "us-east-1".into()
            },
            cidr: block,
            secondary_cidrs: vec![],
            ipv6_cidrs: vec![],
            position: None,
        });
        let subnets = 1 + (r.next() % 2) as usize;
        for s in 0..subnets {
            let sid = format!("{v}-s{s}");
            let sbase = base | ((s as u32 + 1) << 8);
            plan.subnets.push(Subnet {
                id: sid.as_str().into(),
                name: String::new(),
                vpc: v.as_str().into(),
                cidr: netmodel::cidr::Cidr::from(ipnet::Ipv4Net::new(Ipv4Addr::from(sbase), 24).unwrap()),
                ipv6_cidr: None,
                az: String::new(),
            });
            for e in 0..1 + (r.next() % 2) as usize {
                let sgs = if r.chance(85) {
                    vec![format!("{v}-sg{}", r.next() % 2).as_str().into()]
                } else {
                    vec![]
                };
                plan.endpoints.push(Endpoint {
                    id: format!("{sid}-e{e}").into(),
                    name: String::new(),
                    kind: EndpointKind::Instance,
                    subnet: sid.as_str().into(),
                    ipv4: Some(Ipv4Addr::from(sbase | (10 + e as u32))),
                    ipv6: None,
                    security_groups: sgs,
                    ports: vec![],
                });
            }
        }
        for g in 0..2 {
            let rules = |r: &mut Rng| {
                let mut out = Vec::new();
                for _ in 0..(r.next() % 3) {
                    let protocol = r.pick(&[Protocol::Tcp, Protocol::All, Protocol::Udp]);
                    let ports = if protocol.has_ports() && r.chance(70) {
                        Some(PortRange::single(r.pick(&ports)))
                    } else {
                        None
                    };
                    let by_group = r.chance(25);
                    out.push(SgRule {
                        protocol,
                        ports,
                        cidr: (!by_group).then(|| cidr(r.pick(&rule_blocks))),
                        sg: by_group.then(|| SgRef {
                            account: None,
                            group: format!("v{}-sg{}", r.next() % n as u64, r.next() % 2).into(),
                        }),
                        description: String::new(),
                    });
                }
                out
            };
            let ingress = rules(&mut r);
            let egress = if r.chance(80) {
                vec![SgRule {
                    protocol: Protocol::All,
                    ports: None,
                    cidr: Some(cidr("0.0.0.0/0")),
                    sg: None,
                    description: String::new(),
                }]
            } else {
                rules(&mut r)
            };
            plan.security_groups.push(SecurityGroup {
                id: format!("{v}-sg{g}").into(),
                name: String::new(),
                vpc: v.as_str().into(),
                ingress,
                egress,
            });
        }
        if r.chance(85) {
            let mut entries = Vec::new();
            for dir in [Direction::Inbound, Direction::Outbound] {
                for k in 0..(r.next() % 3) {
                    let protocol = r.pick(&[Protocol::Tcp, Protocol::All]);
                    entries.push(AclEntry {
                        rule: 10 * (k as u16 + 1),
                        direction: dir,
                        protocol,
                        ports: (protocol == Protocol::Tcp && r.chance(60)).then(|| {
                            r.pick(&[
                                PortRange::single(443),
                                PortRange {
                                    from: 1024,
                                    to: 65535,
                                },
                                PortRange {
                                    from: 32768,
                                    to: 40000,
                                },
                            ])
                        }),
                        cidr: cidr(r.pick(&rule_blocks)),
                        action: if r.chance(25) { Action::Deny } else { Action::Allow },
                    });
                }
                if r.chance(70) {
                    entries.push(AclEntry {
                        rule: 100,
                        direction: dir,
                        protocol: Protocol::All,
                        ports: None,
                        cidr: cidr("0.0.0.0/0"),
                        action: Action::Allow,
                    });
                }
            }
            plan.network_acls.push(NetworkAcl {
                id: format!("{v}-acl").into(),
                vpc: v.as_str().into(),
                default: true,
                subnets: vec![],
                entries,
            });
        }
        if r.chance(20) {
            plan.gateways.push(Gateway {
                id: format!("{v}-igw").into(),
                vpc: v.as_str().into(),
                kind: GatewayKind::Internet,
                subnet: None,
                destinations: vec![],
                name: String::new(),
            });
        }
    }
    let statuses = [
        PeeringStatus::Active,
        PeeringStatus::Active,
        PeeringStatus::Active,
        PeeringStatus::Pending,
        PeeringStatus::Deleted,
    ];
    let mut pid = 0;
    for a in 0..n {
        for b in a + 1..n {
            if r.chance(60) {
                plan.peerings.push(Peering {
                    id: format!("pcx-{pid}").into(),
                    requester: PeeringSide {
                        vpc: format!("v{a}").into(),
                        account: Default::default(),
                        region: String::new(),
                    },
                    accepter: PeeringSide {
                        vpc: format!("v{b}").into(),
                        account: Default::default(),
                        region: String::new(),
                    },
                    status: r.pick(&statuses),
                    options: Default::default(),
                    status_message: None,
                });
                pid += 1;
            }
        }
    }
    let targets: Vec<Target> = plan
        .peerings
        .iter()
        .map(|p| Target::Peering(p.id.clone()))
        .chain(
            plan.gateways
                .iter()
                .map(|g| Target::InternetGateway(g.id.clone())),
        )
        .chain([Target::Blackhole])
        .collect();
    for i in 0..n {
        let v = format!("v{i}");
        let mut routes = Vec::new();
        // Mostly sensible routes to peers, plus random ones.
        for p in &plan.peerings {
            if let Some(peer) = p.peer_of(&v.as_str().into()) {
                if r.chance(75) {
                    let pc = plan.vpcs.iter().find(|x| &x.id == peer).unwrap().cidr;
                    routes.push(Route {
                        destination: pc,
                        target: Target::Peering(p.id.clone()),
                    });
                }
            }
        }
        for _ in 0..(r.next() % 3) {
            let d = cidr(r.pick(&rule_blocks));
            if !routes.iter().any(|x: &Route| x.destination == d) {
                routes.push(Route {
                    destination: d,
                    target: r.pick(&targets),
                });
            }
        }
        if r.chance(90) {
            plan.route_tables.push(RouteTable {
                id: format!("{v}-rtb").into(),
                vpc: v.as_str().into(),
                main: true,
                subnets: vec![],
                routes,
            });
        }
    }
    plan.validate()
        .unwrap_or_else(|e| panic!("random plan invalid: {e}"));
    plan
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn trace_agrees_with_the_reference(seed in any::<u64>()) {
        let plan = random_plan(seed);
        let t = Topology::new(&plan);
        for (protocol, port) in [(Protocol::Tcp, 443u16), (Protocol::Tcp, 22), (Protocol::All, 0), (Protocol::Udp, 8080)] {
            for client in [ClientProfile::Linux, ClientProfile::Windows] {
                for a in &plan.endpoints {
                    for b in &plan.endpoints {
                        let flow = Flow { from: a.id.0.clone(), to: b.id.0.clone(), protocol, port: Some(port), client };
                        let real = trace(&t, &flow).unwrap().code;
                        let expected = reference(&plan, &a.id.0, &b.id.0, protocol, port, client);
                        prop_assert_eq!(real, expected, "{} → {} {} {} {:?}\n{}", a.id, b.id, protocol, port, client, plan.to_json());
                    }
                }
            }
        }
    }

    #[test]
    fn matrix_agrees_with_the_trace(seed in any::<u64>()) {
        let plan = random_plan(seed);
        let t = Topology::new(&plan);
        for (protocol, port) in [(Protocol::Tcp, Some(443u16)), (Protocol::All, None)] {
            let m = matrix(&t, protocol, port, ClientProfile::Linux).unwrap();
            for (i, a) in plan.endpoints.iter().enumerate() {
                for (j, b) in plan.endpoints.iter().enumerate() {
                    let flow = Flow { from: a.id.0.clone(), to: b.id.0.clone(), protocol, port, client: ClientProfile::Linux };
                    prop_assert_eq!(m.code(i, j), trace(&t, &flow).unwrap().code, "{} → {}", a.id, b.id);
                }
            }
        }
    }
}
