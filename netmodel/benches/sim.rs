//! Simulator benchmarks on `peerplan generate` plans:
//! - one trace on a 10,000-subnet plan (1,000 VPCs × 10 subnets; target median ≤ 10 µs);
//! - the full 10,000 × 10,000 endpoint matrix for one port (100 VPCs × 10 subnets × 10 endpoints; target ≤ 1 s),
//!   and the ratio to tracing every pair, extrapolated from a timed sample of pairs (target ≥ 100×);
//! - the peak memory (VmHWM) after the matrix (target ≤ 512 MiB).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use netmodel::{
    generate::{generate, GenerateOptions},
    matrix::matrix,
    model::Protocol,
    sim::{trace, ClientProfile, Flow, Topology},
};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bench(c: &mut Criterion) {
    let big = generate(&GenerateOptions {
        vpcs: 1000,
        subnets_per_vpc: 10,
        endpoints_per_subnet: 1,
        seed: 1,
    })
    .unwrap();
    assert_eq!(big.subnets.len(), 10_000);
    let t = Topology::new(&big);
    // A cross-VPC flow over a peering (hub → spoke), which walks every stage including the reply.
    let flow = Flow {
        from: "ep-0000-000-000".into(),
        to: "ep-0003-001-000".into(),
        protocol: Protocol::Tcp,
        port: Some(8080),
        client: ClientProfile::Linux,
    };
    let tr = trace(&t, &flow).unwrap();
    println!(
        "trace_10k_subnets: {} ({} + {} hops)",
        tr.code,
        tr.forward.len(),
        tr.return_path.len()
    );
    c.bench_function("trace_10k_subnets", |b| {
        b.iter(|| trace(&t, std::hint::black_box(&flow)).unwrap())
    });

    let plan = generate(&GenerateOptions {
        vpcs: 100,
        subnets_per_vpc: 10,
        endpoints_per_subnet: 10,
        seed: 1,
    })
    .unwrap();
    assert_eq!(plan.endpoints.len(), 10_000);
    let t = Topology::new(&plan);
    let mut group = c.benchmark_group("matrix_10k_endpoints");
    group.sample_size(10);
    group.bench_function("port_443", |b| {
        b.iter(|| matrix(&t, Protocol::Tcp, Some(443), ClientProfile::Linux).unwrap())
    });
    group.finish();

    // Side by side in one run: matrix median vs tracing a sample of pairs, extrapolated to all 10^8 pairs.
    let runs: Vec<Duration> = (0..5)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(matrix(&t, Protocol::Tcp, Some(443), ClientProfile::Linux).unwrap());
            s.elapsed()
        })
        .collect();
    let mut sorted = runs.clone();
    sorted.sort();
    let m = sorted[sorted.len() / 2];
    let n = plan.endpoints.len();
    let sample = 20_000usize;
    let s = Instant::now();
    for k in 0..sample {
        let (i, j) = ((k * 7919) % n, (k * 104_729 + 13) % n);
        let f = Flow {
            from: plan.endpoints[i].id.0.clone(),
            to: plan.endpoints[j].id.0.clone(),
            protocol: Protocol::Tcp,
            port: Some(443),
            client: ClientProfile::Linux,
        };
        std::hint::black_box(trace(&t, &f).unwrap());
    }
    let per_pair = s.elapsed().as_secs_f64() / sample as f64;
    let all_pairs = per_pair * (n * n) as f64;
    let classes = matrix(&t, Protocol::Tcp, Some(443), ClientProfile::Linux)
        .unwrap()
        .classes;
    println!(
        "matrix_10k_endpoints: median {:.0} ms ({classes} classes); tracing every pair ≈ {:.0} s ({:.2} µs/pair \
         over {sample} sampled pairs); ratio {:.0}x; peak RSS {:.0} MiB",
        m.as_secs_f64() * 1e3,
        all_pairs,
        per_pair * 1e6,
        all_pairs / m.as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
