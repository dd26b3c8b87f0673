//! `peerplan plan`: what applying a plan to a target would change, from the change set of
//! [`netmodel::changeset`] (the desired plan against the target's live state, read with [`crate::live`]).
//!
//! Bindings (which live object each plan object is) are kept per plan file and target in the data folder
//! (`DATA/apply/<target>-<plan>/bindings.json`); without them, objects bind by their natural keys (a VPC by
//! account, region and primary block, shown as `= adopt`).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use netmodel::{
    changeset::{self, Bindings, ChangeSet, Handle, Op, Step},
    ids::VpcId,
    CheckOptions, Diagnostic, Plan, Severity,
};
use sha2::{Digest, Sha256};

use crate::{
    cli::{Format, PlanArgs},
    commands::{render_text, terminal_safe},
    live::{self, Keys},
};

/// The folder of one plan file's state on one target.
pub fn state_dir(data: &Path, target: &str, plan_file: &Path) -> PathBuf {
    let short = |s: &str| hex::encode(&Sha256::digest(s.as_bytes())[..6]);
    let plan = std::fs::canonicalize(plan_file).unwrap_or_else(|_| plan_file.to_path_buf());
    data.join("apply").join(format!(
        "{}-{}",
        short(target.trim_end_matches('/')),
        short(&plan.to_string_lossy())
    ))
}

/// The recorded bindings, or none.
pub fn load_bindings(dir: &Path) -> anyhow::Result<Bindings> {
    let path = dir.join("bindings.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("{}: not valid bindings", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Bindings::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// What `plan` computed: the change set and what it was computed from.
pub struct Planned {
    pub desired: Plan,
    pub live: Plan,
    pub changes: ChangeSet,
    pub diagnostics: Vec<Diagnostic>,
    /// Plan accounts whose key the keys file does not give.
    pub keyless: Vec<String>,
}

/// Reads the desired plan and the live state and diffs them.
pub async fn compute(
    plan_file: &Path,
    target: &str,
    keys_file: &Path,
    data: &Path,
) -> anyhow::Result<Planned> {
    let loaded = crate::plan_io::load(plan_file)?;
    let desired = loaded.plan;
    let keys = Keys::read(keys_file)?.for_plan(&desired);
    let keyless = desired
        .accounts
        .iter()
        .map(|a| a.id.to_string())
        .filter(|a| !keys.entries.iter().any(|e| &e.label == a))
        .collect();
    let live = live::read_live(target, &keys).await?;
    let bindings = load_bindings(&state_dir(data, target, plan_file))?;
    let changes = changeset::diff(&desired, &live, &bindings).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut diagnostics = loaded.import_diagnostics;
    diagnostics.extend(netmodel::check(&desired, &CheckOptions::default()));
    Ok(Planned {
        desired,
        live,
        changes,
        diagnostics,
        keyless,
    })
}

/// The region a step works in: its VPC's, from the desired plan (plan ids) or the live one (live ids).
fn region_of(step: &Step, desired: &Plan, live: &Plan) -> String {
    let vpc_region =
        |plan: &Plan, vpc: &VpcId| plan.vpcs.iter().find(|v| &v.id == vpc).map(|v| v.region.clone());
    let in_plan = |plan: &Plan, id: &str| -> Option<String> {
        let vpc = plan
            .vpcs
            .iter()
            .find(|v| v.id.as_str() == id)
            .map(|v| v.id.clone())
            .or_else(|| {
                plan.subnets
                    .iter()
                    .find(|s| s.id.as_str() == id)
                    .map(|s| s.vpc.clone())
            })
            .or_else(|| {
                plan.route_tables
                    .iter()
                    .find(|t| t.id.as_str() == id)
                    .map(|t| t.vpc.clone())
            })
            .or_else(|| {
                plan.security_groups
                    .iter()
                    .find(|g| g.id.as_str() == id)
                    .map(|g| g.vpc.clone())
            })
            .or_else(|| {
                plan.network_acls
                    .iter()
                    .find(|a| a.id.as_str() == id)
                    .map(|a| a.vpc.clone())
            })
            .or_else(|| {
                plan.gateways
                    .iter()
                    .find(|g| g.id.as_str() == id)
                    .map(|g| g.vpc.clone())
            })
            .or_else(|| {
                let e = plan.endpoints.iter().find(|e| e.id.as_str() == id)?;
                plan.subnets
                    .iter()
                    .find(|s| s.id == e.subnet)
                    .map(|s| s.vpc.clone())
            })
            .or_else(|| {
                let p = plan.peerings.iter().find(|p| p.id.as_str() == id)?;
                Some(if p.accepter.account == step.account {
                    p.accepter.vpc.clone()
                } else {
                    p.requester.vpc.clone()
                })
            })?;
        vpc_region(plan, &vpc)
    };
    let handle = |h: &Handle| match h {
        Handle::Plan(id) => in_plan(desired, id),
        Handle::Live(id) => in_plan(live, id),
    };
    let found = match &step.op {
        Op::CreateRouteTable { .. } | Op::CreateSecurityGroup { .. } | Op::CreateNetworkAcl { .. } => {
            in_plan(desired, step.plan_id.as_str())
        }
        Op::CreateRoute { table, .. } | Op::UpdateRoute { table, .. } | Op::DeleteRoute { table, .. } => {
            handle(table)
        }
        Op::CreateSgRule { group, .. } | Op::DeleteSgRule { group, .. } => handle(group),
        Op::CreateAclEntry { acl, .. } | Op::UpdateAclEntry { acl, .. } | Op::DeleteAclEntry { acl, .. } => {
            handle(acl)
        }
        _ => None,
    };
    found
        .or_else(|| step.live_id.as_deref().and_then(|id| in_plan(live, id)))
        .or_else(|| in_plan(desired, step.plan_id.split(':').next().unwrap_or_default()))
        .or_else(|| in_plan(live, step.plan_id.split(':').next().unwrap_or_default()))
        .unwrap_or_else(|| "-".into())
}

/// The text form: one line per change grouped by account and region, the notes, the diagnostics, the summary.
pub fn render(p: &Planned) -> String {
    let mut groups: BTreeMap<(String, String), Vec<&Step>> = BTreeMap::new();
    for step in p.changes.steps() {
        groups
            .entry((step.account.to_string(), region_of(step, &p.desired, &p.live)))
            .or_default()
            .push(step);
    }
    let mut out = String::new();
    for ((account, region), steps) in &groups {
        let _ = writeln!(
            out,
            "account {} · {}",
            terminal_safe(account),
            terminal_safe(region)
        );
        for s in steps {
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                s.action.symbol(),
                s.kind,
                terminal_safe(&s.plan_id),
                terminal_safe(&s.detail)
            );
        }
    }
    if p.changes.is_empty() {
        out.push_str("No changes: the live state matches the plan.\n");
    }
    for a in &p.keyless {
        let _ = writeln!(
            out,
            "note: no key for account {} — its live state was not read; its steps need its key",
            terminal_safe(a)
        );
    }
    if !p.diagnostics.is_empty() {
        out.push_str(&render_text(&p.diagnostics));
    }
    let _ = writeln!(out, "{}", p.changes.summary());
    out
}

/// `peerplan plan`: exit 0; 1 when the desired plan has an error diagnostic; 2 for bad input.
pub async fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let planned = compute(&args.plan, &args.target, &args.keys, &args.data).await?;
    let text = match args.format {
        Format::Text => render(&planned),
        Format::Json => {
            let mut doc = planned.changes.to_json();
            doc["diagnostics"] = serde_json::to_value(&planned.diagnostics)?;
            serde_json::to_string_pretty(&doc)? + "\n"
        }
    };
    // A reader that stops early (`| head`) is not an error.
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(
        if planned.diagnostics.iter().any(|d| d.severity == Severity::Error) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}
