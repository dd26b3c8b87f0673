//! The auto-layout ([`netmodel::layout`]), shared by the planner and the peering map: each group of peered VPCs is
//! a block of its own (no box of another group inside its bounds), peered VPCs sit closer than unpeered ones, the
//! same plan always gives the same layout, no two boxes overlap, and coordinates stay bounded — on hand-made plans,
//! on random plans with random box sizes, and on a 10,000-VPC estate.

use netmodel::{
    export::{map_layout, BOX_H, BOX_W},
    generate::{generate, GenerateOptions},
    graph::PeeringGraph,
    layout::{arrange, Spacing},
    model::{Peering, PeeringSide, PeeringStatus, Plan, Position, Vpc, MAX_POSITION},
};
use proptest::prelude::*;

fn plan(n: usize, peerings: &[(usize, usize, PeeringStatus)]) -> Plan {
    let mut p = Plan::new("layout");
    for i in 0..n {
        p.vpcs.push(Vpc {
            id: format!("v{i}").as_str().into(),
            name: String::new(),
            account: format!("acct-{}", i % 3).as_str().into(),
            region: "us-east-1".into(),
            cidr: format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap(),
            secondary_cidrs: vec![],
            ipv6_cidrs: vec![],
            position: None,
        });
    }
    let side = |i: usize| PeeringSide {
        vpc: format!("v{i}").as_str().into(),
        account: "acct".into(),
        region: "us-east-1".into(),
    };
    for (k, &(a, b, status)) in peerings.iter().enumerate() {
        p.peerings.push(Peering {
            id: format!("pcx-{k}").as_str().into(),
            requester: side(a),
            accepter: side(b),
            status,
            options: Default::default(),
            status_message: None,
        });
    }
    p
}

#[derive(Clone, Copy, Debug)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
    fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

fn rects(at: &[Position], sizes: &[(f64, f64)]) -> Vec<Rect> {
    at.iter()
        .zip(sizes)
        .map(|(p, &(w, h))| Rect { x: p.x, y: p.y, w, h })
        .collect()
}

fn distance(a: &Rect, b: &Rect) -> f64 {
    let ((ax, ay), (bx, by)) = (a.centre(), b.centre());
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
}

fn assert_no_overlap(r: &[Rect]) {
    for i in 0..r.len() {
        for j in i + 1..r.len() {
            assert!(
                !r[i].overlaps(&r[j]),
                "boxes {i} {:?} and {j} {:?} overlap",
                r[i],
                r[j]
            );
        }
    }
}

/// Each group of two or more (active peerings): the rectangle around its boxes holds no box of another group.
fn assert_groups_separated(p: &Plan, r: &[Rect]) {
    let groups = PeeringGraph::new(p).components(|x| x.status == PeeringStatus::Active);
    let mut group_of = vec![0; p.vpcs.len()];
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of[i] = g;
        }
    }
    for (g, members) in groups.iter().enumerate().filter(|(_, m)| m.len() > 1) {
        let bounds = Rect {
            x: members.iter().map(|&i| r[i].x).fold(f64::INFINITY, f64::min),
            y: members.iter().map(|&i| r[i].y).fold(f64::INFINITY, f64::min),
            w: 0.0,
            h: 0.0,
        };
        let right = members.iter().map(|&i| r[i].x + r[i].w).fold(0.0, f64::max);
        let bottom = members.iter().map(|&i| r[i].y + r[i].h).fold(0.0, f64::max);
        let bounds = Rect {
            w: right - bounds.x,
            h: bottom - bounds.y,
            ..bounds
        };
        for (i, other) in r.iter().enumerate() {
            assert!(
                group_of[i] == g || !bounds.overlaps(other),
                "v{i} (group {}) lies inside group {g}'s block {bounds:?}",
                group_of[i]
            );
        }
    }
}

/// Mean distance between the centres of peered pairs (active peerings) and of all other pairs.
fn mean_distances(p: &Plan, r: &[Rect]) -> (f64, f64) {
    let g = PeeringGraph::new(p);
    let (mut peered, mut np, mut other, mut no) = (0.0, 0usize, 0.0, 0usize);
    for i in 0..r.len() {
        let adj = g.neighbours_at(i, |x| x.status == PeeringStatus::Active);
        for j in i + 1..r.len() {
            if adj.binary_search(&j).is_ok() {
                peered += distance(&r[i], &r[j]);
                np += 1;
            } else {
                other += distance(&r[i], &r[j]);
                no += 1;
            }
        }
    }
    (peered / np.max(1) as f64, other / no.max(1) as f64)
}

const MAP: (f64, f64) = (BOX_W as f64, BOX_H as f64);

#[test]
fn a_hub_is_surrounded_by_its_spokes_and_groups_are_blocks_apart() {
    use PeeringStatus::*;
    // Group 1: hub v0 with spokes v1..v8. Group 2: chain v9–v10–v11. Loners v12, v13.
    let mut peerings: Vec<(usize, usize, PeeringStatus)> = (1..9).map(|s| (0, s, Active)).collect();
    peerings.extend([(9, 10, Active), (10, 11, Active)]);
    let p = plan(14, &peerings);
    let at = arrange(&p, |_| MAP, Spacing::default());
    let sizes = vec![MAP; 14];
    let r = rects(&at, &sizes);
    assert_no_overlap(&r);
    assert_groups_separated(&p, &r);
    // The hub amid its spokes: none further than a diagonal neighbour (a box and a gap each way).
    let diagonal = (MAP.0 + 80.0).hypot(MAP.1 + 40.0) + 1e-9;
    for (s, spoke) in r.iter().enumerate().take(9).skip(1) {
        assert!(distance(spoke, &r[0]) <= diagonal, "spoke v{s}");
    }
    // The chain's ends are both next to its middle.
    for end in [9, 11] {
        assert!(distance(&r[end], &r[10]) <= distance(&r[9], &r[11]));
    }
    let (peered, other) = mean_distances(&p, &r);
    assert!(peered < other * 0.6, "peered {peered:.0}, others {other:.0}");
    // Everything from (0, 0).
    assert_eq!(at.iter().map(|p| p.x).fold(f64::INFINITY, f64::min), 0.0);
    assert_eq!(at.iter().map(|p| p.y).fold(f64::INFINITY, f64::min), 0.0);
}

#[test]
fn groups_joined_by_a_pending_peering_sit_side_by_side() {
    use PeeringStatus::*;
    // Three pairs; the first and the last are joined by a pending peering, so they are laid out one after the other.
    let p = plan(
        6,
        &[(0, 1, Active), (2, 3, Active), (4, 5, Active), (1, 4, Pending)],
    );
    let r = rects(&arrange(&p, |_| MAP, Spacing::default()), &[MAP; 6]);
    assert_no_overlap(&r);
    assert_groups_separated(&p, &r);
    // Blocks in reading order (shelf by shelf, left to right): {v0, v1}, then {v4, v5} beside it, then {v2, v3}.
    let corner = |members: &[usize]| {
        let y = members.iter().map(|&i| r[i].y).fold(f64::INFINITY, f64::min);
        let x = members.iter().map(|&i| r[i].x).fold(f64::INFINITY, f64::min);
        (y, x)
    };
    let (first, joined, other) = (corner(&[0, 1]), corner(&[4, 5]), corner(&[2, 3]));
    assert_eq!(first.0, joined.0, "same shelf: {r:?}");
    assert!(first.1 < joined.1, "{r:?}");
    assert!(joined < other, "{r:?}");
}

#[test]
fn unpeered_vpcs_share_a_grid_by_account() {
    let p = plan(9, &[]);
    let r = rects(&arrange(&p, |_| MAP, Spacing::default()), &[MAP; 9]);
    assert_no_overlap(&r);
    // acct-0 (v0, v3, v6) first, on the first row of a 3×3 grid.
    for i in [0, 3, 6] {
        assert_eq!(r[i].y, 0.0, "v{i}");
    }
    assert!(r[0].x < r[3].x && r[3].x < r[6].x);
    assert!(r[1].y > 0.0);
}

#[test]
fn the_same_plan_always_gets_the_same_layout() {
    let p = generate(&GenerateOptions {
        vpcs: 300,
        subnets_per_vpc: 1,
        endpoints_per_subnet: 0,
        seed: 7,
    })
    .unwrap();
    let a = arrange(&p, |_| MAP, Spacing::default());
    let b = arrange(&p.clone(), |_| MAP, Spacing::default());
    assert_eq!(a, b);
    // Positions the plan already has play no part.
    let mut moved = p.clone();
    moved.vpcs.iter_mut().for_each(|v| v.position = None);
    assert_eq!(arrange(&moved, |_| MAP, Spacing::default()), a);
}

#[test]
fn an_estate_of_ten_thousand_vpcs_is_laid_out_compactly_with_peers_close() {
    let p = generate(&GenerateOptions {
        vpcs: 10_000,
        subnets_per_vpc: 0,
        endpoints_per_subnet: 0,
        seed: 1,
    })
    .unwrap();
    let started = std::time::Instant::now();
    let at = arrange(&p, |_| MAP, Spacing::default());
    let took = started.elapsed();
    eprintln!("10,000 VPCs laid out in {took:?}");
    let r = rects(&at, &vec![MAP; p.vpcs.len()]);
    // √10,000 = 100 boxes each way, give or take: bounded far below the plan's limit.
    let right = r.iter().map(|b| b.x + b.w).fold(0.0, f64::max);
    let bottom = r.iter().map(|b| b.y + b.h).fold(0.0, f64::max);
    assert!(right < 400.0 * (MAP.0 + 80.0), "width {right}");
    assert!(bottom < 400.0 * (MAP.1 + 40.0), "height {bottom}");
    assert!(
        right * bottom < 4.0 * 10_000.0 * (MAP.0 + 80.0) * (MAP.1 + 40.0),
        "area {right}×{bottom}"
    );
    // No overlap, checked by sorting on x (a sweep, not all 50 million pairs).
    let mut order: Vec<usize> = (0..r.len()).collect();
    order.sort_by(|&a, &b| r[a].x.total_cmp(&r[b].x));
    for (k, &i) in order.iter().enumerate() {
        for &j in order[k + 1..].iter().take_while(|&&j| r[j].x < r[i].x + r[i].w) {
            assert!(!r[i].overlaps(&r[j]), "v{i} and v{j} overlap");
        }
    }
    // Peered VPCs (hubs and spokes) much closer than the average pair, sampled.
    let g = PeeringGraph::new(&p);
    let (mut peered, mut np) = (0.0, 0);
    for i in 0..r.len() {
        for j in g.neighbours_at(i, |x| x.status == PeeringStatus::Active) {
            peered += distance(&r[i], &r[j]);
            np += 1;
        }
    }
    let sample: f64 = (0..10_000)
        .map(|k| distance(&r[k], &r[(k * 7919 + 13) % 10_000]))
        .sum::<f64>()
        / 10_000.0;
    let peered = peered / f64::from(np);
    assert!(
        peered * 5.0 < sample,
        "peered {peered:.0}, sampled pairs {sample:.0}"
    );
}

#[test]
fn the_map_uses_the_auto_layout_when_positions_are_missing() {
    use PeeringStatus::*;
    let p = plan(5, &[(0, 1, Active), (1, 2, Active)]);
    let map = map_layout(&p);
    let at = arrange(
        &p,
        |_| MAP,
        Spacing {
            gap_x: 150.0,
            gap_y: 80.0,
            group_gap: 300.0,
        },
    );
    let offset = (
        map.boxes[0].1 .0 - at[0].x as i32,
        map.boxes[0].1 .1 - at[0].y as i32,
    );
    for ((id, (x, y)), (v, a)) in map.boxes.iter().zip(p.vpcs.iter().zip(&at)) {
        assert_eq!(id, &v.id);
        assert_eq!((*x - offset.0, *y - offset.1), (a.x as i32, a.y as i32), "{id}");
    }
}

#[test]
fn silly_sizes_are_taken_as_zero_and_coordinates_stay_bounded() {
    let p = plan(4, &[]);
    let at = arrange(
        &p,
        |v| match v.id.as_str() {
            "v0" => (f64::NAN, f64::INFINITY),
            "v1" => (-5.0, 1e300),
            _ => (1e300, 10.0),
        },
        Spacing {
            gap_x: f64::NAN,
            gap_y: 1e300,
            group_gap: -1.0,
        },
    );
    for a in at {
        assert!(a.x.is_finite() && a.y.is_finite());
        assert!(
            (0.0..=MAX_POSITION).contains(&a.x) && (0.0..=MAX_POSITION).contains(&a.y),
            "{a:?}"
        );
    }
}

fn status() -> impl Strategy<Value = PeeringStatus> {
    prop_oneof![
        4 => Just(PeeringStatus::Active),
        1 => proptest::sample::select(PeeringStatus::ALL.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_plans_lay_out_without_overlap_groups_apart_and_deterministically(
        (n, peerings, sizes) in (0usize..40).prop_flat_map(|n| (
            Just(n),
            proptest::collection::vec((0..n.max(1), 0..n.max(1), status()), 0..(2 * n + 1)),
            proptest::collection::vec((20.0f64..400.0, 20.0f64..400.0), n),
        ))
    ) {
        let peerings: Vec<_> = peerings.into_iter().filter(|(a, b, _)| *a < n && *b < n).collect();
        let p = plan(n, &peerings);
        let size = |v: &Vpc| sizes[v.id.as_str()[1..].parse::<usize>().unwrap()];
        let at = arrange(&p, size, Spacing::default());
        prop_assert_eq!(at.len(), n);
        prop_assert_eq!(&at, &arrange(&p, size, Spacing::default()));
        let r = rects(&at, &sizes);
        assert_no_overlap(&r);
        assert_groups_separated(&p, &r);
        for a in &at {
            prop_assert!(a.x >= 0.0 && a.y >= 0.0 && a.x <= MAX_POSITION && a.y <= MAX_POSITION);
        }
    }

    /// On random plans with a few groups of peered VPCs (equal boxes), peered VPCs are closer on average than
    /// unpeered ones.
    #[test]
    fn random_plans_keep_peers_closer_than_others(
        (n, peerings) in (12usize..60).prop_flat_map(|n| (
            Just(n),
            proptest::collection::vec((0..n, 0..n), n / 2..(3 * n / 2)),
        ))
    ) {
        let peerings: Vec<_> = peerings.into_iter().map(|(a, b)| (a, b, PeeringStatus::Active)).collect();
        let p = plan(n, &peerings);
        let r = rects(&arrange(&p, |_| MAP, Spacing::default()), &vec![MAP; n]);
        let (peered, other) = mean_distances(&p, &r);
        prop_assert!(peered < other, "peered {:.0}, others {:.0}", peered, other);
    }
}
