//! The `/v1/vpc-peering` handlers: request, list, get, accept, reject and delete peering connections.

use axum::{
    extract::{Path, Query, State},
    response::Response,
    Json,
};

use crate::{
    error::ApiError,
    request::{
        created, cursor, done, limit, vpc, AppState, Body, Caller, IdempotencyHeader, PageQuery, Params,
        StatusQuery, VpcQuery,
    },
    responses,
    wire::{self, Page},
};

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
