//! Trace mode: pick a source endpoint, a destination (endpoint or address), protocol and port; the simulator
//! walks the request and the reply in the browser, the canvas animates the packet, and hop cards explain each
//! stage — the longest-prefix match with the winning route among its competitors, the rule that matched, the
//! peering and its state — and the verdict with its code, explanation and fix. The trace follows every edit.

use leptos::prelude::*;
use netmodel::sim::{self, Hop, HopResult};

use crate::editor::{Editor, TraceRequest};

fn stage_label(h: &Hop) -> &'static str {
    use sim::Stage::*;
    match h.stage {
        SgEgress => "Security group (egress)",
        NaclOutbound => "Network ACL (outbound)",
        Route => "Route table",
        Peering => "Peering",
        Gateway => "Gateway",
        NaclInbound => "Network ACL (inbound)",
        SgIngress => "Security group (ingress)",
        Deliver => "Delivered",
    }
}

/// One hop card.
fn hop_card(h: Hop) -> impl IntoView {
    let result = match h.result {
        HopResult::Pass => "pass",
        HopResult::Drop => "drop",
        HopResult::Exit => "exit",
    };
    let candidates = (!h.candidates.is_empty()).then(|| {
        view! {
            <div class="candidates">
                <span class="muted">"Routes that matched (longest prefix wins):"</span>
                <ul>
                    <li class="winner">{h.decided_by.clone()} " ✓"</li>
                    {h.candidates.iter().map(|c| view! { <li class="loser">{c.clone()}</li> }).collect_view()}
                </ul>
            </div>
        }
    });
    view! {
        <li class=format!("hop {result}") data-testid="hop" data-stage=format!("{:?}", h.stage) data-result=result>
            <div class="hop-head">
                <strong>{stage_label(&h)}</strong>
                " "
                <code>{h.component.to_string()}</code>
                <span class=format!("badge {result}")>{result.to_uppercase()}</span>
            </div>
            <div class="lookup">{h.lookup.clone()}</div>
            <div class="decided">"Decided by: " {h.decided_by.clone()}</div>
            {candidates}
        </li>
    }
}

/// The trace panel.
#[component]
pub fn TracePanel(
    editor: Editor,
    request: RwSignal<Option<TraceRequest>>,
    run: RwSignal<u32>,
) -> impl IntoView {
    let plan = editor.plan;
    let endpoints = Memo::new(move |_| {
        plan.with(|p| {
            p.endpoints
                .iter()
                .map(|e| {
                    (
                        e.id.to_string(),
                        e.label(),
                        e.ipv4.map(|a| a.to_string()).unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let protocol = RwSignal::new("tcp".to_string());
    let port = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    // Sensible defaults once endpoints exist: the first two.
    Effect::new(move |_| {
        let eps = endpoints.get();
        if from.get_untracked().is_empty() || !eps.iter().any(|e| e.0 == from.get_untracked()) {
            from.set(eps.first().map(|e| e.0.clone()).unwrap_or_default());
        }
        if to.get_untracked().is_empty() {
            to.set(eps.get(1).map(|e| e.0.clone()).unwrap_or_default());
        }
    });
    // A trace asked for elsewhere (a matrix cell) shows in the form too.
    Effect::new(move |_| {
        if let Some(req) = request.get() {
            from.set(req.from.clone());
            to.set(req.to.clone());
            port.set(req.port.map(|p| p.to_string()).unwrap_or_default());
        }
    });
    let trace = Memo::new(move |_| {
        let req = request.get()?;
        plan.with(|p| {
            let t = sim::Topology::new(p);
            Some(sim::trace(&t, &req.flow()).map_err(|e| e.to_string()))
        })
    });
    let go = move |_| {
        error.set(String::new());
        let protocol = crate::edit::parse_protocol(&protocol.get_untracked());
        let port = match crate::edit::parse_port(&port.get_untracked()) {
            Ok(p) => p,
            Err(e) => {
                error.set(e);
                return;
            }
        };
        let (f, t) = (from.get_untracked(), to.get_untracked());
        if f.is_empty() || t.trim().is_empty() {
            error.set("pick a source endpoint and a destination".into());
            return;
        }
        request.set(Some(TraceRequest {
            from: f,
            to: t.trim().to_string(),
            protocol,
            port,
        }));
        run.update(|r| *r += 1);
    };

    view! {
        <section class="trace panel" aria-label="Trace">
            <h2>"Trace a packet"</h2>
            <div class="trace-form">
                <label>
                    "From"
                    <select
                        aria-label="Source endpoint"
                        prop:value=move || from.get()
                        on:change=move |ev| from.set(event_target_value(&ev))
                    >
                        {move || endpoints.get().into_iter().map(|(id, label, ip)| {
                            let sel = from.get_untracked() == id;
                            view! { <option value=id.clone() selected=sel>{format!("{label} {ip}")}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "To"
                    <input
                        type="text"
                        list="trace-destinations"
                        aria-label="Destination endpoint or address"
                        placeholder="endpoint or IP address"
                        prop:value=move || to.get()
                        on:input=move |ev| to.set(event_target_value(&ev))
                    />
                    <datalist id="trace-destinations">
                        {move || endpoints.get().into_iter().map(|(id, label, ip)| {
                            view! { <option value=id>{format!("{label} {ip}")}</option> }
                        }).collect_view()}
                    </datalist>
                </label>
                <label>
                    "Protocol"
                    <select aria-label="Protocol" on:change=move |ev| protocol.set(event_target_value(&ev))>
                        <option value="tcp" selected>"tcp"</option>
                        <option value="udp">"udp"</option>
                        <option value="icmp">"icmp"</option>
                    </select>
                </label>
                <label>
                    "Port"
                    <input
                        type="text"
                        inputmode="numeric"
                        size="6"
                        aria-label="Destination port"
                        placeholder="listening"
                        prop:value=move || port.get()
                        on:input=move |ev| port.set(event_target_value(&ev))
                    />
                </label>
                <button type="button" on:click=go disabled=move || endpoints.with(Vec::is_empty)>"Trace"</button>
            </div>
            <p class="field-error" role="alert">{move || error.get()}</p>
            {move || match trace.get() {
                None => view! { <p class="muted">"Pick two endpoints and press Trace: the packet is walked through security groups, network ACLs, route tables and peerings, there and back."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="field-error" data-testid="trace-error">{e}</p> }.into_any(),
                Some(Ok(t)) => {
                    let ok = t.code == sim::TraceCode::Accepted || t.code == sim::TraceCode::Exited;
                    view! {
                        <div class=if ok { "verdict ok" } else { "verdict dropped" } data-testid="trace-verdict">
                            <VerdictLine disposition=t.disposition code=t.code/>
                            <p class="why">{t.explanation.clone()}</p>
                            {t.fix.clone().map(|f| view! { <p class="fix">"Fix: " {f}</p> })}
                            {t.notes.iter().map(|n| view! { <p class="muted">{n.clone()}</p> }).collect_view()}
                        </div>
                        <h3>"Request"</h3>
                        <ol class="hops" data-testid="hops-forward">{t.forward.into_iter().map(hop_card).collect_view()}</ol>
                        {(!t.return_path.is_empty()).then(|| view! {
                            <h3>"Reply"</h3>
                            <ol class="hops" data-testid="hops-return">{t.return_path.clone().into_iter().map(hop_card).collect_view()}</ol>
                        })}
                    }.into_any()
                }
            }}
        </section>
    }
}

/// The verdict's first line: the disposition, then the code when it says more — `DROPPED NO_ROUTE`, but
/// `ACCEPTED` once (see [`sim::verdict_words`]).
#[component]
fn VerdictLine(disposition: sim::Disposition, code: sim::TraceCode) -> impl IntoView {
    let (word, code) = sim::verdict_words(disposition, code);
    view! {
        <div data-testid="trace-verdict-line">
            {word.map(|w| view! { <strong>{w}</strong> " " })}
            <code data-testid="trace-code">{code}</code>
        </div>
    }
}
