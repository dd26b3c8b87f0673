//! Crash test of `peerplan apply`: a generated plan with more than 50 peerings and their routes is applied to a
//! standalone `peerplan control-plane serve`, and the apply is killed (`kill -9`) at pseudo-random points, 20
//! times — every fourth time the control plane is killed too and restarted on its database. Then one apply runs
//! to the end: the control plane holds exactly the planned objects (nothing created twice), and the plan against
//! it is empty.
//!
//! With `PEERPLAN_TEST_POSTGRES_URL` set, a second run does the same against a PostgreSQL-backed control plane.

mod common;

use std::{
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

const KILLS: usize = 20;

fn peerplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run peerplan")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The standalone control plane on a fixed loopback address.
struct ControlPlane {
    child: Child,
}

impl ControlPlane {
    fn start(addr: &str, data: &Path, database: Option<&str>) -> ControlPlane {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_peerplan"));
        cmd.args(["control-plane", "serve", "--addr", addr, "--data"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = database {
            cmd.args(["--database-url", url]);
        }
        // Killed and reaped when dropped.
        let server = ControlPlane {
            child: cmd.spawn().expect("spawn control plane"),
        };
        // Ready when it answers.
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("control plane did not start on {addr}");
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A small deterministic generator for the kill points.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn crash_and_resume(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let plan = data.join("estate.json");
    let o = peerplan(&[
        "generate",
        "--vpcs",
        "40",
        "--subnets-per-vpc",
        "1",
        "--endpoints-per-subnet",
        "1",
        "--seed",
        "7",
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let desired: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let live_peerings = desired["peerings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "active" || p["status"] == "pending")
        .count();
    assert!(live_peerings >= 50, "{live_peerings} peerings");

    // One account per plan account, made in the control plane's database before it starts.
    let mut keys = serde_json::Map::new();
    for a in desired["accounts"].as_array().unwrap() {
        let mut args = vec![
            "control-plane",
            "account",
            "create",
            a["name"].as_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--format",
            "json",
        ];
        if let Some(url) = database {
            args.extend(["--database-url", url]);
        }
        let o = peerplan(&args);
        assert!(o.status.success(), "{}", text(&o));
        let made: Value = serde_json::from_slice(&o.stdout).unwrap();
        keys.insert(a["id"].as_str().unwrap().into(), made["api_key"].clone());
    }
    let keys_file = data.join("keys.json");
    std::fs::write(&keys_file, Value::Object(keys.clone()).to_string()).unwrap();

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
    let n = |v: &Value, list: &str| v[list].as_array().map(Vec::len).unwrap_or_default();
    for list in ["vpcs", "subnets", "endpoints"] {
        assert_eq!(n(&got, list), n(&desired, list), "{list}");
    }
    // Every VPC comes with a group named `default` (the plan's own groups have other names).
    let groups = |v: &Value| {
        v["security_groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["name"] != "default")
            .count()
    };
    assert_eq!(groups(&got), groups(&desired), "security groups");
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
    let live_now = got["peerings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "active" || p["status"] == "pending")
        .count();
    assert_eq!(live_now, live_peerings, "peerings");
    // Routes over a peering the plan keeps pending are not made (they would be blackholes until it is accepted).
    let pending: Vec<Value> = desired["peerings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "pending")
        .map(|p| json!({"peering": p["id"]}))
        .collect();
    let routes = |v: &Value| -> usize {
        v["route_tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t["routes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["target"] != json!("local") && !pending.contains(&r["target"]))
                    .count()
            })
            .sum()
    };
    assert_eq!(routes(&got), routes(&desired), "routes");
    server.kill();
}

#[test]
fn killed_applies_resume_and_duplicate_nothing() {
    crash_and_resume(None);
}

#[test]
fn killed_applies_resume_against_a_postgres_control_plane() {
    let Ok(admin) = std::env::var("PEERPLAN_TEST_POSTGRES_URL") else {
        assert_ne!(
            std::env::var("PEERPLAN_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "PEERPLAN_REQUIRE_POSTGRES=1 but PEERPLAN_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    // A fresh database for this test.
    let name = format!("crash_{}", std::process::id());
    let o = Command::new("psql")
        .arg(&admin)
        .args(["-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql");
    assert!(o.status.success(), "{}", text(&o));
    let (base, query) = admin
        .split_once('?')
        .map(|(b, q)| (b.to_string(), format!("?{q}")))
        .unwrap_or((admin.clone(), String::new()));
    let base = base.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    crash_and_resume(Some(&format!("{base}/{name}{query}")));
}
