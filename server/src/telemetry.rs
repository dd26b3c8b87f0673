//! Logging set-up: `RUST_LOG` wins; otherwise `info`, or `debug` with `-v`.

use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber, writing to standard error.
pub fn init(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
