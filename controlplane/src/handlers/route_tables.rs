//! The `/v1/route-tables` handlers: route tables, their routes and their subnet associations.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    Json,
};

use crate::{
    error::ApiError,
    request::{
        created, cursor, done, limit, required, AppState, Body, Caller, DestinationQuery, IdempotencyHeader,
        PageQuery, Params,
    },
    responses,
    wire::{self, Page},
};

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
