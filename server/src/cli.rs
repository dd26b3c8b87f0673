//! The command line: `peerplan serve` and the planning commands.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::{
    commands,
    exports::{ExportFormat, ScriptPartArg},
    web::{self, ServeConfig},
};

/// Peerplan plans, simulates and applies VPC peering.
#[derive(Debug, Parser)]
#[command(name = "peerplan", version, about = "Peerplan plans, simulates and applies VPC peering.", long_about = None)]
pub struct Cli {
    /// More log output (debug level); `RUST_LOG` overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web planner and the embedded control plane (/v1) on http://127.0.0.1:3000.
    Serve(Box<ServeArgs>),
    /// Check a plan (file or folder of AWS JSON) and print its diagnostics. Exit 1 on any error.
    Check(CheckArgs),
    /// Trace one flow hop by hop and explain the verdict (exit 0 for any verdict, 2 for bad input).
    Trace(TraceArgs),
    /// Reachability of every endpoint to every endpoint for one protocol and port.
    Matrix(MatrixArgs),
    /// Export a plan: documentation (md, html), peering map (svg, png, dot, mermaid), API calls (curl), the plan
    /// (json), reachability matrix (csv).
    Export(ExportArgs),
    /// Generate a synthetic but realistic plan (for demos, scale tests and benchmarks).
    Generate(GenerateArgs),
    /// Import from other tools.
    #[command(subcommand)]
    Import(ImportCommand),
    /// What applying a plan to a control plane would change: `+` create, `~` update, `-` delete, `=` adopt, by
    /// account and region, then `Plan: N to add, M to change, K to destroy.` Exit 1 when the plan has errors.
    Plan(PlanArgs),
    /// Apply a plan to a control plane: shows the plan, asks (unless --yes), then runs the steps in order with
    /// progress. Safe to interrupt and repeat. Exit 0 applied; 3 awaiting another account (its commands are
    /// written next to the plan); 1 a step failed or the plan has errors; 2 bad input.
    Apply(ApplyArgs),
    /// The NFYio-compatible control plane: run it alone, manage accounts.
    #[command(subcommand, name = "control-plane")]
    ControlPlane(ControlPlaneCommand),
    /// The audit trail of `peerplan serve` (plan changes, applies): `audit verify` checks its hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The people who sign in to `peerplan serve --auth` (team mode): create, list, set-role, disable, reset.
    #[command(subcommand)]
    User(UserCommand),
    /// The control planes the planner may apply to besides the embedded one (DATA/targets.json): list, add,
    /// remove. Each change is recorded in the audit trail.
    #[command(subcommand)]
    Target(TargetCommand),
    /// Internal: the worker process of one web export (plan on standard input, the file on standard output).
    #[command(name = "export-worker", hide = true)]
    ExportWorker(ExportWorkerArgs),
}

/// Arguments of the hidden `peerplan export-worker` (see `crate::heavy`).
#[derive(Debug, clap::Args)]
pub struct ExportWorkerArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    #[arg(long, value_enum, default_value_t = ScriptPartArg::All)]
    pub part: ScriptPartArg,
    #[arg(long, default_value_t = 443)]
    pub port: u16,
}

/// Arguments of `peerplan plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The desired plan: a plan file, or a folder of AWS JSON.
    pub plan: PathBuf,
    /// The control plane's URL, e.g. http://127.0.0.1:3000 (the embedded one of `peerplan serve`).
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// JSON object of plan account id → API key, or the demo-keys.json that `peerplan serve` writes (its
    /// accounts match the plan's by name).
    #[arg(long, value_name = "FILE")]
    pub keys: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Folder where the bindings of earlier applies are kept.
    #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
    pub data: PathBuf,
}

/// Arguments of `peerplan apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Apply without asking (destroys included).
    #[arg(long)]
    pub yes: bool,
}

/// Output formats of the reporting commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Arguments of `peerplan check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A plan file (peerplan/v1 JSON) or a folder of AWS describe-* JSON.
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Peering overlap on primary IPv4 blocks only.
    #[arg(long)]
    pub lenient: bool,
}

/// Arguments of `peerplan trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// A plan file (peerplan/v1 JSON) or a folder of AWS describe-* JSON.
    pub plan: PathBuf,
    /// Source: endpoint id or name, or an address of an endpoint.
    #[arg(long)]
    pub from: String,
    /// Destination: endpoint id or name, or any IPv4/IPv6 address.
    #[arg(long)]
    pub to: String,
    /// tcp, udp, icmp, icmpv6, all, or a protocol number.
    #[arg(long, default_value = "tcp", value_parser = parse_protocol)]
    pub protocol: netmodel::model::Protocol,
    /// Destination port (default: the destination's first listening port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Client profile for the reply's ephemeral ports.
    #[arg(long, value_enum, default_value_t = Client::Linux)]
    pub client: Client,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `peerplan matrix`.
#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// A plan file (peerplan/v1 JSON) or a folder of AWS describe-* JSON.
    pub plan: PathBuf,
    #[arg(long, default_value = "tcp", value_parser = parse_protocol)]
    pub protocol: netmodel::model::Protocol,
    /// Destination port (default: each destination's first listening port).
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long, value_enum, default_value_t = Client::Linux)]
    pub client: Client,
    #[arg(long, value_enum, default_value_t = MatrixFormat::Text)]
    pub format: MatrixFormat,
}

/// Output formats of `peerplan matrix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MatrixFormat {
    Text,
    Json,
    Csv,
}

/// Arguments of `peerplan export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A plan file (peerplan/v1 JSON) or a folder of AWS describe-* JSON.
    pub plan: PathBuf,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// For `curl`: everything, or only the requesters' or the accepters' calls (cross-account teams).
    #[arg(long, value_enum, default_value_t = ScriptPartArg::All)]
    pub part: ScriptPartArg,
    /// For `csv`: the matrix's destination port.
    #[arg(long, default_value_t = 443)]
    pub port: u16,
}

/// Arguments of `peerplan generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[arg(long, default_value_t = 10)]
    pub vpcs: usize,
    #[arg(long, default_value_t = 3)]
    pub subnets_per_vpc: usize,
    #[arg(long, default_value_t = 2)]
    pub endpoints_per_subnet: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the plan (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Client profiles: ephemeral port ranges of the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    /// 32768-61000
    Linux,
    /// 49152-65535
    Windows,
    /// load balancer / NAT: 1024-65535
    Nat,
}

fn parse_protocol(s: &str) -> Result<netmodel::model::Protocol, String> {
    s.parse()
}

/// `peerplan import …`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Convert a folder of `aws ec2 describe-*` JSON outputs into a plan.
    Aws {
        /// Folder walked recursively for *.json; a path component named like a region sets the region.
        folder: PathBuf,
        /// Where to write the plan.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Read a control plane's live state (every account whose key is given) into a plan: ids are the live ids.
    Live {
        /// The control plane's URL, e.g. http://127.0.0.1:3000 (the embedded one of `peerplan serve`).
        #[arg(long, value_name = "URL")]
        target: String,
        /// JSON object of plan account id → API key, or the demo-keys.json that `peerplan serve` writes.
        #[arg(long, value_name = "FILE")]
        keys: PathBuf,
        /// Where to write the plan.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Arguments of `peerplan serve`.
#[derive(Debug, clap::Parser)]
pub struct ServeArgs {
    /// Address to listen on (under cargo-leptos: its site address).
    #[arg(long, default_value = "127.0.0.1:3000", env = "LEPTOS_SITE_ADDR")]
    pub addr: SocketAddr,
    /// Folder for data (SQLite files, demo-keys.json, and targets.json: the control planes the planner may apply
    /// to, `{"targets": [{"id", "name", "url", "keys_file"}]}`, besides the embedded one).
    #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
    pub data: PathBuf,
    /// Folder of the built site (WASM, JS, CSS); cargo-leptos sets LEPTOS_SITE_ROOT.
    #[arg(long, default_value = "target/site", env = "LEPTOS_SITE_ROOT")]
    pub site_root: PathBuf,
    /// The database of everything the server keeps — control plane, plans, users and sessions, audit trail
    /// (`postgres://…`); default: DATA/controlplane.db (SQLite).
    #[arg(long, env = "PEERPLAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Do not seed the demo accounts and VPCs into an empty control plane.
    #[arg(long)]
    pub no_demo: bool,
    /// Control-plane requests per second allowed per API key (bursts of twice that); 429 beyond.
    #[arg(long, default_value_t = 2000.0, env = "PEERPLAN_RATE_LIMIT")]
    pub rate_limit: f64,
    /// Another host name (or NAME:PORT) the planner answers to, besides its bind address, localhost, 127.0.0.1
    /// and [::1] (e.g. the name a reverse proxy forwards); other Host headers get 421. Repeatable.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// Accepted for old scripts; turns nothing off: a non-loopback --addr always requires sign-in (team mode).
    /// Demo accounts are never seeded on such an address.
    #[arg(long)]
    pub insecure_public: bool,
    /// Team mode: every page, server function, export and form needs a signed-in user (`/login`) or an API token
    /// (`Authorization: Bearer …`) with the role its route needs. Always on for a non-loopback --addr.
    #[arg(long)]
    pub auth: bool,
    /// Mark the session and CSRF cookies `Secure` (HTTPS only) — for a server behind a TLS-terminating reverse proxy
    /// (X-Forwarded-Proto is not trusted).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Single sign-on: OpenID Connect and the trusted reverse-proxy header (either turns on team mode).
    #[command(flatten)]
    pub sso: crate::sso_config::SsoArgs,
    /// Web exports (and other heavy work) that may run at once; more wait up to 2 s, then get 503.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub export_concurrency: usize,
    /// Seconds one web export may run before it is stopped (503).
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub export_timeout: u64,
    /// The two-person rule: an apply needs an approval of the plan's version on the target by an applier other
    /// than the person who starts it (Approve in the Apply view, `POST /api/apply/approvals`).
    #[arg(long)]
    pub require_review: bool,
}

/// `peerplan control-plane …`
#[derive(Debug, Subcommand)]
pub enum ControlPlaneCommand {
    /// Run the control plane alone (the `/v1` API only).
    Serve {
        #[arg(long, default_value = "127.0.0.1:7010")]
        addr: SocketAddr,
        #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
        data: PathBuf,
        #[arg(long, env = "PEERPLAN_DATABASE_URL")]
        database_url: Option<String>,
        /// Requests per second allowed per API key (bursts of twice that); 429 beyond.
        #[arg(long, default_value_t = 2000.0, env = "PEERPLAN_RATE_LIMIT")]
        rate_limit: f64,
    },
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
}

/// `peerplan audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit trail's hash chain, entry by entry. Exit 0 with the number of entries and the head's
    /// hash; 1 naming the first broken entry (its sequence number and what differs); 2 when the database
    /// cannot be read.
    Verify {
        /// The data folder of `peerplan serve` (its SQLite database DATA/controlplane.db, and DATA/targets.json).
        #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
        data: PathBuf,
        /// The database of `peerplan serve --database-url` (`postgres://…`) instead of the data folder's.
        #[arg(long, env = "PEERPLAN_DATABASE_URL")]
        database_url: Option<String>,
    },
}

/// Where `peerplan user …` finds the database: the data folder of `peerplan serve`, or its `--database-url`.
#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// The data folder of `peerplan serve` (its SQLite database, DATA/controlplane.db).
    #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
    pub data: PathBuf,
    /// The database of `peerplan serve --database-url` (`postgres://…`) instead of the data folder's.
    #[arg(long, env = "PEERPLAN_DATABASE_URL")]
    pub database_url: Option<String>,
}

fn parse_role(s: &str) -> Result<controlplane::store::users::Role, String> {
    s.parse()
        .map_err(|e: controlplane::error::ApiError| e.to_string())
}

/// `peerplan user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a generated password (web sign-in) and API token (scripts), both shown once.
    Create {
        /// 1 to 64 lower-case letters, digits and . _ @ - (starting with a letter or digit).
        name: String,
        /// viewer, planner, applier or admin.
        #[arg(long, value_parser = parse_role)]
        role: controlplane::store::users::Role,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the users (never their secrets).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Give a user another role (from their next request on).
    SetRole {
        /// The user's name (as `peerplan user list` shows it).
        name: String,
        /// viewer, planner, applier or admin.
        #[arg(value_parser = parse_role)]
        role: controlplane::store::users::Role,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Disable a user: their sessions end, their password and token stop working.
    Disable {
        /// The user's name (as `peerplan user list` shows it).
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Enable a disabled user again: their password, token and single sign-on work again (`reset` instead gives
    /// new ones, when the old ones may be known to someone else).
    Enable {
        /// The user's name (as `peerplan user list` shows it).
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// A new password and token for a user (shown once); the old ones stop working and their sessions end.
    Reset {
        /// The user's name (as `peerplan user list` shows it).
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// `peerplan target …`
#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// List the configured targets (their URLs and keys files, never a key).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Add a target: a control plane's URL and the file of its accounts' API keys (read and checked now).
    Add {
        /// 1 to 64 lower-case letters, digits, - or _.
        id: String,
        /// The control plane's base URL (http:// or https://, no credentials).
        #[arg(long)]
        url: String,
        /// The keys file, as `peerplan apply --keys` reads it (`{"ACCOUNT": "API_KEY", …}` or a demo-keys.json).
        #[arg(long, value_name = "FILE")]
        keys_file: PathBuf,
        /// A name to show in the planner (default: the id).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove a target (its keys file is left where it is).
    Remove {
        id: String,
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// `peerplan control-plane account …`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and print its id and API key (shown once).
    Create {
        name: String,
        #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
        data: PathBuf,
        #[arg(long, env = "PEERPLAN_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Runs the chosen command and maps its outcome to an exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let command = match cli.command {
        Some(command) => command,
        // `cargo leptos serve|end-to-end` starts the binary without arguments: serve on its address.
        None if std::env::var_os("LEPTOS_SITE_ADDR").is_some() => {
            Command::Serve(Box::new(ServeArgs::parse_from(["serve"])))
        }
        None => {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Serve(args) => {
            let cfg = ServeConfig {
                addr: args.addr,
                data_dir: args.data,
                site_root: args.site_root,
                database_url: args.database_url,
                demo: !args.no_demo,
                rate_limit: args.rate_limit,
                allowed_hosts: args.allowed_hosts,
                insecure_public: args.insecure_public,
                auth: args.auth || args.sso.any(),
                secure_cookies: args.secure_cookies,
                sso_args: args.sso,
                sso: Default::default(),
                export_concurrency: args.export_concurrency,
                export_timeout: std::time::Duration::from_secs(args.export_timeout),
                require_review: args.require_review,
            };
            report("serve", web::serve(cfg).await)
        }
        Command::Check(args) => commands::check(&args).unwrap_or_else(|e| {
            eprintln!("peerplan check: {e:#}");
            ExitCode::from(2)
        }),
        Command::Trace(args) => report("trace", commands::trace(&args)),
        Command::Plan(args) => crate::apply::plan(&args).await.unwrap_or_else(|e| {
            // Text from the control plane: escaped for the terminal, tokens hidden.
            let message = crate::engine::redact(&format!("{e:#}"), &[]);
            eprintln!("peerplan plan: {}", crate::commands::terminal_safe(&message));
            ExitCode::from(2)
        }),
        Command::Apply(args) => crate::apply::apply(&args).await.unwrap_or_else(|e| {
            // Text from the control plane: escaped for the terminal, tokens hidden.
            let message = crate::engine::redact(&format!("{e:#}"), &[]);
            eprintln!("peerplan apply: {}", crate::commands::terminal_safe(&message));
            ExitCode::from(2)
        }),
        Command::Matrix(args) => report("matrix", commands::matrix(&args)),
        Command::Generate(args) => report("generate", commands::generate(&args)),
        Command::Export(args) => report("export", commands::export(&args)),
        Command::ControlPlane(ControlPlaneCommand::Serve {
            addr,
            data,
            database_url,
            rate_limit,
        }) => report(
            "control-plane serve",
            web::serve_control_plane(addr, &data, database_url.as_deref(), rate_limit).await,
        ),
        Command::ControlPlane(ControlPlaneCommand::Account(AccountCommand::Create {
            name,
            data,
            database_url,
            format,
        })) => report(
            "control-plane account create",
            commands::create_account(&name, &data, database_url.as_deref(), format).await,
        ),
        Command::Import(ImportCommand::Aws { folder, output }) => {
            report("import aws", commands::import_aws(&folder, &output))
        }
        Command::Import(ImportCommand::Live { target, keys, output }) => report(
            "import live",
            commands::import_live(&target, &keys, &output).await,
        ),
        Command::Audit(AuditCommand::Verify { data, database_url }) => {
            commands::audit_verify(&data, database_url.as_deref())
                .await
                .unwrap_or_else(|e| {
                    eprintln!("peerplan audit verify: {e:#}");
                    ExitCode::from(2)
                })
        }
        Command::User(command) => report("user", crate::users::run(command).await),
        Command::Target(command) => report("target", crate::targets::run(command).await),
        Command::ExportWorker(args) => {
            // The message alone: the web export shows it as it is.
            crate::exports::worker(args.format, args.part.into(), args.port).map_or_else(
                |e| {
                    eprintln!("{e:#}");
                    ExitCode::from(2)
                },
                |()| ExitCode::SUCCESS,
            )
        }
    }
}

/// Prints a command's error as `peerplan <command>: <message>` and maps it to exit code 2.
fn report(command: &str, outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerplan {command}: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, ValueEnum};

    use super::*;

    /// The words of a help text (`md|html`, `(svg,` and `png)` count as words).
    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .map(str::to_string)
            .collect()
    }

    /// Every format `--format` accepts, by the name clap parses.
    fn export_formats() -> Vec<String> {
        ExportFormat::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect()
    }

    #[test]
    fn export_help_lists_every_format_the_command_accepts() {
        let formats = export_formats();
        assert_eq!(formats.len(), 9, "{formats:?}");
        let mut cli = Cli::command();
        // `peerplan --help` shows the subcommand's one-line summary; `peerplan export --help` starts with it.
        let summary = cli
            .find_subcommand("export")
            .and_then(|c| c.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let top = cli.render_long_help().to_string();
        let export = cli.find_subcommand_mut("export").expect("an export subcommand");
        let long = export.render_long_help().to_string();
        let short = export.render_help().to_string();
        for (name, text) in [
            ("summary", &summary),
            ("peerplan --help", &top),
            ("peerplan export --help", &long),
            ("peerplan export -h", &short),
        ] {
            let words = words(text);
            let missing: Vec<&String> = formats.iter().filter(|f| !words.contains(f)).collect();
            assert!(missing.is_empty(), "{name} does not list {missing:?}:\n{text}");
        }
    }

    #[test]
    fn readme_lists_every_export_format() {
        let readme = include_str!("../../README.md");
        let usages: Vec<&str> = readme
            .lines()
            .filter(|l| l.starts_with("peerplan export") && l.contains("--format"))
            .collect();
        assert!(
            !usages.is_empty(),
            "the README shows no `peerplan export … --format` usage"
        );
        for usage in usages {
            let words = words(usage);
            let missing: Vec<String> = export_formats()
                .into_iter()
                .filter(|f| !words.contains(f))
                .collect();
            assert!(
                missing.is_empty(),
                "the README's `{usage}` does not list {missing:?}"
            );
        }
    }
}
