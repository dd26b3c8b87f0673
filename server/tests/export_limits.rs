//! Web exports under the cap, the budget and cancellation, over real HTTP against `peerplan serve`: with one
//! slot, a second export while one runs is told the server is busy (503, `Retry-After`); a client that goes
//! away frees its slot and its worker process is gone (the CPU work stops, not just the request); an export over
//! its budget is stopped with a 503 naming the budget.

mod common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;

/// A plan whose reachability matrix (the CSV export) takes far longer than any test waits.
fn slow_plan() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args([
            "generate",
            "--vpcs",
            "1200",
            "--subnets-per-vpc",
            "2",
            "--endpoints-per-subnet",
            "2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn seed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap()
}

/// The export worker processes of the server `pid` (its children running `peerplan export-worker`).
fn workers(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        if ppid == Some(pid) && !zombie && String::from_utf8_lossy(&cmdline).contains("export-worker") {
            found.push(child);
        }
    }
    found
}

/// Waits until `pred` holds (checked every 50 ms), up to `limit`.
async fn eventually(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if pred() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pred()
}

#[tokio::test]
async fn a_busy_slot_is_503_and_a_disconnected_client_frees_it() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(
        &[
            "serve",
            "--no-demo",
            "--export-concurrency",
            "1",
            "--export-timeout",
            "600",
        ],
        data.path(),
    );
    let pid = server.child.id();
    let base = server.base.clone();
    let token = common::csrf_token(&base).await;
    let http = common::planner_client(&token);
    let big = slow_plan();

    // A slow export holds the only slot.
    let slow = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/api/export/csv");
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(big)
                .send()
                .await
        }
    });
    assert!(
        eventually(Duration::from_secs(30), || workers(pid).len() == 1).await,
        "the slow export's worker started"
    );

    // Another export waits for the slot, then is told the server is busy.
    let started = Instant::now();
    let r = http
        .post(format!("{base}/api/export/md"))
        .header("content-type", "application/json")
        .body(seed())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    let text = r.text().await.unwrap();
    assert!(text.contains("busy") && text.contains("1 export"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // The slow export's client goes away: its worker is killed and the slot is free again.
    slow.abort();
    let _ = slow.await;
    assert!(
        eventually(Duration::from_secs(10), || workers(pid).is_empty()).await,
        "the worker of the abandoned export still runs: {:?}",
        workers(pid)
    );
    let r = http
        .post(format!("{base}/api/export/md"))
        .header("content-type", "application/json")
        .body(seed())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn an_export_over_its_budget_is_stopped_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo", "--export-timeout", "1"], data.path());
    let pid = server.child.id();
    let token = common::csrf_token(&server.base).await;
    let http = common::planner_client(&token);
    let started = Instant::now();
    let r = http
        .post(format!("{}/api/export/csv", server.base))
        .header("content-type", "application/json")
        .body(slow_plan())
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("retry-after").is_none());
    let text = r.text().await.unwrap();
    assert!(
        text.contains("1 s budget") && text.contains("--export-timeout"),
        "{text}"
    );
    // The whole export would take many minutes; the margin over the 1 s budget is for reading the plan on a
    // loaded machine (13 s were seen with five builds running on two cores).
    assert!(
        took < Duration::from_secs(30),
        "stopped at the budget, not at the end: {took:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), || workers(pid).is_empty()).await,
        "the stopped export's worker is gone"
    );
    // The server answers as before.
    let r = http
        .post(format!("{}/api/export/md", server.base))
        .header("content-type", "application/json")
        .body(seed())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
