//! What a fleet costs in requests: three copies of the seeds' seven Artifactory caches (21
//! caches, 6 pull tokens) applied twice through the program, counted in the sandbox's
//! journal. A first apply lists the repositories once and creates each cache without
//! reading it; a re-apply lists once, reads each cache once and writes nothing; the pull
//! tokens' built-in roles are looked up once per run.

mod common;
#[path = "../benches/support/fleet_config.rs"]
mod fleet_config;

use std::collections::BTreeMap;

use common::flow::{flow_with, json, results};
use common::gar::{journal, mark};

const COPIES: usize = 3;

/// `METHOD path` of each request to `service` after `since`, counted.
fn requests(served: &common::Served, service: &str, since: u64) -> BTreeMap<String, usize> {
    let mut counted = BTreeMap::new();
    for entry in journal(served) {
        if entry["seq"].as_u64().unwrap_or(0) <= since || entry["service"] != service {
            continue;
        }
        let mut line = format!(
            "{} {}",
            entry["method"].as_str().unwrap_or(""),
            entry["path"].as_str().unwrap_or("")
        );
        if let Some(query) = entry["query"].as_str().filter(|q| !q.is_empty()) {
            line = format!("{line}?{query}");
        }
        *counted.entry(line).or_insert(0) += 1;
    }
    counted
}

fn writes(counted: &BTreeMap<String, usize>) -> usize {
    counted
        .iter()
        .filter(|(line, _)| !line.starts_with("GET ") && !line.starts_with("HEAD "))
        .map(|(_, n)| n)
        .sum()
}

/// The run's one listing (the connect's access check lists the remotes, `?type=remote`).
const LISTING: &str = "GET /artifactory/api/repositories";

fn per_cache_reads(counted: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    counted
        .iter()
        .filter_map(|(line, n)| {
            let key = line.strip_prefix("GET /artifactory/api/repositories/")?;
            Some((key.to_owned(), *n))
        })
        .collect()
}

#[test]
fn a_fleet_is_listed_once_per_run_and_each_cache_read_at_most_once() {
    let served = common::serve();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, fleet_config::fleet(COPIES, true)).unwrap();
    let caches = 7 * COPIES;

    let start = mark(&served);
    let first = json(&flow_with(&served, &path, &["apply"]));
    let created = results(&first);
    assert_eq!(created.len(), caches, "{first}");
    assert!(created.iter().all(|(_, r)| r == "created"), "{created:?}");
    let artifactory = requests(&served, "artifactory", start);
    assert_eq!(artifactory.get(LISTING), Some(&1), "{artifactory:#?}");
    assert_eq!(
        per_cache_reads(&artifactory),
        BTreeMap::new(),
        "a first apply reads no cache the listing did not hold"
    );
    let puts: usize = artifactory
        .iter()
        .filter(|(line, _)| line.starts_with("PUT /artifactory/api/repositories/"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(puts, caches, "{artifactory:#?}");
    let chainguard = requests(&served, "chainguard-api", start);
    let lookups: Vec<(&String, &usize)> = chainguard
        .iter()
        .filter(|(line, _)| line.starts_with("GET /iam/v1/roles"))
        .collect();
    assert_eq!(
        lookups
            .iter()
            .map(|(line, n)| (line.as_str(), **n))
            .collect::<Vec<_>>(),
        [
            ("GET /iam/v1/roles?name=apk.pull", 1),
            ("GET /iam/v1/roles?name=registry.pull", 1)
        ],
        "one lookup per built-in role, not one per token: {chainguard:#?}"
    );
    let made = |prefix: &str| -> usize {
        chainguard
            .iter()
            .filter(|(line, _)| line.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        made("POST /iam/v1/identities/"),
        2 * COPIES,
        "{chainguard:#?}"
    );
    assert_eq!(
        made("POST /iam/v1/rolebindings/"),
        2 * COPIES,
        "{chainguard:#?}"
    );

    let again_from = mark(&served);
    let again = json(&flow_with(&served, &path, &["apply"]));
    assert!(
        results(&again).iter().all(|(_, r)| r == "unchanged"),
        "{again}"
    );
    let artifactory = requests(&served, "artifactory", again_from);
    assert_eq!(writes(&artifactory), 0, "{artifactory:#?}");
    assert_eq!(artifactory.get(LISTING), Some(&1), "{artifactory:#?}");
    let reads = per_cache_reads(&artifactory);
    assert_eq!(reads.len(), caches, "{reads:#?}");
    assert!(
        reads.values().all(|n| *n == 1),
        "each cache read once: {reads:#?}"
    );
    let chainguard = requests(&served, "chainguard-api", again_from);
    assert_eq!(writes(&chainguard), 0, "{chainguard:#?}");

    // Every read of the re-apply, all services: one per cache, and four per run whatever
    // its size (the organization's id and the access check when connecting, the
    // listing, the pull tokens' list), so 1.02 per cache for the bench's 195.
    let all_reads: Vec<String> = journal(&served)
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap_or(0) > again_from)
        .filter(|e| matches!(e["method"].as_str(), Some("GET" | "HEAD")))
        .map(|e| format!("{} {} {}", e["service"], e["method"], e["path"]))
        .collect();
    assert_eq!(all_reads.len(), caches + 4, "{all_reads:#?}");
}

#[test]
fn a_fleet_under_a_rate_limit_is_slowed_not_failed() {
    // Five requests a second per token at each fake, sixteen calls at once: most first
    // attempts meet a 429, none may fail for it.
    let served = common::serve_with(&["--rate-limit", "5"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, fleet_config::fleet(COPIES, true)).unwrap();

    let start = mark(&served);
    let first = json(&flow_with(&served, &path, &["apply"]));
    let created = results(&first);
    assert_eq!(created.len(), 7 * COPIES, "{first}");
    assert!(created.iter().all(|(_, r)| r == "created"), "{created:?}");
    let throttled = journal(&served)
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap_or(0) > start && e["status"] == 429)
        .count();
    assert!(
        throttled > 0,
        "the limit was never met: the test proves nothing"
    );
    eprintln!("{throttled} requests met a 429");
    let again = json(&flow_with(&served, &path, &["apply"]));
    assert!(
        results(&again).iter().all(|(_, r)| r == "unchanged"),
        "{again}"
    );
}
