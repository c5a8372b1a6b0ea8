//! Faults that really happen, on all three backends at once (the seeds config: Artifactory,
//! Google Artifact Registry and Cloudsmith, with the Chainguard pull tokens they use):
//! under 10%, 20% and 30% of requests faulted, lost answers among them (the request
//! performed, its answer lost), repeated `apply` converges with no duplicate and no token
//! left unused, and no run leaves a cache holding a revoked token; under a rate limit per
//! token, one `apply` does.
//!
//! The runs each rate took are printed (`cargo test -p pull-through --test faults_converge
//! -- --nocapture`); the README's "Faults" section records them.

mod common;

use common::flow::{expect_code, flow, json, results};
use common::{Served, serve_with, state, text};

/// More runs than this is a failure to converge.
const MAX_RUNS: usize = 8;

/// The seeds each rate is tried with: runs are deterministic by seed up to the order in
/// which concurrent requests reach the sandbox.
const SEEDS: [u64; 3] = [1, 2, 3];

/// Writes the sandbox performed and whose answer it then lost, from its journal.
fn lost_writes(served: &Served) -> usize {
    let control = served.env["PULL_THROUGH_SANDBOX_URL"].clone();
    let lines = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::get(format!("{control}/_sandbox/journal"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
    lines
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|entry| {
            entry["method"] != "GET"
                && entry["method"] != "HEAD"
                && entry["fault"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("lost answer"))
                && entry["performed_status"].is_u64()
        })
        .count()
}

/// Applies the seeds against a sandbox faulting `rate` of requests until a run succeeds;
/// checks every run's leftovers and the converged state. Answers the runs it took and the
/// writes whose answers were lost.
fn converge(rate: &str, seed: u64) -> (usize, usize) {
    let served = serve_with(&["--fault-rate", rate, "--seed", &seed.to_string()]);
    for run in 1..=MAX_RUNS {
        // One call at a time: the requests, and so the faults the seed draws for them,
        // come in the same order on every run of the test.
        let output = flow(&served, &["apply"], &[]);
        let after = state::read(&served);
        let context = || {
            format!(
                "rate {rate}, seed {seed}, run {run}\nstdout:\n{}\nstderr:\n{}",
                text(&output.stdout),
                text(&output.stderr)
            )
        };
        if let Err(problem) = state::no_cache_holds_a_revoked_token(&after) {
            panic!("{problem}\n{}", context());
        }
        if output.status.success() {
            if let Err(problem) = state::converged(&after) {
                panic!("apply succeeded but left:\n{problem}\n{}", context());
            }
            return (run, lost_writes(&served));
        }
        assert_eq!(output.status.code(), Some(1), "{}", context());
    }
    panic!("rate {rate}, seed {seed}: no apply succeeded in {MAX_RUNS} runs");
}

#[test]
fn repeated_apply_converges_under_faults_with_no_duplicates() {
    let rates = ["0.1", "0.2", "0.3"];
    let outcomes: Vec<(&str, u64, usize, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = rates
            .iter()
            .flat_map(|rate| SEEDS.iter().map(move |seed| (*rate, *seed)))
            .map(|(rate, seed)| {
                scope.spawn(move || {
                    let (runs, lost) = converge(rate, seed);
                    (rate, seed, runs, lost)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    println!("runs of apply until it converged, by fault rate and seed:");
    for rate in rates {
        let row: Vec<String> = outcomes
            .iter()
            .filter(|(r, ..)| *r == rate)
            .map(|(_, seed, runs, lost)| {
                format!("seed {seed}: {runs} run(s), {lost} write(s) whose answer was lost")
            })
            .collect();
        println!(
            "  {:>3}%: {}",
            (rate.parse::<f64>().unwrap() * 100.0).round(),
            row.join("; ")
        );
    }
    let lost: usize = outcomes.iter().map(|(.., lost)| lost).sum();
    assert!(
        lost >= SEEDS.len(),
        "the sweep lost the answers of only {lost} writes: lost answers must hit writes"
    );
}

#[test]
fn one_apply_converges_under_a_rate_limit_per_token() {
    let served = serve_with(&["--rate-limit", "2"]);
    let applied = flow(&served, &["apply"], &[]);
    expect_code(&applied, 0);
    let document = json(&applied);
    assert!(
        results(&document)
            .iter()
            .all(|(_, result)| result == "created"),
        "{document:#}"
    );
    state::converged(&state::read(&served)).unwrap();
    let control = served.env["PULL_THROUGH_SANDBOX_URL"].clone();
    let journal = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::get(format!("{control}/_sandbox/journal"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
    let throttled = journal
        .lines()
        .filter(|line| line.contains("\"fault\":\"rate limit: 429"))
        .count();
    assert!(
        throttled > 0,
        "the run went past 2 requests a second on some token and was throttled"
    );
    // The second run reads what the first wrote and writes nothing, throttled or not.
    let again = flow(&served, &["apply"], &[]);
    expect_code(&again, 0);
    assert!(
        results(&json(&again))
            .iter()
            .all(|(_, result)| result == "unchanged")
    );
}
