//! Exports of a plan: the peering documentation (Markdown), the peering map as Graphviz DOT and Mermaid, and the
//! API calls as a runnable bash script of curl calls in the seed's format. Pure text, deterministic.
//!
//! ```
//! use netmodel::{check, export, CheckOptions, Plan};
//!
//! let plan = Plan::from_json(
//!     r#"{"format": "peerplan/v1", "name": "Two teams", "accounts": [{"id": "acct-a"}, {"id": "acct-b"}],
//!         "vpcs": [{"id": "vpc-a", "account": "acct-a", "region": "us-east-1", "cidr": "10.0.0.0/16"},
//!                  {"id": "vpc-b", "account": "acct-b", "region": "us-east-1", "cidr": "172.16.0.0/16"}],
//!         "peerings": [{"id": "pcx-ab", "requester": {"vpc": "vpc-a"}, "accepter": {"vpc": "vpc-b"},
//!                       "status": "pending"}]}"#,
//! )?;
//! let doc = export::markdown(&plan, &check(&plan, &CheckOptions::default()));
//! assert!(doc.starts_with("# Two teams\n"));
//! assert!(doc.contains("| pcx-ab | vpc-a | vpc-b | acct-a → acct-b | us-east-1 → us-east-1 | pending | cross-account: the accepter must accept |"));
//! assert!(export::dot(&plan).starts_with("graph peering {"));
//! // The script reads each account's key from its own variable; no key is ever written into it.
//! let script = export::curl_script(&plan, export::ScriptPart::All);
//! assert!(script.contains("API_KEY_ACCT_A") && script.contains("API_KEY_ACCT_B"));
//! # Ok::<(), netmodel::PlanError>(())
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write,
};

use crate::{
    check::{Diagnostic, Severity},
    graph::PeeringGraph,
    ids::{SubnetId, VpcId},
    model::*,
    sim::{trace, ClientProfile, Flow, Topology, TraceCode},
};

fn status_word(p: &Peering) -> &'static str {
    p.status.as_str()
}

/// A Markdown peering matrix is a grid up to this many VPCs, a list per VPC beyond.
const MATRIX_MAX_VPCS: usize = 60;
/// At most this many not-transitive pairs are listed (with the count of the rest).
const LIST_MAX: usize = 200;
/// The "verify connectivity" section stops after this many traces.
const VERIFY_MAX_TRACES: usize = 20_000;

/// Text from a plan inside Markdown (a table cell, a heading, a list item): `<`, `>` and `&` as HTML entities
/// (rendered Markdown is HTML), Markdown's own punctuation (`\\`, `` ` ``, `*`, `_`, `[`, `]`, `|`, `#`, `~`)
/// backslash-escaped, and line breaks and other control characters as U+FFFD, so a name shows as written and never
/// becomes markup, a link or a new table row.
///
/// ```
/// assert_eq!(netmodel::export::md_escape("<b>*a*|[x](y)"), "&lt;b&gt;\\*a\\*\\|\\[x\\](y)");
/// ```
pub fn md_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                o.push('\\');
                o.push(c);
            }
            c if is_forbidden_char(c) => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// The peering documentation in Markdown: inventory, peering connections, peering matrix, route tables, rules
/// for peered blocks, diagnostics, pairs that are not transitive, and commands that verify connectivity.
pub fn markdown(plan: &Plan, diagnostics: &[Diagnostic]) -> String {
    let mut o = String::new();
    let title = if plan.name.is_empty() {
        "Peering plan"
    } else {
        plan.name.as_str()
    };
    let _ = writeln!(o, "# {}\n", md_escape(title));
    md_inventory(&mut o, plan);
    md_peerings(&mut o, plan);
    md_peering_matrix(&mut o, plan);
    md_route_tables(&mut o, plan);
    md_peered_rules(&mut o, plan);
    md_diagnostics(&mut o, diagnostics);
    let graph = PeeringGraph::new(plan);
    md_not_transitive(&mut o, &graph);
    md_verify_connectivity(&mut o, plan, &graph);
    o
}

/// The VPCs by account, region and id, with their blocks.
fn md_inventory(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "## Inventory\n\n| Account | Region | VPC | Name | IPv4 blocks | IPv6 blocks |\n|---|---|---|---|---|---|");
    let mut vpcs: Vec<&Vpc> = plan.vpcs.iter().collect();
    vpcs.sort_by(|a, b| (&a.account, &a.region, &a.id).cmp(&(&b.account, &b.region, &b.id)));
    for v in &vpcs {
        let v4: Vec<String> = std::iter::once(&v.cidr)
            .chain(&v.secondary_cidrs)
            .map(|c| c.to_string())
            .collect();
        let v6: Vec<String> = v.ipv6_cidrs.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            md_escape(&v.account.0),
            md_escape(&v.region),
            md_escape(&v.id.0),
            md_escape(&v.name),
            v4.join(", "),
            if v6.is_empty() {
                "—".to_string()
            } else {
                v6.join(", ")
            }
        );
    }
}

/// One row per peering: its sides, accounts, regions, status, and what to know about it.
fn md_peerings(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "\n## Peering connections\n");
    if plan.peerings.is_empty() {
        let _ = writeln!(o, "No peering connections.");
        return;
    }
    let _ = writeln!(o, "| Peering | Requester | Accepter | Accounts | Regions | Status | Notes |\n|---|---|---|---|---|---|---|");
    for p in &plan.peerings {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} → {} | {} → {} | {} | {} |",
            md_escape(&p.id.0),
            md_escape(&p.requester.vpc.0),
            md_escape(&p.accepter.vpc.0),
            md_escape(&p.requester.account.0),
            md_escape(&p.accepter.account.0),
            md_escape(&p.requester.region),
            md_escape(&p.accepter.region),
            status_word(p),
            peering_notes(p).join("; ")
        );
    }
}

/// What to know about a peering: cross-account, inter-region, DNS resolution, its status message.
fn peering_notes(p: &Peering) -> Vec<String> {
    let mut notes = Vec::new();
    if p.is_cross_account() {
        notes.push("cross-account: the accepter must accept".to_string());
    }
    if p.is_inter_region() {
        notes.push("inter-region: MTU 1500, no security-group references".to_string());
    }
    if p.options.dns_resolution {
        notes.push("DNS resolution on".to_string());
    }
    if let Some(m) = &p.status_message {
        notes.push(md_escape(m));
    }
    notes
}

/// VPC × VPC for a plan a person can read as a grid; beyond [`MATRIX_MAX_VPCS`], each VPC's peerings as a list
/// (a 1,000-VPC grid is a million cells). One pass over the peerings either way.
fn md_peering_matrix(o: &mut String, plan: &Plan) {
    let mut between: HashMap<(&VpcId, &VpcId), Vec<String>> = HashMap::new();
    let mut of_vpc: HashMap<&VpcId, Vec<String>> = HashMap::new();
    for p in plan
        .peerings
        .iter()
        .filter(|p| p.status != PeeringStatus::Deleted)
    {
        let cell = format!("{} ({})", md_escape(&p.id.0), status_word(p));
        let (a, b) = (&p.requester.vpc, &p.accepter.vpc);
        between.entry((a, b)).or_default().push(cell.clone());
        if a != b {
            between.entry((b, a)).or_default().push(cell.clone());
        }
        of_vpc
            .entry(a)
            .or_default()
            .push(format!("{cell} with {}", md_escape(&b.0)));
        of_vpc
            .entry(b)
            .or_default()
            .push(format!("{cell} with {}", md_escape(&a.0)));
    }
    let _ = writeln!(o, "\n## Peering matrix\n");
    if plan.vpcs.len() > MATRIX_MAX_VPCS {
        md_peering_lists(o, plan, &of_vpc);
    } else {
        md_peering_grid(o, plan, &between);
    }
}

/// Each VPC's peerings as a list item.
fn md_peering_lists(o: &mut String, plan: &Plan, of_vpc: &HashMap<&VpcId, Vec<String>>) {
    let _ = writeln!(
        o,
        "{} VPCs are too many for a grid (up to {MATRIX_MAX_VPCS}); each VPC's peerings instead:\n",
        plan.vpcs.len()
    );
    for v in &plan.vpcs {
        let list = of_vpc
            .get(&v.id)
            .map(|l| l.join(", "))
            .unwrap_or_else(|| "none".into());
        let _ = writeln!(o, "- **{}**: {list}", md_escape(&v.id.0));
    }
}

/// A table with a row and a column per VPC; a cell lists the peerings between the two.
fn md_peering_grid(o: &mut String, plan: &Plan, between: &HashMap<(&VpcId, &VpcId), Vec<String>>) {
    let _ = write!(o, "| |");
    for v in &plan.vpcs {
        let _ = write!(o, " {} |", md_escape(&v.id.0));
    }
    let _ = write!(o, "\n|---|");
    for _ in &plan.vpcs {
        let _ = write!(o, "---|");
    }
    let _ = writeln!(o);
    for a in &plan.vpcs {
        let _ = write!(o, "| **{}** |", md_escape(&a.id.0));
        for b in &plan.vpcs {
            let cell = if a.id == b.id {
                "—".to_string()
            } else {
                match between.get(&(&a.id, &b.id)) {
                    Some(found) => found.join(", "),
                    None => " ".to_string(),
                }
            };
            let _ = write!(o, " {cell} |");
        }
        let _ = writeln!(o);
    }
}

/// Each VPC's route tables: its local blocks, then the routes.
fn md_route_tables(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "\n## Route tables\n");
    let mut of_vpc: HashMap<&VpcId, Vec<&RouteTable>> = HashMap::new();
    for t in &plan.route_tables {
        of_vpc.entry(&t.vpc).or_default().push(t);
    }
    for v in &plan.vpcs {
        let Some(tables) = of_vpc.remove(&v.id) else {
            continue;
        };
        let _ = writeln!(
            o,
            "### {} route table{}\n",
            md_escape(&v.label()),
            if tables.len() > 1 { "s" } else { "" }
        );
        for t in tables {
            let _ = writeln!(
                o,
                "{}{}:\n",
                md_escape(&t.id.0),
                if t.main { " (main)" } else { "" }
            );
            let _ = writeln!(o, "| Destination | Target |\n|---|---|");
            for b in v.blocks() {
                let _ = writeln!(o, "| {b} | local |");
            }
            for r in &t.routes {
                let _ = writeln!(o, "| {} | {} |", r.destination, md_escape(&r.target.to_string()));
            }
            let _ = writeln!(o);
        }
    }
}

/// Security-group and ACL rules that concern peered blocks (blocks of VPCs in a live peering).
fn md_peered_rules(o: &mut String, plan: &Plan) {
    let vpcs: HashMap<&VpcId, &Vpc> = plan.vpcs.iter().map(|v| (&v.id, v)).collect();
    let peer_blocks = crate::cidr::BlockUnion::new(
        plan.peerings
            .iter()
            .filter(|p| p.status.is_live())
            .flat_map(|p| [&p.requester.vpc, &p.accepter.vpc])
            .filter_map(|id| vpcs.get(id).copied())
            .flat_map(|v| v.blocks()),
    );
    let concerns = |c: &crate::cidr::Cidr| peer_blocks.overlaps(c);
    let _ = writeln!(o, "## Security-group and network-ACL rules for peered blocks\n");
    let _ = writeln!(
        o,
        "| Where | Rule | Protocol | Ports | Peer | Action |\n|---|---|---|---|---|---|"
    );
    for g in &plan.security_groups {
        for (dir, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
            for r in rules {
                let peer = match (&r.cidr, &r.sg) {
                    (Some(c), _) if concerns(c) => c.to_string(),
                    (_, Some(s)) => format!("group {}", md_escape(&s.to_string())),
                    _ => continue,
                };
                let ports = r.ports.map(|p| p.to_string()).unwrap_or_else(|| "all".into());
                let _ = writeln!(
                    o,
                    "| {} ({}) | {dir} | {} | {ports} | {peer} | allow |",
                    md_escape(&g.id.0),
                    md_escape(&g.vpc.0),
                    r.protocol
                );
            }
        }
    }
    for a in &plan.network_acls {
        let mut entries: Vec<&AclEntry> = a.entries.iter().filter(|e| concerns(&e.cidr)).collect();
        entries.sort_by_key(|e| (e.direction, e.rule));
        for e in entries {
            let ports = e.ports.map(|p| p.to_string()).unwrap_or_else(|| "all".into());
            let dir = if e.direction == Direction::Inbound {
                "inbound"
            } else {
                "outbound"
            };
            let action = if e.action == Action::Allow {
                "allow"
            } else {
                "deny"
            };
            let _ = writeln!(
                o,
                "| {} ({}) | {dir} rule {} | {} | {ports} | {} | {action} |",
                md_escape(&a.id.0),
                md_escape(&a.vpc.0),
                e.rule,
                e.protocol,
                e.cidr
            );
        }
    }
}

/// One item per finding: severity, code, message and fix.
fn md_diagnostics(o: &mut String, diagnostics: &[Diagnostic]) {
    let _ = writeln!(o, "\n## Diagnostics\n");
    if diagnostics.is_empty() {
        let _ = writeln!(o, "No findings.");
    }
    for d in diagnostics {
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = writeln!(
            o,
            "- **{sev} {}** — {}{}",
            d.code,
            md_escape(&d.message),
            d.fix
                .as_ref()
                .map(|f| format!(" Fix: {}", md_escape(&f.to_string())))
                .unwrap_or_default()
        );
    }
}

/// VPC pairs connected only through a third VPC (up to [`LIST_MAX`], with the count of the rest).
fn md_not_transitive(o: &mut String, graph: &PeeringGraph) {
    let _ = writeln!(o, "\n## Not transitive\n");
    let (nt, total) = graph.transitive_pairs(LIST_MAX);
    if nt.is_empty() {
        let _ = writeln!(o, "No VPC pair is connected only through a third VPC.");
        return;
    }
    let _ = writeln!(o, "These VPCs are both peered with a third VPC but not with each other; they cannot reach each other (peering is not transitive):\n");
    for t in &nt {
        let _ = writeln!(
            o,
            "- {} and {} (both peered with {}): create a direct peering to connect them.",
            md_escape(&t.a.0),
            md_escape(&t.c.0),
            md_escape(&t.via.0)
        );
    }
    if total > nt.len() {
        let _ = writeln!(
            o,
            "- … and {} more pairs ({total} in all; `peerplan check` counts them per group).",
            total - nt.len()
        );
    }
}

/// A command per endpoint pair across an active peering that the simulator accepts on a listening port (at
/// most 50 sources' worth, [`VERIFY_MAX_TRACES`] traces).
fn md_verify_connectivity(o: &mut String, plan: &Plan, graph: &PeeringGraph) {
    let _ = writeln!(o, "\n## Verify connectivity\n");
    let lines = verify_lines(plan, graph);
    if lines.is_empty() {
        let _ = writeln!(
            o,
            "No endpoint pair across a peering is expected to connect on a declared listening port."
        );
    }
    for l in lines {
        let _ = writeln!(o, "{l}");
    }
}

/// The lines of "verify connectivity". Only pairs across an active peering can connect from one VPC to another:
/// candidates are the endpoints of the VPCs actively peered with the source's, so the work follows the peerings,
/// not all pairs of endpoints; and it stops after a bounded number of traces.
fn verify_lines(plan: &Plan, graph: &PeeringGraph) -> Vec<String> {
    let t = Topology::new(plan);
    let mut lines = Vec::new();
    let vpc_of_subnet: HashMap<&SubnetId, &VpcId> = plan.subnets.iter().map(|s| (&s.id, &s.vpc)).collect();
    let mut endpoints_of: HashMap<&VpcId, Vec<usize>> = HashMap::new();
    for (i, e) in plan.endpoints.iter().enumerate() {
        if let Some(v) = vpc_of_subnet.get(&e.subnet) {
            endpoints_of.entry(v).or_default().push(i);
        }
    }
    let mut traced = 0usize;
    'sources: for src in &plan.endpoints {
        let Some(&src_vpc) = vpc_of_subnet.get(&src.subnet) else {
            continue;
        };
        let mut candidates: Vec<usize> = graph
            .peerings_of(src_vpc)
            .into_iter()
            .filter(|(p, peer)| p.status == PeeringStatus::Active && *peer != src_vpc)
            .flat_map(|(_, peer)| endpoints_of.get(peer).into_iter().flatten().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        for dst in candidates.into_iter().map(|i| &plan.endpoints[i]) {
            for &port in &dst.ports {
                if traced == VERIFY_MAX_TRACES {
                    lines.push(format!(
                        "- (stopped after {VERIFY_MAX_TRACES} traces; `peerplan matrix` checks every pair)"
                    ));
                    break 'sources;
                }
                traced += 1;
                let flow = Flow {
                    from: src.id.0.clone(),
                    to: dst.id.0.clone(),
                    protocol: Protocol::Tcp,
                    port: Some(port),
                    client: ClientProfile::Linux,
                };
                if trace(&t, &flow).is_ok_and(|tr| tr.code == TraceCode::Accepted) {
                    lines.push(format!(
                        "- From {} ({}): `{}` — expects {}",
                        md_escape(&src.label()),
                        src.ipv4.map(|a| a.to_string()).unwrap_or_default(),
                        verify_command(dst, port),
                        md_escape(&dst.label())
                    ));
                }
            }
        }
        if lines.len() >= 50 {
            break;
        }
    }
    lines
}

/// How to check that `dst` answers on `port`: HTTP(S) services answer a health URL; for database, SSH and other
/// TCP ports a connect test is the honest check.
fn verify_command(dst: &Endpoint, port: u16) -> String {
    let addr = dst
        .ipv4
        .map(|a| a.to_string())
        .or_else(|| dst.ipv6.map(|a| format!("[{a}]")))
        .unwrap_or_default();
    match port {
        443 => format!("curl https://{addr}/health"),
        22 | 25 | 53 | 1433 | 1521 | 3306 | 5432 | 5672 | 6379 | 9092 | 11211 | 27017 => {
            format!("nc -zv {} {port}", addr.trim_matches(|c| c == '[' || c == ']'))
        }
        _ => format!("curl http://{addr}:{port}/health"),
    }
}

/// A quoted DOT string: `\\` and `"` escaped; control characters (line breaks included) become U+FFFD.
fn dot_id(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '\\' | '"' => {
                o.push('\\');
                o.push(c);
            }
            c if is_forbidden_char(c) => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A quoted DOT label of several lines, each escaped as by [`dot_id`].
fn dot_lines(lines: &[&str]) -> String {
    let inner: Vec<String> = lines
        .iter()
        .map(|l| {
            let q = dot_id(l);
            q[1..q.len() - 1].to_string()
        })
        .collect();
    format!("\"{}\"", inner.join("\n"))
}

/// The plan's VPCs by account id, each account's in plan order: one pass, not a scan of every VPC per account.
fn vpcs_by_account(plan: &Plan) -> HashMap<&str, Vec<&Vpc>> {
    let mut out: HashMap<&str, Vec<&Vpc>> = HashMap::new();
    for v in &plan.vpcs {
        out.entry(v.account.as_str()).or_default().push(v);
    }
    out
}

/// The peering map as Graphviz DOT: VPCs clustered by account, peerings styled by status.
pub fn dot(plan: &Plan) -> String {
    let mut o = String::from("graph peering {\n  graph [rankdir=LR, fontname=\"Helvetica\"];\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    let by_account = vpcs_by_account(plan);
    for a in &plan.accounts {
        let _ = writeln!(
            o,
            "  subgraph {} {{\n    label={};",
            dot_id(&format!("cluster_{}", a.id)),
            dot_id(&format!("account {}", a.id))
        );
        for v in by_account.get(a.id.as_str()).into_iter().flatten() {
            let blocks: Vec<String> = v.blocks().map(|b| b.to_string()).collect();
            let _ = writeln!(
                o,
                "    {} [label={}];",
                dot_id(&v.id.0),
                dot_lines(&[&v.label(), &blocks.join(", "), &v.region])
            );
        }
        let _ = writeln!(o, "  }}");
    }
    for p in &plan.peerings {
        let style = match p.status {
            PeeringStatus::Active => "solid, color=\"#2e7d32\"",
            PeeringStatus::Pending => "dashed, color=\"#b26a00\"",
            PeeringStatus::Deleted => "dotted, color=\"#9e9e9e\"",
            _ => "bold, color=\"#c62828\"",
        };
        let _ = writeln!(
            o,
            "  {} -- {} [label={}, style={style}];",
            dot_id(&p.requester.vpc.0),
            dot_id(&p.accepter.vpc.0),
            dot_id(&format!("{} ({})", p.id, p.status))
        );
    }
    o.push_str("}\n");
    o
}

fn mermaid_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Text inside a quoted Mermaid label: `"`, `<`, `>`, `&`, `#` and `` ` `` as Mermaid entity codes (`#quot;`,
/// `#lt;`, …), so a name can neither end the label nor become HTML or a Markdown string; control characters as
/// U+FFFD.
fn mermaid_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '&' => o.push_str("#amp;"),
            '#' => o.push_str("#35;"),
            '`' => o.push_str("#96;"),
            c if is_forbidden_char(c) => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// The peering map as a Mermaid flowchart.
pub fn mermaid(plan: &Plan) -> String {
    let mut o = String::from("flowchart LR\n");
    let by_account = vpcs_by_account(plan);
    for a in &plan.accounts {
        let _ = writeln!(
            o,
            "  subgraph {}[\"account {}\"]",
            mermaid_id(&format!("acct_{}", a.id)),
            mermaid_text(&a.id.0)
        );
        for v in by_account.get(a.id.as_str()).into_iter().flatten() {
            let blocks: Vec<String> = v.blocks().map(|b| b.to_string()).collect();
            let _ = writeln!(
                o,
                "    {}[\"{}<br/>{}<br/>{}\"]",
                mermaid_id(&v.id.0),
                mermaid_text(&v.label()),
                blocks.join(", "),
                mermaid_text(&v.region)
            );
        }
        let _ = writeln!(o, "  end");
    }
    for p in &plan.peerings {
        let arrow = match p.status {
            PeeringStatus::Active => "---",
            PeeringStatus::Pending => "-.-",
            _ => "-.-x",
        };
        let _ = writeln!(
            o,
            "  {} {arrow}|\"{} ({})\"| {}",
            mermaid_id(&p.requester.vpc.0),
            mermaid_text(&p.id.0),
            p.status,
            mermaid_id(&p.accepter.vpc.0)
        );
    }
    o
}

/// The key variable of an account: `API_KEY_<ACCOUNT>` in upper case with `_` for anything else.
/// The key variable of every account whose VPCs the plan holds: [`key_var`], made unique where two accounts
/// would share one (`a-b` and `a_b` both read `API_KEY_A_B`): the later accounts (in id order) get `_2`, `_3`…,
/// so no call ever runs with another account's key.
pub fn key_vars(plan: &Plan) -> BTreeMap<&str, String> {
    let mut accounts: Vec<&str> = plan.vpcs.iter().map(|v| v.account.as_str()).collect();
    accounts.sort();
    accounts.dedup();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for a in accounts {
        let base = key_var(a);
        let n = taken.entry(base.clone()).or_default();
        *n += 1;
        let mut var = if *n == 1 {
            base.clone()
        } else {
            format!("{base}_{n}")
        };
        // A suffixed name could itself be another account's plain name: keep counting until it is free.
        while out.values().any(|v: &String| v == &var) || (*n > 1 && accounts_plain(plan, &var)) {
            *n += 1;
            var = format!("{base}_{n}");
        }
        out.insert(a, var);
    }
    out
}

/// Whether some account's plain [`key_var`] is `var`.
fn accounts_plain(plan: &Plan, var: &str) -> bool {
    plan.vpcs.iter().any(|v| key_var(v.account.as_str()) == var)
}

pub fn key_var(account: &str) -> String {
    let mut v: String = account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if v.is_empty() {
        v.push('X');
    }
    format!("API_KEY_{v}")
}

/// A word for bash, quoted: single quotes (`'` as `'\''`), so nothing in it is expanded. Control characters
/// (refused in plans, but the export does not rely on that) are written as ANSI-C `$'\xHH'` pieces, except NUL,
/// which no bash string can hold, written as U+FFFD.
pub fn sh_quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('\'');
    for c in s.chars() {
        match c {
            '\'' => o.push_str("'\\''"),
            '\0' => o.push('\u{FFFD}'),
            c if c.is_ascii_control() => {
                let _ = write!(o, "'$'\\x{:02x}''", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('\'');
    o
}

/// Text for a one-line comment or message in an export: every character the plan's edge refuses (control
/// characters, line separators, bidi controls) becomes U+FFFD, so no text can end the line it is on.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if is_forbidden_char(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// Which side's calls a script contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptPart {
    /// Everything, in order.
    All,
    /// The requesters' calls: create peerings, routes in requester VPCs.
    Requester,
    /// The accepters' calls: accept, routes in accepter VPCs.
    Accepter,
}

pub mod curl;
pub use curl::curl_script;

/// Width and height of a VPC box on the map, in pixels.
pub const BOX_W: i32 = 280;
pub const BOX_H: i32 = 104;
const GAP_X: i32 = 150;
const GAP_Y: i32 = 80;
const TOP: i32 = 64;
const LEFT: i32 = 24;
const LEGEND: i32 = 64;

/// Where each VPC box goes on the peering map (top-left corners, pixels) and the map's size.
#[derive(Clone, Debug, PartialEq)]
pub struct MapLayout {
    pub boxes: Vec<(crate::ids::VpcId, (i32, i32))>,
    pub width: u32,
    pub height: u32,
}

/// The map's layout: the plan's positions when every VPC has one (as drawn in the UI); else the planner's
/// auto-layout ([`crate::layout`]: each group of peered VPCs in a block of its own, peered VPCs near each other).
pub fn map_layout(plan: &Plan) -> MapLayout {
    let mut boxes = Vec::with_capacity(plan.vpcs.len());
    if !plan.vpcs.is_empty() && plan.vpcs.iter().all(|v| v.position.is_some()) {
        let pos = |v: &Vpc| v.position.unwrap_or_default();
        let min_x = plan.vpcs.iter().map(|v| pos(v).x).fold(f64::INFINITY, f64::min);
        let min_y = plan.vpcs.iter().map(|v| pos(v).y).fold(f64::INFINITY, f64::min);
        for v in &plan.vpcs {
            let p = pos(v);
            // Saturating: positions are bounded at the plan's edge, but a map must never overflow on its own.
            let offset = |d: f64| d.clamp(0.0, f64::from(i32::MAX / 4)) as i32;
            boxes.push((
                v.id.clone(),
                (LEFT + offset(p.x - min_x), TOP + offset(p.y - min_y)),
            ));
        }
    } else {
        let spacing = crate::layout::Spacing {
            gap_x: f64::from(GAP_X),
            gap_y: f64::from(GAP_Y),
            group_gap: f64::from(2 * GAP_X),
        };
        let at = crate::layout::arrange(plan, |_| (f64::from(BOX_W), f64::from(BOX_H)), spacing);
        for (v, p) in plan.vpcs.iter().zip(at) {
            // Within 0..=MAX_POSITION (10,000,000): an i32.
            boxes.push((v.id.clone(), (LEFT + p.x as i32, TOP + p.y as i32)));
        }
    }
    let right = boxes
        .iter()
        .map(|(_, (x, _))| x + BOX_W)
        .max()
        .unwrap_or(LEFT + BOX_W);
    let bottom = boxes.iter().map(|(_, (_, y))| y + BOX_H).max().unwrap_or(TOP);
    MapLayout {
        boxes,
        width: (right + LEFT).max(760) as u32,
        height: (bottom + GAP_Y / 2 + LEGEND) as u32,
    }
}

#[cfg(feature = "map")]
pub mod map;

/// Text inside HTML.
#[cfg(feature = "html")]
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The peering documentation as one self-contained HTML page, rendered from the same Markdown as
/// [`markdown`]; `map_svg`, when given, is shown under the title.
#[cfg(feature = "html")]
pub fn html(plan: &Plan, diagnostics: &[Diagnostic], map_svg: Option<&str>) -> String {
    use pulldown_cmark::{html::push_html, Event, Options, Parser};
    let md = markdown(plan, diagnostics);
    let mut body = String::new();
    // Names in a plan are text, never markup: raw HTML in the Markdown is shown, not rendered.
    let events = Parser::new_ext(&md, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        other => other,
    });
    push_html(&mut body, events);
    if let Some(svg) = map_svg {
        // After the title (the first heading).
        let at = body.find("</h1>").map(|i| i + "</h1>".len()).unwrap_or(0);
        let figure = format!(
            "\n<figure class=\"map\">{}<figcaption>Peering map</figcaption></figure>\n",
            svg.trim_start_matches(|c| c != '<').replacen(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "",
                1
            )
        );
        body.insert_str(at, &figure);
    }
    let title = if plan.name.is_empty() {
        "Peering documentation"
    } else {
        plan.name.as_str()
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        html_escape(title),
        HTML_STYLE
    )
}

#[cfg(feature = "html")]
const HTML_STYLE: &str = "body { font: 15px/1.5 system-ui, sans-serif; color: #0f172a; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #cbd5e1; padding: 4px 10px; text-align: left; }
th { background: #f1f5f9; }
code { background: #f1f5f9; padding: 1px 4px; border-radius: 3px; }
figure.map svg { max-width: 100%; height: auto; border: 1px solid #e2e8f0; }
@media (prefers-color-scheme: dark) {
  body { background: #0f172a; color: #e2e8f0; }
  th { background: #1e293b; } code { background: #1e293b; }
  th, td { border-color: #334155; }
}
";

impl Vpc {
    /// The name, or the id when the VPC has none (scripts find VPCs by name).
    pub fn name_or_id(&self) -> String {
        if self.name.is_empty() {
            self.id.0.clone()
        } else {
            self.name.clone()
        }
    }
}
