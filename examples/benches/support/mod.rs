//! What the benches share: `pull-through sandbox serve` in a child process, the program run
//! against it, and the sandbox's journal read back to count requests.

#![allow(dead_code)] // each bench uses its own part

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

/// The sandbox, stopped when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) env: HashMap<String, String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sandbox serve` with `extra` arguments and waits for its env file.
pub(crate) fn serve(dir: &Path, latency_ms: u64, extra: &[&str]) -> Served {
    let env_file = dir.join(format!("sandbox-{latency_ms}.env"));
    let _ = std::fs::remove_file(&env_file);
    let child = Command::new(BIN)
        .args(["sandbox", "serve", "--stop-after", "3600", "--latency-ms"])
        .arg(latency_ms.to_string())
        .args(extra)
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
            if text.contains("ARTIFACTORY_USER=") && text.contains("CLOUDSMITH_API_URL=") {
                served.env = text
                    .lines()
                    .filter_map(|line| line.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
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

impl Served {
    fn control(&self, method: &str, path: &str) -> String {
        let base = &self.env["PULL_THROUGH_SANDBOX_URL"];
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let request = match method {
                "POST" => client.post(&url),
                _ => client.get(&url),
            };
            let response = request.send().await.expect("the sandbox answers");
            assert!(response.status().is_success(), "{method} {path}");
            response.text().await.expect("a text answer")
        })
    }

    /// Empties every fake and the journal.
    pub(crate) fn reset(&self) {
        self.control("POST", "/_sandbox/reset");
    }

    /// Every request the fakes saw since the last reset.
    pub(crate) fn journal(&self) -> Vec<Request> {
        self.control("GET", "/_sandbox/journal")
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).expect("a journal line");
                Request {
                    seq: entry["seq"].as_u64().unwrap_or(0),
                    service: entry["service"].as_str().unwrap_or("").to_owned(),
                    method: entry["method"].as_str().unwrap_or("").to_owned(),
                    path: entry["path"].as_str().unwrap_or("").to_owned(),
                }
            })
            .collect()
    }
}

/// One journal entry, as far as the benches count.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) seq: u64,
    pub(crate) service: String,
    pub(crate) method: String,
    pub(crate) path: String,
}

impl Request {
    pub(crate) fn is_read(&self) -> bool {
        self.method == "GET" || self.method == "HEAD"
    }
}

/// Runs the program with `args` against the sandbox; panics with its stderr on failure.
pub(crate) fn run(
    served: &Served,
    config: &Path,
    concurrency: u16,
    args: &[&str],
) -> (Duration, Output) {
    let started = Instant::now();
    let output = Command::new(BIN)
        .arg("--config")
        .arg(config)
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
    (elapsed, output)
}

pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}
