//! Crash test of applies started in the planner: a generated plan with more than 50 peerings and their routes,
//! stored in `peerplan serve` and applied from it (its journal and bindings in the server's database) to a
//! standalone control plane configured in `DATA/targets.json`; the server is killed (`kill -9`) at pseudo-random
//! points during the run, 20 times, and restarted on its database. Then one run goes to the end: the control
//! plane holds exactly the planned objects (nothing created twice) and there is nothing left to do.

mod common;

use std::time::Duration;

use app::apply_api::{PlanView, RunEvent, RunStarted};
use common::{estate, exactly_planned, free_port, peerplan, text, ControlPlane, Lcg};
use reqwest::StatusCode;
use serde_json::{json, Value};

const KILLS: usize = 20;

async fn plan(base: &str, http: &reqwest::Client, id: &str) -> PlanView {
    let r = http
        .post(format!("{base}/api/apply/plan"))
        .json(&json!({"plan_id": id, "target": "estate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn start(base: &str, http: &reqwest::Client, p: &PlanView) -> String {
    let r = http
        .post(format!("{base}/api/apply/runs"))
        .json(
            &json!({"plan_id": p.plan_id, "target": "estate", "version": p.version,
                      "fingerprint": p.fingerprint, "confirm_destroy": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    r.json::<RunStarted>().await.unwrap().run
}

#[tokio::test]
async fn killed_planner_applies_resume_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cp_data = dir.path().join("control-plane");
    let serve_data = dir.path().join("serve");
    std::fs::create_dir_all(&cp_data).unwrap();
    let (plan_file, desired, keys_file, live_peerings) = estate(&cp_data, None);

    let addr = format!("127.0.0.1:{}", free_port());
    let target = format!("http://{addr}");
    let control = ControlPlane::start(&addr, &cp_data, None);
    server::datadir::private_dir(&serve_data).unwrap();
    std::fs::write(
        serve_data.join("targets.json"),
        json!({"targets": [{"id": "estate", "name": "Generated estate", "url": target,
                            "keys_file": keys_file}]})
        .to_string(),
    )
    .unwrap();

    let mut server = common::start(&["serve", "--no-demo"], &serve_data);
    let http = common::planner_client(&common::csrf_token(&server.base).await);
    let id = common::import_plan(
        &server.base,
        &http,
        "estate.json",
        std::fs::read_to_string(&plan_file).unwrap(),
    )
    .await;

    let mut rng = Lcg(20261202);
    let mut cut = 0;
    for _ in 0..KILLS {
        let http = common::planner_client(&common::csrf_token(&server.base).await);
        let p = plan(&server.base, &http, &id).await;
        if p.changes.is_empty() {
            break;
        }
        start(&server.base, &http, &p).await;
        // Short enough that the control plane (a few hundred calls a second) is cut at least ten times before
        // the ~985 steps are done; any point of the run is a fair place to be killed.
        tokio::time::sleep(Duration::from_millis(50 + rng.next(450))).await;
        drop(server);
        cut += 1;
        server = common::start(&["serve", "--no-demo"], &serve_data);
    }
    assert!(
        cut >= 10,
        "only {cut} runs were cut: the estate applies too fast to test"
    );

    // To the end, then nothing left to do.
    let http = common::planner_client(&common::csrf_token(&server.base).await);
    let p = plan(&server.base, &http, &id).await;
    let run = start(&server.base, &http, &p).await;
    let events = common::follow_run(&server.base, &http, &run).await;
    match events.last() {
        Some(RunEvent::End(e)) => assert_eq!(e.outcome, "applied", "{e:?}"),
        other => panic!("no end event: {other:?}"),
    }
    assert_eq!(
        plan(&server.base, &http, &id).await.summary,
        "Plan: 0 to add, 0 to change, 0 to destroy."
    );

    // Exactly the planned objects.
    let live = dir.path().join("live.json");
    let o = peerplan(&[
        "import",
        "live",
        "--target",
        &target,
        "--keys",
        keys_file.to_str().unwrap(),
        "-o",
        live.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&live).unwrap()).unwrap();
    exactly_planned(&desired, &got, live_peerings);
    control.kill();
}
