//! The env file: `KEY=value` lines other programs read.

use std::io::Write;
use std::path::Path;

/// Writes `KEY=value` lines to `path`, replacing it atomically (a temporary file in the same
/// folder, then a rename) with mode 0600 on Unix, because the values include tokens.
///
/// # Errors
///
/// An I/O error, or `InvalidInput` for a key that is not `[A-Z_][A-Z0-9_]*` or a value
/// with a line break.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("sandbox.env");
/// pull_through_sandbox::write_env_file(&path, &[("ARTIFACTORY_URL".into(), "http://127.0.0.1:1".into())]).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "ARTIFACTORY_URL=http://127.0.0.1:1\n");
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
        if !key_ok || value.contains(['\n', '\r']) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("env file entry {key:?} is not KEY=value on one line"),
            ));
        }
        text.push_str(&format!("{key}={value}\n"));
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
        for (key, value) in [("lower", "v"), ("1X", "v"), ("", "v"), ("K", "a\nb")] {
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
}
