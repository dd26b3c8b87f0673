//! Overlap check of 100,000 random IPv4 + IPv6 blocks: the sort-and-sweep against the naive all-pairs check on
//! the same input. Target: sweep ≤ 50 ms and ≥ 100× faster than all pairs.
//!
//! The naive check takes seconds, so it is timed a few times outside criterion (median printed) and the ratio
//! uses criterion's own median for the sweep measured in the same run.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use netmodel::cidr::{overlapping_pairs, Cidr};

/// Deterministic pseudo-random blocks (xorshift): 70 % IPv4 (/8–/28 anywhere in the address space) and 30 % IPv6
/// (/40–/64 inside 2001:db8::/32).
pub fn random_blocks(n: usize, mut seed: u64) -> Vec<Cidr> {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|_| {
            let r = next();
            if r % 10 < 7 {
                let len = 8 + (r >> 8) as u8 % 21;
                let addr = std::net::Ipv4Addr::from(next() as u32);
                Cidr::from(ipnet::Ipv4Net::new(addr, len).unwrap().trunc())
            } else {
                let len = 40 + (r >> 8) as u8 % 25;
                let addr = std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | ((next() as u128) << 40));
                Cidr::from(ipnet::Ipv6Net::new(addr, len).unwrap().trunc())
            }
        })
        .collect()
}

fn naive(blocks: &[Cidr]) -> usize {
    let iv: Vec<_> = blocks.iter().map(Cidr::interval).collect();
    let mut n = 0;
    for a in 0..iv.len() {
        for b in a + 1..iv.len() {
            if iv[a].overlaps(&iv[b]) {
                n += 1;
            }
        }
    }
    n
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let blocks = random_blocks(100_000, 0x5eed);
    let mut group = c.benchmark_group("overlap_100k");
    group.sample_size(20);
    group.bench_function("sweep", |b| {
        b.iter(|| overlapping_pairs(std::hint::black_box(&blocks)).len())
    });
    group.finish();

    // Side by side in the same run: medians of the sweep and of the naive check.
    let sweep_runs: Vec<Duration> = (0..11)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(overlapping_pairs(&blocks).len());
            t.elapsed()
        })
        .collect();
    let mut found = 0;
    let naive_runs: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            found = std::hint::black_box(naive(&blocks));
            t.elapsed()
        })
        .collect();
    assert_eq!(
        found,
        overlapping_pairs(&blocks).len(),
        "sweep and naive disagree"
    );
    let (s, n) = (median(sweep_runs), median(naive_runs));
    println!(
        "overlap_100k: sweep median {:.2} ms, naive all-pairs median {:.0} ms, ratio {:.0}x ({} overlapping pairs)",
        s.as_secs_f64() * 1e3,
        n.as_secs_f64() * 1e3,
        n.as_secs_f64() / s.as_secs_f64(),
        found
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
