//! `peerplan import live` against a real `peerplan serve` on loopback: the seed's demo accounts come back as a plan
//! (ids are the live ids), a cross-account peering and its routes appear once, a VPC of an account whose key was
//! not given comes in as the peering describes it, and keys never show in errors.

mod common;

use std::process::{Command, Output};

use serde_json::{json, Value};

fn peerplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(args)
        .output()
        .expect("run peerplan")
}

fn import_live(base: &str, keys: &std::path::Path, out: &std::path::Path) -> Output {
    peerplan(&[
        "import",
        "live",
        "--target",
        base,
        "--keys",
        keys.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn trace_code(plan: &std::path::Path) -> String {
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
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["code"].as_str().unwrap_or_default().to_string()
}

async fn call(base: &str, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

#[tokio::test]
async fn the_demo_accounts_and_a_cross_account_peering_come_back_as_a_plan() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let demo = data.path().join("demo-keys.json");
    let keys = read(&demo);
    let (a, b) = (&keys["accounts"][0], &keys["accounts"][1]);
    let (key_a, key_b) = (a["api_key"].as_str().unwrap(), b["api_key"].as_str().unwrap());

    // Before any peering: both VPCs, their endpoints, no peering; the trace is blocked.
    let out = data.path().join("live.json");
    let o = import_live(&server.base, &demo, &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = read(&out);
    let accounts: Vec<(&str, &str)> = plan["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["id"].as_str().unwrap(), x["name"].as_str().unwrap()))
        .collect();
    assert!(
        accounts.contains(&(a["account_id"].as_str().unwrap(), "Account A")),
        "{accounts:?}"
    );
    assert!(
        accounts.contains(&(b["account_id"].as_str().unwrap(), "Account B")),
        "{accounts:?}"
    );
    let vpcs: Vec<(&str, &str)> = plan["vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap(), v["cidr"].as_str().unwrap()))
        .collect();
    assert_eq!(vpcs.len(), 2, "{vpcs:?}");
    assert!(vpcs.contains(&(a["vpc_id"].as_str().unwrap(), "10.0.0.0/16")));
    assert!(vpcs.contains(&(b["vpc_id"].as_str().unwrap(), "172.16.0.0/16")));
    let ips: Vec<&str> = plan["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ipv4"].as_str().unwrap())
        .collect();
    assert!(
        ips.contains(&"10.0.2.10") && ips.contains(&"172.16.2.20"),
        "{ips:?}"
    );
    assert_eq!(plan["peerings"], json!([]));
    assert_ne!(trace_code(&out), "ACCEPTED");

    // The seed's flow: request from A, accept as B, a route on each side, B's agent open to A's block.
    let pcx = call(
        &server.base,
        key_a,
        reqwest::Method::POST,
        "/v1/vpc-peering",
        Some(
            json!({"requester_vpc_id": a["vpc_id"], "accepter_vpc_id": b["vpc_id"],
                    "accepter_account_id": b["account_id"]}),
        ),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &server.base,
        key_b,
        reqwest::Method::POST,
        &format!("/v1/vpc-peering/{pcx}/accept"),
        None,
    )
    .await;
    for (key, rt, dest) in [
        (key_a, &a["main_route_table_id"], "172.16.0.0/16"),
        (key_b, &b["main_route_table_id"], "10.0.0.0/16"),
    ] {
        call(
            &server.base,
            key,
            reqwest::Method::POST,
            &format!("/v1/route-tables/{}/routes", rt.as_str().unwrap()),
            Some(json!({"destination_cidr": dest, "target": pcx})),
        )
        .await;
    }

    let o = import_live(&server.base, &demo, &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = read(&out);
    let peerings = plan["peerings"].as_array().unwrap();
    assert_eq!(
        peerings.len(),
        1,
        "seen by both accounts, listed once: {peerings:?}"
    );
    assert_eq!(peerings[0]["id"], pcx.as_str());
    assert_eq!(peerings[0]["status"], "active");
    assert_eq!(peerings[0]["requester"]["account"], a["account_id"]);
    assert_eq!(peerings[0]["accepter"]["account"], b["account_id"]);
    let routes_to_pcx = plan["route_tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rt| rt["routes"].as_array().unwrap().iter())
        .filter(|r| r["target"]["peering"] == pcx.as_str())
        .count();
    assert_eq!(routes_to_pcx, 2, "{}", plan["route_tables"]);

    // Only account A's key, under a plan account id: B's VPC comes in as the peering describes it.
    let only_a = data.path().join("only-a.json");
    std::fs::write(&only_a, json!({"acct-a": key_a}).to_string()).unwrap();
    let out_a = data.path().join("live-a.json");
    let o = import_live(&server.base, &only_a, &out_a);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = read(&out_a);
    let vpc_b = plan["vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == b["vpc_id"])
        .expect("B's VPC from the peering");
    assert_eq!(vpc_b["cidr"], "172.16.0.0/16");
    assert_eq!(vpc_b["account"], b["account_id"]);
    let vpc_a = plan["vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == a["vpc_id"])
        .unwrap();
    assert_eq!(
        vpc_a["account"], "acct-a",
        "A's objects carry the keys file's label"
    );
    assert_eq!(plan["peerings"][0]["requester"]["account"], "acct-a");
}

#[tokio::test]
async fn bad_keys_are_refused_naming_the_entry_never_the_key() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let out = data.path().join("live.json");
    let cases: [(&str, &str); 4] = [
        ("{not json", "not JSON"),
        (
            r#"{"acct-a": 5}"#,
            "\"acct-a\": the key is not a non-empty string",
        ),
        ("{}", "no accounts"),
        (
            r#"{"accounts": [{"name": "A", "api_key": "k"}]}"#,
            "accounts[0].account_id",
        ),
    ];
    for (text, expected) in cases {
        let keys = data.path().join("keys.json");
        std::fs::write(&keys, text).unwrap();
        let o = import_live(&server.base, &keys, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(expected), "{text}: {err}");
    }
    // A wrong key: the server's refusal, without the key.
    let secret = "sk-this-is-not-a-valid-key-0123456789";
    let keys = data.path().join("keys.json");
    std::fs::write(&keys, json!({"acct-a": secret}).to_string()).unwrap();
    let o = import_live(&server.base, &keys, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("acct-a") && err.contains("401"), "{err}");
    assert!(!err.contains(secret), "the key leaked: {err}");
    assert!(!out.exists(), "nothing written on failure");
}

#[tokio::test]
async fn plan_shows_the_seed_against_the_demo_accounts_then_refuses_bad_input() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let demo = data.path().join("demo-keys.json");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json");
    let args = |format: &str| {
        peerplan(&[
            "plan",
            seed,
            "--target",
            &server.base,
            "--keys",
            demo.to_str().unwrap(),
            "--data",
            data.path().to_str().unwrap(),
            "--format",
            format,
        ])
    };

    // Text: grouped by account and region; the demo VPCs are adopted, never created; the peering is created by
    // the requester and accepted by the accepter; the last line is the summary.
    let o = args("text");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a = text.find("account acct-a · us-east-1").expect(&text);
    let b = text.find("account acct-b · us-east-1").expect(&text);
    assert!(text[a..b].contains("= vpc vpc-a"), "{text}");
    assert!(text[a..b].contains("+ peering pcx-ab"), "{text}");
    assert!(text[b..].contains("~ peering_accept pcx-ab"), "{text}");
    assert!(!text.contains("+ vpc "), "no VPC created twice: {text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("Plan: ") && last.ends_with(" to destroy.") && !last.starts_with("Plan: 0 to add"),
        "{last}"
    );

    // JSON: the contract's fields.
    let o = args("json");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    for c in changes {
        for field in ["action", "kind", "plan_id", "live_id", "account", "detail"] {
            assert!(c.get(field).is_some(), "{field} missing in {c}");
        }
        assert!(
            ["create", "update", "delete", "adopt"].contains(&c["action"].as_str().unwrap()),
            "{c}"
        );
    }
    let adopt = changes
        .iter()
        .find(|c| c["action"] == "adopt" && c["plan_id"] == "vpc-a")
        .unwrap();
    assert!(adopt["live_id"].as_str().unwrap().starts_with("vpc_"), "{adopt}");
    let sum = &v["summary"];
    let creates = changes.iter().filter(|c| c["action"] == "create").count() as u64;
    assert_eq!(sum["add"].as_u64(), Some(creates), "{sum}");
    assert_eq!(v["diagnostics"], json!([]));
    assert!(last.contains(&format!("Plan: {creates} to add")), "{last}");

    // A plan with an error diagnostic exits 1 (it cannot be applied); bad input exits 2.
    let mut bad: Value = serde_json::from_str(&std::fs::read_to_string(seed).unwrap()).unwrap();
    bad["vpcs"][1]["cidr"] = json!("10.0.0.0/16");
    bad["subnets"][1]["cidr"] = json!("10.0.2.0/24");
    bad["endpoints"][1]["ipv4"] = json!("10.0.2.20");
    let bad_file = data.path().join("overlap.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let o = peerplan(&[
        "plan",
        bad_file.to_str().unwrap(),
        "--target",
        &server.base,
        "--keys",
        demo.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("CIDR_OVERLAP"), "{text}");
    let o = peerplan(&[
        "plan",
        seed,
        "--target",
        &server.base,
        "--keys",
        "/nonexistent/keys.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/keys.json"));
}
