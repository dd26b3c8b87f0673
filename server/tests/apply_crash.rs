//! Crash test of `peerplan apply`: a generated plan with more than 50 peerings and their routes is applied to a
//! standalone `peerplan control-plane serve`, and the apply is killed (`kill -9`) at pseudo-random points, 20
//! times — every fourth time the control plane is killed too and restarted on its database. Then one apply runs
//! to the end: the control plane holds exactly the planned objects (nothing created twice), and the plan against
//! it is empty.
//!
//! With `PEERPLAN_TEST_POSTGRES_URL` set, a second run does the same against a PostgreSQL-backed control plane.

mod common;

use common::{estate, exactly_planned, free_port, peerplan, text, ControlPlane, Lcg};

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;

const KILLS: usize = 20;

fn crash_and_resume(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (plan, desired, keys_file, live_peerings) = estate(data, database);

    let addr = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{addr}");
    let mut server = ControlPlane::start(&addr, data, database);
    let apply_args = [
        "apply",
        plan.to_str().unwrap(),
        "--target",
        &base,
        "--keys",
        keys_file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--yes",
        "--format",
        "json",
    ];
    let mut rng = Lcg(20261201);
    for run in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peerplan"))
            .args(apply_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100 + rng.next(900)));
        let _ = child.kill();
        let _ = child.wait();
        if run % 4 == 3 {
            server.kill();
            server = ControlPlane::start(&addr, data, database);
        }
    }

    // To the end, then nothing left to do.
    let o = peerplan(&apply_args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = peerplan(&[
        "plan",
        plan.to_str().unwrap(),
        "--target",
        &base,
        "--keys",
        keys_file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().last(),
        Some("Plan: 0 to add, 0 to change, 0 to destroy."),
        "{}",
        text(&o)
    );

    // Exactly the planned objects: imported back, the counts match the plan's.
    let live = data.join("live.json");
    let o = peerplan(&[
        "import",
        "live",
        "--target",
        &base,
        "--keys",
        keys_file.to_str().unwrap(),
        "-o",
        live.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&live).unwrap()).unwrap();
    exactly_planned(&desired, &got, live_peerings);
    // The runs were interrupted: the journal holds steps started and never finished.
    let journal = std::fs::read_dir(data.join("apply"))
        .unwrap()
        .map(|d| std::fs::read_to_string(d.unwrap().path().join("journal.jsonl")).unwrap_or_default())
        .collect::<String>();
    let started = journal.matches("\"event\":\"start\"").count();
    let done = journal.matches("\"event\":\"done\"").count();
    assert!(
        started > done,
        "{started} started, {done} done: no run was cut short"
    );
    server.kill();
}

#[test]
fn killed_applies_resume_and_duplicate_nothing() {
    crash_and_resume(None);
}

#[test]
fn killed_applies_resume_against_a_postgres_control_plane() {
    let Some(admin) = common::postgres_admin() else {
        return;
    };
    crash_and_resume(Some(&common::fresh_postgres(&admin, "crash")));
}
