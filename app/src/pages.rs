//! The two routed pages: the plan list (`/`: create, import, rename, duplicate, delete — plain HTML forms
//! handled by the server, so they work without JavaScript) and a stored plan (`/plans/{id}`: the planner with
//! autosave and a version history; rendered on the server as a read-only diagram until hydrated).

use leptos::prelude::*;
use leptos_router::{hooks::use_params_map, lazy_route, LazyRoute};
use netmodel::Plan;

use crate::{
    csrf::CsrfField,
    editor::Editor,
    paths,
    planner::Planner,
    storage::{self, format_time, StoredPlan},
};

/// The plan list.
#[component]
pub fn PlansPage() -> impl IntoView {
    let plans = Resource::new(|| (), |_| storage::list_plans());
    view! {
        <main class="plans-page">
            <section class="plans-actions">
                <form method="post" action=paths::PLAN_NEW class="inline-form" aria-label="Create a plan">
                    <CsrfField/>
                    <label for="new-plan-name">"New plan"</label>
                    <input id="new-plan-name" type="text" name="name" value="Untitled plan" maxlength="255" required/>
                    <button type="submit">"Create plan"</button>
                </form>
                <ImportForm/>
            </section>
            <Suspense fallback=|| view! { <p class="muted">"Loading the plans…"</p> }>
                {move || Suspend::new(async move {
                    match plans.await {
                        Err(e) => view! { <p class="field-error" role="alert">{format!("Cannot list the plans: {e}")}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="no-plans">"No plans yet: create one, or import a Peerplan JSON file or AWS describe-* output."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="plans" aria-label="Plans">
                                <thead>
                                    <tr><th>"Plan"</th><th>"VPCs"</th><th>"Peerings"</th><th>"Version"</th><th>"Changed"</th><th>"Actions"</th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|p| view! {
                                        <tr data-testid="plan-row" data-id=p.id.clone()>
                                            <td><a href=paths::plan(&p.id)>{p.name.clone()}</a></td>
                                            <td>{p.vpc_count}</td>
                                            <td>{p.peering_count}</td>
                                            <td>{p.version}</td>
                                            <td>{format_time(p.updated_at)}</td>
                                            <td class="row-actions">
                                                <form method="post" action=paths::plan_rename(&p.id) class="inline-form">
                                                    <CsrfField/>
                                                    <input type="text" name="name" value=p.name.clone() maxlength="255" required aria-label=format!("New name for {}", p.name)/>
                                                    <button type="submit" class="secondary">"Rename"</button>
                                                </form>
                                                <form method="post" action=paths::plan_duplicate(&p.id)>
                                                    <CsrfField/>
                                                    <button type="submit" class="secondary" aria-label=format!("Duplicate {}", p.name)>"Duplicate"</button>
                                                </form>
                                                <form method="post" action=paths::plan_delete(&p.id) on:submit=confirm_delete(p.name.clone())>
                                                    <CsrfField/>
                                                    <button type="submit" class="danger" aria-label=format!("Delete {}", p.name)>"Delete"</button>
                                                </form>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

/// Asks before a plan is deleted (once the page is live; without JavaScript the form posts at once). A handler,
/// not an inline `onsubmit` attribute: the Content-Security-Policy allows no inline script.
fn confirm_delete(name: String) -> impl Fn(leptos::ev::SubmitEvent) + Clone {
    move |ev: leptos::ev::SubmitEvent| {
        let sure = window()
            .confirm_with_message(&format!("Delete the plan \"{name}\" and all its versions?"))
            .unwrap_or(false);
        if !sure {
            ev.prevent_default();
        }
    }
}

/// Import: one Peerplan JSON file, or AWS describe-* JSON files (several at once), chosen or dropped.
#[component]
fn ImportForm() -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    let input = NodeRef::<leptos::html::Input>::new();
    let over = RwSignal::new(false);
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        over.set(false);
        let files = ev.data_transfer().and_then(|d| d.files());
        if let (Some(files), Some(input), Some(form)) = (files, input.get_untracked(), form.get_untracked()) {
            if files.length() > 0 {
                input.set_files(Some(&files));
                let _ = form.submit();
            }
        }
    };
    view! {
        <form
            method="post"
            action=paths::PLAN_IMPORT
            enctype="multipart/form-data"
            class="import-form"
            class:drag-over=move || over.get()
            aria-label="Import"
            node_ref=form
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                over.set(true);
            }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop
        >
            <CsrfField/>
            <label for="import-files">"Import (drop files here)"</label>
            <input id="import-files" type="file" name="files" accept=".json,application/json" multiple required node_ref=input/>
            <button type="submit">"Import"</button>
            <span class="muted">"a Peerplan plan, or AWS describe-vpcs, -subnets, -route-tables, -security-groups, … output"</span>
        </form>
    }
}

/// A stored plan in the planner, saved automatically. A lazy route: the planner's code is its own WASM chunk
/// (with `cargo leptos --split`), loaded alongside the plan, so the plan list loads only what it needs.
#[derive(Clone)]
pub struct PlanRoute {
    loaded: Resource<Result<StoredPlan, ServerFnError>>,
}

#[lazy_route]
impl LazyRoute for PlanRoute {
    fn data() -> Self {
        let params = use_params_map();
        let id = move || params.read().get("id").unwrap_or_default();
        PlanRoute {
            loaded: Resource::new(id, storage::load_plan),
        }
    }

    fn view(this: Self) -> AnyView {
        let loaded = this.loaded;
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
                        Ok(p) => view! { <StoredPlanner loaded=p/> }.into_any(),
                    }
                })}
            </Suspense>
        }
        .into_any()
    }
}

/// The scratch pad: the planner on an unsaved plan, a lazy route like [`PlanRoute`].
#[derive(Clone)]
pub struct ScratchRoute;

#[lazy_route]
impl LazyRoute for ScratchRoute {
    fn data() -> Self {
        ScratchRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <crate::planner::PlannerPage/> }.into_any()
    }
}

/// The save state shown beside the plan's name.
#[derive(Clone, Debug, PartialEq)]
// Only the autosave, which exists in the browser build alone, moves a plan out of `Saved`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum SaveState {
    Saved(i64),
    Pending,
    Saving,
    Failed(String),
}

#[component]
fn StoredPlanner(loaded: StoredPlan) -> impl IntoView {
    let plan = match Plan::from_json(&loaded.body) {
        Ok(p) => p,
        Err(e) => {
            return view! { <p class="field-error" role="alert">{format!("The stored plan cannot be read: {e}")}</p> }
                .into_any()
        }
    };
    let editor = Editor::new(plan);
    let id = loaded.summary.id.clone();
    let state = RwSignal::new(SaveState::Saved(loaded.summary.version));
    let history_open = RwSignal::new(false);
    let versions_tick = RwSignal::new(0u32);

    // Autosave: 600 ms after the last change, the plan is saved as a new version. Each change replaces the
    // pending gloo `Timeout`, and dropping the old one clears it: the debounce. Effects run only in the
    // browser, so the server build has neither the effect nor gloo.
    #[cfg(feature = "hydrate")]
    {
        // A `Timeout` holds a JavaScript closure (not `Send`): kept in local storage of the reactive arena.
        let timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
        let save_id = id.clone();
        Effect::new(move |first: Option<()>| {
            editor.plan.track();
            if first.is_none() {
                return;
            }
            state.set(SaveState::Pending);
            let id = save_id.clone();
            let save = gloo_timers::callback::Timeout::new(600, move || {
                state.set(SaveState::Saving);
                // Serialised when the timer fires, not on every change (a drag changes the plan each frame).
                let body = editor.plan.with_untracked(Plan::to_json);
                leptos::task::spawn_local(async move {
                    match storage::save_plan(id, body).await {
                        Ok(info) => {
                            state.set(SaveState::Saved(info.version));
                            versions_tick.update(|t| *t += 1);
                        }
                        Err(e) => state.set(SaveState::Failed(e.to_string())),
                    }
                });
            });
            // The previous timeout, if still pending, is dropped here and so never fires.
            timer.set_value(Some(save));
        });
    }

    // Leaving with a change not yet saved asks first (the browser's own prompt).
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if matches!(state.get_untracked(), SaveState::Pending | SaveState::Saving) {
                ev.prevent_default();
                ev.set_return_value("Changes are still being saved.");
            }
        });
        on_cleanup(move || handle.remove());
    });

    let vid = id.clone();
    let versions = Resource::new(
        move || (history_open.get(), versions_tick.get()),
        move |(open, _)| {
            let id = vid.clone();
            async move {
                if open {
                    storage::plan_versions(id).await
                } else {
                    Ok(vec![])
                }
            }
        },
    );
    let restore = move |version: i64| {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            match storage::restore_version(id, version).await {
                Ok(p) => match Plan::from_json(&p.body) {
                    Ok(plan) => {
                        editor.replace(plan);
                        editor.notice.set(format!(
                            "Restored version {version} (saved as version {}).",
                            p.summary.version
                        ));
                        versions_tick.update(|t| *t += 1);
                    }
                    Err(e) => editor
                        .notice
                        .set(format!("version {version} cannot be read: {e}")),
                },
                Err(e) => editor
                    .notice
                    .set(format!("cannot restore version {version}: {e}")),
            }
        });
    };
    let import_diags = loaded.import_diagnostics.clone();
    view! {
        <div class="plan-bar">
            <a href=paths::HOME>"← Plans"</a>
            <strong data-testid="plan-name">{loaded.summary.name.clone()}</strong>
            <a href=paths::plan_apply(&loaded.summary.id)>"Apply…"</a>
            <a href=paths::plan_drift(&loaded.summary.id)>"Drift"</a>
            <span class="save-status" data-testid="save-status" role="status" aria-live="polite">
                {move || match state.get() {
                    SaveState::Saved(v) => format!("All changes saved (version {v})"),
                    SaveState::Pending => "Unsaved changes…".to_string(),
                    SaveState::Saving => "Saving…".to_string(),
                    SaveState::Failed(e) => format!("Not saved: {e}"),
                }}
            </span>
            <details class="history" prop:open=move || history_open.get()>
                <summary on:click=move |ev| {
                    ev.prevent_default();
                    history_open.update(|o| *o = !*o);
                }>"History"</summary>
                <div class="history-list" aria-label="Version history">
                    <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                        {move || {
                            let restore = restore.clone();
                            Suspend::new(async move {
                            match versions.await {
                                Err(e) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
                                Ok(vs) => view! {
                                    <ol reversed>
                                        {vs.into_iter().map(|v| {
                                            let restore = restore.clone();
                                            view! {
                                                <li data-testid="version">
                                                    {format!("version {} · {} · {} bytes ", v.version, format_time(v.saved_at), v.bytes)}
                                                    <button type="button" class="link" on:click=move |_| restore(v.version)>{format!("Restore version {}", v.version)}</button>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ol>
                                }.into_any(),
                            }
                        })}}
                    </Suspense>
                </div>
            </details>
        </div>
        {(!import_diags.is_empty()).then(|| view! {
            <details class="import-diagnostics" open>
                <summary>{format!("Import: {} finding(s)", import_diags.len())}</summary>
                <ul>
                    {import_diags.iter().map(|d| view! { <li><code>{d.code.as_str()}</code> " " {d.message.clone()}</li> }).collect_view()}
                </ul>
            </details>
        })}
        <Planner editor/>
    }
    .into_any()
}
