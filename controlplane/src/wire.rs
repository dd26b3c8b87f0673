//! Wire types of the `/v1` API — one definition, used by the service and by the client.
//!
//! Request bodies reject unknown fields, so no privileged field (an id, an owner, a status) can be set by mass
//! assignment.
//!
//! Answers carry `netmodel`'s enums (a peering's [`PeeringStatus`], a rule's [`Direction`], [`Protocol`] and
//! [`Action`]), written as the same words as ever (`pending`, `ingress`, `tcp`, `allow`…); the OpenAPI document
//! shows them as strings. Request bodies keep these fields as text: the store parses them, so a bad word is a
//! 400 with its own code (`INVALID_DIRECTION`, `INVALID_PROTOCOL`, `INVALID_RULE_ACTION`), not a bare
//! `INVALID_BODY`.

use netmodel::model::{Action, Direction, PeeringStatus, Protocol};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A rule's or entry's direction on the wire: `ingress` ([`Direction::Inbound`]) or `egress`
/// ([`Direction::Outbound`]).
pub mod rule_direction {
    use netmodel::model::Direction;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The word for a direction.
    pub fn word(d: Direction) -> &'static str {
        match d {
            Direction::Inbound => "ingress",
            Direction::Outbound => "egress",
        }
    }

    /// The direction of a word (`None` for anything but `ingress` and `egress`).
    pub fn parse(word: &str) -> Option<Direction> {
        match word {
            "ingress" => Some(Direction::Inbound),
            "egress" => Some(Direction::Outbound),
            _ => None,
        }
    }

    pub fn serialize<S: Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(word(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Direction, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("\"{text}\" is not ingress or egress")))
    }
}

/// `POST /v1/vpcs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVpc {
    #[schema(format = "name", min_length = 1, max_length = 255)]
    pub name: String,
    #[schema(
        pattern = "^[a-z]{2}(-[a-z]+)+-[0-9]+$",
        max_length = 32,
        example = "us-east-1"
    )]
    pub region: String,
    #[schema(format = "ipv4-block", example = "10.0.0.0/16")]
    pub cidr_block: String,
    #[serde(default)]
    pub secondary_cidr_blocks: Vec<String>,
    #[serde(default)]
    pub ipv6_cidr_blocks: Vec<String>,
}

impl CreateVpc {
    /// A VPC with a primary block only.
    pub fn new(name: &str, region: &str, cidr_block: &str) -> CreateVpc {
        CreateVpc {
            name: name.into(),
            region: region.into(),
            cidr_block: cidr_block.into(),
            secondary_cidr_blocks: vec![],
            ipv6_cidr_blocks: vec![],
        }
    }
}

/// A VPC as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Vpc {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub region: String,
    pub cidr_block: String,
    pub secondary_cidr_blocks: Vec<String>,
    pub ipv6_cidr_blocks: Vec<String>,
    pub main_route_table_id: String,
    /// The network ACL every subnet uses until associated with another (allows all traffic).
    pub default_network_acl_id: String,
    /// The security group endpoints get when created without one.
    pub default_security_group_id: String,
    pub created_at: i64,
}

/// `PATCH /v1/vpcs/{id}`: rename.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVpc {
    #[schema(format = "name", min_length = 1, max_length = 255)]
    pub name: String,
}

/// `POST /v1/subnets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubnet {
    pub vpc_id: String,
    #[schema(format = "ipv4-block", example = "10.0.1.0/24")]
    pub cidr_block: String,
    #[serde(default)]
    pub availability_zone: String,
}

/// A subnet as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subnet {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub cidr_block: String,
    pub availability_zone: String,
    pub created_at: i64,
}

/// `POST /v1/route-tables`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRouteTable {
    pub vpc_id: String,
}

/// `POST /v1/route-tables/{id}/routes`, exactly as in the seed document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoute {
    pub destination_cidr: String,
    /// A peering of the table's VPC (`pcx_…`) or a gateway of the table's VPC (`igw_…`, `nat_…`, `vgw_…`,
    /// `vpce_…`, see `POST /v1/gateways`).
    pub target: String,
}

/// `POST /v1/gateways`: a gateway in a VPC, for routes to target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGateway {
    pub vpc_id: String,
    /// `internet` (id `igw_…`), `nat` (`nat_…`), `vpn` (`vgw_…`) or `endpoint` (a gateway endpoint, `vpce_…`).
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// A gateway as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gateway {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub kind: String,
    pub name: String,
    pub created_at: i64,
}

/// One route; `state` is `blackhole` while its peering is not active.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Route {
    pub destination_cidr: String,
    pub target: String,
    pub state: String,
}

/// A route table as returned, with its local routes first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouteTable {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub main: bool,
    pub routes: Vec<Route>,
    /// Subnets explicitly associated with this table (the others of the VPC use the main table).
    pub subnet_ids: Vec<String>,
    pub created_at: i64,
}

/// `POST /v1/vpc-peering`, as in the seed document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePeering {
    pub requester_vpc_id: String,
    pub accepter_vpc_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepter_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepter_account_id: Option<String>,
    #[serde(default)]
    pub auto_accept: bool,
}

/// A peering connection as returned (either side sees the peer's VPC id, blocks and account).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Peering {
    pub id: String,
    #[schema(value_type = String)]
    pub status: PeeringStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub requester_vpc_id: String,
    pub accepter_vpc_id: String,
    pub requester_account_id: String,
    pub accepter_account_id: String,
    pub requester_region: String,
    pub accepter_region: String,
    pub requester_cidr_blocks: Vec<String>,
    pub accepter_cidr_blocks: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `POST /v1/route-tables/{id}/associations` and `POST /v1/network-acls/{id}/associations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Association {
    pub subnet_id: String,
}

/// `POST /v1/security-groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecurityGroup {
    pub vpc_id: String,
    #[schema(format = "name", min_length = 1, max_length = 255)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// `PATCH /v1/security-groups/{id}`: any of name and description.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecurityGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /v1/security-groups/{id}/rules`: one ingress or egress rule. Exactly one of `cidr` and
/// `security_group_id` names the peer; ports only for tcp and udp (both ends inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSgRule {
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `all` (or `-1`), or an IANA number.
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// A group of the same VPC, or of a VPC peered with it (active, same region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_id: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// A security-group rule as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SgRule {
    pub id: String,
    #[serde(with = "rule_direction")]
    #[schema(value_type = String)]
    pub direction: Direction,
    #[schema(value_type = String)]
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_id: Option<String>,
    pub description: String,
}

/// A security group with its rules (stateful: replies to allowed traffic are allowed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecurityGroup {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    /// The VPC's default group (cannot be deleted).
    pub default: bool,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
    pub created_at: i64,
}

/// `POST /v1/network-acls`: a custom ACL, which denies everything until entries are added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNetworkAcl {
    pub vpc_id: String,
}

/// `POST /v1/network-acls/{id}/entries`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAclEntry {
    /// 1–32766, evaluated lowest first.
    pub rule_number: u16,
    /// `ingress` or `egress`.
    pub direction: String,
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u16>,
    pub cidr_block: String,
    /// `allow` or `deny`.
    pub rule_action: String,
}

/// A network-ACL entry as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AclEntry {
    pub rule_number: u16,
    #[serde(with = "rule_direction")]
    #[schema(value_type = String)]
    pub direction: Direction,
    #[schema(value_type = String)]
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u16>,
    pub cidr_block: String,
    #[schema(value_type = String)]
    pub rule_action: Action,
}

/// A network ACL (stateless); entries sorted by direction and rule number; an implicit final deny.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NetworkAcl {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    /// The VPC's default ACL: subnets without an explicit association use it.
    pub default: bool,
    pub entries: Vec<AclEntry>,
    /// Subnets explicitly associated with this ACL.
    pub subnet_ids: Vec<String>,
    pub created_at: i64,
}

/// `POST /v1/endpoints`: something with an address in a subnet (instance, bucket, agent, service…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    pub subnet_id: String,
    #[schema(format = "name", min_length = 1, max_length = 255)]
    pub name: String,
    /// instance, bucket, agent, service, database, load_balancer, interface or other.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// An address inside the subnet (not one of the five AWS reserves); the next free one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// Ports it listens on.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Groups of the same VPC; the VPC's default group when empty.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
}

fn default_kind() -> String {
    "instance".into()
}

/// `PATCH /v1/endpoints/{id}`: any of name, ports and security groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_ids: Option<Vec<String>>,
}

/// An endpoint as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub name: String,
    pub kind: String,
    pub private_ip: String,
    pub ports: Vec<u16>,
    pub security_group_ids: Vec<String>,
    pub created_at: i64,
}

/// A page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A created account and its key (shown once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewAccount {
    pub account_id: String,
    pub api_key: String,
}

/// The error body: `{"error":{"code":"PEERING_NOT_PENDING","message":"…"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_in_answers_are_written_as_the_same_words() {
        let entry = AclEntry {
            rule_number: 100,
            direction: Direction::Outbound,
            protocol: Protocol::Number(47),
            from_port: None,
            to_port: None,
            cidr_block: "0.0.0.0/0".into(),
            rule_action: Action::Deny,
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"rule_number": 100, "direction": "egress", "protocol": "47",
                "cidr_block": "0.0.0.0/0", "rule_action": "deny"})
        );
        assert_eq!(serde_json::from_value::<AclEntry>(json).unwrap(), entry);
        let rule: SgRule = serde_json::from_value(serde_json::json!({"id": "sgr_1", "direction": "ingress",
            "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "10.0.0.0/8", "description": ""}))
        .unwrap();
        assert_eq!(
            (rule.direction, rule.protocol),
            (Direction::Inbound, Protocol::Tcp)
        );
        assert!(
            serde_json::from_value::<SgRule>(serde_json::json!({"id": "sgr_1", "direction": "inbound",
            "protocol": "tcp", "description": ""}))
            .is_err()
        );
        for status in PeeringStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}
