//! Where an apply keeps its state between runs — the journal of step events and the documents beside it
//! (`bindings.json`: plan id → live id; `accounts.json`: plan account → control-plane account; `applied.json`:
//! the plan last applied in full, for the drift view). The CLI keeps them as files in its data folder
//! (`DATA/apply/<target>-<plan>/`); applies started in the planner keep them in the server's database
//! ([`controlplane::store::Store::journal_append`]), under a state key per plan and target.

use std::{
    collections::HashMap,
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use controlplane::store::Store;
use netmodel::changeset::Bindings;
use serde::Serialize;

/// The journal's file name in a state folder.
const JOURNAL: &str = "journal.jsonl";
/// The bindings document.
pub const BINDINGS: &str = "bindings.json";
/// The learnt control-plane account ids.
pub const ACCOUNTS: &str = "accounts.json";
/// The plan last applied in full (with when), for the drift view.
pub const APPLIED: &str = "applied.json";

/// One plan's state on one target.
#[derive(Clone)]
pub enum RunState {
    /// A folder (the CLI).
    Dir(PathBuf),
    /// The server's database, under a state key.
    Db { store: Store, key: String },
}

#[derive(Serialize)]
struct JournalEntry<'a> {
    at: u64,
    version: &'a str,
    step: &'a str,
    event: &'a str,
    /// The attempt a `start` belongs to: part of its calls' idempotency keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

impl RunState {
    /// A state folder.
    pub fn dir(path: &Path) -> RunState {
        RunState::Dir(path.to_path_buf())
    }

    /// A document's text, if saved.
    pub async fn read(&self, name: &str) -> anyhow::Result<Option<String>> {
        match self {
            RunState::Dir(dir) => {
                let path = dir.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
            RunState::Db { store, key } => Ok(store.document(key, name).await?.map(|(body, _)| body)),
        }
    }

    /// Saves a document: a folder's file is written anew and renamed over the old one; the database replaces
    /// its row in one transaction.
    pub async fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        match self {
            RunState::Dir(dir) => {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let tmp = dir.join(format!("{name}.tmp"));
                {
                    let mut f = std::fs::File::create(&tmp)
                        .with_context(|| format!("cannot write {}", tmp.display()))?;
                    f.write_all(text.as_bytes())?;
                    f.sync_data()?;
                }
                std::fs::rename(&tmp, dir.join(name))
                    .with_context(|| format!("cannot write {}", dir.join(name).display()))
            }
            RunState::Db { store, key } => Ok(store.save_document(key, name, text).await?),
        }
    }

    /// The recorded bindings, or none.
    pub async fn bindings(&self) -> anyhow::Result<Bindings> {
        match self.read(BINDINGS).await? {
            Some(text) => serde_json::from_str(&text)
                .with_context(|| format!("{}: not valid bindings", self.name(BINDINGS))),
            None => Ok(Bindings::default()),
        }
    }

    /// Saves the bindings.
    pub async fn save_bindings(&self, b: &Bindings) -> anyhow::Result<()> {
        self.write(BINDINGS, &serde_json::to_string_pretty(b)?).await
    }

    /// How a document is named in messages.
    fn name(&self, doc: &str) -> String {
        match self {
            RunState::Dir(dir) => dir.join(doc).display().to_string(),
            RunState::Db { key, .. } => format!("{doc} of apply state {key}"),
        }
    }

    /// Appends one event to the journal, on disk (or committed) before this returns.
    pub async fn record(
        &self,
        version: &str,
        step: &str,
        event: &str,
        attempt: Option<&str>,
        live_id: Option<&str>,
        message: Option<&str>,
    ) -> anyhow::Result<()> {
        let entry = JournalEntry {
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            version,
            step,
            event,
            attempt,
            live_id,
            message,
        };
        let line = serde_json::to_string(&entry)?;
        match self {
            RunState::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(JOURNAL))?;
                f.write_all(format!("{line}\n").as_bytes())?;
                f.sync_data()?;
                Ok(())
            }
            RunState::Db { store, key } => Ok(store.journal_append(key, &line).await?),
        }
    }

    /// The journal's lines, oldest first.
    pub async fn lines(&self) -> anyhow::Result<Vec<String>> {
        match self {
            RunState::Dir(_) => Ok(self
                .read(JOURNAL)
                .await?
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default()),
            RunState::Db { store, key } => Ok(store.journal_lines(key).await?),
        }
    }

    /// The steps of `version` that were started and never finished (the run died during them), with their
    /// attempt: resuming one reuses its idempotency keys, so what the lost call made is answered, not made again.
    /// A step that finished (done or failed) gets a new attempt next time: a new call, never an old answer.
    pub async fn unfinished(&self, version: &str) -> anyhow::Result<HashMap<String, String>> {
        let mut open = HashMap::new();
        for line in self.lines().await? {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["version"] != version {
                continue;
            }
            let Some(step) = v["step"].as_str() else {
                continue;
            };
            match (v["event"].as_str(), v["attempt"].as_str()) {
                (Some("start"), Some(attempt)) => {
                    open.insert(step.to_string(), attempt.to_string());
                }
                (Some("done" | "failed"), _) => {
                    open.remove(step);
                }
                _ => {}
            }
        }
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_step_started_and_never_finished_is_resumed_with_its_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let j = RunState::dir(dir.path());
        j.record("v1", "+ vpc a", "start", Some("aaaa"), None, None)
            .await
            .unwrap();
        j.record("v1", "+ vpc a", "done", None, Some("vpc_1"), None)
            .await
            .unwrap();
        j.record("v1", "+ route r", "start", Some("bbbb"), None, None)
            .await
            .unwrap();
        j.record("v1", "+ rule s", "start", Some("cccc"), None, None)
            .await
            .unwrap();
        j.record("v1", "+ rule s", "failed", None, None, Some("no"))
            .await
            .unwrap();
        j.record("v0", "+ subnet t", "start", Some("dddd"), None, None)
            .await
            .unwrap();
        let open = j.unfinished("v1").await.unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open["+ route r"], "bbbb");
    }

    #[tokio::test]
    async fn documents_replace_and_missing_ones_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let s = RunState::dir(&dir.path().join("state"));
        assert_eq!(s.read(BINDINGS).await.unwrap(), None);
        assert_eq!(s.bindings().await.unwrap(), Bindings::default());
        s.write(ACCOUNTS, "{\"a\":\"1\"}").await.unwrap();
        s.write(ACCOUNTS, "{\"a\":\"2\"}").await.unwrap();
        assert_eq!(s.read(ACCOUNTS).await.unwrap().as_deref(), Some("{\"a\":\"2\"}"));
    }
}
