//! The reachability matrix: every endpoint × every endpoint for one protocol and port.
//!
//! Computed the fast way: endpoints that every rule treats alike form one class — same VPC, route table,
//! network ACL and security groups, and the same address *atom* (the interval between consecutive boundaries
//! of every block any route, ACL entry, security-group rule or VPC mentions). One trace per pair of classes
//! (and per "same subnet or not", since a pair inside one subnet skips the network ACLs) decides every cell of
//! that pair, so a plan with thousands of endpoints needs only about (classes)² traces. The
//! result equals tracing every pair (a property test checks this).
//!
//! ```
//! use netmodel::{
//!     generate::{generate, GenerateOptions},
//!     matrix::matrix,
//!     model::Protocol,
//!     sim::{ClientProfile, Topology, TraceCode},
//! };
//!
//! // A hub and a spoke, peered; one web server (TCP 443, open to 10.0.0.0/8) in each.
//! let plan = generate(&GenerateOptions { vpcs: 2, subnets_per_vpc: 1, endpoints_per_subnet: 1, seed: 1 }).unwrap();
//! let topology = Topology::new(&plan);
//! let https = matrix(&topology, Protocol::Tcp, Some(443), ClientProfile::Linux).unwrap();
//! assert_eq!(https.endpoints, ["ep-0000-000-000", "ep-0001-000-000"]);
//! assert_eq!(https.code(0, 1), TraceCode::Accepted);
//! assert_eq!(https.code(1, 0), TraceCode::Accepted);
//! // SSH is not open: the destination's security group drops it.
//! let ssh = matrix(&topology, Protocol::Tcp, Some(22), ClientProfile::Linux).unwrap();
//! assert_eq!(ssh.code(0, 1), TraceCode::SgDenyIngress);
//! ```

use std::{collections::HashMap, net::IpAddr};

use serde::Serialize;

use crate::{
    model::Protocol,
    sim::{verdict, ClientProfile, Disposition, Flow, FlowError, Topology, TraceCode},
};

/// The matrix. Rows and columns are endpoints in plan order (by id); cells hold trace codes.
#[derive(Clone, Debug)]
pub struct Matrix {
    pub protocol: Protocol,
    pub port: Option<u16>,
    /// Endpoint ids, row and column order.
    pub endpoints: Vec<String>,
    /// VPC of each endpoint (same order), for grouping.
    pub vpcs: Vec<String>,
    /// `n × n` indices into [`TraceCode::ALL`], row-major (row = source).
    cells: Vec<u8>,
    /// How many equivalence classes the endpoints fell into.
    pub classes: usize,
}

impl Matrix {
    /// Number of endpoints.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether there are no endpoints.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The code of the flow from row `from` to column `to`.
    pub fn code(&self, from: usize, to: usize) -> TraceCode {
        TraceCode::ALL[self.cells[from * self.len() + to] as usize]
    }

    /// The disposition of a cell.
    pub fn disposition(&self, from: usize, to: usize) -> Disposition {
        disposition_of(self.code(from, to))
    }

    /// Counts of each code over all cells.
    pub fn counts(&self) -> Vec<(TraceCode, usize)> {
        let mut n = vec![0usize; TraceCode::ALL.len()];
        for &c in &self.cells {
            n[c as usize] += 1;
        }
        TraceCode::ALL
            .iter()
            .copied()
            .zip(n)
            .filter(|(_, k)| *k > 0)
            .collect()
    }

    /// The matrix as CSV: a header of destination ids, then one row per source.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("from\\to");
        for e in &self.endpoints {
            out.push(',');
            out.push_str(&csv_field(e));
        }
        out.push('\n');
        for i in 0..self.len() {
            out.push_str(&csv_field(&self.endpoints[i]));
            for j in 0..self.len() {
                out.push(',');
                out.push_str(self.code(i, j).as_str());
            }
            out.push('\n');
        }
        out
    }

    /// The matrix as JSON-ready data.
    pub fn to_json(&self) -> MatrixJson<'_> {
        MatrixJson {
            protocol: self.protocol.to_string(),
            port: self.port,
            endpoints: &self.endpoints,
            cells: (0..self.len())
                .map(|i| (0..self.len()).map(|j| self.code(i, j)).collect())
                .collect(),
            classes: self.classes,
        }
    }
}

/// JSON form of a [`Matrix`].
#[derive(Serialize)]
pub struct MatrixJson<'a> {
    pub protocol: String,
    pub port: Option<u16>,
    pub endpoints: &'a [String],
    pub cells: Vec<Vec<TraceCode>>,
    pub classes: usize,
}

/// A CSV cell: quoted when it holds a comma, quote or line break; and a value a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so an endpoint id from
/// someone else's plan opens as text.
///
/// ```
/// # use netmodel::matrix::csv_field;
/// assert_eq!(csv_field("web-1"), "web-1");
/// assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
/// assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
/// ```
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The disposition a code implies.
pub fn disposition_of(code: TraceCode) -> Disposition {
    match code {
        TraceCode::Accepted => Disposition::Accepted,
        TraceCode::Exited => Disposition::Exited,
        _ => Disposition::Dropped,
    }
}

/// Sorted boundaries of every block the rules mention, per family; an address's atom is its position among them.
struct Atoms {
    v4: Vec<u128>,
    v6: Vec<u128>,
}

impl Atoms {
    fn new(t: &Topology) -> Atoms {
        let plan = t.plan;
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut add = |c: &crate::cidr::Cidr| {
            let iv = c.interval();
            let list = if iv.family == 4 { &mut v4 } else { &mut v6 };
            list.push(iv.start);
            list.push(iv.end.saturating_add(1));
        };
        plan.vpcs.iter().flat_map(|v| v.blocks()).for_each(&mut add);
        plan.route_tables
            .iter()
            .flat_map(|r| &r.routes)
            .for_each(|r| add(&r.destination));
        plan.network_acls
            .iter()
            .flat_map(|a| &a.entries)
            .for_each(|e| add(&e.cidr));
        plan.security_groups
            .iter()
            .flat_map(|g| g.ingress.iter().chain(&g.egress))
            .filter_map(|r| r.cidr.as_ref())
            .for_each(&mut add);
        // A packet can arrive in a VPC other than its destination's own only where VPC blocks overlap; there,
        // which subnet (if any) holds the address matters, so those VPCs' subnet blocks are boundaries too.
        let blocks: Vec<crate::cidr::Cidr> = plan.vpcs.iter().flat_map(|v| v.blocks().copied()).collect();
        let owner: Vec<&crate::ids::VpcId> = plan
            .vpcs
            .iter()
            .flat_map(|v| v.blocks().map(move |_| &v.id))
            .collect();
        let mut overlapping = std::collections::HashSet::new();
        for o in crate::cidr::overlapping_pairs(&blocks) {
            if owner[o.a] != owner[o.b] {
                overlapping.insert(owner[o.a]);
                overlapping.insert(owner[o.b]);
            }
        }
        for s in plan.subnets.iter().filter(|s| overlapping.contains(&s.vpc)) {
            std::iter::once(&s.cidr).chain(&s.ipv6_cidr).for_each(&mut add);
        }
        v4.sort_unstable();
        v4.dedup();
        v6.sort_unstable();
        v6.dedup();
        Atoms { v4, v6 }
    }

    fn of(&self, addr: IpAddr) -> usize {
        let (list, x) = match addr {
            IpAddr::V4(a) => (&self.v4, u32::from(a) as u128),
            IpAddr::V6(a) => (&self.v6, u128::from(a)),
        };
        list.partition_point(|&b| b <= x)
    }
}

/// What makes two endpoints interchangeable in every trace.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ClassKey {
    subnet_vpc: String,
    route_table: Option<usize>,
    acl: Option<usize>,
    groups: Vec<String>,
    atom4: Option<usize>,
    atom6: Option<usize>,
    /// Set for endpoints that must stand alone (address outside their subnet, or first port differs…).
    alone: Option<usize>,
    first_port: Option<u16>,
}

/// Above this many classes the matrix is filled [by source atoms](matrix_by_source_atoms): with one class per
/// endpoint (thousands of VPCs, one endpoint each), one trace per pair of classes is one trace per cell.
const CLASS_PAIRS_MAX: usize = 2048;

/// Computes the matrix for one protocol and port (`None`: each destination's first listening port).
pub fn matrix(
    t: &Topology,
    protocol: Protocol,
    port: Option<u16>,
    client: ClientProfile,
) -> Result<Matrix, FlowError> {
    let classes = Classes::of(t, protocol, port);
    let by_source = classes.count > CLASS_PAIRS_MAX;
    fill(t, protocol, port, client, &classes, by_source)
}

/// The matrix filled by source atoms whatever the plan's size (what [`matrix`] does above 2,048 classes): for each
/// source, the addresses are cut at every boundary that the source's own security groups (egress), network ACL
/// (outbound) and route table (with the blocks of the VPCs its routes lead to) mention. Within one such atom,
/// every destination that does not arrive gets the same verdict from one trace (dropped by the source's groups or
/// ACL, no route, a blackhole, a peering that is not active, not transitive, leaving through a gateway); only
/// destinations that arrive (the source's own VPC, its active peers) are traced per pair of classes. So a plan of
/// 10,000 peered VPCs needs about (atoms per source + peers) traces per source, not 10,000. Public for the tests
/// that hold it to tracing every pair.
#[doc(hidden)]
pub fn matrix_by_source_atoms(
    t: &Topology,
    protocol: Protocol,
    port: Option<u16>,
    client: ClientProfile,
) -> Result<Matrix, FlowError> {
    fill(t, protocol, port, client, &Classes::of(t, protocol, port), true)
}

/// The endpoints' classes.
struct Classes {
    /// Class of each endpoint.
    of: Vec<usize>,
    /// Whether an endpoint is a class of its own (an address outside its subnet, or held by another endpoint too).
    alone: Vec<bool>,
    count: usize,
}

impl Classes {
    fn of(t: &Topology, protocol: Protocol, port: Option<u16>) -> Classes {
        let plan = t.plan;
        let atoms = Atoms::new(t);
        let n = plan.endpoints.len();
        let mut of = Vec::with_capacity(n);
        let mut alone_of = Vec::with_capacity(n);
        let mut index: HashMap<ClassKey, usize> = HashMap::new();
        for (i, e) in plan.endpoints.iter().enumerate() {
            let subnet = t.subnet_index(&e.subnet);
            let sn = &plan.subnets[subnet];
            let own_first =
                |addr: IpAddr| t.first_subnet_holding(t.vpc_index_of_subnet(subnet), addr) == Some(subnet);
            let consistent =
                e.ipv4.map(IpAddr::V4).is_none_or(own_first) && e.ipv6.map(IpAddr::V6).is_none_or(own_first);
            // An address that another endpoint holds too (overlapping VPCs): where a packet for it lands decides
            // which interface receives it, so such an endpoint is its own class.
            let shared = e
                .ipv4
                .map(IpAddr::V4)
                .into_iter()
                .chain(e.ipv6.map(IpAddr::V6))
                .any(|a| t.holders(a).nth(1).is_some());
            let alone = !consistent || shared;
            let mut groups: Vec<String> = e.security_groups.iter().map(|g| g.0.clone()).collect();
            groups.sort();
            groups.dedup();
            let key = ClassKey {
                subnet_vpc: sn.vpc.0.clone(),
                route_table: t.route_table_index(subnet),
                acl: t.acl_index(subnet),
                groups,
                atom4: e.ipv4.map(|a| atoms.of(IpAddr::V4(a))),
                atom6: e.ipv6.map(|a| atoms.of(IpAddr::V6(a))),
                alone: alone.then_some(i),
                first_port: if port.is_none() && protocol.has_ports() {
                    e.ports.first().copied()
                } else {
                    None
                },
            };
            let next = index.len();
            of.push(*index.entry(key).or_insert(next));
            alone_of.push(alone);
        }
        Classes {
            of,
            alone: alone_of,
            count: index.len(),
        }
    }
}

/// A cell not decided yet.
const UNSET: u8 = u8::MAX;
/// A destination that arrives: its cell is decided per pair of classes.
const ARRIVES: u8 = u8::MAX - 1;

/// The position of a code in [`TraceCode::ALL`], as cells hold it.
fn code_index(code: TraceCode) -> u8 {
    TraceCode::ALL
        .iter()
        .position(|c| *c == code)
        .expect("known code") as u8
}

/// Codes a request gets before it arrives in the destination's VPC: they depend on the destination only through
/// its address (and, for the source's egress rules that name groups, the destination's groups).
fn stops_before_arrival(code: TraceCode) -> bool {
    matches!(
        code,
        TraceCode::SgDenyEgress
            | TraceCode::NaclDenyOutbound
            | TraceCode::NoRoute
            | TraceCode::BlackholeRoute
            | TraceCode::PeeringNotActive
            | TraceCode::NotTransitive
            | TraceCode::EdgeToEdge
            | TraceCode::Exited
            | TraceCode::UnknownSource
    )
}

/// One trace per (source class, destination class, same subnet or not), kept: dense for few classes, a map for
/// many (where most cells are decided by source atoms and only arriving pairs come here).
enum PairTable {
    Dense { k: usize, codes: Vec<u8> },
    Sparse(HashMap<(u32, u32, bool), u8>),
}

impl PairTable {
    fn new(k: usize) -> PairTable {
        match k.checked_mul(k * 2) {
            Some(size) if size <= 32 << 20 => PairTable::Dense {
                k,
                codes: vec![UNSET; size],
            },
            _ => PairTable::Sparse(HashMap::new()),
        }
    }

    /// The code of a pair of classes, traced with `(i, j)` (endpoint positions) the first time it is needed, so
    /// the representative always has the right relation.
    fn get(
        &mut self,
        (ci, cj, same): (usize, usize, bool),
        trace: impl FnOnce() -> Result<TraceCode, FlowError>,
    ) -> Result<u8, FlowError> {
        let slot = match self {
            PairTable::Dense { k, codes } => &mut codes[(ci * *k + cj) * 2 + usize::from(same)],
            PairTable::Sparse(map) => map.entry((ci as u32, cj as u32, same)).or_insert(UNSET),
        };
        if *slot == UNSET {
            *slot = code_index(trace()?);
        }
        Ok(*slot)
    }
}

/// What one source (a class in one subnet) does with a destination address before it arrives anywhere.
struct SourceAtoms<'p> {
    /// Sorted boundaries per family (start of each block, end + 1) of every block that the source's egress rules,
    /// outbound ACL entries, routes and the VPCs its routes lead to mention, and of its own subnet.
    v4: Vec<u128>,
    v6: Vec<u128>,
    /// Groups the source's egress rules name: a destination's membership is part of its key.
    refs: Vec<&'p crate::ids::SecurityGroupId>,
    /// Per atom (membership of no named group): [`UNSET`], [`ARRIVES`] or the code.
    memo4: Vec<u8>,
    memo6: Vec<u8>,
    /// Per (IPv6?, atom, membership bits) when the destination is in a named group.
    memo_member: HashMap<(bool, usize, u64), u8>,
}

impl<'p> SourceAtoms<'p> {
    /// `None` when the source's rules name more than 64 groups (its row is traced per pair of classes).
    fn new(t: &Topology<'p>, src: &'p crate::model::Endpoint, subnet: usize) -> Option<SourceAtoms<'p>> {
        let plan = t.plan;
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let mut add = |c: &crate::cidr::Cidr| {
            let iv = c.interval();
            let list = if iv.family == 4 { &mut v4 } else { &mut v6 };
            list.push(iv.start);
            list.push(iv.end.saturating_add(1));
        };
        let sn = &plan.subnets[subnet];
        std::iter::once(&sn.cidr).chain(&sn.ipv6_cidr).for_each(&mut add);
        let vpc = t.vpc_index_of_subnet(subnet);
        plan.vpcs[vpc].blocks().for_each(&mut add);
        let mut refs = Vec::new();
        for g in src.security_groups.iter().filter_map(|g| t.sg.get(g)) {
            for r in &plan.security_groups[*g].egress {
                if let Some(c) = &r.cidr {
                    add(c);
                }
                if let Some(g) = &r.sg {
                    refs.push(&g.group);
                }
            }
        }
        if let Some(a) = t.acl_index(subnet) {
            plan.network_acls[a]
                .entries
                .iter()
                .filter(|e| e.direction == crate::model::Direction::Outbound)
                .for_each(|e| add(&e.cidr));
        }
        for (destination, target) in t.routes_of(subnet) {
            add(destination);
            if let crate::model::Target::Peering(pid) = target {
                let peer = t
                    .peering
                    .get(pid)
                    .and_then(|&pi| plan.peerings[pi].peer_of(&plan.vpcs[vpc].id))
                    .and_then(|id| t.vpc.get(id));
                if let Some(&peer) = peer {
                    plan.vpcs[peer].blocks().for_each(&mut add);
                }
            }
        }
        refs.sort();
        refs.dedup();
        if refs.len() > 64 {
            return None;
        }
        for list in [&mut v4, &mut v6] {
            list.sort_unstable();
            list.dedup();
        }
        Some(SourceAtoms {
            memo4: vec![UNSET; v4.len() + 1],
            memo6: vec![UNSET; v6.len() + 1],
            v4,
            v6,
            refs,
            memo_member: HashMap::new(),
        })
    }

    /// The memo slot of a destination address (and the destination's groups).
    fn slot(&mut self, addr: IpAddr, dst: &crate::model::Endpoint) -> &mut u8 {
        let (v6, x) = match addr {
            IpAddr::V4(a) => (false, u32::from(a) as u128),
            IpAddr::V6(a) => (true, u128::from(a)),
        };
        let atom = if v6 { &self.v6 } else { &self.v4 }.partition_point(|&b| b <= x);
        let mut member = 0u64;
        if !self.refs.is_empty() {
            for (bit, g) in self.refs.iter().enumerate() {
                if dst.security_groups.contains(g) {
                    member |= 1 << bit;
                }
            }
        }
        match (member, v6) {
            (0, false) => &mut self.memo4[atom],
            (0, true) => &mut self.memo6[atom],
            _ => self.memo_member.entry((v6, atom, member)).or_insert(UNSET),
        }
    }
}

/// The address a trace from `src` to the endpoint `dst` aims at (as [`crate::sim`] picks it: IPv4 when both have
/// it, else IPv6).
fn aimed_at(src: &crate::model::Endpoint, dst: &crate::model::Endpoint) -> Option<IpAddr> {
    match (dst.ipv4, dst.ipv6) {
        (Some(v4), _) if src.ipv4.is_some() => Some(IpAddr::V4(v4)),
        (_, Some(v6)) => Some(IpAddr::V6(v6)),
        (Some(v4), None) => Some(IpAddr::V4(v4)),
        (None, None) => None,
    }
}

fn fill(
    t: &Topology,
    protocol: Protocol,
    port: Option<u16>,
    client: ClientProfile,
    classes: &Classes,
    by_source: bool,
) -> Result<Matrix, FlowError> {
    let plan = t.plan;
    let n = plan.endpoints.len();
    let k = classes.count;
    let class_of = &classes.of;
    // A pair inside one subnet skips the network ACLs and the route table, so it never shares a verdict with a
    // pair across subnets.
    let subnet_of: Vec<usize> = plan.endpoints.iter().map(|e| t.subnet_index(&e.subnet)).collect();
    let verdict_of = |i: usize, j: usize| {
        let flow = Flow {
            from: plan.endpoints[i].id.0.clone(),
            to: plan.endpoints[j].id.0.clone(),
            protocol,
            port,
            client,
        };
        verdict(t, &flow)
    };
    let mut pairs = PairTable::new(k);
    // Source atoms need the port fixed (the destination's first port would be part of the key otherwise).
    let by_source = by_source && (port.is_some() || !protocol.has_ports());
    let mut sources: HashMap<(usize, usize), Option<SourceAtoms>> = HashMap::new();
    let mut cells = vec![0u8; n * n];
    for i in 0..n {
        let src = &plan.endpoints[i];
        let row = &mut cells[i * n..(i + 1) * n];
        let mut atoms = if by_source && !classes.alone[i] {
            sources
                .entry((class_of[i], subnet_of[i]))
                .or_insert_with(|| SourceAtoms::new(t, src, subnet_of[i]))
                .as_mut()
        } else {
            None
        };
        for j in 0..n {
            let pair = (class_of[i], class_of[j], subnet_of[i] == subnet_of[j]);
            let dst = &plan.endpoints[j];
            let slot = match (&mut atoms, aimed_at(src, dst)) {
                (Some(a), Some(addr)) if !classes.alone[j] => Some(a.slot(addr, dst)),
                _ => None,
            };
            row[j] = match slot {
                Some(slot) if *slot == UNSET => {
                    let code = verdict_of(i, j)?;
                    if stops_before_arrival(code) {
                        *slot = code_index(code);
                        *slot
                    } else {
                        *slot = ARRIVES;
                        pairs.get(pair, || Ok(code))?
                    }
                }
                Some(slot) if *slot != ARRIVES => *slot,
                _ => pairs.get(pair, || verdict_of(i, j))?,
            };
        }
    }
    Ok(Matrix {
        protocol,
        port,
        endpoints: plan.endpoints.iter().map(|e| e.id.0.clone()).collect(),
        vpcs: plan
            .endpoints
            .iter()
            .map(|e| plan.subnets[t.subnet_index(&e.subnet)].vpc.0.clone())
            .collect(),
        cells,
        classes: k,
    })
}
