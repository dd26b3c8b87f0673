//! The apply engine: runs a change set's steps ([`netmodel::changeset`]) against a control plane, one step at a
//! time in the change set's order, each with the key of the account that must run it.
//!
//! Safe to interrupt and to repeat:
//! - every POST carries an `Idempotency-Key` derived from the plan's version, the step and the request, so a
//!   retry after a crash gets the first answer back instead of a second object;
//! - a journal ([`RunState`]: `journal.jsonl` in the CLI's state folder, the server's database for applies
//!   started in the planner) records each step before and after its call, and the
//!   bindings (plan id → live id) are saved after every step, so the next run re-reads the live state, diffs
//!   again and starts where this one stopped;
//! - a "not found" right after a create is "not yet visible": the engine polls with back-off, never recreates;
//! - deletes of what is already gone, and creates of what already exists (`ROUTE_EXISTS`, `RULE_EXISTS`, …),
//!   count as done.
//!
//! Steps of an account whose key was not given are never run: the run ends awaiting that account (exit 3 of
//! `peerplan apply`), and the steps that depend on them wait too.

use std::{collections::BTreeMap, time::Duration};

use crate::run_state::{RunState, ACCOUNTS};

use controlplane::{
    client::{Client, ClientError},
    wire,
};
use netmodel::{
    changeset::{Bindings, ChangeSet, Handle, Op, SgDirection, Step},
    ids::AccountId,
    model::{Action, GatewayKind, PeeringStatus, PortRange, SgRule, Target},
    Plan,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long a peering may stay `pending` (or a new object invisible) while the engine waits.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// What a subnet is associated with.
#[derive(Clone, Copy)]
enum Container {
    RouteTable,
    NetworkAcl,
}

/// What happened to one step, as the progress display and `--format json` report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The step is about to call the control plane.
    Start,
    /// The step is done (or was already true).
    Done,
    /// The step failed; the run stops.
    Failed,
    /// The step was not run: its account's key was not given.
    NoKey,
    /// The step was not run: a step it depends on did not run.
    Blocked,
}

/// One step event.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub event: EventKind,
    /// 1-based position in the run.
    pub step: usize,
    pub total: usize,
    pub action: &'static str,
    /// `+ ~ - =` for people.
    #[serde(skip)]
    pub symbol: char,
    pub kind: &'static str,
    pub plan_id: String,
    pub account: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every step is done.
    Applied { steps: usize },
    /// Some steps need the key of accounts that were not given.
    Awaiting(Awaiting),
    /// A step failed: which, why and what to do.
    Failed {
        step: String,
        reason: String,
        fix: String,
    },
}

/// A run that stopped for want of other accounts' keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Awaiting {
    /// Plan account id → the labels of its steps that did not run.
    pub accounts: BTreeMap<AccountId, Vec<String>>,
    /// Peerings waiting for acceptance: (plan id, live id, accepter account, expiry as Unix seconds).
    pub acceptances: Vec<(String, String, AccountId, i64)>,
    /// Steps of keyed accounts that wait for them.
    pub blocked: usize,
}

/// A step that could not be done.
#[derive(Debug)]
struct StepError {
    reason: String,
    fix: String,
}

fn failed(reason: impl Into<String>, fix: impl Into<String>) -> StepError {
    StepError {
        reason: reason.into(),
        fix: fix.into(),
    }
}

impl From<ClientError> for StepError {
    fn from(e: ClientError) -> StepError {
        let fix = match &e {
            ClientError::Transport(_) => {
                "check that the target is up and reachable, then apply again (done steps are not repeated)"
            }
            ClientError::Api {
                status: 401 | 403, ..
            } => "check the account's API key in the keys file",
            ClientError::Api {
                status: 429 | 500..=599,
                ..
            } => "apply again later: done steps are not repeated",
            _ => "fix the plan or the live object named above, then apply again",
        };
        failed(e.to_string(), fix)
    }
}

fn is_code(e: &ClientError, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

fn not_found(e: &ClientError) -> bool {
    matches!(e, ClientError::Api { status: 404, .. })
}

/// The version of a plan: a digest of its JSON.
pub fn plan_version(plan: &Plan) -> String {
    let text = serde_json::to_string(plan).unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// One run of a change set.
pub struct Engine<'a> {
    pub desired: &'a Plan,
    /// Clients of the accounts whose key was given, by plan account id.
    pub clients: BTreeMap<AccountId, Client>,
    pub bindings: Bindings,
    pub version: String,
    /// The journal and documents of this plan on this target.
    pub state: RunState,
    /// The current step's attempt (see [`RunState::unfinished`]).
    pub attempt: String,
    /// The API keys in use, hidden in every message.
    pub secrets: Vec<String>,
}

impl Engine<'_> {
    /// Runs the steps in order, reporting each event to `report`. Stops at the first failure.
    pub async fn run(
        &mut self,
        changes: &ChangeSet,
        report: &mut (dyn FnMut(&Event) + Send),
    ) -> anyhow::Result<Outcome> {
        let steps = changes.steps();
        let total = steps.len();
        let mut done = vec![false; total];
        let mut awaiting = Awaiting {
            accounts: BTreeMap::new(),
            acceptances: Vec::new(),
            blocked: 0,
        };
        self.learn_accounts().await;
        let mut resume = self.state.unfinished(&self.version).await?;
        for (i, step) in steps.iter().enumerate() {
            let event = |event: EventKind, live_id: Option<String>, message: Option<String>| Event {
                event,
                step: i + 1,
                total,
                action: step.action.as_str(),
                symbol: step.action.symbol(),
                kind: step.kind.as_str(),
                plan_id: step.plan_id.clone(),
                account: step.account.to_string(),
                detail: step.detail.clone(),
                live_id,
                message,
            };
            // Adopting a live VPC makes no call, so it needs no key: the binding is known from the live state.
            if let Op::AdoptVpc { vpc, live } = &step.op {
                self.bindings.vpcs.insert(vpc.clone(), live.clone());
                self.state.save_bindings(&self.bindings).await?;
                report(&event(EventKind::Start, None, None));
                report(&event(EventKind::Done, Some(live.to_string()), None));
                done[i] = true;
                continue;
            }
            // A step of an account without a key is that account's part (even when it would also wait for
            // other steps): it goes into the hand-off.
            let Some(client) = self.clients.get(&step.account).cloned() else {
                awaiting
                    .accounts
                    .entry(step.account.clone())
                    .or_default()
                    .push(step.label());
                if let Op::AcceptPeering { peering } = &step.op {
                    self.note_acceptance(peering, &step.account, &mut awaiting).await;
                }
                report(&event(
                    EventKind::NoKey,
                    None,
                    Some(format!("needs the key of account {}", step.account)),
                ));
                continue;
            };
            if changes.dependencies(i).iter().any(|&d| !done[d]) {
                awaiting.blocked += 1;
                report(&event(
                    EventKind::Blocked,
                    None,
                    Some("waits for a step that did not run".into()),
                ));
                continue;
            }
            let label = step.label();
            self.attempt = resume
                .remove(&label)
                .unwrap_or_else(|| hex::encode(rand::random::<[u8; 8]>()));
            self.state
                .record(&self.version, &label, "start", Some(&self.attempt), None, None)
                .await?;
            report(&event(EventKind::Start, None, None));
            match self.step(step, &client).await {
                Ok(live_id) => {
                    self.state.save_bindings(&self.bindings).await?;
                    self.state
                        .record(&self.version, &label, "done", None, live_id.as_deref(), None)
                        .await?;
                    report(&event(EventKind::Done, live_id, None));
                    done[i] = true;
                }
                Err(mut e) => {
                    e.reason = self.redact(&e.reason);
                    self.state
                        .record(&self.version, &label, "failed", None, None, Some(&e.reason))
                        .await?;
                    report(&event(EventKind::Failed, None, Some(e.reason.clone())));
                    return Ok(Outcome::Failed {
                        step: label,
                        reason: e.reason,
                        fix: e.fix,
                    });
                }
            }
        }
        Ok(if awaiting.accounts.is_empty() {
            Outcome::Applied { steps: total }
        } else {
            Outcome::Awaiting(awaiting)
        })
    }

    /// Associates `subnet` with a route table or network ACL (a new association moves it from the one before).
    async fn associate(
        &self,
        step: &Step,
        c: &Client,
        container: Container,
        id: &str,
        subnet: &str,
    ) -> Result<(), StepError> {
        let k = self.key(step, &format!("{id}:{subnet}"));
        let ic = c.idempotent(&k);
        match container {
            Container::RouteTable => claimed(|| ic.associate_route_table(id, subnet), nothing)
                .await
                .map(|_| ())?,
            Container::NetworkAcl => claimed(|| ic.associate_network_acl(id, subnet), nothing)
                .await
                .map(|_| ())?,
        }
        Ok(())
    }

    /// A control plane's error text as it may be shown and journaled: the keys in use never (a server could
    /// echo a request header), any `Bearer` token hidden, at most 500 characters.
    fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }

    /// Records the control-plane account id of every account whose key was given (read from one of its bound
    /// VPCs), so a later run without that key can still request a peering to it.
    async fn learn_accounts(&self) {
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.desired.vpcs {
            let (Some(client), Some(live)) = (self.clients.get(&v.account), self.bindings.vpcs.get(&v.id))
            else {
                continue;
            };
            if seen.insert(v.account.clone()) {
                if let Ok(l) = client.get_vpc(live.as_str()).await {
                    self.remember_account(&v.account, &l.account_id).await;
                }
            }
        }
    }

    /// Records a peering the accepter still has to accept, with its expiry as the requester sees it.
    async fn note_acceptance(
        &self,
        peering: &netmodel::ids::PeeringId,
        accepter: &AccountId,
        a: &mut Awaiting,
    ) {
        let Some(live) = self.bindings.peerings.get(peering) else {
            return;
        };
        let requester = self
            .desired
            .peerings
            .iter()
            .find(|p| &p.id == peering)
            .map(|p| p.requester.account.clone());
        let expires = match requester.and_then(|r| self.clients.get(&r)) {
            Some(c) => c
                .get_peering(live.as_str())
                .await
                .map(|p| p.expires_at)
                .unwrap_or(0),
            None => 0,
        };
        a.acceptances
            .push((peering.to_string(), live.to_string(), accepter.clone(), expires));
    }

    /// The `Idempotency-Key` of one POST of a step: the plan version, the step, its attempt and the request.
    fn key(&self, step: &Step, what: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            self.version.as_str(),
            &step.label(),
            step.account.as_str(),
            self.attempt.as_str(),
            what,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        format!("peerplan-{}", hex::encode(&h.finalize()[..16]))
    }

    fn vpc(&self, id: &netmodel::ids::VpcId) -> Result<String, StepError> {
        self.bindings
            .vpcs
            .get(id)
            .map(|v| v.to_string())
            .ok_or_else(|| unbound("VPC", id.as_str()))
    }

    fn subnet(&self, id: &netmodel::ids::SubnetId) -> Result<String, StepError> {
        self.bindings
            .subnets
            .get(id)
            .map(|v| v.to_string())
            .ok_or_else(|| unbound("subnet", id.as_str()))
    }

    fn table(&self, h: &Handle) -> Result<String, StepError> {
        match h {
            Handle::Live(id) => Ok(id.clone()),
            Handle::Plan(id) => self
                .bindings
                .route_tables
                .iter()
                .find(|(k, _)| k.as_str() == id)
                .map(|(_, v)| v.to_string())
                .ok_or_else(|| unbound("route table", id)),
        }
    }

    fn group(&self, h: &Handle) -> Result<String, StepError> {
        match h {
            Handle::Live(id) => Ok(id.clone()),
            Handle::Plan(id) => self.group_id(id).ok_or_else(|| unbound("security group", id)),
        }
    }

    fn group_id(&self, id: &str) -> Option<String> {
        self.bindings
            .security_groups
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, v)| v.to_string())
    }

    fn acl(&self, h: &Handle) -> Result<String, StepError> {
        match h {
            Handle::Live(id) => Ok(id.clone()),
            Handle::Plan(id) => self
                .bindings
                .network_acls
                .iter()
                .find(|(k, _)| k.as_str() == id)
                .map(|(_, v)| v.to_string())
                .ok_or_else(|| unbound("network ACL", id)),
        }
    }

    fn peering(&self, id: &netmodel::ids::PeeringId) -> Result<String, StepError> {
        self.bindings
            .peerings
            .get(id)
            .map(|v| v.to_string())
            .ok_or_else(|| unbound("peering", id.as_str()))
    }

    /// A route target as the API names it: bound plan objects by their live id, others as written.
    fn target(&self, t: &Target) -> String {
        match t {
            Target::Peering(p) => self
                .bindings
                .peerings
                .get(p)
                .map(|v| v.to_string())
                .unwrap_or_else(|| p.to_string()),
            Target::InternetGateway(g)
            | Target::NatGateway(g)
            | Target::VpnGateway(g)
            | Target::GatewayEndpoint(g) => self
                .bindings
                .gateways
                .get(g)
                .map(|v| v.to_string())
                .unwrap_or_else(|| g.to_string()),
            Target::Local => "local".into(),
            Target::Blackhole => "blackhole".into(),
        }
    }

    /// Runs one step; returns the live id it created or bound, if any.
    async fn step(&mut self, step: &Step, c: &Client) -> Result<Option<String>, StepError> {
        match &step.op {
            Op::CreateVpc {
                vpc,
                main_table,
                default_acl,
                default_sg,
            } => {
                let req = wire::CreateVpc {
                    name: vpc.name_or_id(),
                    region: vpc.region.clone(),
                    cidr_block: vpc.cidr.to_string(),
                    secondary_cidr_blocks: vpc.secondary_cidrs.iter().map(|c| c.to_string()).collect(),
                    ipv6_cidr_blocks: vpc.ipv6_cidrs.iter().map(|c| c.to_string()).collect(),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let ic = c.idempotent(&self.key(step, &body));
                let v = claimed(
                    || ic.create_vpc(&req),
                    || async {
                        Ok(c.list_vpcs().await?.into_iter().find(|v| {
                            v.region == req.region && v.cidr_block == req.cidr_block && v.name == req.name
                        }))
                    },
                )
                .await?;
                self.bindings.vpcs.insert(vpc.id.clone(), v.id.clone().into());
                if let Some(t) = main_table {
                    self.bindings
                        .route_tables
                        .insert(t.clone(), v.main_route_table_id.clone().into());
                }
                if let Some(a) = default_acl {
                    self.bindings
                        .network_acls
                        .insert(a.clone(), v.default_network_acl_id.clone().into());
                }
                if let Some(g) = default_sg {
                    self.bindings
                        .security_groups
                        .insert(g.clone(), v.default_security_group_id.clone().into());
                }
                Ok(Some(v.id))
            }
            Op::AdoptVpc { vpc, live } => {
                self.bindings.vpcs.insert(vpc.clone(), live.clone());
                Ok(Some(live.to_string()))
            }
            Op::UpdateVpc { vpc, name } => {
                let id = self.vpc(vpc)?;
                c.update_vpc(&id, &wire::UpdateVpc { name: name.clone() }).await?;
                Ok(Some(id))
            }
            Op::DeleteVpc { live } => gone(c.delete_vpc(live.as_str()).await),
            Op::CreateVpcBlock { vpc, cidr } => Err(failed(
                format!("the control plane's API cannot add block {cidr} to an existing VPC ({vpc})"),
                "create the VPC with all its blocks (a new VPC), or drop the block from the plan",
            )),
            Op::DeleteVpcBlock { live, cidr } => Err(failed(
                format!("the control plane's API cannot remove block {cidr} from VPC {live}"),
                "keep the block in the plan, or replace the VPC",
            )),
            Op::CreateSubnet { subnet } => {
                let req = wire::CreateSubnet {
                    vpc_id: self.vpc(&subnet.vpc)?,
                    cidr_block: subnet.cidr.to_string(),
                    availability_zone: subnet.az.clone(),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let ic = c.idempotent(&self.key(step, &body));
                let s = claimed(
                    || ic.create_subnet(&req),
                    || async {
                        Ok(c.list_subnets()
                            .await?
                            .into_iter()
                            .find(|s| s.vpc_id == req.vpc_id && s.cidr_block == req.cidr_block))
                    },
                )
                .await?;
                self.bindings
                    .subnets
                    .insert(subnet.id.clone(), s.id.clone().into());
                Ok(Some(s.id))
            }
            Op::UpdateSubnet { subnet } => Err(failed(
                format!(
                    "the control plane's API cannot change subnet {} in place",
                    subnet.id
                ),
                "keep the live subnet's settings in the plan, or give the subnet a new block (a new subnet)",
            )),
            Op::DeleteSubnet { live } => gone(c.delete_subnet(live.as_str()).await),
            Op::CreateRouteTable { table } => {
                let vpc = self.vpc(&table.vpc)?;
                let t = {
                    let ic = c.idempotent(&self.key(step, &vpc));
                    claimed(|| ic.create_route_table(&vpc), nothing).await
                }?;
                self.bindings
                    .route_tables
                    .insert(table.id.clone(), t.id.clone().into());
                for s in &table.subnets {
                    let s = self.subnet(s)?;
                    self.associate(step, c, Container::RouteTable, &t.id, &s).await?;
                }
                Ok(Some(t.id))
            }
            Op::UpdateRouteTable { table, subnets } => {
                let id = self.table(&Handle::Plan(table.to_string()))?;
                let now = c.get_route_table(&id).await?;
                let want: Vec<String> = subnets.iter().map(|s| self.subnet(s)).collect::<Result<_, _>>()?;
                for s in want.iter().filter(|s| !now.subnet_ids.contains(s)) {
                    self.associate(step, c, Container::RouteTable, &id, s).await?;
                }
                for s in now.subnet_ids.iter().filter(|s| !want.contains(s)) {
                    ignore_not_found(c.disassociate_route_table(&id, s).await)?;
                }
                Ok(Some(id))
            }
            Op::DeleteRouteTable { live } => {
                // Its subnets go back to the main table first (a table in use cannot be deleted).
                let now = match c.get_route_table(live.as_str()).await {
                    Ok(t) => t,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                for s in &now.subnet_ids {
                    ignore_not_found(c.disassociate_route_table(live.as_str(), s).await)?;
                }
                gone(c.delete_route_table(live.as_str()).await)
            }
            Op::CreateSecurityGroup { group } => {
                let req = wire::CreateSecurityGroup {
                    vpc_id: self.vpc(&group.vpc)?,
                    name: if group.name.is_empty() {
                        group.id.to_string()
                    } else {
                        group.name.clone()
                    },
                    description: String::new(),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let answer = {
                    let ic = c.idempotent(&self.key(step, &body));
                    claimed(|| ic.create_security_group(&req), nothing).await
                };
                let g = match answer {
                    Ok(g) => g,
                    Err(e) if is_code(&e, &["SECURITY_GROUP_EXISTS"]) => c
                        .list_security_groups()
                        .await?
                        .into_iter()
                        .find(|g| g.vpc_id == req.vpc_id && g.name == req.name)
                        .ok_or_else(|| StepError::from(e))?,
                    Err(e) => return Err(e.into()),
                };
                self.bindings
                    .security_groups
                    .insert(group.id.clone(), g.id.clone().into());
                Ok(Some(g.id))
            }
            Op::UpdateSecurityGroup { group, name } => {
                let id = self.group(&Handle::Plan(group.to_string()))?;
                c.update_security_group(
                    &id,
                    &wire::UpdateSecurityGroup {
                        name: Some(name.clone()),
                        description: None,
                    },
                )
                .await?;
                Ok(Some(id))
            }
            Op::DeleteSecurityGroup { live } => gone(c.delete_security_group(live.as_str()).await),
            Op::CreateNetworkAcl { acl } => {
                let vpc = self.vpc(&acl.vpc)?;
                let a = {
                    let ic = c.idempotent(&self.key(step, &vpc));
                    claimed(|| ic.create_network_acl(&vpc), nothing).await
                }?;
                self.bindings
                    .network_acls
                    .insert(acl.id.clone(), a.id.clone().into());
                for s in &acl.subnets {
                    let s = self.subnet(s)?;
                    self.associate(step, c, Container::NetworkAcl, &a.id, &s).await?;
                }
                Ok(Some(a.id))
            }
            Op::UpdateNetworkAcl { acl, subnets } => {
                let id = self.acl(&Handle::Plan(acl.to_string()))?;
                let now = c.get_network_acl(&id).await?;
                for s in subnets {
                    let s = self.subnet(s)?;
                    if !now.subnet_ids.contains(&s) {
                        self.associate(step, c, Container::NetworkAcl, &id, &s).await?;
                    }
                }
                Ok(Some(id))
            }
            Op::DeleteNetworkAcl { live } => {
                // Its subnets go back to the VPC's default ACL first (an ACL in use cannot be deleted).
                let now = match c.get_network_acl(live.as_str()).await {
                    Ok(a) => a,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                if !now.subnet_ids.is_empty() {
                    let default = c.get_vpc(&now.vpc_id).await?.default_network_acl_id;
                    for s in &now.subnet_ids {
                        self.associate(step, c, Container::NetworkAcl, &default, s)
                            .await?;
                    }
                }
                gone(c.delete_network_acl(live.as_str()).await)
            }
            Op::CreateGateway { gateway } => {
                let req = wire::CreateGateway {
                    vpc_id: self.vpc(&gateway.vpc)?,
                    kind: match gateway.kind {
                        GatewayKind::Internet => "internet",
                        GatewayKind::Nat => "nat",
                        GatewayKind::Vpn => "vpn",
                        GatewayKind::GatewayEndpoint => "endpoint",
                    }
                    .into(),
                    name: gateway.name.clone(),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let ic = c.idempotent(&self.key(step, &body));
                let g = claimed(|| ic.create_gateway(&req), nothing).await?;
                self.bindings
                    .gateways
                    .insert(gateway.id.clone(), g.id.clone().into());
                Ok(Some(g.id))
            }
            Op::UpdateGateway { gateway, .. } => Err(failed(
                format!("the control plane's API cannot rename gateway {gateway}"),
                "keep the live gateway's name in the plan",
            )),
            Op::DeleteGateway { live } => gone(c.delete_gateway(live.as_str()).await),
            Op::CreateEndpoint { endpoint } => {
                let groups = endpoint
                    .security_groups
                    .iter()
                    .map(|g| self.group(&Handle::Plan(g.to_string())))
                    .collect::<Result<Vec<_>, _>>()?;
                let req = wire::CreateEndpoint {
                    subnet_id: self.subnet(&endpoint.subnet)?,
                    name: if endpoint.name.is_empty() {
                        endpoint.id.to_string()
                    } else {
                        endpoint.name.clone()
                    },
                    kind: serde_json::to_value(endpoint.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_else(|| "other".into()),
                    private_ip: endpoint
                        .ipv4
                        .map(|a| a.to_string())
                        .or(endpoint.ipv6.map(|a| a.to_string())),
                    ports: endpoint.ports.clone(),
                    security_group_ids: groups,
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let ic = c.idempotent(&self.key(step, &body));
                let e = claimed(
                    || ic.create_endpoint(&req),
                    || async {
                        Ok(c.list_endpoints().await?.into_iter().find(|e| {
                            e.subnet_id == req.subnet_id && Some(&e.private_ip) == req.private_ip.as_ref()
                        }))
                    },
                )
                .await?;
                self.bindings
                    .endpoints
                    .insert(endpoint.id.clone(), e.id.clone().into());
                Ok(Some(e.id))
            }
            Op::UpdateEndpoint { endpoint } => {
                let id = self
                    .bindings
                    .endpoints
                    .get(&endpoint.id)
                    .map(|v| v.to_string())
                    .ok_or_else(|| unbound("endpoint", endpoint.id.as_str()))?;
                // The API changes name, ports and groups; a kind is fixed at creation.
                let kind = serde_json::to_value(endpoint.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let now = c.get_endpoint(&id).await?;
                if now.kind != kind {
                    return Err(failed(
                        format!(
                            "endpoint {} ({id}) is a {} and the plan makes it a {kind}: the API cannot change an endpoint's kind",
                            endpoint.id, now.kind
                        ),
                        "keep the live kind in the plan, or give the planned endpoint another address (a new endpoint)",
                    ));
                }
                let groups = endpoint
                    .security_groups
                    .iter()
                    .map(|g| self.group(&Handle::Plan(g.to_string())))
                    .collect::<Result<Vec<_>, _>>()?;
                c.update_endpoint(
                    &id,
                    &wire::UpdateEndpoint {
                        name: Some(if endpoint.name.is_empty() {
                            endpoint.id.to_string()
                        } else {
                            endpoint.name.clone()
                        }),
                        ports: Some(endpoint.ports.clone()),
                        security_group_ids: Some(groups),
                    },
                )
                .await?;
                Ok(Some(id))
            }
            Op::DeleteEndpoint { live } => gone(c.delete_endpoint(live.as_str()).await),
            Op::CreatePeering { peering, auto_accept } => {
                self.create_peering(step, c, peering, *auto_accept).await
            }
            Op::AcceptPeering { peering } => {
                let id = self.peering(peering)?;
                let p = visible(|| c.get_peering(&id)).await?;
                match p.status {
                    PeeringStatus::Pending => match c.accept_peering(&id).await {
                        Ok(_) => {}
                        // Accepted meanwhile (a retry).
                        Err(e) if is_code(&e, &["PEERING_NOT_PENDING"]) => {
                            stopped(&c.get_peering(&id).await?, peering.as_str()).map(|_| ())?;
                        }
                        Err(e) => return Err(e.into()),
                    },
                    _ => {
                        stopped(&p, peering.as_str())?;
                    }
                }
                Ok(Some(id))
            }
            Op::WaitActive { peering } => {
                let id = self.peering(peering)?;
                let start = std::time::Instant::now();
                let mut pause = Duration::from_millis(100);
                loop {
                    let p = visible(|| c.get_peering(&id)).await?;
                    if p.status != PeeringStatus::Pending {
                        stopped(&p, peering.as_str())?;
                        return Ok(Some(id));
                    }
                    if start.elapsed() > WAIT_LIMIT {
                        return Err(failed(
                            format!(
                                "peering {peering} ({id}) is still pending after {} s",
                                WAIT_LIMIT.as_secs()
                            ),
                            "the accepter must accept it; apply again once it is active",
                        ));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
            // Not in the NFYio API: nothing to call (the curl export says to set it by hand).
            Op::SetPeeringOptions { .. } => Ok(None),
            Op::DeletePeering { live } => match c.delete_peering(live.as_str()).await {
                Ok(_) => Ok(None),
                // Already gone, or failed / rejected / expired: treated as gone.
                Err(e) if not_found(&e) || is_code(&e, &["PEERING_NOT_DELETABLE"]) => Ok(None),
                Err(e) => Err(e.into()),
            },
            Op::CreateRoute { table, route } => {
                let t = self.table(table)?;
                let req = wire::CreateRoute {
                    destination_cidr: route.destination.to_string(),
                    target: self.target(&route.target),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let answer = {
                    let k = self.key(step, &format!("{t}:{body}"));
                    let ic = c.idempotent(&k);
                    claimed(|| ic.add_route(&t, &req), nothing).await
                };
                match answer {
                    Ok(_) => Ok(None),
                    Err(e) if is_code(&e, &["ROUTE_EXISTS"]) => {
                        let now = c.get_route_table(&t).await?;
                        let same = now
                            .routes
                            .iter()
                            .any(|r| r.destination_cidr == req.destination_cidr && r.target == req.target);
                        if same {
                            Ok(None)
                        } else {
                            Err(e.into())
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Op::UpdateRoute { table, route } => {
                let t = self.table(table)?;
                ignore_not_found(c.delete_route(&t, &route.destination.to_string()).await)?;
                let req = wire::CreateRoute {
                    destination_cidr: route.destination.to_string(),
                    target: self.target(&route.target),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let answer = {
                    let k = self.key(step, &format!("{t}:{body}"));
                    let ic = c.idempotent(&k);
                    claimed(|| ic.add_route(&t, &req), nothing).await
                };
                match answer {
                    Ok(_) => Ok(None),
                    Err(e) if is_code(&e, &["ROUTE_EXISTS"]) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Op::DeleteRoute { table, destination } => {
                let t = self.table(table)?;
                ignore_not_found(c.delete_route(&t, &destination.to_string()).await)?;
                Ok(None)
            }
            Op::CreateSgRule {
                group,
                direction,
                rule,
            } => {
                let g = self.group(group)?;
                let req = self.sg_rule(*direction, rule, false)?;
                let body = serde_json::to_string(&req).unwrap_or_default();
                let answer = {
                    let k = self.key(step, &format!("{g}:{body}"));
                    let ic = c.idempotent(&k);
                    claimed(|| ic.add_sg_rule(&g, &req), nothing).await
                };
                match answer {
                    Ok(r) => Ok(Some(r.id)),
                    Err(e) if is_code(&e, &["RULE_EXISTS"]) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Op::DeleteSgRule {
                group,
                direction,
                rule,
                live_refs,
            } => {
                let g = self.group(group)?;
                let want = self.sg_rule(*direction, rule, *live_refs)?;
                let now = match c.get_security_group(&g).await {
                    Ok(now) => now,
                    Err(e) if not_found(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let list = match direction {
                    SgDirection::Ingress => &now.ingress,
                    SgDirection::Egress => &now.egress,
                };
                let found = list.iter().find(|r| {
                    r.protocol.to_string() == want.protocol
                        && r.from_port == want.from_port
                        && r.to_port == want.to_port
                        && r.cidr == want.cidr
                        && r.security_group_id == want.security_group_id
                });
                if let Some(r) = found {
                    ignore_not_found(c.delete_sg_rule(&g, &r.id).await)?;
                }
                Ok(None)
            }
            Op::CreateAclEntry { acl, entry } | Op::UpdateAclEntry { acl, entry } => {
                let a = self.acl(acl)?;
                if matches!(step.op, Op::UpdateAclEntry { .. }) {
                    ignore_not_found(
                        c.delete_acl_entry(&a, wire::rule_direction::word(entry.direction), entry.rule)
                            .await,
                    )?;
                }
                let ports = entry
                    .protocol
                    .has_ports()
                    .then(|| entry.ports.unwrap_or(PortRange::ALL));
                let req = wire::CreateAclEntry {
                    rule_number: entry.rule,
                    direction: wire::rule_direction::word(entry.direction).into(),
                    protocol: entry.protocol.to_string(),
                    from_port: ports.map(|p| p.from),
                    to_port: ports.map(|p| p.to),
                    cidr_block: entry.cidr.to_string(),
                    rule_action: match entry.action {
                        Action::Allow => "allow",
                        Action::Deny => "deny",
                    }
                    .into(),
                };
                let body = serde_json::to_string(&req).unwrap_or_default();
                let answer = {
                    let k = self.key(step, &format!("{a}:{body}"));
                    let ic = c.idempotent(&k);
                    claimed(|| ic.add_acl_entry(&a, &req), nothing).await
                };
                match answer {
                    Ok(_) => Ok(None),
                    Err(e) if is_code(&e, &["ACL_ENTRY_EXISTS"]) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Op::DeleteAclEntry { acl, direction, rule } => {
                let a = self.acl(acl)?;
                ignore_not_found(
                    c.delete_acl_entry(&a, wire::rule_direction::word(*direction), *rule)
                        .await,
                )?;
                Ok(None)
            }
        }
    }

    async fn create_peering(
        &mut self,
        step: &Step,
        c: &Client,
        peering: &netmodel::model::Peering,
        auto_accept: bool,
    ) -> Result<Option<String>, StepError> {
        let requester = self.vpc(&peering.requester.vpc)?;
        let accepter = self.vpc(&peering.accepter.vpc)?;
        // The accepter's control-plane account: read with its key when given, else from the requester's view
        // of an earlier peering between the two accounts.
        let accepter_account = match self.clients.get(&peering.accepter.account) {
            Some(a) => Some(visible(|| a.get_vpc(&accepter)).await?.account_id),
            None => self.accounts().await.get(&peering.accepter.account).cloned(),
        };
        let Some(accepter_account) = accepter_account else {
            return Err(failed(
                format!(
                    "the control-plane account of {} (the accepter of {}) is not known without its key",
                    peering.accepter.account, peering.id
                ),
                format!(
                    "give account {}'s key in --keys for this first apply",
                    peering.accepter.account
                ),
            ));
        };
        self.remember_account(&peering.accepter.account, &accepter_account)
            .await;
        let req = wire::CreatePeering {
            requester_vpc_id: requester,
            accepter_vpc_id: accepter,
            requester_region: Some(peering.requester.region.clone()),
            accepter_region: Some(peering.accepter.region.clone()),
            accepter_account_id: Some(accepter_account),
            auto_accept,
        };
        let body = serde_json::to_string(&req).unwrap_or_default();
        let ic = c.idempotent(&self.key(step, &body));
        let p = match claimed(|| ic.create_peering(&req), nothing).await {
            Ok(p) => p,
            // One live peering per pair: the one that exists is this step's (an earlier, unrecorded run).
            Err(e) if is_code(&e, &["DUPLICATE_PEERING"]) => c
                .list_peerings(None)
                .await?
                .into_iter()
                .find(|p| {
                    matches!(p.status, PeeringStatus::Pending | PeeringStatus::Active)
                        && p.requester_vpc_id == req.requester_vpc_id
                        && p.accepter_vpc_id == req.accepter_vpc_id
                })
                .ok_or_else(|| StepError::from(e))?,
            Err(e) => return Err(e.into()),
        };
        self.bindings
            .peerings
            .insert(peering.id.clone(), p.id.clone().into());
        stopped(&p, peering.id.as_str())?;
        Ok(Some(p.id))
    }

    /// Plan account id → control-plane account id, as learnt by earlier runs (`accounts.json`).
    async fn accounts(&self) -> BTreeMap<AccountId, String> {
        self.state
            .read(ACCOUNTS)
            .await
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    async fn remember_account(&self, plan: &AccountId, live: &str) {
        let mut all = self.accounts().await;
        if all.get(plan).map(String::as_str) != Some(live) {
            all.insert(plan.clone(), live.to_string());
            if let Ok(text) = serde_json::to_string_pretty(&all) {
                let _ = self.state.write(ACCOUNTS, &text).await;
            }
        }
    }

    /// The API form of a security-group rule. `live_refs`: the group it names is already a live id.
    fn sg_rule(
        &self,
        direction: SgDirection,
        r: &SgRule,
        live_refs: bool,
    ) -> Result<wire::CreateSgRule, StepError> {
        let ports = r.protocol.has_ports().then(|| r.ports.unwrap_or(PortRange::ALL));
        let group = match (&r.cidr, &r.sg) {
            (None, Some(sg)) if live_refs => Some(sg.group.to_string()),
            (None, Some(sg)) => Some(
                self.group_id(sg.group.as_str())
                    .unwrap_or_else(|| sg.group.to_string()),
            ),
            _ => None,
        };
        Ok(wire::CreateSgRule {
            direction: direction.as_str().into(),
            protocol: r.protocol.to_string(),
            from_port: ports.map(|p| p.from),
            to_port: ports.map(|p| p.to),
            cidr: r.cidr.map(|c| c.to_string()),
            security_group_id: group,
            description: r.description.clone(),
        })
    }
}

/// `text` with each of `secrets` and any `Bearer` token replaced by `[hidden]`, cut at 500 characters.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "[hidden]");
    }
    let mut words: Vec<String> = out.split(' ').map(String::from).collect();
    for i in 1..words.len() {
        if words[i - 1].eq_ignore_ascii_case("bearer") || words[i - 1].ends_with("Bearer") {
            words[i] = "[hidden]".into();
        }
    }
    let out = words.join(" ");
    match out.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

fn unbound(what: &str, id: &str) -> StepError {
    failed(
        format!("{what} {id} has no live object yet"),
        "apply again: the live state is read afresh and the missing object is created first",
    )
}

/// A delete whose object is already gone is done.
fn gone(r: Result<(), ClientError>) -> Result<Option<String>, StepError> {
    ignore_not_found(r).map(|_| None)
}

fn ignore_not_found<T>(r: Result<T, ClientError>) -> Result<Option<T>, StepError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A peering that came back failed, rejected, expired or deleted stops the steps that depend on it.
fn stopped(p: &wire::Peering, plan_id: &str) -> Result<(), StepError> {
    let why = p.status_message.clone().unwrap_or_default();
    let fix = match p.status {
        PeeringStatus::Pending | PeeringStatus::Active => return Ok(()),
        PeeringStatus::Failed => "the VPCs' blocks overlap: renumber one of them (peerplan check shows a free block), then apply again",
        PeeringStatus::Rejected => "the accepter rejected it: agree with the accepter, then apply again (a new request is made)",
        PeeringStatus::Expired => "the accepter did not accept within 7 days: apply again to request it anew, and have it accepted",
        PeeringStatus::Deleted => "it was deleted meanwhile: apply again to request it anew",
    };
    Err(failed(
        format!(
            "peering {plan_id} ({}) is {}{}",
            p.id,
            p.status,
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        ),
        fix,
    ))
}

/// How long a step waits for an earlier attempt's `Idempotency-Key` to be released: the control plane takes over
/// a claim left by a process that died after [`controlplane::idempotency::STALE_MS`].
const CLAIM_WAIT: Duration = Duration::from_millis(controlplane::idempotency::STALE_MS as u64 + 15_000);

/// Runs an idempotent POST. While its key is held by an earlier attempt (`IDEMPOTENCY_KEY_IN_PROGRESS`: the
/// control plane restarted during it), first looks for what that attempt may have made (`find`, by the object's
/// natural key) and takes it, else waits with back-off until the control plane releases the key and runs it.
async fn claimed<T, C, CF, F, FF>(mut call: C, mut find: F) -> Result<T, ClientError>
where
    C: FnMut() -> CF,
    CF: std::future::Future<Output = Result<T, ClientError>>,
    F: FnMut() -> FF,
    FF: std::future::Future<Output = Result<Option<T>, ClientError>>,
{
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        match call().await {
            Err(e) if is_code(&e, &["IDEMPOTENCY_KEY_IN_PROGRESS"]) => {
                if let Some(found) = find().await? {
                    return Ok(found);
                }
                if start.elapsed() > CLAIM_WAIT {
                    return Err(e);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// No natural key to look for.
async fn nothing<T>() -> Result<Option<T>, ClientError> {
    Ok(None)
}

/// Polls `get` with back-off while it answers "not found" (a new object not yet visible), up to
/// [`WAIT_LIMIT`]; never treats it as absent.
async fn visible<T, F, Fut>(mut get: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match get().await {
            Err(e) if not_found(&e) && start.elapsed() < WAIT_LIMIT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_bearer_tokens_never_reach_a_message() {
        let keys = vec!["ppk_secret".to_string()];
        let text = "HTTP 400 BAD: echo Authorization=Bearer ppk_secret and ppk_secret again; bearer xyz";
        let out = redact(text, &keys);
        assert!(!out.contains("ppk_secret") && !out.contains("xyz"), "{out}");
        assert!(out.starts_with("HTTP 400 BAD"), "{out}");
        assert_eq!(redact(&"x".repeat(600), &[]).chars().count(), 501);
    }
}
