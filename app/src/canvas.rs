//! The planner's canvas: the plan drawn as SVG (VPC boxes with their subnets and endpoints, peering lines styled
//! by status), with direct manipulation — select (Shift adds), move a VPC by dragging it, draw a peering by
//! dragging from a VPC's handle to another VPC, pan by dragging the background, zoom with the wheel or the
//! buttons — and the traced packet's path animated on top.

use leptos::prelude::*;
use netmodel::{
    ids::VpcId,
    model::{EndpointKind, GatewayKind, PeeringStatus, Plan, Position},
};

use crate::{
    edit::Item,
    editor::{Editor, View},
    geometry::{self, Geometry, PacketPath, VPC_W},
};

/// What a pointer drag is doing.
#[derive(Clone, Debug, PartialEq)]
enum Drag {
    /// Moving a VPC: where the pointer and the box started, and the plan before the move (one undo step).
    Move {
        vpc: VpcId,
        start: (f64, f64),
        origin: Position,
        before: Box<Plan>,
    },
    /// Drawing a peering from a VPC: the line's start and current end, in plan coordinates.
    Link {
        from: VpcId,
        start: (f64, f64),
        end: (f64, f64),
        pointer: (f64, f64),
    },
    /// Panning: where the pointer and the view started.
    Pan { start: (f64, f64), view: (f64, f64) },
}

fn kind_glyph(kind: EndpointKind) -> &'static str {
    match kind {
        EndpointKind::Instance => "I",
        EndpointKind::Bucket => "B",
        EndpointKind::Agent => "A",
        EndpointKind::Service => "S",
        EndpointKind::Database => "D",
        EndpointKind::LoadBalancer => "L",
        EndpointKind::Interface => "N",
        EndpointKind::Other => "?",
    }
}

/// Up to this many drawn items (VPCs, subnets, endpoints, peerings) the canvas is SVG and shows everything;
/// beyond, only VPCs and peerings, painted on an HTML canvas once the page is live (see [`crate::canvas2d`]).
pub const DETAIL_LIMIT: usize = 1_500;

/// Whether the plan is small enough to draw subnets, endpoints, gateways and peering labels.
pub fn is_detailed(p: &Plan) -> bool {
    p.vpcs.len() + p.subnets.len() + p.endpoints.len() + p.peerings.len() <= DETAIL_LIMIT
}

fn gateway_label(kind: GatewayKind) -> &'static str {
    match kind {
        GatewayKind::Internet => "IGW",
        GatewayKind::Nat => "NAT",
        GatewayKind::Vpn => "VGW",
        GatewayKind::GatewayEndpoint => "VPCE",
    }
}

fn status_class(s: PeeringStatus) -> &'static str {
    match s {
        PeeringStatus::Pending => "peering pending",
        PeeringStatus::Active => "peering active",
        _ => "peering broken",
    }
}

/// The canvas. `packet` is the traced packet's path (animated when it changes; `run` restarts it).
#[component]
pub fn Canvas(editor: Editor, packet: Memo<Option<PacketPath>>, run: RwSignal<u32>) -> impl IntoView {
    let plan = editor.plan;
    let geometry = editor.geometry;
    let view = editor.view;
    let drag = RwSignal::new(None::<Drag>);
    let flagged = editor.flagged;
    let selected = editor.selected;
    let host = NodeRef::<leptos::html::Div>::new();

    let to_plan = move |client: (f64, f64), start: (f64, f64), origin: (f64, f64)| {
        let k = view.get_untracked().k;
        (
            origin.0 + (client.0 - start.0) / k,
            origin.1 + (client.1 - start.1) / k,
        )
    };

    let on_move = move |ev: leptos::ev::PointerEvent| {
        let client = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        match drag.get_untracked() {
            Some(Drag::Move {
                vpc, start, origin, ..
            }) => {
                let (x, y) = to_plan(client, start, (origin.x, origin.y));
                plan.update(|p| {
                    if let Some(v) = p.vpcs.iter_mut().find(|v| v.id == vpc) {
                        v.position = Some(Position {
                            x: x.round(),
                            y: y.round(),
                        });
                    }
                });
            }
            Some(Drag::Link {
                from, start, pointer, ..
            }) => {
                let end = to_plan(client, pointer, start);
                drag.set(Some(Drag::Link {
                    from,
                    start,
                    end,
                    pointer,
                }));
            }
            Some(Drag::Pan { start, view: v0 }) => {
                view.update(|v| {
                    v.tx = v0.0 + client.0 - start.0;
                    v.ty = v0.1 + client.1 - start.1;
                });
            }
            None => {}
        }
    };
    let on_up = move |_ev: leptos::ev::PointerEvent| {
        match drag.get_untracked() {
            Some(Drag::Move { before, .. }) if *before != plan.get_untracked() => {
                editor.history.update_value(|h| h.record(*before));
                editor.revision.update(|r| *r += 1);
            }
            Some(Drag::Link { from, end, .. }) => {
                let target =
                    geometry.with_untracked(|g| plan.with_untracked(|p| geometry::vpc_at(p, g, end)));
                if let Some(to) = target {
                    editor.peer(&from, &to);
                }
            }
            _ => {}
        }
        drag.set(None);
    };
    let on_background_down = move |ev: leptos::ev::PointerEvent| {
        if !ev.shift_key() {
            selected.set(Default::default());
        }
        let v = view.get_untracked();
        drag.set(Some(Drag::Pan {
            start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
            view: (v.tx, v.ty),
        }));
    };
    let zoom_by = move |factor: f64| {
        let (w, h) = host
            .get_untracked()
            .map(|el| (f64::from(el.client_width()), f64::from(el.client_height())))
            .unwrap_or((800.0, 600.0));
        view.update(|v| {
            let k = (v.k * factor).clamp(0.05, 4.0);
            // Keep the centre of the canvas where it is.
            let (cx, cy) = (w / 2.0, h / 2.0);
            v.tx = cx - (cx - v.tx) * k / v.k;
            v.ty = cy - (cy - v.ty) * k / v.k;
            v.k = k;
        });
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        zoom_by(if ev.delta_y() < 0.0 { 1.1 } else { 1.0 / 1.1 });
    };
    let fit = move |_: ()| {
        let (w, h) = host
            .get_untracked()
            .map(|el| (f64::from(el.client_width()), f64::from(el.client_height())))
            .unwrap_or((800.0, 600.0));
        let b = geometry.get_untracked().bounds;
        if b.w <= 0.0 {
            view.set(View::default());
            return;
        }
        // Room on the left and below, and above for the zoom buttons.
        let k = ((w - 40.0) / b.w).min((h - 70.0) / b.h).clamp(0.05, 1.5);
        view.set(View {
            tx: 20.0 - b.x * k,
            ty: 50.0 - b.y * k,
            k,
        });
    };

    // Fit the plan in view when asked (after loading one), once the browser has laid the canvas out.
    Effect::new(move |_| {
        if editor.fit.get() > 0 {
            request_animation_frame(move || fit(()));
        }
    });

    let select = move |item: Item, additive: bool| {
        selected.update(|s| {
            if additive {
                if !s.remove(&item) {
                    s.insert(item);
                }
            } else {
                s.clear();
                s.insert(item);
            }
        });
    };

    // Large plans are painted on an HTML canvas once the page is live (the server still sends the SVG, so the
    // diagram shows without JavaScript and hydration matches).
    let canvas_mode = RwSignal::new(false);
    Effect::new(move |_| canvas_mode.set(plan.with(|p| !is_detailed(p))));
    let bitmap = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        // Everything the painting depends on is read first, so any change repaints.
        let mode = canvas_mode.get();
        let mounted = bitmap.get();
        let link = match drag.get() {
            Some(Drag::Link { start, end, .. }) => Some((start, end)),
            _ => None,
        };
        // Tracked without cloning (a large plan's geometry is thousands of entries).
        geometry.track();
        selected.track();
        flagged.track();
        plan.track();
        let v = view.get();
        if !mode {
            return;
        }
        let Some(el) = mounted else { return };
        let (w, h) = host
            .get_untracked()
            .map(|d| (d.client_width().max(1) as u32, d.client_height().max(1) as u32))
            .unwrap_or((800, 600));
        if el.width() != w || el.height() != h {
            el.set_width(w);
            el.set_height(h);
        }
        use leptos::wasm_bindgen::JsCast;
        let Some(ctx) = el
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        geometry.with_untracked(|g| {
            selected.with_untracked(|sel| {
                flagged.with_untracked(|fl| {
                    plan.with_untracked(|p| {
                        crate::canvas2d::paint(&ctx, (f64::from(w), f64::from(h)), p, g, v, sel, fl, link)
                    })
                })
            })
        });
    });
    let on_bitmap_down = move |ev: leptos::ev::PointerEvent| {
        let v = view.get_untracked();
        let at = (
            (f64::from(ev.offset_x()) - v.tx) / v.k,
            (f64::from(ev.offset_y()) - v.ty) / v.k,
        );
        let client = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        let hit = geometry.with_untracked(|g| plan.with_untracked(|p| crate::canvas2d::hit(p, g, at, v.k)));
        match hit {
            crate::canvas2d::Hit::Handle(vpc) => {
                let start = geometry
                    .with_untracked(|g| g.vpcs.get(&vpc).map(crate::canvas2d::handle_of))
                    .unwrap_or(at);
                drag.set(Some(Drag::Link {
                    from: vpc,
                    start,
                    end: start,
                    pointer: client,
                }));
            }
            crate::canvas2d::Hit::Vpc(vpc) => {
                select(Item::Vpc(vpc.clone()), ev.shift_key());
                let origin = plan
                    .with_untracked(|p| geometry::vpc_origin(p).get(&vpc).copied())
                    .unwrap_or_default();
                drag.set(Some(Drag::Move {
                    vpc,
                    start: client,
                    origin,
                    before: Box::new(plan.get_untracked()),
                }));
            }
            crate::canvas2d::Hit::Peering(id) => select(Item::Peering(id), ev.shift_key()),
            crate::canvas2d::Hit::Nothing => on_background_down(ev),
        }
    };

    let drawing = move || {
        let g: Geometry = geometry.get();
        let flagged = flagged.get();
        let sel = selected.get();
        plan.with(|p| {
            let detailed = is_detailed(p);
            let peerings = p
                .peerings
                .iter()
                .filter_map(|pc| {
                    let (a, b) = geometry::peering_line(p, &g, &pc.id)?;
                    let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
                    let id = pc.id.clone();
                    let is_sel = sel.contains(&Item::Peering(id.clone()));
                    let label = match pc.status {
                        PeeringStatus::Active | PeeringStatus::Pending => format!("{} · {}", pc.id, pc.status),
                        s => format!("{} · {} ✕", pc.id, s),
                    };
                    let label_w = label.chars().count() as f64 * 7.0 + 12.0;
                    let item = Item::Peering(id.clone());
                    let key_item = item.clone();
                    Some(view! {
                        <g
                            class=status_class(pc.status)
                            class:selected=is_sel
                            data-testid="peering"
                            data-id=id.to_string()
                            data-status=pc.status.as_str()
                            role="button"
                            tabindex="0"
                            aria-label=format!("peering {} between {} and {}, {}", pc.id, pc.requester.vpc, pc.accepter.vpc, pc.status)
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    select(key_item.clone(), ev.shift_key());
                                }
                            }
                            on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                ev.stop_propagation();
                                select(item.clone(), ev.shift_key());
                            }
                        >
                            <line class="hit" x1=a.0 y1=a.1 x2=b.0 y2=b.1/>
                            <line class="edge" x1=a.0 y1=a.1 x2=b.0 y2=b.1/>
                            {detailed.then(|| view! {
                                <rect class="edge-label-bg" x=mid.0 - label_w / 2.0 y=mid.1 - 11.0 width=label_w height="18" rx="3"/>
                                <text class="edge-label" x=mid.0 y=mid.1 + 3.0 text-anchor="middle">{label}</text>
                            })}
                        </g>
                    })
                })
                .collect_view();
            let vpcs = p
                .vpcs
                .iter()
                .filter_map(|v| {
                    let r = *g.vpcs.get(&v.id)?;
                    let id = v.id.clone();
                    let is_flagged = flagged.contains(v.id.as_str());
                    let is_sel = sel.contains(&Item::Vpc(id.clone()));
                    let blocks = v.blocks().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                    let subnets = p
                        .subnets
                        .iter()
                        .filter(|s| detailed && s.vpc == v.id)
                        .filter_map(|s| {
                            let sr = *g.subnets.get(&s.id)?;
                            let sid = s.id.clone();
                            let s_sel = sel.contains(&Item::Subnet(sid.clone()));
                            let s_flag = flagged.contains(s.id.as_str());
                            let eps = p
                                .endpoints
                                .iter()
                                .filter(|e| e.subnet == s.id)
                                .filter_map(|e| {
                                    let (x, y) = *g.endpoints.get(&e.id)?;
                                    let eid = e.id.clone();
                                    let e_sel = sel.contains(&Item::Endpoint(eid.clone()));
                                    let name = if e.name.is_empty() { e.id.to_string() } else { e.name.clone() };
                                    let addr = e.ipv4.map(|a| a.to_string()).unwrap_or_default();
                                    let aria = format!("endpoint {name} ({:?}) {addr}", e.kind);
                                    Some(view! {
                                        <g
                                            class="endpoint"
                                            class:selected=e_sel
                                            data-testid="endpoint"
                                            data-id=eid.to_string()
                                            role="button"
                                            tabindex="0"
                                            aria-label=aria
                                            on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                                ev.stop_propagation();
                                                select(Item::Endpoint(eid.clone()), ev.shift_key());
                                            }
                                        >
                                            <circle cx=x cy=y r="10" class=format!("kind-{:?}", e.kind).to_lowercase()/>
                                            <text class="glyph" x=x y=y + 4.0 text-anchor="middle">{kind_glyph(e.kind)}</text>
                                            <text class="ep-name" x=x + 15.0 y=y - 1.0>{name}</text>
                                            <text class="ep-addr" x=x + 15.0 y=y + 10.0>{addr}</text>
                                        </g>
                                    })
                                })
                                .collect_view();
                            let label = if s.name.is_empty() { s.id.to_string() } else { s.name.clone() };
                            Some(view! {
                                <g
                                    class="subnet"
                                    class:selected=s_sel
                                    class:flagged=s_flag
                                    data-testid="subnet"
                                    on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                        ev.stop_propagation();
                                        select(Item::Subnet(sid.clone()), ev.shift_key());
                                    }
                                >
                                    <rect x=sr.x y=sr.y width=sr.w height=sr.h rx="4"/>
                                    <text class="subnet-label" x=sr.x + 8.0 y=sr.y + 16.0>
                                        {format!("{label} · {} · {}", s.cidr, s.az)}
                                    </text>
                                </g>
                                {eps}
                            })
                        })
                        .collect_view();
                    let move_id = id.clone();
                    let link_id = id.clone();
                    let key_id = id.clone();
                    let handle = (r.x + r.w, r.y + geometry::HEADER_H / 2.0);
                    // Gateways sit on the box's top edge, right-aligned.
                    let gateways = p
                        .gateways
                        .iter()
                        .filter(|gw| detailed && gw.vpc == v.id)
                        .enumerate()
                        .map(|(i, gw)| {
                            let label = gateway_label(gw.kind);
                            let (x, y) = (r.x + r.w - 60.0 - i as f64 * 52.0, r.y - 10.0);
                            view! {
                                <g class="gateway" data-testid="gateway" aria-label=format!("{label} {}", gw.id)>
                                    <rect x=x y=y width="46" height="20" rx="3"/>
                                    <text x=x + 23.0 y=y + 14.0 text-anchor="middle">{label}</text>
                                </g>
                            }
                        })
                        .collect_view();
                    // Overlaps with other VPCs, named under the box.
                    let overlaps: Vec<String> = p
                        .vpcs
                        .iter()
                        .filter(|o| o.id != v.id)
                        .filter_map(|o| {
                            v.blocks()
                                .find_map(|a| o.blocks().find(|b| a.overlaps(b)).map(|b| format!("{} ({b})", o.id)))
                        })
                        .collect();
                    let overlap_text = (!overlaps.is_empty()).then(|| {
                        view! {
                            <text class="overlap-note" data-testid="overlap-note" x=r.x + 4.0 y=r.y + r.h + 16.0>
                                {format!("overlaps {}", overlaps.join(", "))}
                            </text>
                        }
                    });
                    Some(view! {
                        <g
                            class="vpc-box"
                            class:flagged=is_flagged
                            class:selected=is_sel
                            data-testid="vpc-box"
                            data-id=id.to_string()
                        >
                            <rect
                                class="vpc-frame"
                                x=r.x
                                y=r.y
                                width=r.w
                                height=r.h
                                rx="8"
                                role="button"
                                tabindex="0"
                                aria-label=format!("VPC {} {}", v.label(), blocks)
                                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                    if ev.key() == "Enter" || ev.key() == " " {
                                        ev.prevent_default();
                                        select(Item::Vpc(key_id.clone()), ev.shift_key());
                                    }
                                }
                                on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                    ev.stop_propagation();
                                    select(Item::Vpc(move_id.clone()), ev.shift_key());
                                    let origin = plan
                                        .with_untracked(|p| geometry::vpc_origin(p).get(&move_id).copied())
                                        .unwrap_or_default();
                                    drag.set(Some(Drag::Move {
                                        vpc: move_id.clone(),
                                        start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                                        origin,
                                        before: Box::new(plan.get_untracked()),
                                    }));
                                }
                            />
                            <text class="vpc-name" x=r.x + 12.0 y=r.y + 22.0>{v.name.clone()}</text>
                            <text class="cidr" x=r.x + 12.0 y=r.y + 40.0>{blocks}</text>
                            <text class="badge" x=r.x + 12.0 y=r.y + 58.0>
                                {format!("{} · {}", v.account, v.region)}
                            </text>
                            {subnets}
                            {gateways}
                            {overlap_text}
                            <circle
                                class="peer-handle"
                                cx=handle.0
                                cy=handle.1
                                r="8"
                                role="button"
                                aria-label=format!("Draw a peering from {}", v.id)
                                data-testid="peer-handle"
                                on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                    ev.stop_propagation();
                                    drag.set(Some(Drag::Link {
                                        from: link_id.clone(),
                                        start: handle,
                                        end: handle,
                                        pointer: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                                    }));
                                }
                            />
                        </g>
                    })
                })
                .collect_view();
            view! {
                {peerings}
                {vpcs}
            }
        })
    };

    let link_line = move || match drag.get() {
        Some(Drag::Link { start, end, .. }) => Some(view! {
            <line class="link-draft" x1=start.0 y1=start.1 x2=end.0 y2=end.1/>
        }),
        _ => None,
    };

    let packet_view = move || {
        let path = packet.get()?;
        let n = run.get();
        let pts = &path.points;
        if pts.len() < 2 {
            return None;
        }
        // Keyframes at distances proportional to the segments' lengths.
        let lengths: Vec<f64> = pts
            .windows(2)
            .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
            .collect();
        let total: f64 = lengths.iter().sum::<f64>().max(1.0);
        let mut acc = 0.0;
        let mut frames = format!("0% {{ transform: translate({}px, {}px); }}", pts[0].0, pts[0].1);
        for (i, l) in lengths.iter().enumerate() {
            acc += l;
            frames.push_str(&format!(
                " {:.2}% {{ transform: translate({}px, {}px); }}",
                acc / total * 100.0,
                pts[i + 1].0,
                pts[i + 1].1
            ));
        }
        let secs = (total / 260.0).clamp(1.0, 5.0);
        let css = format!("@keyframes packet-{n} {{ {frames} }}");
        let polyline = pts
            .iter()
            .map(|(x, y)| format!("{x},{y}"))
            .collect::<Vec<_>>()
            .join(" ");
        let last = *pts.last().expect("two points at least");
        let dropped = path.dropped;
        Some(view! {
            <g class="packet-layer" data-testid="packet-path" data-dropped=dropped.to_string()>
                <style>{css}</style>
                <polyline class=if dropped { "packet-trail dropped" } else { "packet-trail" } points=polyline/>
                <circle
                    class="packet"
                    r="7"
                    cx="0"
                    cy="0"
                    style=format!("animation: packet-{n} {secs:.1}s linear forwards")
                />
                {dropped.then(|| view! {
                    <text class="drop-marker" data-testid="drop-marker" x=last.0 y=last.1 + 6.0 text-anchor="middle">"✕"</text>
                })}
            </g>
        })
    };

    view! {
        <div class="canvas-host" node_ref=host>
            <div class="zoom-controls" role="group" aria-label="Zoom">
                <button type="button" title="Zoom in" aria-label="Zoom in" on:click=move |_| zoom_by(1.2)>"+"</button>
                <button type="button" title="Zoom out" aria-label="Zoom out" on:click=move |_| zoom_by(1.0 / 1.2)>"−"</button>
                <button type="button" title="Fit the plan" aria-label="Fit" on:click=move |_| fit(())>"Fit"</button>
            </div>
            <Show
                when=move || !canvas_mode.get()
                fallback=move || view! {
                    <canvas
                        class="canvas bitmap"
                        role="region"
                        aria-label="Planner canvas"
                        data-testid="bitmap-canvas"
                        node_ref=bitmap
                        on:pointerdown=on_bitmap_down
                        on:pointermove=on_move
                        on:pointerup=on_up
                        on:pointerleave=on_up
                        on:wheel=on_wheel
                    ></canvas>
                }
            >
                <svg
                    class="canvas"
                    role="region"
                    aria-label="Planner canvas"
                    data-vpc-width=VPC_W
                    on:pointermove=on_move
                    on:pointerup=on_up
                    on:pointerleave=on_up
                    on:wheel=on_wheel
                >
                    <rect class="canvas-bg" x="0" y="0" width="100%" height="100%" on:pointerdown=on_background_down/>
                    <g transform=move || {
                        let v = view.get();
                        format!("translate({} {}) scale({})", v.tx, v.ty, v.k)
                    }>
                        {drawing}
                        {link_line}
                        {packet_view}
                    </g>
                </svg>
            </Show>
            <Show when=move || plan.with(|p| !is_detailed(p))>
                <p class="lod-note" data-testid="lod-note">
                    "A large plan: the canvas shows VPCs and peerings only (painted on a canvas); select a VPC to see its subnets, endpoints and tables in the inspector."
                </p>
            </Show>
            <Show when=move || plan.with(|p| p.vpcs.is_empty())>
                <p class="canvas-empty">
                    "Type a CIDR block and press “Add VPC”, or load an example. Drag a VPC’s round handle onto another VPC to peer them. Press ? for shortcuts."
                </p>
            </Show>
        </div>
    }
}
