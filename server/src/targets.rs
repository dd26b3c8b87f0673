//! `peerplan target …`: the control planes the planner may apply to besides the embedded one — `DATA/targets.json`
//! (`{"targets": [{"id", "name", "url", "keys_file"}]}`, read by [`crate::apply_web`] at each request) — managed
//! from the server's machine, like users: an admin's job. Each change is checked before it is written (the URL is
//! http(s) without credentials, the id is new, the keys file reads), written whole (a temporary file renamed over
//! the old one), and recorded in the audit trail as `target.change` by `cli` (an admin, address `local`). Keys
//! stay in their own files; neither the list nor the audit trail ever holds one.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use controlplane::audit::{AuditAction, NewEntry};
use serde::{Deserialize, Serialize};

use crate::cli::{Format, TargetCommand};

/// `DATA/targets.json`: `{"targets": [{"id", "name", "url", "keys_file"}]}` (also read by [`crate::apply_web`]).
#[derive(Default, Deserialize, Serialize)]
pub(crate) struct TargetsFile {
    pub(crate) targets: Vec<TargetEntry>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetEntry {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) keys_file: PathBuf,
}

/// Records a change of the targets in the audit trail; `done` says what was already written ("added").
async fn record(
    store: &controlplane::store::Store,
    id: &str,
    done: &str,
    detail: &str,
) -> anyhow::Result<()> {
    store
        .audit(NewEntry::ok(&crate::users::cli_actor(), AuditAction::TargetChange, id, None).detail(detail))
        .await
        .map(drop)
        .map_err(|e| anyhow::anyhow!("the target was {done} but not recorded in the audit trail: {e}"))
}

fn read(path: &Path) -> anyhow::Result<TargetsFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("{} is not a targets file", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TargetsFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write(path: &Path, file: &TargetsFile) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(file)? + "\n")
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// A target id: 1–64 lower-case letters, digits, `-` and `_`; `embedded` is the built-in one.
fn check_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        bail!("target id {id:?} is not 1 to 64 lower-case letters, digits, - or _");
    }
    if id == "embedded" {
        bail!("target id \"embedded\" is the built-in control plane of this server: choose another id");
    }
    Ok(())
}

/// An http(s) URL without credentials (they would reach the browser and messages: keys belong in the keys file).
pub(crate) fn check_url(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        bail!("target url {url:?} is not an http:// or https:// URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains(char::is_whitespace) {
        bail!("target url {url:?} has no host");
    }
    if authority.contains('@') {
        bail!("target url {url:?} holds credentials (user:password@): give keys in the keys file only");
    }
    Ok(())
}

/// Runs a `peerplan target …` command.
pub async fn run(command: TargetCommand) -> anyhow::Result<()> {
    match command {
        TargetCommand::List { db, format } => {
            let file = read(&db.data.join("targets.json"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&file.targets)?),
                Format::Text => {
                    if file.targets.is_empty() {
                        println!(
                            "no targets besides the embedded control plane: add one with `peerplan target add ID --url URL --keys-file FILE`"
                        );
                    }
                    for t in &file.targets {
                        println!("{:<20} {:<40} keys in {}", t.id, t.url, t.keys_file.display());
                    }
                }
            }
            Ok(())
        }
        TargetCommand::Add {
            id,
            url,
            keys_file,
            name,
            db,
            format,
        } => {
            check_id(&id)?;
            check_url(&url)?;
            let keys_file = std::path::absolute(&keys_file)
                .with_context(|| format!("keys file {}", keys_file.display()))?;
            let keys = crate::live::Keys::read(&keys_file)?;
            let path = db.data.join("targets.json");
            let mut file = read(&path)?;
            if file.targets.iter().any(|t| t.id == id) {
                bail!("a target {id:?} is configured already: remove it first to change it");
            }
            crate::datadir::private_dir(&db.data)?;
            let store = crate::control::open(&db.data, db.database_url.as_deref()).await?;
            let entry = TargetEntry {
                id: id.clone(),
                name: name.unwrap_or_else(|| id.clone()),
                url: url.clone(),
                keys_file: keys_file.clone(),
            };
            file.targets.push(entry);
            write(&path, &file)?;
            let labels: Vec<&str> = keys.entries.iter().map(|e| e.label.as_str()).collect();
            let detail = format!(
                "added: url {url}, keys of {} account(s) ({}) in {}",
                labels.len(),
                labels.join(", "),
                keys_file.display()
            );
            record(&store, &id, "added", &detail).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(file.targets.last().expect("pushed"))?),
                Format::Text => println!("target added: {id} ({url}), {} account key(s)", labels.len()),
            }
            Ok(())
        }
        TargetCommand::Remove { id, db, format } => {
            let path = db.data.join("targets.json");
            let mut file = read(&path)?;
            let Some(at) = file.targets.iter().position(|t| t.id == id) else {
                bail!("no target {id:?} is configured in {}", path.display());
            };
            crate::datadir::private_dir(&db.data)?;
            let store = crate::control::open(&db.data, db.database_url.as_deref()).await?;
            let gone = file.targets.remove(at);
            write(&path, &file)?;
            let detail = format!("removed: url {}", gone.url);
            record(&store, &id, "removed", &detail).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&gone)?),
                Format::Text => println!("target removed: {id}"),
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_urls_are_checked_naming_the_value() {
        assert!(check_id("lab-1").is_ok());
        for bad in ["", "Lab", "a b", "embedded", "x/../y"] {
            let e = check_id(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
        assert!(check_url("https://cp.example.com:7010").is_ok());
        for bad in ["ftp://x", "https://", "https://u:p@host/", "cp.example.com"] {
            let e = check_url(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
