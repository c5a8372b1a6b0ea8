//! Faults that really happen, on all three backends at once (the seeds config: Artifactory,
//! Google Artifact Registry and Cloudsmith, with the Chainguard pull tokens they use):
//! under 10%, 20% and 30% of requests faulted, lost answers among them (the request
//! performed, its answer lost), repeated `apply` converges with no duplicate and no token
//! left unused, no run leaves a cache holding a revoked token or a pull token made twice,
//! and a clean `verify` then pulls through every cache (the fake cgr.dev refuses revoked
//! identities); under a rate limit per token, one `apply` does.
//!
//! The runs each rate took are printed (`cargo test -p pull-through --test faults_converge
//! -- --nocapture`); the README's "Faults" section records them.

mod common;

use std::time::Instant;

use common::flow::{expect_code, flow, json, results};
use common::{Served, serve_for, state, text};

/// More runs than this is a failure to converge.
const MAX_RUNS: usize = 8;

/// The seeds each rate is tried with. A seed gives each kind of request (service,
/// method, path) the same faults on every run, but `apply` sends some requests of one
/// kind at once (pull tokens made together), and those take their kind's faults in the
/// order they arrive: the runs a seed takes can differ from one test run to the next.
const SEEDS: [u64; 3] = [1, 2, 3];

/// How long each sandbox serves: nine sandboxes and their applies share the machine,
/// and on a busy one they take minutes; the default would stop a sandbox mid-test.
const STOP_AFTER_SECS: u64 = 600;

/// Control endpoint calls of the test itself (never faulted).
fn control(served: &Served, method: reqwest::Method, path: &str) -> String {
    let url = format!("{}/_sandbox/{path}", served.env["PULL_THROUGH_SANDBOX_URL"]);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let answer = reqwest::Client::new()
                .request(method, url)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{answer:?}");
            answer.text().await.unwrap()
        })
}

/// `verify` with random faults off: every cache pulls with the credentials it holds, so
/// a cache holding a revoked token, or a secret version whose payload is one, fails.
fn verify_cleanly(served: &Served, context: &dyn Fn() -> String) {
    control(served, reqwest::Method::DELETE, "faults/random");
    let verified = flow(served, &["verify"], &[]);
    assert!(
        verified.status.success(),
        "verify after the converged apply failed:\nstdout:\n{}\nstderr:\n{}\n{}",
        text(&verified.stdout),
        text(&verified.stderr),
        context()
    );
}

/// Writes the sandbox performed and whose answer it then lost, from its journal.
fn lost_writes(served: &Served) -> usize {
    control(served, reqwest::Method::GET, "journal")
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
/// checks every run's leftovers, the converged state, and a clean `verify` of it. Answers
/// the runs it took and the writes whose answers were lost.
fn converge(rate: &str, seed: u64) -> (usize, usize) {
    let started = Instant::now();
    let served = serve_for(
        STOP_AFTER_SECS,
        &["--fault-rate", rate, "--seed", &seed.to_string()],
    );
    for run in 1..=MAX_RUNS {
        // One apply at a time, each finished before the next starts (a kill is the crash
        // test's business).
        let output = flow(&served, &["apply"], &[]);
        let after = state::read(&served);
        let context = || {
            format!(
                "rate {rate}, seed {seed}, run {run}, {:.1} s after the sandbox started (it \
                 stops at {STOP_AFTER_SECS} s)\nstdout:\n{}\nstderr:\n{}",
                started.elapsed().as_secs_f64(),
                text(&output.stdout),
                text(&output.stderr)
            )
        };
        if let Err(problem) = state::after_every_run(&after) {
            panic!("{problem}\n{}", context());
        }
        if output.status.success() {
            if let Err(problem) = state::converged(&after) {
                panic!("apply succeeded but left:\n{problem}\n{}", context());
            }
            let lost = lost_writes(&served);
            verify_cleanly(&served, &context);
            return (run, lost);
        }
        assert_eq!(output.status.code(), Some(1), "{}", context());
    }
    panic!(
        "rate {rate}, seed {seed}: no apply succeeded in {MAX_RUNS} runs ({:.1} s after the \
         sandbox started; it stops at {STOP_AFTER_SECS} s)",
        started.elapsed().as_secs_f64()
    );
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
    let served = serve_for(STOP_AFTER_SECS, &["--rate-limit", "2"]);
    let applied = flow(&served, &["apply"], &[]);
    expect_code(&applied, 0);
    let document = json(&applied);
    assert!(
        results(&document)
            .iter()
            .all(|(_, result)| result == "created"),
        "{document:#}"
    );
    let after = state::read(&served);
    state::after_every_run(&after).unwrap();
    state::converged(&after).unwrap();
    let journal = control(&served, reqwest::Method::GET, "journal");
    let throttled = |how: &str| {
        journal
            .lines()
            .filter(|line| line.contains(&format!("\"fault\":\"rate limit: 429 {how}")))
            .count()
    };
    // Only Cloudsmith's API documents Retry-After: the other fakes' 429s leave the wait
    // to the client's backoff, and the run got through both.
    let (told, untold) = (
        throttled("with Retry-After"),
        throttled("without Retry-After"),
    );
    assert!(
        untold > 0,
        "the run went past 2 requests a second on some token of a vendor that sends no \
         Retry-After ({told} with one)"
    );
    // The caches pull, rate-limited too, with the credentials the run wrote.
    let verified = flow(&served, &["verify"], &[]);
    expect_code(&verified, 0);
    // The second run reads what the first wrote and writes nothing, throttled or not.
    let again = flow(&served, &["apply"], &[]);
    expect_code(&again, 0);
    assert!(
        results(&json(&again))
            .iter()
            .all(|(_, result)| result == "unchanged")
    );
}
