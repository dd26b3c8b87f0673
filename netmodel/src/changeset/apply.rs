//! [`ChangeSet::apply_to`]: the steps performed on an in-memory plan, as a strict model of the control plane.
//!
//! It refuses what the control plane refuses (and what the order exists to prevent): a route over a peering that
//! is not `active`, options on a peering that is not active, `auto_accept` across accounts, a second live peering
//! of one VPC pair, deleting a peering that routes still use, a group that endpoints use or other groups' rules
//! name, a subnet that still holds endpoints, a VPC that still has live peerings or objects of its own. So a step
//! that runs before what it depends on fails here, which is what the property tests rely on. Quadratic in places:
//! it is for tests and previews, not for estates.

use std::collections::BTreeMap;

use super::*;

/// The live plan after the steps, and the bindings of every desired object (recorded, adopted, created).
#[derive(Clone, Debug)]
pub struct Applied {
    pub plan: Plan,
    pub bindings: Bindings,
}

impl ChangeSet {
    /// Performs the steps, in order, on a copy of `live` (the plan this change set was computed against).
    /// Created objects take their plan id as live id when it is free in the live plan, else `id~2`, `id~3`…
    pub fn apply_to(&self, live: &Plan) -> Result<Applied, ChangeSetError> {
        let mut st = State {
            plan: live.clone(),
            map: self.bound.clone(),
        };
        for step in &self.steps {
            st.run(&step.op).map_err(|reason| ChangeSetError::Apply {
                step: step.label(),
                reason,
            })?;
        }
        st.plan.sort();
        Ok(Applied {
            plan: st.plan,
            bindings: st.map,
        })
    }
}

struct State {
    plan: Plan,
    map: Bindings,
}

/// `want` when no object uses it, else the first free `want~N`.
fn fresh(used: impl Fn(&str) -> bool, want: &str) -> String {
    if !used(want) {
        return want.to_string();
    }
    (2..)
        .map(|n| format!("{want}~{n}"))
        .find(|c| !used(c))
        .expect("some suffix is free")
}

fn bound<K: Ord + fmt::Display, V: Clone>(map: &BTreeMap<K, V>, k: &K, what: &str) -> Result<V, String> {
    map.get(k)
        .cloned()
        .ok_or_else(|| format!("{what} {k} has no live object yet (a step it depends on has not run)"))
}

fn resolve<K: Ord + fmt::Display + Clone + From<String>>(
    map: &BTreeMap<K, K>,
    h: &Handle,
    what: &str,
) -> Result<K, String> {
    match h {
        Handle::Live(id) => Ok(K::from(id.clone())),
        Handle::Plan(id) => bound(map, &K::from(id.clone()), what),
    }
}

fn position<T>(
    list: &[T],
    what: &str,
    id: &dyn fmt::Display,
    f: impl Fn(&T) -> bool,
) -> Result<usize, String> {
    list.iter()
        .position(f)
        .ok_or_else(|| format!("{what} {id} does not exist"))
}

impl State {
    fn vpc(&self, id: &VpcId) -> Result<&Vpc, String> {
        let i = position(&self.plan.vpcs, "VPC", id, |v| &v.id == id)?;
        Ok(&self.plan.vpcs[i])
    }

    fn peering_mut(&mut self, plan_id: &PeeringId) -> Result<&mut Peering, String> {
        let id = bound(&self.map.peerings, plan_id, "peering")?;
        let i = position(&self.plan.peerings, "peering", &id, |p| p.id == id)?;
        Ok(&mut self.plan.peerings[i])
    }

    /// A desired route target in live ids; a peering must be active.
    fn live_target(&self, t: &Target) -> Result<Target, String> {
        Ok(match t {
            Target::Peering(p) => {
                let id = bound(&self.map.peerings, p, "peering")?;
                let live =
                    &self.plan.peerings[position(&self.plan.peerings, "peering", &id, |x| x.id == id)?];
                if live.status != PeeringStatus::Active {
                    return Err(format!(
                        "peering {p} ({id}) is {}: the route would blackhole",
                        live.status
                    ));
                }
                Target::Peering(id)
            }
            Target::InternetGateway(g) => Target::InternetGateway(bound(&self.map.gateways, g, "gateway")?),
            Target::NatGateway(g) => Target::NatGateway(bound(&self.map.gateways, g, "gateway")?),
            Target::VpnGateway(g) => Target::VpnGateway(bound(&self.map.gateways, g, "gateway")?),
            Target::GatewayEndpoint(g) => Target::GatewayEndpoint(bound(&self.map.gateways, g, "gateway")?),
            Target::Local | Target::Blackhole => t.clone(),
        })
    }

    fn live_rule(&self, r: &SgRule) -> Result<SgRule, String> {
        let mut r = r.clone();
        if let Some(sg) = &mut r.sg {
            sg.group = bound(&self.map.security_groups, &sg.group, "security group")?;
        }
        Ok(r)
    }

    fn subnets(&self, list: &[SubnetId]) -> Result<Vec<SubnetId>, String> {
        list.iter()
            .map(|s| bound(&self.map.subnets, s, "subnet"))
            .collect()
    }

    /// Associating moves a subnet: it leaves whatever route table (or ACL) held it.
    fn move_subnets(&mut self, to_acl: bool, keep: &str, subnets: &[SubnetId]) {
        if to_acl {
            for a in self.plan.network_acls.iter_mut().filter(|a| a.id.0 != keep) {
                a.subnets.retain(|s| !subnets.contains(s));
            }
        } else {
            for t in self.plan.route_tables.iter_mut().filter(|t| t.id.0 != keep) {
                t.subnets.retain(|s| !subnets.contains(s));
            }
        }
    }

    fn ensure_account(&mut self, a: &AccountId) {
        if !self.plan.accounts.iter().any(|x| &x.id == a) {
            self.plan.accounts.push(Account {
                id: a.clone(),
                name: String::new(),
            });
        }
    }

    fn run(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::CreateVpc {
                vpc,
                main_table,
                default_acl,
                default_sg,
            } => {
                let id = VpcId(fresh(
                    |c| self.plan.vpcs.iter().any(|v| v.id.0 == c),
                    vpc.id.as_str(),
                ));
                self.ensure_account(&vpc.account);
                self.plan.vpcs.push(Vpc {
                    id: id.clone(),
                    position: None,
                    ..vpc.clone()
                });
                self.map.vpcs.insert(vpc.id.clone(), id.clone());
                let want = main_table
                    .as_ref()
                    .map(|t| t.0.clone())
                    .unwrap_or(format!("{id}-main"));
                let t = RouteTableId(fresh(
                    |c| self.plan.route_tables.iter().any(|x| x.id.0 == c),
                    &want,
                ));
                self.plan.route_tables.push(RouteTable {
                    id: t.clone(),
                    vpc: id.clone(),
                    main: true,
                    subnets: Vec::new(),
                    routes: Vec::new(),
                });
                if let Some(m) = main_table {
                    self.map.route_tables.insert(m.clone(), t);
                }
                let want = default_acl
                    .as_ref()
                    .map(|a| a.0.clone())
                    .unwrap_or(format!("{id}-acl"));
                let a = NetworkAclId(fresh(
                    |c| self.plan.network_acls.iter().any(|x| x.id.0 == c),
                    &want,
                ));
                self.plan.network_acls.push(NetworkAcl {
                    id: a.clone(),
                    vpc: id.clone(),
                    default: true,
                    subnets: Vec::new(),
                    entries: default_acl_entries(),
                });
                if let Some(d) = default_acl {
                    self.map.network_acls.insert(d.clone(), a);
                }
                let want = default_sg
                    .as_ref()
                    .map(|g| g.0.clone())
                    .unwrap_or(format!("{id}-default"));
                let g = SecurityGroupId(fresh(
                    |c| self.plan.security_groups.iter().any(|x| x.id.0 == c),
                    &want,
                ));
                let (ingress, egress) = default_group_rules(&g);
                self.plan.security_groups.push(SecurityGroup {
                    id: g.clone(),
                    name: DEFAULT_GROUP.into(),
                    vpc: id,
                    ingress,
                    egress,
                });
                if let Some(d) = default_sg {
                    self.map.security_groups.insert(d.clone(), g);
                }
            }
            Op::AdoptVpc { vpc, live } => {
                self.vpc(live)?;
                self.map.vpcs.insert(vpc.clone(), live.clone());
            }
            Op::UpdateVpc { vpc, name } => {
                let id = bound(&self.map.vpcs, vpc, "VPC")?;
                let i = position(&self.plan.vpcs, "VPC", &id, |v| v.id == id)?;
                self.plan.vpcs[i].name = name.clone();
            }
            Op::DeleteVpc { live } => {
                self.vpc(live)?;
                if let Some(p) = self
                    .plan
                    .peerings
                    .iter()
                    .find(|p| p.status.is_live() && (&p.requester.vpc == live || &p.accepter.vpc == live))
                {
                    return Err(format!("VPC {live} still has {} peering {}", p.status, p.id));
                }
                let holds = self
                    .plan
                    .subnets
                    .iter()
                    .find(|s| &s.vpc == live)
                    .map(|s| format!("subnet {}", s.id))
                    .or_else(|| {
                        self.plan
                            .route_tables
                            .iter()
                            .find(|t| &t.vpc == live && !t.main)
                            .map(|t| format!("route table {}", t.id))
                    })
                    .or_else(|| {
                        self.plan
                            .network_acls
                            .iter()
                            .find(|a| &a.vpc == live && !a.default)
                            .map(|a| format!("network ACL {}", a.id))
                    })
                    .or_else(|| {
                        self.plan
                            .security_groups
                            .iter()
                            .find(|g| &g.vpc == live && !is_default_group(g))
                            .map(|g| format!("security group {}", g.id))
                    })
                    .or_else(|| {
                        self.plan
                            .gateways
                            .iter()
                            .find(|g| &g.vpc == live)
                            .map(|g| format!("gateway {}", g.id))
                    });
                if let Some(h) = holds {
                    return Err(format!("VPC {live} still holds {h}"));
                }
                // What goes with the VPC: its own tables, ACLs and groups, rules of other groups naming its groups,
                // its ended peerings (routes over them elsewhere become blackholes).
                let groups: Vec<SecurityGroupId> = self
                    .plan
                    .security_groups
                    .iter()
                    .filter(|g| &g.vpc == live)
                    .map(|g| g.id.clone())
                    .collect();
                self.plan.route_tables.retain(|t| &t.vpc != live);
                self.plan.network_acls.retain(|a| &a.vpc != live);
                self.plan.security_groups.retain(|g| &g.vpc != live);
                for g in &mut self.plan.security_groups {
                    for rules in [&mut g.ingress, &mut g.egress] {
                        rules.retain(|r| r.sg.as_ref().is_none_or(|s| !groups.contains(&s.group)));
                    }
                }
                let ended: Vec<PeeringId> = self
                    .plan
                    .peerings
                    .iter()
                    .filter(|p| &p.requester.vpc == live || &p.accepter.vpc == live)
                    .map(|p| p.id.clone())
                    .collect();
                self.plan.peerings.retain(|p| !ended.contains(&p.id));
                for t in &mut self.plan.route_tables {
                    for r in &mut t.routes {
                        if matches!(&r.target, Target::Peering(p) if ended.contains(p)) {
                            r.target = Target::Blackhole;
                        }
                    }
                }
                self.plan.vpcs.retain(|v| &v.id != live);
            }
            Op::CreateVpcBlock { vpc, cidr } => {
                let id = bound(&self.map.vpcs, vpc, "VPC")?;
                let i = position(&self.plan.vpcs, "VPC", &id, |v| v.id == id)?;
                let v = &mut self.plan.vpcs[i];
                if v.blocks().any(|b| b == cidr) {
                    return Err(format!("VPC {id} already has block {cidr}"));
                }
                if cidr.is_v4() {
                    v.secondary_cidrs.push(*cidr);
                } else {
                    v.ipv6_cidrs.push(*cidr);
                }
            }
            Op::DeleteVpcBlock { live, cidr } => {
                if let Some(s) = self.plan.subnets.iter().find(|s| {
                    &s.vpc == live
                        && (cidr.contains_block(&s.cidr)
                            || s.ipv6_cidr.is_some_and(|c| cidr.contains_block(&c)))
                }) {
                    return Err(format!("subnet {} still lies in block {cidr}", s.id));
                }
                let i = position(&self.plan.vpcs, "VPC", live, |v| &v.id == live)?;
                let v = &mut self.plan.vpcs[i];
                v.secondary_cidrs.retain(|b| b != cidr);
                v.ipv6_cidrs.retain(|b| b != cidr);
            }
            Op::CreateSubnet { subnet } => {
                let vpc = bound(&self.map.vpcs, &subnet.vpc, "VPC")?;
                let v = self.vpc(&vpc)?;
                if !v.blocks().any(|b| b.contains_block(&subnet.cidr)) {
                    return Err(format!("{} lies outside the blocks of VPC {vpc}", subnet.cidr));
                }
                if let Some(o) = self
                    .plan
                    .subnets
                    .iter()
                    .find(|s| s.vpc == vpc && s.cidr.overlaps(&subnet.cidr))
                {
                    return Err(format!("{} overlaps subnet {} ({})", subnet.cidr, o.id, o.cidr));
                }
                let id = SubnetId(fresh(
                    |c| self.plan.subnets.iter().any(|s| s.id.0 == c),
                    subnet.id.as_str(),
                ));
                self.plan.subnets.push(Subnet {
                    id: id.clone(),
                    vpc,
                    ..subnet.clone()
                });
                self.map.subnets.insert(subnet.id.clone(), id);
            }
            Op::UpdateSubnet { subnet } => {
                let id = bound(&self.map.subnets, &subnet.id, "subnet")?;
                let i = position(&self.plan.subnets, "subnet", &id, |s| s.id == id)?;
                self.plan.subnets[i].az = subnet.az.clone();
                self.plan.subnets[i].ipv6_cidr = subnet.ipv6_cidr;
            }
            Op::DeleteSubnet { live } => {
                position(&self.plan.subnets, "subnet", live, |s| &s.id == live)?;
                if let Some(e) = self.plan.endpoints.iter().find(|e| &e.subnet == live) {
                    return Err(format!("subnet {live} still holds endpoint {}", e.id));
                }
                if let Some(g) = self
                    .plan
                    .gateways
                    .iter()
                    .find(|g| g.subnet.as_ref() == Some(live))
                {
                    return Err(format!("subnet {live} still holds gateway {}", g.id));
                }
                self.plan.subnets.retain(|s| &s.id != live);
                self.move_subnets(false, "", std::slice::from_ref(live));
                self.move_subnets(true, "", std::slice::from_ref(live));
            }
            Op::CreateRouteTable { table } => {
                let vpc = bound(&self.map.vpcs, &table.vpc, "VPC")?;
                let subnets = self.subnets(&table.subnets)?;
                let id = RouteTableId(fresh(
                    |c| self.plan.route_tables.iter().any(|t| t.id.0 == c),
                    table.id.as_str(),
                ));
                self.move_subnets(false, id.as_str(), &subnets);
                self.plan.route_tables.push(RouteTable {
                    id: id.clone(),
                    vpc,
                    main: table.main,
                    subnets,
                    routes: Vec::new(),
                });
                self.map.route_tables.insert(table.id.clone(), id);
            }
            Op::UpdateRouteTable { table, subnets } => {
                let id = bound(&self.map.route_tables, table, "route table")?;
                let subnets = self.subnets(subnets)?;
                self.move_subnets(false, id.as_str(), &subnets);
                let i = position(&self.plan.route_tables, "route table", &id, |t| t.id == id)?;
                self.plan.route_tables[i].subnets = subnets;
            }
            Op::DeleteRouteTable { live } => {
                let i = position(&self.plan.route_tables, "route table", live, |t| &t.id == live)?;
                if self.plan.route_tables[i].main {
                    return Err(format!("route table {live} is its VPC's main table"));
                }
                self.plan.route_tables.remove(i);
            }
            Op::CreateSecurityGroup { group } => {
                let vpc = bound(&self.map.vpcs, &group.vpc, "VPC")?;
                let id = SecurityGroupId(fresh(
                    |c| self.plan.security_groups.iter().any(|g| g.id.0 == c),
                    group.id.as_str(),
                ));
                self.plan.security_groups.push(SecurityGroup {
                    id: id.clone(),
                    name: group.name.clone(),
                    vpc,
                    ingress: Vec::new(),
                    egress: Vec::new(),
                });
                self.map.security_groups.insert(group.id.clone(), id);
            }
            Op::UpdateSecurityGroup { group, name } => {
                let id = bound(&self.map.security_groups, group, "security group")?;
                let i = position(&self.plan.security_groups, "security group", &id, |g| g.id == id)?;
                self.plan.security_groups[i].name = name.clone();
            }
            Op::DeleteSecurityGroup { live } => {
                let i = position(&self.plan.security_groups, "security group", live, |g| {
                    &g.id == live
                })?;
                if is_default_group(&self.plan.security_groups[i]) {
                    return Err(format!("security group {live} is its VPC's default group"));
                }
                if let Some(e) = self
                    .plan
                    .endpoints
                    .iter()
                    .find(|e| e.security_groups.contains(live))
                {
                    return Err(format!("security group {live} is used by endpoint {}", e.id));
                }
                let named_by = self.plan.security_groups.iter().find(|g| {
                    &g.id != live
                        && g.ingress
                            .iter()
                            .chain(&g.egress)
                            .any(|r| r.sg.as_ref().is_some_and(|s| &s.group == live))
                });
                if let Some(g) = named_by {
                    return Err(format!("security group {live} is named by a rule of {}", g.id));
                }
                self.plan.security_groups.remove(i);
            }
            Op::CreateNetworkAcl { acl } => {
                let vpc = bound(&self.map.vpcs, &acl.vpc, "VPC")?;
                let subnets = self.subnets(&acl.subnets)?;
                let id = NetworkAclId(fresh(
                    |c| self.plan.network_acls.iter().any(|a| a.id.0 == c),
                    acl.id.as_str(),
                ));
                self.move_subnets(true, id.as_str(), &subnets);
                self.plan.network_acls.push(NetworkAcl {
                    id: id.clone(),
                    vpc,
                    default: acl.default,
                    subnets,
                    entries: Vec::new(),
                });
                self.map.network_acls.insert(acl.id.clone(), id);
            }
            Op::UpdateNetworkAcl { acl, subnets } => {
                let id = bound(&self.map.network_acls, acl, "network ACL")?;
                let subnets = self.subnets(subnets)?;
                self.move_subnets(true, id.as_str(), &subnets);
                let i = position(&self.plan.network_acls, "network ACL", &id, |a| a.id == id)?;
                self.plan.network_acls[i].subnets = subnets;
            }
            Op::DeleteNetworkAcl { live } => {
                let i = position(&self.plan.network_acls, "network ACL", live, |a| &a.id == live)?;
                if self.plan.network_acls[i].default {
                    return Err(format!("network ACL {live} is its VPC's default ACL"));
                }
                self.plan.network_acls.remove(i);
            }
            Op::CreateGateway { gateway } => {
                let vpc = bound(&self.map.vpcs, &gateway.vpc, "VPC")?;
                let subnet = match &gateway.subnet {
                    Some(s) => Some(bound(&self.map.subnets, s, "subnet")?),
                    None => None,
                };
                let id = GatewayId(fresh(
                    |c| self.plan.gateways.iter().any(|g| g.id.0 == c),
                    gateway.id.as_str(),
                ));
                self.plan.gateways.push(Gateway {
                    id: id.clone(),
                    vpc,
                    subnet,
                    ..gateway.clone()
                });
                self.map.gateways.insert(gateway.id.clone(), id);
            }
            Op::UpdateGateway { gateway, name } => {
                let id = bound(&self.map.gateways, gateway, "gateway")?;
                let i = position(&self.plan.gateways, "gateway", &id, |g| g.id == id)?;
                self.plan.gateways[i].name = name.clone();
            }
            Op::DeleteGateway { live } => {
                let i = position(&self.plan.gateways, "gateway", live, |g| &g.id == live)?;
                let used = self.plan.route_tables.iter().find(|t| {
                    t.routes.iter().any(|r| match &r.target {
                        Target::InternetGateway(g)
                        | Target::NatGateway(g)
                        | Target::VpnGateway(g)
                        | Target::GatewayEndpoint(g) => g == live,
                        _ => false,
                    })
                });
                if let Some(t) = used {
                    return Err(format!("gateway {live} is the target of a route in {}", t.id));
                }
                self.plan.gateways.remove(i);
            }
            Op::CreateEndpoint { endpoint } => {
                let subnet = bound(&self.map.subnets, &endpoint.subnet, "subnet")?;
                let groups = endpoint
                    .security_groups
                    .iter()
                    .map(|g| bound(&self.map.security_groups, g, "security group"))
                    .collect::<Result<Vec<_>, _>>()?;
                let id = EndpointId(fresh(
                    |c| self.plan.endpoints.iter().any(|e| e.id.0 == c),
                    endpoint.id.as_str(),
                ));
                self.plan.endpoints.push(Endpoint {
                    id: id.clone(),
                    subnet,
                    security_groups: groups,
                    ..endpoint.clone()
                });
                self.map.endpoints.insert(endpoint.id.clone(), id);
            }
            Op::UpdateEndpoint { endpoint } => {
                let id = bound(&self.map.endpoints, &endpoint.id, "endpoint")?;
                let groups = endpoint
                    .security_groups
                    .iter()
                    .map(|g| bound(&self.map.security_groups, g, "security group"))
                    .collect::<Result<Vec<_>, _>>()?;
                let i = position(&self.plan.endpoints, "endpoint", &id, |e| e.id == id)?;
                let e = &mut self.plan.endpoints[i];
                e.name = endpoint.name.clone();
                e.kind = endpoint.kind;
                e.ports = endpoint.ports.clone();
                e.security_groups = groups;
            }
            Op::DeleteEndpoint { live } => {
                let i = position(&self.plan.endpoints, "endpoint", live, |e| &e.id == live)?;
                self.plan.endpoints.remove(i);
            }
            Op::CreatePeering { peering, auto_accept } => {
                let r = self
                    .vpc(&bound(&self.map.vpcs, &peering.requester.vpc, "VPC")?)?
                    .clone();
                let a = self
                    .vpc(&bound(&self.map.vpcs, &peering.accepter.vpc, "VPC")?)?
                    .clone();
                if *auto_accept && r.account != a.account {
                    return Err(format!(
                        "auto_accept across accounts ({} → {}) is refused",
                        r.account, a.account
                    ));
                }
                let pair = |p: &Peering| {
                    (p.requester.vpc == r.id && p.accepter.vpc == a.id)
                        || (p.requester.vpc == a.id && p.accepter.vpc == r.id)
                };
                if let Some(o) = self.plan.peerings.iter().find(|p| p.status.is_live() && pair(p)) {
                    return Err(format!(
                        "{} and {} are already joined by {} peering {}",
                        r.id, a.id, o.status, o.id
                    ));
                }
                let id = PeeringId(fresh(
                    |c| self.plan.peerings.iter().any(|p| p.id.0 == c),
                    peering.id.as_str(),
                ));
                self.plan.peerings.push(Peering {
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
                    status: if *auto_accept {
                        PeeringStatus::Active
                    } else {
                        PeeringStatus::Pending
                    },
                    options: PeeringOptions::default(),
                    status_message: None,
                });
                self.map.peerings.insert(peering.id.clone(), id);
            }
            Op::AcceptPeering { peering } => {
                let p = self.peering_mut(peering)?;
                match p.status {
                    PeeringStatus::Pending => p.status = PeeringStatus::Active,
                    PeeringStatus::Active => {}
                    other => return Err(format!("peering {} is {other}: it cannot be accepted", p.id)),
                }
            }
            Op::WaitActive { peering } => {
                let p = self.peering_mut(peering)?;
                if p.status != PeeringStatus::Active {
                    return Err(format!("peering {} is {}, not active", p.id, p.status));
                }
            }
            Op::SetPeeringOptions { peering, options } => {
                let p = self.peering_mut(peering)?;
                if p.status != PeeringStatus::Active {
                    return Err(format!(
                        "peering {} is {}: options need an active peering",
                        p.id, p.status
                    ));
                }
                p.options = options.clone();
            }
            Op::DeletePeering { live } => {
                if let Some(t) = self
                    .plan
                    .route_tables
                    .iter()
                    .find(|t| t.routes.iter().any(|r| r.target == Target::Peering(live.clone())))
                {
                    return Err(format!(
                        "peering {live} is still the target of a route in {}",
                        t.id
                    ));
                }
                let i = position(&self.plan.peerings, "peering", live, |p| &p.id == live)?;
                let p = &mut self.plan.peerings[i];
                if !p.status.is_live() {
                    return Err(format!("peering {live} is {}: it cannot be deleted", p.status));
                }
                p.status = PeeringStatus::Deleted;
            }
            Op::CreateRoute { table, route } | Op::UpdateRoute { table, route } => {
                let id = resolve(&self.map.route_tables, table, "route table")?;
                let target = self.live_target(&route.target)?;
                let i = position(&self.plan.route_tables, "route table", &id, |t| t.id == id)?;
                let t = &mut self.plan.route_tables[i];
                let existing = t.routes.iter().position(|r| r.destination == route.destination);
                match (op, existing) {
                    (Op::CreateRoute { .. }, Some(_)) => {
                        return Err(format!("{id} already has a route for {}", route.destination))
                    }
                    (Op::CreateRoute { .. }, None) => t.routes.push(Route {
                        destination: route.destination,
                        target,
                    }),
                    (_, Some(j)) => t.routes[j].target = target,
                    (_, None) => return Err(format!("{id} has no route for {}", route.destination)),
                }
            }
            Op::DeleteRoute { table, destination } => {
                let id = resolve(&self.map.route_tables, table, "route table")?;
                let i = position(&self.plan.route_tables, "route table", &id, |t| t.id == id)?;
                let t = &mut self.plan.route_tables[i];
                let j = position(&t.routes, "route", destination, |r| &r.destination == destination)?;
                t.routes.remove(j);
            }
            Op::CreateSgRule {
                group,
                direction,
                rule,
            } => {
                let id = resolve(&self.map.security_groups, group, "security group")?;
                let rule = self.live_rule(rule)?;
                if let Some(s) = &rule.sg {
                    position(&self.plan.security_groups, "security group", &s.group, |g| {
                        g.id == s.group
                    })?;
                }
                let i = position(&self.plan.security_groups, "security group", &id, |g| g.id == id)?;
                let g = &mut self.plan.security_groups[i];
                match direction {
                    SgDirection::Ingress => g.ingress.push(rule),
                    SgDirection::Egress => g.egress.push(rule),
                }
            }
            Op::DeleteSgRule {
                group,
                direction,
                rule,
                live_refs,
            } => {
                let id = resolve(&self.map.security_groups, group, "security group")?;
                let rule = if *live_refs {
                    rule.clone()
                } else {
                    self.live_rule(rule)?
                };
                let key = rule_key(*direction, &rule, |g| Handle::Live(g.0.clone()));
                let i = position(&self.plan.security_groups, "security group", &id, |g| g.id == id)?;
                let g = &mut self.plan.security_groups[i];
                let rules = match direction {
                    SgDirection::Ingress => &mut g.ingress,
                    SgDirection::Egress => &mut g.egress,
                };
                let j = rules
                    .iter()
                    .position(|r| rule_key(*direction, r, |g| Handle::Live(g.0.clone())) == key)
                    .ok_or_else(|| format!("{id} has no rule {}", rule_text(*direction, &rule)))?;
                rules.remove(j);
            }
            Op::CreateAclEntry { acl, entry } | Op::UpdateAclEntry { acl, entry } => {
                let id = resolve(&self.map.network_acls, acl, "network ACL")?;
                let i = position(&self.plan.network_acls, "network ACL", &id, |a| a.id == id)?;
                let a = &mut self.plan.network_acls[i];
                let existing = a
                    .entries
                    .iter()
                    .position(|e| e.direction == entry.direction && e.rule == entry.rule);
                match (op, existing) {
                    (Op::CreateAclEntry { .. }, Some(_)) => {
                        return Err(format!(
                            "{id} already has entry {} #{}",
                            dir_word(entry.direction),
                            entry.rule
                        ))
                    }
                    (Op::CreateAclEntry { .. }, None) => a.entries.push(entry.clone()),
                    (_, Some(j)) => a.entries[j] = entry.clone(),
                    (_, None) => {
                        return Err(format!(
                            "{id} has no entry {} #{}",
                            dir_word(entry.direction),
                            entry.rule
                        ))
                    }
                }
            }
            Op::DeleteAclEntry { acl, direction, rule } => {
                let id = resolve(&self.map.network_acls, acl, "network ACL")?;
                let i = position(&self.plan.network_acls, "network ACL", &id, |a| a.id == id)?;
                let a = &mut self.plan.network_acls[i];
                let j = position(&a.entries, "entry", rule, |e| {
                    e.direction == *direction && e.rule == *rule
                })?;
                a.entries.remove(j);
            }
        }
        Ok(())
    }
}
