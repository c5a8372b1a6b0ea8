//! How long the main job's flows take against `pull-through sandbox serve` with a
//! per-answer latency, at concurrency 1 and 4: what the bounded concurrency buys.
//!
//! `cargo bench -p pull-through --bench flows` (set `FLOWS_LATENCY_MS`, default 25, and
//! `FLOWS_ROUNDS`, default 3). Each round starts from an empty sandbox: apply (create
//! everything), plan (no changes), verify, destroy. The median of the rounds is printed.
//! Google Artifact Registry's creates and deletes are operations the client polls after a
//! second's wait, so apply and destroy take at least two seconds (a virtual waits for its
//! members) whatever the concurrency.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Served, median, serve};

fn timed(served: &Served, concurrency: u16, args: &[&str]) -> Duration {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds.toml");
    support::run(served, &config, concurrency, args).0
}

fn main() {
    let latency: u64 = std::env::var("FLOWS_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let rounds: usize = std::env::var("FLOWS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("a scratch folder");
    let served = serve(dir.path(), latency, &[]);
    println!(
        "seeds config (13 caches, 4 pull tokens), sandbox latency {latency} ms per answer, median of {rounds}"
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10}",
        "concurrency", "apply", "plan", "verify", "destroy"
    );
    for concurrency in [1u16, 4] {
        let mut columns: [Vec<Duration>; 4] = Default::default();
        for _ in 0..rounds {
            columns[0].push(timed(&served, concurrency, &["apply"]));
            columns[1].push(timed(&served, concurrency, &["plan"]));
            columns[2].push(timed(&served, concurrency, &["verify"]));
            columns[3].push(timed(&served, concurrency, &["destroy", "--yes"]));
        }
        let [apply, plan, verify, destroy] = columns.map(median);
        println!(
            "{concurrency:<12} {:>8} ms {:>7} ms {:>7} ms {:>7} ms",
            apply.as_millis(),
            plan.as_millis(),
            verify.as_millis(),
            destroy.as_millis()
        );
    }
}
