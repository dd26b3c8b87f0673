//! The typed client against the real service: the seed's procedure (request, accept, routes both ways).

mod common;

use common::{backends, start};
use controlplane::{client::Client, wire};

#[tokio::test]
async fn seed_procedure_through_the_client() {
    for backend in backends() {
        let s = start(backend).await;
        let a = s.store.create_account("A").await.unwrap();
        let b = s.store.create_account("B").await.unwrap();
        let ca = Client::new(&s.base, &a.api_key).unwrap();
        let cb = ca.with_key(&b.api_key);
        let vpc = |name: &str, cidr: &str| wire::CreateVpc::new(name, "us-east-1", cidr);
        let va = ca.create_vpc(&vpc("VPC A", "10.0.0.0/16")).await.unwrap();
        let vb = cb.create_vpc(&vpc("VPC B", "172.16.0.0/16")).await.unwrap();
        let p = ca
            .create_peering(&wire::CreatePeering {
                requester_vpc_id: va.id.clone(),
                accepter_vpc_id: vb.id.clone(),
                accepter_account_id: Some(b.account_id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let err = ca.accept_peering(&p.id).await.unwrap_err();
        assert_eq!(err.code(), Some("FORBIDDEN"));
        assert_eq!(
            cb.accept_peering(&p.id).await.unwrap().status,
            netmodel::model::PeeringStatus::Active
        );
        let route = |dest: &str| wire::CreateRoute {
            destination_cidr: dest.into(),
            target: p.id.clone(),
        };
        ca.add_route(&va.main_route_table_id, &route("172.16.0.0/16"))
            .await
            .unwrap();
        let rt = cb
            .add_route(&vb.main_route_table_id, &route("10.0.0.0/16"))
            .await
            .unwrap();
        assert_eq!(rt.routes.last().unwrap().state, "active");
        assert_eq!(ca.list_peerings(Some("active")).await.unwrap().len(), 1);
        assert_eq!(cb.list_vpcs().await.unwrap().len(), 1);
        let rt = ca
            .delete_route(&va.main_route_table_id, "172.16.0.0/16")
            .await
            .unwrap();
        assert_eq!(rt.routes.len(), 1);
        let missing = ca.get_vpc("vpc_nope").await.unwrap_err();
        assert_eq!(missing.code(), Some("NOT_FOUND"));
    }
}

/// The seed's step 3 through the client: open the agent's port to the peer's block, on a group and an ACL.
#[tokio::test]
async fn security_groups_acls_and_endpoints_through_the_client() {
    for backend in backends() {
        let s = start(backend).await;
        let b = s.store.create_account("B").await.unwrap();
        let cb = Client::new(&s.base, &b.api_key).unwrap();
        let vb = cb
            .create_vpc(&wire::CreateVpc::new("VPC B", "us-east-1", "172.16.0.0/16"))
            .await
            .unwrap();
        let sn = cb
            .create_subnet(&wire::CreateSubnet {
                vpc_id: vb.id.clone(),
                cidr_block: "172.16.2.0/24".into(),
                availability_zone: String::new(),
            })
            .await
            .unwrap();
        let sg = cb
            .create_security_group(&wire::CreateSecurityGroup {
                vpc_id: vb.id.clone(),
                name: "agents".into(),
                description: "Agent B".into(),
            })
            .await
            .unwrap();
        let rule = cb
            .add_sg_rule(
                &sg.id,
                &wire::CreateSgRule {
                    direction: "ingress".into(),
                    protocol: "tcp".into(),
                    from_port: Some(7010),
                    to_port: Some(7010),
                    cidr: Some("10.0.0.0/16".into()),
                    security_group_id: None,
                    description: "from VPC A".into(),
                },
            )
            .await
            .unwrap();
        let agent = cb
            .create_endpoint(&wire::CreateEndpoint {
                subnet_id: sn.id.clone(),
                name: "Agent B".into(),
                kind: "agent".into(),
                private_ip: Some("172.16.2.20".into()),
                ports: vec![7010],
                security_group_ids: vec![sg.id.clone()],
            })
            .await
            .unwrap();
        assert_eq!(agent.security_group_ids, vec![sg.id.clone()]);
        let acl = cb.create_network_acl(&vb.id).await.unwrap();
        let entry = |direction: &str, ports: Option<(u16, u16)>, cidr: &str| wire::CreateAclEntry {
            rule_number: 100,
            direction: direction.into(),
            protocol: "tcp".into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            cidr_block: cidr.into(),
            rule_action: "allow".into(),
        };
        cb.add_acl_entry(&acl.id, &entry("ingress", Some((7010, 7010)), "10.0.0.0/16"))
            .await
            .unwrap();
        cb.add_acl_entry(&acl.id, &entry("egress", Some((1024, 65535)), "10.0.0.0/16"))
            .await
            .unwrap();
        let acl = cb.associate_network_acl(&acl.id, &sn.id).await.unwrap();
        assert_eq!(acl.subnet_ids, vec![sn.id.clone()]);
        assert_eq!(acl.entries.len(), 2);
        let err = cb.delete_security_group(&sg.id).await.unwrap_err();
        assert_eq!(err.code(), Some("SECURITY_GROUP_IN_USE"));
        cb.delete_endpoint(&agent.id).await.unwrap();
        let g = cb.delete_sg_rule(&sg.id, &rule.id).await.unwrap();
        assert!(g.ingress.is_empty());
        cb.delete_security_group(&sg.id).await.unwrap();
        assert_eq!(
            cb.list_security_groups().await.unwrap().len(),
            1,
            "the default group stays"
        );
    }
}

/// A server that keeps handing back the same page cursor is an error, not an endless loop.
#[tokio::test]
async fn a_repeated_page_cursor_stops_the_listing() {
    let app = axum::Router::new().route(
        "/v1/vpcs",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({"items": [], "next_cursor": "vpc_again"}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let err = Client::new(&base, "k").unwrap().list_vpcs().await.unwrap_err();
    assert!(err.to_string().contains("repeated page cursor"), "{err}");
    server.abort();
}
