//! A vendor SDK against `pull-through sandbox serve`: pyartifactory 2.11.2 creates a
//! Docker remote of `https://cgr.dev/` the way its documentation shows, reads it back and
//! deletes it, and our own client sees each step in the fake's state.
//!
//! Needs a Python with pyartifactory 2.11.2, named by `PULL_THROUGH_PYTHON`
//! (`python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyartifactory==2.11.2`, then
//! `PULL_THROUGH_PYTHON=/tmp/venv/bin/python`). Without it the test skips with a message;
//! `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` makes it mandatory, as CI does.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use artifactory_client::ArtifactoryClient;

const VERSION: &str = "2.11.2";
const KEY: &str = "cgr-remote";

/// The documented use: `Artifactory(url=..., access_token=...)`,
/// `repositories.create_repo(RemoteRepository(...))`, `get_repo`, `delete`.
const SCRIPT: &str = r#"
import json, os, sys
from pyartifactory import Artifactory
from pyartifactory.exception import RepositoryNotFoundError
from pyartifactory.models import RemoteRepository
from pyartifactory.models.repository import PackageTypeEnum

art = Artifactory(
    url=os.environ["ARTIFACTORY_URL"].rstrip("/") + "/artifactory",
    access_token=os.environ["ARTIFACTORY_ACCESS_TOKEN"],
)
key = sys.argv[2]
if sys.argv[1] == "create":
    repo = RemoteRepository(key=key, url="https://cgr.dev/", packageType=PackageTypeEnum.docker)
    created = art.repositories.create_repo(repo)
    read = art.repositories.get_repo(key)
    print(json.dumps({
        "created": [created.key, created.url, created.packageType.value],
        "read": [read.key, read.rclass.value, read.url, read.packageType.value],
    }))
else:
    art.repositories.delete(key)
    try:
        art.repositories.get_repo(key)
        print(json.dumps({"deleted": False}))
    except RepositoryNotFoundError:
        print(json.dumps({"deleted": True}))
"#;

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
                    "from importlib.metadata import version; print(version('pyartifactory'))",
                ])
                .output();
            match probe {
                Ok(output) if output.status.success() => {
                    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                    if found == VERSION {
                        return Some(path);
                    }
                    format!(
                        "{} has pyartifactory {found}, not {VERSION}",
                        path.display()
                    )
                }
                Ok(output) => format!(
                    "{} has no pyartifactory: {}",
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
         pyartifactory=={VERSION}; PULL_THROUGH_PYTHON=/tmp/venv/bin/python)"
    );
    None
}

fn run_script(python: &PathBuf, served: &common::Served, args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pyartifactory_crud.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let output: Output = Command::new(python)
        .arg(&script)
        .args(args)
        .env("ARTIFACTORY_URL", &served.env["ARTIFACTORY_URL"])
        .env(
            "ARTIFACTORY_ACCESS_TOKEN",
            &served.env["ARTIFACTORY_ACCESS_TOKEN"],
        )
        // The sandbox is on loopback: no proxy of the environment may take the requests.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pyartifactory {args:?} failed:\n{}",
        common::text(&output.stderr)
    );
    let stdout = common::text(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn pyartifactory_creates_reads_and_deletes_a_docker_remote() {
    let Some(python) = python() else {
        return;
    };
    let served = common::serve();
    let ours = ArtifactoryClient::builder()
        .with_base_url(served.env["ARTIFACTORY_URL"].as_str())
        .with_access_token(served.env["ARTIFACTORY_ACCESS_TOKEN"].as_str())
        .build()
        .unwrap();

    let answer = run_script(&python, &served, &["create", KEY]);
    assert_eq!(
        answer["created"],
        serde_json::json!([KEY, "https://cgr.dev/", "docker"])
    );
    assert_eq!(
        answer["read"],
        serde_json::json!([KEY, "remote", "https://cgr.dev/", "docker"])
    );
    let stored = ours
        .get_repository(KEY)
        .await
        .unwrap()
        .expect("the fake holds the repository pyartifactory created");
    assert_eq!(stored.rclass, "remote");
    assert_eq!(stored.package_type, "docker");
    assert_eq!(stored.url.as_deref(), Some("https://cgr.dev/"));
    // pyartifactory sends `"password": null`: no upstream password was stored.
    assert!(stored.password.is_none_or(|p| {
        use pull_through_core::ExposeSecret as _;
        p.expose_secret().is_empty()
    }));

    let answer = run_script(&python, &served, &["delete", KEY]);
    assert_eq!(answer["deleted"], true);
    assert!(ours.get_repository(KEY).await.unwrap().is_none());
}
