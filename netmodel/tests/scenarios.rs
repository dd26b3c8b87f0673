//! Scenarios from AWS's "VPC peering configurations" guide, written as plans: two VPCs, flying V (transitive
//! blocked), mesh, hub and spoke, specific subnets, longest prefix with /32 routes, overlapping peers with a
//! misrouted reply, the unsupported edge-to-edge cases; security-group and network-ACL cases including the
//! stateless reply.

use netmodel::{
    model::*,
    sim::{trace, ClientProfile, Component, Disposition, Flow, Topology, Trace, TraceCode},
    Plan,
};
use serde_json::{json, Value};

/// A small plan builder: each VPC gets one subnet (x.y.1.0/24), a main route table, an allow-all default ACL,
/// a security group (all egress; ingress tcp 443 from the private ranges) and one host at .10.
struct Net {
    plan: Value,
}

impl Net {
    fn new() -> Net {
        Net {
            plan: json!({"format": "peerplan/v1", "accounts": [{"id": "acct-1"}, {"id": "acct-2"}]}),
        }
    }

    fn list(&mut self, key: &str) -> &mut Vec<Value> {
        if self.plan.get(key).is_none() {
            self.plan[key] = json!([]);
        }
        self.plan[key].as_array_mut().unwrap()
    }

    /// `subnet_cidr` defaults to the first /24 of the VPC.
    fn vpc(mut self, name: &str, cidr: &str) -> Net {
        self = self.vpc_in(name, cidr, "acct-1", "us-east-1");
        self
    }

    fn vpc_in(mut self, name: &str, cidr: &str, account: &str, region: &str) -> Net {
        let block: netmodel::cidr::Cidr = cidr.parse().unwrap();
        let base = match block.0 {
            ipnet::IpNet::V4(n) => n.network().octets(),
            _ => unreachable!(),
        };
        let subnet = format!("{}.{}.1.0/24", base[0], base[1]);
        let host = format!("{}.{}.1.10", base[0], base[1]);
        self.list("vpcs")
            .push(json!({"id": name, "account": account, "region": region, "cidr": cidr}));
        self.list("subnets")
            .push(json!({"id": format!("{name}-sn"), "vpc": name, "cidr": subnet}));
        self.list("route_tables")
            .push(json!({"id": format!("{name}-rtb"), "vpc": name, "main": true, "routes": []}));
        self.list("network_acls").push(json!({"id": format!("{name}-acl"), "vpc": name, "default": true, "entries": [
            {"rule": 100, "direction": "inbound", "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"},
            {"rule": 100, "direction": "outbound", "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}]}));
        self.list("security_groups")
            .push(json!({"id": format!("{name}-sg"), "vpc": name,
            "ingress": [{"protocol": "tcp", "ports": "443", "cidr": "10.0.0.0/8"},
                        {"protocol": "tcp", "ports": "443", "cidr": "172.16.0.0/12"},
                        {"protocol": "tcp", "ports": "443", "cidr": "192.168.0.0/16"}],
            "egress": [{"protocol": "all", "cidr": "0.0.0.0/0"}]}));
        self.list("endpoints").push(
            json!({"id": format!("{name}-host"), "subnet": format!("{name}-sn"),
            "ipv4": host, "security_groups": [format!("{name}-sg")]}),
        );
        self
    }

    fn peer(mut self, id: &str, a: &str, b: &str, status: &str) -> Net {
        self.list("peerings")
            .push(json!({"id": id, "requester": {"vpc": a}, "accepter": {"vpc": b}, "status": status}));
        self
    }

    fn route(mut self, vpc: &str, dest: &str, target: Value) -> Net {
        let rt = self
            .list("route_tables")
            .iter_mut()
            .find(|r| r["vpc"] == vpc)
            .unwrap();
        rt["routes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": dest, "target": target}));
        self
    }

    /// Peers a and b (active) and routes each one's whole block to the other.
    fn link(self, id: &str, a: &str, b: &str) -> Net {
        let ca = self.cidr(a);
        let cb = self.cidr(b);
        self.peer(id, a, b, "active")
            .route(a, &cb, json!({"peering": id}))
            .route(b, &ca, json!({"peering": id}))
    }

    fn cidr(&self, vpc: &str) -> String {
        self.plan["vpcs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == vpc)
            .unwrap()["cidr"]
            .as_str()
            .unwrap()
            .into()
    }

    fn edit(mut self, f: impl FnOnce(&mut Value)) -> Net {
        f(&mut self.plan);
        self
    }

    fn build(&self) -> Plan {
        Plan::from_json(&self.plan.to_string()).unwrap_or_else(|e| panic!("{e}\n{:#}", self.plan))
    }
}

fn run(plan: &Plan, from: &str, to: &str, port: u16) -> Trace {
    let t = Topology::new(plan);
    trace(
        &t,
        &Flow {
            from: from.into(),
            to: to.into(),
            protocol: Protocol::Tcp,
            port: Some(port),
            client: ClientProfile::Linux,
        },
    )
    .unwrap()
}

fn code(plan: &Plan, from: &str, to: &str) -> TraceCode {
    run(plan, from, to, 443).code
}

#[test]
fn two_vpcs_peered_both_ways() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .build();
    let t = run(&plan, "a-host", "b-host", 443);
    assert_eq!(
        (t.disposition, t.code),
        (Disposition::Accepted, TraceCode::Accepted)
    );
    assert_eq!(code(&plan, "b-host", "a-host"), TraceCode::Accepted);
}

#[test]
fn flying_v_is_not_transitive() {
    // A ↔ B ↔ C; A and C each route the other's block over their peering with B.
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .vpc("c", "192.168.0.0/16")
        .link("pcx-ab", "a", "b")
        .link("pcx-bc", "b", "c")
        .route("a", "192.168.0.0/16", json!({"peering": "pcx-ab"}))
        .route("c", "10.0.0.0/16", json!({"peering": "pcx-bc"}))
        .build();
    let t = run(&plan, "a-host", "c-host", 443);
    assert_eq!(t.code, TraceCode::NotTransitive);
    assert_eq!(
        t.forward.last().unwrap().component,
        "pcx-ab",
        "stops at the A–B peering"
    );
    let fix = t.fix.unwrap();
    assert!(fix.contains("Create a peering between a and c"), "{fix}");
    assert!(
        fix.contains("192.168.0.0/16 → pcx… to a-rtb") && fix.contains("10.0.0.0/16 → pcx… to c-rtb"),
        "{fix}"
    );
    assert_eq!(code(&plan, "c-host", "a-host"), TraceCode::NotTransitive);
    // Without the assumed route, A simply has no route to C.
    let plain = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .vpc("c", "192.168.0.0/16")
        .link("pcx-ab", "a", "b")
        .link("pcx-bc", "b", "c")
        .build();
    assert_eq!(code(&plain, "a-host", "c-host"), TraceCode::NoRoute);
}

#[test]
fn transitive_fix_warns_when_the_direct_peering_would_overlap() {
    // A (10.0.0.0/16) and C (10.0.0.0/8 is too wide; use 10.0.0.0/16 in a secondary block of C) overlap, so the
    // direct peering the fix suggests would fail: the fix says so.
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .vpc("c", "192.168.0.0/16")
        .link("pcx-ab", "a", "b")
        .link("pcx-bc", "b", "c")
        .edit(|p| p["vpcs"][2]["secondary_cidrs"] = json!(["10.0.128.0/17"]))
        .route("a", "192.168.0.0/16", json!({"peering": "pcx-ab"}))
        .build();
    let t = run(&plan, "a-host", "c-host", 443);
    assert_eq!(t.code, TraceCode::NotTransitive);
    let fix = t.fix.unwrap();
    assert!(
        fix.contains("Create a peering between a and c") && fix.contains("overlap"),
        "{fix}"
    );
}

#[test]
fn full_mesh_reaches_everything() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "10.1.0.0/16")
        .vpc("c", "10.2.0.0/16")
        .link("pcx-ab", "a", "b")
        .link("pcx-ac", "a", "c")
        .link("pcx-bc", "b", "c")
        .build();
    for (x, y) in [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a")] {
        assert_eq!(
            code(&plan, &format!("{x}-host"), &format!("{y}-host")),
            TraceCode::Accepted,
            "{x}→{y}"
        );
    }
}

#[test]
fn hub_and_spoke_spokes_cannot_talk() {
    let plan = Net::new()
        .vpc("hub", "172.16.0.0/16")
        .vpc("s1", "10.0.0.0/16")
        .vpc("s2", "10.1.0.0/16")
        .link("pcx-1", "hub", "s1")
        .link("pcx-2", "hub", "s2")
        // A spoke that routes the whole 10/8 to the hub, hoping to reach the other spoke.
        .route("s1", "10.0.0.0/8", json!({"peering": "pcx-1"}))
        .build();
    assert_eq!(code(&plan, "s1-host", "hub-host"), TraceCode::Accepted);
    assert_eq!(code(&plan, "hub-host", "s2-host"), TraceCode::Accepted);
    assert_eq!(code(&plan, "s1-host", "s2-host"), TraceCode::NotTransitive);
}

#[test]
fn specific_subnet_routes_reach_only_that_subnet() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .peer("pcx-ab", "a", "b", "active")
        .route("a", "172.16.1.0/24", json!({"peering": "pcx-ab"}))
        .route("b", "10.0.1.0/24", json!({"peering": "pcx-ab"}))
        .edit(|p| {
            p["subnets"].as_array_mut().unwrap().push(json!({"id": "b-sn2", "vpc": "b", "cidr": "172.16.2.0/24"}));
            p["endpoints"].as_array_mut().unwrap().push(
                json!({"id": "b-host2", "subnet": "b-sn2", "ipv4": "172.16.2.10", "security_groups": ["b-sg"]}),
            );
        })
        .build();
    assert_eq!(code(&plan, "a-host", "b-host"), TraceCode::Accepted);
    let t = run(&plan, "a-host", "b-host2", 443);
    assert_eq!(t.code, TraceCode::NoRoute);
    assert_eq!(
        t.fix.as_deref(),
        Some("add the route 172.16.0.0/16 → pcx-ab to a-rtb")
    );
}

#[test]
fn longest_prefix_match_with_32_routes_to_overlapping_spokes() {
    // The guide's "one VPC peered with two VPCs that have overlapping CIDR blocks": /32 routes decide.
    let plan = Net::new()
        .vpc("hub", "172.16.0.0/16")
        .vpc("s1", "10.0.0.0/16")
        .vpc("s2", "10.0.0.0/16")
        .peer("pcx-1", "hub", "s1", "active")
        .peer("pcx-2", "hub", "s2", "active")
        .route("hub", "10.0.0.0/16", json!({"peering": "pcx-1"}))
        .route("hub", "10.0.1.10/32", json!({"peering": "pcx-2"}))
        .route("s1", "172.16.0.0/16", json!({"peering": "pcx-1"}))
        .route("s2", "172.16.0.0/16", json!({"peering": "pcx-2"}))
        .build();
    let t = run(&plan, "hub-host", "10.0.1.10", 443);
    assert_eq!(t.code, TraceCode::Accepted);
    let route = t.forward.iter().find(|h| h.component == "hub-rtb").unwrap();
    assert_eq!(route.decided_by, "10.0.1.10/32 → pcx-2");
    assert_eq!(route.candidates, vec!["10.0.0.0/16 → pcx-1"]);
    assert_eq!(
        t.forward
            .iter()
            .find(|h| h.component == "pcx-2")
            .map(|h| &h.component),
        Some(&Component::Peering("pcx-2".into()))
    );
}

#[test]
fn overlapping_peers_misroute_the_reply() {
    // s1 and s2 share 10.0.0.0/16. The hub sends replies for 10.0.0.0/16 to s1, so s2's request is answered
    // towards s1: RETURN_MISROUTED.
    let plan = Net::new()
        .vpc("hub", "172.16.0.0/16")
        .vpc("s1", "10.0.0.0/16")
        .vpc("s2", "10.0.0.0/16")
        .peer("pcx-1", "hub", "s1", "active")
        .peer("pcx-2", "hub", "s2", "active")
        .route("hub", "10.0.0.0/16", json!({"peering": "pcx-1"}))
        .route("s1", "172.16.0.0/16", json!({"peering": "pcx-1"}))
        .route("s2", "172.16.0.0/16", json!({"peering": "pcx-2"}))
        .build();
    assert_eq!(code(&plan, "s1-host", "hub-host"), TraceCode::Accepted);
    let t = run(&plan, "s2-host", "hub-host", 443);
    assert_eq!(t.code, TraceCode::ReturnMisrouted);
    assert_eq!(
        t.fix.as_deref(),
        Some("add the more specific route 10.0.1.10/32 → pcx-2 to hub-rtb")
    );
}

#[test]
fn edge_to_edge_through_internet_gateway_nat_and_vpn_is_unsupported() {
    for (kind, target) in [
        ("internet", "internet_gateway"),
        ("nat", "nat_gateway"),
        ("vpn", "vpn_gateway"),
    ] {
        let plan = Net::new()
            .vpc("a", "10.0.0.0/16")
            .vpc("b", "172.16.0.0/16")
            .link("pcx-ab", "a", "b")
            .edit(|p| p["gateways"] = json!([{"id": "gw-b", "vpc": "b", "kind": kind}]))
            .route("b", "0.0.0.0/0", json!({target: "gw-b"}))
            .route("a", "0.0.0.0/0", json!({"peering": "pcx-ab"}))
            .build();
        let t = run(&plan, "a-host", "198.51.100.7", 443);
        assert_eq!(t.code, TraceCode::EdgeToEdge, "{kind}");
        // B itself reaches the outside.
        let own = run(&plan, "b-host", "198.51.100.7", 443);
        assert_eq!(
            (own.disposition, own.code),
            (Disposition::Exited, TraceCode::Exited),
            "{kind}"
        );
    }
}

#[test]
fn pending_and_deleted_peerings_carry_nothing() {
    for status in ["pending", "deleted", "rejected", "failed", "expired"] {
        let plan = Net::new()
            .vpc("a", "10.0.0.0/16")
            .vpc("b", "172.16.0.0/16")
            .peer("pcx-ab", "a", "b", status)
            .route("a", "172.16.0.0/16", json!({"peering": "pcx-ab"}))
            .route("b", "10.0.0.0/16", json!({"peering": "pcx-ab"}))
            .build();
        assert_eq!(
            code(&plan, "a-host", "b-host"),
            TraceCode::PeeringNotActive,
            "{status}"
        );
    }
}

#[test]
fn blackhole_and_unknowns() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .route("a", "192.0.2.0/24", json!("blackhole"))
        .build();
    assert_eq!(code(&plan, "a-host", "192.0.2.1"), TraceCode::BlackholeRoute);
    assert_eq!(code(&plan, "nobody", "192.0.2.1"), TraceCode::UnknownSource);
    assert_eq!(
        code(&plan, "a-host", "not-a-thing"),
        TraceCode::UnknownDestination
    );
    assert_eq!(code(&plan, "a-host", "198.51.100.1"), TraceCode::NoRoute);
}

#[test]
fn security_group_ingress_decides_and_a_change_flips_it() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .build();
    let t = run(&plan, "a-host", "b-host", 22);
    assert_eq!(t.code, TraceCode::SgDenyIngress);
    assert!(t.fix.unwrap().contains("10.0.0.0/16"));
    let mut opened = plan.clone();
    opened
        .security_groups
        .iter_mut()
        .find(|g| g.id.0 == "b-sg")
        .unwrap()
        .ingress
        .push(SgRule {
            protocol: Protocol::Tcp,
            ports: Some(PortRange::single(22)),
            cidr: Some("10.0.1.10/32".parse().unwrap()),
            sg: None,
            description: String::new(),
        });
    assert_eq!(run(&opened, "a-host", "b-host", 22).code, TraceCode::Accepted);
}

#[test]
fn security_group_egress_denies() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .edit(|p| {
            p["security_groups"][0]["egress"] =
                json!([{"protocol": "tcp", "ports": "80", "cidr": "0.0.0.0/0"}])
        })
        .build();
    assert_eq!(code(&plan, "a-host", "b-host"), TraceCode::SgDenyEgress);
}

#[test]
fn security_group_reference_across_peering_same_region_only() {
    let with_ref = |net: Net| {
        net.link("pcx-ab", "a", "b")
            .edit(|p| {
                p["security_groups"][1]["ingress"] =
                    json!([{"protocol": "tcp", "ports": "443", "sg": "acct-1/a-sg"}])
            })
            .build()
    };
    let same_region = with_ref(Net::new().vpc("a", "10.0.0.0/16").vpc("b", "172.16.0.0/16"));
    assert_eq!(code(&same_region, "a-host", "b-host"), TraceCode::Accepted);
    let cross = with_ref(Net::new().vpc("a", "10.0.0.0/16").vpc_in(
        "b",
        "172.16.0.0/16",
        "acct-1",
        "eu-west-1",
    ));
    assert_eq!(code(&cross, "a-host", "b-host"), TraceCode::SgDenyIngress);
}

#[test]
fn nacl_denies_outbound_and_inbound_by_rule_number() {
    let deny = |dir: &str, idx: usize| {
        Net::new()
            .vpc("a", "10.0.0.0/16")
            .vpc("b", "172.16.0.0/16")
            .link("pcx-ab", "a", "b")
            .edit(move |p| {
                p["network_acls"][idx]["entries"].as_array_mut().unwrap().push(
                    json!({"rule": 50, "direction": dir, "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0", "action": "deny"}),
                )
            })
            .build()
    };
    let t = run(&deny("outbound", 0), "a-host", "b-host", 443);
    assert_eq!(t.code, TraceCode::NaclDenyOutbound);
    assert!(t.forward.last().unwrap().decided_by.contains("rule 50"));
    assert_eq!(
        code(&deny("inbound", 1), "a-host", "b-host"),
        TraceCode::NaclDenyInbound
    );
}

#[test]
fn stateless_reply_needs_ephemeral_ports() {
    // B's ACL lets 443 in but only lets 443 out: the reply to the client's ephemeral port is dropped.
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .edit(|p| {
            p["network_acls"][1]["entries"] = json!([
                {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": "443", "cidr": "10.0.0.0/16", "action": "allow"},
                {"rule": 100, "direction": "outbound", "protocol": "tcp", "ports": "443", "cidr": "10.0.0.0/16", "action": "allow"}])
        })
        .build();
    let t = run(&plan, "a-host", "b-host", 443);
    assert_eq!(t.code, TraceCode::ReturnNaclDeny);
    let fix = t.fix.unwrap();
    assert!(fix.contains("b-acl") && fix.contains("32768-61000"), "{fix}");
    // Allowing the Linux range fixes Linux clients but not Windows ones above 61000.
    let mut fixed = plan.clone();
    fixed.network_acls[1].entries.push(AclEntry {
        rule: 110,
        direction: Direction::Outbound,
        protocol: Protocol::Tcp,
        ports: Some(PortRange {
            from: 32768,
            to: 61000,
        }),
        cidr: "10.0.0.0/16".parse().unwrap(),
        action: Action::Allow,
    });
    assert_eq!(run(&fixed, "a-host", "b-host", 443).code, TraceCode::Accepted);
    let t = Topology::new(&fixed);
    let windows = trace(
        &t,
        &Flow {
            from: "a-host".into(),
            to: "b-host".into(),
            protocol: Protocol::Tcp,
            port: Some(443),
            client: ClientProfile::Windows,
        },
    )
    .unwrap();
    assert_eq!(windows.code, TraceCode::ReturnNaclDeny);
}

#[test]
fn missing_return_route() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .peer("pcx-ab", "a", "b", "active")
        .route("a", "172.16.0.0/16", json!({"peering": "pcx-ab"}))
        .build();
    let t = run(&plan, "a-host", "b-host", 443);
    assert_eq!(t.code, TraceCode::ReturnNoRoute);
    assert_eq!(
        t.fix.as_deref(),
        Some("add the route 10.0.0.0/16 → pcx-ab to b-rtb")
    );
}

#[test]
fn listening_ports_are_noted() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .edit(|p| p["endpoints"][1]["ports"] = json!([7010]))
        .build();
    let t = run(&plan, "a-host", "b-host", 443);
    assert_eq!(t.code, TraceCode::Accepted);
    assert!(t.notes[0].contains("does not listen on 443"));
}

#[test]
fn ipv6_peering_works_like_ipv4() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .edit(|p| {
            p["vpcs"][0]["ipv6_cidrs"] = json!(["2001:db8:a::/56"]);
            p["vpcs"][1]["ipv6_cidrs"] = json!(["2001:db8:b::/56"]);
            p["subnets"][0]["ipv6_cidr"] = json!("2001:db8:a::/64");
            p["subnets"][1]["ipv6_cidr"] = json!("2001:db8:b::/64");
            p["endpoints"][0]["ipv6"] = json!("2001:db8:a::10");
            p["endpoints"][1]["ipv6"] = json!("2001:db8:b::10");
            p["security_groups"][1]["ingress"] = json!([{"protocol": "tcp", "ports": "443", "cidr": "2001:db8:a::/56"}]);
            p["network_acls"][0]["entries"] = json!([
                {"rule": 100, "direction": "inbound", "protocol": "all", "cidr": "::/0", "action": "allow"},
                {"rule": 100, "direction": "outbound", "protocol": "all", "cidr": "::/0", "action": "allow"}]);
            p["network_acls"][1]["entries"] = p["network_acls"][0]["entries"].clone();
            p["security_groups"][0]["egress"] =
                json!([{"protocol": "all", "cidr": "::/0"}, {"protocol": "all", "cidr": "0.0.0.0/0"}]);
        })
        .peer("pcx-ab", "a", "b", "active")
        .route("a", "2001:db8:b::/56", json!({"peering": "pcx-ab"}))
        .build();
    // Without B's route back to A's IPv6 block the reply has no route.
    let t = run(&plan, "a-host", "2001:db8:b::10", 443);
    assert_eq!(t.code, TraceCode::ReturnNoRoute);
    let plan = Net {
        plan: serde_json::to_value(&plan).unwrap(),
    }
    .route("b", "2001:db8:a::/56", json!({"peering": "pcx-ab"}))
    .build();
    assert_eq!(
        run(&plan, "2001:db8:a::10", "b-host", 443).code,
        TraceCode::Accepted,
        "v6 source address picks v6"
    );
    assert_eq!(
        run(&plan, "a-host", "2001:db8:b::10", 443).code,
        TraceCode::Accepted
    );
    // IPv4 between the same hosts: these ACLs allow only IPv6, and the ACL comes before the route look-up.
    assert_eq!(
        run(&plan, "a-host", "172.16.1.10", 443).code,
        TraceCode::NaclDenyOutbound
    );
}

/// A custom ACL that denies port 443 both ways, and a second host in a's subnet.
fn denying_acl_and_a_neighbour(net: Net) -> Net {
    net.edit(|p| {
        p["network_acls"][0]["entries"] = json!([
            {"rule": 50, "direction": "outbound", "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0", "action": "deny"},
            {"rule": 50, "direction": "inbound", "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0", "action": "deny"},
            {"rule": 100, "direction": "inbound", "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"},
            {"rule": 100, "direction": "outbound", "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}]);
        p["endpoints"].as_array_mut().unwrap().push(
            json!({"id": "a-host2", "subnet": "a-sn", "ipv4": "10.0.1.11", "security_groups": ["a-sg"]}),
        );
    })
}

#[test]
fn network_acl_is_not_evaluated_between_interfaces_of_one_subnet() {
    let plan = denying_acl_and_a_neighbour(Net::new().vpc("a", "10.0.0.0/16")).build();
    let t = run(&plan, "a-host", "a-host2", 443);
    assert_eq!(t.code, TraceCode::Accepted, "{}", t.explanation);
    let same_subnet: Vec<_> = t
        .forward
        .iter()
        .chain(&t.return_path)
        .filter(|h| h.decided_by == "same subnet: network ACL not evaluated")
        .collect();
    assert_eq!(same_subnet.len(), 4, "outbound and inbound, request and reply");
    // The security groups still decide: port 22 is not allowed in by a-sg.
    assert_eq!(run(&plan, "a-host", "a-host2", 22).code, TraceCode::SgDenyIngress);
    // Across subnets the same ACL drops it.
    let across = denying_acl_and_a_neighbour(Net::new().vpc("a", "10.0.0.0/16"))
        .edit(|p| {
            p["subnets"]
                .as_array_mut()
                .unwrap()
                .push(json!({"id": "a-sn2", "vpc": "a", "cidr": "10.0.2.0/24"}));
            p["endpoints"][1]["subnet"] = json!("a-sn2");
            p["endpoints"][1]["ipv4"] = json!("10.0.2.11");
        })
        .build();
    assert_eq!(code(&across, "a-host", "a-host2"), TraceCode::NaclDenyOutbound);
}

#[test]
fn third_vpc_behind_a_peer_with_an_internet_gateway_is_not_transitive() {
    // A peers with B, B with C; B has a default route to its internet gateway. A's route for C's block over
    // the A–B peering is a transitive attempt (fixed by peering A and C), not edge-to-edge routing.
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .vpc("c", "192.168.0.0/16")
        .link("pcx-ab", "a", "b")
        .link("pcx-bc", "b", "c")
        .edit(|p| p["gateways"] = json!([{"id": "igw-b", "vpc": "b", "kind": "internet"}]))
        .route("b", "0.0.0.0/0", json!({"internet_gateway": "igw-b"}))
        .route("a", "192.168.0.0/16", json!({"peering": "pcx-ab"}))
        .build();
    let t = run(&plan, "a-host", "c-host", 443);
    assert_eq!(t.code, TraceCode::NotTransitive, "{}", t.explanation);
    let fix = t.fix.unwrap();
    assert!(fix.starts_with("Create a peering between a and c"), "{fix}");
    // Outside every modelled VPC, the same route is edge-to-edge.
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .edit(|p| p["gateways"] = json!([{"id": "igw-b", "vpc": "b", "kind": "internet"}]))
        .route("b", "0.0.0.0/0", json!({"internet_gateway": "igw-b"}))
        .route("a", "0.0.0.0/0", json!({"peering": "pcx-ab"}))
        .build();
    assert_eq!(code(&plan, "a-host", "198.51.100.7"), TraceCode::EdgeToEdge);
}

#[test]
fn address_no_interface_holds_is_unknown_destination() {
    let plan = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .build();
    let t = run(&plan, "a-host", "172.16.1.99", 443);
    assert_eq!(t.code, TraceCode::UnknownDestination);
    assert!(t.explanation.contains("b-sn"), "{}", t.explanation);
    assert!(
        t.explanation.contains("b-host (172.16.1.10)"),
        "nearest endpoint named: {}",
        t.explanation
    );
    assert!(t.return_path.is_empty(), "no host, so no reply is evaluated");
    // In the source's own subnet too (no ACL crossed).
    assert_eq!(code(&plan, "a-host", "10.0.1.99"), TraceCode::UnknownDestination);
    // The destination subnet's inbound ACL is still checked first.
    let denied = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .edit(|p| {
            p["network_acls"][1]["entries"][0]["action"] = json!("deny");
        })
        .build();
    assert_eq!(code(&denied, "a-host", "172.16.1.99"), TraceCode::NaclDenyInbound);
    // A reply ACL that would deny does not matter: nothing replies.
    let no_reply = Net::new()
        .vpc("a", "10.0.0.0/16")
        .vpc("b", "172.16.0.0/16")
        .link("pcx-ab", "a", "b")
        .edit(|p| {
            p["network_acls"][1]["entries"][1]["action"] = json!("deny");
        })
        .build();
    assert_eq!(
        code(&no_reply, "a-host", "172.16.1.99"),
        TraceCode::UnknownDestination
    );
    assert_eq!(code(&no_reply, "a-host", "b-host"), TraceCode::ReturnNaclDeny);
    // Outside every modelled network the routing verdicts stay.
    assert_eq!(code(&plan, "a-host", "198.51.100.7"), TraceCode::NoRoute);
}
