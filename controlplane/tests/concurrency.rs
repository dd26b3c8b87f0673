//! Quotas and uniqueness rules under parallel requests (issue 11): many simultaneous creates in one parent
//! never exceed its quota (routes per table, rules per group and direction, entries per ACL and direction,
//! active peerings per VPC, pending requests per account), one live peering per VPC pair, subnets of one VPC
//! never overlap. On SQLite, and on PostgreSQL (where the checks would race under READ COMMITTED without the
//! row locks of `Store::lock_rows`).

mod common;

use std::sync::Arc;

use common::{backends, start, start_with, Api};
use controlplane::store::Limits;
use serde_json::{json, Value};

/// Sends all requests at once (released together by a barrier); returns the statuses and answers.
async fn all_at_once(a: &Api, requests: Vec<(String, Value)>) -> Vec<(u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(path, body)| {
            let (a, barrier) = (a.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                a.call("POST", &path, Some(body)).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// How many answers had each status; every refusal must carry `code`.
fn tally(answers: &[(u16, Value)], code: &str) -> (usize, usize) {
    let mut ok = 0;
    let mut refused = 0;
    for (st, v) in answers {
        match st {
            200 | 201 => ok += 1,
            409 => {
                assert_eq!(v["error"]["code"], code, "{v}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    (ok, refused)
}

#[tokio::test]
async fn parallel_routes_never_exceed_the_table_quota() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("v", "10.0.0.0/16").await;
        let (_, gw) = a
            .call(
                "POST",
                "/v1/gateways",
                Some(json!({"vpc_id": v["id"], "kind": "nat"})),
            )
            .await;
        let rtb = v["main_route_table_id"].as_str().unwrap();
        let requests = (0..80)
            .map(|i| {
                (
                    format!("/v1/route-tables/{rtb}/routes"),
                    json!({"destination_cidr": format!("172.16.{i}.0/24"), "target": gw["id"]}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "ROUTE_QUOTA_EXCEEDED"), (50, 30), "{backend}");
        let (_, table) = a.call("GET", &format!("/v1/route-tables/{rtb}"), None).await;
        let routes = table["routes"].as_array().unwrap();
        assert_eq!(
            routes.iter().filter(|r| r["target"] != "local").count(),
            50,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn parallel_rules_and_entries_never_exceed_their_quotas() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("v", "10.0.0.0/16").await;
        let (_, sg) = a
            .call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": v["id"], "name": "web"})),
            )
            .await;
        let sg = sg["id"].as_str().unwrap();
        let requests = (0..90)
            .map(|i| {
                (
                    format!("/v1/security-groups/{sg}/rules"),
                    json!({"direction": "ingress", "protocol": "tcp", "from_port": 1000 + i, "cidr": "10.0.0.0/16"}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "RULE_QUOTA_EXCEEDED"), (60, 30), "{backend}");
        let (_, group) = a.call("GET", &format!("/v1/security-groups/{sg}"), None).await;
        assert_eq!(group["ingress"].as_array().unwrap().len(), 60, "{backend}");

        let (_, acl) = a
            .call("POST", "/v1/network-acls", Some(json!({"vpc_id": v["id"]})))
            .await;
        let acl = acl["id"].as_str().unwrap();
        let requests = (0..40)
            .map(|i| {
                (
                    format!("/v1/network-acls/{acl}/entries"),
                    json!({"rule_number": 100 + i, "direction": "egress", "protocol": "all", "cidr_block": "0.0.0.0/0", "rule_action": "allow"}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "ACL_ENTRY_QUOTA_EXCEEDED"), (20, 20), "{backend}");
        let (_, acl) = a.call("GET", &format!("/v1/network-acls/{acl}"), None).await;
        assert_eq!(acl["entries"].as_array().unwrap().len(), 20, "{backend}");
    }
}

#[tokio::test]
async fn parallel_peerings_never_exceed_the_peering_quotas() {
    for backend in backends() {
        let limits = Limits {
            active_per_vpc: 3,
            pending_per_account: 4,
            ..Limits::default()
        };
        let s = start_with(backend, limits, 100_000.0).await;
        let a = Api::new_account(&s, "A").await;
        let hub = a.vpc("hub", "10.0.0.0/16").await;
        let mut spokes = Vec::new();
        for i in 1..=12 {
            spokes.push(a.vpc(&format!("s{i}"), &format!("10.{i}.0.0/16")).await);
        }
        // Active (auto-accepted) peerings with the hub: at most 3.
        let requests = spokes[..6]
            .iter()
            .map(|sp| {
                (
                    "/v1/vpc-peering".to_string(),
                    json!({"requester_vpc_id": sp["id"], "accepter_vpc_id": hub["id"], "auto_accept": true}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "PEERING_QUOTA_EXCEEDED"), (3, 3), "{backend}");
        // Pending requests of the account: at most 4.
        let target = a.vpc("target", "10.99.0.0/16").await;
        let requests = spokes[6..]
            .iter()
            .map(|sp| {
                (
                    "/v1/vpc-peering".to_string(),
                    json!({"requester_vpc_id": sp["id"], "accepter_vpc_id": target["id"]}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "PEERING_QUOTA_EXCEEDED"), (4, 2), "{backend}");
        // Accepting them all at once: the target VPC takes 3.
        let pending: Vec<String> = answers
            .iter()
            .filter(|(st, _)| *st == 201)
            .map(|(_, p)| p["id"].as_str().unwrap().to_string())
            .collect();
        let requests = pending
            .iter()
            .map(|id| (format!("/v1/vpc-peering/{id}/accept"), Value::Null))
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "PEERING_QUOTA_EXCEEDED"), (3, 1), "{backend}");
        let (_, list) = a
            .call(
                "GET",
                &format!(
                    "/v1/vpc-peering?status=active&vpc_id={}",
                    target["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 3, "{backend}");
    }
}

#[tokio::test]
async fn one_live_peering_per_pair_and_no_overlapping_subnets_under_parallel_requests() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("v", "10.0.0.0/16").await;
        let w = a.vpc("w", "10.1.0.0/16").await;
        // Both directions, some auto-accepted: one of them wins.
        let requests = (0..12)
            .map(|i| {
                let (r, acc) = if i % 2 == 0 { (&v, &w) } else { (&w, &v) };
                (
                    "/v1/vpc-peering".to_string(),
                    json!({"requester_vpc_id": r["id"], "accepter_vpc_id": acc["id"], "auto_accept": i % 3 == 0}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        assert_eq!(tally(&answers, "DUPLICATE_PEERING"), (1, 11), "{backend}");
        // Overlapping subnets of one VPC: one of them wins.
        let requests = (0..10)
            .map(|i| {
                (
                    "/v1/subnets".to_string(),
                    json!({"vpc_id": v["id"], "cidr_block": if i % 2 == 0 { "10.0.0.0/24" } else { "10.0.0.0/23" }}),
                )
            })
            .collect();
        let answers = all_at_once(&a, requests).await;
        let ok = answers.iter().filter(|(st, _)| *st == 201).count();
        assert_eq!(ok, 1, "{backend}: {answers:?}");
        assert!(answers
            .iter()
            .all(|(st, e)| *st == 201 || e["error"]["code"] == "SUBNET_OVERLAP"));
    }
}
