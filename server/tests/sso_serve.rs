//! Single sign-on through the real `peerplan serve` binary: `--oidc-issuer …` against the loopback OpenID provider
//! (the sign-in page links to it; alice gets an admin session that opens the audit page, bob a planner one that
//! gets 403 there, carol none), and `--auth-proxy-header` with `--trusted-proxy` (believed from 127.0.0.1 when it is
//! trusted, ignored when only another address is). Skips loudly without `node`/`tools/oidc`, fails with
//! `PEERPLAN_REQUIRE_OIDC=1`.

mod common;
#[path = "common/oidc_provider.rs"]
mod oidc_provider;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use oidc_provider::{sign_in_at_provider, OidcProvider, CLIENT_ID, CLIENT_SECRET, PASSWORD};

/// `peerplan serve --addr 127.0.0.1:PORT --data DIR ARGS…`, waiting for its "listening on" line.
fn serve(port: u16, data: &std::path::Path, args: &[&str]) -> common::Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args([
            "serve",
            "--no-demo",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data",
        ])
        .arg(data)
        .args(args)
        .env_remove("LEPTOS_SITE_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn peerplan");
    let stdout = child.stdout.take().unwrap();
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
        .expect("peerplan did not start");
    common::Running { child, base }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            Some(
                v.strip_prefix(&format!("{name}="))?
                    .split(';')
                    .next()?
                    .to_string(),
            )
        })
}

#[tokio::test]
async fn oidc_sign_in_through_peerplan_serve() {
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/login/oidc/callback");
    let Some(provider) = OidcProvider::start(&redirect, "id_token") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("oidc-secret");
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
    let server = serve(
        port,
        &dir.path().join("data"),
        &[
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            CLIENT_ID,
            "--oidc-client-secret-file",
            secret.to_str().unwrap(),
            "--oidc-role-map",
            "netops=admin,planners=planner",
        ],
    );
    assert_eq!(server.base, base);
    let http = client();

    // Team mode is on: no session → the sign-in page, which offers single sign-on.
    let res = http.get(format!("{base}/audit")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login = http
        .get(format!("{base}/login?next=/audit"))
        .send()
        .await
        .unwrap();
    let page = login.text().await.unwrap();
    assert!(page.contains("href=\"/login/oidc?next=%2Faudit\""), "{page}");

    let sign_in = |user: &'static str| {
        let http = http.clone();
        let base = base.clone();
        let issuer = provider.issuer.clone();
        let redirect = redirect.clone();
        async move {
            let res = http
                .get(format!("{base}/login/oidc?next=/audit"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 303);
            let pending = cookie(&res, "peerplan_oidc").unwrap();
            let location = res.headers()["location"].to_str().unwrap().to_string();
            let callback = sign_in_at_provider(&issuer, &location, &redirect, user, PASSWORD, true)
                .await
                .unwrap();
            http.get(callback)
                .header("cookie", format!("peerplan_oidc={pending}"))
                .send()
                .await
                .unwrap()
        }
    };

    let res = sign_in("alice").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/audit");
    let session = cookie(&res, "peerplan_session").unwrap();
    let audit = http
        .get(format!("{base}/audit"))
        .header("cookie", format!("peerplan_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 200, "alice (netops → admin) opens the audit page");

    let res = sign_in("bob").await;
    let session = cookie(&res, "peerplan_session").unwrap();
    let audit = http
        .get(format!("{base}/audit"))
        .header("cookie", format!("peerplan_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 403, "bob is a planner");
    assert!(audit
        .text()
        .await
        .unwrap()
        .contains("needs the admin role (you are planner)"));

    let res = sign_in("carol").await;
    assert_eq!(res.status(), 403);
    assert!(cookie(&res, "peerplan_session").is_none());

    // The audit trail records the single sign-ons.
    let output = common::peerplan(&[
        "user",
        "list",
        "--data",
        dir.path().join("data").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let text = common::text(&output);
    assert!(text.contains("\"alice\"") && text.contains("\"oidc\""), "{text}");
    drop(server);
}

#[tokio::test]
async fn the_proxy_header_counts_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = serve(
        common::free_port(),
        &dir.path().join("a"),
        &[
            "--auth-proxy-header",
            "X-Forwarded-User",
            "--trusted-proxy",
            "127.0.0.1",
            "--auth-proxy-role",
            "planner",
        ],
    );
    let http = client();
    let res = http
        .get(format!("{}/", trusted.base))
        .header("x-forwarded-user", "dana")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the proxy signs dana in");
    let res = http
        .get(format!("{}/audit", trusted.base))
        .header("x-forwarded-user", "dana")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "as a planner");
    let res = http.get(format!("{}/", trusted.base)).send().await.unwrap();
    assert_eq!(res.status(), 303, "no header: the sign-in page");

    let untrusted = serve(
        common::free_port(),
        &dir.path().join("b"),
        &[
            "--auth-proxy-header",
            "X-Forwarded-User",
            "--trusted-proxy",
            "192.0.2.10",
        ],
    );
    let res = http
        .get(format!("{}/", untrusted.base))
        .header("x-forwarded-user", "dana")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        303,
        "127.0.0.1 is not the trusted proxy: not signed in"
    );
}
