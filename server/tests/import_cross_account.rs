//! Issue 12, item 1: a cross-account estate exported one folder per account and region
//! (`netmodel/tests/fixtures/aws-cross-account`: two accounts × two regions) is read by `peerplan import aws`,
//! `check` and `trace` as one estate — the peering both accounts list becomes one — and contradicting exports
//! (`fixtures/aws-conflict`: one peering id, two VPC pairs) are refused with the id and both pairs.

use std::process::{Command, Output};

const ESTATE: &str = "netmodel/tests/fixtures/aws-cross-account";

fn peerplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn nested_account_and_region_folders_import_as_one_estate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let o = peerplan(&["import", "aws", ESTATE, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The status note names both views.
    let err = text(&o.stderr);
    assert!(
        err.contains("IMPORT_NOTE") && err.contains("pending-acceptance") && err.contains("active"),
        "{err}"
    );
    let plan = netmodel::Plan::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(plan.vpcs.len(), 4);
    assert_eq!(plan.peerings.len(), 2);
    let p = plan.peering(&"pcx-0interregionEXAMPLE".into()).unwrap();
    assert_eq!(p.status, netmodel::model::PeeringStatus::Active);
    assert_eq!(
        (p.requester.account.as_str(), p.requester.region.as_str()),
        ("123456789012", "us-east-1")
    );
    assert_eq!(
        (p.accepter.account.as_str(), p.accepter.region.as_str()),
        ("210987654321", "eu-west-1")
    );
}

#[test]
fn check_and_trace_work_across_accounts() {
    let o = peerplan(&["check", ESTATE]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    // Across accounts and regions, then across accounts through the other account's group reference.
    for (to, port, peering) in [
        ("web-b", "443", "pcx-0interregionEXAMPLE"),
        ("db-b", "5432", "pcx-0sameregionEXAMPLE"),
    ] {
        let o = peerplan(&["trace", ESTATE, "--from", "client-a", "--to", to, "--port", port]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains("ACCEPTED") && out.contains(peering), "{out}");
    }
}

#[test]
fn conflicting_exports_are_refused_naming_the_peering_and_both_pairs() {
    let o = peerplan(&["check", "netmodel/tests/fixtures/aws-conflict"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    for needle in [
        "pcx-0sameregionEXAMPLE",
        "vpc-0b1useEXAMPLE",
        "vpc-0b3useEXAMPLE",
        "210987654321/us-east-1/vpc-peering-connections.json",
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
}
