//! Request plumbing shared by the `/v1` handlers, the router and the idempotency layer: the service's state
//! ([`AppState`]), the authenticated caller ([`Caller`]), strict JSON bodies ([`Body`]), the body-size limit,
//! the lenient query parameters of lists, and the parameter types the OpenAPI document declares (paging,
//! filters, `Idempotency-Key`). Handlers and service both depend on this module, not on each other.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::de::DeserializeOwned;
use sha2::Digest;
use utoipa::IntoParams;

use crate::{
    error::{error_response, ApiError, ErrorCode},
    store::Store,
    validate,
};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Shared state of the service.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    limiter: Arc<RateLimiter>,
    /// SHA-256 of a verified key → its account and when the store confirmed it ([`KEY_TTL`]).
    keys: Arc<Mutex<KeyCache>>,
}

type KeyCache = HashMap<[u8; 32], (String, Instant)>;

/// How long a verified API key is trusted without asking the store again. Keys are never reassigned; this bounds
/// how long a key removed from the database by hand keeps working in a running server.
pub const KEY_TTL: std::time::Duration = std::time::Duration::from_secs(60);

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
        if !buckets.contains_key(key) {
            buckets.insert(key.to_string(), (burst, now));
        }
        let Some((tokens, last)) = buckets.get_mut(key) else {
            return false;
        };
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

    /// The account of an API key (`None`: no such key). A key verified in the last [`KEY_TTL`] is answered from
    /// memory, found by the SHA-256 of the key (the key itself is never kept); otherwise the store is asked.
    pub(crate) async fn account_for_key(&self, key: &str) -> Result<Option<String>, ApiError> {
        let digest: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        {
            let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((account, verified)) = keys.get(&digest) {
                if verified.elapsed() < KEY_TTL {
                    return Ok(Some(account.clone()));
                }
            }
        }
        let Some(account) = self.store.account_for_hash(&hex::encode(digest)).await? else {
            return Ok(None);
        };
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() > 100_000 {
            keys.clear();
        }
        keys.insert(digest, (account.clone(), Instant::now()));
        Ok(Some(account))
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
        let account = state.account_for_key(key).await?.ok_or(ApiError::Unauthorized)?;
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
        let raw = Bytes::from_request(req, state).await.map_err(unreadable_body)?;
        // serde reads a struct from a JSON array too (`[null, null]` would be a PATCH that changes nothing):
        // every body is an object.
        if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(error_response(
                ErrorCode::InvalidBody,
                "request body: expected a JSON object",
            ));
        }
        let value = serde_json::from_slice(&raw)
            .map_err(|e| error_response(ErrorCode::InvalidBody, format!("request body: {e}")))?;
        Ok(Body { value, raw })
    }
}

/// The answer to a body that could not be read: 413 `PAYLOAD_TOO_LARGE` past the limit, else 400
/// `INVALID_BODY`.
pub(crate) fn unreadable_body(e: BytesRejection) -> Response {
    let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorCode::PayloadTooLarge
    } else {
        ErrorCode::InvalidBody
    };
    error_response(code, format!("request body: {}", e.body_text()))
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

/// Query parameters, read leniently so a bad value is a JSON error naming it (not a bare rejection).
pub(crate) type Params = HashMap<String, String>;

pub(crate) fn limit(q: &Params) -> Result<Option<i64>, ApiError> {
    q.get("limit")
        .map(|l| {
            l.parse::<i64>().map_err(|_| {
                ApiError::invalid(ErrorCode::InvalidLimit, format!("limit: \"{l}\" is not a number"))
            })
        })
        .transpose()
}

/// The `cursor` of a list whose ids start with one of `prefixes` (400 for anything else).
pub(crate) fn cursor<'a>(q: &'a Params, prefixes: &[&str]) -> Result<Option<&'a str>, ApiError> {
    validate::cursor(q.get("cursor").map(String::as_str), prefixes)
}

pub(crate) fn vpc(q: &Params) -> Option<&str> {
    q.get("vpc_id").map(String::as_str)
}

pub(crate) fn required<'a>(q: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    q.get(name).map(String::as_str).ok_or_else(|| {
        ApiError::invalid(
            ErrorCode::MissingParameter,
            format!("{name} query parameter is required"),
        )
    })
}

/// A 201 with the created object.
pub(crate) fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// A 200 with the changed object.
pub(crate) fn done<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

/// Paging of every list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Only the objects of one VPC.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct VpcQuery {
    vpc_id: Option<String>,
}

/// Only peerings with one status.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StatusQuery {
    #[param(pattern = "^(pending|active|rejected|expired|failed|deleted)$")]
    status: Option<String>,
}

/// The route to delete.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DestinationQuery {
    /// The route's destination, e.g. `172.16.0.0/16`.
    destination_cidr: String,
}

/// Makes a POST safe to retry: the same key, method, path and body (compared as parsed JSON) return the first
/// response again, also when sent concurrently (one runs, the others wait for its response). Reused on another
/// method or path or with another body it is 422 `IDEMPOTENCY_KEY_REUSED`; a request that failed releases its
/// key; 409 `IDEMPOTENCY_KEY_IN_PROGRESS` if the first request is still running after 10 seconds.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyHeader {
    /// 1–255 characters.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255)]
    idempotency_key: Option<String>,
}
