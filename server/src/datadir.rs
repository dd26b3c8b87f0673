//! The data folder is private: created 0700 (an existing one is narrowed to 0700), and the secrets in it —
//! `controlplane.db` (SQLite gives its `-wal` and `-shm` the database file's mode) and `demo-keys.json` — are
//! created 0600 from the start, never written first and narrowed later. Anything that cannot be made so is an
//! error naming the path.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

/// A file or folder that could not be made private.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct PrivateError {
    what: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

fn fail<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PrivateError + 'a {
    move |source| PrivateError {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and missing parents) with mode 0700, or narrows an existing one to 0700.
pub fn private_dir(dir: &Path) -> Result<(), PrivateError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(fail("cannot create the data folder", dir))?;
        }
        let mode = std::fs::metadata(dir)
            .map_err(fail("cannot read the data folder", dir))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(fail("cannot make the data folder private (0700)", dir))?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(fail("cannot create the data folder", dir))?;
    Ok(())
}

/// Makes sure `path` exists with mode 0600: created so if missing, narrowed if it exists (e.g. from an older
/// version). Before SQLite opens a database, so the database and its `-wal`/`-shm` are 0600.
pub fn private_file(path: &Path) -> Result<(), PrivateError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(fail("cannot create", path))?;
        let mode = std::fs::metadata(path)
            .map_err(fail("cannot read", path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(fail("cannot make private (0600)", path))?;
        }
    }
    #[cfg(not(unix))]
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(fail("cannot create", path))?;
    Ok(())
}

/// Writes a secret file: an earlier one is removed, the new one is created 0600 (`create_new`, so nothing
/// else can have opened it in between) and written.
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<(), PrivateError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("cannot replace", path)(e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail("cannot create", path))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(fail("cannot write", path))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_secrets_are_private_from_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/data");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);

        let db = dir.join("controlplane.db");
        private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);

        let keys = dir.join("demo-keys.json");
        std::fs::write(&keys, "old").unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&keys, b"new").unwrap();
        assert_eq!(mode(&keys), 0o600);
        assert_eq!(std::fs::read_to_string(&keys).unwrap(), "new");
    }

    #[test]
    fn an_impossible_folder_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        let e = private_dir(&file.join("data")).unwrap_err().to_string();
        assert!(e.contains(&file.join("data").display().to_string()), "{e}");
    }
}
