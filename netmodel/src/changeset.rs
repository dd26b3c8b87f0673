//! The change set: what it takes to turn a live plan into a desired one, as typed steps in a dependency DAG.
//!
//! [`diff`] compares a desired [`Plan`] with a live one (a plan whose ids are the control plane's ids, as
//! `peerplan import live` writes it) and returns a [`ChangeSet`]: one [`Step`] per API call (create / update /
//! delete) or bookkeeping act (adopt), each with the object it touches, the account whose key must run it, a human
//! detail line, and the steps it must come after. The steps are the nodes of a `petgraph` DAG, "must come after"
//! its edges; the order is the DAG's topological sort, ties broken by a stable key (phase, kind, id), so the same
//! plans always give the same order, and a cycle is reported as [`ChangeSetError::Cycle`] (a bug in the diff,
//! never a property of the input). [`ChangeSet::levels`] shows which steps are independent of each other.
//!
//! # Order
//!
//! Creates follow the phases people get wrong by hand: VPCs and their blocks → subnets, route tables, security
//! groups, network ACLs, gateways → endpoints → peering create (requester's key; `auto_accept` only within one
//! account) → accept (accepter's key) → wait until `active` → peering options → routes on both sides →
//! security-group rules (rules naming a peer VPC's group wait for the peering) → ACL entries. A route over a
//! peering always comes after that peering's wait step: no route is ever created against a pending peering.
//! Deletes come first and run in reverse: routes and rules that reference a peering, gateway or group come before
//! it, endpoints before their subnets, everything before its VPC. A live peering that is already `failed`,
//! `rejected`, `expired` or `deleted` is gone: it binds nothing and is never deleted.
//!
//! # Binding
//!
//! A desired object binds to the live object recorded for it in [`Bindings`] (when that object still exists and
//! is the same kind of thing in the same place), else by its natural key: a VPC to a live VPC of the same account
//! and region with the same primary block (an [`ChangeAction::Adopt`] step, never a second create); a subnet to
//! the block in the bound VPC; a main route table, default network ACL and the security group named `default` to
//! the bound VPC's own (they come with every VPC: never created or deleted on their own); a security group by
//! name, a gateway by kind and name, an endpoint by its addresses in the bound subnet, a peering by its requester
//! and accepter VPCs; routes by destination, ACL entries by direction and rule number, security-group rules by
//! all their fields. Other route tables and network ACLs have no natural key: they bind only through
//! [`Bindings`]. Everything live that nothing desired binds is deleted (full synchronisation: the live plan is the
//! state of the accounts whose keys are given), except the implicit objects of a VPC that stays.
//!
//! Managed attributes are those the control plane's API carries: a subnet's name, a gateway's subnet and
//! destinations, and canvas positions are not compared. Routes to `local` or `blackhole` are not managed. Routes
//! over a peering the desired plan holds as `failed`/`rejected`/`expired`/`deleted`, or as `pending` while it is
//! not live and active, are held back: neither created nor deleted.
//!
//! # Example
//!
//! ```
//! use netmodel::{changeset::{diff, Bindings, ChangeAction, ObjectKind}, Plan};
//!
//! let desired = Plan::from_json(include_str!("../../examples/seed.json")).unwrap();
//! let live = Plan::new("empty account");
//! let changes = diff(&desired, &live, &Bindings::default()).unwrap();
//! // The peering's routes come after it is active; the accept runs with the accepter's key.
//! let pos = |kind, id: &str| changes.steps().iter().position(|s| s.kind == kind && s.plan_id.starts_with(id)).unwrap();
//! assert!(pos(ObjectKind::PeeringWait, "pcx-ab") < pos(ObjectKind::Route, "rtb-a"));
//! let accept = &changes.steps()[pos(ObjectKind::PeeringAccept, "pcx-ab")];
//! assert_eq!(accept.account.as_str(), "acct-b");
//! assert_eq!(changes.summary().to_string(), "Plan: 15 to add, 0 to change, 0 to destroy.");
//!
//! // Applied in memory, the live state matches the plan, and a second diff finds nothing to do.
//! let applied = changes.apply_to(&live).unwrap();
//! netmodel::changeset::equivalent(&desired, &applied.plan, &applied.bindings).unwrap();
//! assert!(diff(&desired, &applied.plan, &applied.bindings).unwrap().is_empty());
//! ```

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap},
    fmt,
};

use petgraph::{
    algo::tarjan_scc,
    graph::{DiGraph, NodeIndex},
    Direction as Edge,
};
use serde::{Deserialize, Serialize};

use crate::{cidr::Cidr, ids::*, model::*};

#[cfg(test)]
mod tests;

mod apply;
mod equivalence;

pub use apply::Applied;
pub use equivalence::equivalent;

/// What a step does to its object. JSON: `create`, `update`, `delete`, `adopt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
    /// Bind a live object that already is what the plan wants (no API call).
    Adopt,
}

impl ChangeAction {
    /// The plan's symbol: `+` create, `~` update, `-` delete, `=` adopt.
    pub fn symbol(self) -> char {
        match self {
            ChangeAction::Create => '+',
            ChangeAction::Update => '~',
            ChangeAction::Delete => '-',
            ChangeAction::Adopt => '=',
        }
    }

    /// The JSON word.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Create => "create",
            ChangeAction::Update => "update",
            ChangeAction::Delete => "delete",
            ChangeAction::Adopt => "adopt",
        }
    }
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of object (or peering lifecycle act) a step touches, in creation order. JSON: the snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Vpc,
    /// A secondary IPv4 or an IPv6 block of an existing VPC.
    VpcBlock,
    Subnet,
    RouteTable,
    SecurityGroup,
    NetworkAcl,
    Gateway,
    Endpoint,
    Peering,
    /// Accepting a peering request (the accepter's key).
    PeeringAccept,
    /// Waiting until a peering is `active`.
    PeeringWait,
    PeeringOptions,
    Route,
    SgRule,
    AclEntry,
}

impl ObjectKind {
    /// The JSON word.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Vpc => "vpc",
            ObjectKind::VpcBlock => "vpc_block",
            ObjectKind::Subnet => "subnet",
            ObjectKind::RouteTable => "route_table",
            ObjectKind::SecurityGroup => "security_group",
            ObjectKind::NetworkAcl => "network_acl",
            ObjectKind::Gateway => "gateway",
            ObjectKind::Endpoint => "endpoint",
            ObjectKind::Peering => "peering",
            ObjectKind::PeeringAccept => "peering_accept",
            ObjectKind::PeeringWait => "peering_wait",
            ObjectKind::PeeringOptions => "peering_options",
            ObjectKind::Route => "route",
            ObjectKind::SgRule => "sg_rule",
            ObjectKind::AclEntry => "acl_entry",
        }
    }

    /// Creation phase (deletes run the phases backwards).
    fn phase(self) -> u8 {
        match self {
            ObjectKind::Vpc => 0,
            ObjectKind::VpcBlock => 1,
            ObjectKind::Subnet
            | ObjectKind::RouteTable
            | ObjectKind::SecurityGroup
            | ObjectKind::NetworkAcl
            | ObjectKind::Gateway => 2,
            ObjectKind::Endpoint => 3,
            ObjectKind::Peering => 4,
            ObjectKind::PeeringAccept => 5,
            ObjectKind::PeeringWait => 6,
            ObjectKind::PeeringOptions => 7,
            ObjectKind::Route => 8,
            ObjectKind::SgRule => 9,
            ObjectKind::AclEntry => 10,
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which live object each plan object is, per kind: plan id → live id. Stored with the plan, per target; the
/// result of an apply ([`Applied::bindings`]) is the next diff's input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bindings {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vpcs: BTreeMap<VpcId, VpcId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subnets: BTreeMap<SubnetId, SubnetId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub route_tables: BTreeMap<RouteTableId, RouteTableId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_groups: BTreeMap<SecurityGroupId, SecurityGroupId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub network_acls: BTreeMap<NetworkAclId, NetworkAclId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gateways: BTreeMap<GatewayId, GatewayId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<EndpointId, EndpointId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peerings: BTreeMap<PeeringId, PeeringId>,
}

/// Direction of a security-group rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SgDirection {
    Ingress,
    Egress,
}

impl SgDirection {
    /// The JSON word.
    pub fn as_str(self) -> &'static str {
        match self {
            SgDirection::Ingress => "ingress",
            SgDirection::Egress => "egress",
        }
    }
}

/// A container a child step (route, rule, entry) works in: a plan object (its live id comes from the bindings,
/// or from the step that creates it) or a live object no plan object binds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handle {
    Plan(String),
    Live(String),
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handle::Plan(id) | Handle::Live(id) => f.write_str(id),
        }
    }
}

/// What a step does, typed. Creates and updates carry the desired object with plan ids (an executor maps them to
/// live ids through the bindings and what earlier steps created); deletes carry live ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create a VPC with all its blocks. The control plane gives it a main route table, a default network ACL
    /// (allow all, rule 100 each way) and a security group named `default` (egress anywhere, ingress from itself):
    /// the plan's own such objects, when it has them, are these.
    CreateVpc {
        vpc: Vpc,
        main_table: Option<RouteTableId>,
        default_acl: Option<NetworkAclId>,
        default_sg: Option<SecurityGroupId>,
    },
    /// Bind a live VPC (same account, region and primary block) to the plan's; no API call.
    AdoptVpc {
        vpc: VpcId,
        live: VpcId,
    },
    UpdateVpc {
        vpc: VpcId,
        name: String,
    },
    DeleteVpc {
        live: VpcId,
    },
    CreateVpcBlock {
        vpc: VpcId,
        cidr: Cidr,
    },
    DeleteVpcBlock {
        live: VpcId,
        cidr: Cidr,
    },
    CreateSubnet {
        subnet: Subnet,
    },
    UpdateSubnet {
        subnet: Subnet,
    },
    DeleteSubnet {
        live: SubnetId,
    },
    /// Create a route table (without routes: they are steps of their own) with its subnet associations.
    CreateRouteTable {
        table: RouteTable,
    },
    /// Set a route table's subnet associations.
    UpdateRouteTable {
        table: RouteTableId,
        subnets: Vec<SubnetId>,
    },
    DeleteRouteTable {
        live: RouteTableId,
    },
    /// Create a security group (without rules: they are steps of their own).
    CreateSecurityGroup {
        group: SecurityGroup,
    },
    UpdateSecurityGroup {
        group: SecurityGroupId,
        name: String,
    },
    DeleteSecurityGroup {
        live: SecurityGroupId,
    },
    /// Create a network ACL (without entries) with its subnet associations.
    CreateNetworkAcl {
        acl: NetworkAcl,
    },
    UpdateNetworkAcl {
        acl: NetworkAclId,
        subnets: Vec<SubnetId>,
    },
    DeleteNetworkAcl {
        live: NetworkAclId,
    },
    CreateGateway {
        gateway: Gateway,
    },
    UpdateGateway {
        gateway: GatewayId,
        name: String,
    },
    DeleteGateway {
        live: GatewayId,
    },
    CreateEndpoint {
        endpoint: Endpoint,
    },
    UpdateEndpoint {
        endpoint: Endpoint,
    },
    DeleteEndpoint {
        live: EndpointId,
    },
    /// Request a peering; `auto_accept` only when both VPCs are in one account.
    CreatePeering {
        peering: Peering,
        auto_accept: bool,
    },
    AcceptPeering {
        peering: PeeringId,
    },
    /// Poll until the peering is `active`; any other status than `pending` stops the run.
    WaitActive {
        peering: PeeringId,
    },
    SetPeeringOptions {
        peering: PeeringId,
        options: PeeringOptions,
    },
    DeletePeering {
        live: PeeringId,
    },
    CreateRoute {
        table: Handle,
        route: Route,
    },
    /// Point an existing destination at another target.
    UpdateRoute {
        table: Handle,
        route: Route,
    },
    DeleteRoute {
        table: Handle,
        destination: Cidr,
    },
    CreateSgRule {
        group: Handle,
        direction: SgDirection,
        rule: SgRule,
    },
    /// Delete a rule. `live_refs`: the group the rule names is a live id (else a plan id, for the rules a VPC
    /// the change set creates comes with).
    DeleteSgRule {
        group: Handle,
        direction: SgDirection,
        rule: SgRule,
        live_refs: bool,
    },
    CreateAclEntry {
        acl: Handle,
        entry: AclEntry,
    },
    UpdateAclEntry {
        acl: Handle,
        entry: AclEntry,
    },
    DeleteAclEntry {
        acl: Handle,
        direction: Direction,
        rule: u16,
    },
}

/// One step of a change set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub action: ChangeAction,
    pub kind: ObjectKind,
    /// The plan object's id (`table:destination`, `group:rule`, `acl:direction:number`, `vpc:block` for the
    /// parts that have none); for a live object no plan object binds, its live id.
    pub plan_id: String,
    /// The live object, when it exists before the step.
    pub live_id: Option<String>,
    /// The account whose key runs the step.
    pub account: AccountId,
    /// One line for people.
    pub detail: String,
    pub op: Op,
}

impl Step {
    /// `+ route rtb-a:172.16.0.0/16` — for messages.
    pub fn label(&self) -> String {
        format!("{} {} {}", self.action.symbol(), self.kind, self.plan_id)
    }

    /// The step as one entry of the plan's JSON `changes` list.
    pub fn change(&self) -> Change {
        Change {
            action: self.action,
            kind: self.kind,
            plan_id: self.plan_id.clone(),
            live_id: self.live_id.clone(),
            account: self.account.clone(),
            detail: self.detail.clone(),
        }
    }
}

/// One change as `peerplan plan --format json` shows it: `{"action","kind","plan_id","live_id","account","detail"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub action: ChangeAction,
    pub kind: ObjectKind,
    pub plan_id: String,
    pub live_id: Option<String>,
    pub account: AccountId,
    pub detail: String,
}

/// The counts of `Plan: N to add, M to change, K to destroy.` JSON: `{"add","change","destroy"}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to add, {} to change, {} to destroy.",
            self.add, self.change, self.destroy
        )
    }
}

/// Why a change set could not be built or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeSetError {
    /// The steps' dependencies form a cycle: a bug in the diff, reported with the steps involved.
    #[error("the change set's dependencies form a cycle (a bug): {}", steps.join(", "))]
    Cycle { steps: Vec<String> },
    /// A step could not be performed on the in-memory plan ([`ChangeSet::apply_to`]).
    #[error("step {step} cannot be applied: {reason}")]
    Apply { step: String, reason: String },
}

/// The ordered steps and their dependency DAG.
#[derive(Clone, Debug)]
pub struct ChangeSet {
    /// In topological order.
    steps: Vec<Step>,
    /// Node `i` is `steps[i]`; an edge `a → b` means `b` must come after `a`.
    graph: DiGraph<usize, ()>,
    /// The bindings known before any step runs (recorded, adopted, and by natural key).
    bound: Bindings,
}

impl ChangeSet {
    /// The steps in the order to run them.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The bindings the diff found before any step runs; creates add theirs as they run.
    pub fn bindings(&self) -> &Bindings {
        &self.bound
    }

    /// The dependency DAG: node `i` is step `i`, an edge `a → b` means `b` must come after `a`.
    pub fn graph(&self) -> &DiGraph<usize, ()> {
        &self.graph
    }

    /// The positions of the steps step `i` must come after, ascending.
    pub fn dependencies(&self, i: usize) -> Vec<usize> {
        let mut deps: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(i), Edge::Incoming)
            .map(|n| n.index())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        deps
    }

    /// The steps in waves: every step of a wave depends only on steps of earlier waves, so the steps of one wave
    /// are independent of each other (they could run in parallel). Positions ascending within a wave.
    pub fn levels(&self) -> Vec<Vec<usize>> {
        let mut level = vec![0usize; self.steps.len()];
        let mut out: Vec<Vec<usize>> = Vec::new();
        for i in 0..self.steps.len() {
            let l = self
                .dependencies(i)
                .into_iter()
                .map(|d| level[d] + 1)
                .max()
                .unwrap_or(0);
            level[i] = l;
            if out.len() <= l {
                out.resize(l + 1, Vec::new());
            }
            out[l].push(i);
        }
        out
    }

    /// The add / change / destroy counts. Accepting and awaiting a peering created by the same change set are part
    /// of creating it, not changes of their own; adopting is bookkeeping and counts nowhere.
    pub fn summary(&self) -> Summary {
        let created: BTreeSet<&str> = self
            .steps
            .iter()
            .filter(|s| s.kind == ObjectKind::Peering && s.action == ChangeAction::Create)
            .map(|s| s.plan_id.as_str())
            .collect();
        let mut sum = Summary::default();
        for s in &self.steps {
            match (s.action, s.kind) {
                (ChangeAction::Create, _) => sum.add += 1,
                (ChangeAction::Delete, _) => sum.destroy += 1,
                (ChangeAction::Adopt, _) => {}
                (ChangeAction::Update, ObjectKind::PeeringWait) => {}
                (ChangeAction::Update, ObjectKind::PeeringAccept) if created.contains(s.plan_id.as_str()) => {
                }
                (ChangeAction::Update, _) => sum.change += 1,
            }
        }
        sum
    }

    /// The changes as `peerplan plan --format json` lists them.
    pub fn changes(&self) -> Vec<Change> {
        self.steps.iter().map(Step::change).collect()
    }

    /// `{"changes": [...], "summary": {...}}` (the CLI adds `diagnostics`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "changes": self.changes(), "summary": self.summary() })
    }
}

/// The stable tie-break of the topological sort: deletes first (phases backwards), then the rest by phase.
type SortKey = (u8, u8, ObjectKind, String, String);

fn sort_key(s: &Step) -> SortKey {
    let phase = s.kind.phase();
    let (group, phase) = if s.action == ChangeAction::Delete {
        (0, u8::MAX - phase)
    } else {
        (1, phase)
    };
    (group, phase, s.kind, s.plan_id.clone(), s.detail.clone())
}

/// Orders the steps: Kahn's algorithm over the DAG, the ready step with the smallest [`sort_key`] first. Returns
/// the steps in order and the DAG renumbered to match; a cycle is an error naming the steps on it.
fn order(
    steps: Vec<Step>,
    edges: &[(usize, usize)],
) -> Result<(Vec<Step>, DiGraph<usize, ()>), ChangeSetError> {
    let n = steps.len();
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(n, edges.len());
    for i in 0..n {
        graph.add_node(i);
    }
    let unique: BTreeSet<(usize, usize)> = edges.iter().copied().collect();
    for &(a, b) in &unique {
        graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
    }
    let mut indegree: Vec<usize> = (0..n)
        .map(|i| {
            graph
                .neighbors_directed(NodeIndex::new(i), Edge::Incoming)
                .count()
        })
        .collect();
    // Each step's rank in (sort key, index) order, sorted once: the queue of ready steps then compares numbers,
    // not the keys' strings at every push and pop.
    let keys: Vec<_> = steps.iter().map(sort_key).collect();
    let mut by_key: Vec<usize> = (0..n).collect();
    by_key.sort_unstable_by(|&a, &b| (&keys[a], a).cmp(&(&keys[b], b)));
    drop(keys);
    let mut rank = vec![0; n];
    for (r, &i) in by_key.iter().enumerate() {
        rank[i] = r;
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
        .filter(|&i| indegree[i] == 0)
        .map(|i| Reverse(rank[i]))
        .collect();
    let mut sequence = Vec::with_capacity(n);
    while let Some(Reverse(r)) = ready.pop() {
        let i = by_key[r];
        sequence.push(i);
        for next in graph.neighbors_directed(NodeIndex::new(i), Edge::Outgoing) {
            let j = next.index();
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse(rank[j]));
            }
        }
    }
    if sequence.len() < n {
        let mut involved: Vec<String> = Vec::new();
        for scc in tarjan_scc(&graph) {
            let cyclic = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
            if cyclic {
                let mut labels: Vec<String> = scc.iter().map(|x| steps[x.index()].label()).collect();
                labels.sort();
                involved.extend(labels);
            }
        }
        return Err(ChangeSetError::Cycle { steps: involved });
    }
    let mut position = vec![0usize; n];
    for (p, &i) in sequence.iter().enumerate() {
        position[i] = p;
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    let ordered: Vec<Step> = sequence
        .iter()
        .map(|&i| slots[i].take().expect("each step once"))
        .collect();
    let mut renumbered: DiGraph<usize, ()> = DiGraph::with_capacity(n, unique.len());
    for p in 0..n {
        renumbered.add_node(p);
    }
    for &(a, b) in &unique {
        renumbered.add_edge(NodeIndex::new(position[a]), NodeIndex::new(position[b]), ());
    }
    Ok((ordered, renumbered))
}

// ---------------------------------------------------------------------------------------------------------------
// The diff.
// ---------------------------------------------------------------------------------------------------------------

/// The name of the security group every VPC comes with.
pub const DEFAULT_GROUP: &str = "default";

/// The entries of the network ACL every VPC comes with: rule 100 allows everything, each way.
pub fn default_acl_entries() -> Vec<AclEntry> {
    vec![
        AclEntry::allow_all(100, Direction::Inbound),
        AclEntry::allow_all(100, Direction::Outbound),
    ]
}

/// The rules of the security group every VPC comes with (`group` is its own id): ingress of everything from
/// itself, egress of everything anywhere.
pub fn default_group_rules(group: &SecurityGroupId) -> (Vec<SgRule>, Vec<SgRule>) {
    let ingress = SgRule {
        protocol: Protocol::All,
        ports: None,
        cidr: None,
        sg: Some(SgRef {
            account: None,
            group: group.clone(),
        }),
        description: String::new(),
    };
    let egress = SgRule {
        protocol: Protocol::All,
        ports: None,
        cidr: Some("0.0.0.0/0".parse().expect("valid")),
        sg: None,
        description: String::new(),
    };
    (vec![ingress], vec![egress])
}

/// Whether a live (or plan) security group is the one its VPC comes with.
fn is_default_group(g: &SecurityGroup) -> bool {
    g.name == DEFAULT_GROUP
}

/// A protocol in one spelling (6 and tcp are one protocol).
fn norm_protocol(p: Protocol) -> Protocol {
    p.number().map(Protocol::from_number).unwrap_or(Protocol::All)
}

/// Ports only where they mean something; tcp/udp without ports is every port.
fn norm_ports(p: Protocol, ports: Option<PortRange>) -> Option<PortRange> {
    if norm_protocol(p).has_ports() {
        Some(ports.unwrap_or(PortRange::ALL))
    } else {
        None
    }
}

/// A security-group rule as compared: every field, protocol and ports normalised, the referenced group as a live
/// id when it is bound (`Handle::Live`) or as the plan id of a group still to be created (`Handle::Plan`).
type RuleKey = (
    SgDirection,
    Protocol,
    Option<PortRange>,
    Option<Cidr>,
    Option<(Option<AccountId>, Handle)>,
    String,
);

/// A route target as compared (ids as in [`RuleKey`]).
type TargetKey = (u8, Handle);

fn rule_key(direction: SgDirection, r: &SgRule, group: impl Fn(&SecurityGroupId) -> Handle) -> RuleKey {
    (
        direction,
        norm_protocol(r.protocol),
        norm_ports(r.protocol, r.ports),
        r.cidr,
        r.sg.as_ref().map(|s| (s.account.clone(), group(&s.group))),
        r.description.clone(),
    )
}

fn target_tag(t: &Target) -> u8 {
    match t {
        Target::Local => 0,
        Target::Peering(_) => 1,
        Target::InternetGateway(_) => 2,
        Target::NatGateway(_) => 3,
        Target::VpnGateway(_) => 4,
        Target::GatewayEndpoint(_) => 5,
        Target::Blackhole => 6,
    }
}

/// An ACL entry's compared fields (its key is direction and rule number).
fn entry_value(e: &AclEntry) -> (Protocol, Option<PortRange>, Cidr, Action) {
    (
        norm_protocol(e.protocol),
        norm_ports(e.protocol, e.ports),
        e.cidr,
        e.action,
    )
}

fn rule_text(direction: SgDirection, r: &SgRule) -> String {
    let mut t = format!("{} {}", direction.as_str(), r.protocol);
    if let Some(p) = norm_ports(r.protocol, r.ports) {
        t.push_str(&format!(" {p}"));
    }
    match (&r.cidr, &r.sg) {
        (Some(c), _) => t.push_str(&format!(" {c}")),
        (None, Some(g)) => t.push_str(&format!(" group {g}")),
        (None, None) => {}
    }
    t
}

fn entry_text(e: &AclEntry) -> String {
    let dir = match e.direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    };
    let action = match e.action {
        Action::Allow => "allow",
        Action::Deny => "deny",
    };
    let mut t = format!("{dir} #{} {action} {}", e.rule, e.protocol);
    if let Some(p) = norm_ports(e.protocol, e.ports) {
        t.push_str(&format!(" {p}"));
    }
    t.push_str(&format!(" {}", e.cidr));
    t
}

fn dir_word(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

/// Where a desired container stands before the steps run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Baseline {
    /// Bound to this live object (index into the live plan's list).
    Bound(usize),
    /// Comes with a VPC the change set creates (main table, default ACL, `default` group).
    Implicit,
    /// Created by the change set.
    Created,
}

/// Builds the steps and their edges.
struct Builder<'a> {
    desired: &'a Plan,
    live: &'a Plan,
    bound: Bindings,
    steps: Vec<Step>,
    edges: Vec<(usize, usize)>,
    /// The step that creates or adopts a desired object (by kind and plan id): what its users come after.
    producer: HashMap<(ObjectKind, String), usize>,
    /// The step that deletes a live object (by kind and live id), or, for a route table or ACL that stays, the
    /// update that changes its associations.
    deleter: HashMap<(ObjectKind, String), usize>,
    /// The steps that add blocks to each desired VPC (by VPC id): part of what makes the VPC ready.
    block_producers: HashMap<String, Vec<usize>>,
    /// The wait-until-active step of each desired peering that has one.
    wait: HashMap<PeeringId, usize>,
    /// Account of each desired and each live VPC.
    desired_account: HashMap<&'a VpcId, &'a AccountId>,
    live_account: HashMap<&'a VpcId, &'a AccountId>,
    /// Each desired peering by id (the first, as a scan finds it): routes ask per route.
    desired_peerings: HashMap<&'a PeeringId, &'a Peering>,
}

impl<'a> Builder<'a> {
    fn push(&mut self, step: Step) -> usize {
        self.steps.push(step);
        self.steps.len() - 1
    }

    /// `after` must come after `before` (when there is such a step).
    fn edge(&mut self, before: Option<usize>, after: usize) {
        if let Some(b) = before {
            if b != after {
                self.edges.push((b, after));
            }
        }
    }

    fn producer(&self, kind: ObjectKind, id: &str) -> Option<usize> {
        self.producer.get(&(kind, id.to_string())).copied()
    }

    fn deleter(&self, kind: ObjectKind, id: &str) -> Option<usize> {
        self.deleter.get(&(kind, id.to_string())).copied()
    }

    fn account_of(&self, vpc: &VpcId) -> AccountId {
        self.desired_account
            .get(vpc)
            .map(|a| (*a).clone())
            .unwrap_or_default()
    }

    fn live_account_of(&self, vpc: &VpcId) -> AccountId {
        self.live_account
            .get(vpc)
            .map(|a| (*a).clone())
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        action: ChangeAction,
        kind: ObjectKind,
        plan_id: impl Into<String>,
        live_id: Option<String>,
        account: AccountId,
        detail: String,
        op: Op,
    ) -> usize {
        self.push(Step {
            action,
            kind,
            plan_id: plan_id.into(),
            live_id,
            account,
            detail,
            op,
        })
    }
}

/// A plan's lists indexed by id (the first object with an id, as a scan finds it): the live plan's here, the
/// desired plan's in the curl script.
pub(crate) struct LiveIndex<'a> {
    pub(crate) vpcs: BTreeMap<&'a VpcId, usize>,
    pub(crate) subnets: BTreeMap<&'a SubnetId, usize>,
    pub(crate) tables: BTreeMap<&'a RouteTableId, usize>,
    pub(crate) groups: BTreeMap<&'a SecurityGroupId, usize>,
    pub(crate) acls: BTreeMap<&'a NetworkAclId, usize>,
    pub(crate) gateways: BTreeMap<&'a GatewayId, usize>,
    pub(crate) endpoints: BTreeMap<&'a EndpointId, usize>,
    pub(crate) peerings: BTreeMap<&'a PeeringId, usize>,
}

impl<'a> LiveIndex<'a> {
    pub(crate) fn new(p: &'a Plan) -> LiveIndex<'a> {
        fn index<'a, T, K: Ord>(list: &'a [T], key: impl Fn(&'a T) -> &'a K) -> BTreeMap<&'a K, usize> {
            let mut m = BTreeMap::new();
            for (i, x) in list.iter().enumerate() {
                m.entry(key(x)).or_insert(i);
            }
            m
        }
        LiveIndex {
            vpcs: index(&p.vpcs, |v| &v.id),
            subnets: index(&p.subnets, |s| &s.id),
            tables: index(&p.route_tables, |t| &t.id),
            groups: index(&p.security_groups, |g| &g.id),
            acls: index(&p.network_acls, |a| &a.id),
            gateways: index(&p.gateways, |g| &g.id),
            endpoints: index(&p.endpoints, |e| &e.id),
            peerings: index(&p.peerings, |x| &x.id),
        }
    }
}

/// Binds desired objects to live ones: recorded bindings that still hold first, then natural keys. Returns the
/// bindings and which VPC bindings are adoptions (made by natural key).
fn bind(desired: &Plan, live: &Plan, recorded: &Bindings, ix: &LiveIndex<'_>) -> (Bindings, BTreeSet<VpcId>) {
    let mut b = Bindings::default();
    let mut adopted = BTreeSet::new();

    // VPCs: same account, region and primary block, recorded first.
    let same = |d: &Vpc, l: &Vpc| d.account == l.account && d.region == l.region && d.cidr == l.cidr;
    let mut taken: BTreeSet<&VpcId> = BTreeSet::new();
    for d in &desired.vpcs {
        if let Some(l) = recorded
            .vpcs
            .get(&d.id)
            .and_then(|l| ix.vpcs.get(l))
            .map(|&i| &live.vpcs[i])
        {
            if same(d, l) && taken.insert(&l.id) {
                b.vpcs.insert(d.id.clone(), l.id.clone());
            }
        }
    }
    for d in &desired.vpcs {
        if b.vpcs.contains_key(&d.id) {
            continue;
        }
        if let Some(l) = live.vpcs.iter().find(|l| same(d, l) && !taken.contains(&l.id)) {
            taken.insert(&l.id);
            b.vpcs.insert(d.id.clone(), l.id.clone());
            adopted.insert(d.id.clone());
        }
    }

    // Generic two-pass binding of objects inside a bound parent.
    /// `known`: the recorded bindings and the live list's index by id.
    fn two_pass<'l, D, L, K: Ord + Clone>(
        desired: &[D],
        live: &'l [L],
        known: (&BTreeMap<K, K>, &BTreeMap<&'l K, usize>),
        d_id: impl Fn(&D) -> &K,
        l_id: impl Fn(&L) -> &K,
        recorded_ok: impl Fn(&D, &L) -> bool,
        natural: impl Fn(&D, &L) -> bool,
    ) -> BTreeMap<K, K> {
        let (recorded, ix) = known;
        let mut out = BTreeMap::new();
        let mut taken: BTreeSet<&K> = BTreeSet::new();
        for d in desired {
            if let Some(&i) = recorded.get(d_id(d)).and_then(|l| ix.get(l)) {
                let l = &live[i];
                if recorded_ok(d, l) && taken.insert(l_id(l)) {
                    out.insert(d_id(d).clone(), l_id(l).clone());
                }
            }
        }
        for d in desired {
            if out.contains_key(d_id(d)) {
                continue;
            }
            if let Some(l) = live.iter().find(|l| natural(d, l) && !taken.contains(l_id(l))) {
                taken.insert(l_id(l));
                out.insert(d_id(d).clone(), l_id(l).clone());
            }
        }
        out
    }

    let vpc_ok = |d: &VpcId, l: &VpcId| b.vpcs.get(d) == Some(l);
    b.subnets = two_pass(
        &desired.subnets,
        &live.subnets,
        (&recorded.subnets, &ix.subnets),
        |s| &s.id,
        |s| &s.id,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.cidr == l.cidr,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.cidr == l.cidr,
    );
    b.route_tables = two_pass(
        &desired.route_tables,
        &live.route_tables,
        (&recorded.route_tables, &ix.tables),
        |t| &t.id,
        |t| &t.id,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.main == l.main,
        |d, l| {
            vpc_ok(&d.vpc, &l.vpc)
                && (d.main && l.main
                    || !d.main && !l.main && same_or_none(&d.subnets, &l.subnets, &b.subnets))
        },
    );
    b.security_groups = two_pass(
        &desired.security_groups,
        &live.security_groups,
        (&recorded.security_groups, &ix.groups),
        |g| &g.id,
        |g| &g.id,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && is_default_group(d) == is_default_group(l),
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.name == l.name,
    );
    b.network_acls = two_pass(
        &desired.network_acls,
        &live.network_acls,
        (&recorded.network_acls, &ix.acls),
        |a| &a.id,
        |a| &a.id,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.default == l.default,
        |d, l| {
            vpc_ok(&d.vpc, &l.vpc)
                && (d.default && l.default
                    || !d.default && !l.default && same_or_none(&d.subnets, &l.subnets, &b.subnets))
        },
    );
    b.gateways = two_pass(
        &desired.gateways,
        &live.gateways,
        (&recorded.gateways, &ix.gateways),
        |g| &g.id,
        |g| &g.id,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.kind == l.kind,
        |d, l| vpc_ok(&d.vpc, &l.vpc) && d.kind == l.kind && d.name == l.name,
    );
    let subnet_ok = |d: &SubnetId, l: &SubnetId| b.subnets.get(d) == Some(l);
    b.endpoints = two_pass(
        &desired.endpoints,
        &live.endpoints,
        (&recorded.endpoints, &ix.endpoints),
        |e| &e.id,
        |e| &e.id,
        |d, l| subnet_ok(&d.subnet, &l.subnet),
        |d, l| subnet_ok(&d.subnet, &l.subnet) && d.ipv4 == l.ipv4 && d.ipv6 == l.ipv6,
    );
    let pair_ok = |d: &Peering, l: &Peering| {
        d.status.is_live()
            && l.status.is_live()
            && vpc_ok(&d.requester.vpc, &l.requester.vpc)
            && vpc_ok(&d.accepter.vpc, &l.accepter.vpc)
    };
    b.peerings = two_pass(
        &desired.peerings,
        &live.peerings,
        (&recorded.peerings, &ix.peerings),
        |p| &p.id,
        |p| &p.id,
        pair_ok,
        pair_ok,
    );
    (b, adopted)
}

/// The natural key of a route table or ACL that is not its VPC's main/default one: it holds the same subnets
/// (mapped through the subnet bindings), or holds none yet — one a run made and could not record before it was
/// cut short, found again instead of deleted and made anew.
fn same_or_none(desired: &[SubnetId], live: &[SubnetId], subnets: &BTreeMap<SubnetId, SubnetId>) -> bool {
    if live.is_empty() {
        return true;
    }
    let want: BTreeSet<Option<&SubnetId>> = desired.iter().map(|s| subnets.get(s)).collect();
    let have: BTreeSet<Option<&SubnetId>> = live.iter().map(Some).collect();
    want == have
}

/// The desired state against the live one, as an ordered change set. `bindings` are the recorded plan → live ids
/// (empty on a first apply); see the [module docs](self) for how objects bind and in which order steps run.
pub fn diff(desired: &Plan, live: &Plan, bindings: &Bindings) -> Result<ChangeSet, ChangeSetError> {
    let ix = LiveIndex::new(live);
    let (bound, adopted) = bind(desired, live, bindings, &ix);
    let mut b = Builder {
        desired,
        live,
        bound,
        steps: Vec::new(),
        edges: Vec::new(),
        producer: HashMap::new(),
        deleter: HashMap::new(),
        block_producers: HashMap::new(),
        wait: HashMap::new(),
        desired_account: desired.vpcs.iter().map(|v| (&v.id, &v.account)).collect(),
        live_account: live.vpcs.iter().map(|v| (&v.id, &v.account)).collect(),
        desired_peerings: desired.peerings.iter().rev().map(|p| (&p.id, p)).collect(),
    };
    b.deletes(&ix);
    b.vpcs(&ix, &adopted);
    b.containers(&ix);
    b.peerings(&ix);
    b.children(&ix);
    b.delete_edges(&ix);
    let Builder {
        steps, edges, bound, ..
    } = b;
    let (steps, graph) = order(steps, &edges)?;
    Ok(ChangeSet { steps, graph, bound })
}

impl<'a> Builder<'a> {
    /// Live ids some desired object binds, per kind.
    fn taken<K: Ord + Clone>(map: &BTreeMap<K, K>) -> BTreeSet<K> {
        map.values().cloned().collect()
    }

    /// Delete steps for every live object nothing binds (implicit objects aside); edges among deletes come in
    /// [`Builder::delete_edges`].
    fn deletes(&mut self, ix: &LiveIndex<'a>) {
        let live = self.live;
        let vpcs = Self::taken(&self.bound.vpcs);
        let peerings = Self::taken(&self.bound.peerings);
        for p in &live.peerings {
            if p.status.is_live() && !peerings.contains(&p.id) {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::Peering,
                    p.id.as_str(),
                    Some(p.id.0.clone()),
                    self.live_account_of(&p.requester.vpc),
                    format!(
                        "peering {} ({} ↔ {}, {})",
                        p.id, p.requester.vpc, p.accepter.vpc, p.status
                    ),
                    Op::DeletePeering { live: p.id.clone() },
                );
                self.deleter.insert((ObjectKind::Peering, p.id.0.clone()), s);
            }
        }
        let endpoints = Self::taken(&self.bound.endpoints);
        for e in &live.endpoints {
            if !endpoints.contains(&e.id) {
                let vpc = ix
                    .subnets
                    .get(&e.subnet)
                    .map(|&i| live.subnets[i].vpc.clone())
                    .unwrap_or_default();
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::Endpoint,
                    e.id.as_str(),
                    Some(e.id.0.clone()),
                    self.live_account_of(&vpc),
                    format!("endpoint {} in {}", e.label(), e.subnet),
                    Op::DeleteEndpoint { live: e.id.clone() },
                );
                self.deleter.insert((ObjectKind::Endpoint, e.id.0.clone()), s);
            }
        }
        let gateways = Self::taken(&self.bound.gateways);
        for g in &live.gateways {
            if !gateways.contains(&g.id) {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::Gateway,
                    g.id.as_str(),
                    Some(g.id.0.clone()),
                    self.live_account_of(&g.vpc),
                    format!("{} gateway {} in {}", kind_word(g.kind), g.id, g.vpc),
                    Op::DeleteGateway { live: g.id.clone() },
                );
                self.deleter.insert((ObjectKind::Gateway, g.id.0.clone()), s);
            }
        }
        let tables = Self::taken(&self.bound.route_tables);
        for t in &live.route_tables {
            if !tables.contains(&t.id) && !t.main {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::RouteTable,
                    t.id.as_str(),
                    Some(t.id.0.clone()),
                    self.live_account_of(&t.vpc),
                    format!("route table {} in {} ({} routes)", t.id, t.vpc, t.routes.len()),
                    Op::DeleteRouteTable { live: t.id.clone() },
                );
                self.deleter.insert((ObjectKind::RouteTable, t.id.0.clone()), s);
            }
        }
        let groups = Self::taken(&self.bound.security_groups);
        for g in &live.security_groups {
            if !groups.contains(&g.id) && !is_default_group(g) {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::SecurityGroup,
                    g.id.as_str(),
                    Some(g.id.0.clone()),
                    self.live_account_of(&g.vpc),
                    format!("security group {} ({}) in {}", g.id, g.name, g.vpc),
                    Op::DeleteSecurityGroup { live: g.id.clone() },
                );
                self.deleter
                    .insert((ObjectKind::SecurityGroup, g.id.0.clone()), s);
            }
        }
        let acls = Self::taken(&self.bound.network_acls);
        for a in &live.network_acls {
            if !acls.contains(&a.id) && !a.default {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::NetworkAcl,
                    a.id.as_str(),
                    Some(a.id.0.clone()),
                    self.live_account_of(&a.vpc),
                    format!("network ACL {} in {}", a.id, a.vpc),
                    Op::DeleteNetworkAcl { live: a.id.clone() },
                );
                self.deleter.insert((ObjectKind::NetworkAcl, a.id.0.clone()), s);
            }
        }
        let subnets = Self::taken(&self.bound.subnets);
        for sn in &live.subnets {
            if !subnets.contains(&sn.id) {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::Subnet,
                    sn.id.as_str(),
                    Some(sn.id.0.clone()),
                    self.live_account_of(&sn.vpc),
                    format!("subnet {} ({}) in {}", sn.id, sn.cidr, sn.vpc),
                    Op::DeleteSubnet { live: sn.id.clone() },
                );
                self.deleter.insert((ObjectKind::Subnet, sn.id.0.clone()), s);
            }
        }
        for v in &live.vpcs {
            if !vpcs.contains(&v.id) {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::Vpc,
                    v.id.as_str(),
                    Some(v.id.0.clone()),
                    v.account.clone(),
                    format!("VPC {} ({}, {}/{})", v.label(), v.cidr, v.account, v.region),
                    Op::DeleteVpc { live: v.id.clone() },
                );
                self.deleter.insert((ObjectKind::Vpc, v.id.0.clone()), s);
            }
        }
        // Children of live containers no desired object binds and that are not deleted on their own (the implicit
        // ones): routes over a deleted peering or gateway, rules naming a deleted group.
        for t in &live.route_tables {
            if tables.contains(&t.id) || !t.main {
                continue;
            }
            for r in &t.routes {
                if let Some(d) = self.target_deleter(&r.target) {
                    let st = self.step(
                        ChangeAction::Delete,
                        ObjectKind::Route,
                        format!("{}:{}", t.id, r.destination),
                        None,
                        self.live_account_of(&t.vpc),
                        format!("{} → {} in {}", r.destination, r.target, t.id),
                        Op::DeleteRoute {
                            table: Handle::Live(t.id.0.clone()),
                            destination: r.destination,
                        },
                    );
                    self.edges.push((st, d));
                }
            }
        }
        // A group is not deleted while another group's rule names it: such rules of groups that are deleted or
        // left alone go first (rules of bound groups are diffed in `children`).
        for g in &live.security_groups {
            if groups.contains(&g.id) {
                continue;
            }
            let own = self.deleter(ObjectKind::SecurityGroup, g.id.as_str());
            for (direction, rules) in [
                (SgDirection::Ingress, &g.ingress),
                (SgDirection::Egress, &g.egress),
            ] {
                for r in rules {
                    let named =
                        r.sg.as_ref()
                            .filter(|s| s.group != g.id)
                            .and_then(|s| self.deleter(ObjectKind::SecurityGroup, s.group.as_str()));
                    if let Some(named) = named {
                        let st = self.step(
                            ChangeAction::Delete,
                            ObjectKind::SgRule,
                            format!("{}:{}", g.id, rule_text(direction, r)),
                            None,
                            self.live_account_of(&g.vpc),
                            format!("{} in {}", rule_text(direction, r), g.id),
                            Op::DeleteSgRule {
                                group: Handle::Live(g.id.0.clone()),
                                direction,
                                rule: r.clone(),
                                live_refs: true,
                            },
                        );
                        self.edges.push((st, named));
                        self.edge(Some(st), own.unwrap_or(st));
                    }
                }
            }
        }
    }

    /// The step deleting a live route target (peering or gateway), if it is deleted.
    fn target_deleter(&self, t: &Target) -> Option<usize> {
        match t {
            Target::Peering(p) => self.deleter(ObjectKind::Peering, p.as_str()),
            Target::InternetGateway(g)
            | Target::NatGateway(g)
            | Target::VpnGateway(g)
            | Target::GatewayEndpoint(g) => self.deleter(ObjectKind::Gateway, g.as_str()),
            Target::Local | Target::Blackhole => None,
        }
    }

    /// VPCs: create, adopt, rename, blocks.
    fn vpcs(&mut self, ix: &LiveIndex<'a>, adopted: &BTreeSet<VpcId>) {
        let desired = self.desired;
        // The objects of each desired VPC, gathered once (not a scan of every list per VPC).
        let mut children: HashMap<&VpcId, Vec<(ObjectKind, String)>> = HashMap::new();
        let mut add = |vpc: &'a VpcId, kind: ObjectKind, id: &str| {
            children.entry(vpc).or_default().push((kind, id.to_string()));
        };
        for x in &desired.subnets {
            add(&x.vpc, ObjectKind::Subnet, x.id.as_str());
        }
        for x in &desired.route_tables {
            add(&x.vpc, ObjectKind::RouteTable, x.id.as_str());
        }
        for x in &desired.security_groups {
            add(&x.vpc, ObjectKind::SecurityGroup, x.id.as_str());
        }
        for x in &desired.network_acls {
            add(&x.vpc, ObjectKind::NetworkAcl, x.id.as_str());
        }
        for x in &desired.gateways {
            add(&x.vpc, ObjectKind::Gateway, x.id.as_str());
        }
        // The main route table, default ACL and default group each new VPC comes with (the first in the plan),
        // by VPC: looked up per VPC, so found once, not by a scan per VPC.
        fn first_per_vpc<'p, T, I: 'p>(
            list: &'p [T],
            pick: impl Fn(&T) -> bool,
            parts: impl Fn(&'p T) -> (&'p VpcId, &'p I),
        ) -> HashMap<&'p VpcId, &'p I> {
            let mut first = HashMap::new();
            for x in list.iter().filter(|x| pick(x)) {
                let (vpc, id) = parts(x);
                first.entry(vpc).or_insert(id);
            }
            first
        }
        let main_tables = first_per_vpc(&desired.route_tables, |t| t.main, |t| (&t.vpc, &t.id));
        let default_acls = first_per_vpc(&desired.network_acls, |a| a.default, |a| (&a.vpc, &a.id));
        let default_groups = first_per_vpc(&desired.security_groups, is_default_group, |g| (&g.vpc, &g.id));
        for v in &desired.vpcs {
            let Some(l) = self
                .bound
                .vpcs
                .get(&v.id)
                .and_then(|l| ix.vpcs.get(l))
                .map(|&i| &self.live.vpcs[i])
            else {
                let main_table = main_tables.get(&v.id).map(|&t| t.clone());
                let default_acl = default_acls.get(&v.id).map(|&a| a.clone());
                let default_sg = default_groups.get(&v.id).map(|&g| g.clone());
                let mut blocks: Vec<String> = v.blocks().map(|b| b.to_string()).collect();
                let first = blocks.remove(0);
                let s = self.step(
                    ChangeAction::Create,
                    ObjectKind::Vpc,
                    v.id.as_str(),
                    None,
                    v.account.clone(),
                    format!(
                        "VPC {}: {first}{} in {}/{}",
                        v.label(),
                        if blocks.is_empty() {
                            String::new()
                        } else {
                            format!(" + {}", blocks.join(", "))
                        },
                        v.account,
                        v.region
                    ),
                    Op::CreateVpc {
                        vpc: v.clone(),
                        main_table: main_table.clone(),
                        default_acl: default_acl.clone(),
                        default_sg: default_sg.clone(),
                    },
                );
                self.producer.insert((ObjectKind::Vpc, v.id.0.clone()), s);
                if let Some(t) = main_table {
                    self.producer.insert((ObjectKind::RouteTable, t.0), s);
                }
                if let Some(a) = default_acl {
                    self.producer.insert((ObjectKind::NetworkAcl, a.0), s);
                }
                if let Some(g) = default_sg {
                    self.producer.insert((ObjectKind::SecurityGroup, g.0), s);
                }
                continue;
            };
            let live_id = Some(l.id.0.clone());
            let mut anchor = None;
            if adopted.contains(&v.id) {
                let s = self.step(
                    ChangeAction::Adopt,
                    ObjectKind::Vpc,
                    v.id.as_str(),
                    live_id.clone(),
                    v.account.clone(),
                    format!(
                        "VPC {} is live {} (same account, region and primary block {})",
                        v.label(),
                        l.id,
                        v.cidr
                    ),
                    Op::AdoptVpc {
                        vpc: v.id.clone(),
                        live: l.id.clone(),
                    },
                );
                self.producer.insert((ObjectKind::Vpc, v.id.0.clone()), s);
                anchor = Some(s);
            }
            if v.name != l.name {
                let s = self.step(
                    ChangeAction::Update,
                    ObjectKind::Vpc,
                    v.id.as_str(),
                    live_id.clone(),
                    v.account.clone(),
                    format!("VPC {}: name {:?} → {:?}", v.id, l.name, v.name),
                    Op::UpdateVpc {
                        vpc: v.id.clone(),
                        name: v.name.clone(),
                    },
                );
                self.edge(anchor, s);
            }
            let want: BTreeSet<Cidr> = v.secondary_cidrs.iter().chain(&v.ipv6_cidrs).copied().collect();
            let have: BTreeSet<Cidr> = l.secondary_cidrs.iter().chain(&l.ipv6_cidrs).copied().collect();
            for c in want.difference(&have) {
                let s = self.step(
                    ChangeAction::Create,
                    ObjectKind::VpcBlock,
                    format!("{}:{c}", v.id),
                    live_id.clone(),
                    v.account.clone(),
                    format!("block {c} of VPC {}", v.label()),
                    Op::CreateVpcBlock {
                        vpc: v.id.clone(),
                        cidr: *c,
                    },
                );
                self.edge(anchor, s);
                self.producer
                    .insert((ObjectKind::VpcBlock, format!("{}:{c}", v.id)), s);
                self.block_producers.entry(v.id.0.clone()).or_default().push(s);
            }
            for c in have.difference(&want) {
                let s = self.step(
                    ChangeAction::Delete,
                    ObjectKind::VpcBlock,
                    format!("{}:{c}", l.id),
                    live_id.clone(),
                    v.account.clone(),
                    format!("block {c} of VPC {}", l.label()),
                    Op::DeleteVpcBlock {
                        live: l.id.clone(),
                        cidr: *c,
                    },
                );
                self.deleter
                    .insert((ObjectKind::VpcBlock, format!("{}:{c}", l.id)), s);
            }
            if let Some(a) = anchor {
                // Everything the adopted VPC already holds is bound through the adoption.
                for (kind, id) in children.get(&v.id).into_iter().flatten() {
                    self.producer.entry((*kind, id.clone())).or_insert(a);
                }
            }
        }
    }

    /// The live index of a desired VPC's bound VPC.
    fn live_vpc(&self, ix: &LiveIndex<'a>, v: &VpcId) -> Option<&'a Vpc> {
        self.bound
            .vpcs
            .get(v)
            .and_then(|l| ix.vpcs.get(l))
            .map(|&i| &self.live.vpcs[i])
    }

    /// The producer of a VPC, and its block creates (a subnet or peering needs the blocks).
    fn vpc_ready(&self, v: &VpcId) -> Vec<usize> {
        let mut out: Vec<usize> = self.producer(ObjectKind::Vpc, v.as_str()).into_iter().collect();
        out.extend(self.block_producers.get(v.as_str()).into_iter().flatten());
        out
    }

    /// Subnets, route tables, security groups, network ACLs, gateways, endpoints.
    fn containers(&mut self, ix: &LiveIndex<'a>) {
        let (desired, live) = (self.desired, self.live);
        let mut live_subnets: HashMap<&VpcId, Vec<&Subnet>> = HashMap::new();
        for x in &live.subnets {
            live_subnets.entry(&x.vpc).or_default().push(x);
        }
        // Subnets.
        for s in &desired.subnets {
            let account = self.account_of(&s.vpc);
            match self
                .bound
                .subnets
                .get(&s.id)
                .and_then(|l| ix.subnets.get(l))
                .map(|&i| &live.subnets[i])
            {
                Some(l) => {
                    if s.az != l.az || s.ipv6_cidr != l.ipv6_cidr {
                        self.step(
                            ChangeAction::Update,
                            ObjectKind::Subnet,
                            s.id.as_str(),
                            Some(l.id.0.clone()),
                            account,
                            format!("subnet {} ({}): zone {:?} → {:?}", s.id, s.cidr, l.az, s.az),
                            Op::UpdateSubnet { subnet: s.clone() },
                        );
                    }
                }
                None => {
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::Subnet,
                        s.id.as_str(),
                        None,
                        account,
                        format!(
                            "subnet {} {} in {}{}",
                            s.id,
                            s.cidr,
                            s.vpc,
                            if s.az.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", s.az)
                            }
                        ),
                        Op::CreateSubnet { subnet: s.clone() },
                    );
                    for d in self.vpc_ready(&s.vpc) {
                        self.edge(Some(d), st);
                    }
                    // A live subnet overlapping it in the same VPC goes first.
                    if let Some(lv) = self.live_vpc(ix, &s.vpc) {
                        for ls in live_subnets
                            .get(&lv.id)
                            .into_iter()
                            .flatten()
                            .filter(|x| x.cidr.overlaps(&s.cidr))
                        {
                            let d = self.deleter(ObjectKind::Subnet, ls.id.as_str());
                            self.edge(d, st);
                        }
                    }
                    self.producer.insert((ObjectKind::Subnet, s.id.0.clone()), st);
                }
            }
        }
        // Route tables.
        for t in &desired.route_tables {
            let account = self.account_of(&t.vpc);
            let baseline = self.baseline_table(ix, t);
            let want = self.subnet_set(&t.subnets);
            match baseline {
                Baseline::Bound(i) => {
                    let l = &live.route_tables[i];
                    let have: BTreeSet<Handle> =
                        l.subnets.iter().map(|s| Handle::Live(s.0.clone())).collect();
                    if want != have {
                        let st = self.step(
                            ChangeAction::Update,
                            ObjectKind::RouteTable,
                            t.id.as_str(),
                            Some(l.id.0.clone()),
                            account,
                            format!("route table {}: subnets {}", t.id, list(&t.subnets)),
                            Op::UpdateRouteTable {
                                table: t.id.clone(),
                                subnets: t.subnets.clone(),
                            },
                        );
                        self.deleter.insert((ObjectKind::RouteTable, l.id.0.clone()), st);
                        self.association_edges(st, &t.subnets);
                        let p = self.producer(ObjectKind::RouteTable, t.id.as_str());
                        self.edge(p, st);
                    }
                }
                Baseline::Implicit => {
                    if !t.subnets.is_empty() {
                        let st = self.step(
                            ChangeAction::Update,
                            ObjectKind::RouteTable,
                            t.id.as_str(),
                            None,
                            account,
                            format!("main route table {}: subnets {}", t.id, list(&t.subnets)),
                            Op::UpdateRouteTable {
                                table: t.id.clone(),
                                subnets: t.subnets.clone(),
                            },
                        );
                        let p = self.producer(ObjectKind::RouteTable, t.id.as_str());
                        self.edge(p, st);
                        self.association_edges(st, &t.subnets);
                    }
                }
                Baseline::Created => {
                    let mut table = t.clone();
                    table.routes.clear();
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::RouteTable,
                        t.id.as_str(),
                        None,
                        account,
                        format!(
                            "{}route table {} in {}{}",
                            if t.main { "main " } else { "" },
                            t.id,
                            t.vpc,
                            if t.subnets.is_empty() {
                                String::new()
                            } else {
                                format!(", subnets {}", list(&t.subnets))
                            }
                        ),
                        Op::CreateRouteTable { table },
                    );
                    for d in self.vpc_ready(&t.vpc) {
                        self.edge(Some(d), st);
                    }
                    self.association_edges(st, &t.subnets);
                    self.producer.insert((ObjectKind::RouteTable, t.id.0.clone()), st);
                }
            }
        }
        // Security groups.
        for g in &desired.security_groups {
            let account = self.account_of(&g.vpc);
            match self.baseline_group(ix, g) {
                Baseline::Bound(i) => {
                    let l = &live.security_groups[i];
                    if l.name != g.name {
                        let st = self.step(
                            ChangeAction::Update,
                            ObjectKind::SecurityGroup,
                            g.id.as_str(),
                            Some(l.id.0.clone()),
                            account,
                            format!("security group {}: name {:?} → {:?}", g.id, l.name, g.name),
                            Op::UpdateSecurityGroup {
                                group: g.id.clone(),
                                name: g.name.clone(),
                            },
                        );
                        let p = self.producer(ObjectKind::SecurityGroup, g.id.as_str());
                        self.edge(p, st);
                    }
                }
                Baseline::Implicit => {}
                Baseline::Created => {
                    let mut group = g.clone();
                    group.ingress.clear();
                    group.egress.clear();
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::SecurityGroup,
                        g.id.as_str(),
                        None,
                        account,
                        format!("security group {} ({}) in {}", g.id, g.name, g.vpc),
                        Op::CreateSecurityGroup { group },
                    );
                    for d in self.vpc_ready(&g.vpc) {
                        self.edge(Some(d), st);
                    }
                    self.producer
                        .insert((ObjectKind::SecurityGroup, g.id.0.clone()), st);
                }
            }
        }
        // Network ACLs.
        for a in &desired.network_acls {
            let account = self.account_of(&a.vpc);
            let want = self.subnet_set(&a.subnets);
            match self.baseline_acl(ix, a) {
                Baseline::Bound(i) => {
                    let l = &live.network_acls[i];
                    let have: BTreeSet<Handle> =
                        l.subnets.iter().map(|s| Handle::Live(s.0.clone())).collect();
                    if want != have {
                        let st = self.step(
                            ChangeAction::Update,
                            ObjectKind::NetworkAcl,
                            a.id.as_str(),
                            Some(l.id.0.clone()),
                            account,
                            format!("network ACL {}: subnets {}", a.id, list(&a.subnets)),
                            Op::UpdateNetworkAcl {
                                acl: a.id.clone(),
                                subnets: a.subnets.clone(),
                            },
                        );
                        self.deleter.insert((ObjectKind::NetworkAcl, l.id.0.clone()), st);
                        self.association_edges(st, &a.subnets);
                        let p = self.producer(ObjectKind::NetworkAcl, a.id.as_str());
                        self.edge(p, st);
                    }
                }
                Baseline::Implicit => {
                    if !a.subnets.is_empty() {
                        let st = self.step(
                            ChangeAction::Update,
                            ObjectKind::NetworkAcl,
                            a.id.as_str(),
                            None,
                            account,
                            format!("default network ACL {}: subnets {}", a.id, list(&a.subnets)),
                            Op::UpdateNetworkAcl {
                                acl: a.id.clone(),
                                subnets: a.subnets.clone(),
                            },
                        );
                        let p = self.producer(ObjectKind::NetworkAcl, a.id.as_str());
                        self.edge(p, st);
                        self.association_edges(st, &a.subnets);
                    }
                }
                Baseline::Created => {
                    let mut acl = a.clone();
                    acl.entries.clear();
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::NetworkAcl,
                        a.id.as_str(),
                        None,
                        account,
                        format!(
                            "network ACL {} in {}{}",
                            a.id,
                            a.vpc,
                            if a.subnets.is_empty() {
                                String::new()
                            } else {
                                format!(", subnets {}", list(&a.subnets))
                            }
                        ),
                        Op::CreateNetworkAcl { acl },
                    );
                    for d in self.vpc_ready(&a.vpc) {
                        self.edge(Some(d), st);
                    }
                    self.association_edges(st, &a.subnets);
                    self.producer.insert((ObjectKind::NetworkAcl, a.id.0.clone()), st);
                }
            }
        }
        // Gateways.
        for g in &desired.gateways {
            let account = self.account_of(&g.vpc);
            match self
                .bound
                .gateways
                .get(&g.id)
                .and_then(|l| ix.gateways.get(l))
                .map(|&i| &live.gateways[i])
            {
                Some(l) => {
                    if l.name != g.name {
                        let st = self.step(
                            ChangeAction::Update,
                            ObjectKind::Gateway,
                            g.id.as_str(),
                            Some(l.id.0.clone()),
                            account,
                            format!("gateway {}: name {:?} → {:?}", g.id, l.name, g.name),
                            Op::UpdateGateway {
                                gateway: g.id.clone(),
                                name: g.name.clone(),
                            },
                        );
                        let p = self.producer(ObjectKind::Gateway, g.id.as_str());
                        self.edge(p, st);
                    }
                }
                None => {
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::Gateway,
                        g.id.as_str(),
                        None,
                        account,
                        format!("{} gateway {} in {}", kind_word(g.kind), g.id, g.vpc),
                        Op::CreateGateway { gateway: g.clone() },
                    );
                    for d in self.vpc_ready(&g.vpc) {
                        self.edge(Some(d), st);
                    }
                    if let Some(sn) = &g.subnet {
                        let p = self.producer(ObjectKind::Subnet, sn.as_str());
                        self.edge(p, st);
                    }
                    self.producer.insert((ObjectKind::Gateway, g.id.0.clone()), st);
                }
            }
        }
        // Endpoints.
        let subnet_vpc: HashMap<&SubnetId, &VpcId> =
            desired.subnets.iter().map(|s| (&s.id, &s.vpc)).collect();
        for e in &desired.endpoints {
            let account = subnet_vpc
                .get(&e.subnet)
                .map(|v| self.account_of(v))
                .unwrap_or_default();
            let bound = self
                .bound
                .endpoints
                .get(&e.id)
                .and_then(|l| ix.endpoints.get(l))
                .map(|&i| &live.endpoints[i]);
            let want_groups: BTreeSet<Handle> =
                e.security_groups.iter().map(|g| self.group_handle(g)).collect();
            let st = match bound {
                Some(l) => {
                    let have_groups: BTreeSet<Handle> = l
                        .security_groups
                        .iter()
                        .map(|g| Handle::Live(g.0.clone()))
                        .collect();
                    let mut ports_want = e.ports.clone();
                    ports_want.sort_unstable();
                    ports_want.dedup();
                    let mut ports_have = l.ports.clone();
                    ports_have.sort_unstable();
                    ports_have.dedup();
                    if l.name == e.name
                        && l.kind == e.kind
                        && ports_want == ports_have
                        && want_groups == have_groups
                    {
                        continue;
                    }
                    let st = self.step(
                        ChangeAction::Update,
                        ObjectKind::Endpoint,
                        e.id.as_str(),
                        Some(l.id.0.clone()),
                        account,
                        {
                            // Only what differs.
                            let mut what = Vec::new();
                            if l.name != e.name {
                                what.push(format!("name {:?} → {:?}", l.name, e.name));
                            }
                            if l.kind != e.kind {
                                what.push(format!("kind {:?} → {:?}", l.kind, e.kind));
                            }
                            if ports_want != ports_have {
                                what.push(format!("ports {ports_have:?} → {ports_want:?}"));
                            }
                            if want_groups != have_groups {
                                what.push(format!("security groups {}", list(&e.security_groups)));
                            }
                            format!("endpoint {}: {}", e.label(), what.join(", "))
                        },
                        Op::UpdateEndpoint { endpoint: e.clone() },
                    );
                    // Groups it no longer uses may be deleted only after.
                    for g in &l.security_groups {
                        if let Some(d) = self.deleter(ObjectKind::SecurityGroup, g.as_str()) {
                            self.edges.push((st, d));
                        }
                    }
                    st
                }
                None => {
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::Endpoint,
                        e.id.as_str(),
                        None,
                        account,
                        format!(
                            "endpoint {} in {}{}",
                            e.label(),
                            e.subnet,
                            e.ipv4.map(|a| format!(" at {a}")).unwrap_or_default()
                        ),
                        Op::CreateEndpoint { endpoint: e.clone() },
                    );
                    let p = self.producer(ObjectKind::Subnet, e.subnet.as_str());
                    self.edge(p, st);
                    self.producer.insert((ObjectKind::Endpoint, e.id.0.clone()), st);
                    st
                }
            };
            for g in &e.security_groups {
                let p = self.producer(ObjectKind::SecurityGroup, g.as_str());
                self.edge(p, st);
            }
        }
    }

    fn baseline_table(&self, ix: &LiveIndex<'a>, t: &RouteTable) -> Baseline {
        match self.bound.route_tables.get(&t.id).and_then(|l| ix.tables.get(l)) {
            Some(&i) => Baseline::Bound(i),
            None if self.live_vpc(ix, &t.vpc).is_none() && self.is_implicit_table(t) => Baseline::Implicit,
            None => Baseline::Created,
        }
    }

    fn baseline_group(&self, ix: &LiveIndex<'a>, g: &SecurityGroup) -> Baseline {
        match self
            .bound
            .security_groups
            .get(&g.id)
            .and_then(|l| ix.groups.get(l))
        {
            Some(&i) => Baseline::Bound(i),
            None if self.live_vpc(ix, &g.vpc).is_none()
                && self.producer(ObjectKind::SecurityGroup, g.id.as_str())
                    == self.producer(ObjectKind::Vpc, g.vpc.as_str())
                && self.producer(ObjectKind::Vpc, g.vpc.as_str()).is_some() =>
            {
                Baseline::Implicit
            }
            None => Baseline::Created,
        }
    }

    fn baseline_acl(&self, ix: &LiveIndex<'a>, a: &NetworkAcl) -> Baseline {
        match self.bound.network_acls.get(&a.id).and_then(|l| ix.acls.get(l)) {
            Some(&i) => Baseline::Bound(i),
            None if self.live_vpc(ix, &a.vpc).is_none()
                && self.producer(ObjectKind::NetworkAcl, a.id.as_str())
                    == self.producer(ObjectKind::Vpc, a.vpc.as_str())
                && self.producer(ObjectKind::Vpc, a.vpc.as_str()).is_some() =>
            {
                Baseline::Implicit
            }
            None => Baseline::Created,
        }
    }

    /// Whether the desired table is the one its (created) VPC comes with.
    fn is_implicit_table(&self, t: &RouteTable) -> bool {
        let vpc = self.producer(ObjectKind::Vpc, t.vpc.as_str());
        vpc.is_some() && self.producer(ObjectKind::RouteTable, t.id.as_str()) == vpc
    }

    /// Desired subnets as handles: live ids where bound.
    fn subnet_set(&self, subnets: &[SubnetId]) -> BTreeSet<Handle> {
        subnets
            .iter()
            .map(|s| match self.bound.subnets.get(s) {
                Some(l) => Handle::Live(l.0.clone()),
                None => Handle::Plan(s.0.clone()),
            })
            .collect()
    }

    fn group_handle(&self, g: &SecurityGroupId) -> Handle {
        match self.bound.security_groups.get(g) {
            Some(l) => Handle::Live(l.0.clone()),
            None => Handle::Plan(g.0.clone()),
        }
    }

    /// A step that associates subnets with a route table or ACL comes after their creation. (Associating moves a
    /// subnet: the table that holds it now need not let go first.)
    fn association_edges(&mut self, st: usize, subnets: &[SubnetId]) {
        for s in subnets {
            let p = self.producer(ObjectKind::Subnet, s.as_str());
            self.edge(p, st);
        }
    }
}

/// `a, b, c` or `none`.
/// A gateway's kind as the detail line names it.
fn kind_word(k: crate::model::GatewayKind) -> &'static str {
    match k {
        crate::model::GatewayKind::Internet => "internet",
        crate::model::GatewayKind::Nat => "nat",
        crate::model::GatewayKind::Vpn => "vpn",
        crate::model::GatewayKind::GatewayEndpoint => "gatewayendpoint",
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
    }
}

impl<'a> Builder<'a> {
    fn desired_peering(&self, id: &PeeringId) -> Option<&'a Peering> {
        self.desired_peerings.get(id).copied()
    }

    fn live_peering(&self, ix: &LiveIndex<'a>, id: &PeeringId) -> Option<&'a Peering> {
        self.bound
            .peerings
            .get(id)
            .and_then(|l| ix.peerings.get(l))
            .map(|&i| &self.live.peerings[i])
    }

    /// Peerings: create (requester), accept (accepter), wait until active, options.
    fn peerings(&mut self, ix: &LiveIndex<'a>) {
        let (desired, live) = (self.desired, self.live);
        for p in &desired.peerings {
            if !p.status.is_live() {
                continue;
            }
            let want_active = p.status == PeeringStatus::Active;
            let (req, acc) = (
                self.account_of(&p.requester.vpc),
                self.account_of(&p.accepter.vpc),
            );
            let cross = req != acc;
            let bound = self.live_peering(ix, &p.id);
            let live_id = bound.map(|l| l.id.0.clone());
            let (created, status) = match bound {
                Some(l) => (None, l.status),
                None => {
                    let auto_accept = !cross && want_active;
                    let st = self.step(
                        ChangeAction::Create,
                        ObjectKind::Peering,
                        p.id.as_str(),
                        None,
                        req.clone(),
                        format!(
                            "peering {}: {} ({req}, {}) → {} ({acc}, {}){}",
                            p.id,
                            p.requester.vpc,
                            p.requester.region,
                            p.accepter.vpc,
                            p.accepter.region,
                            if auto_accept {
                                ", auto_accept".to_string()
                            } else if cross {
                                format!(", to be accepted by {acc}")
                            } else {
                                String::new()
                            }
                        ),
                        Op::CreatePeering {
                            peering: p.clone(),
                            auto_accept,
                        },
                    );
                    for d in self
                        .vpc_ready(&p.requester.vpc)
                        .into_iter()
                        .chain(self.vpc_ready(&p.accepter.vpc))
                    {
                        self.edge(Some(d), st);
                    }
                    // A live peering of the same two VPCs (either way round) is deleted first.
                    let pair: BTreeSet<Option<VpcId>> = [
                        self.bound.vpcs.get(&p.requester.vpc).cloned(),
                        self.bound.vpcs.get(&p.accepter.vpc).cloned(),
                    ]
                    .into();
                    for l in &live.peerings {
                        let lpair: BTreeSet<Option<VpcId>> =
                            [Some(l.requester.vpc.clone()), Some(l.accepter.vpc.clone())].into();
                        if l.status.is_live() && lpair == pair {
                            let d = self.deleter(ObjectKind::Peering, l.id.as_str());
                            self.edge(d, st);
                        }
                    }
                    self.producer.insert((ObjectKind::Peering, p.id.0.clone()), st);
                    (
                        Some(st),
                        if auto_accept {
                            PeeringStatus::Active
                        } else {
                            PeeringStatus::Pending
                        },
                    )
                }
            };
            if !want_active {
                // The plan holds it as requested, not yet accepted: nothing more (its routes are held back).
                continue;
            }
            let mut last = created;
            if status == PeeringStatus::Pending {
                let st = self.step(
                    ChangeAction::Update,
                    ObjectKind::PeeringAccept,
                    p.id.as_str(),
                    live_id.clone(),
                    acc.clone(),
                    format!("accept {} as {acc} (the accepter)", p.id),
                    Op::AcceptPeering {
                        peering: p.id.clone(),
                    },
                );
                self.edge(last, st);
                last = Some(st);
            }
            if created.is_some() || status != PeeringStatus::Active {
                let st = self.step(
                    ChangeAction::Update,
                    ObjectKind::PeeringWait,
                    p.id.as_str(),
                    live_id.clone(),
                    req.clone(),
                    format!("wait until {} is active", p.id),
                    Op::WaitActive {
                        peering: p.id.clone(),
                    },
                );
                self.edge(last, st);
                self.wait.insert(p.id.clone(), st);
                last = Some(st);
            }
            let have = bound.map(|l| l.options.clone()).unwrap_or_default();
            if p.options != have {
                let st = self.step(
                    ChangeAction::Update,
                    ObjectKind::PeeringOptions,
                    p.id.as_str(),
                    live_id.clone(),
                    req.clone(),
                    format!("peering {}: dns_resolution {}", p.id, p.options.dns_resolution),
                    Op::SetPeeringOptions {
                        peering: p.id.clone(),
                        options: p.options.clone(),
                    },
                );
                self.edge(last, st);
            }
        }
    }

    /// A desired route target as compared, and the step it must wait for (a peering's wait, a gateway's create).
    fn desired_target(&self, t: &Target) -> (TargetKey, Option<usize>) {
        let tag = target_tag(t);
        match t {
            Target::Peering(p) => {
                let h = match self.bound.peerings.get(p) {
                    Some(l) => Handle::Live(l.0.clone()),
                    None => Handle::Plan(p.0.clone()),
                };
                (
                    (tag, h),
                    self.wait
                        .get(p)
                        .copied()
                        .or(self.producer(ObjectKind::Peering, p.as_str())),
                )
            }
            Target::InternetGateway(g)
            | Target::NatGateway(g)
            | Target::VpnGateway(g)
            | Target::GatewayEndpoint(g) => {
                let h = match self.bound.gateways.get(g) {
                    Some(l) => Handle::Live(l.0.clone()),
                    None => Handle::Plan(g.0.clone()),
                };
                ((tag, h), self.producer(ObjectKind::Gateway, g.as_str()))
            }
            Target::Local | Target::Blackhole => ((tag, Handle::Live(String::new())), None),
        }
    }

    fn live_target(t: &Target) -> TargetKey {
        let id = match t {
            Target::Peering(p) => p.0.clone(),
            Target::InternetGateway(g)
            | Target::NatGateway(g)
            | Target::VpnGateway(g)
            | Target::GatewayEndpoint(g) => g.0.clone(),
            Target::Local | Target::Blackhole => String::new(),
        };
        (target_tag(t), Handle::Live(id))
    }

    /// Whether routes over this desired peering are held back: the plan holds it as ended, or as pending while it
    /// is not live and active.
    fn held(&self, ix: &LiveIndex<'a>, p: &PeeringId) -> bool {
        match self.desired_peering(p) {
            None => true,
            Some(d) if !d.status.is_live() => true,
            Some(d) if d.status == PeeringStatus::Pending => {
                self.live_peering(ix, p).map(|l| l.status) != Some(PeeringStatus::Active)
            }
            Some(_) => false,
        }
    }

    /// Routes, security-group rules and ACL entries of every desired container.
    fn children(&mut self, ix: &LiveIndex<'a>) {
        let (desired, live) = (self.desired, self.live);
        // Routes.
        for t in &desired.route_tables {
            let baseline = self.baseline_table(ix, t);
            let (have_routes, live_id): (&[Route], Option<String>) = match baseline {
                Baseline::Bound(i) => (
                    &live.route_tables[i].routes,
                    Some(live.route_tables[i].id.0.clone()),
                ),
                _ => (&[], None),
            };
            let container = self.producer(ObjectKind::RouteTable, t.id.as_str());
            let account = self.account_of(&t.vpc);
            let managed = |r: &&Route| !matches!(r.target, Target::Local | Target::Blackhole);
            let mut want: BTreeMap<Cidr, &Route> = BTreeMap::new();
            let mut ignored: BTreeSet<Cidr> = BTreeSet::new();
            for r in t.routes.iter().filter(managed) {
                // One route per destination: the first in the plan.
                if want.contains_key(&r.destination) || ignored.contains(&r.destination) {
                    continue;
                }
                if let Target::Peering(p) = &r.target {
                    if self.held(ix, p) {
                        ignored.insert(r.destination);
                        continue;
                    }
                }
                want.insert(r.destination, r);
            }
            let have: BTreeMap<Cidr, &Route> = have_routes
                .iter()
                .filter(managed)
                .map(|r| (r.destination, r))
                .collect();
            for (dest, r) in &want {
                let (key, ready) = self.desired_target(&r.target);
                let (action, old) = match have.get(dest) {
                    Some(l) if Self::live_target(&l.target) == key => continue,
                    Some(l) => (ChangeAction::Update, Some(*l)),
                    None => (ChangeAction::Create, None),
                };
                let table = Handle::Plan(t.id.0.clone());
                // Moving a route off a peering or gateway that is deleted: delete it before that goes, create it
                // anew after the new target is ready (the new peering of the same pair may need the old one gone).
                let cleared = old.and_then(|l| self.target_deleter(&l.target).map(|d| (l, d)));
                let (action, old) = match cleared {
                    Some((l, d)) => {
                        let del = self.step(
                            ChangeAction::Delete,
                            ObjectKind::Route,
                            format!("{}:{dest}", t.id),
                            live_id.clone(),
                            account.clone(),
                            format!("{dest} → {} in {}", l.target, t.id),
                            Op::DeleteRoute {
                                table: table.clone(),
                                destination: *dest,
                            },
                        );
                        self.edge(container, del);
                        self.edges.push((del, d));
                        let st = self.step(
                            ChangeAction::Create,
                            ObjectKind::Route,
                            format!("{}:{dest}", t.id),
                            live_id.clone(),
                            account.clone(),
                            format!("{dest} → {} in {}", r.target, t.id),
                            Op::CreateRoute {
                                table,
                                route: (*r).clone(),
                            },
                        );
                        self.edges.push((del, st));
                        self.edge(container, st);
                        self.edge(ready, st);
                        continue;
                    }
                    None => (action, old),
                };
                let st = self.step(
                    action,
                    ObjectKind::Route,
                    format!("{}:{dest}", t.id),
                    live_id.clone(),
                    account.clone(),
                    match old {
                        Some(l) => format!("{dest} → {} (was {}) in {}", r.target, l.target, t.id),
                        None => format!("{dest} → {} in {}", r.target, t.id),
                    },
                    if old.is_some() {
                        Op::UpdateRoute {
                            table,
                            route: (*r).clone(),
                        }
                    } else {
                        Op::CreateRoute {
                            table,
                            route: (*r).clone(),
                        }
                    },
                );
                self.edge(container, st);
                self.edge(ready, st);
            }
            for (dest, l) in &have {
                // A held-back destination keeps its live route, unless that route uses something being deleted.
                if want.contains_key(dest)
                    || (ignored.contains(dest) && self.target_deleter(&l.target).is_none())
                {
                    continue;
                }
                let st = self.step(
                    ChangeAction::Delete,
                    ObjectKind::Route,
                    format!("{}:{dest}", t.id),
                    live_id.clone(),
                    account.clone(),
                    format!("{dest} → {} in {}", l.target, t.id),
                    Op::DeleteRoute {
                        table: Handle::Plan(t.id.0.clone()),
                        destination: *dest,
                    },
                );
                self.edge(container, st);
                if let Some(d) = self.target_deleter(&l.target) {
                    self.edges.push((st, d));
                }
            }
        }
        // Security-group rules.
        let group_vpc: HashMap<&SecurityGroupId, &VpcId> =
            desired.security_groups.iter().map(|g| (&g.id, &g.vpc)).collect();
        let live_group_vpc: HashMap<&SecurityGroupId, &VpcId> =
            live.security_groups.iter().map(|g| (&g.id, &g.vpc)).collect();
        for g in &desired.security_groups {
            let baseline = self.baseline_group(ix, g);
            let container = self.producer(ObjectKind::SecurityGroup, g.id.as_str());
            let account = self.account_of(&g.vpc);
            // Every live rule (a live group could hold one twice: each copy not wanted is deleted).
            let mut have: Vec<(RuleKey, (SgDirection, SgRule))> = Vec::new();
            let mut live_id = None;
            match baseline {
                Baseline::Bound(i) => {
                    let l = &live.security_groups[i];
                    live_id = Some(l.id.0.clone());
                    for (d, rules) in [
                        (SgDirection::Ingress, &l.ingress),
                        (SgDirection::Egress, &l.egress),
                    ] {
                        for r in rules {
                            have.push((rule_key(d, r, |x| Handle::Live(x.0.clone())), (d, r.clone())));
                        }
                    }
                }
                Baseline::Implicit => {
                    let (ingress, egress) = default_group_rules(&g.id);
                    for (d, rules) in [(SgDirection::Ingress, &ingress), (SgDirection::Egress, &egress)] {
                        for r in rules {
                            have.push((rule_key(d, r, |x| Handle::Plan(x.0.clone())), (d, r.clone())));
                        }
                    }
                }
                Baseline::Created => {}
            }
            let mut want: BTreeMap<RuleKey, (SgDirection, &SgRule)> = BTreeMap::new();
            for (d, rules) in [
                (SgDirection::Ingress, &g.ingress),
                (SgDirection::Egress, &g.egress),
            ] {
                for r in rules {
                    want.entry(rule_key(d, r, |x| self.group_handle(x)))
                        .or_insert((d, r));
                }
            }
            for (key, (d, r)) in &want {
                if have.iter().any(|(k, _)| k == key) {
                    continue;
                }
                let text = rule_text(*d, r);
                let st = self.step(
                    ChangeAction::Create,
                    ObjectKind::SgRule,
                    format!("{}:{text}", g.id),
                    live_id.clone(),
                    account.clone(),
                    format!("{text} in {} ({})", g.id, g.name),
                    Op::CreateSgRule {
                        group: Handle::Plan(g.id.0.clone()),
                        direction: *d,
                        rule: (*r).clone(),
                    },
                );
                self.edge(container, st);
                if let Some(named) = &r.sg {
                    let p = self.producer(ObjectKind::SecurityGroup, named.group.as_str());
                    self.edge(p, st);
                    // A rule naming a peer VPC's group waits for the peering between the two VPCs.
                    if let Some(&other) = group_vpc.get(&named.group) {
                        if other != &g.vpc {
                            for p in &desired.peerings {
                                let joins = (p.requester.vpc == g.vpc && &p.accepter.vpc == other)
                                    || (&p.requester.vpc == other && p.accepter.vpc == g.vpc);
                                if joins {
                                    let w = self.wait.get(&p.id).copied();
                                    self.edge(w, st);
                                }
                            }
                        }
                    }
                }
            }
            for (key, (d, r)) in &have {
                if want.contains_key(key) {
                    continue;
                }
                let text = rule_text(*d, r);
                let st = self.step(
                    ChangeAction::Delete,
                    ObjectKind::SgRule,
                    format!("{}:{text}", g.id),
                    live_id.clone(),
                    account.clone(),
                    format!("{text} in {} ({})", g.id, g.name),
                    Op::DeleteSgRule {
                        group: Handle::Plan(g.id.0.clone()),
                        direction: *d,
                        rule: r.clone(),
                        live_refs: matches!(baseline, Baseline::Bound(_)),
                    },
                );
                self.edge(container, st);
                if let (Some(named), Baseline::Bound(i)) = (&r.sg, baseline) {
                    // References go before the group they name (or its VPC) and before the peering to its VPC.
                    if let Some(dl) = self.deleter(ObjectKind::SecurityGroup, named.group.as_str()) {
                        self.edges.push((st, dl));
                    }
                    let own_vpc = &live.security_groups[i].vpc;
                    if let Some(&other) = live_group_vpc.get(&named.group) {
                        if let Some(dv) = self.deleter(ObjectKind::Vpc, other.as_str()) {
                            self.edges.push((st, dv));
                        }
                        for p in &live.peerings {
                            let joins = (&p.requester.vpc == own_vpc && &p.accepter.vpc == other)
                                || (&p.requester.vpc == other && &p.accepter.vpc == own_vpc);
                            if joins {
                                if let Some(dl) = self.deleter(ObjectKind::Peering, p.id.as_str()) {
                                    self.edges.push((st, dl));
                                }
                            }
                        }
                    }
                }
            }
        }
        // ACL entries.
        for a in &desired.network_acls {
            let baseline = self.baseline_acl(ix, a);
            let container = self.producer(ObjectKind::NetworkAcl, a.id.as_str());
            let account = self.account_of(&a.vpc);
            let defaults = default_acl_entries();
            let (have_entries, live_id): (&[AclEntry], Option<String>) = match baseline {
                Baseline::Bound(i) => (
                    &live.network_acls[i].entries,
                    Some(live.network_acls[i].id.0.clone()),
                ),
                Baseline::Implicit => (&defaults, None),
                Baseline::Created => (&[], None),
            };
            let mut want: BTreeMap<(Direction, u16), &AclEntry> = BTreeMap::new();
            for e in &a.entries {
                want.entry((e.direction, e.rule)).or_insert(e);
            }
            let have: BTreeMap<(Direction, u16), &AclEntry> =
                have_entries.iter().map(|e| ((e.direction, e.rule), e)).collect();
            for (key, e) in &want {
                let action = match have.get(key) {
                    Some(l) if entry_value(l) == entry_value(e) => continue,
                    Some(_) => ChangeAction::Update,
                    None => ChangeAction::Create,
                };
                let acl = Handle::Plan(a.id.0.clone());
                let st = self.step(
                    action,
                    ObjectKind::AclEntry,
                    format!("{}:{}:{}", a.id, dir_word(e.direction), e.rule),
                    live_id.clone(),
                    account.clone(),
                    format!("{} in {}", entry_text(e), a.id),
                    if action == ChangeAction::Update {
                        Op::UpdateAclEntry {
                            acl,
                            entry: (*e).clone(),
                        }
                    } else {
                        Op::CreateAclEntry {
                            acl,
                            entry: (*e).clone(),
                        }
                    },
                );
                self.edge(container, st);
            }
            for (key, e) in &have {
                if want.contains_key(key) {
                    continue;
                }
                let st = self.step(
                    ChangeAction::Delete,
                    ObjectKind::AclEntry,
                    format!("{}:{}:{}", a.id, dir_word(e.direction), e.rule),
                    live_id.clone(),
                    account.clone(),
                    format!("{} in {}", entry_text(e), a.id),
                    Op::DeleteAclEntry {
                        acl: Handle::Plan(a.id.0.clone()),
                        direction: e.direction,
                        rule: e.rule,
                    },
                );
                self.edge(container, st);
            }
        }
    }

    /// The order among deletes: what uses or names an object goes before it, everything before its VPC.
    fn delete_edges(&mut self, ix: &LiveIndex<'a>) {
        let live = self.live;
        let del = |b: &Self, kind: ObjectKind, id: &str| b.deleter(kind, id);
        for t in &live.route_tables {
            // A deleted table goes before the peerings and gateways its routes use.
            let Some(dt) = del(self, ObjectKind::RouteTable, t.id.as_str()) else {
                continue;
            };
            if self.steps[dt].action != ChangeAction::Delete {
                continue;
            }
            for r in &t.routes {
                if let Some(d) = self.target_deleter(&r.target) {
                    self.edges.push((dt, d));
                }
            }
            if let Some(dv) = del(self, ObjectKind::Vpc, t.vpc.as_str()) {
                self.edges.push((dt, dv));
            }
        }
        for e in &live.endpoints {
            let de = del(self, ObjectKind::Endpoint, e.id.as_str());
            let Some(de) = de else { continue };
            for g in &e.security_groups {
                if let Some(d) = del(self, ObjectKind::SecurityGroup, g.as_str()) {
                    self.edges.push((de, d));
                }
            }
            if let Some(d) = del(self, ObjectKind::Subnet, e.subnet.as_str()) {
                self.edges.push((de, d));
            }
            if let Some(&i) = ix.subnets.get(&e.subnet) {
                if let Some(d) = del(self, ObjectKind::Vpc, live.subnets[i].vpc.as_str()) {
                    self.edges.push((de, d));
                }
            }
        }
        for g in &live.gateways {
            let Some(dg) = del(self, ObjectKind::Gateway, g.id.as_str()) else {
                continue;
            };
            if let Some(s) = &g.subnet {
                if let Some(d) = del(self, ObjectKind::Subnet, s.as_str()) {
                    self.edges.push((dg, d));
                }
            }
            if let Some(d) = del(self, ObjectKind::Vpc, g.vpc.as_str()) {
                self.edges.push((dg, d));
            }
        }
        for g in &live.security_groups {
            if let (Some(dg), Some(dv)) = (
                del(self, ObjectKind::SecurityGroup, g.id.as_str()),
                del(self, ObjectKind::Vpc, g.vpc.as_str()),
            ) {
                self.edges.push((dg, dv));
            }
        }
        for a in &live.network_acls {
            if let (Some(da), Some(dv)) = (
                del(self, ObjectKind::NetworkAcl, a.id.as_str()),
                del(self, ObjectKind::Vpc, a.vpc.as_str()),
            ) {
                if self.steps[da].action == ChangeAction::Delete {
                    self.edges.push((da, dv));
                }
            }
        }
        for s in &live.subnets {
            let Some(ds) = del(self, ObjectKind::Subnet, s.id.as_str()) else {
                continue;
            };
            if let Some(dv) = del(self, ObjectKind::Vpc, s.vpc.as_str()) {
                self.edges.push((ds, dv));
            }
            // Before the block it lies in.
            if let Some(&i) = ix.vpcs.get(&s.vpc) {
                let v = &live.vpcs[i];
                for b in v.secondary_cidrs.iter().chain(&v.ipv6_cidrs) {
                    if b.contains_block(&s.cidr) || s.ipv6_cidr.is_some_and(|c| b.contains_block(&c)) {
                        if let Some(db) = del(self, ObjectKind::VpcBlock, &format!("{}:{b}", v.id)) {
                            self.edges.push((ds, db));
                        }
                    }
                }
            }
        }
        for p in &live.peerings {
            let Some(dp) = del(self, ObjectKind::Peering, p.id.as_str()) else {
                continue;
            };
            for v in [&p.requester.vpc, &p.accepter.vpc] {
                if let Some(dv) = del(self, ObjectKind::Vpc, v.as_str()) {
                    self.edges.push((dp, dv));
                }
            }
        }
    }
}
