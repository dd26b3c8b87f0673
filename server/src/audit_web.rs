//! The audit trail over HTTP, for admins: `GET /api/audit` (JSON, a page at a time, newest first) and
//! `GET /api/audit.jsonl` (every matching entry as JSON lines, oldest first, as a download), both filtered by
//! `user`, `plan` and `action`; and who is acting ([`RequestActor`]), which every recorded change carries.
//!
//! Both routes sit behind [`crate::security::guard`] like every other planner route: a `Host` this server serves,
//! and a page of another site cannot read them (no CORS headers; the browser's same-origin rule keeps the answer
//! from it). The trail is for admins: in team mode [`crate::access`] lets only admins reach these routes, and the
//! check here refuses every other actor as well; on loopback without `--auth` every request acts as `local`, an
//! admin ([`actor_of`]).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts, Query, State},
    http::{header, request::Parts, Extensions, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use controlplane::{
    audit::{Actor, AuditAction, AuditFilter, AuditPage},
    error::ApiError,
    store::Store,
};

/// How many entries the JSON lines export reads from the database at a time.
const EXPORT_CHUNK: i64 = 1000;

/// Who a request acts as, at the client's socket address (`unknown` when the server was not given it): the
/// signed-in user with their role (team mode, [`crate::auth::Identity`]), else `local`, an admin (loopback
/// without `--auth`).
pub fn actor_of(extensions: &Extensions) -> Actor {
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.to_string());
    match extensions.get::<crate::auth::Identity>() {
        Some(id) => id.user.actor(address),
        None => Actor::local(address),
    }
}

/// The request's [`Actor`], as a handler argument.
#[derive(Clone, Debug)]
pub struct RequestActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for RequestActor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestActor(actor_of(&parts.extensions)))
    }
}

/// The query of both routes.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    /// Page size, 1–1000 (default 100); `GET /api/audit` only.
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before; `GET /api/audit` only.
    pub cursor: Option<String>,
    pub user: Option<String>,
    /// A plan id: the plan's changes and its applies.
    pub plan: Option<String>,
    /// An action code (`plan.save`, `apply.start`, …).
    pub action: Option<String>,
}

/// Why an audit request is refused; answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub enum Refusal {
    /// The store refused (a bad filter or cursor) or failed (logged, not shown: the control plane's answer).
    Store(ApiError),
    /// The actor is not an admin.
    NotAdmin(Actor),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Store(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Store(e) => e.into_response(),
            Refusal::NotAdmin(by) => (
                StatusCode::FORBIDDEN,
                Json(
                    serde_json::json!({"error": {"code": "FORBIDDEN", "message": format!(
                        "the audit trail is for admins; {:?} has the role {:?}",
                        by.user, by.role
                    )}}),
                ),
            )
                .into_response(),
        }
    }
}

/// Admins only.
fn admin(by: &Actor) -> Result<(), Refusal> {
    if by.is_admin() {
        return Ok(());
    }
    Err(Refusal::NotAdmin(by.clone()))
}

fn filter_of(q: &AuditQuery) -> Result<AuditFilter, Refusal> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok(AuditFilter {
        user: given(&q.user),
        object: given(&q.plan),
        action: given(&q.action).map(|a| a.parse::<AuditAction>()).transpose()?,
    })
}

/// `GET /api/audit`: a page of entries, newest first; `next_cursor` asks for the entries before the page.
pub async fn list(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, Refusal> {
    admin(&by)?;
    let filter = filter_of(&q)?;
    Ok(Json(
        store.audit_page(&filter, q.cursor.as_deref(), q.limit).await?,
    ))
}

/// `GET /api/audit.jsonl`: every matching entry as one JSON object per line, oldest first, as a download.
pub async fn export(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Refusal> {
    admin(&by)?;
    let filter = filter_of(&q)?;
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let chunk = store.audit_after(&filter, after, EXPORT_CHUNK).await?;
        for e in &chunk {
            serde_json::to_writer(&mut out, e).expect("entries serialize");
            out.push(b'\n');
        }
        match chunk.last() {
            Some(last) if chunk.len() as i64 == EXPORT_CHUNK => after = last.seq,
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"peerplan-audit.jsonl\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// The routes, over the store.
pub fn router(store: Store) -> crate::access::Routes {
    crate::access::Routes::new()
        .get(app::paths::AUDIT, list)
        .get(app::paths::AUDIT_JSONL, export)
        .with_state(store)
}
