//! What `GET /_sandbox/state` says beyond counts, for the fault tests' checks: the secret
//! version each Artifact Registry cache pins (never its payload), and the subject each
//! Chainguard identity was made with, so an identity made twice from one request shows.

mod gar_common;

use std::time::{Duration, SystemTime};

use gar_common::{Google, NUMBER, PROJECT, credentials, remote_body};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn each_remote_s_pinned_version_is_reported_resolved() {
    let google = Google::start().await;
    // Version 1 holds a cgr.dev token; version 2 another.
    let first = google.pull_secret("s", false).await;
    assert_eq!(first, format!("projects/{NUMBER}/secrets/s/versions/1"));
    let second = google.cgr_token().await;
    google.add_version("s", &second).await.ok();
    for (id, pin) in [
        ("by-number", first.clone()),
        (
            "by-alias",
            format!("projects/{PROJECT}/secrets/s/versions/latest"),
        ),
        (
            "missing",
            format!("projects/{PROJECT}/secrets/s/versions/9"),
        ),
    ] {
        let mut body = remote_body();
        body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&pin);
        body["remoteRepositoryConfig"]["disableUpstreamValidation"] = true.into();
        google.create_done(id, body).await;
    }
    let state = google.sandbox.state();
    let pins = &state["artifactregistry"].pinned_versions;
    assert_eq!(pins["by-number"], "s/1");
    assert_eq!(pins["by-alias"], "s/2", "latest is the newest version");
    assert_eq!(
        pins["missing"],
        format!("projects/{PROJECT}/secrets/s/versions/9"),
        "a pin naming no version is shown as written"
    );
    assert_eq!(pins.len(), 3);
    // The same names as the secret versions' lines begin with.
    assert_eq!(
        state["secretmanager"].objects["secret_versions"]
            .iter()
            .map(|line| line.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["s/1", "s/2"]
    );
    let dumped = serde_json::to_string(&state).unwrap();
    assert!(!dumped.contains(&second), "no payload in the state");
}

/// An identity body as a pull token's, with `subject`.
fn identity(subject: &str) -> Value {
    let expires = SystemTime::now() + Duration::from_secs(3600);
    json!({
        "name": "pull token",
        "static": {
            "issuer": "https://pulltoken.issuer.chainguard.dev",
            "subject": subject,
            "issuerKeys": r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
            "expiration": humantime::format_rfc3339_seconds(expires).to_string(),
        }
    })
}

#[tokio::test]
async fn an_identity_made_twice_shows_two_ids_with_one_subject() {
    let google = Google::start().await;
    let org = google.chainguard.org_id();
    let token = google.chainguard.admin_token();
    let url = google.url("chainguard-api", &format!("iam/v1/identities/{org}"));
    let mut ids = Vec::new();
    for subject in ["pull-token-a", "pull-token-a", "pull-token-b"] {
        let made = google
            .call_as(
                Method::POST,
                url.clone(),
                Some(identity(subject)),
                Some(token.expose()),
            )
            .await;
        ids.push((made.ok()["id"].as_str().unwrap().to_owned(), subject));
    }
    let state = google.sandbox.state();
    let want: std::collections::BTreeMap<String, String> = ids
        .iter()
        .map(|(id, subject)| (id.clone(), (*subject).to_owned()))
        .collect();
    assert_eq!(state["chainguard-api"].subjects, want);
    assert_eq!(state["chainguard-api"].count("identities"), 3);
}
