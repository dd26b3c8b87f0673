//! `peerplan apply` against a real `peerplan serve` on loopback: the seed applied to the demo accounts ends with
//! `Plan: 0 to add, 0 to change, 0 to destroy.` and the same trace verdict on the live state as on the plan;
//! applying again changes nothing; the cross-account flow without the accepter's key stops awaiting acceptance
//! (exit 3) with a hand-off, and finishes once the accepter has accepted; no step is ever run twice.

mod common;

use std::{
    path::Path,
    process::{Command, Output, Stdio},
};

use serde_json::{json, Value};

fn peerplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run peerplan")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(cmd: &str, plan: &Path, base: &str, keys: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        cmd,
        plan.to_str().unwrap(),
        "--target",
        base,
        "--keys",
        keys.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    peerplan(&args)
}

fn seed() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn trace_code(plan: &Path) -> String {
    let o = peerplan(&[
        "trace",
        plan.to_str().unwrap(),
        "--from",
        "10.0.2.10",
        "--to",
        "172.16.2.20",
        "--port",
        "7010",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["code"].as_str().unwrap_or_default().to_string()
}

async fn count(base: &str, key: &str, path: &str) -> usize {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["items"].as_array().map(Vec::len).unwrap_or_default()
}

#[tokio::test]
async fn the_seed_applies_then_nothing_is_left_to_change() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let keys = data.path().join("demo-keys.json");
    let plan = data.path().join("seed.json");
    std::fs::write(&plan, seed().to_string()).unwrap();

    // Without --yes and without a terminal to ask on, nothing is applied.
    let o = run("apply", &plan, &server.base, &keys, data.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--yes"), "{}", text(&o));

    // Applied, with one JSON line per step event and a last line that says so.
    let o = run(
        "apply",
        &plan,
        &server.base,
        &keys,
        data.path(),
        &["--yes", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "plan");
    let planned = lines[0]["changes"].as_array().unwrap().len();
    let done = lines.iter().filter(|l| l["event"] == "done").count();
    assert_eq!(done, planned, "every step done once: {lines:?}");
    let order: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "done")
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    let at = |k: &str| {
        order
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k} in {order:?}"))
    };
    assert!(at("peering") < at("peering_accept"));
    assert!(at("peering_accept") < at("peering_wait"));
    assert!(
        at("peering_wait") < at("route"),
        "routes only over an active peering: {order:?}"
    );
    assert_eq!(lines.last().unwrap()["event"], "end");
    assert_eq!(lines.last().unwrap()["outcome"], "applied");

    // No drift: the plan against the same target is empty.
    let o = run("plan", &plan, &server.base, &keys, data.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().last(),
        Some("Plan: 0 to add, 0 to change, 0 to destroy.")
    );
    // Applying again changes nothing (and creates nothing twice).
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let key_a = demo["accounts"][0]["api_key"].as_str().unwrap();
    let before = count(&server.base, key_a, "/v1/vpc-peering").await;
    let o = run("apply", &plan, &server.base, &keys, data.path(), &["--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(count(&server.base, key_a, "/v1/vpc-peering").await, before);
    assert_eq!(before, 1);

    // A route deleted behind Peerplan's back is made again by the next apply (a new call, not an old answer
    // replayed from an earlier apply's idempotency key).
    let tables: Value = reqwest::Client::new()
        .get(format!("{}/v1/route-tables", server.base))
        .bearer_auth(key_a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let main = tables["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["main"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gone = reqwest::Client::new()
        .delete(format!(
            "{}/v1/route-tables/{main}/routes?destination_cidr=172.16.0.0%2F16",
            server.base
        ))
        .bearer_auth(key_a)
        .send()
        .await
        .unwrap();
    assert!(gone.status().is_success(), "{}", gone.status());
    let o = run("apply", &plan, &server.base, &keys, data.path(), &["--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run("plan", &plan, &server.base, &keys, data.path(), &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().last(),
        Some("Plan: 0 to add, 0 to change, 0 to destroy."),
        "the route is back: {}",
        text(&o)
    );

    // The live state, imported, traces like the desired plan.
    let live = data.path().join("live.json");
    let o = peerplan(&[
        "import",
        "live",
        "--target",
        &server.base,
        "--keys",
        keys.to_str().unwrap(),
        "-o",
        live.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(trace_code(&live), trace_code(&plan));
    assert_eq!(trace_code(&live), "ACCEPTED");
}

#[tokio::test]
async fn without_the_accepters_key_the_run_awaits_acceptance_then_finishes() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let both = data.path().join("demo-keys.json");
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&both).unwrap()).unwrap();
    let (key_a, key_b) = (
        demo["accounts"][0]["api_key"].as_str().unwrap().to_string(),
        demo["accounts"][1]["api_key"].as_str().unwrap().to_string(),
    );
    let only_a = data.path().join("keys-a.json");
    std::fs::write(&only_a, json!({"acct-a": key_a}).to_string()).unwrap();
    let plan = data.path().join("plan.json");

    // First, both VPCs without the peering, with both keys: the apply records which live VPC is acct-b's.
    let mut first = seed();
    first["peerings"] = json!([]);
    for t in first["route_tables"].as_array_mut().unwrap() {
        t["routes"] = json!([]);
    }
    std::fs::write(&plan, first.to_string()).unwrap();
    let o = run("apply", &plan, &server.base, &both, data.path(), &["--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Then the peering, with the requester's key only: requested, then awaiting acceptance by acct-b.
    std::fs::write(&plan, seed().to_string()).unwrap();
    let o = run("apply", &plan, &server.base, &only_a, data.path(), &["--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("awaiting acceptance by account acct-b of peering pcx-ab"),
        "{out}"
    );
    assert!(out.contains("(expires on 20"), "{out}");
    let handoff = data.path().join("plan.handoff-acct-b.sh");
    let script = std::fs::read_to_string(&handoff).expect(&out);
    let page = std::fs::read_to_string(data.path().join("plan.handoff-acct-b.md")).expect(&out);
    assert!(page.starts_with("# Hand-off for account acct-b"), "{page}");
    assert!(
        page.contains("awaiting acceptance by account acct-b of peering pcx-ab"),
        "{page}"
    );
    assert!(!page.contains(&key_a), "keys never written");
    assert!(
        !script.contains(&key_a) && !out.contains(&key_a),
        "keys never printed"
    );
    assert_eq!(
        count(&server.base, &key_a, "/v1/vpc-peering?status=pending").await,
        1
    );

    // Applying again with the same key changes nothing and still waits: the peering is not requested twice.
    let o = run("apply", &plan, &server.base, &only_a, data.path(), &["--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(count(&server.base, &key_a, "/v1/vpc-peering").await, 1);

    // The accepter runs its hand-off; the next apply (both keys) finishes the routes and rules.
    let o = Command::new("bash")
        .arg(&handoff)
        .env("API_KEY", &key_b)
        .env("BASE_URL", &server.base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        count(&server.base, &key_a, "/v1/vpc-peering?status=active").await,
        1,
        "{}\n{}",
        std::fs::read_to_string(&handoff).unwrap(),
        text(&o)
    );
    let o = run("apply", &plan, &server.base, &both, data.path(), &["--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run("plan", &plan, &server.base, &both, data.path(), &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().last(),
        Some("Plan: 0 to add, 0 to change, 0 to destroy."),
        "{}",
        text(&o)
    );
    assert_eq!(count(&server.base, &key_a, "/v1/vpc-peering").await, 1);
}

#[tokio::test]
async fn a_plan_with_errors_is_not_applied() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let keys = data.path().join("demo-keys.json");
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let key_a = demo["accounts"][0]["api_key"].as_str().unwrap();
    // vpc-b renumbered onto vpc-a's block: the peering would fail (overlap), so the plan is refused whole.
    let mut bad = seed();
    bad["vpcs"][1]["cidr"] = json!("10.0.0.0/16");
    bad["subnets"][1]["cidr"] = json!("10.0.2.0/24");
    bad["endpoints"][1]["ipv4"] = json!("10.0.2.20");
    let plan = data.path().join("overlap.json");
    std::fs::write(&plan, bad.to_string()).unwrap();
    let o = run("apply", &plan, &server.base, &keys, data.path(), &["--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("CIDR_OVERLAP") && out.contains("nothing was applied"),
        "{out}"
    );
    assert_eq!(count(&server.base, key_a, "/v1/vpc-peering").await, 0);
    assert_eq!(
        count(&server.base, key_a, "/v1/security-groups").await,
        1,
        "only the default group"
    );
}
