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
