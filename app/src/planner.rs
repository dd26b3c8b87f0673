//! The planner page: add VPCs, see their overlaps at once (checked by `netmodel` in the browser), and a status
//! bar summarising the plan's checks.

use leptos::prelude::*;
use netmodel::{
    cidr::{parse_ipv4_block, Cidr},
    model::{Account, Plan, Vpc, FORMAT},
    CheckOptions, Diagnostic, Severity,
};

/// A VPC drawn on the canvas.
#[derive(Clone, Debug, PartialEq)]
struct DrawnVpc {
    id: String,
    cidr: Cidr,
}

/// The drawn VPCs as a plan (one account, one region until the inspector arrives).
fn plan_of(vpcs: &[DrawnVpc]) -> Plan {
    Plan {
        format: FORMAT.to_string(),
        accounts: vec![Account {
            id: "acct-1".into(),
            name: String::new(),
        }],
        vpcs: vpcs
            .iter()
            .map(|v| Vpc {
                id: v.id.as_str().into(),
                name: v.id.clone(),
                account: "acct-1".into(),
                region: "us-east-1".into(),
                cidr: v.cidr,
                secondary_cidrs: vec![],
                ipv6_cidrs: vec![],
                position: None,
            })
            .collect(),
        ..Plan::default()
    }
}

/// The planner: an "Add VPC" form, the canvas, the diagnostics, and the status bar.
#[component]
pub fn PlannerPage() -> impl IntoView {
    let vpcs = RwSignal::new(Vec::<DrawnVpc>::new());
    let cidr_input = RwSignal::new(String::from("10.0.0.0/16"));
    let parsed = Memo::new(move |_| parse_ipv4_block(&cidr_input.get()).map(Cidr::from));
    let cidr_error = Memo::new(move |_| parsed.get().err().map(|e| e.to_string()));
    // While typing: which drawn VPCs the block would overlap.
    let typing_overlaps = Memo::new(move |_| match parsed.get() {
        Ok(c) => vpcs.with(|v| {
            v.iter()
                .filter(|d| d.cidr.overlaps(&c))
                .map(|d| format!("{} ({})", d.id, d.cidr))
                .collect::<Vec<_>>()
        }),
        Err(_) => vec![],
    });
    let plan = Memo::new(move |_| vpcs.with(|v| plan_of(v)));
    let diagnostics = Memo::new(move |_| plan.with(|p| netmodel::check(p, &CheckOptions::default())));
    let flagged = Memo::new(move |_| {
        diagnostics.with(|d| {
            d.iter()
                .flat_map(|d| d.items.clone())
                .collect::<std::collections::BTreeSet<_>>()
        })
    });

    let add_vpc = move |_| {
        if let Ok(cidr) = parsed.get_untracked() {
            vpcs.update(|v| {
                let id = format!("vpc-{}", v.len() + 1);
                v.push(DrawnVpc { id, cidr });
            });
        }
    };

    view! {
        <main class="planner">
            <section class="toolbar" aria-label="Tools">
                <label for="vpc-cidr">"VPC CIDR block"</label>
                <input
                    id="vpc-cidr"
                    type="text"
                    prop:value=move || cidr_input.get()
                    on:input=move |ev| cidr_input.set(event_target_value(&ev))
                    aria-invalid=move || cidr_error.get().is_some().to_string()
                />
                <button type="button" on:click=add_vpc disabled=move || cidr_error.get().is_some()>
                    "Add VPC"
                </button>
                <span class="field-error" role="alert">{move || cidr_error.get().unwrap_or_default()}</span>
                <span class="field-warning" data-testid="typing-overlap">
                    {move || {
                        let o = typing_overlaps.get();
                        if o.is_empty() { String::new() } else { format!("overlaps {}", o.join(", ")) }
                    }}
                </span>
                <ExportMenu plan/>
            </section>
            <div class="workspace">
                <section class="canvas" aria-label="Planner canvas">
                    <For each=move || vpcs.get() key=|v| v.id.clone() let:vpc>
                        <div
                            class="vpc-box"
                            class:flagged={
                                let id = vpc.id.clone();
                                move || flagged.with(|f| f.contains(&id))
                            }
                            data-testid="vpc-box"
                        >
                            <strong>{vpc.id.clone()}</strong>
                            <span class="cidr">{vpc.cidr.to_string()}</span>
                        </div>
                    </For>
                </section>
                <DiagnosticsPanel diagnostics/>
            </div>
            <footer class="status-bar" role="status">
                {move || {
                    let n = vpcs.with(Vec::len);
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
        </main>
    }
}

/// The diagnostics of the drawn plan: code, message and fix of each finding.
#[component]
fn DiagnosticsPanel(diagnostics: Memo<Vec<Diagnostic>>) -> impl IntoView {
    view! {
        <aside class="diagnostics" aria-label="Diagnostics">
            <h2>"Diagnostics"</h2>
            <Show
                when=move || diagnostics.with(|d| !d.is_empty())
                fallback=|| view! { <p class="muted">"No findings."</p> }
            >
                <ul>
                    <For
                        each=move || diagnostics.get()
                        key=|d: &Diagnostic| (d.code, d.items.clone())
                        let:d
                    >
                        <li class=match d.severity {
                            Severity::Error => "diag error",
                            Severity::Warning => "diag warning",
                            Severity::Info => "diag info",
                        }>
                            <code>{d.code.as_str()}</code>
                            " "
                            {d.message.clone()}
                            {d.fix.clone().map(|f| view! { <div class="fix">"Fix: " {f}</div> })}
                        </li>
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
fn ExportMenu(plan: Memo<Plan>) -> impl IntoView {
    let json = Memo::new(move |_| plan.with(Plan::to_json));
    view! {
        <details class="export-menu">
            <summary>"Export"</summary>
            <form method="post" action="/api/export/json" class="export-form" aria-label="Export the plan">
                <input type="hidden" name="plan" value=move || json.get()/>
                <ul>
                    {EXPORTS
                        .iter()
                        .map(|(format, label, what)| {
                            view! {
                                <li>
                                    <button
                                        type="submit"
                                        formaction=format!("/api/export/{format}")
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
