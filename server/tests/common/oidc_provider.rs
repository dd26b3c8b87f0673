//! The loopback OpenID provider for tests (`scripts/oidc-provider.mjs`, npm `oidc-provider` from `tools/oidc`) and
//! a cookie-keeping client that walks its sign-in pages the way a browser would.
//!
//! Without `node` or `tools/oidc`, [`OidcProvider::start`] returns `None` after a loud message, unless
//! `PEERPLAN_REQUIRE_OIDC=1` (scripts/test.sh sets it), which makes a missing provider a failure.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// The password of every test account (`OIDC_TEST_PASSWORD`).
pub const PASSWORD: &str = "correct horse battery staple";
/// The client registered at the provider.
pub const CLIENT_ID: &str = "peerplan";
pub const CLIENT_SECRET: &str = "peerplan-oidc-test-secret";
/// A second client, for audience tests.
pub const OTHER_CLIENT_ID: &str = "other-app";
pub const OTHER_CLIENT_SECRET: &str = "other-app-secret";

/// A running provider; stopped when dropped (and when the test process ends: it exits when its stdin closes).
pub struct OidcProvider {
    child: Child,
    /// Its issuer, `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl OidcProvider {
    /// Starts the provider with both test clients redirecting to `redirect_uri`; `claims_in` is `id_token` or
    /// `userinfo` (where the `groups` claim is put).
    pub fn start(redirect_uri: &str, claims_in: &str) -> Option<OidcProvider> {
        let root = repo_root();
        let tools = std::env::var("PEERPLAN_OIDC_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("tools/oidc"));
        let node_ok = Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let installed = tools.join("node_modules/oidc-provider/package.json").is_file();
        if !node_ok || !installed {
            let why = if node_ok {
                format!(
                    "{} has no oidc-provider (run scripts/install.sh test)",
                    tools.display()
                )
            } else {
                "node is not on PATH".to_string()
            };
            assert_ne!(
                std::env::var("PEERPLAN_REQUIRE_OIDC").as_deref(),
                Ok("1"),
                "PEERPLAN_REQUIRE_OIDC=1 but the loopback OpenID provider cannot start: {why}"
            );
            eprintln!(
                "\n\n*** SKIPPED: OpenID Connect tests need the loopback OpenID provider: {why} ***\n\
                 *** (set PEERPLAN_REQUIRE_OIDC=1 to make this a failure) ***\n"
            );
            return None;
        }
        let mut child = Command::new("node")
            .arg(root.join("scripts/oidc-provider.mjs"))
            .args(["0", "--exit-with-stdin"])
            .env("PEERPLAN_OIDC_TOOLS", &tools)
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_SECOND_CLIENT_ID", OTHER_CLIENT_ID)
            .env("OIDC_SECOND_CLIENT_SECRET", OTHER_CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", redirect_uri)
            .env("OIDC_TEST_PASSWORD", PASSWORD)
            .env("OIDC_CLAIMS_IN", claims_in)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node scripts/oidc-provider.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("oidc-provider issuer ") {
                    let _ = tx.send(issuer.trim().to_string());
                }
            }
        });
        let issuer = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the OpenID provider did not report its issuer");
        Some(OidcProvider { child, issuer })
    }
}

/// A browser stand-in: keeps cookies (by name, for the one provider host), follows nothing by itself.
pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// What a step of the sign-in returned.
pub enum Step {
    /// A redirect to this URL.
    Redirect(String),
    /// A page: status and body.
    Page(u16, String),
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn answer(&mut self, base: &str, resp: reqwest::Response) -> Step {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = v.to_ascii_lowercase().contains("expires=thu, 01 jan 1970");
            if value.is_empty() || expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let location = resp.headers()["location"].to_str().unwrap().to_string();
            let absolute = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location
            };
            return Step::Redirect(absolute);
        }
        Step::Page(status, resp.text().await.unwrap())
    }

    pub async fn get(&mut self, base: &str, url: &str) -> Step {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.answer(base, resp).await
    }

    pub async fn post(&mut self, base: &str, url: &str, form: &[(&str, &str)]) -> Step {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.answer(base, resp).await
    }
}

/// The `action` of the first form in `html` whose action ends with `suffix`.
pub fn form_action(html: &str, suffix: &str) -> Option<String> {
    html.split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|a| a.ends_with(suffix))
        .map(str::to_string)
}

/// Walks the provider's pages from `authorization_url` as `user` with `password`: redirects followed, the login
/// form filled in, the consent form confirmed (or cancelled when `consent` is false) — until the provider
/// redirects to `redirect_uri`. Returns that callback URL, or the page where the walk stopped (status, body).
pub async fn sign_in_at_provider(
    issuer: &str,
    authorization_url: &str,
    redirect_uri: &str,
    user: &str,
    password: &str,
    consent: bool,
) -> Result<String, (u16, String)> {
    let mut browser = Browser::new();
    let mut step = browser.get(issuer, authorization_url).await;
    for _ in 0..12 {
        step = match step {
            Step::Redirect(url) if url.starts_with(redirect_uri) => return Ok(url),
            Step::Redirect(url) => browser.get(issuer, &url).await,
            Step::Page(200, html) => {
                if let Some(action) = form_action(&html, "/login") {
                    browser
                        .post(
                            issuer,
                            &format!("{issuer}{action}"),
                            &[("login", user), ("password", password)],
                        )
                        .await
                } else if let Some(action) = form_action(&html, if consent { "/confirm" } else { "/abort" }) {
                    browser.post(issuer, &format!("{issuer}{action}"), &[]).await
                } else {
                    return Err((200, html));
                }
            }
            Step::Page(status, html) => return Err((status, html)),
        };
    }
    panic!("the sign-in at the provider did not end after 12 steps");
}
