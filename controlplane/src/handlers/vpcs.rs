//! The `/v1/vpcs` handlers: create, list, get, rename and delete VPCs.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    Json,
};

use crate::{
    error::ApiError,
    request::{created, cursor, limit, AppState, Body, Caller, IdempotencyHeader, PageQuery, Params},
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
