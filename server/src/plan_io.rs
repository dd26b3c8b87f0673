//! Reading plans from disk: a `peerplan/v1` JSON file, or a folder of AWS describe-* JSON (walked recursively).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use netmodel::{
    import::aws::{self, SourceFile},
    Diagnostic, Plan,
};

/// A plan read from disk, with the import's diagnostics when it came from AWS JSON.
pub struct Loaded {
    pub plan: Plan,
    pub import_diagnostics: Vec<Diagnostic>,
}

/// Reads PLAN: a plan file, or a folder of AWS JSON.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        let imported = import_aws_folder(path)?;
        return Ok(Loaded {
            plan: imported.plan,
            import_diagnostics: imported.diagnostics,
        });
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let plan = Plan::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Loaded {
        plan,
        import_diagnostics: Vec::new(),
    })
}

/// Imports every `*.json` below `folder`.
pub fn import_aws_folder(folder: &Path) -> anyhow::Result<aws::Imported> {
    let mut files = Vec::new();
    walk(folder, &mut files)?;
    files.sort();
    if files.is_empty() {
        bail!("{} holds no *.json files", folder.display());
    }
    let sources = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            let rel = f.strip_prefix(folder).unwrap_or(f);
            Ok(SourceFile {
                path: rel.to_string_lossy().into_owned(),
                text,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    aws::import(&sources).map_err(|e| anyhow::anyhow!("{}: {e}", folder.display()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
