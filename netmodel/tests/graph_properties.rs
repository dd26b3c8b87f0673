//! Property tests of the peering graph against brute force on random plans: the groups (connected components over
//! active peerings) equal a transitive closure of the active adjacency matrix; the pairs of a group joined only
//! through other VPCs are the closure's pairs that are not adjacent; the pairs joined through one VPC (with the
//! first such VPC in plan order) are those with a common active neighbour and no edge of their own.

use netmodel::{
    graph::PeeringGraph,
    model::{Peering, PeeringSide, PeeringStatus, Plan, Vpc},
};
use proptest::prelude::*;

/// A plan of `n` VPCs and the given peerings (indices; an index ≥ n names a VPC the plan lacks).
fn plan(n: usize, peerings: &[(usize, usize, PeeringStatus)]) -> Plan {
    let mut p = Plan::new("random");
    for i in 0..n {
        p.vpcs.push(Vpc {
            id: format!("v{i}").as_str().into(),
            name: String::new(),
            account: "acct".into(),
            region: "us-east-1".into(),
            cidr: format!("10.{i}.0.0/16").parse().unwrap(),
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

fn status() -> impl Strategy<Value = PeeringStatus> {
    prop_oneof![
        4 => Just(PeeringStatus::Active),
        1 => proptest::sample::select(PeeringStatus::ALL.to_vec()),
    ]
}

/// VPC count and peerings: self-peerings, repeated pairs and peerings naming a missing VPC all occur.
fn random_plan() -> impl Strategy<Value = (usize, Vec<(usize, usize, PeeringStatus)>)> {
    (0usize..14).prop_flat_map(|n| {
        let end = n + 1; // index n: a VPC the plan does not have
        (
            Just(n),
            proptest::collection::vec((0..end, 0..end, status()), 0..(2 * n + 2)),
        )
    })
}

/// Adjacency over active peerings between distinct VPCs of the plan, and its transitive closure (Warshall).
fn brute(n: usize, peerings: &[(usize, usize, PeeringStatus)]) -> (Vec<Vec<bool>>, Vec<Vec<bool>>) {
    let mut adj = vec![vec![false; n]; n];
    for &(a, b, s) in peerings {
        if a < n && b < n && a != b && s == PeeringStatus::Active {
            adj[a][b] = true;
            adj[b][a] = true;
        }
    }
    let mut reach = adj.clone();
    for (i, row) in reach.iter_mut().enumerate() {
        row[i] = true;
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if reach[i][k] && reach[k][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    (adj, reach)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn groups_equal_the_transitive_closure((n, peerings) in random_plan()) {
        let p = plan(n, &peerings);
        let (adj, reach) = brute(n, &peerings);
        let g = PeeringGraph::new(&p);
        let groups = g.groups();
        let index = |id: &netmodel::ids::VpcId| id.as_str()[1..].parse::<usize>().unwrap();
        // Every VPC in exactly one group; the groups ordered by their first VPC, each in plan order.
        let mut seen = vec![false; n];
        let mut firsts = Vec::new();
        for group in &groups {
            let members: Vec<usize> = group.vpcs.iter().map(|v| index(v)).collect();
            prop_assert!(members.windows(2).all(|w| w[0] < w[1]), "plan order: {:?}", members);
            firsts.push(members[0]);
            // Same group ⇔ reachable, by brute force.
            for &a in &members {
                prop_assert!(!seen[a], "v{} in two groups", a);
                seen[a] = true;
                let expected: Vec<usize> = (0..n).filter(|&b| reach[a][b]).collect();
                prop_assert_eq!(&members, &expected);
            }
            // Transitive-only pairs: in the group, not adjacent.
            let mut only = 0;
            let mut peered = 0;
            for (i, &a) in members.iter().enumerate() {
                for &b in &members[i + 1..] {
                    if adj[a][b] { peered += 1 } else { only += 1 }
                }
            }
            prop_assert_eq!(group.peered_pairs, peered);
            prop_assert_eq!(group.transitive_only_pairs(), only);
            prop_assert_eq!(group.full_mesh(), members.len() * (members.len() - 1) / 2);
        }
        prop_assert!(seen.iter().all(|s| *s));
        prop_assert!(firsts.windows(2).all(|w| w[0] < w[1]));
        // Components over any predicate agree with groups for "active".
        let comps = g.components(|p| p.status == PeeringStatus::Active);
        let as_index: Vec<Vec<usize>> = groups.iter().map(|g| g.vpcs.iter().map(|v| index(v)).collect()).collect();
        prop_assert_eq!(comps, as_index);
    }

    #[test]
    fn transitive_pairs_are_those_with_a_common_neighbour_and_no_edge((n, peerings) in random_plan(), limit in 0usize..6) {
        let p = plan(n, &peerings);
        let (adj, _) = brute(n, &peerings);
        let mut expected = Vec::new();
        for a in 0..n {
            for c in a + 1..n {
                if adj[a][c] {
                    continue;
                }
                if let Some(via) = (0..n).find(|&b| adj[a][b] && adj[b][c]) {
                    expected.push((format!("v{a}"), format!("v{c}"), format!("v{via}")));
                }
            }
        }
        let g = PeeringGraph::new(&p);
        let (listed, total) = g.transitive_pairs(limit);
        prop_assert_eq!(total, expected.len());
        let got: Vec<(String, String, String)> = listed
            .iter()
            .map(|t| (t.a.to_string(), t.c.to_string(), t.via.to_string()))
            .collect();
        let first: Vec<_> = expected.iter().take(limit).cloned().collect();
        prop_assert_eq!(got, first);
        // The example the TRANSITIVE_ONLY note gives is one of them, in the right group.
        for group in g.groups() {
            match g.example_transitive_pair(&group) {
                Some(t) => {
                    let (a, c, b) = (t.a.to_string(), t.c.to_string(), t.via.to_string());
                    prop_assert!(expected.iter().any(|(ea, ec, _)| *ea == a && *ec == c), "{} {}", a, c);
                    let ia: usize = a[1..].parse().unwrap();
                    let ib: usize = b[1..].parse().unwrap();
                    let ic: usize = c[1..].parse().unwrap();
                    prop_assert!(adj[ia][ib] && adj[ib][ic]);
                }
                // No example: the group is a full mesh (a group with a transitive-only pair has a path of two).
                None => prop_assert_eq!(group.transitive_only_pairs(), 0),
            }
        }
    }

    #[test]
    fn neighbours_follow_the_predicate((n, peerings) in random_plan()) {
        let p = plan(n, &peerings);
        let g = PeeringGraph::new(&p);
        for i in 0..n {
            let mut expected: Vec<usize> = peerings
                .iter()
                .filter(|(a, b, s)| s.is_live() && *a < n && *b < n && a != b && (*a == i || *b == i))
                .map(|&(a, b, _)| if a == i { b } else { a })
                .collect();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(g.neighbours_at(i, |p| p.status.is_live()), expected);
        }
        prop_assert!(g.neighbours_at(n, |_| true).is_empty());
    }
}

/// The TRANSITIVE_ONLY note's mesh advice at the per-VPC quota (50 active peerings, `CheckOptions::active_per_vpc`):
/// a hub with 50 spokes can still be meshed (50 peerings each), one with 51 cannot, so its fix advises a hub.
#[test]
fn the_mesh_advice_turns_to_a_hub_just_past_the_quota() {
    let options = netmodel::CheckOptions::default();
    assert_eq!(options.active_per_vpc, 50);
    let advice = |spokes: usize| {
        let star: Vec<(usize, usize, PeeringStatus)> =
            (1..=spokes).map(|s| (0, s, PeeringStatus::Active)).collect();
        let d = netmodel::check(&plan(spokes + 1, &star), &options)
            .into_iter()
            .find(|d| d.code == netmodel::Code::TransitiveOnly)
            .expect("a star has pairs joined only through its hub");
        let n = spokes + 1;
        assert!(
            d.message.contains(&format!(
                "a full mesh of these {n} VPCs needs {} peerings",
                n * (n - 1) / 2
            )),
            "{}",
            d.message
        );
        d.fix.map(|f| f.to_string()).unwrap_or_default()
    };
    assert_eq!(
        advice(50),
        "peer directly the pairs that must talk (each with routes both ways)"
    );
    assert_eq!(
        advice(51),
        "a full mesh would give each VPC 51 active peerings, past the quota of 50: connect these VPCs through a hub \
         (a transit gateway) instead, or peer only the pairs that must talk"
    );
}
