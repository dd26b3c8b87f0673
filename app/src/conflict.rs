//! No lost edits, in the planner of a stored plan: the banner shown when a save is refused because someone else
//! saved the plan while you were editing it ([`ConflictBanner`]: **Reload**, **Compare**, **Keep mine**), the two
//! versions side by side ([`CompareView`], over [`netmodel::compare`]), and who else has the plan open
//! ([`PresenceNote`], kept fresh by [`heartbeat`]). The saving itself, and what the buttons do, live with the
//! autosave in [`crate::pages`].

use leptos::prelude::*;
use netmodel::compare::{Change, Comparison, FieldChange, ObjectChange};

use crate::storage::{format_time, Presence, VersionConflict};

/// How often the planner tells the server the plan is still open (the server counts a tab as present for 45 s).
pub const HEARTBEAT_MS: u32 = 15_000;

/// The other version, fetched for Compare: its number, who saved it and when, and how yours differs from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Theirs {
    pub version: i64,
    pub saved_by: String,
    pub saved_at: i64,
    pub comparison: Comparison,
}

/// "Also here: bob, carol (2 tabs)" — empty when nobody else has the plan open.
pub fn presence_text(others: &[Presence]) -> String {
    if others.is_empty() {
        return String::new();
    }
    let names: Vec<String> = others
        .iter()
        .map(|p| match p.tabs {
            n if n > 1 => format!("{} ({n} tabs)", p.user),
            _ => p.user.clone(),
        })
        .collect();
    format!("Also here: {}", names.join(", "))
}

/// The banner of a refused save. Autosave stays off while it is shown: nothing is saved until the person
/// chooses.
#[component]
pub fn ConflictBanner(
    conflict: VersionConflict,
    /// A choice is being carried out (the buttons wait).
    busy: Signal<bool>,
    on_reload: Callback<()>,
    on_compare: Callback<()>,
    on_keep_mine: Callback<()>,
) -> impl IntoView {
    let message = format!(
        "{} saved version {} at {} while you were editing. Your changes are not saved.",
        conflict.saved_by,
        conflict.current_version,
        format_time(conflict.saved_at)
    );
    view! {
        <div class="conflict-banner" role="alert" data-testid="conflict-banner">
            <strong>{message}</strong>
            <button type="button" disabled=move || busy.get() on:click=move |_| on_reload.run(())
                title="Discard your changes and load the saved version">
                "Reload"
            </button>
            <button type="button" class="secondary" disabled=move || busy.get() on:click=move |_| on_compare.run(())
                title="Show both versions side by side">
                "Compare"
            </button>
            <button type="button" class="secondary" disabled=move || busy.get() on:click=move |_| on_keep_mine.run(())
                title="Save your plan as a new version on top of theirs">
                "Keep mine"
            </button>
        </div>
    }
}

/// The saved version and yours, side by side: one row per object added, removed or changed (a changed object
/// one row per field).
#[component]
pub fn CompareView(theirs: Theirs, on_close: Callback<()>) -> impl IntoView {
    let heading = format!(
        "Version {} ({}, {})",
        theirs.version,
        theirs.saved_by,
        format_time(theirs.saved_at)
    );
    let summary = theirs.comparison.summary();
    let rows: Vec<AnyView> = theirs.comparison.changes.iter().flat_map(rows_of).collect();
    let empty = rows.is_empty();
    view! {
        <section class="compare panel" aria-label="Compare versions" data-testid="compare">
            <header>
                <h2>"Compare: your plan against the saved version"</h2>
                <span class="muted" data-testid="compare-summary">{format!("Yours: {summary}")}</span>
                <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Close"</button>
            </header>
            {if empty {
                view! { <p class="muted">"The two versions hold the same objects."</p> }.into_any()
            } else {
                view! {
                    <table class="compare-table">
                        <thead>
                            <tr><th>"Object"</th><th>{heading}</th><th>"Yours (not saved)"</th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// The rows of one object.
fn rows_of(o: &ObjectChange) -> Vec<AnyView> {
    let object = format!("{} {}", o.kind, o.id);
    match o.change {
        Change::Added => vec![view! {
            <tr class="added" data-testid="compare-row">
                <th scope="row">{object}</th>
                <td class="muted">"—"</td>
                <td>"added: " {o.summary.clone()}</td>
            </tr>
        }
        .into_any()],
        Change::Removed => vec![view! {
            <tr class="removed" data-testid="compare-row">
                <th scope="row">{object}</th>
                <td>{o.summary.clone()}</td>
                <td class="muted">"removed"</td>
            </tr>
        }
        .into_any()],
        Change::Changed => o
            .fields
            .iter()
            .map(|f| {
                let label = format!("{object} · {}", f.field());
                let (left, right) = match f {
                    FieldChange::Value { before, after, .. } => (
                        vec![before.clone().unwrap_or_else(|| "(none)".into())],
                        vec![after.clone().unwrap_or_else(|| "(none)".into())],
                    ),
                    FieldChange::Items { removed, added, .. } if removed.is_empty() && added.is_empty() => {
                        (vec![], vec!["same items, another order".to_string()])
                    }
                    FieldChange::Items { removed, added, .. } => (
                        removed.iter().map(|i| format!("only here: {i}")).collect(),
                        added.iter().map(|i| format!("only here: {i}")).collect(),
                    ),
                };
                let cell =
                    |lines: Vec<String>| lines.into_iter().map(|l| view! { <div>{l}</div> }).collect_view();
                view! {
                    <tr class="changed" data-testid="compare-row">
                        <th scope="row">{label}</th>
                        <td>{cell(left)}</td>
                        <td>{cell(right)}</td>
                    </tr>
                }
                .into_any()
            })
            .collect(),
    }
}

/// Who else has the plan open, beside its name.
#[component]
pub fn PresenceNote(others: RwSignal<Vec<Presence>>) -> impl IntoView {
    view! {
        <span class="presence" data-testid="presence" aria-live="polite">
            {move || others.with(|o| presence_text(o))}
        </span>
    }
}

/// While the planner of plan `id` is open: a heartbeat now and every [`HEARTBEAT_MS`], from a tab id made for this
/// page, updating `others`; a goodbye when the page goes. The browser build only (the server renders nobody).
pub fn heartbeat(id: String, others: RwSignal<Vec<Presence>>) {
    #[cfg(feature = "hydrate")]
    {
        let tab = format!(
            "tab-{:013x}{:013x}",
            (js_sys::Math::random() * (1u64 << 52) as f64) as u64,
            (js_sys::Math::random() * (1u64 << 52) as f64) as u64
        );
        let beat = {
            let (id, tab) = (id.clone(), tab.clone());
            move || {
                let (id, tab) = (id.clone(), tab.clone());
                leptos::task::spawn_local(async move {
                    // A failed beat (the server restarting…) leaves the last answer shown; the next one retries.
                    if let Ok(list) = crate::storage::plan_presence(id, tab).await {
                        others.set(list);
                    }
                });
            }
        };
        beat();
        let interval = gloo_timers::callback::Interval::new(HEARTBEAT_MS, beat);
        let interval = StoredValue::new_local(Some(interval));
        on_cleanup(move || {
            interval.update_value(|i| drop(i.take()));
            leptos::task::spawn_local(async move {
                let _ = crate::storage::leave_plan(id, tab).await;
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, others);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_names_the_others_and_their_tabs() {
        assert_eq!(presence_text(&[]), "");
        let p = |user: &str, tabs| Presence {
            user: user.into(),
            tabs,
        };
        assert_eq!(
            presence_text(&[p("bob", 1), p("carol", 2)]),
            "Also here: bob, carol (2 tabs)"
        );
    }
}
