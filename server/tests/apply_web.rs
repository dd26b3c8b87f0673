//! Applies started in the planner, over real HTTP against `peerplan serve` and its embedded control plane: the
//! seed plan applied first without the accepter's key (awaiting acceptance, with a hand-off), then with it (the
//! peering turns active, both route tables fill, the events stream as server-sent events), then nothing left to
//! do; a stale plan refused; drift after a route is deleted behind Peerplan's back; keys never sent; the CSRF
//! check in front of every state-changing call.

mod common;

use app::apply_api::{DriftView, PlanView, RunEvent, RunStarted, TargetInfo};
use reqwest::StatusCode;
use serde_json::json;

/// Imports the seed example as a stored plan; returns its id.
async fn import_seed(base: &str, http: &reqwest::Client) -> String {
    let seed = include_str!("../../examples/seed.json");
    common::import_plan(base, http, "seed.json", seed.to_string()).await
}

async fn plan(base: &str, http: &reqwest::Client, id: &str, accounts: Option<&[&str]>) -> PlanView {
    let r = http
        .post(format!("{base}/api/apply/plan"))
        .json(&json!({"plan_id": id, "target": "embedded", "accounts": accounts}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// Starts a run of `p` and reads its event stream to the end.
async fn run(
    base: &str,
    http: &reqwest::Client,
    p: &PlanView,
    accounts: Option<&[&str]>,
) -> (String, Vec<RunEvent>) {
    let r = http
        .post(format!("{base}/api/apply/runs"))
        .json(
            &json!({"plan_id": p.plan_id, "target": "embedded", "accounts": accounts,
                      "version": p.version, "fingerprint": p.fingerprint}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let started: RunStarted = r.json().await.unwrap();
    assert_eq!(started.total, p.changes.len());
    let events = common::follow_run(base, http, &started.run).await;
    (started.run, events)
}

async fn drift(base: &str, http: &reqwest::Client, id: &str) -> DriftView {
    let r = http
        .post(format!("{base}/api/apply/drift"))
        .json(&json!({"plan_id": id, "target": "embedded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn end(events: &[RunEvent]) -> &app::apply_api::RunEnd {
    match events.last() {
        Some(RunEvent::End(e)) => e,
        other => panic!("the stream ends with its end event, not {other:?}"),
    }
}

#[tokio::test]
async fn the_seed_is_applied_from_the_planner_with_live_progress_and_hand_off() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let base = &server.base;
    let http = common::planner_client(&common::csrf_token(base).await);
    let id = import_seed(base, &http).await;

    // The embedded target lists the demo accounts with masked keys only.
    let demo = std::fs::read_to_string(data.path().join("demo-keys.json")).unwrap();
    let demo: serde_json::Value = serde_json::from_str(&demo).unwrap();
    let r = reqwest::get(format!("{base}/api/targets")).await.unwrap();
    let body = r.text().await.unwrap();
    for a in demo["accounts"].as_array().unwrap() {
        assert!(
            !body.contains(a["api_key"].as_str().unwrap()),
            "a key reached the browser: {body}"
        );
    }
    let targets: Vec<TargetInfo> = serde_json::from_str(&body).unwrap();
    assert_eq!(targets[0].id, "embedded");
    assert_eq!(targets[0].accounts.len(), 2);

    // Without the accepter's key: the peering is requested, the run awaits account acct-b with a hand-off.
    let p = plan(base, &http, &id, Some(&["acct-a"])).await;
    // Which accounts act is part of the reviewed plan: a run of it may not act as acct-b.
    let all = plan(base, &http, &id, None).await;
    assert_ne!(p.fingerprint, all.fingerprint);
    let r = http
        .post(format!("{base}/api/apply/runs"))
        .json(
            &json!({"plan_id": id, "target": "embedded", "version": p.version, "fingerprint": p.fingerprint}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(p.keyless, ["acct-b"]);
    assert!(
        p.changes.iter().any(|c| c.kind == "peering" && c.symbol == "+"),
        "{p:?}"
    );
    assert!(
        p.changes.iter().any(|c| c.kind == "vpc" && c.symbol == "="),
        "the demo VPCs are adopted: {p:?}"
    );
    let (run_id, events) = run(base, &http, &p, Some(&["acct-a"])).await;
    let e = end(&events);
    assert_eq!(e.outcome, "awaiting", "{e:?}");
    assert!(
        e.message
            .contains("awaiting acceptance by account acct-b of peering pcx-ab"),
        "{}",
        e.message
    );
    assert!(e.message.contains("expires on"), "{}", e.message);
    let h = &e.handoffs[0];
    assert_eq!(h.account, "acct-b");
    let script = http
        .get(format!("{base}/api/apply/runs/{run_id}/handoff/{}", h.script))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        script.contains("/v1/vpc-peering/pcx_") && script.contains("/accept"),
        "{script}"
    );
    assert!(!script.contains(demo["accounts"][1]["api_key"].as_str().unwrap()));
    let page = http
        .get(format!("{base}/api/apply/runs/{run_id}/handoff/{}", h.markdown))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.starts_with("# Hand-off for account acct-b"), "{page}");
    assert!(events
        .iter()
        .any(|e| matches!(e, RunEvent::Step(s) if s.event == "no_key" && s.kind == "peering_accept")));

    // With both keys: accept, wait, routes; the peering turns active and both route tables fill.
    let p = plan(base, &http, &id, None).await;
    assert!(p.keyless.is_empty());
    assert!(p.changes.iter().any(|c| c.kind == "peering_accept"), "{p:?}");
    let (_, events) = run(base, &http, &p, None).await;
    let e = end(&events);
    assert_eq!(e.outcome, "applied", "{e:?}");
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Step(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps.iter().filter(|s| s.event == "start").count(),
        p.changes.len()
    );
    assert_eq!(
        steps.iter().filter(|s| s.event == "done").count(),
        p.changes.len()
    );
    let live = events
        .iter()
        .rev()
        .find_map(|e| match e {
            RunEvent::Live(l) => Some(l),
            _ => None,
        })
        .expect("a live snapshot");
    assert_eq!(live.peerings.len(), 1);
    assert_eq!(live.peerings[0].status, "active");
    for vpc in ["vpc-a", "vpc-b"] {
        assert!(
            live.route_tables
                .iter()
                .any(|t| t.vpc == vpc && t.routes.iter().any(|r| r.contains("pcx"))),
            "{vpc}'s route table routes to the peering: {live:?}"
        );
    }

    // Nothing left to do, and a run of the first (stale) plan is refused.
    let again = plan(base, &http, &id, None).await;
    assert_eq!(again.summary, "Plan: 0 to add, 0 to change, 0 to destroy.");
    let r = http
        .post(format!("{base}/api/apply/runs"))
        .json(
            &json!({"plan_id": id, "target": "embedded", "version": p.version, "fingerprint": p.fingerprint}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "STALE_PLAN", "{body}");

    // No drift; then a route deleted behind Peerplan's back is drift.
    let d = drift(base, &http, &id).await;
    assert!(d.applied_at.is_some());
    assert!(d.changes.is_empty(), "{d:?}");
    let a = &demo["accounts"][0];
    let client = controlplane::client::Client::new(base, a["api_key"].as_str().unwrap()).unwrap();
    client
        .delete_route(a["main_route_table_id"].as_str().unwrap(), "172.16.0.0/16")
        .await
        .unwrap();
    let d = drift(base, &http, &id).await;
    assert_eq!(d.changes.len(), 1, "{d:?}");
    assert_eq!(
        (d.changes[0].kind.as_str(), d.changes[0].symbol.as_str()),
        ("route", "+")
    );

    // A state-changing call without the page's token is refused before anything runs.
    let r = reqwest::Client::new()
        .post(format!("{base}/api/apply/plan"))
        .json(&json!({"plan_id": id, "target": "embedded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Unknown plans and targets are named.
    let r = http
        .post(format!("{base}/api/apply/plan"))
        .json(&json!({"plan_id": id, "target": "nowhere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("\"nowhere\""),
        "{body}"
    );
}
