//! Security, generated from the route list: every route without a key or with a bad key is 401; every object of
//! account A is 404 to account B (never 403 with details); mass assignment is refused.

mod common;

use common::{backends, start, Api};
use controlplane::service::ROUTES;
use serde_json::json;

#[tokio::test]
async fn every_route_needs_a_valid_key() {
    let s = start("sqlite").await;
    let http = reqwest::Client::new();
    for (method, path) in ROUTES {
        let url = format!("{}{}", s.base, path.replace("{id}", "x_1"));
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
        let ids = [
            ("/v1/vpcs/{id}", va["id"].as_str().unwrap()),
            ("/v1/subnets/{id}", sn["id"].as_str().unwrap()),
            (
                "/v1/route-tables/{id}",
                va["main_route_table_id"].as_str().unwrap(),
            ),
            (
                "/v1/route-tables/{id}/routes",
                va["main_route_table_id"].as_str().unwrap(),
            ),
            ("/v1/vpc-peering/{id}", pcx["id"].as_str().unwrap()),
            ("/v1/vpc-peering/{id}/accept", pcx["id"].as_str().unwrap()),
            ("/v1/vpc-peering/{id}/reject", pcx["id"].as_str().unwrap()),
        ];
        for (method, path) in ROUTES.iter().filter(|(_, p)| p.contains("{id}")) {
            let id = ids
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, id)| *id)
                .unwrap_or_else(|| panic!("no id for {path}"));
            let url = path.replace("{id}", id);
            let body = match *path {
                "/v1/route-tables/{id}/routes" if *method == "POST" => {
                    Some(json!({"destination_cidr": "10.9.0.0/16", "target": pcx["id"]}))
                }
                _ => None,
            };
            let url = if *method == "DELETE" && path.ends_with("/routes") {
                format!("{url}?destination_cidr=10.9.0.0/16")
            } else {
                url
            };
            let (st, e) = b.call(method, &url, body).await;
            assert_eq!(st, 404, "{backend}: B {method} {url}: {e}");
            assert_eq!(e["error"]["code"], "NOT_FOUND");
        }
        // Lists never show A's objects to B; creating a peering from A's VPC is 404 for B.
        for list in ["/v1/vpcs", "/v1/subnets", "/v1/route-tables", "/v1/vpc-peering"] {
            let (_, l) = b.call("GET", list, None).await;
            assert_eq!(l["items"], json!([]), "{list}");
        }
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
    for (path, body) in [
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
}
