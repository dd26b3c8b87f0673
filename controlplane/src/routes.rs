//! The `/v1` operations table: one entry per handler, with the method and path read from the handler's
//! `#[utoipa::path]` annotation. The router ([`crate::service::router`]) serves exactly these operations, the
//! OpenAPI document ([`ApiDoc`]) documents exactly these, and the security tests walk them: a route cannot be
//! served without being documented and tested.

use axum::{
    handler::Handler,
    http::Method,
    routing::{on, MethodFilter, MethodRouter},
};
use utoipa::{
    openapi::{path::HttpMethod, schema::Schema, RefOr},
    OpenApi,
};

use crate::{handlers, request::AppState, wire};

/// One `/v1` operation: the method and path from its handler's `#[utoipa::path]` annotation, the handler, and
/// what the OpenAPI document says of it.
pub struct Operation {
    pub method: Method,
    /// The path in OpenAPI (and axum 0.8) form, e.g. `/v1/vpcs/{id}`.
    pub path: String,
    pub(crate) route: MethodRouter<AppState>,
    doc: utoipa::openapi::path::Operation,
    schemas: fn(&mut Vec<(String, RefOr<Schema>)>),
}

impl Operation {
    /// The operation of one handler `H`, whose annotation generated `P`.
    fn new<P, H, T>(handler: H) -> Operation
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + utoipa::__dev::Tags<'static>,
        H: Handler<T, AppState>,
        T: 'static,
    {
        let methods = P::methods();
        let [method] = &methods[..] else {
            panic!("{}: one method per operation", P::path());
        };
        let (method, filter) = match method {
            HttpMethod::Get => (Method::GET, MethodFilter::GET),
            HttpMethod::Post => (Method::POST, MethodFilter::POST),
            HttpMethod::Put => (Method::PUT, MethodFilter::PUT),
            HttpMethod::Patch => (Method::PATCH, MethodFilter::PATCH),
            HttpMethod::Delete => (Method::DELETE, MethodFilter::DELETE),
            _ => panic!("{}: unsupported method", P::path()),
        };
        // As the `OpenApi` derive does: the annotation's `tag` goes onto the operation.
        let mut doc = P::operation();
        doc.tags
            .get_or_insert_with(Vec::new)
            .extend(P::tags().into_iter().map(String::from));
        Operation {
            method,
            path: P::path(),
            route: on(filter, handler),
            doc,
            schemas: P::schemas,
        }
    }

    /// The operation id in the OpenAPI document (the handler's name).
    pub fn operation_id(&self) -> &str {
        self.doc.operation_id.as_deref().unwrap_or_default()
    }
}

/// `operations![create_vpc, …]`: the [`Operation`] of each named handler in [`handlers`].
macro_rules! operations {
    ($($handler:ident),* $(,)?) => {
        paste::paste! {
            vec![$(Operation::new::<handlers::[<__path_ $handler>], _, _>(handlers::$handler)),*]
        }
    };
}

/// Every `/v1` operation (`/v1/openapi.json` is public and not one of them).
pub fn operations() -> Vec<Operation> {
    operations![
        create_vpc,
        list_vpcs,
        get_vpc,
        update_vpc,
        delete_vpc,
        create_subnet,
        list_subnets,
        get_subnet,
        delete_subnet,
        create_route_table,
        list_route_tables,
        get_route_table,
        delete_route_table,
        add_route,
        delete_route,
        associate_route_table,
        disassociate_route_table,
        create_security_group,
        list_security_groups,
        get_security_group,
        update_security_group,
        delete_security_group,
        add_sg_rule,
        delete_sg_rule,
        create_network_acl,
        list_network_acls,
        get_network_acl,
        delete_network_acl,
        add_acl_entry,
        delete_acl_entry,
        associate_network_acl,
        create_endpoint,
        list_endpoints,
        get_endpoint,
        update_endpoint,
        delete_endpoint,
        create_gateway,
        list_gateways,
        get_gateway,
        delete_gateway,
        create_peering,
        list_peerings,
        get_peering,
        delete_peering,
        accept_peering,
        reject_peering,
    ]
}

/// The OpenAPI 3.1 document: the paths and their schemas come from [`operations`], the rest from here.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "NFYio-compatible VPC control plane (Peerplan)",
        description = "Accounts, VPC resources and the VPC peering lifecycle, as in the NFYio VPC peering document; AWS semantics where it is silent."
    ),
    components(schemas(wire::ErrorBody, wire::ErrorDetail)),
    modifiers(&Operations, &BearerAuth),
    tags(
        (name = "vpcs"), (name = "subnets"), (name = "route-tables"), (name = "security-groups"),
        (name = "network-acls"), (name = "endpoints"), (name = "gateways"), (name = "vpc-peering")
    )
)]
pub struct ApiDoc;

/// The OpenAPI document as served at `/v1/openapi.json`: [`ApiDoc`] in JSON, with the fields of its response
/// links spelled as OpenAPI spells them (`operationId`, `operationRef`, `requestBody`; utoipa 5 writes them in
/// snake case, which link-following tools such as schemathesis reject).
pub fn document() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    let responses = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response.get_mut("links").and_then(|l| l.as_object_mut());
        for link in links.into_iter().flat_map(|l| l.values_mut()) {
            let Some(link) = link.as_object_mut() else {
                continue;
            };
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.to_string(), v);
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).expect("the document serializes")
}

/// Adds every [`Operation`] and the schemas it refers to.
struct Operations;

impl utoipa::Modify for Operations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut schemas = Vec::new();
        for op in operations() {
            let method = match op.method {
                Method::GET => HttpMethod::Get,
                Method::POST => HttpMethod::Post,
                Method::PUT => HttpMethod::Put,
                Method::PATCH => HttpMethod::Patch,
                _ => HttpMethod::Delete,
            };
            openapi.paths.add_path_operation(&op.path, vec![method], op.doc);
            (op.schemas)(&mut schemas);
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.extend(schemas);
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}
