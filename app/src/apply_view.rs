//! The planner's **Apply** view (`/plans/{id}/apply`): pick a target and the accounts that act, see the plan
//! (grouped by account and region, `+ ~ - =`), confirm, and watch each step move pending → running → done /
//! failed with the control plane's answer, the peering turn active and the route tables fill (server-sent
//! events, read with gloo-net's `EventSource`). A run that awaits another account ends with its hand-off (the
//! accept script and a Markdown page). And the **Drift** view (`/plans/{id}/drift`): what changed in the
//! control plane since the plan was last applied. The server side is `server::apply_web`; the types are
//! [`crate::apply_api`]'s.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use leptos_router::{hooks::use_params_map, lazy_route, LazyRoute};
use netmodel::Plan;

use crate::{
    apply_api::{
        self as api, ApprovalRequest, ApprovalView, ChangeView, DriftView, LiveView, PlanRequest, PlanView,
        RunEnd, RunEvent, RunRequest, RunStarted, TargetInfo,
    },
    paths,
    storage::{self, format_time, StoredPlan},
};

/// Requests to the apply endpoints: JSON with the page's CSRF token, in the browser only (the server renders
/// the page without them).
#[cfg(feature = "hydrate")]
mod net {
    use gloo_net::http::{Request, Response};
    use serde::{de::DeserializeOwned, Serialize};

    use crate::apply_api::ApiErrorBody;

    async fn answer<T: DeserializeOwned>(r: Result<Response, gloo_net::Error>) -> Result<T, String> {
        let r = r.map_err(|e| format!("the server cannot be reached: {e}"))?;
        if r.ok() {
            return r.json::<T>().await.map_err(|e| format!("unexpected answer: {e}"));
        }
        match r.json::<ApiErrorBody>().await {
            Ok(b) => Err(b.error.message),
            Err(_) => Err(format!("the server answered HTTP {}", r.status())),
        }
    }

    pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
        answer(Request::get(url).send().await).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, String> {
        let req = Request::post(url)
            .header(crate::csrf::HEADER, &crate::csrf::csrf_token())
            .json(body)
            .map_err(|e| e.to_string())?;
        answer(req.send().await).await
    }

    /// Follows a run's events until its end event (the stream replays past events on a reconnect, and every
    /// handler is idempotent).
    pub fn follow(
        run: &str,
        on: impl Fn(crate::apply_api::RunEvent) + 'static,
        lost: impl Fn() + 'static,
    ) -> Result<(), String> {
        use futures::StreamExt as _;
        let mut es = gloo_net::eventsource::futures::EventSource::new(&crate::apply_api::run_events(run))
            .map_err(|e| format!("cannot follow the run: {e:?}"))?;
        let mut streams = Vec::new();
        for name in ["step", "live", "end"] {
            streams.push(
                es.subscribe(name)
                    .map_err(|e| format!("cannot follow the run: {e:?}"))?,
            );
        }
        leptos::task::spawn_local(async move {
            let mut all = futures::stream::select_all(streams);
            while let Some(item) = all.next().await {
                let Ok((_, message)) = item else {
                    // The browser reconnects by itself unless the server refused the stream (a restarted
                    // server no longer knows the run): then the progress is lost, not the work.
                    if es.state() == gloo_net::eventsource::State::Closed {
                        lost();
                        break;
                    }
                    continue;
                };
                let Some(text) = message.data().as_string() else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<crate::apply_api::RunEvent>(&text) else {
                    continue;
                };
                let end = matches!(event, crate::apply_api::RunEvent::End(_));
                on(event);
                if end {
                    break;
                }
            }
            es.close();
        });
        Ok(())
    }
}

/// The server build never calls these (effects and handlers run in the browser only).
#[cfg(not(feature = "hydrate"))]
mod net {
    use serde::{de::DeserializeOwned, Serialize};

    const BROWSER: &str = "only in the browser";

    pub async fn get<T: DeserializeOwned>(_: &str) -> Result<T, String> {
        Err(BROWSER.into())
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(_: &str, _: &B) -> Result<T, String> {
        Err(BROWSER.into())
    }

    pub fn follow(
        _: &str,
        _: impl Fn(crate::apply_api::RunEvent) + 'static,
        _: impl Fn() + 'static,
    ) -> Result<(), String> {
        Err(BROWSER.into())
    }
}

/// Which of the two views.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Apply,
    Drift,
}

/// The Apply view, a lazy route (its code is its own chunk with `--split`).
#[derive(Clone)]
pub struct ApplyRoute {
    loaded: Resource<Result<StoredPlan, storage::PlanError>>,
}

#[lazy_route]
impl LazyRoute for ApplyRoute {
    fn data() -> Self {
        let params = use_params_map();
        let id = move || params.read().get("id").unwrap_or_default();
        ApplyRoute {
            loaded: Resource::new(id, storage::load_plan),
        }
    }

    fn view(this: Self) -> AnyView {
        loaded_view(this.loaded, Mode::Apply)
    }
}

/// The Drift view, a lazy route.
#[derive(Clone)]
pub struct DriftRoute {
    loaded: Resource<Result<StoredPlan, storage::PlanError>>,
}

#[lazy_route]
impl LazyRoute for DriftRoute {
    fn data() -> Self {
        let params = use_params_map();
        let id = move || params.read().get("id").unwrap_or_default();
        DriftRoute {
            loaded: Resource::new(id, storage::load_plan),
        }
    }

    fn view(this: Self) -> AnyView {
        loaded_view(this.loaded, Mode::Drift)
    }
}

fn loaded_view(loaded: Resource<Result<StoredPlan, storage::PlanError>>, mode: Mode) -> AnyView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the plan…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Err(e) => view! {
                        <main class="plans-page">
                            <p class="field-error" role="alert">{format!("Cannot open this plan: {e}")}</p>
                            <a href=paths::HOME>"Back to the plans"</a>
                        </main>
                    }.into_any(),
                    Ok(p) => view! { <TargetPage loaded=p mode/> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// A plan account and the target's key for it, if any.
#[derive(Clone, PartialEq)]
struct AccountChoice {
    id: String,
    name: String,
    /// The key's masked hint.
    key: Option<String>,
}

fn choices(plan: &Plan, target: Option<&TargetInfo>) -> Vec<AccountChoice> {
    plan.accounts
        .iter()
        .map(|a| AccountChoice {
            id: a.id.to_string(),
            name: a.name.clone(),
            key: target.and_then(|t| {
                t.accounts
                    .iter()
                    .find(|k| k.label == a.id.as_str() || (!a.name.is_empty() && k.name == a.name))
                    .map(|k| k.key.clone())
            }),
        })
        .collect()
}

/// The page around both views: the plan bar, the target and accounts, then the view.
#[component]
fn TargetPage(loaded: StoredPlan, mode: Mode) -> impl IntoView {
    let plan = Plan::from_json(&loaded.body).unwrap_or_default();
    let id = loaded.summary.id.clone();
    let targets = RwSignal::new(None::<Result<Vec<TargetInfo>, String>>);
    let target = RwSignal::new(String::new());
    let acting = RwSignal::new(BTreeSet::<String>::new());
    let accounts = plan.accounts.clone();
    Effect::new(move |_| {
        let accounts = accounts.clone();
        leptos::task::spawn_local(async move {
            let got = net::get::<Vec<TargetInfo>>(api::TARGETS).await;
            if let Ok(list) = &got {
                if let Some(first) = list.first() {
                    target.set(first.id.clone());
                }
            }
            acting.set(accounts.iter().map(|a| a.id.to_string()).collect());
            targets.set(Some(got));
        });
    });
    let current = Signal::derive(move || {
        targets.with(|t| {
            t.as_ref()
                .and_then(|t| t.as_ref().ok())
                .and_then(|list| list.iter().find(|t| t.id == target.get()).cloned())
        })
    });
    let plan_for_choices = plan.clone();
    let account_choices = Memo::new(move |_| choices(&plan_for_choices, current.get().as_ref()));
    let selection = Signal::derive(move || {
        let all = account_choices.get();
        let chosen = acting.get();
        let with_key: Vec<String> = all
            .iter()
            .filter(|c| c.key.is_some() && chosen.contains(&c.id))
            .map(|c| c.id.clone())
            .collect();
        with_key
    });
    let (apply_href, drift_href) = (paths::plan_apply(&id), paths::plan_drift(&id));
    view! {
        <main class="apply-page">
            <div class="plan-bar">
                <a href=paths::plan(&id)>"← Planner"</a>
                <strong data-testid="plan-name">{loaded.summary.name.clone()}</strong>
                <span class="muted">{format!("version {}", loaded.summary.version)}</span>
                <nav class="apply-tabs" aria-label="Apply views">
                    <a href=apply_href aria-current=move || (mode == Mode::Apply).then_some("page")>"Apply"</a>
                    <a href=drift_href aria-current=move || (mode == Mode::Drift).then_some("page")>"Drift"</a>
                </nav>
            </div>
            <section class="apply-target" aria-label="Target and accounts">
                {move || match targets.get() {
                    None => view! { <p class="muted">"Loading the targets…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="field-error" role="alert">{format!("Cannot list the targets: {e}")}</p> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! {
                        <p class="muted" role="alert">"No target is configured: start peerplan serve with its demo accounts, or list control planes in DATA/targets.json."</p>
                    }.into_any(),
                    Some(Ok(list)) => view! {
                        <label>"Target "
                            <select aria-label="Target" on:change=move |ev| target.set(event_target_value(&ev))>
                                {list.into_iter().map(|t| {
                                    let selected = t.id == target.get_untracked();
                                    view! { <option value=t.id.clone() selected=selected>{format!("{} — {}", t.name, t.url)}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    }.into_any(),
                }}
                <fieldset class="acting">
                    <legend>"Accounts that act (their keys stay on the server)"</legend>
                    {move || account_choices.get().into_iter().map(|c| {
                        let cid = c.id.clone();
                        let checked = c.key.is_some() && acting.with(|a| a.contains(&c.id));
                        let label = match &c.key {
                            Some(k) => format!("{}{} — key {k}", c.id, if c.name.is_empty() { String::new() } else { format!(" ({})", c.name) }),
                            None => format!("{} — no key on this target: its part is handed off", c.id),
                        };
                        view! {
                            <label class="acting-account">
                                <input type="checkbox" prop:checked=checked disabled=c.key.is_none()
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        acting.update(|a| { if on { a.insert(cid.clone()); } else { a.remove(&cid); } });
                                    }/>
                                {label}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            </section>
            {match mode {
                Mode::Apply => view! { <ApplyPanel plan_id=id.clone() target selection/> }.into_any(),
                Mode::Drift => view! { <DriftPanel plan_id=id.clone() target selection/> }.into_any(),
            }}
        </main>
    }
}

/// The plan's changes, grouped by account and region.
#[component]
fn ChangeList(changes: Vec<ChangeView>) -> impl IntoView {
    let mut groups: BTreeMap<(String, String), Vec<ChangeView>> = BTreeMap::new();
    for c in changes {
        groups
            .entry((c.account.clone(), c.region.clone()))
            .or_default()
            .push(c);
    }
    view! {
        <div class="change-list">
            {groups.into_iter().map(|((account, region), list)| view! {
                <h4>{format!("account {account} · {region}")}</h4>
                <ul>
                    {list.into_iter().map(|c| view! {
                        <li class=format!("change {}", c.action) data-testid="change" data-kind=c.kind.clone()>
                            <code>{c.symbol.clone()}</code>" "{c.kind.clone()}" "<strong>{c.plan_id.clone()}</strong>": "{c.detail.clone()}
                        </li>
                    }).collect_view()}
                </ul>
            }).collect_view()}
        </div>
    }
}

/// One step's state in the progress list.
#[derive(Clone, Debug, PartialEq)]
struct StepState {
    status: &'static str,
    live_id: Option<String>,
    message: Option<String>,
}

#[component]
fn ApplyPanel(plan_id: String, target: RwSignal<String>, selection: Signal<Vec<String>>) -> impl IntoView {
    let planned = RwSignal::new(None::<PlanView>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let confirm_destroy = RwSignal::new(false);
    let steps = RwSignal::new(Vec::<StepState>::new());
    let live = RwSignal::new(None::<LiveView>);
    let end = RwSignal::new(None::<RunEnd>);
    let run_id = RwSignal::new(None::<String>);
    // The accounts the shown plan was made for: the run acts as exactly these (the server refuses others).
    let planned_accounts = RwSignal::new(Vec::<String>::new());
    // A plan shown for other accounts or another target is no longer the one that would run.
    Effect::new(move |_| {
        selection.track();
        target.track();
        if run_id.get_untracked().is_none() {
            planned.set(None);
        }
    });

    let request = {
        let plan_id = plan_id.clone();
        move || PlanRequest {
            plan_id: plan_id.clone(),
            target: target.get_untracked(),
            accounts: Some(selection.get_untracked()),
        }
    };
    let make_plan = {
        let request = request.clone();
        move |_| {
            let req = request();
            planned_accounts.set(req.accounts.clone().unwrap_or_default());
            // The plan shown so far goes while the new one is made: an Apply meanwhile would be of the old one.
            planned.set(None);
            busy.set(true);
            error.set(None);
            end.set(None);
            run_id.set(None);
            live.set(None);
            steps.set(vec![]);
            leptos::task::spawn_local(async move {
                match net::post::<_, PlanView>(api::PLAN, &req).await {
                    Ok(p) => planned.set(Some(p)),
                    Err(e) => {
                        planned.set(None);
                        error.set(Some(e));
                    }
                }
                busy.set(false);
            });
        }
    };
    let start = move |_| {
        let Some(p) = planned.get_untracked() else { return };
        let req = RunRequest {
            plan_id: p.plan_id.clone(),
            target: p.target.clone(),
            accounts: Some(planned_accounts.get_untracked()),
            version: p.version,
            fingerprint: p.fingerprint.clone(),
            confirm_destroy: confirm_destroy.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        end.set(None);
        steps.set(
            p.changes
                .iter()
                .map(|_| StepState {
                    status: "pending",
                    live_id: None,
                    message: None,
                })
                .collect(),
        );
        leptos::task::spawn_local(async move {
            match net::post::<_, RunStarted>(api::RUNS, &req).await {
                Ok(started) => {
                    run_id.set(Some(started.run.clone()));
                    let followed = net::follow(
                        &started.run,
                        move |e| match e {
                            RunEvent::Step(s) => steps.update(|all| {
                                if let Some(st) = all.get_mut(s.step.saturating_sub(1)) {
                                    st.status = match s.event.as_str() {
                                        "start" => "running",
                                        "done" => "done",
                                        "failed" => "failed",
                                        "no_key" => "handed off",
                                        _ => "blocked",
                                    };
                                    st.live_id = s.live_id.or(st.live_id.take());
                                    st.message = s.message;
                                }
                            }),
                            RunEvent::Live(l) => live.set(Some(l)),
                            RunEvent::End(e) => {
                                end.set(Some(e));
                                busy.set(false);
                            }
                        },
                        move || {
                            error.set(Some(
                            "the run's progress was lost (did the server restart?): plan again — applying resumes \
                             from the journal and repeats nothing"
                                .into(),
                        ));
                            busy.set(false);
                        },
                    );
                    if let Err(e) = followed {
                        error.set(Some(e));
                        busy.set(false);
                    }
                }
                Err(e) => {
                    steps.set(vec![]);
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <section class="apply-plan" aria-label="Plan">
            <button type="button" on:click=make_plan disabled=move || busy.get() || selection.with(Vec::is_empty)>"Plan"</button>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert" data-testid="apply-error">{e}</p> })}
            {move || planned.get().map(|p| {
                let nothing = p.changes.is_empty();
                view! {
                    <p class="muted">{format!("Plan of version {} against {}", p.version, p.target)}
                        {(!p.keyless.is_empty()).then(|| format!(" — handed off: {}", p.keyless.join(", ")))}</p>
                    <ChangeList changes=p.changes.clone()/>
                    <ul class="diagnostics">
                        {p.diagnostics.iter().map(|d| view! { <li class=d.severity.clone()><code>{d.code.clone()}</code>" "{d.message.clone()}</li> }).collect_view()}
                    </ul>
                    <p data-testid="plan-summary"><strong>{p.summary.clone()}</strong></p>
                    {(p.destroy > 0).then(|| view! {
                        <label class="confirm-destroy">
                            <input type="checkbox" on:change=move |ev| confirm_destroy.set(event_target_checked(&ev))/>
                            {format!("Destroy {} live object(s)", p.destroy)}
                        </label>
                    })}
                    {(p.review_required && !nothing && !p.errors).then(|| {
                        let req = ApprovalRequest { plan_id: p.plan_id.clone(), target: p.target.clone(), version: p.version };
                        let approve = move |_| {
                            let req = req.clone();
                            busy.set(true);
                            error.set(None);
                            leptos::task::spawn_local(async move {
                                match net::post::<_, Vec<ApprovalView>>(api::APPROVALS, &req).await {
                                    Ok(all) => planned.update(|p| if let Some(p) = p { p.approvals = all }),
                                    Err(e) => error.set(Some(e)),
                                }
                                busy.set(false);
                            });
                        };
                        view! {
                            <div class="review" data-testid="review">
                                <p>"Two-person rule: this version needs an approval by an applier other than the one who applies it. "
                                    {if p.approvals.is_empty() {
                                        "Not approved yet.".to_string()
                                    } else {
                                        format!("Approved by {}.", p.approvals.iter().map(|a| a.approved_by.as_str()).collect::<Vec<_>>().join(", "))
                                    }}</p>
                                <button type="button" on:click=approve disabled=move || busy.get()>"Approve"</button>
                            </div>
                        }
                    })}
                    {(!nothing && !p.errors).then(|| view! {
                        <button type="button" class="primary" on:click=start
                            disabled=move || busy.get() || run_id.get().is_some() || (p.destroy > 0 && !confirm_destroy.get())>"Apply"</button>
                    })}
                    {p.errors.then(|| view! { <p class="field-error">"The plan has errors (above): it cannot be applied."</p> })}
                }
            })}
        </section>
        <section class="apply-progress" aria-label="Progress">
            {move || {
                let all = steps.get();
                let changes = planned.get().map(|p| p.changes).unwrap_or_default();
                (!all.is_empty()).then(|| {
                    let done = all.iter().filter(|s| s.status == "done").count();
                    view! {
                        <p data-testid="progress">{format!("{done} of {} steps done", all.len())}</p>
                        <ol class="steps">
                            {all.into_iter().zip(changes).map(|(s, c)| view! {
                                <li data-testid="step" data-status=s.status data-kind=c.kind.clone() class=format!("step {}", s.status.replace(' ', "-"))>
                                    <span class="step-status">{s.status}</span>" "
                                    <code>{c.symbol.clone()}</code>" "{c.kind.clone()}" "<strong>{c.plan_id.clone()}</strong>
                                    {s.live_id.map(|l| format!(" → {l}"))}
                                    {s.message.map(|m| view! { <div class="step-message">{m}</div> })}
                                </li>
                            }).collect_view()}
                        </ol>
                    }
                })
            }}
        </section>
        <section class="apply-live" aria-label="Live state">
            {move || live.get().map(|l| view! {
                <h3>"In the control plane"</h3>
                <ul>
                    {l.peerings.into_iter().map(|p| view! {
                        <li data-testid="live-peering" data-status=p.status.clone()>{format!("peering {} ({}): {}", p.plan_id, p.live_id, p.status)}</li>
                    }).collect_view()}
                </ul>
                <ul>
                    {l.route_tables.into_iter().map(|t| view! {
                        <li data-testid="live-route-table" data-vpc=t.vpc.clone()>
                            {format!("{} route table {} of {}: ", if t.main { "main" } else { "custom" }, t.live_id, t.vpc)}
                            {if t.routes.is_empty() { "no routes besides local".to_string() } else { t.routes.join(", ") }}
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </section>
        <section class="apply-outcome" aria-label="Outcome" aria-live="polite">
            {move || end.get().map(|e| {
                let run = run_id.get().unwrap_or_default();
                view! {
                    <p data-testid="outcome" data-outcome=e.outcome.clone() class=format!("outcome {}", e.outcome)>
                        {e.message.lines().map(|l| view! { <span>{l.to_string()}</span><br/> }).collect_view()}
                    </p>
                    {e.handoffs.into_iter().map(|h| view! {
                        <div class="handoff" data-testid="handoff">
                            <strong>{format!("Hand-off for account {}", h.account)}</strong>" "
                            <a href=api::run_handoff(&run, &h.script) download="">"curl script"</a>" · "
                            <a href=api::run_handoff(&run, &h.markdown) download="">"Markdown page"</a>
                        </div>
                    }).collect_view()}
                }
            })}
        </section>
    }
}

#[component]
fn DriftPanel(plan_id: String, target: RwSignal<String>, selection: Signal<Vec<String>>) -> impl IntoView {
    let drift = RwSignal::new(None::<Result<DriftView, String>>);
    let busy = RwSignal::new(false);
    let check = move |_| {
        let req = PlanRequest {
            plan_id: plan_id.clone(),
            target: target.get_untracked(),
            accounts: Some(selection.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            drift.set(Some(net::post::<_, DriftView>(api::DRIFT, &req).await));
            busy.set(false);
        });
    };
    view! {
        <section class="drift" aria-label="Drift">
            <button type="button" on:click=check disabled=move || busy.get()>"Check for drift"</button>
            {move || drift.get().map(|d| match d {
                Err(e) => view! { <p class="field-error" role="alert">{e}</p> }.into_any(),
                Ok(d) if d.applied_at.is_none() => view! {
                    <p data-testid="drift-summary">"This plan was never applied to this target from the planner: nothing to compare."</p>
                }.into_any(),
                Ok(d) => {
                    let when = format!(
                        "version {} applied {}",
                        d.applied_version.unwrap_or_default(),
                        d.applied_at.map(format_time).unwrap_or_default()
                    );
                    if d.changes.is_empty() {
                        view! { <p data-testid="drift-summary">{format!("No drift: the control plane is as the last apply left it ({when}).")}</p> }.into_any()
                    } else {
                        view! {
                            <p data-testid="drift-summary">{format!("Changed in the control plane since the last apply ({when}); applying again would do:")}</p>
                            <ChangeList changes=d.changes/>
                            <p><strong>{d.summary}</strong></p>
                        }.into_any()
                    }
                }
            })}
        </section>
    }
}
