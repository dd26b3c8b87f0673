//! `peerplan`: wiring only — parse the command line, set up logging, run the chosen command.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = server::cli::Cli::parse();
    server::telemetry::init(cli.verbose);
    server::cli::run(cli).await
}
