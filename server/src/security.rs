//! The planner's HTTP surface answers only to itself (ARCHITECTURE.md, "Trust boundaries"). One middleware,
//! [`guard`], in front of everything `peerplan serve` serves (pages, server functions, exports, the plan
//! forms, the embedded `/v1`; only `/healthz` stays open):
//!
//! - **Host** (DNS rebinding): a request whose `Host` is not one this server serves ([`AllowedHosts`]: its bind
//!   address, `localhost`, `127.0.0.1`, `[::1]` and the `--allowed-host` names) is answered 421.
//! - **Origin** (CSRF): a state-changing request (any method but GET, HEAD, OPTIONS) whose `Origin` is not this
//!   server's, or that a browser marks `Sec-Fetch-Site: cross-site`/`same-site`, is refused with 403.
//! - **CSRF token** (double-submit): every response to a browser without the `peerplan_csrf` cookie sets one
//!   (random, `HttpOnly`, `SameSite=Strict`); pages render the same token into their forms ([`app::csrf`]).
//!   A state-changing request must echo the cookie's token in the `x-csrf-token` header (the planner's
//!   server-function client) or in the `csrf_token` field of its form (plain HTML forms, without JavaScript);
//!   otherwise 403. `/v1` is exempt: it authenticates every call with an API key in a header that browsers never
//!   attach on their own. So is a request whose `Authorization: Bearer` token verified in team mode
//!   ([`token_exempt`]).
//! - **Sign-in and roles** (team mode: `--auth`, or a non-loopback address, [`auth_required`]): after the Host
//!   check and before the CSRF check, [`crate::auth::Auth::check`] finds who the request is (session cookie or
//!   bearer token) and refuses it without the role its route needs ([`crate::access`]): 401 / a redirect to
//!   `/login` / 403.
//! - **Content-Security-Policy** with a per-response nonce that the inline hydration scripts carry (leptos
//!   `nonce` feature), plus [`headers`]: `X-Frame-Options`, `X-Content-Type-Options`, `Referrer-Policy`.
//!
//! [`auth_required`]: sign-in is on with `--auth`, and always on a non-loopback address.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub use app::csrf::{COOKIE as CSRF_COOKIE, FIELD as CSRF_FIELD, HEADER as CSRF_HEADER};

/// The most an import form may carry for the token check to read it (the import route's own limit).
pub const MAX_IMPORT_FORM_BYTES: usize = 64 * 1024 * 1024;
/// The most any other state-changing form may carry (a whole plan, with room for the form's other fields).
pub const MAX_FORM_BYTES: usize = controlplane::plans::MAX_BODY + 1024 * 1024;

/// A bad `--allowed-host` value.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(
        "--allowed-host {0:?} is not a host name: give a name such as planner.example.com, optionally with \
         :PORT (no scheme, path or spaces)"
    )]
    Invalid(String),
}

/// The hosts this server answers to.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    bind: SocketAddr,
    /// `--allowed-host` names, lower case, with the port if one was given.
    names: Vec<(String, Option<u16>)>,
}

/// A `Host` value split into its lower-cased name (IPv6 in brackets) and port.
fn split_host(value: &str) -> Option<(String, Option<u16>)> {
    let authority: axum::http::uri::Authority = value.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    Some((host, authority.port_u16()))
}

impl AllowedHosts {
    /// The loopback names, the bind address and the `--allowed-host` names (each `NAME` or `NAME:PORT`).
    pub fn new(bind: SocketAddr, names: &[String]) -> Result<Self, HostError> {
        let names = names
            .iter()
            .map(|n| {
                split_host(n)
                    .filter(|_| !n.contains('/') && !n.contains(char::is_whitespace))
                    .ok_or_else(|| HostError::Invalid(n.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(AllowedHosts { bind, names })
    }

    /// Whether a request's `Host` (`name[:port]`) is one this server serves. Loopback names and
    /// `--allowed-host` names without a port match on any port (a forwarded port keeps working); the bind
    /// address matches with its port.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
            return true;
        }
        let bind_name = match self.bind {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        if name == bind_name && port == Some(self.bind.port()) {
            return true;
        }
        self.names
            .iter()
            .any(|(n, p)| *n == name && (p.is_none() || *p == port))
    }

    /// What this server answers to, for the 421 message.
    fn describe(&self) -> String {
        let mut names = vec![
            self.bind.to_string(),
            "localhost".into(),
            "127.0.0.1".into(),
            "[::1]".into(),
        ];
        names.extend(self.names.iter().map(|(n, p)| match p {
            Some(p) => format!("{n}:{p}"),
            None => n.clone(),
        }));
        names.join(", ")
    }
}

/// The middleware's configuration.
#[derive(Clone, Debug)]
pub struct Guard {
    pub hosts: Arc<AllowedHosts>,
    /// Team mode; `None`: everyone acts as `local`, an admin (loopback without `--auth`).
    pub auth: Option<crate::auth::Auth>,
    /// `--secure-cookies`: the CSRF cookie is `Secure` too, as the session's is.
    pub secure_cookies: bool,
}

/// `Set-Cookie` for a CSRF token: `HttpOnly; SameSite=Strict`, plus `Secure` when the session cookie is.
pub(crate) fn csrf_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// The nonce of this response's Content-Security-Policy (request extension, read by the page renderer).
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// A fresh random value: 32 bytes as hex (CSRF tokens) or 16 (nonces).
pub(crate) fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Whether `token` looks like one this server issued (64 hex digits).
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Equality that takes as long for every mismatch (no timing hint about the token).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The well-formed tokens of the request's CSRF cookies, in the order sent. Usually one; another page on this host
/// (another port: cookies do not isolate ports) can toss in more with longer paths, which browsers send first, so
/// a request passes when it echoes any of them (the Origin check stays the first defence) and pages get the last
/// (the one at `Path=/`, ours).
fn cookie_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == CSRF_COOKIE && well_formed(value))
        .map(|(_, value)| value.to_string())
        .collect()
}

/// The Content-Security-Policy of a response: scripts only from this origin or carrying the nonce, WASM
/// compilation allowed (`'wasm-unsafe-eval'`), no plugins, no framing, forms only to this origin.
pub fn content_security_policy(nonce: &str) -> String {
    // `cargo leptos watch` reloads the page over a WebSocket on its reload port.
    let reload = if std::env::var_os("LEPTOS_WATCH").is_some() {
        " ws: wss:"
    } else {
        ""
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// A refusal in plain text (the message names the offending value, quoted). It is sent before the request's body
/// is read, so it says `Connection: close`: a keep-alive client would otherwise write its next request into a
/// connection the server is closing.
fn refuse(status: StatusCode, message: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONNECTION, "close"),
        ],
        message + "\n",
    )
        .into_response()
}

/// A request whose `Authorization: Bearer` token verified (team mode, [`crate::auth`]) proves itself and needs
/// no CSRF token: browsers never attach that header on their own. Without team mode nothing is exempt.
pub fn token_exempt(req: &Request) -> bool {
    req.extensions()
        .get::<crate::auth::Identity>()
        .is_some_and(|id| id.via == crate::auth::Via::Token)
}

/// Whether the method changes state (everything but GET, HEAD, OPTIONS and TRACE).
fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The request's host: the URI's authority (HTTP/2) or the `Host` header.
fn request_host(req: &Request) -> Option<String> {
    req.uri().authority().map(|a| a.to_string()).or_else(|| {
        req.headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    })
}

/// The origin check of a state-changing request: `Origin`, when present, must be this server
/// (`http://HOST` or `https://HOST`); `Sec-Fetch-Site` must not be `cross-site` or `same-site`.
fn check_origin(headers: &HeaderMap, host: &str) -> Result<(), String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        let own = [format!("http://{host}"), format!("https://{host}")];
        if !own.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            return Err(format!(
                "cross-origin request refused: Origin {origin:?} is not this planner ({:?}); \
                 only the planner's own pages may change plans",
                own[0]
            ));
        }
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Err(format!(
                "cross-origin request refused: the browser says it comes from another site \
                 (Sec-Fetch-Site: {site}); only the planner's own pages may change plans"
            ));
        }
    }
    Ok(())
}

/// The token a form carries in its `csrf_token` field: URL-encoded forms are scanned as they are (tokens are
/// hex, never escaped), multipart forms are read up to that field.
async fn form_token(content_type: &str, body: &axum::body::Bytes) -> Option<String> {
    let media_type = content_type.to_ascii_lowercase();
    if media_type.starts_with("application/x-www-form-urlencoded") {
        let prefix = format!("{CSRF_FIELD}=");
        return body
            .split(|b| *b == b'&')
            .find_map(|pair| pair.strip_prefix(prefix.as_bytes()))
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string);
    }
    if media_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(content_type).ok()?;
        let stream = Body::from(body.clone()).into_data_stream();
        let mut form = multer::Multipart::new(stream, boundary);
        while let Ok(Some(field)) = form.next_field().await {
            if field.name() == Some(CSRF_FIELD) {
                return field.text().await.ok();
            }
        }
    }
    None
}

/// The CSRF check of a state-changing request. Returns the request (its body read back in, if the token was
/// in a form) or the refusal.
async fn check_token(req: Request, cookies: &[String]) -> Result<Request, Response> {
    let missing = |why: &str| {
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "CSRF check failed: {why}. Reload the planner's page and try again \
                 (scripts: read the token from the page's <meta name=\"csrf-token\"> and send it with the \
                 {CSRF_COOKIE} cookie, in the {CSRF_HEADER} header)"
            ),
        )
    };
    if cookies.is_empty() {
        return Err(missing(&format!(
            "the request carries no {CSRF_COOKIE} cookie (cookies off, or the page is from an earlier session)"
        )));
    }
    let matches = |token: &[u8]| cookies.iter().any(|c| same(token, c.as_bytes()));
    if let Some(header) = req.headers().get(CSRF_HEADER) {
        return if matches(header.as_bytes()) {
            Ok(req)
        } else {
            Err(missing(&format!(
                "the {CSRF_HEADER} header does not match the session's token"
            )))
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // The media type is case-insensitive; the multipart boundary is not (browsers' boundaries are mixed case).
    let media_type = content_type.to_ascii_lowercase();
    let is_form = media_type.starts_with("application/x-www-form-urlencoded")
        || media_type.starts_with("multipart/form-data");
    if !is_form {
        return Err(missing(&format!("the request carries no {CSRF_HEADER} header")));
    }
    let limit = if req.uri().path() == app::paths::PLAN_IMPORT {
        MAX_IMPORT_FORM_BYTES
    } else {
        MAX_FORM_BYTES
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            return Err(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the form cannot be read (at most {limit} bytes): {e}"),
            ))
        }
    };
    match form_token(&content_type, &bytes).await {
        Some(token) if matches(token.as_bytes()) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Some(_) => Err(missing(&format!(
            "the form's {CSRF_FIELD} field does not match the session's token"
        ))),
        None => Err(missing(&format!("the form has no {CSRF_FIELD} field"))),
    }
}

/// The middleware (see the module documentation).
pub async fn guard(State(guard): State<Guard>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let host = match request_host(&req) {
        Some(h) if guard.hosts.allows(&h) => h,
        other => {
            let named = other.map_or_else(|| "no Host".to_string(), |h| format!("the host {h:?}"));
            return refuse(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "misdirected request: this Peerplan server does not serve {named}; it answers to {}. \
                     To reach it under another name, start it with --allowed-host NAME",
                    guard.hosts.describe()
                ),
            );
        }
    };
    if let Some(auth) = &guard.auth {
        if let Err(refusal) = auth.check(&mut req).await {
            return refusal;
        }
    }
    let cookies = cookie_tokens(req.headers());
    let path = req.uri().path();
    let api_keyed = path == "/v1" || path.starts_with("/v1/");
    if changes_state(req.method()) && !api_keyed && !token_exempt(&req) {
        if let Err(message) = check_origin(req.headers(), &host) {
            return refuse(StatusCode::FORBIDDEN, message);
        }
        req = match check_token(req, &cookies).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        };
    }
    let fresh = cookies.is_empty();
    let token = cookies.last().cloned().unwrap_or_else(|| random_hex(32));
    let nonce = random_hex(16);
    req.extensions_mut().insert(app::csrf::CsrfToken(token.clone()));
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if fresh && !api_keyed {
        if let Some(v) = csrf_cookie(&token, guard.secure_cookies) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The fixed security headers of every response, as tower-http layers: no framing, no MIME sniffing, no
/// referrer beyond this origin.
pub fn headers<S>(router: axum::Router<S>) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

/// Whether `addr` is a loopback address (only this machine can reach it).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Whether sign-in is on: with `--auth`, and always on a non-loopback address (anyone who can reach it could
/// otherwise read, change and delete every plan). `--insecure-public` no longer turns anything off; it is
/// accepted for old scripts.
pub fn auth_required(addr: &SocketAddr, auth: bool) -> bool {
    auth || !is_loopback(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_bind_address_and_allowed_names_are_served() {
        let bind: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let hosts =
            AllowedHosts::new(bind, &["planner.example.com".into(), "Peer.Example:8443".into()]).unwrap();
        for ok in [
            "127.0.0.1:3000",
            "localhost",
            "localhost:8080",
            "LOCALHOST.:3000",
            "[::1]:3000",
            "planner.example.com",
            "planner.example.com:443",
            "peer.example:8443",
        ] {
            assert!(hosts.allows(ok), "{ok} should be served");
        }
        for bad in [
            "rebind.evil.example",
            "peer.example:8444",
            "127.0.0.2:3000",
            "",
            "user@localhost",
            "planner.example.com.evil.example",
        ] {
            assert!(!hosts.allows(bad), "{bad} should be refused");
        }
        let public = AllowedHosts::new("192.0.2.7:3000".parse().unwrap(), &[]).unwrap();
        assert!(public.allows("192.0.2.7:3000"));
        assert!(!public.allows("192.0.2.7:3001"));
    }

    #[test]
    fn allowed_host_values_are_checked() {
        let bind: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        for bad in ["http://x.example", "x.example/path", "a b", ""] {
            let e = AllowedHosts::new(bind, &[bad.into()]).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn a_public_bind_always_signs_in() {
        let public: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert!(auth_required(&public, false));
        assert!(auth_required(&"192.0.2.7:3000".parse().unwrap(), false));
        assert!(!auth_required(&"127.0.0.1:3000".parse().unwrap(), false));
        assert!(!auth_required(&"[::1]:3000".parse().unwrap(), false));
        assert!(auth_required(&"127.0.0.1:3000".parse().unwrap(), true));
    }

    #[test]
    fn cookie_tokens_are_found_among_other_cookies() {
        let token = "ab".repeat(32);
        let tossed = "cd".repeat(32);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; {CSRF_COOKIE}={token}; y=2")).unwrap(),
        );
        assert_eq!(cookie_tokens(&h), std::slice::from_ref(&token));
        // A cookie tossed in by another port's page comes first; ours is still there, last.
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={tossed}; {CSRF_COOKIE}={token}")).unwrap(),
        );
        assert_eq!(cookie_tokens(&h), [tossed, token]);
        h.insert(header::COOKIE, HeaderValue::from_static("peerplan_csrf=short"));
        assert!(cookie_tokens(&h).is_empty());
    }
}
