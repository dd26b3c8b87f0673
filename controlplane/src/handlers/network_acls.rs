//! The `/v1/network-acls` handlers: network ACLs, their entries and their subnet associations.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    Json,
};

use crate::{
    error::ApiError,
    request::{
        created, cursor, done, limit, vpc, AppState, Body, Caller, IdempotencyHeader, PageQuery, Params,
        VpcQuery,
    },
    responses,
    wire::{self, Page},
};

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
