//! The `/v1` handlers, one per API operation, each documented for the OpenAPI document (`utoipa::path`): what
//! it takes, what it answers (the error statuses it can really return, from [`crate::responses`]), and the
//! links from a created object to the operations on it. One module per resource; the handlers are re-exported
//! here, where the operations table ([`crate::routes::operations`]) names them.

mod endpoints;
mod gateways;
mod network_acls;
mod peerings;
mod route_tables;
mod security_groups;
mod subnets;
mod vpcs;

pub use endpoints::*;
pub use gateways::*;
pub use network_acls::*;
pub use peerings::*;
pub use route_tables::*;
pub use security_groups::*;
pub use subnets::*;
pub use vpcs::*;
