//! The topology model and its JSON format (`"format": "peerplan/v1"`).
//!
//! A [`Plan`] is plain data in id order. Parsing ([`Plan::from_json`]) validates once, at the edge: every CIDR,
//! port range, protocol and reference is checked and an error names the offending value and where it is
//! (`vpcs[2].cidr: "10.0.0.0/33" is not a CIDR block: …`). A plan that parses may still be a bad plan: that is
//! for [`crate::check`] to say, as diagnostics.
//!
//! ```
//! use netmodel::Plan;
//!
//! let plan = Plan::from_json(
//!     r#"{"format": "peerplan/v1", "accounts": [{"id": "acct-a"}],
//!         "vpcs": [{"id": "vpc-b", "account": "acct-a", "region": "us-east-1", "cidr": "172.16.0.0/16"},
//!                  {"id": "vpc-a", "account": "acct-a", "region": "us-east-1", "cidr": "10.0.0.0/16"}],
//!         "peerings": [{"id": "pcx-ab", "requester": {"vpc": "vpc-a"}, "accepter": {"vpc": "vpc-b"},
//!                       "status": "active"}]}"#,
//! )?;
//! // Every list is in id order, and each peering side has its VPC's account and region filled in.
//! assert_eq!(plan.vpcs[0].id.as_str(), "vpc-a");
//! assert_eq!(plan.peerings[0].accepter.region, "us-east-1");
//! assert!(!plan.peerings[0].is_cross_account());
//!
//! // Bad input is an error naming where it is and the offending value.
//! let e = Plan::from_json(
//!     r#"{"format": "peerplan/v1", "accounts": [{"id": "acct-a"}],
//!         "vpcs": [{"id": "vpc-a", "account": "acct-a", "region": "us-east-1", "cidr": "10.0.0.0/33"}]}"#,
//! )
//! .unwrap_err();
//! assert_eq!(e.path, "vpcs[0].cidr");
//! assert!(e.message.starts_with(r#""10.0.0.0/33" is not a CIDR block"#), "{e}");
//! # Ok::<(), netmodel::PlanError>(())
//! ```

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use serde::{Deserialize, Serialize};

use crate::{cidr::Cidr, ids::*};

/// The format tag every plan file carries.
pub const FORMAT: &str = "peerplan/v1";

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// A whole plan: accounts, VPCs and everything in them, and the peering connections between them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always `peerplan/v1`.
    pub format: String,
    /// A human name for the plan.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub route_tables: Vec<RouteTable>,
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
    #[serde(default)]
    pub network_acls: Vec<NetworkAcl>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub gateways: Vec<Gateway>,
    #[serde(default)]
    pub peerings: Vec<Peering>,
}

/// An account that owns VPCs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: AccountId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// The largest canvas coordinate a plan may hold (either sign): far beyond any drawing, small enough that a map's
/// arithmetic never overflows.
pub const MAX_POSITION: f64 = 10_000_000.0;

/// A position on the planner canvas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// A VPC: one primary IPv4 block, optional secondary IPv4 blocks and IPv6 blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    pub id: VpcId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub account: AccountId,
    pub region: String,
    /// Primary IPv4 block.
    pub cidr: Cidr,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondary_cidrs: Vec<Cidr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidrs: Vec<Cidr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

impl Vpc {
    /// Every block of the VPC: primary, secondary IPv4, then IPv6.
    pub fn blocks(&self) -> impl Iterator<Item = &Cidr> {
        std::iter::once(&self.cidr)
            .chain(&self.secondary_cidrs)
            .chain(&self.ipv6_cidrs)
    }

    /// Whether the address belongs to one of the VPC's blocks.
    pub fn holds(&self, addr: IpAddr) -> bool {
        self.blocks().any(|b| b.contains_addr(addr))
    }

    /// A label for messages: `name (id)` or the id alone.
    pub fn label(&self) -> String {
        self.labelled().to_string()
    }

    /// [`Vpc::label`] written straight into a message, without a string of its own (an estate's check writes
    /// tens of thousands).
    pub fn labelled(&self) -> VpcLabel<'_> {
        VpcLabel(self)
    }
}

/// See [`Vpc::labelled`].
pub struct VpcLabel<'a>(&'a Vpc);

impl fmt::Display for VpcLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.name.is_empty() || v.name == v.id.0 {
            f.write_str(&v.id.0)
        } else {
            write!(f, "{} ({})", v.name, v.id)
        }
    }
}

/// A subnet in one VPC and one availability zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    pub id: SubnetId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub vpc: VpcId,
    pub cidr: Cidr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr: Option<Cidr>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub az: String,
}

/// A route table; a subnet without an explicit association uses its VPC's main table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    pub id: RouteTableId,
    pub vpc: VpcId,
    #[serde(default)]
    pub main: bool,
    /// Subnets explicitly associated with this table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<SubnetId>,
    /// Routes besides the implicit `local` routes for the VPC's blocks.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// One route: destination block → target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub destination: Cidr,
    pub target: Target,
}

/// Where a route sends packets. JSON: `"local"`, `"blackhole"`, or `{"peering": "pcx-ab"}`,
/// `{"internet_gateway": "igw-1"}`, `{"nat_gateway": "nat-1"}`, `{"vpn_gateway": "vgw-1"}`,
/// `{"gateway_endpoint": "vpce-1"}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Local,
    Peering(PeeringId),
    InternetGateway(GatewayId),
    NatGateway(GatewayId),
    VpnGateway(GatewayId),
    GatewayEndpoint(GatewayId),
    Blackhole,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local => f.write_str("local"),
            Target::Blackhole => f.write_str("blackhole"),
            Target::Peering(id) => write!(f, "{id}"),
            Target::InternetGateway(id)
            | Target::NatGateway(id)
            | Target::VpnGateway(id)
            | Target::GatewayEndpoint(id) => write!(f, "{id}"),
        }
    }
}

/// A security group: stateful, allow-only rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    pub id: SecurityGroupId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub vpc: VpcId,
    #[serde(default)]
    pub ingress: Vec<SgRule>,
    #[serde(default)]
    pub egress: Vec<SgRule>,
}

/// A security-group rule: protocol, ports, and exactly one of `cidr` or `sg` (the source for ingress, the
/// destination for egress).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SgRule {
    pub protocol: Protocol,
    /// Port range; absent means every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<Cidr>,
    /// A group reference: `sg-id`, or `account/sg-id` for a group in another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sg: Option<SgRef>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A reference to a security group, possibly in another account (`account/sg-id`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SgRef {
    pub account: Option<AccountId>,
    pub group: SecurityGroupId,
}

impl fmt::Display for SgRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            Some(a) => write!(f, "{a}/{}", self.group),
            None => write!(f, "{}", self.group),
        }
    }
}

impl Serialize for SgRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SgRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.split_once('/') {
            _ if text.is_empty() => Err(serde::de::Error::custom("empty security group reference")),
            Some((a, g)) if !a.is_empty() && !g.is_empty() && !g.contains('/') => Ok(SgRef {
                account: Some(a.into()),
                group: g.into(),
            }),
            Some(_) => Err(serde::de::Error::custom(format!(
                "\"{text}\" is not a security group reference (expected sg-id or account/sg-id)"
            ))),
            None => Ok(SgRef {
                account: None,
                group: text.into(),
            }),
        }
    }
}

#[cfg(feature = "schema")]
impl JsonSchema for SgRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SgRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "description": "sg-id, or account/sg-id across accounts"})
    }
}

/// An IP protocol: `all`, `tcp`, `udp`, `icmp`, `icmpv6`, or an IANA number 0–255.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Number(u8),
}

impl Protocol {
    /// The IANA number (`None` for all).
    pub fn number(self) -> Option<u8> {
        match self {
            Protocol::All => None,
            Protocol::Tcp => Some(6),
            Protocol::Udp => Some(17),
            Protocol::Icmp => Some(1),
            Protocol::Icmpv6 => Some(58),
            Protocol::Number(n) => Some(n),
        }
    }

    /// From an IANA number, using the names where there is one.
    pub fn from_number(n: u8) -> Protocol {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            1 => Protocol::Icmp,
            58 => Protocol::Icmpv6,
            n => Protocol::Number(n),
        }
    }

    /// Whether ports mean anything for this protocol.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }

    /// Whether a rule for `self` matches a packet of protocol `packet`.
    pub fn matches(self, packet: Protocol) -> bool {
        match (self.number(), packet.number()) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => a == b,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::All => f.write_str("all"),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("icmpv6"),
            Protocol::Number(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" | "-1" | "any" => Ok(Protocol::All),
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "icmp" => Ok(Protocol::Icmp),
            "icmpv6" => Ok(Protocol::Icmpv6),
            other => other.parse::<u8>().map(Protocol::from_number).map_err(|_| {
                format!("\"{s}\" is not a protocol (expected all, tcp, udp, icmp, icmpv6 or a number 0-255)")
            }),
        }
    }
}

impl Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Raw::Number(-1) => Ok(Protocol::All),
            Raw::Number(n) => u8::try_from(n)
                .map(Protocol::from_number)
                .map_err(|_| serde::de::Error::custom(format!("{n} is not a protocol number (0-255)"))),
        }
    }
}

#[cfg(feature = "schema")]
impl JsonSchema for Protocol {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Protocol".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "all, tcp, udp, icmp, icmpv6, or an IANA protocol number",
            "anyOf": [{"type": "string"}, {"type": "integer", "minimum": -1, "maximum": 255}]
        })
    }
}

/// An inclusive port range; JSON `"443"` or `"1024-65535"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    /// Every port.
    pub const ALL: PortRange = PortRange { from: 0, to: 65535 };

    /// One port.
    pub fn single(p: u16) -> PortRange {
        PortRange { from: p, to: p }
    }

    /// Whether `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("\"{s}\" is not a port range (expected a port like 443 or a range like 1024-65535)");
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let from: u16 = a.trim().parse().map_err(|_| bad())?;
        let to: u16 = b.trim().parse().map_err(|_| bad())?;
        if from > to {
            return Err(format!(
                "\"{s}\" is not a port range: {from} is greater than {to}"
            ));
        }
        Ok(PortRange { from, to })
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Raw::Number(n) => u16::try_from(n)
                .map(PortRange::single)
                .map_err(|_| serde::de::Error::custom(format!("{n} is not a port (0-65535)"))),
        }
    }
}

#[cfg(feature = "schema")]
impl JsonSchema for PortRange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortRange".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a port (443) or an inclusive range (\"1024-65535\")",
            "anyOf": [{"type": "string", "pattern": "^[0-9]+(-[0-9]+)?$"}, {"type": "integer", "minimum": 0, "maximum": 65535}]
        })
    }
}

/// A network ACL: stateless, numbered entries evaluated in order; an implicit final deny.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NetworkAcl {
    pub id: NetworkAclId,
    pub vpc: VpcId,
    /// The VPC's default ACL, used by subnets without an explicit association.
    #[serde(default)]
    pub default: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<SubnetId>,
    #[serde(default)]
    pub entries: Vec<AclEntry>,
}

/// Traffic direction of an ACL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Deny,
}

/// One numbered ACL entry (rule number 1–32766).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AclEntry {
    pub rule: u16,
    pub direction: Direction,
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
    pub cidr: Cidr,
    pub action: Action,
}

impl AclEntry {
    /// The entry AWS puts in a default network ACL: allow all traffic from and to anywhere.
    pub fn allow_all(rule: u16, direction: Direction) -> AclEntry {
        AclEntry {
            rule,
            direction,
            protocol: Protocol::All,
            ports: None,
            cidr: "0.0.0.0/0".parse().expect("valid"),
            action: Action::Allow,
        }
    }
}

/// What kind of thing an endpoint is (for icons and documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    #[default]
    Instance,
    Bucket,
    Agent,
    Service,
    Database,
    LoadBalancer,
    Interface,
    Other,
}

/// A resource that sends and receives traffic: an instance, a bucket, an agent, a service…
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub id: EndpointId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub kind: EndpointKind,
    pub subnet: SubnetId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// Security groups; an endpoint without any is not filtered by security groups.
    #[serde(default)]
    pub security_groups: Vec<SecurityGroupId>,
    /// Ports it listens on; empty means not declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
}

impl Endpoint {
    /// A label for messages: `name (id)` or the id alone.
    pub fn label(&self) -> String {
        if self.name.is_empty() || self.name == self.id.0 {
            self.id.0.clone()
        } else {
            format!("{} ({})", self.name, self.id)
        }
    }
}

/// Kinds of gateway attached to a VPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    Internet,
    Nat,
    Vpn,
    GatewayEndpoint,
}

/// A gateway attached to a VPC: internet, NAT (in a subnet), VPN, or a gateway endpoint with its blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub id: GatewayId,
    pub vpc: VpcId,
    pub kind: GatewayKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubnetId>,
    /// For gateway endpoints: the destination blocks (the service's prefix list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<Cidr>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// Status of a peering connection, as in the seed document (plus `deleted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PeeringStatus {
    Pending,
    Active,
    Rejected,
    Expired,
    Failed,
    Deleted,
}

impl PeeringStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [PeeringStatus; 6] = [
        PeeringStatus::Pending,
        PeeringStatus::Active,
        PeeringStatus::Rejected,
        PeeringStatus::Expired,
        PeeringStatus::Failed,
        PeeringStatus::Deleted,
    ];

    /// `pending` or `active`: a peering that occupies its VPC pair.
    pub fn is_live(self) -> bool {
        matches!(self, PeeringStatus::Pending | PeeringStatus::Active)
    }

    /// The status as its JSON word.
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringStatus::Pending => "pending",
            PeeringStatus::Active => "active",
            PeeringStatus::Rejected => "rejected",
            PeeringStatus::Expired => "expired",
            PeeringStatus::Failed => "failed",
            PeeringStatus::Deleted => "deleted",
        }
    }
}

impl fmt::Display for PeeringStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a peering. `account` and `region` default to the VPC's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PeeringSide {
    pub vpc: VpcId,
    #[serde(default)]
    pub account: AccountId,
    #[serde(default)]
    pub region: String,
}

/// Peering options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PeeringOptions {
    /// Resolve the peer's public DNS host names to private addresses.
    #[serde(default)]
    pub dns_resolution: bool,
}

/// A peering connection between two VPCs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Peering {
    pub id: PeeringId,
    pub requester: PeeringSide,
    pub accepter: PeeringSide,
    pub status: PeeringStatus,
    #[serde(default)]
    pub options: PeeringOptions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

impl Peering {
    /// The other VPC of the peering, if `vpc` is one of its two.
    pub fn peer_of(&self, vpc: &VpcId) -> Option<&VpcId> {
        if &self.requester.vpc == vpc {
            Some(&self.accepter.vpc)
        } else if &self.accepter.vpc == vpc {
            Some(&self.requester.vpc)
        } else {
            None
        }
    }

    /// Whether the two sides are in different regions.
    pub fn is_inter_region(&self) -> bool {
        self.requester.region != self.accepter.region
    }

    /// Whether the two sides are in different accounts.
    pub fn is_cross_account(&self) -> bool {
        self.requester.account != self.accepter.account
    }
}

/// Bad plan input: where, and what is wrong with which value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlanError {
    /// Where in the document, e.g. `vpcs[2].cidr` (`.` for the whole document).
    pub path: String,
    /// What is wrong, naming the offending value.
    pub message: String,
}

impl PlanError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> PlanError {
        PlanError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The most characters a text field of a plan (name, id, account, region, zone, description, status message) holds.
pub const MAX_TEXT_CHARS: usize = 1024;

/// Whether a character is refused in a plan's text: C0 and C1 control characters, DEL, the line and paragraph
/// separators U+2028/U+2029, and the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069) that make text read differently from what it is.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Checks one text field of a plan: no control characters (see [`is_forbidden_char`]) and at most
/// [`MAX_TEXT_CHARS`] characters. The same rule serves the plan JSON, the planner's forms and the importers' output;
/// `field` is where the value is (`vpcs[2].name`), and the error shows the value escaped.
///
/// ```
/// use netmodel::model::validate_name;
/// assert!(validate_name("vpcs[0].name", "prod – eu").is_ok());
/// let e = validate_name("vpcs[0].name", "a\nrm -rf ~").unwrap_err();
/// assert_eq!(e.to_string(), r#"vpcs[0].name: "a\nrm -rf ~" holds a control character (U+000A), which is not allowed"#);
/// ```
pub fn validate_name(field: &str, value: &str) -> Result<(), PlanError> {
    if let Some(c) = value.chars().find(|c| is_forbidden_char(*c)) {
        return Err(PlanError::at(
            field,
            format!(
                "{:?} holds a control character (U+{:04X}), which is not allowed",
                value, c as u32
            ),
        ));
    }
    let n = value.chars().count();
    if n > MAX_TEXT_CHARS {
        let head: String = value.chars().take(40).collect();
        return Err(PlanError::at(
            field,
            format!("{head:?}… is {n} characters long (at most {MAX_TEXT_CHARS})"),
        ));
    }
    Ok(())
}

/// The path of a text field in a plan (`vpcs[2].name`), built only when asked for.
pub type FieldPath<'a> = &'a dyn Fn() -> String;

impl Plan {
    /// Calls `f` with every text field of the plan (its path, built only when asked for, and its value), in
    /// document order; stops at the first error. [`Plan::validate`] runs [`validate_name`] through it.
    pub fn visit_text<E>(&self, f: &mut dyn FnMut(FieldPath<'_>, &str) -> Result<(), E>) -> Result<(), E> {
        f(&|| "name".into(), &self.name)?;
        for (i, a) in self.accounts.iter().enumerate() {
            f(&|| format!("accounts[{i}].id"), a.id.as_str())?;
            f(&|| format!("accounts[{i}].name"), &a.name)?;
        }
        for (i, v) in self.vpcs.iter().enumerate() {
            f(&|| format!("vpcs[{i}].id"), v.id.as_str())?;
            f(&|| format!("vpcs[{i}].name"), &v.name)?;
            f(&|| format!("vpcs[{i}].account"), v.account.as_str())?;
            f(&|| format!("vpcs[{i}].region"), &v.region)?;
        }
        for (i, s) in self.subnets.iter().enumerate() {
            f(&|| format!("subnets[{i}].id"), s.id.as_str())?;
            f(&|| format!("subnets[{i}].name"), &s.name)?;
            f(&|| format!("subnets[{i}].vpc"), s.vpc.as_str())?;
            f(&|| format!("subnets[{i}].az"), &s.az)?;
        }
        for (i, t) in self.route_tables.iter().enumerate() {
            f(&|| format!("route_tables[{i}].id"), t.id.as_str())?;
            f(&|| format!("route_tables[{i}].vpc"), t.vpc.as_str())?;
            for (j, s) in t.subnets.iter().enumerate() {
                f(&|| format!("route_tables[{i}].subnets[{j}]"), s.as_str())?;
            }
            for (j, r) in t.routes.iter().enumerate() {
                let id = match &r.target {
                    Target::Local | Target::Blackhole => continue,
                    Target::Peering(p) => p.as_str(),
                    Target::InternetGateway(g)
                    | Target::NatGateway(g)
                    | Target::VpnGateway(g)
                    | Target::GatewayEndpoint(g) => g.as_str(),
                };
                f(&|| format!("route_tables[{i}].routes[{j}].target"), id)?;
            }
        }
        for (i, g) in self.security_groups.iter().enumerate() {
            f(&|| format!("security_groups[{i}].id"), g.id.as_str())?;
            f(&|| format!("security_groups[{i}].name"), &g.name)?;
            f(&|| format!("security_groups[{i}].vpc"), g.vpc.as_str())?;
            for (dir, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
                for (j, r) in rules.iter().enumerate() {
                    if let Some(sg) = &r.sg {
                        if let Some(a) = &sg.account {
                            f(&|| format!("security_groups[{i}].{dir}[{j}].sg"), a.as_str())?;
                        }
                        f(
                            &|| format!("security_groups[{i}].{dir}[{j}].sg"),
                            sg.group.as_str(),
                        )?;
                    }
                    f(
                        &|| format!("security_groups[{i}].{dir}[{j}].description"),
                        &r.description,
                    )?;
                }
            }
        }
        for (i, a) in self.network_acls.iter().enumerate() {
            f(&|| format!("network_acls[{i}].id"), a.id.as_str())?;
            f(&|| format!("network_acls[{i}].vpc"), a.vpc.as_str())?;
            for (j, s) in a.subnets.iter().enumerate() {
                f(&|| format!("network_acls[{i}].subnets[{j}]"), s.as_str())?;
            }
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            f(&|| format!("endpoints[{i}].id"), e.id.as_str())?;
            f(&|| format!("endpoints[{i}].name"), &e.name)?;
            f(&|| format!("endpoints[{i}].subnet"), e.subnet.as_str())?;
            for (j, g) in e.security_groups.iter().enumerate() {
                f(&|| format!("endpoints[{i}].security_groups[{j}]"), g.as_str())?;
            }
        }
        for (i, g) in self.gateways.iter().enumerate() {
            f(&|| format!("gateways[{i}].id"), g.id.as_str())?;
            f(&|| format!("gateways[{i}].name"), &g.name)?;
            f(&|| format!("gateways[{i}].vpc"), g.vpc.as_str())?;
            if let Some(s) = &g.subnet {
                f(&|| format!("gateways[{i}].subnet"), s.as_str())?;
            }
        }
        for (i, p) in self.peerings.iter().enumerate() {
            f(&|| format!("peerings[{i}].id"), p.id.as_str())?;
            for (side, s) in [("requester", &p.requester), ("accepter", &p.accepter)] {
                f(&|| format!("peerings[{i}].{side}.vpc"), s.vpc.as_str())?;
                f(&|| format!("peerings[{i}].{side}.account"), s.account.as_str())?;
                f(&|| format!("peerings[{i}].{side}.region"), &s.region)?;
            }
            if let Some(m) = &p.status_message {
                f(&|| format!("peerings[{i}].status_message"), m)?;
            }
        }
        Ok(())
    }

    /// An empty plan with the format tag set.
    pub fn new(name: impl Into<String>) -> Plan {
        Plan {
            format: FORMAT.to_string(),
            name: name.into(),
            ..Plan::default()
        }
    }

    /// Parses and validates a plan document. Never panics, whatever the bytes.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let mut plan: Plan = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.to_string();
            // serde_json appends " at line L column C"; keep it, it helps find the spot.
            PlanError::at(if path.is_empty() { ".".to_string() } else { path }, message)
        })?;
        plan.validate()?;
        Ok(plan)
    }

    /// Pretty JSON in the documented format.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan always serializes")
    }

    /// Checks what types cannot: the format tag, unique ids, references that resolve, rule shapes. Fills in
    /// each peering side's account and region from its VPC. Sorts every list by id (deterministic output).
    ///
    /// The checks run in document order, one step per kind of item, and the first failure is the error.
    pub fn validate(&mut self) -> Result<(), PlanError> {
        self.check_format()?;
        self.check_text()?;
        self.check_positions()?;
        self.check_references()?;
        self.complete_peering_sides()?;
        self.sort();
        Ok(())
    }

    /// The format tag is [`FORMAT`].
    fn check_format(&self) -> Result<(), PlanError> {
        if self.format == FORMAT {
            return Ok(());
        }
        Err(PlanError::at(
            "format",
            format!(
                "\"{}\" is not a supported format (expected \"{FORMAT}\")",
                self.format
            ),
        ))
    }

    /// Every text field passes [`validate_name`].
    fn check_text(&self) -> Result<(), PlanError> {
        self.visit_text(&mut |path, value| {
            // The common case (short, clean text) without building the path.
            let printable_ascii = value.bytes().all(|b| (0x20..0x7f).contains(&b));
            if value.len() <= MAX_TEXT_CHARS && (printable_ascii || !value.chars().any(is_forbidden_char)) {
                Ok(())
            } else {
                validate_name(&path(), value)
            }
        })
    }

    /// Every canvas position is finite and within ±[`MAX_POSITION`].
    fn check_positions(&self) -> Result<(), PlanError> {
        for (i, v) in self.vpcs.iter().enumerate() {
            let Some(p) = v.position else { continue };
            for (axis, value) in [("x", p.x), ("y", p.y)] {
                if !value.is_finite() || value.abs() > MAX_POSITION {
                    return Err(PlanError::at(
                        format!("vpcs[{i}].position.{axis}"),
                        format!("{value} is not a canvas position (from -{MAX_POSITION} to {MAX_POSITION})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Ids are unique and every reference resolves, list by list in document order; blocks are of the right
    /// family, security-group rules name one source, ACL rule numbers are valid and distinct.
    fn check_references(&self) -> Result<(), PlanError> {
        let ids = self.known_ids()?;
        self.check_vpcs(&ids)?;
        self.check_subnets(&ids)?;
        self.check_route_tables(&ids)?;
        self.check_security_groups(&ids)?;
        self.check_network_acls(&ids)?;
        self.check_endpoints(&ids)?;
        self.check_gateways(&ids)
    }

    /// The ids of every list, each non-empty and unique within its list.
    fn known_ids(&self) -> Result<KnownIds<'_>, PlanError> {
        let accounts = unique_ids("accounts", self.accounts.iter().map(|a| &a.id))?;
        let vpcs = unique_ids("vpcs", self.vpcs.iter().map(|v| &v.id))?;
        unique_ids("subnets", self.subnets.iter().map(|s| &s.id))?;
        unique_ids("route_tables", self.route_tables.iter().map(|r| &r.id))?;
        let security_groups = unique_ids("security_groups", self.security_groups.iter().map(|s| &s.id))?;
        unique_ids("network_acls", self.network_acls.iter().map(|s| &s.id))?;
        unique_ids("endpoints", self.endpoints.iter().map(|s| &s.id))?;
        let gateways = unique_ids("gateways", self.gateways.iter().map(|s| &s.id))?;
        let peerings = unique_ids("peerings", self.peerings.iter().map(|s| &s.id))?;
        Ok(KnownIds {
            accounts,
            vpcs,
            security_groups,
            gateways,
            peerings,
            subnet_vpc: self.subnets.iter().map(|s| (&s.id, &s.vpc)).collect(),
        })
    }

    /// Each VPC's account is known, it has a region, its blocks are IPv4 and its IPv6 blocks IPv6.
    fn check_vpcs(&self, ids: &KnownIds) -> Result<(), PlanError> {
        for (i, v) in self.vpcs.iter().enumerate() {
            known(
                ids.accounts.contains(&v.account),
                || format!("vpcs[{i}].account"),
                "account",
                &v.account,
            )?;
            if v.region.trim().is_empty() {
                return Err(PlanError::at(format!("vpcs[{i}].region"), "a region is required"));
            }
            if !v.cidr.is_v4() {
                return Err(not_ipv4(format!("vpcs[{i}].cidr"), &v.cidr));
            }
            for (j, c) in v.secondary_cidrs.iter().enumerate() {
                if !c.is_v4() {
                    return Err(not_ipv4(format!("vpcs[{i}].secondary_cidrs[{j}]"), c));
                }
            }
            for (j, c) in v.ipv6_cidrs.iter().enumerate() {
                if c.is_v4() {
                    return Err(not_ipv6(format!("vpcs[{i}].ipv6_cidrs[{j}]"), c));
                }
            }
        }
        Ok(())
    }

    /// Each subnet's VPC is known, its block is IPv4 and its IPv6 block IPv6.
    fn check_subnets(&self, ids: &KnownIds) -> Result<(), PlanError> {
        for (i, s) in self.subnets.iter().enumerate() {
            known(
                ids.vpcs.contains(&s.vpc),
                || format!("subnets[{i}].vpc"),
                "VPC",
                &s.vpc,
            )?;
            if !s.cidr.is_v4() {
                return Err(not_ipv4(format!("subnets[{i}].cidr"), &s.cidr));
            }
            if let Some(c) = s.ipv6_cidr.filter(|c| c.is_v4()) {
                return Err(not_ipv6(format!("subnets[{i}].ipv6_cidr"), &c));
            }
        }
        Ok(())
    }

    /// Route tables follow the association rules, and every route's peering or gateway is known.
    fn check_route_tables(&self, ids: &KnownIds) -> Result<(), PlanError> {
        let tables = self
            .route_tables
            .iter()
            .map(|t| (t.id.as_str(), &t.vpc, t.main, t.subnets.as_slice()));
        check_associations(AssociationKind::ROUTE_TABLE, tables, ids)?;
        for (i, rt) in self.route_tables.iter().enumerate() {
            for (j, r) in rt.routes.iter().enumerate() {
                let path = || format!("route_tables[{i}].routes[{j}].target");
                match &r.target {
                    Target::Peering(p) => known(ids.peerings.contains(p), path, "peering", p)?,
                    Target::InternetGateway(g)
                    | Target::NatGateway(g)
                    | Target::VpnGateway(g)
                    | Target::GatewayEndpoint(g) => known(ids.gateways.contains(g), path, "gateway", g)?,
                    Target::Local | Target::Blackhole => {}
                }
            }
        }
        Ok(())
    }

    /// Each security group's VPC is known, and each rule has exactly one source: a block or a known group.
    fn check_security_groups(&self, ids: &KnownIds) -> Result<(), PlanError> {
        for (i, sg) in self.security_groups.iter().enumerate() {
            known(
                ids.vpcs.contains(&sg.vpc),
                || format!("security_groups[{i}].vpc"),
                "VPC",
                &sg.vpc,
            )?;
            for (dir, rules) in [("ingress", &sg.ingress), ("egress", &sg.egress)] {
                for (j, r) in rules.iter().enumerate() {
                    let path = format!("security_groups[{i}].{dir}[{j}]");
                    match (&r.cidr, &r.sg) {
                        (Some(_), None) => {}
                        (None, Some(g)) => known(
                            ids.security_groups.contains(&g.group),
                            || format!("{path}.sg"),
                            "security group",
                            g,
                        )?,
                        _ => {
                            return Err(PlanError::at(
                                path,
                                "a rule needs exactly one of \"cidr\" or \"sg\"",
                            ))
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Network ACLs follow the association rules, and rule numbers are in 1–32766 and distinct per direction.
    fn check_network_acls(&self, ids: &KnownIds) -> Result<(), PlanError> {
        let acls = self
            .network_acls
            .iter()
            .map(|a| (a.id.as_str(), &a.vpc, a.default, a.subnets.as_slice()));
        check_associations(AssociationKind::NETWORK_ACL, acls, ids)?;
        for (i, acl) in self.network_acls.iter().enumerate() {
            let mut numbers = BTreeSet::new();
            for (j, e) in acl.entries.iter().enumerate() {
                if !(1..=32766).contains(&e.rule) {
                    return Err(PlanError::at(
                        format!("network_acls[{i}].entries[{j}].rule"),
                        format!("{} is not a rule number (1-32766)", e.rule),
                    ));
                }
                if !numbers.insert((e.direction, e.rule)) {
                    return Err(PlanError::at(
                        format!("network_acls[{i}].entries[{j}].rule"),
                        format!(
                            "rule number {} appears twice for {:?} traffic",
                            e.rule, e.direction
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Each endpoint's subnet is known, its security groups are known and in the subnet's VPC, and it has an
    /// address.
    fn check_endpoints(&self, ids: &KnownIds) -> Result<(), PlanError> {
        // Looked up per endpoint: one map, not a scan of every group (quadratic at 10,000 VPCs).
        let group_vpc: std::collections::HashMap<&SecurityGroupId, &VpcId> =
            self.security_groups.iter().map(|g| (&g.id, &g.vpc)).collect();
        for (i, e) in self.endpoints.iter().enumerate() {
            let Some(&vpc) = ids.subnet_vpc.get(&e.subnet) else {
                return Err(PlanError::at(
                    format!("endpoints[{i}].subnet"),
                    format!("unknown subnet \"{}\"", e.subnet),
                ));
            };
            for (j, g) in e.security_groups.iter().enumerate() {
                let path = format!("endpoints[{i}].security_groups[{j}]");
                match group_vpc.get(g) {
                    None => return Err(PlanError::at(path, format!("unknown security group \"{g}\""))),
                    Some(&sg_vpc) if sg_vpc != vpc => {
                        return Err(PlanError::at(
                            path,
                            format!("security group \"{g}\" belongs to VPC \"{sg_vpc}\", not to \"{vpc}\""),
                        ))
                    }
                    Some(_) => {}
                }
            }
            if e.ipv4.is_none() && e.ipv6.is_none() {
                return Err(PlanError::at(
                    format!("endpoints[{i}]"),
                    "an endpoint needs an ipv4 or ipv6 address",
                ));
            }
        }
        Ok(())
    }

    /// Each gateway's VPC is known, and its subnet, if it has one, is in that VPC.
    fn check_gateways(&self, ids: &KnownIds) -> Result<(), PlanError> {
        for (i, g) in self.gateways.iter().enumerate() {
            known(
                ids.vpcs.contains(&g.vpc),
                || format!("gateways[{i}].vpc"),
                "VPC",
                &g.vpc,
            )?;
            if let Some(s) = &g.subnet {
                ids.subnet_in_vpc(format!("gateways[{i}].subnet"), s, &g.vpc)?;
            }
        }
        Ok(())
    }

    /// Each peering side's VPC is known; an empty account or region is filled in from the VPC, a given one must
    /// be the VPC's; the two sides are different VPCs.
    fn complete_peering_sides(&mut self) -> Result<(), PlanError> {
        if self.peerings.is_empty() {
            return Ok(()); // (an estate of VPCs alone need not index them)
        }
        let vpc_by_id: BTreeMap<&VpcId, &Vpc> = self.vpcs.iter().map(|v| (&v.id, v)).collect();
        for (i, p) in self.peerings.iter_mut().enumerate() {
            for (side_name, side) in [("requester", &mut p.requester), ("accepter", &mut p.accepter)] {
                let path = format!("peerings[{i}].{side_name}");
                let Some(vpc) = vpc_by_id.get(&side.vpc) else {
                    return Err(PlanError::at(
                        format!("{path}.vpc"),
                        format!("unknown VPC \"{}\"", side.vpc),
                    ));
                };
                if side.account.0.is_empty() {
                    side.account = vpc.account.clone();
                } else if side.account != vpc.account {
                    return Err(PlanError::at(
                        format!("{path}.account"),
                        format!(
                            "\"{}\" is not the account of VPC \"{}\" ({})",
                            side.account, vpc.id, vpc.account
                        ),
                    ));
                }
                if side.region.is_empty() {
                    side.region = vpc.region.clone();
                } else if side.region != vpc.region {
                    return Err(PlanError::at(
                        format!("{path}.region"),
                        format!(
                            "\"{}\" is not the region of VPC \"{}\" ({})",
                            side.region, vpc.id, vpc.region
                        ),
                    ));
                }
            }
            if p.requester.vpc == p.accepter.vpc {
                return Err(PlanError::at(
                    format!("peerings[{i}].accepter.vpc"),
                    format!("a VPC cannot peer with itself (\"{}\")", p.accepter.vpc),
                ));
            }
        }
        Ok(())
    }

    /// Sorts every list by id, so output is deterministic.
    pub fn sort(&mut self) {
        self.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        self.vpcs.sort_by(|a, b| a.id.cmp(&b.id));
        self.subnets.sort_by(|a, b| a.id.cmp(&b.id));
        self.route_tables.sort_by(|a, b| a.id.cmp(&b.id));
        self.security_groups.sort_by(|a, b| a.id.cmp(&b.id));
        self.network_acls.sort_by(|a, b| a.id.cmp(&b.id));
        self.endpoints.sort_by(|a, b| a.id.cmp(&b.id));
        self.gateways.sort_by(|a, b| a.id.cmp(&b.id));
        self.peerings.sort_by(|a, b| a.id.cmp(&b.id));
    }

    /// The VPC with this id.
    pub fn vpc(&self, id: &VpcId) -> Option<&Vpc> {
        by_id(&self.vpcs, id, |v| &v.id)
    }

    /// The peering with this id.
    pub fn peering(&self, id: &PeeringId) -> Option<&Peering> {
        by_id(&self.peerings, id, |p| &p.id)
    }

    /// The subnet with this id.
    pub fn subnet(&self, id: &SubnetId) -> Option<&Subnet> {
        by_id(&self.subnets, id, |s| &s.id)
    }

    /// The security group with this id.
    pub fn security_group(&self, id: &SecurityGroupId) -> Option<&SecurityGroup> {
        by_id(&self.security_groups, id, |g| &g.id)
    }

    /// The route table a subnet uses: its explicit association, else its VPC's main table.
    pub fn route_table_of(&self, subnet: &Subnet) -> Option<&RouteTable> {
        let tables = self
            .route_tables
            .iter()
            .map(|t| (&t.vpc, t.main, t.subnets.as_slice()));
        association_of(tables, subnet).map(|i| &self.route_tables[i])
    }

    /// The network ACL a subnet uses: its explicit association, else its VPC's default ACL.
    pub fn network_acl_of(&self, subnet: &Subnet) -> Option<&NetworkAcl> {
        let acls = self
            .network_acls
            .iter()
            .map(|a| (&a.vpc, a.default, a.subnets.as_slice()));
        association_of(acls, subnet).map(|i| &self.network_acls[i])
    }

    /// Subnets that use this route table (explicitly, or implicitly through the main table).
    pub fn subnets_using(&self, rt: &RouteTable) -> Vec<&Subnet> {
        self.subnets
            .iter()
            .filter(|s| s.vpc == rt.vpc && self.route_table_of(s).map(|t| &t.id) == Some(&rt.id))
            .collect()
    }
}

/// The ids a plan's references may name, gathered once by [`Plan::validate`].
struct KnownIds<'a> {
    accounts: crate::IdSet<&'a AccountId>,
    vpcs: crate::IdSet<&'a VpcId>,
    security_groups: crate::IdSet<&'a SecurityGroupId>,
    gateways: crate::IdSet<&'a GatewayId>,
    peerings: crate::IdSet<&'a PeeringId>,
    /// The VPC of each subnet.
    subnet_vpc: HashMap<&'a SubnetId, &'a VpcId>,
}

impl KnownIds<'_> {
    /// `subnet` is known and in `vpc`.
    fn subnet_in_vpc(&self, path: String, subnet: &SubnetId, vpc: &VpcId) -> Result<(), PlanError> {
        match self.subnet_vpc.get(subnet) {
            None => Err(PlanError::at(path, format!("unknown subnet \"{subnet}\""))),
            Some(v) if *v != vpc => Err(PlanError::at(
                path,
                format!("subnet \"{subnet}\" is in VPC \"{v}\", not in \"{vpc}\""),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The ids of one list (`list` names it in errors), each non-empty and unique.
fn unique_ids<'a, T: Eq + std::hash::Hash + fmt::Display + 'a>(
    list: &str,
    ids: impl ExactSizeIterator<Item = &'a T>,
) -> Result<crate::IdSet<&'a T>, PlanError> {
    let mut seen = crate::IdSet::with_capacity_and_hasher(ids.len(), Default::default());
    for (i, id) in ids.enumerate() {
        if displays_empty(id) {
            return Err(PlanError::at(
                format!("{list}[{i}].id"),
                "an id must not be empty",
            ));
        }
        if !seen.insert(id) {
            return Err(PlanError::at(
                format!("{list}[{i}].id"),
                format!("duplicate id \"{id}\""),
            ));
        }
    }
    Ok(seen)
}

/// Whether `id` displays as the empty text (told without writing it out).
fn displays_empty(id: &dyn fmt::Display) -> bool {
    /// Stops at the first non-empty piece.
    struct AnyText(bool);
    impl fmt::Write for AnyText {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if s.is_empty() {
                Ok(())
            } else {
                self.0 = true;
                Err(fmt::Error)
            }
        }
    }
    let mut any = AnyText(false);
    let _ = fmt::write(&mut any, format_args!("{id}"));
    !any.0
}

/// A reference (`what` `id` at `path`) resolves when `ok`.
/// (`path` is spelled out only for the error.)
fn known(
    ok: bool,
    path: impl FnOnce() -> String,
    what: &str,
    id: &dyn fmt::Display,
) -> Result<(), PlanError> {
    if ok {
        Ok(())
    } else {
        Err(PlanError::at(path(), format!("unknown {what} \"{id}\"")))
    }
}

fn not_ipv4(path: String, block: &Cidr) -> PlanError {
    PlanError::at(path, format!("\"{block}\" is not an IPv4 block"))
}

fn not_ipv6(path: String, block: &Cidr) -> PlanError {
    PlanError::at(path, format!("\"{block}\" is not an IPv6 block"))
}

/// Binary search of a list sorted by id ([`Plan::validate`] sorts every list).
fn by_id<'a, T, K: Ord>(list: &'a [T], id: &K, key: impl Fn(&T) -> &K) -> Option<&'a T> {
    list.binary_search_by(|item| key(item).cmp(id))
        .ok()
        .map(|i| &list[i])
}

/// Position of the table (route table or network ACL) a subnet uses: the one explicitly associated with it, else
/// its VPC's implicit (main / default) one. Items are `(vpc, implicit, subnets)`.
pub fn association_of<'a>(
    items: impl Iterator<Item = (&'a VpcId, bool, &'a [SubnetId])> + Clone,
    subnet: &Subnet,
) -> Option<usize> {
    items
        .clone()
        .position(|(_, _, subnets)| subnets.contains(&subnet.id))
        .or_else(|| {
            items
                .clone()
                .position(|(vpc, implicit, _)| implicit && *vpc == subnet.vpc)
        })
}

/// Per subnet (plan order), the position of the table it uses — [`association_of`] for every subnet at once,
/// through two maps instead of scans.
pub fn associations<'a>(
    items: impl Iterator<Item = (&'a VpcId, bool, &'a [SubnetId])>,
    subnets: &[Subnet],
) -> Vec<Option<usize>> {
    let mut implicit_of = std::collections::HashMap::new();
    let mut explicit = std::collections::HashMap::new();
    for (i, (vpc, implicit, assoc)) in items.enumerate() {
        if implicit {
            implicit_of.entry(vpc).or_insert(i);
        }
        for s in assoc {
            explicit.entry(s).or_insert(i);
        }
    }
    subnets
        .iter()
        .map(|s| explicit.get(&s.id).or_else(|| implicit_of.get(&s.vpc)).copied())
        .collect()
}

/// What [`check_associations`] checks, named for its messages and paths.
struct AssociationKind {
    list: &'static str,
    flag: &'static str,
    implicit: &'static str,
    noun: &'static str,
}

impl AssociationKind {
    const ROUTE_TABLE: AssociationKind = AssociationKind {
        list: "route_tables",
        flag: "main",
        implicit: "main route table",
        noun: "route table",
    };
    const NETWORK_ACL: AssociationKind = AssociationKind {
        list: "network_acls",
        flag: "default",
        implicit: "default network ACL",
        noun: "network ACL",
    };
}

/// Route tables and network ACLs follow one rule: each belongs to a known VPC, a VPC has at most one implicit
/// (main / default) one, and a subnet of the same VPC is explicitly associated with at most one.
fn check_associations<'a>(
    kind: AssociationKind,
    items: impl Iterator<Item = (&'a str, &'a VpcId, bool, &'a [SubnetId])>,
    ids: &KnownIds,
) -> Result<(), PlanError> {
    let AssociationKind {
        list,
        flag,
        implicit,
        noun,
    } = kind;
    let mut implicit_of = BTreeSet::new();
    let mut associated: BTreeMap<&SubnetId, &str> = BTreeMap::new();
    for (i, (id, vpc, is_implicit, subnets)) in items.enumerate() {
        if !ids.vpcs.contains(vpc) {
            return Err(PlanError::at(
                format!("{list}[{i}].vpc"),
                format!("unknown VPC \"{vpc}\""),
            ));
        }
        if is_implicit && !implicit_of.insert(vpc) {
            return Err(PlanError::at(
                format!("{list}[{i}].{flag}"),
                format!("VPC \"{vpc}\" already has a {implicit}"),
            ));
        }
        for (j, s) in subnets.iter().enumerate() {
            ids.subnet_in_vpc(format!("{list}[{i}].subnets[{j}]"), s, vpc)?;
            if let Some(other) = associated.insert(s, id) {
                return Err(PlanError::at(
                    format!("{list}[{i}].subnets[{j}]"),
                    format!("subnet \"{s}\" is already associated with {noun} \"{other}\""),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(vpc_cidr: &str) -> String {
        format!(
            r#"{{"format":"peerplan/v1","accounts":[{{"id":"a"}}],
               "vpcs":[{{"id":"v1","account":"a","region":"r","cidr":"10.0.0.0/16"}},
                       {{"id":"v2","account":"a","region":"r","cidr":"{vpc_cidr}"}}]}}"#
        )
    }

    #[test]
    fn error_names_path_and_value() {
        let e = Plan::from_json(&minimal("10.0.0.0/33")).unwrap_err();
        assert_eq!(e.path, "vpcs[1].cidr");
        assert!(e.message.contains("\"10.0.0.0/33\" is not a CIDR block"), "{e}");
    }

    #[test]
    fn unknown_reference_is_an_error() {
        let text = r#"{"format":"peerplan/v1","vpcs":[{"id":"v","account":"nobody","region":"r","cidr":"10.0.0.0/16"}]}"#;
        let e = Plan::from_json(text).unwrap_err();
        assert_eq!(e.to_string(), "vpcs[0].account: unknown account \"nobody\"");
    }

    #[test]
    fn association_rules_hold_for_tables_and_acls() {
        let base = r#"{"format":"peerplan/v1","accounts":[{"id":"a"}],
            "vpcs":[{"id":"v","account":"a","region":"r","cidr":"10.0.0.0/16"}],
            "subnets":[{"id":"s","vpc":"v","cidr":"10.0.1.0/24"}],"#;
        let two_mains = format!(
            r#"{base}"route_tables":[{{"id":"t1","vpc":"v","main":true}},{{"id":"t2","vpc":"v","main":true}}]}}"#
        );
        assert_eq!(
            Plan::from_json(&two_mains).unwrap_err().to_string(),
            "route_tables[1].main: VPC \"v\" already has a main route table"
        );
        let twice = format!(
            r#"{base}"network_acls":[{{"id":"n1","vpc":"v","subnets":["s"]}},{{"id":"n2","vpc":"v","subnets":["s"]}}]}}"#
        );
        assert_eq!(
            Plan::from_json(&twice).unwrap_err().to_string(),
            "network_acls[1].subnets[0]: subnet \"s\" is already associated with network ACL \"n1\""
        );
        let unknown = format!(r#"{base}"network_acls":[{{"id":"n1","vpc":"nope"}}]}}"#);
        assert_eq!(
            Plan::from_json(&unknown).unwrap_err().to_string(),
            "network_acls[0].vpc: unknown VPC \"nope\""
        );
    }

    #[test]
    fn control_characters_in_text_are_refused_naming_the_field() {
        let mut base: serde_json::Value = serde_json::from_str(&minimal("10.1.0.0/16")).unwrap();
        base["name"] = "plan".into();
        base["vpcs"][1]["name"] = "VPC 2".into();
        for (pointer, path) in [
            ("/name", "name"),
            ("/accounts/0/id", "accounts[0].id"),
            ("/vpcs/1/name", "vpcs[1].name"),
            ("/vpcs/0/region", "vpcs[0].region"),
            ("/vpcs/0/account", "vpcs[0].account"),
        ] {
            for bad in [
                "a\nb",
                "\u{1b}[31m",
                "x\u{7f}",
                "\u{85}",
                "line\u{2028}sep",
                "\u{202e}txt.exe",
                "\0",
            ] {
                let mut doc = base.clone();
                *doc.pointer_mut(pointer).unwrap() = bad.into();
                let e = Plan::from_json(&doc.to_string()).unwrap_err();
                assert_eq!(e.path, path, "{bad:?} at {pointer}: {e}");
                assert!(
                    e.message.contains(&format!("{bad:?}")) && e.message.contains("control character"),
                    "{e}"
                );
            }
        }
        // Descriptions and peering messages too; long text; ordinary Unicode passes.
        let text = r#"{"format":"peerplan/v1","accounts":[{"id":"a"}],
            "vpcs":[{"id":"v","account":"a","region":"r","cidr":"10.0.0.0/16"}],
            "security_groups":[{"id":"g","vpc":"v","ingress":[{"protocol":"all","cidr":"10.0.0.0/8","description":"x\ty"}]}]}"#;
        assert_eq!(
            Plan::from_json(text).unwrap_err().path,
            "security_groups[0].ingress[0].description"
        );
        let long = "é".repeat(MAX_TEXT_CHARS + 1);
        let e = validate_name("vpcs[0].name", &long).unwrap_err();
        assert!(e.message.contains("1025 characters long"), "{e}");
        assert!(validate_name("vpcs[0].name", "prod — ünïcode 東京 $(x) `y` 'z' \"w\"").is_ok());
    }

    #[test]
    fn wrong_format_is_refused() {
        let e = Plan::from_json(r#"{"format":"peerplan/v9"}"#).unwrap_err();
        assert_eq!(e.path, "format");
    }

    #[test]
    fn unknown_field_is_refused() {
        let e = Plan::from_json(r#"{"format":"peerplan/v1","vpcz":[]}"#).unwrap_err();
        assert!(e.message.contains("vpcz"), "{e}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "{", "[]", "null", "\u{0}", r#"{"format":1}"#] {
            assert!(Plan::from_json(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn protocol_and_ports_parse() {
        assert_eq!("TCP".parse::<Protocol>().unwrap(), Protocol::Tcp);
        assert_eq!("-1".parse::<Protocol>().unwrap(), Protocol::All);
        assert_eq!("50".parse::<Protocol>().unwrap(), Protocol::Number(50));
        assert!("tcpx".parse::<Protocol>().is_err());
        assert_eq!(
            "1024-65535".parse::<PortRange>().unwrap(),
            PortRange {
                from: 1024,
                to: 65535
            }
        );
        assert!("9-1".parse::<PortRange>().is_err());
        assert!("70000".parse::<PortRange>().is_err());
    }
}
