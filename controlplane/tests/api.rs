//! The control plane over real HTTP: the peering lifecycle and its rules (seed first, AWS where silent), routes,
//! visibility, idempotency and limits — on SQLite, and on PostgreSQL when the test script provides one.

mod common;

use common::{backends, start, start_with, Api};
use controlplane::store::Limits;
use serde_json::{json, Value};

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn cross_account_lifecycle_and_route_states() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let va = a.vpc("VPC A", "10.0.0.0/16").await;
        let vb = b.vpc("VPC B", "172.16.0.0/16").await;
        let (st, p) = a
            .call("POST", "/v1/vpc-peering", Some(json!({"requester_vpc_id": va["id"], "accepter_vpc_id": vb["id"], "accepter_account_id": b.account})))
            .await;
        assert_eq!(st, 201, "{backend}: {p}");
        assert_eq!(p["status"], "pending");
        assert!(p["id"].as_str().unwrap().starts_with("pcx_"));
        let pid = p["id"].as_str().unwrap();
        // A route to a pending peering is a blackhole.
        let rtb = va["main_route_table_id"].as_str().unwrap();
        let (st, rt) = a
            .call(
                "POST",
                &format!("/v1/route-tables/{rtb}/routes"),
                Some(json!({"destination_cidr": "172.16.0.0/16", "target": pid})),
            )
            .await;
        assert_eq!(st, 201, "{rt}");
        assert_eq!(rt["routes"][1]["state"], "blackhole");
        // Only the accepter accepts.
        let (st, e) = a
            .call("POST", &format!("/v1/vpc-peering/{pid}/accept"), None)
            .await;
        assert_eq!((st, code(&e)), (403, "FORBIDDEN"), "{backend}");
        let (st, p) = b
            .call("POST", &format!("/v1/vpc-peering/{pid}/accept"), None)
            .await;
        assert_eq!((st, p["status"].as_str()), (200, Some("active")), "{p}");
        assert_eq!(
            p["requester_cidr_blocks"],
            json!(["10.0.0.0/16"]),
            "the accepter sees the peer's blocks"
        );
        let (_, rt) = a.call("GET", &format!("/v1/route-tables/{rtb}"), None).await;
        assert_eq!(rt["routes"][1]["state"], "active");
        // Accept again: not pending.
        let (st, e) = b
            .call("POST", &format!("/v1/vpc-peering/{pid}/accept"), None)
            .await;
        assert_eq!((st, code(&e)), (409, "PEERING_NOT_PENDING"));
        // Either owner deletes an active one; its routes become blackholes.
        let (st, p) = b.call("DELETE", &format!("/v1/vpc-peering/{pid}"), None).await;
        assert_eq!((st, p["status"].as_str()), (200, Some("deleted")));
        let (_, rt) = a.call("GET", &format!("/v1/route-tables/{rtb}"), None).await;
        assert_eq!(rt["routes"][1]["state"], "blackhole");
    }
}

#[tokio::test]
async fn auto_accept_only_within_one_account() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let va = a.vpc("A1", "10.0.0.0/16").await;
        let va2 = a.vpc("A2", "10.1.0.0/16").await;
        let vb = b.vpc("B", "172.16.0.0/16").await;
        let (st, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(
                    json!({"requester_vpc_id": va["id"], "accepter_vpc_id": va2["id"], "auto_accept": true}),
                ),
            )
            .await;
        assert_eq!((st, p["status"].as_str()), (201, Some("active")), "{p}");
        let (st, e) = a
            .call("POST", "/v1/vpc-peering", Some(json!({"requester_vpc_id": va["id"], "accepter_vpc_id": vb["id"], "accepter_account_id": b.account, "auto_accept": true})))
            .await;
        assert_eq!((st, code(&e)), (400, "AUTO_ACCEPT_CROSS_ACCOUNT"), "{e}");
    }
}

#[tokio::test]
async fn overlapping_blocks_fail_with_the_reason_and_the_seed_example_does_not() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let x = a.vpc("X", "10.0.0.0/16").await;
        let y = a.vpc("Y", "10.0.0.0/16").await;
        let (st, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": x["id"], "accepter_vpc_id": y["id"], "auto_accept": true})),
            )
            .await;
        assert_eq!((st, p["status"].as_str()), (201, Some("failed")));
        assert!(p["status_message"].as_str().unwrap().contains("overlap"), "{p}");
        // Secondary blocks count.
        let (_, z) = a.call("POST", "/v1/vpcs", Some(json!({"name": "Z", "region": "us-east-1", "cidr_block": "172.20.0.0/16", "secondary_cidr_blocks": ["10.0.128.0/17"]}))).await;
        let (_, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": x["id"], "accepter_vpc_id": z["id"]})),
            )
            .await;
        assert_eq!(p["status"], "failed");
        // The seed's "invalid example" does not actually overlap.
        let w = a.vpc("W", "10.1.0.0/16").await;
        let (_, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": x["id"], "accepter_vpc_id": w["id"]})),
            )
            .await;
        assert_eq!(p["status"], "pending");
    }
}

#[tokio::test]
async fn a_stored_block_that_does_not_parse_refuses_the_request() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let x = a.vpc("X", "10.0.0.0/16").await;
        let y = a.vpc("Y", "10.0.0.0/16").await;
        // Damage Y's stored block: skipping it would let the overlapping peering through as pending.
        controlplane::store::db::query("UPDATE vpcs SET cidr_block = 'not-a-block' WHERE id = $1")
            .bind(y["id"].as_str().unwrap())
            .execute(s.store.pool())
            .await
            .unwrap();
        // Asked of the store itself: the HTTP answer would be a plain 500 INTERNAL (the detail goes to the log).
        let req: controlplane::wire::CreatePeering =
            serde_json::from_value(json!({"requester_vpc_id": x["id"], "accepter_vpc_id": y["id"]})).unwrap();
        match s.store.create_peering(&a.account, &req).await {
            Err(controlplane::error::ApiError::Corrupt(detail)) => {
                assert!(detail.contains("\"not-a-block\""), "{detail}")
            }
            other => panic!("expected the damaged block to be reported, got {other:?}"),
        }
        let (_, list) = a.call("GET", "/v1/vpc-peering", None).await;
        assert_eq!(list["items"], json!([]), "nothing was stored: {list}");
    }
}

#[tokio::test]
async fn one_live_peering_per_pair() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let x = a.vpc("X", "10.0.0.0/16").await;
        let y = a.vpc("Y", "10.1.0.0/16").await;
        let body = json!({"requester_vpc_id": x["id"], "accepter_vpc_id": y["id"]});
        let (_, p) = a.call("POST", "/v1/vpc-peering", Some(body.clone())).await;
        let reverse = json!({"requester_vpc_id": y["id"], "accepter_vpc_id": x["id"]});
        let (st, e) = a.call("POST", "/v1/vpc-peering", Some(reverse)).await;
        assert_eq!((st, code(&e)), (409, "DUPLICATE_PEERING"), "{backend}");
        // Rejected ones free the pair; a rejected one cannot be deleted.
        let (_, r) = a
            .call(
                "POST",
                &format!("/v1/vpc-peering/{}/reject", p["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(r["status"], "rejected");
        let (st, e) = a
            .call(
                "DELETE",
                &format!("/v1/vpc-peering/{}", p["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!((st, code(&e)), (409, "PEERING_NOT_DELETABLE"));
        let (st, _) = a.call("POST", "/v1/vpc-peering", Some(body)).await;
        assert_eq!(st, 201);
    }
}

#[tokio::test]
async fn pending_requests_expire_after_seven_days() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let x = a.vpc("X", "10.0.0.0/16").await;
        let y = b.vpc("Y", "10.1.0.0/16").await;
        let (_, p) = a.call("POST", "/v1/vpc-peering", Some(json!({"requester_vpc_id": x["id"], "accepter_vpc_id": y["id"], "accepter_account_id": b.account}))).await;
        let pid = p["id"].as_str().unwrap().to_string();
        s.clock.advance(7 * 24 * 3600 * 1000 - 60_000);
        let (_, p) = b.call("GET", &format!("/v1/vpc-peering/{pid}"), None).await;
        assert_eq!(p["status"], "pending");
        s.clock.advance(120_000);
        let (st, e) = b
            .call("POST", &format!("/v1/vpc-peering/{pid}/accept"), None)
            .await;
        assert_eq!((st, code(&e)), (409, "PEERING_NOT_PENDING"));
        assert!(e["error"]["message"].as_str().unwrap().contains("expired"));
        let (_, list) = a.call("GET", "/v1/vpc-peering?status=expired", None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn quotas_pending_per_account_and_active_per_vpc() {
    for backend in backends() {
        let s = start_with(
            backend,
            Limits {
                active_per_vpc: 2,
                pending_per_account: 2,
                ..Limits::default()
            },
            100_000.0,
        )
        .await;
        let a = Api::new_account(&s, "A").await;
        let hub = a.vpc("hub", "10.0.0.0/16").await;
        let mut spokes = Vec::new();
        for i in 1..=4 {
            spokes.push(a.vpc(&format!("s{i}"), &format!("10.{i}.0.0/16")).await);
        }
        for s in &spokes[..2] {
            let (st, _) = a
                .call(
                    "POST",
                    "/v1/vpc-peering",
                    Some(json!({"requester_vpc_id": hub["id"], "accepter_vpc_id": s["id"]})),
                )
                .await;
            assert_eq!(st, 201);
        }
        let (st, e) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": hub["id"], "accepter_vpc_id": spokes[2]["id"]})),
            )
            .await;
        assert_eq!((st, code(&e)), (409, "PEERING_QUOTA_EXCEEDED"), "pending quota");
        let (_, pending) = a.call("GET", "/v1/vpc-peering?status=pending", None).await;
        for p in pending["items"].as_array().unwrap() {
            let (st, _) = a
                .call(
                    "POST",
                    &format!("/v1/vpc-peering/{}/accept", p["id"].as_str().unwrap()),
                    None,
                )
                .await;
            assert_eq!(st, 200);
        }
        let (st, e) = a.call("POST", "/v1/vpc-peering", Some(json!({"requester_vpc_id": hub["id"], "accepter_vpc_id": spokes[3]["id"], "auto_accept": true}))).await;
        assert_eq!(
            (st, code(&e)),
            (409, "PEERING_QUOTA_EXCEEDED"),
            "active quota on the hub"
        );
    }
}

#[tokio::test]
async fn routes_must_target_a_peering_of_their_vpc() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let x = a.vpc("X", "10.0.0.0/16").await;
        let y = a.vpc("Y", "10.1.0.0/16").await;
        let z = a.vpc("Z", "10.2.0.0/16").await;
        let (_, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": x["id"], "accepter_vpc_id": y["id"], "auto_accept": true})),
            )
            .await;
        let rtz = z["main_route_table_id"].as_str().unwrap();
        let (st, e) = a
            .call(
                "POST",
                &format!("/v1/route-tables/{rtz}/routes"),
                Some(json!({"destination_cidr": "10.0.0.0/16", "target": p["id"]})),
            )
            .await;
        assert_eq!((st, code(&e)), (400, "INVALID_ROUTE_TARGET"));
        let rtx = x["main_route_table_id"].as_str().unwrap();
        let (st, e) = a
            .call(
                "POST",
                &format!("/v1/route-tables/{rtx}/routes"),
                Some(json!({"destination_cidr": "10.1.0.0/33", "target": p["id"]})),
            )
            .await;
        assert_eq!((st, code(&e)), (400, "INVALID_CIDR"));
        assert!(e["error"]["message"].as_str().unwrap().contains("10.1.0.0/33"));
        let (st, _) = a
            .call(
                "POST",
                &format!("/v1/route-tables/{rtx}/routes"),
                Some(json!({"destination_cidr": "10.1.0.0/16", "target": p["id"]})),
            )
            .await;
        assert_eq!(st, 201);
        let (st, e) = a
            .call(
                "POST",
                &format!("/v1/route-tables/{rtx}/routes"),
                Some(json!({"destination_cidr": "10.1.0.0/16", "target": p["id"]})),
            )
            .await;
        assert_eq!((st, code(&e)), (409, "ROUTE_EXISTS"));
        let (st, rt) = a
            .call(
                "DELETE",
                &format!("/v1/route-tables/{rtx}/routes?destination_cidr=10.1.0.0/16"),
                None,
            )
            .await;
        assert_eq!(st, 200);
        assert_eq!(rt["routes"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn idempotency_key_replays_and_refuses_other_bodies() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let http = reqwest::Client::new();
        let post = |body: Value| {
            http.post(format!("{}/v1/vpcs", a.base))
                .bearer_auth(&a.key)
                .header("Idempotency-Key", "k-1")
                .json(&body)
                .send()
        };
        let body = json!({"name": "X", "region": "us-east-1", "cidr_block": "10.0.0.0/16"});
        let first: Value = post(body.clone()).await.unwrap().json().await.unwrap();
        let again = post(body).await.unwrap();
        assert_eq!(again.status(), 201);
        let again: Value = again.json().await.unwrap();
        assert_eq!(first["id"], again["id"], "same key and body → the first response");
        let (_, list) = a.call("GET", "/v1/vpcs", None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let other = post(json!({"name": "Y", "region": "us-east-1", "cidr_block": "10.1.0.0/16"}))
            .await
            .unwrap();
        assert_eq!(other.status(), 422);
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_400_and_big_bodies_413() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        for (body, needle) in [
            (
                json!({"name": "x", "region": "r", "cidr_block": "10.0.0.0/33"}),
                "10.0.0.0/33",
            ),
            (
                json!({"name": "x", "region": "r", "cidr_block": "10.0.0.0/16", "id": "vpc_mine"}),
                "unknown field `id`",
            ),
            (
                json!({"name": "x", "region": "r", "cidr_block": "10.0.0.0/16", "account_id": "other"}),
                "account_id",
            ),
            (json!({"name": "x", "region": "r"}), "cidr_block"),
        ] {
            let (st, e) = a.call("POST", "/v1/vpcs", Some(body)).await;
            assert_eq!(st, 400, "{e}");
            assert!(e["error"]["message"].as_str().unwrap().contains(needle), "{e}");
        }
        let (_, x) = a.call("GET", "/v1/vpcs", None).await;
        assert_eq!(x["items"], json!([]), "nothing was stored");
        let big = "x".repeat(1024 * 1024 + 10);
        let res = reqwest::Client::new()
            .post(format!("{}/v1/vpcs", a.base))
            .bearer_auth(&a.key)
            .header("content-type", "application/json")
            .body(format!("{{\"name\":\"{big}\"}}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        let (st, e) = a.call("GET", "/v1/vpcs?limit=5000", None).await;
        assert_eq!((st, code(&e)), (400, "INVALID_LIMIT"));
    }
}

#[tokio::test]
async fn pages_walk_every_item_once() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        for i in 0..7 {
            a.vpc(&format!("v{i}"), &format!("10.{i}.0.0/16")).await;
        }
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let (_, page) = a
                .call("GET", &format!("/v1/vpcs?limit=3&cursor={cursor}"), None)
                .await;
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["id"].as_str().unwrap().to_string()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 7);
    }
}

#[tokio::test]
async fn rate_limit_answers_429() {
    for backend in backends() {
        let s = start_with(backend, Limits::default(), 5.0).await;
        let a = Api::new_account(&s, "A").await;
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(a.call("GET", "/v1/vpcs", None).await.0);
        }
        assert!(statuses.contains(&429), "{backend}: {statuses:?}");
        assert_eq!(statuses[0], 200, "{backend}");
    }
}

/// A VPC with a pending or active peering is not deleted (409, nothing removed); once the peering is deleted,
/// the VPC goes, and its ended peerings with it.
#[tokio::test]
async fn a_vpc_with_a_live_peering_is_kept() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let va = a.vpc("VPC A", "10.0.0.0/16").await;
        let vb = a.vpc("VPC B", "10.1.0.0/16").await;
        let vid = va["id"].as_str().unwrap();
        let (st, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": va["id"], "accepter_vpc_id": vb["id"]})),
            )
            .await;
        assert_eq!(
            (st, p["status"].as_str()),
            (201, Some("pending")),
            "{backend}: {p}"
        );
        let pid = p["id"].as_str().unwrap();
        let (st, e) = a.call("DELETE", &format!("/v1/vpcs/{vid}"), None).await;
        assert_eq!((st, code(&e)), (409, "VPC_HAS_PEERINGS"), "{backend}: {e}");
        assert_eq!(
            e["error"]["message"],
            format!("VPC \"{vid}\" has 1 pending or active peering connections; delete them first")
        );
        let rtb = va["main_route_table_id"].as_str().unwrap();
        for path in [format!("/v1/vpcs/{vid}"), format!("/v1/route-tables/{rtb}")] {
            let (st, _) = a.call("GET", &path, None).await;
            assert_eq!(st, 200, "{backend}: {path} after the refused delete");
        }
        let (st, p) = a.call("DELETE", &format!("/v1/vpc-peering/{pid}"), None).await;
        assert_eq!(
            (st, p["status"].as_str()),
            (200, Some("deleted")),
            "{backend}: {p}"
        );
        let (st, _) = a.call("DELETE", &format!("/v1/vpcs/{vid}"), None).await;
        assert_eq!(st, 204, "{backend}");
        for path in [
            format!("/v1/vpcs/{vid}"),
            format!("/v1/route-tables/{rtb}"),
            format!("/v1/vpc-peering/{pid}"),
        ] {
            let (st, _) = a.call("GET", &path, None).await;
            assert_eq!(st, 404, "{backend}: {path} after the delete");
        }
    }
}

/// Every `/v1` answer — a success, a refusal, an unknown path — says how long the server spent on it
/// (`Server-Timing: app;dur=<ms>`, read by `scripts/bench-control-plane.py`).
#[tokio::test]
async fn every_v1_answer_carries_its_server_time() {
    let server = start("sqlite").await;
    let a = Api::new_account(&server, "timed").await;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/v1/vpcs", a.base))
        .bearer_auth(&a.key)
        .json(&json!({"name": "t", "region": "us-east-1", "cidr_block": "10.0.0.0/16"}))
        .send()
        .await
        .unwrap();
    let missing_key = http.get(format!("{}/v1/vpcs", a.base)).send().await.unwrap();
    let unknown = http
        .get(format!("{}/v1/nothing-here", a.base))
        .bearer_auth(&a.key)
        .send()
        .await
        .unwrap();
    for (what, res, status) in [
        ("a create", created, 201),
        ("a missing key", missing_key, 401),
        ("an unknown path", unknown, 404),
    ] {
        assert_eq!(res.status().as_u16(), status, "{what}");
        let timing = res
            .headers()
            .get("server-timing")
            .unwrap_or_else(|| panic!("{what}: no Server-Timing header"))
            .to_str()
            .unwrap();
        let ms: f64 = timing
            .strip_prefix("app;dur=")
            .unwrap_or_else(|| panic!("{what}: {timing:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("{what}: {timing:?}: {e}"));
        assert!((0.0..30_000.0).contains(&ms), "{what}: {timing:?}");
    }
}
