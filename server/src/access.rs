//! Who may do what in team mode: one table from method and path to what a request needs — nothing (public), or a
//! signed-in user with at least a [`Role`]. [`crate::security::guard`] consults it for every request when sign-in
//! is on; a route the table does not name needs an admin (fail closed), and a test walks the real router's routes
//! ([`crate::web::route_inventory`]) so that a new route without a rule fails it.
//!
//! | role | may |
//! |---|---|
//! | viewer | list, open, trace, matrix, export plans: the pages, `list_plans`, `load_plan`, `plan_versions`, exports; presence (`plan_presence`, `leave_plan`) |
//! | planner | + create, edit, import, rename, duplicate, delete, restore plans: `save_plan`, `restore_version`, `/plans/*` forms |
//! | applier | + targets, plan/apply runs and their events and hand-off files, drift: `/api/targets`, `/api/apply/*`, the Apply and Drift pages |
//! | admin | + the audit trail (`/audit`, `/api/audit*`, `/api/admin/*`), users |

use axum::{
    handler::Handler,
    http::Method,
    routing::{MethodFilter, MethodRouter},
    Router,
};
use controlplane::store::users::Role;

/// A router that lists the method and path of every route it is given: the modules build their routes with it,
/// so [`crate::web::route_inventory`] knows every axum route the server has (the Leptos pages and server
/// functions it lists from Leptos itself).
pub struct Routes<S = ()> {
    pub router: Router<S>,
    pub listed: Vec<(Method, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            listed: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `method path` answered by `handler`, with `layer` applied to that route alone (`|r| r` for none).
    pub fn route<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        handler: H,
        layer: impl FnOnce(MethodRouter<S>) -> MethodRouter<S>,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
        self.router = self.router.route(path, layer(axum::routing::on(filter, handler)));
        self.listed.push((method, path));
        self
    }

    /// `GET path`.
    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route(Method::GET, path, handler, |r| r)
    }

    /// `POST path`.
    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route(Method::POST, path, handler, |r| r)
    }

    /// The routes over their state.
    pub fn with_state<S2>(self, state: S) -> Routes<S2> {
        Routes {
            router: self.router.with_state(state),
            listed: self.listed,
        }
    }
}

/// What a request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: anyone may (sign-in, health, static files, `/v1` with its own API keys).
    Public,
    /// A signed-in user with at least this role.
    Role(Role),
}

/// Which methods a rule covers (a GET rule covers HEAD too).
#[derive(Clone, Copy, Debug)]
enum Methods {
    Get,
    Post,
    Any,
}

/// One rule: methods, an axum path pattern (`{name}` one segment, `{*rest}` the rest), what it needs.
#[derive(Clone, Copy, Debug)]
struct Rule(Methods, &'static str, Need);

use Methods::{Any, Get, Post};
use Need::Public;

const VIEWER: Need = Need::Role(Role::Viewer);
const PLANNER: Need = Need::Role(Role::Planner);
const APPLIER: Need = Need::Role(Role::Applier);
const ADMIN: Need = Need::Role(Role::Admin);

/// The table, first match wins.
const RULES: &[Rule] = &[
    // Public.
    Rule(Get, "/healthz", Public),
    Rule(Get, "/favicon.ico", Public),
    Rule(Get, "/favicon.svg", Public),
    Rule(Get, "/pkg/{*rest}", Public),
    Rule(Get, crate::auth::LOGIN, Public),
    Rule(Post, crate::auth::LOGIN, Public),
    Rule(Post, crate::auth::LOGOUT, Public),
    Rule(Get, crate::oidc::LOGIN_PATH, Public),
    Rule(Get, crate::oidc::CALLBACK_PATH, Public),
    // The control plane authenticates every call with its own API keys (and serves its OpenAPI document).
    Rule(Any, "/v1", Public),
    Rule(Any, "/v1/{*rest}", Public),
    // Viewers: read and export plans.
    Rule(Get, app::paths::HOME, VIEWER),
    Rule(Get, app::paths::PLAN, VIEWER),
    Rule(Get, app::paths::SCRATCH, VIEWER),
    Rule(Post, app::paths::EXPORT, VIEWER),
    Rule(Post, "/api/plans/list_plans", VIEWER),
    Rule(Post, "/api/plans/load_plan", VIEWER),
    Rule(Post, "/api/plans/plan_versions", VIEWER),
    // Presence: anyone who may open a plan says so and sees who else has it open.
    Rule(Post, "/api/plans/plan_presence", VIEWER),
    Rule(Post, "/api/plans/leave_plan", VIEWER),
    // Planners: change plans.
    Rule(Post, "/api/plans/save_plan", PLANNER),
    Rule(Post, "/api/plans/restore_version", PLANNER),
    Rule(Post, app::paths::PLAN_NEW, PLANNER),
    Rule(Post, app::paths::PLAN_IMPORT, PLANNER),
    Rule(Post, app::paths::PLAN_RENAME, PLANNER),
    Rule(Post, app::paths::PLAN_DUPLICATE, PLANNER),
    Rule(Post, app::paths::PLAN_DELETE, PLANNER),
    // Appliers: targets, applies, drift.
    Rule(Get, app::paths::PLAN_APPLY, APPLIER),
    Rule(Get, app::paths::PLAN_DRIFT, APPLIER),
    Rule(Get, app::apply_api::TARGETS, APPLIER),
    Rule(Post, app::apply_api::PLAN, APPLIER),
    Rule(Post, app::apply_api::RUNS, APPLIER),
    Rule(Get, app::apply_api::RUN_EVENTS, APPLIER),
    Rule(Get, app::apply_api::RUN_HANDOFF, APPLIER),
    Rule(Post, app::apply_api::DRIFT, APPLIER),
    Rule(Post, app::apply_api::APPROVALS, APPLIER),
    // Admins: the audit trail, administration.
    Rule(Get, app::paths::AUDIT_PAGE, ADMIN),
    Rule(Get, app::paths::AUDIT, ADMIN),
    Rule(Get, app::paths::AUDIT_JSONL, ADMIN),
    Rule(Any, "/api/admin/{*rest}", ADMIN),
];

/// Whether `path` (as received, not decoded) matches the pattern.
fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with("{*") => return !g.is_empty(),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

fn covers(m: Methods, method: &Method) -> bool {
    match m {
        Get => method == Method::GET || method == Method::HEAD,
        Post => method == Method::POST,
        Any => true,
    }
}

/// The rule naming this method and path, if any (tests use it to find routes without one).
pub fn explicit(method: &Method, path: &str) -> Option<Need> {
    RULES
        .iter()
        .find(|Rule(m, pattern, _)| covers(*m, method) && matches(pattern, path))
        .map(|Rule(_, _, need)| *need)
}

/// What a request needs: its rule's, or an admin when no rule names it (fail closed).
pub fn needed(method: &Method, path: &str) -> Need {
    explicit(method, path).unwrap_or(ADMIN)
}

/// Whether the path is one of the JSON APIs (refusals there are JSON; elsewhere pages and forms).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        assert!(matches("/plans/{id}", "/plans/plan_1"));
        assert!(!matches("/plans/{id}", "/plans/"));
        assert!(!matches("/plans/{id}", "/plans/a/b"));
        assert!(matches("/pkg/{*rest}", "/pkg/peerplan.wasm"));
        assert!(matches("/pkg/{*rest}", "/pkg/a/b.js"));
        assert!(!matches("/pkg/{*rest}", "/pkg/"));
        assert!(!matches("/pkg/{*rest}", "/pkgs"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/x"));
        assert!(!matches("/api/audit", "/api/audit/x"));
    }

    #[test]
    fn the_table_answers_the_issue_s_matrix() {
        let r = |m: Method, p: &str| needed(&m, p);
        assert_eq!(r(Method::GET, "/healthz"), Public);
        assert_eq!(r(Method::GET, "/v1/openapi.json"), Public);
        assert_eq!(r(Method::HEAD, "/plans/plan_1"), VIEWER);
        assert_eq!(r(Method::POST, "/api/export/md"), VIEWER);
        assert_eq!(r(Method::POST, "/api/plans/save_plan"), PLANNER);
        assert_eq!(r(Method::POST, "/plans/plan_1/delete"), PLANNER);
        assert_eq!(r(Method::GET, "/plans/plan_1/apply"), APPLIER);
        assert_eq!(r(Method::POST, "/api/apply/runs"), APPLIER);
        assert_eq!(r(Method::GET, "/api/audit.jsonl"), ADMIN);
        assert_eq!(r(Method::POST, "/api/admin/audit_page"), ADMIN);
        // Unknown routes and methods need an admin.
        assert_eq!(r(Method::GET, "/secret"), ADMIN);
        assert_eq!(r(Method::DELETE, "/plans/plan_1"), ADMIN);
        assert_eq!(r(Method::GET, "/plans/plan_1/"), ADMIN);
        assert_eq!(explicit(&Method::GET, "/secret"), None);
    }
}
