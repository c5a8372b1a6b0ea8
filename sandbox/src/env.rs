//! The env file: `KEY=value` lines other programs read, and shells source.

use std::io::Write;
use std::path::Path;

/// Characters a value may hold and still be written bare: none of them means anything to
/// a POSIX shell in an assignment (no quote, `$`, backtick, backslash, space, glob, `~`,
/// `#`, operator or brace), so `KEY=value` assigns exactly `value`. URLs, JWTs, hex ids
/// and base64 tokens stay readable by tools that take `KEY=value` literally (Docker's
/// `--env-file`, `grep '^KEY=http://'`), which do not strip quotes.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:@%+,=-".contains(c)
}

/// A value as a shell reads it back byte for byte: bare when every character is plain,
/// otherwise single-quoted, where nothing is expanded, with each `'` written as `'\''`
/// (close the quote, an escaped quote, reopen).
fn shell_value(value: &str) -> String {
    if value.chars().all(is_plain) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Writes `KEY=value` lines to `path`, replacing it atomically (a temporary file in the same
/// folder, then a rename) with mode 0600 on Unix, because the values include tokens. A link
/// at `path` is replaced, never written through.
///
/// The file is meant to be sourced (`set -a; . ./file; set +a`), so sourcing it must never
/// run anything and must give back each value exactly: a value of only letters, digits and
/// `_./:@%+,=-` (every URL, id and token the sandbox and the program write) is written
/// bare, anything else in single quotes with `'` as `'\''`.
///
/// # Errors
///
/// An I/O error, or `InvalidInput` for a key that is not `[A-Z_][A-Z0-9_]*` or a value
/// with a line break or a NUL (which no shell variable can hold).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("sandbox.env");
/// pull_through_sandbox::write_env_file(&path, &[
///     ("ARTIFACTORY_URL".into(), "http://127.0.0.1:1".into()),
///     ("GREETING".into(), "it's $(not) run".into()),
/// ]).unwrap();
/// assert_eq!(
///     std::fs::read_to_string(&path).unwrap(),
///     "ARTIFACTORY_URL=http://127.0.0.1:1\nGREETING='it'\\''s $(not) run'\n"
/// );
/// ```
pub fn write_env_file(path: &Path, pairs: &[(String, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (key, value) in pairs {
        let key_ok = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !key_ok || value.contains(['\n', '\r', '\0']) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("env file entry {key:?} is not KEY=value on one line"),
            ));
        }
        text.push_str(&format!("{key}={}\n", shell_value(value)));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_keys_and_multiline_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.env");
        for (key, value) in [
            ("lower", "v"),
            ("1X", "v"),
            ("", "v"),
            ("K", "a\nb"),
            ("K", "a\0b"),
            ("K=X", "v"),
            ("K;touch", "v"),
        ] {
            let err = write_env_file(&path, &[(key.into(), value.into())]).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{key:?}");
        }
        assert!(
            !path.exists(),
            "nothing is written when an entry is refused"
        );
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.env");
        std::fs::write(&path, "OLD=1\nLONGER=content\n").unwrap();
        write_env_file(&path, &[("A".into(), "1".into())]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "A=1\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// Sourcing the file runs nothing and gives back every value byte for byte (issue
    /// 11: values were written bare, so a `$(...)` in one ran).
    #[cfg(unix)]
    #[test]
    fn sourcing_runs_nothing_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let marker = marker.to_str().unwrap();
        let values = [
            format!("$(touch {marker})"),
            format!("`touch {marker}`"),
            format!("it's; touch {marker} # 'quoted' \\ \"double\" ${{HOME}} *"),
            "'".to_owned(),
            "''".to_owned(),
            "~/x ~".to_owned(),
            "a\tb".to_owned(),
            String::new(),
            "http://127.0.0.1:1/x?y=z&w".to_owned(),
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_".to_owned(),
            "ünïcödé ✓".to_owned(),
        ];
        for value in &values {
            let path = dir.path().join("x.env");
            write_env_file(&path, &[("VAR".into(), value.clone())]).unwrap();
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg("set -a; . \"$1\"; printf %s \"$VAR\"")
                .arg("sh")
                .arg(&path)
                .env_remove("VAR")
                .output()
                .unwrap();
            assert!(output.status.success(), "{value:?}: {output:?}");
            assert_eq!(String::from_utf8(output.stdout).unwrap(), *value);
            assert!(
                !std::path::Path::new(marker).exists(),
                "sourcing {value:?} ran a command"
            );
        }
    }

    #[test]
    fn plain_values_stay_bare() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.env");
        write_env_file(
            &path,
            &[
                ("URL".into(), "http://127.0.0.1:8080/artifactory".into()),
                ("ID".into(), "0123abcd/0123456789abcdef".into()),
                ("TOKEN".into(), "eyJ2.abc-_+/=".into()),
                ("EMPTY".into(), String::new()),
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "URL=http://127.0.0.1:8080/artifactory\nID=0123abcd/0123456789abcdef\nTOKEN=eyJ2.abc-_+/=\nEMPTY=\n"
        );
    }
}
