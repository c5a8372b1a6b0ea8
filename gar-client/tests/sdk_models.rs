//! Every body the backend writes, checked by Google's own message types: the Python SDKs
//! (`google-cloud-artifact-registry`, `google-cloud-secret-manager`, and `google.iam.v1`
//! under them) parse each with the proto3 JSON rules and refuse an unknown field or an
//! enum value the API does not have. Our tests' fakes read bodies by their own tables of
//! fields; this checks our writer against Google's.
//!
//! Seed 002 runs on the tests' stateful Google (`common::fake`, which keeps every body as
//! sent; the sandbox's journal redacts the credentials): a public remote, an
//! authenticated one with its secret, version and grant, a virtual over both, the
//! tutorial's Edit step, a rotation and its retirement; each write's body is parsed as the
//! message its path names. Needs a Python with the SDKs, named by `PULL_THROUGH_PYTHON`; without it the test skips with a
//! message, and `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` makes it mandatory, as CI does.

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::Google;
use common::fake::FakeGoogle;
use gar_client::GarBackend;
use pull_through_core::{
    CacheName, CacheSpec, PackageFormat, PullThroughBackend, Upstream, UpstreamCredentials,
};
use serde_json::{Value, json};

/// Parses each body as its message, refusing unknown fields.
const CHECK: &str = r#"
import json, sys
from google.cloud import artifactregistry_v1, secretmanager_v1
from google.iam.v1 import iam_policy_pb2
from google.protobuf import json_format
messages = {
    "Repository": artifactregistry_v1.Repository,
    "Secret": secretmanager_v1.Secret,
    "AddSecretVersionRequest": secretmanager_v1.AddSecretVersionRequest,
    "DisableSecretVersionRequest": secretmanager_v1.DisableSecretVersionRequest,
}
failures = []
for name, body in json.load(sys.stdin):
    text = json.dumps(body)
    try:
        if name == "SetIamPolicyRequest":
            json_format.Parse(text, iam_policy_pb2.SetIamPolicyRequest())
        else:
            messages[name].from_json(text, ignore_unknown_fields=False)
    except Exception as err:
        failures.append(f"{name} {text}: {err}")
print("\n".join(failures))
sys.exit(1 if failures else 0)
"#;

fn python() -> Option<PathBuf> {
    let required = std::env::var("PULL_THROUGH_REQUIRE_REAL_CLIENTS").is_ok_and(|v| v == "1");
    let found = std::env::var_os("PULL_THROUGH_PYTHON")
        .map(PathBuf::from)
        .filter(|path| {
            Command::new(path)
                .args([
                    "-I",
                    "-c",
                    "from google.cloud import artifactregistry_v1, secretmanager_v1",
                ])
                .output()
                .is_ok_and(|output| output.status.success())
        });
    if found.is_none() {
        let problem = "PULL_THROUGH_PYTHON does not name a Python with google-cloud-artifact-registry and google-cloud-secret-manager";
        assert!(
            !required,
            "{problem}, and PULL_THROUGH_REQUIRE_REAL_CLIENTS=1"
        );
        eprintln!("skipped: {problem}");
    }
    found
}

/// The message a write's body is, by its path (`None`: a write without a body).
fn message_of(method: &str, path: &str) -> Option<&'static str> {
    let last = path.rsplit('/').next().unwrap_or_default();
    match (method, last) {
        ("POST", "repositories") => Some("Repository"),
        ("PATCH", _) if path.contains("/repositories/") => Some("Repository"),
        ("POST", "secrets") => Some("Secret"),
        ("POST", last) if last.ends_with(":addVersion") => Some("AddSecretVersionRequest"),
        ("POST", last) if last.ends_with(":setIamPolicy") => Some("SetIamPolicyRequest"),
        ("POST", last) if last.ends_with(":disable") => Some("DisableSecretVersionRequest"),
        _ => None,
    }
}

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_body_the_backend_writes_is_a_message_google_s_sdks_parse() {
    let Some(python) = python() else { return };
    let google = Google::start().await;
    let fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    let backend = GarBackend::new(google.client()).with_org("example.com".parse().unwrap());
    let token = UpstreamCredentials::new(
        "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
        "a-pull-token",
    )
    .unwrap();

    let public = CacheSpec::remote(name("chainguard-pull-through"), Upstream::CgrPublic)
        .with_description("Chainguard public images (seed 002)");
    let private = CacheSpec::remote(
        name("chainguard-private"),
        Upstream::CgrPrivate {
            org: "example.com".parse().unwrap(),
        },
    )
    .with_credentials(token.clone());
    let virt = CacheSpec::aggregate(
        name("chainguard-virt"),
        PackageFormat::Docker,
        vec![name("chainguard-pull-through"), name("chainguard-private")],
    );
    for spec in [&public, &private, &virt] {
        backend.ensure(spec).await.unwrap();
    }
    // The tutorial's Edit step: the public repository switched to authenticated.
    backend
        .ensure(&public.clone().with_credentials(token))
        .await
        .unwrap();
    backend
        .ensure(&private.clone().rotating_credentials())
        .await
        .unwrap();
    backend
        .retire_credentials(&name("chainguard-private"))
        .await
        .unwrap();

    let checked: Vec<Value> = fake
        .take()
        .into_iter()
        .filter_map(|logged| {
            let path = logged.target.split('?').next().unwrap_or_default();
            let message = message_of(&logged.method, path)?;
            Some(json!([message, logged.body?]))
        })
        .collect();
    let messages: BTreeSet<&str> = checked.iter().filter_map(|pair| pair[0].as_str()).collect();
    assert_eq!(
        messages.into_iter().collect::<Vec<_>>(),
        [
            "AddSecretVersionRequest",
            "DisableSecretVersionRequest",
            "Repository",
            "Secret",
            "SetIamPolicyRequest"
        ],
        "every kind of write the seed makes is checked"
    );

    let mut child = Command::new(python)
        .args(["-I", "-c", CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&checked).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "Google's SDKs refused what we send:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
