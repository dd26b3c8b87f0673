//! Heavy work for the web (exports of large plans: a 1,000-VPC map, documentation or reachability matrix can
//! take a core for many seconds) under a concurrency cap, a time budget and cancellation.
//!
//! Each job runs in a worker process (`peerplan export-worker`, the same binary) that is killed — its CPU
//! freed at once — when the budget runs out or the client goes away (the server drops the request's future
//! and, with it, the child). A thread could not be stopped that way: dropping the future of a blocking task
//! leaves the task running. The worker also keeps a runaway render's memory out of the server.

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::{io::AsyncWriteExt, sync::Semaphore};

/// How long a request waits for a free slot before it is told the server is busy.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// The `Retry-After` of a busy answer, in seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The cap and budget of heavy work.
#[derive(Clone, Debug)]
pub struct HeavyWork {
    slots: Arc<Semaphore>,
    /// How many jobs may run at once.
    pub concurrency: usize,
    /// How long one job may run.
    pub budget: Duration,
    /// The program that runs a job (this binary).
    pub worker: PathBuf,
}

/// Why a job gave no result.
#[derive(Debug, thiserror::Error)]
pub enum HeavyError {
    #[error("the server is busy: {0} export(s) are already running; try again in a few seconds")]
    Busy(usize),
    #[error(
        "the export took longer than its {0} s budget and was stopped; export a smaller plan, or start the \
         server with a larger --export-timeout"
    )]
    OverBudget(u64),
    /// The job itself failed (bad input or a render error): the worker's message.
    #[error("{0}")]
    Failed(String),
    #[error("cannot run the export worker {path}: {source}")]
    Spawn { path: String, source: std::io::Error },
}

/// This running program, as the worker: `/proc/self/exe` on Linux (still the right file when the binary has
/// been replaced on disk since it started), else the path it was started from.
pub fn this_program() -> PathBuf {
    let proc = PathBuf::from("/proc/self/exe");
    if proc.exists() {
        proc
    } else {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("peerplan"))
    }
}

impl HeavyWork {
    /// `concurrency` jobs at once (at least 1), each for at most `budget`, run by `worker`.
    pub fn new(concurrency: usize, budget: Duration, worker: PathBuf) -> Self {
        let concurrency = concurrency.max(1);
        HeavyWork {
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            budget,
            worker,
        }
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.concurrency - self.slots.available_permits()
    }

    /// Runs `worker ARGS…` with `input` on its standard input and returns its standard output. A slot is held
    /// for the whole job; the worker is killed when the budget runs out or this future is dropped.
    pub async fn run(&self, args: &[String], input: String) -> Result<Vec<u8>, HeavyError> {
        let permit = tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(HeavyError::Busy(self.concurrency))?;
        let mut child = tokio::process::Command::new(&self.worker)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HeavyError::Spawn {
                path: self.worker.display().to_string(),
                source,
            })?;
        let mut stdin = child.stdin.take();
        let feed = async move {
            if let Some(stdin) = stdin.as_mut() {
                // A worker that stops reading (it failed, or was killed) ends the feed; its exit says why.
                let _ = stdin.write_all(input.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
            drop(stdin);
        };
        let job = async move { tokio::join!(feed, child.wait_with_output()).1 };
        let output = tokio::time::timeout(self.budget, job)
            .await
            .map_err(|_| HeavyError::OverBudget(self.budget.as_secs().max(1)))?
            .map_err(|e| HeavyError::Failed(format!("the export worker failed: {e}")))?;
        drop(permit);
        if output.status.success() {
            Ok(output.stdout)
        } else {
            let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
            // Exit 2 is bad input, and its message names the offending value: the client gets it. Anything else
            // (a panic is 101) is an internal failure: logged here, never shown (no stack traces to clients).
            if output.status.code() == Some(2) && !message.is_empty() {
                Err(HeavyError::Failed(message))
            } else {
                tracing::error!(status = %output.status, stderr = %message, "export worker failed");
                Err(HeavyError::Failed(format!(
                    "the export failed ({}); the server log has the details",
                    output.status
                )))
            }
        }
    }
}
