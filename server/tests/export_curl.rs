//! The generated curl script, run for real against `peerplan serve` (embedded control plane with the seed's demo
//! accounts, on loopback): afterwards the control plane holds exactly the planned peering (active), routes and
//! security-group rules; a second run changes nothing.

mod common;

use std::process::Command;

use serde_json::Value;

async fn get(base: &str, key: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn generated_script_applies_the_seed_plan_and_is_idempotent() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let keys: Value =
        serde_json::from_str(&std::fs::read_to_string(data.path().join("demo-keys.json")).unwrap()).unwrap();
    let (a, b) = (&keys["accounts"][0], &keys["accounts"][1]);
    let (key_a, key_b) = (a["api_key"].as_str().unwrap(), b["api_key"].as_str().unwrap());

    let script = data.path().join("apply.sh");
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["export", "examples/seed.json", "--format", "curl", "-o"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(!text.contains("pcx_peer_xxx"), "no placeholders");
    assert!(text.contains("curl -sS -X \"$method\" \"$BASE_URL$path\" -H \"Authorization: Bearer $key\""));

    let run = || {
        let out = Command::new("bash")
            .arg(&script)
            .env("BASE_URL", &server.base)
            .env("API_KEY_ACCT_A", key_a)
            .env("API_KEY_ACCT_B", key_b)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "script failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first = run();
    assert!(first.contains("pcx-ab: requested as pcx_"), "{first}");
    assert!(first.contains("pcx-ab: accepted"), "{first}");

    let state = || async {
        let peerings = get(&server.base, key_a, "/v1/vpc-peering").await;
        let rt_a = get(
            &server.base,
            key_a,
            &format!("/v1/route-tables/{}", a["main_route_table_id"].as_str().unwrap()),
        )
        .await;
        let rt_b = get(
            &server.base,
            key_b,
            &format!("/v1/route-tables/{}", b["main_route_table_id"].as_str().unwrap()),
        )
        .await;
        let groups_a = get(&server.base, key_a, "/v1/security-groups").await;
        let groups_b = get(&server.base, key_b, "/v1/security-groups").await;
        (peerings, rt_a, rt_b, groups_a, groups_b)
    };
    let (peerings, rt_a, rt_b, groups_a, groups_b) = state().await;
    let items = peerings["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "exactly the planned peering: {peerings}");
    assert_eq!(items[0]["status"], "active");
    assert_eq!(items[0]["requester_vpc_id"], a["vpc_id"]);
    assert_eq!(items[0]["accepter_vpc_id"], b["vpc_id"]);
    let pcx = items[0]["id"].as_str().unwrap();
    let routes = |rt: &Value| -> Vec<(String, String, String)> {
        rt["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["destination_cidr"].as_str().unwrap().into(),
                    r["target"].as_str().unwrap().into(),
                    r["state"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        routes(&rt_a),
        vec![
            ("10.0.0.0/16".into(), "local".into(), "active".into()),
            ("172.16.0.0/16".into(), pcx.into(), "active".into())
        ]
    );
    assert_eq!(
        routes(&rt_b),
        vec![
            ("172.16.0.0/16".into(), "local".into(), "active".into()),
            ("10.0.0.0/16".into(), pcx.into(), "active".into())
        ]
    );

    // The plan's groups exist in each VPC with its rules: the peer's block on the service port.
    let ingress = |groups: &Value, name: &str| -> Vec<(String, u64, String)> {
        let g = groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap_or_else(|| panic!("no group {name} in {groups}"));
        g["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["protocol"].as_str().unwrap().into(),
                    r["from_port"].as_u64().unwrap(),
                    r["cidr"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        ingress(&groups_a, "bucket-a"),
        [("tcp".into(), 443, "172.16.0.0/16".into())]
    );
    assert_eq!(
        ingress(&groups_b, "agent-b"),
        [("tcp".into(), 7010, "10.0.0.0/16".into())]
    );
    assert!(
        first.contains("ingress tcp 7010-7010 10.0.0.0/16 in sg_"),
        "{first}"
    );

    // Twice: nothing changes.
    let second = run();
    assert!(second.contains(&format!("pcx-ab: exists as {pcx}")), "{second}");
    assert!(
        second.contains("present") && !second.contains("added"),
        "{second}"
    );
    let again = state().await;
    assert_eq!(again, (peerings, rt_a, rt_b, groups_a, groups_b));
}

#[tokio::test]
async fn script_stops_on_the_first_failure_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let script = data.path().join("apply.sh");
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["export", "examples/seed.json", "--format", "curl", "-o"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new("bash")
        .arg(&script)
        .env("BASE_URL", &server.base)
        .env("API_KEY_ACCT_A", "ppk_wrong")
        .env("API_KEY_ACCT_B", "ppk_wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HTTP 401") && err.contains("missing or invalid API key"),
        "{err}"
    );
}
