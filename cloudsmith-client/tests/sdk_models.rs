//! Every body the backend writes, checked by Cloudsmith's own request models: the
//! `cloudsmith-api` Python SDK's generated models refuse an unknown field (`TypeError`)
//! and an enum value, length, pattern or range the API would refuse (`ValueError`). The
//! real server ignores unknown fields silently (reference §2), so without this a misspelt
//! field would pass every test of ours and do nothing in production.
//!
//! Seed 004 runs in both layouts on the sandbox (creates, the aggregate's priorities,
//! rotation); each write's body is read back from the sandbox's journal and given to the
//! model its path names. Needs a Python with cloudsmith-api 2.0.42, named by
//! `PULL_THROUGH_PYTHON`; without it the test skips with a message, and
//! `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` makes it mandatory, as CI does.

mod sandbox_support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cloudsmith_client::Layout;
use pull_through_core::{CacheSpec, PackageFormat, PullThroughBackend};
use sandbox_support::*;
use serde_json::{Value, json};

/// Builds each model from its body, by the SDK's own names for the JSON keys.
const CHECK: &str = r#"
import json, sys
import cloudsmith_api.models as models
failures = []
for model_name, body in json.load(sys.stdin):
    model = getattr(models, model_name)
    by_json = {json_key: attr for attr, json_key in model.attribute_map.items()}
    try:
        model(**{by_json.get(key, key): value for key, value in body.items()})
    except (TypeError, ValueError) as err:
        failures.append(f"{model_name} {body}: {err}")
print("\n".join(failures))
sys.exit(1 if failures else 0)
"#;

fn python() -> Option<PathBuf> {
    let required = std::env::var("PULL_THROUGH_REQUIRE_REAL_CLIENTS").is_ok_and(|v| v == "1");
    let found = std::env::var_os("PULL_THROUGH_PYTHON")
        .map(PathBuf::from)
        .filter(|path| {
            Command::new(path)
                .args(["-c", "import cloudsmith_api"])
                .output()
                .is_ok_and(|output| output.status.success())
        });
    if found.is_none() {
        let problem = "PULL_THROUGH_PYTHON does not name a Python with cloudsmith-api 2.0.42";
        assert!(
            !required,
            "{problem}, and PULL_THROUGH_REQUIRE_REAL_CLIENTS=1"
        );
        eprintln!("skipped: {problem}");
    }
    found
}

/// The SDK model of a write to the API, by method and path.
fn model_of(method: &str, path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["repos", _]) => Some("RepositoryCreateRequest"),
        ("PATCH", ["repos", _, _]) => Some("RepositoryRequestPatch"),
        ("POST", ["repos", _, _, "upstream", "docker"]) => Some("DockerUpstreamRequest"),
        ("PATCH", ["repos", _, _, "upstream", "docker", _]) => Some("DockerUpstreamRequestPatch"),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_body_the_backend_writes_is_one_cloudsmith_s_models_accept() {
    let Some(python) = python() else { return };
    let world = world().await;
    let (public, private) = seed(&world).await;

    let own = backend(&world, Layout::OwnRepository);
    for spec in [&public, &private] {
        own.ensure(spec).await.unwrap();
    }
    own.ensure(&private.clone().rotating_credentials())
        .await
        .unwrap();
    for spec in [&public, &private] {
        own.delete(&spec.name).await.unwrap();
    }

    let shared = backend(&world, Layout::shared("chainguard").unwrap());
    // The aggregate in the order opposite to creation, so that it rewrites priorities.
    let aggregate = CacheSpec::aggregate(
        name("chainguard"),
        PackageFormat::Docker,
        vec![name("cgr-private"), name("cgr-public")],
    )
    .with_description("Chainguard images (seed 004)");
    for spec in [&public, &private, &aggregate] {
        shared.ensure(spec).await.unwrap();
    }
    shared
        .ensure(&private.clone().rotating_credentials())
        .await
        .unwrap();

    let checked: Vec<Value> = world
        .sandbox
        .journal()
        .entries_for("cloudsmith")
        .into_iter()
        .filter(|entry| entry.is_write())
        .filter_map(|entry| {
            let model = model_of(&entry.method, &entry.path)?;
            let body: Value = serde_json::from_str(entry.body.as_deref()?).ok()?;
            Some(json!([model, body]))
        })
        .collect();
    let models: std::collections::BTreeSet<&str> =
        checked.iter().filter_map(|pair| pair[0].as_str()).collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        [
            "DockerUpstreamRequest",
            "DockerUpstreamRequestPatch",
            "RepositoryCreateRequest",
            "RepositoryRequestPatch"
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
        "cloudsmith-api's models refused what we send:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
