//! Printing results for people or as JSON, and where secrets and files may go.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use pull_through_core::http::{AttemptRecord, HttpObserver};
use pull_through_sandbox::{OpenPrivate, open_private_file};

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

/// Opens a `--journal` file for appending, mode 0600, never through a symbolic link (see
/// [`open_private_file`]): a journal names every URL a command calls, which is nobody
/// else's business. An existing journal others could read is tightened, and a note says so.
pub(crate) fn open_journal(path: &Path) -> Result<std::fs::File, Failure> {
    let opened = open_private_file(path, OpenPrivate::Append).map_err(|err| {
        Failure::Usage(format!(
            "--journal {}: {}",
            path.display(),
            match err.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "appeared while it was being created; run the command again".to_owned()
                }
                _ => err.to_string(),
            }
        ))
    })?;
    if let Some(mode) = opened.tightened_from {
        eprintln!(
            "note: --journal {} had mode {mode:04o}; it is now 0600, readable only by you",
            path.display()
        );
    }
    Ok(opened.file)
}
