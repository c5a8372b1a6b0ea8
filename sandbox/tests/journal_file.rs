//! The journal file holds hosts, paths and user names: owner-only, and never written
//! through a link someone else placed.

use std::os::unix::fs::PermissionsExt;

use pull_through_sandbox::{Sandbox, SandboxError};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_journal_file_is_private_whatever_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.jsonl");
    let sandbox = Sandbox::builder()
        .journal_file(&fresh)
        .start()
        .await
        .unwrap();
    assert_eq!(mode(&fresh), 0o600);
    sandbox.shutdown().await;

    let open = dir.path().join("open.jsonl");
    std::fs::write(&open, "old\n").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sandbox = Sandbox::builder()
        .journal_file(&open)
        .start()
        .await
        .unwrap();
    assert_eq!(mode(&open), 0o600, "an existing 0644 journal is tightened");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_journal_path_that_is_a_link_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "keep\n").unwrap();
    let link = dir.path().join("journal.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = Sandbox::builder()
        .journal_file(&link)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, SandboxError::JournalFile { .. }), "{err:?}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
}

#[tokio::test]
async fn a_journal_file_with_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("someone-elses");
    std::fs::write(&other, "keep\n").unwrap();
    let journal = dir.path().join("journal.jsonl");
    std::fs::hard_link(&other, &journal).unwrap();
    let err = Sandbox::builder()
        .journal_file(&journal)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("other names"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep\n");
}
