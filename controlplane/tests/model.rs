//! Model-based test: random sequences of create / accept / reject / delete / expire operations by three
//! accounts, against a small reference model of the rules. The service (over HTTP) agrees at every step: the
//! same HTTP status, the same error code, the same resulting peering status. Each sequence runs on SQLite and,
//! when configured, on PostgreSQL.

mod common;

use common::{backends, start_with, Api};
use controlplane::store::Limits;
use proptest::prelude::*;
use serde_json::{json, Value};

const DAY: i64 = 24 * 3600 * 1000;

#[derive(Clone, Debug)]
enum Op {
    Create {
        by: usize,
        requester: usize,
        accepter: usize,
        auto: bool,
    },
    Accept {
        by: usize,
        peering: usize,
    },
    Reject {
        by: usize,
        peering: usize,
    },
    Delete {
        by: usize,
        peering: usize,
    },
    Advance {
        days: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Mostly from the caller's own VPCs (so quotas and duplicates are reached), sometimes from another's.
        5 => (0..3usize, 0..2usize, 0..6usize, any::<bool>(), 0..10u8).prop_map(|(by, own, accepter, auto, foreign)| {
            let requester = if foreign == 0 { (by * 2 + 2 + own) % 6 } else { by * 2 + own };
            Op::Create { by, requester, accepter, auto: auto && foreign % 3 == 0 }
        }),
        3 => (0..3usize, 0..8usize).prop_map(|(by, peering)| Op::Accept { by, peering }),
        1 => (0..3usize, 0..8usize).prop_map(|(by, peering)| Op::Reject { by, peering }),
        1 => (0..3usize, 0..8usize).prop_map(|(by, peering)| Op::Delete { by, peering }),
        1 => (1..5i64).prop_map(|days| Op::Advance { days }),
    ]
}

/// VPC i belongs to account i / 2; VPC 0 and VPC 4 overlap (10.0.0.0/16).
const BLOCKS: [&str; 6] = [
    "10.0.0.0/16",
    "10.1.0.0/16",
    "10.2.0.0/16",
    "10.3.0.0/16",
    "10.0.0.0/16",
    "10.5.0.0/16",
];

fn owner(vpc: usize) -> usize {
    vpc / 2
}

#[derive(Clone, Debug)]
struct ModelPeering {
    id: String,
    requester: usize,
    accepter: usize,
    status: &'static str,
    expires: i64,
}

struct Model {
    now: i64,
    peerings: Vec<ModelPeering>,
    limits: Limits,
}

/// What the model expects: HTTP status, error code (if any), resulting status (if any).
type Expect = (u16, Option<&'static str>, Option<&'static str>);

impl Model {
    fn expire(&mut self) {
        for p in &mut self.peerings {
            if p.status == "pending" && p.expires <= self.now {
                p.status = "expired";
            }
        }
    }

    fn active_on(&self, vpc: usize) -> i64 {
        self.peerings
            .iter()
            .filter(|p| p.status == "active" && (p.requester == vpc || p.accepter == vpc))
            .count() as i64
    }

    fn create(&mut self, by: usize, r: usize, a: usize, auto: bool) -> Expect {
        self.expire();
        if owner(r) != by {
            return (404, Some("NOT_FOUND"), None);
        }
        if r == a {
            return (400, Some("INVALID_PEERING"), None);
        }
        if auto && owner(a) != by {
            return (400, Some("AUTO_ACCEPT_CROSS_ACCOUNT"), None);
        }
        let overlap = BLOCKS[r] == BLOCKS[a];
        let status = if overlap {
            "failed"
        } else if auto {
            "active"
        } else {
            "pending"
        };
        if status == "pending" {
            let pending = self
                .peerings
                .iter()
                .filter(|p| p.status == "pending" && owner(p.requester) == by)
                .count() as i64;
            if pending >= self.limits.pending_per_account {
                return (409, Some("PEERING_QUOTA_EXCEEDED"), None);
            }
        }
        if status == "active"
            && (self.active_on(r) >= self.limits.active_per_vpc
                || self.active_on(a) >= self.limits.active_per_vpc)
        {
            return (409, Some("PEERING_QUOTA_EXCEEDED"), None);
        }
        let live = |s: &str| s == "pending" || s == "active";
        if status != "failed"
            && self.peerings.iter().any(|p| {
                live(p.status) && ((p.requester, p.accepter) == (r, a) || (p.requester, p.accepter) == (a, r))
            })
        {
            return (409, Some("DUPLICATE_PEERING"), None);
        }
        self.peerings.push(ModelPeering {
            id: String::new(),
            requester: r,
            accepter: a,
            status,
            expires: self.now + 7 * DAY,
        });
        (201, None, Some(status))
    }

    fn visible(&self, by: usize, i: usize) -> bool {
        self.peerings
            .get(i)
            .is_some_and(|p| owner(p.requester) == by || owner(p.accepter) == by)
    }

    fn decide(&mut self, by: usize, i: usize, to: &'static str) -> Expect {
        self.expire();
        if !self.visible(by, i) {
            return (404, Some("NOT_FOUND"), None);
        }
        let p = self.peerings[i].clone();
        if owner(p.accepter) != by {
            return (403, Some("FORBIDDEN"), None);
        }
        if p.status != "pending" {
            return (409, Some("PEERING_NOT_PENDING"), None);
        }
        if to == "active"
            && (self.active_on(p.requester) >= self.limits.active_per_vpc
                || self.active_on(p.accepter) >= self.limits.active_per_vpc)
        {
            return (409, Some("PEERING_QUOTA_EXCEEDED"), None);
        }
        self.peerings[i].status = to;
        (200, None, Some(to))
    }

    fn delete(&mut self, by: usize, i: usize) -> Expect {
        self.expire();
        if !self.visible(by, i) {
            return (404, Some("NOT_FOUND"), None);
        }
        let p = &self.peerings[i];
        match p.status {
            "active" => {}
            "pending" if owner(p.requester) == by => {}
            "pending" => return (403, Some("FORBIDDEN"), None),
            _ => return (409, Some("PEERING_NOT_DELETABLE"), None),
        }
        self.peerings[i].status = "deleted";
        (200, None, Some("deleted"))
    }
}

async fn run_case(backend: &str, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let limits = Limits {
        active_per_vpc: 2,
        pending_per_account: 2,
        ..Limits::default()
    };
    let server = start_with(backend, limits.clone(), 1e9).await;
    let mut accounts = Vec::new();
    for name in ["A", "B", "C"] {
        accounts.push(Api::new_account(&server, name).await);
    }
    let mut vpcs = Vec::new();
    for (i, block) in BLOCKS.iter().enumerate() {
        vpcs.push(
            accounts[owner(i)].vpc(&format!("v{i}"), block).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut model = Model {
        now: 0,
        peerings: Vec::new(),
        limits,
    };
    for (step, op) in ops.into_iter().enumerate() {
        let (expected, (status, body)): (Expect, (u16, Value)) = match op.clone() {
            Op::Create {
                by,
                requester,
                accepter,
                auto,
            } => {
                let mut body = json!({"requester_vpc_id": vpcs[requester], "accepter_vpc_id": vpcs[accepter], "auto_accept": auto});
                if owner(accepter) != by {
                    body["accepter_account_id"] = json!(accounts[owner(accepter)].account);
                }
                let e = model.create(by, requester, accepter, auto);
                let got = accounts[by].call("POST", "/v1/vpc-peering", Some(body)).await;
                if got.0 == 201 {
                    model.peerings.last_mut().unwrap().id = got.1["id"].as_str().unwrap().to_string();
                }
                (e, got)
            }
            Op::Accept { by, peering } | Op::Reject { by, peering } | Op::Delete { by, peering } => {
                let id = model
                    .peerings
                    .get(peering)
                    .map(|p| p.id.clone())
                    .unwrap_or_else(|| "pcx_missing".into());
                let (method, path, e) = match op {
                    Op::Accept { .. } => (
                        "POST",
                        format!("/v1/vpc-peering/{id}/accept"),
                        model.decide(by, peering, "active"),
                    ),
                    Op::Reject { .. } => (
                        "POST",
                        format!("/v1/vpc-peering/{id}/reject"),
                        model.decide(by, peering, "rejected"),
                    ),
                    _ => (
                        "DELETE",
                        format!("/v1/vpc-peering/{id}"),
                        model.delete(by, peering),
                    ),
                };
                (e, accounts[by].call(method, &path, None).await)
            }
            Op::Advance { days } => {
                model.now += days * DAY;
                server.clock.advance(days * DAY);
                continue;
            }
        };
        let (e_status, e_code, e_peering) = expected;
        prop_assert_eq!(status, e_status, "{} step {}: {:?} → {}", backend, step, op, body);
        if let Some(code) = e_code {
            prop_assert_eq!(
                body["error"]["code"].as_str(),
                Some(code),
                "step {}: {:?}",
                step,
                op
            );
        }
        if let Some(s) = e_peering {
            prop_assert_eq!(body["status"].as_str(), Some(s), "step {}: {:?}", step, op);
        }
        // Every peering the model knows has the model's status (after lazy expiry), seen by its requester.
        model.expire();
        for p in &model.peerings {
            let (_, got) = accounts[owner(p.requester)]
                .call("GET", &format!("/v1/vpc-peering/{}", p.id), None)
                .await;
            prop_assert_eq!(
                got["status"].as_str(),
                Some(p.status),
                "step {}: {} after {:?}",
                step,
                p.id,
                op
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn service_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..25)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        for backend in backends() {
            rt.block_on(run_case(backend, ops.clone()))?;
        }
    }
}
