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

/// Issue 11: text from a plan (names, ids, accounts, regions) that carries shell syntax is quoted in the exported
/// script, which runs none of it — neither with the keys missing (the key check's message) nor against a server that
/// does not answer; text with control characters is refused when the plan is loaded, naming the field.
#[test]
fn shell_syntax_in_plan_text_runs_nothing_and_control_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan: Value = serde_json::from_str(include_str!("../../examples/seed.json")).unwrap();
    let account = "acct-$(touch CANARY)";
    let peering = "pcx-`touch CANARY`";
    plan["name"] = "seed; touch CANARY".into();
    plan["accounts"][0]["id"] = account.into();
    plan["vpcs"][0]["account"] = account.into();
    plan["vpcs"][0]["name"] = "VPC A'; touch CANARY; '".into();
    plan["vpcs"][1]["name"] = "VPC B\"; touch CANARY; \"$(touch CANARY)".into();
    plan["vpcs"][1]["region"] = "us-east-1${X:?$(touch CANARY)}".into();
    plan["peerings"][0]["id"] = peering.into();
    for t in plan["route_tables"].as_array_mut().unwrap() {
        t["routes"][0]["target"]["peering"] = peering.into();
    }
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let script = dir.path().join("apply.sh");
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(["export", "--format", "curl", "-o"])
        .arg(&script)
        .arg(&plan_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let syntax = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    let canary = dir.path().join("CANARY");
    // Keys missing: the check names the account as written.
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(dir.path())
        .env_remove("API_KEY_ACCT_B")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("account {account}")), "{err}");
    assert!(
        !canary.exists(),
        "the key check ran a command from the account id"
    );
    // Keys set, nothing listening: the first call fails, and nothing from the plan ran on the way.
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(dir.path())
        .env("BASE_URL", "http://127.0.0.1:9")
        .env(netmodel::export::key_var(account), "ppk_x")
        .env("API_KEY_ACCT_B", "ppk_x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach http://127.0.0.1:9"), "{err}");
    assert!(!canary.exists(), "the script ran a command from the plan");

    // A newline in a name is refused at load, with the field and the value escaped.
    plan["vpcs"][0]["name"] = "VPC A\ntouch CANARY".into();
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(["export", "--format", "curl"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"vpcs[0].name: "VPC A\ntouch CANARY" holds a control character"#),
        "{err}"
    );
}
