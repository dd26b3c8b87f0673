//! Helpers shared by the server's integration tests: start the real `peerplan` binary on a loopback port.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

/// A running `peerplan` process; killed when dropped.
pub struct Running {
    pub child: Child,
    pub base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `peerplan <args…> --addr 127.0.0.1:0` and waits for its "listening on" line.
pub fn start(args: &[&str], data: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(args)
        .args(["--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .env_remove("LEPTOS_SITE_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn peerplan");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1) {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("peerplan did not report its address");
    Running { child, base }
}

/// The CSRF token of a new planner session: the `peerplan_csrf` cookie a page sets, which the page also
/// renders into its `<meta name="csrf-token">`.
pub async fn csrf_token(base: &str) -> String {
    let page = reqwest::get(format!("{base}/")).await.expect("GET /");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("peerplan_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("the page sets the peerplan_csrf cookie")
        .to_string();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("<meta name=\"csrf-token\" content=\"{cookie}\"")),
        "the page renders the cookie's token"
    );
    cookie
}

/// A client that passes the CSRF check the way the planner's own script does: the session cookie, and its
/// token in the `x-csrf-token` header. Redirects are not followed.
pub fn planner_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", format!("peerplan_csrf={token}").parse().unwrap());
    headers.insert("x-csrf-token", token.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn peerplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run peerplan")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The standalone control plane on a fixed loopback address.
pub struct ControlPlane {
    child: Child,
}

impl ControlPlane {
    pub fn start(addr: &str, data: &Path, database: Option<&str>) -> ControlPlane {
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

    pub fn kill(mut self) {
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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A small deterministic generator for the kill points.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// A generated 40-VPC estate (more than 50 live peerings) in `data/estate.json`, one control-plane account per
/// plan account made in the control plane's database, and their keys in `data/keys.json`. Returns the plan's
/// path, its JSON, the keys file and how many of its peerings are live (active or pending).
pub fn estate(data: &Path, database: Option<&str>) -> (std::path::PathBuf, Value, std::path::PathBuf, usize) {
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

    (plan, desired, keys_file, live_peerings)
}

/// The live state imported back holds exactly the planned objects: as many VPCs, subnets, endpoints, groups,
/// live peerings and routes (none made twice; no route over a peering the plan keeps pending).
pub fn exactly_planned(desired: &Value, got: &Value, live_peerings: usize) {
    let n = |v: &Value, list: &str| v[list].as_array().map(Vec::len).unwrap_or_default();
    for list in ["vpcs", "subnets", "endpoints"] {
        assert_eq!(n(got, list), n(desired, list), "{list}");
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
    assert_eq!(groups(got), groups(desired), "security groups");
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
    assert_eq!(routes(got), routes(desired), "routes");
}

/// Reads an apply run's server-sent events to its end event (at most two minutes).
pub async fn follow_run(base: &str, http: &reqwest::Client, run: &str) -> Vec<app::apply_api::RunEvent> {
    let mut stream = http
        .get(format!("{base}/api/apply/runs/{run}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("the run's stream ends");
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect()
}

/// The admin URL of the throwaway PostgreSQL server (`PEERPLAN_TEST_POSTGRES_URL`), or `None`: the PostgreSQL
/// half of a test is then skipped — unless `PEERPLAN_REQUIRE_POSTGRES=1`, which makes a missing server a failure.
pub fn postgres_admin() -> Option<String> {
    let url = std::env::var("PEERPLAN_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        assert_ne!(
            std::env::var("PEERPLAN_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "PEERPLAN_REQUIRE_POSTGRES=1 but PEERPLAN_TEST_POSTGRES_URL is not set"
        );
    }
    url
}

/// A fresh database `{prefix}_{pid}_{nanoseconds}` on the PostgreSQL server of `admin` (created with `psql`);
/// its URL (the admin URL's query kept).
pub fn fresh_postgres(admin: &str, prefix: &str) -> String {
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let out = Command::new("psql")
        .args([admin, "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("run psql");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let base = base.rsplit_once('/').unwrap().0;
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

/// Imports one file through the plan list's import form (`POST /plans/import`, multipart `files`), as the planner
/// does; asserts the redirect to the new plan and returns its id.
pub async fn import_plan(base: &str, http: &reqwest::Client, file_name: &str, text: String) -> String {
    let form = reqwest::multipart::Form::new().part(
        "files",
        reqwest::multipart::Part::text(text).file_name(file_name.to_string()),
    );
    let r = http
        .post(format!("{base}/plans/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap();
    location.trim_start_matches("/plans/").to_string()
}

/// `peerplan user create NAME --role ROLE --data DATA --format json` (team mode): the new user's API token.
pub fn user_token(data: &Path, name: &str, role: &str) -> String {
    let o = peerplan(&[
        "user",
        "create",
        name,
        "--role",
        role,
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// A client the way scripts reach a team-mode server: `Authorization: Bearer TOKEN` (no CSRF token needed);
/// redirects are not followed.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
