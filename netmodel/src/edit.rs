//! Edits of a plan: pure functions on [`Plan`], so the planner's canvas and inspector, its one-click fixes, the
//! CLI and the apply engine share one implementation. New objects get AWS's defaults (a main route table, a
//! default network ACL that allows everything, a default security group) so a drawn plan can be traced at once.
//!
//! Every function that adds an object keeps the plan's lists sorted by id (its look-ups are binary searches).
//! [`apply_fix`] applies a diagnostic's [`Fix`] where it is mechanical.
//!
//! ```
//! use netmodel::{check, edit, CheckOptions, Plan};
//! let mut plan = Plan::new("two VPCs");
//! let a = edit::add_vpc(&mut plan, "10.0.0.0/16".parse().unwrap());
//! let b = edit::add_vpc(&mut plan, "172.16.0.0/16".parse().unwrap());
//! let pcx = edit::add_peering(&mut plan, &a, &b, true).unwrap();
//! assert_eq!(pcx.as_str(), "pcx-1");
//! // Each side's main route table now sends the other's block over the peering.
//! let rt = edit::main_route_table(&plan, &b).unwrap();
//! assert_eq!(edit::valid_targets(&plan, &rt).len(), 3); // local, pcx-1, blackhole
//! assert!(check(&plan, &CheckOptions::default()).is_empty());
//! // Drop the route back: check finds it, and its fix puts it back.
//! edit::remove_route(&mut plan, &rt, &"10.0.0.0/16".parse().unwrap());
//! let findings = check(&plan, &CheckOptions::default());
//! assert!(edit::has_mechanical_fix(&findings[0]));
//! assert!(edit::apply_fix(&mut plan, &findings[0]));
//! assert!(check(&plan, &CheckOptions::default()).is_empty());
//! ```

use std::net::{IpAddr, Ipv4Addr};

use crate::{
    check::{Diagnostic, Fix},
    cidr::{free_block, Cidr},
    ids::{AccountId, EndpointId, NetworkAclId, PeeringId, RouteTableId, SecurityGroupId, SubnetId, VpcId},
    model::{
        AclEntry, Direction, Endpoint, EndpointKind, NetworkAcl, Peering, PeeringOptions, PeeringSide,
        PeeringStatus, Plan, Position, Protocol, Route, RouteTable, SecurityGroup, SgRef, SgRule, Subnet,
        Target, Vpc,
    },
};

/// An object a person picks (on the planner's canvas) to delete.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Vpc(VpcId),
    Subnet(SubnetId),
    Endpoint(EndpointId),
    Peering(PeeringId),
}

/// The first `prefix-N` (N = 1, 2, …) not in `taken`.
fn next_id<'a>(prefix: &str, taken: impl Iterator<Item = &'a str>) -> String {
    let taken: std::collections::HashSet<&str> = taken.collect();
    (1..)
        .map(|n| format!("{prefix}-{n}"))
        .find(|id| !taken.contains(id.as_str()))
        .expect("an unused id exists")
}

/// Where a new VPC goes: to the right of the last one, wrapping every four.
fn next_position(plan: &Plan) -> Position {
    let n = plan.vpcs.len();
    Position {
        x: 40.0 + (n % 4) as f64 * 360.0,
        y: 40.0 + (n / 4) as f64 * 300.0,
    }
}

/// The account a new VPC goes to: the first one, created when the plan has none.
fn default_account(plan: &mut Plan) -> AccountId {
    if let Some(a) = plan.accounts.first() {
        return a.id.clone();
    }
    plan.accounts.push(crate::model::Account {
        id: "acct-1".into(),
        name: "Account 1".into(),
    });
    "acct-1".into()
}

/// A free IPv4 block of the given size for a new VPC.
pub fn suggest_vpc_block(plan: &Plan, prefix_len: u8) -> Option<Cidr> {
    let used: Vec<Cidr> = plan.vpcs.iter().flat_map(|v| v.blocks().copied()).collect();
    free_block(&used, prefix_len)
}

// Every function that adds an object sorts the plan's lists afterwards: `Plan`'s look-ups by id are binary
// searches over lists sorted by id.

/// Adds a VPC with a main route table, a default ACL (allow all) and a default security group (all out, in
/// from itself), as a control plane creates them.
pub fn add_vpc(plan: &mut Plan, cidr: Cidr) -> VpcId {
    let id: VpcId = next_id("vpc", plan.vpcs.iter().map(|v| v.id.as_str())).into();
    let account = default_account(plan);
    let region = plan
        .vpcs
        .first()
        .map(|v| v.region.clone())
        .unwrap_or_else(|| "us-east-1".into());
    let position = next_position(plan);
    plan.vpcs.push(Vpc {
        id: id.clone(),
        name: id.to_string(),
        account,
        region,
        cidr,
        secondary_cidrs: vec![],
        ipv6_cidrs: vec![],
        position: Some(position),
    });
    let suffix = id.as_str().trim_start_matches("vpc-").to_string();
    plan.route_tables.push(RouteTable {
        id: RouteTableId(format!("rtb-{suffix}")),
        vpc: id.clone(),
        main: true,
        subnets: vec![],
        routes: vec![],
    });
    plan.network_acls.push(NetworkAcl {
        id: NetworkAclId(format!("acl-{suffix}")),
        vpc: id.clone(),
        default: true,
        subnets: vec![],
        entries: vec![
            AclEntry::allow_all(100, Direction::Inbound),
            AclEntry::allow_all(100, Direction::Outbound),
        ],
    });
    let sg = SecurityGroupId(format!("sg-{suffix}"));
    plan.security_groups.push(SecurityGroup {
        id: sg.clone(),
        name: "default".into(),
        vpc: id.clone(),
        ingress: vec![SgRule {
            protocol: Protocol::All,
            ports: None,
            cidr: None,
            sg: Some(SgRef {
                account: None,
                group: sg.clone(),
            }),
            // No description: the rule is exactly the one a control plane gives a new VPC's default group, so
            // applying a drawn VPC adds it without deleting and re-making that rule.
            description: String::new(),
        }],
        egress: vec![SgRule {
            protocol: Protocol::All,
            ports: None,
            cidr: Some("0.0.0.0/0".parse().expect("valid")),
            sg: None,
            description: String::new(),
        }],
    });
    plan.sort();
    id
}

/// A free /24 (or smaller) inside the VPC's primary block for a new subnet.
pub fn suggest_subnet_block(plan: &Plan, vpc: &VpcId) -> Option<Cidr> {
    let v = plan.vpc(vpc)?;
    let used: Vec<Cidr> = plan
        .subnets
        .iter()
        .filter(|s| &s.vpc == vpc)
        .map(|s| s.cidr)
        .collect();
    let len = v.cidr.prefix_len().clamp(24, 28);
    let Cidr(ipnet::IpNet::V4(block)) = v.cidr else {
        return None;
    };
    block
        .subnets(len)
        .ok()?
        .map(Cidr::from)
        .find(|c| !used.iter().any(|u| u.overlaps(c)))
}

/// Adds a subnet to a VPC (in its first availability zone).
pub fn add_subnet(plan: &mut Plan, vpc: &VpcId, cidr: Cidr) -> SubnetId {
    let id: SubnetId = next_id("subnet", plan.subnets.iter().map(|s| s.id.as_str())).into();
    let az = plan
        .vpc(vpc)
        .map(|v| format!("{}a", v.region))
        .unwrap_or_default();
    plan.subnets.push(Subnet {
        id: id.clone(),
        name: String::new(),
        vpc: vpc.clone(),
        cidr,
        ipv6_cidr: None,
        az,
    });
    plan.sort();
    id
}

/// The first address of a subnet from `.10` on that no endpoint uses.
pub fn suggest_endpoint_address(plan: &Plan, subnet: &SubnetId) -> Option<Ipv4Addr> {
    let s = plan.subnet(subnet)?;
    let ipnet::IpNet::V4(net) = s.cidr.0 else {
        return None;
    };
    let used: Vec<Ipv4Addr> = plan
        .endpoints
        .iter()
        .filter(|e| &e.subnet == subnet)
        .filter_map(|e| e.ipv4)
        .collect();
    let base = u32::from(net.network());
    let last = u32::from(net.broadcast());
    (base + 10..last)
        .map(Ipv4Addr::from)
        .find(|a| !used.contains(a))
        .or_else(|| (base + 4..last).map(Ipv4Addr::from).find(|a| !used.contains(a)))
}

/// Adds an endpoint in a subnet, in its VPC's default security group.
pub fn add_endpoint(
    plan: &mut Plan,
    subnet: &SubnetId,
    name: &str,
    kind: EndpointKind,
    address: Ipv4Addr,
    port: Option<u16>,
) -> EndpointId {
    let id: EndpointId = next_id("ep", plan.endpoints.iter().map(|e| e.id.as_str())).into();
    let vpc = plan.subnet(subnet).map(|s| s.vpc.clone());
    let sg = vpc.and_then(|v| default_group(plan, &v));
    plan.endpoints.push(Endpoint {
        id: id.clone(),
        name: if name.trim().is_empty() {
            id.to_string()
        } else {
            name.trim().to_string()
        },
        kind,
        subnet: subnet.clone(),
        ipv4: Some(address),
        ipv6: None,
        security_groups: sg.into_iter().collect(),
        ports: port.into_iter().collect(),
    });
    plan.sort();
    id
}

/// The VPC's group named `default`, else its first.
pub fn default_group(plan: &Plan, vpc: &VpcId) -> Option<SecurityGroupId> {
    let groups = || plan.security_groups.iter().filter(move |g| &g.vpc == vpc);
    groups()
        .find(|g| g.name == "default")
        .or_else(|| groups().next())
        .map(|g| g.id.clone())
}

/// The VPC's main route table.
pub fn main_route_table(plan: &Plan, vpc: &VpcId) -> Option<RouteTableId> {
    let tables = || plan.route_tables.iter().filter(move |r| &r.vpc == vpc);
    tables()
        .find(|r| r.main)
        .or_else(|| tables().next())
        .map(|r| r.id.clone())
}

/// Why a peering cannot be drawn between two VPCs, if it cannot.
pub fn peering_refusal(plan: &Plan, a: &VpcId, b: &VpcId) -> Option<String> {
    if a == b {
        return Some(format!("{a} cannot peer with itself"));
    }
    let live = plan.peerings.iter().find(|p| {
        p.status.is_live()
            && ((&p.requester.vpc == a && &p.accepter.vpc == b)
                || (&p.requester.vpc == b && &p.accepter.vpc == a))
    });
    live.map(|p| format!("{a} and {b} are already peered by {} ({})", p.id, p.status))
}

/// Draws a peering from `requester` to `accepter`: `active` (the planned state), sides' accounts and regions
/// from the VPCs, and — when `with_routes` — a route to the peer's blocks in each side's main route table.
pub fn add_peering(
    plan: &mut Plan,
    requester: &VpcId,
    accepter: &VpcId,
    with_routes: bool,
) -> Option<PeeringId> {
    if peering_refusal(plan, requester, accepter).is_some() {
        return None;
    }
    let (r, a) = (plan.vpc(requester)?.clone(), plan.vpc(accepter)?.clone());
    let id: PeeringId = next_id("pcx", plan.peerings.iter().map(|p| p.id.as_str())).into();
    plan.peerings.push(Peering {
        id: id.clone(),
        requester: PeeringSide {
            vpc: r.id.clone(),
            account: r.account.clone(),
            region: r.region.clone(),
        },
        accepter: PeeringSide {
            vpc: a.id.clone(),
            account: a.account.clone(),
            region: a.region.clone(),
        },
        status: PeeringStatus::Active,
        options: PeeringOptions::default(),
        status_message: None,
    });
    // Look-ups by id are binary searches: keep every list sorted.
    plan.sort();
    if with_routes {
        add_peer_routes(plan, &id, &r.id);
        add_peer_routes(plan, &id, &a.id);
    }
    Some(id)
}

/// In `vpc`'s main route table, a route to each IPv4 block of the peer over `peering` (skipping any already
/// there).
pub fn add_peer_routes(plan: &mut Plan, peering: &PeeringId, vpc: &VpcId) {
    let Some(peer) = plan.peering(peering).and_then(|p| p.peer_of(vpc)).cloned() else {
        return;
    };
    let Some(blocks) = plan
        .vpc(&peer)
        .map(|v| v.blocks().filter(|b| b.is_v4()).copied().collect::<Vec<_>>())
    else {
        return;
    };
    let Some(rt) = main_route_table(plan, vpc) else {
        return;
    };
    if let Some(table) = plan.route_tables.iter_mut().find(|t| t.id == rt) {
        for b in blocks {
            if !table.routes.iter().any(|r| r.destination == b) {
                table.routes.push(Route {
                    destination: b,
                    target: Target::Peering(peering.clone()),
                });
            }
        }
    }
}

/// Sets a peering's status; a route over it then behaves as the control plane's would (blackhole unless
/// active).
pub fn set_peering_status(plan: &mut Plan, peering: &PeeringId, status: PeeringStatus) {
    if let Some(p) = plan.peerings.iter_mut().find(|p| &p.id == peering) {
        p.status = status;
    }
}

/// The targets a route in this table may use: `local`, `blackhole`, the VPC's peerings and gateways.
pub fn valid_targets(plan: &Plan, rt: &RouteTableId) -> Vec<Target> {
    let Some(vpc) = plan
        .route_tables
        .iter()
        .find(|t| &t.id == rt)
        .map(|t| t.vpc.clone())
    else {
        return vec![];
    };
    let mut out = vec![Target::Local];
    out.extend(
        plan.peerings
            .iter()
            .filter(|p| p.peer_of(&vpc).is_some())
            .map(|p| Target::Peering(p.id.clone())),
    );
    for g in plan.gateways.iter().filter(|g| g.vpc == vpc) {
        use crate::model::GatewayKind as K;
        out.push(match g.kind {
            K::Internet => Target::InternetGateway(g.id.clone()),
            K::Nat => Target::NatGateway(g.id.clone()),
            K::Vpn => Target::VpnGateway(g.id.clone()),
            K::GatewayEndpoint => Target::GatewayEndpoint(g.id.clone()),
        });
    }
    out.push(Target::Blackhole);
    out
}

/// Adds or replaces the route for `destination` in a table.
pub fn set_route(plan: &mut Plan, rt: &RouteTableId, destination: Cidr, target: Target) {
    if let Some(t) = plan.route_tables.iter_mut().find(|t| &t.id == rt) {
        t.routes.retain(|r| r.destination != destination);
        t.routes.push(Route { destination, target });
    }
}

/// Removes the route for `destination` from a table.
pub fn remove_route(plan: &mut Plan, rt: &RouteTableId, destination: &Cidr) {
    if let Some(t) = plan.route_tables.iter_mut().find(|t| &t.id == rt) {
        t.routes.retain(|r| &r.destination != destination);
    }
}

/// Adds an ingress rule to a group.
pub fn add_ingress(plan: &mut Plan, sg: &SecurityGroupId, rule: SgRule) {
    if let Some(g) = plan.security_groups.iter_mut().find(|g| &g.id == sg) {
        if !g.ingress.contains(&rule) {
            g.ingress.push(rule);
        }
    }
}

/// Removes a group's ingress (or egress) rule by position.
pub fn remove_rule(plan: &mut Plan, sg: &SecurityGroupId, ingress: bool, index: usize) {
    if let Some(g) = plan.security_groups.iter_mut().find(|g| &g.id == sg) {
        let rules = if ingress { &mut g.ingress } else { &mut g.egress };
        if index < rules.len() {
            rules.remove(index);
        }
    }
}

/// Deletes items; a VPC takes everything in it and its peerings along, a peering its routes, a subnet its
/// endpoints.
pub fn delete(plan: &mut Plan, items: &[Item]) {
    let mut vpcs: Vec<VpcId> = vec![];
    let mut subnets: Vec<SubnetId> = vec![];
    let mut endpoints: Vec<EndpointId> = vec![];
    let mut peerings: Vec<PeeringId> = vec![];
    for i in items {
        match i {
            Item::Vpc(v) => vpcs.push(v.clone()),
            Item::Subnet(s) => subnets.push(s.clone()),
            Item::Endpoint(e) => endpoints.push(e.clone()),
            Item::Peering(p) => peerings.push(p.clone()),
        }
    }
    subnets.extend(
        plan.subnets
            .iter()
            .filter(|s| vpcs.contains(&s.vpc))
            .map(|s| s.id.clone()),
    );
    peerings.extend(
        plan.peerings
            .iter()
            .filter(|p| vpcs.contains(&p.requester.vpc) || vpcs.contains(&p.accepter.vpc))
            .map(|p| p.id.clone()),
    );
    plan.vpcs.retain(|v| !vpcs.contains(&v.id));
    plan.subnets.retain(|s| !subnets.contains(&s.id));
    plan.endpoints
        .retain(|e| !endpoints.contains(&e.id) && !subnets.contains(&e.subnet));
    plan.peerings.retain(|p| !peerings.contains(&p.id));
    plan.route_tables.retain(|t| !vpcs.contains(&t.vpc));
    for t in &mut plan.route_tables {
        t.subnets.retain(|s| !subnets.contains(s));
        t.routes
            .retain(|r| !matches!(&r.target, Target::Peering(p) if peerings.contains(p)));
    }
    plan.network_acls.retain(|a| !vpcs.contains(&a.vpc));
    for a in &mut plan.network_acls {
        a.subnets.retain(|s| !subnets.contains(s));
    }
    let gone_groups: Vec<SecurityGroupId> = plan
        .security_groups
        .iter()
        .filter(|g| vpcs.contains(&g.vpc))
        .map(|g| g.id.clone())
        .collect();
    plan.security_groups.retain(|g| !vpcs.contains(&g.vpc));
    for g in &mut plan.security_groups {
        for rules in [&mut g.ingress, &mut g.egress] {
            rules.retain(|r| !r.sg.as_ref().is_some_and(|s| gone_groups.contains(&s.group)));
        }
    }
    plan.gateways.retain(|g| !vpcs.contains(&g.vpc));
}

/// Moves a VPC's primary block (and its subnets and endpoints, by the same offset) to `to`, which must have
/// the same size.
pub fn renumber_vpc(plan: &mut Plan, vpc: &VpcId, to: Cidr) -> bool {
    let Some(v) = plan.vpc(vpc) else { return false };
    let (ipnet::IpNet::V4(from), ipnet::IpNet::V4(to4)) = (v.cidr.0, to.0) else {
        return false;
    };
    if from.prefix_len() != to4.prefix_len() {
        return false;
    }
    let shift = |a: Ipv4Addr| -> Ipv4Addr {
        Ipv4Addr::from(u32::from(a) - u32::from(from.network()) + u32::from(to4.network()))
    };
    let inside = |a: Ipv4Addr| from.contains(&a);
    let moved_subnets: Vec<SubnetId> = plan
        .subnets
        .iter_mut()
        .filter(|s| &s.vpc == vpc)
        .filter_map(|s| match s.cidr.0 {
            ipnet::IpNet::V4(n) if inside(n.network()) => {
                s.cidr = Cidr::from(ipnet::Ipv4Net::new(shift(n.network()), n.prefix_len()).ok()?);
                Some(s.id.clone())
            }
            _ => None,
        })
        .collect();
    for e in plan
        .endpoints
        .iter_mut()
        .filter(|e| moved_subnets.contains(&e.subnet))
    {
        if let Some(a) = e.ipv4.filter(|a| inside(*a)) {
            e.ipv4 = Some(shift(a));
        }
    }
    let old = Cidr::from(from);
    // Routes elsewhere that pointed at the old block now point at the new one.
    for t in &mut plan.route_tables {
        for r in &mut t.routes {
            if r.destination == old {
                r.destination = to;
            }
        }
    }
    if let Some(v) = plan.vpcs.iter_mut().find(|v| &v.id == vpc) {
        v.cidr = to;
    }
    true
}

/// Whether [`apply_fix`] can apply this diagnostic's fix.
pub fn has_mechanical_fix(d: &Diagnostic) -> bool {
    matches!(
        d.fix,
        Some(
            Fix::AddReturnRoute { .. }
                | Fix::AddPeeringRoutes { .. }
                | Fix::PeerDirectly { .. }
                | Fix::RenumberVpc { .. }
        )
    )
}

/// Applies a diagnostic's fix where it is mechanical: the missing return route, the routes of an unused
/// peering, the direct peering (with routes both ways, and the misdirected route moved onto it), or the VPC
/// renumbered to a free block. Returns whether the plan changed.
pub fn apply_fix(plan: &mut Plan, d: &Diagnostic) -> bool {
    let Some(fix) = &d.fix else { return false };
    let before = plan.clone();
    match fix {
        Fix::AddReturnRoute { peering, peer, .. } => add_peer_routes(plan, peering, peer),
        Fix::AddPeeringRoutes { peering, sides, .. } => {
            for v in sides {
                add_peer_routes(plan, peering, v);
            }
        }
        Fix::PeerDirectly {
            vpc,
            third,
            table,
            via,
            ..
        } => {
            if let Some(new) = add_peering(plan, vpc, third, true) {
                let third_blocks: Vec<Cidr> = plan
                    .vpc(third)
                    .map(|v| v.blocks().copied().collect())
                    .unwrap_or_default();
                if let Some(t) = plan.route_tables.iter_mut().find(|t| &t.id == table) {
                    for r in &mut t.routes {
                        let misdirected = matches!(&r.target, Target::Peering(p) if p == via)
                            && third_blocks.iter().any(|b| b.overlaps(&r.destination));
                        if misdirected {
                            r.target = Target::Peering(new.clone());
                        }
                    }
                }
            }
        }
        Fix::RenumberVpc { vpc, .. } => {
            let len = plan.vpc(vpc).map(|v| v.cidr.prefix_len()).unwrap_or(16);
            if let Some(free) = suggest_vpc_block(plan, len) {
                renumber_vpc(plan, vpc, free);
            }
        }
        _ => {}
    }
    *plan != before
}

/// The endpoint whose address is `ip`, if any.
pub fn endpoint_at(plan: &Plan, ip: IpAddr) -> Option<&Endpoint> {
    plan.endpoints.iter().find(|e| match ip {
        IpAddr::V4(a) => e.ipv4 == Some(a),
        IpAddr::V6(a) => e.ipv6 == Some(a),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check, sim, CheckOptions, Code};

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn trace_code(plan: &Plan, from: &str, to: &str, port: u16) -> &'static str {
        let t = sim::Topology::new(plan);
        let flow = sim::Flow {
            from: from.into(),
            to: to.into(),
            protocol: Protocol::Tcp,
            port: Some(port),
            client: Default::default(),
        };
        sim::trace(&t, &flow).unwrap().code.as_str()
    }

    /// Two VPCs, a subnet and an endpoint each, peered with routes: the seed's picture drawn by hand.
    fn drawn_seed() -> (Plan, VpcId, VpcId) {
        let mut plan = Plan::new("drawn");
        let a = add_vpc(&mut plan, cidr("10.0.0.0/16"));
        let b = add_vpc(&mut plan, cidr("172.16.0.0/16"));
        for (v, name, port) in [(&a, "Bucket A", 443), (&b, "Agent B", 7010)] {
            let block = suggest_subnet_block(&plan, v).unwrap();
            let s = add_subnet(&mut plan, v, block);
            let ip = suggest_endpoint_address(&plan, &s).unwrap();
            add_endpoint(&mut plan, &s, name, EndpointKind::Instance, ip, Some(port));
        }
        add_peering(&mut plan, &a, &b, true).unwrap();
        (plan, a, b)
    }

    #[test]
    fn a_drawn_seed_is_clean_and_the_default_group_blocks_the_peer_until_a_rule_allows_it() {
        let (mut plan, _, b) = drawn_seed();
        plan.validate().unwrap();
        let diags = check(&plan, &CheckOptions::default());
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(trace_code(&plan, "Bucket A", "Agent B", 7010), "SG_DENY_INGRESS");
        let sg = default_group(&plan, &b).unwrap();
        add_ingress(
            &mut plan,
            &sg,
            SgRule {
                protocol: Protocol::Tcp,
                ports: Some("7010".parse().unwrap()),
                cidr: Some(cidr("10.0.0.0/16")),
                sg: None,
                description: String::new(),
            },
        );
        assert_eq!(trace_code(&plan, "Bucket A", "Agent B", 7010), "ACCEPTED");
        // Deactivating the peering blackholes its routes.
        set_peering_status(&mut plan, &"pcx-1".into(), PeeringStatus::Pending);
        assert_eq!(
            trace_code(&plan, "Bucket A", "Agent B", 7010),
            "PEERING_NOT_ACTIVE"
        );
    }

    #[test]
    fn peerings_are_refused_to_self_and_twice() {
        let (mut plan, a, b) = drawn_seed();
        assert!(peering_refusal(&plan, &a, &a).unwrap().contains("itself"));
        assert!(peering_refusal(&plan, &b, &a)
            .unwrap()
            .contains("already peered by pcx-1"));
        assert_eq!(add_peering(&mut plan, &b, &a, true), None);
    }

    #[test]
    fn deleting_a_vpc_takes_its_contents_peerings_and_routes_to_them() {
        let (mut plan, a, b) = drawn_seed();
        delete(&mut plan, &[Item::Vpc(b.clone())]);
        assert_eq!(plan.vpcs.len(), 1);
        assert!(plan.peerings.is_empty());
        assert!(plan.subnets.iter().all(|s| s.vpc == a));
        assert_eq!(plan.endpoints.len(), 1);
        let rt = main_route_table(&plan, &a).unwrap();
        assert!(plan
            .route_tables
            .iter()
            .find(|t| t.id == rt)
            .unwrap()
            .routes
            .is_empty());
        plan.validate().unwrap();
    }

    #[test]
    fn one_click_fixes_resolve_their_findings() {
        // Missing return route.
        let (mut plan, _, b) = drawn_seed();
        let rt_b = main_route_table(&plan, &b).unwrap();
        remove_route(&mut plan, &rt_b, &cidr("10.0.0.0/16"));
        let diags = check(&plan, &CheckOptions::default());
        let d = diags
            .iter()
            .find(|d| d.code == Code::MissingReturnRoute)
            .expect("flagged");
        assert!(apply_fix(&mut plan, d));
        assert!(check(&plan, &CheckOptions::default()).is_empty());

        // Transitive: A→C sent over A–B.
        let (mut plan, a, b) = drawn_seed();
        let c = add_vpc(&mut plan, cidr("192.168.0.0/16"));
        add_peering(&mut plan, &b, &c, true).unwrap();
        let rt_a = main_route_table(&plan, &a).unwrap();
        set_route(
            &mut plan,
            &rt_a,
            cidr("192.168.0.0/16"),
            Target::Peering("pcx-1".into()),
        );
        let diags = check(&plan, &CheckOptions::default());
        let d = diags
            .iter()
            .find(|d| d.code == Code::TransitiveAssumption)
            .expect("flagged");
        assert!(apply_fix(&mut plan, d));
        let diags = check(&plan, &CheckOptions::default());
        assert!(
            !diags.iter().any(|d| d.code == Code::TransitiveAssumption),
            "{diags:?}"
        );
        assert_eq!(plan.peerings.len(), 3);

        // Overlap: the second VPC, its subnet and endpoint move to a free block.
        let mut plan = Plan::new("overlap");
        add_vpc(&mut plan, cidr("10.0.0.0/16"));
        let b = add_vpc(&mut plan, cidr("10.0.0.0/16"));
        let s = add_subnet(&mut plan, &b, cidr("10.0.3.0/24"));
        add_endpoint(
            &mut plan,
            &s,
            "x",
            EndpointKind::Instance,
            "10.0.3.10".parse().unwrap(),
            None,
        );
        let diags = check(&plan, &CheckOptions::default());
        let d = diags
            .iter()
            .find(|d| d.code == Code::CidrOverlap)
            .expect("flagged");
        assert!(apply_fix(&mut plan, d));
        assert_eq!(plan.vpc(&b).unwrap().cidr.to_string(), "10.1.0.0/16");
        assert_eq!(plan.subnets[0].cidr.to_string(), "10.1.3.0/24");
        assert_eq!(plan.endpoints[0].ipv4.unwrap().to_string(), "10.1.3.10");
        assert!(check(&plan, &CheckOptions::default()).is_empty());
    }

    #[test]
    fn the_transitive_samples_fix_makes_a_reach_c() {
        let mut plan = Plan::from_json(include_str!("../../examples/transitive.json")).unwrap();
        assert_eq!(trace_code(&plan, "bucket-a", "service-c", 8080), "NOT_TRANSITIVE");
        let diags = check(&plan, &CheckOptions::default());
        let d = diags
            .iter()
            .find(|d| has_mechanical_fix(d))
            .expect("a mechanical fix");
        assert_eq!(d.code, Code::TransitiveAssumption);
        assert!(apply_fix(&mut plan, d));
        assert_eq!(trace_code(&plan, "bucket-a", "service-c", 8080), "ACCEPTED");
    }

    #[test]
    fn valid_targets_are_the_vpcs_own() {
        let (mut plan, a, _) = drawn_seed();
        let c = add_vpc(&mut plan, cidr("192.168.0.0/16"));
        let d = add_vpc(&mut plan, cidr("192.169.0.0/16"));
        add_peering(&mut plan, &c, &d, false).unwrap();
        let rt_a = main_route_table(&plan, &a).unwrap();
        let targets: Vec<String> = valid_targets(&plan, &rt_a)
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(targets, ["local", "pcx-1", "blackhole"]);
    }
}
