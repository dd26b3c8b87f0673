//! Security, generated from the router's own operations table ([`controlplane::routes::operations`], the list
//! that builds the router and the OpenAPI document): every operation without a key or with a bad key is 401;
//! every operation given another account's ids (in the path or the body) is 404, never 403 with details, and no
//! list shows another account's objects; mass assignment is refused. Each runs on SQLite and, when configured, on
//! PostgreSQL. A new operation that this file has no row for fails the matrix until one is added.

mod common;

use std::collections::BTreeSet;

use common::{backends, start, Api};
use controlplane::routes::{operations, Operation};
use serde_json::{json, Value};

/// The path with each `{param}` replaced.
fn fill(path: &str, mut value: impl FnMut(&str) -> String) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => value(param),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Every (METHOD, path) the router serves, from the operations table.
fn served() -> BTreeSet<(String, String)> {
    operations()
        .iter()
        .map(|op| (op.method.to_string(), op.path.clone()))
        .collect()
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_operations() {
    for backend in backends() {
        let s = start(backend).await;
        let http = reqwest::Client::new();
        let doc: Value = http
            .get(format!("{}/v1/openapi.json", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let served = served();
        assert_eq!(documented, served, "{backend}: document and router differ");
        assert!(served.len() >= 46, "only {} operations", served.len());
        for op in operations() {
            let entry = &doc["paths"][&op.path][op.method.as_str().to_lowercase()];
            assert_eq!(
                entry["operationId"],
                op.operation_id(),
                "{} {}",
                op.method,
                op.path
            );
            assert!(
                entry["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{} {} has no tag",
                op.method,
                op.path
            );
            assert_eq!(
                entry["security"][0]["bearer"],
                json!([]),
                "{} {}",
                op.method,
                op.path
            );
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["CreateVpc"]["properties"]["cidr_block"].is_object());
        assert!(doc["components"]["schemas"]["Peering"].is_object());

        // Response links (the stateful fuzzing phase follows them): each names an operation of the document and
        // only parameters that operation has; every create links to the get of what it created.
        let mut ids = BTreeSet::new();
        let mut links = 0;
        for op in operations() {
            ids.insert(op.operation_id().to_string());
        }
        for op in operations() {
            let entry = &doc["paths"][&op.path][op.method.as_str().to_lowercase()];
            for (status, response) in entry["responses"].as_object().unwrap() {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    let what = format!("{} {} → {status} link {name}", op.method, op.path);
                    let target = link["operationId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{what}: {link}"));
                    assert!(ids.contains(target), "{what}: no operation {target}");
                    let target_op = operations()
                        .into_iter()
                        .find(|o| o.operation_id() == target)
                        .unwrap();
                    let target_entry =
                        &doc["paths"][&target_op.path][target_op.method.as_str().to_lowercase()];
                    let params: BTreeSet<&str> = target_entry["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["name"].as_str())
                        .collect();
                    for (param, value) in link["parameters"].as_object().unwrap() {
                        assert!(
                            params.contains(param.as_str()),
                            "{what}: {target} has no parameter {param}"
                        );
                        assert!(value.as_str().unwrap().starts_with('$'), "{what}: {value}");
                    }
                    links += 1;
                }
            }
            if let Some(get) = op.operation_id().strip_prefix("create_") {
                let targets: Vec<&str> = entry["responses"]["201"]["links"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, l)| l["operationId"].as_str())
                    .collect();
                assert!(
                    targets.contains(&format!("get_{get}").as_str()),
                    "{}: no link to get_{get} ({targets:?})",
                    op.operation_id()
                );
            }
        }
        assert!(links >= 38, "only {links} links");

        // Probe the router: every documented operation reaches its handler (401 from the key check, not the
        // 404/405 of the fallbacks); every other method on a documented path is 405; other paths are 404.
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
        let paths: BTreeSet<&String> = served.iter().map(|(_, p)| p).collect();
        for path in paths {
            let url = format!("{}{}", s.base, fill(path, |_| "x_1".into()));
            for method in methods {
                let res = http
                    .request(method.parse().unwrap(), &url)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                let expected = if served.contains(&(method.to_string(), path.clone())) {
                    401
                } else {
                    405
                };
                assert_eq!(res.status(), expected, "{backend}: {method} {path}");
            }
        }
        for path in ["/v1/accounts", "/v1/vpcs/x/y/z", "/v1/keys", "/v1/admin", "/v1/"] {
            let res = http.get(format!("{}{path}", s.base)).send().await.unwrap();
            assert_eq!(res.status(), 404, "{backend}: GET {path}");
        }
    }
}

/// The router is built from the operations table alone: a route registered by hand anywhere in the crate would
/// be served without being documented or walked by this file. (axum cannot list a router's routes, so this reads
/// the source: the only `.route(` calls are the table loop, `/v1/openapi.json` and the 404 fallback.)
#[test]
fn no_route_is_registered_outside_the_operations_table() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Every source file under src/, module folders (store/, handlers/) included.
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() > 10,
        "too few source files under {}: {files:?}",
        src.display()
    );
    let mut calls = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for needle in [
                ".route(",
                ".nest(",
                ".merge(",
                ".route_service(",
                ".nest_service(",
            ] {
                if line.contains(needle) {
                    calls.push(format!(
                        "{}:{}: {}",
                        path.strip_prefix(&src).unwrap().display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    let allowed = [
        r#".route("/v1/openapi.json", get(openapi_json))"#,
        ".route(&op.path, op.route)",
        r#".route("/v1/{*rest}", axum::routing::any(not_found))"#,
    ];
    let unexpected: Vec<_> = calls
        .iter()
        .filter(|c| !allowed.iter().any(|a| c.contains(a)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "routes outside the operations table (add the handler to routes::operations instead): {unexpected:#?}"
    );
    assert_eq!(calls.len(), allowed.len(), "{calls:#?}");
}

#[tokio::test]
async fn every_operation_needs_a_valid_key() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let mut near = a.key.clone();
        let last = near.pop().unwrap();
        near.push(if last == 'x' { 'y' } else { 'x' });
        let near = format!("Bearer {near}");
        let long = format!("Bearer ppk_{}", "a".repeat(300));
        let lower = format!("bearer {}", "ppk_wrong");
        let http = reqwest::Client::new();
        let mut checked = 0;
        for op in operations() {
            let url = format!("{}{}", s.base, fill(&op.path, |_| "x_1".into()));
            for auth in [
                None,
                Some("Bearer ppk_wrong"),
                Some(near.as_str()),
                Some(long.as_str()),
                Some(lower.as_str()),
                Some("Basic Zm9vOmJhcg=="),
                Some("Bearer "),
            ] {
                let mut req = http.request(op.method.clone(), &url).json(&json!({}));
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                let res = req.send().await.unwrap();
                assert_eq!(
                    res.status(),
                    401,
                    "{backend}: {} {} with {auth:?}",
                    op.method,
                    op.path
                );
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"]["code"], "UNAUTHORIZED");
                checked += 1;
            }
        }
        assert_eq!(checked, operations().len() * 7);
    }
}

/// Account A's objects, one of each kind.
struct Objects {
    vpc: Value,
    vpc2: Value,
    subnet: String,
    peering: String,
    route_table: String,
    security_group: String,
    rule: String,
    network_acl: String,
    endpoint: String,
    gateway: String,
}

impl Objects {
    async fn create(a: &Api) -> Objects {
        let vpc = a.vpc("A", "10.0.0.0/16").await;
        let vpc2 = a.vpc("A2", "10.1.0.0/16").await;
        let vpc_id = vpc["id"].as_str().unwrap().to_string();
        let created = |(status, v): (u16, Value)| {
            assert_eq!(status, 201, "{v}");
            v["id"].as_str().unwrap().to_string()
        };
        let subnet = created(
            a.call(
                "POST",
                "/v1/subnets",
                Some(json!({"vpc_id": vpc_id, "cidr_block": "10.0.1.0/24"})),
            )
            .await,
        );
        let peering = created(
            a.call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": vpc_id, "accepter_vpc_id": vpc2["id"]})),
            )
            .await,
        );
        let route_table = created(
            a.call("POST", "/v1/route-tables", Some(json!({"vpc_id": vpc_id})))
                .await,
        );
        let security_group = created(
            a.call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": vpc_id, "name": "web"})),
            )
            .await,
        );
        let rule = created(
            a.call(
                "POST",
                &format!("/v1/security-groups/{security_group}/rules"),
                Some(json!({"direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"})),
            )
            .await,
        );
        let network_acl = created(
            a.call("POST", "/v1/network-acls", Some(json!({"vpc_id": vpc_id})))
                .await,
        );
        let (st, e) = a
            .call(
                "POST",
                &format!("/v1/network-acls/{network_acl}/entries"),
                Some(json!({"rule_number": 100, "direction": "ingress", "protocol": "all", "cidr_block": "0.0.0.0/0", "rule_action": "allow"})),
            )
            .await;
        assert_eq!(st, 201, "{e}");
        let endpoint = created(
            a.call(
                "POST",
                "/v1/endpoints",
                Some(json!({"subnet_id": subnet, "name": "bucket-a", "kind": "bucket", "ports": [7010]})),
            )
            .await,
        );
        let gateway = created(
            a.call(
                "POST",
                "/v1/gateways",
                Some(json!({"vpc_id": vpc_id, "kind": "internet"})),
            )
            .await,
        );
        Objects {
            vpc,
            vpc2,
            subnet,
            peering,
            route_table,
            security_group,
            rule,
            network_acl,
            endpoint,
            gateway,
        }
    }

    fn vpc_id(&self) -> &str {
        self.vpc["id"].as_str().unwrap()
    }

    /// A's value for a path parameter of `path`.
    fn param(&self, path: &str, param: &str) -> String {
        match (param, path.split('/').nth(2).unwrap()) {
            ("id", "vpcs") => self.vpc_id().to_string(),
            ("id", "subnets") => self.subnet.clone(),
            ("id", "route-tables") => self.route_table.clone(),
            ("id", "security-groups") => self.security_group.clone(),
            ("id", "network-acls") => self.network_acl.clone(),
            ("id", "endpoints") => self.endpoint.clone(),
            ("id", "gateways") => self.gateway.clone(),
            ("id", "vpc-peering") => self.peering.clone(),
            ("subnet_id", _) => self.subnet.clone(),
            ("rule_id", _) => self.rule.clone(),
            ("direction", _) => "ingress".into(),
            ("rule_number", _) => "100".into(),
            other => panic!("no id of A for {other:?} in {path}: add it to the security matrix"),
        }
    }
}

/// What account B must get when it names account A's objects.
#[derive(Debug, PartialEq)]
enum Expect {
    /// 404 `NOT_FOUND` (never 403, never a hint that the object exists).
    NotFound,
    /// A list: 200 (or 404 for a foreign filter) with none of A's objects.
    List,
    /// An operation that names no existing object (creating a VPC): B gets its own.
    Own,
}

/// One row of the matrix: the request B sends, naming A's objects, and the expected answer. Every operation needs
/// a row; an unknown one fails the test.
fn cross_account(op: &Operation, a: &Objects) -> (String, Option<Value>, Expect) {
    let id = op.operation_id();
    if id.starts_with("list_") {
        return (format!("{}?vpc_id={}", op.path, a.vpc_id()), None, Expect::List);
    }
    if !op.path.contains('{') {
        // A create: A's VPC or subnet in the body.
        let vpc = a.vpc_id();
        let body = match id {
            "create_vpc" => {
                return (
                    op.path.clone(),
                    Some(json!({"name": "A", "region": "us-east-1", "cidr_block": "10.0.0.0/16"})),
                    Expect::Own,
                )
            }
            "create_subnet" => json!({"vpc_id": vpc, "cidr_block": "10.0.2.0/24"}),
            "create_route_table" | "create_network_acl" => json!({"vpc_id": vpc}),
            "create_security_group" => json!({"vpc_id": vpc, "name": "mine"}),
            "create_gateway" => json!({"vpc_id": vpc, "kind": "internet"}),
            "create_endpoint" => json!({"subnet_id": a.subnet, "name": "mine", "ports": [80]}),
            "create_peering" => {
                json!({"requester_vpc_id": vpc, "accepter_vpc_id": a.vpc2["id"]})
            }
            other => panic!(
                "{} {} ({other}): add a row to the security matrix",
                op.method, op.path
            ),
        };
        return (op.path.clone(), Some(body), Expect::NotFound);
    }
    // A's object in the path, with a body that would be valid, so that the 404 is about the object alone.
    let url = fill(&op.path, |param| a.param(&op.path, param));
    let body = match id {
        "add_route" => Some(json!({"destination_cidr": "10.9.0.0/16", "target": a.peering})),
        "associate_route_table" | "associate_network_acl" => Some(json!({"subnet_id": a.subnet})),
        "add_sg_rule" => {
            Some(json!({"direction": "ingress", "protocol": "tcp", "from_port": 443, "cidr": "10.9.0.0/16"}))
        }
        "add_acl_entry" => Some(
            json!({"rule_number": 200, "direction": "ingress", "protocol": "all", "cidr_block": "10.9.0.0/16", "rule_action": "allow"}),
        ),
        "update_vpc" | "update_security_group" | "update_endpoint" => Some(json!({"name": "taken-over"})),
        _ => None,
    };
    let url = if id == "delete_route" {
        format!("{url}?destination_cidr=10.9.0.0/16")
    } else {
        url
    };
    (url, body, Expect::NotFound)
}

/// The id of A's object that `body` names.
fn foreign_id(body: &Value, a: &Objects) -> String {
    let ids = [
        a.vpc_id().to_string(),
        a.subnet.clone(),
        a.peering.clone(),
        a.security_group.clone(),
        a.gateway.clone(),
    ];
    let text = body.to_string();
    ids.into_iter()
        .find(|id| text.contains(id.as_str()))
        .unwrap_or_else(|| panic!("{body} names none of A's objects"))
}

#[tokio::test]
async fn other_accounts_objects_are_404_on_every_operation() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let objects = Objects::create(&a).await;
        let mut rows = 0;
        for op in operations() {
            let (url, body, expect) = cross_account(&op, &objects);
            let (st, v) = b.call(op.method.as_str(), &url, body).await;
            let what = format!("{backend}: B {} {url}", op.method);
            match expect {
                Expect::NotFound => {
                    assert_eq!(st, 404, "{what}: {v}");
                    assert_eq!(v["error"]["code"], "NOT_FOUND", "{what}: {v}");
                }
                Expect::List => {
                    assert!(st == 200 || st == 404, "{what}: {st} {v}");
                    if st == 200 {
                        let leaked: Vec<_> = v["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|i| i["account_id"] != b.account && i["accepter_account_id"] != b.account)
                            .collect();
                        assert!(leaked.is_empty(), "{what} shows B {leaked:?}");
                    }
                    // Without the filter too.
                    let (st, v) = b.call("GET", &op.path, None).await;
                    assert_eq!(st, 200, "{what}: {v}");
                    let leaked: Vec<_> = v["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|i| i["account_id"] != b.account && i["accepter_account_id"] != b.account)
                        .collect();
                    assert!(
                        leaked.is_empty(),
                        "{backend}: B GET {} shows B {leaked:?}",
                        op.path
                    );
                }
                Expect::Own => {
                    assert_eq!(st, 201, "{what}: {v}");
                    assert_eq!(v["account_id"], b.account.as_str(), "{what}: {v}");
                }
            }
            rows += 1;
        }
        assert_eq!(rows, operations().len());

        // B cannot point its own objects at A's either.
        let vb = b.vpc("B0", "192.168.0.0/16").await;
        let own = |field: &str| vb[field].as_str().unwrap().to_string();
        for (method, path, body) in [
            (
                "POST",
                format!("/v1/route-tables/{}/associations", own("main_route_table_id")),
                json!({"subnet_id": objects.subnet}),
            ),
            (
                "POST",
                format!("/v1/network-acls/{}/associations", own("default_network_acl_id")),
                json!({"subnet_id": objects.subnet}),
            ),
            (
                "POST",
                format!("/v1/security-groups/{}/rules", own("default_security_group_id")),
                json!({"direction": "ingress", "protocol": "all", "security_group_id": objects.security_group}),
            ),
            (
                "POST",
                format!("/v1/route-tables/{}/routes", own("main_route_table_id")),
                json!({"destination_cidr": "0.0.0.0/0", "target": objects.gateway}),
            ),
            (
                "POST",
                format!("/v1/route-tables/{}/routes", own("main_route_table_id")),
                json!({"destination_cidr": "10.0.0.0/16", "target": objects.peering}),
            ),
            (
                "POST",
                "/v1/vpc-peering".to_string(),
                json!({"requester_vpc_id": objects.vpc_id(), "accepter_vpc_id": vb["id"]}),
            ),
        ] {
            // Refused exactly as an id that does not exist is (no oracle for A's ids).
            let foreign = foreign_id(&body, &objects);
            let (prefix, _) = foreign.split_once('_').unwrap();
            let missing = format!("{prefix}_00000000deadbeef");
            let fake: Value = serde_json::from_str(&body.to_string().replace(&foreign, &missing)).unwrap();
            let (st, e) = b.call(method, &path, Some(body.clone())).await;
            let (fake_st, fake_e) = b.call(method, &path, Some(fake)).await;
            let what = format!("{backend}: B {method} {path} {body}");
            assert!((400..500).contains(&st), "{what}: {st} {e}");
            assert_eq!(
                (st, e["error"]["code"].clone()),
                (fake_st, fake_e["error"]["code"].clone()),
                "{what}: {e} vs {fake_e}"
            );
            assert_eq!(
                e["error"]["message"]
                    .as_str()
                    .unwrap()
                    .replace(&foreign, &missing),
                fake_e["error"]["message"].as_str().unwrap(),
                "{what}"
            );
        }
        // And A's objects are untouched.
        let (st, v) = a
            .call("GET", &format!("/v1/vpcs/{}", objects.vpc_id()), None)
            .await;
        assert_eq!((st, v["name"].as_str()), (200, Some("A")));
        let (st, v) = a
            .call("GET", &format!("/v1/vpc-peering/{}", objects.peering), None)
            .await;
        assert_eq!((st, v["status"].as_str()), (200, Some("pending")));
        let (st, v) = a
            .call(
                "GET",
                &format!("/v1/security-groups/{}", objects.security_group),
                None,
            )
            .await;
        assert_eq!((st, v["name"].as_str()), (200, Some("web")), "{v}");
    }
}

/// Every operation that takes a body refuses one that is not a JSON object (serde would read a struct from an
/// array: schemathesis found `PATCH /v1/security-groups/{id}` answering 200 to `[null, null]`).
#[tokio::test]
async fn every_body_must_be_a_json_object() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let objects = Objects::create(&a).await;
        let doc: Value = reqwest::get(format!("{}/v1/openapi.json", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut checked = 0;
        for op in operations() {
            let entry = &doc["paths"][&op.path][op.method.as_str().to_lowercase()];
            if entry["requestBody"].is_null() {
                continue;
            }
            let url = fill(&op.path, |param| objects.param(&op.path, param));
            for body in [json!([null, null]), json!([]), json!(null), json!("x"), json!(1)] {
                let (st, e) = a.call(op.method.as_str(), &url, Some(body.clone())).await;
                assert_eq!(
                    (st, e["error"]["code"].as_str()),
                    (400, Some("INVALID_BODY")),
                    "{backend}: {} {url} {body}: {e}",
                    op.method
                );
            }
            checked += 1;
        }
        assert!(checked >= 16, "only {checked} operations with a body");
    }
}

#[tokio::test]
async fn mass_assignment_is_refused_on_every_post() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("A", "10.0.0.0/16").await;
        let rtb = v["main_route_table_id"].as_str().unwrap();
        let sg = v["default_security_group_id"].as_str().unwrap();
        let acl = v["default_network_acl_id"].as_str().unwrap();
        for (path, body) in [
            (
                "/v1/security-groups".to_string(),
                json!({"vpc_id": v["id"], "name": "web", "default": true}),
            ),
            (
                format!("/v1/security-groups/{sg}/rules"),
                json!({"direction": "ingress", "protocol": "all", "cidr": "10.0.0.0/8", "id": "sgr_mine"}),
            ),
            (
                "/v1/network-acls".to_string(),
                json!({"vpc_id": v["id"], "default": true}),
            ),
            (
                format!("/v1/network-acls/{acl}/entries"),
                json!({"rule_number": 1, "direction": "ingress", "protocol": "all", "cidr_block": "0.0.0.0/0", "rule_action": "allow", "acl_id": "acl_x"}),
            ),
            (
                format!("/v1/route-tables/{rtb}/associations"),
                json!({"subnet_id": "subnet_x", "main": true}),
            ),
            (
                "/v1/endpoints".to_string(),
                json!({"subnet_id": "subnet_x", "name": "e", "account_id": "account_x"}),
            ),
            (
                "/v1/gateways".to_string(),
                json!({"vpc_id": v["id"], "kind": "internet", "account_id": "account_x"}),
            ),
            (
                "/v1/vpcs".to_string(),
                json!({"name": "x", "region": "us-east-1", "cidr_block": "10.1.0.0/16", "main_route_table_id": "rtb_x"}),
            ),
            (
                "/v1/subnets".to_string(),
                json!({"vpc_id": v["id"], "cidr_block": "10.0.1.0/24", "account_id": "x"}),
            ),
            (
                "/v1/route-tables".to_string(),
                json!({"vpc_id": v["id"], "main": true}),
            ),
            (
                format!("/v1/route-tables/{rtb}/routes"),
                json!({"destination_cidr": "10.9.0.0/16", "target": "igw_1", "state": "active"}),
            ),
            (
                "/v1/vpc-peering".to_string(),
                json!({"requester_vpc_id": v["id"], "accepter_vpc_id": v["id"], "status": "active"}),
            ),
        ] {
            let (st, e) = a.call("POST", &path, Some(body)).await;
            assert_eq!(
                (st, e["error"]["code"].as_str()),
                (400, Some("INVALID_BODY")),
                "{backend}: {path}: {e}"
            );
        }
        let vpc = v["id"].as_str().unwrap();
        for (path, body) in [
            (
                format!("/v1/vpcs/{vpc}"),
                json!({"name": "x", "cidr_block": "10.7.0.0/16"}),
            ),
            (
                format!("/v1/security-groups/{sg}"),
                json!({"name": "x", "vpc_id": "vpc_other"}),
            ),
        ] {
            let (st, e) = a.call("PATCH", &path, Some(body)).await;
            assert_eq!(
                (st, e["error"]["code"].as_str()),
                (400, Some("INVALID_BODY")),
                "{backend}: PATCH {path}: {e}"
            );
        }
    }
}

/// The check every test's calls go through ([`common::declared`]) refuses a status the document does not declare.
#[test]
#[should_panic(expected = "does not declare for get_vpc")]
fn an_undeclared_status_fails_the_calling_test() {
    common::declared("GET", "/v1/vpcs/vpc_1?x=1", 409);
}
