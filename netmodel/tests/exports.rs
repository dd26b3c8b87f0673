//! Snapshot tests of every text export for the seed sample and the transitive (three-VPC) sample.

use netmodel::{
    check,
    export::{curl_script, dot, markdown, mermaid, ScriptPart},
    CheckOptions, Plan,
};

fn samples() -> [(&'static str, Plan); 2] {
    [
        (
            "seed",
            Plan::from_json(include_str!("../../examples/seed.json")).unwrap(),
        ),
        (
            "transitive",
            Plan::from_json(include_str!("../../examples/transitive.json")).unwrap(),
        ),
    ]
}

#[test]
fn markdown_exports() {
    for (name, plan) in samples() {
        let d = check(&plan, &CheckOptions::default());
        insta::assert_snapshot!(format!("{name}.md"), markdown(&plan, &d));
    }
}

#[test]
fn dot_and_mermaid_exports() {
    for (name, plan) in samples() {
        insta::assert_snapshot!(format!("{name}.dot"), dot(&plan));
        insta::assert_snapshot!(format!("{name}.mmd"), mermaid(&plan));
    }
}

#[test]
fn curl_exports_whole_and_split() {
    for (name, plan) in samples() {
        insta::assert_snapshot!(format!("{name}.curl.sh"), curl_script(&plan, ScriptPart::All));
    }
    let (_, seed) = &samples()[0];
    let requester = curl_script(seed, ScriptPart::Requester);
    let accepter = curl_script(seed, ScriptPart::Accepter);
    assert!(requester.contains("POST /v1/vpc-peering") && !requester.contains("/accept"));
    assert!(accepter.contains("/accept") && !accepter.contains("POST /v1/vpc-peering \""));
    // Each side's security groups go to its own script.
    assert!(requester.contains("'bucket-a'") && !requester.contains("'agent-b'"));
    assert!(accepter.contains("'agent-b'") && !accepter.contains("'bucket-a'"));
}

#[test]
fn seed_documentation_has_the_seed_verify_command() {
    let (_, plan) = &samples()[0];
    let md = markdown(plan, &[]);
    assert!(
        md.contains("From Bucket A (bucket-a) (10.0.2.10): `curl http://172.16.2.20:7010/health`"),
        "{md}"
    );
    assert!(md.contains("| 172.16.0.0/16 | pcx-ab |"));
}
