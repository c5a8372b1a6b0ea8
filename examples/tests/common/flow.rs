//! Helpers for the tests of the flows (`plan`, `apply`, ...) with the shipped seeds config.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::{Served, text};

pub(crate) const SEED_CACHES: [&str; 13] = [
    "cgr-public",
    "cgr-private",
    "cgr-virt",
    "cg-private",
    "cg-chainguard",
    "cg-extras",
    "cg-apk-virt",
    "chainguard-pull-through",
    "chainguard-private",
    "chainguard-virt",
    "cloudsmith-public",
    "cloudsmith-private",
    "chainguard",
];

/// The seeds' caches with a pull token, in the config's order.
pub(crate) const PRIVATE_CACHES: [&str; 4] = [
    "cgr-private",
    "cg-private",
    "chainguard-private",
    "cloudsmith-private",
];

pub(crate) fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds.toml")
}

/// The seeds without seed 002 (the `[backends.gar]` table and its caches): Artifactory
/// and Cloudsmith.
pub(crate) fn seeds_without_gar() -> String {
    let seeds = std::fs::read_to_string(seeds()).unwrap();
    let table = "# Seed 002: Google Artifact Registry (with Secret Manager";
    let caches_comment = "# Caches. Each has a name";
    let caches = "# Seed 002: Chainguard's public images through";
    let (start, middle, end) = (
        seeds
            .find(table)
            .expect("the seeds have a [backends.gar] table"),
        seeds
            .find(caches_comment)
            .expect("the seeds explain caches"),
        seeds
            .find(caches)
            .expect("the seeds have seed 002's caches"),
    );
    // Seed 004's Cloudsmith table and caches follow seed 002's: they stay.
    let cloudsmith = seeds
        .find("# Seed 004: Cloudsmith")
        .expect("the seeds have seed 004");
    assert!(start < middle && middle < end && end < cloudsmith);
    let without = format!(
        "{}{}{}",
        &seeds[..start],
        &seeds[middle..end],
        &seeds[cloudsmith..]
    );
    assert!(!without.contains("backend = \"gar\""));
    without
}

/// Seed 002 alone: the seeds without the `[backends.artifactory]` table and its caches.
pub(crate) fn seed_002_only() -> String {
    let seeds = std::fs::read_to_string(seeds()).unwrap();
    let marker = |text: &str| {
        seeds
            .find(text)
            .unwrap_or_else(|| panic!("the seeds lack {text:?}"))
    };
    let (table, gar_table) = (
        marker("[backends.artifactory]"),
        marker("# Seed 002: Google Artifact Registry (with Secret Manager"),
    );
    let (caches, gar_caches) = (
        marker("# Seed 001: Chainguard's public images."),
        marker("# Seed 002: Chainguard's public images through"),
    );
    assert!(table < gar_table && gar_table < caches && caches < gar_caches);
    // Seed 004's Cloudsmith table and caches follow seed 002's.
    let cloudsmith = marker("# Seed 004: Cloudsmith");
    assert!(gar_caches < cloudsmith);
    let gar = format!(
        "{}{}{}",
        &seeds[..table],
        &seeds[gar_table..caches],
        &seeds[gar_caches..cloudsmith]
    );
    assert!(!gar.contains("backend = \"artifactory\""));
    assert!(!gar.contains("backend = \"cloudsmith\""));
    gar
}

/// Runs the program with the seeds config against `served`.
pub(crate) fn flow(served: &Served, args: &[&str], extra: &[&str]) -> Output {
    let config = seeds();
    let mut all = vec!["--config", config.to_str().unwrap(), "--output", "json"];
    all.extend_from_slice(args);
    all.extend_from_slice(extra);
    super::run(served, &all, &[])
}

pub(crate) fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// `caches[].field` by cache name.
pub(crate) fn by_cache<'a>(document: &'a Value, field: &str) -> Vec<(String, &'a Value)> {
    document["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["cache"].as_str().unwrap().to_owned(), &c[field]))
        .collect()
}

pub(crate) fn results(document: &Value) -> Vec<(String, String)> {
    by_cache(document, "result")
        .into_iter()
        .map(|(cache, result)| (cache, result.as_str().unwrap().to_owned()))
        .collect()
}

pub(crate) fn all(result: &str) -> Vec<(String, String)> {
    SEED_CACHES
        .iter()
        .map(|c| ((*c).to_owned(), result.to_owned()))
        .collect()
}

pub(crate) fn expect_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The methods of a `--journal` file.
pub(crate) fn journal_methods(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            format!(
                "{} {}",
                record["method"].as_str().unwrap(),
                record["url"].as_str().unwrap()
            )
        })
        .collect()
}

pub(crate) fn writes(path: &Path) -> Vec<String> {
    journal_methods(path)
        .into_iter()
        .filter(|line| !line.starts_with("GET ") && !line.starts_with("HEAD "))
        .collect()
}

/// Every string in the `field` arrays of `caches[]`.
pub(crate) fn strings_of(document: &Value, field: &str) -> BTreeSet<String> {
    by_cache(document, field)
        .into_iter()
        .flat_map(|(_, list)| {
            list.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

pub(crate) fn token_ids(status: &Value) -> BTreeSet<String> {
    status["pull_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["identity_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs the program with `config` (a variant of the seeds) against `served`.
pub(crate) fn flow_with(served: &Served, config: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--config", config.to_str().unwrap(), "--output", "json"];
    all.extend_from_slice(args);
    super::run(served, &all, &[])
}

pub(crate) fn add_fault(served: &Served, rule: Value) {
    let control = served.env["PULL_THROUGH_SANDBOX_URL"].clone();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let client = reqwest::Client::new();
            let url = format!("{control}/_sandbox/faults");
            let answer = if rule.is_null() {
                client.delete(&url).send().await.unwrap()
            } else {
                client.post(&url).json(&rule).send().await.unwrap()
            };
            assert!(answer.status().is_success(), "{}", answer.status());
        });
}

/// Changes a repository's settings behind the program's back, as a person in the UI would.
pub(crate) fn drift(served: &Served, key: &str, settings: Value) {
    let base = served.env["ARTIFACTORY_URL"]
        .trim_end_matches('/')
        .to_owned();
    let token = served.env["ARTIFACTORY_ACCESS_TOKEN"].clone();
    let key = key.to_owned();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let answer = reqwest::Client::new()
                .post(format!("{base}/artifactory/api/repositories/{key}"))
                .bearer_auth(token)
                .json(&settings)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
        });
}
