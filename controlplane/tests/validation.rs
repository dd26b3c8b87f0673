//! One validation per field, shared by create and update (issue 11, items 6 and 10): names, regions, zones,
//! route targets, block counts, subnet sizes, cursors and the body's Content-Type. Every refusal is a 4xx
//! that names the offending value, shortened when long. On SQLite, and on PostgreSQL when configured.

mod common;

use common::{backends, start, Api};
use serde_json::{json, Value};

/// Asserts a 4xx with a code whose message names `needle` and stays short.
fn refused(got: (u16, Value), status: u16, code: &str, needle: &str) {
    let (st, e) = got;
    assert_eq!((st, e["error"]["code"].as_str()), (status, Some(code)), "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains(needle), "{msg:?} should name {needle:?}");
    assert!(
        msg.chars().count() <= 600,
        "a long value is shortened: {} characters",
        msg.chars().count()
    );
}

#[tokio::test]
async fn names_are_checked_alike_on_create_and_update() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("ok", "10.0.0.0/16").await;
        let vpc = v["id"].as_str().unwrap();
        let long = "n".repeat(1_000_000);
        for (name, needle) in [
            ("a\u{0}b", "\\0"),
            ("\u{1b}[31mred", "\\u{1b}"),
            ("line\nbreak", "\\n"),
            (long.as_str(), "1000000 characters"),
            (&"x".repeat(256), "256 characters"),
        ] {
            let create = a
                .call(
                    "POST",
                    "/v1/vpcs",
                    Some(json!({"name": name, "region": "us-east-1", "cidr_block": "10.9.0.0/16"})),
                )
                .await;
            refused(create, 400, "INVALID_NAME", needle);
            let update = a
                .call("PATCH", &format!("/v1/vpcs/{vpc}"), Some(json!({"name": name})))
                .await;
            refused(update, 400, "INVALID_NAME", needle);
            let group = a
                .call(
                    "POST",
                    "/v1/security-groups",
                    Some(json!({"vpc_id": vpc, "name": name})),
                )
                .await;
            refused(group, 400, "INVALID_NAME", needle);
        }
        // 255 characters of any script are fine.
        let (st, e) = a
            .call(
                "PATCH",
                &format!("/v1/vpcs/{vpc}"),
                Some(json!({"name": "é".repeat(255)})),
            )
            .await;
        assert_eq!(st, 200, "{e}");
        let (_, list) = a.call("GET", "/v1/vpcs", None).await;
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            1,
            "{backend}: nothing else created"
        );
    }
}

#[tokio::test]
async fn regions_and_availability_zones_follow_a_known_pattern() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        for region in [
            "../../etc/passwd\u{0}",
            "r",
            "US-EAST-1",
            "",
            &"us-east-1".repeat(10_000),
        ] {
            let got = a
                .call(
                    "POST",
                    "/v1/vpcs",
                    Some(json!({"name": "x", "region": region, "cidr_block": "10.9.0.0/16"})),
                )
                .await;
            let shown: String = format!("{region:?}").chars().take(20).collect();
            refused(got, 400, "INVALID_REGION", &shown);
        }
        let mut vpcs = Vec::new();
        for region in ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"] {
            vpcs.push(
                a.vpc_in(region, &format!("10.{}.0.0/16", 10 + vpcs.len()), region)
                    .await,
            );
        }
        // The regions a peering request names follow the same pattern.
        let got = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(
                    json!({"requester_vpc_id": vpcs[0]["id"], "accepter_vpc_id": vpcs[1]["id"],
                            "requester_region": "us-east-1", "accepter_region": "eu-west-1\n$(reboot)"}),
                ),
            )
            .await;
        refused(got, 400, "INVALID_REGION", "accepter_region");
        let v = a.vpc("v", "10.1.0.0/16").await;
        let subnet = |az: String, cidr: &str| {
            a.call(
                "POST",
                "/v1/subnets",
                Some(json!({"vpc_id": v["id"], "cidr_block": cidr, "availability_zone": az})),
            )
        };
        refused(
            subnet("a".repeat(100_000), "10.1.0.0/24").await,
            400,
            "INVALID_AVAILABILITY_ZONE",
            "100000 characters",
        );
        refused(
            subnet("us-east-1".into(), "10.1.0.0/24").await,
            400,
            "INVALID_AVAILABILITY_ZONE",
            "\"us-east-1\"",
        );
        refused(
            subnet("eu-west-1a".into(), "10.1.0.0/24").await,
            400,
            "INVALID_AVAILABILITY_ZONE",
            "us-east-1",
        );
        let (st, e) = subnet("us-east-1a".into(), "10.1.0.0/24").await;
        assert_eq!(st, 201, "{e}");
        let (st, e) = subnet(String::new(), "10.1.1.0/24").await;
        assert_eq!(st, 201, "an absent zone is fine: {e}");
    }
}

#[tokio::test]
async fn subnet_prefixes_are_16_to_28_and_a_vpc_has_at_most_5_ipv4_blocks() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("v", "10.0.0.0/16").await;
        for (cidr, ok) in [
            ("10.0.1.5/32", false),
            ("10.0.1.0/29", false),
            ("10.0.2.0/28", true),
            ("10.0.0.0/16", true),
        ] {
            let got = a
                .call(
                    "POST",
                    "/v1/subnets",
                    Some(json!({"vpc_id": v["id"], "cidr_block": cidr})),
                )
                .await;
            if ok {
                assert_eq!(got.0, 201, "{cidr}: {}", got.1);
                let (st, _) = a
                    .call(
                        "DELETE",
                        &format!("/v1/subnets/{}", got.1["id"].as_str().unwrap()),
                        None,
                    )
                    .await;
                assert_eq!(st, 204);
            } else {
                refused(got, 400, "INVALID_CIDR", cidr);
            }
        }
        let blocks = |n: usize| -> Vec<String> { (0..n).map(|i| format!("10.{}.0.0/16", 100 + i)).collect() };
        let vpc = |secondary: Vec<String>| {
            a.call(
                "POST",
                "/v1/vpcs",
                Some(json!({"name": "x", "region": "us-east-1", "cidr_block": "10.50.0.0/16", "secondary_cidr_blocks": secondary})),
            )
        };
        let (st, e) = vpc(blocks(4)).await;
        assert_eq!(st, 201, "primary + 4 secondary: {e}");
        refused(vpc(blocks(5)).await, 400, "TOO_MANY_CIDR_BLOCKS", "5 blocks");
        let many: Vec<String> = (0..10_000)
            .map(|i| format!("172.{}.{}.0/24", 16 + i / 256 % 16, i % 256))
            .collect();
        refused(vpc(many).await, 400, "TOO_MANY_CIDR_BLOCKS", "10000 blocks");
        refused(
            vpc(vec!["10.50.128.0/17".into()]).await,
            400,
            "CIDR_OVERLAP",
            "10.50.128.0/17",
        );
        refused(
            vpc(vec!["192.168.0.0/30".into()]).await,
            400,
            "INVALID_CIDR",
            "192.168.0.0/30",
        );
    }
}

#[tokio::test]
async fn gateway_route_targets_must_exist_in_the_tables_vpc() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let v = a.vpc("v", "10.0.0.0/16").await;
        let w = a.vpc("w", "10.1.0.0/16").await;
        let rtb = v["main_route_table_id"].as_str().unwrap();
        let routes = format!("/v1/route-tables/{rtb}/routes");
        let route = |target: String| {
            a.call(
                "POST",
                &routes,
                Some(json!({"destination_cidr": "0.0.0.0/0", "target": target})),
            )
        };
        refused(
            route(format!("igw_{}", "a".repeat(100_000))).await,
            400,
            "INVALID_ROUTE_TARGET",
            "100004 characters",
        );
        refused(
            route("nat_\u{0}\u{1b}[31m".into()).await,
            400,
            "INVALID_ROUTE_TARGET",
            "nat_\\0\\u{1b}[31m",
        );
        refused(
            route("igw_0123456789abcdef".into()).await,
            404,
            "NOT_FOUND",
            "igw_0123456789abcdef",
        );
        // A gateway of another VPC, or of another account, is not one of this table's.
        let (st, gw_w) = a
            .call(
                "POST",
                "/v1/gateways",
                Some(json!({"vpc_id": w["id"], "kind": "internet"})),
            )
            .await;
        assert_eq!(st, 201, "{gw_w}");
        let gw_w = gw_w["id"].as_str().unwrap().to_string();
        assert!(gw_w.starts_with("igw_"), "{gw_w}");
        refused(route(gw_w.clone()).await, 404, "NOT_FOUND", &gw_w);
        let x = b.vpc("x", "10.2.0.0/16").await;
        let (_, gw_b) = b
            .call(
                "POST",
                "/v1/gateways",
                Some(json!({"vpc_id": x["id"], "kind": "nat"})),
            )
            .await;
        let gw_b = gw_b["id"].as_str().unwrap().to_string();
        assert!(gw_b.starts_with("nat_"), "{gw_b}");
        refused(route(gw_b.clone()).await, 404, "NOT_FOUND", &gw_b);
        // A gateway of the VPC: an active route; the gateway cannot go while the route uses it.
        let (st, gw) = a
            .call(
                "POST",
                "/v1/gateways",
                Some(json!({"vpc_id": v["id"], "kind": "internet", "name": "edge"})),
            )
            .await;
        assert_eq!(st, 201, "{gw}");
        let gw = gw["id"].as_str().unwrap().to_string();
        let (st, table) = route(gw.clone()).await;
        assert_eq!(st, 201, "{table}");
        assert!(table["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["target"] == gw.as_str() && r["state"] == "active"));
        let (st, e) = a.call("DELETE", &format!("/v1/gateways/{gw}"), None).await;
        assert_eq!((st, e["error"]["code"].as_str()), (409, Some("GATEWAY_IN_USE")));
        let (st, e) = a
            .call(
                "POST",
                "/v1/gateways",
                Some(json!({"vpc_id": v["id"], "kind": "wormhole"})),
            )
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (400, Some("INVALID_KIND")),
            "{e}"
        );
        let (st, list) = a
            .call(
                "GET",
                &format!("/v1/gateways?vpc_id={}", v["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(st, 200);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        // B sees none of A's gateways.
        let (st, _) = b.call("GET", &format!("/v1/gateways/{gw}"), None).await;
        assert_eq!(st, 404);
        // Deleting the VPC takes its gateways along.
        let (st, _) = a
            .call("DELETE", &format!("/v1/vpcs/{}", w["id"].as_str().unwrap()), None)
            .await;
        assert_eq!(st, 204);
        let (st, _) = a.call("GET", &format!("/v1/gateways/{gw_w}"), None).await;
        assert_eq!(st, 404);
    }
}

#[tokio::test]
async fn no_error_echoes_a_huge_value() {
    let s = start("sqlite").await;
    let a = Api::new_account(&s, "A").await;
    let v = a.vpc("v", "10.0.0.0/16").await;
    let sg = v["default_security_group_id"].as_str().unwrap();
    let huge = "x".repeat(200_000);
    let got = a
        .call(
            "POST",
            &format!("/v1/security-groups/{sg}/rules"),
            Some(json!({"direction": "ingress", "protocol": huge, "cidr": "10.0.0.0/8"})),
        )
        .await;
    refused(got, 400, "INVALID_PROTOCOL", "protocol: ");
    let got = a
        .call(
            "POST",
            "/v1/vpcs",
            Some(json!({"name": "x", "region": "us-east-1", "cidr_block": "10.1.0.0/16", huge.as_str(): 1})),
        )
        .await;
    refused(got, 400, "INVALID_BODY", "unknown field");
    let got = a
        .call(
            "POST",
            "/v1/endpoints",
            Some(json!({"subnet_id": huge, "name": "e"})),
        )
        .await;
    refused(got, 404, "NOT_FOUND", "subnet");
}

#[tokio::test]
async fn a_cursor_that_is_not_one_is_400() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        for i in 0..3 {
            a.vpc(&format!("v{i}"), &format!("10.{i}.0.0/16")).await;
        }
        for list in [
            "/v1/vpcs",
            "/v1/subnets",
            "/v1/route-tables",
            "/v1/security-groups",
            "/v1/network-acls",
            "/v1/endpoints",
            "/v1/gateways",
            "/v1/vpc-peering",
        ] {
            let got = a.call("GET", &format!("{list}?cursor=garbage"), None).await;
            refused(got, 400, "INVALID_CURSOR", "\"garbage\"");
        }
        // Real cursors still page.
        let (st, page) = a.call("GET", "/v1/vpcs?limit=2", None).await;
        assert_eq!(st, 200);
        let next = page["next_cursor"].as_str().unwrap();
        let (st, rest) = a
            .call("GET", &format!("/v1/vpcs?limit=2&cursor={next}"), None)
            .await;
        assert_eq!(st, 200, "{rest}");
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_naming_its_type() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let http = reqwest::Client::new();
        let body = r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#;
        let send = |content_type: Option<&'static str>, method: reqwest::Method, path: String| {
            let mut req = http
                .request(method, format!("{}{path}", a.base))
                .bearer_auth(&a.key)
                .body(body);
            if let Some(t) = content_type {
                req = req.header("Content-Type", t);
            }
            req.send()
        };
        for (content_type, needle) in [
            (Some("text/plain"), "text/plain"),
            (
                Some("application/x-www-form-urlencoded"),
                "application/x-www-form-urlencoded",
            ),
            (Some("application/jsonx"), "application/jsonx"),
            (None, "no Content-Type"),
        ] {
            let res = send(content_type, reqwest::Method::POST, "/v1/vpcs".into())
                .await
                .unwrap();
            let status = res.status().as_u16();
            let e: Value = res.json().await.unwrap();
            refused((status, e), 415, "UNSUPPORTED_MEDIA_TYPE", needle);
        }
        let res = send(
            Some("application/json; charset=utf-8"),
            reqwest::Method::POST,
            "/v1/vpcs".into(),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        let res = send(
            Some("text/plain"),
            reqwest::Method::PATCH,
            format!("/v1/vpcs/{}", v["id"].as_str().unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 415);
        // Without a valid API key it is still 401 first.
        let res = http
            .post(format!("{}/v1/vpcs", a.base))
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn the_openapi_document_lists_415_422_and_the_gateways() {
    let s = start("sqlite").await;
    let doc: Value = reqwest::get(format!("{}/v1/openapi.json", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let create = &doc["paths"]["/v1/vpcs"]["post"]["responses"];
    assert!(create.get("415").is_some(), "{create}");
    assert!(create.get("422").is_some(), "{create}");
    let update = &doc["paths"]["/v1/vpcs/{id}"]["patch"]["responses"];
    assert!(update.get("415").is_some(), "{update}");
    for (path, method) in [
        ("/v1/gateways", "post"),
        ("/v1/gateways", "get"),
        ("/v1/gateways/{id}", "get"),
        ("/v1/gateways/{id}", "delete"),
    ] {
        assert!(doc["paths"][path].get(method).is_some(), "{method} {path}");
    }
}
