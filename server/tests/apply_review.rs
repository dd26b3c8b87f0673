//! Applies under the two-person rule and across servers, over real HTTP against `peerplan serve`:
//! with `--require-review` (which needs sign-in) a run is refused (403 `REVIEW_REQUIRED`) until an applier other
//! than its author approved that version of the plan on that target, and only the current version can be approved; two servers on one
//! PostgreSQL asked to apply the same plan to the same target at once start exactly one run (the other gets 409
//! `RUN_IN_PROGRESS`, naming it), and the run's steps are each recorded once.

mod common;

use app::apply_api::{ApiErrorBody, ApprovalView, PlanView, RunStarted};
use reqwest::StatusCode;
use serde_json::json;

const SEED: &str = include_str!("../../examples/seed.json");

async fn plan(base: &str, http: &reqwest::Client, id: &str) -> PlanView {
    let r = http
        .post(format!("{base}/api/apply/plan"))
        .json(&json!({"plan_id": id, "target": "embedded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn start_run(base: &str, http: &reqwest::Client, p: &PlanView) -> reqwest::Response {
    http.post(format!("{base}/api/apply/runs"))
        .json(&json!({"plan_id": p.plan_id, "target": "embedded", "version": p.version, "fingerprint": p.fingerprint}))
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let body: ApiErrorBody = r.json().await.unwrap();
    (status, body.error.code, body.error.message)
}

async fn approve(
    base: &str,
    http: &reqwest::Client,
    id: &str,
    target: &str,
    version: i64,
) -> reqwest::Response {
    http.post(format!("{base}/api/apply/approvals"))
        .json(&json!({"plan_id": id, "target": target, "version": version}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_require_review_a_run_waits_for_another_appliers_approval() {
    let data = tempfile::tempdir().unwrap();
    // The rule cannot be met without sign-in (everyone is `local`): refused at start, naming the way out.
    let o = common::peerplan(&[
        "serve",
        "--require-review",
        "--addr",
        "127.0.0.1:0",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        common::text(&o).contains("--require-review needs sign-in: add --auth"),
        "{}",
        common::text(&o)
    );

    let alice = common::bearer_client(&common::user_token(data.path(), "alice", "applier"));
    let bob = common::bearer_client(&common::user_token(data.path(), "bob", "applier"));
    let dan = common::bearer_client(&common::user_token(data.path(), "dan", "applier"));
    let paula = common::bearer_client(&common::user_token(data.path(), "paula", "planner"));
    let root = common::bearer_client(&common::user_token(data.path(), "root", "admin"));
    // The demo accounts are the embedded target's keys (seeded on loopback).
    let server = common::start(&["serve", "--auth", "--require-review"], data.path());
    let base = &server.base;
    let id = common::import_plan(base, &alice, "seed.json", SEED.to_string()).await;

    let p = plan(base, &alice, &id).await;
    assert!(p.review_required);
    assert!(p.approvals.is_empty());
    assert!(!p.changes.is_empty());
    let (status, code, message) = error_of(start_run(base, &alice, &p).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "REVIEW_REQUIRED"),
        "{message}"
    );
    assert!(
        message.contains(&format!("version {}", p.version)) && message.contains("other than you (alice)"),
        "{message}"
    );

    // Approving is for appliers; only the current version, on a configured target.
    let r = approve(base, &paula, &id, "embedded", p.version).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}", r.text().await.unwrap());
    let (status, code, _) = error_of(approve(base, &bob, &id, "embedded", p.version + 1).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "STALE_PLAN"));
    let r = approve(base, &bob, &id, "nowhere", p.version).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The author's own approval does not count.
    let r = approve(base, &alice, &id, "embedded", p.version).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, code, _) = error_of(start_run(base, &alice, &p).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "REVIEW_REQUIRED")
    );

    // Dan's would, but Dan has since been disabled: an approval counts only while its approver still may approve.
    let r = approve(base, &dan, &id, "embedded", p.version).await;
    assert_eq!(r.status(), StatusCode::OK);
    let o = common::peerplan(&["user", "disable", "dan", "--data", data.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::text(&o));
    let (status, code, _) = error_of(start_run(base, &alice, &p).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "REVIEW_REQUIRED")
    );

    // Bob's does: the run starts and ends.
    let r = approve(base, &bob, &id, "embedded", p.version).await;
    assert_eq!(r.status(), StatusCode::OK);
    let approvals: Vec<ApprovalView> = r.json().await.unwrap();
    let who: Vec<(&str, &str)> = approvals
        .iter()
        .map(|a| (a.approved_by.as_str(), a.role.as_str()))
        .collect();
    assert_eq!(
        who,
        [("alice", "applier"), ("dan", "applier"), ("bob", "applier")]
    );
    assert_eq!(plan(base, &alice, &id).await.approvals, approvals);
    let r = start_run(base, &alice, &p).await;
    assert_eq!(r.status(), StatusCode::OK);
    let started: RunStarted = r.json().await.unwrap();
    let events = common::follow_run(base, &alice, &started.run).await;
    assert!(!events.is_empty());

    // Both approvals and the run are in the audit trail, under their names.
    let audit: serde_json::Value = root
        .get(format!("{base}/api/audit?action=apply.approve"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut approvers: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"].as_str().unwrap())
        .collect();
    approvers.sort_unstable();
    assert_eq!(approvers, ["alice", "bob", "dan"], "{audit}");
    let starts: serde_json::Value = root
        .get(format!("{base}/api/audit?action=apply.start"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(starts["items"][0]["user"], "alice", "{starts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_start_one_run_of_a_plan_on_a_target() {
    let Some(admin) = common::postgres_admin() else {
        eprintln!("skipped: PEERPLAN_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = common::fresh_postgres(&admin, "runlock");
    // One data folder (the demo keys the embedded target uses), two servers on one database.
    let data = tempfile::tempdir().unwrap();
    let one = common::start(&["serve", "--database-url", &url], data.path());
    let two = common::start(&["serve", "--database-url", &url], data.path());
    let h1 = common::planner_client(&common::csrf_token(&one.base).await);
    let h2 = common::planner_client(&common::csrf_token(&two.base).await);
    let id = common::import_plan(&one.base, &h1, "seed.json", SEED.to_string()).await;
    let p1 = plan(&one.base, &h1, &id).await;
    let p2 = plan(&two.base, &h2, &id).await;
    assert_eq!(
        p1.fingerprint, p2.fingerprint,
        "both servers see one plan and one control plane"
    );

    let (r1, r2) = tokio::join!(start_run(&one.base, &h1, &p1), start_run(&two.base, &h2, &p2));
    let mut started = Vec::new();
    let mut refused = Vec::new();
    for (base, http, r) in [(&one.base, &h1, r1), (&two.base, &h2, r2)] {
        match r.status() {
            StatusCode::OK => started.push((base, http, r.json::<RunStarted>().await.unwrap())),
            _ => refused.push(error_of(r).await),
        }
    }
    assert_eq!(started.len(), 1, "exactly one run starts: {refused:?}");
    let (status, code, message) = &refused[0];
    assert_eq!(
        (*status, code.as_str()),
        (StatusCode::CONFLICT, "RUN_IN_PROGRESS")
    );
    let (base, http, run) = &started[0];
    assert!(message.contains(&run.run), "the refusal names the run: {message}");

    let events = common::follow_run(base, http, &run.run).await;
    assert!(!events.is_empty());
    // Each step ended once, recorded once (the audit trail is shared).
    let audit: serde_json::Value = h2
        .get(format!("{}/api/audit?action=apply.step&limit=1000", two.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let details: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), run.total, "{details:#?}");
    let mut unique = details.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        details.len(),
        "no step recorded twice: {details:#?}"
    );

    // The run ended: its lock is free again, on either server.
    let p = plan(&two.base, &h2, &id).await;
    let r = start_run(&two.base, &h2, &p).await;
    assert_ne!(r.status(), StatusCode::CONFLICT, "{}", r.text().await.unwrap());
}
