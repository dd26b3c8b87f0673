//! The `/v1/gateways` handlers: create, list, get and delete gateways.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    Json,
};

use crate::{
    error::ApiError,
    request::{
        created, cursor, limit, vpc, AppState, Body, Caller, IdempotencyHeader, PageQuery, Params, VpcQuery,
    },
    responses,
    wire::{self, Page},
};

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
