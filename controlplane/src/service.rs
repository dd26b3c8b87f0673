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
