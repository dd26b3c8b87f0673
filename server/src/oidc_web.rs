//! The web half of OpenID Connect sign-in ([`crate::oidc`]): two public routes.
//!
//! - `GET /login/oidc?next=/path`: starts a sign-in; keeps the pending state (state, nonce, PKCE verifier, start
//!   time, `next`) in the `peerplan_oidc` cookie (`HttpOnly; SameSite=Lax; Path=/login/oidc; Max-Age=600`, `Secure`
//!   as the session cookie) and redirects (303) to the provider. The cookie holds nothing a database would need to
//!   share, so any of several servers behind one address can take the callback.
//! - `GET /login/oidc/callback`: checks the callback against that cookie, redeems the code, validates the ID token,
//!   maps the groups to a role; then creates or updates the user (`source` oidc, the role the groups give, at each
//!   sign-in — [`controlplane::store::Store::upsert_external_user`]; a name that belongs to a password or proxy user
//!   is refused, never taken over), starts a session (audited as `auth.sign_in`,
//!   detail `oidc`), sets the session cookie and a new CSRF token, and redirects to `next` (this site only). Every
//!   refusal is a small page saying why (provider text escaped), and clears the pending cookie.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Query, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use controlplane::store::{users::UserSource, Store};

use crate::{
    auth::{escape, safe_next, SESSION_COOKIE},
    oidc::{CallbackQuery, OidcClient, OidcError, PendingSignIn, CALLBACK_PATH, LOGIN_PATH, MAX_PENDING_AGE},
};

/// The cookie that carries a pending sign-in from `/login/oidc` to its callback.
pub const PENDING_COOKIE: &str = "peerplan_oidc";
/// The most a pending cookie may hold (its JSON is ~250 bytes, `next` at most 2 KiB).
const MAX_PENDING_COOKIE: usize = 4096;

/// What the two routes need.
#[derive(Clone)]
pub struct OidcWeb {
    /// The discovered provider.
    pub client: Arc<OidcClient>,
    /// Users and sessions.
    pub store: Store,
    /// `--secure-cookies`: cookies always carry `Secure`.
    pub secure_cookies: bool,
}

impl std::fmt::Debug for OidcWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcWeb")
            .field("client", &self.client)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

/// The pending cookie's content.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Pending {
    #[serde(flatten)]
    sign_in: PendingSignIn,
    next: String,
}

#[derive(Debug, Default, serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Whether cookies get `Secure`: `--secure-cookies`, or the request came over TLS.
fn secure(web: &OidcWeb, parts: &Parts) -> bool {
    web.secure_cookies || parts.uri.scheme_str() == Some("https")
}

fn pending_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{PENDING_COOKIE}={value}; Path={LOGIN_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("base64url and fixed text make a header value")
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("hex and fixed text make a header value")
}

/// A small page like the sign-in page's (everything from outside escaped by the caller).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
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

/// A refused sign-in: the reason, and the way back.
fn refused(status: StatusCode, reason: &str, secure: bool) -> Response {
    let mut res = page(
        status,
        "Sign-in refused",
        &format!(
            "<p role=\"alert\">{}</p><p><a href=\"{LOGIN_PATH}\">Sign in again with single sign-on</a> · \
             <a href=\"{}\">Sign in with a password</a></p>",
            escape(reason),
            crate::auth::LOGIN
        ),
    );
    res.headers_mut()
        .append(header::SET_COOKIE, pending_cookie("", 0, secure));
    res
}

/// The values of a cookie, in the order the browser sent them.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// `GET /login/oidc`: a new pending sign-in in a cookie, and a redirect to the provider.
async fn begin(State(web): State<OidcWeb>, parts: Parts, Query(q): Query<NextQuery>) -> Response {
    let start = web.client.begin();
    let pending = Pending {
        sign_in: start.pending,
        next: safe_next(q.next.as_deref().unwrap_or("/")),
    };
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&pending).expect("plain data serializes"));
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(start.url.as_str()).expect("a URL is a header value"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::SET_COOKIE,
                pending_cookie(&value, MAX_PENDING_AGE.as_secs(), secure(&web, &parts)),
            ),
        ],
    )
        .into_response()
}

/// The status a failed [`OidcClient::finish_callback`] answers with: 502 when the provider could not be talked
/// to, 403 when it or the role map refused the person, 400 for a callback that does not fit.
fn status_of(e: &OidcError) -> StatusCode {
    match e {
        OidcError::Discovery { .. }
        | OidcError::Http { .. }
        | OidcError::Status { .. }
        | OidcError::BadResponse { .. }
        | OidcError::BadEndpoint { .. }
        | OidcError::Unsupported(_) => StatusCode::BAD_GATEWAY,
        OidcError::Provider { .. } | OidcError::NoRole { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// `GET /login/oidc/callback`.
async fn callback(State(web): State<OidcWeb>, parts: Parts, Query(q): Query<CallbackQuery>) -> Response {
    let secure = secure(&web, &parts);
    let headers = &parts.headers;
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.to_string());
    // The newest pending cookie that decodes (a browser may hold a stale one under another path).
    let pending = cookies(headers, PENDING_COOKIE)
        .filter(|v| v.len() <= MAX_PENDING_COOKIE)
        .filter_map(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .filter_map(|json| serde_json::from_slice::<Pending>(&json).ok())
        .last();
    let Some(pending) = pending else {
        return refused(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser, or took longer than 10 minutes. Start it again.",
            secure,
        );
    };
    let identity = match web.client.finish_callback(&pending.sign_in, &q).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(address = %address, error = %e, "single sign-on refused");
            return refused(status_of(&e), &e.to_string(), secure);
        }
    };
    let role = match web.client.authorize(&identity) {
        Ok(role) => role,
        Err(e) => {
            tracing::warn!(address = %address, error = %e, "single sign-on refused");
            return refused(StatusCode::FORBIDDEN, &e.to_string(), secure);
        }
    };
    // A name that belongs to a password (or proxy) user is not taken over by whoever the provider calls so.
    match web.store.get_user(&identity.name).await {
        Ok(existing) if existing.source != UserSource::Oidc => {
            tracing::warn!(address = %address, user = %existing.name, source = existing.source.as_str(),
                "single sign-on refused: the name belongs to another kind of user");
            return refused(
                StatusCode::FORBIDDEN,
                &format!(
                    "The user name {} belongs to a {} user of this server, not to a single sign-on user: ask an \
                     administrator.",
                    existing.name,
                    existing.source.as_str()
                ),
                secure,
            );
        }
        Ok(_) | Err(controlplane::error::ApiError::NotFound(_)) => {}
        Err(e) => {
            tracing::error!(error = %e, "single sign-on: cannot read the users table");
            return refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error", secure);
        }
    }
    // Bound to the provider account that first signed in under this name: another account that now calls
    // itself so (a changed username or email at the provider) does not become this user.
    let subject = format!("{} {}", web.client.settings().issuer, identity.subject);
    let taken = |name: &str| {
        format!(
            "The user name {name} belongs to another account at the identity provider (the one that first signed \
             in under it): ask an administrator."
        )
    };
    match web.store.user_subject(&identity.name).await {
        Ok(Some(bound)) if bound != subject => {
            tracing::warn!(address = %address, user = %identity.name,
                "single sign-on refused: the name is bound to another account at the provider");
            return refused(StatusCode::FORBIDDEN, &taken(&identity.name), secure);
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "single sign-on: cannot read the users table");
            return refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error", secure);
        }
    }
    let user = match web
        .store
        .upsert_external_user(&identity.name, role, UserSource::Oidc)
        .await
    {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(address = %address, user = %crate::sso::loggable(&identity.name, 80), error = %e,
                "single sign-on: the user could not be recorded");
            return refused(status_for_store(&e), &e.to_string(), secure);
        }
    };
    match web.store.bind_subject(&user.id, &subject).await {
        Ok(true) => {}
        Ok(false) => return refused(StatusCode::FORBIDDEN, &taken(&user.name), secure),
        Err(e) => {
            tracing::error!(error = %e, "single sign-on: cannot bind the user to the provider account");
            return refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error", secure);
        }
    }
    let session = match web.store.create_session(&user.id, &address, "oidc").await {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(address = %address, user = %user.name, error = %e, "single sign-on: no session");
            return refused(status_for_store(&e), &e.to_string(), secure);
        }
    };
    // A session the browser had before is ended: each sign-in starts its own.
    for old in cookies(headers, SESSION_COOKIE) {
        if old.len() == 64 && old.bytes().all(|b| b.is_ascii_hexdigit()) {
            let _ = web.store.end_session(old).await;
        }
    }
    tracing::info!(user = %user.name, role = %user.role, address = %address, "signed in with single sign-on");
    let lifetime = (session.expires_at - web.store.clock.now_ms()) / 1000;
    let mut res = (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(&safe_next(&pending.next)).unwrap_or(HeaderValue::from_static("/")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        session_cookie(&session.cookie, lifetime, secure),
    );
    h.append(header::SET_COOKIE, pending_cookie("", 0, secure));
    // A new CSRF token for the signed-in browser.
    if let Some(v) = crate::security::csrf_cookie(&crate::security::random_hex(32), secure) {
        h.append(header::SET_COOKIE, v);
    }
    res
}

/// 403 for a refusal of the store (a disabled user, a name that is not a user name), 500 otherwise.
fn status_for_store(e: &controlplane::error::ApiError) -> StatusCode {
    use controlplane::error::ApiError;
    match e {
        ApiError::Forbidden(_) | ApiError::Refused { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Both routes when single sign-on is off: 404, saying so.
async fn not_configured() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Single sign-on",
        &format!(
            "<p>Single sign-on is not configured on this server (start it with --oidc-issuer …).</p>\
             <p><a href=\"{}\">Sign in with a password</a></p>",
            crate::auth::LOGIN
        ),
    )
}

/// `GET /login/oidc` and `GET /login/oidc/callback` (both public: [`crate::access`]'s table must say so); 404 on
/// both when `web` is `None` (no `--oidc-issuer`), so the routes exist either way.
pub fn router(web: Option<OidcWeb>) -> crate::access::Routes {
    match web {
        Some(web) => crate::access::Routes::new()
            .get(LOGIN_PATH, begin)
            .get(CALLBACK_PATH, callback)
            .with_state(web),
        None => crate::access::Routes::new()
            .get(LOGIN_PATH, not_configured)
            .get(CALLBACK_PATH, not_configured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_cookie_is_scoped_to_the_sign_in() {
        let c = pending_cookie("abc", 600, false);
        let c = c.to_str().unwrap();
        assert_eq!(
            c,
            "peerplan_oidc=abc; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=600"
        );
        assert!(pending_cookie("", 0, true)
            .to_str()
            .unwrap()
            .ends_with("Max-Age=0; Secure"));
    }

    #[tokio::test]
    async fn refusal_pages_escape_the_reason_and_clear_the_pending_cookie() {
        let res = refused(StatusCode::FORBIDDEN, "<script>x</script>", false);
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("peerplan_oidc=; Path=/login/oidc;"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("&lt;script&gt;x&lt;/script&gt;") && !body.contains("<script>"),
            "{body}"
        );
    }
}
