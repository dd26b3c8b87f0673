//! The planner's canvas for large plans: beyond [`crate::canvas::DETAIL_LIMIT`] items the plan is painted on
//! an HTML canvas (one bitmap, however many VPCs) instead of thousands of SVG elements. Hit tests find what
//! the pointer is on, so selecting, moving, peering and panning work as on the SVG canvas.

use std::collections::BTreeSet;

use netmodel::{
    ids::{PeeringId, VpcId},
    model::{PeeringStatus, Plan},
};

use crate::{
    editor::View,
    geometry::{self, Geometry, HEADER_H},
};
use netmodel::edit::Item;

/// What a point on the canvas (plan coordinates) is on.
#[derive(Clone, Debug, PartialEq)]
pub enum Hit {
    /// A VPC's peering handle.
    Handle(VpcId),
    Vpc(VpcId),
    Peering(PeeringId),
    Nothing,
}

/// The handle's centre of a VPC box.
pub fn handle_of(r: &geometry::Rect) -> (f64, f64) {
    (r.x + r.w, r.y + HEADER_H / 2.0)
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - x).powi(2) + (p.1 - y).powi(2)).sqrt()
}

/// What is at `p`; `k` is the zoom, so the tolerances stay a few screen pixels.
pub fn hit(plan: &Plan, g: &Geometry, p: (f64, f64), k: f64) -> Hit {
    let tolerance = 8.0 / k;
    for v in plan.vpcs.iter().rev() {
        if let Some(r) = g.vpcs.get(&v.id) {
            let h = handle_of(r);
            if ((p.0 - h.0).powi(2) + (p.1 - h.1).powi(2)).sqrt() <= tolerance {
                return Hit::Handle(v.id.clone());
            }
        }
    }
    if let Some(v) = geometry::vpc_at(plan, g, p) {
        return Hit::Vpc(v);
    }
    plan.peerings
        .iter()
        .find(|pc| {
            geometry::peering_line(plan, g, &pc.id)
                .is_some_and(|(a, b)| distance_to_segment(p, a, b) <= tolerance)
        })
        .map_or(Hit::Nothing, |pc| Hit::Peering(pc.id.clone()))
}

/// Paints the plan (VPC boxes with name, block, account and region; peering lines by status; the selection;
/// items named by findings in red; the peering being drawn).
#[allow(clippy::too_many_arguments)]
pub fn paint(
    ctx: &web_sys::CanvasRenderingContext2d,
    size: (f64, f64),
    plan: &Plan,
    g: &Geometry,
    view: View,
    selected: &BTreeSet<Item>,
    flagged: &BTreeSet<String>,
    link: Option<((f64, f64), (f64, f64))>,
) {
    let _ = ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, size.0, size.1);
    let _ = ctx.set_transform(view.k, 0.0, 0.0, view.k, view.tx, view.ty);
    // Only what is in view is painted.
    let visible = geometry::Rect {
        x: -view.tx / view.k,
        y: -view.ty / view.k,
        w: size.0 / view.k,
        h: size.1 / view.k,
    };
    let in_view = |r: &geometry::Rect| {
        r.x + r.w >= visible.x
            && r.x <= visible.x + visible.w
            && r.y + r.h >= visible.y
            && r.y <= visible.y + visible.h
    };
    // Peering lines, one path per style (a stroke per line would cost a draw call each).
    type Style = (&'static str, bool, fn(PeeringStatus) -> bool);
    let styles: [Style; 3] = [
        ("#2e7d32", false, |s| s == PeeringStatus::Active),
        ("#5b6474", true, |s| s == PeeringStatus::Pending),
        ("#c62828", false, |s| !s.is_live()),
    ];
    let seg_in_view = |a: (f64, f64), b: (f64, f64)| {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        x1 >= visible.x && x0 <= visible.x + visible.w && y1 >= visible.y && y0 <= visible.y + visible.h
    };
    for (color, dash, wanted) in styles {
        let dashes = js_sys::Array::new();
        if dash {
            dashes.push(&8.0.into());
            dashes.push(&6.0.into());
        }
        let _ = ctx.set_line_dash(&dashes);
        ctx.set_stroke_style_str(color);
        ctx.set_line_width(2.5);
        ctx.begin_path();
        for pc in plan.peerings.iter().filter(|pc| wanted(pc.status)) {
            let Some((a, b)) = geometry::peering_line(plan, g, &pc.id) else {
                continue;
            };
            if seg_in_view(a, b) {
                ctx.move_to(a.0, a.1);
                ctx.line_to(b.0, b.1);
            }
        }
        ctx.stroke();
    }
    // Selected peerings on top, thicker.
    ctx.set_line_width(5.0);
    for pc in &plan.peerings {
        if selected.contains(&Item::Peering(pc.id.clone())) {
            if let Some((a, b)) = geometry::peering_line(plan, g, &pc.id) {
                ctx.set_stroke_style_str("#1d2330");
                ctx.begin_path();
                ctx.move_to(a.0, a.1);
                ctx.line_to(b.0, b.1);
                ctx.stroke();
            }
        }
    }
    let _ = ctx.set_line_dash(&js_sys::Array::new());
    let detail = view.k >= 0.35;
    for v in &plan.vpcs {
        let Some(r) = g.vpcs.get(&v.id) else { continue };
        if !in_view(r) {
            continue;
        }
        let sel = selected.contains(&Item::Vpc(v.id.clone()));
        ctx.set_fill_style_str("#ffffff");
        ctx.fill_rect(r.x, r.y, r.w, r.h);
        ctx.set_stroke_style_str(if flagged.contains(v.id.as_str()) {
            "#c62828"
        } else {
            "#2563eb"
        });
        ctx.set_line_width(if sel { 4.0 } else { 2.0 });
        ctx.stroke_rect(r.x, r.y, r.w, r.h);
        if detail {
            ctx.set_fill_style_str("#1d2330");
            ctx.set_font("600 15px system-ui, sans-serif");
            let _ = ctx.fill_text(&v.name, r.x + 12.0, r.y + 22.0);
            ctx.set_fill_style_str("#5b6474");
            ctx.set_font("12px ui-monospace, monospace");
            let blocks = v.blocks().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let _ = ctx.fill_text(&blocks, r.x + 12.0, r.y + 40.0);
            ctx.set_fill_style_str("#2563eb");
            ctx.set_font("11px system-ui, sans-serif");
            let _ = ctx.fill_text(&format!("{} · {}", v.account, v.region), r.x + 12.0, r.y + 58.0);
        }
        let h = handle_of(r);
        ctx.begin_path();
        let _ = ctx.arc(h.0, h.1, 7.0, 0.0, std::f64::consts::TAU);
        ctx.set_fill_style_str("#ffffff");
        ctx.fill();
        ctx.set_stroke_style_str("#2563eb");
        ctx.set_line_width(2.0);
        ctx.stroke();
    }
    if let Some((a, b)) = link {
        ctx.set_stroke_style_str("#2563eb");
        ctx.set_line_width(2.0);
        let dashes = js_sys::Array::new();
        dashes.push(&4.0.into());
        dashes.push(&4.0.into());
        let _ = ctx.set_line_dash(&dashes);
        ctx.begin_path();
        ctx.move_to(a.0, a.1);
        ctx.line_to(b.0, b.1);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_sys::Array::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_find_handles_boxes_and_peering_lines() {
        let plan = crate::planner::example("seed")
            .expect("an example")
            .1
            .expect("a valid example");
        let g = geometry::layout(&plan);
        let a = g.vpcs[&"vpc-a".into()];
        assert_eq!(hit(&plan, &g, handle_of(&a), 1.0), Hit::Handle("vpc-a".into()));
        assert_eq!(
            hit(&plan, &g, (a.x + 20.0, a.y + 20.0), 1.0),
            Hit::Vpc("vpc-a".into())
        );
        let (p, q) = geometry::peering_line(&plan, &g, &"pcx-ab".into()).unwrap();
        let mid = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0 + 3.0);
        assert_eq!(hit(&plan, &g, mid, 1.0), Hit::Peering("pcx-ab".into()));
        assert_eq!(hit(&plan, &g, (-500.0, -500.0), 1.0), Hit::Nothing);
    }
}
