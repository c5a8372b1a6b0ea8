//! What the fakes hold after a run of the seeds config (`GET /_sandbox/state`), and the
//! checks the fault and crash tests make of it: no cache holds a revoked token, and a
//! converged run left exactly what one clean run leaves (no duplicate, no leftover).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Served;

/// Every fake's state, read through the control endpoint (never faulted).
pub(crate) fn read(served: &Served) -> Value {
    let control = served.env["PULL_THROUGH_SANDBOX_URL"].clone();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::get(format!("{control}/_sandbox/state"))
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })["services"]
        .clone()
}

fn lines(state: &Value, service: &str, kind: &str) -> Vec<String> {
    state[service]["objects"][kind]
        .as_array()
        .unwrap_or_else(|| panic!("{service} reports no {kind}: {state:#}"))
        .iter()
        .map(|line| line.as_str().unwrap().to_owned())
        .collect()
}

/// How many identities, role bindings, repositories (of all three vendors), upstreams
/// and secret versions the fakes hold, for people reading a test's output.
pub(crate) fn summary(state: &Value) -> String {
    let count = |service: &str, kind: &str| state[service]["counts"][kind].as_u64().unwrap_or(0);
    format!(
        "{} identities, {} role bindings, {} repositories, {} upstreams, {} secret versions",
        count("chainguard-api", "identities"),
        count("chainguard-api", "role_bindings"),
        count("artifactory", "repositories")
            + count("artifactregistry", "repositories")
            + count("cloudsmith", "repositories"),
        count("cloudsmith", "upstreams"),
        count("secretmanager", "secret_versions"),
    )
}

/// The username each cache stores, as `(service, cache) -> username`.
fn credentials(state: &Value) -> BTreeMap<(String, String), String> {
    ["artifactory", "artifactregistry", "cloudsmith"]
        .iter()
        .flat_map(|service| {
            state[*service]["credentials"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(cache, user)| {
                    (
                        ((*service).to_owned(), cache.clone()),
                        user.as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// No cache presents a token whose identity is gone: what every run, however it ended
/// (a fault, a kill), must leave.
pub(crate) fn no_cache_holds_a_revoked_token(state: &Value) -> Result<(), String> {
    let identities: BTreeSet<String> = lines(state, "chainguard-api", "identities")
        .into_iter()
        .collect();
    let revoked: Vec<String> = credentials(state)
        .into_iter()
        .filter(|(_, user)| !identities.contains(user))
        .map(|((service, cache), user)| format!("{service} {cache} holds revoked {user}"))
        .collect();
    if revoked.is_empty() {
        Ok(())
    } else {
        Err(revoked.join("; "))
    }
}

/// Exactly what one clean apply of the seeds leaves: the seeds' repositories and upstreams
/// once each, one secret with one enabled version and no password added twice, and four
/// pull tokens (identities), each bound once to its role and each held by exactly one of
/// the four private caches, so that no token made is left unused.
pub(crate) fn converged(state: &Value) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut expect = |what: &str, got: Vec<String>, want: &[&str]| {
        if got != want {
            problems.push(format!("{what}: {got:?}, expected {want:?}"));
        }
    };
    expect(
        "Artifactory repositories",
        lines(state, "artifactory", "repositories"),
        &[
            "cg-apk-virt",
            "cg-chainguard",
            "cg-extras",
            "cg-private",
            "cgr-private",
            "cgr-public",
            "cgr-virt",
        ],
    );
    expect(
        "Artifact Registry repositories",
        lines(state, "artifactregistry", "repositories"),
        &[
            "chainguard-private",
            "chainguard-pull-through",
            "chainguard-virt",
        ],
    );
    expect(
        "secrets",
        lines(state, "secretmanager", "secrets"),
        &["pull-through-chainguard-private"],
    );
    expect(
        "Cloudsmith repositories",
        lines(state, "cloudsmith", "repositories"),
        &["chainguard"],
    );
    expect(
        "Cloudsmith upstreams",
        lines(state, "cloudsmith", "upstreams"),
        &[
            "chainguard cloudsmith-private https://cgr.dev",
            "chainguard cloudsmith-public https://cgr.dev/chainguard",
        ],
    );
    let versions = lines(state, "secretmanager", "secret_versions");
    let enabled = versions.iter().filter(|v| v.contains(" ENABLED ")).count();
    let checksums: BTreeSet<&str> = versions
        .iter()
        .filter_map(|v| v.split(" crc32c=").nth(1))
        .collect();
    if enabled != 1 || checksums.len() != versions.len() {
        problems.push(format!(
            "secret versions: {versions:?}, expected one enabled and no password added twice"
        ));
    }

    let identities: BTreeSet<String> = lines(state, "chainguard-api", "identities")
        .into_iter()
        .collect();
    let held = credentials(state);
    let caches: BTreeSet<(String, String)> = held.keys().cloned().collect();
    let want_caches: BTreeSet<(String, String)> = [
        ("artifactory", "cg-private"),
        ("artifactory", "cgr-private"),
        ("artifactregistry", "chainguard-private"),
        ("cloudsmith", "cloudsmith-private"),
    ]
    .iter()
    .map(|(s, c)| ((*s).to_owned(), (*c).to_owned()))
    .collect();
    if caches != want_caches {
        problems.push(format!("caches with credentials: {caches:?}"));
    }
    let users: BTreeSet<String> = held.values().cloned().collect();
    if users.len() != held.len() || users != identities {
        problems.push(format!(
            "identities {identities:?}, but the caches hold {held:?}: every pull token made \
             must be held by exactly one cache"
        ));
    }
    let mut bindings = lines(state, "chainguard-api", "role_bindings");
    let mut want_bindings: Vec<String> = held
        .iter()
        .map(|((_, cache), user)| {
            let role = if cache == "cg-private" {
                "apk.pull"
            } else {
                "registry.pull"
            };
            format!("{user} {role}")
        })
        .collect();
    bindings.sort();
    want_bindings.sort();
    if bindings != want_bindings {
        problems.push(format!(
            "role bindings: {bindings:?}, expected one per token: {want_bindings:?}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
