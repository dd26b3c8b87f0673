//! When a live plan is what a desired plan asks for: [`equivalent`].

use std::collections::BTreeMap;

use super::*;

/// Whether `result` (a live plan, e.g. after [`ChangeSet::apply_to`]) is what `desired` asks for, given which live
/// object each plan object is (`bindings`, e.g. [`Applied::bindings`]). `Ok` or the first difference.
///
/// Equivalent means equal up to the ids of objects: every desired object the change set manages is bound to a
/// result object of the same kind whose managed attributes are equal, references (VPCs, subnets, groups, peerings,
/// gateways) mapped through the bindings; and every result object is the image of a desired object, except
///
/// - the main route table, default network ACL and `default` security group of a VPC when the plan binds none of
///   its own (they come with every VPC and are left alone), and
/// - peerings that are no longer live (`failed`, `rejected`, `expired`, `deleted`): they are gone.
///
/// Compared: a VPC's account, region, blocks and name; a subnet's VPC, block, zone and IPv6 block; a route table's
/// VPC, main flag, associated subnets and routes (destination → target); a group's VPC, name and rules (every
/// field, protocol and ports normalised: `6` is `tcp`, tcp without ports is 0-65535, ports of other protocols do
/// not count); an ACL's VPC, default flag, associated subnets and entries (by direction and rule number); a
/// gateway's VPC, kind and name; an endpoint's subnet, name, kind, addresses, groups and ports; a live peering's
/// requester and accepter VPCs and options, and its status: `active` where the plan says active, `pending` or
/// `active` where it says pending (options only where it says active). Not compared: names of subnets, a gateway's subnet and destinations, positions,
/// the accounts list, routes to `local` or `blackhole`, and routes held back (over a peering the plan holds as ended,
/// or as pending while it is not active).
pub fn equivalent(desired: &Plan, result: &Plan, bindings: &Bindings) -> Result<(), String> {
    let want = facts_of_desired(desired, result, bindings)?;
    let images = Images::of(bindings);
    let have = facts_of_result(result, &images, &want.held, &want.pending);
    for (k, v) in &want.facts {
        match have.get(k) {
            Some(h) if h == v => {}
            Some(h) => return Err(format!("{k}: the plan wants {v}, the result has {h}")),
            None => return Err(format!("{k}: the plan wants {v}, the result has nothing")),
        }
    }
    if let Some((k, v)) = have.iter().find(|(k, _)| !want.facts.contains_key(*k)) {
        return Err(format!(
            "{k}: the result has {v}, which the plan does not ask for"
        ));
    }
    Ok(())
}

struct Desired {
    facts: BTreeMap<String, String>,
    /// (result table id, destination) pairs whose routes are held back.
    held: BTreeSet<(String, Cidr)>,
    /// Result peerings the plan holds as pending (pending or active will do).
    pending: BTreeSet<String>,
}

/// The live ids that are images of plan objects, per kind.
struct Images {
    tables: BTreeSet<String>,
    acls: BTreeSet<String>,
    groups: BTreeSet<String>,
}

impl Images {
    fn of(b: &Bindings) -> Images {
        Images {
            tables: b.route_tables.values().map(|x| x.0.clone()).collect(),
            acls: b.network_acls.values().map(|x| x.0.clone()).collect(),
            groups: b.security_groups.values().map(|x| x.0.clone()).collect(),
        }
    }
}

fn sorted<T: Ord + fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let set: BTreeSet<T> = items.into_iter().collect();
    set.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

fn map<K: Ord + fmt::Display>(m: &BTreeMap<K, K>, k: &K, what: &str) -> Result<String, String> {
    m.get(k)
        .map(|v| v.to_string())
        .ok_or_else(|| format!("{what} {k} of the plan is bound to no live object"))
}

fn rule_fact(direction: SgDirection, r: &SgRule, group: &str) -> String {
    format!(
        "{} {} {:?} {:?} {:?}/{} {:?}",
        direction.as_str(),
        norm_protocol(r.protocol),
        norm_ports(r.protocol, r.ports),
        r.cidr.map(|c| c.to_string()),
        r.sg.as_ref()
            .and_then(|s| s.account.as_ref())
            .map(|a| a.to_string()),
        group,
        r.description
    )
}

fn entry_fact(e: &AclEntry) -> String {
    let (p, ports, cidr, action) = entry_value(e);
    format!("{p} {ports:?} {cidr} {action:?}")
}

fn target_fact(t: &Target) -> String {
    format!("{}:{t}", target_tag(t))
}

fn endpoint_fact(e: &Endpoint, subnet: &str, groups: String) -> String {
    let mut ports = e.ports.clone();
    ports.sort_unstable();
    ports.dedup();
    format!(
        "{subnet} {:?} {:?} {:?} {:?} groups={groups} ports={ports:?}",
        e.name, e.kind, e.ipv4, e.ipv6
    )
}

fn facts_of_desired(desired: &Plan, result: &Plan, b: &Bindings) -> Result<Desired, String> {
    let mut f = BTreeMap::new();
    let mut held = BTreeSet::new();
    let mut pending = BTreeSet::new();
    let result_status: BTreeMap<&PeeringId, PeeringStatus> =
        result.peerings.iter().map(|p| (&p.id, p.status)).collect();
    for v in &desired.vpcs {
        let id = map(&b.vpcs, &v.id, "VPC")?;
        f.insert(
            format!("vpc {id}"),
            format!(
                "{} {} {} name={:?} blocks={}",
                v.account,
                v.region,
                v.cidr,
                v.name,
                sorted(v.secondary_cidrs.iter().chain(&v.ipv6_cidrs))
            ),
        );
    }
    for s in &desired.subnets {
        let id = map(&b.subnets, &s.id, "subnet")?;
        let vpc = map(&b.vpcs, &s.vpc, "VPC")?;
        f.insert(
            format!("subnet {id}"),
            format!(
                "{vpc} {} az={:?} ipv6={:?}",
                s.cidr,
                s.az,
                s.ipv6_cidr.map(|c| c.to_string())
            ),
        );
    }
    // Peerings first: routes need to know which are held back.
    let mut wanted: BTreeMap<&PeeringId, (String, bool)> = BTreeMap::new();
    for p in &desired.peerings {
        if !p.status.is_live() {
            continue;
        }
        let id = map(&b.peerings, &p.id, "peering")?;
        let active_now = result_status.get(&PeeringId(id.clone())) == Some(&PeeringStatus::Active);
        let is_held = p.status == PeeringStatus::Pending && !active_now;
        // Options need an active peering: for one the plan holds as pending, they are not managed.
        let dns = if p.status == PeeringStatus::Active {
            p.options.dns_resolution.to_string()
        } else {
            "-".into()
        };
        f.insert(
            format!("peering {id}"),
            format!(
                "{} → {} dns={dns}",
                map(&b.vpcs, &p.requester.vpc, "VPC")?,
                map(&b.vpcs, &p.accepter.vpc, "VPC")?,
            ),
        );
        let status = if p.status == PeeringStatus::Pending {
            pending.insert(id.clone());
            "live".to_string()
        } else {
            p.status.to_string()
        };
        f.insert(format!("peering-status {id}"), status);
        wanted.insert(&p.id, (id, is_held));
    }
    for t in &desired.route_tables {
        let id = map(&b.route_tables, &t.id, "route table")?;
        let vpc = map(&b.vpcs, &t.vpc, "VPC")?;
        let subnets = t
            .subnets
            .iter()
            .map(|s| map(&b.subnets, s, "subnet"))
            .collect::<Result<Vec<_>, _>>()?;
        f.insert(
            format!("route-table {id}"),
            format!("{vpc} main={} subnets={}", t.main, sorted(subnets)),
        );
        let mut seen = BTreeSet::new();
        for r in &t.routes {
            // One route per destination: the first in the plan.
            if matches!(r.target, Target::Local | Target::Blackhole) || !seen.insert(r.destination) {
                continue;
            }
            let target = match &r.target {
                Target::Local | Target::Blackhole => continue,
                Target::Peering(p) => match wanted.get(p) {
                    Some((live, false)) => Target::Peering(PeeringId(live.clone())),
                    _ => {
                        held.insert((id.clone(), r.destination));
                        continue;
                    }
                },
                Target::InternetGateway(g) => {
                    Target::InternetGateway(GatewayId(map(&b.gateways, g, "gateway")?))
                }
                Target::NatGateway(g) => Target::NatGateway(GatewayId(map(&b.gateways, g, "gateway")?)),
                Target::VpnGateway(g) => Target::VpnGateway(GatewayId(map(&b.gateways, g, "gateway")?)),
                Target::GatewayEndpoint(g) => {
                    Target::GatewayEndpoint(GatewayId(map(&b.gateways, g, "gateway")?))
                }
            };
            f.insert(format!("route {id} {}", r.destination), target_fact(&target));
        }
    }
    for g in &desired.security_groups {
        let id = map(&b.security_groups, &g.id, "security group")?;
        let vpc = map(&b.vpcs, &g.vpc, "VPC")?;
        f.insert(format!("security-group {id}"), format!("{vpc} name={:?}", g.name));
        for (d, rules) in [
            (SgDirection::Ingress, &g.ingress),
            (SgDirection::Egress, &g.egress),
        ] {
            for r in rules {
                let group = match &r.sg {
                    Some(s) => map(&b.security_groups, &s.group, "security group")?,
                    None => String::new(),
                };
                f.insert(format!("sg-rule {id} {}", rule_fact(d, r, &group)), String::new());
            }
        }
    }
    for a in &desired.network_acls {
        let id = map(&b.network_acls, &a.id, "network ACL")?;
        let vpc = map(&b.vpcs, &a.vpc, "VPC")?;
        let subnets = a
            .subnets
            .iter()
            .map(|s| map(&b.subnets, s, "subnet"))
            .collect::<Result<Vec<_>, _>>()?;
        f.insert(
            format!("network-acl {id}"),
            format!("{vpc} default={} subnets={}", a.default, sorted(subnets)),
        );
        let mut seen = BTreeSet::new();
        for e in &a.entries {
            if seen.insert((e.direction, e.rule)) {
                f.insert(
                    format!("acl-entry {id} {} {}", dir_word(e.direction), e.rule),
                    entry_fact(e),
                );
            }
        }
    }
    for g in &desired.gateways {
        let id = map(&b.gateways, &g.id, "gateway")?;
        let vpc = map(&b.vpcs, &g.vpc, "VPC")?;
        f.insert(
            format!("gateway {id}"),
            format!("{vpc} {:?} name={:?}", g.kind, g.name),
        );
    }
    for e in &desired.endpoints {
        let id = map(&b.endpoints, &e.id, "endpoint")?;
        let subnet = map(&b.subnets, &e.subnet, "subnet")?;
        let groups = e
            .security_groups
            .iter()
            .map(|g| map(&b.security_groups, g, "security group"))
            .collect::<Result<Vec<_>, _>>()?;
        f.insert(
            format!("endpoint {id}"),
            endpoint_fact(e, &subnet, sorted(groups)),
        );
    }
    Ok(Desired {
        facts: f,
        held,
        pending,
    })
}

fn facts_of_result(
    result: &Plan,
    images: &Images,
    held: &BTreeSet<(String, Cidr)>,
    pending: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    for v in &result.vpcs {
        f.insert(
            format!("vpc {}", v.id),
            format!(
                "{} {} {} name={:?} blocks={}",
                v.account,
                v.region,
                v.cidr,
                v.name,
                sorted(v.secondary_cidrs.iter().chain(&v.ipv6_cidrs))
            ),
        );
    }
    for s in &result.subnets {
        f.insert(
            format!("subnet {}", s.id),
            format!(
                "{} {} az={:?} ipv6={:?}",
                s.vpc,
                s.cidr,
                s.az,
                s.ipv6_cidr.map(|c| c.to_string())
            ),
        );
    }
    for p in &result.peerings {
        if !p.status.is_live() {
            continue;
        }
        let dns = if pending.contains(p.id.as_str()) {
            "-".to_string()
        } else {
            p.options.dns_resolution.to_string()
        };
        f.insert(
            format!("peering {}", p.id),
            format!("{} → {} dns={dns}", p.requester.vpc, p.accepter.vpc),
        );
        let status = if pending.contains(p.id.as_str()) {
            "live".to_string()
        } else {
            p.status.to_string()
        };
        f.insert(format!("peering-status {}", p.id), status);
    }
    for t in &result.route_tables {
        if t.main && !images.tables.contains(t.id.as_str()) {
            continue;
        }
        f.insert(
            format!("route-table {}", t.id),
            format!("{} main={} subnets={}", t.vpc, t.main, sorted(&t.subnets)),
        );
        for r in &t.routes {
            if matches!(r.target, Target::Local | Target::Blackhole)
                || held.contains(&(t.id.0.clone(), r.destination))
            {
                continue;
            }
            f.insert(
                format!("route {} {}", t.id, r.destination),
                target_fact(&r.target),
            );
        }
    }
    for g in &result.security_groups {
        if is_default_group(g) && !images.groups.contains(g.id.as_str()) {
            continue;
        }
        f.insert(
            format!("security-group {}", g.id),
            format!("{} name={:?}", g.vpc, g.name),
        );
        for (d, rules) in [
            (SgDirection::Ingress, &g.ingress),
            (SgDirection::Egress, &g.egress),
        ] {
            for r in rules {
                let group = r.sg.as_ref().map(|s| s.group.0.clone()).unwrap_or_default();
                f.insert(
                    format!("sg-rule {} {}", g.id, rule_fact(d, r, &group)),
                    String::new(),
                );
            }
        }
    }
    for a in &result.network_acls {
        if a.default && !images.acls.contains(a.id.as_str()) {
            continue;
        }
        f.insert(
            format!("network-acl {}", a.id),
            format!("{} default={} subnets={}", a.vpc, a.default, sorted(&a.subnets)),
        );
        for e in &a.entries {
            f.insert(
                format!("acl-entry {} {} {}", a.id, dir_word(e.direction), e.rule),
                entry_fact(e),
            );
        }
    }
    for g in &result.gateways {
        f.insert(
            format!("gateway {}", g.id),
            format!("{} {:?} name={:?}", g.vpc, g.kind, g.name),
        );
    }
    for e in &result.endpoints {
        f.insert(
            format!("endpoint {}", e.id),
            endpoint_fact(e, e.subnet.as_str(), sorted(&e.security_groups)),
        );
    }
    f
}
