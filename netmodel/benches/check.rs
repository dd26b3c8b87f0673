//! `check` of an estate of 80,000 VPCs (about 100,000 IPv4 and IPv6 blocks, thousands of overlapping pairs), the
//! shape `scripts/bench-check.py` writes as AWS JSON, built here as a plan: what `peerplan check` spends after
//! reading the file. Then the complexity check: the same estate at a hundredth and a tenth of the size, fastest of
//! five runs each; 10× the estate must not cost more than 15× the time, nor 100× more than 200×.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use netmodel::{check, cidr::Cidr, model::Vpc, CheckOptions, Plan};

/// A deterministic estate of `n` VPCs: mostly distinct /24s of 10.0.0.0/8 and 172.16.0.0/12 in a shuffled order,
/// one VPC in six reusing a block already taken (the overlaps), one in eight with a secondary block of
/// 100.64.0.0/10, one in eight with an IPv6 /56.
fn estate(n: usize) -> Plan {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |k: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % k
    };
    let mut fresh: Vec<u32> = (0..1u32 << 16)
        .map(|k| 0x0A00_0000 | k << 8)
        .chain((0..1u32 << 12).map(|k| 0xAC10_0000 | k << 8))
        .collect();
    for i in (1..fresh.len()).rev() {
        fresh.swap(i, next(i as u64 + 1) as usize);
    }
    let block = |addr: u32| -> Cidr { format!("{}/24", std::net::Ipv4Addr::from(addr)).parse().unwrap() };
    let mut plan = Plan::new("estate");
    let mut taken: Vec<Cidr> = Vec::new();
    for i in 0..n {
        let cidr = match (taken.is_empty(), next(6)) {
            (false, 0) => taken[next(taken.len() as u64) as usize],
            _ => {
                let b = block(fresh.pop().expect("an estate within the private pools"));
                taken.push(b);
                b
            }
        };
        let secondary_cidrs = if next(8) == 0 {
            vec![block(0x6440_0000 | (i as u32 & 0x3fff) << 8)]
        } else {
            vec![]
        };
        let ipv6_cidrs = if next(8) == 0 {
            vec![format!("2600:1f18:{:x}:{:x}00::/56", i >> 8, i & 0xff)
                .parse()
                .unwrap()]
        } else {
            vec![]
        };
        plan.vpcs.push(Vpc {
            id: format!("vpc-{i:017x}").into(),
            name: format!("estate-{i}"),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            cidr,
            secondary_cidrs,
            ipv6_cidrs,
            position: None,
        });
    }
    plan
}

fn blocks(plan: &Plan) -> usize {
    plan.vpcs.iter().map(|v| v.blocks().count()).sum()
}

fn bench(c: &mut Criterion) {
    let plan = estate(80_000);
    let findings = check(&plan, &CheckOptions::default()).len();
    println!(
        "check_estate: {} VPCs, {} blocks, {findings} findings",
        plan.vpcs.len(),
        blocks(&plan)
    );
    let mut group = c.benchmark_group("check_estate");
    group.sample_size(20);
    group.bench_function("80k_vpcs", |b| {
        b.iter(|| check(std::hint::black_box(&plan), &CheckOptions::default()).len())
    });
    group.finish();
}

/// The fastest of five runs: what the work itself costs, with as little as possible of the shared machine.
fn fastest(plan: &Plan) -> Duration {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(check(plan, &CheckOptions::default()).len());
            t.elapsed()
        })
        .min()
        .expect("five runs")
}

fn complexity() {
    let plans = [estate(800), estate(8_000), estate(80_000)];
    let t: Vec<Duration> = plans.iter().map(fastest).collect();
    let (r10, r100) = (
        t[2].as_secs_f64() / t[1].as_secs_f64(),
        t[2].as_secs_f64() / t[0].as_secs_f64(),
    );
    println!(
        "complexity check: {} blocks {:.2} ms, {} {:.2} ms, {} {:.2} ms; 10x the estate {r10:.1}x the time (<= 15), 100x {r100:.0}x (<= 200)",
        blocks(&plans[0]),
        t[0].as_secs_f64() * 1e3,
        blocks(&plans[1]),
        t[1].as_secs_f64() * 1e3,
        blocks(&plans[2]),
        t[2].as_secs_f64() * 1e3,
    );
    assert!(r10 <= 15.0 && r100 <= 200.0, "check grows faster than n log n");
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs each bench once, as a smoke test; the complexity check is for `cargo bench`.
    if std::env::args().any(|a| a == "--bench") {
        complexity();
    }
}
