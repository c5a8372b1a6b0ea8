//! `pull-through apk ...` end to end: outputs, exit codes, secrets.

use std::path::Path;
use std::process::{Command, Output};

use apk_repo::index::{Package, SigningKey, sign_index, write_index};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln/x";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("APK_TEST_TOKEN", TOKEN)
        .env_remove("HTTP_AUTH")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn package(name: &str, version: &str) -> Package {
    let mut package = Package::default();
    package.name = name.into();
    package.version = version.into();
    package
}

/// Writes a signed index and its key into `dir`; returns the index path.
fn signed_index(dir: &Path, file: &str, packages: &[Package]) -> std::path::PathBuf {
    let key = SigningKey::generate("local-test.rsa.pub").unwrap();
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(keys.join(key.name()), key.public_key_pem()).unwrap();
    let path = dir.join(file);
    std::fs::write(
        &path,
        sign_index(&write_index(packages, "test"), &[&key]).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn http_auth_names_the_variable_unless_asked() {
    let shown = run(&[
        "apk",
        "http-auth",
        "--host",
        "apk.cgr.dev",
        "--user",
        "user",
        "--password-env",
        "APK_TEST_TOKEN",
    ]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(
        stdout(&shown).trim(),
        "basic:apk.cgr.dev:user:${APK_TEST_TOKEN}"
    );
    let real = run(&[
        "--show-secrets",
        "apk",
        "http-auth",
        "--host",
        "apk.cgr.dev",
        "--user",
        "user",
        "--password-env",
        "APK_TEST_TOKEN",
    ]);
    assert_eq!(
        stdout(&real).trim(),
        format!("basic:apk.cgr.dev:user:{TOKEN}")
    );
    let empty = run(&[
        "apk",
        "http-auth",
        "--empty-host",
        "--user",
        "id",
        "--password-env",
        "APK_TEST_TOKEN",
    ]);
    assert_eq!(stdout(&empty).trim(), "basic::id:${APK_TEST_TOKEN}");
    assert!(
        stderr(&empty).contains("apko"),
        "the apko caveat is printed"
    );
}

#[test]
fn repo_url_encodes_and_masks() {
    let args = [
        "apk",
        "repo-url",
        "--base",
        "https://example.jfrog.io/artifactory/cg-private/",
        "--user",
        "linky@example.com",
        "--password-env",
        "APK_TEST_TOKEN",
    ];
    let masked = run(&args);
    assert_eq!(
        stdout(&masked).trim(),
        "https://linky%40example.com:*@example.jfrog.io/artifactory/cg-private/"
    );
    let mut revealed = vec!["--show-secrets"];
    revealed.extend(args);
    let real = run(&revealed);
    assert_eq!(
        stdout(&real).trim(),
        "https://linky%40example.com:eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln%2Fx@example.jfrog.io/artifactory/cg-private/"
    );
}

#[test]
fn repositories_file_edits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repositories");
    std::fs::write(
        &file,
        "# defaults\nhttps://dl-cdn.alpinelinux.org/alpine/v3.20/main\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    assert!(
        run(&["apk", "repositories", path, "--disable-defaults"])
            .status
            .success()
    );
    let added = run(&[
        "apk",
        "repositories",
        path,
        "--add",
        "https://example.jfrog.io/artifactory/cg-private/",
        "--user",
        "linky@example.com",
        "--password-env",
        "APK_TEST_TOKEN",
    ]);
    assert!(
        stdout(&added).contains("added the repository"),
        "{}",
        stdout(&added)
    );
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains(
        "https://linky%40example.com:eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln%2Fx@example.jfrog.io"
    ));
    let shown = run(&["apk", "repositories", path, "--show"]);
    assert_eq!(
        stdout(&shown),
        "# defaults\n# https://dl-cdn.alpinelinux.org/alpine/v3.20/main\nhttps://linky%40example.com:*@example.jfrog.io/artifactory/cg-private/\n"
    );
    let removed = run(&[
        "apk",
        "repositories",
        path,
        "--remove",
        "https://example.jfrog.io/artifactory/cg-private/",
    ]);
    assert!(stdout(&removed).contains("removed 1 line(s)"));
    let set = run(&[
        "apk",
        "repositories",
        path,
        "--set",
        "https://apk.cgr.dev/example.com",
    ]);
    assert!(set.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "https://apk.cgr.dev/example.com\n"
    );
    let none = run(&["apk", "repositories", path]);
    assert_eq!(none.status.code(), Some(2), "an action is required");
}

#[test]
fn verify_search_and_policy_on_local_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let first = signed_index(
        dir.path(),
        "one.tar.gz",
        &[
            package("wget", "1.24.5-r4"),
            package("libstdc++", "13.2.0-r1"),
        ],
    );
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let second = signed_index(&second_dir, "two.tar.gz", &[package("wget", "1.24.5-r5")]);
    let keys = dir.path().join("keys");
    let (first, second, keys) = (
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        keys.to_str().unwrap(),
    );

    let verified = run(&["apk", "verify-index", "--keys", keys, first]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(stdout(&verified).contains("signed by local-test.rsa.pub, 2 packages"));
    let wrong_key = run(&["apk", "verify-index", "--keys", keys, second]);
    assert_eq!(
        wrong_key.status.code(),
        Some(1),
        "another key of the same name fails"
    );
    assert!(
        stderr(&wrong_key).contains("does not match"),
        "{}",
        stderr(&wrong_key)
    );

    let found = run(&["apk", "search", "--index", first, "--keys", keys, "std"]);
    assert_eq!(stdout(&found), "libstdc++-13.2.0-r1\n");
    let unverified = run(&[
        "apk", "search", "--index", first, "--index", second, "wget", "-a",
    ]);
    assert_eq!(stdout(&unverified), "wget-1.24.5-r5\nwget-1.24.5-r4\n");
    assert!(stderr(&unverified).contains("without verifying"));

    let policy = run(&["apk", "policy", "--index", first, "--index", second, "wget"]);
    assert_eq!(
        stdout(&policy),
        format!("wget policy:\n  1.24.5-r5:\n    {second}\n  1.24.5-r4:\n    {first}\n")
    );
    let json = run(&[
        "--output", "json", "apk", "policy", "--index", first, "wget",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["versions"][0]["version"], "1.24.5-r4");
}

#[test]
fn search_a_repository_with_http_auth_after_a_401() {
    let dir = tempfile::tempdir().unwrap();
    let index = signed_index(dir.path(), "index.tar.gz", &[package("bash", "5.2.37-r0")]);
    let bytes = std::fs::read(index).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(async {
        use wiremock::matchers::{any, header_exists, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/example.com/x86_64/APKINDEX.tar.gz"))
            .and(header_exists("authorization"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes))
            .mount(&server)
            .await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(401))
            .mount(&server)
            .await;
        server
    });
    let output = Command::new(BIN)
        .args([
            "apk",
            "search",
            "--repo",
            &format!("{}/example.com", server.uri()),
        ])
        .args(["--keys", dir.path().join("keys").to_str().unwrap(), "bash"])
        .env("HTTP_AUTH", format!("basic:127.0.0.1:user:{TOKEN}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "bash-5.2.37-r0\n");
    let requests = runtime.block_on(server.received_requests()).unwrap();
    assert_eq!(requests.len(), 2, "anonymous, 401, then HTTP_AUTH");
}

#[test]
fn version_and_snippets() {
    assert_eq!(
        stdout(&run(&["apk", "version", "-t", "1.2.3-r1", "1.2.3-r0"])).trim(),
        ">"
    );
    assert_eq!(
        stdout(&run(&["apk", "version", "-t", "1.0_rc1", "1.0"])).trim(),
        "<"
    );
    assert_eq!(
        stdout(&run(&["apk", "version", "-t", "1.0-r04", "1.0-r4"])).trim(),
        "="
    );
    let invalid = run(&["apk", "version", "-t", "1.0", "0.1-r"]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(stderr(&invalid).contains("not a valid apk version"));

    let dockerfile = run(&[
        "apk",
        "snippet",
        "dockerfile",
        "--http-auth-repo",
        "https://apk.cgr.dev/example.com",
        "wget",
    ]);
    assert!(
        stdout(&dockerfile)
            .contains("HTTP_AUTH=\"$(cat /run/secrets/http_auth)\" && export HTTP_AUTH && \\")
    );
    let apko = run(&[
        "apk",
        "snippet",
        "apko",
        "--repo",
        "https://apk.cgr.dev/example.com",
        "wget",
    ]);
    assert_eq!(
        stdout(&apko),
        "contents:\n  repositories:\n    - https://apk.cgr.dev/example.com\n  packages:\n    - wget\narchs:\n  - x86_64\n  - aarch64\n"
    );
}

#[test]
fn bad_input_exits_2_and_says_why() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "apk",
                "http-auth",
                "--host",
                "apk.cgr.dev:443",
                "--user",
                "u",
                "--password-env",
                "APK_TEST_TOKEN",
            ],
            "port",
        ),
        (
            &[
                "apk",
                "http-auth",
                "--host",
                "apk.cgr.dev",
                "--user",
                "u",
                "--password-env",
                "UNSET_VARIABLE_X",
            ],
            "UNSET_VARIABLE_X",
        ),
        (
            &[
                "apk",
                "repo-url",
                "--base",
                "http://example.com/os",
                "--user",
                "u",
                "--password-env",
                "APK_TEST_TOKEN",
            ],
            "https",
        ),
        (&["apk", "search", "wget"], "--index FILE or --repo URL"),
        (
            &[
                "apk",
                "verify-index",
                "--keys",
                "/nonexistent-keys",
                "x.tar.gz",
            ],
            "/nonexistent-keys",
        ),
    ];
    for (args, needle) in cases {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains(TOKEN) && !stdout(&output).contains(TOKEN));
    }
}
