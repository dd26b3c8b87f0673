//! The axum service behind `/v1`: authentication by API key, strict JSON bodies, idempotent POSTs, a per-key
//! rate limit, body-size and time limits, and JSON errors everywhere (`{"error":{"code","message"}}`).

use std::time::Duration;

use axum::{
    extract::DefaultBodyLimit,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

pub use crate::request::{AppState, Body, Caller, BODY_LIMIT};
use crate::{
    error::{error_response, ErrorCode},
    routes::operations,
};

async fn not_found() -> Response {
    error_response(ErrorCode::NotFound, "no such API path")
}

async fn method_not_allowed() -> Response {
    error_response(ErrorCode::MethodNotAllowed, ErrorCode::MethodNotAllowed.message())
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

/// Runs each request to completion in its own task, so a client that disconnects (or the timeout) never drops a
/// handler halfway through a database transaction: on PostgreSQL a dropped sqlx transaction leaves its rollback
/// pending on the pooled connection until the connection is next used (with SQLite on sqlx the next `BEGIN
/// IMMEDIATE` on it failed: "non-zero transaction depth", a 500 to an innocent request; found by killing applies
/// mid-request). SQLite's writer now rolls back as it is dropped, but a half-run handler is still no good.
async fn run_to_completion(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            error_response(ErrorCode::Internal, ErrorCode::Internal.message())
        }
    }
}

/// Adds `Server-Timing: app;dur=<milliseconds>` to every `/v1` response: the time from the request reaching the
/// `/v1` layers to its response being ready (authentication, body, idempotency, the handler and its storage, the
/// response's serialisation; not HTTP parsing or socket I/O). Load scripts read it to tell server time from
/// client time (`scripts/bench-control-plane.py`).
async fn server_timing(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let mut res = next.run(req).await;
    let micros = started.elapsed().as_micros();
    let value = format!("app;dur={}.{:03}", micros / 1000, micros % 1000);
    if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
        res.headers_mut().insert(
            axum::http::header::HeaderName::from_static("server-timing"),
            value,
        );
    }
    res
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
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(crate::connection::layer))
        .layer(axum::middleware::from_fn(server_timing))
        .with_state(state)
}
