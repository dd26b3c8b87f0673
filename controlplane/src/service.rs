//! The axum service behind `/v1`: authentication by API key, strict JSON bodies, idempotent POSTs, a per-key
//! rate limit, body-size and time limits, and JSON errors everywhere (`{"error":{"code","message"}}`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::de::DeserializeOwned;

use crate::{
    error::{error_response, ApiError},
    routes::operations,
    store::Store,
};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Shared state of the service.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    limiter: Arc<RateLimiter>,
    /// Key hash → account, for keys seen before (keys are never reassigned).
    keys: Arc<Mutex<HashMap<String, String>>>,
}

impl AppState {
    /// State over a store, with a rate limit of `per_second` requests per key (bursts of twice that).
    pub fn new(store: Store, per_second: f64) -> AppState {
        AppState {
            store,
            limiter: Arc::new(RateLimiter::new(per_second)),
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// A token bucket per API key.
struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, key: &str) -> bool {
        let burst = self.rate * 2.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl AppState {
    /// Spends one of the account's requests; `false` when it is over its rate.
    pub(crate) fn allow(&self, account: &str) -> bool {
        self.limiter.allow(account)
    }
}

/// Marks a request whose rate was already charged (by the idempotency layer), so [`Caller`] does not charge it
/// twice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateCharged;

/// The authenticated account.
pub struct Caller(pub String);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        let key = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let Some(key) = key else {
            return Err(ApiError::Unauthorized);
        };
        if key.len() > 256 {
            return Err(ApiError::Unauthorized);
        }
        let hash = crate::store::hash_key(key);
        let cached = state
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            .cloned();
        let account = match cached {
            Some(a) => a,
            None => {
                let a = state
                    .store
                    .account_for_hash(&hash)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                let mut keys = state.keys.lock().unwrap_or_else(|e| e.into_inner());
                if keys.len() > 100_000 {
                    keys.clear();
                }
                keys.insert(hash, a.clone());
                a
            }
        };
        if parts.extensions.get::<RateCharged>().is_none() && !state.limiter.allow(&account) {
            return Err(ApiError::RateLimited);
        }
        Ok(Caller(account))
    }
}

/// A JSON body: another `Content-Type` than `application/json` is 415 (before the body is read); bad JSON,
/// wrong types and unknown fields are 400 with the reason; too large is 413.
pub struct Body<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        json_content_type(req.headers()).map_err(IntoResponse::into_response)?;
        declared_size(req.headers()).map_err(IntoResponse::into_response)?;
        let raw = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "PAYLOAD_TOO_LARGE"
            } else {
                "INVALID_BODY"
            };
            error_response(status, code, format!("request body: {}", e.body_text()))
        })?;
        // serde reads a struct from a JSON array too (`[null, null]` would be a PATCH that changes nothing):
        // every body is an object.
        if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                "INVALID_BODY",
                "request body: expected a JSON object",
            ));
        }
        let value = serde_json::from_slice(&raw).map_err(|e| {
            error_response(
                StatusCode::BAD_REQUEST,
                "INVALID_BODY",
                format!("request body: {e}"),
            )
        })?;
        Ok(Body { value, raw })
    }
}

/// Refuses at once (413, before reading it) a body whose `Content-Length` is over [`BODY_LIMIT`]; a body that
/// only turns out too large while read is refused then.
pub(crate) fn declared_size(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > BODY_LIMIT as u64 => Err(ApiError::PayloadTooLarge(format!(
            "request body: {n} bytes is more than the limit of {BODY_LIMIT} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Refuses a body that is not declared `application/json` (parameters such as `charset` allowed).
fn json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let given = headers.get(header::CONTENT_TYPE);
    let essence = given.and_then(|v| v.to_str().ok()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if essence.as_deref() == Some("application/json") {
        return Ok(());
    }
    let received = match given {
        None => "no Content-Type".to_string(),
        Some(v) => format!(
            "Content-Type {}",
            crate::validate::shown(&String::from_utf8_lossy(v.as_bytes()))
        ),
    };
    Err(ApiError::UnsupportedMediaType(format!(
        "request body: {received}; send the body as application/json"
    )))
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such API path")
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "method not allowed on this path",
    )
}

async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(crate::routes::document);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.clone(),
    )
        .into_response()
}

/// The `/v1` router (nest it at the root; its paths include `/v1`).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new().route("/v1/openapi.json", get(openapi_json));
    for op in operations() {
        router = router.route(&op.path, op.route);
    }
    router
        .route("/v1/{*rest}", axum::routing::any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::layer,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(crate::connection::layer))
        .with_state(state)
}
