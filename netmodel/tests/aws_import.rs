//! AWS import on fixtures shaped like the AWS CLI documentation's examples: one account's export
//! (`fixtures/aws`), a cross-account estate exported per account and region (`fixtures/aws-cross-account`: two
//! accounts × two regions, a cross-account inter-region peering seen from both sides, a cross-account
//! security-group reference) and a conflicting pair of exports (`fixtures/aws-conflict`).

use std::path::Path;

use netmodel::{
    check,
    import::aws::{import, SourceFile},
    model::*,
    sim::{trace, ClientProfile, Flow, Topology, TraceCode},
    CheckOptions, Code, Severity,
};

fn fixtures() -> Vec<SourceFile> {
    fixture_folder("aws")
}

/// Every file below `tests/fixtures/NAME`, with its path relative to that folder (as `peerplan import` reads it).
fn fixture_folder(name: &str) -> Vec<SourceFile> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<SourceFile>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(SourceFile {
                    path: p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                    text: std::fs::read_to_string(&p).unwrap(),
                });
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[test]
fn imports_vpcs_with_blocks_account_and_region() {
    let imported = import(&fixtures()).unwrap();
    let prod = imported.plan.vpc(&"vpc-0e9801d129EXAMPLE".into()).unwrap();
    assert_eq!(prod.name, "prod");
    assert_eq!(prod.account.0, "111122223333");
    assert_eq!(prod.region, "us-east-1");
    assert_eq!(prod.secondary_cidrs, vec!["10.1.0.0/16".parse().unwrap()]);
    assert_eq!(prod.ipv6_cidrs.len(), 1);
}

#[test]
fn peerings_keep_status_and_cross_account_peers_are_added() {
    let plan = import(&fixtures()).unwrap().plan;
    let status = |id: &str| plan.peering(&id.into()).unwrap().status;
    assert_eq!(status("pcx-1a2b3c4d"), PeeringStatus::Active);
    assert_eq!(status("pcx-deletedEXAMPLE"), PeeringStatus::Deleted);
    let peer = plan.vpc(&"vpc-1a2b3c4d".into()).unwrap();
    assert_eq!(peer.account.0, "444455556666");
    assert_eq!(peer.cidr.to_string(), "192.168.0.0/16");
    assert!(
        plan.peering(&"pcx-1a2b3c4d".into())
            .unwrap()
            .options
            .dns_resolution
    );
    assert!(plan.accounts.iter().any(|a| a.id.0 == "444455556666"));
}

#[test]
fn pending_cross_account_peering_needs_the_peer_blocks() {
    let imported = import(&fixtures()).unwrap();
    assert!(imported.plan.peering(&"pcx-pendingEXAMPLE".into()).is_none());
    assert!(imported
        .diagnostics
        .iter()
        .any(|d| d.code == Code::ImportDanglingRef && d.items == vec!["pcx-pendingEXAMPLE", "vpc-7EXAMPLE"]));
    // With the accepter's account imported as well, the pending peering is kept.
    let mut files = fixtures();
    files.push(SourceFile {
        path: "777788889999/eu-west-1/vpcs.json".into(),
        text: r#"{"Vpcs":[{"VpcId":"vpc-7EXAMPLE","OwnerId":"777788889999","CidrBlock":"10.77.0.0/16"}]}"#
            .into(),
    });
    let plan = import(&files).unwrap().plan;
    let p = plan.peering(&"pcx-pendingEXAMPLE".into()).unwrap();
    assert_eq!(p.status, PeeringStatus::Pending);
    assert_eq!(p.accepter.region, "eu-west-1");
    assert!(p.is_cross_account() && p.is_inter_region());
}

#[test]
fn routes_targets_and_associations() {
    let plan = import(&fixtures()).unwrap().plan;
    let rt = plan
        .route_tables
        .iter()
        .find(|r| r.id.0 == "rtb-09ba434c1bEXAMPLE")
        .unwrap();
    assert!(rt.main);
    let targets: Vec<String> = rt
        .routes
        .iter()
        .map(|r| format!("{} {}", r.destination, r.target))
        .collect();
    assert_eq!(
        targets,
        vec![
            "192.168.0.0/16 pcx-1a2b3c4d",
            "172.20.0.0/16 blackhole",
            "0.0.0.0/0 nat-0a1b2c3d4eEXAMPLE"
        ]
    );
    let public = plan
        .route_tables
        .iter()
        .find(|r| r.id.0 == "rtb-public0EXAMPLE")
        .unwrap();
    assert_eq!(public.subnets, vec!["subnet-8EXAMPLE".into()]);
    assert_eq!(
        public.routes[0].target,
        Target::InternetGateway("igw-0d0fb496b3EXAMPLE".into())
    );
}

#[test]
fn acls_skip_the_implicit_deny_and_map_directions() {
    let plan = import(&fixtures()).unwrap().plan;
    let acl = &plan.network_acls[0];
    assert_eq!(acl.entries.len(), 3);
    assert!(acl.entries.iter().all(|e| e.rule < 32767));
    let inbound_https = acl
        .entries
        .iter()
        .find(|e| e.direction == Direction::Inbound && e.rule == 100)
        .unwrap();
    assert_eq!(inbound_https.protocol, Protocol::Tcp);
    assert_eq!(inbound_https.ports, Some(PortRange::single(443)));
}

#[test]
fn enis_become_endpoints() {
    let plan = import(&fixtures()).unwrap().plan;
    let eni = plan
        .endpoints
        .iter()
        .find(|e| e.id.0 == "eni-0b6f5e4dEXAMPLE")
        .unwrap();
    assert_eq!(eni.name, "i-1234567890abcdef0");
    assert_eq!(eni.ipv4, Some("10.0.1.17".parse().unwrap()));
    assert_eq!(eni.security_groups, vec!["sg-0a1b2c3d4eEXAMPLE".into()]);
    let web = plan
        .endpoints
        .iter()
        .find(|e| e.id.0 == "eni-public0EXAMPLE")
        .unwrap();
    assert_eq!(web.name, "web-1");
    assert!(web.security_groups.is_empty(), "dangling group dropped");
}

#[test]
fn dangling_references_are_diagnostics_not_crashes() {
    let imported = import(&fixtures()).unwrap();
    let dangling: Vec<&str> = imported
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::ImportDanglingRef)
        .map(|d| d.message.as_str())
        .collect();
    for needle in [
        "vpc-notimportedEXAMPLE",
        "pcx-deadbeef",
        "sg-0ffffffffEXAMPLE",
        "sg-missingEXAMPLE",
        "pl-63a5400a",
    ] {
        assert!(
            dangling.iter().any(|m| m.contains(needle)),
            "{needle} not reported in {dangling:#?}"
        );
    }
    // The imported plan can be checked.
    let diags = check(&imported.plan, &CheckOptions::default());
    assert!(diags.iter().all(|d| d.code != Code::PeeringCidrOverlap));
}

#[test]
fn region_from_availability_zone_when_path_has_none() {
    let files: Vec<SourceFile> = fixtures()
        .into_iter()
        .filter(|f| f.path.ends_with("vpcs.json") || f.path.ends_with("subnets.json"))
        .map(|f| SourceFile {
            path: f.path.rsplit('/').next().unwrap().to_string(),
            text: f.text,
        })
        .collect();
    let plan = import(&files).unwrap().plan;
    assert_eq!(
        plan.vpc(&"vpc-0e9801d129EXAMPLE".into()).unwrap().region,
        "us-east-1"
    );
}

#[test]
fn garbage_files_are_errors() {
    for text in ["", "[1]", "{\"Vpcs\": 3}", "{\"Vpcs\": [{\"VpcId\": 7}]}"] {
        let r = import(&[SourceFile {
            path: "f.json".into(),
            text: text.into(),
        }]);
        if let Err(e) = &r {
            assert_eq!(e.path, "f.json");
        }
    }
}

const A: &str = "123456789012";
const B: &str = "210987654321";
const INTER: &str = "pcx-0interregionEXAMPLE";
const SAME: &str = "pcx-0sameregionEXAMPLE";

#[test]
fn cross_account_views_of_one_peering_merge_into_one() {
    let imported = import(&fixture_folder("aws-cross-account")).unwrap();
    let plan = &imported.plan;
    assert_eq!(plan.vpcs.len(), 4);
    assert_eq!(plan.peerings.len(), 2, "{:#?}", plan.peerings);
    let accounts: Vec<&str> = plan.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(accounts, [A, B]);

    // Requester's view: pending-acceptance; accepter's view: active. The more advanced status wins, with a note.
    let p = plan.peering(&INTER.into()).unwrap();
    assert_eq!(p.status, PeeringStatus::Active);
    assert_eq!(
        (
            p.requester.vpc.as_str(),
            p.requester.account.as_str(),
            p.requester.region.as_str()
        ),
        ("vpc-0a1useEXAMPLE", A, "us-east-1")
    );
    assert_eq!(
        (
            p.accepter.vpc.as_str(),
            p.accepter.account.as_str(),
            p.accepter.region.as_str()
        ),
        ("vpc-0b2euwEXAMPLE", B, "eu-west-1")
    );
    assert!(p.is_cross_account() && p.is_inter_region());
    assert_eq!(p.status_message.as_deref(), Some("Active"));
    // Only the accepter's view turns DNS resolution on; the merge keeps it.
    assert!(p.options.dns_resolution);
    let note = imported
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ImportNote && d.items == [INTER])
        .unwrap_or_else(|| panic!("no note: {:#?}", imported.diagnostics));
    assert_eq!(note.severity, Severity::Info);
    assert!(
        note.message.contains("pending-acceptance") && note.message.contains("active"),
        "{}",
        note.message
    );
    // The same-region peering agrees in both views: no note.
    assert_eq!(plan.peering(&SAME.into()).unwrap().status, PeeringStatus::Active);
    assert!(!imported.diagnostics.iter().any(|d| d.items == [SAME]));
    // Every VPC keeps its export's region; nothing is dangling.
    let region = |v: &str| plan.vpc(&v.into()).unwrap().region.clone();
    assert_eq!(region("vpc-0a2euwEXAMPLE"), "eu-west-1");
    assert_eq!(region("vpc-0b1useEXAMPLE"), "us-east-1");
    assert!(
        imported
            .diagnostics
            .iter()
            .all(|d| d.code != Code::ImportDanglingRef),
        "{:#?}",
        imported.diagnostics
    );
}

#[test]
fn cross_account_estate_checks_and_traces_across_its_peerings() {
    let imported = import(&fixture_folder("aws-cross-account")).unwrap();
    let plan = &imported.plan;
    // The cross-account group reference survives as account/sg-id.
    let db = plan.security_group(&"sg-0b1useEXAMPLE".into()).unwrap();
    assert_eq!(
        db.ingress[0].sg.as_ref().unwrap().to_string(),
        format!("{A}/sg-0a1useEXAMPLE")
    );
    let diags = check(plan, &CheckOptions::default());
    assert!(diags.iter().all(|d| d.severity != Severity::Error), "{diags:#?}");
    let t = Topology::new(plan);
    let flow = |to: &str, port: u16| Flow {
        from: "client-a".into(),
        to: to.into(),
        protocol: Protocol::Tcp,
        port: Some(port),
        client: ClientProfile::Linux,
    };
    // Across accounts and regions.
    let web = trace(&t, &flow("web-b", 443)).unwrap();
    assert_eq!(web.code, TraceCode::Accepted, "{web:#?}");
    assert!(
        web.forward
            .iter()
            .any(|h| h.component.to_string().contains(INTER)),
        "{web:#?}"
    );
    // Across accounts in one region, admitted by the reference to the other account's group.
    let db = trace(&t, &flow("db-b", 5432)).unwrap();
    assert_eq!(db.code, TraceCode::Accepted, "{db:#?}");
    assert!(
        db.forward.iter().any(|h| h.component.to_string().contains(SAME)),
        "{db:#?}"
    );
    let closed = trace(&t, &flow("db-b", 22)).unwrap();
    assert_ne!(closed.code, TraceCode::Accepted);
}

#[test]
fn one_peering_id_with_two_vpc_pairs_is_refused() {
    let e = import(&fixture_folder("aws-conflict")).unwrap_err();
    assert_eq!(e.path, "210987654321/us-east-1/vpc-peering-connections.json");
    for needle in [
        SAME,
        "vpc-0a1useEXAMPLE",
        "vpc-0b1useEXAMPLE",
        "vpc-0b3useEXAMPLE",
        "123456789012/us-east-1/vpc-peering-connections.json",
    ] {
        assert!(e.message.contains(needle), "{needle} not in {e}");
    }
}

#[test]
fn an_object_in_two_exports_is_kept_once_when_equal_and_refused_when_not() {
    let files = fixture_folder("aws-cross-account");
    let vpcs = files
        .iter()
        .find(|f| f.path.ends_with("123456789012/us-east-1/vpcs.json"))
        .unwrap()
        .clone();
    let sgs = files
        .iter()
        .find(|f| f.path.ends_with("210987654321/us-east-1/security-groups.json"))
        .unwrap()
        .clone();
    // The same VPC and group exported again (say by an organisation-wide dump): kept once.
    let mut twice = files.clone();
    for f in [&vpcs, &sgs] {
        twice.push(SourceFile {
            path: format!("org-dump/{}", f.path),
            text: f.text.clone(),
        });
    }
    let plan = import(&twice).unwrap().plan;
    assert_eq!(plan.vpcs.len(), 4);
    assert_eq!(plan.security_groups.len(), 4);
    // The same VPC with another block: refused, naming the VPC, both blocks and both files.
    let mut conflicting = files.clone();
    conflicting.push(SourceFile {
        path: "org-dump/vpcs.json".into(),
        text: vpcs.text.replace("10.10.0.0/16", "10.99.0.0/16"),
    });
    let e = import(&conflicting).unwrap_err();
    assert_eq!(e.path, "org-dump/vpcs.json");
    for needle in [
        "vpc-0a1useEXAMPLE",
        "10.10.0.0/16",
        "10.99.0.0/16",
        "123456789012/us-east-1/vpcs.json",
    ] {
        assert!(e.message.contains(needle), "{needle} not in {e}");
    }
    // A group reference naming the wrong owner account is refused.
    let mut wrong_owner = files.clone();
    let at = wrong_owner.iter().position(|f| f.path == sgs.path).unwrap();
    wrong_owner[at].text = sgs
        .text
        .replace(&format!("\"UserId\": \"{A}\""), "\"UserId\": \"999999999999\"");
    let e = import(&wrong_owner).unwrap_err();
    assert!(
        e.message.contains("999999999999/sg-0a1useEXAMPLE") && e.message.contains(A),
        "{e}"
    );
}

#[test]
fn control_characters_in_tags_are_replaced_with_a_note() {
    let mut files = fixture_folder("aws-cross-account");
    let at = files
        .iter()
        .position(|f| f.path.ends_with("123456789012/us-east-1/vpcs.json"))
        .unwrap();
    files[at].text = files[at]
        .text
        .replace("\"a-use\"", "\"a-use\\n$(touch /tmp/x)\\u202e\"");
    let imported = import(&files).unwrap();
    let vpc = imported.plan.vpc(&"vpc-0a1useEXAMPLE".into()).unwrap();
    assert_eq!(vpc.name, "a-use\u{FFFD}$(touch /tmp/x)\u{FFFD}");
    let note = imported
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ImportNote && d.items == ["vpc-0a1useEXAMPLE"])
        .unwrap_or_else(|| panic!("{:#?}", imported.diagnostics));
    assert!(
        note.message.contains(&files[at].path)
            && note.message.contains("Tags[0].Value")
            && note.message.contains("\\n$(touch /tmp/x)"),
        "{}",
        note.message
    );
}

/// Found by `fuzz_parsers`: an association listed twice, a peering side whose region or owner contradicts the
/// VPC's export, and empty ids used to produce a plan that failed the plan's own validation.
#[test]
fn odd_exports_give_a_valid_plan_or_an_error_naming_the_file() {
    let files = fixture_folder("aws-cross-account");
    let with = |suffix: &str, edit: &dyn Fn(&str) -> String| -> Vec<SourceFile> {
        let mut files = files.clone();
        let f = files.iter_mut().find(|f| f.path.ends_with(suffix)).unwrap();
        f.text = edit(&f.text);
        files
    };
    // A subnet associated twice with a route table: kept once.
    let twice = with("123456789012/us-east-1/route-tables.json", &|t| {
        let mut v: serde_json::Value = serde_json::from_str(t).unwrap();
        let assoc = v["RouteTables"][0]["Associations"].as_array_mut().unwrap();
        let extra = serde_json::json!({"Main": false, "SubnetId": "subnet-0a1useEXAMPLE"});
        assoc.push(extra.clone());
        assoc.push(extra);
        v.to_string()
    });
    let plan = import(&twice).unwrap().plan;
    let table = plan
        .route_tables
        .iter()
        .find(|t| t.id.0 == "rtb-0a1useEXAMPLE")
        .unwrap();
    assert_eq!(table.subnets, vec!["subnet-0a1useEXAMPLE".into()]);
    // A peering that places a VPC in another region than its export: refused, naming the file and both regions.
    let moved = with("123456789012/us-east-1/vpc-peering-connections.json", &|t| {
        t.replacen("\"Region\": \"us-east-1\"", "\"Region\": \"ap-south-1\"", 1)
    });
    let e = import(&moved).unwrap_err();
    // (Here B's view of the same peering disagrees first; without it, the VPC's own export does.)
    assert_eq!(e.path, "210987654321/eu-west-1/vpc-peering-connections.json");
    assert!(
        e.message.contains("ap-south-1") && e.message.contains("us-east-1"),
        "{e}"
    );
    let alone: Vec<SourceFile> = moved
        .into_iter()
        .filter(|f| !f.path.starts_with("210987654321/eu-west-1/vpc-peering"))
        .collect();
    let e = import(&alone).unwrap_err();
    assert_eq!(e.path, "123456789012/us-east-1/vpc-peering-connections.json");
    assert!(
        e.message.contains("\"ap-south-1\"") && e.message.contains("vpc-0a1useEXAMPLE"),
        "{e}"
    );
    // An empty owner or id names nothing: treated as absent.
    let empty = with("210987654321/us-east-1/vpcs.json", &|t| {
        t.replace("\"OwnerId\": \"210987654321\"", "\"OwnerId\": \"\"")
    });
    let plan = import(&empty).unwrap().plan;
    assert!(plan.accounts.iter().all(|a| !a.id.0.is_empty()));
}

/// A plain `describe-vpcs` file is read straight into typed records; one with an escape anywhere (here in a field
/// the import does not read) is read as a tree. Both give the same plan and the same findings.
#[test]
fn plain_and_escaped_vpc_files_import_alike() {
    for folder in ["aws", "aws-cross-account"] {
        let plain = fixture_folder(folder);
        let mut escaped = plain.clone();
        let mut changed = 0;
        for f in escaped.iter_mut().filter(|f| f.path.ends_with("vpcs.json")) {
            f.text = f
                .text
                .replace("\"State\": \"available\"", "\"State\": \"avail\\u0061ble\"");
            changed += 1;
        }
        assert!(changed > 0);
        let (a, b) = (import(&plain).unwrap(), import(&escaped).unwrap());
        assert_eq!(a.plan, b.plan, "{folder}");
        assert_eq!(a.diagnostics, b.diagnostics, "{folder}");
        assert!(!a.plan.vpcs.is_empty());
    }
    // A VPC file of an odd shape is still read leniently: an id of another type counts as absent.
    let odd = SourceFile {
        path: "1/us-east-1/vpcs.json".into(),
        text: r#"{"Vpcs": [{"VpcId": 7, "CidrBlock": "10.0.0.0/16"},
                           {"VpcId": "vpc-1", "CidrBlock": "10.1.0.0/16", "Tags": {"Key": "Name"}}]}"#
            .into(),
    };
    let plan = import(&[odd]).unwrap().plan;
    let ids: Vec<&str> = plan.vpcs.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["vpc-1"]);
    assert_eq!(plan.vpcs[0].name, "");
}

/// Generated `describe-vpcs` files of every shape the typed read takes (blocks shared, secondary blocks in every
/// state, IPv6, bad blocks, `Name` tags in `Tags`, `TagSet`, both, empty or missing, owners missing or empty,
/// unread fields, one VPC listed in two files, compact and pretty-printed) import exactly as the same files read
/// as trees (an escape in an unread field sends a file there): the same plan, the same import findings and the same
/// findings of `check`. (The larger file holds several of the batches a typed read hands from thread to thread.)
#[test]
fn generated_vpc_files_import_alike_typed_or_as_trees() {
    use serde_json::{json, Value};
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let blocks = [
        "10.0.0.0/16",
        "10.0.1.0/24",
        "10.1.0.0/16",
        "172.16.0.0/12",
        "192.168.4.0/22",
        "10.0.0.1/16",
        "bogus",
        "",
    ];
    let mut vpcs: Vec<Value> = Vec::new();
    for i in 0..1300u64 {
        let primary = blocks[next(blocks.len() as u64) as usize];
        let mut vpc = json!({"VpcId": format!("vpc-{i:05x}"), "CidrBlock": primary, "State": "available",
                             "IsDefault": i % 7 == 0, "DhcpOptionsId": "dopt-1", "InstanceTenancy": "default"});
        let v = vpc.as_object_mut().unwrap();
        match next(4) {
            0 => {}
            1 => _ = v.insert("OwnerId".into(), json!("")),
            _ => _ = v.insert("OwnerId".into(), json!(["111", "222", "333"][next(3) as usize])),
        }
        if next(5) > 0 {
            let mut set = vec![json!({"CidrBlock": primary, "CidrBlockState": {"State": "associated"}})];
            for _ in 0..next(3) {
                let state = ["associated", "disassociated", "failed"][next(3) as usize];
                let cidr = format!("100.{}.{}.0/24", 64 + next(2), next(4));
                set.push(match next(3) {
                    0 => json!({"CidrBlock": cidr}),
                    1 => json!({"CidrBlock": cidr, "CidrBlockState": {"State": state, "StatusMessage": "x"}}),
                    _ => json!({"AssociationId": "a", "CidrBlock": cidr, "CidrBlockState": {}}),
                });
            }
            v.insert("CidrBlockAssociationSet".into(), Value::Array(set));
        }
        if next(3) == 0 {
            let v6 = format!("2600:1f18:{:x}::/56", next(4) * 256);
            v.insert(
                "Ipv6CidrBlockAssociationSet".into(),
                json!([{"Ipv6CidrBlock": v6,
                "Ipv6CidrBlockState": {"State": "associated"}, "NetworkBorderGroup": "us-east-1"}]),
            );
        }
        let name = |n: u64| json!({"Key": "Name", "Value": format!("net-{}", n)});
        let other = json!({"Key": "Env", "Value": "prod"});
        match next(8) {
            0 => _ = v.insert("Tags".into(), json!([other, name(i)])),
            1 => _ = v.insert("TagSet".into(), json!([name(i)])),
            2 => _ = v.insert("Tags".into(), json!([name(i), name(i + 1)])),
            3 => {
                v.insert("Tags".into(), json!([{"Key": "Name", "Value": ""}]));
                v.insert("TagSet".into(), json!([name(i)]));
            }
            4 => _ = v.insert("Tags".into(), json!([{"Key": "Name"}, other])),
            5 => _ = v.insert("Tags".into(), Value::Null),
            6 => {
                v.insert("Tags".into(), json!([other]));
                v.insert("TagSet".into(), json!([{"Value": "x"}, name(i)]));
            }
            _ => {}
        }
        vpcs.push(vpc);
    }
    let again: Vec<Value> = vpcs.iter().step_by(9).cloned().collect();
    let files = |escape: bool| -> Vec<SourceFile> {
        let text = |list: &[Value], pretty: bool| {
            let doc = json!({"Vpcs": list});
            let t = if pretty {
                serde_json::to_string_pretty(&doc).unwrap()
            } else {
                serde_json::to_string(&doc).unwrap()
            };
            if escape {
                t.replacen("\"available\"", "\"avail\\u0061ble\"", 1)
            } else {
                t
            }
        };
        vec![
            SourceFile {
                path: "1/us-east-1/vpcs.json".into(),
                text: text(&vpcs, false),
            },
            SourceFile {
                path: "1/us-east-1/again/vpcs.json".into(),
                text: text(&again, true),
            },
        ]
    };
    let (typed, tree) = (import(&files(false)).unwrap(), import(&files(true)).unwrap());
    assert_eq!(typed.plan, tree.plan);
    assert_eq!(typed.diagnostics, tree.diagnostics);
    let opts = CheckOptions::default();
    assert_eq!(check(&typed.plan, &opts), check(&tree.plan, &opts));
    // The files hold what they are meant to: VPCs skipped for a bad block, names from either list, overlaps.
    assert!(
        typed.plan.vpcs.len() > 650 && typed.plan.vpcs.len() < 1300,
        "{}",
        typed.plan.vpcs.len()
    );
    assert!(typed.diagnostics.iter().any(|d| d.message.contains("host bits")));
    assert!(
        typed.plan.vpcs.iter().any(|v| !v.name.is_empty())
            && typed.plan.vpcs.iter().any(|v| v.name.is_empty())
    );
    assert!(typed
        .plan
        .vpcs
        .iter()
        .any(|v| !v.secondary_cidrs.is_empty() && !v.ipv6_cidrs.is_empty()));
    assert!(check(&typed.plan, &opts)
        .iter()
        .any(|d| d.code == Code::CidrOverlap));
}
