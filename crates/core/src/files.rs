//! Files and folders that hold secrets: created owner-only, tightened when found open.
//!
//! The SQLite database holds password hashes, sessions and (sealed) webhook secrets, and
//! the key file beside it opens those secrets: neither may be readable by other local
//! users. New folders are created 0700 and new files 0600 whatever the process's umask.
//! SQLite gives its `-wal` and `-shm` files the main file's mode, so creating the main
//! file 0600 before SQLite opens it covers all three. On systems other than Unix these
//! functions do what the platform's defaults do.

use std::io;
use std::path::Path;

/// Creates `path` and its missing parents, each new one owner-only (0700). Folders that
/// exist are left as they are (they may be shared, like the working directory).
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates an empty file at `path`, owner-only (0600), unless it exists.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Writes `contents` to a new owner-only file at `path`, which appears whole or not at
/// all: written and synced aside, then hard-linked into place. `Ok(false)` when `path`
/// existed already (it is left untouched).
pub fn create_private_file_atomically(path: &Path, contents: &[u8]) -> io::Result<bool> {
    use std::io::Write as _;
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = parent.join(format!(
        ".{name}.{}.tmp",
        crate::crypto::random_token::<6>()
    ));
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&aside)?;
        file.write_all(contents)?;
        file.sync_all()?;
        match std::fs::hard_link(&aside, path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(err),
        }
    })();
    let _ = std::fs::remove_file(&aside);
    written
}

/// Removes group and other permissions from an existing file; `Ok(true)` when it had any
/// (the caller warns), `Ok(false)` when it was owner-only already or does not exist.
pub fn make_owner_only(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(err),
        };
        let mode = metadata.permissions().mode();
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_and_files_are_owner_only_and_open_ones_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir_all(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);

        let file = nested.join("roster.db");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::write(&file, b"kept").unwrap();
        create_private_file(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"kept", "not truncated");

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(make_owner_only(&file).unwrap());
        assert_eq!(mode(&file), 0o600);
        assert!(!make_owner_only(&file).unwrap());
        assert!(!make_owner_only(&nested.join("missing")).unwrap());

        let key = nested.join("secret.key");
        assert!(create_private_file_atomically(&key, b"one").unwrap());
        assert!(!create_private_file_atomically(&key, b"two").unwrap());
        assert_eq!(std::fs::read(&key).unwrap(), b"one");
        assert_eq!(mode(&key), 0o600);
        let leftovers = std::fs::read_dir(&nested)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
