//! What `peerplan generate` writes, and the documentation of generated plans, stay byte for byte what they were:
//! the length and FNV-1a digest of the plan JSON for sizes that reach every branch of the generator (/16, /20 and
//! /22 VPC blocks; meshes, hub-to-hub links, pending peerings, database ACLs), and of the Markdown and HTML of
//! generated plans on both sides of the peering-matrix grid limit (the example plans' exports are snapshots in
//! `exports.rs`). A change here is a change to every generated demo and benchmark estate: if it is meant, update
//! the numbers from the failure message.

use netmodel::{
    check,
    export::{html, markdown},
    generate::{generate, GenerateOptions},
    CheckOptions, Plan,
};

/// FNV-1a, 64 bits.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `(length, digest)` of a text.
fn fingerprint(text: &str) -> (usize, u64) {
    (text.len(), digest(text.as_bytes()))
}

fn plan(vpcs: usize, subnets_per_vpc: usize, endpoints_per_subnet: usize, seed: u64) -> Plan {
    generate(&GenerateOptions {
        vpcs,
        subnets_per_vpc,
        endpoints_per_subnet,
        seed,
    })
    .unwrap()
}

#[test]
fn generated_plans_are_unchanged() {
    let cases = [
        ((3, 3, 1, 7), (16_018, 0xc7b2_7eed_af8f_74b8)),
        ((12, 3, 1, 7), (67_563, 0x0135_aadb_ec04_a712)),
        ((25, 4, 2, 7), (177_863, 0x67b4_7720_46b0_2995)),
        ((300, 3, 2, 5), (1_959_047, 0x8bc6_d92e_43d4_e32c)),
        ((4097, 4, 1, 6), (25_234_395, 0x64b5_7ce3_ab3a_c7b9)),
    ];
    let mut wrong = Vec::new();
    for ((v, s, e, seed), expected) in cases {
        let got = fingerprint(&plan(v, s, e, seed).to_json());
        if got != expected {
            wrong.push(format!(
                "{v} VPCs × {s} × {e}, seed {seed}: ({}, {:#018x})",
                got.0, got.1
            ));
        }
    }
    assert!(wrong.is_empty(), "changed:\n{}", wrong.join("\n"));
}

#[test]
fn documentation_of_generated_plans_is_unchanged() {
    let g12 = plan(12, 3, 1, 7);
    let g61 = plan(61, 2, 1, 3);
    let g70 = plan(70, 5, 3, 9);
    let md = |p: &Plan| markdown(p, &check(p, &CheckOptions::default()));
    let got = [
        ("12 VPCs, md", fingerprint(&md(&g12))),
        ("61 VPCs, md", fingerprint(&md(&g61))),
        ("70 VPCs, md", fingerprint(&md(&g70))),
        (
            "70 VPCs, html",
            fingerprint(&html(
                &g70,
                &check(&g70, &CheckOptions::default()),
                Some("<svg>map</svg>"),
            )),
        ),
    ];
    let expected = [
        (33_862, 0x90c2_129f_7d95_6f1a),
        (121_017, 0x22f2_b61e_fb37_84bc),
        (168_055, 0x264c_2271_aec6_6436),
        (245_344, 0x7208_641f_1a2d_c3f7),
    ];
    let wrong: Vec<String> = got
        .iter()
        .zip(expected)
        .filter(|((_, g), e)| g != e)
        .map(|((name, g), _)| format!("{name}: ({}, {:#018x})", g.0, g.1))
        .collect();
    assert!(wrong.is_empty(), "changed:\n{}", wrong.join("\n"));
}
