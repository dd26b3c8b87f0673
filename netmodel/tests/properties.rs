//! Property tests: the overlap sweep equals brute force over all pairs (both families); plans round-trip
//! through JSON.

use netmodel::cidr::{free_block, overlapping_pairs, BlockUnion, Cidr, Overlap};
use proptest::prelude::*;

fn block() -> impl Strategy<Value = Cidr> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| {
            Cidr::from(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(a), l)
                    .unwrap()
                    .trunc(),
            )
        }),
        // Concentrate addresses so IPv4 blocks actually collide.
        (0u32..64, 24u8..=28).prop_map(|(a, l)| {
            Cidr::from(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0a00_0000 | (a << 4)), l)
                    .unwrap()
                    .trunc(),
            )
        }),
        (any::<u128>(), 0u8..=128).prop_map(|(a, l)| {
            Cidr::from(
                ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(a), l)
                    .unwrap()
                    .trunc(),
            )
        }),
        (0u128..16, 120u8..=126).prop_map(|(a, l)| {
            Cidr::from(
                ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(a << 2), l)
                    .unwrap()
                    .trunc(),
            )
        }),
    ]
}

fn brute(blocks: &[Cidr]) -> Vec<Overlap> {
    let mut out = Vec::new();
    for a in 0..blocks.len() {
        for b in a + 1..blocks.len() {
            if blocks[a].overlaps(&blocks[b]) {
                out.push(Overlap { a, b });
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn sweep_equals_all_pairs(blocks in proptest::collection::vec(block(), 0..60)) {
        let mut fast = overlapping_pairs(&blocks);
        fast.sort();
        prop_assert_eq!(fast, brute(&blocks));
    }

    #[test]
    fn block_union_answers_as_a_scan_of_every_block(
        blocks in proptest::collection::vec(block(), 0..60),
        queries in proptest::collection::vec(block(), 1..20),
    ) {
        let union = BlockUnion::new(&blocks);
        for q in &queries {
            prop_assert_eq!(union.overlaps(q), blocks.iter().any(|b| b.overlaps(q)), "{}", q);
        }
    }

    #[test]
    fn overlap_is_symmetric(a in block(), b in block()) {
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
    }

    #[test]
    fn free_block_is_free_and_private(used in proptest::collection::vec(block(), 0..30), len in 8u8..=28) {
        if let Some(free) = free_block(&used, len) {
            prop_assert_eq!(free.prefix_len(), len);
            prop_assert!(used.iter().all(|u| !u.overlaps(&free)), "{} overlaps", free);
            let pools: Vec<Cidr> = netmodel::cidr::PRIVATE_POOLS.iter().map(|p| p.parse().unwrap()).collect();
            prop_assert!(pools.iter().any(|p| p.contains_block(&free)));
        }
    }

    #[test]
    fn cidr_text_round_trips(b in block()) {
        prop_assert_eq!(b.to_string().parse::<Cidr>().unwrap(), b);
    }

    #[test]
    fn plan_json_never_panics(text in ".{0,200}") {
        let _ = netmodel::Plan::from_json(&text);
    }
}

#[test]
fn sample_plans_round_trip_through_json() {
    for text in [
        include_str!("../../examples/seed.json"),
        include_str!("../../examples/transitive.json"),
    ] {
        let plan = netmodel::Plan::from_json(text).unwrap();
        let again = netmodel::Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(plan, again);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Generated plans (every kind of object) survive a JSON round trip unchanged.
    #[test]
    fn generated_plans_round_trip(vpcs in 1usize..30, subnets in 0usize..5, endpoints in 0usize..3, seed in any::<u64>()) {
        let plan = netmodel::generate::generate(&netmodel::generate::GenerateOptions {
            vpcs, subnets_per_vpc: subnets, endpoints_per_subnet: endpoints, seed,
        }).unwrap();
        let again = netmodel::Plan::from_json(&plan.to_json()).unwrap();
        prop_assert_eq!(plan, again);
    }
}
