//! Issue 11: a repositories file that holds credentials ends up 0600 whatever its mode was,
//! and plain-http URLs with credentials are refused before anything is written.

use apk_repo::repo_url::{RepoUrl, RepoUrlError};
use apk_repo::repositories::RepositoriesFile;

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn an_existing_0644_file_that_gains_credentials_becomes_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repositories");
    std::fs::write(&path, "https://packages.wolfi.dev/os\n").unwrap();
    set_mode(&path, 0o644);
    let mut file = RepositoriesFile::read(&path).unwrap();
    let url = RepoUrl::parse("https://example.jfrog.io/artifactory/cg-private/")
        .unwrap()
        .with_credentials("linky@example.com", "token")
        .unwrap();
    assert!(file.add(url));
    let written = file.write_atomic(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(written.holds_credentials);
    assert_eq!(written.mode_changed_from, Some(0o644));

    // Still private after the credentials are only commented out.
    set_mode(&path, 0o644);
    let mut file = RepositoriesFile::read(&path).unwrap();
    file.disable_defaults();
    let written = file.write_atomic(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(written.mode_changed_from, Some(0o644));

    // Once no line holds credentials, the mode is left as it is.
    let mut file = RepositoriesFile::parse("https://packages.wolfi.dev/os\n");
    file.dedup();
    let written = file.write_atomic(&path).unwrap();
    assert!(!written.holds_credentials);
    assert_eq!(written.mode_changed_from, None);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn plain_http_credentials_are_a_typed_refusal_that_does_not_echo() {
    let url = RepoUrl::parse_line("http://user:s3cret@example.com/os").unwrap();
    let err = url.check_credentials_transport().unwrap_err();
    assert!(
        matches!(&err, RepoUrlError::InsecureCredentials { url } if url == "http://example.com/os"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cret"));
    // A lone user is often a token: the same rule.
    let lone = RepoUrl::parse_line("http://s3cret@example.com/os").unwrap();
    assert!(lone.check_credentials_transport().is_err());
    for fine in [
        "https://user:s3cret@example.com/os",
        "http://example.com/os",
        "http://user:s3cret@127.0.0.1:8080/os",
        "http://user:s3cret@localhost:8080/os",
    ] {
        assert!(
            RepoUrl::parse_line(fine)
                .unwrap()
                .check_credentials_transport()
                .is_ok(),
            "{fine}"
        );
    }
}
