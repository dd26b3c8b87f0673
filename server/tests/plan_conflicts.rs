//! No lost edits over HTTP, against the real `peerplan serve`: `POST /api/plans/save_plan` with `base_version`
//! answers 409 with who saved which version when (JSON fields) when someone saved in between; `keep_mine` saves
//! over it on purpose; a save without `base_version` is not checked; `restore_version` is checked the same way;
//! bad arguments are 400. Presence (`plan_presence`, `leave_plan`): who else has the plan open. In team mode
//! (`--auth`) the conflict and presence name the signed-in users. And two servers on one PostgreSQL hammered with
//! saves on one base at once: exactly one new version per round, no version lost.

mod common;

use reqwest::StatusCode;
use serde_json::Value;

const SEED: &str = include_str!("../../examples/seed.json");
const TRANSITIVE: &str = include_str!("../../examples/transitive.json");

/// The seed plan renamed: a body distinct from every other.
fn seed_named(name: &str) -> String {
    let mut p: Value = serde_json::from_str(SEED).unwrap();
    p["name"] = Value::String(name.into());
    p.to_string()
}

/// `save_plan` of `body` over `base_version`; the status and the JSON answer.
async fn save(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    body: &str,
    base_version: &str,
) -> (StatusCode, Value) {
    call(
        http,
        base,
        "save_plan",
        &[("id", id), ("body", body), ("base_version", base_version)],
    )
    .await
}

/// Posts a plan function's URL-encoded arguments; the status and the JSON answer.
async fn call(
    http: &reqwest::Client,
    base: &str,
    function: &str,
    args: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = http
        .post(format!("{base}/api/plans/{function}"))
        .form(args)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{function}: not JSON ({status}): {text}"));
    (status, json)
}

#[tokio::test]
async fn a_stale_save_is_409_with_who_saved_and_when() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let base = &server.base;
    let http = common::planner_client(&common::csrf_token(base).await);
    let id = common::import_plan(base, &http, "seed.json", SEED.to_string()).await;
    let id = id.as_str();

    // Two editors start from version 1; the first save wins.
    let (st, v2) = save(&http, base, id, TRANSITIVE, "1").await;
    assert_eq!(st, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    let mine = seed_named("mine");
    let (st, e) = save(&http, base, id, &mine, "1").await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    let err = &e["error"];
    assert_eq!(err["code"], "VERSION_CONFLICT", "{e}");
    assert_eq!(
        (err["base_version"].as_i64(), err["current_version"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(err["saved_by"], "local");
    assert_eq!(err["saved_at"].as_i64(), v2["updated_at"].as_i64());
    let message = err["message"].as_str().unwrap();
    assert!(
        message.starts_with("local saved version 2 at ")
            && message.ends_with("while you were editing version 1"),
        "{message}"
    );
    let (_, loaded) = call(&http, base, "load_plan", &[("id", id)]).await;
    assert_eq!(loaded["info"]["version"], 2, "nothing was saved");

    // The same body as the current one: a no-op, whatever the base.
    let (st, same) = save(&http, base, id, TRANSITIVE, "1").await;
    assert_eq!((st, same["version"].as_i64()), (StatusCode::OK, Some(2)));

    // Keep mine: on purpose, over version 2; recorded in the audit trail.
    let (st, kept) = call(
        &http,
        base,
        "save_plan",
        &[
            ("id", id),
            ("body", &mine),
            ("base_version", "2"),
            ("keep_mine", "true"),
        ],
    )
    .await;
    assert_eq!(
        (st, kept["version"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{kept}"
    );
    let audit: Value = http
        .get(format!("{base}/api/audit?plan={id}&action=plan.save&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        audit["items"][0]["detail"], "kept mine over version 2 saved by \"local\"",
        "{audit}"
    );

    // Without base_version nothing is checked (scripts that predate it).
    let (st, unchecked) = call(&http, base, "save_plan", &[("id", id), ("body", SEED)]).await;
    assert_eq!(
        (st, unchecked["version"].as_i64()),
        (StatusCode::OK, Some(4)),
        "{unchecked}"
    );

    // Restores are checked against their base too (version 2 differs from the current one: no no-op).
    let (st, e) = call(
        &http,
        base,
        "restore_version",
        &[("id", id), ("version", "2"), ("base_version", "3")],
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["current_version"], 4);
    let (st, r) = call(
        &http,
        base,
        "restore_version",
        &[("id", id), ("version", "2"), ("base_version", "4")],
    )
    .await;
    assert_eq!(
        (st, r["info"]["version"].as_i64()),
        (StatusCode::OK, Some(5)),
        "{r}"
    );

    // Who saved each version.
    let (_, versions) = call(&http, base, "plan_versions", &[("id", id)]).await;
    let by: Vec<(i64, &str)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["saved_by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by,
        [
            (5, "local"),
            (4, "local"),
            (3, "local"),
            (2, "local"),
            (1, "local")
        ]
    );

    // Bad arguments are 400 with the value named; an unknown plan 404.
    let (st, e) = save(&http, base, id, SEED, "five").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["code"], "REFUSED");
    let (st, e) = call(
        &http,
        base,
        "save_plan",
        &[("id", id), ("body", &mine), ("keep_mine", "true")],
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("base_version"),
        "{e}"
    );
    let (st, e) = save(&http, base, "plan_missing", SEED, "1").await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
        "{e}"
    );
    let (st, e) = call(
        &http,
        base,
        "save_plan",
        &[
            ("id", id),
            ("body", "{\"format\": \"peerplan/v9\"}"),
            ("base_version", "5"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("peerplan/v9"),
        "{e}"
    );
}

#[tokio::test]
async fn presence_shows_the_other_tabs() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let base = &server.base;
    let http = common::planner_client(&common::csrf_token(base).await);
    let id = common::import_plan(base, &http, "seed.json", SEED.to_string()).await;
    let id = id.as_str();

    let (st, none) = call(&http, base, "plan_presence", &[("id", id), ("tab", "tab-one")]).await;
    assert_eq!((st, none), (StatusCode::OK, serde_json::json!([])));
    call(&http, base, "plan_presence", &[("id", id), ("tab", "tab-two")]).await;
    let (_, seen) = call(&http, base, "plan_presence", &[("id", id), ("tab", "tab-one")]).await;
    assert_eq!(seen, serde_json::json!([{"user": "local", "tabs": 1}]));
    let r = http
        .post(format!("{base}/api/plans/leave_plan"))
        .form(&[("id", id), ("tab", "tab-two")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, seen) = call(&http, base, "plan_presence", &[("id", id), ("tab", "tab-one")]).await;
    assert_eq!(seen, serde_json::json!([]));

    let (st, e) = call(&http, base, "plan_presence", &[("id", id), ("tab", "<b>")]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("\"<b>\""), "{e}");
    // A heartbeat is a state-changing request like any other: refused without the page's CSRF token.
    let r = reqwest::Client::new()
        .post(format!("{base}/api/plans/plan_presence"))
        .form(&[("id", id), ("tab", "tab-x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_servers_on_one_postgres_lose_no_version() {
    let Some(admin) = common::postgres_admin() else {
        return;
    };
    let url = common::fresh_postgres(&admin, "conflicts");
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = common::start(&["serve", "--no-demo", "--database-url", &url], d1.path());
    let two = common::start(&["serve", "--no-demo", "--database-url", &url], d2.path());
    let clients = [
        (
            one.base.clone(),
            common::planner_client(&common::csrf_token(&one.base).await),
        ),
        (
            two.base.clone(),
            common::planner_client(&common::csrf_token(&two.base).await),
        ),
    ];
    let id = common::import_plan(&clients[0].0, &clients[0].1, "seed.json", SEED.to_string()).await;

    const ROUNDS: i64 = 8;
    const EACH: usize = 6;
    for round in 1..=ROUNDS {
        // Every save of the round starts from the current version, half through each server, all at once.
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2 * EACH));
        let mut tasks = Vec::new();
        for (s, (base, http)) in clients.iter().enumerate() {
            for n in 0..EACH {
                let (base, http, id, barrier) = (base.clone(), http.clone(), id.clone(), barrier.clone());
                tasks.push(tokio::spawn(async move {
                    let body = seed_named(&format!("round {round} server {s} save {n}"));
                    let version = round.to_string();
                    barrier.wait().await;
                    save(&http, &base, &id, &body, &version).await
                }));
            }
        }
        let mut won = Vec::new();
        let mut refused = 0;
        for t in tasks {
            let (st, answer) = t.await.unwrap();
            match st {
                StatusCode::OK => won.push(answer["version"].as_i64().unwrap()),
                StatusCode::CONFLICT => {
                    assert_eq!(
                        answer["error"]["current_version"].as_i64(),
                        Some(round + 1),
                        "{answer}"
                    );
                    refused += 1;
                }
                other => panic!("round {round}: {other}: {answer}"),
            }
        }
        assert_eq!((won, refused), (vec![round + 1], 2 * EACH - 1), "round {round}");
    }
    // Every version is there, once, whichever server is asked; the audit chain is unbroken.
    for (base, http) in &clients {
        let (_, versions) = call(http, base, "plan_versions", &[("id", &id)]).await;
        let numbers: Vec<i64> = versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect();
        assert_eq!(numbers, (1..=ROUNDS + 1).rev().collect::<Vec<_>>());
    }
    let o = common::peerplan(&["audit", "verify", "--database-url", &url]);
    assert!(o.status.success(), "{}", common::text(&o));

    // Presence across the two servers: a tab on one sees a tab on the other.
    call(
        &clients[1].1,
        &clients[1].0,
        "plan_presence",
        &[("id", &id), ("tab", "tab-on-two")],
    )
    .await;
    let (_, seen) = call(
        &clients[0].1,
        &clients[0].0,
        "plan_presence",
        &[("id", &id), ("tab", "tab-on-one")],
    )
    .await;
    assert_eq!(seen, serde_json::json!([{"user": "local", "tabs": 1}]));
}

#[tokio::test]
async fn in_team_mode_the_conflict_and_presence_name_the_users() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let alice = common::user_token(&data, "alice", "planner");
    let bob = common::user_token(&data, "bob", "planner");
    let vic = common::user_token(&data, "vic", "viewer");
    let server = common::start(&["serve", "--auth", "--no-demo"], &data);
    let base = &server.base;
    // Scripts' way in: a bearer token, no CSRF token needed.
    let (alice, bob, vic) = (
        common::bearer_client(&alice),
        common::bearer_client(&bob),
        common::bearer_client(&vic),
    );
    let r = alice
        .post(format!("{base}/plans/new"))
        .form(&[("name", "Shared")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/plans/")
        .to_string();
    let id = id.as_str();

    let (st, _) = save(&alice, base, id, SEED, "1").await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = save(&bob, base, id, TRANSITIVE, "1").await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["saved_by"], "alice");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("alice saved version 2 at "),
        "{e}"
    );
    let (st, kept) = call(
        &bob,
        base,
        "save_plan",
        &[
            ("id", id),
            ("body", TRANSITIVE),
            ("base_version", "2"),
            ("keep_mine", "true"),
        ],
    )
    .await;
    assert_eq!(
        (st, kept["version"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{kept}"
    );
    let (_, versions) = call(&vic, base, "plan_versions", &[("id", id)]).await;
    let by: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["saved_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["bob", "alice", "alice"]);

    // A viewer may not save, but is present; each sees the others by name.
    let (st, _) = save(&vic, base, id, SEED, "3").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    call(&alice, base, "plan_presence", &[("id", id), ("tab", "tab-a")]).await;
    call(&bob, base, "plan_presence", &[("id", id), ("tab", "tab-b")]).await;
    let (st, seen) = call(&vic, base, "plan_presence", &[("id", id), ("tab", "tab-v")]).await;
    assert_eq!(st, StatusCode::OK, "{seen}");
    assert_eq!(
        seen,
        serde_json::json!([{"user": "alice", "tabs": 1}, {"user": "bob", "tabs": 1}])
    );
    // Without a session or token: 401, nothing recorded.
    let r = reqwest::Client::new()
        .post(format!("{base}/api/plans/plan_presence"))
        .form(&[("id", id), ("tab", "tab-x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
