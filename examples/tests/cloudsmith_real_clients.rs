//! A real Docker client through Cloudsmith: `skopeo` logs in with the `docker login` line
//! `apply` prints for seed 004 (the user slug, the API key read from the variable the
//! line names) and inspects and copies every `docker pull` reference it prints, in each
//! layout. The images come through the Cloudsmith fake's registry from the fake `cgr.dev`.
//!
//! Skips with a message when `skopeo` is absent, unless
//! `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` (as CI sets), which makes absence a failure.
//! Install it with `apt-get install -y skopeo` (Debian, Ubuntu).

mod cloudsmith_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cloudsmith_support::*;

/// `skopeo` on `PATH`, or `None` after saying why the test skips.
fn skopeo() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("skopeo"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let required = std::env::var("PULL_THROUGH_REQUIRE_REAL_CLIENTS").as_deref() == Ok("1");
        assert!(
            !required,
            "skopeo is not installed and PULL_THROUGH_REQUIRE_REAL_CLIENTS=1 requires it \
             (apt-get install -y skopeo)"
        );
        eprintln!(
            "skipped: skopeo is not installed (apt-get install -y skopeo; \
             PULL_THROUGH_REQUIRE_REAL_CLIENTS=1 makes this a failure)"
        );
    }
    found
}

/// `skopeo` with its own auth file and no system policy, over plain http.
fn skopeo_command(bin: &Path, authfile: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(bin);
    command
        .args(args)
        .arg("--authfile")
        .arg(authfile)
        .env_remove("REGISTRY_AUTH_FILE");
    command
}

/// `skopeo login`, the password on standard input (never in argv).
fn login(bin: &Path, authfile: &Path, registry: &str, user: &str, password: &str) -> Output {
    let mut child = skopeo_command(
        bin,
        authfile,
        &["login", "--tls-verify=false", "--password-stdin"],
    )
    .args(["--username", user, registry])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Applies seed 004 in `layout` and pulls every printed reference with the printed login.
fn pull_what_apply_prints(bin: &Path, layout: Layout) -> Vec<String> {
    let world = World::start();
    let config = world.config("seed-004.toml", &seed_004(layout));
    let applied = world.flow(&config, &["apply"]);
    expect_code(&applied, 0);
    let applied = json(&applied);
    let authfile = world.dir.path().join("auth.json");
    let mut pulled = Vec::new();
    for cache in applied["access"].as_array().unwrap() {
        let lines: Vec<&str> = cache["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l.as_str())
            .collect();
        let words: Vec<&str> = lines[0].split_whitespace().collect();
        let [
            "docker",
            "login",
            registry,
            "--username",
            user,
            "--password",
            password,
        ] = words.as_slice()
        else {
            panic!(
                "{}: the first line is not a docker login: {lines:?}",
                cache["cache"]
            );
        };
        let variable = password.trim_matches('"').strip_prefix('$').unwrap();
        assert_eq!(variable, "CLOUDSMITH_API_KEY");
        succeeded(
            &login(bin, &authfile, registry, user, &world.env[variable]),
            &format!("skopeo login {registry}"),
        );
        for reference in lines.iter().filter_map(|l| l.strip_prefix("docker pull ")) {
            // The images are linux/amd64 and linux/arm64: name the platform, so the
            // answer does not depend on the machine the test runs on.
            let inspected = skopeo_command(
                bin,
                &authfile,
                &[
                    "--override-os",
                    "linux",
                    "--override-arch",
                    "amd64",
                    "inspect",
                    "--tls-verify=false",
                ],
            )
            .arg(format!("docker://{reference}"))
            .output()
            .unwrap();
            succeeded(&inspected, &format!("skopeo inspect {reference}"));
            let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
            assert_eq!(inspected["Architecture"], "amd64", "{reference}");
            let layout_dir = world.dir.path().join(format!("copy-{}", pulled.len()));
            let copied = Command::new(bin)
                .args([
                    "copy",
                    "--all",
                    "--insecure-policy",
                    "--src-tls-verify=false",
                    "--src-authfile",
                ])
                .arg(&authfile)
                .arg(format!("docker://{reference}"))
                .arg(format!("oci:{}:copied", layout_dir.display()))
                .env_remove("REGISTRY_AUTH_FILE")
                .output()
                .unwrap();
            succeeded(&copied, &format!("skopeo copy {reference}"));
            // The index, two manifests, two configs and two layers.
            let blobs = std::fs::read_dir(layout_dir.join("blobs/sha256"))
                .unwrap()
                .count();
            assert_eq!(blobs, 7, "{reference}");
            pulled.push(reference.to_owned());
        }
    }
    // A wrong key is refused at login.
    let wrong = login(
        bin,
        &authfile,
        &world.docker_host(),
        USER,
        "0000000000000000000000000000000000000000",
    );
    assert!(!wrong.status.success(), "{}", text(&wrong.stdout));
    let host = world.docker_host();
    pulled
        .into_iter()
        .map(|r| r.replacen(&host, "HOST", 1))
        .collect()
}

#[test]
fn skopeo_pulls_what_apply_prints_for_seed_004_in_one_repository() {
    let Some(bin) = skopeo() else {
        return;
    };
    assert_eq!(
        pull_what_apply_prints(&bin, Layout::Shared),
        [
            format!("HOST/{OWNER}/chainguard/nginx:latest"),
            format!("HOST/{OWNER}/chainguard/example.com/chainguard-base:latest"),
            format!("HOST/{OWNER}/chainguard/nginx:latest"),
            format!("HOST/{OWNER}/chainguard/example.com/chainguard-base:latest"),
        ]
    );
}

#[test]
fn skopeo_pulls_what_apply_prints_for_seed_004_with_a_repository_per_cache() {
    let Some(bin) = skopeo() else {
        return;
    };
    assert_eq!(
        pull_what_apply_prints(&bin, Layout::OwnRepository),
        [
            format!("HOST/{OWNER}/cloudsmith-public/nginx:latest"),
            format!("HOST/{OWNER}/cloudsmith-private/example.com/chainguard-base:latest"),
        ]
    );
}
