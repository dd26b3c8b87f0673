//! The `/v1/security-groups` handlers: security groups and their rules.

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
