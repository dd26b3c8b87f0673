//! Load benchmark of a running control plane on loopback (bounded in count and time):
//! `cargo run --release -p controlplane --example load -- BASE_URL API_KEY [CONCURRENCY] [SECONDS]`.
//! Prints requests/s and p50/p99 for listing VPCs, peering create+accept pairs, and route creation.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Runs `op` from `concurrency` workers until `seconds` pass or `max_ops` are done. `op` answers whether the
/// operation succeeded (2xx, or the documented refusal it expects); only successes count and are timed.
async fn phase<F, Fut>(name: &str, concurrency: usize, seconds: u64, max_ops: usize, op: F)
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed) = (Vec::new(), 0usize);
            let mut i = 0;
            while Instant::now() < deadline && i < max_ops / concurrency {
                let t = Instant::now();
                if op(w, i).await {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
                i += 1;
            }
            (lat, failed)
        }));
    }
    let (mut all, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (l, f) = t.await.unwrap();
        all.extend(l);
        failed += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    println!(
        "{name:<24} {:>7} ok, {failed} failed, in {elapsed:5.2} s  {:>8.0} ok/s  p50 {:6.2} ms  p99 {:6.2} ms",
        all.len(),
        all.len() as f64 / elapsed,
        pct(&all, 0.5),
        pct(&all, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).expect("BASE_URL").trim_end_matches('/').to_string();
    assert!(
        base.starts_with("http://127.")
            || base.starts_with("http://[::1]")
            || base.starts_with("http://localhost"),
        "loopback only"
    );
    let key = args.get(2).expect("API_KEY").clone();
    let concurrency: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(4).and_then(|c| c.parse().ok()).unwrap_or(5);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // Setup: VPCs to peer (10.x.y.0/24 blocks never overlap).
    let n_vpcs = 400;
    let mut vpcs = Vec::new();
    for i in 0..n_vpcs {
        let v: Value = http
            .post(format!("{base}/v1/vpcs"))
            .bearer_auth(&key)
            .json(&json!({"name": format!("load-{i}"), "region": "us-east-1", "cidr_block": format!("10.{}.{}.0/24", 100 + i / 256, i % 256)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Routes target a gateway of their table's VPC.
        let gw: Value = http
            .post(format!("{base}/v1/gateways"))
            .bearer_auth(&key)
            .json(&json!({"vpc_id": v["id"], "kind": "internet"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        vpcs.push((
            v["id"].as_str().unwrap().to_string(),
            v["main_route_table_id"].as_str().unwrap().to_string(),
            gw["id"].as_str().unwrap().to_string(),
        ));
    }
    let vpcs = std::sync::Arc::new(vpcs);

    let (h, b, k) = (http.clone(), base.clone(), key.clone());
    phase(
        "list VPCs (limit 20)",
        concurrency,
        seconds,
        200_000,
        move |_, _| {
            let (h, b, k) = (h.clone(), b.clone(), k.clone());
            async move {
                h.get(format!("{b}/v1/vpcs?limit=20"))
                    .bearer_auth(&k)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        },
    )
    .await;

    // Each worker peers its own slice of VPCs with distinct partners: pair (a, a + 1 + d) for d < 20, so every
    // pair is new and no VPC passes 40 active peerings (quota 50). Create (pending), then accept.
    let (h, b, k, v) = (http.clone(), base.clone(), key.clone(), vpcs.clone());
    let per_worker = (n_vpcs / concurrency.max(1)).max(1);
    phase(
        "peering create+accept",
        concurrency,
        seconds,
        20 * per_worker * concurrency,
        move |w, i| {
            let (h, b, k, v) = (h.clone(), b.clone(), k.clone(), v.clone());
            async move {
                let a = w * per_worker + (i % per_worker);
                let c = (a + 1 + i / per_worker) % n_vpcs;
                let created = h
                    .post(format!("{b}/v1/vpc-peering"))
                    .bearer_auth(&k)
                    .json(&json!({"requester_vpc_id": v[a].0, "accepter_vpc_id": v[c].0}))
                    .send()
                    .await;
                let Ok(created) = created else { return false };
                if created.status() != 201 {
                    return false;
                }
                let p: Value = created.json().await.unwrap();
                let id = p["id"].as_str().unwrap();
                h.post(format!("{b}/v1/vpc-peering/{id}/accept"))
                    .bearer_auth(&k)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        },
    )
    .await;

    let (h, b, k, v) = (http.clone(), base.clone(), key.clone(), vpcs.clone());
    phase("route creation", concurrency, seconds, 50_000, move |w, i| {
        let (h, b, k, v) = (h.clone(), b.clone(), k.clone(), v.clone());
        async move {
            let (_, table, gateway) = &v[(w * 7 + i) % n_vpcs];
            let dest = format!("172.{}.{}.0/24", 16 + (i / 256) % 16, i % 256);
            h.post(format!("{b}/v1/route-tables/{table}/routes"))
                .bearer_auth(&k)
                .json(&json!({"destination_cidr": dest, "target": gateway}))
                .send()
                .await
                .is_ok_and(|r| r.status() == 201 || r.status() == 409)
        }
    })
    .await;
}
