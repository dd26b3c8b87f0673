//! Durability: writes under load against the real `peerplan control-plane serve` process, `kill -9` while
//! requests are in flight, restart on the same data — every acknowledged peering is there (and, on SQLite,
//! `PRAGMA integrity_check` is ok). Runs on SQLite and, when `PEERPLAN_TEST_POSTGRES_URL` is set, on a fresh
//! PostgreSQL database (required with `PEERPLAN_REQUIRE_POSTGRES=1`).

mod common;

use std::{
    collections::BTreeSet,
    process::Command,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use tokio::sync::Mutex;

/// How long the load may take to reach the acknowledgements the test waits for before the kill.
const ACK_DEADLINE: Duration = Duration::from_secs(60);
/// Acknowledged peerings to wait for before the kill.
const ACKS_BEFORE_KILL: usize = 60;
/// Clients sending peering requests back to back (so that several are in flight at any moment).
const WORKERS: usize = 8;

/// The databases to run on: SQLite always; PostgreSQL (the admin URL) when configured.
fn backends() -> Vec<Option<String>> {
    std::iter::once(None)
        .chain(common::postgres_admin().map(Some))
        .collect()
}

fn create_account(data: &std::path::Path, database: &[&str], name: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(["control-plane", "account", "create", name, "--format", "json"])
        .args(database)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn acknowledged_peerings_survive_kill_9() {
    for backend in backends() {
        let url = backend
            .as_deref()
            .map(|admin| common::fresh_postgres(admin, "crash"));
        let database: Vec<&str> = match &url {
            Some(u) => vec!["--database-url", u],
            None => vec![],
        };
        let name = if url.is_some() { "postgres" } else { "sqlite" };
        kill_9_under_load(name, &database).await;
    }
}

async fn kill_9_under_load(backend: &str, database: &[&str]) {
    let data = tempfile::tempdir().unwrap();
    let acct = create_account(data.path(), database, "crash");
    assert!(acct["account_id"].as_str().unwrap().starts_with("account_"));
    let key = acct["api_key"].as_str().unwrap().to_string();
    let serve: Vec<&str> = ["control-plane", "serve"]
        .into_iter()
        .chain(database.iter().copied())
        .collect();
    let mut server = common::start(&serve, data.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
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
    // Every request gets a sequence number when it starts; `answered` holds those that got a response.
    let started = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(Mutex::new(BTreeSet::<usize>::new()));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (http, base, key, vpcs) = (http.clone(), base.clone(), key.clone(), vpcs.clone());
        let (started, answered, acked) = (started.clone(), answered.clone(), acked.clone());
        workers.push(tokio::spawn(async move {
            for i in (w..39).step_by(WORKERS) {
                for j in i + 1..40 {
                    let seq = started.fetch_add(1, Ordering::SeqCst);
                    let res = http
                        .post(format!("{base}/v1/vpc-peering"))
                        .bearer_auth(&key)
                        .json(&json!({"requester_vpc_id": vpcs[i], "accepter_vpc_id": vpcs[j], "auto_accept": true}))
                        .send()
                        .await;
                    let Ok(res) = res else { return }; // the server is gone
                    let status = res.status();
                    let Ok(v) = res.json::<Value>().await else {
                        return;
                    };
                    answered.lock().await.insert(seq);
                    if status == 201 {
                        acked.lock().await.push(v["id"].as_str().unwrap().to_string());
                    }
                }
            }
        }));
    }
    // Let some writes land, then kill -9 in the middle of the load: fail, not hang, if they do not.
    let deadline = Instant::now() + ACK_DEADLINE;
    loop {
        let n = acked.lock().await.len();
        if n >= ACKS_BEFORE_KILL {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: only {n} of {ACKS_BEFORE_KILL} peerings acknowledged after {ACK_DEADLINE:?} \
             ({} requests started, {} answered)",
            started.load(Ordering::SeqCst),
            answered.lock().await.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Kill while a request is in flight (started, not yet answered): a fast server can answer every request between
    // two of a client's, and a kill then would land on an idle server.
    let busy_deadline = Instant::now() + Duration::from_secs(10);
    while started.load(Ordering::SeqCst) <= answered.lock().await.len() && Instant::now() < busy_deadline {
        tokio::task::yield_now().await;
    }
    let started_at_kill = started.load(Ordering::SeqCst);
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .unwrap_or_else(|_| panic!("{backend}: a client still waits 60 s after the kill"))
            .unwrap();
    }
    // Requests started before the kill that never got a response were in flight when the server died.
    let answered = answered.lock().await.clone();
    let in_flight = (0..started_at_kill).filter(|s| !answered.contains(s)).count();
    assert!(
        in_flight > 0,
        "{backend}: no request was in flight at the kill ({started_at_kill} started, all answered)"
    );
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= ACKS_BEFORE_KILL);
    eprintln!(
        "{backend}: kill -9 with {in_flight} requests in flight; {} of {started_at_kill} answered, {} acknowledged",
        answered.len(),
        acked.len()
    );

    let server = common::start(&serve, data.path());
    for id in &acked {
        let res = http
            .get(format!("{}/v1/vpc-peering/{id}", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{backend}: acknowledged peering {id} lost");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], "active", "{backend}: {id}");
    }
    drop(server);
    if !database.is_empty() {
        return;
    }
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
