//! Loading and saving plans: server functions (at fixed paths, `POST /api/plans/{name}` under
//! [`crate::paths::PLAN_FUNCTIONS`], URL-encoded arguments, the page's CSRF token in a header:
//! [`crate::csrf::CsrfClient`]) over the server's plan library — a [`PlanLibrary`] the server puts in the
//! context (its plan store, in the same SQLite or PostgreSQL database as the control plane). The list and
//! version types are [`netmodel::library`]'s, shared with the store. The planner itself never needs the server
//! for checks or traces; only for these.

use leptos::prelude::*;
pub use netmodel::library::{PlanLibrary, PlanSummary, PlanVersion, StoredPlan};

#[cfg(feature = "ssr")]
mod server {
    use std::sync::Arc;

    use super::*;

    /// The plan library the server provided to this request.
    pub fn library() -> Result<Arc<dyn PlanLibrary>, ServerFnError> {
        use_context::<Arc<dyn PlanLibrary>>()
            .ok_or_else(|| ServerFnError::new("the plan store is not configured"))
    }

    pub fn err(e: netmodel::library::LibraryError) -> ServerFnError {
        ServerFnError::new(e.to_string())
    }
}

/// Every saved plan, most recently changed first.
#[server(prefix = "/api/plans", endpoint = "list_plans", client = crate::csrf::CsrfClient)]
pub async fn list_plans() -> Result<Vec<PlanSummary>, ServerFnError> {
    server::library()?.list_plans().await.map_err(server::err)
}

/// A plan with its current version.
#[server(prefix = "/api/plans", endpoint = "load_plan", client = crate::csrf::CsrfClient)]
pub async fn load_plan(id: String) -> Result<StoredPlan, ServerFnError> {
    server::library()?.get_plan(&id).await.map_err(server::err)
}

/// Saves the plan as a new version (nothing happens when it did not change).
#[server(prefix = "/api/plans", endpoint = "save_plan", client = crate::csrf::CsrfClient)]
pub async fn save_plan(id: String, body: String) -> Result<PlanSummary, ServerFnError> {
    server::library()?
        .save_plan(&id, &body)
        .await
        .map_err(server::err)
}

/// The kept versions, newest first.
#[server(prefix = "/api/plans", endpoint = "plan_versions", client = crate::csrf::CsrfClient)]
pub async fn plan_versions(id: String) -> Result<Vec<PlanVersion>, ServerFnError> {
    server::library()?.plan_versions(&id).await.map_err(server::err)
}

/// Makes an earlier version current again (as a new version).
#[server(prefix = "/api/plans", endpoint = "restore_version", client = crate::csrf::CsrfClient)]
pub async fn restore_version(id: String, version: i64) -> Result<StoredPlan, ServerFnError> {
    server::library()?
        .restore_plan_version(&id, version)
        .await
        .map_err(server::err)
}

/// A Unix time in milliseconds as `YYYY-MM-DD HH:MM UTC` — computed, not localised, so the server's and the
/// browser's renderings agree.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_format_as_utc_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_795_900_920_000), "2026-11-28 21:22 UTC");
        assert_eq!(super::format_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
