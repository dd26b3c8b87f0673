//! Team mode's sign-in (`peerplan serve --auth`, and always on a non-loopback address): who a request is, the
//! `/login` form and `POST /logout`, and the refusals of requests without the role their route needs
//! ([`crate::access`]).
//!
//! - **Who**: a request proves itself with the `peerplan_session` cookie (a session in the database,
//!   [`controlplane::store::sessions`]) or with `Authorization: Bearer <token>` (a user's API token). A bearer
//!   header that does not verify is refused (401) whatever the route; a verified one also exempts the request from
//!   the CSRF token check ([`crate::security::token_exempt`]: browsers never attach that header on their own).
//!   The user goes into the request's extensions ([`Identity`]), where [`crate::audit_web::actor_of`] and the pages
//!   find it.
//! - **Refusals**: no session on an API path (`/api/…`, which holds the server functions) → 401 JSON
//!   `{"error":{"code":"unauthorized",…}}`; on a page or form → 303 to `/login?next=…`. A role too low → 403 JSON
//!   `{"error":{"code":"forbidden","message":"… needs the planner role (you are viewer)"}}`, or a small page.
//! - **Sign-in** (`/login`, a plain HTML form that works without JavaScript): its POST is CSRF-checked like every
//!   form; the password is checked with argon2 (a dummy check for unknown names, so both take as long); failures are
//!   throttled per name and client IP address in the database (429 with `Retry-After`), and at most
//!   [`SIGN_INS_AT_ONCE`] checks run at once server-wide (more: 429 at once). Success always makes a new
//!   session (no fixation: an old session cookie of the browser is ended), sets the cookie `HttpOnly;
//!   SameSite=Lax; Path=/`, plus `Secure` with `--secure-cookies` or when the request itself came over TLS
//!   (`X-Forwarded-Proto` is not trusted: any client can send it; behind a TLS-terminating proxy, pass
//!   `--secure-cookies`), gives the browser a new CSRF token, and redirects to `next` — a path of this site only
//!   (`/…`, never `//…` or `/\…`: no open redirect).
//! - **Sign-out**: `POST /logout` (CSRF-checked) deletes the session's row and clears the cookie.
//!
//! Secrets never reach the logs: neither passwords, tokens nor cookies are logged or echoed.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Query, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode},
    response::{Html, IntoResponse, Response},
    Extension, Form, Json,
};
use controlplane::store::{
    users::{Role, SignIn, User},
    Store,
};

use crate::access::{self, Need};

/// The sign-in page (`GET`) and form (`POST`).
pub const LOGIN: &str = "/login";
/// Sign-out (`POST`).
pub const LOGOUT: &str = "/logout";
/// The session cookie.
pub const SESSION_COOKIE: &str = "peerplan_session";

/// Team mode's configuration, the guard's part of it.
#[derive(Clone)]
pub struct Auth {
    pub store: Store,
    /// `--secure-cookies`: the session cookie always carries `Secure`.
    pub secure_cookies: bool,
    /// `--auth-proxy-header`: a trusted reverse proxy names the user ([`crate::proxy_auth`]).
    pub proxy: Option<crate::proxy_auth::ProxyAuthConfig>,
    /// `--oidc-issuer`: the sign-in page offers single sign-on (`/login/oidc`).
    pub oidc: bool,
    /// Password checks in progress ([`SIGN_INS_AT_ONCE`] slots, [`sign_in_slots`]).
    pub sign_ins: Arc<tokio::sync::Semaphore>,
}

/// Password checks run at once, server-wide. Each argon2id check takes 19 MiB and a core for tens of
/// milliseconds, and the throttle counts failures per name: a flood of sign-ins under ever new names would
/// otherwise queue without bound and keep every core busy. A sign-in arriving while all slots are taken is
/// answered 429 (`Retry-After: 1`) at once.
pub const SIGN_INS_AT_ONCE: usize = 4;

/// The slots of [`Auth::sign_ins`].
pub fn sign_in_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(SIGN_INS_AT_ONCE))
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

/// How a request proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Session,
    Token,
    /// A trusted reverse proxy's header (browser-borne: not exempt from the CSRF check).
    Proxy,
}

/// The signed-in user of a request (request extension).
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: User,
    pub via: Via,
}

/// A JSON refusal `{"error": {"code", "message"}}`, sent before the body is read (so `Connection: close`).
fn json_refusal(status: StatusCode, code: &str, message: String) -> Response {
    let mut res = (
        status,
        [(header::CONNECTION, "close")],
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// Text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A small page (the body is HTML written here; everything from outside is escaped by the caller).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{} · Peerplan</title><link rel=\"stylesheet\" href=\"/pkg/peerplan.css\"></head>\
             <body><main class=\"login-page\"><h1>Peerplan</h1>{body}</main></body></html>",
            escape(title)
        )),
    )
        .into_response()
}

/// `next` if it is a path of this site, else `/`: it must start with one `/` (not `//` nor `/\`, which browsers
/// read as another host), hold no backslash or control character, and not lead back to the sign-in itself.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c == ' ')
        && next.len() <= 2048
        && !next.starts_with(LOGIN)
        && !next.starts_with(LOGOUT);
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// The well-formed (64 hex digits) values of a cookie, in the order the browser sent them.
fn cookie_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, v)| *n == name && v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(_, v)| v.to_string())
        .take(4)
        .collect()
}

impl Auth {
    /// Who the request is: its bearer token's user (a header that does not verify is refused), else its session
    /// cookie's (a cookie that does not verify is as none).
    async fn identify(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Option<Identity>, Response> {
        let storage = |e: controlplane::error::ApiError| {
            tracing::error!(error = %e, "cannot read the sign-in tables");
            json_refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error".into(),
            )
        };
        // Only the `Bearer` scheme is Peerplan's: another one (the `Basic` a proxy with its own sign-in passes on)
        // is not a token and is left alone.
        let bearer = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .filter(|v| v.len() >= 7 && v[..7].eq_ignore_ascii_case(b"bearer "));
        if let Some(value) = bearer {
            let token = std::str::from_utf8(&value[7..])
                .ok()
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 256);
            let Some(token) = token else {
                return Err(json_refusal(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the Authorization header is not `Bearer <token>`".into(),
                ));
            };
            return match self.store.token_user(token).await.map_err(storage)? {
                Some(user) => Ok(Some(Identity {
                    user,
                    via: Via::Token,
                })),
                None => Err(json_refusal(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the bearer token is not valid (unknown, replaced by `peerplan user reset`, or its user is \
                     disabled)"
                        .into(),
                )),
            };
        }
        // The proxy's word, when it is trusted, comes before a session the browser may still hold.
        if let (Some(proxy), Some(peer)) = (&self.proxy, peer) {
            let user = crate::proxy_auth::proxy_user(&self.store, headers, peer, proxy)
                .await
                .map_err(storage)?;
            if let Some(user) = user {
                return Ok(Some(Identity {
                    user,
                    via: Via::Proxy,
                }));
            }
        }
        for cookie in cookie_values(headers, SESSION_COOKIE) {
            if let Some(user) = self.store.session_user(&cookie).await.map_err(storage)? {
                return Ok(Some(Identity {
                    user,
                    via: Via::Session,
                }));
            }
        }
        Ok(None)
    }

    /// The guard's team-mode step: refuses a request without the role its route needs (401 / 303 to the sign-in /
    /// 403), or puts its [`Identity`] into its extensions. Public routes pass untouched.
    pub async fn check(&self, req: &mut Request) -> Result<(), Response> {
        let path = req.uri().path().to_string();
        let Need::Role(needed) = access::needed(req.method(), &path) else {
            return Ok(());
        };
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        match self.identify(req.headers(), peer).await? {
            None => Err(self.unauthenticated(req)),
            Some(id) if id.user.role < needed => Err(forbidden(req.method(), &path, needed, id.user.role)),
            Some(id) => {
                req.extensions_mut().insert(id);
                Ok(())
            }
        }
    }

    /// No session: 401 on the APIs, the sign-in page for pages (back here after it) and forms.
    fn unauthenticated(&self, req: &Request) -> Response {
        let path = req.uri().path();
        if access::is_api(path) {
            return json_refusal(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!(
                    "sign in first: {path} needs a session (sign in at {LOGIN}) or an API token \
                     (Authorization: Bearer …)"
                ),
            );
        }
        let location = if req.method() == Method::GET || req.method() == Method::HEAD {
            let here = req
                .uri()
                .path_and_query()
                .map_or(path, |p| p.as_str())
                .to_string();
            format!(
                "{LOGIN}?{}",
                serde_urlencoded::to_string([("next", safe_next(&here))]).unwrap_or_default()
            )
        } else {
            LOGIN.to_string()
        };
        (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, location),
                (header::CONNECTION, "close".to_string()),
            ],
        )
            .into_response()
    }
}

/// A role too low: 403 naming the role needed.
fn forbidden(method: &Method, path: &str, needed: Role, have: Role) -> Response {
    if access::is_api(path) {
        return json_refusal(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{method} {path} needs the {needed} role (you are {have})"),
        );
    }
    let mut res = page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        &format!(
            "<p role=\"alert\">This needs the {needed} role (you are {have}).</p>\
             <p><a href=\"/\">Back to the plans</a></p>"
        ),
    );
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// The client of a request: its socket address (the audit trail's) and IP address (the throttle's), and whether
/// it came over TLS.
struct Client {
    address: String,
    ip: String,
    tls: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let socket = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Client {
            address: socket.map_or_else(|| "unknown".into(), |s| s.to_string()),
            ip: socket.map_or_else(|| "unknown".into(), |s| s.ip().to_string()),
            tls: parts.uri.scheme_str() == Some("https"),
        })
    }
}

/// The sign-in routes' state: `None` when sign-in is off.
#[derive(Clone, Debug)]
struct LoginState(Option<Auth>);

#[derive(Debug, Default, serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The sign-in form (the CSRF token first, as on every form).
fn login_form(csrf: &str, next: &str, name: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"field-error\" role=\"alert\">{}</p>", escape(e))
    });
    format!(
        "{error}<form method=\"post\" action=\"{LOGIN}\" class=\"login-form\" aria-label=\"Sign in\">\
         <input type=\"hidden\" name=\"{field}\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label for=\"login-name\">Name</label>\
         <input id=\"login-name\" name=\"name\" autocomplete=\"username\" autocapitalize=\"none\" required \
         maxlength=\"256\" value=\"{name}\">\
         <label for=\"login-password\">Password</label>\
         <input id=\"login-password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" \
         required maxlength=\"1024\">\
         <button type=\"submit\">Sign in</button></form>",
        field = crate::security::CSRF_FIELD,
        csrf = escape(csrf),
        next = escape(next),
        name = escape(name),
    )
}

/// `GET /login`.
async fn login_page(
    State(LoginState(auth)): State<LoginState>,
    Extension(csrf): Extension<app::csrf::CsrfToken>,
    Query(q): Query<NextQuery>,
) -> Response {
    if auth.is_none() {
        return page(
            StatusCode::OK,
            "Sign in",
            "<p>This server runs without sign-in (on loopback, without --auth): everyone who can reach it \
             acts as <strong>local</strong>, an admin.</p><p><a href=\"/\">To the plans</a></p>",
        );
    }
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    let mut body = login_form(&csrf.0, &next, "", None);
    if auth.as_ref().is_some_and(|a| a.oidc) {
        body.push_str(&format!(
            "<p class=\"login-sso\"><a href=\"{}?{}\">Sign in with single sign-on</a></p>",
            crate::oidc::LOGIN_PATH,
            escape(&serde_urlencoded::to_string([("next", &next)]).unwrap_or_default())
        ));
    }
    page(StatusCode::OK, "Sign in", &body)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `Set-Cookie` for the session (or its removal, `value` empty).
fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("hex and fixed text make a header value")
}

/// `POST /login` (`name`, `password`, `next`, and the CSRF token the guard checked).
async fn login(
    State(LoginState(auth)): State<LoginState>,
    Extension(csrf): Extension<app::csrf::CsrfToken>,
    client: Client,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let Some(auth) = auth else {
        return page(
            StatusCode::NOT_FOUND,
            "Sign in",
            "<p>Sign-in is off on this server (start it with --auth).</p>",
        );
    };
    let next = safe_next(&f.next);
    let name = f.name.trim();
    let shown_name: String = name.chars().take(256).collect();
    let refused = |message: &str, retry_after_secs: i64| {
        let form = login_form(&csrf.0, &next, &shown_name, Some(message));
        let mut res = page(StatusCode::TOO_MANY_REQUESTS, "Sign in", &form);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        res
    };
    let Ok(_slot) = auth.sign_ins.clone().try_acquire_owned() else {
        tracing::warn!(address = %client.address, "sign-in refused: {SIGN_INS_AT_ONCE} password checks already running");
        return refused(
            "The server is checking many sign-ins at once: try again in a moment.",
            1,
        );
    };
    // Bounded, so a huge field costs neither the hash nor the database anything.
    let outcome = if name.len() > 256 || f.password.len() > 1024 || name.is_empty() {
        Ok(SignIn::Refused)
    } else {
        auth.store
            .sign_in(name, &f.password, &client.ip, &client.address)
            .await
    };
    match outcome {
        Ok(SignIn::Accepted { user, session }) => {
            // A session the browser had before is ended: each sign-in starts its own.
            for old in cookie_values(&headers, SESSION_COOKIE) {
                let _ = auth.store.end_session(&old).await;
            }
            tracing::info!(user = %user.name, address = %client.address, "signed in");
            let secure = auth.secure_cookies || client.tls;
            let lifetime = (session.expires_at - auth.store.clock.now_ms()) / 1000;
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
            let h = res.headers_mut();
            h.append(
                header::SET_COOKIE,
                session_cookie(&session.cookie, lifetime, secure),
            );
            // A new CSRF token for the signed-in browser.
            if let Some(v) = crate::security::csrf_cookie(&crate::security::random_hex(32), secure) {
                h.append(header::SET_COOKIE, v);
            }
            res
        }
        Ok(SignIn::Refused) => page(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &login_form(&csrf.0, &next, &shown_name, Some("Wrong name or password.")),
        ),
        Ok(SignIn::Throttled { retry_after_secs }) => refused(
            &format!("Too many failed sign-ins for this name from your address: try again in {retry_after_secs} s."),
            retry_after_secs,
        ),
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign in",
                "<p role=\"alert\">The sign-in could not be checked (internal error); try again.</p>",
            )
        }
    }
}

/// `POST /logout`: ends the session and clears the cookie.
async fn logout(State(LoginState(auth)): State<LoginState>, client: Client, headers: HeaderMap) -> Response {
    let Some(auth) = auth else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    };
    for cookie in cookie_values(&headers, SESSION_COOKIE) {
        if let Err(e) = auth.store.end_session(&cookie).await {
            tracing::error!(error = %e, "cannot end a session");
        }
    }
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, LOGIN)]).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session_cookie("", 0, auth.secure_cookies || client.tls),
    );
    res
}

/// `/login` and `/logout` (answering that sign-in is off when `auth` is `None`).
pub fn router(auth: Option<Auth>) -> crate::access::Routes {
    crate::access::Routes::new()
        .get(LOGIN, login_page)
        .post(LOGIN, login)
        .post(LOGOUT, logout)
        .with_state(LoginState(auth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for ok in ["/", "/plans/plan_1", "/audit?user=a&plan=b", "/plans/x%2Fy"] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/x\\y",
            "javascript:alert(1)",
            "/a\nb",
            "/ a",
            "/login?next=/x",
            "/logout",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
        let form = login_form("tok", "/\"><x>", "<img src=x>", Some("<b>"));
        assert!(
            !form.contains("<x>") && !form.contains("<img") && !form.contains("<b>"),
            "{form}"
        );
    }

    #[test]
    fn session_cookies_are_http_only_and_lax() {
        let c = session_cookie(&"ab".repeat(32), 60, false);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"));
        assert!(!c.contains("Secure"));
        assert!(session_cookie("", 0, true)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }
}
