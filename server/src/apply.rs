//! `peerplan plan` and `peerplan apply`: what applying a plan to a target would change, from the change set of
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
    export::{one_line, sh_quote},
    ids::{AccountId, VpcId},
    CheckOptions, Diagnostic, Plan, Severity,
};
use sha2::{Digest, Sha256};

use std::io::IsTerminal as _;

use crate::{
    cli::{ApplyArgs, Format, PlanArgs},
    commands::{render_text, terminal_safe},
    engine::{plan_version, Awaiting, Engine, Event, EventKind, Outcome},
    live::{self, Keys},
    run_state::RunState,
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

/// What `plan` computed: the change set and what it was computed from.
pub struct Planned {
    pub desired: Plan,
    pub live: Plan,
    pub changes: ChangeSet,
    pub diagnostics: Vec<Diagnostic>,
    /// Plan accounts whose key the keys file does not give.
    pub keyless: Vec<String>,
    /// The keys of the plan's accounts.
    pub keys: Keys,
}

/// Reads the desired plan and the live state and diffs them.
pub async fn compute(
    plan_file: &Path,
    target: &str,
    keys_file: &Path,
    data: &Path,
) -> anyhow::Result<Planned> {
    let loaded = crate::plan_io::load(plan_file)?;
    let keys = Keys::read(keys_file)?;
    let state = RunState::dir(&state_dir(data, target, plan_file));
    compute_with(
        loaded.plan,
        loaded.import_diagnostics,
        target,
        &keys,
        &keys_file.display().to_string(),
        &state,
    )
    .await
}

/// Diffs a desired plan against `target`'s live state, read with the keys of the plan's accounts that `keys`
/// holds (`keys_name` names it in errors), bound by the bindings recorded in `state`.
pub async fn compute_with(
    desired: Plan,
    import_diagnostics: Vec<Diagnostic>,
    target: &str,
    keys: &Keys,
    keys_name: &str,
    state: &RunState,
) -> anyhow::Result<Planned> {
    let keys = keys.for_plan(&desired);
    let keyless: Vec<String> = desired
        .accounts
        .iter()
        .map(|a| a.id.to_string())
        .filter(|a| !keys.entries.iter().any(|e| &e.label == a))
        .collect();
    if keys.entries.is_empty() {
        anyhow::bail!(
            "{keys_name}: no key in it is for any of the plan's accounts ({}): give keys by plan account id, or by the accounts' names",
            desired
                .accounts
                .iter()
                .map(|a| a.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut live = live::read_live(target, &keys).await?;
    let bindings = state.bindings().await?;
    known_without_key(&desired, &mut live, &bindings, &keyless);
    let mut changes = changeset::diff(&desired, &live, &bindings).map_err(|e| anyhow::anyhow!("{e}"))?;
    if options_as_planned(&desired, &mut live, &changes) {
        changes = changeset::diff(&desired, &live, &bindings).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut diagnostics = import_diagnostics;
    diagnostics.extend(netmodel::check(&desired, &CheckOptions::default()));
    Ok(Planned {
        desired,
        live,
        changes,
        diagnostics,
        keyless,
        keys,
    })
}

/// The NFYio API does not expose a peering's options (DNS resolution): a live peering bound to a planned one
/// has the planned options, so they are never a change that cannot be made. Returns whether any was set.
fn options_as_planned(desired: &Plan, live: &mut Plan, changes: &ChangeSet) -> bool {
    let mut set = false;
    for step in changes.steps() {
        if let (Op::SetPeeringOptions { peering, options }, Some(live_id)) = (&step.op, &step.live_id) {
            if desired.peerings.iter().any(|p| &p.id == peering) {
                if let Some(l) = live.peerings.iter_mut().find(|l| l.id.as_str() == live_id) {
                    l.options = options.clone();
                    set = true;
                }
            }
        }
    }
    set
}

/// A VPC of an account whose key was not given cannot be read, but an earlier apply recorded which live VPC it
/// is: it stands in the live state as the plan describes it, so a peering to it can be requested (and then
/// awaits that account's acceptance) instead of the VPC being planned anew.
fn known_without_key(desired: &Plan, live: &mut Plan, recorded: &Bindings, keyless: &[String]) {
    for v in desired
        .vpcs
        .iter()
        .filter(|v| keyless.iter().any(|a| a == v.account.as_str()))
    {
        if let Some(id) = recorded.vpcs.get(&v.id) {
            match live.vpcs.iter_mut().find(|l| &l.id == id) {
                // Seen through a peering: named by its control-plane account; the binding says whose it is.
                Some(l) => l.account = v.account.clone(),
                None => live.vpcs.push(netmodel::model::Vpc {
                    id: id.clone(),
                    position: None,
                    ..v.clone()
                }),
            }
        }
    }
    live.vpcs.sort_by(|a, b| a.id.cmp(&b.id));
}

/// The region a step works in: its VPC's, from the desired plan (plan ids) or the live one (live ids).
pub fn region_of(step: &Step, desired: &Plan, live: &Plan) -> String {
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

/// `peerplan apply`: see [`crate::cli::Command::Apply`] for the exit codes.
pub async fn apply(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let a = &args.plan;
    let json = a.format == Format::Json;
    let planned = compute(&a.plan, &a.target, &a.keys, &a.data).await?;
    // The plan first: as text on standard error (standard output stays for the events with --format json).
    if json {
        let mut doc = planned.changes.to_json();
        doc["event"] = "plan".into();
        doc["diagnostics"] = serde_json::to_value(&planned.diagnostics)?;
        println!("{}", serde_json::to_string(&doc)?);
    } else {
        eprint!("{}", render(&planned));
    }
    if planned.diagnostics.iter().any(|d| d.severity == Severity::Error) {
        eprintln!("peerplan apply: the plan has errors (above); nothing was applied");
        return Ok(ExitCode::from(1));
    }
    if planned.changes.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirmed(&planned)? {
        eprintln!("peerplan apply: not applied (only 'yes' confirms; or pass --yes)");
        return Ok(ExitCode::from(2));
    }

    // Stale: the live state read again must give the same steps as the plan that was shown.
    let again = compute(&a.plan, &a.target, &a.keys, &a.data).await?;
    let labels = |p: &Planned| p.changes.steps().iter().map(Step::label).collect::<Vec<_>>();
    if labels(&again) != labels(&planned) {
        eprintln!(
            "peerplan apply: refused as stale: the live objects the plan touches changed since it was shown; \
             run peerplan plan (or apply) again and review the new plan"
        );
        return Ok(ExitCode::from(1));
    }

    let dir = state_dir(&a.data, &a.target, &a.plan);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let client = controlplane::client::Client::new(&a.target, "")
        .map_err(|e| anyhow::anyhow!("target {}: {e}", terminal_safe(&a.target)))?;
    let clients = planned
        .keys
        .entries
        .iter()
        .map(|e| {
            (
                netmodel::ids::AccountId::from(e.label.clone()),
                client.with_key(e.secret()),
            )
        })
        .collect();
    let mut engine = Engine {
        desired: &planned.desired,
        clients,
        bindings: planned.changes.bindings().clone(),
        version: plan_version(&planned.desired),
        state: RunState::dir(&dir),
        attempt: String::new(),
        secrets: planned
            .keys
            .entries
            .iter()
            .map(|e| e.secret().to_string())
            .collect(),
    };
    engine.state.save_bindings(&engine.bindings).await?;

    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(planned.changes.steps().len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut report = |e: &Event| {
        if json {
            if let Ok(line) = serde_json::to_string(e) {
                println!("{line}");
            }
            return;
        }
        let line = format!(
            "{} {} {} {}: {}{}",
            match e.event {
                EventKind::Start => "…",
                EventKind::Done => "✓",
                EventKind::Failed => "✗",
                EventKind::NoKey => "⏸",
                EventKind::Blocked => "·",
            },
            e.symbol,
            e.kind,
            terminal_safe(&e.plan_id),
            terminal_safe(&e.detail),
            e.message
                .as_deref()
                .map(|m| format!(" — {}", terminal_safe(m)))
                .unwrap_or_default(),
        );
        match &bar {
            Some(bar) => {
                bar.set_message(line.clone());
                if e.event != EventKind::Start {
                    bar.inc(1);
                    bar.println(line);
                }
            }
            None if e.event != EventKind::Start => eprintln!("{line}"),
            None => {}
        }
    };
    let outcome = engine.run(&planned.changes, &mut report).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let end = |outcome: &str, message: String| {
        if json {
            println!(
                "{}",
                serde_json::json!({"event": "end", "outcome": outcome, "message": message})
            );
        }
        eprintln!("{message}");
    };
    Ok(match outcome {
        Outcome::Applied { steps } => {
            end(
                "applied",
                format!("Apply complete: {steps} steps. {}", planned.changes.summary()),
            );
            ExitCode::SUCCESS
        }
        Outcome::Failed { step, reason, fix } => {
            end(
                "failed",
                format!(
                    "peerplan apply: step {} failed: {}\nwhat to do: {fix}\n(steps before it are done and recorded; \
                     applying again resumes from here)",
                    terminal_safe(&step),
                    terminal_safe(&reason)
                ),
            );
            ExitCode::from(1)
        }
        Outcome::Awaiting(w) => {
            let files = write_handoff(&a.plan, &a.target, &w)?;
            let mut message = String::new();
            for (plan_id, live_id, account, expires) in &w.acceptances {
                let _ = writeln!(
                    message,
                    "awaiting acceptance by account {} of peering {} ({}){}",
                    terminal_safe(account.as_str()),
                    terminal_safe(plan_id),
                    terminal_safe(live_id),
                    expiry(*expires)
                );
            }
            for (account, steps) in &w.accounts {
                let _ = writeln!(
                    message,
                    "awaiting account {}: {} step(s) need its key (first: {})",
                    terminal_safe(account.as_str()),
                    steps.len(),
                    terminal_safe(steps.first().map(String::as_str).unwrap_or_default())
                );
            }
            for f in &files {
                let _ = writeln!(message, "hand-off for that account written to {}", f.display());
            }
            let _ = write!(
                message,
                "{} step(s) wait for it; apply again (with that account's key, or after it has run its part) to finish",
                w.blocked
            );
            end("awaiting", message);
            ExitCode::from(3)
        }
    })
}

/// ` (expires on 2026-12-08 19:00 UTC)` for the control plane's expiry (Unix milliseconds), or nothing when
/// unknown.
pub fn expiry(unix_ms: i64) -> String {
    if unix_ms <= 0 {
        return String::new();
    }
    format!(" (expires on {})", app::storage::format_time(unix_ms))
}

/// Asks on the terminal; standard input that is not a terminal never confirms.
fn confirmed(p: &Planned) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        eprintln!("peerplan apply: standard input is not a terminal: pass --yes to apply without asking");
        return Ok(false);
    }
    let destroy = p.changes.summary().destroy;
    if destroy > 0 {
        eprintln!("This destroys {destroy} live object(s).");
    }
    eprint!("Apply these changes? Only 'yes' confirms: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// `awaiting acceptance by account acct-b of peering pcx-ab (pcx_…) (expires on …)` for each peering `account`
/// has to accept: the hand-off's lines, in the planner and next to the plan.
pub fn acceptances_of(w: &Awaiting, account: &AccountId) -> Vec<String> {
    w.acceptances
        .iter()
        .filter(|a| &a.2 == account)
        .map(|(plan_id, live_id, acc, expires)| {
            format!(
                "awaiting acceptance by account {acc} of peering {plan_id} ({live_id}){}",
                expiry(*expires)
            )
        })
        .collect()
}

/// Writes, next to the plan, a shell script and a Markdown page per account the run waits for: the exact calls
/// that accept its peerings, and the steps of its part. Returns the files written.
fn write_handoff(plan_file: &Path, target: &str, w: &Awaiting) -> anyhow::Result<Vec<PathBuf>> {
    let dir = plan_file.parent().unwrap_or(Path::new("."));
    let stem = plan_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    let mut files = Vec::new();
    for (account, steps) in &w.accounts {
        let name: String = account
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // Ids that differ only in characters a file name cannot hold get a short digest each.
        let name = if name == account.as_str() {
            name
        } else {
            format!(
                "{name}-{}",
                hex::encode(&Sha256::digest(account.as_str().as_bytes())[..3])
            )
        };
        let path = dir.join(format!("{stem}.handoff-{name}.sh"));
        let source = plan_file.display().to_string();
        let s = handoff_script(&source, target, account, steps, w);
        let acceptances = acceptances_of(w, account);
        let md = handoff_markdown(&source, target, account.as_str(), &acceptances, steps, &s);
        for (path, text) in [(path.clone(), s), (path.with_extension("md"), md)] {
            // A new file renamed into place: never written through a link that stands there.
            let tmp = path.with_extension("tmp");
            let _ = std::fs::remove_file(&tmp);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .and_then(|()| std::fs::rename(&tmp, &path))
                .with_context(|| format!("cannot write {}", path.display()))?;
            files.push(path);
        }
    }
    Ok(files)
}

/// The hand-off script of one account: the exact calls that accept its peerings, and its part's steps (as
/// comments). `source` names the plan in the header.
pub fn handoff_script(
    source: &str,
    target: &str,
    account: &AccountId,
    steps: &[String],
    w: &Awaiting,
) -> String {
    let safe_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let mut s = String::new();
    let _ = writeln!(s, "#!/usr/bin/env bash");
    let _ = writeln!(
        s,
        "# Peerplan hand-off for account {}: what the apply of {} waits for.",
        one_line(account.as_str()),
        one_line(source)
    );
    let _ = writeln!(s, "# Set API_KEY to this account's key, then run this script.");
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(s, "BASE_URL=${{BASE_URL:-{}}}", sh_quote(target));
    let _ = writeln!(
        s,
        "if [ -z \"${{API_KEY:-}}\" ]; then echo {} >&2; exit 2; fi",
        sh_quote(&format!(
            "set API_KEY to the key of account {}",
            one_line(account.as_str())
        ))
    );
    for (plan_id, live_id, acc, _) in &w.acceptances {
        if acc != account {
            continue;
        }
        if !safe_id(live_id) {
            let _ = writeln!(s, "# skipped: a peering id that is not a plain id");
            continue;
        }
        let _ = writeln!(s, "# accept peering {}", one_line(plan_id));
        let _ = writeln!(
                s,
                "curl -fsS -X POST \"$BASE_URL/v1/vpc-peering/{live_id}/accept\" -H \"Authorization: Bearer $API_KEY\""
            );
        let _ = writeln!(s, "echo");
    }
    let _ = writeln!(
        s,
        "# The steps of this account's part (peerplan apply with its key runs them):"
    );
    for step in steps {
        let _ = writeln!(s, "#   {}", one_line(step));
    }
    s
}

/// The Markdown page of a hand-off: what the account is asked to do, the script, its steps.
pub fn handoff_markdown(
    source: &str,
    target: &str,
    account: &str,
    acceptances: &[String],
    steps: &[String],
    script: &str,
) -> String {
    let text = |s: &str| netmodel::export::md_escape(s);
    let mut md = format!(
        "# Hand-off for account {}\n\nThe apply of {} to {} waits for this account.\n\n",
        text(account),
        text(source),
        text(target)
    );
    for a in acceptances {
        md.push_str(&format!("- {}\n", text(a)));
    }
    md.push_str("\n## Accept\n\nSet `API_KEY` to this account's key and run:\n\n````bash\n");
    md.push_str(script);
    md.push_str("````\n\n## This account's part\n\n");
    for s in steps {
        md.push_str(&format!("- {}\n", text(s)));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_a_utc_date_from_milliseconds() {
        assert_eq!(expiry(1_796_762_031_345), " (expires on 2026-12-08 20:33 UTC)");
        assert_eq!(expiry(951_782_400_000), " (expires on 2000-02-29 00:00 UTC)");
        assert_eq!(expiry(0), "");
    }
}
