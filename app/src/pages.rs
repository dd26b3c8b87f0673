//! The two routed pages: the plan list (`/`: create, import, rename, duplicate, delete — plain HTML forms
//! handled by the server, so they work without JavaScript) and a stored plan (`/plans/{id}`: the planner with
//! autosave and a version history; rendered on the server as a read-only diagram until hydrated).
//!
//! Autosave never overwrites silently: each save names the version the editor is based on, and when someone
//! else saved in between, the save is refused and the conflict banner ([`crate::conflict`]) offers Reload,
//! Compare and Keep mine; the planner also shows who else has the plan open.

use leptos::prelude::*;
use leptos_router::{hooks::use_params_map, lazy_route, LazyRoute};
use netmodel::Plan;

use crate::{
    conflict::{CompareView, ConflictBanner, PresenceNote, Theirs},
    csrf::CsrfField,
    editor::Editor,
    paths,
    planner::Planner,
    storage::{self, format_time, PlanError, Presence, StoredPlan, VersionConflict},
};
use netmodel::compare::compare;

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
    loaded: Resource<Result<StoredPlan, PlanError>>,
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
    /// Someone else saved in between: autosave is off until the person chooses (the banner).
    Conflict,
}

/// The autosave and what the conflict banner's choices need: every field a reactive handle, so it is `Copy`.
#[derive(Clone, Copy)]
struct Saving {
    id: StoredValue<String>,
    editor: Editor,
    state: RwSignal<SaveState>,
    /// The version the editor's plan is based on: the one loaded, then each one saved.
    base: RwSignal<i64>,
    /// The refused save's conflict, while the banner is shown.
    conflict: RwSignal<Option<VersionConflict>>,
    /// The other version, compared with yours (Compare).
    theirs: RwSignal<Option<Theirs>>,
    /// A choice of the banner is being carried out.
    busy: RwSignal<bool>,
    /// A save is on its way to the server; `again`: the plan changed meanwhile and is saved once more after it.
    in_flight: StoredValue<bool>,
    again: StoredValue<bool>,
    /// The next change of the plan is a reload, not an edit: not saved.
    skip_next: StoredValue<bool>,
    versions_tick: RwSignal<u32>,
}

impl Saving {
    /// Saves the editor's plan on top of [`Saving::base`] — one save at a time, so a save never conflicts with
    /// this tab's own previous one — unless a conflict is waiting for the person's choice.
    fn save(self) {
        if self.conflict.get_untracked().is_some() {
            return;
        }
        if self.in_flight.get_value() {
            self.again.set_value(true);
            return;
        }
        self.in_flight.set_value(true);
        leptos::task::spawn_local(async move {
            loop {
                self.again.set_value(false);
                self.state.set(SaveState::Saving);
                // Serialised when the save starts, not on every change (a drag changes the plan each frame).
                let body = self.editor.plan.with_untracked(Plan::to_json);
                let base = self.base.get_untracked();
                match storage::save_plan(self.id.get_value(), body, Some(base), None).await {
                    Ok(info) => {
                        self.base.set(info.version);
                        self.state.set(SaveState::Saved(info.version));
                        self.versions_tick.update(|t| *t += 1);
                    }
                    Err(e) => {
                        self.refused(e);
                        break;
                    }
                }
                if !self.again.get_value() {
                    break;
                }
            }
            self.in_flight.set_value(false);
        });
    }

    /// A refused save: a conflict shows the banner (and stops the autosave); anything else is shown as it is.
    fn refused(self, e: PlanError) {
        match e.conflict() {
            Some(c) => {
                self.conflict.set(Some(c));
                self.state.set(SaveState::Conflict);
            }
            None => self.state.set(SaveState::Failed(e.to_string())),
        }
    }

    /// Puts a stored version in the editor (undoable); the change this makes is not an edit to save.
    fn load(self, plan: Plan) {
        let before = self.editor.revision.get_untracked();
        self.editor.replace(plan);
        // The autosave effect runs after this (effects are queued); it sees the flag only when the plan changed.
        if self.editor.revision.get_untracked() != before {
            self.skip_next.set_value(true);
        }
    }

    /// Reload: yours is discarded, the current version loaded (undoable, like any load).
    fn reload(self) {
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            match storage::load_plan(self.id.get_value()).await {
                Ok(p) => match Plan::from_json(&p.body) {
                    Ok(plan) => {
                        self.load(plan);
                        self.base.set(p.summary.version);
                        self.conflict.set(None);
                        self.theirs.set(None);
                        self.state.set(SaveState::Saved(p.summary.version));
                        self.editor.notice.set(format!(
                            "Reloaded version {}; your changes were discarded (Undo brings them back to the editor).",
                            p.summary.version
                        ));
                    }
                    Err(e) => self
                        .editor
                        .notice
                        .set(format!("version {} cannot be read: {e}", p.summary.version)),
                },
                Err(e) => self.editor.notice.set(format!("cannot reload the plan: {e}")),
            }
            self.busy.set(false);
        });
    }

    /// Compare: the current version fetched and set beside yours.
    fn compare(self) {
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let id = self.id.get_value();
            let loaded = storage::load_plan(id.clone()).await;
            // Who saved it: the version list names them (the conflict does too, unless yet another came since).
            let versions = storage::plan_versions(id).await.unwrap_or_default();
            match loaded {
                Ok(p) => match Plan::from_json(&p.body) {
                    Ok(plan) => {
                        let v = versions.iter().find(|v| v.version == p.summary.version);
                        let comparison = self.editor.plan.with_untracked(|mine| compare(&plan, mine));
                        self.theirs.set(Some(Theirs {
                            version: p.summary.version,
                            saved_by: v.map(|v| v.saved_by.clone()).unwrap_or_default(),
                            saved_at: v.map_or(p.summary.updated_at, |v| v.saved_at),
                            comparison,
                        }));
                    }
                    Err(e) => self
                        .editor
                        .notice
                        .set(format!("version {} cannot be read: {e}", p.summary.version)),
                },
                Err(e) => self
                    .editor
                    .notice
                    .set(format!("cannot load the saved version: {e}")),
            }
            self.busy.set(false);
        });
    }

    /// Keep mine: yours saved as a new version on top of the one that conflicted (recorded as such); refused
    /// again if yet another version came since.
    fn keep_mine(self) {
        let Some(c) = self.conflict.get_untracked() else {
            return;
        };
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let body = self.editor.plan.with_untracked(Plan::to_json);
            match storage::save_plan(
                self.id.get_value(),
                body.clone(),
                Some(c.current_version),
                Some(true),
            )
            .await
            {
                Ok(info) => {
                    self.base.set(info.version);
                    self.conflict.set(None);
                    self.theirs.set(None);
                    self.state.set(SaveState::Saved(info.version));
                    self.versions_tick.update(|t| *t += 1);
                    self.editor.notice.set(format!(
                        "Saved your plan as version {} on top of {}'s version {}.",
                        info.version, c.saved_by, c.current_version
                    ));
                    // An edit made while this was on its way is saved as usual.
                    if self.editor.plan.with_untracked(Plan::to_json) != body {
                        self.save();
                    }
                }
                Err(e) => {
                    self.theirs.set(None);
                    self.refused(e);
                }
            }
            self.busy.set(false);
        });
    }
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
    let saving = Saving {
        id: StoredValue::new(id.clone()),
        editor,
        state,
        base: RwSignal::new(loaded.summary.version),
        conflict: RwSignal::new(None),
        theirs: RwSignal::new(None),
        busy: RwSignal::new(false),
        in_flight: StoredValue::new(false),
        again: StoredValue::new(false),
        skip_next: StoredValue::new(false),
        versions_tick,
    };
    let others = RwSignal::new(Vec::<Presence>::new());
    crate::conflict::heartbeat(id.clone(), others);

    // Autosave: 600 ms after the last change, the plan is saved as a new version on top of the version it is
    // based on. Each change replaces the pending gloo `Timeout`, and dropping the old one clears it: the
    // debounce. Effects run only in the browser, so the server build has neither the effect nor gloo.
    #[cfg(feature = "hydrate")]
    {
        // A `Timeout` holds a JavaScript closure (not `Send`): kept in local storage of the reactive arena.
        let timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
        Effect::new(move |first: Option<()>| {
            editor.plan.track();
            if first.is_none() {
                return;
            }
            if saving.skip_next.get_value() {
                saving.skip_next.set_value(false);
                return;
            }
            // While a conflict waits for the person's choice, edits go on but nothing is saved.
            if saving.conflict.get_untracked().is_some() {
                return;
            }
            state.set(SaveState::Pending);
            let save = gloo_timers::callback::Timeout::new(600, move || saving.save());
            // The previous timeout, if still pending, is dropped here and so never fires.
            timer.set_value(Some(save));
        });
    }

    // Leaving with a change not yet saved asks first (the browser's own prompt).
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if matches!(
                state.get_untracked(),
                SaveState::Pending | SaveState::Saving | SaveState::Conflict
            ) {
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
            match storage::restore_version(id, version, Some(saving.base.get_untracked())).await {
                Ok(p) => match Plan::from_json(&p.body) {
                    Ok(plan) => {
                        saving.base.set(p.summary.version);
                        state.set(SaveState::Saved(p.summary.version));
                        saving.load(plan);
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
                Err(e) if e.conflict().is_some() => saving.refused(e),
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
                    SaveState::Conflict => "Not saved: someone else saved this plan".to_string(),
                }}
            </span>
            <PresenceNote others/>
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
                                                    {format!("version {} · {} · by {} · {} bytes ", v.version, format_time(v.saved_at), v.saved_by, v.bytes)}
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
        {move || saving.conflict.get().map(|c| view! {
            <ConflictBanner
                conflict=c
                busy=Signal::from(saving.busy)
                on_reload=Callback::new(move |()| saving.reload())
                on_compare=Callback::new(move |()| saving.compare())
                on_keep_mine=Callback::new(move |()| saving.keep_mine())
            />
        })}
        {move || saving.theirs.get().map(|theirs| view! {
            <CompareView theirs on_close=Callback::new(move |()| saving.theirs.set(None))/>
        })}
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
