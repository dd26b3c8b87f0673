//! Applies started in the planner: the configured targets (`GET /api/targets`), the plan of a stored plan against
//! a target (`POST /api/apply/plan`), runs (`POST /api/apply/runs`) whose step events stream to the browser as
//! server-sent events (`GET /api/apply/runs/{id}/events`), their hand-off files, and drift since the last apply
//! (`POST /api/apply/drift`). The types are [`app::apply_api`]'s.
//!
//! Targets are configured on the server, never sent by the browser: the embedded control plane (its demo
//! accounts' keys, `DATA/demo-keys.json`) and those of `DATA/targets.json`. Keys stay on the server; the browser
//! sees a masked hint. The engine is [`crate::engine`], the same as the CLI's; its journal and bindings live in
//! the server's database ([`RunState::Db`]) under one state key per plan and target, so a run cut by a crash
//! resumes when the plan is applied again. One run per plan and target at a time — held in the database
//! (`apply_locks`, [`Store::apply_lock_take`]), so several servers on one PostgreSQL never run the same plan on the
//! same target twice at once; a server that stops mid-run lets go of its lock with its database connection.
//!
//! With `--require-review` (the two-person rule) a run needs an approval of the plan's version on the target
//! (`POST /api/apply/approvals`, recorded as `apply.approve`) by someone other than the person who starts it.
//!
//! Every run is recorded in the audit trail as the actor who started it: `apply.start` (before anything is
//! applied; a run whose start cannot be recorded does not start), `apply.step` for each step's end (done, failed,
//! waiting for a key, blocked), and `apply.end` with the outcome — the plan id as the object, its version, the
//! run and the target in the detail.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use app::apply_api::{
    self as api, ApiErrorBody, ApiErrorDetail, ApprovalRequest, ApprovalView, ChangeView, DiagnosticView,
    DriftView, Handoff, LivePeering, LiveRouteTable, LiveView, PlanRequest, PlanView, RunEnd, RunEvent,
    RunRequest, RunStarted, StepEvent, TargetAccount, TargetInfo,
};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{
        sse::{Event as SseEvent, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use controlplane::{
    audit::{Actor, AuditAction, NewEntry},
    store::Store,
};
use netmodel::{changeset::Bindings, Plan, Severity};
use tokio::sync::broadcast;

use crate::{
    apply::{acceptances_of, compute_with, handoff_markdown, handoff_script, region_of, Planned},
    audit_web::RequestActor,
    engine::{Engine, EventKind, Outcome},
    live::Keys,
    run_state::{RunState, APPLIED},
};

/// Runs kept in memory for their event streams (the oldest finished ones are dropped beyond this).
const KEPT_RUNS: usize = 64;

/// The apply service's shared state.
#[derive(Clone)]
pub struct ApplyService {
    store: Store,
    data: PathBuf,
    /// The embedded control plane's base URL (this server).
    embedded_url: String,
    /// `--require-review`: a run needs another applier's approval.
    require_review: bool,
    runs: Arc<Mutex<Runs>>,
}

#[derive(Default)]
struct Runs {
    by_id: HashMap<String, Arc<Run>>,
    order: Vec<String>,
    /// State keys with a run in progress → its id.
    active: HashMap<String, (String, String)>,
}

/// One run: its events so far (replayed to a late subscriber) and the channel of the next ones.
struct Run {
    inner: Mutex<RunLog>,
    tx: broadcast::Sender<RunEvent>,
    /// Hand-off files by name.
    files: Mutex<BTreeMap<String, String>>,
    snapshots: Snapshots,
}

struct RunLog {
    events: Vec<RunEvent>,
    ended: bool,
}

impl Run {
    fn push(&self, e: RunEvent) {
        let mut log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if log.ended {
            return;
        }
        log.ended = matches!(e, RunEvent::End(_));
        // Only the latest view of the control plane is kept for late subscribers.
        if matches!(e, RunEvent::Live(_)) {
            log.events.retain(|old| !matches!(old, RunEvent::Live(_)));
        }
        log.events.push(e.clone());
        let _ = self.tx.send(e);
    }
}

/// The one run of a plan on a target: taken before the run is planned, given back when this is dropped (when the
/// run's task ends, or the request is refused). Held in this server's memory and in the database ([`DbLock`]).
struct Slot {
    runs: Arc<Mutex<Runs>>,
    key: String,
    db: Option<DbLock>,
}

/// A run's lock in the database, released when dropped.
struct DbLock {
    store: Store,
    lock: Option<controlplane::store::apply_state::RunLock>,
}

impl DbLock {
    /// Takes the database lock of `state` for `run`, started by `holder`; refused (409) when another run — of this
    /// server or another one on the database — holds it.
    async fn take(store: &Store, state: &str, run: &str, holder: &str) -> Result<DbLock, WebError> {
        match store
            .apply_lock_take(state, run, holder)
            .await
            .map_err(|e| WebError(StatusCode::INTERNAL_SERVER_ERROR, "RUN_LOCK", e.to_string()))?
        {
            Ok(lock) => Ok(DbLock {
                store: store.clone(),
                lock: Some(lock),
            }),
            Err(other) => Err(conflict(
                "RUN_IN_PROGRESS",
                format!(
                    "run {} (started by {}) is applying this plan to this target; wait for it to end",
                    other.run_id, other.holder
                ),
            )),
        }
    }

    /// Releases the lock now (one merely dropped is released by a task of its own, a moment later).
    async fn release(mut self) {
        if let Some(lock) = self.lock.take() {
            let state = lock.state().to_string();
            if let Err(e) = self.store.apply_lock_release(lock).await {
                tracing::error!(%state, error = %e, "cannot release an apply run's lock");
            }
        }
    }
}

impl Drop for DbLock {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else { return };
        let store = self.store.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let state = lock.state().to_string();
                if let Err(e) = store.apply_lock_release(lock).await {
                    tracing::error!(%state, error = %e, "cannot release an apply run's lock");
                }
            });
        }
    }
}

impl Slot {
    fn take(runs: &Arc<Mutex<Runs>>, key: String, run: &str, holder: &str) -> Result<Slot, WebError> {
        let mut all = runs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((other, by)) = all.active.get(&key) {
            return Err(conflict(
                "RUN_IN_PROGRESS",
                format!(
                    "run {other} (started by {by}) is applying this plan to this target; wait for it to end"
                ),
            ));
        }
        all.active
            .insert(key.clone(), (run.to_string(), holder.to_string()));
        Ok(Slot {
            runs: runs.clone(),
            key,
            db: None,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .active
            .remove(&self.key);
    }
}

/// At most one live read of a run in flight: a step that finishes meanwhile asks for one more after it.
#[derive(Default)]
struct Snapshots {
    busy: std::sync::atomic::AtomicBool,
    again: std::sync::atomic::AtomicBool,
}

/// A configured target with its keys.
struct Target {
    id: String,
    name: String,
    url: String,
    keys: Option<Keys>,
}

/// An error answer: status, code, message.
#[derive(Debug)]
pub struct WebError(StatusCode, &'static str, String);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(ApiErrorBody {
                error: ApiErrorDetail {
                    code: self.1.to_string(),
                    message: self.2,
                },
            }),
        )
            .into_response()
    }
}

fn bad(message: impl Into<String>) -> WebError {
    WebError(StatusCode::BAD_REQUEST, "BAD_REQUEST", message.into())
}

fn not_found(message: impl Into<String>) -> WebError {
    WebError(StatusCode::NOT_FOUND, "NOT_FOUND", message.into())
}

fn conflict(code: &'static str, message: impl Into<String>) -> WebError {
    WebError(StatusCode::CONFLICT, code, message.into())
}

/// A failure to reach or read the target. A control plane's answer could echo a key: every key of the target
/// is hidden in it (and any `Bearer` token).
fn unreachable(e: anyhow::Error, keys: &Keys) -> WebError {
    WebError(
        StatusCode::BAD_GATEWAY,
        "TARGET_UNREACHABLE",
        crate::engine::redact(&format!("{e:#}"), &secrets(keys)),
    )
}

fn secrets(keys: &Keys) -> Vec<String> {
    keys.entries.iter().map(|e| e.secret().to_string()).collect()
}

/// The routes, with their state.
pub fn router(service: ApplyService) -> crate::access::Routes {
    crate::access::Routes::new()
        .get(api::TARGETS, targets)
        .post(api::PLAN, plan)
        .post(api::RUNS, start_run)
        .get(api::RUN_EVENTS, events)
        .get(api::RUN_HANDOFF, handoff_file)
        .post(api::DRIFT, drift)
        .post(api::APPROVALS, approve)
        .with_state(service)
}

impl ApplyService {
    /// The service; `require_review`: `--require-review`, the two-person rule.
    pub fn new(store: Store, data: PathBuf, embedded_url: String, require_review: bool) -> ApplyService {
        ApplyService {
            store,
            data,
            embedded_url,
            require_review,
            runs: Arc::default(),
        }
    }

    /// The configured targets: the embedded control plane (when its demo keys exist), then `DATA/targets.json`.
    fn targets(&self) -> Result<Vec<Target>, WebError> {
        let mut all = Vec::new();
        let demo = self.data.join("demo-keys.json");
        all.push(Target {
            id: "embedded".into(),
            name: "Embedded control plane".into(),
            url: self.embedded_url.clone(),
            keys: demo
                .exists()
                .then(|| Keys::read(&demo))
                .transpose()
                .map_err(|e| WebError(StatusCode::INTERNAL_SERVER_ERROR, "TARGETS", format!("{e:#}")))?,
        });
        let path = self.data.join("targets.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let file: crate::targets::TargetsFile = serde_json::from_str(&text).map_err(|e| {
                WebError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "TARGETS",
                    format!("{}: {e}", path.display()),
                )
            })?;
            for t in file.targets {
                let config = |why: String| {
                    WebError(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "TARGETS",
                        format!("{}: target {:?}: {why}", path.display(), t.id),
                    )
                };
                // Credentials in a URL would reach the browser (the target list shows the URL) and messages.
                crate::targets::check_url(&t.url).map_err(|e| config(e.to_string()))?;
                if all.iter().any(|o: &Target| o.id == t.id) {
                    return Err(config("this id is used twice".into()));
                }
                let keys = Keys::read(&t.keys_file).map_err(|e| {
                    WebError(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "TARGETS",
                        format!("target {:?}: {e:#}", t.id),
                    )
                })?;
                all.push(Target {
                    name: if t.name.is_empty() { t.id.clone() } else { t.name },
                    id: t.id,
                    url: t.url,
                    keys: Some(keys),
                });
            }
        }
        Ok(all)
    }

    fn target(&self, id: &str) -> Result<(Target, Keys), WebError> {
        let t = self
            .targets()?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| not_found(format!("no target {id:?} is configured")))?;
        let keys = t.keys.clone().ok_or_else(|| {
            not_found(format!(
                "target {id:?} has no keys (the demo accounts were not seeded)"
            ))
        })?;
        Ok((t, keys))
    }

    /// A run kept in memory, by id.
    fn run(&self, id: &str) -> Result<Arc<Run>, WebError> {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(format!("no run {id:?} (runs are kept while the server runs)")))
    }

    /// Whether someone other than `by` approved the plan version on the target and still may: the approver is
    /// still an enabled user with the applier role or more (an approval by someone since disabled or demoted no
    /// longer counts).
    async fn approved_for(
        &self,
        by: &Actor,
        plan_id: &str,
        version: i64,
        target: &str,
    ) -> Result<bool, WebError> {
        use controlplane::store::users::Role;
        for a in self.approvals(plan_id, version, target).await? {
            if a.approved_by == by.user {
                continue;
            }
            match self.store.get_user(&a.approved_by).await {
                Ok(u) if !u.disabled && u.role >= Role::Applier => return Ok(true),
                Ok(_) | Err(controlplane::error::ApiError::NotFound(_)) => {}
                Err(e) => {
                    return Err(WebError(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "APPROVAL",
                        e.to_string(),
                    ))
                }
            }
        }
        Ok(false)
    }

    /// The approvals of a plan version on a target.
    async fn approvals(
        &self,
        plan_id: &str,
        version: i64,
        target: &str,
    ) -> Result<Vec<ApprovalView>, WebError> {
        Ok(self
            .store
            .apply_approvals(plan_id, version, target)
            .await
            .map_err(|e| WebError(StatusCode::INTERNAL_SERVER_ERROR, "APPROVAL", e.to_string()))?
            .into_iter()
            .map(|a| ApprovalView {
                approved_by: a.approved_by,
                role: a.role,
                approved_at: a.approved_at,
            })
            .collect())
    }

    fn state(&self, target: &str, plan: &str) -> RunState {
        RunState::Db {
            store: self.store.clone(),
            key: state_key(target, plan),
        }
    }

    /// The stored plan's current version, and the plan computed against the target with the chosen keys.
    /// The stored plan's current version and name, the plan computed against the target with the chosen keys,
    /// the target, and the keys of the plan's accounts that do not act (they only read).
    async fn planned(&self, req: &PlanRequest) -> Result<(i64, String, Planned, Target, Keys), WebError> {
        let stored = self
            .store
            .get_plan(&req.plan_id)
            .await
            .map_err(|e| not_found(e.to_string()))?;
        let desired =
            Plan::from_json(&stored.body).map_err(|e| bad(format!("the stored plan cannot be read: {e}")))?;
        let (target, keys) = self.target(&req.target)?;
        if let Some(chosen) = &req.accounts {
            for a in chosen {
                if !desired.accounts.iter().any(|p| p.id.as_str() == a) {
                    return Err(bad(format!("{a:?} is not an account of the plan")));
                }
            }
        }
        let state = self.state(&target.id, &req.plan_id);
        let planned = compute_with(
            desired,
            stored.import_diagnostics,
            &target.url,
            &keys,
            &format!("target {}", target.id),
            &state,
        )
        .await
        .map_err(|e| unreachable(e, &keys))?;
        // The live state is read with every key the target holds (so objects bind as they are); only the chosen
        // accounts act: the others' steps are handed off, as for an account whose key is not given at all.
        let mut planned = planned;
        let mut readers = planned.keys.clone();
        readers.entries.clear();
        if let Some(chosen) = &req.accounts {
            readers.entries = planned
                .keys
                .entries
                .iter()
                .filter(|e| !chosen.contains(&e.label))
                .cloned()
                .collect();
            planned.keys.entries.retain(|e| chosen.contains(&e.label));
            for a in &planned.desired.accounts {
                let id = a.id.to_string();
                if !chosen.contains(&id) && !planned.keyless.contains(&id) {
                    planned.keyless.push(id);
                }
            }
            if planned.keys.entries.is_empty() {
                return Err(bad(format!(
                    "target {:?} holds no key for the chosen accounts of the plan",
                    target.id
                )));
            }
        }
        Ok((
            stored.summary.version,
            stored.summary.name,
            planned,
            target,
            readers,
        ))
    }
}

/// The state key of a plan on a target.
fn state_key(target: &str, plan: &str) -> String {
    format!("{target}:{plan}")
}

/// `ppk_…f3a9`: enough to tell keys apart, never the key — the last 4 characters of a long key (the `ppk_` prefix
/// of Peerplan's keys is no secret), nothing of a short one.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 24 {
        return "••••".into();
    }
    let head = if key.starts_with("ppk_") { "ppk_" } else { "" };
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn changes_of(p: &Planned) -> Vec<ChangeView> {
    p.changes
        .steps()
        .iter()
        .map(|s| ChangeView {
            action: s.action.as_str().into(),
            symbol: s.action.symbol().to_string(),
            kind: s.kind.as_str().into(),
            plan_id: s.plan_id.clone(),
            live_id: s.live_id.clone(),
            account: s.account.to_string(),
            region: region_of(s, &p.desired, &p.live),
            detail: s.detail.clone(),
        })
        .collect()
}

/// The fingerprint of the live state a plan was computed against: the steps it gives.
fn fingerprint(p: &Planned) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Which accounts act is part of what was reviewed: a run may not act as an account the plan handed off.
    let mut acting: Vec<&str> = p.keys.entries.iter().map(|e| e.label.as_str()).collect();
    acting.sort_unstable();
    h.update(format!("acting {acting:?}\n").as_bytes());
    for s in p.changes.steps() {
        h.update(s.label().as_bytes());
        h.update(b"\n");
        h.update(s.detail.as_bytes());
        h.update(b"\n");
    }
    hex::encode(&h.finalize()[..12])
}

fn view_of(version: i64, name: String, target: &str, p: &Planned) -> PlanView {
    let summary = p.changes.summary();
    PlanView {
        plan_id: String::new(),
        plan_name: name,
        version,
        target: target.to_string(),
        changes: changes_of(p),
        add: summary.add,
        change: summary.change,
        destroy: summary.destroy,
        summary: summary.to_string(),
        diagnostics: p
            .diagnostics
            .iter()
            .map(|d| DiagnosticView {
                severity: format!("{:?}", d.severity).to_lowercase(),
                code: d.code.as_str().to_string(),
                message: d.message.clone(),
            })
            .collect(),
        keyless: p.keyless.clone(),
        fingerprint: fingerprint(p),
        errors: p.diagnostics.iter().any(|d| d.severity == Severity::Error),
        review_required: false,
        approvals: Vec::new(),
    }
}

async fn targets(State(s): State<ApplyService>) -> Result<Json<Vec<TargetInfo>>, WebError> {
    Ok(Json(
        s.targets()?
            .into_iter()
            .filter_map(|t| {
                let keys = t.keys?;
                Some(TargetInfo {
                    accounts: keys
                        .entries
                        .iter()
                        .map(|e| TargetAccount {
                            label: e.label.clone(),
                            name: e.name.clone(),
                            key: masked(e.secret()),
                        })
                        .collect(),
                    id: t.id,
                    name: t.name,
                    url: t.url,
                })
            })
            .collect(),
    ))
}

async fn plan(
    State(s): State<ApplyService>,
    Json(req): Json<PlanRequest>,
) -> Result<Json<PlanView>, WebError> {
    let (version, name, planned, target, _) = s.planned(&req).await?;
    let mut view = view_of(version, name, &target.id, &planned);
    view.review_required = s.require_review;
    view.approvals = s.approvals(&req.plan_id, version, &target.id).await?;
    view.plan_id = req.plan_id;
    Ok(Json(view))
}

/// `POST /api/apply/approvals`: the actor approves the plan's current version on a target (the two-person rule;
/// recorded as `apply.approve`). Who may is the role table's business (`access.rs`: appliers). Only the version
/// the plan is at now can be approved: an approval of an older one would approve what nobody can apply any more.
async fn approve(
    State(s): State<ApplyService>,
    RequestActor(by): RequestActor,
    Json(req): Json<ApprovalRequest>,
) -> Result<Json<Vec<ApprovalView>>, WebError> {
    let stored = s
        .store
        .get_plan(&req.plan_id)
        .await
        .map_err(|e| not_found(e.to_string()))?;
    if stored.summary.version != req.version {
        return Err(conflict(
            "STALE_PLAN",
            format!(
                "version {} cannot be approved: the plan is at version {} now; plan again and review",
                req.version, stored.summary.version
            ),
        ));
    }
    let target = s
        .targets()?
        .into_iter()
        .find(|t| t.id == req.target)
        .ok_or_else(|| not_found(format!("no target {:?} is configured", req.target)))?;
    s.store
        .approve_apply(&by, &req.plan_id, req.version, &target.id)
        .await
        .map_err(|e| WebError(StatusCode::INTERNAL_SERVER_ERROR, "APPROVAL", e.to_string()))?;
    Ok(Json(s.approvals(&req.plan_id, req.version, &target.id).await?))
}

async fn start_run(
    State(s): State<ApplyService>,
    RequestActor(by): RequestActor,
    Json(req): Json<RunRequest>,
) -> Result<Json<RunStarted>, WebError> {
    let plan_req = PlanRequest {
        plan_id: req.plan_id.clone(),
        target: req.target.clone(),
        accounts: req.accounts.clone(),
    };
    // The slot first: a second run of the same plan on the same target is told so at once, not after a live read.
    let id = format!("run_{}", hex::encode(rand::random::<[u8; 8]>()));
    let key = state_key(&req.target, &req.plan_id);
    let mut slot = Slot::take(&s.runs, key.clone(), &id, &by.user)?;
    // The database's lock next, so a run of another server on the database is told so at once too; every refusal
    // below gives it back before answering (the next attempt must not find it still held).
    let lock = DbLock::take(&s.store, &key, &id, &by.user).await?;
    let checked: Result<_, WebError> = async {
        let (version, _, planned, target, readers) = s.planned(&plan_req).await?;
        if version != req.version {
            return Err(conflict(
                "STALE_PLAN",
                format!(
                    "refused as stale: the plan changed since it was shown (version {} then, {version} now); plan again and review",
                    req.version
                ),
            ));
        }
        if fingerprint(&planned) != req.fingerprint {
            return Err(conflict(
                "STALE_PLAN",
                "refused as stale: the live objects the plan touches changed since it was shown; plan again and review",
            ));
        }
        if s.require_review && !s.approved_for(&by, &req.plan_id, version, &target.id).await? {
            return Err(WebError(
                StatusCode::FORBIDDEN,
                "REVIEW_REQUIRED",
                format!(
                    "this server requires review: version {version} of the plan needs an approval on target {:?} by an \
                     applier other than you ({}) before it is applied",
                    target.id, by.user
                ),
            ));
        }
        if planned.diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(WebError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "PLAN_HAS_ERRORS",
                "the plan has errors (see its diagnostics); nothing was applied".into(),
            ));
        }
        let destroy = planned.changes.summary().destroy;
        if destroy > 0 && !req.confirm_destroy {
            return Err(conflict(
                "CONFIRMATION_REQUIRED",
                format!("this destroys {destroy} live object(s): confirm the destroys to apply"),
            ));
        }
        Ok((version, planned, target, readers))
    }
    .await;
    let (version, planned, target, readers) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            lock.release().await;
            return Err(e);
        }
    };
    slot.db = Some(lock);
    let total = planned.changes.steps().len();
    let detail = format!(
        "run {id} on target {:?}: {total} step(s), {}",
        target.id,
        planned.changes.summary()
    );
    s.store
        .audit(NewEntry::ok(&by, AuditAction::ApplyStart, &req.plan_id, Some(version)).detail(&detail))
        .await
        .map_err(|e| {
            WebError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "AUDIT",
                format!("the run was not started: its start could not be recorded in the audit trail ({e})"),
            )
        })?;
    let run = Arc::new(Run {
        inner: Mutex::new(RunLog {
            events: Vec::new(),
            ended: false,
        }),
        tx: broadcast::channel(1024).0,
        files: Mutex::default(),
        snapshots: Snapshots::default(),
    });
    {
        let mut runs = s.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.by_id.insert(id.clone(), run.clone());
        runs.order.push(id.clone());
        while runs.order.len() > KEPT_RUNS {
            let old = runs.order.remove(0);
            if runs.active.values().any(|(a, _)| a == &old) {
                runs.order.push(old);
                break;
            }
            runs.by_id.remove(&old);
        }
    }
    let service = s.clone();
    let run_id = id.clone();
    tokio::spawn(async move {
        // Released before the end is announced (so the next run may start at once), or when the task ends,
        // however it ends.
        let mut slot = slot;
        let (steps_tx, steps_rx) = tokio::sync::mpsc::unbounded_channel();
        let recorder = tokio::spawn(record_steps(
            service.store.clone(),
            by.clone(),
            req.plan_id.clone(),
            version,
            format!("run {run_id} on target {:?}", target.id),
            steps_rx,
        ));
        let end = execute(
            &service,
            &run,
            planned,
            &target,
            &readers,
            version,
            &req.plan_id,
            steps_tx,
        )
        .await;
        let _ = recorder.await;
        let detail = format!("run {run_id} on target {:?}: {}", target.id, end.message);
        if let Err(e) = service
            .store
            .audit(NewEntry {
                result: &end.outcome,
                ..NewEntry::ok(&by, AuditAction::ApplyEnd, &req.plan_id, Some(version)).detail(&detail)
            })
            .await
        {
            tracing::error!(run = %run_id, error = %e, "the end of an apply run could not be recorded in the audit trail");
        }
        service.snapshot(&run, &target, &req.plan_id).await;
        if let Some(lock) = slot.db.take() {
            lock.release().await;
        }
        drop(slot);
        run.push(RunEvent::End(end));
        tracing::info!(run = %run_id, "apply run ended");
    });
    Ok(Json(RunStarted { run: id, total }))
}

/// Records each step's end in the audit trail, in order, as the events arrive (the engine reports them
/// synchronously; appends wait for the database). Ends when the run drops its sender.
async fn record_steps(
    store: Store,
    by: controlplane::audit::Actor,
    plan_id: String,
    version: i64,
    run: String,
    mut events: tokio::sync::mpsc::UnboundedReceiver<crate::engine::Event>,
) {
    while let Some(e) = events.recv().await {
        let result = serde_json::to_value(&e.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let result = match &e.message {
            Some(m) => format!("{result}: {m}"),
            None => result,
        };
        let mut detail = format!(
            "{run}: step {}/{} {} {} {} ({}) in account {}",
            e.step, e.total, e.action, e.kind, e.plan_id, e.detail, e.account
        );
        if let Some(live) = &e.live_id {
            detail.push_str(&format!(" (live {live})"));
        }
        let entry = NewEntry {
            result: &result,
            ..NewEntry::ok(&by, AuditAction::ApplyStep, &plan_id, Some(version)).detail(&detail)
        };
        if let Err(err) = store.audit(entry).await {
            tracing::error!(%run, step = e.step, error = %err, "an apply step could not be recorded in the audit trail");
        }
    }
}

/// Runs the change set with the engine, streaming its events (each step's end also to `steps`, for the audit
/// trail); returns how it ended.
#[allow(clippy::too_many_arguments)]
async fn execute(
    s: &ApplyService,
    run: &Arc<Run>,
    planned: Planned,
    target: &Target,
    readers: &Keys,
    version: i64,
    plan_id: &str,
    steps: tokio::sync::mpsc::UnboundedSender<crate::engine::Event>,
) -> RunEnd {
    let state = s.state(&target.id, plan_id);
    let error = |message: String| RunEnd {
        outcome: "error".into(),
        message,
        handoffs: vec![],
    };
    let client = match controlplane::client::Client::new(&target.url, "") {
        Ok(c) => c,
        Err(e) => return error(format!("target {}: {e}", target.id)),
    };
    let clients = planned
        .keys
        .entries
        .iter()
        .map(|e| {
            (
                netmodel::ids::AccountId::from(e.label.clone()),
                client.with_key(e.secret()),
            )
        })
        .collect();
    let secrets: Vec<String> = planned
        .keys
        .entries
        .iter()
        .map(|e| e.secret().to_string())
        .collect();
    let mut engine = Engine {
        desired: &planned.desired,
        clients,
        bindings: planned.changes.bindings().clone(),
        version: format!(
            "planner-v{version}-{}",
            crate::engine::plan_version(&planned.desired)
        ),
        state: state.clone(),
        attempt: String::new(),
        secrets: secrets.clone(),
    };
    if let Err(e) = state.save_bindings(&engine.bindings).await {
        return error(format!("cannot record the bindings: {e:#}"));
    }
    if let Err(e) = learn_accounts(&state, &client, readers, &planned.live).await {
        return error(format!("cannot record the accounts: {e:#}"));
    }
    let snapshots = s.clone();
    let snap_target = Target {
        id: target.id.clone(),
        name: target.name.clone(),
        url: target.url.clone(),
        keys: Some(planned.keys.clone()),
    };
    let snap_target = Arc::new(snap_target);
    let plan_owned = plan_id.to_string();
    let mut report = |e: &crate::engine::Event| {
        if e.event != EventKind::Start {
            let _ = steps.send(e.clone());
        }
        run.push(RunEvent::Step(StepEvent {
            event: serde_json::to_value(&e.event)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            step: e.step,
            total: e.total,
            action: e.action.into(),
            kind: e.kind.into(),
            plan_id: e.plan_id.clone(),
            account: e.account.clone(),
            detail: e.detail.clone(),
            live_id: e.live_id.clone(),
            message: e.message.clone(),
        }));
        // The peering turning active and the route tables filling, as the control plane reports them.
        if e.event == EventKind::Done
            && matches!(e.kind, "peering" | "peering_accept" | "peering_wait" | "route")
        {
            use std::sync::atomic::Ordering::SeqCst;
            if run.snapshots.busy.swap(true, SeqCst) {
                run.snapshots.again.store(true, SeqCst);
            } else {
                let (s, run, t, p) = (
                    snapshots.clone(),
                    run.clone(),
                    snap_target.clone(),
                    plan_owned.clone(),
                );
                tokio::spawn(async move {
                    loop {
                        s.snapshot(&run, &t, &p).await;
                        if !run.snapshots.again.swap(false, SeqCst) {
                            run.snapshots.busy.store(false, SeqCst);
                            break;
                        }
                    }
                });
            }
        }
    };
    let outcome = match engine.run(&planned.changes, &mut report).await {
        Ok(o) => o,
        Err(e) => return error(crate::engine::redact(&format!("{e:#}"), &secrets)),
    };
    match outcome {
        Outcome::Applied { steps } => {
            let applied = serde_json::json!({"version": version, "plan": planned.desired.to_json()});
            if let Err(e) = state.write(APPLIED, &applied.to_string()).await {
                return error(format!("applied, but the record of it could not be saved: {e:#}"));
            }
            RunEnd {
                outcome: "applied".into(),
                message: format!("Apply complete: {steps} steps. {}", planned.changes.summary()),
                handoffs: vec![],
            }
        }
        Outcome::Failed { step, reason, fix } => RunEnd {
            outcome: "failed".into(),
            message: format!(
                "step {step} failed: {reason}. What to do: {fix}. (The steps before it are done and recorded; applying again resumes from here.)"
            ),
            handoffs: vec![],
        },
        Outcome::Awaiting(w) => {
            let mut handoffs = Vec::new();
            let mut files = run.files.lock().unwrap_or_else(|p| p.into_inner());
            let mut lines = Vec::new();
            for (n, (account, steps)) in w.accounts.iter().enumerate() {
                let acceptances = acceptances_of(&w, account);
                let source = format!("plan {plan_id} (version {version})");
                let script = handoff_script(&source, &target.url, account, steps, &w);
                let markdown = handoff_markdown(&source, &target.url, account.as_str(), &acceptances, steps, &script);
                let (sh, md) = (format!("handoff-{}.sh", n + 1), format!("handoff-{}.md", n + 1));
                files.insert(sh.clone(), script);
                files.insert(md.clone(), markdown);
                lines.extend(acceptances.iter().cloned());
                if acceptances.is_empty() {
                    lines.push(format!(
                        "awaiting account {account}: {} step(s) need its key",
                        steps.len()
                    ));
                }
                handoffs.push(Handoff {
                    account: account.to_string(),
                    acceptances,
                    script: sh,
                    markdown: md,
                });
            }
            lines.push(format!(
                "{} step(s) wait for it; apply again (with that account's key, or after it has run its part) to finish",
                w.blocked
            ));
            RunEnd {
                outcome: "awaiting".into(),
                message: lines.join("\n"),
                handoffs,
            }
        }
    }
}

/// Records the control-plane account of every account that only reads (one GET of one of its live VPCs), so
/// the engine can request a peering to it without acting as it — as a person would, knowing the account number.
async fn learn_accounts(
    state: &RunState,
    client: &controlplane::client::Client,
    readers: &Keys,
    live: &Plan,
) -> anyhow::Result<()> {
    if readers.entries.is_empty() {
        return Ok(());
    }
    let mut known: BTreeMap<String, String> = state
        .read(crate::run_state::ACCOUNTS)
        .await?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    for e in &readers.entries {
        let c = client.with_key(e.secret());
        if let Some(v) = live.vpcs.iter().find(|v| v.account.as_str() == e.label) {
            if let Ok(l) = c.get_vpc(v.id.as_str()).await {
                known.insert(e.label.clone(), l.account_id);
            }
        }
    }
    state
        .write(crate::run_state::ACCOUNTS, &serde_json::to_string_pretty(&known)?)
        .await
}

impl ApplyService {
    /// Reads the live peerings and route tables of the plan's VPCs and streams them to the run.
    async fn snapshot(&self, run: &Arc<Run>, target: &Target, plan_id: &str) {
        let Some(keys) = &target.keys else { return };
        let state = self.state(&target.id, plan_id);
        let Ok(bindings) = state.bindings().await else {
            return;
        };
        let Ok(live) = crate::live::read_live(&target.url, keys).await else {
            return;
        };
        run.push(RunEvent::Live(live_view(&live, &bindings)));
    }
}

/// The bound peerings and the route tables of the bound VPCs.
fn live_view(live: &Plan, b: &Bindings) -> LiveView {
    let plan_of_vpc: HashMap<&str, &str> = b.vpcs.iter().map(|(p, l)| (l.as_str(), p.as_str())).collect();
    let peerings = b
        .peerings
        .iter()
        .filter_map(|(plan, id)| {
            let p = live.peerings.iter().find(|p| &p.id == id)?;
            Some(LivePeering {
                plan_id: plan.to_string(),
                live_id: id.to_string(),
                status: p.status.as_str().to_string(),
            })
        })
        .collect();
    let route_tables = live
        .route_tables
        .iter()
        .filter_map(|t| {
            let vpc = plan_of_vpc.get(t.vpc.as_str())?;
            Some(LiveRouteTable {
                live_id: t.id.to_string(),
                vpc: vpc.to_string(),
                main: t.main,
                routes: t
                    .routes
                    .iter()
                    .map(|r| format!("{} → {}", r.destination, r.target))
                    .collect(),
            })
        })
        .collect();
    LiveView {
        peerings,
        route_tables,
    }
}

async fn events(
    State(s): State<ApplyService>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, WebError> {
    let run = s.run(&id)?;
    // The past events and the subscription under one lock: none is missed or sent twice.
    let (past, rx, ended) = {
        let log = run.inner.lock().unwrap_or_else(|p| p.into_inner());
        (log.events.clone(), run.tx.subscribe(), log.ended)
    };
    let sse = |e: &RunEvent| {
        let name = match e {
            RunEvent::Step(_) => "step",
            RunEvent::Live(_) => "live",
            RunEvent::End(_) => "end",
        };
        Ok::<_, std::convert::Infallible>(
            SseEvent::default()
                .event(name)
                .data(serde_json::to_string(e).unwrap_or_default()),
        )
    };
    use futures_util::StreamExt as _;
    let past = futures_util::stream::iter(past.iter().map(sse).collect::<Vec<_>>());
    let next = futures_util::stream::unfold((rx, ended), move |(mut rx, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let end = matches!(e, RunEvent::End(_));
                    return Some((sse(&e), (rx, end)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(past.chain(next)).keep_alive(KeepAlive::default()))
}

async fn handoff_file(
    State(s): State<ApplyService>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let run = s.run(&id)?;
    let text = run
        .files
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&file)
        .cloned()
        .ok_or_else(|| not_found(format!("run {id} has no hand-off file {file:?}")))?;
    let kind = if file.ends_with(".md") {
        "text/markdown; charset=utf-8"
    } else {
        "text/x-shellscript; charset=utf-8"
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"peerplan-{file}\""),
            ),
        ],
        text,
    )
        .into_response())
}

async fn drift(
    State(s): State<ApplyService>,
    Json(req): Json<PlanRequest>,
) -> Result<Json<DriftView>, WebError> {
    let (target, keys) = s.target(&req.target)?;
    let state = s.state(&target.id, &req.plan_id);
    // The record and when it was saved, in one read.
    let (record, at) = match s
        .store
        .document(&state_key(&target.id, &req.plan_id), APPLIED)
        .await
    {
        Ok(Some((body, at))) => (Some(body), Some(at)),
        Ok(None) => (None, None),
        Err(e) => {
            return Err(WebError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "STATE",
                e.to_string(),
            ))
        }
    };
    let Some(record) = record else {
        return Ok(Json(DriftView {
            applied_at: None,
            applied_version: None,
            changes: vec![],
            summary: "never applied to this target from the planner".into(),
        }));
    };
    let doc: serde_json::Value =
        serde_json::from_str(&record).map_err(|e| bad(format!("applied record: {e}")))?;
    let applied = Plan::from_json(doc["plan"].as_str().unwrap_or_default())
        .map_err(|e| bad(format!("applied record: {e}")))?;
    let planned = compute_with(
        applied,
        vec![],
        &target.url,
        &keys,
        &format!("target {}", target.id),
        &state,
    )
    .await
    .map_err(|e| unreachable(e, &keys))?;
    Ok(Json(DriftView {
        applied_at: at,
        applied_version: doc["version"].as_i64(),
        changes: changes_of(&planned),
        summary: planned.changes.summary().to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_to_a_hint() {
        assert_eq!(masked("ppk_0123456789abcdef0123456789abcdef"), "ppk_…cdef");
        assert_eq!(masked("sk-0123456789abcdef012345"), "…2345");
        assert_eq!(masked("0123456789abcdef"), "••••");
        assert_eq!(masked("short"), "••••");
    }
}
