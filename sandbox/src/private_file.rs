//! [`open_private_file`]: a file for records that name hosts, paths and users (a request
//! journal), owner-only and never written through a link someone else placed.

use std::fs::File;
use std::path::Path;

/// How [`open_private_file`] treats a file that exists.
///
/// ```
/// use pull_through_sandbox::OpenPrivate;
/// assert_ne!(OpenPrivate::Append, OpenPrivate::Truncate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenPrivate {
    /// Keep what it holds and write after it (several commands share one journal).
    Append,
    /// Empty it first.
    Truncate,
}

/// A file [`open_private_file`] opened.
///
/// ```no_run
/// # fn example() -> std::io::Result<()> {
/// use pull_through_sandbox::{OpenPrivate, open_private_file};
/// let opened = open_private_file("journal.jsonl".as_ref(), OpenPrivate::Append)?;
/// if let Some(mode) = opened.tightened_from {
///     eprintln!("journal.jsonl had mode {mode:04o}; it is now 0600");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct PrivateFile {
    /// The file, open for writing, mode 0600.
    pub file: File,
    /// The mode an existing file had, when it was wider than 0600 and was tightened.
    pub tightened_from: Option<u32>,
}

/// Opens `path` for writing, mode 0600 whatever mode an existing file had, never through a
/// symbolic link and never a file with other names (hard links).
///
/// std has no portable `O_NOFOLLOW` (its value differs between platforms), so: a path that
/// is a link, dangling or not, is refused; a new file is made with `create_new`
/// (`O_CREAT|O_EXCL`, which fails on a link rather than follow it); an existing one is
/// opened, then checked to be the very file that was inspected (device and inode, one
/// name) before anything is emptied or written, so a link swapped in between is caught.
///
/// # Errors
///
/// `InvalidInput` for a link, a file that is not regular, has other names or changed while
/// it was opened; `AlreadyExists` for a file that appeared while it was being created; any
/// other I/O error.
///
/// ```
/// use pull_through_sandbox::{OpenPrivate, open_private_file};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("journal.jsonl");
/// let opened = open_private_file(&path, OpenPrivate::Truncate)?;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
/// # }
/// std::os::unix::fs::symlink(&path, dir.path().join("link"))?;
/// assert!(open_private_file(&dir.path().join("link"), OpenPrivate::Append).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn open_private_file(path: &Path, mode: OpenPrivate) -> std::io::Result<PrivateFile> {
    let refuse = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: {why}", path.display()),
        )
    };
    let seen = match std::fs::symlink_metadata(path) {
        Ok(seen) => Some(seen),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    let mut options = std::fs::OpenOptions::new();
    match mode {
        OpenPrivate::Append => options.append(true),
        OpenPrivate::Truncate => options.write(true),
    };
    let Some(seen) = seen else {
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.create_new(true).open(path)?;
        // The umask may have narrowed it further; 0600 is what is promised.
        set_private(&file)?;
        return Ok(PrivateFile {
            file,
            tightened_from: None,
        });
    };
    if seen.file_type().is_symlink() {
        return Err(refuse(
            "is a symbolic link; give the path of the file itself (it is never written through a link)",
        ));
    }
    if !seen.is_file() {
        return Err(refuse("is not a regular file"));
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata()?;
        if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) || opened.nlink() != 1 {
            return Err(refuse(
                "changed while it was opened, or has other names; nothing was written to it",
            ));
        }
    }
    if mode == OpenPrivate::Truncate {
        file.set_len(0)?;
    }
    let tightened_from = set_private(&file)?;
    Ok(PrivateFile {
        file,
        tightened_from,
    })
}

/// Sets mode 0600; the mode it had when that was something else.
#[cfg_attr(not(unix), allow(unused_variables))]
fn set_private(file: &File) -> std::io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o7777;
        if mode != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            return Ok(Some(mode));
        }
    }
    Ok(None)
}
