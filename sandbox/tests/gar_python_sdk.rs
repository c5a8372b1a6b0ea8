//! Google's own Python SDKs against the GAR fakes (our client agreeing with our fake
//! proves little): `google-cloud-artifact-registry` and `google-cloud-secret-manager` over
//! their REST transport, pointed at the sandbox by `api_endpoint`, with the sandbox's
//! access token as OAuth credentials. The script (`tests/fixtures/gar_sdk.py`) creates the
//! seed's remote repository and waits on its operation, reads and lists it, creates a
//! secret and a version with its CRC32C, reads the IAM policy and grants the service
//! agent with the etag (and is refused with a stale one), switches the repository to
//! authenticated by PATCH, and deletes a repository through its operation.
//!
//! Needs a Python with the SDKs at the versions below, named by `PULL_THROUGH_PYTHON`
//! (`python3 -m venv /tmp/venv && /tmp/venv/bin/pip install google-cloud-artifact-registry==1.23.0
//! google-cloud-secret-manager==2.32.0 google-crc32c==1.9.0 protobuf==7.36.2 proto-plus==1.29.0`,
//! then `PULL_THROUGH_PYTHON=/tmp/venv/bin/python`). Without it the test skips with a
//! message; `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` makes it mandatory, as CI does.
//!
//! Python runs isolated (`-I`): neither the working directory nor `PYTHON*` variables
//! reach `sys.path`, so a stray `proto.py` beside it cannot shadow proto-plus's `proto`
//! package (the "module 'proto' has no attribute 'module'" failure, seen from `/tmp`).

mod gar_common;

use std::path::PathBuf;
use std::process::Command;

use gar_common::{Google, LOCATION, NUMBER, PROJECT};
use pull_through_sandbox::gar::SECRET_ACCESSOR;
use serde_json::json;

/// The SDKs and the versions the fakes were checked against.
const PACKAGES: [(&str, &str); 3] = [
    ("google-cloud-artifact-registry", "1.23.0"),
    ("google-cloud-secret-manager", "2.32.0"),
    ("google-crc32c", "1.9.0"),
];

fn install_hint() -> String {
    let pins: Vec<String> = PACKAGES.iter().map(|(p, v)| format!("{p}=={v}")).collect();
    format!(
        "python3 -m venv /tmp/venv && /tmp/venv/bin/pip install {} protobuf==7.36.2 \
         proto-plus==1.29.0; PULL_THROUGH_PYTHON=/tmp/venv/bin/python",
        pins.join(" ")
    )
}

/// The Python to use, or `None` (after saying why) when the test should skip.
fn python() -> Option<PathBuf> {
    let required = std::env::var("PULL_THROUGH_REQUIRE_REAL_CLIENTS").is_ok_and(|v| v == "1");
    let problem = match std::env::var_os("PULL_THROUGH_PYTHON") {
        None => "PULL_THROUGH_PYTHON is not set".to_owned(),
        Some(path) => {
            let path = PathBuf::from(path);
            let names: Vec<String> = PACKAGES.iter().map(|(p, _)| format!("'{p}'")).collect();
            let probe = Command::new(&path)
                .args(["-I", "-c"])
                .arg(format!(
                    "from importlib.metadata import version\n\
                     import google.cloud.artifactregistry_v1, google.cloud.secretmanager_v1\n\
                     print(' '.join(version(p) for p in [{}]))",
                    names.join(", ")
                ))
                .output();
            match probe {
                Ok(output) if output.status.success() => {
                    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                    let wanted: Vec<&str> = PACKAGES.iter().map(|(_, v)| *v).collect();
                    if found == wanted.join(" ") {
                        return Some(path);
                    }
                    format!(
                        "{} has the SDKs at {found}, not {}",
                        path.display(),
                        wanted.join(" ")
                    )
                }
                Ok(output) => format!(
                    "{} cannot import the Google SDKs: {}",
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
    eprintln!("skipping: {problem} ({})", install_hint());
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googles_python_sdks_drive_the_fakes_over_rest() {
    let Some(python) = python() else {
        return;
    };
    let google = Google::start().await;
    let password = google.cgr_token().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gar_sdk.py");
    let mut command = Command::new(python);
    command
        .arg("-I")
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(google.sandbox.env())
        .env("PULL_PASSWORD", &password)
        // The sandbox is on loopback: no proxy of the environment may take the requests.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the SDK script failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("{err}: {stdout}\n{stderr}"));

    let name =
        format!("projects/{PROJECT}/locations/{LOCATION}/repositories/chainguard-pull-through");
    let version = format!("projects/{NUMBER}/secrets/cgr-pull-token/versions/1");
    let agent = google.gar.service_agent();
    assert_eq!(
        answer,
        json!({
            "created": [name, "DOCKER", "REMOTE_REPOSITORY", "https://cgr.dev/",
                        format!("{LOCATION}-docker.pkg.dev/{PROJECT}/chainguard-pull-through")],
            "read": [name, "Chainguard pull-through", "cgr.dev"],
            "listed": [name],
            "again": [409, "Conflict"],
            "secret": format!("projects/{NUMBER}/secrets/cgr-pull-token"),
            "version": [version, "ENABLED", true],
            "bad_crc": [400, true],
            "accessed": [true, true],
            "empty_etag": "002001",
            "bindings": [[SECRET_ACCESSOR, [agent]]],
            "stale": [409, true],
            "patched": ["_token", version, "https://cgr.dev/"],
            "deleted": true,
        })
    );

    // What the SDKs left in the fakes.
    assert_eq!(google.gar.repositories(), std::slice::from_ref(&name));
    let stored = google.gar.repository(&name).unwrap();
    assert_eq!(
        stored["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]["passwordSecretVersion"],
        version
    );
    assert_eq!(
        google.gar.secret_versions("cgr-pull-token"),
        [(1, "ENABLED".to_owned())]
    );
    assert_eq!(
        google
            .gar
            .secret_payload("cgr-pull-token", 1)
            .unwrap()
            .expose(),
        password
    );
    assert_eq!(
        google.gar.iam_members("cgr-pull-token", SECRET_ACCESSOR),
        [agent]
    );
    // They asked for enum numbers, as Google's REST clients do.
    let create = google
        .sandbox
        .journal()
        .entries_for("artifactregistry")
        .into_iter()
        .find(|entry| entry.method == "POST")
        .unwrap();
    assert!(
        create
            .query
            .as_deref()
            .unwrap()
            .contains("enum-encoding%3Dint")
    );
    assert_eq!(create.json().unwrap()["format"], 1);
    assert!(!pull_through_sandbox::journal_contains(
        &google.sandbox.journal(),
        &password
    ));
}
