//! The curl export: the change set of the plan against an empty live state ([`crate::changeset::diff`]), rendered
//! as a bash script of curl calls in the seed's format, so the script's order and the apply engine's order are one
//! definition. Pieces: [`header`] (what the script needs), [`HELPERS`] (bash functions: one API call that stops on
//! any HTTP error, and a find-or-create per kind, which makes the script safe to run twice), then one block per
//! step ([`Render::step`]), each preceded by the look-ups of what it refers to and was made elsewhere
//! ([`Render::need`]).
//!
//! Text from the plan goes into comments through [`one_line`] and into commands through [`sh_quote`] (single
//! quotes), never inside double quotes or a `${VAR:?…}` message, where bash would expand it; request bodies are
//! built with `jq --arg`. Each account's calls read its key from its own variable ([`key_vars`]).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write,
};

use super::{key_var, key_vars, one_line, sh_quote, ScriptPart};
use crate::{
    changeset::{diff, Bindings, ChangeAction, Handle, LiveIndex, ObjectKind, Op, SgDirection, Step},
    ids::{AccountId, SubnetId, VpcId},
    model::*,
};

/// The bash functions every script starts with. `api` makes one call and stops the script on any HTTP error with
/// the server's message; the `ensure_*` functions find an object by its natural key (the change set's binding
/// rules: a VPC by account, region and primary block, a subnet by block, a group by name, a route by destination,
/// a rule by its fields, an ACL entry by direction and number) and create it only when it is missing.
pub const HELPERS: &str = r#"
fail() { echo "peerplan apply: $*" >&2; exit 1; }
# api KEY METHOD PATH [BODY] — prints the response body; stops on any HTTP error with the server's message.
api() {
  local key=$1 method=$2 path=$3 body=${4:-} out status
  if [ -n "$body" ]; then
    out=$(curl -sS -X "$method" "$BASE_URL$path" -H "Authorization: Bearer $key" -H "Content-Type: application/json" -d "$body" -w '\n%{http_code}') || fail "$method $path: cannot reach $BASE_URL"
  else
    out=$(curl -sS -X "$method" "$BASE_URL$path" -H "Authorization: Bearer $key" -w '\n%{http_code}') || fail "$method $path: cannot reach $BASE_URL"
  fi
  status=${out##*$'\n'}; out=${out%$'\n'*}
  case "$status" in 2*) printf '%s' "$out" ;; *) fail "$method $path → HTTP $status: $(printf '%s' "$out" | jq -r '.error.message // .' 2>/dev/null || printf '%s' "$out")" ;; esac
}
# find_vpc KEY NAME REGION BLOCK — the account's VPC in REGION with primary block BLOCK (the plan's VPC NAME).
find_vpc() {
  api "$1" GET "/v1/vpcs?limit=1000" | jq -r --arg n "$2" --arg r "$3" --arg c "$4" '[.items[] | select(.region == $r and .cidr_block == $c)] | (map(select(.name == $n)) + .)[0].id // empty'
}
# ensure_vpc KEY NAME REGION BLOCK BLOCKS_JSON IPV6_JSON — found (same account, region and primary block) or created.
ensure_vpc() {
  local v; v=$(find_vpc "$1" "$2" "$3" "$4")
  if [ -z "$v" ]; then
    v=$(api "$1" POST /v1/vpcs "$(jq -cn --arg n "$2" --arg r "$3" --arg c "$4" --argjson s "$5" --argjson six "$6" '{name: $n, region: $r, cidr_block: $c, secondary_cidr_blocks: $s, ipv6_cidr_blocks: $six}')" | jq -r .id)
    echo "VPC $2: created as $v" >&2
  fi
  printf '%s' "$v"
}
# need_vpc KEY NAME REGION BLOCK — the VPC, which must exist.
need_vpc() {
  local v; v=$(find_vpc "$1" "$2" "$3" "$4")
  [ -n "$v" ] || fail "no VPC with block $4 in $3 in the account of this key (the plan's $2)"
  printf '%s' "$v"
}
# vpc_field KEY VPC FIELD — a field of the VPC (main_route_table_id, default_network_acl_id, default_security_group_id).
vpc_field() { api "$1" GET "/v1/vpcs/$2" | jq -r --arg f "$3" '.[$f]'; }
# ensure_subnet KEY VPC BLOCK ZONE — the VPC's subnet with that block, created when missing.
ensure_subnet() {
  local s; s=$(api "$1" GET "/v1/subnets?vpc_id=$2&limit=1000" | jq -r --arg c "$3" '[.items[] | select(.cidr_block == $c)][0].id // empty')
  if [ -z "$s" ]; then
    s=$(api "$1" POST /v1/subnets "$(jq -cn --arg v "$2" --arg c "$3" --arg z "$4" '{vpc_id: $v, cidr_block: $c, availability_zone: $z}')" | jq -r .id)
    echo "subnet $3: created as $s" >&2
  fi
  printf '%s' "$s"
}
# ensure_table KEY VPC [SUBNET] — the VPC's route table (not the main one) holding SUBNET, or one holding none; created when missing.
ensure_table() {
  local t; t=$(api "$1" GET "/v1/route-tables?vpc_id=$2&limit=1000" | jq -r --arg s "${3:-}" '[.items[] | select((.main | not) and (if $s == "" then (.subnet_ids | length) == 0 else (.subnet_ids | index($s)) != null end))][0].id // empty')
  if [ -z "$t" ]; then
    t=$(api "$1" POST /v1/route-tables "$(jq -cn --arg v "$2" '{vpc_id: $v}')" | jq -r .id)
    echo "route table: created as $t" >&2
  fi
  printf '%s' "$t"
}
# ensure_acl KEY VPC [SUBNET] — as ensure_table, for network ACLs.
ensure_acl() {
  local a; a=$(api "$1" GET "/v1/network-acls?vpc_id=$2&limit=1000" | jq -r --arg s "${3:-}" '[.items[] | select((.default | not) and (if $s == "" then (.subnet_ids | length) == 0 else (.subnet_ids | index($s)) != null end))][0].id // empty')
  if [ -z "$a" ]; then
    a=$(api "$1" POST /v1/network-acls "$(jq -cn --arg v "$2" '{vpc_id: $v}')" | jq -r .id)
    echo "network ACL: created as $a" >&2
  fi
  printf '%s' "$a"
}
# associate KEY route-tables|network-acls TABLE SUBNET — the subnet uses the table (associating moves it).
associate() {
  if api "$1" GET "/v1/$2/$3" | jq -e --arg s "$4" '.subnet_ids | index($s) != null' >/dev/null; then
    echo "subnet $4 in $3: present"
  else
    api "$1" POST "/v1/$2/$3/associations" "$(jq -cn --arg s "$4" '{subnet_id: $s}')" >/dev/null
    echo "subnet $4 in $3: associated"
  fi
}
# group_id KEY VPC NAME — the id of the VPC's security group with that name, created when missing.
group_id() {
  local g; g=$(api "$1" GET "/v1/security-groups?vpc_id=$2&limit=1000" | jq -r --arg n "$3" '[.items[] | select(.name == $n)][0].id // empty')
  if [ -z "$g" ]; then
    g=$(api "$1" POST /v1/security-groups "$(jq -cn --arg v "$2" --arg n "$3" '{vpc_id: $v, name: $n}')" | jq -r .id)
    echo "security group $3: created as $g" >&2
  fi
  printf '%s' "$g"
}
# ensure_gateway KEY VPC KIND NAME — the VPC's gateway of that kind and name, created when missing.
ensure_gateway() {
  local g; g=$(api "$1" GET "/v1/gateways?vpc_id=$2&limit=1000" | jq -r --arg k "$3" --arg n "$4" '[.items[] | select(.kind == $k and .name == $n)][0].id // empty')
  if [ -z "$g" ]; then
    g=$(api "$1" POST /v1/gateways "$(jq -cn --arg v "$2" --arg k "$3" --arg n "$4" '{vpc_id: $v, kind: $k, name: $n}')" | jq -r .id)
    echo "gateway $4: created as $g" >&2
  fi
  printf '%s' "$g"
}
# ensure_endpoint KEY SUBNET ADDRESS BODY — the endpoint at ADDRESS in the subnet, created when missing; its
# security groups set as BODY says.
ensure_endpoint() {
  local e; e=$(api "$1" GET "/v1/endpoints?limit=1000" | jq -r --arg s "$2" --arg ip "$3" '[.items[] | select(.subnet_id == $s and .private_ip == $ip)][0] // empty | "\(.id) \(.security_group_ids | sort | join(","))"')
  if [ -z "$e" ]; then
    e=$(api "$1" POST /v1/endpoints "$4" | jq -r .id)
    echo "endpoint $3: created as $e"
  elif [ "${e#* }" != "$(jq -r '.security_group_ids | sort | join(",")' <<<"$4")" ]; then
    api "$1" PATCH "/v1/endpoints/${e%% *}" "$(jq -c '{security_group_ids}' <<<"$4")" >/dev/null
    echo "endpoint $3: security groups set"
  else
    echo "endpoint $3: present"
  fi
}
# live_peering KEY VPC_A VPC_B — the id of a pending or active peering between the two VPCs, if any.
live_peering() {
  api "$1" GET "/v1/vpc-peering?vpc_id=$2&limit=1000" | jq -r --arg b "$3" '[.items[] | select((.status == "pending" or .status == "active") and (.requester_vpc_id == $b or .accepter_vpc_id == $b))][0].id // empty'
}
# ensure_rule KEY GROUP RULE — adds the rule (JSON) unless the group already has the same permission.
ensure_rule() {
  if api "$1" GET "/v1/security-groups/$2" | jq -e --argjson r "$3" '.[$r.direction] | any(.protocol == $r.protocol and .from_port == $r.from_port and .to_port == $r.to_port and .cidr == $r.cidr and .security_group_id == $r.security_group_id)' >/dev/null; then
    echo "$(jq -r '"\(.direction) \(.protocol) \(.from_port // "")-\(.to_port // "") \(.cidr // .security_group_id)"' <<<"$3") in $2: present"
  else
    api "$1" POST "/v1/security-groups/$2/rules" "$3" >/dev/null
    echo "$(jq -r '"\(.direction) \(.protocol) \(.from_port // "")-\(.to_port // "") \(.cidr // .security_group_id)"' <<<"$3") in $2: added"
  fi
}
# ensure_route KEY TABLE DESTINATION TARGET — adds the route unless the table already has it (another target is replaced).
ensure_route() {
  local now; now=$(api "$1" GET "/v1/route-tables/$2" | jq -r --arg d "$3" '[.routes[] | select(.destination_cidr == $d)][0].target // empty')
  if [ "$now" = "$4" ]; then
    echo "route $3 → $4 in $2: present"
  else
    [ -z "$now" ] || api "$1" DELETE "/v1/route-tables/$2/routes?destination_cidr=$3" >/dev/null
    api "$1" POST "/v1/route-tables/$2/routes" "$(jq -cn --arg d "$3" --arg t "$4" '{destination_cidr: $d, target: $t}')" >/dev/null
    echo "route $3 → $4 in $2: added"
  fi
}
# ensure_entry KEY ACL ENTRY — the ACL's entry of that direction and number is ENTRY (JSON): present, added or replaced.
ensure_entry() {
  local now; now=$(api "$1" GET "/v1/network-acls/$2" | jq -c --argjson e "$3" '[.entries[] | select(.direction == $e.direction and .rule_number == $e.rule_number)][0] // empty')
  if [ -n "$now" ] && jq -e --argjson e "$3" '. as $n | $e | to_entries | all(.value == $n[.key])' <<<"$now" >/dev/null; then
    echo "entry $(jq -r '"\(.direction) #\(.rule_number)"' <<<"$3") in $2: present"
  else
    [ -z "$now" ] || api "$1" DELETE "/v1/network-acls/$2/entries/$(jq -r '"\(.direction)/\(.rule_number)"' <<<"$3")" >/dev/null
    api "$1" POST "/v1/network-acls/$2/entries" "$3" >/dev/null
    echo "entry $(jq -r '"\(.direction) #\(.rule_number)"' <<<"$3") in $2: added"
  fi
}
"#;

/// The script's start: what it applies, the key variables it reads, and the check that each is set.
pub fn header(plan: &Plan, vars: &BTreeMap<&str, String>) -> String {
    let mut o = String::new();
    o.push_str("#!/usr/bin/env bash\n");
    let _ = writeln!(
        o,
        "# Peerplan: apply {} — generated, safe to run twice.",
        if plan.name.is_empty() {
            "the plan".to_string()
        } else {
            one_line(&plan.name)
        }
    );
    o.push_str("# The plan's change set against an empty control plane, in the apply engine's order: each object is\n");
    o.push_str(
        "# found by its natural key and created only when missing. Needs curl and jq. Set BASE_URL and one\n",
    );
    o.push_str("# API key per account:\n");
    for (a, v) in vars {
        let _ = writeln!(o, "#   export {v}=…   # account {}", one_line(a));
    }
    o.push_str("set -euo pipefail\nBASE_URL=\"${BASE_URL:-https://api.yourdomain.com}\"\n");
    for (a, v) in vars {
        let _ = writeln!(
            o,
            "[ -n \"${{{v}:-}}\" ] || {{ echo \"peerplan apply: set {v} to the API key of account \"{} >&2; exit 1; }}",
            sh_quote(a)
        );
    }
    o
}

/// The plan's change set against an empty live state as a runnable bash script of curl calls in the seed's
/// format: VPCs and their blocks → subnets, route tables, security groups, ACLs, gateways → endpoints → each
/// peering requested (`auto_accept` only within one account) → accepted with the accepter's key → awaited until
/// `active` → routes on both sides → security-group rules → ACL entries. Every object is found by its natural key
/// first (a VPC by account, region and primary block, …), so the script is safe to run twice; it stops on the first
/// failure with the server's message. Objects the control plane holds beyond the plan are left alone.
///
/// `part` splits it for cross-account teams: the accepter's script holds the accepts and every step of accounts
/// that request no peering; the requester's script holds the rest (waits are in both).
pub fn curl_script(plan: &Plan, part: ScriptPart) -> String {
    let vars = key_vars(plan);
    let mut o = header(plan, &vars);
    o.push_str(HELPERS);
    let changes = match diff(plan, &Plan::new("empty"), &Bindings::default()) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(o, "fail {}", sh_quote(&e.to_string()));
            return o;
        }
    };
    let requesters: BTreeSet<&AccountId> = changes
        .steps()
        .iter()
        .filter(|s| s.kind == ObjectKind::Peering && s.action == ChangeAction::Create)
        .map(|s| &s.account)
        .collect();
    let mut r = Render {
        plan,
        part,
        vars: &vars,
        ix: LiveIndex::new(plan),
        defined: BTreeSet::new(),
        o,
    };
    for s in changes.steps() {
        let in_part = match part {
            ScriptPart::All => true,
            ScriptPart::Requester => s.kind != ObjectKind::PeeringAccept && requesters.contains(&s.account),
            ScriptPart::Accepter => {
                s.kind == ObjectKind::PeeringAccept
                    || s.kind == ObjectKind::PeeringWait
                    || !requesters.contains(&s.account)
            }
        };
        if in_part || (part == ScriptPart::Requester && s.kind == ObjectKind::PeeringWait) {
            r.step(s);
        }
    }
    r.o.push_str("echo \"peerplan apply: done\"\n");
    r.o
}

/// What a script refers to by shell variable.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Var {
    Vpc(usize),
    Subnet(usize),
    Table(usize),
    Group(usize),
    Acl(usize),
    Gateway(usize),
    Peering(usize),
}

impl Var {
    fn name(&self) -> String {
        match self {
            Var::Vpc(i) => format!("VPC_{i}"),
            Var::Subnet(i) => format!("SUBNET_{i}"),
            Var::Table(i) => format!("TABLE_{i}"),
            Var::Group(i) => format!("GROUP_{i}"),
            Var::Acl(i) => format!("ACL_{i}"),
            Var::Gateway(i) => format!("GW_{i}"),
            Var::Peering(i) => format!("PCX_{i}"),
        }
    }
}

/// Renders steps, keeping track of which variables the script has set so far.
struct Render<'a> {
    plan: &'a Plan,
    part: ScriptPart,
    vars: &'a BTreeMap<&'a str, String>,
    /// Where each object sits in its list, by id: the script names objects by position (`SUBNET_7`).
    ix: LiveIndex<'a>,
    defined: BTreeSet<Var>,
    o: String,
}

impl Render<'_> {
    /// `"$API_KEY_…"` of an account.
    fn key(&self, account: &AccountId) -> String {
        let v = self
            .vars
            .get(account.as_str())
            .cloned()
            .unwrap_or_else(|| key_var(account.as_str()));
        format!("\"${v}\"")
    }

    fn vpc_key(&self, i: usize) -> String {
        self.key(&self.plan.vpcs[i].account)
    }

    fn vpc_of(&self, id: &VpcId) -> usize {
        self.ix
            .vpcs
            .get(&id)
            .copied()
            .expect("a valid plan's references resolve")
    }

    /// Sets the variable of an object made in another part of the script (or implicitly, with its VPC), when the
    /// script has not set it yet: looked up, or found-or-created for security groups (as before the split).
    fn need(&mut self, var: Var) {
        if self.defined.contains(&var) {
            return;
        }
        let plan = self.plan;
        let line = match &var {
            Var::Vpc(i) => {
                let v = &plan.vpcs[*i];
                format!(
                    "{}=$(need_vpc {} {} {} {})",
                    var.name(),
                    self.vpc_key(*i),
                    sh_quote(&v.name_or_id()),
                    sh_quote(&v.region),
                    sh_quote(&v.cidr.to_string())
                )
            }
            Var::Subnet(i) => {
                let s = &plan.subnets[*i];
                let v = self.vpc_of(&s.vpc);
                self.need(Var::Vpc(v));
                format!(
                    "{}=$(ensure_subnet {} \"$VPC_{v}\" {} {})",
                    var.name(),
                    self.vpc_key(v),
                    sh_quote(&s.cidr.to_string()),
                    sh_quote(&s.az)
                )
            }
            Var::Table(i) => {
                let t = &plan.route_tables[*i];
                let v = self.vpc_of(&t.vpc);
                self.need(Var::Vpc(v));
                if t.main {
                    format!(
                        "{}=$(vpc_field {} \"$VPC_{v}\" main_route_table_id)",
                        var.name(),
                        self.vpc_key(v)
                    )
                } else {
                    let first = t.subnets.first().and_then(|s| self.ix.subnets.get(&s).copied());
                    if let Some(s) = first {
                        self.need(Var::Subnet(s));
                    }
                    format!(
                        "{}=$(ensure_table {} \"$VPC_{v}\"{})",
                        var.name(),
                        self.vpc_key(v),
                        first.map(|s| format!(" \"$SUBNET_{s}\"")).unwrap_or_default()
                    )
                }
            }
            Var::Acl(i) => {
                let a = &plan.network_acls[*i];
                let v = self.vpc_of(&a.vpc);
                self.need(Var::Vpc(v));
                if a.default {
                    format!(
                        "{}=$(vpc_field {} \"$VPC_{v}\" default_network_acl_id)",
                        var.name(),
                        self.vpc_key(v)
                    )
                } else {
                    let first = a.subnets.first().and_then(|s| self.ix.subnets.get(&s).copied());
                    if let Some(s) = first {
                        self.need(Var::Subnet(s));
                    }
                    format!(
                        "{}=$(ensure_acl {} \"$VPC_{v}\"{})",
                        var.name(),
                        self.vpc_key(v),
                        first.map(|s| format!(" \"$SUBNET_{s}\"")).unwrap_or_default()
                    )
                }
            }
            Var::Group(i) => {
                let g = &plan.security_groups[*i];
                let v = self.vpc_of(&g.vpc);
                self.need(Var::Vpc(v));
                if g.name == crate::changeset::DEFAULT_GROUP {
                    format!(
                        "{}=$(vpc_field {} \"$VPC_{v}\" default_security_group_id)",
                        var.name(),
                        self.vpc_key(v)
                    )
                } else {
                    format!(
                        "{}=$(group_id {} \"$VPC_{v}\" {})",
                        var.name(),
                        self.vpc_key(v),
                        sh_quote(if g.name.is_empty() { &g.id.0 } else { &g.name })
                    )
                }
            }
            Var::Gateway(i) => {
                let g = &plan.gateways[*i];
                let v = self.vpc_of(&g.vpc);
                self.need(Var::Vpc(v));
                format!(
                    "{}=$(ensure_gateway {} \"$VPC_{v}\" {} {})",
                    var.name(),
                    self.vpc_key(v),
                    gateway_kind(g.kind),
                    sh_quote(&gateway_name(g))
                )
            }
            Var::Peering(i) => {
                let p = &plan.peerings[*i];
                let (r, a) = (self.vpc_of(&p.requester.vpc), self.vpc_of(&p.accepter.vpc));
                self.need(Var::Vpc(r));
                self.need(Var::Vpc(a));
                let name = var.name();
                let _ = writeln!(
                    self.o,
                    "{name}=$(live_peering {} \"$VPC_{r}\" \"$VPC_{a}\")",
                    self.vpc_key(r)
                );
                format!(
                    "[ -n \"${name}\" ] || fail {}\": the requester has not requested it yet\"",
                    sh_quote(&p.id.0)
                )
            }
        };
        let _ = writeln!(self.o, "{line}");
        self.defined.insert(var);
    }

    fn define(&mut self, var: Var, line: String) {
        let _ = writeln!(self.o, "{}={line}", var.name());
        self.defined.insert(var);
    }

    /// The shell word of a route target.
    fn target(&mut self, t: &Target) -> String {
        match t {
            Target::Peering(p) => match self.ix.peerings.get(&p).copied() {
                Some(i) => {
                    self.need(Var::Peering(i));
                    format!("\"$PCX_{i}\"")
                }
                None => sh_quote(&p.0),
            },
            Target::InternetGateway(g)
            | Target::NatGateway(g)
            | Target::VpnGateway(g)
            | Target::GatewayEndpoint(g) => match self.ix.gateways.get(g).copied() {
                Some(i) => {
                    self.need(Var::Gateway(i));
                    format!("\"$GW_{i}\"")
                }
                None => sh_quote(&g.0),
            },
            Target::Local => "local".into(),
            Target::Blackhole => "blackhole".into(),
        }
    }

    /// One step: a comment with what it does, then its calls.
    fn step(&mut self, s: &Step) {
        let plan = self.plan;
        let _ = writeln!(
            self.o,
            "\n# {} {}",
            s.action.symbol(),
            one_line(&format!("{} {}: {}", s.kind, s.plan_id, s.detail))
        );
        match &s.op {
            Op::CreateVpc { vpc, .. } => {
                let i = self.vpc_of(&vpc.id);
                let blocks = |list: &[crate::cidr::Cidr]| {
                    sh_quote(
                        &serde_json::to_string(&list.iter().map(|c| c.to_string()).collect::<Vec<_>>())
                            .unwrap_or_default(),
                    )
                };
                let line = format!(
                    "$(ensure_vpc {} {} {} {} {} {})",
                    self.vpc_key(i),
                    sh_quote(&vpc.name_or_id()),
                    sh_quote(&vpc.region),
                    sh_quote(&vpc.cidr.to_string()),
                    blocks(&vpc.secondary_cidrs),
                    blocks(&vpc.ipv6_cidrs)
                );
                self.define(Var::Vpc(i), line);
            }
            Op::CreateSubnet { subnet } => {
                let i = self.ix.subnets.get(&subnet.id).copied().expect("resolves");
                self.need(Var::Subnet(i));
            }
            Op::CreateRouteTable { table } => {
                let i = self.ix.tables.get(&table.id).copied().expect("resolves");
                self.need(Var::Table(i));
                self.associations("route-tables", Var::Table(i), &table.subnets, &table.vpc);
            }
            Op::UpdateRouteTable { table, subnets } => {
                let i = self.ix.tables.get(&table).copied().expect("resolves");
                self.need(Var::Table(i));
                let vpc = plan.route_tables[i].vpc.clone();
                self.associations("route-tables", Var::Table(i), subnets, &vpc);
            }
            Op::CreateSecurityGroup { group } => {
                let i = self.ix.groups.get(&group.id).copied().expect("resolves");
                self.need(Var::Group(i));
            }
            Op::CreateNetworkAcl { acl } => {
                let i = self.ix.acls.get(&acl.id).copied().expect("resolves");
                self.need(Var::Acl(i));
                self.associations("network-acls", Var::Acl(i), &acl.subnets, &acl.vpc);
            }
            Op::UpdateNetworkAcl { acl, subnets } => {
                let i = self.ix.acls.get(&acl).copied().expect("resolves");
                self.need(Var::Acl(i));
                let vpc = plan.network_acls[i].vpc.clone();
                self.associations("network-acls", Var::Acl(i), subnets, &vpc);
            }
            Op::CreateGateway { gateway } => {
                let i = self.ix.gateways.get(&gateway.id).copied().expect("resolves");
                self.need(Var::Gateway(i));
            }
            Op::CreateEndpoint { endpoint } => self.endpoint(endpoint),
            Op::CreatePeering { peering, auto_accept } => self.create_peering(peering, *auto_accept),
            Op::AcceptPeering { peering } => {
                let i = self.ix.peerings.get(&peering).copied().expect("resolves");
                self.need(Var::Peering(i));
                let a = self.vpc_of(&plan.peerings[i].accepter.vpc);
                let (ak, id) = (self.vpc_key(a), sh_quote(&peering.0));
                let _ = writeln!(
                    self.o,
                    "STATUS=$(api {ak} GET \"/v1/vpc-peering/$PCX_{i}\" | jq -r .status)"
                );
                let _ = writeln!(
                    self.o,
                    "if [ \"$STATUS\" = pending ]; then api {ak} POST \"/v1/vpc-peering/$PCX_{i}/accept\" >/dev/null; echo {id}\": accepted\"; fi"
                );
            }
            Op::WaitActive { peering } => {
                let i = self.ix.peerings.get(&peering).copied().expect("resolves");
                self.need(Var::Peering(i));
                let p = &plan.peerings[i];
                let side = if self.part == ScriptPart::Accepter {
                    &p.accepter.vpc
                } else {
                    &p.requester.vpc
                };
                let key = self.vpc_key(self.vpc_of(side));
                let id = sh_quote(&peering.0);
                let _ = writeln!(self.o, "for _ in $(seq 60); do");
                let _ = writeln!(
                    self.o,
                    "  STATUS=$(api {key} GET \"/v1/vpc-peering/$PCX_{i}\" | jq -r .status)"
                );
                let _ = writeln!(
                    self.o,
                    "  [ \"$STATUS\" = active ] && break\n  [ \"$STATUS\" = pending ] || fail {id}\": status is $STATUS (see status_message)\"\n  sleep 2\ndone"
                );
                let _ = writeln!(
                    self.o,
                    "[ \"$STATUS\" = active ] || fail {id}\": still $STATUS; the accepter must accept it\""
                );
            }
            Op::SetPeeringOptions { options, .. } => {
                let _ = writeln!(
                    self.o,
                    "# not in the NFYio API: set dns_resolution = {} on the peering by hand",
                    options.dns_resolution
                );
            }
            Op::CreateRoute { table, route } | Op::UpdateRoute { table, route } => {
                let Handle::Plan(t) = table else { return };
                let Some(i) = self
                    .ix
                    .tables
                    .get(&crate::ids::RouteTableId::from(t.as_str()))
                    .copied()
                else {
                    return;
                };
                self.need(Var::Table(i));
                let target = self.target(&route.target);
                let key = self.vpc_key(self.vpc_of(&plan.route_tables[i].vpc));
                let _ = writeln!(
                    self.o,
                    "ensure_route {key} \"$TABLE_{i}\" {} {target}",
                    sh_quote(&route.destination.to_string())
                );
            }
            Op::CreateSgRule {
                group,
                direction,
                rule,
            } => self.rule(group, *direction, rule),
            Op::CreateAclEntry { acl, entry } | Op::UpdateAclEntry { acl, entry } => {
                let Handle::Plan(a) = acl else { return };
                let Some(i) = self
                    .ix
                    .acls
                    .get(&crate::ids::NetworkAclId::from(a.as_str()))
                    .copied()
                else {
                    return;
                };
                self.need(Var::Acl(i));
                let key = self.vpc_key(self.vpc_of(&plan.network_acls[i].vpc));
                let mut body = serde_json::json!({
                    "rule_number": entry.rule,
                    "direction": match entry.direction { Direction::Inbound => "ingress", Direction::Outbound => "egress" },
                    "protocol": entry.protocol.to_string(),
                    "cidr_block": entry.cidr.to_string(),
                    "rule_action": match entry.action { Action::Allow => "allow", Action::Deny => "deny" },
                });
                if entry.protocol.has_ports() {
                    let ports = entry.ports.unwrap_or(PortRange::ALL);
                    body["from_port"] = ports.from.into();
                    body["to_port"] = ports.to.into();
                }
                let _ = writeln!(
                    self.o,
                    "ensure_entry {key} \"$ACL_{i}\" {}",
                    sh_quote(&body.to_string())
                );
            }
            // Against an empty control plane there is nothing to adopt, update in place or delete.
            _ => {
                let _ = writeln!(self.o, "# (nothing to call)");
            }
        }
    }

    /// Associations of a route table or ACL with the plan's subnets.
    fn associations(&mut self, path: &str, table: Var, subnets: &[SubnetId], vpc: &VpcId) {
        let key = self.vpc_key(self.vpc_of(vpc));
        for s in subnets {
            let Some(j) = self.ix.subnets.get(&s).copied() else {
                continue;
            };
            self.need(Var::Subnet(j));
            let _ = writeln!(
                self.o,
                "associate {key} {path} \"${}\" \"$SUBNET_{j}\"",
                table.name()
            );
        }
    }

    fn endpoint(&mut self, e: &Endpoint) {
        let plan = self.plan;
        let Some(s) = self.ix.subnets.get(&e.subnet).copied() else {
            return;
        };
        self.need(Var::Subnet(s));
        let key = self.vpc_key(self.vpc_of(&plan.subnets[s].vpc));
        let mut groups = Vec::new();
        for g in &e.security_groups {
            if let Some(i) = self.ix.groups.get(g).copied() {
                self.need(Var::Group(i));
                groups.push(format!("--arg g{i} \"$GROUP_{i}\""));
            }
        }
        let Some(address) = e.ipv4.map(|a| a.to_string()).or(e.ipv6.map(|a| a.to_string())) else {
            return;
        };
        let list: Vec<String> = e
            .security_groups
            .iter()
            .filter_map(|g| self.ix.groups.get(g).copied())
            .map(|i| format!("$g{i}"))
            .collect();
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = writeln!(
            self.o,
            "ensure_endpoint {key} \"$SUBNET_{s}\" {addr} \"$(jq -cn --arg s \"$SUBNET_{s}\" --arg n {name} --arg k {kind} --arg ip {addr} --argjson p {ports} {groups} '{{subnet_id: $s, name: $n, kind: $k, private_ip: $ip, ports: $p, security_group_ids: [{list}]}}')\"",
            addr = sh_quote(&address),
            name = sh_quote(&e.name_or_id_text()),
            kind = sh_quote(&kind),
            ports = sh_quote(&serde_json::to_string(&e.ports).unwrap_or_else(|_| "[]".into())),
            groups = groups.join(" "),
            list = list.join(", "),
        );
    }

    fn create_peering(&mut self, p: &Peering, auto_accept: bool) {
        let plan = self.plan;
        let Some(i) = self.ix.peerings.get(&p.id).copied() else {
            return;
        };
        let (r, a) = (self.vpc_of(&p.requester.vpc), self.vpc_of(&p.accepter.vpc));
        self.need(Var::Vpc(r));
        self.need(Var::Vpc(a));
        let (rk, ak) = (self.vpc_key(r), self.vpc_key(a));
        let (rv, av) = (&plan.vpcs[r], &plan.vpcs[a]);
        let id = sh_quote(&p.id.0);
        let _ = writeln!(self.o, "PCX_{i}=$(live_peering {rk} \"$VPC_{r}\" \"$VPC_{a}\")");
        let _ = writeln!(self.o, "if [ -z \"$PCX_{i}\" ]; then");
        if rv.account != av.account {
            let _ = writeln!(
                self.o,
                "  ACC_ACCOUNT=$(api {ak} GET \"/v1/vpcs/$VPC_{a}\" | jq -r .account_id)"
            );
            let _ = writeln!(
                self.o,
                "  PCX_{i}=$(api {rk} POST /v1/vpc-peering \"$(jq -cn --arg r \"$VPC_{r}\" --arg a \"$VPC_{a}\" --arg rr {} --arg ar {} --arg acct \"$ACC_ACCOUNT\" '{{requester_vpc_id: $r, accepter_vpc_id: $a, requester_region: $rr, accepter_region: $ar, accepter_account_id: $acct}}')\" | jq -r .id)",
                sh_quote(&rv.region),
                sh_quote(&av.region)
            );
        } else {
            let _ = writeln!(
                self.o,
                "  PCX_{i}=$(api {rk} POST /v1/vpc-peering \"$(jq -cn --arg r \"$VPC_{r}\" --arg a \"$VPC_{a}\" --arg rr {} --arg ar {} '{{requester_vpc_id: $r, accepter_vpc_id: $a, requester_region: $rr, accepter_region: $ar, auto_accept: {auto_accept}}}')\" | jq -r .id)",
                sh_quote(&rv.region),
                sh_quote(&av.region)
            );
        }
        let _ = writeln!(
            self.o,
            "  echo {id}\": requested as $PCX_{i}\"\nelse\n  echo {id}\": exists as $PCX_{i}\"\nfi"
        );
        self.defined.insert(Var::Peering(i));
    }

    fn rule(&mut self, group: &Handle, direction: SgDirection, r: &SgRule) {
        let plan = self.plan;
        let Handle::Plan(g) = group else { return };
        let Some(i) = self
            .ix
            .groups
            .get(&crate::ids::SecurityGroupId::from(g.as_str()))
            .copied()
        else {
            return;
        };
        self.need(Var::Group(i));
        let key = self.vpc_key(self.vpc_of(&plan.security_groups[i].vpc));
        let mut rule = serde_json::json!({
            "direction": direction.as_str(),
            "protocol": r.protocol.to_string(),
            "description": r.description,
        });
        if r.protocol.has_ports() {
            let ports = r.ports.unwrap_or(PortRange::ALL);
            rule["from_port"] = ports.from.into();
            rule["to_port"] = ports.to.into();
        }
        let body = match (&r.cidr, &r.sg) {
            (Some(c), _) => {
                rule["cidr"] = c.to_string().into();
                sh_quote(&rule.to_string())
            }
            (None, Some(sg)) => {
                let Some(j) = self.ix.groups.get(&sg.group).copied() else {
                    let _ = writeln!(
                        self.o,
                        "# skipped: {}",
                        one_line(&format!(
                            "a rule of {g} names group {}, which is not in the plan",
                            sg.group
                        ))
                    );
                    return;
                };
                self.need(Var::Group(j));
                format!(
                    "\"$(jq -c --arg g \"$GROUP_{j}\" '.security_group_id = $g' <<<{})\"",
                    sh_quote(&rule.to_string())
                )
            }
            (None, None) => return,
        };
        let _ = writeln!(self.o, "ensure_rule {key} \"$GROUP_{i}\" {body}");
    }
}

/// The API's word for a gateway kind.
fn gateway_kind(k: GatewayKind) -> &'static str {
    match k {
        GatewayKind::Internet => "internet",
        GatewayKind::Nat => "nat",
        GatewayKind::Vpn => "vpn",
        GatewayKind::GatewayEndpoint => "endpoint",
    }
}

fn gateway_name(g: &Gateway) -> String {
    if g.name.is_empty() {
        g.id.0.clone()
    } else {
        g.name.clone()
    }
}

trait NameOrId {
    fn name_or_id_text(&self) -> String;
}

impl NameOrId for Endpoint {
    fn name_or_id_text(&self) -> String {
        if self.name.is_empty() {
            self.id.0.clone()
        } else {
            self.name.clone()
        }
    }
}
