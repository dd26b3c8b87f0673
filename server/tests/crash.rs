//! Durability: writes under load against the real `peerplan control-plane serve` process, `kill -9`, restart on
//! the same data folder — every acknowledged peering is there and `PRAGMA integrity_check` is ok.

mod common;

use std::{process::Command, sync::Arc};

use serde_json::{json, Value};
use tokio::sync::Mutex;

fn create_account(data: &std::path::Path, name: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args([
            "control-plane",
            "account",
            "create",
            name,
            "--format",
            "json",
            "--data",
        ])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn acknowledged_peerings_survive_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let acct = create_account(data.path(), "crash");
    assert!(acct["account_id"].as_str().unwrap().starts_with("account_"));
    let key = acct["api_key"].as_str().unwrap().to_string();
    let mut server = common::start(&["control-plane", "serve"], data.path());
    let http = reqwest::Client::new();
    let base = server.base.clone();
    // Forty VPCs: peer them pairwise while the server is killed.
    let mut vpcs = Vec::new();
    for i in 0..40 {
        let v: Value = http
            .post(format!("{base}/v1/vpcs"))
            .bearer_auth(&key)
            .json(&json!({"name": format!("v{i}"), "region": "us-east-1", "cidr_block": format!("10.{i}.0.0/16")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        vpcs.push(v["id"].as_str().unwrap().to_string());
    }
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (http, base, key, vpcs, acked) = (
            http.clone(),
            base.clone(),
            key.clone(),
            vpcs.clone(),
            acked.clone(),
        );
        workers.push(tokio::spawn(async move {
            for i in (w..39).step_by(4) {
                for j in i + 1..40 {
                    let res = http
                        .post(format!("{base}/v1/vpc-peering"))
                        .bearer_auth(&key)
                        .json(&json!({"requester_vpc_id": vpcs[i], "accepter_vpc_id": vpcs[j], "auto_accept": true}))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status() == 201 => {
                            let v: Value = match r.json().await {
                                Ok(v) => v,
                                Err(_) => return,
                            };
                            acked.lock().await.push(v["id"].as_str().unwrap().to_string());
                        }
                        Ok(_) => {}
                        Err(_) => return, // the server is gone
                    }
                }
            }
        }));
    }
    // Let some writes land, then kill -9 in the middle of the load.
    while acked.lock().await.len() < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for w in workers {
        let _ = w.await;
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= 60);

    let server = common::start(&["control-plane", "serve"], data.path());
    for id in &acked {
        let res = http
            .get(format!("{}/v1/vpc-peering/{id}", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "acknowledged peering {id} lost");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], "active");
    }
    drop(server);
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"])
        .arg(data.path().join("controlplane.db"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
