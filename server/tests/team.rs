//! Team mode over real HTTP: `peerplan serve --auth` on 127.0.0.1 with users made by `peerplan user create`.
//! The role matrix walks every route the server has (its route inventory: the axum routes, the Leptos pages and
//! the server functions) × {no session, viewer, planner, applier, admin} against the table, written out
//! here independently of the server's own; on SQLite and, with `PEERPLAN_TEST_POSTGRES_URL`, on PostgreSQL.

mod common;

use std::path::Path;

use reqwest::{header, redirect::Policy, Client, Method, StatusCode};
use serde_json::Value;

/// Runs `peerplan user …` against the data folder (or database) and returns its standard output as JSON.
fn user_cli(data: &Path, db: Option<&str>, args: &[&str]) -> Value {
    let mut all: Vec<&str> = vec!["user"];
    all.extend(args);
    all.extend(["--data", data.to_str().unwrap(), "--format", "json"]);
    if let Some(url) = db {
        all.extend(["--database-url", url]);
    }
    let o = common::peerplan(&all);
    assert!(o.status.success(), "peerplan {all:?}: {}", common::text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A new user's password and token.
fn create_user(data: &Path, db: Option<&str>, name: &str, role: &str) -> (String, String) {
    let v = user_cli(data, db, &["create", name, "--role", role]);
    (
        v["password"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

fn start_auth(data: &Path, db: Option<&str>, extra: &[&str]) -> common::Running {
    let mut args = vec!["serve", "--auth", "--no-demo"];
    if let Some(url) = db {
        args.extend(["--database-url", url]);
    }
    args.extend(extra);
    common::start(&args, data)
}

/// The status of `POST /api/plans/list_plans` sent with a bearer token.
async fn list_plans_with(http: &Client, base: &str, token: &str) -> StatusCode {
    http.post(format!("{base}/api/plans/list_plans"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .status()
}

/// The values of `name` in a response's `Set-Cookie` headers, with the rest of each header.
fn set_cookies(r: &reqwest::Response, name: &str) -> Vec<(String, String)> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let rest = v.strip_prefix(&format!("{name}="))?;
            let value = rest.split(';').next().unwrap().to_string();
            Some((value, v.to_string()))
        })
        .collect()
}

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// A browser-like session: its CSRF token and (once signed in) its session cookie.
#[derive(Clone, Debug, Default)]
struct Browser {
    csrf: String,
    session: Option<String>,
}

impl Browser {
    /// A fresh browser's CSRF token, from the sign-in page.
    async fn new(base: &str) -> Browser {
        let r = client().get(format!("{base}/login")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let csrf = set_cookies(&r, "peerplan_csrf").pop().expect("a CSRF cookie").0;
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("name=\"csrf_token\" value=\"{csrf}\"")),
            "{html}"
        );
        Browser { csrf, session: None }
    }

    fn cookie(&self) -> String {
        match &self.session {
            Some(s) => format!("peerplan_csrf={}; peerplan_session={s}", self.csrf),
            None => format!("peerplan_csrf={}", self.csrf),
        }
    }

    /// `POST /login` as a browser's form.
    async fn post_login(
        &self,
        http: &Client,
        base: &str,
        name: &str,
        password: &str,
        next: &str,
    ) -> reqwest::Response {
        http.post(format!("{base}/login"))
            .header(header::COOKIE, self.cookie())
            .form(&[
                ("csrf_token", self.csrf.as_str()),
                ("name", name),
                ("password", password),
                ("next", next),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signed in (asserts it worked); the new CSRF token and the session cookie kept.
    async fn sign_in(base: &str, name: &str, password: &str) -> Browser {
        let mut b = Browser::new(base).await;
        let r = b.post_login(&client(), base, name, password, "/").await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{name}: {}",
            r.text().await.unwrap()
        );
        b.session = Some(
            set_cookies(&r, "peerplan_session")
                .pop()
                .expect("a session cookie")
                .0,
        );
        b.csrf = set_cookies(&r, "peerplan_csrf")
            .pop()
            .expect("a new CSRF token")
            .0;
        b
    }

    /// A request with this browser's cookies and its CSRF token in the header (as the planner's script sends).
    fn request(&self, http: &Client, method: Method, url: String) -> reqwest::RequestBuilder {
        http.request(method, url)
            .header(header::COOKIE, self.cookie())
            .header("x-csrf-token", &self.csrf)
    }
}

/// What the table says a route needs: `None` public, else the least role. Written from the issue, not
/// from the server's table; a route missing here fails the matrix.
fn expected_role(method: &Method, path: &str) -> Option<Option<&'static str>> {
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    Some(match path {
        "/healthz" | "/favicon.ico" | "/login" | "/login/oidc" | "/login/oidc/callback" if get => None,
        "/login" | "/logout" if post => None,
        "/" | "/plans/{id}" | "/scratch" if get => Some("viewer"),
        "/api/export/{format}"
        | "/api/plans/list_plans"
        | "/api/plans/load_plan"
        | "/api/plans/plan_versions"
        | "/api/plans/plan_presence"
        | "/api/plans/leave_plan"
            if post =>
        {
            Some("viewer")
        }
        "/api/plans/save_plan"
        | "/api/plans/restore_version"
        | "/plans/new"
        | "/plans/import"
        | "/plans/{id}/rename"
        | "/plans/{id}/duplicate"
        | "/plans/{id}/delete"
            if post =>
        {
            Some("planner")
        }
        "/plans/{id}/apply"
        | "/plans/{id}/drift"
        | "/api/targets"
        | "/api/apply/runs/{id}/events"
        | "/api/apply/runs/{id}/handoff/{file}"
            if get =>
        {
            Some("applier")
        }
        "/api/apply/plan" | "/api/apply/runs" | "/api/apply/drift" | "/api/apply/approvals" if post => {
            Some("applier")
        }
        "/audit" | "/api/audit" | "/api/audit.jsonl" if get => Some("admin"),
        "/api/admin/audit_page" if post => Some("admin"),
        _ => return None,
    })
}

const ROLES: [&str; 4] = ["viewer", "planner", "applier", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap()
}

/// The routes of a server configured like the one under test.
async fn inventory(data: &Path) -> Vec<(Method, String)> {
    let store = server::control::open(&data.join("inventory"), None)
        .await
        .unwrap();
    let cfg = server::web::ServeConfig {
        addr: "127.0.0.1:3000".parse().unwrap(),
        data_dir: data.join("inventory"),
        site_root: data.join("site"),
        database_url: None,
        demo: false,
        rate_limit: 100.0,
        allowed_hosts: vec![],
        insecure_public: false,
        auth: true,
        secure_cookies: false,
        sso_args: Default::default(),
        sso: Default::default(),
        export_concurrency: 1,
        export_timeout: std::time::Duration::from_secs(5),
        require_review: false,
    };
    let mut routes: Vec<(Method, String)> =
        server::web::route_inventory(&cfg, server::control::state(store, 100.0))
            .unwrap()
            .into_iter()
            .map(|(m, p)| (Method::from_bytes(m.as_str().as_bytes()).unwrap(), p))
            .collect();
    routes.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    routes.dedup();
    routes
}

/// The matrix on one database.
async fn role_matrix(db: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut creds = Vec::new();
    for role in ROLES {
        creds.push((role, create_user(&data, db, &format!("{role}-1"), role)));
    }
    let server = start_auth(&data, db, &[]);
    let base = server.base.clone();
    let http = client();
    let mut browsers = Vec::new();
    for (role, (password, _)) in &creds {
        browsers.push((
            *role,
            Browser::sign_in(&base, &format!("{role}-1"), password).await,
        ));
    }
    let admin = &browsers[3].1;
    // A plan to open (GET routes use its id; state-changing ones a missing id, so nothing is destroyed).
    let r = admin
        .request(&http, Method::POST, format!("{base}/plans/new"))
        .form(&[("csrf_token", admin.csrf.as_str()), ("name", "matrix")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let plan_id = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/plans/")
        .to_string();

    let mut routes = inventory(tmp.path()).await;
    for known in [
        (Method::POST, "/api/plans/save_plan"),
        (Method::GET, "/plans/{id}"),
        (Method::POST, "/plans/{id}/delete"),
        (Method::GET, "/api/audit"),
    ] {
        assert!(
            routes.iter().any(|(m, p)| *m == known.0 && p == known.1),
            "the inventory lists {known:?}: {routes:?}"
        );
    }
    // Sign-out last: it ends the session it is sent with.
    routes.sort_by_key(|(m, p)| *m == Method::POST && p == "/logout");
    // Besides the inventory: the control plane's public document, a static file, and a route that does not exist
    // (needs an admin: fail closed).
    routes.insert(0, (Method::GET, "/v1/openapi.json".into()));
    routes.insert(0, (Method::GET, "/pkg/peerplan.css".into()));
    routes.insert(0, (Method::GET, "/no-such-page".into()));
    // Every route the server has is named by its table (none falls to the fail-closed default by accident).
    let unruled: Vec<String> = routes
        .iter()
        .filter(|(m, p)| {
            let m = axum::http::Method::from_bytes(m.as_str().as_bytes()).unwrap();
            !p.starts_with("/no-such") && server::access::explicit(&m, p).is_none()
        })
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        unruled.is_empty(),
        "routes without a rule in server/src/access.rs: {unruled:?}"
    );
    let mut missing = Vec::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, pattern) in &routes {
        let needed = match pattern.as_str() {
            "/v1/openapi.json" | "/pkg/peerplan.css" => None,
            "/no-such-page" => Some("admin"),
            _ => match expected_role(method, pattern) {
                Some(n) => n,
                None => {
                    missing.push(format!("{method} {pattern}"));
                    continue;
                }
            },
        };
        let id = if *method == Method::GET {
            plan_id.as_str()
        } else {
            "plan_missing"
        };
        let path = pattern
            .replace("{id}", id)
            .replace("{format}", "md")
            .replace("{file}", "handoff.sh");
        let api = path.starts_with("/api/");
        // No session: only a CSRF token.
        let anonymous = Browser {
            csrf: admin.csrf.clone(),
            session: None,
        };
        let who = std::iter::once(("none", &anonymous)).chain(browsers.iter().map(|(r, b)| (*r, b)));
        for (role, browser) in who {
            let r = browser
                .request(&http, method.clone(), format!("{base}{path}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .send()
                .await
                .unwrap();
            let status = r.status();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_default();
            let body = r.text().await.unwrap_or_default();
            let to_login = status == StatusCode::SEE_OTHER && location.starts_with("/login");
            let ok = match (needed, role) {
                // An empty sign-in is refused as a wrong password; sign-out goes to the sign-in.
                (None, _) if path == "/login" && *method == Method::POST => {
                    status == StatusCode::UNAUTHORIZED
                }
                (None, _) if path == "/logout" => status == StatusCode::SEE_OTHER && location == "/login",
                (None, _) => {
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && !to_login
                }
                (Some(_), "none") if api => {
                    status == StatusCode::UNAUTHORIZED && body.contains("\"code\":\"unauthorized\"")
                }
                (Some(_), "none") => {
                    to_login
                        && (*method != Method::GET
                            || location == format!("/login?next={}", path.replace('/', "%2F")))
                }
                (Some(n), role) if rank(role) >= rank(n) => {
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && !to_login
                }
                (Some(n), role) => {
                    let named = format!("needs the {n} role (you are {role})");
                    status == StatusCode::FORBIDDEN
                        && body.contains(&named)
                        && (!api || body.contains("\"code\":\"forbidden\""))
                }
            };
            checked += 1;
            if !ok {
                failures.push(format!(
                    "{method} {path} as {role} (needs {needed:?}): {status} {location} {}",
                    body.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "routes without an expectation: {missing:?}");
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(routes.len() >= 30, "{} routes: {routes:?}", routes.len());
    eprintln!("role matrix: {} routes × 5 = {checked} checks", routes.len());
}

#[tokio::test]
async fn role_matrix_on_sqlite() {
    role_matrix(None).await;
}

#[tokio::test]
async fn role_matrix_on_postgres() {
    let Some(admin) = common::postgres_admin() else {
        eprintln!("PEERPLAN_TEST_POSTGRES_URL is not set: the PostgreSQL half is skipped");
        return;
    };
    let url = common::fresh_postgres(&admin, "team_matrix");
    role_matrix(Some(&url)).await;
}

#[tokio::test]
async fn sign_in_sign_out_cookies_and_the_audit_trail() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (password, _) = create_user(&data, None, "alice", "admin");
    let server = start_auth(&data, None, &[]);
    let base = &server.base;
    let http = client();

    // A page without a session sends to the sign-in, which comes back to it.
    let r = http.get(format!("{base}/plans/p1?x=1")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Fplans%2Fp1%3Fx%3D1");
    let page = http
        .get(format!("{base}/login?next=%2Fplans%2Fp1"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"next\" value=\"/plans/p1\""), "{html}");
    // An open redirect is not offered: `next` elsewhere becomes `/`.
    let page = http
        .get(format!(
            "{base}/login?next=%2F%2Fevil.example%2F%22%3E%3Cscript%3E"
        ))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"next\" value=\"/\"") && !html.contains("evil"),
        "{html}"
    );

    // The sign-in form needs its CSRF token.
    let b = Browser::new(base).await;
    let r = http
        .post(format!("{base}/login"))
        .header(header::COOKIE, b.cookie())
        .form(&[("name", "alice"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&r, "peerplan_session").is_empty());
    // A wrong password: 401, the form again with the name, no session.
    let r = b.post_login(&http, base, "alice", "not-the-password", "/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies(&r, "peerplan_session").is_empty());
    assert!(r.text().await.unwrap().contains("Wrong name or password."));
    // An unknown name: the same answer.
    let r = b.post_login(&http, base, "mallory<script>", "x", "/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Wrong name or password.") && html.contains("mallory&lt;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("mallory<script>"));

    // The right one: a session cookie (HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP), a new CSRF
    // token, and back to `next` (an outside `next` becomes `/`).
    let r = b.post_login(&http, base, "alice", &password, "/plans/p1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/plans/p1");
    let (session, cookie) = set_cookies(&r, "peerplan_session").pop().unwrap();
    assert_eq!(session.len(), 64);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let new_csrf = set_cookies(&r, "peerplan_csrf").pop().unwrap().0;
    assert_ne!(new_csrf, b.csrf, "a new CSRF token at sign-in");
    let r = b
        .post_login(&http, base, "alice", &password, "https://evil.example/")
        .await;
    assert_eq!(r.headers()["location"], "/");
    let second = set_cookies(&r, "peerplan_session").pop().unwrap().0;
    assert_ne!(second, session, "each sign-in makes a new session");

    let signed = Browser {
        csrf: new_csrf,
        session: Some(session.clone()),
    };
    let r = signed
        .request(&http, Method::GET, format!("{base}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"user-badge\"") && html.contains("alice"),
        "{html}"
    );
    assert!(
        html.contains("<meta name=\"peerplan-user\" content=\"alice\" data-role=\"admin\""),
        "{html}"
    );

    // A change is recorded as the signed-in user.
    let r = signed
        .request(&http, Method::POST, format!("{base}/plans/new"))
        .form(&[("csrf_token", signed.csrf.as_str()), ("name", "by alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let audit: Value = signed
        .request(&http, Method::GET, format!("{base}/api/audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = audit["items"].as_array().unwrap();
    let created = entries.iter().find(|e| e["action"] == "plan.create").unwrap();
    assert_eq!(
        (&created["user"], &created["role"]),
        (&Value::from("alice"), &Value::from("admin"))
    );
    assert!(created["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    let signed_in = entries.iter().filter(|e| e["action"] == "auth.sign_in").count();
    assert_eq!(signed_in, 2);
    let failed: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "auth.sign_in_failed")
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed
        .iter()
        .any(|e| e["detail"].as_str().unwrap().contains("wrong password")));
    assert!(failed
        .iter()
        .any(|e| e["detail"].as_str().unwrap().contains("no user of that name")));
    let text = audit.to_string();
    assert!(
        !text.contains("not-the-password") && !text.contains(&password),
        "no password in the trail"
    );
    let user_made = entries.iter().find(|e| e["action"] == "user.change").unwrap();
    assert_eq!(user_made["user"], "cli");

    // Sign-out needs the CSRF token, ends the session and clears the cookie.
    let r = http
        .post(format!("{base}/logout"))
        .header(header::COOKIE, signed.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = signed
        .request(&http, Method::POST, format!("{base}/logout"))
        .form(&[("csrf_token", signed.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    let cleared = set_cookies(&r, "peerplan_session").pop().unwrap().1;
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let r = signed
        .request(&http, Method::GET, format!("{base}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session ended");
    let r = signed
        .request(&http, Method::POST, format!("{base}/api/plans/list_plans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    drop(server);

    // --secure-cookies: the session cookie is Secure, and so is every CSRF cookie (the first one a page sets and
    // the new one of a sign-in).
    let server = start_auth(&data, None, &["--secure-cookies"]);
    let r = client()
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    let first_csrf = set_cookies(&r, "peerplan_csrf").pop().unwrap().1;
    assert!(first_csrf.ends_with("; Secure"), "{first_csrf}");
    let b = Browser::new(&server.base).await;
    let r = b.post_login(&http, &server.base, "alice", &password, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookies(&r, "peerplan_session").pop().unwrap().1;
    assert!(cookie.contains("; Secure"), "{cookie}");
    let csrf = set_cookies(&r, "peerplan_csrf").pop().unwrap().1;
    assert!(csrf.ends_with("; Secure"), "{csrf}");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_name_and_address() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (password, _) = create_user(&data, None, "bob", "viewer");
    let server = start_auth(&data, None, &[]);
    let base = &server.base;
    let http = client();
    let b = Browser::new(base).await;
    for i in 1..=5 {
        let r = b.post_login(&http, base, "bob", "wrong", "/").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "failure {i}");
    }
    // The sixth attempt is refused before the password is looked at — the right one too.
    for pw in ["wrong", password.as_str()] {
        let r = b.post_login(&http, base, "bob", pw, "/").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "{retry}");
        assert!(set_cookies(&r, "peerplan_session").is_empty());
    }
    // Another name from this address is not throttled.
    let r = b.post_login(&http, base, "carol", "x", "/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The same name from another address signs in.
    let other = Client::builder()
        .redirect(Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let r = b.post_login(&other, base, "bob", &password, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());

    // Attempts sent all at once do not get past the count: one at a time per name and address is checked.
    create_user(&data, None, "dora", "viewer");
    let attempts = (0..24).map(|_| {
        let (b, http) = (b.clone(), http.clone());
        let base = base.clone();
        async move { b.post_login(&http, &base, "dora", "wrong", "/").await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS)),
        "{statuses:?}"
    );
    assert!(
        (1..=5).contains(&checked),
        "{checked} passwords checked: {statuses:?}"
    );

    // A flood under ever new names (which the per-name count cannot stop): at most 4 password checks run at once,
    // the rest are refused at once with 429 and Retry-After: 1; afterwards the slots are free again.
    let attempts = (0..48).map(|i| {
        let (b, http) = (b.clone(), http.clone());
        let base = base.clone();
        async move {
            let r = b
                .post_login(&http, &base, &format!("flood-{i}"), "wrong", "/")
                .await;
            let status = r.status();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (status, retry, r.text().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let busy: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        answers
            .iter()
            .all(|(s, _, _)| matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS)),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(!busy.is_empty(), "48 sign-ins at once: none was refused");
    for (_, retry, html) in &busy {
        assert_eq!(retry.as_deref(), Some("1"));
        assert!(html.contains("checking many sign-ins at once"), "{html}");
    }
    let r = b.post_login(&other, base, "bob", &password, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the slots are free again");
}

#[tokio::test]
async fn tokens_work_without_csrf_and_disabled_users_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (_, planner_token) = create_user(&data, None, "pat", "planner");
    let (viewer_password, viewer_token) = create_user(&data, None, "vic", "viewer");
    let server = start_auth(&data, None, &[]);
    let base = &server.base;
    let http = client();
    let bearer = |t: &str| format!("Bearer {t}");

    // A plan form, a server function and an export, with the token alone: no cookie, no CSRF token.
    let r = http
        .post(format!("{base}/plans/new"))
        .header(header::AUTHORIZATION, bearer(&planner_token))
        .form(&[("name", "scripted")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let r = http
        .post(format!("{base}/api/plans/list_plans"))
        .header(header::AUTHORIZATION, bearer(&viewer_token))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("scripted"));
    let plan =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed.json")).unwrap();
    let r = http
        .post(format!("{base}/api/export/md"))
        .header(header::AUTHORIZATION, bearer(&viewer_token))
        .form(&[("plan", plan.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A viewer's token cannot change plans; a wrong token is 401 even where a session would do.
    let r = http
        .post(format!("{base}/plans/new"))
        .header(header::AUTHORIZATION, bearer(&viewer_token))
        .form(&[("name", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for wrong in [format!("{viewer_token}0"), "ppt_0".into()] {
        let r = http
            .get(format!("{base}/"))
            .header(header::AUTHORIZATION, bearer(&wrong))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = http
        .post(format!("{base}/plans/new"))
        .header(header::AUTHORIZATION, "Basic dmljOnB3")
        .form(&[("name", "nope")])
        .send()
        .await
        .unwrap();
    // Another scheme is not a Peerplan token (a proxy may pass its own Basic header on): as no session at all.
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Disabling a user ends their session and their token.
    let vic = Browser::sign_in(base, "vic", &viewer_password).await;
    let r = vic
        .request(&http, Method::GET, format!("{base}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let disabled = user_cli(&data, None, &["disable", "vic"]);
    assert_eq!(disabled["disabled"], true);
    let r = vic
        .request(&http, Method::GET, format!("{base}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        list_plans_with(&http, base, &viewer_token).await,
        StatusCode::UNAUTHORIZED
    );
    let b = Browser::new(base).await;
    let r = b.post_login(&http, base, "vic", &viewer_password, "/").await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a disabled user cannot sign in"
    );

    // Enabling them again: the same password and token work again.
    let enabled = user_cli(&data, None, &["enable", "vic"]);
    assert_eq!(enabled["disabled"], false);
    assert_eq!(list_plans_with(&http, base, &viewer_token).await, StatusCode::OK);
    let r = b.post_login(&http, base, "vic", &viewer_password, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "an enabled user signs in");

    // A reset replaces the password and token; a new role applies at once.
    let reset = user_cli(&data, None, &["reset", "pat"]);
    assert_eq!(
        list_plans_with(&http, base, &planner_token).await,
        StatusCode::UNAUTHORIZED
    );
    let new_token = reset["token"].as_str().unwrap();
    user_cli(&data, None, &["set-role", "pat", "viewer"]);
    let r = http
        .post(format!("{base}/plans/new"))
        .header(header::AUTHORIZATION, bearer(new_token))
        .form(&[("name", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("needs the planner role (you are viewer)"));
}

#[test]
fn the_user_command_prints_credentials_once_and_names_bad_values() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let o = common::peerplan(&[
        "user", "create", "dana", "--role", "applier", "--data", d, "--format", "json",
    ]);
    assert!(o.status.success(), "{}", common::text(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Map<String, Value> = serde_json::from_str(&line).unwrap();
    let keys: Vec<&str> = v.keys().map(String::as_str).collect();
    let mut want = vec!["user_id", "name", "role", "password", "token"];
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want, "{line}");
    assert!(line.starts_with("{\"user_id\":\"user_"), "{line}");
    assert_eq!(
        (&v["name"], &v["role"]),
        (&Value::from("dana"), &Value::from("applier"))
    );
    assert!(v["password"].as_str().unwrap().len() >= 20);
    assert!(v["token"].as_str().unwrap().starts_with("ppt_"));
    // Stored hashed: neither secret is in the database file nor its write-ahead log (where the newest pages are);
    // the user's name is (the check can see a stored value).
    let mut db = std::fs::read(data.join("controlplane.db")).unwrap();
    db.extend(std::fs::read(data.join("controlplane.db-wal")).unwrap_or_default());
    assert!(db.windows(4).any(|w| w == b"dana"));
    for secret in [v["password"].as_str().unwrap(), v["token"].as_str().unwrap()] {
        assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    for (args, named) in [
        (
            vec!["create", "dana", "--role", "viewer"],
            "\"dana\" already exists",
        ),
        (vec!["create", "erin", "--role", "root"], "\"root\" is not a role"),
        (
            vec!["create", "Bad Name", "--role", "viewer"],
            "\"Bad Name\" is not valid",
        ),
        (vec!["set-role", "nobody", "admin"], "no user named \"nobody\""),
        (vec!["disable", "nobody"], "no user named \"nobody\""),
        (vec!["enable", "nobody"], "no user named \"nobody\""),
    ] {
        let mut all = vec!["user"];
        all.extend(args);
        all.extend(["--data", d]);
        let o = common::peerplan(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        assert!(common::text(&o).contains(named), "{all:?}: {}", common::text(&o));
    }

    // A mistyped data folder is an error naming it, not a new empty database; only `create` starts one.
    let typo = format!("{d}-typo");
    for args in [vec!["list"], vec!["disable", "dana"], vec!["reset", "dana"]] {
        let mut all = vec!["user"];
        all.extend(args);
        all.extend(["--data", typo.as_str()]);
        let o = common::peerplan(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        let text = common::text(&o);
        assert!(
            text.contains(&format!("no Peerplan database in {typo}")),
            "{text}"
        );
        assert!(!Path::new(&typo).exists(), "{all:?} created {typo}");
    }

    let o = common::peerplan(&["user", "list", "--data", d, "--format", "json"]);
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("password").is_none() && list[0].get("token").is_none());
    let o = common::peerplan(&["user", "create", "erin", "--role", "viewer", "--data", d]);
    let text = common::text(&o);
    assert!(
        text.contains("password:") && text.contains("shown only once"),
        "{text}"
    );
}

#[tokio::test]
async fn two_servers_on_one_postgres_share_sessions() {
    let Some(admin) = common::postgres_admin() else {
        eprintln!("PEERPLAN_TEST_POSTGRES_URL is not set: skipped");
        return;
    };
    let url = common::fresh_postgres(&admin, "team_sessions");
    let tmp = tempfile::tempdir().unwrap();
    let (password, _) = create_user(&tmp.path().join("a"), Some(&url), "sam", "planner");
    let a = start_auth(&tmp.path().join("a"), Some(&url), &[]);
    let b = start_auth(&tmp.path().join("b"), Some(&url), &[]);
    let http = client();
    let on_a = Browser::sign_in(&a.base, "sam", &password).await;
    // The cookie of server A works on server B (same database); sign-out on B ends it on A.
    let r = on_a
        .request(&http, Method::GET, format!("{}/", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("sam"));
    let r = on_a
        .request(&http, Method::POST, format!("{}/logout", b.base))
        .form(&[("csrf_token", on_a.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = on_a
        .request(&http, Method::GET, format!("{}/", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The throttle is shared too: five failures on A, the sixth on B is refused.
    let anon = Browser::new(&a.base).await;
    for _ in 0..5 {
        let r = anon.post_login(&http, &a.base, "sam", "wrong", "/").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let anon_b = Browser::new(&b.base).await;
    let r = anon_b.post_login(&http, &b.base, "sam", &password, "/").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn loopback_without_auth_is_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    create_user(&data, None, "zed", "viewer");
    let server = common::start(&["serve", "--no-demo"], &data);
    let http = client();
    let r = http.get(format!("{}/", server.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("peerplan-user") && html.contains(">Audit<"),
        "no sign-in, the audit link shows"
    );
    let r = http
        .get(format!("{}/api/audit", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
