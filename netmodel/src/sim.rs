//! The packet-path simulator: one flow → one [`Trace`], an explanation hop by hop.
//!
//! The request is walked stage by stage (each one small function that records a [`Hop`]): source security
//! groups (egress) → source subnet's network ACL (outbound) → source route table (longest-prefix match) → the
//! route's target (local, peering, gateway, blackhole) → destination subnet's network ACL (inbound) →
//! destination security groups (ingress). Then the reply: the destination subnet's ACL outbound and the
//! source subnet's ACL inbound on the client's ephemeral ports (ACLs are stateless; security groups are not),
//! and the responder's route back, which must use the same peering (or `local`).
//!
//! Each hop names the [`Component`] it consulted (typed: the security groups, ACL, route table, peering…).
//! [`trace`] records every hop; [`verdict`] only decides (what the reachability matrix needs).
//!
//! ```
//! use netmodel::model::{EndpointKind, Protocol};
//! use netmodel::sim::{self, Component, Flow, Stage, TraceCode};
//! use netmodel::{edit, Plan};
//! let mut plan = Plan::new("two VPCs");
//! let a = edit::add_vpc(&mut plan, "10.0.0.0/16".parse().unwrap());
//! let b = edit::add_vpc(&mut plan, "172.16.0.0/16".parse().unwrap());
//! for (vpc, name) in [(&a, "web"), (&b, "db")] {
//!     let block = edit::suggest_subnet_block(&plan, vpc).unwrap();
//!     let subnet = edit::add_subnet(&mut plan, vpc, block);
//!     let ip = edit::suggest_endpoint_address(&plan, &subnet).unwrap();
//!     edit::add_endpoint(&mut plan, &subnet, name, EndpointKind::Instance, ip, Some(5432));
//! }
//! let flow = Flow {
//!     from: "web".into(),
//!     to: "db".into(),
//!     protocol: Protocol::Tcp,
//!     port: None,
//!     client: Default::default(),
//! };
//! // Not peered: web's route table has no route to db.
//! let trace = sim::trace(&sim::Topology::new(&plan), &flow).unwrap();
//! assert_eq!(trace.code, TraceCode::NoRoute);
//! // Peered, with routes both ways: the packet crosses pcx-1, and db's default group admits only itself.
//! edit::add_peering(&mut plan, &a, &b, true).unwrap();
//! let trace = sim::trace(&sim::Topology::new(&plan), &flow).unwrap();
//! assert_eq!(trace.code, TraceCode::SgDenyIngress);
//! let crossing = trace.forward.iter().find(|h| h.stage == Stage::Peering).unwrap();
//! assert_eq!(crossing.component, Component::Peering("pcx-1".into()));
//! ```

use std::{collections::HashMap, fmt, net::IpAddr};

use serde::{Deserialize, Serialize};

use crate::{cidr::Cidr, codes::stable_codes, ids::*, model::*};

/// The client's ephemeral port range, which the reply is addressed to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientProfile {
    /// Linux: 32768–61000.
    #[default]
    Linux,
    /// Windows: 49152–65535.
    Windows,
    /// Load balancers and NAT gateways: 1024–65535.
    Nat,
}

impl ClientProfile {
    /// The ephemeral port range.
    pub fn ephemeral(self) -> PortRange {
        match self {
            ClientProfile::Linux => PortRange {
                from: 32768,
                to: 61000,
            },
            ClientProfile::Windows => PortRange {
                from: 49152,
                to: 65535,
            },
            ClientProfile::Nat => PortRange {
                from: 1024,
                to: 65535,
            },
        }
    }
}

/// What to trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Endpoint id or name, or an address that belongs to an endpoint.
    pub from: String,
    /// Endpoint id or name, or any IPv4/IPv6 address.
    pub to: String,
    pub protocol: Protocol,
    /// Destination port (tcp/udp); `None` uses the destination's first listening port.
    pub port: Option<u16>,
    #[serde(default)]
    pub client: ClientProfile,
}

/// How a trace ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    Accepted,
    Exited,
    Dropped,
}

impl Disposition {
    /// The disposition as printed: `ACCEPTED`, `EXITED` or `DROPPED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Accepted => "ACCEPTED",
            Disposition::Exited => "EXITED",
            Disposition::Dropped => "DROPPED",
        }
    }
}

/// The words of a verdict as shown to a person: the disposition, unless the code already says it, then the code.
/// A verdict reads `DROPPED NO_ROUTE` or `ACCEPTED`, never `ACCEPTED ACCEPTED`.
///
/// ```
/// use netmodel::sim::{verdict_words, Disposition, TraceCode};
/// assert_eq!(verdict_words(Disposition::Accepted, TraceCode::Accepted), (None, "ACCEPTED"));
/// assert_eq!(verdict_words(Disposition::Exited, TraceCode::Exited), (None, "EXITED"));
/// assert_eq!(verdict_words(Disposition::Dropped, TraceCode::NoRoute), (Some("DROPPED"), "NO_ROUTE"));
/// ```
pub fn verdict_words(disposition: Disposition, code: TraceCode) -> (Option<&'static str>, &'static str) {
    let (word, code) = (disposition.as_str(), code.as_str());
    ((word != code).then_some(word), code)
}

stable_codes! {
    /// The closed set of trace codes.
    pub enum TraceCode {
        /// Delivered, and the reply can return.
        Accepted => "ACCEPTED",
        /// Left the modelled network through an internet, NAT or VPN gateway or a gateway endpoint.
        Exited => "EXITED",
        /// No route matches the destination.
        NoRoute => "NO_ROUTE",
        /// The matching route is a blackhole.
        BlackholeRoute => "BLACKHOLE_ROUTE",
        /// The route's peering is not active.
        PeeringNotActive => "PEERING_NOT_ACTIVE",
        /// Sent over a peering to a destination outside the peer VPC.
        NotTransitive => "NOT_TRANSITIVE",
        /// Arrived over a peering and would leave the peer through its gateway.
        EdgeToEdge => "EDGE_TO_EDGE",
        /// The source subnet's network ACL denies the request.
        NaclDenyOutbound => "NACL_DENY_OUTBOUND",
        /// The destination subnet's network ACL denies the request.
        NaclDenyInbound => "NACL_DENY_INBOUND",
        /// No egress rule of the source's security groups allows the request.
        SgDenyEgress => "SG_DENY_EGRESS",
        /// No ingress rule of the destination's security groups allows the request.
        SgDenyIngress => "SG_DENY_INGRESS",
        /// A network ACL denies the reply.
        ReturnNaclDeny => "RETURN_NACL_DENY",
        /// The responder has no route back to the source.
        ReturnNoRoute => "RETURN_NO_ROUTE",
        /// The responder's route back leads somewhere else.
        ReturnMisrouted => "RETURN_MISROUTED",
        /// The source is not an endpoint of the plan.
        UnknownSource => "UNKNOWN_SOURCE",
        /// The destination is not an endpoint or an address.
        UnknownDestination => "UNKNOWN_DESTINATION",
    }
}

/// The stage a hop records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    SgEgress,
    NaclOutbound,
    Route,
    Peering,
    Gateway,
    NaclInbound,
    SgIngress,
    Deliver,
}

/// What a hop did to the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopResult {
    Pass,
    Drop,
    Exit,
}

/// One stage of a trace: what was looked up and what decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub stage: Stage,
    /// The component consulted (serialised as its id, or the group ids joined by `, `).
    pub component: Component,
    /// What was looked up, e.g. `tcp 10.0.2.10 → 172.16.2.20:7010`.
    pub lookup: String,
    /// The rule, route or entry that decided (`implicit deny` when none matched).
    pub decided_by: String,
    /// For route look-ups: the other matching routes, longest prefix first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    pub result: HopResult,
}

/// What a hop consulted. Serialised as text, as traces have always named it: the id, the security groups'
/// ids joined by `, `, or `vpc-a (local routes only)`.
///
/// Read back from JSON a component is [`Component::Other`]: the JSON carries the text only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    /// The security groups of an endpoint, evaluated together.
    SecurityGroups(Vec<SecurityGroupId>),
    /// An endpoint: one without security groups, or the one the packet is delivered to.
    Endpoint(EndpointId),
    /// A subnet: one without a network ACL, or one where no interface holds the destination.
    Subnet(SubnetId),
    NetworkAcl(NetworkAclId),
    RouteTable(RouteTableId),
    /// The implicit local routes of a VPC that has no route table.
    LocalRoutes(VpcId),
    Peering(PeeringId),
    Gateway(GatewayId),
    /// A VPC that holds the destination address in none of its subnets.
    Vpc(VpcId),
    /// A component read back from JSON, by its text.
    Other(String),
}

impl Component {
    /// The component as it reads in a trace: its id, the group ids joined by `, `, or
    /// `vpc-a (local routes only)`.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Component::SecurityGroups(ids) => ids
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
            Component::LocalRoutes(vpc) => format!("{vpc} (local routes only)").into(),
            Component::Endpoint(id) => id.as_str().into(),
            Component::Subnet(id) => id.as_str().into(),
            Component::NetworkAcl(id) => id.as_str().into(),
            Component::RouteTable(id) => id.as_str().into(),
            Component::Peering(id) => id.as_str().into(),
            Component::Gateway(id) => id.as_str().into(),
            Component::Vpc(id) => id.as_str().into(),
            Component::Other(text) => text.as_str().into(),
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<16}` aligns a component like a string.
        f.pad(&self.text())
    }
}

/// A component equals a string when its text does (`hop.component == "rtb-a"`).
impl PartialEq<&str> for Component {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

impl Serialize for Component {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Component::Other)
    }
}

/// The answer to one flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub disposition: Disposition,
    pub code: TraceCode,
    /// One sentence in plain words.
    pub explanation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    pub forward: Vec<Hop>,
    #[serde(rename = "return")]
    pub return_path: Vec<Hop>,
    /// Remarks that do not change the verdict (e.g. the destination does not listen on the port).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Bad flow input (not a verdict: a verdict is a [`Trace`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("{protocol} needs a destination port (--port), and {to} declares no listening port")]
    PortRequired { protocol: Protocol, to: String },
}

/// Ids → positions, built once per plan, so a trace does no scans.
pub struct Topology<'p> {
    pub plan: &'p Plan,
    pub(crate) vpc: HashMap<&'p VpcId, usize>,
    subnet: HashMap<&'p SubnetId, usize>,
    pub(crate) sg: HashMap<&'p SecurityGroupId, usize>,
    pub(crate) peering: HashMap<&'p PeeringId, usize>,
    endpoint_by_key: HashMap<&'p str, usize>,
    /// Every endpoint holding an address.
    holders_by_ip: HashMap<IpAddr, Vec<usize>>,
    /// The interfaces of each subnet by address: who receives a packet that arrives in a subnet.
    interface_by_subnet_ip: HashMap<(usize, IpAddr), usize>,
    subnet_rt: Vec<Option<usize>>,
    subnet_acl: Vec<Option<usize>>,
    /// Route-table entries with the implicit local routes, longest prefix first.
    rt_routes: Vec<Vec<(Cidr, Target)>>,
    /// Per VPC: its local routes alone, for subnets of a VPC without any route table.
    vpc_local: Vec<Vec<(Cidr, Target)>>,
    /// ACL entries per ACL: (inbound, outbound), each in rule-number order.
    acl_entries: Vec<[Vec<&'p AclEntry>; 2]>,
    /// Per VPC: subnets sorted by block, for address → subnet.
    vpc_subnets: Vec<Vec<usize>>,
    main_rt: HashMap<&'p VpcId, usize>,
}

impl<'p> Topology<'p> {
    /// Indexes a validated plan.
    pub fn new(plan: &'p Plan) -> Topology<'p> {
        let vpc: HashMap<_, _> = plan.vpcs.iter().enumerate().map(|(i, v)| (&v.id, i)).collect();
        let subnet: HashMap<_, _> = plan.subnets.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
        let sg = plan
            .security_groups
            .iter()
            .enumerate()
            .map(|(i, s)| (&s.id, i))
            .collect();
        let peering = plan
            .peerings
            .iter()
            .enumerate()
            .map(|(i, s)| (&s.id, i))
            .collect();
        let mut endpoint_by_key = HashMap::new();
        // Ids first, so a name never shadows another endpoint's id.
        for (i, e) in plan.endpoints.iter().enumerate() {
            endpoint_by_key.insert(e.id.as_str(), i);
        }
        for (i, e) in plan.endpoints.iter().enumerate() {
            if !e.name.is_empty() {
                endpoint_by_key.entry(e.name.as_str()).or_insert(i);
            }
        }
        let mut interface_by_subnet_ip = HashMap::new();
        let mut holders_by_ip: HashMap<IpAddr, Vec<usize>> = HashMap::new();
        for (i, e) in plan.endpoints.iter().enumerate() {
            for ip in e.ipv4.map(IpAddr::V4).into_iter().chain(e.ipv6.map(IpAddr::V6)) {
                holders_by_ip.entry(ip).or_default().push(i);
            }
            if let Some(&s) = subnet.get(&e.subnet) {
                for ip in e.ipv4.map(IpAddr::V4).into_iter().chain(e.ipv6.map(IpAddr::V6)) {
                    interface_by_subnet_ip.entry((s, ip)).or_insert(i);
                }
            }
        }
        let main_rt: HashMap<&VpcId, usize> = plan
            .route_tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.main)
            .map(|(i, t)| (&t.vpc, i))
            .collect();
        let subnet_rt = crate::model::associations(
            plan.route_tables
                .iter()
                .map(|t| (&t.vpc, t.main, t.subnets.as_slice())),
            &plan.subnets,
        );
        let subnet_acl = crate::model::associations(
            plan.network_acls
                .iter()
                .map(|a| (&a.vpc, a.default, a.subnets.as_slice())),
            &plan.subnets,
        );
        let rt_routes = plan
            .route_tables
            .iter()
            .map(|rt| {
                let locals = vpc
                    .get(&rt.vpc)
                    .map(|&i| plan.vpcs[i].blocks().map(|b| (*b, Target::Local)).collect())
                    .unwrap_or_else(Vec::new);
                let mut all: Vec<(Cidr, Target)> = locals
                    .into_iter()
                    .chain(rt.routes.iter().map(|r| (r.destination, r.target.clone())))
                    .collect();
                // Longest prefix first; at equal length the local route wins.
                all.sort_by_key(|(d, t)| (std::cmp::Reverse(d.prefix_len()), !matches!(t, Target::Local)));
                all
            })
            .collect();
        let acl_entries = plan
            .network_acls
            .iter()
            .map(|a| {
                let mut inbound: Vec<&AclEntry> = a
                    .entries
                    .iter()
                    .filter(|e| e.direction == Direction::Inbound)
                    .collect();
                let mut outbound: Vec<&AclEntry> = a
                    .entries
                    .iter()
                    .filter(|e| e.direction == Direction::Outbound)
                    .collect();
                inbound.sort_by_key(|e| e.rule);
                outbound.sort_by_key(|e| e.rule);
                [inbound, outbound]
            })
            .collect();
        let mut vpc_subnets = vec![Vec::new(); plan.vpcs.len()];
        for (i, s) in plan.subnets.iter().enumerate() {
            if let Some(&v) = vpc.get(&s.vpc) {
                vpc_subnets[v].push(i);
            }
        }
        let vpc_local = plan
            .vpcs
            .iter()
            .map(|v| {
                let mut l: Vec<(Cidr, Target)> = v.blocks().map(|b| (*b, Target::Local)).collect();
                l.sort_by_key(|(d, _)| std::cmp::Reverse(d.prefix_len()));
                l
            })
            .collect();
        Topology {
            vpc_local,
            plan,
            vpc,
            subnet,
            sg,
            peering,
            endpoint_by_key,
            interface_by_subnet_ip,
            holders_by_ip,
            subnet_rt,
            subnet_acl,
            rt_routes,
            acl_entries,
            vpc_subnets,
            main_rt,
        }
    }

    /// Position of a subnet in the plan.
    pub fn subnet_index(&self, id: &SubnetId) -> usize {
        self.subnet[id]
    }

    /// Position of a subnet's VPC.
    pub fn vpc_index_of_subnet(&self, subnet: usize) -> usize {
        self.vpc_of_subnet(subnet)
    }

    /// The route table a subnet uses (position), if any.
    pub fn route_table_index(&self, subnet: usize) -> Option<usize> {
        self.subnet_rt[subnet]
    }

    /// The network ACL a subnet uses (position), if any.
    pub fn acl_index(&self, subnet: usize) -> Option<usize> {
        self.subnet_acl[subnet]
    }

    /// The first subnet of a VPC (plan order) holding an address, as the trace finds it.
    pub fn first_subnet_holding(&self, vpc: usize, addr: IpAddr) -> Option<usize> {
        self.subnet_holding(vpc, addr)
    }

    /// The routes a subnet uses: its table's (with the local routes), or only the local routes when its VPC has
    /// no route table at all.
    pub(crate) fn routes_of(&self, subnet: usize) -> &[(Cidr, Target)] {
        match self.subnet_rt[subnet] {
            Some(rt) => &self.rt_routes[rt],
            None => &self.vpc_local[self.vpc_of_subnet(subnet)],
        }
    }

    /// The table a subnet uses, as a hop's component.
    fn table_component(&self, subnet: usize) -> Component {
        match self.subnet_rt[subnet] {
            Some(rt) => Component::RouteTable(self.plan.route_tables[rt].id.clone()),
            None => Component::LocalRoutes(self.plan.subnets[subnet].vpc.clone()),
        }
    }

    /// The name of the table a subnet uses, for explanations and fixes (the component's text).
    fn table_name(&self, subnet: usize) -> std::borrow::Cow<'p, str> {
        match self.subnet_rt[subnet] {
            Some(rt) => self.plan.route_tables[rt].id.as_str().into(),
            None => self.table_component(subnet).to_string().into(),
        }
    }

    fn endpoint(&self, key: &str) -> Option<usize> {
        self.endpoint_by_key.get(key).copied().or_else(|| {
            key.parse::<IpAddr>()
                .ok()
                .and_then(|ip| self.holders_by_ip.get(&ip)?.first().copied())
        })
    }

    fn vpc_of_subnet(&self, s: usize) -> usize {
        self.vpc[&self.plan.subnets[s].vpc]
    }

    /// The subnet of `vpc` holding `addr`, if any.
    fn subnet_holding(&self, vpc: usize, addr: IpAddr) -> Option<usize> {
        self.vpc_subnets[vpc].iter().copied().find(|&s| {
            let sn = &self.plan.subnets[s];
            sn.cidr.contains_addr(addr) || sn.ipv6_cidr.is_some_and(|c| c.contains_addr(addr))
        })
    }

    /// Every endpoint holding `addr` (more than one only where VPC blocks overlap).
    pub(crate) fn holders(&self, addr: IpAddr) -> impl Iterator<Item = &'p Endpoint> + '_ {
        self.holders_by_ip
            .get(&addr)
            .into_iter()
            .flatten()
            .map(|&i| &self.plan.endpoints[i])
    }

    /// Whether `addr` lies in the subnet's own block (IPv4 or IPv6): traffic to it never leaves the subnet.
    fn subnet_contains(&self, subnet: usize, addr: IpAddr) -> bool {
        let sn = &self.plan.subnets[subnet];
        sn.cidr.contains_addr(addr) || sn.ipv6_cidr.is_some_and(|c| c.contains_addr(addr))
    }

    /// The interface (endpoint position) of `subnet` that holds `addr`, if any.
    pub fn interface_at(&self, subnet: usize, addr: IpAddr) -> Option<usize> {
        self.interface_by_subnet_ip.get(&(subnet, addr)).copied()
    }

    /// Up to three endpoints of a subnet, nearest to `addr` first (for "nothing holds this address").
    fn nearest_endpoints(&self, subnet: usize, addr: IpAddr) -> Vec<String> {
        let key = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(a) => u32::from(a) as u128,
                IpAddr::V6(a) => u128::from(a),
            }
        };
        let target = key(addr);
        let id = &self.plan.subnets[subnet].id;
        let mut near: Vec<(u128, String)> = self
            .plan
            .endpoints
            .iter()
            .filter(|e| &e.subnet == id)
            .filter_map(|e| {
                let ip = match addr {
                    IpAddr::V4(_) => e.ipv4.map(IpAddr::V4),
                    IpAddr::V6(_) => e.ipv6.map(IpAddr::V6),
                }?;
                Some((key(ip).abs_diff(target), format!("{} ({ip})", e.label())))
            })
            .collect();
        near.sort();
        near.into_iter().take(3).map(|(_, l)| l).collect()
    }

    /// The VPC holding `addr` among all VPCs (first by id), if any.
    fn vpc_holding(&self, addr: IpAddr) -> Option<usize> {
        self.plan.vpcs.iter().position(|v| v.holds(addr))
    }
}

/// A packet as the stages see it.
#[derive(Clone, Copy, Debug)]
struct Packet<'d> {
    src: IpAddr,
    dst: IpAddr,
    protocol: Protocol,
    /// Destination ports the packet may carry (one port for a request, the ephemeral range for a reply).
    ports: PortRange,
    /// The packet in words, [`packet_words`] (written once per direction, only when hops are recorded).
    desc: &'d str,
}

impl Packet<'_> {
    fn describe(&self) -> String {
        self.desc.to_string()
    }
}

/// A packet in words, as the hops show it: `tcp 10.0.0.5 → 10.1.0.7:443`, without ports for a protocol that has
/// none.
fn packet_words(protocol: Protocol, src: IpAddr, dst: IpAddr, ports: PortRange) -> String {
    if protocol.has_ports() {
        format!("{protocol} {src} → {dst}:{ports}")
    } else {
        format!("{protocol} {src} → {dst}")
    }
}

fn rule_ports_match(rule_protocol: Protocol, rule_ports: Option<PortRange>, p: &Packet) -> bool {
    if !rule_protocol.matches(p.protocol) {
        return false;
    }
    match rule_ports {
        Some(r) if rule_protocol.has_ports() && p.protocol.has_ports() => {
            r.from <= p.ports.from && p.ports.to <= r.to
        }
        _ => true,
    }
}

fn describe_sg_rule(sg: &SecurityGroup, r: &SgRule) -> String {
    let peer = match (&r.cidr, &r.sg) {
        (Some(c), _) => c.to_string(),
        (_, Some(g)) => format!("group {g}"),
        _ => "?".into(),
    };
    let ports = r.ports.map(|p| format!(" port {p}")).unwrap_or_default();
    format!("{}: {}{} {}", sg.id, r.protocol, ports, peer)
}

fn describe_acl_entry(acl: &NetworkAcl, e: &AclEntry) -> String {
    let ports = e.ports.map(|p| format!(" port {p}")).unwrap_or_default();
    let action = if e.action == Action::Allow {
        "allow"
    } else {
        "deny"
    };
    format!(
        "{} rule {}: {action} {}{} {}",
        acl.id, e.rule, e.protocol, ports, e.cidr
    )
}

/// Collects hops when recording; when not (the matrix wants verdicts only), builds nothing.
struct Rec {
    hops: Vec<Hop>,
    on: bool,
}

impl Rec {
    fn new(on: bool) -> Rec {
        Rec { hops: Vec::new(), on }
    }

    fn push(&mut self, hop: impl FnOnce() -> Hop) {
        if self.on {
            self.hops.push(hop());
        }
    }
}

/// Outcome of a stage: pass on, or stop with a code, sentence and fix.
struct Stop {
    code: TraceCode,
    explanation: String,
    fix: Option<String>,
}

type StageResult = Result<(), Stop>;

fn stop(code: TraceCode, explanation: String, fix: Option<String>) -> StageResult {
    Err(Stop {
        code,
        explanation,
        fix,
    })
}

/// The peering a security-group reference may cross: the referenced group's VPC must be the same, or actively
/// peered in the same region.
pub(crate) fn sg_ref_reaches(t: &Topology, from_vpc: &VpcId, group_vpc: &VpcId) -> bool {
    from_vpc == group_vpc
        || t.plan.peerings.iter().any(|p| {
            p.status == PeeringStatus::Active
                && p.peer_of(from_vpc) == Some(group_vpc)
                && !p.is_inter_region()
        })
}

/// Security groups of an endpoint, egress or ingress: allow-only, any matching rule allows.
fn sg_stage(
    t: &Topology,
    endpoint: &Endpoint,
    egress: bool,
    p: &Packet,
    other: Option<&Endpoint>,
    hops: &mut Rec,
) -> StageResult {
    let stage = if egress { Stage::SgEgress } else { Stage::SgIngress };
    let own_vpc = &t.plan.subnets[t.subnet[&endpoint.subnet]].vpc;
    let remote = if egress { p.dst } else { p.src };
    if endpoint.security_groups.is_empty() {
        hops.push(|| Hop {
            stage,
            component: Component::Endpoint(endpoint.id.clone()),
            lookup: p.describe(),
            decided_by: "no security groups: not filtered".into(),
            candidates: vec![],
            result: HopResult::Pass,
        });
        return Ok(());
    }
    let groups: Vec<&SecurityGroup> = endpoint
        .security_groups
        .iter()
        .filter_map(|g| t.sg.get(g).map(|&i| &t.plan.security_groups[i]))
        .collect();
    for sg in &groups {
        let rules = if egress { &sg.egress } else { &sg.ingress };
        for r in rules {
            if !rule_ports_match(r.protocol, r.ports, p) {
                continue;
            }
            let hit = match (&r.cidr, &r.sg) {
                (Some(c), _) => c.contains_addr(remote),
                (_, Some(g)) => {
                    let member = |o: &Endpoint| o.security_groups.contains(&g.group);
                    // Ingress: the source interface. Egress: the rule names a group, so it allows the address of
                    // any interface in that group (with overlapping VPCs, more than one may hold it).
                    let holds = if egress {
                        t.holders(remote).any(member)
                    } else {
                        other.is_some_and(member)
                    };
                    holds
                        && t.sg
                            .get(&g.group)
                            .is_some_and(|&i| sg_ref_reaches(t, own_vpc, &t.plan.security_groups[i].vpc))
                }
                _ => false,
            };
            if hit {
                hops.push(|| Hop {
                    stage,
                    component: Component::SecurityGroups(groups.iter().map(|g| g.id.clone()).collect()),
                    lookup: p.describe(),
                    decided_by: describe_sg_rule(sg, r),
                    candidates: vec![],
                    result: HopResult::Pass,
                });
                return Ok(());
            }
        }
    }
    let ids = groups
        .iter()
        .map(|g| g.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    hops.push(|| Hop {
        stage,
        component: Component::SecurityGroups(groups.iter().map(|g| g.id.clone()).collect()),
        lookup: p.describe(),
        decided_by: "no rule matches (security groups allow only what a rule allows)".into(),
        candidates: vec![],
        result: HopResult::Drop,
    });
    let port = if p.protocol.has_ports() {
        format!(" port {}", p.ports)
    } else {
        String::new()
    };
    if egress {
        stop(
            TraceCode::SgDenyEgress,
            format!(
                "No egress rule of {ids} on {} allows {}{port} to {remote}.",
                endpoint.label(),
                p.protocol
            ),
            Some(format!(
                "add an egress rule to {}: {}{port} to {remote}/32 (or the peer's block)",
                groups[0].id, p.protocol
            )),
        )
    } else {
        stop(
            TraceCode::SgDenyIngress,
            format!(
                "No ingress rule of {ids} on {} allows {}{port} from {remote}.",
                endpoint.label(),
                p.protocol
            ),
            Some(format!(
                "add an ingress rule to {}: {}{port} from the source's block (e.g. {})",
                groups[0].id,
                p.protocol,
                t.vpc_holding(remote)
                    .map(|v| t.plan.vpcs[v].cidr.to_string())
                    .unwrap_or_else(|| format!("{remote}/32"))
            )),
        )
    }
}

/// A network ACL, one direction: ordered entries, first match decides, implicit final deny. For a port range
/// (a reply to an ephemeral port), every port of the range must be allowed.
fn acl_stage(
    t: &Topology,
    subnet: usize,
    direction: Direction,
    p: &Packet,
    code: TraceCode,
    hops: &mut Rec,
) -> StageResult {
    let stage = if direction == Direction::Inbound {
        Stage::NaclInbound
    } else {
        Stage::NaclOutbound
    };
    let remote = if direction == Direction::Inbound {
        p.src
    } else {
        p.dst
    };
    let Some(acl_i) = t.subnet_acl[subnet] else {
        hops.push(|| Hop {
            stage,
            component: Component::Subnet(t.plan.subnets[subnet].id.clone()),
            lookup: p.describe(),
            decided_by: "no network ACL modelled: the default ACL allows all".into(),
            candidates: vec![],
            result: HopResult::Pass,
        });
        return Ok(());
    };
    let acl = &t.plan.network_acls[acl_i];
    let entries = &t.acl_entries[acl_i][if direction == Direction::Inbound { 0 } else { 1 }];
    // Ports still undecided, as sorted disjoint ranges.
    let mut open: Vec<PortRange> = vec![p.ports];
    let mut last_allow = None;
    for e in entries {
        if !e.protocol.matches(p.protocol) || !e.cidr.contains_addr(remote) {
            continue;
        }
        let range = if e.protocol.has_ports() && p.protocol.has_ports() {
            e.ports.unwrap_or(PortRange::ALL)
        } else {
            PortRange::ALL
        };
        let touches = open.iter().any(|o| o.from <= range.to && range.from <= o.to);
        if !touches {
            continue;
        }
        if e.action == Action::Deny {
            hops.push(|| Hop {
                stage,
                component: Component::NetworkAcl(acl.id.clone()),
                lookup: p.describe(),
                decided_by: describe_acl_entry(acl, e),
                candidates: vec![],
                result: HopResult::Drop,
            });
            return acl_denied(acl, Some(e), direction, p, remote, code);
        }
        last_allow = Some(e);
        open = subtract(&open, range);
        if open.is_empty() {
            hops.push(|| Hop {
                stage,
                component: Component::NetworkAcl(acl.id.clone()),
                lookup: p.describe(),
                decided_by: describe_acl_entry(acl, e),
                candidates: vec![],
                result: HopResult::Pass,
            });
            return Ok(());
        }
    }
    let decided = match last_allow {
        Some(e) => format!(
            "implicit deny (rule *) for ports {}; {} covers only part",
            join_ranges(&open),
            describe_acl_entry(acl, e)
        ),
        None => "implicit deny (rule *): no entry matches".into(),
    };
    hops.push(|| Hop {
        stage,
        component: Component::NetworkAcl(acl.id.clone()),
        lookup: p.describe(),
        decided_by: decided,
        candidates: vec![],
        result: HopResult::Drop,
    });
    acl_denied(acl, None, direction, p, remote, code)
}

fn join_ranges(r: &[PortRange]) -> String {
    r.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

fn subtract(open: &[PortRange], cut: PortRange) -> Vec<PortRange> {
    let mut out = Vec::new();
    for o in open {
        if cut.to < o.from || o.to < cut.from {
            out.push(*o);
            continue;
        }
        if o.from < cut.from {
            out.push(PortRange {
                from: o.from,
                to: cut.from - 1,
            });
        }
        if cut.to < o.to {
            out.push(PortRange {
                from: cut.to + 1,
                to: o.to,
            });
        }
    }
    out
}

fn acl_denied(
    acl: &NetworkAcl,
    entry: Option<&AclEntry>,
    direction: Direction,
    p: &Packet,
    remote: IpAddr,
    code: TraceCode,
) -> StageResult {
    let dir = if direction == Direction::Inbound {
        "inbound"
    } else {
        "outbound"
    };
    let what = if code == TraceCode::ReturnNaclDeny {
        "the reply"
    } else {
        "the request"
    };
    let ports = if p.protocol.has_ports() {
        format!(" to port {}", p.ports)
    } else {
        String::new()
    };
    let by = match entry {
        Some(e) => format!("rule {} denies it", e.rule),
        None => "no rule allows it (implicit deny)".into(),
    };
    let peer = Cidr(ipnet::IpNet::from(remote));
    let number = match entry {
        Some(e) => format!(
            "numbered below {} (e.g. {})",
            e.rule,
            e.rule.saturating_sub(1).max(1)
        ),
        None => "(e.g. rule 100)".to_string(),
    };
    let ports_fix = if p.protocol.has_ports() {
        format!(" ports {}", p.ports)
    } else {
        String::new()
    };
    stop(
        code,
        format!(
            "Network ACL {} ({dir}) blocks {what}: {} {remote}{ports}; {by}.",
            acl.id, p.protocol
        ),
        Some(format!(
            "add an {dir} allow entry to {} {number}: {}{ports_fix} {peer}",
            acl.id, p.protocol
        )),
    )
}

/// Longest-prefix match in a route table: the winner and the other matching routes.
fn route_lookup(routes: &[(Cidr, Target)], dst: IpAddr) -> Option<&(Cidr, Target)> {
    routes.iter().find(|(d, _)| d.contains_addr(dst))
}

/// The matching routes the winner beat, longest prefix first (for the hop's explanation).
fn beaten_routes(routes: &[(Cidr, Target)], dst: IpAddr) -> Vec<String> {
    routes
        .iter()
        .filter(|(d, _)| d.contains_addr(dst))
        .skip(1)
        .map(|(d, tg)| format!("{d} → {tg}"))
        .collect()
}

fn route_stage<'a>(
    t: &'a Topology,
    subnet: usize,
    p: &Packet,
    hops: &mut Rec,
) -> Result<&'a (Cidr, Target), Stop> {
    let sn = &t.plan.subnets[subnet];
    let routes = t.routes_of(subnet);
    let table = t.table_name(subnet);
    let winner = route_lookup(routes, p.dst);
    match winner {
        None => {
            hops.push(|| Hop {
                stage: Stage::Route,
                component: t.table_component(subnet),
                lookup: format!("longest-prefix match for {}", p.dst),
                decided_by: "no route matches".into(),
                candidates: vec![],
                result: HopResult::Drop,
            });
            if !hops.on {
                return Err(Stop {
                    code: TraceCode::NoRoute,
                    explanation: String::new(),
                    fix: None,
                });
            }
            Err(Stop {
                code: TraceCode::NoRoute,
                explanation: format!("Route table {} has no route for {}.", table, p.dst),
                fix: Some(match t.vpc_holding(p.dst).map(|v| &t.plan.vpcs[v]) {
                    Some(v) => match t
                        .plan
                        .peerings
                        .iter()
                        .find(|pc| pc.status.is_live() && pc.peer_of(&sn.vpc) == Some(&v.id))
                    {
                        Some(pc) => format!("add the route {} → {} to {}", v.cidr, pc.id, table),
                        None => format!(
                            "peer {} with {} and add the route {} → <pcx> to {}",
                            sn.vpc, v.id, v.cidr, table
                        ),
                    },
                    None => format!("add a route for {} to {}", p.dst, table),
                }),
            })
        }
        Some(w) => {
            hops.push(|| Hop {
                stage: Stage::Route,
                component: t.table_component(subnet),
                lookup: format!("longest-prefix match for {}", p.dst),
                decided_by: format!("{} → {}", w.0, w.1),
                candidates: beaten_routes(routes, p.dst),
                result: HopResult::Pass,
            });
            Ok(w)
        }
    }
}

/// Where the request goes after the route look-up.
enum Next {
    /// Delivered inside VPC `vpc` (index), arriving over `via` (None = local).
    Arrive {
        vpc: usize,
        via: Option<usize>,
    },
    Exit,
}

fn target_stage(
    t: &Topology,
    src_vpc: usize,
    route: &(Cidr, Target),
    p: &Packet,
    hops: &mut Rec,
) -> Result<Next, Stop> {
    let plan = t.plan;
    let me = &plan.vpcs[src_vpc];
    match &route.1 {
        Target::Local => Ok(Next::Arrive {
            vpc: src_vpc,
            via: None,
        }),
        Target::Blackhole => Err(Stop {
            code: TraceCode::BlackholeRoute,
            explanation: format!(
                "The route {} is a blackhole: packets to {} are discarded.",
                route.0, p.dst
            ),
            fix: Some(format!(
                "replace the blackhole route {} with a working target",
                route.0
            )),
        }),
        Target::InternetGateway(g)
        | Target::NatGateway(g)
        | Target::VpnGateway(g)
        | Target::GatewayEndpoint(g) => {
            hops.push(|| Hop {
                stage: Stage::Gateway,
                component: Component::Gateway(g.clone()),
                lookup: format!("{} leaves {}", p.dst, me.id),
                decided_by: format!("route {} → {g}", route.0),
                candidates: vec![],
                result: HopResult::Exit,
            });
            Ok(Next::Exit)
        }
        Target::Peering(pid) => {
            let Some(&pi) = t.peering.get(pid) else {
                return Err(Stop {
                    code: TraceCode::BlackholeRoute,
                    explanation: format!("The route {} targets {pid}, which does not exist.", route.0),
                    fix: None,
                });
            };
            let pc = &plan.peerings[pi];
            let Some(peer_id) = pc.peer_of(&me.id) else {
                hops.push(|| peering_hop(pc, p, "the peering does not involve this VPC", HopResult::Drop));
                return Err(Stop {
                    code: TraceCode::BlackholeRoute,
                    explanation: format!(
                        "{} joins {} and {}, not {}: the route is a blackhole.",
                        pc.id, pc.requester.vpc, pc.accepter.vpc, me.id
                    ),
                    fix: Some(format!("remove the route {} → {}", route.0, pc.id)),
                });
            };
            if pc.status != PeeringStatus::Active {
                hops.push(|| peering_hop(pc, p, &format!("status {}", pc.status), HopResult::Drop));
                let fix = match pc.status {
                    PeeringStatus::Pending => Some(format!(
                        "the accepter ({}) must accept {}",
                        pc.accepter.account, pc.id
                    )),
                    _ => Some(format!(
                        "request a new peering between {} and {} and point the route at it",
                        pc.requester.vpc, pc.accepter.vpc
                    )),
                };
                return Err(Stop {
                    code: TraceCode::PeeringNotActive,
                    explanation: format!(
                        "Peering {} is {}, not active: the route {} → {} is a blackhole.",
                        pc.id, pc.status, route.0, pc.id
                    ),
                    fix,
                });
            }
            let peer_i = t.vpc[peer_id];
            let peer = &plan.vpcs[peer_i];
            if peer.holds(p.dst) {
                hops.push(|| {
                    peering_hop(
                        pc,
                        p,
                        &format!("active; {} lies in {}", p.dst, peer.id),
                        HopResult::Pass,
                    )
                });
                return Ok(Next::Arrive {
                    vpc: peer_i,
                    via: Some(pi),
                });
            }
            // Outside the peer: the peer will not forward it (no transit, no edge-to-edge routing).
            hops.push(|| {
                peering_hop(
                    pc,
                    p,
                    &format!("{} is not inside {} ({})", p.dst, peer.id, blocks(peer)),
                    HopResult::Drop,
                )
            });
            Err(beyond_peer(t, src_vpc, peer_i, pc, p))
        }
    }
}

/// Why traffic sent over a peering for an address outside the peer goes no further. An address inside another
/// modelled VPC is a transitive attempt (`NOT_TRANSITIVE`, fixed by peering directly), whatever the peer's own
/// routes would do with it; an address outside every modelled VPC that the peer would send out through a
/// gateway is `EDGE_TO_EDGE`; anything else is a route wider than the peer (`NOT_TRANSITIVE`, narrow it).
fn beyond_peer(t: &Topology, src_vpc: usize, peer_i: usize, pc: &Peering, p: &Packet) -> Stop {
    let plan = t.plan;
    let me = &plan.vpcs[src_vpc];
    let peer = &plan.vpcs[peer_i];
    // The VPC the sender presumably meant: one holding the address other than the peer — another VPC rather
    // than the sender itself, preferably one the peer is peered with.
    let holder = plan
        .vpcs
        .iter()
        .enumerate()
        .filter(|&(i, v)| i != peer_i && v.holds(p.dst))
        .min_by_key(|&(i, v)| {
            (
                i == src_vpc,
                !plan
                    .peerings
                    .iter()
                    .any(|q| q.status.is_live() && q.peer_of(&peer.id) == Some(&v.id)),
            )
        });
    match holder {
        Some((i, _)) if i == src_vpc => Stop {
            code: TraceCode::NotTransitive,
            explanation: format!(
                "{} belongs to {} itself; {} does not send traffic back over {} (a peering carries only traffic for the peer's own blocks).",
                p.dst, me.id, peer.id, pc.id
            ),
            fix: Some(format!("narrow the route to {}'s blocks ({})", peer.id, blocks(peer))),
        },
        Some((_, c)) => {
            let direct = plan
                .peerings
                .iter()
                .find(|q| q.status == PeeringStatus::Active && q.peer_of(&me.id) == Some(&c.id));
            let explanation = match direct {
                Some(d) => format!(
                    "{} lies in {}, which {} reaches directly over {}, not over {}; peering is not transitive, so {} does not forward traffic from {} to {}.",
                    p.dst, c.id, me.id, d.id, pc.id, peer.id, me.id, c.id
                ),
                None => format!(
                    "{} and {} are not peered; peering is not transitive, so {} does not forward traffic from {} to {}.",
                    me.id, c.id, peer.id, me.id, c.id
                ),
            };
            Stop {
                code: TraceCode::NotTransitive,
                explanation,
                fix: Some(direct_peering_fix(t, me, c)),
            }
        }
        None => {
            let peer_gateway = t
                .main_rt
                .get(&peer.id)
                .and_then(|&rt| route_lookup(&t.rt_routes[rt], p.dst))
                .filter(|(_, tg)| {
                    matches!(
                        tg,
                        Target::InternetGateway(_)
                            | Target::NatGateway(_)
                            | Target::VpnGateway(_)
                            | Target::GatewayEndpoint(_)
                    )
                });
            match peer_gateway {
                Some((_, gw)) => Stop {
                    code: TraceCode::EdgeToEdge,
                    explanation: format!(
                        "{} arrives in {} over {} and would leave through {gw}; peering does not support edge-to-edge routing.",
                        p.dst, peer.id, pc.id
                    ),
                    fix: Some(format!(
                        "give {} its own gateway (or NAT) for {} instead of going through {}",
                        me.id, p.dst, peer.id
                    )),
                },
                None => Stop {
                    code: TraceCode::NotTransitive,
                    explanation: format!(
                        "{} is outside {} ({}); a peering carries only traffic for the peer's own blocks.",
                        p.dst,
                        peer.id,
                        blocks(peer)
                    ),
                    fix: Some(format!("narrow the route to {}'s blocks ({})", peer.id, blocks(peer))),
                },
            }
        }
    }
}

fn blocks(v: &Vpc) -> String {
    v.blocks().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
}

/// The fix for a transitive attempt: the direct peering and both routes, with overlap and quota checks.
fn direct_peering_fix(t: &Topology, a: &Vpc, c: &Vpc) -> String {
    let table = |v: &Vpc| {
        t.main_rt
            .get(&v.id)
            .map(|&i| t.plan.route_tables[i].id.to_string())
            .unwrap_or_else(|| format!("{}'s route table", v.id))
    };
    if let Some(direct) = t
        .plan
        .peerings
        .iter()
        .find(|q| q.status == PeeringStatus::Active && q.peer_of(&a.id) == Some(&c.id))
    {
        return format!(
            "{} and {} are already peered over {}: point the route for {} in {} at {} instead",
            a.id,
            c.id,
            direct.id,
            c.cidr,
            table(a),
            direct.id
        );
    }
    let mut fix = format!(
        "Create a peering between {} and {} and add {} → pcx… to {} and {} → pcx… to {}",
        a.id,
        c.id,
        c.cidr,
        table(a),
        a.cidr,
        table(c)
    );
    if let Some((x, y)) = crate::check::vpcs_overlap(a, c, false) {
        fix.push_str(&format!(
            " — but {x} and {y} overlap, so renumber one of them first"
        ));
    }
    let active = |v: &Vpc| {
        t.plan
            .peerings
            .iter()
            .filter(|p| p.status == PeeringStatus::Active && p.peer_of(&v.id).is_some())
            .count()
    };
    for v in [a, c] {
        if active(v) >= 50 {
            fix.push_str(&format!(
                " — note {} already has {} active peerings (quota 50)",
                v.id,
                active(v)
            ));
        }
    }
    fix
}

fn peering_hop(pc: &Peering, p: &Packet, what: &str, result: HopResult) -> Hop {
    Hop {
        stage: Stage::Peering,
        component: Component::Peering(pc.id.clone()),
        lookup: format!(
            "{} over {} ({} ↔ {})",
            p.dst, pc.id, pc.requester.vpc, pc.accepter.vpc
        ),
        decided_by: what.to_string(),
        candidates: vec![],
        result,
    }
}

/// The responder's route back to the source must be `local` (same VPC) or the same peering. `p` is the request:
/// the reply is addressed to its source.
fn return_route_stage(
    t: &Topology,
    dst_subnet: usize,
    via: Option<usize>,
    p: &Packet,
    hops: &mut Rec,
) -> StageResult {
    let routes = t.routes_of(dst_subnet);
    let table = t.table_name(dst_subnet);
    let winner = route_lookup(routes, p.src);
    let expected = match via {
        None => "local".to_string(),
        Some(pi) => t.plan.peerings[pi].id.to_string(),
    };
    let ok = match (winner.map(|w| &w.1), via) {
        (Some(Target::Local), None) => true,
        (Some(Target::Peering(q)), Some(pi)) => q == &t.plan.peerings[pi].id,
        _ => false,
    };
    hops.push(|| Hop {
        stage: Stage::Route,
        component: t.table_component(dst_subnet),
        lookup: format!("longest-prefix match for {} (reply)", p.src),
        decided_by: winner
            .map(|w| format!("{} → {}", w.0, w.1))
            .unwrap_or_else(|| "no route matches".into()),
        candidates: beaten_routes(routes, p.src),
        result: if ok { HopResult::Pass } else { HopResult::Drop },
    });
    if ok {
        return Ok(());
    }
    let src_vpc = t
        .vpc_holding(p.src)
        .map(|i| t.plan.vpcs[i].cidr.to_string())
        .unwrap_or_else(|| p.src.to_string());
    match winner {
        None | Some((_, Target::Blackhole)) => stop(
            TraceCode::ReturnNoRoute,
            format!("The request arrives, but {} has no route back to {}: the reply is dropped.", table, p.src),
            Some(format!("add the route {src_vpc} → {expected} to {}", table)),
        ),
        Some((dest, other)) => stop(
            TraceCode::ReturnMisrouted,
            format!(
                "The request arrives over {expected}, but {}'s route {dest} → {other} sends the reply to {} elsewhere{}: it never returns.",
                table,
                p.src,
                if t.plan.vpcs.iter().filter(|v| v.holds(p.src)).count() > 1 {
                    " (overlapping peers)"
                } else {
                    ""
                }
            ),
            Some(format!("add the more specific route {} → {expected} to {}", Cidr(ipnet::IpNet::from(p.src)), table)),
        ),
    }
}

/// Traces one flow through the plan, recording every hop.
pub fn trace(t: &Topology, flow: &Flow) -> Result<Trace, FlowError> {
    run(t, flow, true)
}

/// The verdict of a flow only (no hops recorded): what the matrix needs, several times faster.
pub fn verdict(t: &Topology, flow: &Flow) -> Result<TraceCode, FlowError> {
    run(t, flow, false).map(|tr| tr.code)
}

/// One flow, step by step: the two ends ([`flow_ends`]) and the request's ports ([`request_ports`]); the request
/// ([`request_path`]), which is delivered, dropped, or leaves the modelled network; what the delivery is worth
/// knowing ([`arrival_notes`]); then the reply ([`reply_path`]).
fn run(t: &Topology, flow: &Flow, record: bool) -> Result<Trace, FlowError> {
    let mut forward = Rec::new(record);
    let mut ret = Rec::new(record);
    let ends = match flow_ends(t, flow) {
        Ok(ends) => ends,
        Err(s) => return Ok(dropped(s, forward, ret, Vec::new())),
    };
    let port = request_ports(flow, ends.dst)?;
    let request_desc = if record {
        packet_words(flow.protocol, ends.src_addr, ends.dst_addr, port)
    } else {
        String::new()
    };
    let p = Packet {
        src: ends.src_addr,
        dst: ends.dst_addr,
        protocol: flow.protocol,
        ports: port,
        desc: &request_desc,
    };
    let arrival = match request_path(t, &ends, &p, record, &mut forward) {
        Err(s) => return Ok(dropped(s, forward, ret, Vec::new())),
        Ok(None) => return Ok(exited(&p, forward, ret)),
        Ok(Some(arrival)) => arrival,
    };
    let notes = arrival_notes(t, flow, &ends, &arrival, &p);

    // The reply: stateless ACLs on the ephemeral ports, and the route back.
    let reply_ports = if flow.protocol.has_ports() {
        flow.client.ephemeral()
    } else {
        PortRange::ALL
    };
    let reply_desc = if record {
        packet_words(p.protocol, p.dst, p.src, reply_ports)
    } else {
        String::new()
    };
    let reply = Packet {
        src: p.dst,
        dst: p.src,
        protocol: p.protocol,
        ports: reply_ports,
        desc: &reply_desc,
    };
    if let Err(s) = reply_path(t, ends.src_subnet, &arrival, &p, &reply, &mut ret) {
        return Ok(dropped(s, forward, ret, notes));
    }
    Ok(Trace {
        disposition: Disposition::Accepted,
        code: TraceCode::Accepted,
        explanation: if record {
            accepted_explanation(t, &ends, &arrival, &p)
        } else {
            String::new()
        },
        fix: None,
        forward: forward.hops,
        return_path: ret.hops,
        notes,
    })
}

/// The two ends of a flow, found in the plan.
struct Ends<'p> {
    src: &'p Endpoint,
    /// The source's subnet (index).
    src_subnet: usize,
    /// The destination endpoint, when the flow names one (not for a bare address of no endpoint).
    dst: Option<&'p Endpoint>,
    src_addr: IpAddr,
    dst_addr: IpAddr,
}

/// The source and destination of a flow and their addresses (of one family). A source that is not an endpoint,
/// a destination that is neither an endpoint nor an address, or a source without an address of the
/// destination's family stops the trace before any hop.
fn flow_ends<'p>(t: &Topology<'p>, flow: &Flow) -> Result<Ends<'p>, Stop> {
    let plan = t.plan;
    let Some(src_i) = t.endpoint(&flow.from) else {
        return Err(Stop {
            code: TraceCode::UnknownSource,
            explanation: format!(
                "\"{}\" is not an endpoint of this plan (by id, name or address).",
                flow.from
            ),
            fix: None,
        });
    };
    let src = &plan.endpoints[src_i];
    let dst = t.endpoint(&flow.to).map(|i| &plan.endpoints[i]);
    let dst_addr: IpAddr = match (dst, flow.to.parse::<IpAddr>()) {
        (_, Ok(ip)) => ip,
        (Some(e), Err(_)) => destination_address(e, src, &flow.from),
        (None, Err(_)) => {
            return Err(Stop {
                code: TraceCode::UnknownDestination,
                explanation: format!(
                    "\"{}\" is neither an endpoint of this plan nor an IP address.",
                    flow.to
                ),
                fix: None,
            })
        }
    };
    let src_addr = match dst_addr {
        IpAddr::V4(_) => src.ipv4.map(IpAddr::V4),
        IpAddr::V6(_) => src.ipv6.map(IpAddr::V6),
    };
    let Some(src_addr) = src_addr else {
        return Err(Stop {
            code: TraceCode::UnknownSource,
            explanation: format!(
                "{} has no {} address to reach {dst_addr} from.",
                src.label(),
                if dst_addr.is_ipv4() { "IPv4" } else { "IPv6" }
            ),
            fix: None,
        });
    };
    Ok(Ends {
        src,
        src_subnet: t.subnet[&src.subnet],
        dst,
        src_addr,
        dst_addr,
    })
}

/// The address of a destination named as an endpoint. The family follows the source when it was given as an
/// address (`from`); otherwise IPv4 when both ends have it, else IPv6.
fn destination_address(dst: &Endpoint, src: &Endpoint, from: &str) -> IpAddr {
    let source_v6 = from.parse::<IpAddr>().ok().map(|a| a.is_ipv6());
    match (dst.ipv4, dst.ipv6, source_v6) {
        (_, Some(v6), Some(true)) => IpAddr::V6(v6),
        (Some(v4), _, Some(false)) => IpAddr::V4(v4),
        (Some(v4), _, None) if src.ipv4.is_some() => IpAddr::V4(v4),
        (_, Some(v6), _) => IpAddr::V6(v6),
        (Some(v4), None, _) => IpAddr::V4(v4),
        (None, None, _) => unreachable!("validated: endpoints have an address"),
    }
}

/// The request's destination ports: every port for a protocol without ports, else the flow's port, else the
/// destination's first listening port; an error when there is none.
fn request_ports(flow: &Flow, dst: Option<&Endpoint>) -> Result<PortRange, FlowError> {
    match (flow.protocol.has_ports(), flow.port) {
        (false, _) => Ok(PortRange::ALL),
        (true, Some(p)) => Ok(PortRange::single(p)),
        (true, None) => match dst.and_then(|e| e.ports.first()) {
            Some(&p) => Ok(PortRange::single(p)),
            None => Err(FlowError::PortRequired {
                protocol: flow.protocol,
                to: flow.to.clone(),
            }),
        },
    }
}

/// The request, hop by hop: the source's security groups (egress); then either the source subnet itself
/// ([`within_subnet`]) or the way out of it, over the route's target, into the destination subnet
/// ([`across_subnets`]); the interface that receives it ([`receiving_interface`]) and its security groups
/// ([`destination_admission`]). `Ok(None)`: the request leaves the modelled network through a gateway.
fn request_path<'p>(
    t: &Topology<'p>,
    ends: &Ends<'p>,
    p: &Packet,
    record: bool,
    forward: &mut Rec,
) -> Result<Option<Arrival<'p>>, Stop> {
    sg_stage(t, ends.src, true, p, ends.dst, forward)?;
    // Traffic between two interfaces of one subnet never crosses the subnet's boundary: its network ACL is not
    // evaluated (either way) and the route table is not consulted; security groups still decide.
    let (dst_subnet, via) = if t.subnet_contains(ends.src_subnet, p.dst) {
        within_subnet(t, ends.src_subnet, p, forward);
        (ends.src_subnet, None)
    } else {
        match across_subnets(t, ends.src_subnet, p, forward)? {
            Some(entered) => entered,
            None => return Ok(None),
        }
    };
    let receiver = receiving_interface(t, ends.dst, dst_subnet, p, record, forward)?;
    destination_admission(t, receiver, ends.src, p, forward)?;
    Ok(Some(Arrival {
        subnet: dst_subnet,
        via,
        receiver,
    }))
}

/// A request to an address of its own subnet: the network ACL is passed by both ways and the route table is not
/// consulted.
fn within_subnet(t: &Topology, subnet: usize, p: &Packet, forward: &mut Rec) {
    same_subnet_hops(t, subnet, Stage::NaclOutbound, p, forward);
    forward.push(|| Hop {
        stage: Stage::Route,
        component: t.table_component(subnet),
        lookup: format!("{} is in {}", p.dst, t.plan.subnets[subnet].id),
        decided_by: "same subnet: delivered directly, the route table is not consulted".into(),
        candidates: vec![],
        result: HopResult::Pass,
    });
    same_subnet_hops(t, subnet, Stage::NaclInbound, p, forward);
}

/// A request out of its subnet: the source subnet's network ACL (outbound), the route look-up, the route's
/// target (local, a peering crossing, a gateway), the destination subnet ([`destination_subnet`]) and its
/// network ACL (inbound). The subnet it enters and the peering it came over (`None`: inside the VPC), or
/// `Ok(None)` when it leaves through a gateway.
fn across_subnets(
    t: &Topology,
    src_subnet: usize,
    p: &Packet,
    forward: &mut Rec,
) -> Result<Option<(usize, Option<usize>)>, Stop> {
    acl_stage(
        t,
        src_subnet,
        Direction::Outbound,
        p,
        TraceCode::NaclDenyOutbound,
        forward,
    )?;
    let route = route_stage(t, src_subnet, p, forward)?;
    let (vpc, via) = match target_stage(t, t.vpc_of_subnet(src_subnet), route, p, forward)? {
        Next::Exit => return Ok(None),
        Next::Arrive { vpc, via } => (vpc, via),
    };
    let dst_subnet = destination_subnet(t, vpc, p, forward)?;
    if dst_subnet == src_subnet {
        // Only when subnets overlap (an invalid plan); treat it as the same subnet.
        same_subnet_hops(t, src_subnet, Stage::NaclInbound, p, forward);
    } else {
        acl_stage(
            t,
            dst_subnet,
            Direction::Inbound,
            p,
            TraceCode::NaclDenyInbound,
            forward,
        )?;
    }
    Ok(Some((dst_subnet, via)))
}

/// The subnet of VPC `vpc` (index) that holds the destination address; none stops the request.
fn destination_subnet(t: &Topology, vpc: usize, p: &Packet, forward: &mut Rec) -> Result<usize, Stop> {
    let plan = t.plan;
    if let Some(subnet) = t.subnet_holding(vpc, p.dst) {
        return Ok(subnet);
    }
    forward.push(|| Hop {
        stage: Stage::Deliver,
        component: Component::Vpc(plan.vpcs[vpc].id.clone()),
        lookup: p.describe(),
        decided_by: format!("{} is in none of {}'s subnets", p.dst, plan.vpcs[vpc].id),
        candidates: vec![],
        result: HopResult::Drop,
    });
    Err(Stop {
        code: TraceCode::UnknownDestination,
        explanation: format!(
            "{} lies in {} but in none of its subnets: nothing there can receive it.",
            p.dst, plan.vpcs[vpc].id
        ),
        fix: None,
    })
}

/// The interface that receives the request in the arrival subnet: the named destination when it is there,
/// else the one holding the address (with overlapping VPCs it may not be the endpoint that was named). None
/// stops the request; when hops are recorded, the explanation lists the subnet's nearest endpoints.
fn receiving_interface<'p>(
    t: &Topology<'p>,
    named: Option<&'p Endpoint>,
    subnet: usize,
    p: &Packet,
    record: bool,
    forward: &mut Rec,
) -> Result<&'p Endpoint, Stop> {
    let plan = t.plan;
    let receiver = match named.filter(|d| t.subnet[&d.subnet] == subnet) {
        Some(d) => Some(d),
        None => t.interface_at(subnet, p.dst).map(|i| &plan.endpoints[i]),
    };
    if let Some(receiver) = receiver {
        return Ok(receiver);
    }
    let sn = &plan.subnets[subnet];
    forward.push(|| Hop {
        stage: Stage::Deliver,
        component: Component::Subnet(sn.id.clone()),
        lookup: p.describe(),
        decided_by: format!("no modelled interface in {} holds {}", sn.id, p.dst),
        candidates: vec![],
        result: HopResult::Drop,
    });
    let near = if record {
        t.nearest_endpoints(subnet, p.dst)
    } else {
        Vec::new()
    };
    let named = match named {
        Some(d) => format!(
            " ({} is in {}, which the packet does not reach)",
            d.label(),
            d.subnet
        ),
        None => String::new(),
    };
    Err(Stop {
        code: TraceCode::UnknownDestination,
        explanation: format!(
            "{} arrives in subnet {} ({}), but no modelled interface holds that address{named}: nothing answers. {}",
            p.dst,
            sn.id,
            sn.cidr,
            if near.is_empty() {
                format!("{} has no endpoints.", sn.id)
            } else {
                format!("Nearest endpoints: {}.", near.join(", "))
            }
        ),
        fix: Some(format!(
            "trace to an endpoint of {} (or add an endpoint holding {})",
            sn.id, p.dst
        )),
    })
}

/// The receiver's security groups (ingress) admit the request, which is then delivered.
fn destination_admission(
    t: &Topology,
    receiver: &Endpoint,
    src: &Endpoint,
    p: &Packet,
    forward: &mut Rec,
) -> StageResult {
    sg_stage(t, receiver, false, p, Some(src), forward)?;
    forward.push(|| Hop {
        stage: Stage::Deliver,
        component: Component::Endpoint(receiver.id.clone()),
        lookup: p.describe(),
        decided_by: "delivered".into(),
        candidates: vec![],
        result: HopResult::Pass,
    });
    Ok(())
}

/// Notes on a delivered request: another interface than the named one received it (overlapping addresses),
/// or the receiver does not listen on the port.
fn arrival_notes(t: &Topology, flow: &Flow, ends: &Ends, arrival: &Arrival, p: &Packet) -> Vec<String> {
    let receiver = arrival.receiver;
    let mut notes = Vec::new();
    if let Some(d) = ends.dst.filter(|d| d.id != receiver.id) {
        notes.push(format!(
            "{} is held in {} by {}, not by {}: the packet reaches {} (overlapping addresses).",
            p.dst,
            dst_subnet_name(t, arrival.subnet),
            receiver.label(),
            d.label(),
            receiver.label()
        ));
    }
    if flow.protocol.has_ports() && !receiver.ports.is_empty() && !receiver.ports.contains(&p.ports.from) {
        notes.push(format!(
            "{} declares listening ports {} and does not listen on {}: the connection would be refused.",
            receiver.label(),
            receiver
                .ports
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            p.ports.from
        ));
    }
    notes
}

/// The reply, hop by hop: inside one subnet, the network ACL is passed by both ways and the route table is not
/// consulted; otherwise the destination subnet's network ACL (outbound), the responder's route back
/// ([`return_route_stage`]) and the source subnet's network ACL (inbound), on the reply's ports.
fn reply_path(
    t: &Topology,
    src_subnet: usize,
    arrival: &Arrival,
    request: &Packet,
    reply: &Packet,
    ret: &mut Rec,
) -> StageResult {
    let dst_subnet = arrival.subnet;
    if dst_subnet == src_subnet {
        same_subnet_hops(t, dst_subnet, Stage::NaclOutbound, reply, ret);
        ret.push(|| Hop {
            stage: Stage::Route,
            component: t.table_component(dst_subnet),
            lookup: format!("{} is in {} (reply)", reply.dst, t.plan.subnets[dst_subnet].id),
            decided_by: "same subnet: delivered directly, the route table is not consulted".into(),
            candidates: vec![],
            result: HopResult::Pass,
        });
        same_subnet_hops(t, src_subnet, Stage::NaclInbound, reply, ret);
        return Ok(());
    }
    acl_stage(
        t,
        dst_subnet,
        Direction::Outbound,
        reply,
        TraceCode::ReturnNaclDeny,
        ret,
    )?;
    return_route_stage(t, dst_subnet, arrival.via, request, ret)?;
    acl_stage(
        t,
        src_subnet,
        Direction::Inbound,
        reply,
        TraceCode::ReturnNaclDeny,
        ret,
    )
}

/// The sentence of an accepted flow: who reaches whom, with what, and which way.
fn accepted_explanation(t: &Topology, ends: &Ends, arrival: &Arrival, p: &Packet) -> String {
    format!(
        "{} reaches {} with {}{} {}, and the reply returns.",
        ends.src.label(),
        arrival.receiver.label(),
        p.protocol,
        if p.protocol.has_ports() {
            format!(" port {}", p.ports.from)
        } else {
            String::new()
        },
        match arrival.via {
            None if arrival.subnet == ends.src_subnet => "inside its subnet".to_string(),
            None => "inside its VPC".to_string(),
            Some(pi) => format!("over {}", t.plan.peerings[pi].id),
        }
    )
}

/// The trace of a flow a stage stopped.
fn dropped(s: Stop, forward: Rec, ret: Rec, notes: Vec<String>) -> Trace {
    Trace {
        disposition: Disposition::Dropped,
        code: s.code,
        explanation: s.explanation,
        fix: s.fix,
        forward: forward.hops,
        return_path: ret.hops,
        notes,
    }
}

/// The trace of a request that leaves the modelled network (through the gateway of the last hop).
fn exited(p: &Packet, forward: Rec, ret: Rec) -> Trace {
    Trace {
        disposition: Disposition::Exited,
        code: TraceCode::Exited,
        explanation: format!(
            "{} leaves the modelled network through {}.",
            p.dst,
            forward
                .hops
                .last()
                .map(|h| h.component.to_string())
                .unwrap_or_else(|| "a gateway".into())
        ),
        fix: None,
        forward: forward.hops,
        return_path: ret.hops,
        notes: Vec::new(),
    }
}

/// Where a request arrived: the subnet, the peering it came over (`None`: inside the VPC), and the interface
/// that received it.
struct Arrival<'p> {
    subnet: usize,
    via: Option<usize>,
    receiver: &'p Endpoint,
}

fn dst_subnet_name(t: &Topology, subnet: usize) -> String {
    t.plan.subnets[subnet].id.to_string()
}

/// The hop of a network ACL that is not evaluated because the traffic stays inside one subnet.
fn same_subnet_hops(t: &Topology, subnet: usize, stage: Stage, p: &Packet, hops: &mut Rec) {
    hops.push(|| Hop {
        stage,
        component: match t.subnet_acl[subnet] {
            Some(a) => Component::NetworkAcl(t.plan.network_acls[a].id.clone()),
            None => Component::Subnet(t.plan.subnets[subnet].id.clone()),
        },
        lookup: p.describe(),
        decided_by: "same subnet: network ACL not evaluated".into(),
        candidates: vec![],
        result: HopResult::Pass,
    });
}

/// A trace as readable text: verdict, explanation, fix, then the hops.
pub fn render_text(flow: &Flow, tr: &Trace) -> String {
    let mut out = format!(
        "{} → {} ({}{})\n",
        flow.from,
        flow.to,
        flow.protocol,
        flow.port.map(|p| format!(" port {p}")).unwrap_or_default()
    );
    let mut section = |title: &str, hops: &[Hop]| {
        if hops.is_empty() {
            return;
        }
        out.push_str(&format!("{title}:\n"));
        for (i, h) in hops.iter().enumerate() {
            let mark = match h.result {
                HopResult::Pass => "ok  ",
                HopResult::Drop => "DROP",
                HopResult::Exit => "EXIT",
            };
            out.push_str(&format!(
                "  {:>2}. [{mark}] {:<13} {:<16} {}\n",
                i + 1,
                stage_name(h.stage),
                h.component,
                h.lookup
            ));
            out.push_str(&format!(
                "                          decided by: {}\n",
                h.decided_by
            ));
            if !h.candidates.is_empty() {
                out.push_str(&format!(
                    "                          beat: {}\n",
                    h.candidates.join("; ")
                ));
            }
        }
    };
    section("request", &tr.forward);
    section("reply", &tr.return_path);
    match verdict_words(tr.disposition, tr.code) {
        (Some(word), code) => out.push_str(&format!("verdict: {word} ({code})\n")),
        (None, code) => out.push_str(&format!("verdict: {code}\n")),
    }
    out.push_str(&format!("why: {}\n", tr.explanation));
    if let Some(fix) = &tr.fix {
        out.push_str(&format!("fix: {fix}\n"));
    }
    for n in &tr.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::SgEgress => "sg egress",
        Stage::NaclOutbound => "nacl out",
        Stage::Route => "route",
        Stage::Peering => "peering",
        Stage::Gateway => "gateway",
        Stage::NaclInbound => "nacl in",
        Stage::SgIngress => "sg ingress",
        Stage::Deliver => "deliver",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typed component writes the text hops have always carried, and pads like a string in the text trace.
    #[test]
    fn a_component_reads_and_serialises_as_its_text() {
        let cases = [
            (
                Component::SecurityGroups(vec!["sg-a".into(), "sg-b".into()]),
                "sg-a, sg-b",
            ),
            (Component::Endpoint("ep-1".into()), "ep-1"),
            (Component::Subnet("subnet-a".into()), "subnet-a"),
            (Component::NetworkAcl("acl-a".into()), "acl-a"),
            (Component::RouteTable("rtb-a".into()), "rtb-a"),
            (
                Component::LocalRoutes("vpc-a".into()),
                "vpc-a (local routes only)",
            ),
            (Component::Peering("pcx-ab".into()), "pcx-ab"),
            (Component::Gateway("igw-a".into()), "igw-a"),
            (Component::Vpc("vpc-a".into()), "vpc-a"),
            (Component::Other("x".into()), "x"),
        ];
        for (c, text) in cases {
            assert_eq!(c.to_string(), text);
            assert_eq!(c, text);
            assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!(text));
            assert_eq!(
                serde_json::from_value::<Component>(serde_json::json!(text)).unwrap(),
                Component::Other(text.into())
            );
        }
        assert_eq!(
            format!("[{:<8}]", Component::RouteTable("rtb-a".into())),
            "[rtb-a   ]"
        );
    }
}
