//! Helpers shared by the program's tests: `pull-through sandbox serve` in the background,
//! configured only by the env file it writes, as a user's shell would be.

#![allow(dead_code, reason = "each test file uses some of the helpers")]

pub(crate) mod flow;
pub(crate) mod gar;
pub(crate) mod state;

use std::collections::HashMap;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

pub(crate) struct Served {
    child: Child,
    pub(crate) env: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn serve() -> Served {
    serve_with(&[])
}

/// How long a test's sandbox serves (`--stop-after`) unless the test asks for longer:
/// a safety net should the test die without stopping it, long enough for one test.
pub(crate) const STOP_AFTER_SECS: u64 = 120;

/// `sandbox serve` with more flags (`--fault-rate`, `--seed`, `--latency-ms`, ...), for
/// [`STOP_AFTER_SECS`].
pub(crate) fn serve_with(flags: &[&str]) -> Served {
    serve_for(STOP_AFTER_SECS, flags)
}

/// `sandbox serve` with more flags, stopping after `stop_after_secs` seconds: tests that
/// run many applies at once (the fault and crash tests) need longer than
/// [`STOP_AFTER_SECS`] on a busy machine, and a sandbox that stopped mid-test would fail
/// them for the wrong reason.
pub(crate) fn serve_for(stop_after_secs: u64, flags: &[&str]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("sandbox.env");
    let child = Command::new(BIN)
        .args(["sandbox", "serve", "--stop-after"])
        .arg(stop_after_secs.to_string())
        .args(flags)
        .arg("--env-file")
        .arg(&env_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&env_file) {
            if text.contains("VIRTUALAPK_CGR_URL=")
                && text.contains("ARTIFACTORY_ACCESS_TOKEN=")
                && text.contains("GAR_DOCKER_REGISTRY_URL=")
            {
                break text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox never wrote its env file"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let env = parse_env(&text);
    Served {
        child,
        env,
        _dir: dir,
    }
}

/// Reads an env file as a shell sourcing it would: `KEY=value` lines, a value bare or in
/// single quotes (`'\''` for a quote), as `write_env_file` writes them.
pub(crate) fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), unquote(value)))
        .collect()
}

fn unquote(value: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (_, '\'') => quoted = !quoted,
            (false, '\\') => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn run(served: &Served, args: &[&str], extra: &[(&str, &str)]) -> Output {
    command(served, args, extra).output().unwrap()
}

/// The program with `args` and the sandbox's environment, not started yet.
pub(crate) fn command(served: &Served, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).envs(&served.env).env_remove("RUST_LOG");
    for (key, value) in extra {
        command.env(key, value);
    }
    command
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
