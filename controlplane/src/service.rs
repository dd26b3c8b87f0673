//! The axum service behind `/v1`: authentication by API key, strict JSON bodies, idempotent POSTs, a per-key
//! rate limit, body-size and time limits, and JSON errors everywhere (`{"error":{"code","message"}}`).

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request},
    http::{request::Parts, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{
    error::{error_response, ApiError},
    routes::{operations, ApiDoc},
    store::Store,
    wire,
};
use utoipa::OpenApi;

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
        if !state.limiter.allow(&account) {
            return Err(ApiError::RateLimited);
        }
        Ok(Caller(account))
    }
}

/// A JSON body: bad JSON, wrong types and unknown fields are 400 with the reason; too large is 413.
pub struct Body<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let raw = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "PAYLOAD_TOO_LARGE"
            } else {
                "INVALID_BODY"
            };
            error_response(status, code, format!("request body: {}", e.body_text()))
        })?;
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

/// Runs a POST once per `Idempotency-Key`: the same key and body return the first response again; the same
/// key with another body is 422.
pub(crate) async fn idempotent<T, F, Fut>(
    state: &AppState,
    caller: &str,
    headers: &HeaderMap,
    raw: &Bytes,
    status: StatusCode,
    run: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let key = headers
        .get("idempotency-key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let Some(key) = key else {
        return Ok((status, Json(run().await?)).into_response());
    };
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::invalid(
            "INVALID_IDEMPOTENCY_KEY",
            "Idempotency-Key must be 1 to 255 characters",
        ));
    }
    let hash = hex::encode(Sha256::digest(raw));
    let pool = state.store.pool();
    let prior = sqlx::query(
        "SELECT request_hash, status, body FROM idempotency WHERE account_id = $1 AND idem_key = $2",
    )
    .bind(caller)
    .bind(&key)
    .fetch_optional(pool)
    .await?;
    if let Some(row) = prior {
        let prior_hash: String = row.try_get("request_hash")?;
        if prior_hash != hash {
            return Err(ApiError::IdempotencyMismatch);
        }
        let code: i64 = row.try_get("status")?;
        let body: String = row.try_get("body")?;
        let status = StatusCode::from_u16(code as u16).unwrap_or(StatusCode::OK);
        return Ok((
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response());
    }
    let (status, body) = match run().await {
        Ok(v) => (status, serde_json::to_string(&v).expect("serializable")),
        Err(e @ ApiError::Storage(_)) => return Err(e),
        Err(e) => {
            let (s, code) = e.status_and_code();
            let body = wire::ErrorBody {
                error: wire::ErrorDetail {
                    code: code.to_string(),
                    message: e.to_string(),
                },
            };
            (s, serde_json::to_string(&body).expect("serializable"))
        }
    };
    sqlx::query(
        "INSERT INTO idempotency (account_id, idem_key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, idem_key) DO NOTHING",
    )
    .bind(caller)
    .bind(&key)
    .bind(&hash)
    .bind(status.as_u16() as i64)
    .bind(&body)
    .bind(state.store.clock.now_ms())
    .execute(pool)
    .await?;
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
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
    let body = DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the document serializes")
    });
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
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state)
}
