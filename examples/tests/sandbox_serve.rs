//! The `pull-through` program's skeleton: help, version, usage errors, `sandbox serve`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

#[test]
fn help_and_version() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for expected in ["sandbox", "--output", "--journal"] {
        assert!(text.contains(expected), "--help lacks {expected}: {text}");
    }
    let version = run(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("pull-through {}", env!("CARGO_PKG_VERSION"))
    );
    let serve_help =
        String::from_utf8_lossy(&run(&["sandbox", "serve", "--help"]).stdout).into_owned();
    for flag in [
        "--env-file",
        "--latency-ms",
        "--fault-rate",
        "--fault-mix",
        "lost-answers",
        "--rate-limit",
        "--seed",
        "--stop-after",
    ] {
        assert!(serve_help.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn bad_usage_exits_2_with_a_message() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["sandbox", "serve", "--fault-rate", "1.5"],
            "outside 0 to 1",
        ),
        (
            &["sandbox", "serve", "--rate-limit", "0"],
            "not a positive number of requests per second",
        ),
        (
            &["sandbox", "serve", "--rate-limit", "fast"],
            "give requests per second",
        ),
        (
            &["sandbox", "serve", "--fault-mix", "sometimes"],
            "possible values: all, unprocessed, lost-answers",
        ),
        (
            &["sandbox", "serve", "--latency-ms", "soon"],
            "--latency-ms",
        ),
        (&["--output", "yaml", "sandbox", "serve"], "yaml"),
        (&["launch"], "launch"),
        (
            &[
                "sandbox",
                "serve",
                "--env-file",
                "/nonexistent-folder/x.env",
            ],
            "does not exist",
        ),
    ];
    for (args, expected) in cases {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_writes_a_private_env_file_and_journals_requests() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("sandbox.env");
    let journal = dir.path().join("journal.jsonl");
    let child = Command::new(BIN)
        .args(["--output", "json", "--journal"])
        .arg(&journal)
        .args([
            "sandbox",
            "serve",
            "--stop-after",
            "4",
            "--seed",
            "5",
            "--rate-limit",
            "2.5",
            "--env-file",
        ])
        .arg(&env_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let env = wait_for(&env_file);
    let control = env
        .lines()
        .find_map(|line| line.strip_prefix("PULL_THROUGH_SANDBOX_URL="))
        .expect("the env file names the control URL")
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let services: serde_json::Value = reqwest::get(format!("{control}/_sandbox/services"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(services[0]["name"], "sandbox");
        let state: serde_json::Value = reqwest::get(format!("{control}/_sandbox/state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let counts = |service: &str| state["services"][service]["counts"].clone();
        assert_eq!(
            counts("chainguard-api"),
            serde_json::json!({"identities": 0, "role_bindings": 0})
        );
        assert_eq!(
            counts("artifactory"),
            serde_json::json!({"access_tokens": 0, "repositories": 0})
        );
        assert_eq!(
            counts("secretmanager"),
            serde_json::json!({"secret_versions": 0, "secrets": 0})
        );
        assert_eq!(
            counts("cloudsmith"),
            serde_json::json!({"repositories": 0, "upstreams": 0})
        );
        assert_eq!(
            counts("artifactregistry"),
            serde_json::json!({"repositories": 0})
        );
        assert_eq!(state["services"]["cgr.dev"], serde_json::Value::Null);
        let missing = reqwest::Client::new()
            .get(format!("{control}/v2/"))
            .bearer_auth("journal-secret")
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    });

    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(printed["seed"], 5);
    assert_eq!(printed["rate_limit"], 2.5);
    assert_eq!(printed["fault_mix"], "all");
    assert_eq!(printed["endpoints"][0]["url"], format!("{control}/"));
    assert_eq!(printed["env_file"], env_file.display().to_string());

    let journal = std::fs::read_to_string(&journal).unwrap();
    let entries: Vec<serde_json::Value> = journal
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "control requests are not journaled: {journal}"
    );
    assert_eq!(entries[0]["path"], "/v2/");
    assert_eq!(entries[0]["status"], 404);
    assert!(!journal.contains("journal-secret"));
}
