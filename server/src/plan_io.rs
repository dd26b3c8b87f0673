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
    let text = read_text(path).with_context(|| format!("cannot read {}", path.display()))?;
    let plan = Plan::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Loaded {
        plan,
        import_diagnostics: Vec::new(),
    })
}

/// A file's text, as [`std::fs::read_to_string`] reads it (from the one handle opened: a named pipe works too). A
/// large file is read in two halves at once: copying an estate's 30 MB `describe-vpcs` file into fresh memory took
/// a tenth of `peerplan check`, on one core.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    #[cfg(unix)]
    if let Some(mut bytes) = read_halves(&file)? {
        // (A file that grew meanwhile is read to its end, as `read_to_string` would.)
        file.seek(SeekFrom::Start(bytes.len() as u64))?;
        file.read_to_end(&mut bytes)?;
        return String::from_utf8(bytes).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// The bytes of a file of 4 MiB or more, its halves read at once; `None` for a smaller file, one that shrank
/// meanwhile, or where no second thread could be had (the caller then reads it whole, from the start).
#[cfg(unix)]
fn read_halves(file: &std::fs::File) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::unix::fs::FileExt;
    /// Files smaller than this are read in one go.
    const SPLIT_FROM: u64 = 4 << 20;
    let len = file.metadata()?.len();
    if len < SPLIT_FROM {
        return Ok(None);
    }
    let len = usize::try_from(len).map_err(|_| std::io::ErrorKind::OutOfMemory)?;
    let mut bytes = vec![0u8; len];
    let mid = len / 2;
    let (head, tail) = bytes.split_at_mut(mid);
    let read = std::thread::scope(|scope| {
        let tail_read =
            std::thread::Builder::new().spawn_scoped(scope, || file.read_exact_at(tail, mid as u64));
        let Ok(tail_read) = tail_read else {
            return Ok(false);
        };
        let head_read = file.read_exact_at(head, 0);
        head_read
            .and(tail_read.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .map(|()| true)
    });
    match read {
        Ok(true) => Ok(Some(bytes)),
        Ok(false) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
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
            let text = read_text(f).with_context(|| format!("cannot read {}", f.display()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file read in halves is the file, whatever falls on the split (here a character of three bytes);
    /// one that is not UTF-8 is refused as `read_to_string` refuses it.
    #[test]
    fn large_files_read_in_halves_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("describe-vpcs.json");
        let half = 5 << 19;
        let mut text = "a".repeat(half - 1);
        text.push('€');
        text.push_str(&"b".repeat(half));
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_text(&path).unwrap(), text);
        let small = dir.path().join("small.json");
        std::fs::write(&small, "{}").unwrap();
        assert_eq!(read_text(&small).unwrap(), "{}");
        let mut bytes = text.into_bytes();
        bytes[half + 100] = 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let e = read_text(&path).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(e.kind(), std::fs::read_to_string(&path).unwrap_err().kind());
    }

    /// A named pipe (`peerplan check <(…)` or `mkfifo`) is read from the one handle opened: opening it twice would
    /// drop what the writer had written and wait for another writer.
    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let pipe = dir.path().join("plan.json");
        let made = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success());
        let writer = {
            let pipe = pipe.clone();
            std::thread::spawn(move || std::fs::write(&pipe, "{\"format\": \"peerplan/v1\"}"))
        };
        assert_eq!(read_text(&pipe).unwrap(), "{\"format\": \"peerplan/v1\"}");
        writer.join().unwrap().unwrap();
    }
}
