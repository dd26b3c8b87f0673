//! One test per diagnostic code, each starting from the seed sample and breaking it in one way.

use netmodel::{check, model::*, CheckOptions, Code, Diagnostic, Plan, Severity};

fn seed() -> Plan {
    Plan::from_json(include_str!("../../examples/seed.json")).unwrap()
}

fn transitive() -> Plan {
    Plan::from_json(include_str!("../../examples/transitive.json")).unwrap()
}

fn codes(plan: &Plan) -> Vec<Code> {
    check(plan, &CheckOptions::default())
        .into_iter()
        .map(|d| d.code)
        .collect()
}

fn find(plan: &Plan, code: Code) -> Diagnostic {
    let all = check(plan, &CheckOptions::default());
    all.iter()
        .find(|d| d.code == code)
        .cloned()
        .unwrap_or_else(|| panic!("no {code} in {all:#?}"))
}

/// Re-validates after an edit, as loading would.
fn edited(mut plan: Plan, f: impl FnOnce(&mut Plan)) -> Plan {
    f(&mut plan);
    plan.validate().unwrap();
    plan
}

fn vpc<'a>(plan: &'a mut Plan, id: &str) -> &'a mut Vpc {
    plan.vpcs.iter_mut().find(|v| v.id.0 == id).unwrap()
}

fn peering<'a>(plan: &'a mut Plan, id: &str) -> &'a mut Peering {
    plan.peerings.iter_mut().find(|p| p.id.0 == id).unwrap()
}

fn table<'a>(plan: &'a mut Plan, id: &str) -> &'a mut RouteTable {
    plan.route_tables.iter_mut().find(|p| p.id.0 == id).unwrap()
}

fn c(s: &str) -> netmodel::cidr::Cidr {
    s.parse().unwrap()
}

#[test]
fn seed_sample_is_clean() {
    assert_eq!(check(&seed(), &CheckOptions::default()), vec![]);
}

#[test]
fn peering_cidr_overlap_is_an_error_with_a_free_block() {
    let plan = edited(seed(), |p| {
        vpc(p, "vpc-b").cidr = c("10.0.0.0/16");
        p.subnets[1].cidr = c("10.0.2.0/24");
        p.endpoints[0].ipv4 = Some("10.0.2.20".parse().unwrap());
    });
    let d = find(&plan, Code::PeeringCidrOverlap);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.items, vec!["pcx-ab", "vpc-a", "vpc-b"]);
    assert!(d.fix.unwrap().to_string().contains("10.1.0.0/16"));
    // Not peered any more → only the general overlap warning remains.
    let unpeered = edited(plan, |p| peering(p, "pcx-ab").status = PeeringStatus::Rejected);
    assert!(!codes(&unpeered).contains(&Code::PeeringCidrOverlap));
    assert!(codes(&unpeered).contains(&Code::CidrOverlap));
}

#[test]
fn secondary_cidr_overlap_fails_peering_unless_lenient() {
    let plan = edited(seed(), |p| {
        vpc(p, "vpc-b").secondary_cidrs.push(c("10.0.128.0/17"))
    });
    assert!(codes(&plan).contains(&Code::PeeringCidrOverlap));
    let lenient = check(
        &plan,
        &CheckOptions {
            lenient: true,
            ..CheckOptions::default()
        },
    );
    assert!(!lenient.iter().any(|d| d.code == Code::PeeringCidrOverlap));
}

#[test]
fn ipv6_overlap_fails_peering() {
    let plan = edited(seed(), |p| {
        vpc(p, "vpc-a").ipv6_cidrs.push(c("2001:db8::/56"));
        vpc(p, "vpc-b").ipv6_cidrs.push(c("2001:db8::/56"));
    });
    assert!(codes(&plan).contains(&Code::PeeringCidrOverlap));
}

#[test]
fn seed_invalid_example_is_not_an_overlap() {
    let plan = edited(seed(), |p| {
        vpc(p, "vpc-b").cidr = c("10.1.0.0/16");
        p.subnets[1].cidr = c("10.1.2.0/24");
        p.endpoints[0].ipv4 = Some("10.1.2.20".parse().unwrap());
        table(p, "rtb-a").routes[0].destination = c("10.1.0.0/16");
    });
    let found = codes(&plan);
    assert!(!found.contains(&Code::PeeringCidrOverlap), "{found:?}");
    assert!(!found.contains(&Code::CidrOverlap), "{found:?}");
}

#[test]
fn subnet_outside_vpc_and_overlap() {
    let plan = edited(seed(), |p| {
        p.subnets[0].cidr = c("10.9.0.0/24");
        let mut extra = p.subnets[0].clone();
        extra.id = "subnet-a2".into();
        extra.cidr = c("10.9.0.128/25");
        p.subnets.push(extra);
    });
    assert_eq!(find(&plan, Code::SubnetOutsideVpc).severity, Severity::Error);
    assert_eq!(
        find(&plan, Code::SubnetOverlap).items,
        vec!["subnet-a", "subnet-a2"]
    );
}

#[test]
fn duplicate_live_peering() {
    let plan = edited(seed(), |p| {
        let mut dup = p.peerings[0].clone();
        dup.id = "pcx-ab2".into();
        dup.status = PeeringStatus::Pending;
        p.peerings.push(dup);
    });
    assert_eq!(find(&plan, Code::DuplicatePeering).severity, Severity::Error);
    let failed = edited(plan, |p| peering(p, "pcx-ab2").status = PeeringStatus::Failed);
    assert!(!codes(&failed).contains(&Code::DuplicatePeering));
}

#[test]
fn peering_quota_per_vpc_and_per_account() {
    let mut plan = seed();
    for i in 0..51 {
        let id = format!("vpc-x{i:02}");
        plan.vpcs.push(Vpc {
            id: id.as_str().into(),
            name: String::new(),
            account: "acct-a".into(),
            region: "us-east-1".into(),
            cidr: c(&format!("10.{}.0.0/16", 100 + i)),
            secondary_cidrs: vec![],
            ipv6_cidrs: vec![],
            position: None,
        });
        plan.peerings.push(Peering {
            id: format!("pcx-x{i:02}").into(),
            requester: PeeringSide {
                vpc: "vpc-b".into(),
                account: Default::default(),
                region: String::new(),
            },
            accepter: PeeringSide {
                vpc: id.as_str().into(),
                account: Default::default(),
                region: String::new(),
            },
            status: if i < 25 {
                PeeringStatus::Active
            } else {
                PeeringStatus::Pending
            },
            options: Default::default(),
            status_message: None,
        });
    }
    plan.validate().unwrap();
    let quota: Vec<Diagnostic> = check(&plan, &CheckOptions::default())
        .into_iter()
        .filter(|d| d.code == Code::PeeringQuota)
        .collect();
    assert!(
        quota.iter().any(|d| d.items == vec!["acct-b"]),
        "26 pending for acct-b: {quota:#?}"
    );
    assert!(
        !quota.iter().any(|d| d.items == vec!["vpc-b"]),
        "26 active is under 50"
    );
    let tight = check(
        &plan,
        &CheckOptions {
            active_per_vpc: 20,
            ..CheckOptions::default()
        },
    );
    assert!(tight
        .iter()
        .any(|d| d.code == Code::PeeringQuota && d.items == vec!["vpc-b"]));
}

#[test]
fn route_to_pending_peering_is_inactive() {
    let plan = edited(seed(), |p| peering(p, "pcx-ab").status = PeeringStatus::Pending);
    let d = find(&plan, Code::RouteTargetInactive);
    assert!(d.message.contains("pending"), "{}", d.message);
}

#[test]
fn route_to_foreign_peering() {
    let plan = edited(transitive(), |p| {
        table(p, "rtb-a").routes.push(Route {
            destination: c("192.168.0.0/24"),
            target: Target::Peering("pcx-bc".into()),
        })
    });
    assert_eq!(
        find(&plan, Code::RouteTargetForeign).items,
        vec!["rtb-a", "pcx-bc"]
    );
}

#[test]
fn transitive_route_is_beyond_peer_and_a_transitive_assumption() {
    let plan = transitive();
    assert_eq!(
        find(&plan, Code::RouteBeyondPeer).items,
        vec!["rtb-a", "pcx-ab", "vpc-b"]
    );
    let d = find(&plan, Code::TransitiveAssumption);
    assert_eq!(d.items, vec!["rtb-a", "pcx-ab", "vpc-a", "vpc-c"]);
    let fix = d.fix.unwrap().to_string();
    assert!(fix.contains("create a peering between vpc-a and vpc-c"), "{fix}");
    assert!(fix.contains("rtb-c"), "{fix}");
}

#[test]
fn default_route_over_peering_is_beyond_peer() {
    let plan = edited(seed(), |p| {
        table(p, "rtb-a").routes.push(Route {
            destination: c("0.0.0.0/0"),
            target: Target::Peering("pcx-ab".into()),
        })
    });
    assert!(codes(&plan).contains(&Code::RouteBeyondPeer));
}

#[test]
fn missing_return_route() {
    let plan = edited(seed(), |p| table(p, "rtb-b").routes.clear());
    let d = find(&plan, Code::MissingReturnRoute);
    assert_eq!(
        d.fix.map(|f| f.to_string()).as_deref(),
        Some("add the route 10.0.0.0/16 → pcx-ab to rtb-b")
    );
}

#[test]
fn asymmetric_return_over_overlapping_peers() {
    // B peers with A (10.0.0.0/16) and with D, which also holds 10.0.0.0/16; B's more specific route for
    // 10.0.2.0/24 points at D, so replies to A's subnet go to D.
    let plan = edited(seed(), |p| {
        p.vpcs.push(Vpc {
            id: "vpc-d".into(),
            name: "VPC D".into(),
            account: "acct-b".into(),
            region: "us-east-1".into(),
            cidr: c("10.0.0.0/16"),
            secondary_cidrs: vec![],
            ipv6_cidrs: vec![],
            position: None,
        });
        p.peerings.push(Peering {
            id: "pcx-bd".into(),
            requester: PeeringSide {
                vpc: "vpc-b".into(),
                account: Default::default(),
                region: String::new(),
            },
            accepter: PeeringSide {
                vpc: "vpc-d".into(),
                account: Default::default(),
                region: String::new(),
            },
            status: PeeringStatus::Active,
            options: Default::default(),
            status_message: None,
        });
        table(p, "rtb-b").routes.push(Route {
            destination: c("10.0.2.0/24"),
            target: Target::Peering("pcx-bd".into()),
        });
    });
    assert_eq!(
        find(&plan, Code::AsymmetricReturn).items,
        vec!["pcx-ab", "rtb-b", "pcx-bd"]
    );
}

#[test]
fn active_peering_without_routes() {
    let plan = edited(seed(), |p| {
        table(p, "rtb-a").routes.clear();
        table(p, "rtb-b").routes.clear();
    });
    assert_eq!(
        find(&plan, Code::PeeringWithoutRoutes).items,
        vec!["pcx-ab", "vpc-a", "vpc-b"]
    );
}

#[test]
fn sg_open_to_world_only_when_peered() {
    let open = |p: &mut Plan| {
        p.security_groups[1].ingress.push(SgRule {
            protocol: Protocol::Tcp,
            ports: Some(PortRange::single(22)),
            cidr: Some(c("0.0.0.0/0")),
            sg: None,
            description: String::new(),
        })
    };
    let plan = edited(seed(), open);
    assert_eq!(find(&plan, Code::SgOpenToWorld).items, vec!["sg-b", "vpc-b"]);
    let unpeered = edited(plan, |p| peering(p, "pcx-ab").status = PeeringStatus::Deleted);
    assert!(!codes(&unpeered).contains(&Code::SgOpenToWorld));
}

fn sg_ref(p: &mut Plan) {
    p.security_groups[1].ingress.push(SgRule {
        protocol: Protocol::Tcp,
        ports: Some(PortRange::single(7010)),
        cidr: None,
        sg: Some(SgRef {
            account: Some("acct-a".into()),
            group: "sg-a".into(),
        }),
        description: String::new(),
    });
}

#[test]
fn sg_reference_across_regions_is_an_error() {
    let plan = edited(seed(), |p| {
        sg_ref(p);
        vpc(p, "vpc-b").region = "eu-west-1".into();
        for pc in &mut p.peerings {
            pc.accepter.region = String::new();
        }
    });
    assert_eq!(find(&plan, Code::SgRefCrossRegion).severity, Severity::Error);
    assert!(codes(&plan).contains(&Code::InterRegionLimits));
}

#[test]
fn sg_reference_same_region_active_is_fine_else_not_peered() {
    let plan = edited(seed(), sg_ref);
    assert_eq!(codes(&plan), vec![]);
    let pending = edited(plan, |p| peering(p, "pcx-ab").status = PeeringStatus::Pending);
    assert!(codes(&pending).contains(&Code::SgRefNotPeered));
}

#[test]
fn endpoint_outside_subnet() {
    let plan = edited(seed(), |p| {
        p.endpoints[0].ipv4 = Some("172.16.9.9".parse().unwrap())
    });
    assert_eq!(
        find(&plan, Code::EndpointOutsideSubnet).items,
        vec!["agent-b", "subnet-b"]
    );
}

#[test]
fn every_code_has_a_stable_name() {
    let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for must in [
        "PEERING_CIDR_OVERLAP",
        "CIDR_OVERLAP",
        "SUBNET_OUTSIDE_VPC",
        "SUBNET_OVERLAP",
        "DUPLICATE_PEERING",
        "PEERING_QUOTA",
        "ROUTE_TARGET_INACTIVE",
        "ROUTE_TARGET_FOREIGN",
        "ROUTE_BEYOND_PEER",
        "TRANSITIVE_ASSUMPTION",
        "MISSING_RETURN_ROUTE",
        "ASYMMETRIC_RETURN",
        "PEERING_WITHOUT_ROUTES",
        "SG_OPEN_TO_WORLD",
        "SG_REF_CROSS_REGION",
        "SG_REF_NOT_PEERED",
        "INTER_REGION_LIMITS",
        "IMPORT_DANGLING_REF",
        "IMPORT_NOTE",
        "ISOLATED_GROUPS",
        "TRANSITIVE_ONLY",
    ] {
        assert!(names.contains(&must), "{must} missing");
    }
    let json = serde_json::to_string(&Code::PeeringCidrOverlap).unwrap();
    assert_eq!(json, "\"PEERING_CIDR_OVERLAP\"");
}

#[test]
fn transitive_only_pairs_are_a_note_with_the_mesh_they_need() {
    // A–B–C: A and C reach each other only through B.
    let d = find(&transitive(), Code::TransitiveOnly);
    assert_eq!(d.severity, Severity::Info);
    assert_eq!(d.items, vec!["vpc-a", "vpc-b", "vpc-c"]);
    assert!(d.message.starts_with("1 VPC pair of the group {vpc-a, vpc-b, vpc-c} is joined only through other VPCs (e.g. vpc-a and vpc-c, through vpc-b)"), "{}", d.message);
    assert!(
        d.message
            .ends_with("a full mesh of these 3 VPCs needs 3 peerings (1 more)"),
        "{}",
        d.message
    );
    // Peering A and C completes the mesh.
    let meshed = edited(transitive(), |p| {
        let mut ac = p.peerings[0].clone();
        ac.id = "pcx-ac".into();
        ac.accepter.vpc = "vpc-c".into();
        p.peerings.push(ac);
    });
    assert!(!codes(&meshed).contains(&Code::TransitiveOnly));
    // The seed (two peered VPCs) has neither note.
    assert!(!codes(&seed()).contains(&Code::TransitiveOnly));
    assert!(!codes(&seed()).contains(&Code::IsolatedGroups));
}

#[test]
fn a_mesh_past_the_quota_is_advised_a_hub() {
    // One hub with 60 spokes: a full mesh would give each VPC 60 active peerings (quota 50).
    let mut plan = seed();
    plan.peerings.clear();
    plan.route_tables.iter_mut().for_each(|t| t.routes.clear());
    let hub = plan.vpcs[0].clone();
    for i in 0..60 {
        let mut v = hub.clone();
        v.id = format!("spoke-{i}").as_str().into();
        v.cidr = c(&format!("10.{}.0.0/16", 100 + i));
        v.secondary_cidrs.clear();
        v.ipv6_cidrs.clear();
        plan.vpcs.push(v);
        let mut p = seed().peerings[0].clone();
        p.id = format!("pcx-{i}").as_str().into();
        p.requester.vpc = hub.id.clone();
        p.accepter.vpc = format!("spoke-{i}").as_str().into();
        plan.peerings.push(p);
    }
    let d = find(&plan, Code::TransitiveOnly);
    assert!(
        d.fix
            .as_ref()
            .unwrap()
            .to_string()
            .contains("through a hub (a transit gateway)"),
        "{:?}",
        d.fix
    );
    // vpc-b is not peered with anything now: two isolated groups.
    let g = find(&plan, Code::IsolatedGroups);
    assert!(
        g.message
            .starts_with("2 isolated groups: {vpc-a, spoke-0, spoke-1,"),
        "{}",
        g.message
    );
    assert_eq!(g.items, vec!["vpc-a", "vpc-b"]);
}
