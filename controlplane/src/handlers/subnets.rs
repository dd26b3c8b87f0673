//! The `/v1/subnets` handlers: create, list, get and delete subnets.

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
