//! `peerplan`: wiring only — parse the command line, set up logging, run the chosen command.

use clap::Parser;

/// mimalloc instead of the system allocator: an estate's import and check make and drop hundreds of thousands of
/// small strings and lists, and glibc's malloc and free took about a third of `peerplan check`'s time there
/// (README, Measurements).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = server::cli::Cli::parse();
    server::telemetry::init(cli.verbose);
    server::cli::run(cli).await
}
