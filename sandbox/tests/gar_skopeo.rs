//! A real Docker client against the GAR registry fake: `skopeo copy` of
//! `127.0.0.1:PORT/PROJECT/REPO/chainguard/go:latest` (every platform) through a remote
//! repository created over the REST API, with the `oauth2accesstoken` login, and of the
//! private image through an authenticated remote; then the missing grant as skopeo sees
//! it.
//!
//! Skips with a message when skopeo is absent, unless `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1`
//! (as CI sets), which makes absence a failure. Install it with `apt-get install -y skopeo`.

mod gar_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gar_common::{Google, NUMBER, ORG, PROJECT, credentials, remote_body};
use pull_through_sandbox::gar;

/// skopeo on `PATH`, or `None` after saying why the test skips.
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

/// `skopeo copy` of `reference` into an OCI layout at `dir`, logging in as
/// `oauth2accesstoken` with the sandbox's access token (a sandbox token: it may sit in
/// argv, which a real one should not).
fn copy(bin: &Path, reference: &str, token: &str, all: bool, dir: &Path) -> Output {
    let mut command = Command::new(bin);
    command.env_remove("REGISTRY_AUTH_FILE");
    if !all {
        command.args(["--override-os", "linux", "--override-arch", "amd64"]);
    }
    command.args(["copy", "--insecure-policy", "--src-tls-verify=false"]);
    if all {
        command.arg("--all");
    }
    command
        .arg("--src-creds")
        .arg(format!("oauth2accesstoken:{token}"))
        .arg(format!("docker://{reference}"))
        .arg(format!("oci:{}:copied", dir.display()))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The manifests an OCI layout's `index.json` names, as (media type, digest).
fn layout_manifests(dir: &Path) -> Vec<(String, String)> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mediaType"].as_str().unwrap().to_owned(),
                m["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn blob(dir: &Path, digest: &str) -> serde_json::Value {
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_public_and_private_images_through_gar_remotes() {
    let Some(bin) = skopeo() else {
        return;
    };
    let google = Google::start().await;
    google.public_remote("chainguard-pull-through").await;
    let host = {
        let url = google.sandbox.url(gar::DOCKER_REGISTRY).unwrap();
        format!("127.0.0.1:{}", url.port().unwrap())
    };
    let token = google.token();
    let scratch = tempfile::tempdir().unwrap();

    // Every platform of the public image.
    let public = scratch.path().join("public");
    let reference = format!("{host}/{PROJECT}/chainguard-pull-through/chainguard/go:latest");
    let (bin2, token2, reference2, public2) = (
        bin.clone(),
        token.clone(),
        reference.clone(),
        public.clone(),
    );
    let output =
        tokio::task::spawn_blocking(move || copy(&bin2, &reference2, &token2, true, &public2))
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "skopeo copy failed:\n{}",
        text(&output.stderr)
    );
    let manifests = layout_manifests(&public);
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0].0, "application/vnd.oci.image.index.v1+json");
    let index = blob(&public, &manifests[0].1);
    let platforms: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"]);
    let repository = Google::repository_path("chainguard-pull-through");
    assert_eq!(google.gar.packages(&repository), ["chainguard/go"]);

    // The private image, through a remote whose credentials the service agent may read.
    let version = google.pull_secret("cgr-pull", false).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    body["remoteRepositoryConfig"]["disableUpstreamValidation"] = true.into();
    google.create_done("chainguard-private", body).await;
    let reference = format!("{host}/{PROJECT}/chainguard-private/{ORG}/chainguard-base:latest");
    let denied_dir = scratch.path().join("denied");
    let (bin2, token2, reference2, dir2) = (
        bin.clone(),
        token.clone(),
        reference.clone(),
        denied_dir.clone(),
    );
    let denied =
        tokio::task::spawn_blocking(move || copy(&bin2, &reference2, &token2, false, &dir2))
            .await
            .unwrap();
    assert!(!denied.status.success(), "skopeo pulled without the grant");
    let stderr = text(&denied.stderr);
    assert!(
        stderr.contains(&format!("projects/{NUMBER}/secrets/cgr-pull/versions/1")),
        "skopeo should show the secret version: {stderr}"
    );

    google.grant("cgr-pull").await;
    let private = scratch.path().join("private");
    let private2 = private.clone();
    let output =
        tokio::task::spawn_blocking(move || copy(&bin, &reference, &token, false, &private2))
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "skopeo copy failed:\n{}",
        text(&output.stderr)
    );
    let manifests = layout_manifests(&private);
    assert_eq!(manifests[0].0, "application/vnd.oci.image.manifest.v1+json");
    let manifest = blob(&private, &manifests[0].1);
    let config = blob(&private, manifest["config"]["digest"].as_str().unwrap());
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(
        config["config"]["Labels"]["image"],
        format!("{ORG}/chainguard-base")
    );
    assert!(!pull_through_sandbox::journal_contains(
        &google.sandbox.journal(),
        &google.token()
    ));
}
