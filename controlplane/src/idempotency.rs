//! `Idempotency-Key` on every `/v1` POST, as a layer in front of the handlers.
//!
//! The key is claimed before the request runs: one row per (account, key) is inserted in state `processing`,
//! and the primary key makes that insert atomic on SQLite and PostgreSQL alike (`ON CONFLICT DO NOTHING`: of
//! concurrent requests with one key exactly one inserts). The winner runs the request and fills the row in
//! with the response (`done`); the others wait for that row and replay it, so concurrent retries create one
//! object and all get its id. A key belongs to one method and path and one body, compared as parsed JSON (key
//! order and white space do not matter): reused on another method or path, or with another body, it is 422
//! `IDEMPOTENCY_KEY_REUSED`.
//!
//! A request that fails (any 4xx or 5xx) releases its key: nothing was changed (every change is one
//! transaction), so a retry with the same key runs again instead of replaying the failure forever. The request
//! runs in a task of its own, so a client that disconnects or a timeout cannot leave a claim half-done; a
//! waiter that sees a claim still `processing` after [`WAIT`] gets 409 `IDEMPOTENCY_KEY_IN_PROGRESS`, and a
//! claim left behind by a process that died is taken over after [`STALE_MS`].

use std::time::{Duration, Instant};

use crate::store::db;
use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    error::{error_response, ApiError, ErrorCode},
    request::AppState,
    store::new_id,
    validate::shown,
};

/// How long a request waits for another one holding its key before giving up with 409.
pub const WAIT: Duration = Duration::from_secs(10);
/// Age (by the store's clock) after which a `processing` claim counts as abandoned by a process that died.
pub const STALE_MS: i64 = 120_000;
/// Largest response kept for replay.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Set on a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";

/// What a request is, for its key: method, path and a hash of its body.
struct Fingerprint {
    method: String,
    path: String,
    hash: String,
}

/// A claimed key: deleting or completing it needs the claim's token, so a taken-over claim is not touched.
#[derive(Clone)]
struct Claim {
    account: String,
    key: String,
    token: String,
}

/// The hash of a body as parsed JSON with object keys sorted; a body that is not JSON is hashed as is (its
/// request fails with 400 anyway and releases the key).
pub fn body_hash(raw: &[u8]) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(v, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let text = if raw.iter().all(u8::is_ascii_whitespace) {
        "json:null".to_string()
    } else {
        match serde_json::from_slice::<Value>(raw) {
            Ok(v) => {
                let mut out = String::from("json:");
                canonical(&v, &mut out);
                out
            }
            Err(_) => format!("raw:{}", hex::encode(raw)),
        }
    };
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The account of the request's API key, if it has a valid one (the layer charges its rate).
async fn account(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 256);
    match key {
        Some(k) => state.account_for_key(k).await,
        None => Ok(None),
    }
}

/// The layer: POSTs with an `Idempotency-Key` and a valid API key run at most once per key; everything else
/// passes through.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    // Without a valid key the handler answers 401 (before the body is read).
    let account = match account(&state, req.headers()).await {
        Ok(Some(a)) => a,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    // The account's rate applies before the key is claimed or replayed (a replay or a refused reuse is a request
    // too, and claiming takes the database's write lock); the handler then does not charge it again.
    if !state.allow(&account) {
        return ApiError::RateLimited.into_response();
    }
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) => k.to_string(),
        _ => {
            return ApiError::invalid(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response()
        }
    };
    // Read the body (its size limit applies as in the handlers) and hand the handler a copy of the request.
    if let Err(too_large) = crate::request::declared_size(req.headers()) {
        return too_large.into_response();
    }
    let (parts, body) = req.into_parts();
    let mut copy = Request::new(());
    *copy.method_mut() = parts.method.clone();
    *copy.uri_mut() = parts.uri.clone();
    *copy.version_mut() = parts.version;
    *copy.headers_mut() = parts.headers.clone();
    *copy.extensions_mut() = parts.extensions.clone();
    copy.extensions_mut().insert(crate::request::RateCharged);
    let raw = match Bytes::from_request(Request::from_parts(parts, body), &()).await {
        Ok(b) => b,
        Err(e) => return crate::request::unreadable_body(e),
    };
    let fingerprint = Fingerprint {
        method: copy.method().to_string(),
        path: copy.uri().path().to_string(),
        hash: body_hash(&raw),
    };
    let claim = match claim(&state, &account, &key, &fingerprint).await {
        Ok(Claimed::Owner(c)) => c,
        Ok(Claimed::Replay(res)) => return res,
        Err(e) => return e.into_response(),
    };
    let (parts, ()) = copy.into_parts();
    let req = Request::from_parts(parts, Body::from(raw));
    // The request runs to its end and records (or releases) its key even if this future is dropped.
    let task = tokio::spawn(run_and_record(state, claim, next, req));
    match task.await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "idempotent request task failed");
            error_response(ErrorCode::Internal, ErrorCode::Internal.message())
        }
    }
}

enum Claimed {
    Owner(Claim),
    Replay(Response),
}

/// Claims the key, or waits for the request holding it and replays its response.
async fn claim(state: &AppState, account: &str, key: &str, f: &Fingerprint) -> Result<Claimed, ApiError> {
    let started = Instant::now();
    let store = &state.store;
    loop {
        let token = new_id("claim");
        let now = store.clock.now_ms();
        let inserted = store
            .write_one(
                db::query(
            "INSERT INTO idempotency (account_id, idem_key, method, path, request_hash, state, claim, status, \
             body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'processing', $6, 0, '', $7, $7) \
             ON CONFLICT (account_id, idem_key) DO NOTHING",
        )
        .bind(account)
        .bind(key)
        .bind(&f.method)
        .bind(&f.path)
        .bind(&f.hash)
        .bind(&token)
        .bind(now),
            )
            .await?
            .rows_affected();
        let claim = Claim {
            account: account.to_string(),
            key: key.to_string(),
            token,
        };
        if inserted == 1 {
            return Ok(Claimed::Owner(claim));
        }
        let row = db::query(
            "SELECT method, path, request_hash, state, claim, status, body, updated_at FROM idempotency \
             WHERE account_id = $1 AND idem_key = $2",
        )
        .bind(account)
        .bind(key)
        .fetch_optional(store.pool())
        .await?;
        // Released meanwhile (its request failed): try to claim it again.
        let Some(row) = row else { continue };
        let (method, path): (String, String) = (row.try_get("method")?, row.try_get("path")?);
        if method != f.method || path != f.path {
            return Err(ApiError::IdempotencyKeyReused(format!(
                "Idempotency-Key {} was first used for {method} {path}; it cannot be reused for {} {}",
                shown(key),
                f.method,
                f.path
            )));
        }
        if row.try_get::<String, _>("request_hash")? != f.hash {
            return Err(ApiError::IdempotencyKeyReused(format!(
                "Idempotency-Key {} was first used with a different request body for {method} {path}",
                shown(key)
            )));
        }
        if row.try_get::<String, _>("state")? == "done" {
            let status: i64 = row.try_get("status")?;
            let body: String = row.try_get("body")?;
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            return Ok(Claimed::Replay(
                (
                    status,
                    [
                        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                        (
                            header::HeaderName::from_static(REPLAYED),
                            HeaderValue::from_static("true"),
                        ),
                    ],
                    body,
                )
                    .into_response(),
            ));
        }
        // Still processing. A claim that old was left by a process that died: take it over (only one taker
        // wins the compare-and-set on its token).
        let old_token: String = row.try_get("claim")?;
        let updated: i64 = row.try_get("updated_at")?;
        if store.clock.now_ms() - updated > STALE_MS {
            let token = new_id("claim");
            let taken = store
                .write_one(
                    db::query(
                "UPDATE idempotency SET claim = $1, updated_at = $2 WHERE account_id = $3 AND idem_key = $4 \
                 AND state = 'processing' AND claim = $5",
            )
            .bind(&token)
            .bind(store.clock.now_ms())
            .bind(account)
            .bind(key)
            .bind(&old_token),
                )
                .await?
                .rows_affected();
            if taken == 1 {
                tracing::warn!(key, account, "took over an abandoned Idempotency-Key claim");
                return Ok(Claimed::Owner(Claim { token, ..claim }));
            }
            continue;
        }
        if started.elapsed() >= WAIT {
            return Err(ApiError::conflict(
                ErrorCode::IdempotencyKeyInProgress,
                format!(
                    "a request with Idempotency-Key {} is still being processed; retry it later",
                    shown(key)
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// Runs the request; a success is recorded for replay, a failure releases the key.
async fn run_and_record(state: AppState, claim: Claim, next: Next, req: Request) -> Response {
    let res = next.run(req).await;
    let (parts, body) = res.into_parts();
    let body = match axum::body::to_bytes(body, MAX_RESPONSE).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "reading a response for its Idempotency-Key");
            release(&state, &claim).await;
            return error_response(ErrorCode::Internal, ErrorCode::Internal.message());
        }
    };
    if parts.status.is_success() {
        let text = String::from_utf8_lossy(&body).into_owned();
        // A lost write here would leave the claim `processing` until it is stale; retry a few times.
        let mut recorded = false;
        for attempt in 0..5 {
            match complete(&state, &claim, parts.status, &text).await {
                Ok(()) => {
                    recorded = true;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "recording an Idempotency-Key response");
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        if !recorded {
            tracing::error!(
                key = claim.key,
                "an Idempotency-Key response could not be recorded"
            );
        }
    } else {
        release(&state, &claim).await;
    }
    Response::from_parts(parts, Body::from(body))
}

async fn complete(state: &AppState, claim: &Claim, status: StatusCode, body: &str) -> Result<(), ApiError> {
    state
        .store
        .write_one(
            db::query(
                "UPDATE idempotency SET state = 'done', status = $1, body = $2, updated_at = $3 \
         WHERE account_id = $4 AND idem_key = $5 AND claim = $6",
            )
            .bind(i64::from(status.as_u16()))
            .bind(body)
            .bind(state.store.clock.now_ms())
            .bind(&claim.account)
            .bind(&claim.key)
            .bind(&claim.token),
        )
        .await?;
    Ok(())
}

async fn release(state: &AppState, claim: &Claim) {
    let result = async {
        state
            .store
            .write_one(db::query(
            "DELETE FROM idempotency WHERE account_id = $1 AND idem_key = $2 AND claim = $3 AND state = 'processing'",
        )
        .bind(&claim.account)
        .bind(&claim.key)
        .bind(&claim.token))
        .await?;
        Ok::<(), ApiError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, key = claim.key, "releasing an Idempotency-Key");
    }
}

#[cfg(test)]
mod tests {
    use super::body_hash;

    #[test]
    fn bodies_compare_as_parsed_json() {
        let a = body_hash(br#"{"name":"x","region":"us-east-1","tags":[1,{"b":2,"a":1}]}"#);
        let b = body_hash(
            b"{ \"region\" : \"us-east-1\",\n \"tags\": [1, {\"a\": 1, \"b\": 2}], \"name\": \"x\" }",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            body_hash(br#"{"name":"y","region":"us-east-1","tags":[1,{"b":2,"a":1}]}"#)
        );
        assert_ne!(
            a,
            body_hash(br#"{"name":"x","region":"us-east-1","tags":[{"b":2,"a":1},1]}"#)
        );
        assert_eq!(body_hash(b""), body_hash(b"  "));
        assert_ne!(body_hash(b"not json"), body_hash(b"not  json"));
    }
}
