//! `pull-through artifactory ...` against `pull-through sandbox serve`, configured only by
//! the env file the sandbox writes.

mod common;

use common::{run, serve, text};

fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Creates a repository through the REST API, as a user's other tooling would.
fn create(served: &common::Served, key: &str, body: serde_json::Value) {
    let url = format!(
        "{}artifactory/api/repositories/{key}",
        served.env["ARTIFACTORY_URL"]
    );
    let token = served.env["ARTIFACTORY_ACCESS_TOKEN"].clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async move {
        reqwest::Client::new()
            .put(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
}

#[test]
fn repos_tokens_and_cache_steps() {
    let served = serve();
    let empty = json(&run(
        &served,
        &["--output", "json", "artifactory", "repos", "list"],
        &[],
    ));
    assert_eq!(empty, serde_json::json!({"repositories": []}));
    // --journal records every request of a client command, as it does for the flows.
    let scratch = tempfile::tempdir().unwrap();
    let journal = scratch.path().join("journal.jsonl");
    let listed = run(
        &served,
        &[
            "--journal",
            journal.to_str().unwrap(),
            "artifactory",
            "repos",
            "list",
        ],
        &[],
    );
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let recorded = std::fs::read_to_string(&journal).unwrap();
    let record: serde_json::Value = serde_json::from_str(recorded.lines().next().unwrap()).unwrap();
    assert_eq!(record["method"], "GET");
    assert!(
        record["url"]
            .as_str()
            .unwrap()
            .ends_with("/artifactory/api/repositories"),
        "{record}"
    );
    assert!(!recorded.contains(served.env["ARTIFACTORY_ACCESS_TOKEN"].as_str()));

    create(
        &served,
        "cgr-public",
        serde_json::json!({"key": "cgr-public", "rclass": "remote", "packageType": "docker",
            "url": "https://cgr.dev/", "enableTokenAuthentication": true}),
    );
    let listed = json(&run(
        &served,
        &[
            "--output",
            "json",
            "artifactory",
            "repos",
            "list",
            "--type",
            "remote",
        ],
        &[],
    ));
    assert_eq!(
        listed["repositories"],
        serde_json::json!([{"key": "cgr-public", "type": "remote", "packageType": "docker", "url": "https://cgr.dev/"}])
    );
    let shown = json(&run(
        &served,
        &[
            "--output",
            "json",
            "artifactory",
            "repos",
            "show",
            "cgr-public",
        ],
        &[],
    ));
    assert_eq!(shown["enableTokenAuthentication"], true);
    assert_eq!(shown["description"], " (local file cache)");
    let checked = run(&served, &["artifactory", "check", "cgr-public"], &[]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    assert_eq!(
        text(&checked.stdout).trim(),
        "cgr-public: as the tutorials require"
    );
    create(
        &served,
        "cg-private",
        serde_json::json!({"key": "cg-private", "rclass": "remote", "packageType": "alpine",
            "url": "https://apk.cgr.dev/example.com/x86_64"}),
    );
    let broken = run(&served, &["artifactory", "check", "cg-private"], &[]);
    assert_eq!(broken.status.code(), Some(1));
    let report = text(&broken.stdout);
    assert!(
        report.contains("https://apk.cgr.dev/example.com/x86_64"),
        "{report}"
    );
    assert!(report.contains("disableUrlNormalization"), "{report}");
    assert!(text(&broken.stderr).contains("breaks 2 of the tutorials' rules"));
    let deleted_bad = run(
        &served,
        &["artifactory", "repos", "delete", "cg-private"],
        &[],
    );
    assert!(deleted_bad.status.success());
    let missing = run(&served, &["artifactory", "repos", "show", "nope"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no repository \"nope\""));
    let bad_key = run(&served, &["artifactory", "repos", "show", "bad key"], &[]);
    assert_eq!(bad_key.status.code(), Some(2), "{}", text(&bad_key.stderr));

    // Clearing an empty cache is idempotent; a path that holds nothing is already absent.
    let cleared = run(&served, &["artifactory", "clear-cache", "cgr-public"], &[]);
    assert!(cleared.status.success(), "{}", text(&cleared.stderr));
    let cleared_path = run(
        &served,
        &["artifactory", "clear-cache", "cgr-public", "chainguard/go"],
        &[],
    );
    assert!(text(&cleared_path.stdout).contains("already absent"));

    let deleted = run(
        &served,
        &["artifactory", "repos", "delete", "cgr-public"],
        &[],
    );
    assert_eq!(text(&deleted.stdout).trim(), "cgr-public: removed");
    let again = run(
        &served,
        &["artifactory", "repos", "delete", "cgr-public"],
        &[],
    );
    assert_eq!(text(&again.stdout).trim(), "cgr-public: already absent");

    // Tokens: refused without a destination for the secret, before any request.
    let refused = run(
        &served,
        &[
            "artifactory",
            "token",
            "create",
            "--username",
            "linky@example.com",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("artifactory.env");
    let created = run(
        &served,
        &[
            "--secrets-out",
            secrets.to_str().unwrap(),
            "artifactory",
            "token",
            "create",
            "--username",
            "linky@example.com",
            "--reference-token",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let written = std::fs::read_to_string(&secrets).unwrap();
    let value = |key: &str| {
        written
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_owned()
    };
    let token = value("ARTIFACTORY_TOKEN");
    assert_eq!(value("ARTIFACTORY_REFERENCE_TOKEN").len(), 64);
    assert!(!text(&created.stdout).contains(&token), "printed a secret");
    // The new token works as the instance's credentials.
    let as_user = run(
        &served,
        &["artifactory", "repos", "list"],
        &[("ARTIFACTORY_ACCESS_TOKEN", &token)],
    );
    assert!(as_user.status.success(), "{}", text(&as_user.stderr));
    let token_id = value("ARTIFACTORY_TOKEN_ID");
    let revoked = run(&served, &["artifactory", "token", "revoke", &token_id], &[]);
    assert!(text(&revoked.stdout).contains("removed"));
    let rejected = run(
        &served,
        &["artifactory", "repos", "list"],
        &[("ARTIFACTORY_ACCESS_TOKEN", &token)],
    );
    assert_eq!(rejected.status.code(), Some(1));
    assert!(
        !text(&rejected.stderr).contains(&token),
        "error leaked the token"
    );
}
