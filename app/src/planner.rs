//! The planner page: a toolbar (add a VPC with its block checked as you type, examples, auto-layout, undo and
//! redo, export, help, theme), the canvas, and a side column with the inspector, the trace panel and the
//! diagnostics — every check and trace computed by `netmodel` in the browser on each edit.

use std::collections::BTreeSet;

use leptos::prelude::*;
use netmodel::{
    check::ItemRef,
    cidr::{parse_ipv4_block, Cidr},
    model::Plan,
    Diagnostic, Severity,
};

use crate::{
    canvas::Canvas,
    editor::{Editor, TraceRequest},
    geometry,
    history::History,
    inspector::Inspector,
    matrix_panel::MatrixPanel,
    paths,
    trace_panel::TracePanel,
};
use netmodel::edit::{self, Item};

/// The examples the toolbar can load: (key, label, plan JSON).
pub const EXAMPLES: [(&str, &str, &str); 3] = [
    (
        "seed",
        "Seed: VPC A ↔ VPC B",
        include_str!("../../examples/seed.json"),
    ),
    (
        "transitive",
        "Transitive: A ↔ B ↔ C",
        include_str!("../../examples/transitive.json"),
    ),
    (
        "multi-region",
        "Multi-account, inter-region",
        include_str!("../../examples/multi-region.json"),
    ),
];

/// One of [`EXAMPLES`] by key: its label and the plan.
pub fn example(key: &str) -> Option<(&'static str, Result<Plan, netmodel::PlanError>)> {
    EXAMPLES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, label, json)| (*label, Plan::from_json(json)))
}

/// The block the CIDR box starts with.
const DEFAULT_BLOCK: &str = "10.0.0.0/16";

/// What someone typed into the server-rendered CIDR box before the page hydrated: the box is live HTML at once,
/// and hydrating sets it to the component's value, so without this the typed block would silently become the
/// default one (and "Add VPC" add the wrong block).
fn typed_before_hydration() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let input = document()
            .get_element_by_id("vpc-cidr")?
            .dyn_into::<leptos::web_sys::HtmlInputElement>()
            .ok()?;
        Some(input.value()).filter(|v| !v.is_empty() && v != DEFAULT_BLOCK)
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// The page.
#[component]
pub fn PlannerPage() -> impl IntoView {
    let editor = Editor::new(Plan::new("Untitled plan"));
    view! { <Planner editor/> }
}

/// The planner around an editor.
#[component]
pub fn Planner(editor: Editor) -> impl IntoView {
    let plan = editor.plan;
    let diagnostics = editor.diagnostics;
    let cidr_input = RwSignal::new(typed_before_hydration().unwrap_or_else(|| String::from(DEFAULT_BLOCK)));
    let parsed = Memo::new(move |_| parse_ipv4_block(&cidr_input.get()).map(Cidr::from));
    let cidr_error = Memo::new(move |_| parsed.get().err().map(|e| e.to_string()));
    // While typing: which VPCs the block would overlap.
    let typing_overlaps = Memo::new(move |_| match parsed.get() {
        Ok(c) => plan.with(|p| {
            p.vpcs
                .iter()
                .filter(|v| v.blocks().any(|b| b.overlaps(&c)))
                .map(|v| format!("{} ({})", v.id, v.cidr))
                .collect::<Vec<_>>()
        }),
        Err(_) => vec![],
    });
    let help_open = RwSignal::new(false);
    let trace_request = RwSignal::new(None::<TraceRequest>);
    let run = RwSignal::new(0u32);
    let packet = Memo::new(move |_| {
        let req = trace_request.get()?;
        plan.with(|p| {
            let trace = req.trace(p)?;
            editor.geometry.with(|g| {
                let dest = req.destination_point(p, g);
                geometry::packet_path(p, g, &trace, &req.source_id(p)?, dest)
            })
        })
    });

    let add_vpc = move |_| {
        if let Ok(cidr) = parsed.get_untracked() {
            let mut id = None;
            editor.edit(|p| id = Some(edit::add_vpc(p, cidr)));
            if let Some(id) = id {
                editor.selected.set([Item::Vpc(id)].into_iter().collect());
            }
            // Ready for the next one: a block of the same size that overlaps nothing.
            if let Some(free) = plan.with_untracked(|p| edit::suggest_vpc_block(p, cidr.prefix_len())) {
                cidr_input.set(free.to_string());
            }
        }
    };
    let suggest = move |_| {
        let len = parsed.get_untracked().map(|c| c.prefix_len()).unwrap_or(16);
        match plan.with_untracked(|p| edit::suggest_vpc_block(p, len)) {
            Some(free) => cidr_input.set(free.to_string()),
            None => editor
                .notice
                .set(format!("no free /{len} block is left in the private ranges")),
        }
    };
    let load_example = move |ev: leptos::ev::Event| {
        let key = event_target_value(&ev);
        if let Some((label, plan)) = example(&key) {
            match plan {
                Ok(p) => {
                    editor.replace(p);
                    editor.notice.set(format!("Loaded the example “{label}”."));
                }
                Err(e) => editor.notice.set(format!("cannot load the example: {e}")),
            }
        }
    };
    let can_undo = Memo::new(move |_| {
        editor.revision.get();
        editor.history.with_value(History::can_undo)
    });
    let can_redo = Memo::new(move |_| {
        editor.revision.get();
        editor.history.with_value(History::can_redo)
    });

    // Keyboard shortcuts (not while typing in a field).
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let typing = ev
                .target()
                .and_then(|t| {
                    use leptos::wasm_bindgen::JsCast;
                    t.dyn_into::<leptos::web_sys::Element>().ok()
                })
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
            if typing {
                return;
            }
            let ctrl = ev.ctrl_key() || ev.meta_key();
            match ev.key().as_str() {
                "z" | "Z" if ctrl && ev.shift_key() => {
                    ev.prevent_default();
                    editor.redo();
                }
                "z" if ctrl => {
                    ev.prevent_default();
                    editor.undo();
                }
                "y" if ctrl => {
                    ev.prevent_default();
                    editor.redo();
                }
                "Delete" | "Backspace" => editor.delete_selected(),
                "Escape" => {
                    help_open.set(false);
                    editor.selected.set(BTreeSet::new());
                }
                "?" => help_open.update(|h| *h = !*h),
                "l" if !ctrl => editor.edit(crate::edit::auto_layout),
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    });

    view! {
        <main class="planner">
            <section class="toolbar" aria-label="Tools">
                <label for="vpc-cidr">"VPC CIDR block"</label>
                <input
                    id="vpc-cidr"
                    type="text"
                    size="18"
                    value=cidr_input.get_untracked()
                    prop:value=move || cidr_input.get()
                    on:input=move |ev| cidr_input.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            add_vpc(());
                        }
                    }
                    aria-invalid=move || cidr_error.get().is_some().to_string()
                    aria-describedby="vpc-cidr-error"
                />
                <button type="button" on:click=move |_| add_vpc(()) disabled=move || cidr_error.get().is_some()>
                    "Add VPC"
                </button>
                <button type="button" class="secondary" on:click=suggest title="Suggest a block that overlaps nothing planned">
                    "Suggest a free block"
                </button>
                <span id="vpc-cidr-error" class="field-error" role="alert">{move || cidr_error.get().unwrap_or_default()}</span>
                <span class="field-warning" data-testid="typing-overlap">
                    {move || {
                        let o = typing_overlaps.get();
                        match o.len() {
                            0 => String::new(),
                            1..=3 => format!("overlaps {}", o.join(", ")),
                            n => format!("overlaps {} and {} more", o[..3].join(", "), n - 3),
                        }
                    }}
                </span>
                <span class="toolbar-spacer"></span>
                <label class="sr-only" for="example">"Load an example"</label>
                <select id="example" on:change=load_example>
                    <option value="" selected>"Load an example…"</option>
                    {EXAMPLES
                        .iter()
                        .map(|(k, label, _)| view! { <option value=*k>{*label}</option> })
                        .collect_view()}
                </select>
                <button type="button" class="secondary" title="Arrange VPCs: each peering group together, peered VPCs side by side (L)" on:click=move |_| editor.edit(crate::edit::auto_layout)>
                    "Auto-layout"
                </button>
                <button type="button" class="secondary" title="Undo (Ctrl+Z)" on:click=move |_| editor.undo() disabled=move || !can_undo.get()>
                    "Undo"
                </button>
                <button type="button" class="secondary" title="Redo (Ctrl+Shift+Z)" on:click=move |_| editor.redo() disabled=move || !can_redo.get()>
                    "Redo"
                </button>
                <ExportMenu plan/>
                <button type="button" class="secondary" title="Keyboard shortcuts (?)" aria-label="Help" on:click=move |_| help_open.update(|h| *h = !*h)>
                    "?"
                </button>
                <ThemeToggle/>
            </section>
            <div class="workspace">
                <Canvas editor packet run/>
                <div class="side">
                    <Inspector editor/>
                    <TracePanel editor request=trace_request run/>
                    <MatrixPanel editor request=trace_request run/>
                    <DiagnosticsPanel editor/>
                    <crate::groups_panel::GroupsPanel
                        plan=editor.plan
                        on_select={move |ids: Vec<netmodel::ids::VpcId>| editor.selected.set(ids.into_iter().map(Item::Vpc).collect())}
                    />
                </div>
            </div>
            <footer class="status-bar" role="status" aria-label="Plan summary">
                {move || {
                    let n = plan.with(|p| p.vpcs.len());
                    let count = match n {
                        0 => "No VPCs yet".to_string(),
                        1 => "1 VPC".to_string(),
                        n => format!("{n} VPCs"),
                    };
                    let findings = diagnostics.with(Vec::len);
                    match findings {
                        0 => count,
                        1 => format!("{count} · 1 finding"),
                        n => format!("{count} · {n} findings"),
                    }
                }}
            </footer>
            <p class="notice" aria-live="polite" data-testid="notice">{move || editor.notice.get()}</p>
            <Show when=move || help_open.get()>
                <HelpOverlay on_close=move || help_open.set(false)/>
            </Show>
        </main>
    }
    .into_any()
}

/// The keyboard shortcuts and gestures.
#[component]
fn HelpOverlay(on_close: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let close = on_close.clone();
    view! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts">
            <div class="overlay-card">
                <h2>"Keyboard shortcuts and gestures"</h2>
                <table>
                    <tbody>
                        <tr><td><kbd>"Ctrl+Z"</kbd></td><td>"Undo"</td></tr>
                        <tr><td><kbd>"Ctrl+Shift+Z"</kbd>" / "<kbd>"Ctrl+Y"</kbd></td><td>"Redo"</td></tr>
                        <tr><td><kbd>"Delete"</kbd></td><td>"Delete the selection (a VPC takes its subnets, endpoints and peerings along)"</td></tr>
                        <tr><td><kbd>"Esc"</kbd></td><td>"Clear the selection, close this help"</td></tr>
                        <tr><td><kbd>"L"</kbd></td><td>"Auto-layout: peering groups together, peered VPCs side by side"</td></tr>
                        <tr><td><kbd>"?"</kbd></td><td>"Show or hide this help"</td></tr>
                        <tr><td>"Click, Shift+click"</td><td>"Select, add to the selection"</td></tr>
                        <tr><td>"Drag a VPC"</td><td>"Move it"</td></tr>
                        <tr><td>"Drag a VPC’s round handle onto another VPC"</td><td>"Peer them (routes are added on both sides)"</td></tr>
                        <tr><td>"Drag the background, mouse wheel"</td><td>"Pan, zoom"</td></tr>
                    </tbody>
                </table>
                <button type="button" on:click=move |_| close()>"Close"</button>
            </div>
        </div>
    }
}

/// Light and dark themes (the system's by default). The choice is a preference, kept in the browser
/// ([`crate::prefs`]) and applied on every page.
#[component]
fn ThemeToggle() -> impl IntoView {
    let dark = RwSignal::new(None::<bool>);
    Effect::new(move |_| dark.set(crate::prefs::theme().map(|t| t == "dark")));
    let toggle = move |_| {
        let next = !dark.get_untracked().unwrap_or(false);
        dark.set(Some(next));
        crate::prefs::set_theme(if next { "dark" } else { "light" });
    };
    view! {
        <button
            type="button"
            class="secondary"
            aria-label="Switch between light and dark theme"
            aria-pressed=move || dark.get().unwrap_or(false).to_string()
            on:click=toggle
        >
            {move || if dark.get().unwrap_or(false) { "Light" } else { "Dark" }}
        </button>
    }
}

/// The diagnostics: severity filters, click to select the items, one-click fixes where mechanical.
#[component]
fn DiagnosticsPanel(editor: Editor) -> impl IntoView {
    let diagnostics = editor.diagnostics;
    let show = RwSignal::new([true, true, true]);
    let idx = |s: Severity| match s {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    };
    let visible = Memo::new(move |_| {
        let show = show.get();
        diagnostics.with(|d| {
            d.iter()
                .filter(|d| show[idx(d.severity)])
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let select_items = move |d: &Diagnostic| {
        let items: BTreeSet<Item> = editor.plan.with_untracked(|p| {
            d.items
                .iter()
                .filter_map(|item| match item {
                    ItemRef::Vpc(id) if p.vpcs.iter().any(|v| &v.id == id) => Some(Item::Vpc(id.clone())),
                    ItemRef::Peering(id) if p.peerings.iter().any(|x| &x.id == id) => {
                        Some(Item::Peering(id.clone()))
                    }
                    ItemRef::Subnet(id) if p.subnets.iter().any(|x| &x.id == id) => {
                        Some(Item::Subnet(id.clone()))
                    }
                    ItemRef::Endpoint(id) if p.endpoints.iter().any(|x| &x.id == id) => {
                        Some(Item::Endpoint(id.clone()))
                    }
                    _ => None,
                })
                .collect()
        });
        editor.selected.set(items);
    };
    let filter = move |i: usize, label: &'static str| {
        view! {
            <label class="filter">
                <input
                    type="checkbox"
                    prop:checked=move || show.get()[i]
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        show.update(|s| s[i] = on);
                    }
                />
                {label}
                " ("
                {move || diagnostics.with(|d| d.iter().filter(|d| idx(d.severity) == i).count())}
                ")"
            </label>
        }
    };
    view! {
        <aside class="diagnostics panel" aria-label="Diagnostics">
            <h2>"Diagnostics"</h2>
            <div class="filters" role="group" aria-label="Severity filters">
                {filter(0, "errors")}
                {filter(1, "warnings")}
                {filter(2, "notes")}
            </div>
            <Show
                when=move || diagnostics.with(|d| !d.is_empty())
                fallback=|| view! { <p class="muted">"No findings."</p> }
            >
                <ul>
                    <For each=move || visible.get() key=|d: &Diagnostic| (d.code, d.items.clone(), d.message.clone()) let:d>
                        {
                            let d2 = d.clone();
                            let d3 = d.clone();
                            let fixable = edit::has_mechanical_fix(&d);
                            view! {
                                <li class=match d.severity {
                                    Severity::Error => "diag error",
                                    Severity::Warning => "diag warning",
                                    Severity::Info => "diag info",
                                }>
                                    <button type="button" class="link" title="Select the items involved" on:click=move |_| select_items(&d2)>
                                        <code>{d.code.as_str()}</code>
                                    </button>
                                    " "
                                    {d.message.clone()}
                                    {d.fix.as_ref().map(|f| view! { <div class="fix">"Fix: " {f.to_string()}</div> })}
                                    {fixable.then(|| view! {
                                        <button
                                            type="button"
                                            class="apply-fix"
                                            on:click=move |_| {
                                                let mut changed = false;
                                                editor.edit(|p| changed = edit::apply_fix(p, &d3));
                                                editor.notice.set(if changed {
                                                    format!("Applied the fix for {}.", d3.code.as_str())
                                                } else {
                                                    format!("The fix for {} could not be applied mechanically.", d3.code.as_str())
                                                });
                                            }
                                        >
                                            "Apply fix"
                                        </button>
                                    })}
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </aside>
    }
    .into_any()
}

/// The export formats of the menu: (format, button label, what it is).
const EXPORTS: [(&str, &str, &str); 9] = [
    ("md", "Markdown", "Peering documentation"),
    ("html", "HTML", "Peering documentation with the map"),
    ("svg", "SVG", "Peering map"),
    ("png", "PNG", "Peering map"),
    ("dot", "DOT", "Peering map for Graphviz"),
    ("mermaid", "Mermaid", "Peering map for Mermaid"),
    ("curl", "curl script", "API calls that apply the plan"),
    ("json", "JSON", "The plan (peerplan/v1)"),
    ("csv", "CSV", "Reachability matrix"),
];

/// The export menu: a form posting the current plan to `/api/export/{format}`; the server answers with the file
/// as a download, so the page stays as it is (and it works before hydration too).
#[component]
fn ExportMenu(plan: RwSignal<Plan>) -> impl IntoView {
    // The plan goes into the form when it is submitted, not on every edit (a large plan is megabytes of JSON);
    // the server renders it in, so the menu works before hydration too.
    let field = NodeRef::<leptos::html::Input>::new();
    let rendered = if cfg!(feature = "ssr") {
        plan.with_untracked(Plan::to_json)
    } else {
        String::new()
    };
    let fill = move |_: leptos::ev::SubmitEvent| {
        if let Some(input) = field.get_untracked() {
            input.set_value(&plan.with_untracked(Plan::to_json));
        }
    };
    view! {
        <details class="export-menu">
            <summary>"Export"</summary>
            <form method="post" action=paths::export("json") class="export-form" aria-label="Export the plan" on:submit=fill>
                <crate::csrf::CsrfField/>
                <input type="hidden" name="plan" value=rendered node_ref=field/>
                <ul>
                    {EXPORTS
                        .iter()
                        .map(|(format, label, what)| {
                            view! {
                                <li>
                                    <button
                                        type="submit"
                                        formaction=paths::export(format)
                                        data-format=*format
                                    >
                                        {*label}
                                    </button>
                                    <span class="muted">{*what}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <label>
                    "Script part "
                    <select name="part">
                        <option value="all" selected>"all calls"</option>
                        <option value="requester">"requester's"</option>
                        <option value="accepter">"accepter's"</option>
                    </select>
                </label>
                <label>
                    " Matrix port " <input type="number" name="port" value="443" min="1" max="65535" size="5"/>
                </label>
            </form>
        </details>
    }
}
