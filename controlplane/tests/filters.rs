//! Security groups, network ACLs, endpoints and subnet associations, on every backend: AWS's defaults, the
//! rules about what may reference what, and the conflicts that keep state consistent.

mod common;

use common::{backends, start, Api};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

async fn subnet(api: &Api, vpc: &Value, cidr: &str) -> Value {
    let (st, s) = api
        .call(
            "POST",
            "/v1/subnets",
            Some(json!({"vpc_id": vpc["id"], "cidr_block": cidr})),
        )
        .await;
    assert_eq!(st, 201, "{s}");
    s
}

#[tokio::test]
async fn every_vpc_gets_the_aws_defaults_and_new_filters_start_closed() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("A", "10.0.0.0/16").await;
        let acl_id = v["default_network_acl_id"].as_str().unwrap();
        let (_, acl) = a.call("GET", &format!("/v1/network-acls/{acl_id}"), None).await;
        assert_eq!(acl["default"], true);
        let entries: Vec<_> = acl["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["direction"].as_str().unwrap().to_string(),
                    e["rule_number"].as_u64().unwrap(),
                    e["rule_action"].as_str().unwrap().to_string(),
                    e["cidr_block"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("ingress".into(), 100, "allow".into(), "0.0.0.0/0".into()),
                ("egress".into(), 100, "allow".into(), "0.0.0.0/0".into()),
            ],
            "{backend}"
        );
        let sg_id = v["default_security_group_id"].as_str().unwrap();
        let (_, sg) = a.call("GET", &format!("/v1/security-groups/{sg_id}"), None).await;
        assert_eq!(sg["name"], "default");
        assert_eq!(sg["ingress"][0]["security_group_id"], sg_id, "{sg}");
        assert_eq!(sg["egress"][0]["cidr"], "0.0.0.0/0");
        // A custom ACL denies everything until given entries; a new group receives nothing.
        let (st, custom) = a
            .call("POST", "/v1/network-acls", Some(json!({"vpc_id": v["id"]})))
            .await;
        assert_eq!((st, custom["entries"].clone()), (201, json!([])));
        let (st, g) = a
            .call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": v["id"], "name": "web", "description": "web tier"})),
            )
            .await;
        assert_eq!(st, 201);
        assert_eq!(g["ingress"], json!([]));
        assert_eq!(g["egress"][0]["protocol"], "all");
        // Group names are unique per VPC.
        let (st, e) = a
            .call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": v["id"], "name": "web"})),
            )
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("SECURITY_GROUP_EXISTS"))
        );
    }
}

#[tokio::test]
async fn security_group_rules_are_validated_and_never_duplicated() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("A", "10.0.0.0/16").await;
        let sg = v["default_security_group_id"].as_str().unwrap().to_string();
        let rules = format!("/v1/security-groups/{sg}/rules");
        for (body, code) in [
            (
                json!({"direction": "inbound", "protocol": "tcp", "cidr": "10.1.0.0/16"}),
                "INVALID_DIRECTION",
            ),
            (
                json!({"direction": "ingress", "protocol": "tcpp", "cidr": "10.1.0.0/16"}),
                "INVALID_PROTOCOL",
            ),
            (
                json!({"direction": "ingress", "protocol": "icmp", "from_port": 8, "cidr": "10.1.0.0/16"}),
                "INVALID_PORT_RANGE",
            ),
            (
                json!({"direction": "ingress", "protocol": "tcp", "from_port": 443, "to_port": 80, "cidr": "10.1.0.0/16"}),
                "INVALID_PORT_RANGE",
            ),
            (
                json!({"direction": "ingress", "protocol": "tcp", "cidr": "10.1.0.0/33"}),
                "INVALID_CIDR",
            ),
            (
                json!({"direction": "ingress", "protocol": "tcp"}),
                "INVALID_RULE_PEER",
            ),
            (
                json!({"direction": "ingress", "protocol": "tcp", "cidr": "10.1.0.0/16", "security_group_id": sg}),
                "INVALID_RULE_PEER",
            ),
        ] {
            let (st, e) = a.call("POST", &rules, Some(body.clone())).await;
            assert_eq!(
                (st, e["error"]["code"].as_str()),
                (400, Some(code)),
                "{body}: {e}"
            );
        }
        let https = json!({"direction": "ingress", "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "172.16.0.0/16"});
        let (st, rule) = a.call("POST", &rules, Some(https.clone())).await;
        assert_eq!(st, 201, "{rule}");
        assert!(rule["id"].as_str().unwrap().starts_with("sgr_"));
        // The same permission again (even with another description) is a conflict.
        let mut again = https.clone();
        again["description"] = json!("https from B");
        let (st, e) = a.call("POST", &rules, Some(again)).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("RULE_EXISTS")),
            "{e}"
        );
        let (st, g) = a.call("DELETE", &format!("{rules}/{}", id(&rule)), None).await;
        assert_eq!(st, 200);
        assert!(g["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != rule["id"]));
        let (st, _) = a.call("POST", &rules, Some(https)).await;
        assert_eq!(st, 201, "deleted rule can be added again");
    }
}

#[tokio::test]
async fn group_references_need_the_same_vpc_or_an_active_same_region_peering() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let b = Api::new_account(&s, "B").await;
        let va = a.vpc("A", "10.0.0.0/16").await;
        let vb = b.vpc("B", "172.16.0.0/16").await;
        let vc = b.vpc_in("C", "192.168.0.0/16", "eu-west-1").await;
        let sg_a = va["default_security_group_id"].as_str().unwrap().to_string();
        let sg_b = vb["default_security_group_id"].as_str().unwrap().to_string();
        let sg_c = vc["default_security_group_id"].as_str().unwrap().to_string();
        let from_group = |g: &str| json!({"direction": "ingress", "protocol": "tcp", "from_port": 7010, "security_group_id": g});
        let rules_a = format!("/v1/security-groups/{sg_a}/rules");
        let (st, e) = a.call("POST", &rules_a, Some(from_group(&sg_b))).await;
        assert_eq!(st, 404, "no peering yet: {e}");
        // Peer A–B (same region) and A–C (inter-region), both accepted by B.
        let mut peerings = vec![];
        for (v, g) in [(&vb, &sg_b), (&vc, &sg_c)] {
            let (_, p) = a
                .call(
                    "POST",
                    "/v1/vpc-peering",
                    Some(json!({"requester_vpc_id": va["id"], "accepter_vpc_id": v["id"], "accepter_account_id": b.account})),
                )
                .await;
            let (st, _) = a.call("POST", &rules_a, Some(from_group(g))).await;
            assert_eq!(st, 404, "pending is not enough");
            let (st, p) = b
                .call("POST", &format!("/v1/vpc-peering/{}/accept", id(&p)), None)
                .await;
            assert_eq!(st, 200, "{p}");
            peerings.push(p);
        }
        let (st, r) = a.call("POST", &rules_a, Some(from_group(&sg_b))).await;
        assert_eq!(st, 201, "active same-region peering: {r}");
        assert_eq!(r["security_group_id"], sg_b.as_str());
        let (st, _) = a.call("POST", &rules_a, Some(from_group(&sg_c))).await;
        assert_eq!(st, 404, "no group references across regions");
        // A group that another group's rule names cannot be deleted.
        let (_, web) = a
            .call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": va["id"], "name": "web"})),
            )
            .await;
        let (st, _) = a.call("POST", &rules_a, Some(from_group(&id(&web)))).await;
        assert_eq!(st, 201);
        let (st, e) = a
            .call("DELETE", &format!("/v1/security-groups/{}", id(&web)), None)
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("SECURITY_GROUP_IN_USE"))
        );
        let (st, e) = a
            .call("DELETE", &format!("/v1/security-groups/{sg_a}"), None)
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("DEFAULT_SECURITY_GROUP"))
        );
        let (st, e) = a
            .call(
                "PATCH",
                &format!("/v1/security-groups/{sg_a}"),
                Some(json!({"name": "renamed"})),
            )
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (400, Some("DEFAULT_SECURITY_GROUP"))
        );
        let (st, g) = a
            .call(
                "PATCH",
                &format!("/v1/security-groups/{sg_a}"),
                Some(json!({"description": "peered with B"})),
            )
            .await;
        assert_eq!((st, g["description"].as_str()), (200, Some("peered with B")));
    }
}

#[tokio::test]
async fn network_acl_entries_are_numbered_and_associations_move_subnets() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("A", "10.0.0.0/16").await;
        let other = a.vpc("Other", "10.1.0.0/16").await;
        let sn = subnet(&a, &v, "10.0.1.0/24").await;
        let other_sn = subnet(&a, &other, "10.1.1.0/24").await;
        let (_, acl) = a
            .call("POST", "/v1/network-acls", Some(json!({"vpc_id": v["id"]})))
            .await;
        let entries = format!("/v1/network-acls/{}/entries", id(&acl));
        let entry = |n: u32, action: &str| json!({"rule_number": n, "direction": "ingress", "protocol": "tcp", "from_port": 7010, "to_port": 7010, "cidr_block": "172.16.0.0/16", "rule_action": action});
        for (body, code) in [
            (entry(0, "allow"), "INVALID_RULE_NUMBER"),
            (entry(32767, "allow"), "INVALID_RULE_NUMBER"),
            (entry(100, "permit"), "INVALID_RULE_ACTION"),
        ] {
            let (st, e) = a.call("POST", &entries, Some(body)).await;
            assert_eq!((st, e["error"]["code"].as_str()), (400, Some(code)), "{e}");
        }
        let (st, _) = a.call("POST", &entries, Some(entry(200, "deny"))).await;
        assert_eq!(st, 201);
        let (st, got) = a.call("POST", &entries, Some(entry(100, "allow"))).await;
        assert_eq!(st, 201);
        let numbers: Vec<u64> = got["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["rule_number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, [100, 200], "evaluated lowest first");
        let (st, e) = a.call("POST", &entries, Some(entry(100, "deny"))).await;
        assert_eq!((st, e["error"]["code"].as_str()), (409, Some("ACL_ENTRY_EXISTS")));
        let (st, got) = a.call("DELETE", &format!("{entries}/ingress/200"), None).await;
        assert_eq!((st, got["entries"].as_array().unwrap().len()), (200, 1));
        let (st, _) = a.call("DELETE", &format!("{entries}/egress/100"), None).await;
        assert_eq!(st, 404, "no egress entry 100");
        // Associations: only subnets of the ACL's VPC; an associated ACL cannot be deleted.
        let assoc = format!("/v1/network-acls/{}/associations", id(&acl));
        let (st, e) = a
            .call("POST", &assoc, Some(json!({"subnet_id": other_sn["id"]})))
            .await;
        assert_eq!((st, e["error"]["code"].as_str()), (400, Some("SUBNET_OTHER_VPC")));
        let (st, got) = a.call("POST", &assoc, Some(json!({"subnet_id": sn["id"]}))).await;
        assert_eq!((st, got["subnet_ids"].clone()), (200, json!([sn["id"]])));
        let (st, e) = a
            .call("DELETE", &format!("/v1/network-acls/{}", id(&acl)), None)
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("NETWORK_ACL_IN_USE"))
        );
        // Back to the default ACL: the explicit association goes, and the custom ACL can be deleted.
        let default_assoc = format!(
            "/v1/network-acls/{}/associations",
            v["default_network_acl_id"].as_str().unwrap()
        );
        let (st, _) = a
            .call("POST", &default_assoc, Some(json!({"subnet_id": sn["id"]})))
            .await;
        assert_eq!(st, 200);
        let (st, _) = a
            .call("DELETE", &format!("/v1/network-acls/{}", id(&acl)), None)
            .await;
        assert_eq!(st, 204, "{backend}");
    }
}

#[tokio::test]
async fn route_table_associations_and_deletion() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("A", "10.0.0.0/16").await;
        let sn = subnet(&a, &v, "10.0.1.0/24").await;
        let (_, rt) = a
            .call("POST", "/v1/route-tables", Some(json!({"vpc_id": v["id"]})))
            .await;
        let rt_path = format!("/v1/route-tables/{}", id(&rt));
        let (st, got) = a
            .call(
                "POST",
                &format!("{rt_path}/associations"),
                Some(json!({"subnet_id": sn["id"]})),
            )
            .await;
        assert_eq!((st, got["subnet_ids"].clone()), (200, json!([sn["id"]])));
        let (st, e) = a.call("DELETE", &rt_path, None).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("ROUTE_TABLE_IN_USE"))
        );
        let main = format!("/v1/route-tables/{}", v["main_route_table_id"].as_str().unwrap());
        let (st, e) = a.call("DELETE", &main, None).await;
        assert_eq!((st, e["error"]["code"].as_str()), (409, Some("MAIN_ROUTE_TABLE")));
        let (st, got) = a
            .call("DELETE", &format!("{rt_path}/associations/{}", id(&sn)), None)
            .await;
        assert_eq!((st, got["subnet_ids"].clone()), (200, json!([])));
        let (st, _) = a.call("DELETE", &rt_path, None).await;
        assert_eq!(st, 204);
        let (st, _) = a.call("GET", &rt_path, None).await;
        assert_eq!(st, 404);
    }
}

#[tokio::test]
async fn endpoints_get_usable_addresses_and_pin_their_subnet_and_groups() {
    for backend in backends() {
        let s = start(backend).await;
        let a = Api::new_account(&s, "A").await;
        let v = a.vpc("A", "172.16.0.0/16").await;
        let other = a.vpc("Other", "10.0.0.0/16").await;
        let sn = subnet(&a, &v, "172.16.2.0/24").await;
        let create = |body: Value| async { a.call("POST", "/v1/endpoints", Some(body)).await };
        let (st, auto) = create(json!({"subnet_id": sn["id"], "name": "first"})).await;
        assert_eq!(st, 201, "{auto}");
        assert_eq!(
            auto["private_ip"], "172.16.2.4",
            "the first four addresses are reserved"
        );
        assert_eq!(auto["kind"], "instance");
        assert_eq!(
            auto["security_group_ids"],
            json!([v["default_security_group_id"]])
        );
        let (st, agent) = create(json!({"subnet_id": sn["id"], "name": "Agent B", "kind": "agent", "private_ip": "172.16.2.20", "ports": [7010, 7010, 22]})).await;
        assert_eq!(st, 201, "{agent}");
        assert_eq!(agent["ports"], json!([22, 7010]));
        for (body, status, code) in [
            (
                json!({"subnet_id": sn["id"], "name": "dup", "private_ip": "172.16.2.20"}),
                409,
                "IP_IN_USE",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "gw", "private_ip": "172.16.2.1"}),
                400,
                "INVALID_IP",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "bc", "private_ip": "172.16.2.255"}),
                400,
                "INVALID_IP",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "out", "private_ip": "10.0.0.9"}),
                400,
                "INVALID_IP",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "k", "kind": "toaster"}),
                400,
                "INVALID_KIND",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "p", "ports": [0]}),
                400,
                "INVALID_PORT",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "\u{0}"}),
                400,
                "INVALID_NAME",
            ),
            (
                json!({"subnet_id": sn["id"], "name": "g", "security_group_ids": [other["default_security_group_id"]]}),
                400,
                "SECURITY_GROUP_OTHER_VPC",
            ),
        ] {
            let (st, e) = create(body.clone()).await;
            assert_eq!(
                (st, e["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}: {e}"
            );
        }
        let (_, web) = a
            .call(
                "POST",
                "/v1/security-groups",
                Some(json!({"vpc_id": v["id"], "name": "agents"})),
            )
            .await;
        let (st, patched) = a
            .call(
                "PATCH",
                &format!("/v1/endpoints/{}", id(&agent)),
                Some(json!({"security_group_ids": [web["id"]], "ports": [7010]})),
            )
            .await;
        assert_eq!(st, 200);
        assert_eq!(patched["security_group_ids"], json!([web["id"]]));
        assert_eq!(patched["ports"], json!([7010]));
        let (st, e) = a
            .call("DELETE", &format!("/v1/security-groups/{}", id(&web)), None)
            .await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("SECURITY_GROUP_IN_USE"))
        );
        let (st, e) = a.call("DELETE", &format!("/v1/subnets/{}", id(&sn)), None).await;
        assert_eq!((st, e["error"]["code"].as_str()), (409, Some("SUBNET_IN_USE")));
        let (_, list) = a
            .call("GET", &format!("/v1/endpoints?vpc_id={}", id(&v)), None)
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        // Deleting the VPC takes everything in it along.
        let (st, _) = a.call("DELETE", &format!("/v1/vpcs/{}", id(&v)), None).await;
        assert_eq!(st, 204);
        for list in [
            "/v1/endpoints",
            "/v1/security-groups",
            "/v1/network-acls",
            "/v1/subnets",
        ] {
            let (_, l) = a.call("GET", &format!("{list}?vpc_id={}", id(&v)), None).await;
            let left: Vec<_> = l["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["vpc_id"] == v["id"])
                .collect();
            assert!(left.is_empty(), "{backend} {list}: {left:?}");
        }
    }
}
