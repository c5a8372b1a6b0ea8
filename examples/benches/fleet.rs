//! The fleet figures of issue 15, as ratios measured in one run against
//! `pull-through sandbox serve --latency-ms 20`:
//!
//! 1. the first `apply` of a generated fleet against its lower bound, the larger of the
//!    network's floor (requests x latency / concurrency) and the processor's (the pull
//!    tokens' key generation, measured here, divided by the cores);
//! 2. a re-apply of the same fleet: writes, and reads per cache, per backend;
//! 3. `pyartifactory` 2.11.2 creating Docker remotes one after another, as its
//!    documentation shows, against `apply` creating as many: time and requests.
//!
//! `cargo bench -p pull-through --bench fleet`. Settings: `FLEET_COPIES` (default 15:
//! copies of the seeds' 13 caches over Artifactory, Google Artifact Registry and
//! Cloudsmith, so 195 caches and 60 pull tokens), `FLEET_BACKENDS=artifactory` for the
//! seeds' seven Artifactory caches only, `FLEET_LATENCY_MS` (20), `FLEET_CONCURRENCY` (16),
//! `FLEET_REMOTES` (100, the pyartifactory comparison), and `PULL_THROUGH_PYTHON`, a Python
//! with pyartifactory 2.11.2 (without it the comparison is skipped, with a message).

#[path = "support/fleet_config.rs"]
mod fleet_config;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Request, run, serve};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the config");
    path
}

/// The admin APIs' requests (not the registries': apply pulls nothing), by backend.
fn by_backend(requests: &[Request]) -> BTreeMap<&'static str, (usize, usize)> {
    let mut counts: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for request in requests {
        let backend = match request.service.as_str() {
            "artifactory" => "artifactory",
            "artifactregistry" | "secretmanager" | "cloudresourcemanager" => "gar",
            "cloudsmith" => "cloudsmith",
            "chainguard-api" | "chainguard-sts" | "chainguard" => "chainguard",
            _ => continue,
        };
        let entry = counts.entry(backend).or_default();
        if request.is_read() {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    counts
}

/// The processor time one RSA-4096 key pair (the key pull tokens are signed with) costs
/// when every core makes them, as a fleet's apply does: `keys` made on `cores` threads,
/// the elapsed time divided by `keys`. Measured here, on this machine's current load, so
/// the floor it gives is the one the apply below meets.
fn key_generation(keys: usize, cores: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for core in 0..cores {
            scope.spawn(move || {
                for _ in (core..keys).step_by(cores) {
                    aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa4096)
                        .expect("an RSA key");
                }
            });
        }
    });
    started.elapsed() / keys as u32
}

const PYARTIFACTORY: &str = r#"
import os, sys, time
from pyartifactory import Artifactory
from pyartifactory.models import RemoteRepository
from pyartifactory.models.repository import PackageTypeEnum

art = Artifactory(
    url=os.environ["ARTIFACTORY_URL"].rstrip("/") + "/artifactory",
    access_token=os.environ["ARTIFACTORY_ACCESS_TOKEN"],
)
started = time.monotonic()
for i in range(int(sys.argv[1])):
    art.repositories.create_repo(RemoteRepository(
        key=f"py-remote-{i:03}", url="https://cgr.dev/", packageType=PackageTypeEnum.docker))
print(time.monotonic() - started)
"#;

fn main() {
    let copies: usize = setting("FLEET_COPIES", 15);
    let latency: u64 = setting("FLEET_LATENCY_MS", 20);
    let concurrency: u16 = setting("FLEET_CONCURRENCY", 16);
    let remotes: usize = setting("FLEET_REMOTES", 100);
    let artifactory_only = std::env::var("FLEET_BACKENDS").is_ok_and(|v| v == "artifactory");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let dir = tempfile::tempdir().expect("a scratch folder");
    let served = serve(dir.path(), latency, &[]);

    let keys = 8 * cores;
    let key = key_generation(keys, cores);
    println!(
        "machine: {cores} cores; RSA-4096 keys made on every core: {} ms of elapsed time per key \
         ({keys} keys)",
        key.as_millis()
    );

    // 1. First apply of the fleet.
    let text = fleet_config::fleet(copies, artifactory_only);
    let caches = text.matches("[[caches]]").count();
    let tokens = text.matches("pull_token =").count();
    let config = write_config(dir.path(), "fleet.toml", &text);
    println!(
        "fleet: {caches} caches, {tokens} pull tokens; latency {latency} ms, concurrency {concurrency}"
    );
    served.reset();
    let (first, _) = run(&served, &config, concurrency, &["apply"]);
    let journal = served.journal();
    let network = Duration::from_millis(latency) * journal.len() as u32 / u32::from(concurrency);
    let processor = key * tokens as u32;
    let bound = network.max(processor);
    println!(
        "first apply: {:.2} s, {} requests; network floor {:.2} s, processor floor {:.2} s; \
         {:.2}x the lower bound (goal 1.5x)",
        first.as_secs_f64(),
        journal.len(),
        network.as_secs_f64(),
        processor.as_secs_f64(),
        first.as_secs_f64() / bound.as_secs_f64()
    );
    for (backend, (reads, writes)) in by_backend(&journal) {
        println!("  {backend:<11} {reads:>5} reads {writes:>5} writes");
    }

    // 2. Re-apply: nothing to write, one listing per backend.
    let before = journal.last().map_or(0, |r| r.seq);
    let (again, _) = run(&served, &config, concurrency, &["apply"]);
    let journal: Vec<Request> = served
        .journal()
        .into_iter()
        .filter(|r| r.seq > before)
        .collect();
    let reads = journal.iter().filter(|r| r.is_read()).count();
    let writes = journal.len() - reads;
    println!(
        "re-apply: {:.2} s, {writes} writes, {reads} reads = {:.2} per cache (goal 0 and 1.1)",
        again.as_secs_f64(),
        reads as f64 / caches as f64
    );
    for (backend, (reads, writes)) in by_backend(&journal) {
        println!("  {backend:<11} {reads:>5} reads {writes:>5} writes");
    }

    // 3. pyartifactory's documented loop against apply, on the same fake and latency.
    let text = fleet_config::remotes(remotes);
    let config = write_config(dir.path(), "remotes.toml", &text);
    served.reset();
    let (ours, _) = run(&served, &config, concurrency, &["apply"]);
    let our_requests = served.journal().len();
    let (ours_default, _) = {
        served.reset();
        run(&served, &config, 4, &["apply"])
    };
    match std::env::var_os("PULL_THROUGH_PYTHON") {
        None => println!(
            "pyartifactory: skipped (set PULL_THROUGH_PYTHON to a Python with pyartifactory 2.11.2); \
             apply of {remotes} remotes: {:.2} s, {our_requests} requests",
            ours.as_secs_f64()
        ),
        Some(python) => {
            served.reset();
            let output = Command::new(python)
                .args(["-c", PYARTIFACTORY, &remotes.to_string()])
                .envs(&served.env)
                .output()
                .expect("run python");
            assert!(
                output.status.success(),
                "pyartifactory failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let theirs: f64 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .expect("the loop's seconds");
            let their_requests = served.journal().len();
            println!(
                "{remotes} Docker remotes: pyartifactory {theirs:.2} s, {their_requests} requests; \
                 apply {:.2} s ({:.1}x faster; at concurrency 4 {:.1}x), {our_requests} requests \
                 ({:.2} of theirs) (goal 20x and 0.33)",
                ours.as_secs_f64(),
                theirs / ours.as_secs_f64(),
                theirs / ours_default.as_secs_f64(),
                our_requests as f64 / their_requests as f64
            );
        }
    }
}
