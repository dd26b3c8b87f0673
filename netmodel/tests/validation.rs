//! Every error [`Plan::validate`] gives, one bad plan per error: the seed example with one field spoiled, and the
//! exact message (the place, then what is wrong with which value). The checks run in document order and the first
//! failure is the error; a valid plan's peering sides are filled in from their VPCs.

use netmodel::Plan;
use serde_json::{json, Value};

/// The seed example (two VPCs in two accounts, one peering) with an internet gateway in VPC A.
fn base() -> Value {
    let mut plan: Value = serde_json::from_str(include_str!("../../examples/seed.json")).unwrap();
    plan["gateways"] = json!([{"id": "igw-a", "vpc": "vpc-a", "kind": "internet"}]);
    plan
}

/// Spoils the plan in one way (or a few).
type Spoil = fn(&mut Value);

/// The error of the seed example after `spoil`.
fn error_after(spoil: Spoil) -> String {
    let mut plan = base();
    spoil(&mut plan);
    match Plan::from_json(&plan.to_string()) {
        Ok(_) => "(no error)".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_base_plan_is_valid_and_its_peering_sides_are_filled_in() {
    let plan = Plan::from_json(&base().to_string()).unwrap();
    let p = &plan.peerings[0];
    assert_eq!(
        (p.requester.account.as_str(), p.requester.region.as_str()),
        ("acct-a", "us-east-1")
    );
    assert_eq!(
        (p.accepter.account.as_str(), p.accepter.region.as_str()),
        ("acct-b", "us-east-1")
    );
}

#[test]
fn every_validation_error_names_its_place_and_value() {
    let cases: &[(Spoil, &str)] = &[
        (
            |p| p["format"] = json!("peerplan/v2"),
            r#"format: "peerplan/v2" is not a supported format (expected "peerplan/v1")"#,
        ),
        (
            |p| p["vpcs"][0]["name"] = json!("VPC\u{7}A"),
            r#"vpcs[0].name: "VPC\u{7}A" holds a control character (U+0007), which is not allowed"#,
        ),
        (
            |p| p["vpcs"][1]["position"]["y"] = json!(2e7),
            "vpcs[1].position.y: 20000000 is not a canvas position (from -10000000 to 10000000)",
        ),
        (
            |p| p["accounts"][1]["id"] = json!("acct-a"),
            r#"accounts[1].id: duplicate id "acct-a""#,
        ),
        (
            |p| p["subnets"][0]["id"] = json!(""),
            "subnets[0].id: an id must not be empty",
        ),
        (
            |p| p["peerings"][0]["id"] = json!(""),
            "peerings[0].id: an id must not be empty",
        ),
        (
            |p| p["vpcs"][1]["account"] = json!("nobody"),
            r#"vpcs[1].account: unknown account "nobody""#,
        ),
        (
            |p| p["vpcs"][0]["region"] = json!(" "),
            "vpcs[0].region: a region is required",
        ),
        (
            |p| p["vpcs"][0]["cidr"] = json!("2001:db8::/56"),
            r#"vpcs[0].cidr: "2001:db8::/56" is not an IPv4 block"#,
        ),
        (
            |p| p["vpcs"][0]["secondary_cidrs"] = json!(["10.1.0.0/16", "2001:db8::/56"]),
            r#"vpcs[0].secondary_cidrs[1]: "2001:db8::/56" is not an IPv4 block"#,
        ),
        (
            |p| p["vpcs"][0]["ipv6_cidrs"] = json!(["10.9.0.0/16"]),
            r#"vpcs[0].ipv6_cidrs[0]: "10.9.0.0/16" is not an IPv6 block"#,
        ),
        (
            |p| p["subnets"][1]["vpc"] = json!("vpc-x"),
            r#"subnets[1].vpc: unknown VPC "vpc-x""#,
        ),
        (
            |p| p["subnets"][0]["cidr"] = json!("2001:db8::/64"),
            r#"subnets[0].cidr: "2001:db8::/64" is not an IPv4 block"#,
        ),
        (
            |p| p["subnets"][0]["ipv6_cidr"] = json!("10.0.3.0/24"),
            r#"subnets[0].ipv6_cidr: "10.0.3.0/24" is not an IPv6 block"#,
        ),
        (
            |p| p["route_tables"][0]["vpc"] = json!("vpc-x"),
            r#"route_tables[0].vpc: unknown VPC "vpc-x""#,
        ),
        (
            |p| p["route_tables"][1]["vpc"] = json!("vpc-a"),
            r#"route_tables[1].main: VPC "vpc-a" already has a main route table"#,
        ),
        (
            |p| p["route_tables"][0]["subnets"] = json!(["subnet-x"]),
            r#"route_tables[0].subnets[0]: unknown subnet "subnet-x""#,
        ),
        (
            |p| p["route_tables"][0]["subnets"] = json!(["subnet-b"]),
            r#"route_tables[0].subnets[0]: subnet "subnet-b" is in VPC "vpc-b", not in "vpc-a""#,
        ),
        (
            |p| p["route_tables"][0]["subnets"] = json!(["subnet-a", "subnet-a"]),
            r#"route_tables[0].subnets[1]: subnet "subnet-a" is already associated with route table "rtb-a""#,
        ),
        (
            |p| p["route_tables"][0]["routes"][0]["target"] = json!({"peering": "pcx-x"}),
            r#"route_tables[0].routes[0].target: unknown peering "pcx-x""#,
        ),
        (
            |p| p["route_tables"][0]["routes"][0]["target"] = json!({"nat_gateway": "nat-x"}),
            r#"route_tables[0].routes[0].target: unknown gateway "nat-x""#,
        ),
        (
            |p| p["security_groups"][1]["vpc"] = json!("vpc-x"),
            r#"security_groups[1].vpc: unknown VPC "vpc-x""#,
        ),
        (
            |p| p["security_groups"][0]["ingress"][0]["sg"] = json!("sg-b"),
            r#"security_groups[0].ingress[0]: a rule needs exactly one of "cidr" or "sg""#,
        ),
        (
            |p| p["security_groups"][0]["egress"][0] = json!({"protocol": "all"}),
            r#"security_groups[0].egress[0]: a rule needs exactly one of "cidr" or "sg""#,
        ),
        (
            |p| p["security_groups"][0]["egress"][0] = json!({"protocol": "all", "sg": "acct-b/sg-x"}),
            r#"security_groups[0].egress[0].sg: unknown security group "acct-b/sg-x""#,
        ),
        (
            |p| p["network_acls"][0]["vpc"] = json!("vpc-x"),
            r#"network_acls[0].vpc: unknown VPC "vpc-x""#,
        ),
        (
            |p| p["network_acls"][1]["vpc"] = json!("vpc-a"),
            r#"network_acls[1].default: VPC "vpc-a" already has a default network ACL"#,
        ),
        (
            |p| p["network_acls"][1]["subnets"] = json!(["subnet-a"]),
            r#"network_acls[1].subnets[0]: subnet "subnet-a" is in VPC "vpc-a", not in "vpc-b""#,
        ),
        (
            |p| p["network_acls"][0]["entries"][1]["rule"] = json!(32767),
            "network_acls[0].entries[1].rule: 32767 is not a rule number (1-32766)",
        ),
        (
            |p| p["network_acls"][0]["entries"][1]["direction"] = json!("inbound"),
            "network_acls[0].entries[1].rule: rule number 100 appears twice for Inbound traffic",
        ),
        (
            |p| p["endpoints"][0]["subnet"] = json!("subnet-x"),
            r#"endpoints[0].subnet: unknown subnet "subnet-x""#,
        ),
        (
            |p| p["endpoints"][0]["security_groups"] = json!(["sg-a", "sg-x"]),
            r#"endpoints[0].security_groups[1]: unknown security group "sg-x""#,
        ),
        (
            |p| p["endpoints"][0]["security_groups"] = json!(["sg-b"]),
            r#"endpoints[0].security_groups[0]: security group "sg-b" belongs to VPC "vpc-b", not to "vpc-a""#,
        ),
        (
            |p| {
                p["endpoints"][1].as_object_mut().unwrap().remove("ipv4");
            },
            "endpoints[1]: an endpoint needs an ipv4 or ipv6 address",
        ),
        (
            |p| p["gateways"][0]["vpc"] = json!("vpc-x"),
            r#"gateways[0].vpc: unknown VPC "vpc-x""#,
        ),
        (
            |p| p["gateways"][0]["subnet"] = json!("subnet-b"),
            r#"gateways[0].subnet: subnet "subnet-b" is in VPC "vpc-b", not in "vpc-a""#,
        ),
        (
            |p| p["peerings"][0]["requester"]["vpc"] = json!("vpc-x"),
            r#"peerings[0].requester.vpc: unknown VPC "vpc-x""#,
        ),
        (
            |p| p["peerings"][0]["requester"]["account"] = json!("acct-b"),
            r#"peerings[0].requester.account: "acct-b" is not the account of VPC "vpc-a" (acct-a)"#,
        ),
        (
            |p| p["peerings"][0]["accepter"]["region"] = json!("eu-west-1"),
            r#"peerings[0].accepter.region: "eu-west-1" is not the region of VPC "vpc-b" (us-east-1)"#,
        ),
        (
            |p| p["peerings"][0]["accepter"]["vpc"] = json!("vpc-a"),
            r#"peerings[0].accepter.vpc: a VPC cannot peer with itself ("vpc-a")"#,
        ),
        // Two faults: the one earlier in the document's order of checks is the error.
        (
            |p| {
                p["peerings"][0]["accepter"]["vpc"] = json!("vpc-a");
                p["subnets"][1]["vpc"] = json!("vpc-x");
                p["vpcs"][1]["account"] = json!("nobody");
            },
            r#"vpcs[1].account: unknown account "nobody""#,
        ),
        (
            |p| {
                p["endpoints"][0]["subnet"] = json!("subnet-x");
                p["network_acls"][0]["entries"][0]["rule"] = json!(0);
            },
            "network_acls[0].entries[0].rule: 0 is not a rule number (1-32766)",
        ),
    ];
    let mut wrong = Vec::new();
    for (spoil, expected) in cases {
        let got = error_after(*spoil);
        if got != *expected {
            wrong.push(format!("expected: {expected}\n     got: {got}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
