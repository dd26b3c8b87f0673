//! Loading and saving plans: server functions (at fixed paths, `POST /api/plans/{name}` under
//! [`crate::paths::PLAN_FUNCTIONS`], URL-encoded arguments, the page's CSRF token in a header:
//! [`crate::csrf::CsrfClient`]) over the server's plan library — a [`PlanLibrary`] the server puts in the
//! context (its plan store, in the same SQLite or PostgreSQL database as the control plane). The list and
//! version types are [`netmodel::library`]'s, shared with the store. The planner itself never needs the server
//! for checks or traces; only for these.

use leptos::{
    prelude::*,
    server_fn::{
        codec::JsonEncoding,
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
pub use netmodel::library::{
    format_time, Base, PlanLibrary, PlanSummary, PlanVersion, Presence, StoredPlan, VersionConflict,
};
use serde::{Deserialize, Serialize};

/// Why a plan function failed, sent as the JSON body `{"error": {"code", "message", …}}` with an HTTP status
/// that says which: 404 `NOT_FOUND`, 400 `REFUSED` (a bad plan, name or argument), 409 `VERSION_CONFLICT`
/// (with `base_version`, `current_version`, `saved_by`, `saved_at`), 500 `FAILED`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanError {
    pub error: PlanErrorDetail,
}

/// The body of a [`PlanError`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanErrorDetail {
    pub code: String,
    pub message: String,
    /// A version conflict: the version the save was based on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<i64>,
    /// A version conflict: the plan's current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// A version conflict: who saved the current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_by: Option<String>,
    /// A version conflict: when (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_at: Option<i64>,
}

/// The stable codes of [`PlanError`].
pub mod codes {
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const REFUSED: &str = "REFUSED";
    pub const VERSION_CONFLICT: &str = "VERSION_CONFLICT";
    pub const FAILED: &str = "FAILED";
}

impl PlanError {
    fn new(code: &str, message: impl Into<String>) -> PlanError {
        PlanError {
            error: PlanErrorDetail {
                code: code.into(),
                message: message.into(),
                base_version: None,
                current_version: None,
                saved_by: None,
                saved_at: None,
            },
        }
    }

    /// The conflict, when the error is one.
    pub fn conflict(&self) -> Option<VersionConflict> {
        let e = &self.error;
        match (
            e.code.as_str(),
            e.base_version,
            e.current_version,
            &e.saved_by,
            e.saved_at,
        ) {
            (
                codes::VERSION_CONFLICT,
                Some(base_version),
                Some(current_version),
                Some(saved_by),
                Some(saved_at),
            ) => Some(VersionConflict {
                base_version,
                current_version,
                saved_by: saved_by.clone(),
                saved_at,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error.message)
    }
}

impl From<netmodel::library::LibraryError> for PlanError {
    fn from(e: netmodel::library::LibraryError) -> Self {
        use netmodel::library::LibraryError as E;
        match e {
            E::NotFound(m) => PlanError::new(codes::NOT_FOUND, m),
            E::Refused(m) => PlanError::new(codes::REFUSED, m),
            E::Failed(m) => PlanError::new(codes::FAILED, m),
            E::Conflict(c) => {
                let mut e = PlanError::new(codes::VERSION_CONFLICT, c.to_string());
                e.error.base_version = Some(c.base_version);
                e.error.current_version = Some(c.current_version);
                e.error.saved_by = Some(c.saved_by);
                e.error.saved_at = Some(c.saved_at);
                e
            }
        }
    }
}

impl FromServerFnError for PlanError {
    type Encoder = JsonEncoding;

    /// The framework's own errors: bad arguments (400 on the server), a request that did not reach it or an answer
    /// that did not read (in the browser).
    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        let bad_input = matches!(e, ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_));
        #[cfg(feature = "ssr")]
        if bad_input {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::BAD_REQUEST);
            }
        }
        PlanError::new(
            if bad_input { codes::REFUSED } else { codes::FAILED },
            e.to_string(),
        )
    }
}

#[cfg(feature = "ssr")]
mod server {
    use std::sync::Arc;

    use super::*;

    /// The plan library the server provided to this request.
    pub fn library() -> Result<Arc<dyn PlanLibrary>, PlanError> {
        use_context::<Arc<dyn PlanLibrary>>()
            .ok_or_else(|| PlanError::new(codes::FAILED, "the plan store is not configured"))
    }

    /// The library's error as this function's answer, with its HTTP status.
    pub fn err(e: netmodel::library::LibraryError) -> PlanError {
        let e = PlanError::from(e);
        let status = match e.error.code.as_str() {
            codes::NOT_FOUND => http::StatusCode::NOT_FOUND,
            codes::REFUSED => http::StatusCode::BAD_REQUEST,
            codes::VERSION_CONFLICT => http::StatusCode::CONFLICT,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        e
    }

    /// A refused argument (400).
    pub fn refuse(message: String) -> PlanError {
        err(netmodel::library::LibraryError::Refused(message))
    }

    /// What a save or restore is based on, from its arguments.
    pub fn base(base_version: Option<i64>, keep_mine: Option<bool>) -> Result<Base, PlanError> {
        match (base_version, keep_mine.unwrap_or(false)) {
            (None, false) => Ok(Base::Unchecked),
            (None, true) => Err(refuse(
                "keep_mine: keeping your plan over someone else's names the version kept over (base_version)"
                    .into(),
            )),
            (Some(v), false) => Ok(Base::Version(v)),
            (Some(v), true) => Ok(Base::KeepMine(v)),
        }
    }
}

/// Every saved plan, most recently changed first.
#[server(prefix = "/api/plans", endpoint = "list_plans", client = crate::csrf::CsrfClient)]
pub async fn list_plans() -> Result<Vec<PlanSummary>, PlanError> {
    server::library()?.list_plans().await.map_err(server::err)
}

/// A plan with its current version.
#[server(prefix = "/api/plans", endpoint = "load_plan", client = crate::csrf::CsrfClient)]
pub async fn load_plan(id: String) -> Result<StoredPlan, PlanError> {
    server::library()?.get_plan(&id).await.map_err(server::err)
}

/// Saves the plan as a new version (nothing happens when it did not change). `base_version` is the version the
/// editor started from: when someone else saved since, the save is refused (409 `VERSION_CONFLICT`, naming who
/// saved which version when). `keep_mine=true` saves over that other version on purpose (the planner's "Keep
/// mine"; recorded in the audit trail). Without `base_version` nothing is checked (scripts that predate it).
#[server(prefix = "/api/plans", endpoint = "save_plan", client = crate::csrf::CsrfClient)]
pub async fn save_plan(
    id: String,
    body: String,
    base_version: Option<i64>,
    keep_mine: Option<bool>,
) -> Result<PlanSummary, PlanError> {
    let base = server::base(base_version, keep_mine)?;
    server::library()?
        .save_plan(&id, &body, base)
        .await
        .map_err(server::err)
}

/// The kept versions, newest first.
#[server(prefix = "/api/plans", endpoint = "plan_versions", client = crate::csrf::CsrfClient)]
pub async fn plan_versions(id: String) -> Result<Vec<PlanVersion>, PlanError> {
    server::library()?.plan_versions(&id).await.map_err(server::err)
}

/// Makes an earlier version current again (as a new version), checked against `base_version` as a save is.
#[server(prefix = "/api/plans", endpoint = "restore_version", client = crate::csrf::CsrfClient)]
pub async fn restore_version(
    id: String,
    version: i64,
    base_version: Option<i64>,
) -> Result<StoredPlan, PlanError> {
    let base = server::base(base_version, None)?;
    server::library()?
        .restore_plan_version(&id, version, base)
        .await
        .map_err(server::err)
}

/// A heartbeat of the planner: browser tab `tab` has plan `id` open. Returns who else has it open.
#[server(prefix = "/api/plans", endpoint = "plan_presence", client = crate::csrf::CsrfClient)]
pub async fn plan_presence(id: String, tab: String) -> Result<Vec<Presence>, PlanError> {
    server::library()?.presence(&id, &tab).await.map_err(server::err)
}

/// Browser tab `tab` left plan `id`.
#[server(prefix = "/api/plans", endpoint = "leave_plan", client = crate::csrf::CsrfClient)]
pub async fn leave_plan(id: String, tab: String) -> Result<(), PlanError> {
    server::library()?.leave(&id, &tab).await.map_err(server::err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_reads_back_from_its_json() {
        let c = VersionConflict {
            base_version: 5,
            current_version: 7,
            saved_by: "alice".into(),
            saved_at: 1_795_900_920_000,
        };
        let e = PlanError::from(netmodel::library::LibraryError::Conflict(c.clone()));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["error"]["code"], "VERSION_CONFLICT");
        assert_eq!(json["error"]["current_version"], 7);
        assert_eq!(json["error"]["saved_by"], "alice");
        assert_eq!(
            json["error"]["message"],
            "alice saved version 7 at 2026-11-28 21:22 UTC while you were editing version 5"
        );
        let back: PlanError = serde_json::from_value(json).unwrap();
        assert_eq!(back.conflict(), Some(c));
        // Other errors carry no conflict fields.
        let e = PlanError::from(netmodel::library::LibraryError::NotFound("gone".into()));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":{"code":"NOT_FOUND","message":"gone"}}"#
        );
        assert_eq!(e.conflict(), None);
    }

    #[test]
    fn times_format_as_utc_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_795_900_920_000), "2026-11-28 21:22 UTC");
        assert_eq!(super::format_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
