//! The planner's Apply and Drift views talk to the server in these types (JSON over `POST /api/apply/plan`,
//! `POST /api/apply/runs`, the server-sent events of `GET /api/apply/runs/{id}/events`, `POST /api/apply/drift`,
//! `POST /api/apply/approvals` and `GET /api/targets`): one definition for the server that writes them and the browser that reads them.
//! API keys never appear here: a target's accounts carry a masked hint only.

use serde::{Deserialize, Serialize};

/// `GET /api/targets`: the targets the server is configured with.
pub const TARGETS: &str = "/api/targets";
/// `POST /api/apply/plan`: what applying a stored plan to a target would change.
pub const PLAN: &str = "/api/apply/plan";
/// `POST /api/apply/runs`: start applying.
pub const RUNS: &str = "/api/apply/runs";
/// `GET /api/apply/runs/{id}/events`: a run's step events (server-sent events; the past ones first).
pub const RUN_EVENTS: &str = "/api/apply/runs/{id}/events";
/// `GET /api/apply/runs/{id}/handoff/{file}`: a hand-off file of a run that awaits another account.
pub const RUN_HANDOFF: &str = "/api/apply/runs/{id}/handoff/{file}";
/// `POST /api/apply/drift`: what changed in the control plane since the plan was last applied.
pub const DRIFT: &str = "/api/apply/drift";
/// `POST`: approve one version of a plan on one target ([`ApprovalRequest`]), for the two-person rule.
pub const APPROVALS: &str = "/api/apply/approvals";

/// `/api/apply/runs/{id}/events`.
pub fn run_events(id: &str) -> String {
    RUN_EVENTS.replacen("{id}", id, 1)
}

/// `/api/apply/runs/{id}/handoff/{file}`.
pub fn run_handoff(id: &str, file: &str) -> String {
    RUN_HANDOFF.replacen("{id}", id, 1).replacen("{file}", file, 1)
}

/// A control plane the server can apply to, with the accounts it holds keys for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub id: String,
    pub name: String,
    pub url: String,
    pub accounts: Vec<TargetAccount>,
}

/// One account of a target. `key` is a hint (`ppk_…f3a9`), never the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetAccount {
    /// The keys file's label: the control-plane account id, or the plan account id it was given for.
    pub label: String,
    pub name: String,
    pub key: String,
}

/// `POST /api/apply/plan` and `POST /api/apply/drift`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRequest {
    pub plan_id: String,
    pub target: String,
    /// The plan accounts whose keys to use; `None`: every account the target has a key for.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
}

/// One change, as the Apply view lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeView {
    /// `create`, `update`, `delete` or `adopt`.
    pub action: String,
    /// `+`, `~`, `-` or `=`.
    pub symbol: String,
    pub kind: String,
    pub plan_id: String,
    pub live_id: Option<String>,
    pub account: String,
    pub region: String,
    pub detail: String,
}

/// A diagnostic of the desired plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticView {
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// The plan: what applying would change, at which plan version, against which live state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub plan_id: String,
    pub plan_name: String,
    /// The stored plan's version this was computed for.
    pub version: i64,
    pub target: String,
    pub changes: Vec<ChangeView>,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// `Plan: N to add, M to change, K to destroy.`
    pub summary: String,
    pub diagnostics: Vec<DiagnosticView>,
    /// Plan accounts whose key is not used: their steps are handed off.
    pub keyless: Vec<String>,
    /// The live state's fingerprint (the steps it gives): a run is refused when it changed.
    pub fingerprint: String,
    /// The plan has an error diagnostic and cannot be applied.
    pub errors: bool,
    /// The server runs with `--require-review`: a run needs an approval of this version on this target by an
    /// applier other than the person who starts it.
    #[serde(default)]
    pub review_required: bool,
    /// The approvals of this version on this target so far.
    #[serde(default)]
    pub approvals: Vec<ApprovalView>,
}

/// One approval of a plan version on a target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub approved_by: String,
    pub role: String,
    /// Unix milliseconds.
    pub approved_at: i64,
}

/// `POST /api/apply/approvals`: approve the plan's `version` (its current one) on `target`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub plan_id: String,
    pub target: String,
    pub version: i64,
}

/// `POST /api/apply/runs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    pub plan_id: String,
    pub target: String,
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// The version and fingerprint of the plan that was shown.
    pub version: i64,
    pub fingerprint: String,
    /// The person confirmed that live objects are destroyed.
    #[serde(default)]
    pub confirm_destroy: bool,
}

/// The answer to `POST /api/apply/runs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    pub run: String,
    pub total: usize,
}

/// An error answer of these endpoints: `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    /// `STALE_PLAN`, `RUN_IN_PROGRESS`, `CONFIRMATION_REQUIRED`, `PLAN_HAS_ERRORS`, `NOT_FOUND`, `BAD_REQUEST`,
    /// `TARGET_UNREACHABLE`.
    pub code: String,
    pub message: String,
}

/// One server-sent event of a run (`data:` is this JSON; the SSE event name is `type`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// A step moved: `start` (running), `done`, `failed`, `no_key` (handed off), `blocked`.
    Step(StepEvent),
    /// The live peerings and route tables of the plan's VPCs, read from the control plane.
    Live(LiveView),
    /// The run is over.
    End(RunEnd),
}

/// One step event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEvent {
    pub event: String,
    /// 1-based.
    pub step: usize,
    pub total: usize,
    pub action: String,
    pub kind: String,
    pub plan_id: String,
    pub account: String,
    pub detail: String,
    pub live_id: Option<String>,
    /// The control plane's answer or why the step did not run.
    pub message: Option<String>,
}

/// What the control plane holds for the plan's VPCs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveView {
    pub peerings: Vec<LivePeering>,
    pub route_tables: Vec<LiveRouteTable>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePeering {
    pub plan_id: String,
    pub live_id: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRouteTable {
    pub live_id: String,
    /// The plan VPC it belongs to.
    pub vpc: String,
    pub main: bool,
    /// `destination → target`, besides the local routes.
    pub routes: Vec<String>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    /// `applied`, `failed`, `awaiting` or `error`.
    pub outcome: String,
    pub message: String,
    /// For `awaiting`: one hand-off per account the run waits for.
    pub handoffs: Vec<Handoff>,
}

/// What an account without a key has to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub account: String,
    /// `awaiting acceptance by account acct-b of peering pcx-ab (pcx_…) (expires on …)`, one per peering.
    pub acceptances: Vec<String>,
    /// The file names under [`RUN_HANDOFF`]: the curl script and the Markdown page.
    pub script: String,
    pub markdown: String,
}

/// `POST /api/apply/drift`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftView {
    /// When the plan was last applied in full to this target from the planner, and at which version.
    pub applied_at: Option<i64>,
    pub applied_version: Option<i64>,
    /// What it would take to bring the control plane back to the applied plan (empty: no drift).
    pub changes: Vec<ChangeView>,
    pub summary: String,
}
