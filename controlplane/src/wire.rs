//! Wire types of the `/v1` API — one definition, used by the service and by the client.
//!
//! Request bodies reject unknown fields, so no privileged field (an id, an owner, a status) can be set by mass
//! assignment.

use serde::{Deserialize, Serialize};

/// `POST /v1/vpcs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateVpc {
    pub name: String,
    pub region: String,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub region: String,
    pub cidr_block: String,
    pub secondary_cidr_blocks: Vec<String>,
    pub ipv6_cidr_blocks: Vec<String>,
    pub main_route_table_id: String,
    pub created_at: i64,
}

/// `POST /v1/subnets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSubnet {
    pub vpc_id: String,
    pub cidr_block: String,
    #[serde(default)]
    pub availability_zone: String,
}

/// A subnet as returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub cidr_block: String,
    pub availability_zone: String,
    pub created_at: i64,
}

/// `POST /v1/route-tables`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRouteTable {
    pub vpc_id: String,
}

/// `POST /v1/route-tables/{id}/routes`, exactly as in the seed document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRoute {
    pub destination_cidr: String,
    /// `local`, a peering id (`pcx_…`), or a gateway id.
    pub target: String,
}

/// One route; `state` is `blackhole` while its peering is not active.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination_cidr: String,
    pub target: String,
    pub state: String,
}

/// A route table as returned, with its local routes first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub main: bool,
    pub routes: Vec<Route>,
    pub created_at: i64,
}

/// `POST /v1/vpc-peering`, as in the seed document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peering {
    pub id: String,
    pub status: String,
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

/// A page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A created account and its key (shown once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub account_id: String,
    pub api_key: String,
}

/// The error body: `{"error":{"code":"PEERING_NOT_PENDING","message":"…"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}
