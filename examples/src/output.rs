//! Printing results for people or as JSON, and where secrets and files may go.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use pull_through_core::http::{AttemptRecord, HttpObserver};

use serde::Serialize;

use crate::Failure;
use crate::cli::{GlobalArgs, OutputFormat};

/// Prints `value` as one JSON document, or `human` as text.
pub(crate) fn emit<T: Serialize>(
    format: OutputFormat,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<(), Failure> {
    let text = match format {
        OutputFormat::Human => human(),
        OutputFormat::Json => serde_json::to_string(value)
            .map_err(|err| Failure::Step(format!("could not write JSON output: {err}")))?,
    };
    // `println!` panics when the reader has gone (`pull-through ... | head`); a closed
    // pipe is the reader's choice, not a failure.
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Step(format!("could not write the output: {err}")))
        }
        _ => Ok(()),
    }
}

pub(crate) fn step(err: impl std::fmt::Display) -> Failure {
    Failure::Step(err.to_string())
}

/// Bad input is exit 2; what the service answered is exit 1.
pub(crate) fn failure(err: pull_through_core::Error) -> Failure {
    if err.is_invalid_input() {
        Failure::Usage(err.to_string())
    } else {
        Failure::Step(err.to_string())
    }
}

/// A flow's failure: bad input is exit 2, the rest exit 1.
pub(crate) fn fleet_failure(err: impl Into<pull_through_fleet::FleetError>) -> Failure {
    let err = err.into();
    if err.is_usage() {
        Failure::Usage(err.to_string())
    } else {
        Failure::Step(err.to_string())
    }
}

/// Secrets leave only through --secrets-out or, when asked, stdout; refused before any
/// request otherwise, so nothing is created that nobody can see.
pub(crate) fn secret_destination(global: &GlobalArgs, what: &str) -> Result<(), Failure> {
    check_writable_location("--secrets-out", global.secrets_out.as_deref())?;
    if global.show_secrets || global.secrets_out.is_some() {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "{what} is a secret shown only once: pass --secrets-out FILE (written with mode 0600) \
         or --show-secrets to print it"
    )))
}

pub(crate) fn write_secrets(
    global: &GlobalArgs,
    pairs: &[(String, String)],
) -> Result<(), Failure> {
    if let Some(path) = &global.secrets_out {
        pull_through_sandbox::write_env_file(path, pairs)
            .map_err(|err| step(format!("could not write {}: {err}", path.display())))?;
    }
    Ok(())
}

/// Refuses, before anything starts, a file path whose folder does not exist.
pub(crate) fn check_writable_location(flag: &str, path: Option<&Path>) -> Result<(), Failure> {
    let Some(path) = path else { return Ok(()) };
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            Err(Failure::Usage(format!(
                "{flag} {}: the folder {} does not exist; create it or choose another path",
                path.display(),
                folder.display()
            )))
        }
        _ if path.is_dir() => Err(Failure::Usage(format!(
            "{flag} {}: is a folder; give a file path",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes every HTTP attempt as a JSON line. Records hold no secrets (no userinfo,
/// query, header or body).
#[derive(Debug)]
struct JournalFile(Mutex<std::fs::File>);

impl HttpObserver for JournalFile {
    fn on_attempt(&self, record: &AttemptRecord) {
        if let Ok(line) = serde_json::to_string(record) {
            let mut file = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = writeln!(file, "{line}");
        }
    }
}

/// The `--journal` observer every client of a command shares, if asked for. Appends, so
/// several commands can write one journal; the file is private (see [`open_journal`]).
pub(crate) fn journal(global: &GlobalArgs) -> Result<Option<Arc<dyn HttpObserver>>, Failure> {
    let Some(path) = &global.journal else {
        return Ok(None);
    };
    let file = open_journal(path)?;
    Ok(Some(Arc::new(JournalFile(Mutex::new(file)))))
}

/// Opens a `--journal` file for appending, mode 0600, never through a symbolic link: a
/// journal names every URL a command calls, which is nobody else's business, and a link
/// planted at its path must not make us append to (or create) a file elsewhere.
///
/// `O_NOFOLLOW` would say this in one flag, but std has no constant for it, its value
/// differs between platforms (0o400000 on x86-64 Linux, 0o100000 on arm64 Linux, 0x100 on
/// macOS) and this package has no `libc`; so, with std alone and the same guarantee:
/// `symlink_metadata` refuses a path that is a link (a dangling one too); a new file is
/// made with `create_new` (`O_CREAT|O_EXCL`, which fails on any link at the path rather
/// than follow it), and an existing one is opened and then checked to be the very file
/// `symlink_metadata` saw (same device and inode), so a link swapped in between the check
/// and the open is refused before anything is written. An existing journal others can
/// read is tightened to 0600, and a note says so.
pub(crate) fn open_journal(path: &Path) -> Result<std::fs::File, Failure> {
    let refuse = |problem: &str| Failure::Usage(format!("--journal {}: {problem}", path.display()));
    let io = |err: std::io::Error| refuse(&err.to_string());
    let seen = match std::fs::symlink_metadata(path) {
        Ok(seen) => Some(seen),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(io(err)),
    };
    let mut options = std::fs::OpenOptions::new();
    options.append(true);
    let Some(seen) = seen else {
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.create_new(true).open(path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::AlreadyExists {
                refuse("appeared while it was being created; run the command again")
            } else {
                io(err)
            }
        })?;
        make_private(path, &file, false)?;
        return Ok(file);
    };
    if seen.file_type().is_symlink() {
        return Err(refuse(
            "is a symbolic link; give the path of the file itself (a journal is never \
             written through a link)",
        ));
    }
    if !seen.is_file() {
        return Err(refuse("is not a regular file"));
    }
    let file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata().map_err(io)?;
        if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) {
            return Err(refuse(
                "was replaced while it was being opened; nothing was written to it",
            ));
        }
    }
    make_private(path, &file, true)?;
    Ok(file)
}

/// Sets an open file's mode to 0600 (umask may have narrowed a new file's; an old one may
/// be wider), saying so on stderr when an existing file changed.
#[cfg_attr(not(unix), allow(unused_variables))]
fn make_private(path: &Path, file: &std::fs::File, existing: bool) -> Result<(), Failure> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let step_failed = |err: std::io::Error| {
            Failure::Step(format!(
                "--journal {}: could not make it private (mode 0600): {err}",
                path.display()
            ))
        };
        let mode = file.metadata().map_err(step_failed)?.permissions().mode() & 0o7777;
        if mode != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(step_failed)?;
            if existing {
                eprintln!(
                    "note: --journal {} had mode {mode:04o}; it is now 0600, readable only by you",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// Refuses a URL variable that does not hold a URL, naming the variable and what is wrong
/// but never the value: what people paste into `ARTIFACTORY_URL` by mistake is often the
/// token meant for the next variable. A value that parses is left to the client's builder,
/// whose messages show it only redacted (no userinfo, query or fragment).
pub(crate) fn check_url_variable(var: &str, example: &str) -> Result<(), Failure> {
    let Some(value) = std::env::var(var).ok().filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let problem = match url::Url::parse(value.trim()) {
        // url's messages are fixed texts ("relative URL without a base"), never the input.
        Err(err) => err.to_string(),
        Ok(url) if !matches!(url.scheme(), "http" | "https") || url.host().is_none() => {
            "it is not an http or https URL with a host".to_owned()
        }
        Ok(_) => return Ok(()),
    };
    Err(Failure::Usage(format!(
        "{var} is not a valid URL ({problem}); set it to the service's address, such as \
         {example} (the value is not shown, in case a token was pasted there)"
    )))
}
