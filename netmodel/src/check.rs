//! Diagnostics: a plan that parses but would fail or misbehave. Each finding has a stable [`Code`], a
//! [`Severity`], the items involved (typed: [`ItemRef`]), a message and, where one exists, a concrete [`Fix`]
//! (typed, with the data to make it; its `Display` is the sentence a person reads). In JSON the items are ids
//! and the fix is its sentence.
//!
//! ```
//! use netmodel::{check, check::{Fix, ItemRef}, edit, CheckOptions, Code, Plan};
//! let mut plan = Plan::new("overlap");
//! let a = edit::add_vpc(&mut plan, "10.0.0.0/16".parse().unwrap());
//! let b = edit::add_vpc(&mut plan, "10.0.0.0/16".parse().unwrap());
//! let findings = check(&plan, &CheckOptions::default());
//! let d = &findings[0];
//! assert_eq!(d.code, Code::CidrOverlap);
//! assert_eq!(d.items, [ItemRef::Vpc(a), ItemRef::Vpc(b.clone())]);
//! let fix = d.fix.as_ref().unwrap();
//! assert!(matches!(fix, Fix::RenumberVpc { vpc, .. } if *vpc == b));
//! assert_eq!(fix.to_string(), "renumber vpc-2 to a free block such as 10.1.0.0/16");
//! let json = serde_json::to_value(d).unwrap();
//! assert_eq!(json["items"], serde_json::json!(["vpc-1", "vpc-2"]));
//! assert_eq!(json["fix"], "renumber vpc-2 to a free block such as 10.1.0.0/16");
//! ```

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use crate::{
    cidr::{overlapping_pairs, Cidr, FreeSpace},
    codes::stable_codes,
    graph::PeeringGraph,
    ids::*,
    model::*,
    par,
};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

stable_codes! {
    /// Stable diagnostic codes (they appear in JSON output, tests and docs).
    pub enum Code {
        /// Two VPCs joined by a peering overlap: the control plane would mark it `failed`.
        PeeringCidrOverlap => "PEERING_CIDR_OVERLAP",
        /// Two VPCs overlap: they can never be peered with each other.
        CidrOverlap => "CIDR_OVERLAP",
        /// A subnet's block lies outside every block of its VPC.
        SubnetOutsideVpc => "SUBNET_OUTSIDE_VPC",
        /// Two subnets of one VPC overlap.
        SubnetOverlap => "SUBNET_OVERLAP",
        /// Two live peerings join the same VPC pair.
        DuplicatePeering => "DUPLICATE_PEERING",
        /// Too many active peerings on a VPC, or pending requests in an account.
        PeeringQuota => "PEERING_QUOTA",
        /// A route targets a peering that is not active.
        RouteTargetInactive => "ROUTE_TARGET_INACTIVE",
        /// A route targets a peering that does not involve the route table's VPC.
        RouteTargetForeign => "ROUTE_TARGET_FOREIGN",
        /// A route sends a block over a peering although the peer VPC does not hold it.
        RouteBeyondPeer => "ROUTE_BEYOND_PEER",
        /// A route assumes the peer forwards to a third VPC: peering is not transitive.
        TransitiveAssumption => "TRANSITIVE_ASSUMPTION",
        /// The peer has no route back over the same peering.
        MissingReturnRoute => "MISSING_RETURN_ROUTE",
        /// The peer's route back goes over a different peering: replies are misrouted.
        AsymmetricReturn => "ASYMMETRIC_RETURN",
        /// An active peering that no route table uses on one or both sides.
        PeeringWithoutRoutes => "PEERING_WITHOUT_ROUTES",
        /// A security group admits the whole internet in a VPC that peers.
        SgOpenToWorld => "SG_OPEN_TO_WORLD",
        /// A rule references a security group across an inter-region peering.
        SgRefCrossRegion => "SG_REF_CROSS_REGION",
        /// A rule references a security group in a VPC that is not actively peered.
        SgRefNotPeered => "SG_REF_NOT_PEERED",
        /// Inter-region peering has limits worth knowing.
        InterRegionLimits => "INTER_REGION_LIMITS",
        /// An endpoint's address lies outside its subnet.
        EndpointOutsideSubnet => "ENDPOINT_OUTSIDE_SUBNET",
        /// The plan's VPCs fall into several groups that no active peering joins: they cannot reach each other.
        IsolatedGroups => "ISOLATED_GROUPS",
        /// VPC pairs of one group are joined only through other VPCs (peering is not transitive); with the
        /// peerings a full mesh would need, and past the per-VPC quota the advice to use a hub.
        TransitiveOnly => "TRANSITIVE_ONLY",
        /// Imported data referenced something that was not imported.
        ImportDanglingRef => "IMPORT_DANGLING_REF",
        /// The import changed what it read: two views of one object merged, or control characters replaced.
        ImportNote => "IMPORT_NOTE",
    }
}

/// An item a finding names: a model object by its typed id, or a reference the model does not hold by its
/// text. Serialised as the id's text (`"vpc-a"`), as the JSON output of `check` has always named items.
///
/// Read back from JSON an item is [`ItemRef::Other`]: the JSON carries the text only, not the kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemRef {
    Account(AccountId),
    Vpc(VpcId),
    Subnet(SubnetId),
    RouteTable(RouteTableId),
    SecurityGroup(SecurityGroupId),
    Endpoint(EndpointId),
    Peering(PeeringId),
    /// An item by its text alone: the items of import findings (AWS ids, some of objects that were not imported,
    /// and JSON paths), or any item read back from JSON.
    Other(String),
}

impl ItemRef {
    /// The item's id (or text), as it appears in output.
    pub fn as_str(&self) -> &str {
        match self {
            ItemRef::Account(id) => id.as_str(),
            ItemRef::Vpc(id) => id.as_str(),
            ItemRef::Subnet(id) => id.as_str(),
            ItemRef::RouteTable(id) => id.as_str(),
            ItemRef::SecurityGroup(id) => id.as_str(),
            ItemRef::Endpoint(id) => id.as_str(),
            ItemRef::Peering(id) => id.as_str(),
            ItemRef::Other(text) => text,
        }
    }
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An item equals a string when its text does (`d.items == ["pcx-ab", "vpc-a"]`).
impl PartialEq<&str> for ItemRef {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

macro_rules! item_ref_from {
    ($($id:ty => $variant:ident),* $(,)?) => {
        $(
            impl From<$id> for ItemRef {
                fn from(id: $id) -> ItemRef {
                    ItemRef::$variant(id)
                }
            }
            impl From<&$id> for ItemRef {
                fn from(id: &$id) -> ItemRef {
                    ItemRef::$variant(id.clone())
                }
            }
        )*
    };
}

item_ref_from! {
    AccountId => Account,
    VpcId => Vpc,
    SubnetId => Subnet,
    RouteTableId => RouteTable,
    SecurityGroupId => SecurityGroup,
    EndpointId => Endpoint,
    PeeringId => Peering,
}

impl Serialize for ItemRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ItemRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ItemRef::Other)
    }
}

/// A concrete change that resolves a finding, with the data to make it. [`Display`](fmt::Display) is the sentence
/// shown to a person (and written to JSON as `fix`); the planner applies the mechanical ones
/// ([`crate::edit::apply_fix`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fix {
    /// `CIDR_OVERLAP`: move `vpc` to the free block `to` (of the same size).
    RenumberVpc { vpc: VpcId, to: Cidr },
    /// `PEERING_CIDR_OVERLAP`: move `vpc` to the free block `to`, then request the peering again.
    RenumberVpcAndRequestAgain { vpc: VpcId, to: Cidr },
    /// `SUBNET_OUTSIDE_VPC`: a block inside the VPC's primary block `inside`, or a secondary block for `vpc`.
    SubnetInsideVpc { vpc: VpcId, inside: Cidr },
    /// `DUPLICATE_PEERING`: delete every live peering of the pair but `keep`.
    KeepOnePeering { keep: PeeringId },
    /// `PEERING_QUOTA` of a VPC: a transit hub, or a higher quota.
    HubOrQuotaIncrease,
    /// `PEERING_QUOTA` of an account: settle pending requests first.
    SettlePendingRequests,
    /// `TRANSITIVE_ONLY` past the quota: a full mesh would give each VPC `per_vpc` active peerings, above `quota`.
    UseHub { per_vpc: usize, quota: usize },
    /// `TRANSITIVE_ONLY`: peer the pairs that must talk directly.
    PeerPairsDirectly,
    /// `ROUTE_TARGET_FOREIGN`: remove the route from `table`, or peer `vpc` directly.
    RemoveForeignRoute { table: RouteTableId, vpc: VpcId },
    /// `ROUTE_BEYOND_PEER`: narrow the route to `destination` in `table` to the peer's blocks `to`.
    NarrowRoute {
        table: RouteTableId,
        destination: Cidr,
        to: Vec<Cidr>,
    },
    /// `TRANSITIVE_ASSUMPTION`: peer `vpc` (whose `table` sends `third_block` over `via`) with `third` directly,
    /// with routes both ways: `third_block` in `table`, `vpc_block` in `third_table` (`None`: `third` has no
    /// route table). `overlap`: the two overlap, so one must be renumbered first.
    PeerDirectly {
        vpc: VpcId,
        third: VpcId,
        table: RouteTableId,
        via: PeeringId,
        vpc_block: Cidr,
        third_block: Cidr,
        third_table: Option<RouteTableId>,
        overlap: bool,
    },
    /// `MISSING_RETURN_ROUTE`: in `peer`'s `table` (`None`: `peer` has no route table), a route to `destination`
    /// over `peering`.
    AddReturnRoute {
        peering: PeeringId,
        peer: VpcId,
        destination: Cidr,
        table: Option<RouteTableId>,
    },
    /// `ASYMMETRIC_RETURN`: the more specific route `destination` → `peering` in `table`.
    AddSpecificRoute {
        table: RouteTableId,
        destination: Cidr,
        peering: PeeringId,
    },
    /// `PEERING_WITHOUT_ROUTES`: a route to each side's primary block over `peering` in the other side's route
    /// table; `sides` are the VPCs that have none yet.
    AddPeeringRoutes {
        peering: PeeringId,
        requester: (VpcId, Cidr),
        accepter: (VpcId, Cidr),
        sides: Vec<VpcId>,
    },
    /// `SG_OPEN_TO_WORLD`: the peer VPC's block as the source instead of the internet.
    RestrictSourceToPeer,
    /// `SG_REF_CROSS_REGION`: reference the VPC block `block` (`None`: the group's VPC is not in the plan)
    /// instead of the group.
    ReferenceBlock { block: Option<Cidr> },
    /// A fix read back from JSON: the sentence only (the JSON carries no typed data).
    Text(String),
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::RenumberVpc { vpc, to } => write!(f, "renumber {vpc} to a free block such as {to}"),
            Fix::RenumberVpcAndRequestAgain { vpc, to } => write!(
                f,
                "renumber {vpc} to a free block such as {to}, then request the peering again"
            ),
            Fix::SubnetInsideVpc { vpc, inside } => write!(
                f,
                "choose a block inside {inside} or add a secondary block to {vpc}"
            ),
            Fix::KeepOnePeering { keep } => write!(f, "delete all but one of them, e.g. keep {keep}"),
            Fix::HubOrQuotaIncrease => {
                f.write_str("use a transit hub for some of these VPCs, or request a quota increase")
            }
            Fix::SettlePendingRequests => {
                f.write_str("have the accepters accept or reject pending requests before sending more")
            }
            Fix::UseHub { per_vpc, quota } => write!(
                f,
                "a full mesh would give each VPC {per_vpc} active peerings, past the quota of {quota}: connect \
                 these VPCs through a hub (a transit gateway) instead, or peer only the pairs that must talk"
            ),
            Fix::PeerPairsDirectly => {
                f.write_str("peer directly the pairs that must talk (each with routes both ways)")
            }
            Fix::RemoveForeignRoute { table, vpc } => {
                write!(f, "remove the route from {table}, or peer {vpc} directly")
            }
            Fix::NarrowRoute { to, .. } => write!(
                f,
                "narrow the destination to the peer's blocks ({})",
                to.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
            ),
            Fix::PeerDirectly {
                vpc,
                third,
                table,
                vpc_block,
                third_block,
                third_table,
                overlap,
                ..
            } => {
                write!(
                    f,
                    "create a peering between {vpc} and {third}, then add {third_block} → <new pcx> to {table} and \
                     {vpc_block} → <new pcx> to "
                )?;
                match third_table {
                    Some(t) => write!(f, "{t}")?,
                    None => write!(f, "{third}'s route table")?,
                }
                if *overlap {
                    write!(f, " — but {vpc} and {third} overlap, so renumber one first")?;
                }
                Ok(())
            }
            Fix::AddReturnRoute {
                peering,
                peer,
                destination,
                table,
            } => {
                write!(f, "add the route {destination} → {peering} to ")?;
                match table {
                    Some(t) => write!(f, "{t}"),
                    None => write!(f, "a route table of {peer}"),
                }
            }
            Fix::AddSpecificRoute {
                table,
                destination,
                peering,
            } => write!(f, "add the more specific route {destination} → {peering} to {table}"),
            Fix::AddPeeringRoutes {
                peering,
                requester: (a, a_block),
                accepter: (b, b_block),
                ..
            } => write!(
                f,
                "add a route {b_block} → {peering} in {a}'s route table and {a_block} → {peering} in {b}'s"
            ),
            Fix::RestrictSourceToPeer => f.write_str("replace the source with the peer VPC's CIDR block"),
            Fix::ReferenceBlock { block } => match block {
                Some(b) => write!(f, "reference {b}'s CIDR block instead"),
                None => f.write_str("reference 's CIDR block instead"),
            },
            Fix::Text(text) => f.write_str(text),
        }
    }
}

impl Serialize for Fix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Fix::Text)
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// The items involved, most important first (serialised as their ids).
    pub items: Vec<ItemRef>,
    pub message: String,
    /// A concrete change that resolves it, where one exists (serialised as its sentence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A finding without a fix (see [`Diagnostic::with_fix`]).
    pub fn new(code: Code, severity: Severity, items: Vec<ItemRef>, message: String) -> Diagnostic {
        Diagnostic {
            code,
            severity,
            items,
            message,
            fix: None,
        }
    }
    fn error(code: Code, items: Vec<ItemRef>, message: String) -> Diagnostic {
        Self::new(code, Severity::Error, items, message)
    }
    fn warning(code: Code, items: Vec<ItemRef>, message: String) -> Diagnostic {
        Self::new(code, Severity::Warning, items, message)
    }
    fn info(code: Code, items: Vec<ItemRef>, message: String) -> Diagnostic {
        Self::new(code, Severity::Info, items, message)
    }
    fn with_fix(mut self, fix: Fix) -> Diagnostic {
        self.fix = Some(fix);
        self
    }
}

/// Options of a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Compare only primary IPv4 blocks for peering overlap.
    pub lenient: bool,
    /// Active peerings per VPC before a warning (AWS default 50).
    pub active_per_vpc: usize,
    /// Hard limit of active peerings per VPC (AWS 125).
    pub active_per_vpc_hard: usize,
    /// Pending requests per account before a warning (AWS default 25).
    pub pending_per_account: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            lenient: false,
            active_per_vpc: 50,
            active_per_vpc_hard: 125,
            pending_per_account: 25,
        }
    }
}

/// Every diagnostic of the plan, sorted by severity, code, then items.
pub fn check(plan: &Plan, opts: &CheckOptions) -> Vec<Diagnostic> {
    // The overlaps of an estate's blocks on one thread, every other check on another (they share nothing).
    let (mut out, rest) = par::join(
        || {
            let mut out = Vec::new();
            cidr_overlaps(plan, opts, &mut out);
            out
        },
        || {
            let mut out = Vec::new();
            let graph = PeeringGraph::new(plan);
            subnets(plan, &mut out);
            peerings(plan, opts, &mut out);
            groups(plan, &graph, opts, &mut out);
            routes(plan, &graph, &RouteIndex::new(plan), &mut out);
            security_groups(plan, &graph, &mut out);
            out
        },
    );
    out.extend(rest);
    sort_findings(&mut out);
    out
}

/// Sorts findings by severity, code, items (by their text, as they read in output, not by kind), then message,
/// and drops repeats.
fn sort_findings(out: &mut Vec<Diagnostic>) {
    out.sort_by(|a, b| {
        (a.severity, a.code)
            .cmp(&(b.severity, b.code))
            .then_with(|| {
                a.items
                    .iter()
                    .map(ItemRef::as_str)
                    .cmp(b.items.iter().map(ItemRef::as_str))
            })
            .then_with(|| a.message.cmp(&b.message))
    });
    out.dedup();
}

/// True when the two VPCs share an address on any block (`lenient`: primary IPv4 blocks only).
pub fn vpcs_overlap(a: &Vpc, b: &Vpc, lenient: bool) -> Option<(Cidr, Cidr)> {
    if lenient {
        return a.cidr.overlaps(&b.cidr).then_some((a.cidr, b.cidr));
    }
    a.blocks()
        .flat_map(|x| b.blocks().map(move |y| (*x, *y)))
        .find(|(x, y)| x.overlaps(y))
}

/// The overlap of two blocks that share an address: the narrower one.
fn overlap_of(x: &Cidr, y: &Cidr) -> Cidr {
    if x.prefix_len() >= y.prefix_len() {
        *x
    } else {
        *y
    }
}

fn cidr_overlaps<'p>(plan: &'p Plan, opts: &CheckOptions, out: &mut Vec<Diagnostic>) {
    // All VPC blocks in one sweep (never all pairs).
    let mut blocks = Vec::with_capacity(plan.vpcs.len());
    let mut owner = Vec::with_capacity(plan.vpcs.len());
    for (i, v) in plan.vpcs.iter().enumerate() {
        for b in v.blocks() {
            blocks.push(*b);
            owner.push(i);
        }
    }
    // The index of the used space and the overlapping pairs need only the blocks: both built at once.
    let (mut free, pairs) = par::join(
        || FreeSpace::new(&blocks),
        || {
            let mut pairs: BTreeMap<(usize, usize), (Cidr, Cidr)> = BTreeMap::new();
            for o in overlapping_pairs(&blocks) {
                let (va, vb) = (owner[o.a], owner[o.b]);
                if va == vb {
                    continue;
                }
                let key = (va.min(vb), va.max(vb));
                let (x, y) = if va < vb {
                    (blocks[o.a], blocks[o.b])
                } else {
                    (blocks[o.b], blocks[o.a])
                };
                pairs.entry(key).or_insert((x, y));
            }
            pairs
        },
    );
    // One index answers every suggestion: each VPC to renumber gets one block (the same in every finding that
    // names it), and no two VPCs are offered the same space.
    let mut offered: crate::IdMap<(&VpcId, u8), Option<Cidr>> = crate::IdMap::default();
    let mut suggest = |vpc: &'p Vpc, len: u8| -> Option<Cidr> {
        *offered.entry((&vpc.id, len)).or_insert_with(|| free.take(len))
    };
    // The suggestions in order (each takes its space), then the findings' text (many: half on each thread).
    let found: Vec<(&Vpc, &Vpc, Cidr, Cidr, Option<Cidr>)> = pairs
        .into_iter()
        .map(|((ia, ib), (x, y))| {
            let (a, b) = (&plan.vpcs[ia], &plan.vpcs[ib]);
            (a, b, x, y, suggest(b, b.cidr.prefix_len()))
        })
        .collect();
    out.extend(par::map(&found, |&(a, b, x, y, to)| {
        let overlap = overlap_of(&x, &y);
        let d = Diagnostic::warning(
            Code::CidrOverlap,
            vec![(&a.id).into(), (&b.id).into()],
            format!(
                "{} ({x}) and {} ({y}) overlap on {overlap}: they can never be peered with each other",
                a.labelled(),
                b.labelled()
            ),
        );
        match to {
            Some(to) => d.with_fix(Fix::RenumberVpc {
                vpc: b.id.clone(),
                to,
            }),
            None => d,
        }
    }));
    // Peered pairs.
    for p in plan.peerings.iter().filter(|p| {
        !matches!(
            p.status,
            PeeringStatus::Deleted | PeeringStatus::Rejected | PeeringStatus::Expired
        )
    }) {
        let (Some(a), Some(b)) = (plan.vpc(&p.requester.vpc), plan.vpc(&p.accepter.vpc)) else {
            continue;
        };
        if let Some((x, y)) = vpcs_overlap(a, b, opts.lenient) {
            let mut d = Diagnostic::error(
                Code::PeeringCidrOverlap,
                vec![(&p.id).into(), (&a.id).into(), (&b.id).into()],
                format!(
                    "{} ({x}) and {} ({y}) overlap on {}; peering {} would fail",
                    a.label(),
                    b.label(),
                    overlap_of(&x, &y),
                    p.id
                ),
            );
            if let Some(free) = suggest(b, y.prefix_len()) {
                d = d.with_fix(Fix::RenumberVpcAndRequestAgain {
                    vpc: b.id.clone(),
                    to: free,
                });
            }
            out.push(d);
        }
    }
}

fn subnets(plan: &Plan, out: &mut Vec<Diagnostic>) {
    for s in &plan.subnets {
        let Some(vpc) = plan.vpc(&s.vpc) else { continue };
        let v4_ok = std::iter::once(&vpc.cidr)
            .chain(&vpc.secondary_cidrs)
            .any(|b| b.contains_block(&s.cidr));
        if !v4_ok {
            out.push(
                Diagnostic::error(
                    Code::SubnetOutsideVpc,
                    vec![(&s.id).into(), (&vpc.id).into()],
                    format!(
                        "subnet {} ({}) lies outside every IPv4 block of VPC {}",
                        s.id,
                        s.cidr,
                        vpc.label()
                    ),
                )
                .with_fix(Fix::SubnetInsideVpc {
                    vpc: vpc.id.clone(),
                    inside: vpc.cidr,
                }),
            );
        }
        if let Some(v6) = &s.ipv6_cidr {
            if !vpc.ipv6_cidrs.iter().any(|b| b.contains_block(v6)) {
                out.push(Diagnostic::error(
                    Code::SubnetOutsideVpc,
                    vec![(&s.id).into(), (&vpc.id).into()],
                    format!(
                        "subnet {} ({v6}) lies outside every IPv6 block of VPC {}",
                        s.id,
                        vpc.label()
                    ),
                ));
            }
        }
    }
    let mut blocks = Vec::new();
    let mut owner = Vec::new();
    for (i, s) in plan.subnets.iter().enumerate() {
        for b in std::iter::once(&s.cidr).chain(s.ipv6_cidr.as_ref()) {
            blocks.push(*b);
            owner.push(i);
        }
    }
    for o in overlapping_pairs(&blocks) {
        let (a, b) = (&plan.subnets[owner[o.a]], &plan.subnets[owner[o.b]]);
        if a.vpc == b.vpc && a.id != b.id {
            out.push(Diagnostic::error(
                Code::SubnetOverlap,
                vec![(&a.id).into(), (&b.id).into()],
                format!(
                    "subnets {} ({}) and {} ({}) of VPC {} overlap",
                    a.id, blocks[o.a], b.id, blocks[o.b], a.vpc
                ),
            ));
        }
    }
    for e in &plan.endpoints {
        let Some(s) = plan.subnet(&e.subnet) else { continue };
        if let Some(ip) = e.ipv4.filter(|ip| !s.cidr.contains_addr((*ip).into())) {
            out.push(Diagnostic::error(
                Code::EndpointOutsideSubnet,
                vec![(&e.id).into(), (&s.id).into()],
                format!(
                    "endpoint {} has address {ip}, outside its subnet {} ({})",
                    e.label(),
                    s.id,
                    s.cidr
                ),
            ));
        }
        if let Some(ip) = e
            .ipv6
            .filter(|ip| !s.ipv6_cidr.is_some_and(|c| c.contains_addr((*ip).into())))
        {
            out.push(Diagnostic::error(
                Code::EndpointOutsideSubnet,
                vec![(&e.id).into(), (&s.id).into()],
                format!(
                    "endpoint {} has address {ip}, outside its subnet's IPv6 block",
                    e.label()
                ),
            ));
        }
    }
}

fn peerings(plan: &Plan, opts: &CheckOptions, out: &mut Vec<Diagnostic>) {
    let mut by_pair: BTreeMap<(&VpcId, &VpcId), Vec<&Peering>> = BTreeMap::new();
    let mut active_per_vpc: BTreeMap<&VpcId, usize> = BTreeMap::new();
    let mut pending_per_account: BTreeMap<&AccountId, usize> = BTreeMap::new();
    for p in &plan.peerings {
        let (a, b) = (&p.requester.vpc, &p.accepter.vpc);
        if p.status.is_live() {
            by_pair.entry((a.min(b), a.max(b))).or_default().push(p);
        }
        match p.status {
            PeeringStatus::Active => {
                *active_per_vpc.entry(a).or_default() += 1;
                *active_per_vpc.entry(b).or_default() += 1;
            }
            PeeringStatus::Pending => *pending_per_account.entry(&p.requester.account).or_default() += 1,
            _ => {}
        }
        if p.status.is_live() && p.is_inter_region() {
            out.push(Diagnostic::info(
                Code::InterRegionLimits,
                vec![(&p.id).into()],
                format!(
                    "{} joins {} and {}: inter-region traffic has an MTU of 1500 bytes, security groups cannot \
                     reference groups across it, and private DNS names resolve only with the DNS resolution \
                     option ({})",
                    p.id,
                    p.requester.region,
                    p.accepter.region,
                    if p.options.dns_resolution { "on" } else { "off" }
                ),
            ));
        }
    }
    for ((a, b), list) in by_pair.iter().filter(|(_, l)| l.len() > 1) {
        let mut items: Vec<ItemRef> = list.iter().map(|p| (&p.id).into()).collect();
        items.extend([(*a).into(), (*b).into()]);
        out.push(
            Diagnostic::error(
                Code::DuplicatePeering,
                items,
                format!(
                    "{} live peerings join {a} and {b} ({}); only one is allowed per VPC pair",
                    list.len(),
                    list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_fix(Fix::KeepOnePeering {
                keep: list[0].id.clone(),
            }),
        );
    }
    for (vpc, n) in active_per_vpc
        .into_iter()
        .filter(|(_, n)| *n > opts.active_per_vpc)
    {
        let message = if n > opts.active_per_vpc_hard {
            format!(
                "VPC {vpc} has {n} active peerings, above the hard limit of {}",
                opts.active_per_vpc_hard
            )
        } else {
            format!(
                "VPC {vpc} has {n} active peerings, above the default quota of {} (it can be raised to {})",
                opts.active_per_vpc, opts.active_per_vpc_hard
            )
        };
        out.push(
            Diagnostic::warning(Code::PeeringQuota, vec![vpc.into()], message)
                .with_fix(Fix::HubOrQuotaIncrease),
        );
    }
    for (acct, n) in pending_per_account
        .into_iter()
        .filter(|(_, n)| *n > opts.pending_per_account)
    {
        out.push(
            Diagnostic::warning(
                Code::PeeringQuota,
                vec![acct.into()],
                format!(
                    "account {acct} has {n} pending peering requests, above the quota of {}",
                    opts.pending_per_account
                ),
            )
            .with_fix(Fix::SettlePendingRequests),
        );
    }
}

/// Groups of VPCs joined by active peerings: several groups are a note (they cannot reach each other), and a
/// group whose VPCs are not all peered pairwise is a note with what a full mesh would take.
fn groups(plan: &Plan, graph: &PeeringGraph, opts: &CheckOptions, out: &mut Vec<Diagnostic>) {
    if plan.peerings.iter().all(|p| p.status != PeeringStatus::Active) {
        return; // nothing is peered yet: every VPC on its own says nothing
    }
    let groups = graph.groups();
    const SHOWN: usize = 10;
    let list = |vpcs: &[&VpcId]| -> String {
        let mut names: Vec<&str> = vpcs.iter().take(SHOWN).map(|v| v.as_str()).collect();
        if vpcs.len() > SHOWN {
            names.push("…");
        }
        format!("{{{}}}", names.join(", "))
    };
    if groups.len() > 1 {
        let shown: Vec<String> = groups.iter().take(SHOWN).map(|g| list(&g.vpcs)).collect();
        let more = if groups.len() > SHOWN {
            format!(" and {} more", groups.len() - SHOWN)
        } else {
            String::new()
        };
        out.push(Diagnostic::info(
            Code::IsolatedGroups,
            groups.iter().take(SHOWN).map(|g| g.vpcs[0].into()).collect(),
            format!(
                "{} isolated groups: {}{more}; VPCs in different groups cannot reach each other over peering",
                groups.len(),
                shown.join(", ")
            ),
        ));
    }
    for g in groups.iter().filter(|g| g.transitive_only_pairs() > 0) {
        let n = g.vpcs.len();
        let example = graph
            .example_transitive_pair(g)
            .map(|t| format!(" (e.g. {} and {}, through {})", t.a, t.c, t.via))
            .unwrap_or_default();
        let k = g.transitive_only_pairs();
        let (pairs, verb, pronoun) = if k == 1 {
            ("pair", "is", "the two")
        } else {
            ("pairs", "are", "they")
        };
        let mut d = Diagnostic::info(
            Code::TransitiveOnly,
            g.vpcs.iter().take(50).map(|v| (*v).into()).collect(),
            format!(
                "{k} VPC {pairs} of the group {} {verb} joined only through other VPCs{example}: peering is not \
                 transitive, so {pronoun} cannot talk; a full mesh of these {n} VPCs needs {} peerings ({k} more)",
                list(&g.vpcs),
                g.full_mesh(),
            ),
        );
        d = if n - 1 > opts.active_per_vpc {
            d.with_fix(Fix::UseHub {
                per_vpc: n - 1,
                quota: opts.active_per_vpc,
            })
        } else {
            d.with_fix(Fix::PeerPairsDirectly)
        };
        out.push(d);
    }
}

/// A route table's VPC's blocks that its subnets use (the subnets' blocks, or the VPC's when none).
fn source_blocks(index: &RouteIndex, rt: &RouteTable, vpc: &Vpc) -> Vec<Cidr> {
    let subnets = index.subnets_using(rt);
    if subnets.is_empty() {
        vpc.blocks().copied().collect()
    } else {
        subnets
            .iter()
            .flat_map(|s| std::iter::once(s.cidr).chain(s.ipv6_cidr))
            .collect()
    }
}

/// Longest-prefix match in a table (implicit local routes included) for `dst`.
pub fn lookup<'a>(plan: &'a Plan, rt: &'a RouteTable, dst: std::net::IpAddr) -> Option<(Cidr, Target)> {
    lookup_in(plan.vpc(&rt.vpc)?, rt, dst)
}

/// [`lookup`] in a table of `vpc`, already at hand.
fn lookup_in(vpc: &Vpc, rt: &RouteTable, dst: std::net::IpAddr) -> Option<(Cidr, Target)> {
    let locals = vpc.blocks().map(|b| (*b, Target::Local));
    let routes = rt.routes.iter().map(|r| (r.destination, r.target.clone()));
    locals
        .chain(routes)
        .filter(|(d, _)| d.contains_addr(dst))
        .max_by_key(|(d, t)| (d.prefix_len(), matches!(t, Target::Local)))
}

/// Route tables by VPC and the subnets using each table, built once so the route checks never scan the plan per
/// route.
struct RouteIndex<'p> {
    tables_of: crate::IdMap<&'p VpcId, Vec<&'p RouteTable>>,
    subnets_of: crate::IdMap<&'p RouteTableId, Vec<&'p Subnet>>,
    /// The plan's VPCs and peerings by id: the route checks look one up per route, and a hash lookup touches
    /// one or two places in memory where a binary search of a large plan touches a dozen.
    vpcs: crate::IdMap<&'p VpcId, &'p Vpc>,
    peerings: crate::IdMap<&'p PeeringId, &'p Peering>,
}

impl<'p> RouteIndex<'p> {
    fn new(plan: &'p Plan) -> RouteIndex<'p> {
        let mut tables_of: crate::IdMap<&VpcId, Vec<&RouteTable>> = crate::IdMap::default();
        for t in &plan.route_tables {
            tables_of.entry(&t.vpc).or_default().push(t);
        }
        let mut subnets_of: crate::IdMap<&RouteTableId, Vec<&Subnet>> = crate::IdMap::default();
        let uses = crate::model::associations(
            plan.route_tables
                .iter()
                .map(|t| (&t.vpc, t.main, t.subnets.as_slice())),
            &plan.subnets,
        );
        for (s, table) in plan.subnets.iter().zip(uses) {
            if let Some(t) = table {
                subnets_of.entry(&plan.route_tables[t].id).or_default().push(s);
            }
        }
        // (Only routes and peerings look VPCs up, and only routes look peerings up: a plan with neither, such as
        // an estate's describe-vpcs alone, need not index its VPCs.)
        let routed = !plan.route_tables.is_empty();
        let vpcs_looked_up = routed || !plan.peerings.is_empty();
        RouteIndex {
            tables_of,
            subnets_of,
            vpcs: plan
                .vpcs
                .iter()
                .filter(|_| vpcs_looked_up)
                .map(|v| (&v.id, v))
                .collect(),
            peerings: plan
                .peerings
                .iter()
                .filter(|_| routed)
                .map(|p| (&p.id, p))
                .collect(),
        }
    }

    fn vpc(&self, id: &VpcId) -> Option<&'p Vpc> {
        self.vpcs.get(id).copied()
    }

    fn tables_of(&self, vpc: &VpcId) -> &[&'p RouteTable] {
        self.tables_of.get(vpc).map(Vec::as_slice).unwrap_or(&[])
    }

    fn subnets_using(&self, rt: &RouteTable) -> &[&'p Subnet] {
        self.subnets_of.get(&rt.id).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn routes(plan: &Plan, graph: &PeeringGraph, index: &RouteIndex, out: &mut Vec<Diagnostic>) {
    // (peering, VPC) for each side of a peering that some route table of that VPC uses.
    let mut used: crate::IdSet<(&PeeringId, &VpcId)> = crate::IdSet::default();
    for rt in &plan.route_tables {
        let Some(vpc) = index.vpc(&rt.vpc) else { continue };
        for r in &rt.routes {
            let Target::Peering(pid) = &r.target else { continue };
            let Some(p) = index.peerings.get(pid).copied() else {
                continue;
            };
            let Some(peer_id) = p.peer_of(&rt.vpc) else {
                out.push(
                    Diagnostic::error(
                        Code::RouteTargetForeign,
                        vec![(&rt.id).into(), pid.into()],
                        format!(
                            "route {} → {pid} in {} ({}) targets a peering between {} and {}, which does not \
                             involve {}",
                            r.destination, rt.id, rt.vpc, p.requester.vpc, p.accepter.vpc, rt.vpc
                        ),
                    )
                    .with_fix(Fix::RemoveForeignRoute {
                        table: rt.id.clone(),
                        vpc: rt.vpc.clone(),
                    }),
                );
                continue;
            };
            used.insert((pid, &rt.vpc));
            if p.status != PeeringStatus::Active {
                out.push(Diagnostic::warning(
                    Code::RouteTargetInactive,
                    vec![(&rt.id).into(), pid.into()],
                    format!(
                        "route {} → {pid} in {} targets a peering that is {}: it is a blackhole{}",
                        r.destination,
                        rt.id,
                        p.status,
                        if p.status == PeeringStatus::Pending {
                            " until the accepter accepts it"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            let Some(peer) = index.vpc(peer_id) else { continue };
            let inside = peer.blocks().any(|b| b.contains_block(&r.destination));
            if !inside {
                let partly = peer.blocks().any(|b| b.overlaps(&r.destination));
                out.push(
                    Diagnostic::warning(
                        Code::RouteBeyondPeer,
                        vec![(&rt.id).into(), pid.into(), (&peer.id).into()],
                        format!(
                            "route {} → {pid} in {} sends {} over the peering, but {} holds {}: peering is not \
                             transitive, so traffic beyond the peer's blocks is dropped",
                            r.destination,
                            rt.id,
                            if partly { "a block larger than the peer" } else { "a block" },
                            peer.label(),
                            if partly { "only part of it" } else { "none of it" }
                        ),
                    )
                    .with_fix(Fix::NarrowRoute {
                        table: rt.id.clone(),
                        destination: r.destination,
                        to: peer.blocks().copied().collect(),
                    }),
                );
                transitive(graph, index, rt, vpc, r, p, peer, out);
            }
            return_path(index, rt, vpc, p, peer, out);
        }
    }
    for p in plan.peerings.iter().filter(|p| p.status == PeeringStatus::Active) {
        let missing: Vec<&VpcId> = [&p.requester.vpc, &p.accepter.vpc]
            .into_iter()
            .filter(|v| !used.contains(&(&p.id, *v)))
            .collect();
        if !missing.is_empty() {
            let (a, b) = (index.vpc(&p.requester.vpc), index.vpc(&p.accepter.vpc));
            let fix = match (a, b) {
                (Some(a), Some(b)) => Some(Fix::AddPeeringRoutes {
                    peering: p.id.clone(),
                    requester: (a.id.clone(), a.cidr),
                    accepter: (b.id.clone(), b.cidr),
                    sides: missing.iter().map(|v| (*v).clone()).collect(),
                }),
                _ => None,
            };
            let mut d = Diagnostic::warning(
                Code::PeeringWithoutRoutes,
                std::iter::once((&p.id).into())
                    .chain(missing.iter().map(|v| (*v).into()))
                    .collect(),
                format!(
                    "active peering {} is used by no route table in {}: no traffic can flow over it",
                    p.id,
                    missing
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" nor in ")
                ),
            );
            d.fix = fix;
            out.push(d);
        }
    }
}

/// A route over `p` to blocks that sit in a VPC peered with the peer but not with this VPC: asked of the peering
/// graph (the peer's neighbours), not of every peering.
#[allow(clippy::too_many_arguments)]
fn transitive(
    graph: &PeeringGraph,
    index: &RouteIndex,
    rt: &RouteTable,
    vpc: &Vpc,
    r: &Route,
    p: &Peering,
    peer: &Vpc,
    out: &mut Vec<Diagnostic>,
) {
    for (q, third_id) in graph.peerings_of(&peer.id) {
        if !q.status.is_live() || q.id == p.id || third_id == &vpc.id {
            continue;
        }
        let Some(third) = index.vpc(third_id) else {
            continue;
        };
        if !third.blocks().any(|b| b.overlaps(&r.destination)) {
            continue;
        }
        if graph.between(&vpc.id, third_id, |d| d.status.is_live()).is_some() {
            continue;
        }
        let tables = index.tables_of(&third.id);
        let third_table = tables
            .iter()
            .find(|t| t.main)
            .or(tables.first())
            .map(|t| t.id.clone());
        let fix = Fix::PeerDirectly {
            vpc: vpc.id.clone(),
            third: third.id.clone(),
            table: rt.id.clone(),
            via: p.id.clone(),
            vpc_block: vpc.cidr,
            third_block: third.cidr,
            third_table,
            overlap: vpcs_overlap(vpc, third, false).is_some(),
        };
        out.push(
            Diagnostic::warning(
                Code::TransitiveAssumption,
                vec![(&rt.id).into(), (&p.id).into(), (&vpc.id).into(), (&third.id).into()],
                format!(
                    "route {} → {} in {} aims at {} through {}, but peering is not transitive: {} and {} are not \
                     peered",
                    r.destination,
                    p.id,
                    rt.id,
                    third.label(),
                    peer.label(),
                    vpc.id,
                    third.id
                ),
            )
            .with_fix(fix),
        );
    }
}

/// Checks the peer routes back over the same peering.
fn return_path(
    index: &RouteIndex,
    rt: &RouteTable,
    vpc: &Vpc,
    p: &Peering,
    peer: &Vpc,
    out: &mut Vec<Diagnostic>,
) {
    let sources = source_blocks(index, rt, vpc);
    let peer_tables = index.tables_of(&peer.id);
    let covers_back = peer_tables.iter().any(|t| {
        t.routes.iter().any(|r| {
            matches!(&r.target, Target::Peering(q) if q == &p.id)
                && sources.iter().any(|s| s.overlaps(&r.destination))
        })
    });
    if !covers_back {
        let table = peer_tables.iter().find(|t| t.main).or(peer_tables.first());
        out.push(
            Diagnostic::warning(
                Code::MissingReturnRoute,
                vec![(&p.id).into(), (&rt.id).into(), (&peer.id).into()],
                format!(
                    "{} routes to {} over {}, but {} has no route back to {} over {}: replies cannot return",
                    rt.id, peer.id, p.id, peer.id, vpc.cidr, p.id
                ),
            )
            .with_fix(Fix::AddReturnRoute {
                peering: p.id.clone(),
                peer: peer.id.clone(),
                destination: vpc.cidr,
                table: table.map(|t| t.id.clone()),
            }),
        );
        return;
    }
    for t in peer_tables {
        for s in &sources {
            let addr = s.0.network();
            if let Some((dest, Target::Peering(q))) = lookup_in(peer, t, addr) {
                if q != p.id {
                    out.push(
                        Diagnostic::warning(
                            Code::AsymmetricReturn,
                            vec![(&p.id).into(), (&t.id).into(), (&q).into()],
                            format!(
                                "{} reaches {} over {}, but {}'s route {dest} → {q} in {} sends replies to {s} over \
                                 {q}: replies are misrouted",
                                vpc.id, peer.id, p.id, peer.id, t.id
                            ),
                        )
                        .with_fix(Fix::AddSpecificRoute {
                            table: t.id.clone(),
                            destination: *s,
                            peering: p.id.clone(),
                        }),
                    );
                }
            }
        }
    }
}

fn security_groups(plan: &Plan, graph: &PeeringGraph, out: &mut Vec<Diagnostic>) {
    let peers_actively = |vpc: &VpcId| {
        graph
            .peerings_of(vpc)
            .iter()
            .any(|(p, _)| p.status == PeeringStatus::Active)
    };
    for sg in &plan.security_groups {
        if peers_actively(&sg.vpc) {
            for r in &sg.ingress {
                if let Some(c) = r.cidr.filter(|c| c.prefix_len() == 0) {
                    out.push(
                        Diagnostic::warning(
                            Code::SgOpenToWorld,
                            vec![(&sg.id).into(), (&sg.vpc).into()],
                            format!(
                                "security group {} admits {} {} from {c} in VPC {}, which peers: least privilege \
                                 says restrict it to the peered blocks",
                                sg.id,
                                r.protocol,
                                r.ports.map(|p| format!("port {p}")).unwrap_or_else(|| "every port".into()),
                                sg.vpc
                            ),
                        )
                        .with_fix(Fix::RestrictSourceToPeer),
                    );
                }
            }
        }
        for r in sg.ingress.iter().chain(&sg.egress) {
            let Some(sref) = &r.sg else { continue };
            let Some(target) = plan.security_group(&sref.group) else {
                continue;
            };
            if target.vpc == sg.vpc {
                continue;
            }
            let link = graph.between(&sg.vpc, &target.vpc, |p| p.status.is_live());
            match link {
                Some(p) if p.status == PeeringStatus::Active && p.is_inter_region() => out.push(
                    Diagnostic::error(
                        Code::SgRefCrossRegion,
                        vec![(&sg.id).into(), (&target.id).into(), (&p.id).into()],
                        format!(
                            "security group {} references {} across the inter-region peering {}: group references \
                             do not work across regions",
                            sg.id, target.id, p.id
                        ),
                    )
                    .with_fix(Fix::ReferenceBlock {
                        block: plan.vpc(&target.vpc).map(|v| v.cidr),
                    }),
                ),
                Some(p) if p.status == PeeringStatus::Active => {}
                _ => out.push(Diagnostic::warning(
                    Code::SgRefNotPeered,
                    vec![(&sg.id).into(), (&target.id).into()],
                    format!(
                        "security group {} references {} in VPC {}, which is not actively peered with {}: the rule \
                         matches nothing",
                        sg.id, target.id, target.vpc, sg.vpc
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    /// More overlapping pairs than one thread writes (see `par::map`): every pair once, in order, with its
    /// message; each VPC to renumber offered one block in all its findings, no two VPCs the same block, and that
    /// block free.
    #[test]
    fn many_overlaps_each_once_with_one_free_block_per_vpc() {
        let mut plan = Plan::new("many");
        let n = 100;
        for i in 0..n {
            plan.vpcs.push(Vpc {
                id: format!("vpc-{i:03}").into(),
                name: if i % 2 == 0 {
                    format!("net {i}")
                } else {
                    String::new()
                },
                account: "111122223333".into(),
                region: "eu-west-1".into(),
                cidr: c("10.0.0.0/16"),
                secondary_cidrs: vec![],
                ipv6_cidrs: vec![],
                position: None,
            });
        }
        let findings = check(&plan, &CheckOptions::default());
        let overlaps: Vec<&Diagnostic> = findings.iter().filter(|d| d.code == Code::CidrOverlap).collect();
        assert_eq!(overlaps.len(), n * (n - 1) / 2);
        assert!(overlaps.len() > 4096, "more than one thread's share");
        let mut offered: BTreeMap<String, Cidr> = BTreeMap::new();
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                let d = overlaps[k];
                k += 1;
                let (a, b) = (&plan.vpcs[i], &plan.vpcs[j]);
                assert_eq!(d.items, [ItemRef::from(&a.id), ItemRef::from(&b.id)]);
                assert_eq!(
                    d.message,
                    format!(
                        "{} (10.0.0.0/16) and {} (10.0.0.0/16) overlap on 10.0.0.0/16: they can never be peered \
                         with each other",
                        a.label(),
                        b.label()
                    )
                );
                let Some(Fix::RenumberVpc { vpc, to }) = &d.fix else {
                    panic!("no block offered in {d:?}")
                };
                assert_eq!(vpc, &b.id);
                assert_eq!(*offered.entry(vpc.to_string()).or_insert(*to), *to, "{vpc}");
            }
        }
        assert_eq!(offered.len(), n - 1, "every VPC but the first is offered a block");
        let blocks: Vec<Cidr> = offered.values().copied().collect();
        assert!(blocks
            .iter()
            .all(|b| b.prefix_len() == 16 && !b.overlaps(&c("10.0.0.0/16"))));
        assert!(crate::cidr::overlapping_pairs(&blocks).is_empty(), "{blocks:?}");
    }

    /// The sentence of every kind of fix, exactly as `check` wrote it when fixes were text (a contract of the
    /// JSON and text output).
    #[test]
    fn every_fix_reads_as_its_sentence() {
        let cases: Vec<(Fix, &str)> = vec![
            (
                Fix::RenumberVpc { vpc: "vpc-d".into(), to: c("10.1.0.0/16") },
                "renumber vpc-d to a free block such as 10.1.0.0/16",
            ),
            (
                Fix::RenumberVpcAndRequestAgain { vpc: "vpc-d".into(), to: c("10.1.0.0/16") },
                "renumber vpc-d to a free block such as 10.1.0.0/16, then request the peering again",
            ),
            (
                Fix::SubnetInsideVpc { vpc: "vpc-a".into(), inside: c("10.0.0.0/16") },
                "choose a block inside 10.0.0.0/16 or add a secondary block to vpc-a",
            ),
            (Fix::KeepOnePeering { keep: "pcx-ab".into() }, "delete all but one of them, e.g. keep pcx-ab"),
            (
                Fix::HubOrQuotaIncrease,
                "use a transit hub for some of these VPCs, or request a quota increase",
            ),
            (
                Fix::SettlePendingRequests,
                "have the accepters accept or reject pending requests before sending more",
            ),
            (
                Fix::UseHub { per_vpc: 60, quota: 50 },
                "a full mesh would give each VPC 60 active peerings, past the quota of 50: connect these VPCs through \
                 a hub (a transit gateway) instead, or peer only the pairs that must talk",
            ),
            (Fix::PeerPairsDirectly, "peer directly the pairs that must talk (each with routes both ways)"),
            (
                Fix::RemoveForeignRoute { table: "rtb-c".into(), vpc: "vpc-c".into() },
                "remove the route from rtb-c, or peer vpc-c directly",
            ),
            (
                Fix::NarrowRoute {
                    table: "rtb-a".into(),
                    destination: c("0.0.0.0/0"),
                    to: vec![c("172.16.0.0/16"), c("172.17.0.0/16")],
                },
                "narrow the destination to the peer's blocks (172.16.0.0/16, 172.17.0.0/16)",
            ),
            (
                Fix::PeerDirectly {
                    vpc: "vpc-a".into(),
                    third: "vpc-c".into(),
                    table: "rtb-a".into(),
                    via: "pcx-ab".into(),
                    vpc_block: c("10.0.0.0/16"),
                    third_block: c("192.168.0.0/16"),
                    third_table: Some("rtb-c".into()),
                    overlap: false,
                },
                "create a peering between vpc-a and vpc-c, then add 192.168.0.0/16 → <new pcx> to rtb-a and \
                 10.0.0.0/16 → <new pcx> to rtb-c",
            ),
            (
                Fix::PeerDirectly {
                    vpc: "vpc-a".into(),
                    third: "vpc-c".into(),
                    table: "rtb-a".into(),
                    via: "pcx-ab".into(),
                    vpc_block: c("10.0.0.0/16"),
                    third_block: c("10.0.0.0/16"),
                    third_table: None,
                    overlap: true,
                },
                "create a peering between vpc-a and vpc-c, then add 10.0.0.0/16 → <new pcx> to rtb-a and \
                 10.0.0.0/16 → <new pcx> to vpc-c's route table — but vpc-a and vpc-c overlap, so renumber one first",
            ),
            (
                Fix::AddReturnRoute {
                    peering: "pcx-ab".into(),
                    peer: "vpc-b".into(),
                    destination: c("10.0.0.0/16"),
                    table: Some("rtb-b".into()),
                },
                "add the route 10.0.0.0/16 → pcx-ab to rtb-b",
            ),
            (
                Fix::AddReturnRoute {
                    peering: "pcx-ab".into(),
                    peer: "vpc-b".into(),
                    destination: c("10.0.0.0/16"),
                    table: None,
                },
                "add the route 10.0.0.0/16 → pcx-ab to a route table of vpc-b",
            ),
            (
                Fix::AddSpecificRoute {
                    table: "rtb-b".into(),
                    destination: c("10.0.2.0/24"),
                    peering: "pcx-ab".into(),
                },
                "add the more specific route 10.0.2.0/24 → pcx-ab to rtb-b",
            ),
            (
                Fix::AddPeeringRoutes {
                    peering: "pcx-ad".into(),
                    requester: ("vpc-a".into(), c("10.0.0.0/16")),
                    accepter: ("vpc-d".into(), c("10.9.0.0/16")),
                    sides: vec!["vpc-d".into()],
                },
                "add a route 10.9.0.0/16 → pcx-ad in vpc-a's route table and 10.0.0.0/16 → pcx-ad in vpc-d's",
            ),
            (Fix::RestrictSourceToPeer, "replace the source with the peer VPC's CIDR block"),
            (
                Fix::ReferenceBlock { block: Some(c("172.16.0.0/16")) },
                "reference 172.16.0.0/16's CIDR block instead",
            ),
            (Fix::ReferenceBlock { block: None }, "reference 's CIDR block instead"),
            (Fix::Text("any sentence".into()), "any sentence"),
        ];
        for (fix, sentence) in cases {
            assert_eq!(fix.to_string(), sentence, "{fix:?}");
            assert_eq!(serde_json::to_value(&fix).unwrap(), serde_json::json!(sentence));
        }
    }

    /// Typed items and fix serialise to the same JSON as when they were strings, and that JSON reads back (as
    /// text) and writes out byte for byte.
    #[test]
    fn a_finding_serialises_as_ids_and_a_sentence() {
        let d = Diagnostic::new(
            Code::MissingReturnRoute,
            Severity::Warning,
            vec![
                ItemRef::Peering("pcx-ab".into()),
                ItemRef::RouteTable("rtb-a".into()),
                ItemRef::Vpc("vpc-b".into()),
            ],
            "replies cannot return".into(),
        )
        .with_fix(Fix::AddReturnRoute {
            peering: "pcx-ab".into(),
            peer: "vpc-b".into(),
            destination: c("10.0.0.0/16"),
            table: Some("rtb-b".into()),
        });
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"code":"MISSING_RETURN_ROUTE","severity":"warning","items":["pcx-ab","rtb-a","vpc-b"],"message":"replies cannot return","fix":"add the route 10.0.0.0/16 → pcx-ab to rtb-b"}"#
        );
        let back: Diagnostic = serde_json::from_str(&json).unwrap();
        assert_eq!(back.items, ["pcx-ab", "rtb-a", "vpc-b"]);
        assert_eq!(back.items[0], ItemRef::Other("pcx-ab".into()));
        assert_eq!(
            back.fix,
            Some(Fix::Text("add the route 10.0.0.0/16 → pcx-ab to rtb-b".into()))
        );
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let no_fix = Diagnostic { fix: None, ..d };
        assert!(!serde_json::to_string(&no_fix).unwrap().contains("fix"));
    }

    #[test]
    fn findings_sort_by_the_items_text_not_their_kind() {
        let finding = |item: ItemRef| Diagnostic::warning(Code::CidrOverlap, vec![item], "m".into());
        let mut out = vec![
            finding(ItemRef::Vpc("vpc-b".into())),
            finding(ItemRef::Peering("pcx-a".into())),
            finding(ItemRef::Vpc("vpc-b".into())),
        ];
        sort_findings(&mut out);
        let items: Vec<&str> = out.iter().map(|d| d.items[0].as_str()).collect();
        assert_eq!(items, ["pcx-a", "vpc-b"]);
    }
}
