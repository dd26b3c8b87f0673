//! Unit tests of the order and the binding, and property tests over random desired/live pairs.

use proptest::prelude::*;

use super::*;

fn seed() -> Plan {
    Plan::from_json(include_str!("../../../examples/seed.json")).unwrap()
}

fn plan(json: serde_json::Value) -> Plan {
    Plan::from_json(&json.to_string()).unwrap()
}

fn pos(cs: &ChangeSet, action: ChangeAction, kind: ObjectKind, plan_id: &str) -> usize {
    cs.steps()
        .iter()
        .position(|s| s.action == action && s.kind == kind && s.plan_id == plan_id)
        .unwrap_or_else(|| panic!("no {action} {kind} {plan_id} in\n{}", labels(cs)))
}

fn labels(cs: &ChangeSet) -> String {
    cs.steps()
        .iter()
        .map(|s| format!("{}  [{}] {}\n", s.label(), s.account, s.detail))
        .collect()
}

/// Applies, checks the result against the plan, and that a second diff is empty.
fn converges(desired: &Plan, live: &Plan, bindings: &Bindings) -> Applied {
    let cs = diff(desired, live, bindings).unwrap();
    let applied = cs
        .apply_to(live)
        .unwrap_or_else(|e| panic!("{e}\n{}", labels(&cs)));
    let mut check = applied.plan.clone();
    check
        .validate()
        .unwrap_or_else(|e| panic!("result is not a valid plan: {e}\n{}", check.to_json()));
    equivalent(desired, &applied.plan, &applied.bindings).unwrap_or_else(|e| panic!("{e}\n{}", labels(&cs)));
    let again = diff(desired, &applied.plan, &applied.bindings).unwrap();
    assert!(again.is_empty(), "second diff not empty:\n{}", labels(&again));
    applied
}

/// Two VPCs in one or two accounts, an `active` peering and routes both ways.
fn pair(account_b: &str, status: &str) -> Plan {
    plan(serde_json::json!({
        "format": "peerplan/v1",
        "accounts": [{"id": "a"}, {"id": "b"}],
        "vpcs": [
            {"id": "va", "account": "a", "region": "r1", "cidr": "10.0.0.0/16"},
            {"id": "vb", "account": account_b, "region": "r1", "cidr": "10.1.0.0/16"}
        ],
        "route_tables": [
            {"id": "ta", "vpc": "va", "main": true, "routes": [{"destination": "10.1.0.0/16", "target": {"peering": "pcx"}}]},
            {"id": "tb", "vpc": "vb", "main": true, "routes": [{"destination": "10.0.0.0/16", "target": {"peering": "pcx"}}]}
        ],
        "peerings": [{"id": "pcx", "requester": {"vpc": "va"}, "accepter": {"vpc": "vb"}, "status": status}]
    }))
}

#[test]
fn seed_from_empty_runs_the_phases_in_order() {
    let desired = seed();
    let cs = diff(&desired, &Plan::new("empty"), &Bindings::default()).unwrap();
    let phases: Vec<u8> = cs.steps().iter().map(|s| s.kind.phase()).collect();
    let mut sorted = phases.clone();
    sorted.sort();
    assert_eq!(phases, sorted, "creates run phase by phase:\n{}", labels(&cs));
    let create = pos(&cs, ChangeAction::Create, ObjectKind::Peering, "pcx-ab");
    let accept = pos(&cs, ChangeAction::Update, ObjectKind::PeeringAccept, "pcx-ab");
    let wait = pos(&cs, ChangeAction::Update, ObjectKind::PeeringWait, "pcx-ab");
    assert!(create < accept && accept < wait);
    for table in ["rtb-a:10.0.0.0/16", "rtb-b:10.0.0.0/16", "rtb-a:172.16.0.0/16"] {
        if let Some(r) = cs
            .steps()
            .iter()
            .position(|s| s.kind == ObjectKind::Route && s.plan_id == table)
        {
            assert!(
                cs.dependencies(r).contains(&wait),
                "{table} waits for the peering"
            );
        }
    }
    assert_eq!(
        cs.summary().to_string(),
        "Plan: 15 to add, 0 to change, 0 to destroy."
    );
    converges(&desired, &Plan::new("empty"), &Bindings::default());
}

#[test]
fn pending_peering_never_precedes_routes() {
    // Live: both VPCs and a pending peering; the plan wants it active with its routes.
    let desired = pair("b", "active");
    let mut live = pair("b", "pending");
    for t in &mut live.route_tables {
        t.routes.clear();
    }
    let cs = diff(&desired, &live, &Bindings::default()).unwrap();
    assert!(
        !cs.steps().iter().any(|s| s.kind == ObjectKind::Peering),
        "the live request is bound, not created again:\n{}",
        labels(&cs)
    );
    let accept = pos(&cs, ChangeAction::Update, ObjectKind::PeeringAccept, "pcx");
    let wait = pos(&cs, ChangeAction::Update, ObjectKind::PeeringWait, "pcx");
    for dest in ["ta:10.1.0.0/16", "tb:10.0.0.0/16"] {
        let r = pos(&cs, ChangeAction::Create, ObjectKind::Route, dest);
        assert!(accept < wait && wait < r);
        assert!(cs.dependencies(r).contains(&wait));
    }
    // Accepting a live request is a change of its own.
    assert_eq!(
        cs.summary().to_string(),
        "Plan: 2 to add, 1 to change, 0 to destroy."
    );
    converges(&desired, &live, &Bindings::default());

    // The plan holds it as pending: the request is made, its routes are held back (no blackholes).
    let desired = pair("b", "pending");
    let cs = diff(&desired, &Plan::new("empty"), &Bindings::default()).unwrap();
    assert!(
        !cs.steps().iter().any(|s| s.kind == ObjectKind::Route),
        "{}",
        labels(&cs)
    );
    assert!(!cs.steps().iter().any(|s| s.kind == ObjectKind::PeeringWait));
    converges(&desired, &Plan::new("empty"), &Bindings::default());
}

#[test]
fn cross_account_peering_is_accepted_by_the_accepter_never_auto_accepted() {
    let desired = pair("b", "active");
    let cs = diff(&desired, &Plan::new("empty"), &Bindings::default()).unwrap();
    let create = &cs.steps()[pos(&cs, ChangeAction::Create, ObjectKind::Peering, "pcx")];
    assert_eq!(create.account.as_str(), "a", "the requester creates");
    assert!(matches!(
        create.op,
        Op::CreatePeering {
            auto_accept: false,
            ..
        }
    ));
    let accept = &cs.steps()[pos(&cs, ChangeAction::Update, ObjectKind::PeeringAccept, "pcx")];
    assert_eq!(accept.account.as_str(), "b", "the accepter accepts");
    assert_eq!(
        cs.summary().add,
        5,
        "accept and wait are part of creating the peering"
    );
    assert_eq!(cs.summary().change, 0);

    // One account: auto_accept, no accept step.
    let cs = diff(&pair("a", "active"), &Plan::new("empty"), &Bindings::default()).unwrap();
    let create = &cs.steps()[pos(&cs, ChangeAction::Create, ObjectKind::Peering, "pcx")];
    assert!(matches!(
        create.op,
        Op::CreatePeering {
            auto_accept: true,
            ..
        }
    ));
    assert!(!cs.steps().iter().any(|s| s.kind == ObjectKind::PeeringAccept));
    pos(&cs, ChangeAction::Update, ObjectKind::PeeringWait, "pcx");
}

#[test]
fn destroy_runs_in_reverse_routes_and_references_before_the_peering() {
    let mut live = pair("b", "active");
    // A group in vb that names a group in va (a peer reference), and an endpoint using it.
    live.security_groups = vec![
        SecurityGroup {
            id: "ga".into(),
            name: "web".into(),
            vpc: "va".into(),
            ingress: vec![],
            egress: vec![],
        },
        SecurityGroup {
            id: "gb".into(),
            name: "api".into(),
            vpc: "vb".into(),
            ingress: vec![SgRule {
                protocol: Protocol::Tcp,
                ports: Some(PortRange::single(443)),
                cidr: None,
                sg: Some(SgRef {
                    account: Some("a".into()),
                    group: "ga".into(),
                }),
                description: String::new(),
            }],
            egress: vec![],
        },
    ];
    live.validate().unwrap();
    // The plan keeps vb (and its table) but drops va and the peering.
    let mut desired = live.clone();
    desired.vpcs.retain(|v| v.id.as_str() == "vb");
    desired.peerings.clear();
    desired.route_tables.retain(|t| t.vpc.as_str() == "vb");
    desired.route_tables[0].routes.clear();
    desired.security_groups.retain(|g| g.vpc.as_str() == "vb");
    desired.security_groups[0].ingress.clear();
    desired.validate().unwrap();
    let cs = diff(&desired, &live, &Bindings::default()).unwrap();
    let route = pos(&cs, ChangeAction::Delete, ObjectKind::Route, "tb:10.0.0.0/16");
    let route_a = pos(&cs, ChangeAction::Delete, ObjectKind::Route, "ta:10.1.0.0/16");
    let rule = cs
        .steps()
        .iter()
        .position(|s| s.kind == ObjectKind::SgRule)
        .unwrap();
    let peering = pos(&cs, ChangeAction::Delete, ObjectKind::Peering, "pcx");
    let group = pos(&cs, ChangeAction::Delete, ObjectKind::SecurityGroup, "ga");
    let vpc = pos(&cs, ChangeAction::Delete, ObjectKind::Vpc, "va");
    assert!(
        route < peering && route_a < peering && rule < peering,
        "{}",
        labels(&cs)
    );
    assert!(rule < group && group < vpc && peering < vpc);
    assert_eq!(cs.steps()[route].account.as_str(), "b");
    assert_eq!(cs.steps()[peering].account.as_str(), "a", "the requester deletes");
    assert!(cs.dependencies(peering).contains(&route));
    assert!(cs.dependencies(vpc).contains(&peering));
    assert_eq!(cs.summary().destroy, 6, "{}", labels(&cs));
    converges(&desired, &live, &Bindings::default());
}

#[test]
fn failed_rejected_expired_or_deleted_peerings_are_gone() {
    for status in ["failed", "rejected", "expired", "deleted"] {
        let mut live = pair("b", status);
        for t in &mut live.route_tables {
            t.routes.clear();
        }
        // The plan wants it active: a new request, and no delete of the dead one.
        let desired = pair("b", "active");
        let cs = diff(&desired, &live, &Bindings::default()).unwrap();
        assert!(
            !cs.steps().iter().any(|s| s.action == ChangeAction::Delete),
            "{status}: {}",
            labels(&cs)
        );
        pos(&cs, ChangeAction::Create, ObjectKind::Peering, "pcx");
        // A recorded binding to it does not hold either.
        let recorded = Bindings {
            peerings: [("pcx".into(), "pcx".into())].into(),
            ..Bindings::default()
        };
        let cs = diff(&desired, &live, &recorded).unwrap();
        pos(&cs, ChangeAction::Create, ObjectKind::Peering, "pcx");
        let applied = converges(&desired, &live, &recorded);
        assert_eq!(
            applied.bindings.peerings[&PeeringId::from("pcx")].as_str(),
            "pcx~2"
        );
        // The plan drops it: nothing to do.
        let mut desired = live.clone();
        desired.peerings.clear();
        let cs = diff(&desired, &live, &Bindings::default()).unwrap();
        assert!(
            cs.steps().iter().all(|s| s.action == ChangeAction::Adopt),
            "{status}: {}",
            labels(&cs)
        );
    }
}

#[test]
fn an_unbound_vpc_adopts_a_live_one_of_the_same_account_and_primary_block() {
    let desired = seed();
    let mut live = seed();
    for (i, v) in live.vpcs.iter_mut().enumerate() {
        v.id = VpcId(format!("vpc_live_{i}"));
        v.name = format!("old name {i}");
    }
    live.subnets.clear();
    live.route_tables.clear();
    live.security_groups.clear();
    live.network_acls.clear();
    live.endpoints.clear();
    live.peerings.clear();
    // A VPC of another account with vpc-a's block is not adopted.
    live.vpcs.push(Vpc {
        id: "vpc_other".into(),
        account: "acct-b".into(),
        ..desired.vpcs[0].clone()
    });
    live.validate().unwrap();
    let cs = diff(&desired, &live, &Bindings::default()).unwrap();
    let adopt = pos(&cs, ChangeAction::Adopt, ObjectKind::Vpc, "vpc-a");
    assert_eq!(cs.steps()[adopt].live_id.as_deref(), Some("vpc_live_0"));
    pos(&cs, ChangeAction::Adopt, ObjectKind::Vpc, "vpc-b");
    assert!(!cs
        .steps()
        .iter()
        .any(|s| s.kind == ObjectKind::Vpc && s.action == ChangeAction::Create));
    pos(&cs, ChangeAction::Delete, ObjectKind::Vpc, "vpc_other");
    let rename = pos(&cs, ChangeAction::Update, ObjectKind::Vpc, "vpc-a");
    assert!(cs.dependencies(rename).contains(&adopt));
    assert_eq!(cs.steps()[adopt].change().action.symbol(), '=');
    let applied = converges(&desired, &live, &Bindings::default());
    assert_eq!(
        applied.bindings.vpcs[&VpcId::from("vpc-a")].as_str(),
        "vpc_live_0"
    );
    // Once bound, no adoption again.
    let cs = diff(&desired, &applied.plan, &applied.bindings).unwrap();
    assert!(cs.is_empty());
}

#[test]
fn a_recorded_binding_wins_over_the_natural_key() {
    let desired = seed();
    let mut live = seed();
    live.peerings.clear();
    for t in &mut live.route_tables {
        t.routes.clear();
    }
    let mut twin = live.vpcs[0].clone();
    twin.id = "vpc-a2".into();
    live.vpcs.push(twin);
    live.validate().unwrap();
    let recorded = Bindings {
        vpcs: [("vpc-a".into(), "vpc-a2".into())].into(),
        ..Bindings::default()
    };
    let cs = diff(&desired, &live, &recorded).unwrap();
    assert_eq!(cs.bindings().vpcs[&VpcId::from("vpc-a")].as_str(), "vpc-a2");
    pos(&cs, ChangeAction::Delete, ObjectKind::Vpc, "vpc-a");
    converges(&desired, &live, &recorded);
}

#[test]
fn a_cycle_is_reported_naming_its_steps() {
    let step = |id: &str| Step {
        action: ChangeAction::Create,
        kind: ObjectKind::Route,
        plan_id: id.into(),
        live_id: None,
        account: "a".into(),
        detail: String::new(),
        op: Op::AdoptVpc {
            vpc: "v".into(),
            live: "v".into(),
        },
    };
    let err = order(vec![step("x"), step("y"), step("z")], &[(0, 1), (1, 0), (1, 2)]).unwrap_err();
    assert_eq!(
        err,
        ChangeSetError::Cycle {
            steps: vec!["+ route x".into(), "+ route y".into()]
        }
    );
    assert_eq!(
        err.to_string(),
        "the change set's dependencies form a cycle (a bug): + route x, + route y"
    );
}

#[test]
fn ties_are_broken_by_a_stable_key_and_levels_show_independent_steps() {
    let desired = seed();
    let a = diff(&desired, &Plan::new("x"), &Bindings::default()).unwrap();
    let b = diff(&desired, &Plan::new("x"), &Bindings::default()).unwrap();
    assert_eq!(a.steps(), b.steps());
    let levels = a.levels();
    // Both VPCs can be created at once.
    let first: Vec<&str> = levels[0].iter().map(|&i| a.steps()[i].plan_id.as_str()).collect();
    assert_eq!(first, ["vpc-a", "vpc-b"]);
    for (l, wave) in levels.iter().enumerate() {
        for &i in wave {
            for d in a.dependencies(i) {
                assert!(
                    levels[..l].iter().any(|w| w.contains(&d)),
                    "step {i} depends on a step of its own wave"
                );
            }
        }
    }
    assert_eq!(levels.iter().map(Vec::len).sum::<usize>(), a.steps().len());
}

#[test]
fn json_has_the_contract_fields() {
    let cs = diff(&seed(), &Plan::new("x"), &Bindings::default()).unwrap();
    let json = cs.to_json();
    let first = json["changes"][0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["account", "action", "detail", "kind", "live_id", "plan_id"]
    );
    assert_eq!(first["action"], "create");
    assert_eq!(first["kind"], "vpc");
    assert_eq!(first["live_id"], serde_json::Value::Null);
    assert_eq!(
        json["summary"],
        serde_json::json!({"add": 15, "change": 0, "destroy": 0})
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Random plans.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct GroupSpec {
    name: u8,
    rules: Vec<(u8, u16, u8)>,
}

#[derive(Clone, Debug)]
struct VpcSpec {
    account: u8,
    region: u8,
    block: u8,
    secondary: bool,
    renamed: bool,
    subnets: Vec<(u8, u8)>,
    main_table: bool,
    extra_table: bool,
    default_acl: bool,
    entries: Vec<(u16, bool, bool)>,
    groups: Vec<GroupSpec>,
    gateway: bool,
    endpoint: bool,
}

#[derive(Clone, Debug)]
struct Spec {
    vpcs: Vec<VpcSpec>,
    peerings: Vec<(usize, usize, u8, bool)>,
}

fn vpc_spec() -> impl Strategy<Value = VpcSpec> {
    let group = (0u8..3, prop::collection::vec((0u8..3, 0u16..3, 0u8..6), 0..3))
        .prop_map(|(name, rules)| GroupSpec { name, rules });
    (
        (0u8..2, 0u8..2, 0u8..4, any::<bool>(), any::<bool>()),
        prop::collection::vec((0u8..5, 0u8..2), 0..3),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec((0u16..3, any::<bool>(), any::<bool>()), 0..3),
        prop::collection::vec(group, 0..3),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (account, region, block, secondary, renamed),
                subnets,
                (main_table, extra_table, default_acl),
                entries,
                groups,
                (gateway, endpoint),
            )| VpcSpec {
                account,
                region,
                block,
                secondary,
                renamed,
                subnets,
                main_table,
                extra_table,
                default_acl,
                entries,
                groups,
                gateway,
                endpoint,
            },
        )
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(vpc_spec(), 0..4),
        prop::collection::vec((0usize..4, 0usize..4, 0u8..5, any::<bool>()), 0..4),
    )
        .prop_map(|(vpcs, peerings)| Spec { vpcs, peerings })
}

/// A valid plan from a spec; ids start with `prefix`. A live plan (`live`) has one route per destination, as a
/// control plane does; a desired one may name a destination twice (the first route counts).
fn build(spec: &Spec, prefix: &str, live: bool) -> Plan {
    let mut p = Plan::new("random");
    p.accounts = vec![
        Account {
            id: "a".into(),
            name: String::new(),
        },
        Account {
            id: "b".into(),
            name: String::new(),
        },
    ];
    let n = spec.vpcs.len();
    let net = |s: &str| -> Cidr { s.parse().unwrap() };
    let mut peerings: Vec<(usize, usize, PeeringStatus, bool)> = Vec::new();
    for &(i, j, status, dns) in &spec.peerings {
        if n == 0 {
            break;
        }
        let (i, j) = (i % n, j % n);
        if i == j
            || peerings
                .iter()
                .any(|&(a, b, ..)| (a, b) == (i, j) || (a, b) == (j, i))
        {
            continue;
        }
        let status = [
            PeeringStatus::Active,
            PeeringStatus::Active,
            PeeringStatus::Pending,
            PeeringStatus::Failed,
            PeeringStatus::Rejected,
        ][status as usize];
        peerings.push((i, j, status, dns));
    }
    let mut all_groups: Vec<(usize, SecurityGroupId)> = Vec::new();
    for (i, v) in spec.vpcs.iter().enumerate() {
        let mut names = BTreeSet::new();
        for (k, g) in v.groups.iter().enumerate() {
            if names.insert(g.name) {
                all_groups.push((i, SecurityGroupId(format!("{prefix}sg{i}-{k}"))));
            }
        }
    }
    for (i, v) in spec.vpcs.iter().enumerate() {
        let vid = VpcId(format!("{prefix}v{i}"));
        let b = v.block;
        p.vpcs.push(Vpc {
            id: vid.clone(),
            name: if v.renamed {
                format!("vpc {i}*")
            } else {
                format!("vpc {i}")
            },
            account: if v.account == 0 { "a".into() } else { "b".into() },
            region: format!("r{}", v.region),
            cidr: net(&format!("10.{b}.0.0/16")),
            secondary_cidrs: if v.secondary {
                vec![net(&format!("10.{}.0.0/16", 100 + b))]
            } else {
                vec![]
            },
            ipv6_cidrs: vec![],
            position: None,
        });
        let mut subnets: Vec<SubnetId> = Vec::new();
        let mut octets = BTreeSet::new();
        for (k, &(octet, az)) in v.subnets.iter().enumerate() {
            if !octets.insert(octet) {
                continue;
            }
            // Octet 4 lies in the secondary block, when there is one.
            let cidr = if octet == 4 {
                if !v.secondary {
                    continue;
                }
                format!("10.{}.0.0/24", 100 + b)
            } else {
                format!("10.{b}.{octet}.0/24")
            };
            let sid = SubnetId(format!("{prefix}s{i}-{k}"));
            p.subnets.push(Subnet {
                id: sid.clone(),
                name: String::new(),
                vpc: vid.clone(),
                cidr: net(&cidr),
                ipv6_cidr: None,
                az: format!("z{az}"),
            });
            subnets.push(sid);
        }
        if v.gateway {
            p.gateways.push(Gateway {
                id: GatewayId(format!("{prefix}igw{i}")),
                vpc: vid.clone(),
                kind: GatewayKind::Internet,
                subnet: None,
                destinations: vec![],
                name: "igw".into(),
            });
        }
        if v.main_table {
            let mut routes = Vec::new();
            for (k, &(a, c, ..)) in peerings.iter().enumerate() {
                let peer = if a == i {
                    c
                } else if c == i {
                    a
                } else {
                    continue;
                };
                let _ = k;
                let destination = net(&format!("10.{}.0.0/16", spec.vpcs[peer].block));
                if live && routes.iter().any(|r: &Route| r.destination == destination) {
                    continue;
                }
                routes.push(Route {
                    destination,
                    target: Target::Peering(PeeringId(format!("{prefix}p{}-{}", a, c))),
                });
            }
            if v.gateway {
                routes.push(Route {
                    destination: net("0.0.0.0/0"),
                    target: Target::InternetGateway(GatewayId(format!("{prefix}igw{i}"))),
                });
            }
            p.route_tables.push(RouteTable {
                id: RouteTableId(format!("{prefix}rt{i}")),
                vpc: vid.clone(),
                main: true,
                subnets: vec![],
                routes,
            });
        }
        if v.extra_table {
            p.route_tables.push(RouteTable {
                id: RouteTableId(format!("{prefix}rtx{i}")),
                vpc: vid.clone(),
                main: false,
                subnets: subnets.iter().take(1).cloned().collect(),
                routes: vec![Route {
                    destination: net("192.0.2.0/24"),
                    target: Target::Blackhole,
                }],
            });
        }
        if v.default_acl {
            let mut seen = BTreeSet::new();
            let mut entries = Vec::new();
            for &(rule, inbound, deny) in &v.entries {
                let rule = 100 + 10 * rule;
                let direction = if inbound {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                if seen.insert((rule, inbound)) {
                    entries.push(AclEntry {
                        rule,
                        direction,
                        protocol: if deny { Protocol::Tcp } else { Protocol::All },
                        ports: if deny { Some(PortRange::single(22)) } else { None },
                        cidr: net("0.0.0.0/0"),
                        action: if deny { Action::Deny } else { Action::Allow },
                    });
                }
            }
            p.network_acls.push(NetworkAcl {
                id: NetworkAclId(format!("{prefix}acl{i}")),
                vpc: vid.clone(),
                default: true,
                subnets: vec![],
                entries,
            });
        }
        let mut names = BTreeSet::new();
        let mut own_groups = Vec::new();
        for (k, g) in v.groups.iter().enumerate() {
            if !names.insert(g.name) {
                continue;
            }
            let gid = SecurityGroupId(format!("{prefix}sg{i}-{k}"));
            let mut ingress = Vec::new();
            let mut egress = Vec::new();
            for &(kind, port, target) in &g.rules {
                match kind {
                    0 => ingress.push(SgRule {
                        protocol: Protocol::Tcp,
                        ports: Some(PortRange::single(440 + port)),
                        cidr: Some(net(&format!("10.{}.0.0/16", target % 4))),
                        sg: None,
                        description: String::new(),
                    }),
                    1 => egress.push(SgRule {
                        protocol: Protocol::All,
                        ports: None,
                        cidr: Some(net("0.0.0.0/0")),
                        sg: None,
                        description: format!("out {port}"),
                    }),
                    _ if !all_groups.is_empty() => {
                        let (_, other) = &all_groups[target as usize % all_groups.len()];
                        ingress.push(SgRule {
                            protocol: Protocol::Number(6),
                            ports: Some(PortRange::single(8000 + port)),
                            cidr: None,
                            sg: Some(SgRef {
                                account: None,
                                group: other.clone(),
                            }),
                            description: String::new(),
                        });
                    }
                    _ => {}
                }
            }
            own_groups.push(gid.clone());
            p.security_groups.push(SecurityGroup {
                id: gid,
                name: ["default", "web", "db"][g.name as usize].into(),
                vpc: vid.clone(),
                ingress,
                egress,
            });
        }
        if v.endpoint {
            if let Some(s) = p.subnets.iter().find(|s| s.vpc == vid) {
                let addr = match s.cidr.0 {
                    ipnet::IpNet::V4(n) => std::net::Ipv4Addr::from(u32::from(n.network()) + 10),
                    ipnet::IpNet::V6(_) => unreachable!(),
                };
                p.endpoints.push(Endpoint {
                    id: EndpointId(format!("{prefix}e{i}")),
                    name: format!("ep {i}"),
                    kind: EndpointKind::Service,
                    subnet: s.id.clone(),
                    ipv4: Some(addr),
                    ipv6: None,
                    security_groups: own_groups.iter().take(1).cloned().collect(),
                    ports: vec![443],
                });
            }
        }
    }
    for &(i, j, status, dns) in &peerings {
        p.peerings.push(Peering {
            id: PeeringId(format!("{prefix}p{i}-{j}")),
            requester: PeeringSide {
                vpc: VpcId(format!("{prefix}v{i}")),
                account: AccountId::default(),
                region: String::new(),
            },
            accepter: PeeringSide {
                vpc: VpcId(format!("{prefix}v{j}")),
                account: AccountId::default(),
                region: String::new(),
            },
            status,
            options: PeeringOptions { dns_resolution: dns },
            status_message: None,
        });
    }
    p.validate()
        .unwrap_or_else(|e| panic!("generated plan is invalid: {e}\n{}", p.to_json()));
    p
}

/// Every step comes after the steps it depends on, and the in-memory apply (a strict model of the control plane)
/// accepts every step.
fn check_pair(desired: &Plan, live: &Plan, bindings: &Bindings) -> Result<(), TestCaseError> {
    let cs = diff(desired, live, bindings).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for i in 0..cs.steps().len() {
        for d in cs.dependencies(i) {
            prop_assert!(
                d < i,
                "step {i} ({}) runs before its dependency {d}",
                cs.steps()[i].label()
            );
        }
    }
    // Routes over a peering come after its wait step, whatever else happens.
    for (i, s) in cs.steps().iter().enumerate() {
        if let Op::CreateRoute { route, .. } | Op::UpdateRoute { route, .. } = &s.op {
            if let Target::Peering(p) = &route.target {
                if let Some(w) = cs
                    .steps()
                    .iter()
                    .position(|x| x.kind == ObjectKind::PeeringWait && x.plan_id == p.as_str())
                {
                    prop_assert!(w < i && cs.dependencies(i).contains(&w));
                }
            }
        }
    }
    let applied = cs
        .apply_to(live)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{}", labels(&cs))))?;
    let mut result = applied.plan.clone();
    result
        .validate()
        .map_err(|e| TestCaseError::fail(format!("result invalid: {e}\n{}", labels(&cs))))?;
    equivalent(desired, &applied.plan, &applied.bindings)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{}", labels(&cs))))?;
    let again =
        diff(desired, &applied.plan, &applied.bindings).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(again.is_empty(), "second diff:\n{}", labels(&again));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Independent random desired and live plans (live ids distinct, or the same ids meaning other objects).
    #[test]
    fn random_pairs_apply_in_order_and_converge(desired in spec(), live in spec(), same_ids in any::<bool>()) {
        let desired = build(&desired, "", false);
        let live = build(&live, if same_ids { "" } else { "L" }, true);
        check_pair(&desired, &live, &Bindings::default())?;
    }

    /// The usual life: a first plan applied to an empty control plane, then another plan (same ids, other
    /// contents) against that live state with the bindings the first apply recorded.
    #[test]
    fn a_second_plan_applies_over_the_first(first in spec(), second in spec()) {
        let first = build(&first, "", false);
        let applied = diff(&first, &Plan::new("empty"), &Bindings::default())
            .unwrap()
            .apply_to(&Plan::new("empty"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let second = build(&second, "", false);
        check_pair(&second, &applied.plan, &applied.bindings)?;
        // And back again.
        let back = diff(&second, &applied.plan, &applied.bindings).unwrap().apply_to(&applied.plan).unwrap();
        check_pair(&first, &back.plan, &back.bindings)?;
    }
}

#[test]
fn a_vpc_drawn_in_the_planner_is_made_without_destroying_anything() {
    // The planner's new VPC comes with the default group a control plane makes: its rules are not re-made.
    let applied = converges(&seed(), &Plan::new("empty"), &Bindings::default());
    let mut desired = seed();
    let vpc = crate::edit::add_vpc(&mut desired, "10.77.0.0/16".parse().unwrap());
    let cs = diff(&desired, &applied.plan, &applied.bindings).unwrap();
    assert_eq!(cs.summary().destroy, 0, "{}", labels(&cs));
    pos(&cs, ChangeAction::Create, ObjectKind::Vpc, vpc.as_str());
    assert!(
        cs.steps().iter().all(|s| s.kind != ObjectKind::SgRule),
        "{}",
        labels(&cs)
    );
}
