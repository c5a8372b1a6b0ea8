//! Issue 11: secrets go only where we send them. Each test reproduces one finding of the
//! review: files that end up readable or written through a link, ids that are secrets
//! going into URLs or error texts, a token left live when its output could not be
//! written, and credentials taken from the command line.

mod common;

use std::process::{Command, Output};

use common::{run, serve, text};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");
/// A token as people paste it: a JWT.
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUNSRVQtU1VCSkVDVCJ9.c2lnLVNFQ1JFVA";

/// Runs the program with only the variables given (no sandbox).
fn bare(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("HTTP_AUTH")
        .env_remove("ARTIFACTORY_URL")
        .env_remove("ARTIFACTORY_ACCESS_TOKEN")
        .env_remove("JFROG_ACCESS_TOKEN")
        .env_remove("CHAINGUARD_API_URL")
        .env_remove("CHAINGUARD_ISSUER_URL")
        .env_remove("CHAINGUARD_TOKEN");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Finding 4: a repositories file that was 0644 stayed 0644 when credentials were added.
#[cfg(unix)]
#[test]
fn a_repositories_file_that_gains_credentials_becomes_private_and_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repositories");
    std::fs::write(&file, "https://packages.wolfi.dev/os\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let added = bare(
        &[
            "apk",
            "repositories",
            file.to_str().unwrap(),
            "--add",
            "https://example.jfrog.io/artifactory/cg-private/",
            "--user",
            "linky@example.com",
            "--password-env",
            "APK_TEST_TOKEN",
        ],
        &[("APK_TEST_TOKEN", JWT)],
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert_eq!(mode(&file), 0o600, "the file now holds a token");
    let said = text(&added.stdout);
    assert!(
        said.contains("added the repository") && said.contains("0644") && said.contains("0600"),
        "{said}"
    );
    assert!(!said.contains(JWT) && !text(&added.stderr).contains(JWT));

    // JSON says it too.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let json = bare(
        &[
            "--output",
            "json",
            "apk",
            "repositories",
            file.to_str().unwrap(),
            "--disable-defaults",
        ],
        &[],
    );
    assert!(json.status.success(), "{}", text(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        value["mode_changed"],
        serde_json::json!({"from": "0644", "to": "0600"}),
        "a commented-out line with credentials still holds them: {value}"
    );
    assert_eq!(mode(&file), 0o600);

    // A file without credentials keeps its mode, and nothing is said.
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "https://packages.wolfi.dev/os\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let kept = bare(
        &[
            "apk",
            "repositories",
            plain.to_str().unwrap(),
            "--add",
            "https://apk.cgr.dev/chainguard",
        ],
        &[],
    );
    assert!(kept.status.success(), "{}", text(&kept.stderr));
    assert_eq!(mode(&plain), 0o644);
    assert!(
        !text(&kept.stdout).contains("mode"),
        "{}",
        text(&kept.stdout)
    );
}

/// Finding 4: journals followed symlinks and were created 0644.
#[cfg(unix)]
#[test]
fn journals_are_private_and_never_written_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let served = serve();
    let dir = tempfile::tempdir().unwrap();

    // A link is refused before any request, and its target is untouched.
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "precious\n").unwrap();
    let link = dir.path().join("journal.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let refused = run(
        &served,
        &[
            "--journal",
            link.to_str().unwrap(),
            "artifactory",
            "repos",
            "list",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("symbolic link"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    // A dangling link is refused too: it would otherwise create its target.
    let dangling = dir.path().join("dangling.jsonl");
    let nowhere = dir.path().join("created-through-the-link");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    let refused = run(
        &served,
        &[
            "--journal",
            dangling.to_str().unwrap(),
            "artifactory",
            "repos",
            "list",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(!nowhere.exists());

    // A new journal is 0600.
    let fresh = dir.path().join("fresh.jsonl");
    let listed = run(
        &served,
        &[
            "--journal",
            fresh.to_str().unwrap(),
            "artifactory",
            "repos",
            "list",
        ],
        &[],
    );
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert_eq!(mode(&fresh), 0o600);
    assert_eq!(std::fs::read_to_string(&fresh).unwrap().lines().count(), 1);

    // An existing one that others could read is tightened, and still appended to.
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = run(
        &served,
        &[
            "--journal",
            fresh.to_str().unwrap(),
            "artifactory",
            "repos",
            "list",
        ],
        &[],
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(mode(&fresh), 0o600);
    assert_eq!(std::fs::read_to_string(&fresh).unwrap().lines().count(), 2);
    assert!(
        text(&again.stderr).contains("0600"),
        "{}",
        text(&again.stderr)
    );

    // `sandbox serve --journal` does not write through a link either.
    let serve_link = run(
        &served,
        &[
            "--journal",
            link.to_str().unwrap(),
            "sandbox",
            "serve",
            "--stop-after",
            "1",
        ],
        &[],
    );
    assert_eq!(
        serve_link.status.code(),
        Some(2),
        "{}",
        text(&serve_link.stderr)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    let serve_fresh = dir.path().join("served.jsonl");
    let served_again = run(
        &served,
        &[
            "--journal",
            serve_fresh.to_str().unwrap(),
            "sandbox",
            "serve",
            "--stop-after",
            "1",
        ],
        &[],
    );
    assert!(
        served_again.status.success(),
        "{}",
        text(&served_again.stderr)
    );
    assert_eq!(mode(&serve_fresh), 0o600);
}

/// Finding 5: `pull-token revoke <JWT>` put the JWT into a URL path (and so the journal,
/// the error and the server's logs).
#[test]
fn pull_token_revoke_refuses_what_is_not_an_identity_id() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    for argument in [
        JWT,
        "not-an-id",
        // An organization id alone, and a child segment of the wrong length.
        "0123456789abcdef0123456789abcdef01234567",
        "0123456789abcdef0123456789abcdef01234567/0123",
    ] {
        let output = run(
            &served,
            &[
                "--journal",
                journal.to_str().unwrap(),
                "chainguard",
                "pull-token",
                "revoke",
                argument,
            ],
            &[],
        );
        assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
        let said = text(&output.stderr) + &text(&output.stdout);
        assert!(said.contains("identity id"), "{said}");
        assert!(!said.contains(argument), "echoed the argument: {said}");
    }
    let recorded = std::fs::read_to_string(&journal).unwrap_or_default();
    assert_eq!(recorded, "", "no request was made");

    // Role bindings take the same ids.
    let binding = run(&served, &["chainguard", "role-binding", "delete", JWT], &[]);
    assert_eq!(binding.status.code(), Some(2), "{}", text(&binding.stderr));
    assert!(!text(&binding.stderr).contains(JWT));
}

/// Finding 5: `artifactory token revoke <token>` echoed the token, or sent it as an id.
#[test]
fn artifactory_token_revoke_refuses_a_secret_without_echoing_it() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    // A JWT access token, and a reference token (letters and digits only).
    let reference = format!("cmVmdGtu{}", "Ab1".repeat(18));
    for argument in [JWT, reference.as_str()] {
        let output = run(
            &served,
            &[
                "--journal",
                journal.to_str().unwrap(),
                "artifactory",
                "token",
                "revoke",
                argument,
            ],
            &[],
        );
        assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
        let said = text(&output.stderr) + &text(&output.stdout);
        assert!(said.contains("token id"), "{said}");
        assert!(!said.contains(argument), "echoed the argument: {said}");
    }
    let recorded = std::fs::read_to_string(&journal).unwrap_or_default();
    assert_eq!(recorded, "", "no request was made");
}

/// Finding 5: a token pasted into ARTIFACTORY_URL or CHAINGUARD_API_URL was printed whole.
#[test]
fn a_token_pasted_into_a_url_variable_is_not_printed() {
    let artifactory = bare(
        &["artifactory", "repos", "list"],
        &[
            ("ARTIFACTORY_URL", JWT),
            ("ARTIFACTORY_ACCESS_TOKEN", "admin-token"),
        ],
    );
    assert_eq!(artifactory.status.code(), Some(2));
    let said = text(&artifactory.stderr);
    assert!(said.contains("ARTIFACTORY_URL"), "{said}");
    assert!(!said.contains(JWT) && !said.contains("SECRET"), "{said}");

    for var in ["CHAINGUARD_API_URL", "CHAINGUARD_ISSUER_URL"] {
        let chainguard = bare(
            &["chainguard", "orgs", "list"],
            &[(var, JWT), ("CHAINGUARD_TOKEN", "console-token")],
        );
        assert_eq!(chainguard.status.code(), Some(2));
        let said = text(&chainguard.stderr);
        assert!(said.contains(var), "{said}");
        assert!(!said.contains(JWT), "{said}");
    }
}

/// Finding 6: `artifactory token create` left a live token when --secrets-out could not be
/// written.
#[cfg(target_os = "linux")]
#[test]
fn artifactory_token_create_revokes_a_token_it_could_not_write() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    // /proc exists but takes no new files, even for root (tests may run as root, for
    // whom permission bits do not stop a write).
    let output = run(
        &served,
        &[
            "--journal",
            journal.to_str().unwrap(),
            "--secrets-out",
            "/proc/pull-through-secrets.env",
            "artifactory",
            "token",
            "create",
            "--username",
            "linky@example.com",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let said = text(&output.stderr);
    assert!(said.contains("revoked"), "{said}");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let created = records
        .iter()
        .find(|r| r["method"] == "POST" && r["status"] == 200)
        .expect("the token was created");
    assert!(
        created["url"]
            .as_str()
            .unwrap()
            .ends_with("/access/api/v1/tokens")
    );
    let revoked = records
        .iter()
        .find(|r| r["method"] == "DELETE")
        .expect("the token was revoked");
    assert_eq!(revoked["status"], 200, "{revoked}");
    assert!(
        revoked["url"]
            .as_str()
            .unwrap()
            .contains("/access/api/v1/tokens/")
    );
}

/// Finding 7: `apk repositories --add http://user:SECRET@host` wrote the secret for plain
/// http, and a secret in argv went unremarked.
#[test]
fn credentials_in_plain_http_urls_on_the_command_line_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repositories");
    std::fs::write(&file, "https://packages.wolfi.dev/os\n").unwrap();
    let path = file.to_str().unwrap();
    let secret = "s3cr3t-Token-Value";
    let url = format!("http://user:{secret}@example.com/os");
    for args in [
        vec!["apk", "repositories", path, "--add", url.as_str()],
        vec!["apk", "repositories", path, "--set", url.as_str()],
        vec!["apk", "repo-url", "--base", url.as_str()],
    ] {
        let output = bare(&args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let said = text(&output.stderr) + &text(&output.stdout);
        assert!(said.contains("https"), "{said}");
        assert!(!said.contains(secret), "echoed the secret: {said}");
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "https://packages.wolfi.dev/os\n",
        "nothing was written"
    );

    // Over https it works, with a warning that points to --password-env.
    let https = format!("https://user:{secret}@example.com/os");
    let output = bare(&["apk", "repositories", path, "--add", https.as_str()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let warned = text(&output.stderr);
    assert!(
        warned.contains("warning") && warned.contains("--password-env"),
        "{warned}"
    );
    assert!(!warned.contains(secret) && !text(&output.stdout).contains(secret));
    let output = bare(&["apk", "repo-url", "--base", https.as_str()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("--password-env"));
    // Loopback over plain http stays allowed (the sandbox), still with the warning.
    let local = format!("http://user:{secret}@127.0.0.1:8080/os");
    let output = bare(&["apk", "repo-url", "--base", local.as_str()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("--password-env"));
}
