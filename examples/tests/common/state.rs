//! What the fakes hold after a run of the seeds config (`GET /_sandbox/state`), and the
//! checks the fault and crash tests make of it: after every run, however it ended, no
//! cache holds a revoked token or pins a secret version that cannot be read, and no pull
//! token was made twice; a converged run left exactly what one clean run leaves (no
//! duplicate, no leftover).

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

/// The secret version each Artifact Registry cache pins (`<secret>/<number>`, or the
/// pin as written when the fake holds no such version).
fn pinned_versions(state: &Value) -> BTreeMap<String, String> {
    state["artifactregistry"]["pinned_versions"]
        .as_object()
        .unwrap_or_else(|| panic!("artifactregistry reports no pinned versions: {state:#}"))
        .iter()
        .map(|(cache, pin)| (cache.clone(), pin.as_str().unwrap().to_owned()))
        .collect()
}

/// Secret Manager's versions as `<secret>/<number>` to their state (`ENABLED`, ...).
fn version_states(state: &Value) -> BTreeMap<String, String> {
    lines(state, "secretmanager", "secret_versions")
        .iter()
        .filter_map(|line| {
            let mut words = line.split(' ');
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect()
}

/// No cache presents a token whose identity is gone, and no Artifact Registry cache pins
/// a secret version that is missing or not enabled (its password could not be read): what
/// every run, however it ended (a fault, a kill), must leave.
pub(crate) fn no_cache_holds_a_revoked_token(state: &Value) -> Result<(), String> {
    let identities: BTreeSet<String> = lines(state, "chainguard-api", "identities")
        .into_iter()
        .collect();
    let mut revoked: Vec<String> = credentials(state)
        .into_iter()
        .filter(|(_, user)| !identities.contains(user))
        .map(|((service, cache), user)| format!("{service} {cache} holds revoked {user}"))
        .collect();
    let versions = version_states(state);
    for (cache, pin) in pinned_versions(state) {
        match versions.get(&pin).map(String::as_str) {
            Some("ENABLED") => {}
            Some(other) => revoked.push(format!(
                "artifactregistry {cache} pins {pin}, which is {other}"
            )),
            None => revoked.push(format!(
                "artifactregistry {cache} pins {pin}, which Secret Manager does not hold"
            )),
        }
    }
    if revoked.is_empty() {
        Ok(())
    } else {
        Err(revoked.join("; "))
    }
}

/// Each identity's subject, as `identity -> subject`.
fn subjects(state: &Value) -> BTreeMap<String, String> {
    state["chainguard-api"]["subjects"]
        .as_object()
        .unwrap_or_else(|| panic!("chainguard-api reports no subjects: {state:#}"))
        .iter()
        .map(|(id, subject)| (id.clone(), subject.as_str().unwrap().to_owned()))
        .collect()
}

/// No two identities share a subject: a pull token made twice from one request (a create
/// resent after its answer was lost) shows so, even when the run that made it would clean
/// it up as unused before a converged run is counted. What every run must leave.
pub(crate) fn no_identity_made_twice(state: &Value) -> Result<(), String> {
    let mut by_subject: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, subject) in subjects(state) {
        by_subject.entry(subject).or_default().push(id);
    }
    let twice: Vec<String> = by_subject
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(subject, ids)| format!("identities {ids:?} share subject {subject}"))
        .collect();
    if twice.is_empty() {
        Ok(())
    } else {
        Err(twice.join("; "))
    }
}

/// What every run, however it ended, must leave: [`no_cache_holds_a_revoked_token`] and
/// [`no_identity_made_twice`].
pub(crate) fn after_every_run(state: &Value) -> Result<(), String> {
    let problems: Vec<String> = [
        no_cache_holds_a_revoked_token(state),
        no_identity_made_twice(state),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Exactly what one clean apply of the seeds leaves: the seeds' repositories and upstreams
/// once each, one secret with one enabled version, pinned by the Artifact Registry cache,
/// and no password added twice, and four pull tokens (identities) with four subjects,
/// each bound once to its role and each held by exactly one of the four private caches,
/// so that no token made is left unused.
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
    let enabled_versions: Vec<String> = version_states(state)
        .into_iter()
        .filter(|(_, state)| state == "ENABLED")
        .map(|(version, _)| version)
        .collect();
    let pins = pinned_versions(state);
    let want_pins: BTreeMap<String, String> = enabled_versions
        .iter()
        .map(|version| ("chainguard-private".to_owned(), version.clone()))
        .collect();
    if enabled_versions.len() != 1 || pins != want_pins {
        problems.push(format!(
            "pinned secret versions: {pins:?}, expected the secret's single enabled version \
             (of {versions:?})"
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
    if let Err(problem) = no_identity_made_twice(state) {
        problems.push(problem);
    }
    let subjects = subjects(state);
    if subjects.keys().cloned().collect::<BTreeSet<String>>() != identities {
        problems.push(format!(
            "identity subjects {subjects:?} do not match identities {identities:?}"
        ));
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
