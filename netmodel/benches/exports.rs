//! Export benchmarks at estate scale: the Markdown and HTML documentation, DOT, Mermaid, the curl script and the
//! SVG map of `peerplan generate --vpcs 1000 --subnets-per-vpc 2 --endpoints-per-subnet 1` (target ≤ 1 s each),
//! and every export of a 10,000-VPC plan (target ≤ 10 s each), plus the check of both plans.
//!
//! Then (under `cargo bench` only) a complexity check: each piece of work is timed on 100, 1,000 and 10,000 VPCs
//! (the fastest of five runs each, side by side in one run) and 10× / 100× the plan must not cost more than 15× / 200× the
//! time; the ratios are printed and the bench fails when one is above.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use netmodel::{
    check::{check, CheckOptions},
    export::{self, ScriptPart},
    generate::{generate, GenerateOptions},
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

fn bench(c: &mut Criterion) {
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
    let mut over = Vec::new();
    for (name, work) in WORK {
        let t: Vec<Duration> = plans.iter().map(|p| fastest(5, || work(p))).collect();
        let (r10, r100) = (
            t[2].as_secs_f64() / t[1].as_secs_f64(),
            t[2].as_secs_f64() / t[0].as_secs_f64(),
        );
        println!(
            "complexity {name}: 100 VPCs {:.2} ms, 1,000 {:.2} ms, 10,000 {:.2} ms; 10x the plan {r10:.1}x the time (<= 15), 100x {r100:.0}x (<= 200)",
            t[0].as_secs_f64() * 1e3,
            t[1].as_secs_f64() * 1e3,
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
