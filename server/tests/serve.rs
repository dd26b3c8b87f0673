//! `peerplan serve` as a real process over real HTTP: health check, the server-rendered plan list and planner.

mod common;

#[tokio::test]
async fn healthz_and_ssr_shell_answer() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    // The start page lists the plans (none yet) and offers to create or import one.
    let page = client.get(format!("{}/", server.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let list = page.text().await.unwrap();
    assert!(list.contains("<h1>Peerplan</h1>"), "header missing: {list}");
    assert!(
        list.contains("Create plan") && list.contains("No plans yet"),
        "plan list missing: {list}"
    );

    // The scratch pad is the planner on an unsaved plan.
    let page = client
        .get(format!("{}/scratch", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("aria-label=\"Planner canvas\""), "canvas missing");
    assert!(html.contains("No VPCs yet"), "status bar missing");
    assert!(html.contains("/pkg/peerplan.js"), "hydration script missing");
    // The WASM is named as cargo-leptos writes it, whichever tool built this binary.
    assert!(
        !html.contains("peerplan_bg"),
        "the page asks for peerplan_bg.wasm, which cargo-leptos never writes"
    );
}

#[tokio::test]
async fn unknown_page_is_404() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let res = reqwest::get(format!("{}/no-such-page", server.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
