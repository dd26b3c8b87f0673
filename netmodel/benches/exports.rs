//! Export benchmarks at estate scale: the Markdown and HTML documentation, DOT, Mermaid, the curl script and the
//! SVG map of `peerplan generate --vpcs 1000 --subnets-per-vpc 2 --endpoints-per-subnet 1` (target ≤ 1 s each),
//! and every export of a 10,000-VPC plan (target ≤ 10 s each), plus the check of both plans.

use criterion::{criterion_group, criterion_main, Criterion};
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

criterion_group!(benches, bench);
criterion_main!(benches);
