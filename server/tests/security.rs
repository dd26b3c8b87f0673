//! The planner's HTTP surface answers only to itself, over real HTTP against `peerplan serve` on 127.0.0.1:
//! cross-origin and token-less state changes are refused (403) on every form, server function and export; a
//! foreign `Host` is misdirected (421) everywhere but `/healthz`; the planner's own forms work with the token
//! they carry, without JavaScript; every response carries the security headers, and the page's inline scripts
//! the CSP nonce; a non-loopback bind is refused; the data folder and its secrets are private.

mod common;

use reqwest::{multipart, StatusCode};

/// The server functions the app registers (derived from the app, not a hand list).
fn server_fn_paths() -> Vec<String> {
    // Linking the app registers its server functions; name one so the linker keeps the crate.
    let _ = app::storage::format_time(0);
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _method)| path.to_string())
        .collect();
    paths.sort();
    paths.dedup();
    assert!(
        paths.iter().any(|p| p == "/api/plans/save_plan"),
        "the app's server functions: {paths:?}"
    );
    paths
}

/// Creates a plan through the planner's own form and returns its id.
async fn create_plan(base: &str, token: &str, name: &str) -> String {
    let r = common::planner_client(token)
        .post(format!("{base}/plans/new"))
        .form(&[("name", name)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/plans/")
        .to_string()
}

/// Every state-changing route with a body it would accept: (path, form fields).
fn state_changing_routes(id: &str) -> Vec<(String, Vec<(&'static str, String)>)> {
    let seed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();
    let mut routes = vec![
        ("/plans/new".to_string(), vec![("name", "Evil".to_string())]),
        (format!("/plans/{id}/rename"), vec![("name", "Evil".to_string())]),
        (format!("/plans/{id}/duplicate"), vec![]),
        (format!("/plans/{id}/delete"), vec![]),
        ("/api/export/md".to_string(), vec![("plan", seed.clone())]),
    ];
    for path in server_fn_paths() {
        routes.push((
            path,
            vec![
                ("id", id.to_string()),
                ("body", seed.clone()),
                ("version", "1".to_string()),
            ],
        ));
    }
    routes
}

/// The plans' names, in the order listed.
async fn plan_names(base: &str, token: &str) -> Vec<String> {
    let r = common::planner_client(token)
        .post(format!("{base}/api/plans/list_plans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list: serde_json::Value = r.json().await.unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cross_origin_and_tokenless_requests_are_refused_everywhere() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let base = &server.base;
    let token = common::csrf_token(base).await;
    let id = create_plan(base, &token, "Mine").await;
    let planner = common::planner_client(&token);
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let other_token = "0".repeat(64);

    for (path, fields) in state_changing_routes(&id) {
        let url = format!("{base}{path}");
        // A valid session, but another site's page sent it: refused by Origin, and by Sec-Fetch-Site.
        let r = planner
            .post(&url)
            .header("origin", "http://evil.example")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with a foreign Origin");
        let text = r.text().await.unwrap();
        assert!(text.contains("\"http://evil.example\""), "{path}: {text}");
        let r = planner
            .post(&url)
            .header("sec-fetch-site", "cross-site")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} cross-site");
        let r = planner
            .post(&url)
            .header("origin", "null")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with Origin null");

        // No cookie and no token (a plain cross-site form post: the SameSite=Strict cookie stays home).
        let r = bare.post(&url).form(&fields).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} without a session");
        assert!(r.text().await.unwrap().contains("CSRF"), "{path}");
        // The cookie, but the form lacks the token, or carries another one.
        let r = bare
            .post(&url)
            .header("cookie", format!("peerplan_csrf={token}"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} without the token");
        let mut wrong = fields.clone();
        wrong.insert(0, ("csrf_token", other_token.clone()));
        let r = bare
            .post(&url)
            .header("cookie", format!("peerplan_csrf={token}"))
            .form(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with a wrong token");
        let r = bare
            .post(&url)
            .header("cookie", format!("peerplan_csrf={token}"))
            .header("x-csrf-token", &other_token)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with a wrong header");
    }
    // The import form, as a multipart upload.
    let seed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();
    let upload = || {
        multipart::Form::new().part(
            "files",
            multipart::Part::text(seed.clone()).file_name("seed.json"),
        )
    };
    let r = planner
        .post(format!("{base}/plans/import"))
        .header("origin", "http://evil.example")
        .multipart(upload())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = bare
        .post(format!("{base}/plans/import"))
        .header("cookie", format!("peerplan_csrf={token}"))
        .multipart(upload())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // JSON to the export without the token.
    let r = bare
        .post(format!("{base}/api/export/md"))
        .header("content-type", "application/json")
        .body(seed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Nothing was created, renamed, duplicated, deleted or saved.
    assert_eq!(plan_names(base, &token).await, vec!["Mine".to_string()]);
    let r = planner
        .post(format!("{base}/api/plans/plan_versions"))
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    let versions: serde_json::Value = r.json().await.unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
}

#[tokio::test]
async fn the_planners_own_forms_work_with_their_token_and_no_javascript() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let base = &server.base;
    // A browser without JavaScript: it keeps the cookie and posts the forms as the server rendered them.
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Path=/"),
        "{set_cookie}"
    );
    let token = set_cookie
        .strip_prefix("peerplan_csrf=")
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{token}\""
        )),
        "the create form carries the token: {html}"
    );
    let origin = base.clone();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers({
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("cookie", format!("peerplan_csrf={token}").parse().unwrap());
            h.insert("origin", origin.parse().unwrap());
            h.insert("sec-fetch-site", "same-origin".parse().unwrap());
            h
        })
        .build()
        .unwrap();
    let r = browser
        .post(format!("{base}/plans/new"))
        .form(&[("csrf_token", token.as_str()), ("name", "No JS")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/plans/")
        .to_string();

    // The list renders the token into every row's forms.
    let html = browser
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches(&format!("name=\"csrf_token\" value=\"{token}\""))
            .count(),
        5,
        "create, import, rename, duplicate, delete: {html}"
    );
    assert!(
        !html.contains("onsubmit="),
        "no inline handlers (the CSP forbids them)"
    );

    for (action, fields) in [
        (
            "rename",
            vec![("csrf_token", token.as_str()), ("name", "Renamed")],
        ),
        ("duplicate", vec![("csrf_token", token.as_str())]),
    ] {
        let r = browser
            .post(format!("{base}/plans/{id}/{action}"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let seed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();
    let form = multipart::Form::new().text("csrf_token", token.clone()).part(
        "files",
        multipart::Part::text(seed.clone()).file_name("seed.json"),
    );
    let r = browser
        .post(format!("{base}/plans/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // As Chromium sends it: the hidden field first, a mixed-case boundary (which must not be lower-cased).
    let boundary = "----WebKitFormBoundaryAbCdEfGh12345678";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"seed.json\"\r\n\
         Content-Type: application/json\r\n\r\n{seed}\r\n--{boundary}--\r\n"
    );
    let r = browser
        .post(format!("{base}/plans/import"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let r = browser
        .post(format!("{base}/plans/{id}/delete"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The export menu's form.
    let r = browser
        .post(format!("{base}/api/export/json"))
        .form(&[("csrf_token", token.as_str()), ("plan", seed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let mut names = plan_names(base, &token).await;
    names.sort();
    assert_eq!(
        names,
        vec![
            "NFYio seed example: VPC A and VPC B".to_string(),
            "NFYio seed example: VPC A and VPC B".to_string(),
            "Renamed (copy)".to_string()
        ]
    );
}

#[tokio::test]
async fn a_foreign_host_is_misdirected_everywhere_but_healthz() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--allowed-host", "planner.example"], data.path());
    let base = &server.base;
    let token = common::csrf_token(base).await;
    let id = create_plan(base, &token, "Secret").await;
    let planner = common::planner_client(&token);
    let port = base.rsplit(':').next().unwrap();

    let mut pages: Vec<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|r| r.path().replace(":id", &id))
        .collect();
    pages.extend([
        format!("/plans/{id}"),
        "/pkg/peerplan.css".to_string(),
        "/no-such-page".to_string(),
        "/v1/vpcs".to_string(),
        "/v1/openapi.json".to_string(),
    ]);
    for host in [
        "rebind.evil.example",
        &format!("rebind.evil.example:{port}"),
        "10.0.0.1",
    ] {
        for path in &pages {
            let r = planner
                .get(format!("{base}{path}"))
                .header("host", host)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::MISDIRECTED_REQUEST,
                "GET {path} as {host}"
            );
            let text = r.text().await.unwrap();
            assert!(
                text.contains(&format!("{host:?}")) && text.contains("--allowed-host"),
                "{text}"
            );
        }
        for path in server_fn_paths() {
            let r = planner
                .post(format!("{base}{path}"))
                .header("host", host)
                .form(&[("id", id.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::MISDIRECTED_REQUEST,
                "POST {path} as {host}"
            );
            // Refused before the body is read: the connection is closed, and says so (keep-alive clients).
            assert_eq!(
                r.headers().get("connection").map(|v| v.as_bytes()),
                Some(&b"close"[..]),
                "POST {path} as {host}"
            );
            assert!(!r.text().await.unwrap().contains("Secret"));
        }
    }
    let r = planner
        .get(format!("{base}/healthz"))
        .header("host", "rebind.evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The names it serves: loopback ones on any port, and the --allowed-host name.
    for host in [
        "localhost".to_string(),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "planner.example".to_string(),
        format!("planner.example:{port}"),
    ] {
        let r = planner
            .post(format!("{base}/api/plans/list_plans"))
            .header("host", &host)
            .header("origin", format!("http://{host}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "as {host}");
        assert!(r.text().await.unwrap().contains("Secret"));
    }
}

#[tokio::test]
async fn responses_carry_the_security_headers_and_scripts_the_csp_nonce() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let base = &server.base;
    let token = common::csrf_token(base).await;
    let id = create_plan(base, &token, "Headers").await;
    let http = common::planner_client(&token);
    for path in [
        "/".to_string(),
        "/scratch".into(),
        format!("/plans/{id}"),
        "/no-such-page".into(),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        let h = r.headers().clone();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        for part in [
            "default-src 'self'",
            "'wasm-unsafe-eval'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {part} missing from {csp}");
        }
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(
            !script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"),
            "{script_src}"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"))
            .to_string();
        let html = r.text().await.unwrap();
        // Every inline script carries this response's nonce; none runs without it.
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path}: the hydration script");
        for s in scripts {
            let tag = s.split('>').next().unwrap();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")) || tag.contains("src="),
                "{path}: a script without the nonce: <script{tag}>"
            );
        }
    }
    // A second response gets another nonce.
    let csp = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let a = http.get(format!("{base}/")).send().await.unwrap();
    let b = http.get(format!("{base}/")).send().await.unwrap();
    assert_ne!(csp(&a), csp(&b));
    // The API, the exports and /healthz carry the fixed headers too.
    for r in [
        http.get(format!("{base}/healthz")).send().await.unwrap(),
        http.get(format!("{base}/v1/vpcs")).send().await.unwrap(),
        http.post(format!("{base}/api/export/pdf"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.headers()["x-frame-options"], "DENY", "{}", r.url());
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{}", r.url());
    }
}

#[test]
fn a_non_loopback_bind_signs_in_instead_of_being_refused() {
    // Sign-in is always on for a non-loopback address (team mode), so such an address is no longer refused: the
    // server goes on to bind it. 192.0.2.1 (TEST-NET-1) is no address of this machine, so binding fails — no
    // server listens beyond loopback.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let addr = "192.0.2.1:3000";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args(["serve", "--addr", addr, "--data"])
        .arg(&data)
        .env_remove("LEPTOS_SITE_ADDR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{addr}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && !stderr.contains("refusing"),
        "{addr}: {stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    // A bad --allowed-host is named.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--allowed-host",
            "http://x.example/",
            "--data",
        ])
        .arg(&data)
        .env_remove("LEPTOS_SITE_ADDR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"http://x.example/\""));
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_its_secrets_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let server = common::start(&["serve"], &data);
        // A write, so SQLite has its -wal and -shm open.
        let token = common::csrf_token(&server.base).await;
        create_plan(&server.base, &token, "Private").await;
        assert_eq!(mode(&data), 0o700, "the data folder");
        for file in [
            "controlplane.db",
            "controlplane.db-wal",
            "controlplane.db-shm",
            "demo-keys.json",
        ] {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
    }
    // A folder from an older version, world-readable, is made private on the next start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("controlplane.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let _server = common::start(&["serve"], &data);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("controlplane.db")), 0o600);
}
