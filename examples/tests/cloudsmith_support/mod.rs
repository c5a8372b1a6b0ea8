//! Helpers for the program's Cloudsmith tests: the sandbox started in the test's own
//! process (so the tests can read what the Cloudsmith fake stores, which its API never
//! answers: the upstreams' secrets), the program run against it with the sandbox's
//! variables, and seed 004 cut out of the shipped `seeds.toml` in either layout.

#![allow(dead_code, reason = "each test file uses some of the helpers")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::cloudsmith::Cloudsmith;
use serde_json::Value;

pub(crate) use pull_through_sandbox::cloudsmith::{OWNER, USER};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

/// The Cloudsmith fake with the Chainguard fakes, running on a runtime of their own while
/// the test thread runs the program.
pub(crate) struct World {
    pub(crate) cloudsmith: Cloudsmith,
    pub(crate) sandbox: Sandbox,
    pub(crate) env: HashMap<String, String>,
    pub(crate) dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl World {
    pub(crate) fn start() -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cloudsmith = Cloudsmith::new();
        let sandbox = runtime
            .block_on(
                Sandbox::builder()
                    .chainguard(&Chainguard::new("example.com"))
                    .cloudsmith(&cloudsmith)
                    .start(),
            )
            .unwrap();
        let env = sandbox.env().into_iter().collect();
        World {
            cloudsmith,
            sandbox,
            env,
            dir: tempfile::tempdir().unwrap(),
            runtime,
        }
    }

    /// Writes `text` as the config `name` in the test's folder.
    pub(crate) fn config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The program with the sandbox's variables, as a shell that sourced its env file.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    pub(crate) fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut command = Command::new(BIN);
        command.args(args).envs(&self.env).env_remove("RUST_LOG");
        for (key, value) in extra {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    /// A flow with `config`, as JSON.
    pub(crate) fn flow(&self, config: &Path, args: &[&str]) -> Output {
        let mut all = vec!["--config", config.to_str().unwrap(), "--output", "json"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// A call to the Cloudsmith API as a person's other tooling would make it.
    pub(crate) fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.env["CLOUDSMITH_API_URL"]);
        let key = self.env["CLOUDSMITH_API_KEY"].clone();
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.runtime.block_on(async move {
            let mut request = reqwest::Client::new()
                .request(method, url)
                .header("X-Api-Key", key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            let body = answer.json().await.unwrap_or(Value::Null);
            (status, body)
        })
    }

    /// Adds a Docker upstream no cache describes to `repository`.
    pub(crate) fn add_foreign_upstream(&self, repository: &str) {
        let (status, body) = self.api(
            "POST",
            &format!("repos/{OWNER}/{repository}/upstream/docker/"),
            Some(serde_json::json!({
                "name": "docker-hub", "upstream_url": "https://index.docker.io",
                "mode": "Cache and Proxy", "priority": 9, "verify_ssl": true, "auth_mode": "None"
            })),
        );
        assert_eq!(status, 201, "{body}");
    }

    /// `host:port` of the Cloudsmith registry.
    pub(crate) fn docker_host(&self) -> String {
        self.env["CLOUDSMITH_DOCKER_URL"]
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    }
}

/// Which layout seed 004 is cut in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// As `seeds.toml` has it: one repository `chainguard` holding both upstreams, and
    /// the aggregate that is that repository.
    Shared,
    /// Each cache a repository of its own: `repository` and the aggregate left out.
    OwnRepository,
}

/// Seed 004 alone, cut out of the shipped `seeds.toml` with its comments: its
/// `[chainguard]` table, its Cloudsmith backend and the caches on it (the file's last
/// part).
pub(crate) fn seed_004(layout: Layout) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds.toml");
    let seeds = std::fs::read_to_string(path).unwrap();
    let chainguard = &seeds[seeds.find("[chainguard]\n").unwrap()..];
    let chainguard = &chainguard[..chainguard.find("\n[backends.").unwrap()];
    let cloudsmith = &seeds[seeds.find("[backends.cloudsmith]\n").unwrap()..];
    let mut config = format!("name = \"seed-004\"\n\n{chainguard}\n\n{cloudsmith}");
    if layout == Layout::OwnRepository {
        let shared = "repository = \"chainguard\"\n";
        assert!(config.contains(shared), "seed 004 in seeds.toml changed");
        config = config.replacen(shared, "", 1);
        let aggregate = config.find("[[caches]]\nname = \"chainguard\"\n").unwrap();
        config.truncate(aggregate);
    }
    let parsed: toml::Table = toml::from_str(&config).unwrap();
    let caches = parsed["caches"].as_array().unwrap();
    assert_eq!(
        caches.len(),
        if layout == Layout::Shared { 3 } else { 2 },
        "seed 004 in seeds.toml changed:\n{config}"
    );
    assert!(
        caches
            .iter()
            .all(|c| c["backend"].as_str() == Some("cloudsmith")),
        "{config}"
    );
    config
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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

pub(crate) fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// `(cache, result)` of a flow's `caches[]`.
pub(crate) fn results(document: &Value) -> Vec<(String, String)> {
    document["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cache"].as_str().unwrap().to_owned(),
                c["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(cache, result)` pairs from string slices.
pub(crate) fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(c, r)| ((*c).to_owned(), (*r).to_owned()))
        .collect()
}

/// The access lines `apply` printed for `cache`.
pub(crate) fn access_lines(applied: &Value, cache: &str) -> Vec<String> {
    applied["access"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["cache"] == cache)
        .unwrap_or_else(|| panic!("no access for {cache}: {applied}"))["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// The identity ids of the config's pull tokens, from `status`.
pub(crate) fn token_ids(status: &Value) -> Vec<String> {
    let mut ids: Vec<String> = status["pull_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["identity_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The methods and paths a `--journal` file recorded that write.
pub(crate) fn writes(journal: &Path) -> Vec<String> {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|r| !matches!(r["method"].as_str(), Some("GET" | "HEAD")))
        .map(|r| format!("{} {}", r["method"], r["url"]))
        .collect()
}

/// `KEY=value` lines of a `--secrets-out` file.
pub(crate) fn secrets(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect()
}
