//! Export benchmarks at estate scale: the Markdown and HTML documentation, DOT, Mermaid, the curl script and the
//! SVG map of `peerplan generate --vpcs 1000 --subnets-per-vpc 2 --endpoints-per-subnet 1` (target ≤ 1 s each),
//! and every export of a 10,000-VPC plan (target ≤ 10 s each), plus the check of both plans; and `check` of an
//! estate of 80,000 VPCs (about 100,000 IPv4 and IPv6 blocks, thousands of overlapping pairs: the shape
//! `scripts/bench-check.py` writes as AWS JSON, built here as a plan).
//!
//! Then (under `cargo bench` only) a complexity check: each piece of work is timed on 100, 1,000 and 10,000 VPCs,
//! and the estate's check on 800, 8,000 and 80,000 (the fastest of five runs each, side by side in one run); 10× /
//! 100× the plan must not cost more than 15× / 200× the time; the ratios are printed and the bench fails when one
//! is above.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use netmodel::{
    check::{check, CheckOptions},
    cidr::Cidr,
    export::{self, ScriptPart},
    generate::{generate, GenerateOptions},
    model::Vpc,
    Plan,
};

fn plan(vpcs: usize) -> netmodel::Plan {
    generate(&GenerateOptions {
        vpcs,
        subnets_per_vpc: 2,
        endpoints_per_subnet: 1,
        seed: 1,
    })
    .unwrap()
}

/// A deterministic estate of `n` VPCs: mostly distinct /24s of 10.0.0.0/8 and 172.16.0.0/12 in a shuffled order,
/// one VPC in six reusing a block already taken (the overlaps), one in eight with a secondary block of
/// 100.64.0.0/10, one in eight with an IPv6 /56.
fn estate(n: usize) -> Plan {
    // (Knuth's MMIX linear congruential generator; the high bits are the good ones.)
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |k: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % k
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
    let estate_plan = estate(80_000);
    let findings = check(&estate_plan, &CheckOptions::default()).len();
    println!(
        "check_estate: 80,000 VPCs, {} blocks, {findings} findings",
        blocks(&estate_plan)
    );
    let mut group = c.benchmark_group("check_estate");
    group.sample_size(20);
    group.bench_function("80k_vpcs", |b| {
        b.iter(|| check(std::hint::black_box(&estate_plan), &CheckOptions::default()).len())
    });
    group.finish();
    for (vpcs, samples) in [(1_000, 10), (10_000, 10)] {
        let p = plan(vpcs);
        let d = check(&p, &CheckOptions::default());
        let mut group = c.benchmark_group(format!("exports_{vpcs}_vpcs"));
        group.sample_size(samples);
        group.bench_function("check", |b| b.iter(|| check(&p, &CheckOptions::default()).len()));
        group.bench_function("markdown", |b| b.iter(|| export::markdown(&p, &d).len()));
        group.bench_function("html", |b| b.iter(|| export::html(&p, &d, None).len()));
        group.bench_function("dot", |b| b.iter(|| export::dot(&p).len()));
        group.bench_function("mermaid", |b| b.iter(|| export::mermaid(&p).len()));
        group.bench_function("curl", |b| {
            b.iter(|| export::curl_script(&p, ScriptPart::All).len())
        });
        group.bench_function("svg_map", |b| b.iter(|| export::map::svg(&p).map(|s| s.len())));
        group.finish();
    }
}

/// The work of one export on a plan (the output's length, so nothing is optimised away).
type Work = fn(&netmodel::Plan) -> usize;

const WORK: [(&str, Work); 7] = [
    ("check", |p| check(p, &CheckOptions::default()).len()),
    ("markdown", |p| {
        export::markdown(p, &check(p, &CheckOptions::default())).len()
    }),
    ("html", |p| {
        export::html(p, &check(p, &CheckOptions::default()), None).len()
    }),
    ("dot", |p| export::dot(p).len()),
    ("mermaid", |p| export::mermaid(p).len()),
    ("curl", |p| export::curl_script(p, ScriptPart::All).len()),
    ("svg_map", |p| export::map::svg(p).map(|s| s.len()).unwrap_or(0)),
];

/// The fastest of `runs` runs: what the work itself costs, with as little as possible of what else the machine was
/// doing meanwhile (on a shared 2-core machine a median of three still moved the ratios by half).
fn fastest(runs: usize, mut f: impl FnMut() -> usize) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .expect("at least one run")
}

/// 10× and 100× the plan against the time: fails above 15× and 200×.
fn complexity() {
    let plans = [plan(100), plan(1_000), plan(10_000)];
    let estates = [estate(800), estate(8_000), estate(80_000)];
    let check_estate: Work = |p| check(p, &CheckOptions::default()).len();
    let mut over = Vec::new();
    for (name, work, plans) in WORK.iter().map(|&(name, work)| (name, work, &plans)).chain([(
        "check_estate",
        check_estate,
        &estates,
    )]) {
        let t: Vec<Duration> = plans.iter().map(|p| fastest(5, || work(p))).collect();
        let (r10, r100) = (
            t[2].as_secs_f64() / t[1].as_secs_f64(),
            t[2].as_secs_f64() / t[0].as_secs_f64(),
        );
        println!(
            "complexity {name}: {} VPCs {:.2} ms, {} {:.2} ms, {} {:.2} ms; 10x the plan {r10:.1}x the time (<= 15), 100x {r100:.0}x (<= 200)",
            plans[0].vpcs.len(),
            t[0].as_secs_f64() * 1e3,
            plans[1].vpcs.len(),
            t[1].as_secs_f64() * 1e3,
            plans[2].vpcs.len(),
            t[2].as_secs_f64() * 1e3,
        );
        if r10 > 15.0 || r100 > 200.0 {
            over.push(name);
        }
    }
    assert!(over.is_empty(), "grows faster than n log n: {over:?}");
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
