//! `Idempotency-Key` under concurrency and across paths (issue 11, items 4 and 5): concurrent retries create
//! one object and all answer with it; a key belongs to one method, path and body (compared as parsed JSON); a
//! failed request releases its key; an abandoned claim is taken over. On SQLite, and on PostgreSQL when the
//! test script provides one.

mod common;

use std::time::{Duration, Instant};

use common::{backends, start, Api};
use serde_json::{json, Value};

/// POSTs `body` (raw text) with a key; returns status, the JSON answer and whether it was replayed.
async fn post(a: &Api, path: &str, key: &str, body: &str) -> (u16, Value, bool) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", a.base))
        .bearer_auth(&a.key)
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        replayed,
    )
}

async fn count(a: &Api, path: &str) -> usize {
    let (st, v) = a.call("GET", path, None).await;
    assert_eq!(st, 200, "{v}");
    v["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_vpc() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        // Several rounds of 8 simultaneous requests, each round with its own key and block.
        for round in 0..6 {
            let key = format!("create-vpc-{round}");
            let body = json!({"name": format!("v{round}"), "region": "us-east-1", "cidr_block": format!("10.{round}.0.0/16")})
                .to_string();
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (a, key, body, barrier) = (a.clone(), key.clone(), body.clone(), barrier.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        post(&a, "/v1/vpcs", &key, &body).await
                    })
                })
                .collect();
            let mut ids = Vec::new();
            for t in tasks {
                let (st, v, _) = t.await.unwrap();
                assert_eq!(st, 201, "{backend}: {v}");
                ids.push(v["id"].as_str().unwrap().to_string());
            }
            ids.dedup();
            assert_eq!(ids.len(), 1, "{backend}: one id for all 8 answers: {ids:?}");
        }
        assert_eq!(count(&a, "/v1/vpcs").await, 6, "{backend}: one VPC per key");
    }
}

#[tokio::test]
async fn a_key_is_tied_to_its_method_and_path() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("v", "10.0.0.0/16").await;
        let body = json!({"vpc_id": v["id"]}).to_string();
        let (st, rt, _) = post(&a, "/v1/route-tables", "k-tables", &body).await;
        assert_eq!(st, 201, "{rt}");
        let acls_before = count(&a, "/v1/network-acls").await;
        // The same key and body on another path: refused, and no ACL is created.
        let (st, e, _) = post(&a, "/v1/network-acls", "k-tables", &body).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (422, Some("IDEMPOTENCY_KEY_REUSED")),
            "{backend}: {e}"
        );
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("POST /v1/route-tables") && msg.contains("/v1/network-acls"),
            "{msg}"
        );
        assert_eq!(count(&a, "/v1/network-acls").await, acls_before);

        // A key used to accept cannot reject.
        let w = a.vpc("w", "10.1.0.0/16").await;
        let (st, p) = a
            .call(
                "POST",
                "/v1/vpc-peering",
                Some(json!({"requester_vpc_id": v["id"], "accepter_vpc_id": w["id"]})),
            )
            .await;
        assert_eq!(st, 201, "{p}");
        let pcx = p["id"].as_str().unwrap();
        let (st, acc, _) = post(&a, &format!("/v1/vpc-peering/{pcx}/accept"), "k-decide", "").await;
        assert_eq!((st, acc["status"].as_str()), (200, Some("active")), "{acc}");
        let (st, again, replayed) = post(&a, &format!("/v1/vpc-peering/{pcx}/accept"), "k-decide", "").await;
        assert_eq!(
            (st, again["status"].as_str(), replayed),
            (200, Some("active"), true)
        );
        let (st, e, _) = post(&a, &format!("/v1/vpc-peering/{pcx}/reject"), "k-decide", "").await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (422, Some("IDEMPOTENCY_KEY_REUSED")),
            "{backend}: {e}"
        );
        // A key is also tied to the object in the path.
        let (st, e, _) = post(&a, "/v1/vpc-peering/pcx_0000000000000000/accept", "k-decide", "").await;
        assert_eq!(st, 422, "{e}");
        let (_, p) = a.call("GET", &format!("/v1/vpc-peering/{pcx}"), None).await;
        assert_eq!(p["status"], "active");
    }
}

#[tokio::test]
async fn bodies_are_compared_as_parsed_json() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let (st, first, replayed) = post(
            &a,
            "/v1/vpcs",
            "k-json",
            r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#,
        )
        .await;
        assert_eq!((st, replayed), (201, false), "{first}");
        // Other key order and white space: the same request.
        let (st, again, replayed) = post(
            &a,
            "/v1/vpcs",
            "k-json",
            "{\n  \"cidr_block\" : \"10.0.0.0/16\",\n  \"name\": \"x\",  \"region\":\"us-east-1\"\n}\n",
        )
        .await;
        assert_eq!((st, replayed), (201, true), "{backend}: {again}");
        assert_eq!(first["id"], again["id"]);
        // Another value: another request.
        let (st, e, _) = post(
            &a,
            "/v1/vpcs",
            "k-json",
            r#"{"name":"y","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#,
        )
        .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (422, Some("IDEMPOTENCY_KEY_REUSED")),
            "{e}"
        );
        assert!(e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("different request body"));
        assert_eq!(count(&a, "/v1/vpcs").await, 1);
    }
}

#[tokio::test]
async fn a_failed_request_releases_its_key() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let (st, e, _) = post(
            &a,
            "/v1/vpcs",
            "k-retry",
            r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/33"}"#,
        )
        .await;
        assert_eq!(st, 400, "{e}");
        // The same failing request runs again (and fails again), it is not stuck on the first answer…
        let (st, _, replayed) = post(
            &a,
            "/v1/vpcs",
            "k-retry",
            r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/33"}"#,
        )
        .await;
        assert_eq!((st, replayed), (400, false));
        // …and the corrected request with the same key creates the VPC, once.
        let good = r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#;
        let (st, v, _) = post(&a, "/v1/vpcs", "k-retry", good).await;
        assert_eq!(st, 201, "{backend}: {v}");
        let (st, again, replayed) = post(&a, "/v1/vpcs", "k-retry", good).await;
        assert_eq!((st, replayed), (201, true));
        assert_eq!(v["id"], again["id"]);
        // A 409 (a duplicate peering) releases its key too.
        let w = a.vpc("w", "10.1.0.0/16").await;
        let peering = json!({"requester_vpc_id": v["id"], "accepter_vpc_id": w["id"]}).to_string();
        let (st, _, _) = post(&a, "/v1/vpc-peering", "k-p1", &peering).await;
        assert_eq!(st, 201);
        let (st, e, _) = post(&a, "/v1/vpc-peering", "k-p2", &peering).await;
        assert_eq!(st, 409, "{e}");
        let (_, list) = a.call("GET", "/v1/vpc-peering", None).await;
        let pcx = list["items"][0]["id"].as_str().unwrap().to_string();
        let (st, _) = a.call("DELETE", &format!("/v1/vpc-peering/{pcx}"), None).await;
        assert_eq!(st, 200);
        let (st, p, replayed) = post(&a, "/v1/vpc-peering", "k-p2", &peering).await;
        assert_eq!((st, replayed), (201, false), "{p}");
    }
}

#[tokio::test]
async fn a_claim_still_processing_is_409_and_an_abandoned_one_is_taken_over() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let body = r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#;
        // A claim as a request leaves it while it runs (its process may be busy, or dead).
        let hash = controlplane::idempotency::body_hash(body.as_bytes());
        let now = s.store.clock.now_ms();
        controlplane::store::db::query(
            "INSERT INTO idempotency (account_id, idem_key, method, path, request_hash, state, claim, status, body, \
             created_at, updated_at) VALUES ($1, 'k-busy', 'POST', '/v1/vpcs', $2, 'processing', 'claim_x', 0, '', $3, $3)",
        )
        .bind(&a.account)
        .bind(&hash)
        .bind(now)
        .execute(s.store.pool())
        .await
        .unwrap();
        let started = Instant::now();
        let (st, e, _) = post(&a, "/v1/vpcs", "k-busy", body).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("IDEMPOTENCY_KEY_IN_PROGRESS")),
            "{backend}: {e}"
        );
        assert!(started.elapsed() >= Duration::from_secs(5), "it waited first");
        assert_eq!(count(&a, "/v1/vpcs").await, 0, "nothing created twice");
        // Much later the claim counts as abandoned (its process died): the next retry runs it.
        s.clock.advance(controlplane::idempotency::STALE_MS + 1_000);
        let (st, v, _) = post(&a, "/v1/vpcs", "k-busy", body).await;
        assert_eq!(st, 201, "{backend}: {v}");
        let (st, again, replayed) = post(&a, "/v1/vpcs", "k-busy", body).await;
        assert_eq!((st, replayed, &again["id"]), (201, true, &v["id"]));
        assert_eq!(count(&a, "/v1/vpcs").await, 1);
    }
}

#[tokio::test]
async fn keys_are_per_account_and_need_a_valid_api_key() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let body = r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#;
        let (st, va, _) = post(&a, "/v1/vpcs", "shared", body).await;
        assert_eq!(st, 201);
        let (st, vb, replayed) = post(&b, "/v1/vpcs", "shared", body).await;
        assert_eq!((st, replayed), (201, false), "{vb}");
        assert_ne!(va["id"], vb["id"]);
        assert_eq!(vb["account_id"].as_str(), Some(b.account.as_str()));
        // No valid API key: 401, whatever the key.
        let res = reqwest::Client::new()
            .post(format!("{}/v1/vpcs", a.base))
            .bearer_auth("ppk_wrong")
            .header("Idempotency-Key", "shared")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        // A key that is too long is a 400 naming the header.
        let (st, e, _) = post(&a, "/v1/vpcs", &"k".repeat(256), body).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (400, Some("INVALID_IDEMPOTENCY_KEY"))
        );
    }
}

/// Replays and refused reuses of a key count against the account's rate like any request (they used to skip the
/// limiter, so any account could make unlimited write transactions on a shared control plane).
#[tokio::test]
async fn requests_with_a_key_are_rate_limited_too() {
    for backend in backends() {
        let s = common::start_with(backend, controlplane::store::Limits::default(), 2.0).await;
        let a = Api::new_account(&s, "A").await;
        let body = r#"{"name":"limited","cidr_block":"10.0.0.0/16","region":"us-east-1"}"#;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(post(&a, "/v1/vpcs", "k-rate", body).await.0);
        }
        assert_eq!(statuses[0], 201, "{backend}: {statuses:?}");
        assert!(
            statuses.contains(&429),
            "{backend}: replays skip the limit: {statuses:?}"
        );
        let mut reused = Vec::new();
        for _ in 0..20 {
            reused.push(post(&a, "/v1/subnets", "k-rate", "{}").await.0);
        }
        assert!(
            reused.contains(&429),
            "{backend}: refused reuses skip the limit: {reused:?}"
        );
        // The first request was charged once, not twice: with a burst of 4, four plain requests pass after a wait.
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let mut fresh = Vec::new();
        for _ in 0..4 {
            fresh.push(a.call("GET", "/v1/vpcs", None).await.0);
        }
        assert_eq!(fresh, vec![200, 200, 200, 200], "{backend}");
    }
}
