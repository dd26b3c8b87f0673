//! The planner's canvas: the plan drawn as SVG (VPC boxes with their subnets and endpoints, peering lines styled
//! by status), with direct manipulation — select (Shift adds), move a VPC by dragging it, draw a peering by
//! dragging from a VPC's handle to another VPC, pan by dragging the background, zoom with the wheel or the
//! buttons — and the traced packet's path animated on top.
//!
//! [`Canvas`] assembles the parts: `Interaction` (the pointer gestures, pan and zoom), the drawing of each item
//! (`peering_view`, `vpc_view` with `subnet_view`, `endpoint_view`, `gateways_view` and `overlap_note`), the
//! traced packet (`packet_view`) and, for large plans, the bitmap painter (`paint_bitmap`, [`crate::canvas2d`]).

use std::collections::BTreeSet;

use leptos::prelude::*;
use netmodel::{
    ids::VpcId,
    model::{Endpoint, EndpointKind, GatewayKind, Peering, PeeringStatus, Plan, Position, Subnet, Vpc},
};

use crate::{
    canvas2d::{self, Hit},
    editor::{Editor, View},
    geometry::{self, Geometry, PacketPath, Rect, VPC_W},
};
use netmodel::edit::Item;

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

/// A pointer event's position in the window.
fn client_of(ev: &leptos::ev::PointerEvent) -> (f64, f64) {
    (f64::from(ev.client_x()), f64::from(ev.client_y()))
}

/// Whether a key press activates a focused item (Enter or Space).
fn activates(ev: &leptos::ev::KeyboardEvent) -> bool {
    ev.key() == "Enter" || ev.key() == " "
}

/// The canvas's gestures: selection, moving a VPC, drawing a peering, panning and zooming. All handles, so it
/// is `Copy` and every event handler holds its own.
#[derive(Clone, Copy)]
struct Interaction {
    editor: Editor,
    drag: RwSignal<Option<Drag>>,
    host: NodeRef<leptos::html::Div>,
}

impl Interaction {
    /// The canvas's size on screen (800×600 before it is laid out).
    fn host_size(&self) -> (f64, f64) {
        self.host
            .get_untracked()
            .map(|el| (f64::from(el.client_width()), f64::from(el.client_height())))
            .unwrap_or((800.0, 600.0))
    }

    /// Where a point that started at `origin` (plan coordinates) is after the pointer moved from `start` to
    /// `client` (window coordinates).
    fn plan_point(&self, client: (f64, f64), start: (f64, f64), origin: (f64, f64)) -> (f64, f64) {
        let k = self.editor.view.get_untracked().k;
        (
            origin.0 + (client.0 - start.0) / k,
            origin.1 + (client.1 - start.1) / k,
        )
    }

    /// Selects `item` (Shift toggles it in the selection instead).
    fn select(&self, item: Item, additive: bool) {
        self.editor.selected.update(|s| {
            if additive {
                if !s.remove(&item) {
                    s.insert(item);
                }
            } else {
                s.clear();
                s.insert(item);
            }
        });
    }

    /// Starts moving a VPC, grabbed at `client`.
    fn start_move(&self, vpc: VpcId, client: (f64, f64)) {
        let plan = self.editor.plan;
        let origin = plan
            .with_untracked(|p| geometry::vpc_origin(p).get(&vpc).copied())
            .unwrap_or_default();
        self.drag.set(Some(Drag::Move {
            vpc,
            start: client,
            origin,
            before: Box::new(plan.get_untracked()),
        }));
    }

    /// Starts drawing a peering from a VPC's handle at `start` (plan coordinates).
    fn start_link(&self, from: VpcId, start: (f64, f64), client: (f64, f64)) {
        self.drag.set(Some(Drag::Link {
            from,
            start,
            end: start,
            pointer: client,
        }));
    }

    /// The pointer moved: the drag goes on.
    fn pointer_move(&self, ev: leptos::ev::PointerEvent) {
        let client = client_of(&ev);
        match self.drag.get_untracked() {
            Some(Drag::Move {
                vpc, start, origin, ..
            }) => {
                let (x, y) = self.plan_point(client, start, (origin.x, origin.y));
                self.editor.plan.update(|p| {
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
                let end = self.plan_point(client, pointer, start);
                self.drag.set(Some(Drag::Link {
                    from,
                    start,
                    end,
                    pointer,
                }));
            }
            Some(Drag::Pan { start, view: v0 }) => {
                self.editor.view.update(|v| {
                    v.tx = v0.0 + client.0 - start.0;
                    v.ty = v0.1 + client.1 - start.1;
                });
            }
            None => {}
        }
    }

    /// The pointer was released (or left): a move becomes one undo step, a drawn link a peering.
    fn pointer_up(&self) {
        let editor = self.editor;
        match self.drag.get_untracked() {
            Some(Drag::Move { before, .. }) if *before != editor.plan.get_untracked() => {
                editor.history.update_value(|h| h.record(*before));
                editor.revision.update(|r| *r += 1);
            }
            Some(Drag::Link { from, end, .. }) => {
                let target = editor
                    .geometry
                    .with_untracked(|g| editor.plan.with_untracked(|p| geometry::vpc_at(p, g, end)));
                if let Some(to) = target {
                    editor.peer(&from, &to);
                }
            }
            _ => {}
        }
        self.drag.set(None);
    }

    /// A press on the background: clears the selection (unless Shift) and starts panning.
    fn background_down(&self, ev: leptos::ev::PointerEvent) {
        if !ev.shift_key() {
            self.editor.selected.set(Default::default());
        }
        let v = self.editor.view.get_untracked();
        self.drag.set(Some(Drag::Pan {
            start: client_of(&ev),
            view: (v.tx, v.ty),
        }));
    }

    /// A press on the bitmap canvas: what it hit decides the gesture.
    fn bitmap_down(&self, ev: leptos::ev::PointerEvent) {
        let editor = self.editor;
        let v = editor.view.get_untracked();
        let at = (
            (f64::from(ev.offset_x()) - v.tx) / v.k,
            (f64::from(ev.offset_y()) - v.ty) / v.k,
        );
        let client = client_of(&ev);
        let hit = editor
            .geometry
            .with_untracked(|g| editor.plan.with_untracked(|p| canvas2d::hit(p, g, at, v.k)));
        match hit {
            Hit::Handle(vpc) => {
                let start = editor
                    .geometry
                    .with_untracked(|g| g.vpcs.get(&vpc).map(canvas2d::handle_of))
                    .unwrap_or(at);
                self.start_link(vpc, start, client);
            }
            Hit::Vpc(vpc) => {
                self.select(Item::Vpc(vpc.clone()), ev.shift_key());
                self.start_move(vpc, client);
            }
            Hit::Peering(id) => self.select(Item::Peering(id), ev.shift_key()),
            Hit::Nothing => self.background_down(ev),
        }
    }

    /// Zooms by `factor`, keeping the centre of the canvas where it is.
    fn zoom_by(&self, factor: f64) {
        let (w, h) = self.host_size();
        self.editor.view.update(|v| {
            let k = (v.k * factor).clamp(0.05, 4.0);
            let (cx, cy) = (w / 2.0, h / 2.0);
            v.tx = cx - (cx - v.tx) * k / v.k;
            v.ty = cy - (cy - v.ty) * k / v.k;
            v.k = k;
        });
    }

    fn wheel(&self, ev: leptos::ev::WheelEvent) {
        ev.prevent_default();
        self.zoom_by(if ev.delta_y() < 0.0 { 1.1 } else { 1.0 / 1.1 });
    }

    /// Fits the whole plan in view.
    fn fit(&self) {
        let (w, h) = self.host_size();
        let b = self.editor.geometry.get_untracked().bounds;
        if b.w <= 0.0 {
            self.editor.view.set(View::default());
            return;
        }
        // Room on the left and below, and above for the zoom buttons.
        let k = ((w - 40.0) / b.w).min((h - 70.0) / b.h).clamp(0.05, 1.5);
        self.editor.view.set(View {
            tx: 20.0 - b.x * k,
            ty: 50.0 - b.y * k,
            k,
        });
    }

    /// The peering being drawn, as a line from its start to the pointer.
    fn link_draft(&self) -> Option<((f64, f64), (f64, f64))> {
        match self.drag.get() {
            Some(Drag::Link { start, end, .. }) => Some((start, end)),
            _ => None,
        }
    }
}

/// The canvas. `packet` is the traced packet's path (animated when it changes; `run` restarts it).
#[component]
pub fn Canvas(editor: Editor, packet: Memo<Option<PacketPath>>, run: RwSignal<u32>) -> impl IntoView {
    let plan = editor.plan;
    let view = editor.view;
    let ix = Interaction {
        editor,
        drag: RwSignal::new(None),
        host: NodeRef::new(),
    };

    // Fit the plan in view when asked (after loading one), once the browser has laid the canvas out.
    Effect::new(move |_| {
        if editor.fit.get() > 0 {
            request_animation_frame(move || ix.fit());
        }
    });

    // Large plans are painted on an HTML canvas once the page is live (the server still sends the SVG, so the
    // diagram shows without JavaScript and hydration matches).
    let canvas_mode = RwSignal::new(false);
    Effect::new(move |_| canvas_mode.set(plan.with(|p| !is_detailed(p))));
    let bitmap = NodeRef::<leptos::html::Canvas>::new();
    paint_bitmap(ix, canvas_mode, bitmap);

    let drawing = move || draw_plan(ix);
    let link_line = move || {
        ix.link_draft().map(|(start, end)| {
            view! { <line class="link-draft" x1=start.0 y1=start.1 x2=end.0 y2=end.1/> }
        })
    };
    let packet_layer = move || packet_view(&packet.get()?, run.get());

    view! {
        <div class="canvas-host" node_ref=ix.host>
            <div class="zoom-controls" role="group" aria-label="Zoom">
                <button type="button" title="Zoom in" aria-label="Zoom in" on:click=move |_| ix.zoom_by(1.2)>"+"</button>
                <button type="button" title="Zoom out" aria-label="Zoom out" on:click=move |_| ix.zoom_by(1.0 / 1.2)>"−"</button>
                <button type="button" title="Fit the plan" aria-label="Fit" on:click=move |_| ix.fit()>"Fit"</button>
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
                        on:pointerdown=move |ev| ix.bitmap_down(ev)
                        on:pointermove=move |ev| ix.pointer_move(ev)
                        on:pointerup=move |_| ix.pointer_up()
                        on:pointerleave=move |_| ix.pointer_up()
                        on:wheel=move |ev| ix.wheel(ev)
                    ></canvas>
                }
            >
                <svg
                    class="canvas"
                    role="region"
                    aria-label="Planner canvas"
                    data-vpc-width=VPC_W
                    on:pointermove=move |ev| ix.pointer_move(ev)
                    on:pointerup=move |_| ix.pointer_up()
                    on:pointerleave=move |_| ix.pointer_up()
                    on:wheel=move |ev| ix.wheel(ev)
                >
                    <rect class="canvas-bg" x="0" y="0" width="100%" height="100%" on:pointerdown=move |ev| ix.background_down(ev)/>
                    <g transform=move || {
                        let v = view.get();
                        format!("translate({} {}) scale({})", v.tx, v.ty, v.k)
                    }>
                        {drawing}
                        {link_line}
                        {packet_layer}
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

/// While the canvas is in bitmap mode, repaints it whenever the plan, its layout, the selection, the findings,
/// the view or a drawn link changes.
fn paint_bitmap(ix: Interaction, canvas_mode: RwSignal<bool>, bitmap: NodeRef<leptos::html::Canvas>) {
    let Editor {
        plan,
        geometry,
        selected,
        flagged,
        view,
        ..
    } = ix.editor;
    Effect::new(move |_| {
        // Everything the painting depends on is read first, so any change repaints.
        let mode = canvas_mode.get();
        let mounted = bitmap.get();
        let link = ix.link_draft();
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
        let (w, h) = ix
            .host
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
                        canvas2d::paint(&ctx, (f64::from(w), f64::from(h)), p, g, v, sel, fl, link)
                    })
                })
            })
        });
    });
}

/// The SVG drawing: peering lines under the VPC boxes.
fn draw_plan(ix: Interaction) -> impl IntoView {
    let g: Geometry = ix.editor.geometry.get();
    let flagged = ix.editor.flagged.get();
    let sel = ix.editor.selected.get();
    ix.editor.plan.with(|p| {
        let detailed = is_detailed(p);
        let peerings = p
            .peerings
            .iter()
            .filter_map(|pc| peering_view(ix, p, &g, pc, &sel, detailed))
            .collect_view();
        let vpcs = p
            .vpcs
            .iter()
            .filter_map(|v| vpc_view(ix, p, &g, v, &flagged, &sel, detailed))
            .collect_view();
        view! {
            {peerings}
            {vpcs}
        }
    })
}

/// One peering: its line (with a wider invisible line to hit) and, on detailed plans, its label.
fn peering_view(
    ix: Interaction,
    p: &Plan,
    g: &Geometry,
    pc: &Peering,
    sel: &BTreeSet<Item>,
    detailed: bool,
) -> Option<impl IntoView> {
    let (a, b) = geometry::peering_line(p, g, &pc.id)?;
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
                if activates(&ev) {
                    ev.prevent_default();
                    ix.select(key_item.clone(), ev.shift_key());
                }
            }
            on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                ev.stop_propagation();
                ix.select(item.clone(), ev.shift_key());
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
}

/// One VPC box: name, blocks, account and region, its subnets, gateways and overlaps on detailed plans, and the
/// handle to draw a peering from.
fn vpc_view(
    ix: Interaction,
    p: &Plan,
    g: &Geometry,
    v: &Vpc,
    flagged: &BTreeSet<String>,
    sel: &BTreeSet<Item>,
    detailed: bool,
) -> Option<impl IntoView> {
    let r = *g.vpcs.get(&v.id)?;
    let id = v.id.clone();
    let is_flagged = flagged.contains(v.id.as_str());
    let is_sel = sel.contains(&Item::Vpc(id.clone()));
    let blocks = v.blocks().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let subnets = p
        .subnets
        .iter()
        .filter(|s| detailed && s.vpc == v.id)
        .filter_map(|s| subnet_view(ix, p, g, s, flagged, sel))
        .collect_view();
    let gateways = gateways_view(p, v, r, detailed);
    let overlap_text = overlap_note(p, v, r);
    let move_id = id.clone();
    let link_id = id.clone();
    let key_id = id.clone();
    let handle = canvas2d::handle_of(&r);
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
                    if activates(&ev) {
                        ev.prevent_default();
                        ix.select(Item::Vpc(key_id.clone()), ev.shift_key());
                    }
                }
                on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                    ev.stop_propagation();
                    ix.select(Item::Vpc(move_id.clone()), ev.shift_key());
                    ix.start_move(move_id.clone(), client_of(&ev));
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
                    ix.start_link(link_id.clone(), handle, client_of(&ev));
                }
            />
        </g>
    })
}

/// One subnet inside its VPC box, followed by its endpoints.
fn subnet_view(
    ix: Interaction,
    p: &Plan,
    g: &Geometry,
    s: &Subnet,
    flagged: &BTreeSet<String>,
    sel: &BTreeSet<Item>,
) -> Option<impl IntoView> {
    let sr = *g.subnets.get(&s.id)?;
    let sid = s.id.clone();
    let s_sel = sel.contains(&Item::Subnet(sid.clone()));
    let s_flag = flagged.contains(s.id.as_str());
    let eps = p
        .endpoints
        .iter()
        .filter(|e| e.subnet == s.id)
        .filter_map(|e| endpoint_view(ix, g, e, sel))
        .collect_view();
    let label = if s.name.is_empty() {
        s.id.to_string()
    } else {
        s.name.clone()
    };
    Some(view! {
        <g
            class="subnet"
            class:selected=s_sel
            class:flagged=s_flag
            data-testid="subnet"
            on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                ev.stop_propagation();
                ix.select(Item::Subnet(sid.clone()), ev.shift_key());
            }
        >
            <rect x=sr.x y=sr.y width=sr.w height=sr.h rx="4"/>
            <text class="subnet-label" x=sr.x + 8.0 y=sr.y + 16.0>
                {format!("{label} · {} · {}", s.cidr, s.az)}
            </text>
        </g>
        {eps}
    })
}

/// One endpoint: a circle with its kind's glyph, its name and its address.
fn endpoint_view(ix: Interaction, g: &Geometry, e: &Endpoint, sel: &BTreeSet<Item>) -> Option<impl IntoView> {
    let (x, y) = *g.endpoints.get(&e.id)?;
    let eid = e.id.clone();
    let e_sel = sel.contains(&Item::Endpoint(eid.clone()));
    let name = if e.name.is_empty() {
        e.id.to_string()
    } else {
        e.name.clone()
    };
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
                ix.select(Item::Endpoint(eid.clone()), ev.shift_key());
            }
        >
            <circle cx=x cy=y r="10" class=format!("kind-{:?}", e.kind).to_lowercase()/>
            <text class="glyph" x=x y=y + 4.0 text-anchor="middle">{kind_glyph(e.kind)}</text>
            <text class="ep-name" x=x + 15.0 y=y - 1.0>{name}</text>
            <text class="ep-addr" x=x + 15.0 y=y + 10.0>{addr}</text>
        </g>
    })
}

/// A VPC's gateways, on the box's top edge, right-aligned (detailed plans only).
fn gateways_view(p: &Plan, v: &Vpc, r: Rect, detailed: bool) -> impl IntoView {
    p.gateways
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
        .collect_view()
}

/// The VPCs a VPC's blocks overlap, named under its box.
fn overlap_note(p: &Plan, v: &Vpc, r: Rect) -> Option<impl IntoView> {
    let overlaps: Vec<String> = p
        .vpcs
        .iter()
        .filter(|o| o.id != v.id)
        .filter_map(|o| {
            v.blocks().find_map(|a| {
                o.blocks()
                    .find(|b| a.overlaps(b))
                    .map(|b| format!("{} ({b})", o.id))
            })
        })
        .collect();
    (!overlaps.is_empty()).then(|| {
        view! {
            <text class="overlap-note" data-testid="overlap-note" x=r.x + 4.0 y=r.y + r.h + 16.0>
                {format!("overlaps {}", overlaps.join(", "))}
            </text>
        }
    })
}

/// The packet's animation along `points`: CSS keyframes at distances proportional to the segments' lengths
/// (named after the run `n`, so a new run restarts it), and its duration in seconds.
fn packet_keyframes(points: &[(f64, f64)], n: u32) -> (String, f64) {
    let lengths: Vec<f64> = points
        .windows(2)
        .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
        .collect();
    let total: f64 = lengths.iter().sum::<f64>().max(1.0);
    let mut acc = 0.0;
    let mut frames = format!(
        "0% {{ transform: translate({}px, {}px); }}",
        points[0].0, points[0].1
    );
    for (i, l) in lengths.iter().enumerate() {
        acc += l;
        frames.push_str(&format!(
            " {:.2}% {{ transform: translate({}px, {}px); }}",
            acc / total * 100.0,
            points[i + 1].0,
            points[i + 1].1
        ));
    }
    let secs = (total / 260.0).clamp(1.0, 5.0);
    (format!("@keyframes packet-{n} {{ {frames} }}"), secs)
}

/// The traced packet: its trail, the moving dot, and a ✕ where it was dropped.
fn packet_view(path: &PacketPath, n: u32) -> Option<impl IntoView> {
    let pts = &path.points;
    if pts.len() < 2 {
        return None;
    }
    let (css, secs) = packet_keyframes(pts, n);
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
}

#[cfg(test)]
mod tests {
    use super::packet_keyframes;

    #[test]
    fn packet_keyframes_follow_the_segments_lengths() {
        let (css, secs) = packet_keyframes(&[(0.0, 0.0), (300.0, 0.0), (300.0, 100.0)], 3);
        assert!(
            css.starts_with("@keyframes packet-3 { 0% { transform: translate(0px, 0px); }"),
            "{css}"
        );
        assert!(
            css.contains(" 75.00% { transform: translate(300px, 0px); }"),
            "{css}"
        );
        assert!(
            css.ends_with(" 100.00% { transform: translate(300px, 100px); } }"),
            "{css}"
        );
        assert!((secs - 400.0 / 260.0).abs() < 1e-9);
    }
}
