//! The audit trail of `peerplan serve`, over real HTTP: plan changes made in the planner (import, create, rename,
//! duplicate, delete, save, restore) and an apply run (start, each step, end) append entries as `local`/`admin`
//! from the client's address; `GET /api/audit` pages and filters them, `GET /api/audit.jsonl` exports them, the
//! `/audit` page shows them;
//! `peerplan audit verify` passes, then names the entry edited or deleted behind the server's back. With
//! `PEERPLAN_TEST_POSTGRES_URL` set, two servers on one PostgreSQL database write one unbroken chain.

mod common;

use reqwest::StatusCode;
use serde_json::{json, Value};

const SEED: &str = include_str!("../../examples/seed.json");
const TRANSITIVE: &str = include_str!("../../examples/transitive.json");

/// The plan id a create or import redirected to.
fn created(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap();
    location.trim_start_matches("/plans/").to_string()
}

async fn get_json(http: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let r = http.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn sql(db: &std::path::Path, statement: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(statement).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn planner_changes_and_an_apply_are_audited_and_tampering_is_found() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let base = &server.base;
    let http = common::planner_client(&common::csrf_token(base).await);

    let seed = common::import_plan(base, &http, "seed.json", SEED.to_string()).await;
    let r = http
        .post(format!("{base}/plans/new"))
        .form(&[("name", "Scratch")])
        .send()
        .await
        .unwrap();
    let scratch = created(&r);
    let r = http
        .post(format!("{base}/plans/{scratch}/rename"))
        .form(&[("name", "Renamed")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = http
        .post(format!("{base}/plans/{scratch}/duplicate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = http
        .post(format!("{base}/plans/{scratch}/delete"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = http
        .post(format!("{base}/api/plans/save_plan"))
        .form(&[("id", seed.as_str()), ("body", TRANSITIVE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = http
        .post(format!("{base}/api/plans/restore_version"))
        .form(&[("id", seed.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    // An apply of the seed (version 3, as restored) with both demo accounts' keys.
    let r = http
        .post(format!("{base}/api/apply/plan"))
        .json(&json!({"plan_id": seed, "target": "embedded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let p: app::apply_api::PlanView = r.json().await.unwrap();
    let r = http
        .post(format!("{base}/api/apply/runs"))
        .json(&json!({"plan_id": seed, "target": "embedded", "version": p.version, "fingerprint": p.fingerprint}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let started: app::apply_api::RunStarted = r.json().await.unwrap();
    let events = common::follow_run(base, &http, &started.run).await;
    assert!(
        matches!(events.last(), Some(app::apply_api::RunEvent::End(e)) if e.outcome == "applied"),
        "{events:?}"
    );

    // The trail, newest first.
    let (status, page) = get_json(&http, &format!("{base}/api/audit?limit=1000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    let actions: Vec<(&str, &str)> = items
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["object"].as_str().unwrap()))
        .filter(|(a, _)| *a != "apply.step")
        .collect();
    let copy = items[3]["object"].as_str().unwrap();
    assert_eq!(
        actions,
        [
            ("plan.import", seed.as_str()),
            ("plan.create", scratch.as_str()),
            ("plan.rename", scratch.as_str()),
            ("plan.create", copy),
            ("plan.delete", scratch.as_str()),
            ("plan.save", seed.as_str()),
            ("plan.restore", seed.as_str()),
            ("apply.start", seed.as_str()),
            ("apply.end", seed.as_str()),
        ]
    );
    let steps: Vec<&Value> = items.iter().filter(|e| e["action"] == "apply.step").collect();
    assert_eq!(steps.len(), started.total, "one entry per step");
    assert!(
        steps.iter().all(|e| e["result"] == "done" && e["version"] == 3),
        "{steps:?}"
    );
    let end = items.last().unwrap();
    assert_eq!(
        (end["result"].as_str(), end["version"].as_i64()),
        (Some("applied"), Some(3))
    );
    assert!(end["detail"].as_str().unwrap().contains(&started.run), "{end}");
    assert!(items[0]["detail"].as_str().unwrap().contains("seed.json"));
    for (n, e) in items.iter().enumerate() {
        assert_eq!(e["seq"].as_i64(), Some(n as i64 + 1));
        assert_eq!(
            (e["user"].as_str(), e["role"].as_str()),
            (Some("local"), Some("admin"))
        );
        let address = e["address"].as_str().unwrap();
        assert!(
            address.starts_with("127.0.0.1:") && address.len() > 10,
            "{address}"
        );
    }
    let total = items.len();

    // Filtered by plan and action, and paged.
    let url = format!("{base}/api/audit?plan={seed}&action=apply.step&limit=2");
    let (_, first) = get_json(&http, &url).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = get_json(&http, &format!("{url}&cursor={cursor}")).await;
    let before = first["items"][1]["seq"].as_i64().unwrap();
    assert!(second["items"][0]["seq"].as_i64().unwrap() < before, "{second}");
    assert!(second["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"] == "apply.step" && e["object"] == seed.as_str()));
    let (status, body) = get_json(&http, &format!("{base}/api/audit?action=plan.burn")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.to_string().contains("plan.burn"), "{body}");

    // The admin's page, rendered on the server: the filtered rows, and the export of the same filter.
    let html = http
        .get(format!("{base}/audit?action=plan.import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 1, "{html}");
    assert!(html.contains(&seed), "{html}");
    assert!(html.contains("/api/audit.jsonl?action=plan.import"), "{html}");

    // The JSON lines export: every entry, oldest first.
    let r = http.get(format!("{base}/api/audit.jsonl")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/jsonl"));
    let lines = r.text().await.unwrap();
    let seqs: Vec<i64> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());

    // Like every planner route: only under a Host this server serves.
    let r = http
        .get(format!("{base}/api/audit"))
        .header("host", "rebind.evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);

    // Verified, then tampered with through SQL behind the server's back.
    let dir = data.path().to_str().unwrap();
    let o = common::peerplan(&["audit", "verify", "--data", dir]);
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(
        common::text(&o).contains(&format!("{total} entries checked")),
        "{}",
        common::text(&o)
    );
    let db = data.path().join("controlplane.db");
    sql(&db, "UPDATE audit SET actor = 'mallory' WHERE seq = 3").await;
    let o = common::peerplan(&["audit", "verify", "--data", dir]);
    assert_eq!(o.status.code(), Some(1), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("broken at entry 3:"),
        "{}",
        common::text(&o)
    );
    sql(&db, "UPDATE audit SET actor = 'local' WHERE seq = 3").await;
    sql(&db, "DELETE FROM audit WHERE seq = 5").await;
    let o = common::peerplan(&["audit", "verify", "--data", dir]);
    assert_eq!(o.status.code(), Some(1), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("broken at entry 5: missing"),
        "{}",
        common::text(&o)
    );

    let missing = tempfile::tempdir().unwrap();
    let o = common::peerplan(&["audit", "verify", "--data", missing.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", common::text(&o));
    assert!(common::text(&o).contains("no database"), "{}", common::text(&o));
}

#[tokio::test]
async fn two_servers_on_one_postgres_keep_one_chain() {
    let Some(admin) = common::postgres_admin() else {
        return;
    };
    let url = common::fresh_postgres(&admin, "audit");

    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = common::start(&["serve", "--no-demo", "--database-url", &url], d1.path());
    let two = common::start(&["serve", "--no-demo", "--database-url", &url], d2.path());
    const EACH: usize = 15;
    let mut tasks = Vec::new();
    for server in [&one, &two] {
        let base = server.base.clone();
        let http = common::planner_client(&common::csrf_token(&base).await);
        for n in 0..EACH {
            let (base, http) = (base.clone(), http.clone());
            tasks.push(tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/plans/new"))
                    .form(&[("name", format!("plan {n}"))])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::SEE_OTHER);
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let o = common::peerplan(&["audit", "verify", "--database-url", &url]);
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(
        common::text(&o).contains(&format!("{} entries checked", 2 * EACH)),
        "{}",
        common::text(&o)
    );
}
