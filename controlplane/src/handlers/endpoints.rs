//! The `/v1/endpoints` handlers: create, list, get, change and delete endpoints.

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
