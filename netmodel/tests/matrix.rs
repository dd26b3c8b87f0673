//! The matrix equals tracing every pair, filled by pairs of classes and by source atoms alike.

use netmodel::{
    generate::{generate, GenerateOptions},
    matrix::{matrix, matrix_by_source_atoms},
    model::Protocol,
    sim::{trace, ClientProfile, Flow, Topology},
    Plan,
};

fn assert_matrix_matches_traces(plan: &Plan, protocol: Protocol, port: Option<u16>) {
    let t = Topology::new(plan);
    let m = matrix(&t, protocol, port, ClientProfile::Linux).unwrap();
    let by_source = matrix_by_source_atoms(&t, protocol, port, ClientProfile::Linux).unwrap();
    for (i, from) in plan.endpoints.iter().enumerate() {
        for (j, to) in plan.endpoints.iter().enumerate() {
            let flow = Flow {
                from: from.id.0.clone(),
                to: to.id.0.clone(),
                protocol,
                port,
                client: ClientProfile::Linux,
            };
            let expected = trace(&t, &flow).unwrap().code;
            assert_eq!(
                m.code(i, j),
                expected,
                "{} → {} ({protocol} {port:?})",
                from.id,
                to.id
            );
            assert_eq!(
                by_source.code(i, j),
                expected,
                "by source atoms: {} → {} ({protocol} {port:?})",
                from.id,
                to.id
            );
        }
    }
}

#[test]
fn matrix_equals_traces_on_generated_plans() {
    for seed in 0..4 {
        let plan = generate(&GenerateOptions {
            vpcs: 23,
            subnets_per_vpc: 4,
            endpoints_per_subnet: 2,
            seed,
        })
        .unwrap();
        for port in [Some(443), Some(5432), Some(8080), None] {
            assert_matrix_matches_traces(&plan, Protocol::Tcp, port);
        }
        assert_matrix_matches_traces(&plan, Protocol::Icmp, None);
    }
}

#[test]
fn matrix_equals_traces_on_the_samples() {
    for text in [
        include_str!("../../examples/seed.json"),
        include_str!("../../examples/transitive.json"),
    ] {
        let plan = Plan::from_json(text).unwrap();
        assert_matrix_matches_traces(&plan, Protocol::Tcp, Some(7010));
        assert_matrix_matches_traces(&plan, Protocol::All, None);
    }
}
