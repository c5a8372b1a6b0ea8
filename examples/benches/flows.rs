//! How long the main job's flows take against `pull-through sandbox serve` with a
//! per-answer latency, at concurrency 1 and 4: what the bounded concurrency buys.
//!
//! `cargo bench -p pull-through --bench flows` (set `FLOWS_LATENCY_MS`, default 25, and
//! `FLOWS_ROUNDS`, default 3). Each round starts from an empty sandbox: apply (create
//! everything), plan (no changes), verify, destroy. The median of the rounds is printed.
//! Google Artifact Registry's creates and deletes are operations the client polls after a
//! second's wait, so apply and destroy take at least two seconds (a virtual waits for its
//! members) whatever the concurrency.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

struct Served {
    child: Child,
    env: HashMap<String, String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, latency_ms: u64) -> Served {
    let env_file = dir.join(format!("sandbox-{latency_ms}.env"));
    let _ = std::fs::remove_file(&env_file);
    let child = Command::new(BIN)
        .args(["sandbox", "serve", "--stop-after", "600", "--latency-ms"])
        .arg(latency_ms.to_string())
        .arg("--env-file")
        .arg(&env_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sandbox");
    // Owned from here on, so the sandbox is stopped whatever happens next.
    let mut served = Served {
        child,
        env: HashMap::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(&env_file) {
            if text.contains("ARTIFACTORY_USER=") && text.contains("GAR_DOCKER_REGISTRY_URL=") {
                served.env = text
                    .lines()
                    .filter_map(|line| line.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                return served;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox never wrote its env file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn timed(served: &Served, concurrency: u16, args: &[&str]) -> Duration {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds.toml");
    let started = Instant::now();
    let output = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args([
            "--output",
            "json",
            "--concurrency",
            &concurrency.to_string(),
        ])
        .args(args)
        .envs(&served.env)
        .env_remove("RUST_LOG")
        .output()
        .expect("run pull-through");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
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
    let served = serve(dir.path(), latency);
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
