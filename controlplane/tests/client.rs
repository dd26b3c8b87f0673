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
        assert_eq!(cb.accept_peering(&p.id).await.unwrap().status, "active");
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
