//! Fleet configs: copies of the seeds' caches under suffixed names, shared by the fleet
//! bench and the fleet request-count test.

#![allow(dead_code)] // the test uses the Artifactory part only

use std::fmt::Write as _;

/// The seeds' caches (`examples/seeds.toml`) for copy `k`, every name suffixed.
pub(crate) fn copy_of_seeds(k: usize, artifactory_only: bool) -> String {
    let s = format!("-{k:02}");
    let mut text = format!(
        r#"
[[caches]]
name = "cgr-public{s}"
backend = "artifactory"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "cgr-private{s}"
backend = "artifactory"
upstream = "cgr.dev/{{org}}"
pull_token = "registry.pull"
[[caches]]
name = "cgr-virt{s}"
backend = "artifactory"
members = ["cgr-public{s}", "cgr-private{s}"]
[[caches]]
name = "cg-private{s}"
backend = "artifactory"
upstream = "apk.cgr.dev/{{org}}"
pull_token = "apk.pull"
[[caches]]
name = "cg-chainguard{s}"
backend = "artifactory"
upstream = "virtualapk.cgr.dev/{{org_id}}/chainguard"
[[caches]]
name = "cg-extras{s}"
backend = "artifactory"
upstream = "virtualapk.cgr.dev/{{org_id}}/extra-packages"
[[caches]]
name = "cg-apk-virt{s}"
backend = "artifactory"
members = ["cg-private{s}", "cg-chainguard{s}", "cg-extras{s}"]
format = "apk"
"#
    );
    if !artifactory_only {
        let _ = write!(
            text,
            r#"
[[caches]]
name = "chainguard-pull-through{s}"
backend = "gar"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "chainguard-private{s}"
backend = "gar"
upstream = "cgr.dev/{{org}}"
pull_token = "registry.pull"
[[caches]]
name = "chainguard-virt{s}"
backend = "gar"
members = ["chainguard-pull-through{s}", "chainguard-private{s}"]

[backends.cloudsmith{s}]
type = "cloudsmith"
owner_env = "CLOUDSMITH_OWNER"
api_key_env = "CLOUDSMITH_API_KEY"
user_env = "CLOUDSMITH_USER"
repository = "chainguard{s}"
[[caches]]
name = "cloudsmith-public{s}"
backend = "cloudsmith{s}"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "cloudsmith-private{s}"
backend = "cloudsmith{s}"
upstream = "cgr.dev/{{org}}"
pull_token = "registry.pull"
[[caches]]
name = "chainguard{s}"
backend = "cloudsmith{s}"
members = ["cloudsmith-public{s}", "cloudsmith-private{s}"]
"#
        );
    }
    text
}

/// A config named `fleet` of `copies` copies of the seeds: all three backends, or the
/// seven Artifactory caches only.
pub(crate) fn fleet(copies: usize, artifactory_only: bool) -> String {
    let mut text = String::from(
        r#"name = "fleet"
[chainguard]
org = "example.com"
[backends.artifactory]
type = "artifactory"
url_env = "ARTIFACTORY_URL"
token_env = "ARTIFACTORY_ACCESS_TOKEN"
user_env = "ARTIFACTORY_USER"
docker_access = "repository-path"
"#,
    );
    if !artifactory_only {
        text.push_str(
            r#"[backends.gar]
type = "gar"
project_env = "GOOGLE_CLOUD_PROJECT"
location = "us-central1"
"#,
        );
    }
    for k in 0..copies {
        text.push_str(&copy_of_seeds(k, artifactory_only));
    }
    text
}

/// A config of `remotes` public Docker remotes on Artifactory, the pyartifactory
/// comparison's.
pub(crate) fn remotes(remotes: usize) -> String {
    let mut text = fleet(0, true);
    for i in 0..remotes {
        let _ = write!(
            text,
            "[[caches]]\nname = \"remote-{i:03}\"\nbackend = \"artifactory\"\nupstream = \"cgr.dev/chainguard\"\n"
        );
    }
    text
}
