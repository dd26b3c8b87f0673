//! The reachability matrix as a heat map: endpoints × endpoints for a protocol and port, grouped by VPC, each
//! cell coloured by its trace code (drawn with plotters into a bitmap, put on a canvas). Hovering names the
//! pair and its code; clicking opens that pair's trace. "What changes if…" recomputes the matrix with one
//! peering's status changed and shows the pairs that gain or lose reachability (a differential matrix).

use leptos::prelude::*;
use netmodel::{
    ids::PeeringId,
    matrix::{matrix, Matrix},
    model::{PeeringStatus, Plan, Protocol},
    sim::{ClientProfile, Disposition, Topology, TraceCode},
};

use crate::editor::{Editor, TraceRequest};

/// The heat map's side, in pixels.
pub const SIDE: u32 = 360;

/// A computed matrix in display order (endpoints grouped by VPC).
#[derive(Clone, Debug, PartialEq)]
pub struct Heat {
    /// Endpoint ids and labels, display order.
    pub endpoints: Vec<(String, String)>,
    /// Where each VPC's group starts (display index) and its id.
    pub groups: Vec<(usize, String)>,
    /// Row-major codes in display order.
    pub codes: Vec<TraceCode>,
    /// With "what if": the codes after the change, same order.
    pub after: Option<Vec<TraceCode>>,
}

impl Heat {
    pub fn n(&self) -> usize {
        self.endpoints.len()
    }

    fn code(&self, r: usize, c: usize) -> TraceCode {
        self.codes[r * self.n() + c]
    }

    /// Pairs whose reachability changes: (row, column, before, after); gained first.
    pub fn changes(&self) -> Vec<(usize, usize, TraceCode, TraceCode)> {
        let Some(after) = &self.after else { return vec![] };
        let n = self.n();
        let mut out: Vec<_> = (0..n * n)
            .filter(|&i| i / n != i % n && self.codes[i] != after[i])
            .map(|i| (i / n, i % n, self.codes[i], after[i]))
            .collect();
        out.sort_by_key(|&(r, c, _, a)| (!reaches(a), r, c));
        out
    }
}

fn reaches(code: TraceCode) -> bool {
    matches!(
        netmodel::matrix::disposition_of(code),
        Disposition::Accepted | Disposition::Exited
    )
}

/// Computes the matrix (and the what-if matrix) and orders it by VPC.
pub fn heat(
    plan: &Plan,
    protocol: Protocol,
    port: Option<u16>,
    what_if: Option<(PeeringId, PeeringStatus)>,
) -> Result<Heat, String> {
    let compute = |p: &Plan| -> Result<Matrix, String> {
        let t = Topology::new(p);
        matrix(&t, protocol, port, ClientProfile::Linux).map_err(|e| e.to_string())
    };
    let m = compute(plan)?;
    let mut order: Vec<usize> = (0..m.len()).collect();
    order.sort_by(|&a, &b| (&m.vpcs[a], &m.endpoints[a]).cmp(&(&m.vpcs[b], &m.endpoints[b])));
    let label = |id: &str| {
        plan.endpoints
            .iter()
            .find(|e| e.id.as_str() == id)
            .map(|e| e.label())
            .unwrap_or_else(|| id.to_string())
    };
    let mut groups = vec![];
    for (pos, &i) in order.iter().enumerate() {
        if groups
            .last()
            .is_none_or(|(_, v): &(usize, String)| v != &m.vpcs[i])
        {
            groups.push((pos, m.vpcs[i].clone()));
        }
    }
    let reorder = |m: &Matrix| {
        let mut codes = Vec::with_capacity(order.len() * order.len());
        for &r in &order {
            for &c in &order {
                codes.push(m.code(r, c));
            }
        }
        codes
    };
    let after = match what_if {
        Some((id, status)) => {
            let mut changed = plan.clone();
            netmodel::edit::set_peering_status(&mut changed, &id, status);
            Some(reorder(&compute(&changed)?))
        }
        None => None,
    };
    Ok(Heat {
        endpoints: order
            .iter()
            .map(|&i| (m.endpoints[i].clone(), label(&m.endpoints[i])))
            .collect(),
        groups,
        codes: reorder(&m),
        after,
    })
}

/// The browser's clock in milliseconds (none outside the browser).
fn now_ms() -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(js_sys::Date::now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// The colour of a code (RGB).
pub fn code_color(code: TraceCode) -> (u8, u8, u8) {
    use TraceCode::*;
    match code {
        Accepted => (46, 125, 50),
        Exited => (25, 118, 210),
        NotTransitive => (198, 40, 40),
        PeeringNotActive => (239, 108, 0),
        NoRoute | BlackholeRoute => (109, 76, 65),
        EdgeToEdge => (93, 64, 55),
        SgDenyEgress | SgDenyIngress => (173, 20, 87),
        NaclDenyOutbound | NaclDenyInbound => (123, 31, 162),
        ReturnNaclDeny | ReturnNoRoute | ReturnMisrouted => (249, 168, 37),
        UnknownSource | UnknownDestination => (158, 158, 158),
    }
}

/// The colour of a cell in the differential matrix: gained green, lost red, other change amber, same grey.
fn diff_color(before: TraceCode, after: TraceCode) -> (u8, u8, u8) {
    match (reaches(before), reaches(after)) {
        (false, true) => (46, 125, 50),
        (true, false) => (198, 40, 40),
        _ if before != after => (249, 168, 37),
        (true, true) => (190, 200, 190),
        (false, false) => (235, 235, 235),
    }
}

/// Draws the heat map into an RGBA buffer of `SIDE × SIDE` with plotters.
pub fn draw(heat: &Heat) -> Vec<u8> {
    use plotters::prelude::*;
    let n = heat.n().max(1);
    let side = SIDE as usize;
    let mut rgb = vec![255u8; side * side * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (SIDE, SIDE)).into_drawing_area();
        let color = |r: usize, c: usize| {
            if r == c {
                // An endpoint and itself: not a path through the network.
                return RGBColor(245, 245, 245);
            }
            let (cr, cg, cb) = match &heat.after {
                Some(after) => diff_color(heat.code(r, c), after[r * n + c]),
                None => code_color(heat.code(r, c)),
            };
            RGBColor(cr, cg, cb)
        };
        if n <= side {
            let cell = side as f64 / n as f64;
            for r in 0..n {
                for c in 0..n {
                    let (x0, y0) = ((c as f64 * cell) as i32, (r as f64 * cell) as i32);
                    let (x1, y1) = (((c + 1) as f64 * cell) as i32, ((r + 1) as f64 * cell) as i32);
                    let _ = root.draw(&Rectangle::new([(x0, y0), (x1, y1)], color(r, c).filled()));
                }
            }
        } else {
            for py in 0..side {
                for px in 0..side {
                    let _ = root.draw_pixel((px as i32, py as i32), &color(py * n / side, px * n / side));
                }
            }
        }
        // VPC group boundaries.
        for &(start, _) in heat.groups.iter().skip(1) {
            let at = (start as f64 * side as f64 / n as f64) as i32;
            let line = ShapeStyle::from(&WHITE).stroke_width(1);
            let _ = root.draw(&PathElement::new(vec![(at, 0), (at, side as i32)], line));
            let _ = root.draw(&PathElement::new(vec![(0, at), (side as i32, at)], line));
        }
        let _ = root.present();
    }
    let mut rgba = Vec::with_capacity(side * side * 4);
    for px in rgb.chunks_exact(3) {
        rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    rgba
}

/// The matrix panel.
#[component]
pub fn MatrixPanel(
    editor: Editor,
    request: RwSignal<Option<TraceRequest>>,
    run: RwSignal<u32>,
) -> impl IntoView {
    let plan = editor.plan;
    let open = RwSignal::new(false);
    let protocol = RwSignal::new("tcp".to_string());
    let port = RwSignal::new(String::new());
    let what_if_peering = RwSignal::new(String::new());
    let what_if_status = RwSignal::new("active".to_string());
    let hover = RwSignal::new(String::new());
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let took_ms = RwSignal::new(None::<f64>);

    let heat = Memo::new(move |_| {
        if !open.get() {
            return None;
        }
        let protocol = crate::edit::parse_protocol(&protocol.get());
        let port = match crate::edit::parse_port(&port.get()) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let what_if = {
            let id = what_if_peering.get();
            let status = PeeringStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == what_if_status.get());
            (!id.is_empty())
                .then_some(())
                .and(status)
                .map(|s| (PeeringId(id), s))
        };
        let started = now_ms();
        let result = plan.with(|p| heat(p, protocol, port, what_if));
        took_ms.set(started.map(|s| now_ms().unwrap_or(s) - s));
        Some(result)
    });

    // Paint the canvas whenever the matrix changes (in the browser only).
    Effect::new(move |_| {
        let Some(Ok(h)) = heat.get() else { return };
        let Some(el) = canvas.get() else { return };
        use leptos::wasm_bindgen::JsCast;
        let rgba = draw(&h);
        let ctx = el
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
        if let (Some(ctx), Ok(img)) = (
            ctx,
            web_sys::ImageData::new_with_u8_clamped_array_and_sh(
                leptos::wasm_bindgen::Clamped(&rgba),
                SIDE,
                SIDE,
            ),
        ) {
            let _ = ctx.put_image_data(&img, 0.0, 0.0);
        }
    });

    let cell_at = move |x: i32, y: i32| -> Option<(usize, usize)> {
        let Some(Ok(h)) = heat.get_untracked() else {
            return None;
        };
        let n = h.n();
        if n == 0 || x < 0 || y < 0 {
            return None;
        }
        let (c, r) = (x as usize * n / SIDE as usize, y as usize * n / SIDE as usize);
        (r < n && c < n).then_some((r, c))
    };
    let describe = move |r: usize, c: usize| -> String {
        let Some(Ok(h)) = heat.get_untracked() else {
            return String::new();
        };
        let n = h.n();
        if r == c {
            return format!("{}: the same endpoint", h.endpoints[r].1);
        }
        let before = h.code(r, c);
        match &h.after {
            Some(after) if after[r * n + c] != before => format!(
                "{} → {}: {} → {}",
                h.endpoints[r].1,
                h.endpoints[c].1,
                before.as_str(),
                after[r * n + c].as_str()
            ),
            _ => format!("{} → {}: {}", h.endpoints[r].1, h.endpoints[c].1, before.as_str()),
        }
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        hover.set(
            cell_at(ev.offset_x(), ev.offset_y())
                .map(|(r, c)| describe(r, c))
                .unwrap_or_default(),
        );
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some((r, c)) = cell_at(ev.offset_x(), ev.offset_y()) else {
            return;
        };
        let Some(Ok(h)) = heat.get_untracked() else { return };
        let proto = crate::edit::parse_protocol(&protocol.get_untracked());
        request.set(Some(TraceRequest {
            from: h.endpoints[r].0.clone(),
            to: h.endpoints[c].0.clone(),
            protocol: proto,
            port: crate::edit::parse_port(&port.get_untracked()).ok().flatten(),
        }));
        run.update(|n| *n += 1);
        editor.notice.set(format!("Tracing {}.", describe(r, c)));
    };
    let peerings = Memo::new(move |_| {
        plan.with(|p| {
            p.peerings
                .iter()
                .map(|x| (x.id.to_string(), x.status))
                .collect::<Vec<_>>()
        })
    });

    view! {
        <section class="matrix panel" aria-label="Reachability matrix">
            <details prop:open=move || open.get()>
                <summary on:click=move |ev| {
                    ev.prevent_default();
                    open.update(|o| *o = !*o);
                }>
                    <h2 class="inline">"Reachability matrix"</h2>
                </summary>
                <div class="inline-form">
                    <select aria-label="Matrix protocol" on:change=move |ev| protocol.set(event_target_value(&ev))>
                        <option value="tcp" selected>"tcp"</option>
                        <option value="udp">"udp"</option>
                        <option value="icmp">"icmp"</option>
                    </select>
                    <input type="text" size="8" placeholder="listening" aria-label="Matrix port" prop:value=move || port.get() on:input=move |ev| port.set(event_target_value(&ev))/>
                </div>
                <div class="inline-form what-if">
                    "What changes if "
                    <select aria-label="What-if peering" on:change=move |ev| what_if_peering.set(event_target_value(&ev))>
                        <option value="" selected>"(no change)"</option>
                        {move || peerings.get().into_iter().map(|(id, s)| view! { <option value=id.clone()>{format!("{id} ({s})")}</option> }).collect_view()}
                    </select>
                    " becomes "
                    <select aria-label="What-if status" on:change=move |ev| what_if_status.set(event_target_value(&ev))>
                        {PeeringStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == PeeringStatus::Active>{s.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                {move || match heat.get() {
                    None => None,
                    Some(Err(e)) => Some(view! { <p class="field-error" role="alert">{e}</p> }.into_any()),
                    Some(Ok(h)) if h.n() == 0 => Some(view! { <p class="muted">"Add endpoints to see who reaches whom."</p> }.into_any()),
                    Some(Ok(h)) => {
                        let changes = h.changes();
                        let gained = changes.iter().filter(|c| reaches(c.3) && !reaches(c.2)).count();
                        let lost = changes.iter().filter(|c| reaches(c.2) && !reaches(c.3)).count();
                        let summary = h.after.as_ref().map(|_| format!("{gained} pair(s) gain reachability, {lost} lose it, {} change otherwise", changes.len() - gained - lost));
                        let mut counts: Vec<(TraceCode, usize)> = vec![];
                        let n = h.n();
                        for code in h.codes.iter().enumerate().filter(|(i, _)| i / n != i % n).map(|(_, c)| c) {
                            match counts.iter_mut().find(|(c, _)| c == code) {
                                Some((_, n)) => *n += 1,
                                None => counts.push((*code, 1)),
                            }
                        }
                        counts.sort_by_key(|(c, _)| *c);
                        let listed: Vec<String> = changes.iter().take(12).map(|&(r, c, b, a)| format!("{} → {}: {} → {}", h.endpoints[r].1, h.endpoints[c].1, b.as_str(), a.as_str())).collect();
                        Some(view! {
                            <p class="muted">
                                {format!("{} endpoints in {} VPCs; rows are sources, columns destinations (the diagonal is each endpoint and itself).", h.n(), h.groups.len())}
                                <span data-testid="matrix-time">{took_ms.get_untracked().map(|t| format!(" Computed in {t:.0} ms.")).unwrap_or_default()}</span>
                            </p>
                            {summary.map(|s| view! { <p data-testid="what-if-summary"><strong>{s}</strong></p> })}
                            <ul class="plain changes" data-testid="what-if-changes">
                                {listed.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                            </ul>
                            {(h.after.is_none()).then(|| view! {
                                <ul class="legend" data-testid="matrix-legend">
                                    {counts.into_iter().map(|(c, n)| {
                                        let (r, g, b) = code_color(c);
                                        view! { <li><span class="swatch" style=format!("background: rgb({r},{g},{b})")></span>{format!("{} {n}", c.as_str())}</li> }
                                    }).collect_view()}
                                </ul>
                            })}
                        }.into_any())
                    }
                }}
                <canvas
                    class="heat"
                    width=SIDE
                    height=SIDE
                    node_ref=canvas
                    data-testid="matrix-canvas"
                    aria-label="Reachability heat map: hover a cell for its verdict, click it to trace"
                    on:mousemove=on_move
                    on:mouseleave=move |_| hover.set(String::new())
                    on:click=on_click
                ></canvas>
                <p class="hover" data-testid="matrix-hover" aria-live="polite">{move || hover.get()}</p>
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Plan {
        crate::planner::example(name)
            .expect("an example")
            .1
            .expect("a valid example")
    }

    #[test]
    fn the_heat_map_groups_by_vpc_and_paints_every_cell() {
        let plan = sample("transitive");
        let h = heat(&plan, Protocol::Tcp, None, None).unwrap();
        assert_eq!(h.n(), 3);
        assert_eq!(
            h.groups.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(),
            ["vpc-a", "vpc-b", "vpc-c"]
        );
        let a = h.endpoints.iter().position(|e| e.0 == "bucket-a").unwrap();
        let c = h.endpoints.iter().position(|e| e.0 == "service-c").unwrap();
        assert_eq!(h.code(a, c), TraceCode::NotTransitive);
        let rgba = draw(&h);
        assert_eq!(rgba.len(), (SIDE * SIDE * 4) as usize);
        // The cell's centre has the code's colour.
        let cell = SIDE as usize / 3;
        let (x, y) = (c * cell + cell / 2, a * cell + cell / 2);
        let i = (y * SIDE as usize + x) * 4;
        let (r, g, b) = code_color(TraceCode::NotTransitive);
        assert_eq!(&rgba[i..i + 3], &[r, g, b]);
    }

    #[test]
    fn a_thousand_endpoints_fit_the_heat_map() {
        let plan = netmodel::generate::generate(&netmodel::generate::GenerateOptions {
            vpcs: 100,
            subnets_per_vpc: 5,
            endpoints_per_subnet: 2,
            seed: 7,
        })
        .unwrap();
        let h = heat(&plan, Protocol::Tcp, None, None).unwrap();
        assert_eq!(h.n(), 1000);
        assert_eq!(draw(&h).len(), (SIDE * SIDE * 4) as usize);
    }

    #[test]
    fn what_if_lists_the_pairs_that_gain_or_lose() {
        let plan = sample("seed");
        let h = heat(
            &plan,
            Protocol::Tcp,
            None,
            Some(("pcx-ab".into(), PeeringStatus::Deleted)),
        )
        .unwrap();
        let changes = h.changes();
        assert!(!changes.is_empty());
        assert!(
            changes.iter().all(|c| reaches(c.2) && !reaches(c.3)),
            "{changes:?}"
        );
        let same = heat(
            &plan,
            Protocol::Tcp,
            None,
            Some(("pcx-ab".into(), PeeringStatus::Active)),
        )
        .unwrap();
        assert!(same.changes().is_empty());
    }
}
