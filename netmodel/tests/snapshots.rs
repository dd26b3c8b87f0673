//! Snapshot tests of diagnostics for the sample plans, and the committed JSON Schema.

use netmodel::{check, CheckOptions, Plan};

#[test]
fn transitive_sample_diagnostics() {
    let plan = Plan::from_json(include_str!("../../examples/transitive.json")).unwrap();
    insta::assert_json_snapshot!(check(&plan, &CheckOptions::default()));
}

#[test]
fn aws_fixture_diagnostics() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/111122223333/us-east-1");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let sources: Vec<_> = files
        .iter()
        .map(|p| netmodel::import::aws::SourceFile {
            path: format!("us-east-1/{}", p.file_name().unwrap().to_string_lossy()),
            text: std::fs::read_to_string(p).unwrap(),
        })
        .collect();
    let imported = netmodel::import::aws::import(&sources).unwrap();
    let mut all = imported.diagnostics;
    all.extend(check(&imported.plan, &CheckOptions::default()));
    insta::assert_json_snapshot!(all);
}

/// `schema/plan.schema.json` is generated from the types; regenerate with `UPDATE_SCHEMA=1 cargo test`.
#[test]
fn committed_schema_matches_the_types() {
    let schema = serde_json::to_string_pretty(&schemars::schema_for!(Plan)).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/plan.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &schema).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("schema/plan.schema.json is committed");
    assert_eq!(
        committed, schema,
        "the plan schema changed: run UPDATE_SCHEMA=1 cargo test -p netmodel"
    );
}

fn text_trace(plan: &str, from: &str, to: &str, port: Option<u16>) -> String {
    use netmodel::{
        model::Protocol,
        sim::{render_text, trace, ClientProfile, Flow, Topology},
    };
    let plan = Plan::from_json(plan).unwrap();
    let t = Topology::new(&plan);
    let flow = Flow {
        from: from.into(),
        to: to.into(),
        protocol: Protocol::Tcp,
        port,
        client: ClientProfile::Linux,
    };
    render_text(&flow, &trace(&t, &flow).unwrap())
}

#[test]
fn text_trace_seed_accepted() {
    insta::assert_snapshot!(text_trace(
        include_str!("../../examples/seed.json"),
        "Bucket A",
        "Agent B",
        Some(7010)
    ));
}

#[test]
fn text_trace_transitive_blocked() {
    insta::assert_snapshot!(text_trace(
        include_str!("../../examples/transitive.json"),
        "bucket-a",
        "service-c",
        None
    ));
}

#[test]
fn text_trace_sg_blocked() {
    insta::assert_snapshot!(text_trace(
        include_str!("../../examples/seed.json"),
        "bucket-a",
        "agent-b",
        Some(22)
    ));
}
