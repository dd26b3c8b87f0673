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

/// Computes the matrix for one protocol and port (`None`: each destination's first listening port).
pub fn matrix(
    t: &Topology,
    protocol: Protocol,
    port: Option<u16>,
    client: ClientProfile,
) -> Result<Matrix, FlowError> {
    let plan = t.plan;
    let atoms = Atoms::new(t);
    let n = plan.endpoints.len();
    let mut class_of = Vec::with_capacity(n);
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
            alone: (!consistent || shared).then_some(i),
            first_port: if port.is_none() && protocol.has_ports() {
                e.ports.first().copied()
            } else {
                None
            },
        };
        let next = index.len();
        let c = *index.entry(key).or_insert(next);
        class_of.push(c);
    }
    // One trace per (source class, destination class, same subnet or not): a pair inside one subnet skips the
    // network ACLs and the route table, so it never shares a verdict with a pair across subnets. Each entry is
    // traced the first time a cell needs it, with that cell's own pair, so the representative always has the
    // right relation.
    let k = index.len();
    const UNSET: u8 = u8::MAX;
    let mut table = vec![UNSET; k * k * 2];
    let subnet_of: Vec<usize> = plan.endpoints.iter().map(|e| t.subnet_index(&e.subnet)).collect();
    let mut cells = vec![0u8; n * n];
    for i in 0..n {
        for j in 0..n {
            let same = usize::from(subnet_of[i] == subnet_of[j]);
            let slot = (class_of[i] * k + class_of[j]) * 2 + same;
            if table[slot] == UNSET {
                let flow = Flow {
                    from: plan.endpoints[i].id.0.clone(),
                    to: plan.endpoints[j].id.0.clone(),
                    protocol,
                    port,
                    client,
                };
                let code = verdict(t, &flow)?;
                table[slot] = TraceCode::ALL
                    .iter()
                    .position(|c| *c == code)
                    .expect("known code") as u8;
            }
            cells[i * n + j] = table[slot];
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
