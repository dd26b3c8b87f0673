//! The peering graph: VPCs as nodes, peerings as edges (each carrying its peering, so status, accounts and regions
//! are at hand), built once per plan with petgraph. It answers the questions that are graph questions: which VPCs a
//! VPC is peered with, which groups of VPCs can reach each other at all (connected components over active
//! peerings), and which pairs are joined only through a third VPC (peering is not transitive).
//!
//! ```
//! use netmodel::{graph::PeeringGraph, Plan};
//!
//! // a — b — c: a and c are both peered with b, not with each other.
//! let plan = Plan::from_json(
//!     r#"{"format": "peerplan/v1", "accounts": [{"id": "acct"}],
//!         "vpcs": [{"id": "a", "account": "acct", "region": "us-east-1", "cidr": "10.0.0.0/16"},
//!                  {"id": "b", "account": "acct", "region": "us-east-1", "cidr": "10.1.0.0/16"},
//!                  {"id": "c", "account": "acct", "region": "us-east-1", "cidr": "10.2.0.0/16"}],
//!         "peerings": [{"id": "pcx-ab", "requester": {"vpc": "a"}, "accepter": {"vpc": "b"}, "status": "active"},
//!                      {"id": "pcx-bc", "requester": {"vpc": "b"}, "accepter": {"vpc": "c"}, "status": "active"}]}"#,
//! )?;
//! let graph = PeeringGraph::new(&plan);
//! assert_eq!(graph.peerings_of(&"b".into()).len(), 2);
//! assert_eq!(graph.groups().len(), 1, "one group: every VPC reaches the others' network");
//! let (pairs, total) = graph.transitive_pairs(10);
//! assert_eq!(total, 1);
//! assert_eq!((pairs[0].a.as_str(), pairs[0].via.as_str(), pairs[0].c.as_str()), ("a", "b", "c"));
//! # Ok::<(), netmodel::PlanError>(())
//! ```

use std::collections::{BTreeMap, HashMap};

use petgraph::{
    graph::{NodeIndex, UnGraph},
    unionfind::UnionFind,
    visit::EdgeRef,
};

use crate::{ids::VpcId, model::*};

/// VPCs and peerings as an undirected multigraph (two peerings of one pair are two edges).
pub struct PeeringGraph<'p> {
    plan: &'p Plan,
    /// Node weight: position in `plan.vpcs`; edge weight: position in `plan.peerings`.
    graph: UnGraph<usize, usize>,
    node: crate::IdMap<&'p VpcId, NodeIndex>,
}

/// VPCs that reach each other over active peerings (directly or not), in plan order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group<'p> {
    pub vpcs: Vec<&'p VpcId>,
    /// Distinct VPC pairs of the group joined by an active peering.
    pub peered_pairs: usize,
}

impl Group<'_> {
    /// Pairs of the group joined only through other VPCs: they cannot talk (peering is not transitive).
    pub fn transitive_only_pairs(&self) -> usize {
        self.full_mesh() - self.peered_pairs
    }

    /// Peerings a full mesh of the group needs: n(n−1)/2.
    pub fn full_mesh(&self) -> usize {
        let n = self.vpcs.len();
        n * n.saturating_sub(1) / 2
    }

    /// Whether a full mesh would give each VPC more active peerings than `quota` (AWS's default is 50).
    pub fn mesh_exceeds(&self, quota: usize) -> bool {
        self.vpcs.len().saturating_sub(1) > quota
    }
}

/// Two VPCs both actively peered with a third (`via`) but not with each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitivePair<'p> {
    pub a: &'p VpcId,
    pub c: &'p VpcId,
    /// The first VPC (plan order) peered with both.
    pub via: &'p VpcId,
}

impl<'p> PeeringGraph<'p> {
    /// Builds the graph; peerings naming a VPC the plan lacks are left out.
    pub fn new(plan: &'p Plan) -> PeeringGraph<'p> {
        let mut graph = UnGraph::with_capacity(plan.vpcs.len(), plan.peerings.len());
        let mut node = crate::IdMap::with_capacity_and_hasher(plan.vpcs.len(), Default::default());
        for (i, v) in plan.vpcs.iter().enumerate() {
            node.entry(&v.id).or_insert_with(|| graph.add_node(i));
        }
        for (i, p) in plan.peerings.iter().enumerate() {
            if let (Some(&a), Some(&b)) = (node.get(&p.requester.vpc), node.get(&p.accepter.vpc)) {
                graph.add_edge(a, b, i);
            }
        }
        PeeringGraph { plan, graph, node }
    }

    /// Every peering of a VPC with the VPC at its other end, in plan order of the peerings.
    pub fn peerings_of(&self, vpc: &VpcId) -> Vec<(&'p Peering, &'p VpcId)> {
        let Some(&n) = self.node.get(vpc) else {
            return Vec::new();
        };
        let mut out: Vec<(usize, &'p VpcId)> = self
            .graph
            .edges(n)
            .map(|e| {
                let other = if e.source() == n { e.target() } else { e.source() };
                (*e.weight(), &self.plan.vpcs[self.graph[other]].id)
            })
            .collect();
        out.sort_unstable_by_key(|(p, _)| *p);
        out.into_iter()
            .map(|(p, v)| (&self.plan.peerings[p], v))
            .collect()
    }

    /// The first peering (plan order) between two VPCs that satisfies `keep`.
    pub fn between(&self, a: &VpcId, b: &VpcId, keep: impl Fn(&Peering) -> bool) -> Option<&'p Peering> {
        let (&na, &nb) = (self.node.get(a)?, self.node.get(b)?);
        self.graph
            .edges_connecting(na, nb)
            .map(|e| *e.weight())
            .filter(|&p| keep(&self.plan.peerings[p]))
            .min()
            .map(|p| &self.plan.peerings[p])
    }

    fn active_neighbours(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut out: Vec<NodeIndex> = self
            .graph
            .edges(n)
            .filter(|e| self.plan.peerings[*e.weight()].status == PeeringStatus::Active)
            .map(|e| if e.source() == n { e.target() } else { e.source() })
            .filter(|&o| o != n)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The plan positions of the VPCs joined to the VPC at plan position `i` by a peering that satisfies `keep`,
    /// sorted, each once (a VPC whose id repeats an earlier VPC's has none).
    pub fn neighbours_at(&self, i: usize, keep: impl Fn(&Peering) -> bool) -> Vec<usize> {
        let Some(n) = self.node_at(i) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = self
            .graph
            .edges(n)
            .filter(|e| keep(&self.plan.peerings[*e.weight()]))
            .map(|e| if e.source() == n { e.target() } else { e.source() })
            .filter(|&o| o != n)
            .map(|o| self.graph[o])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The node of the VPC at plan position `i` (none for a VPC whose id repeats an earlier VPC's).
    fn node_at(&self, i: usize) -> Option<NodeIndex> {
        let v = self.plan.vpcs.get(i)?;
        self.node.get(&v.id).copied().filter(|&n| self.graph[n] == i)
    }

    /// Connected components over the peerings that satisfy `keep`, as plan positions: each component sorted, the
    /// components ordered by their first VPC (a VPC with no such peering is a component of its own; a VPC whose
    /// id repeats an earlier VPC's is in none).
    pub fn components(&self, keep: impl Fn(&Peering) -> bool) -> Vec<Vec<usize>> {
        let n = self.graph.node_count();
        let mut sets = UnionFind::new(n);
        for e in self.graph.edge_references() {
            if keep(&self.plan.peerings[*e.weight()]) {
                sets.union(e.source().index(), e.target().index());
            }
        }
        let mut by_root: HashMap<usize, usize> = HashMap::new();
        let mut out: Vec<Vec<usize>> = Vec::new();
        // Nodes were added in plan order, so node order is plan order.
        for i in 0..n {
            let c = *by_root.entry(sets.find(i)).or_insert_with(|| {
                out.push(Vec::new());
                out.len() - 1
            });
            out[c].push(self.graph[NodeIndex::new(i)]);
        }
        out
    }

    /// Groups of VPCs joined by active peerings (connected components; an unpeered VPC is a group of its own),
    /// ordered by their first VPC in plan order.
    pub fn groups(&self) -> Vec<Group<'p>> {
        self.components(|p| p.status == PeeringStatus::Active)
            .into_iter()
            .map(|members| {
                let peered_pairs = members
                    .iter()
                    .filter_map(|&i| self.node_at(i))
                    .map(|node| {
                        self.active_neighbours(node)
                            .into_iter()
                            .filter(|o| o.index() > node.index())
                            .count()
                    })
                    .sum();
                Group {
                    vpcs: members.iter().map(|&i| &self.plan.vpcs[i].id).collect(),
                    peered_pairs,
                }
            })
            .collect()
    }

    /// One pair of the group joined through a third VPC but not directly (the first hub in plan order with two
    /// neighbours that are not peered), if the group has one.
    pub fn example_transitive_pair(&self, group: &Group<'p>) -> Option<TransitivePair<'p>> {
        group.vpcs.iter().find_map(|hub| {
            let b = *self.node.get(hub)?;
            let around = self.active_neighbours(b);
            around.iter().enumerate().find_map(|(i, &a)| {
                let adjacent = self.active_neighbours(a);
                around[i + 1..]
                    .iter()
                    .find(|c| adjacent.binary_search(c).is_err())
                    .map(|&c| {
                        let (ia, ic) = (self.graph[a].min(self.graph[c]), self.graph[a].max(self.graph[c]));
                        TransitivePair {
                            a: &self.plan.vpcs[ia].id,
                            c: &self.plan.vpcs[ic].id,
                            via: hub,
                        }
                    })
            })
        })
    }

    /// Pairs of VPCs both actively peered with a third but not with each other, ordered by `a` then `c` in plan
    /// order; at most `limit` of them, and the number there are in all. Costs the sum of the squared degrees, not
    /// the cube of the number of VPCs.
    pub fn transitive_pairs(&self, limit: usize) -> (Vec<TransitivePair<'p>>, usize) {
        let adjacent: Vec<Vec<NodeIndex>> = self
            .graph
            .node_indices()
            .map(|n| self.active_neighbours(n))
            .collect();
        let mut pairs: BTreeMap<(usize, usize), NodeIndex> = BTreeMap::new();
        let mut hubs: Vec<NodeIndex> = self.graph.node_indices().collect();
        hubs.sort_unstable_by_key(|&n| self.graph[n]);
        for b in hubs {
            let around = &adjacent[b.index()];
            for (i, &a) in around.iter().enumerate() {
                for &c in &around[i + 1..] {
                    let (ia, ic) = (self.graph[a], self.graph[c]);
                    let key = (ia.min(ic), ia.max(ic));
                    if pairs.contains_key(&key) || adjacent[a.index()].binary_search(&c).is_ok() {
                        continue;
                    }
                    pairs.insert(key, b);
                }
            }
        }
        let total = pairs.len();
        let listed = pairs
            .into_iter()
            .take(limit)
            .map(|((a, c), b)| TransitivePair {
                a: &self.plan.vpcs[a].id,
                c: &self.plan.vpcs[c].id,
                via: &self.plan.vpcs[self.graph[b]].id,
            })
            .collect();
        (listed, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(vpcs: &[&str], peerings: &[(&str, &str, &str, PeeringStatus)]) -> Plan {
        let mut p = Plan::new("graph");
        for (i, v) in vpcs.iter().enumerate() {
            p.vpcs.push(Vpc {
                id: (*v).into(),
                name: String::new(),
                account: "acct".into(),
                region: "us-east-1".into(),
                cidr: format!("10.{i}.0.0/16").parse().unwrap(),
                secondary_cidrs: vec![],
                ipv6_cidrs: vec![],
                position: None,
            });
        }
        for (id, a, b, status) in peerings {
            p.peerings.push(Peering {
                id: (*id).into(),
                requester: PeeringSide {
                    vpc: (*a).into(),
                    account: "acct".into(),
                    region: "us-east-1".into(),
                },
                accepter: PeeringSide {
                    vpc: (*b).into(),
                    account: "acct".into(),
                    region: "us-east-1".into(),
                },
                status: *status,
                options: Default::default(),
                status_message: None,
            });
        }
        p
    }

    #[test]
    fn groups_follow_active_peerings_only() {
        use PeeringStatus::*;
        let p = plan(
            &["a", "b", "c", "d", "e"],
            &[
                ("pcx-ab", "a", "b", Active),
                ("pcx-bc", "b", "c", Active),
                ("pcx-cd", "c", "d", Pending),
            ],
        );
        let g = PeeringGraph::new(&p);
        let groups = g.groups();
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.vpcs.iter().map(|v| v.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "b", "c"], vec!["d"], vec!["e"]]);
        assert_eq!(groups[0].peered_pairs, 2);
        assert_eq!(groups[0].full_mesh(), 3);
        assert_eq!(groups[0].transitive_only_pairs(), 1);
        assert!(!groups[0].mesh_exceeds(50));
    }

    #[test]
    fn transitive_pairs_name_the_hub_and_skip_direct_peers() {
        use PeeringStatus::*;
        let p = plan(
            &["hub", "s1", "s2", "s3"],
            &[
                ("pcx-1", "hub", "s1", Active),
                ("pcx-2", "hub", "s2", Active),
                ("pcx-3", "hub", "s3", Active),
                ("pcx-12", "s1", "s2", Active),
            ],
        );
        let g = PeeringGraph::new(&p);
        let (pairs, total) = g.transitive_pairs(10);
        let got: Vec<(&str, &str, &str)> = pairs
            .iter()
            .map(|t| (t.a.as_str(), t.c.as_str(), t.via.as_str()))
            .collect();
        assert_eq!(got, vec![("s1", "s3", "hub"), ("s2", "s3", "hub")]);
        assert_eq!(total, 2);
        assert_eq!(g.transitive_pairs(1).0.len(), 1);
        assert_eq!(
            g.between(&"s2".into(), &"s1".into(), |p| p.status == Active)
                .map(|p| p.id.as_str()),
            Some("pcx-12")
        );
        assert_eq!(g.peerings_of(&"hub".into()).len(), 3);
    }

    #[test]
    fn a_mesh_past_the_quota_is_flagged() {
        let names: Vec<String> = (0..52).map(|i| format!("v{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let ids: Vec<String> = (1..52).map(|i| format!("pcx-{i}")).collect();
        let peerings: Vec<(&str, &str, &str, PeeringStatus)> = (1..52)
            .map(|i| (ids[i - 1].as_str(), "v0", refs[i], PeeringStatus::Active))
            .collect();
        let p = plan(&refs, &peerings);
        let groups = PeeringGraph::new(&p).groups();
        assert_eq!(groups.len(), 1);
        assert!(groups[0].mesh_exceeds(50));
        assert_eq!(groups[0].transitive_only_pairs(), 52 * 51 / 2 - 51);
    }
}
