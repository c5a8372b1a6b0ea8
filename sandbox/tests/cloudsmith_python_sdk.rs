//! Cloudsmith's own Python SDK against the fake: `cloudsmith-api` 2.0.42 from PyPI reads
//! `/user/self/` and the workspace, creates a Private repository and a Docker upstream
//! of `https://cgr.dev/chainguard` (Cache and Proxy) the way the seed does, lists them,
//! then lists and deletes the package a pull cached and deletes it all. The SDK
//! deserializes every answer into its generated models, which refuse unknown enum values
//! and check patterns and lengths: an answer the real API would not give fails it.
//!
//! Needs a Python with cloudsmith-api 2.0.42, named by `PULL_THROUGH_PYTHON`
//! (`python3 -m venv /tmp/venv && /tmp/venv/bin/pip install cloudsmith-api==2.0.42`, then
//! `PULL_THROUGH_PYTHON=/tmp/venv/bin/python`). Without it the test skips with a message;
//! `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` makes it mandatory, as CI does.

mod cloudsmith_support;

use std::path::PathBuf;
use std::process::Command;

use cloudsmith_support::world;
use pull_through_sandbox::cloudsmith::{OWNER, USER};
use serde_json::{Value, json};

const VERSION: &str = "2.0.42";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cloudsmith_sdk.py"
);

/// The Python to use, or `None` (after saying why) when the test should skip.
fn python() -> Option<PathBuf> {
    let required = std::env::var("PULL_THROUGH_REQUIRE_REAL_CLIENTS").is_ok_and(|v| v == "1");
    let problem = match std::env::var_os("PULL_THROUGH_PYTHON") {
        None => "PULL_THROUGH_PYTHON is not set".to_owned(),
        Some(path) => {
            let path = PathBuf::from(path);
            let probe = Command::new(&path)
                .args([
                    "-c",
                    "from importlib.metadata import version; print(version('cloudsmith-api'))",
                ])
                .output();
            match probe {
                Ok(output) if output.status.success() => {
                    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                    if found == VERSION {
                        return Some(path);
                    }
                    format!(
                        "{} has cloudsmith-api {found}, not {VERSION}",
                        path.display()
                    )
                }
                Ok(output) => format!(
                    "{} has no cloudsmith-api: {}",
                    path.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                Err(err) => format!("{} does not run: {err}", path.display()),
            }
        }
    };
    assert!(
        !required,
        "{problem}, and PULL_THROUGH_REQUIRE_REAL_CLIENTS=1 makes this test mandatory"
    );
    eprintln!(
        "skipping: {problem} (python3 -m venv /tmp/venv && /tmp/venv/bin/pip install \
         cloudsmith-api=={VERSION}; PULL_THROUGH_PYTHON=/tmp/venv/bin/python)"
    );
    None
}

/// Runs one step of the script against the sandbox's env, off the runtime's threads (the
/// fakes answer on them meanwhile).
async fn run(python: &PathBuf, env: &[(String, String)], step: &str) -> Value {
    let mut command = Command::new(python);
    command
        .arg(SCRIPT)
        .arg(step)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // The sandbox is on loopback: no proxy of the environment may take the requests.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cloudsmith-api {step} failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_sets_up_a_repository_with_a_docker_upstream() {
    let Some(python) = python() else {
        return;
    };
    let w = world().await;
    let env = w.sandbox.env();
    for name in [
        "CLOUDSMITH_API_KEY",
        "CLOUDSMITH_API_URL",
        "CLOUDSMITH_DOCKER_URL",
        "CLOUDSMITH_OWNER",
        "CLOUDSMITH_USER",
    ] {
        assert!(
            env.iter().any(|(key, _)| key == name),
            "{name} is not in the env"
        );
    }

    let setup = run(&python, &env, "setup").await;
    assert_eq!(setup["user"], json!([true, USER]));
    assert_eq!(setup["namespace"], json!([OWNER, "Organization"]));
    assert_eq!(
        setup["created"],
        json!(["Chainguard", "chainguard", "Private", OWNER, true, 12])
    );
    assert_eq!(
        setup["read"],
        json!([
            true,
            "default",
            w.api(&format!("repos/{OWNER}/chainguard/")).as_str()
        ])
    );
    assert_eq!(setup["duplicate"]["status"], 422);
    assert_eq!(
        setup["duplicate"]["body"],
        json!({"detail": "Invalid input.", "code": "invalid",
            "fields": {"slug": ["A repository with this slug already exists."]}})
    );
    assert_eq!(setup["patched"], "Chainguard's images");
    assert_eq!(
        setup["upstream"],
        json!([
            "cgr-public",
            "https://cgr.dev/chainguard",
            "Cache and Proxy",
            1,
            true,
            "None",
            null,
            "N/A",
            true
        ])
    );
    assert_eq!(setup["read_upstream"], true);
    let upstreams = w.cloudsmith.upstreams("chainguard");
    assert_eq!(upstreams.len(), 1);
    assert_eq!(
        setup["listed"],
        json!([[upstreams[0].slug_perm, "cgr-public", "Cache and Proxy"]])
    );
    assert_eq!(w.cloudsmith.repository_slugs(), ["chainguard"]);

    // A pull through the registry caches nginx as a package of the repository.
    w.pull_image("chainguard", "nginx", "latest").await;
    assert_eq!(w.cloudsmith.packages("chainguard").len(), 1);

    let cleaned = run(&python, &env, "packages").await;
    assert_eq!(
        cleaned["packages"],
        json!([["nginx", "latest", "docker", "chainguard", OWNER]])
    );
    assert_eq!(cleaned["left"], 0);
    assert_eq!(
        cleaned["gone"],
        json!({"status": 404, "body": {"detail": "Not found."}})
    );
    assert!(w.cloudsmith.repository_slugs().is_empty());
}
