//! The planner's peering groups: which VPCs can reach each other over active peerings at all — the connected
//! components of [`netmodel::graph::PeeringGraph`], the same groups `check`'s ISOLATED_GROUPS note lists — shown
//! as "N isolated groups" with their VPCs. Each group is a button that selects its VPCs on the canvas; a group
//! whose VPCs are not all peered pairwise says how many pairs are joined only through other VPCs (peering is not
//! transitive).

use leptos::prelude::*;
use netmodel::{
    graph::PeeringGraph,
    ids::VpcId,
    model::{PeeringStatus, Plan},
};

/// Groups listed at most (the rest are counted).
pub const SHOWN_GROUPS: usize = 50;
/// VPCs named per group at most (the rest are counted).
pub const SHOWN_VPCS: usize = 12;

/// One group of VPCs joined by active peerings.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRow {
    /// In plan order.
    pub vpcs: Vec<VpcId>,
    /// Pairs of the group joined only through other VPCs.
    pub transitive_only: usize,
}

/// The plan's groups, and whether anything is actively peered at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Groups {
    pub rows: Vec<GroupRow>,
    pub peered: bool,
    pub vpcs: usize,
}

/// The groups of a plan, from its peering graph.
pub fn groups(plan: &Plan) -> Groups {
    let graph = PeeringGraph::new(plan);
    Groups {
        rows: graph
            .groups()
            .into_iter()
            .map(|g| GroupRow {
                transitive_only: g.transitive_only_pairs(),
                vpcs: g.vpcs.into_iter().cloned().collect(),
            })
            .collect(),
        peered: plan.peerings.iter().any(|p| p.status == PeeringStatus::Active),
        vpcs: plan.vpcs.len(),
    }
}

impl Groups {
    /// The one-line summary above the list.
    pub fn summary(&self) -> String {
        match (self.vpcs, self.peered, self.rows.len()) {
            (0, _, _) => "No VPCs yet.".into(),
            (1, _, _) => "One VPC, on its own.".into(),
            (n, false, _) => format!("No active peerings yet: each of the {n} VPCs is on its own."),
            (n, true, 1) => format!("One group: all {n} VPCs are joined by active peerings."),
            (_, true, k) => {
                format!("{k} isolated groups: VPCs in different groups cannot reach each other over peering.")
            }
        }
    }

    /// Whether the list of groups says anything the summary does not.
    pub fn listed(&self) -> bool {
        self.peered && self.vpcs > 1
    }
}

impl GroupRow {
    /// The group's VPCs as text: "vpc-a, vpc-b" (at most [`SHOWN_VPCS`], then "and N more").
    pub fn names(&self) -> String {
        let mut text = self
            .vpcs
            .iter()
            .take(SHOWN_VPCS)
            .map(VpcId::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if self.vpcs.len() > SHOWN_VPCS {
            text.push_str(&format!(" and {} more", self.vpcs.len() - SHOWN_VPCS));
        }
        text
    }

    /// "1 pair joined only through other VPCs", or nothing for a full mesh.
    pub fn transitive_note(&self) -> Option<String> {
        match self.transitive_only {
            0 => None,
            1 => Some("1 pair joined only through other VPCs: it cannot talk".into()),
            k => Some(format!(
                "{k} pairs joined only through other VPCs: they cannot talk"
            )),
        }
    }
}

/// The groups panel in the planner's side column: reads the plan; clicking a group hands its VPCs to `on_select`
/// (the planner selects them on the canvas).
#[component]
pub fn GroupsPanel(plan: RwSignal<Plan>, #[prop(into)] on_select: Callback<Vec<VpcId>>) -> impl IntoView {
    let all = Memo::new(move |_| plan.with(groups));
    let rows = move || {
        all.with(|g| {
            if g.listed() {
                g.rows.iter().take(SHOWN_GROUPS).cloned().enumerate().collect()
            } else {
                Vec::new()
            }
        })
    };
    let more = move || {
        all.with(|g| {
            (g.listed() && g.rows.len() > SHOWN_GROUPS)
                .then(|| view! { <p class="muted">{format!("and {} more groups", g.rows.len() - SHOWN_GROUPS)}</p> })
        })
    };
    view! {
        <aside class="groups panel" aria-label="Peering groups">
            <h2>"Peering groups"</h2>
            <p data-testid="groups-summary">{move || all.with(Groups::summary)}</p>
            <ol class="groups-list">
                <For each=rows key=|(i, row): &(usize, GroupRow)| (*i, row.vpcs.clone()) let:entry>
                    {
                        let (i, row) = entry;
                        let ids = row.vpcs.clone();
                        let size = match row.vpcs.len() {
                            1 => "1 VPC".to_string(),
                            n => format!("{n} VPCs"),
                        };
                        view! {
                            <li class="group" data-testid="group">
                                <button
                                    type="button"
                                    class="link"
                                    title="Select this group's VPCs"
                                    on:click=move |_| {
                                        on_select.run(ids.clone());
                                    }
                                >
                                    {format!("Group {} · {size}", i + 1)}
                                </button>
                                ": "
                                <span class="group-vpcs">{row.names()}</span>
                                {row.transitive_note().map(|t| view! { <div class="muted">{t}</div> })}
                            </li>
                        }
                    }
                </For>
            </ol>
            {more}
        </aside>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Plan {
        let text = match name {
            "multi-region" => include_str!("../../examples/multi-region.json"),
            "transitive" => include_str!("../../examples/transitive.json"),
            _ => include_str!("../../examples/seed.json"),
        };
        Plan::from_json(text).unwrap()
    }

    #[test]
    fn the_multi_region_example_has_three_isolated_groups() {
        let g = groups(&example("multi-region"));
        assert_eq!(
            g.summary(),
            "3 isolated groups: VPCs in different groups cannot reach each other over peering."
        );
        let names: Vec<String> = g.rows.iter().map(GroupRow::names).collect();
        assert_eq!(names, ["vpc-dr", "vpc-legacy", "vpc-prod, vpc-shared"]);
        assert!(g.listed());
        assert!(g.rows.iter().all(|r| r.transitive_note().is_none()));
    }

    #[test]
    fn a_chain_is_one_group_with_a_pair_that_cannot_talk() {
        let g = groups(&example("transitive"));
        assert_eq!(
            g.summary(),
            "One group: all 3 VPCs are joined by active peerings."
        );
        assert_eq!(g.rows.len(), 1);
        assert_eq!(
            g.rows[0].transitive_note().as_deref(),
            Some("1 pair joined only through other VPCs: it cannot talk")
        );
    }

    #[test]
    fn nothing_peered_lists_nothing() {
        let mut plan = example("multi-region");
        plan.peerings.clear();
        let g = groups(&plan);
        assert_eq!(
            g.summary(),
            "No active peerings yet: each of the 4 VPCs is on its own."
        );
        assert!(!g.listed());
        assert_eq!(groups(&Plan::new("empty")).summary(), "No VPCs yet.");
    }

    #[test]
    fn long_groups_are_cut_with_a_count() {
        let row = GroupRow {
            vpcs: (0..15).map(|i| format!("v{i}").as_str().into()).collect(),
            transitive_only: 3,
        };
        assert!(row.names().ends_with("v11 and 3 more"), "{}", row.names());
        assert_eq!(
            row.transitive_note().as_deref(),
            Some("3 pairs joined only through other VPCs: they cannot talk")
        );
    }
}
