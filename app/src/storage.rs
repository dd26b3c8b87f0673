//! Loading and saving plans: server functions (at fixed paths, `POST /api/plans/{name}`, URL-encoded
//! arguments, the page's CSRF token in a header: [`crate::csrf::CsrfClient`]) over the server's plan store
//! (`controlplane::plans`, in the same
//! SQLite or PostgreSQL database as the control plane). The planner itself never needs the server for checks
//! or traces; only for these.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A plan in the list (mirrors `controlplane::plans::PlanSummary`, which the browser build cannot depend on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInfo {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub vpc_count: i64,
    pub peering_count: i64,
    pub updated_at: i64,
}

/// A plan to edit: its summary, body and the diagnostics of the import it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadedPlan {
    pub info: PlanInfo,
    pub body: String,
    pub import_diagnostics: Vec<netmodel::Diagnostic>,
}

/// One kept version of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: i64,
    pub saved_at: i64,
    pub bytes: i64,
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use controlplane::plans::{PlanSummary, StoredPlan};

    pub fn store() -> Result<controlplane::store::Store, ServerFnError> {
        use_context::<controlplane::store::Store>()
            .ok_or_else(|| ServerFnError::new("the plan store is not configured"))
    }

    pub fn err(e: controlplane::error::ApiError) -> ServerFnError {
        ServerFnError::new(e.to_string())
    }

    pub fn info(s: PlanSummary) -> PlanInfo {
        PlanInfo {
            id: s.id,
            name: s.name,
            version: s.version,
            vpc_count: s.vpc_count,
            peering_count: s.peering_count,
            updated_at: s.updated_at,
        }
    }

    pub fn loaded(p: StoredPlan) -> LoadedPlan {
        LoadedPlan {
            info: info(p.summary),
            body: p.body,
            import_diagnostics: p.import_diagnostics,
        }
    }
}

/// Every saved plan, most recently changed first.
#[server(prefix = "/api/plans", endpoint = "list_plans", client = crate::csrf::CsrfClient)]
pub async fn list_plans() -> Result<Vec<PlanInfo>, ServerFnError> {
    let store = server::store()?;
    Ok(store
        .list_plans()
        .await
        .map_err(server::err)?
        .into_iter()
        .map(server::info)
        .collect())
}

/// A plan with its current version.
#[server(prefix = "/api/plans", endpoint = "load_plan", client = crate::csrf::CsrfClient)]
pub async fn load_plan(id: String) -> Result<LoadedPlan, ServerFnError> {
    let store = server::store()?;
    store.get_plan(&id).await.map(server::loaded).map_err(server::err)
}

/// Saves the plan as a new version (nothing happens when it did not change).
#[server(prefix = "/api/plans", endpoint = "save_plan", client = crate::csrf::CsrfClient)]
pub async fn save_plan(id: String, body: String) -> Result<PlanInfo, ServerFnError> {
    let store = server::store()?;
    store
        .save_plan(&id, &body)
        .await
        .map(server::info)
        .map_err(server::err)
}

/// The kept versions, newest first.
#[server(prefix = "/api/plans", endpoint = "plan_versions", client = crate::csrf::CsrfClient)]
pub async fn plan_versions(id: String) -> Result<Vec<VersionInfo>, ServerFnError> {
    let store = server::store()?;
    Ok(store
        .plan_versions(&id)
        .await
        .map_err(server::err)?
        .into_iter()
        .map(|v| VersionInfo {
            version: v.version,
            saved_at: v.saved_at,
            bytes: v.bytes,
        })
        .collect())
}

/// Makes an earlier version current again (as a new version).
#[server(prefix = "/api/plans", endpoint = "restore_version", client = crate::csrf::CsrfClient)]
pub async fn restore_version(id: String, version: i64) -> Result<LoadedPlan, ServerFnError> {
    let store = server::store()?;
    store
        .restore_plan_version(&id, version)
        .await
        .map(server::loaded)
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
