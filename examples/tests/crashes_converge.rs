//! Crashes: `pull-through apply` of the seeds config (all three backends and their pull
//! tokens) killed with SIGKILL at random points, a few times in a row, then applied until
//! it succeeds. No kill may leave a cache holding a revoked token or a pull token made
//! twice, the run that succeeds leaves no duplicate and no pull token unused, and a
//! `verify` then pulls through every cache (the fake cgr.dev refuses revoked identities).
//!
//! The kill points are drawn from a seed and printed, so a failure can be replayed
//! (`cargo test -p pull-through --test crashes_converge -- --nocapture`).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::flow::seeds;
use common::{command, serve_for, state, text};

/// Kills before the applies that must converge.
const KILLS: usize = 3;

/// One sandbox per seed; the seeds pick the kill points.
const SEEDS: [u64; 3] = [101, 202, 303];

/// Runs after the kills within which an apply must succeed.
const MAX_RUNS: usize = 3;

/// How long each sandbox serves: three sandboxes and their applies share the machine,
/// and on a busy one the default would stop a sandbox mid-test.
const STOP_AFTER_SECS: u64 = 600;

/// SplitMix64: kill points repeatable from a seed, without a dependency.
struct KillPoints(u64);

impl KillPoints {
    /// A delay in `0..bound_ms` milliseconds.
    fn next_ms(&mut self, bound_ms: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound_ms
    }
}

/// One kill: after how long, whether the apply was still running, and what the fakes
/// held then.
#[derive(Debug)]
struct Kill {
    delay: u64,
    running: bool,
    held: String,
}

/// What one seed did: its kills and how many runs the convergence took.
struct Crashed {
    seed: u64,
    kills: Vec<Kill>,
    runs: usize,
}

fn crash_then_converge(seed: u64) -> Crashed {
    // Some latency, so that an apply spans seconds and the kills land inside it.
    let started = Instant::now();
    let served = serve_for(STOP_AFTER_SECS, &["--latency-ms", "10"]);
    let elapsed = || {
        format!(
            "{:.1} s after the sandbox started (it stops at {STOP_AFTER_SECS} s)",
            started.elapsed().as_secs_f64()
        )
    };
    let config = seeds();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--output",
        "json",
        "apply",
    ];
    let mut points = KillPoints(seed);
    let mut kills = Vec::new();
    for kill in 1..=KILLS {
        // A first apply takes about 4 s here (Google's operations are polled after a
        // second); a kill within 3.5 s lands while pull tokens are made or caches
        // written, and a later apply still has that work to do.
        let delay = 50 + points.next_ms(3_500);
        let mut child = command(&served, &args, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let running = child.try_wait().unwrap().is_none();
        // SIGKILL on Unix: no destructor, no cleanup, as a machine losing power.
        let _ = child.kill();
        child.wait().unwrap();
        let held = state::read(&served);
        if let Err(problem) = state::after_every_run(&held) {
            panic!(
                "seed {seed}, kill {kill} after {delay} ms, {}: {problem}",
                elapsed()
            );
        }
        kills.push(Kill {
            delay,
            running,
            held: state::summary(&held),
        });
    }
    for run in 1..=MAX_RUNS {
        let output = command(&served, &args, &[]).output().unwrap();
        let after = state::read(&served);
        let context = || {
            format!(
                "seed {seed} (kills: {kills:?}), run {run}, {}\nstdout:\n{}\nstderr:\n{}",
                elapsed(),
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
            let mut verify_args = args;
            verify_args[4] = "verify";
            let verified = command(&served, &verify_args, &[]).output().unwrap();
            assert!(
                verified.status.success(),
                "verify after the converged apply failed:\nstdout:\n{}\nstderr:\n{}\n{}",
                text(&verified.stdout),
                text(&verified.stderr),
                context()
            );
            return Crashed {
                seed,
                kills,
                runs: run,
            };
        }
    }
    panic!(
        "seed {seed} (kills: {kills:?}): no apply succeeded in {MAX_RUNS} runs, {}",
        elapsed()
    );
}

#[test]
fn apply_killed_at_random_points_converges_with_no_duplicates() {
    let crashed: Vec<Crashed> = std::thread::scope(|scope| {
        let handles: Vec<_> = SEEDS
            .iter()
            .map(|seed| scope.spawn(move || crash_then_converge(*seed)))
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
    println!("apply killed (SIGKILL) {KILLS} times, then applied until it succeeded:");
    for Crashed { seed, kills, runs } in &crashed {
        println!("  seed {seed}: converged in {runs} run(s) after");
        for kill in kills {
            let when = if kill.running {
                ""
            } else {
                " (it had finished)"
            };
            println!("    a kill at {} ms{when}: {}", kill.delay, kill.held);
        }
    }
    let mid_run = crashed
        .iter()
        .flat_map(|c| &c.kills)
        .filter(|kill| kill.running)
        .count();
    assert!(
        mid_run >= KILLS,
        "only {mid_run} kills landed while apply ran: the test must kill it mid-run"
    );
}
