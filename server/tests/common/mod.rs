//! Helpers shared by the server's integration tests: start the real `peerplan` binary on a loopback port.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

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
