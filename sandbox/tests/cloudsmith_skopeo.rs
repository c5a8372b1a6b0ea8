//! `skopeo` against the Cloudsmith fake's registry, as against `docker.cloudsmith.io`:
//! it copies an image through a repository with a public upstream
//! (`https://cgr.dev/chainguard`, no `chainguard/` prefix) and a private one
//! (`https://cgr.dev` with stored credentials, the org prefix), logging in with the user
//! slug and the API key; a wrong key fails the copy.
//!
//! Skips with a message when `skopeo` is absent, unless
//! `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` (as CI sets), which makes absence a failure.
//! Install it with `apt-get install -y skopeo` (Debian, Ubuntu).

mod cloudsmith_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cloudsmith_support::{INDEX, World, world};
use pull_through_sandbox::cloudsmith::{OWNER, USER};
use serde_json::{Value, json};

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

/// `skopeo copy --all` of `<registry>/<reference>` into an OCI layout at `dir`, with the
/// user slug and `key`, off the runtime's threads (the fakes answer on them meanwhile).
async fn copy(bin: &Path, w: &World, reference: &str, key: &str, dir: &Path) -> Output {
    let mut command = Command::new(bin);
    command
        .env_remove("REGISTRY_AUTH_FILE")
        .args([
            "copy",
            "--all",
            "--insecure-policy",
            "--src-tls-verify=false",
        ])
        .arg("--src-creds")
        .arg(format!("{USER}:{key}"))
        .arg(format!("docker://{}/{reference}", w.registry_host()))
        .arg(format!("oci:{}:copied", dir.display()));
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap()
}

fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The digest the registry answers for `image:latest` in `repo`.
async fn index_digest(w: &World, repo: &str, image: &str) -> String {
    let answer = w
        .pull(&format!("{OWNER}/{repo}/{image}/manifests/latest"), INDEX)
        .await;
    answer.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The OCI layout's one image: its digest, and whether every blob it names is there.
fn copied(dir: &Path) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index}");
    assert_eq!(manifests[0]["mediaType"], INDEX);
    assert_eq!(
        manifests[0]["annotations"]["org.opencontainers.image.ref.name"],
        "copied"
    );
    let digest = manifests[0]["digest"].as_str().unwrap().to_owned();
    let blob = |digest: &str| {
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let stored: Value = serde_json::from_slice(&std::fs::read(blob(&digest)).unwrap()).unwrap();
    for platform in stored["manifests"].as_array().unwrap() {
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(blob(platform["digest"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        for layer in manifest["layers"].as_array().unwrap() {
            assert!(blob(layer["digest"].as_str().unwrap()).is_file());
        }
        assert!(blob(manifest["config"]["digest"].as_str().unwrap()).is_file());
    }
    digest
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_copies_a_public_image_without_the_chainguard_prefix() {
    let Some(bin) = skopeo() else {
        return;
    };
    let w = world().await;
    w.repo_with_upstream("cgr", "https://cgr.dev/chainguard", "Cache and Proxy")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let output = copy(
        &bin,
        &w,
        &format!("{OWNER}/cgr/nginx:latest"),
        &w.key(),
        dir.path(),
    )
    .await;
    succeeded(&output, "skopeo copy");
    assert_eq!(copied(dir.path()), index_digest(&w, "cgr", "nginx").await);
    let packages = w.cloudsmith.packages("cgr");
    assert_eq!(packages.len(), 1);
    assert_eq!(
        json!([packages[0].name, packages[0].version]),
        json!(["nginx", "latest"])
    );

    let refused = tempfile::tempdir().unwrap();
    let output = copy(
        &bin,
        &w,
        &format!("{OWNER}/cgr/nginx:latest"),
        "wrong-key",
        refused.path(),
    )
    .await;
    assert!(!output.status.success(), "a wrong key copied an image");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("401") || stderr.to_lowercase().contains("unauthorized"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_copies_a_private_image_through_the_root_upstream() {
    let Some(bin) = skopeo() else {
        return;
    };
    let w = world().await;
    w.create_repo("prod").await;
    w.create_upstream(
        "prod",
        json!({"name": "cgr-private", "upstream_url": "https://cgr.dev", "mode": "Proxy Only",
            "priority": 1, "verify_ssl": true, "auth_mode": "Username and Password",
            "auth_username": "_token", "auth_secret": w.cgr_token().await}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("{OWNER}/prod/example.com/chainguard-base:latest");
    let output = copy(&bin, &w, &reference, &w.key(), dir.path()).await;
    succeeded(&output, "skopeo copy");
    assert_eq!(
        copied(dir.path()),
        index_digest(&w, "prod", "example.com/chainguard-base").await
    );
    assert!(
        w.cloudsmith.packages("prod").is_empty(),
        "Proxy Only keeps nothing"
    );
}
