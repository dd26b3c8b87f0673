//! The planning commands (`check`, `import`): read a plan, run `netmodel`, print the result.

use std::{path::Path, process::ExitCode};

use netmodel::{CheckOptions, Diagnostic, Severity};

use crate::{
    cli::{CheckArgs, Client, ExportArgs, Format, GenerateArgs, MatrixArgs, MatrixFormat, TraceArgs},
    exports::ExportFormat,
    plan_io,
};

/// `peerplan check`: exit 1 when any error, 0 otherwise, 2 for unreadable input.
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = plan_io::load(&args.plan)?;
    let opts = CheckOptions {
        lenient: args.lenient,
        ..CheckOptions::default()
    };
    let mut diagnostics = loaded.import_diagnostics;
    diagnostics.extend(netmodel::check(&loaded.plan, &opts));
    match args.format {
        Format::Json => write_json(&diagnostics)?,
        Format::Text => print!("{}", render_text(&diagnostics)),
    }
    let code = if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends next and the system takes its memory back at once: freeing an estate's plan and findings
    // piece by piece (hundreds of thousands of strings) first would only add time.
    std::mem::forget(loaded.plan);
    std::mem::forget(diagnostics);
    Ok(code)
}

/// A finding as `check --format json` writes it: the keys in alphabetical order (as they have always come out).
#[derive(serde::Serialize)]
struct JsonFinding<'a> {
    code: &'a netmodel::Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<&'a netmodel::check::Fix>,
    items: &'a [netmodel::check::ItemRef],
    message: &'a str,
    severity: &'a Severity,
}

/// `{"diagnostics": [...]}`, pretty-printed, streamed to standard output (80,000 findings need no copy of
/// themselves as JSON values, nor the whole text in memory).
fn write_json(diagnostics: &[Diagnostic]) -> anyhow::Result<()> {
    use std::io::Write;
    #[derive(serde::Serialize)]
    struct Document<'a> {
        diagnostics: Vec<JsonFinding<'a>>,
    }
    let document = Document {
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonFinding {
                code: &d.code,
                fix: d.fix.as_ref(),
                items: &d.items,
                message: &d.message,
                severity: &d.severity,
            })
            .collect(),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &document)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Diagnostics as readable lines, then a count.
pub fn render_text(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        out.push_str(&format!("{sev}[{}]: {}\n", d.code, terminal_safe(&d.message)));
        let items: Vec<&str> = d.items.iter().map(|i| i.as_str()).collect();
        out.push_str(&format!("  items: {}\n", terminal_safe(&items.join(", "))));
        if let Some(fix) = &d.fix {
            out.push_str(&format!("  fix: {}\n", terminal_safe(&fix.to_string())));
        }
    }
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    out.push_str(&format!(
        "{}, {}, {}\n",
        n(count(Severity::Error), "error", "errors"),
        n(count(Severity::Warning), "warning", "warnings"),
        n(count(Severity::Info), "note", "notes")
    ));
    out
}

/// Text from someone else's files on a terminal: control characters (an escape sequence in an imported AWS id
/// could retitle or clear the terminal, a newline could forge a line) are shown as `\u{…}` escapes.
///
/// ```
/// assert_eq!(server::commands::terminal_safe("vpc-1\u{1b}]0;x\u{7}"), "vpc-1\\u{1b}]0;x\\u{7}");
/// ```
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(netmodel::model::is_forbidden_char) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if netmodel::model::is_forbidden_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// `peerplan import aws FOLDER -o plan.json`: writes the plan and reports what did not fit.
pub fn import_aws(folder: &Path, output: &Path) -> anyhow::Result<()> {
    let imported = plan_io::import_aws_folder(folder)?;
    std::fs::write(output, imported.plan.to_json() + "\n")
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    eprintln!("imported {} into {}", counts(&imported.plan), output.display());
    if !imported.diagnostics.is_empty() {
        eprint!("{}", render_text(&imported.diagnostics));
    }
    Ok(())
}

/// `peerplan import live`: the live state of every account whose key is given, as a plan.
pub async fn import_live(target: &str, keys: &Path, output: &Path) -> anyhow::Result<()> {
    let keys = crate::live::Keys::read(keys)?;
    let plan = crate::live::read_live(target, &keys).await?;
    std::fs::write(output, plan.to_json() + "\n")
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    eprintln!(
        "read {} of {} account(s) into {}",
        counts(&plan),
        keys.entries.len(),
        output.display()
    );
    Ok(())
}

/// `3 VPCs, 2 subnets, …`: what a plan holds, for a one-line report.
fn counts(p: &netmodel::Plan) -> String {
    format!(
        "{} VPCs, {} subnets, {} route tables, {} security groups, {} network ACLs, {} endpoints, {} peerings",
        p.vpcs.len(),
        p.subnets.len(),
        p.route_tables.len(),
        p.security_groups.len(),
        p.network_acls.len(),
        p.endpoints.len(),
        p.peerings.len(),
    )
}

/// `peerplan trace`: exit 0 for any verdict, 2 for bad input. Diagnostics never block a trace.
pub fn trace(args: &TraceArgs) -> anyhow::Result<()> {
    use netmodel::sim::{self, Flow, Topology};
    let loaded = plan_io::load(&args.plan)?;
    let flow = Flow {
        from: args.from.clone(),
        to: args.to.clone(),
        protocol: args.protocol,
        port: args.port,
        client: client_profile(args.client),
    };
    let topology = Topology::new(&loaded.plan);
    let trace = sim::trace(&topology, &flow)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&trace).unwrap()),
        Format::Text => print!("{}", sim::render_text(&flow, &trace)),
    }
    Ok(())
}

fn client_profile(c: Client) -> netmodel::sim::ClientProfile {
    use netmodel::sim::ClientProfile;
    match c {
        Client::Linux => ClientProfile::Linux,
        Client::Windows => ClientProfile::Windows,
        Client::Nat => ClientProfile::Nat,
    }
}

/// `peerplan matrix`: exit 0, or 2 for bad input.
pub fn matrix(args: &MatrixArgs) -> anyhow::Result<()> {
    use netmodel::{matrix, sim::Topology};
    let loaded = plan_io::load(&args.plan)?;
    let topology = Topology::new(&loaded.plan);
    let m = matrix::matrix(&topology, args.protocol, args.port, client_profile(args.client))?;
    match args.format {
        MatrixFormat::Csv => print!("{}", m.to_csv()),
        MatrixFormat::Json => println!("{}", serde_json::to_string(&m.to_json()).unwrap()),
        MatrixFormat::Text => print!("{}", render_matrix(&m)),
    }
    Ok(())
}

/// A grid for small matrices (a letter per code), always followed by the counts.
fn render_matrix(m: &netmodel::matrix::Matrix) -> String {
    use netmodel::sim::TraceCode;
    let letter = |c: TraceCode| match c {
        TraceCode::Accepted => '+',
        TraceCode::Exited => '>',
        _ => '.',
    };
    let mut out = format!(
        "{} {} — {} endpoints, {} classes\n",
        m.protocol,
        m.port
            .map(|p| format!("port {p}"))
            .unwrap_or_else(|| "(first listening port)".into()),
        m.len(),
        m.classes
    );
    if m.len() <= 60 {
        let width = m.endpoints.iter().map(|e| e.len()).max().unwrap_or(0);
        out.push_str(&format!(
            "{:width$}  columns: destinations in row order; + accepted, > exited, . dropped\n",
            ""
        ));
        for i in 0..m.len() {
            let row: String = (0..m.len()).map(|j| letter(m.code(i, j))).collect();
            out.push_str(&format!("{:width$}  {row}\n", m.endpoints[i]));
        }
    }
    for (code, n) in m.counts() {
        out.push_str(&format!("{code}: {n}\n"));
    }
    out
}

/// `peerplan generate`.
pub fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let plan = netmodel::generate::generate(&netmodel::generate::GenerateOptions {
        vpcs: args.vpcs,
        subnets_per_vpc: args.subnets_per_vpc,
        endpoints_per_subnet: args.endpoints_per_subnet,
        seed: args.seed,
    })?;
    let text = plan.to_json() + "\n";
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `peerplan control-plane account create NAME`: prints `{"account_id", "api_key"}` with `--format json`.
pub async fn create_account(
    name: &str,
    data: &Path,
    database_url: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let store = crate::control::open(data, database_url).await?;
    let account = store
        .create_account(name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string(&account)?),
        Format::Text => {
            println!("account_id: {}", account.account_id);
            println!("api_key:    {}", account.api_key);
            eprintln!("The key is shown only once; store it now.");
        }
    }
    Ok(())
}

/// `peerplan audit verify`: checks the audit trail's chain; prints one line (entries and head hash) and exits 0,
/// or names the first broken entry and exits 1.
pub async fn audit_verify(data: &Path, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    if database_url.is_none() {
        let db = data.join("controlplane.db");
        anyhow::ensure!(
            db.exists(),
            "there is no database at {} (give --data DIR, the data folder of `peerplan serve`, or --database-url URL)",
            db.display()
        );
    }
    let store = crate::control::open(data, database_url).await?;
    let checked = store
        .audit_verify()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the audit trail: {e}"))?;
    Ok(match checked {
        Ok(intact) => {
            println!(
                "audit trail intact: {} entries checked, head hash {}",
                intact.entries, intact.head_hash
            );
            ExitCode::SUCCESS
        }
        Err(broken) => {
            eprintln!("audit trail broken at entry {}: {}", broken.seq, broken.what);
            ExitCode::from(1)
        }
    })
}

/// `peerplan export`.
pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let loaded = plan_io::load(&args.plan)?;
    let bytes = crate::exports::render(
        &loaded.plan,
        &loaded.import_diagnostics,
        args.format,
        args.part.into(),
        args.port,
    )?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            #[cfg(unix)]
            if args.format == ExportFormat::Curl {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
            }
        }
        None => {
            use std::io::Write;
            if args.format == ExportFormat::Png && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                anyhow::bail!(
                    "a PNG is binary: write it to a file with -o map.png (or redirect standard output)"
                );
            }
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))?;
        }
    }
    Ok(())
}
