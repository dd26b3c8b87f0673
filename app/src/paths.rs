//! Every URL of the planner, defined once: the patterns (`{id}`, `{format}` as axum writes them) that the server
//! routes, and builders that fill them in for the links and forms the pages render. A path changes here or
//! nowhere.

/// `GET /`: the plan list.
pub const HOME: &str = "/";
/// The first segment of a stored plan's page (the Leptos route is `StaticSegment(PLANS)` + `ParamSegment("id")`).
pub const PLANS: &str = "plans";
/// `GET /plans/{id}`: a stored plan in the planner.
pub const PLAN: &str = "/plans/{id}";
/// `GET /plans/{id}/apply`: the Apply view of a stored plan.
pub const PLAN_APPLY: &str = "/plans/{id}/apply";
/// `GET /plans/{id}/drift`: the Drift view of a stored plan.
pub const PLAN_DRIFT: &str = "/plans/{id}/drift";
/// The last segment of the Apply view's route.
pub const APPLY_SEGMENT: &str = "apply";
/// The last segment of the Drift view's route.
pub const DRIFT_SEGMENT: &str = "drift";
/// The segment of the scratch pad's page.
pub const SCRATCH_SEGMENT: &str = "scratch";
/// `GET /scratch`: the planner on an unsaved plan.
pub const SCRATCH: &str = "/scratch";
/// `POST /plans/new` (`name`): create an empty plan.
pub const PLAN_NEW: &str = "/plans/new";
/// `POST /plans/import` (multipart `files`): import a Peerplan plan or AWS describe-* output.
pub const PLAN_IMPORT: &str = "/plans/import";
/// `POST /plans/{id}/rename` (`name`).
pub const PLAN_RENAME: &str = "/plans/{id}/rename";
/// `POST /plans/{id}/duplicate`.
pub const PLAN_DUPLICATE: &str = "/plans/{id}/duplicate";
/// `POST /plans/{id}/delete`.
pub const PLAN_DELETE: &str = "/plans/{id}/delete";
/// `POST /api/export/{format}` (`plan`, optional `part` and `port`): the plan as a download.
pub const EXPORT: &str = "/api/export/{format}";
/// The segment of the audit trail's page.
pub const AUDIT_SEGMENT: &str = "audit";
/// `GET /audit` (`user`, `plan`, `action`, `cursor`): the audit trail's page (admins only).
pub const AUDIT_PAGE: &str = "/audit";
/// `GET /api/audit` (`limit`, `cursor`, `user`, `plan`, `action`): the audit trail, a page at a time, newest first
/// (admins only).
pub const AUDIT: &str = "/api/audit";
/// `GET /api/audit.jsonl` (`user`, `plan`, `action`): the whole audit trail as JSON lines, oldest first (admins
/// only).
pub const AUDIT_JSONL: &str = "/api/audit.jsonl";
/// The prefix of the plan-storage server functions (`POST /api/plans/{function}`). The `#[server]` attribute
/// takes only a literal, so [`crate::storage`] spells it out; a test checks every function's path against this.
pub const PLAN_FUNCTIONS: &str = "/api/plans";

/// `pattern` with its one `{name}` placeholder replaced by `value`.
fn fill(pattern: &str, name: &str, value: &str) -> String {
    pattern.replacen(&format!("{{{name}}}"), value, 1)
}

/// `/plans/{id}`.
pub fn plan(id: &str) -> String {
    fill(PLAN, "id", id)
}

/// `/plans/{id}/apply`.
pub fn plan_apply(id: &str) -> String {
    fill(PLAN_APPLY, "id", id)
}

/// `/plans/{id}/drift`.
pub fn plan_drift(id: &str) -> String {
    fill(PLAN_DRIFT, "id", id)
}

/// `/plans/{id}/rename`.
pub fn plan_rename(id: &str) -> String {
    fill(PLAN_RENAME, "id", id)
}

/// `/plans/{id}/duplicate`.
pub fn plan_duplicate(id: &str) -> String {
    fill(PLAN_DUPLICATE, "id", id)
}

/// `/plans/{id}/delete`.
pub fn plan_delete(id: &str) -> String {
    fill(PLAN_DELETE, "id", id)
}

/// `/api/export/{format}`.
pub fn export(format: &str) -> String {
    fill(EXPORT, "format", format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_the_patterns() {
        assert_eq!(plan("plan_1"), "/plans/plan_1");
        assert_eq!(plan_rename("plan_1"), "/plans/plan_1/rename");
        assert_eq!(plan_duplicate("plan_1"), "/plans/plan_1/duplicate");
        assert_eq!(plan_delete("plan_1"), "/plans/plan_1/delete");
        assert_eq!(export("md"), "/api/export/md");
    }

    #[test]
    fn page_routes_match_their_segments() {
        assert_eq!(PLAN, format!("/{PLANS}/{{id}}"));
        assert_eq!(SCRATCH, format!("/{SCRATCH_SEGMENT}"));
        assert_eq!(PLAN_APPLY, format!("{PLAN}/{APPLY_SEGMENT}"));
        assert_eq!(PLAN_DRIFT, format!("{PLAN}/{DRIFT_SEGMENT}"));
        assert_eq!(plan_apply("plan_1"), "/plans/plan_1/apply");
        for p in [PLAN_NEW, PLAN_IMPORT, PLAN_RENAME, PLAN_DUPLICATE, PLAN_DELETE] {
            assert!(p.starts_with(&format!("/{PLANS}/")), "{p}");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn plan_functions_live_under_their_prefix() {
        use leptos::server_fn::ServerFn;

        use crate::storage::{
            LeavePlan, ListPlans, LoadPlan, PlanPresence, PlanVersions, RestoreVersion, SavePlan,
        };
        for path in [
            ListPlans::PATH,
            LoadPlan::PATH,
            SavePlan::PATH,
            PlanVersions::PATH,
            RestoreVersion::PATH,
            PlanPresence::PATH,
            LeavePlan::PATH,
        ] {
            assert!(path.starts_with(&format!("{PLAN_FUNCTIONS}/")), "{path}");
        }
    }
}
