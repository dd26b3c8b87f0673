//! AWS import on fixtures shaped like the AWS CLI documentation's examples.

use std::path::Path;

use netmodel::{
    check,
    import::aws::{import, SourceFile},
    model::*,
    CheckOptions, Code,
};

fn fixtures() -> Vec<SourceFile> {
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
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
