//! The `/v1` handlers, one per API operation, each documented for the OpenAPI document (`utoipa::path`): what
//! it takes, what it answers (the error statuses it can really return, from [`crate::responses`]), and the
//! links from a created object to the operations on it.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    Json,
};

use crate::{
    error::ApiError,
    request::{
        created, cursor, done, limit, required, vpc, AppState, Body, Caller, DestinationQuery,
        IdempotencyHeader, PageQuery, Params, StatusQuery, VpcQuery,
    },
    responses,
    wire::{self, Page},
};

/// Creates a VPC with its main route table, default network ACL and default security group.
#[utoipa::path(
    post,
    path = "/v1/vpcs",
    tag = "vpcs",
    operation_id = "create_vpc",
    params(IdempotencyHeader),
    request_body = wire::CreateVpc,
    responses(
        (status = 201, description = "Created", body = wire::Vpc, links(
            ("GetVpc" = (operation_id = "get_vpc", parameters(("id" = "$response.body#/id")))),
            ("UpdateVpc" = (operation_id = "update_vpc", parameters(("id" = "$response.body#/id")))),
            ("DeleteVpc" = (operation_id = "delete_vpc", parameters(("id" = "$response.body#/id")))),
            ("GetMainRouteTable" = (operation_id = "get_route_table", parameters(("id" = "$response.body#/main_route_table_id")))),
            ("AddRouteToMainTable" = (operation_id = "add_route", parameters(("id" = "$response.body#/main_route_table_id")))),
            ("GetDefaultSecurityGroup" = (operation_id = "get_security_group", parameters(("id" = "$response.body#/default_security_group_id")))),
            ("AddRuleToDefaultGroup" = (operation_id = "add_sg_rule", parameters(("id" = "$response.body#/default_security_group_id")))),
            ("GetDefaultNetworkAcl" = (operation_id = "get_network_acl", parameters(("id" = "$response.body#/default_network_acl_id")))),
            ("AddEntryToDefaultAcl" = (operation_id = "add_acl_entry", parameters(("id" = "$response.body#/default_network_acl_id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_vpc(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateVpc>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_vpc(&me, &body.value).await?))
}

/// Lists the account's VPCs.
#[utoipa::path(
    get,
    path = "/v1/vpcs",
    tag = "vpcs",
    operation_id = "list_vpcs",
    params(PageQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::Vpc>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_vpcs(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::Vpc>>, ApiError> {
    Ok(Json(
        st.store.list_vpcs(&me, cursor(&q, &["vpc"])?, limit(&q)?).await?,
    ))
}

/// Gets one VPC.
#[utoipa::path(
    get,
    path = "/v1/vpcs/{id}",
    tag = "vpcs",
    operation_id = "get_vpc",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::Vpc),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_vpc(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::Vpc>, ApiError> {
    Ok(Json(st.store.get_vpc(&me, &id).await?))
}

/// Renames a VPC.
#[utoipa::path(
    patch,
    path = "/v1/vpcs/{id}",
    tag = "vpcs",
    operation_id = "update_vpc",
    params(("id" = String, Path, description = "The object's id")),
    request_body = wire::UpdateVpc,
    responses(
        (status = 200, description = "OK", body = wire::Vpc),
        responses::Always, responses::JsonBody, responses::BadRequest, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn update_vpc(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::UpdateVpc>,
) -> Result<Json<wire::Vpc>, ApiError> {
    Ok(Json(st.store.update_vpc(&me, &id, &body.value).await?))
}

/// Deletes a VPC and everything in it (refused while a peering is pending or active).
#[utoipa::path(
    delete,
    path = "/v1/vpcs/{id}",
    tag = "vpcs",
    operation_id = "delete_vpc",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_vpc(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_vpc(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a subnet inside one of its VPC's blocks.
#[utoipa::path(
    post,
    path = "/v1/subnets",
    tag = "subnets",
    operation_id = "create_subnet",
    params(IdempotencyHeader),
    request_body = wire::CreateSubnet,
    responses(
        (status = 201, description = "Created", body = wire::Subnet, links(
            ("GetSubnet" = (operation_id = "get_subnet", parameters(("id" = "$response.body#/id")))),
            ("DeleteSubnet" = (operation_id = "delete_subnet", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_subnet(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateSubnet>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_subnet(&me, &body.value).await?))
}

/// Lists the account's subnets.
#[utoipa::path(
    get,
    path = "/v1/subnets",
    tag = "subnets",
    operation_id = "list_subnets",
    params(PageQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::Subnet>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_subnets(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::Subnet>>, ApiError> {
    Ok(Json(
        st.store
            .list_subnets(&me, cursor(&q, &["subnet"])?, limit(&q)?)
            .await?,
    ))
}

/// Gets one subnet.
#[utoipa::path(
    get,
    path = "/v1/subnets/{id}",
    tag = "subnets",
    operation_id = "get_subnet",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::Subnet),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_subnet(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::Subnet>, ApiError> {
    Ok(Json(st.store.get_subnet(&me, &id).await?))
}

/// Deletes a subnet (refused while endpoints are in it).
#[utoipa::path(
    delete,
    path = "/v1/subnets/{id}",
    tag = "subnets",
    operation_id = "delete_subnet",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_subnet(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_subnet(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a (non-main) route table.
#[utoipa::path(
    post,
    path = "/v1/route-tables",
    tag = "route-tables",
    operation_id = "create_route_table",
    params(IdempotencyHeader),
    request_body = wire::CreateRouteTable,
    responses(
        (status = 201, description = "Created", body = wire::RouteTable, links(
            ("GetRouteTable" = (operation_id = "get_route_table", parameters(("id" = "$response.body#/id")))),
            ("DeleteRouteTable" = (operation_id = "delete_route_table", parameters(("id" = "$response.body#/id")))),
            ("AddRoute" = (operation_id = "add_route", parameters(("id" = "$response.body#/id")))),
            ("Associate" = (operation_id = "associate_route_table", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_route_table(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateRouteTable>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_route_table(&me, &body.value).await?))
}

/// Lists the account's route tables.
#[utoipa::path(
    get,
    path = "/v1/route-tables",
    tag = "route-tables",
    operation_id = "list_route_tables",
    params(PageQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::RouteTable>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_route_tables(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::RouteTable>>, ApiError> {
    Ok(Json(
        st.store
            .list_route_tables(&me, cursor(&q, &["rtb"])?, limit(&q)?)
            .await?,
    ))
}

/// Gets a route table; a route to a peering that is not active is a blackhole.
#[utoipa::path(
    get,
    path = "/v1/route-tables/{id}",
    tag = "route-tables",
    operation_id = "get_route_table",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::RouteTable),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_route_table(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::RouteTable>, ApiError> {
    Ok(Json(st.store.get_route_table(&me, &id).await?))
}

/// Deletes a route table (not the main one, not while subnets use it).
#[utoipa::path(
    delete,
    path = "/v1/route-tables/{id}",
    tag = "route-tables",
    operation_id = "delete_route_table",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_route_table(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_route_table(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a route, as in the seed: destination_cidr and target (local, a peering pcx_…, or a gateway).
#[utoipa::path(
    post,
    path = "/v1/route-tables/{id}/routes",
    tag = "route-tables",
    operation_id = "add_route",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    request_body = wire::CreateRoute,
    responses(
        (status = 201, description = "Created", body = wire::RouteTable, links(
            ("DeleteRoute" = (operation_id = "delete_route", parameters(("id" = "$request.path.id"), ("destination_cidr" = "$request.body#/destination_cidr")))),
            ("GetRouteTable" = (operation_id = "get_route_table", parameters(("id" = "$request.path.id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn add_route(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::CreateRoute>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.add_route(&me, &id, &body.value).await?))
}

/// Deletes the route for a destination.
#[utoipa::path(
    delete,
    path = "/v1/route-tables/{id}/routes",
    tag = "route-tables",
    operation_id = "delete_route",
    params(("id" = String, Path, description = "The object's id"), DestinationQuery),
    responses(
        (status = 200, description = "OK", body = wire::RouteTable),
        responses::Always, responses::BadRequest, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn delete_route(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Json<wire::RouteTable>, ApiError> {
    Ok(Json(
        st.store
            .delete_route(&me, &id, required(&q, "destination_cidr")?)
            .await?,
    ))
}

/// Associates a subnet of the table's VPC with it.
#[utoipa::path(
    post,
    path = "/v1/route-tables/{id}/associations",
    tag = "route-tables",
    operation_id = "associate_route_table",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    request_body = wire::Association,
    responses(
        (status = 200, description = "OK", body = wire::RouteTable, links(
            ("Disassociate" = (operation_id = "disassociate_route_table", parameters(("id" = "$request.path.id"), ("subnet_id" = "$request.body#/subnet_id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn associate_route_table(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::Association>,
) -> Result<Response, ApiError> {
    Ok(done(st.store.associate_route_table(&me, &id, &body.value).await?))
}

/// Removes a subnet's association; it uses the main table again.
#[utoipa::path(
    delete,
    path = "/v1/route-tables/{id}/associations/{subnet_id}",
    tag = "route-tables",
    operation_id = "disassociate_route_table",
    params(("id" = String, Path, description = "The object's id"), ("subnet_id" = String, Path, description = "A subnet id")),
    responses(
        (status = 200, description = "OK", body = wire::RouteTable),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn disassociate_route_table(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path((id, subnet_id)): Path<(String, String)>,
) -> Result<Json<wire::RouteTable>, ApiError> {
    Ok(Json(
        st.store.disassociate_route_table(&me, &id, &subnet_id).await?,
    ))
}

/// Creates a security group (egress to anywhere, no ingress).
#[utoipa::path(
    post,
    path = "/v1/security-groups",
    tag = "security-groups",
    operation_id = "create_security_group",
    params(IdempotencyHeader),
    request_body = wire::CreateSecurityGroup,
    responses(
        (status = 201, description = "Created", body = wire::SecurityGroup, links(
            ("GetSecurityGroup" = (operation_id = "get_security_group", parameters(("id" = "$response.body#/id")))),
            ("UpdateSecurityGroup" = (operation_id = "update_security_group", parameters(("id" = "$response.body#/id")))),
            ("DeleteSecurityGroup" = (operation_id = "delete_security_group", parameters(("id" = "$response.body#/id")))),
            ("AddRule" = (operation_id = "add_sg_rule", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_security_group(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateSecurityGroup>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_security_group(&me, &body.value).await?))
}

/// Lists the account's security groups.
#[utoipa::path(
    get,
    path = "/v1/security-groups",
    tag = "security-groups",
    operation_id = "list_security_groups",
    params(PageQuery, VpcQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::SecurityGroup>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_security_groups(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::SecurityGroup>>, ApiError> {
    Ok(Json(
        st.store
            .list_security_groups(&me, vpc(&q), cursor(&q, &["sg"])?, limit(&q)?)
            .await?,
    ))
}

/// Gets a security group with its rules.
#[utoipa::path(
    get,
    path = "/v1/security-groups/{id}",
    tag = "security-groups",
    operation_id = "get_security_group",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::SecurityGroup),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_security_group(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::SecurityGroup>, ApiError> {
    Ok(Json(st.store.get_security_group(&me, &id).await?))
}

/// Changes a group's name or description.
#[utoipa::path(
    patch,
    path = "/v1/security-groups/{id}",
    tag = "security-groups",
    operation_id = "update_security_group",
    params(("id" = String, Path, description = "The object's id")),
    request_body = wire::UpdateSecurityGroup,
    responses(
        (status = 200, description = "OK", body = wire::SecurityGroup),
        responses::Always, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn update_security_group(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::UpdateSecurityGroup>,
) -> Result<Json<wire::SecurityGroup>, ApiError> {
    Ok(Json(st.store.update_security_group(&me, &id, &body.value).await?))
}

/// Deletes a group (not the default, not while used).
#[utoipa::path(
    delete,
    path = "/v1/security-groups/{id}",
    tag = "security-groups",
    operation_id = "delete_security_group",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_security_group(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_security_group(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an ingress or egress rule (a CIDR or a group as peer).
#[utoipa::path(
    post,
    path = "/v1/security-groups/{id}/rules",
    tag = "security-groups",
    operation_id = "add_sg_rule",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    request_body = wire::CreateSgRule,
    responses(
        (status = 201, description = "Created", body = wire::SgRule, links(
            ("DeleteRule" = (operation_id = "delete_sg_rule", parameters(("id" = "$request.path.id"), ("rule_id" = "$response.body#/id")))),
            ("GetSecurityGroup" = (operation_id = "get_security_group", parameters(("id" = "$request.path.id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn add_sg_rule(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::CreateSgRule>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.add_sg_rule(&me, &id, &body.value).await?))
}

/// Deletes a rule.
#[utoipa::path(
    delete,
    path = "/v1/security-groups/{id}/rules/{rule_id}",
    tag = "security-groups",
    operation_id = "delete_sg_rule",
    params(("id" = String, Path, description = "The object's id"), ("rule_id" = String, Path, description = "A rule id (sgr_…)")),
    responses(
        (status = 200, description = "OK", body = wire::SecurityGroup),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn delete_sg_rule(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path((id, rule_id)): Path<(String, String)>,
) -> Result<Json<wire::SecurityGroup>, ApiError> {
    Ok(Json(st.store.delete_sg_rule(&me, &id, &rule_id).await?))
}

/// Creates a custom network ACL (denies everything until entries are added).
#[utoipa::path(
    post,
    path = "/v1/network-acls",
    tag = "network-acls",
    operation_id = "create_network_acl",
    params(IdempotencyHeader),
    request_body = wire::CreateNetworkAcl,
    responses(
        (status = 201, description = "Created", body = wire::NetworkAcl, links(
            ("GetNetworkAcl" = (operation_id = "get_network_acl", parameters(("id" = "$response.body#/id")))),
            ("DeleteNetworkAcl" = (operation_id = "delete_network_acl", parameters(("id" = "$response.body#/id")))),
            ("AddEntry" = (operation_id = "add_acl_entry", parameters(("id" = "$response.body#/id")))),
            ("Associate" = (operation_id = "associate_network_acl", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_network_acl(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateNetworkAcl>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_network_acl(&me, &body.value).await?))
}

/// Lists the account's network ACLs.
#[utoipa::path(
    get,
    path = "/v1/network-acls",
    tag = "network-acls",
    operation_id = "list_network_acls",
    params(PageQuery, VpcQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::NetworkAcl>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_network_acls(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::NetworkAcl>>, ApiError> {
    Ok(Json(
        st.store
            .list_network_acls(&me, vpc(&q), cursor(&q, &["acl"])?, limit(&q)?)
            .await?,
    ))
}

/// Gets a network ACL with its entries and associations.
#[utoipa::path(
    get,
    path = "/v1/network-acls/{id}",
    tag = "network-acls",
    operation_id = "get_network_acl",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::NetworkAcl),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_network_acl(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::NetworkAcl>, ApiError> {
    Ok(Json(st.store.get_network_acl(&me, &id).await?))
}

/// Deletes a custom ACL that no subnet uses.
#[utoipa::path(
    delete,
    path = "/v1/network-acls/{id}",
    tag = "network-acls",
    operation_id = "delete_network_acl",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_network_acl(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_network_acl(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a numbered entry.
#[utoipa::path(
    post,
    path = "/v1/network-acls/{id}/entries",
    tag = "network-acls",
    operation_id = "add_acl_entry",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    request_body = wire::CreateAclEntry,
    responses(
        (status = 201, description = "Created", body = wire::NetworkAcl, links(
            ("DeleteEntry" = (operation_id = "delete_acl_entry", parameters(("id" = "$request.path.id"), ("direction" = "$request.body#/direction"), ("rule_number" = "$request.body#/rule_number"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn add_acl_entry(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::CreateAclEntry>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.add_acl_entry(&me, &id, &body.value).await?))
}

/// Deletes the entry with a number in one direction (ingress or egress).
#[utoipa::path(
    delete,
    path = "/v1/network-acls/{id}/entries/{direction}/{rule_number}",
    tag = "network-acls",
    operation_id = "delete_acl_entry",
    params(("id" = String, Path, description = "The object's id"), ("direction" = String, Path, description = "ingress or egress"), ("rule_number" = String, Path, description = "The entry's rule number")),
    responses(
        (status = 200, description = "OK", body = wire::NetworkAcl),
        responses::Always, responses::BadRequest, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn delete_acl_entry(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path((id, direction, rule_number)): Path<(String, String, String)>,
) -> Result<Json<wire::NetworkAcl>, ApiError> {
    Ok(Json(
        st.store
            .delete_acl_entry(&me, &id, &direction, &rule_number)
            .await?,
    ))
}

/// Associates a subnet of the ACL's VPC with it (replacing its previous ACL).
#[utoipa::path(
    post,
    path = "/v1/network-acls/{id}/associations",
    tag = "network-acls",
    operation_id = "associate_network_acl",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    request_body = wire::Association,
    responses(
        (status = 200, description = "OK", body = wire::NetworkAcl),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn associate_network_acl(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::Association>,
) -> Result<Response, ApiError> {
    Ok(done(st.store.associate_network_acl(&me, &id, &body.value).await?))
}

/// Creates an endpoint (instance, bucket, agent, service…) with an address in a subnet.
#[utoipa::path(
    post,
    path = "/v1/endpoints",
    tag = "endpoints",
    operation_id = "create_endpoint",
    params(IdempotencyHeader),
    request_body = wire::CreateEndpoint,
    responses(
        (status = 201, description = "Created", body = wire::Endpoint, links(
            ("GetEndpoint" = (operation_id = "get_endpoint", parameters(("id" = "$response.body#/id")))),
            ("UpdateEndpoint" = (operation_id = "update_endpoint", parameters(("id" = "$response.body#/id")))),
            ("DeleteEndpoint" = (operation_id = "delete_endpoint", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_endpoint(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateEndpoint>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_endpoint(&me, &body.value).await?))
}

/// Lists the account's endpoints.
#[utoipa::path(
    get,
    path = "/v1/endpoints",
    tag = "endpoints",
    operation_id = "list_endpoints",
    params(PageQuery, VpcQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::Endpoint>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_endpoints(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::Endpoint>>, ApiError> {
    Ok(Json(
        st.store
            .list_endpoints(&me, vpc(&q), cursor(&q, &["ep"])?, limit(&q)?)
            .await?,
    ))
}

/// Gets one endpoint.
#[utoipa::path(
    get,
    path = "/v1/endpoints/{id}",
    tag = "endpoints",
    operation_id = "get_endpoint",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::Endpoint),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_endpoint(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::Endpoint>, ApiError> {
    Ok(Json(st.store.get_endpoint(&me, &id).await?))
}

/// Changes an endpoint's name, ports or security groups.
#[utoipa::path(
    patch,
    path = "/v1/endpoints/{id}",
    tag = "endpoints",
    operation_id = "update_endpoint",
    params(("id" = String, Path, description = "The object's id")),
    request_body = wire::UpdateEndpoint,
    responses(
        (status = 200, description = "OK", body = wire::Endpoint),
        responses::Always, responses::JsonBody, responses::BadRequest, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn update_endpoint(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    body: Body<wire::UpdateEndpoint>,
) -> Result<Json<wire::Endpoint>, ApiError> {
    Ok(Json(st.store.update_endpoint(&me, &id, &body.value).await?))
}

/// Deletes an endpoint.
#[utoipa::path(
    delete,
    path = "/v1/endpoints/{id}",
    tag = "endpoints",
    operation_id = "delete_endpoint",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn delete_endpoint(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_endpoint(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a gateway (internet `igw_…`, NAT `nat_…`, VPN `vgw_…` or gateway endpoint `vpce_…`) in a VPC, for
/// routes of that VPC to target.
#[utoipa::path(
    post,
    path = "/v1/gateways",
    tag = "gateways",
    operation_id = "create_gateway",
    params(IdempotencyHeader),
    request_body = wire::CreateGateway,
    responses(
        (status = 201, description = "Created", body = wire::Gateway, links(
            ("GetGateway" = (operation_id = "get_gateway", parameters(("id" = "$response.body#/id")))),
            ("DeleteGateway" = (operation_id = "delete_gateway", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_gateway(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreateGateway>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_gateway(&me, &body.value).await?))
}

/// Lists the account's gateways.
#[utoipa::path(
    get,
    path = "/v1/gateways",
    tag = "gateways",
    operation_id = "list_gateways",
    params(PageQuery, VpcQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::Gateway>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_gateways(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::Gateway>>, ApiError> {
    // Gateway ids have four prefixes.
    let cursor = cursor(&q, &["igw", "nat", "vgw", "vpce"])?;
    Ok(Json(
        st.store.list_gateways(&me, vpc(&q), cursor, limit(&q)?).await?,
    ))
}

/// Gets one gateway.
#[utoipa::path(
    get,
    path = "/v1/gateways/{id}",
    tag = "gateways",
    operation_id = "get_gateway",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::Gateway),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_gateway(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::Gateway>, ApiError> {
    Ok(Json(st.store.get_gateway(&me, &id).await?))
}

/// Deletes a gateway that no route targets.
#[utoipa::path(
    delete,
    path = "/v1/gateways/{id}",
    tag = "gateways",
    operation_id = "delete_gateway",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::Always, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_gateway(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.store.delete_gateway(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Requests a peering connection, as in the seed (failed at once when blocks overlap).
#[utoipa::path(
    post,
    path = "/v1/vpc-peering",
    tag = "vpc-peering",
    operation_id = "create_peering",
    params(IdempotencyHeader),
    request_body = wire::CreatePeering,
    responses(
        (status = 201, description = "Created", body = wire::Peering, links(
            ("GetPeering" = (operation_id = "get_peering", parameters(("id" = "$response.body#/id")))),
            ("AcceptPeering" = (operation_id = "accept_peering", parameters(("id" = "$response.body#/id")))),
            ("RejectPeering" = (operation_id = "reject_peering", parameters(("id" = "$response.body#/id")))),
            ("DeletePeering" = (operation_id = "delete_peering", parameters(("id" = "$response.body#/id"))))
        )),
        responses::Always, responses::Post, responses::JsonBody, responses::BadRequest, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn create_peering(
    State(st): State<AppState>,
    Caller(me): Caller,
    body: Body<wire::CreatePeering>,
) -> Result<Response, ApiError> {
    Ok(created(st.store.create_peering(&me, &body.value).await?))
}

/// Lists the peerings the account is part of.
#[utoipa::path(
    get,
    path = "/v1/vpc-peering",
    tag = "vpc-peering",
    operation_id = "list_peerings",
    params(PageQuery, VpcQuery, StatusQuery),
    responses(
        (status = 200, description = "OK", body = Page<wire::Peering>),
        responses::Always, responses::BadRequest
    ),
    security(("bearer" = []))
)]
pub async fn list_peerings(
    State(st): State<AppState>,
    Caller(me): Caller,
    Query(q): Query<Params>,
) -> Result<Json<Page<wire::Peering>>, ApiError> {
    Ok(Json(
        st.store
            .list_peerings(
                &me,
                q.get("status").map(String::as_str),
                vpc(&q),
                cursor(&q, &["pcx"])?,
                limit(&q)?,
            )
            .await?,
    ))
}

/// Gets a peering (either side).
#[utoipa::path(
    get,
    path = "/v1/vpc-peering/{id}",
    tag = "vpc-peering",
    operation_id = "get_peering",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::Peering),
        responses::Always, responses::NotFound
    ),
    security(("bearer" = []))
)]
pub async fn get_peering(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::Peering>, ApiError> {
    Ok(Json(st.store.get_peering(&me, &id).await?))
}

/// Deletes an active peering (either owner) or a pending request (its requester); its routes become blackholes.
#[utoipa::path(
    delete,
    path = "/v1/vpc-peering/{id}",
    tag = "vpc-peering",
    operation_id = "delete_peering",
    params(("id" = String, Path, description = "The object's id")),
    responses(
        (status = 200, description = "OK", body = wire::Peering),
        responses::Always, responses::Forbidden, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn delete_peering(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::Peering>, ApiError> {
    Ok(Json(st.store.delete_peering(&me, &id).await?))
}

/// Accepts a pending request (the accepter's account only).
#[utoipa::path(
    post,
    path = "/v1/vpc-peering/{id}/accept",
    tag = "vpc-peering",
    operation_id = "accept_peering",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    responses(
        (status = 200, description = "OK", body = wire::Peering),
        responses::Always, responses::Post, responses::BadRequest, responses::Forbidden, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn accept_peering(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(done(st.store.accept_peering(&me, &id).await?))
}

/// Rejects a pending request (the accepter's account only).
#[utoipa::path(
    post,
    path = "/v1/vpc-peering/{id}/reject",
    tag = "vpc-peering",
    operation_id = "reject_peering",
    params(("id" = String, Path, description = "The object's id"), IdempotencyHeader),
    responses(
        (status = 200, description = "OK", body = wire::Peering),
        responses::Always, responses::Post, responses::BadRequest, responses::Forbidden, responses::NotFound, responses::Conflict
    ),
    security(("bearer" = []))
)]
pub async fn reject_peering(
    State(st): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(done(st.store.reject_peering(&me, &id).await?))
}
