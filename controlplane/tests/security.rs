//! Security, generated from the route list: every route without a key or with a bad key is 401; every object of
//! account A is 404 to account B (never 403 with details); mass assignment is refused.

mod common;

use common::{backends, start, Api};
use controlplane::service::ROUTES;
use serde_json::json;

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

#[tokio::test]
async fn every_route_needs_a_valid_key() {
    let s = start("sqlite").await;
    let http = reqwest::Client::new();
    for (method, path) in ROUTES {
        let url = format!("{}{}", s.base, fill(path, |_| "x_1".into()));
        for auth in [
            None,
            Some("Bearer ppk_wrong"),
            Some("Basic Zm9vOmJhcg=="),
            Some("Bearer "),
        ] {
            let mut req = http.request(method.parse().unwrap(), &url).json(&json!({}));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with {auth:?}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "UNAUTHORIZED");
        }
    }
}

#[tokio::test]
async fn other_accounts_objects_are_404() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let va = a.vpc("A", "10.0.0.0/16").await;
        let va2 = a.vpc("A2", "10.1.0.0/16").await;
        let (_, sn) = a
            .call(
                "POST",
                "/v1/subnets",
                Some(json!({"vpc_id": va["id"], "cidr_block": "10.0.1.0/24"})),
            )
            .await;
        let (_, pcx) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": va["id"], "accepter_vpc_id": va2["id"]})),
            )
            .await;
        let vpc_id = va["id"].as_str().unwrap();
        let (_, rtb) = a
            .call("POST", "/v1/route-tables", Some(json!({"vpc_id": vpc_id})))
            .await;
        let (_, sg) = a
            .call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": vpc_id, "name": "web"})),
            )
            .await;
        let sg_id = sg["id"].as_str().unwrap().to_string();
        let (_, rule) = a
            .call(
                "POST",
                &format!("/v1/security-groups/{sg_id}/rules"),
                Some(json!({"direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"})),
            )
            .await;
        let (_, acl) = a
            .call("POST", "/v1/network-acls", Some(json!({"vpc_id": vpc_id})))
            .await;
        let acl_id = acl["id"].as_str().unwrap().to_string();
        let (st, _) = a
            .call(
                "POST",
                &format!("/v1/network-acls/{acl_id}/entries"),
                Some(json!({"rule_number": 100, "direction": "ingress", "protocol": "all", "cidr_block": "0.0.0.0/0", "rule_action": "allow"})),
            )
            .await;
        assert_eq!(st, 201);
        let (_, ep) = a
            .call(
                "POST",
                "/v1/endpoints",
                Some(json!({"subnet_id": sn["id"], "name": "bucket-a", "kind": "bucket", "ports": [7010]})),
            )
            .await;
        let subnet_id = sn["id"].as_str().unwrap().to_string();
        let a_id = |path: &str, param: &str| -> String {
            let object = |v: &serde_json::Value| v["id"].as_str().unwrap().to_string();
            match (param, path.split('/').nth(2).unwrap()) {
                ("id", "vpcs") => object(&va),
                ("id", "subnets") => subnet_id.clone(),
                ("id", "route-tables") => object(&rtb),
                ("id", "security-groups") => sg_id.clone(),
                ("id", "network-acls") => acl_id.clone(),
                ("id", "endpoints") => object(&ep),
                ("id", "vpc-peering") => object(&pcx),
                ("subnet_id", _) => subnet_id.clone(),
                ("rule_id", _) => object(&rule),
                ("direction", _) => "ingress".into(),
                ("rule_number", _) => "100".into(),
                other => panic!("no id of A for {other:?} in {path}"),
            }
        };
        // A body that would be valid, so that the 404 is about the object and nothing else.
        let body_for = |method: &str, path: &str| match (method, path.rsplit('/').next().unwrap()) {
            ("POST", "routes") => Some(json!({"destination_cidr": "10.9.0.0/16", "target": pcx["id"]})),
            ("POST", "associations") => Some(json!({"subnet_id": subnet_id})),
            ("POST", "rules") => Some(
                json!({"direction": "ingress", "protocol": "tcp", "from_port": 443, "cidr": "10.9.0.0/16"}),
            ),
            ("POST", "entries") => Some(
                json!({"rule_number": 200, "direction": "ingress", "protocol": "all", "cidr_block": "10.9.0.0/16", "rule_action": "allow"}),
            ),
            ("PATCH", _) => Some(json!({"name": "taken-over"})),
            _ => None,
        };
        let mut checked = 0;
        for (method, path) in ROUTES.iter().filter(|(_, p)| p.contains('{')) {
            let url = fill(path, |param| a_id(path, param));
            let url = if *method == "DELETE" && path.ends_with("/routes") {
                format!("{url}?destination_cidr=10.9.0.0/16")
            } else {
                url
            };
            let (st, e) = b.call(method, &url, body_for(method, path)).await;
            assert_eq!(st, 404, "{backend}: B {method} {url}: {e}");
            assert_eq!(e["error"]["code"], "NOT_FOUND");
            checked += 1;
        }
        assert!(checked >= 28, "only {checked} routes with ids");
        // B cannot point its own objects at A's either.
        let vb0 = b.vpc("B0", "192.168.0.0/16").await;
        let (st, _) = b
            .call(
                "POST",
                &format!(
                    "/v1/route-tables/{}/associations",
                    vb0["main_route_table_id"].as_str().unwrap()
                ),
                Some(json!({"subnet_id": subnet_id})),
            )
            .await;
        assert_eq!(st, 404, "B associating A's subnet");
        let (st, e) = b
            .call(
                "POST",
                &format!(
                    "/v1/security-groups/{}/rules",
                    vb0["default_security_group_id"].as_str().unwrap()
                ),
                Some(json!({"direction": "ingress", "protocol": "all", "security_group_id": sg_id})),
            )
            .await;
        assert_eq!(st, 404, "B naming A's group without a peering: {e}");
        // Lists never show A's objects to B; creating a peering from A's VPC is 404 for B.
        for list in [
            "/v1/vpcs",
            "/v1/subnets",
            "/v1/route-tables",
            "/v1/vpc-peering",
            "/v1/security-groups",
            "/v1/network-acls",
            "/v1/endpoints",
        ] {
            let (_, l) = b.call("GET", list, None).await;
            let leaked: Vec<_> = l["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["account_id"] != b.account && i["accepter_account_id"] != b.account)
                .collect();
            assert!(leaked.is_empty(), "{list} shows B {leaked:?}");
        }
        // Lists never show A's objects to B; creating a peering from A's VPC is 404 for B.
        let vb = b.vpc("B", "172.16.0.0/16").await;
        let (st, _) = b
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": va["id"], "accepter_vpc_id": vb["id"]})),
            )
            .await;
        assert_eq!(st, 404);
        // And A's objects are untouched.
        let (st, _) = a
            .call("GET", &format!("/v1/vpcs/{}", va["id"].as_str().unwrap()), None)
            .await;
        assert_eq!(st, 200);
    }
}

#[tokio::test]
async fn mass_assignment_is_refused_on_every_post() {
    let s = start("sqlite").await;
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
            "/v1/vpcs".to_string(),
            json!({"name": "x", "region": "r", "cidr_block": "10.1.0.0/16", "main_route_table_id": "rtb_x"}),
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
            "{path}: {e}"
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
            "PATCH {path}: {e}"
        );
    }
}
