//! The planning commands as a user runs them: exit codes, JSON shapes, error messages.

use std::process::{Command, Output};

fn peerplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run peerplan")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_seed_is_clean_and_exits_0() {
    let o = peerplan(&["check", "examples/seed.json", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["diagnostics"], serde_json::json!([]));
}

#[test]
fn check_exits_1_on_errors_with_the_documented_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json"))
        .unwrap()
        .replace("172.16.0.0/16", "10.0.0.0/16")
        .replace("172.16.2.0/24", "10.0.2.0/24")
        .replace("172.16.2.20", "10.0.2.20");
    let path = dir.path().join("overlap.json");
    std::fs::write(&path, text).unwrap();
    let o = peerplan(&["check", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "PEERING_CIDR_OVERLAP");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["items"], serde_json::json!(["pcx-ab", "vpc-a", "vpc-b"]));
    assert!(d["message"].as_str().unwrap().contains("overlap on 10.0.0.0/16"));
    assert!(d["fix"].as_str().unwrap().contains("10.1.0.0/16"));
}

/// The JSON is written as it always was: pretty-printed, keys in alphabetical order (`code`, `fix`, `items`,
/// `message`, `severity`), one newline at the end — the same bytes as printing the parsed document again.
#[test]
fn check_json_keeps_its_layout_and_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json"))
        .unwrap()
        .replace("172.16.0.0/16", "10.0.0.0/16")
        .replace("172.16.2.0/24", "10.0.2.0/24");
    let path = dir.path().join("p.json");
    std::fs::write(&path, text).unwrap();
    let o = peerplan(&["check", path.to_str().unwrap(), "--format", "json"]);
    let out = stdout(&o);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["diagnostics"][0]["fix"].is_string(), "{out}");
    assert_eq!(out, serde_json::to_string_pretty(&v).unwrap() + "\n");
    let first = &out[out.find("\"code\"").unwrap()..];
    let keys: Vec<usize> = ["\"code\"", "\"fix\"", "\"items\"", "\"message\"", "\"severity\""]
        .iter()
        .map(|k| first.find(k).unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{out}");
}

#[test]
fn check_exits_2_on_bad_input_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"format":"peerplan/v1","accounts":[{"id":"a"}],"vpcs":[{"id":"v","account":"a","region":"r","cidr":"10.0.0.0/33"}]}"#).unwrap();
    let o = peerplan(&["check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("vpcs[0].cidr: \"10.0.0.0/33\" is not a CIDR block"),
        "{}",
        stderr(&o)
    );
    let missing = peerplan(&["check", "no/such/file.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no/such/file.json"));
}

#[test]
fn trace_json_has_the_documented_fields_and_exit_0() {
    let o = peerplan(&[
        "trace",
        "examples/transitive.json",
        "--from",
        "bucket-a",
        "--to",
        "service-c",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["disposition"], "DROPPED");
    assert_eq!(v["code"], "NOT_TRANSITIVE");
    for key in ["explanation", "fix", "forward", "return"] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    assert_eq!(
        v["forward"].as_array().unwrap().last().unwrap()["component"],
        "pcx-ab"
    );
}

#[test]
fn trace_bad_input_exits_2() {
    let o = peerplan(&[
        "trace",
        "examples/seed.json",
        "--from",
        "bucket-a",
        "--to",
        "agent-b",
        "--protocol",
        "tcpx",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tcpx"));
}

#[test]
fn import_aws_writes_a_plan_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let o = peerplan(&[
        "import",
        "aws",
        "netmodel/tests/fixtures/aws",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("IMPORT_DANGLING_REF"));
    let plan = netmodel::Plan::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(plan.vpcs.len() >= 3);
    let o = peerplan(&["check", out.to_str().unwrap()]);
    assert!(o.status.code() == Some(0) || o.status.code() == Some(1));
}

#[test]
fn generate_and_matrix_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.json");
    let o = peerplan(&[
        "generate",
        "--vpcs",
        "3",
        "--subnets-per-vpc",
        "2",
        "--endpoints-per-subnet",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = peerplan(&[
        "matrix",
        out.to_str().unwrap(),
        "--port",
        "443",
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.starts_with("from\\to,ep-0000-000-000"));
}
