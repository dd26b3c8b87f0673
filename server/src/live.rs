//! A control plane's live state as a plan, and the API keys that reach it: `peerplan import live`, and the first
//! half of `plan` and `apply` (read what is there, so the change set can say what to do).
//!
//! A *target* is a control-plane URL plus one API key per plan account. The keys file is either a JSON object
//! mapping plan account ids to keys (`{"acct-a": "KEY", …}`), or the `demo-keys.json` that `peerplan serve` writes
//! (its accounts match a plan's accounts by name, or by control-plane account id). Keys never appear in output,
//! logs or error messages: [`Keys`] prints as a list of account labels.
//!
//! The live plan's object ids are the control plane's ids (`vpc_…`, `pcx_…`), so every imported object is bound
//! to itself; its accounts are labelled by the keys file (the plan account id of a JSON map, or the control-plane
//! account id of `demo-keys.json`, with the demo name). A peering to a VPC of an account whose key was not given
//! brings that VPC in as the peering reports it (id, account, region and blocks), so traces stay faithful.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::Path,
};

use anyhow::{bail, Context};
use controlplane::{client::Client, wire};
use netmodel::{cidr::Cidr, model::Account};
use netmodel::{
    model::{
        AclEntry, Endpoint, EndpointKind, Gateway, GatewayKind, NetworkAcl, Peering, PeeringOptions,
        PeeringSide, PortRange, Protocol, Route, RouteTable, SecurityGroup, SgRef, SgRule, Subnet, Target,
        Vpc,
    },
    Plan,
};

/// One account's key.
#[derive(Clone)]
pub struct KeyEntry {
    /// How the live plan names the account: a plan account id, or the control-plane account id.
    pub label: String,
    /// The account's name, when the keys file gives one (`demo-keys.json` does).
    pub name: String,
    key: String,
}

impl KeyEntry {
    /// The API key itself (for the HTTP client only; never print it).
    pub fn secret(&self) -> &str {
        &self.key
    }
}

/// The keys of a target, in the keys file's order.
#[derive(Clone)]
pub struct Keys {
    pub entries: Vec<KeyEntry>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<&str> = self.entries.iter().map(|e| e.label.as_str()).collect();
        write!(f, "Keys {{ accounts: {labels:?}, keys: (hidden) }}")
    }
}

/// A label or name for a message: printable, cut at 80 characters.
fn shown(s: &str) -> String {
    let head: String = s.chars().take(80).collect();
    format!("{head:?}")
}

impl Keys {
    /// Reads a keys file (see the module doc).
    pub fn read(path: &Path) -> anyhow::Result<Keys> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read keys file {}", path.display()))?;
        Keys::parse(&text).with_context(|| format!("keys file {}", path.display()))
    }

    /// Parses a keys file's text. Errors name the offending entry, never a key.
    pub fn parse(text: &str) -> anyhow::Result<Keys> {
        let doc: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("not JSON (line {}, column {})", e.line(), e.column()))?;
        let Some(obj) = doc.as_object() else {
            bail!("expected a JSON object: {{\"ACCOUNT\": \"API_KEY\", …}} or the demo-keys.json of peerplan serve");
        };
        let mut entries = Vec::new();
        if let Some(accounts) = obj.get("accounts") {
            // demo-keys.json: {"accounts": [{"name", "account_id", "api_key", …}]}
            let Some(list) = accounts.as_array() else {
                bail!("\"accounts\" is not a list");
            };
            for (i, a) in list.iter().enumerate() {
                let field = |f: &str| {
                    a.get(f)
                        .and_then(serde_json::Value::as_str)
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            anyhow::anyhow!("accounts[{i}].{f}: missing or not a non-empty string")
                        })
                };
                entries.push(KeyEntry {
                    label: field("account_id")?,
                    name: a
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    key: field("api_key")?,
                });
            }
        } else {
            for (account, key) in obj {
                if account.trim().is_empty() {
                    bail!("an account id is empty");
                }
                let Some(key) = key.as_str().filter(|k| !k.trim().is_empty()) else {
                    bail!("{}: the key is not a non-empty string", shown(account));
                };
                entries.push(KeyEntry {
                    label: account.clone(),
                    name: String::new(),
                    key: key.to_string(),
                });
            }
        }
        if entries.is_empty() {
            bail!("no accounts: give at least one account and its API key");
        }
        let mut seen = BTreeSet::new();
        for e in &entries {
            if e.label.chars().any(netmodel::model::is_forbidden_char) {
                bail!(
                    "{}: an account id may not hold control characters",
                    shown(&e.label)
                );
            }
            if !seen.insert(e.label.as_str()) {
                bail!("{}: account listed twice", shown(&e.label));
            }
        }
        Ok(Keys { entries })
    }

    /// The keys of a plan's accounts, relabelled with the plan's account ids: an entry matches an account by id,
    /// else by name (the way `demo-keys.json` names them). Accounts without a key are left out.
    pub fn for_plan(&self, plan: &Plan) -> Keys {
        let entries = plan
            .accounts
            .iter()
            .filter_map(|a| {
                let by_id = self.entries.iter().find(|e| e.label == a.id.as_str());
                let by_name = || {
                    self.entries
                        .iter()
                        .find(|e| !a.name.is_empty() && e.name == a.name)
                };
                by_id.or_else(by_name).map(|e| KeyEntry {
                    label: a.id.to_string(),
                    name: a.name.clone(),
                    key: e.key.clone(),
                })
            })
            .collect();
        Keys { entries }
    }
}

/// Everything one account's key can list.
struct AccountState {
    vpcs: Vec<wire::Vpc>,
    subnets: Vec<wire::Subnet>,
    route_tables: Vec<wire::RouteTable>,
    groups: Vec<wire::SecurityGroup>,
    acls: Vec<wire::NetworkAcl>,
    endpoints: Vec<wire::Endpoint>,
    gateways: Vec<wire::Gateway>,
    peerings: Vec<wire::Peering>,
}

async fn list_account(client: &Client) -> Result<AccountState, controlplane::client::ClientError> {
    Ok(AccountState {
        vpcs: client.list_vpcs().await?,
        subnets: client.list_subnets().await?,
        route_tables: client.list_route_tables().await?,
        groups: client.list_security_groups().await?,
        acls: client.list_network_acls().await?,
        endpoints: client.list_endpoints().await?,
        gateways: client.list_gateways().await?,
        peerings: client.list_peerings(None).await?,
    })
}

/// Reads the live state of every account in `keys` from the control plane at `base` (`http://HOST:PORT`).
pub async fn read_live(base: &str, keys: &Keys) -> anyhow::Result<Plan> {
    let client = Client::new(base, "").map_err(|e| anyhow::anyhow!("target {}: {e}", shown(base)))?;
    let mut states = Vec::new();
    for entry in &keys.entries {
        let state = list_account(&client.with_key(entry.secret()))
            .await
            .map_err(|e| {
                anyhow::anyhow!("reading account {} at {}: {e}", shown(&entry.label), shown(base))
            })?;
        states.push((entry, state));
    }
    to_plan(base, &states)
}

/// Control-plane account id → label: from the objects each key listed.
fn account_labels(states: &[(&KeyEntry, AccountState)]) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (entry, s) in states {
        let owned = s
            .vpcs
            .iter()
            .map(|v| &v.account_id)
            .chain(s.groups.iter().map(|g| &g.account_id))
            .chain(s.route_tables.iter().map(|r| &r.account_id));
        for id in owned {
            labels.insert(id.clone(), entry.label.clone());
        }
    }
    labels
}

fn cidr(what: &str, id: &str, text: &str) -> anyhow::Result<Cidr> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("{what} {}: block {}: {e}", shown(id), shown(text)))
}

fn ports(p: Protocol, from: Option<u16>, to: Option<u16>) -> Option<PortRange> {
    match (p.has_ports(), from, to) {
        (true, Some(from), Some(to)) if from <= to => Some(PortRange { from, to }),
        (true, Some(from), None) => Some(PortRange::single(from)),
        _ => None,
    }
}

fn target(text: &str) -> Target {
    let id = || netmodel::ids::GatewayId::from(text);
    match text.split_once('_').map(|(p, _)| p) {
        _ if text == "local" => Target::Local,
        Some("pcx") => Target::Peering(text.into()),
        Some("igw") => Target::InternetGateway(id()),
        Some("nat") => Target::NatGateway(id()),
        Some("vgw") => Target::VpnGateway(id()),
        Some("vpce") => Target::GatewayEndpoint(id()),
        _ => Target::Blackhole,
    }
}

/// Builds the plan from what each key listed.
fn to_plan(base: &str, states: &[(&KeyEntry, AccountState)]) -> anyhow::Result<Plan> {
    let labels = account_labels(states);
    let label = |cp: &str| labels.get(cp).cloned().unwrap_or_else(|| cp.to_string());
    let mut plan = Plan::new(format!("Live state of {}", netmodel::export::one_line(base)));
    for (entry, _) in states {
        plan.accounts.push(Account {
            id: entry.label.clone().into(),
            name: entry.name.clone(),
        });
    }
    // Groups of every account, for rules that name a group of another account.
    let group_owner: BTreeMap<&str, &str> = states
        .iter()
        .flat_map(|(_, s)| s.groups.iter().map(|g| (g.id.as_str(), g.account_id.as_str())))
        .collect();
    let mut vpc_ids = BTreeSet::new();
    for (_, s) in states {
        for v in &s.vpcs {
            if !vpc_ids.insert(v.id.clone()) {
                continue;
            }
            plan.vpcs.push(Vpc {
                id: v.id.clone().into(),
                name: v.name.clone(),
                account: label(&v.account_id).into(),
                region: v.region.clone(),
                cidr: cidr("VPC", &v.id, &v.cidr_block)?,
                secondary_cidrs: v
                    .secondary_cidr_blocks
                    .iter()
                    .map(|b| cidr("VPC", &v.id, b))
                    .collect::<anyhow::Result<_>>()?,
                ipv6_cidrs: Vec::new(),
                position: None,
            });
        }
        for sn in &s.subnets {
            plan.subnets.push(Subnet {
                id: sn.id.clone().into(),
                name: String::new(),
                vpc: sn.vpc_id.clone().into(),
                cidr: cidr("subnet", &sn.id, &sn.cidr_block)?,
                ipv6_cidr: None,
                az: sn.availability_zone.clone(),
            });
        }
        for rt in &s.route_tables {
            plan.route_tables.push(RouteTable {
                id: rt.id.clone().into(),
                vpc: rt.vpc_id.clone().into(),
                main: rt.main,
                subnets: rt.subnet_ids.iter().map(|i| i.clone().into()).collect(),
                routes: rt
                    .routes
                    .iter()
                    .map(|r| {
                        Ok(Route {
                            destination: cidr("route table", &rt.id, &r.destination_cidr)?,
                            target: target(&r.target.to_string()),
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
            });
        }
        for g in &s.groups {
            let rule = |r: &wire::SgRule| -> anyhow::Result<SgRule> {
                let p = r.protocol;
                Ok(SgRule {
                    protocol: p,
                    ports: ports(p, r.from_port, r.to_port),
                    cidr: r
                        .cidr
                        .as_deref()
                        .map(|c| cidr("security group", &g.id, c))
                        .transpose()?,
                    sg: r.security_group_id.as_ref().map(|other| SgRef {
                        account: group_owner
                            .get(other.as_str())
                            .filter(|owner| **owner != g.account_id)
                            .map(|owner| label(owner).into()),
                        group: other.clone().into(),
                    }),
                    description: r.description.clone(),
                })
            };
            plan.security_groups.push(SecurityGroup {
                id: g.id.clone().into(),
                name: g.name.clone(),
                vpc: g.vpc_id.clone().into(),
                ingress: g.ingress.iter().map(rule).collect::<anyhow::Result<_>>()?,
                egress: g.egress.iter().map(rule).collect::<anyhow::Result<_>>()?,
            });
        }
        for acl in &s.acls {
            let entry = |e: &wire::AclEntry| -> anyhow::Result<AclEntry> {
                let p = e.protocol;
                Ok(AclEntry {
                    rule: e.rule_number,
                    direction: e.direction,
                    protocol: p,
                    ports: ports(p, e.from_port, e.to_port),
                    cidr: cidr("network ACL", &acl.id, &e.cidr_block)?,
                    action: e.rule_action,
                })
            };
            plan.network_acls.push(NetworkAcl {
                id: acl.id.clone().into(),
                vpc: acl.vpc_id.clone().into(),
                default: acl.default,
                subnets: acl.subnet_ids.iter().map(|i| i.clone().into()).collect(),
                entries: acl.entries.iter().map(entry).collect::<anyhow::Result<_>>()?,
            });
        }
        for e in &s.endpoints {
            plan.endpoints.push(Endpoint {
                id: e.id.clone().into(),
                name: e.name.clone(),
                kind: serde_json::from_value::<EndpointKind>(serde_json::Value::String(e.kind.to_string()))
                    .unwrap_or(EndpointKind::Other),
                subnet: e.subnet_id.clone().into(),
                ipv4: e.private_ip.parse().ok(),
                ipv6: None,
                security_groups: e.security_group_ids.iter().map(|g| g.clone().into()).collect(),
                ports: e.ports.clone(),
            });
        }
        for g in &s.gateways {
            plan.gateways.push(Gateway {
                id: g.id.clone().into(),
                vpc: g.vpc_id.clone().into(),
                kind: match g.kind.to_string().as_str() {
                    "internet" => GatewayKind::Internet,
                    "nat" => GatewayKind::Nat,
                    "vpn" => GatewayKind::Vpn,
                    _ => GatewayKind::GatewayEndpoint,
                },
                subnet: None,
                destinations: Vec::new(),
                name: g.name.clone(),
            });
        }
    }
    add_peerings(&mut plan, states, &label, &mut vpc_ids)?;
    plan.validate()
        .map_err(|e| anyhow::anyhow!("the live state does not form a valid plan: {e}"))?;
    Ok(plan)
}

/// Peerings, once each however many accounts see them; a peer VPC no key could list comes in as the peering
/// describes it.
fn add_peerings(
    plan: &mut Plan,
    states: &[(&KeyEntry, AccountState)],
    label: &dyn Fn(&str) -> String,
    vpc_ids: &mut BTreeSet<String>,
) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for (_, s) in states {
        for p in &s.peerings {
            if !seen.insert(p.id.clone()) {
                continue;
            }
            let sides = [
                (
                    &p.requester_vpc_id,
                    &p.requester_account_id,
                    &p.requester_region,
                    &p.requester_cidr_blocks,
                ),
                (
                    &p.accepter_vpc_id,
                    &p.accepter_account_id,
                    &p.accepter_region,
                    &p.accepter_cidr_blocks,
                ),
            ];
            for (vpc, account, region, blocks) in sides {
                if vpc_ids.contains(vpc.as_str()) || blocks.is_empty() {
                    continue;
                }
                vpc_ids.insert(vpc.clone());
                let account = label(account);
                if !plan.accounts.iter().any(|a| a.id.as_str() == account) {
                    plan.accounts.push(Account {
                        id: account.clone().into(),
                        name: String::new(),
                    });
                }
                let parsed: Vec<Cidr> = blocks
                    .iter()
                    .map(|b| cidr("peer VPC", vpc, b))
                    .collect::<anyhow::Result<_>>()?;
                plan.vpcs.push(Vpc {
                    id: vpc.clone().into(),
                    name: String::new(),
                    account: account.into(),
                    region: region.clone(),
                    cidr: parsed[0],
                    secondary_cidrs: parsed[1..].iter().filter(|c| c.is_v4()).copied().collect(),
                    ipv6_cidrs: parsed[1..].iter().filter(|c| !c.is_v4()).copied().collect(),
                    position: None,
                });
            }
            if !vpc_ids.contains(p.requester_vpc_id.as_str()) || !vpc_ids.contains(p.accepter_vpc_id.as_str())
            {
                continue;
            }
            plan.peerings.push(Peering {
                id: p.id.clone().into(),
                requester: PeeringSide {
                    vpc: p.requester_vpc_id.clone().into(),
                    account: label(&p.requester_account_id).into(),
                    region: p.requester_region.clone(),
                },
                accepter: PeeringSide {
                    vpc: p.accepter_vpc_id.clone().into(),
                    account: label(&p.accepter_account_id).into(),
                    region: p.accepter_region.clone(),
                },
                status: p.status,
                options: PeeringOptions::default(),
                status_message: p.status_message.clone(),
            });
        }
    }
    Ok(())
}
