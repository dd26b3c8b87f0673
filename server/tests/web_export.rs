//! The UI's export endpoint, `POST /api/export/{format}`, over real HTTP against `peerplan serve`: every format
//! downloads as an attachment with the CLI's bytes; bad formats, plans and options are refused with the value named.

mod common;

use std::process::Command;

fn cli_export(format: &str) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "export",
            "examples/seed.json",
            "--format",
            format,
            "-o",
            "/dev/stdout",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[tokio::test]
async fn every_format_downloads_like_the_cli() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let plan =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();
    let http = common::planner_client(&common::csrf_token(&server.base).await);
    for (format, ext, mime) in [
        ("md", "md", "text/markdown"),
        ("html", "html", "text/html"),
        ("svg", "svg", "image/svg+xml"),
        ("png", "png", "image/png"),
        ("dot", "dot", "text/vnd.graphviz"),
        ("mermaid", "mmd", "text/plain"),
        ("curl", "sh", "text/x-shellscript"),
        ("json", "json", "application/json"),
        ("csv", "csv", "text/csv"),
    ] {
        // As the menu's form (what the browser sends) ...
        let form = http
            .post(format!("{}/api/export/{format}", server.base))
            .form(&[("plan", plan.as_str()), ("part", "all"), ("port", "443")])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 200, "{format}");
        let h = form.headers().clone();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(mime),
            "{format}: {h:?}"
        );
        assert_eq!(
            h["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"peerplan.{ext}\""),
        );
        let body = form.bytes().await.unwrap();
        // ... and as JSON: the same bytes as `peerplan export`.
        let json = http
            .post(format!("{}/api/export/{format}", server.base))
            .header("content-type", "application/json")
            .body(plan.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), 200);
        assert_eq!(
            json.bytes().await.unwrap(),
            body,
            "{format}: form and JSON differ"
        );
        assert_eq!(body.to_vec(), cli_export(format), "{format}: web and CLI differ");
    }
}

#[tokio::test]
async fn bad_requests_name_the_value() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let http = common::planner_client(&common::csrf_token(&server.base).await);
    let post = |path: &str, body: &str| {
        http.post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let plan =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();

    let r = post("/api/export/pdf", &plan).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("\"pdf\""));

    let broken = plan.replacen("10.0.0.0/16", "10.0.0.0/33", 1);
    let r = post("/api/export/md", &broken).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("10.0.0.0/33"));

    let r = post("/api/export/curl?part=observer", &plan).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("\"observer\""));

    let r = post("/api/export/csv?port=70000", &plan).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("\"70000\""));

    let r = http
        .post(format!("{}/api/export/md", server.base))
        .form(&[("part", "all")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("plan"));

    // The requester's half of the script is named as such.
    let r = post("/api/export/curl?part=requester", &plan).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"peerplan-requester.sh\""
    );
    // The server is still there.
    let r = http.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
