//! The command line: `peerplan serve` and the planning commands.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::web::{self, ServeConfig};

/// Peerplan plans, simulates and applies VPC peering.
#[derive(Debug, Parser)]
#[command(name = "peerplan", version, about, long_about = None)]
pub struct Cli {
    /// More log output (debug level); `RUST_LOG` overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web planner (and the embedded control plane under /v1).
    Serve(ServeArgs),
}

/// Arguments of `peerplan serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "PEERPLAN_ADDR")]
    pub addr: SocketAddr,
    /// Folder for data (SQLite files).
    #[arg(long, default_value = "./data", env = "PEERPLAN_DATA")]
    pub data: PathBuf,
    /// Folder of the built site (WASM, JS, CSS); cargo-leptos sets LEPTOS_SITE_ROOT.
    #[arg(long, default_value = "target/site", env = "LEPTOS_SITE_ROOT")]
    pub site_root: PathBuf,
}

/// Runs the chosen command and maps its outcome to an exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => {
            let cfg = ServeConfig { addr: args.addr, data_dir: args.data, site_root: args.site_root };
            match web::serve(cfg).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("peerplan serve: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
