//! Auto-layout: where each VPC box goes when nobody has placed it. One arrangement, used by the planner's
//! auto-layout button and by the exported peering map (when the plan's VPCs have no positions), fed from the
//! peering graph ([`crate::graph`]):
//! - each group of VPCs joined by active peerings (a connected component, what `check` calls an isolated group)
//!   is kept together in a block of its own, with a wider gap between blocks; groups joined by a pending peering
//!   are placed one after the other;
//! - inside a group, peered VPCs sit near each other: walking the group breadth-first from its best-connected VPC
//!   (placed in the middle), each VPC takes the free grid cell nearest its already placed peers, so a hub is
//!   surrounded by its spokes and a chain stays a chain;
//! - VPCs peered with nothing share one grid after the groups, by account, region and plan order;
//! - boxes never overlap: a cell is as wide as the widest box of its column and as tall as the tallest of its row;
//! - deterministic (plan order breaks every tie, no floating-point functions beyond `+ − × ÷ √`), about
//!   O((n + p) log n) for n VPCs and p peerings, and n boxes span about √n boxes each way (coordinates are also
//!   capped at the plan's [`MAX_POSITION`]).
//!
//! ```
//! use netmodel::layout::{arrange, Spacing};
//! let plan = netmodel::Plan::from_json(include_str!("../../examples/transitive.json")).unwrap();
//! let at = arrange(&plan, |_| (280.0, 100.0), Spacing::default());
//! assert_eq!(at.len(), plan.vpcs.len());
//! assert!(at.iter().all(|p| p.x >= 0.0 && p.y >= 0.0));
//! ```

use std::cmp::Reverse;

use crate::{
    graph::PeeringGraph,
    model::{PeeringStatus, Plan, Position, Vpc, MAX_POSITION},
};

/// Gaps between boxes, in the caller's units (pixels on the map and the canvas).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spacing {
    /// Between two boxes side by side in one block.
    pub gap_x: f64,
    /// Between two boxes one above the other in one block.
    pub gap_y: f64,
    /// Between two blocks (groups), both ways.
    pub group_gap: f64,
}

impl Default for Spacing {
    fn default() -> Spacing {
        Spacing {
            gap_x: 80.0,
            gap_y: 40.0,
            group_gap: 160.0,
        }
    }
}

/// The top-left corner of every VPC's box, in plan order, for boxes of the sizes `size` gives (width, height); the
/// arrangement's top-left corner is (0, 0). A size that is not a finite number ≥ 0 counts as 0.
pub fn arrange(plan: &Plan, size: impl Fn(&Vpc) -> (f64, f64), spacing: Spacing) -> Vec<Position> {
    let sane = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, MAX_POSITION)
        } else {
            0.0
        }
    };
    let sizes: Vec<(f64, f64)> = plan
        .vpcs
        .iter()
        .map(|v| {
            let (w, h) = size(v);
            (sane(w), sane(h))
        })
        .collect();
    let spacing = Spacing {
        gap_x: sane(spacing.gap_x),
        gap_y: sane(spacing.gap_y),
        group_gap: sane(spacing.group_gap),
    };
    let graph = PeeringGraph::new(plan);
    let groups = graph.components(|p| p.status == PeeringStatus::Active);
    let clusters = graph.components(|p| p.status.is_live());
    let n = plan.vpcs.len();
    let mut cluster_of = vec![0; n];
    for (c, members) in clusters.iter().enumerate() {
        for &i in members {
            cluster_of[i] = c;
        }
    }
    // Groups of two or more, the largest first, those a pending peering joins next to each other.
    let mut multi: Vec<&Vec<usize>> = groups.iter().filter(|g| g.len() > 1).collect();
    multi.sort_by_key(|g| {
        let c = &clusters[cluster_of[g[0]]];
        (Reverse(c.len()), c[0], Reverse(g.len()), g[0])
    });
    let mut grouped = vec![false; n];
    let mut blocks: Vec<Block> = Vec::with_capacity(multi.len() + 1);
    for g in multi {
        for &i in g {
            grouped[i] = true;
        }
        blocks.push(Block::of_group(&graph, g, &sizes, spacing));
    }
    let mut loners: Vec<usize> = (0..n).filter(|&i| !grouped[i]).collect();
    loners.sort_by(|&a, &b| {
        let (va, vb) = (&plan.vpcs[a], &plan.vpcs[b]);
        (&va.account, &va.region, a).cmp(&(&vb.account, &vb.region, b))
    });
    if !loners.is_empty() {
        let cols = isqrt_ceil(loners.len());
        let cells = loners
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, ((k % cols) as i64, (k / cols) as i64)))
            .collect();
        blocks.push(Block::of_cells(cells, &sizes, spacing));
    }
    let mut out = vec![Position::default(); n];
    for (block, (bx, by)) in blocks.iter().zip(shelves(&blocks, spacing.group_gap)) {
        for &(i, x, y) in &block.boxes {
            out[i] = Position {
                x: (bx + x).min(MAX_POSITION),
                y: (by + y).min(MAX_POSITION),
            };
        }
    }
    out
}

/// Sets every VPC's position to [`arrange`]'s, moved by `origin`.
pub fn apply(plan: &mut Plan, size: impl Fn(&Vpc) -> (f64, f64), spacing: Spacing, origin: Position) {
    let at = arrange(plan, size, spacing);
    for (v, p) in plan.vpcs.iter_mut().zip(at) {
        v.position = Some(Position {
            x: (origin.x + p.x).clamp(-MAX_POSITION, MAX_POSITION),
            y: (origin.y + p.y).clamp(-MAX_POSITION, MAX_POSITION),
        });
    }
}

/// Boxes placed relative to their block's top-left corner, and the block's size.
struct Block {
    /// (plan position, x, y).
    boxes: Vec<(usize, f64, f64)>,
    w: f64,
    h: f64,
}

impl Block {
    /// A group (plan positions, sorted): walked breadth-first from its best-connected VPC, each VPC put on the
    /// free cell nearest its already placed peers ([`place`]).
    fn of_group(graph: &PeeringGraph, members: &[usize], sizes: &[(f64, f64)], spacing: Spacing) -> Block {
        let local = |i: usize| members.binary_search(&i).ok();
        let adjacent: Vec<Vec<usize>> = members
            .iter()
            .map(|&i| {
                graph
                    .neighbours_at(i, |p| p.status == PeeringStatus::Active)
                    .into_iter()
                    .filter_map(local)
                    .collect()
            })
            .collect();
        // "Nearest" in pixels: a step right is a box's width (and a gap) away, a step down its height.
        let pitch = |size: fn(&(f64, f64)) -> f64, gap: f64| {
            let widest = members.iter().map(|&i| size(&sizes[i])).fold(0.0, f64::max);
            ((widest + gap).round() as i64).max(1)
        };
        let pitch = (pitch(|s| s.0, spacing.gap_x), pitch(|s| s.1, spacing.gap_y));
        let cells = place(&walk(&adjacent), &adjacent, pitch);
        let cells = cells
            .into_iter()
            .enumerate()
            .map(|(k, cell)| (members[k], cell))
            .collect();
        Block::of_cells(cells, sizes, spacing)
    }

    /// Boxes on grid cells (column, row; any integers, each cell used once): each column as wide as its widest
    /// box, each row as tall as its tallest, so no two boxes overlap.
    fn of_cells(cells: Vec<(usize, (i64, i64))>, sizes: &[(f64, f64)], spacing: Spacing) -> Block {
        let min_c = cells.iter().map(|(_, (c, _))| *c).min().unwrap_or(0);
        let min_r = cells.iter().map(|(_, (_, r))| *r).min().unwrap_or(0);
        let cols = cells
            .iter()
            .map(|(_, (c, _))| (c - min_c) as usize + 1)
            .max()
            .unwrap_or(0);
        let rows = cells
            .iter()
            .map(|(_, (_, r))| (r - min_r) as usize + 1)
            .max()
            .unwrap_or(0);
        let (mut col_w, mut row_h) = (vec![0.0f64; cols], vec![0.0f64; rows]);
        for &(i, (c, r)) in &cells {
            let (w, h) = sizes[i];
            let (c, r) = ((c - min_c) as usize, (r - min_r) as usize);
            col_w[c] = col_w[c].max(w);
            row_h[r] = row_h[r].max(h);
        }
        let starts = |lengths: &[f64], gap: f64| -> (Vec<f64>, f64) {
            let mut at = 0.0;
            let mut out = Vec::with_capacity(lengths.len());
            for l in lengths {
                out.push(at);
                at += l + gap;
            }
            (out, (at - gap).max(0.0))
        };
        let (xs, w) = starts(&col_w, spacing.gap_x);
        let (ys, h) = starts(&row_h, spacing.gap_y);
        let boxes = cells
            .into_iter()
            .map(|(i, (c, r))| (i, xs[(c - min_c) as usize], ys[(r - min_r) as usize]))
            .collect();
        Block { boxes, w, h }
    }
}

/// The group's members (local indices into `adjacent`) in breadth-first order, from the member with the most
/// peers (the first on a tie); neighbours are visited best-connected first.
fn walk(adjacent: &[Vec<usize>]) -> Vec<usize> {
    let m = adjacent.len();
    let mut by_degree: Vec<usize> = (0..m).collect();
    by_degree.sort_by_key(|&k| (Reverse(adjacent[k].len()), k));
    let mut seen = vec![false; m];
    let mut order = Vec::with_capacity(m);
    for start in by_degree {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut head = order.len();
        order.push(start);
        while head < order.len() {
            let k = order[head];
            head += 1;
            let mut next: Vec<usize> = adjacent[k].iter().copied().filter(|&o| !seen[o]).collect();
            next.sort_by_key(|&o| (Reverse(adjacent[o].len()), o));
            for o in next {
                seen[o] = true;
                order.push(o);
            }
        }
    }
    order
}

/// How far (in cells, each way) [`place`] looks around its target for a free cell before taking the next free
/// cell from the centre outwards.
const SEARCH: i64 = 3;

/// A cell for each member (by local index), members placed in `order` on the smallest square of cells that holds
/// them with a quarter to spare: the first at the centre; each next one on the free cell nearest the mean cell of
/// its placed peers (within [`SEARCH`] cells, distances measured with a cell `pitch` wide and tall, so on the
/// screen; the nearest to the centre on a tie), else, like a member with no placed peer, on the first free cell of
/// the rings around the centre ([`ring_cells`]). O(m · SEARCH²) after the rings' sort.
fn place(order: &[usize], adjacent: &[Vec<usize>], pitch: (i64, i64)) -> Vec<(i64, i64)> {
    let m = adjacent.len();
    // A quarter more cells than members: room to put each one near its peers.
    let fallback = ring_cells(m + m / 4, true);
    let r = fallback
        .iter()
        .map(|&(x, y)| x.abs().max(y.abs()))
        .max()
        .unwrap_or(0);
    let side = 2 * r + 1;
    let slot = |(x, y): (i64, i64)| ((y + r) * side + (x + r)) as usize;
    let mut taken = vec![false; fallback.len()];
    let mut cell: Vec<Option<(i64, i64)>> = vec![None; m];
    let mut next_free = 0;
    for &k in order {
        let placed: Vec<(i64, i64)> = adjacent[k].iter().filter_map(|&o| cell[o]).collect();
        let near = (!placed.is_empty())
            .then(|| {
                let n = placed.len() as i64;
                // The mean, rounded half away from zero, in integers (the same everywhere).
                let mean = |sum: i64| (2 * sum + sum.signum() * n).div_euclid(2 * n);
                let target = (
                    mean(placed.iter().map(|c| c.0).sum()),
                    mean(placed.iter().map(|c| c.1).sum()),
                );
                nearest_free(target, r, pitch, |c| taken[slot(c)])
            })
            .flatten();
        let at = near.unwrap_or_else(|| {
            while taken[slot(fallback[next_free])] {
                next_free += 1;
            }
            fallback[next_free]
        });
        taken[slot(at)] = true;
        cell[k] = Some(at);
    }
    cell.into_iter().map(|c| c.unwrap_or_default()).collect()
}

/// The free cell within [`SEARCH`] cells of `target` and inside the square of radius `r` that is nearest to
/// `target` for cells `pitch` wide and tall (then nearest the centre, then by angle). Exact: integers only.
fn nearest_free(
    target: (i64, i64),
    r: i64,
    pitch: (i64, i64),
    taken: impl Fn((i64, i64)) -> bool,
) -> Option<(i64, i64)> {
    let far = |dx: i64, dy: i64| {
        let (x, y) = (i128::from(dx * pitch.0), i128::from(dy * pitch.1));
        x * x + y * y
    };
    let key = |c: (i64, i64)| (far(c.0 - target.0, c.1 - target.1), far(c.0, c.1));
    (-SEARCH..=SEARCH)
        .flat_map(|dy| (-SEARCH..=SEARCH).map(move |dx| (target.0 + dx, target.1 + dy)))
        .filter(|&c| c.0.abs() <= r && c.1.abs() <= r && !taken(c))
        .min_by(|&a, &b| {
            key(a)
                .cmp(&key(b))
                .then_with(|| pseudo_angle(a.0, a.1).total_cmp(&pseudo_angle(b.0, b.1)))
        })
}

/// The first `m` cells (or, with `whole`, every cell of the smallest square that holds `m`) of square rings
/// around (0, 0): the centre, then ring 1 (its four sides' middles first, then the corners), ring 2, …; within a
/// ring, by distance from the centre and then by angle.
fn ring_cells(m: usize, whole: bool) -> Vec<(i64, i64)> {
    // Rings 0..=r hold (2r + 1)² cells.
    let mut r = 0i64;
    while ((2 * r + 1) * (2 * r + 1)) < m as i64 {
        r += 1;
    }
    let mut cells: Vec<(i64, i64)> = (-r..=r).flat_map(|y| (-r..=r).map(move |x| (x, y))).collect();
    cells.sort_by(|&(ax, ay), &(bx, by)| {
        let key = |x: i64, y: i64| (x.abs().max(y.abs()), x * x + y * y);
        key(ax, ay)
            .cmp(&key(bx, by))
            .then_with(|| pseudo_angle(ax, ay).total_cmp(&pseudo_angle(bx, by)))
    });
    if !whole {
        cells.truncate(m);
    }
    cells
}

/// A number in [0, 4) that grows with the angle of (x, y) around the origin (the "diamond angle"): exact
/// arithmetic only, so the same on every platform.
fn pseudo_angle(x: i64, y: i64) -> f64 {
    let (x, y) = (x as f64, y as f64);
    let s = x.abs() + y.abs();
    if s == 0.0 {
        return 0.0;
    }
    match (x >= 0.0, y >= 0.0) {
        (true, true) => y / s,
        (false, true) => 1.0 - x / s,
        (false, false) => 2.0 - y / s,
        (true, false) => 3.0 + x / s,
    }
}

/// The smallest c with c² ≥ n.
fn isqrt_ceil(n: usize) -> usize {
    let mut c = (n as f64).sqrt() as usize;
    while c * c < n {
        c += 1;
    }
    while c > 0 && (c - 1) * (c - 1) >= n {
        c -= 1;
    }
    c.max(1)
}

/// Top-left corners for the blocks, in order, on shelves (rows) about as wide as the blocks' total area is
/// square (a little wider: screens are), `gap` apart both ways.
fn shelves(blocks: &[Block], gap: f64) -> Vec<(f64, f64)> {
    let area: f64 = blocks.iter().map(|b| (b.w + gap) * (b.h + gap)).sum();
    let widest = blocks.iter().map(|b| b.w).fold(0.0, f64::max);
    let width = widest.max(area.sqrt() * 1.3);
    let (mut x, mut y, mut row_h) = (0.0, 0.0, 0.0f64);
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        if x > 0.0 && x + b.w > width {
            x = 0.0;
            y += row_h + gap;
            row_h = 0.0;
        }
        out.push((x, y));
        x += b.w + gap;
        row_h = row_h.max(b.h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_fill_from_the_centre_sides_first() {
        assert_eq!(ring_cells(0, false), vec![]);
        assert_eq!(
            ring_cells(5, false),
            vec![(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)]
        );
        let nine = ring_cells(9, false);
        assert_eq!(&nine[5..], &[(1, 1), (-1, 1), (-1, -1), (1, -1)]);
        // Ring 2 starts once ring 1 is full.
        assert_eq!(ring_cells(10, false)[9], (2, 0));
        let mut all = ring_cells(200, false);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 200, "each cell once");
    }

    #[test]
    fn isqrt_ceil_is_exact() {
        for n in 0..2000 {
            let c = isqrt_ceil(n);
            assert!(c * c >= n && (c <= 1 || (c - 1) * (c - 1) < n), "{n} → {c}");
        }
    }
}
