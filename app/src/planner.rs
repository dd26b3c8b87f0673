//! The planner page: canvas of VPCs and a status bar summarising the plan's checks.

use leptos::prelude::*;
use netmodel::cidr::parse_ipv4_block;

/// A VPC drawn on the canvas (the full model arrives with the model issue).
#[derive(Clone, Debug, PartialEq)]
struct DrawnVpc {
    name: String,
    cidr: String,
}

/// The planner: an "Add VPC" form, the canvas, and the status bar.
#[component]
pub fn PlannerPage() -> impl IntoView {
    let vpcs = RwSignal::new(Vec::<DrawnVpc>::new());
    let cidr_input = RwSignal::new(String::from("10.0.0.0/16"));
    let cidr_error = Memo::new(move |_| parse_ipv4_block(&cidr_input.get()).err().map(|e| e.to_string()));

    let add_vpc = move |_| {
        let cidr = cidr_input.get_untracked();
        if parse_ipv4_block(&cidr).is_ok() {
            vpcs.update(|v| {
                let name = format!("vpc-{}", v.len() + 1);
                v.push(DrawnVpc { name, cidr });
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
            </section>
            <section class="canvas" aria-label="Planner canvas">
                <For each=move || vpcs.get() key=|v| v.name.clone() let:vpc>
                    <div class="vpc-box" data-testid="vpc-box">
                        <strong>{vpc.name.clone()}</strong>
                        <span class="cidr">{vpc.cidr.clone()}</span>
                    </div>
                </For>
            </section>
            <footer class="status-bar" role="status">
                {move || match vpcs.get().len() {
                    0 => "No VPCs yet".to_string(),
                    1 => "1 VPC".to_string(),
                    n => format!("{n} VPCs"),
                }}
            </footer>
        </main>
    }
}
