//! The `/v1` rows of the request matrix that only `peerplan serve` can answer: every control-plane operation
//! (from `controlplane::routes::operations`, the table that builds the router) × {foreign `Host`, cross-origin
//! browser request} on the planner server that embeds `/v1`. A foreign Host is 421 even with a valid key (DNS
//! rebinding); a cross-origin request carries no key (browsers never attach one) and is refused, never served.

mod common;

use std::process::Command;

use controlplane::routes::operations;
use serde_json::{json, Value};

/// The path with each `{param}` replaced by a placeholder id.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x_1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_v1_operation_refuses_a_foreign_host_and_a_cross_origin_request() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args([
            "control-plane",
            "account",
            "create",
            "matrix",
            "--format",
            "json",
            "--data",
        ])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = serde_json::from_slice::<Value>(&out.stdout).unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let http = reqwest::Client::new();
    let mut rows = 0;
    for op in operations() {
        let url = format!("{}{}", server.base, fill(&op.path));
        let what = format!("{} {}", op.method, op.path);
        for host in ["rebind.evil.example", "10.0.0.1"] {
            let res = http
                .request(op.method.clone(), &url)
                .header("host", host)
                .bearer_auth(&key)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 421, "{what} as Host {host}");
        }
        let res = http
            .request(op.method.clone(), &url)
            .header("origin", "http://evil.example")
            .header("sec-fetch-site", "cross-site")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(
            status == 401 || status == 403,
            "{what} from another origin: {status} {}",
            res.text().await.unwrap()
        );
        rows += 1;
    }
    assert_eq!(rows, operations().len());
    // The same key from the server's own Host is served (the 421s above are about the Host alone).
    let res = http
        .get(format!("{}/v1/vpcs", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
