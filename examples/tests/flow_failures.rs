//! The main job when things go wrong: a fault on one cache, a rotation that cannot write,
//! expired tokens, drift, a repository the config does not describe, and secrets that must
//! not leak.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use common::flow::*;
use common::{serve, text};

#[test]
fn a_fault_on_one_cache_leaves_the_others_done_and_a_rerun_converges() {
    let served = serve();
    add_fault(
        &served,
        serde_json::json!({
            "service": "artifactory", "method": "PUT",
            "path_prefix": "/artifactory/api/repositories/cg-private",
            "fault": {"kind": "status", "status": 500}, "remaining": null
        }),
    );
    let failed = flow(&served, &["apply"], &[]);
    expect_code(&failed, 1);
    let document = json(&failed);
    assert_eq!(document["ok"], false);
    let outcome = results(&document);
    let expected: Vec<(String, String)> = [
        ("cgr-public", "created"),
        ("cgr-private", "created"),
        ("cgr-virt", "created"),
        ("cg-private", "failed"),
        ("cg-chainguard", "created"),
        ("cg-extras", "created"),
        ("cg-apk-virt", "skipped"),
        ("chainguard-pull-through", "created"),
        ("chainguard-private", "created"),
        ("chainguard-virt", "created"),
        ("cloudsmith-public", "created"),
        ("cloudsmith-private", "created"),
        ("chainguard", "created"),
    ]
    .iter()
    .map(|(c, r)| ((*c).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(outcome, expected);
    let errors = by_cache(&document, "error");
    assert!(
        errors[6]
            .1
            .as_str()
            .unwrap()
            .contains("member cg-private was not applied"),
        "{errors:?}"
    );
    assert!(
        text(&failed.stderr).contains("2 of 13 caches could not be applied"),
        "{}",
        text(&failed.stderr)
    );
    // The token made for the cache that failed was revoked again: nothing half made
    // (cgr-private's, chainguard-private's and cloudsmith-private's are left).
    let status = json(&flow(&served, &["status"], &[]));
    assert_eq!(token_ids(&status).len(), 3, "{status:#}");

    add_fault(&served, Value::Null);
    let rerun = flow(&served, &["apply"], &[]);
    expect_code(&rerun, 0);
    let outcome = results(&json(&rerun));
    let expected: Vec<(String, String)> = SEED_CACHES
        .iter()
        .map(|c| {
            let result = if *c == "cg-private" || *c == "cg-apk-virt" {
                "created"
            } else {
                "unchanged"
            };
            ((*c).to_owned(), result.to_owned())
        })
        .collect();
    assert_eq!(outcome, expected);
    assert_eq!(json(&flow(&served, &["plan"], &[]))["changes"], false);
    expect_code(&flow(&served, &["verify"], &[]), 0);
}

/// Applies the seeds, injects `fault`, and rotates `cgr-private`, which must fail: the
/// tokens before and the rotation's document.
fn rotate_cgr_private_with(served: &common::Served, fault: Value) -> (BTreeSet<String>, Value) {
    expect_code(&flow(served, &["apply"], &[]), 0);
    let before = token_ids(&json(&flow(served, &["status"], &[])));
    add_fault(served, fault);
    let rotated = flow(served, &["rotate"], &["--cache", "cgr-private"]);
    expect_code(&rotated, 1);
    let document = json(&rotated);
    assert_eq!(
        results(&document),
        [("cgr-private".to_owned(), "failed".to_owned())]
    );
    (before, document)
}

#[test]
fn a_rotation_that_cannot_write_keeps_the_old_token_working() {
    let served = serve();
    let (before, document) = rotate_cgr_private_with(
        &served,
        serde_json::json!({
            "service": "artifactory", "method": "POST",
            "path_prefix": "/artifactory/api/repositories/cgr-private",
            "fault": {"kind": "status", "status": 400}, "remaining": null
        }),
    );
    assert!(
        by_cache(&document, "error")[0]
            .1
            .as_str()
            .unwrap()
            .contains("the old pull token still works")
    );
    add_fault(&served, Value::Null);
    // The new token was revoked; the old one is still the cache's, and pulls work.
    assert_eq!(token_ids(&json(&flow(&served, &["status"], &[]))), before);
    expect_code(&flow(&served, &["verify"], &[]), 0);
}

#[test]
fn no_secret_from_secrets_out_reaches_stdout_stderr_or_the_journal() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.env");
    let journal = dir.path().join("journal.jsonl");
    let mut outputs = Vec::new();
    for (command, extra) in [
        ("apply", &[][..]),
        ("rotate", &[][..]),
        ("verify", &[][..]),
        ("status", &[][..]),
    ] {
        for format in ["human", "json"] {
            let config = seeds();
            let mut args = vec![
                "--config",
                config.to_str().unwrap(),
                "--output",
                format,
                "--journal",
                journal.to_str().unwrap(),
                "--secrets-out",
                secrets.to_str().unwrap(),
                command,
            ];
            args.extend_from_slice(extra);
            let output = common::run(&served, &args, &[("RUST_LOG", "trace")]);
            expect_code(&output, 0);
            // Each run that makes tokens replaces the file; check against every version.
            let written = std::fs::read_to_string(&secrets).unwrap_or_default();
            outputs.push((output, written));
        }
    }
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        journal_text.lines().count() > 50,
        "the journal records every request"
    );
    let mut checked = 0;
    for (output, written) in &outputs {
        for line in written.lines() {
            let (key, value) = line.split_once('=').unwrap();
            let secret = key == "ARTIFACTORY_ACCESS_TOKEN"
                || key == "GOOGLE_OAUTH_ACCESS_TOKEN"
                || (key.starts_with("PULL_TOKEN_") && !key.ends_with("_IDENTITY"));
            if !secret {
                continue;
            }
            assert!(value.len() > 20, "{key} looks too short to be a token");
            checked += 1;
            for (other, _) in &outputs {
                assert!(!text(&other.stdout).contains(value), "{key} in stdout");
                assert!(!text(&other.stderr).contains(value), "{key} in stderr");
            }
            assert!(!journal_text.contains(value), "{key} in the journal");
        }
        assert!(
            !text(&output.stderr).is_empty(),
            "RUST_LOG=trace logs something"
        );
    }
    assert!(
        checked >= 10,
        "the secrets file held the admin token, Google's access token and the new pull \
         tokens ({checked})"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn expired_pull_tokens_are_shown_and_replaced() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("short.toml");
    // Artifactory's and Cloudsmith's halves: Google Artifact Registry checks a pull token against cgr.dev when
    // it is written, and a token that lives a second may be gone by then (the lifecycle
    // of tokens is the fleet's, the same for every backend).
    std::fs::write(
        &config,
        seeds_without_gar().replacen("pull_token_ttl = \"720h\"", "pull_token_ttl = \"1s\"", 1),
    )
    .unwrap();
    expect_code(&flow_with(&served, &config, &["apply"]), 0);
    std::thread::sleep(std::time::Duration::from_millis(1500));

    let status = json(&flow_with(&served, &config, &["status"]));
    let expired: Vec<_> = by_cache(&status, "pull_token")
        .into_iter()
        .filter(|(_, t)| !t.is_null())
        .map(|(c, t)| (c, t["expired"].clone()))
        .collect();
    assert_eq!(
        expired,
        [
            ("cgr-private".to_owned(), Value::Bool(true)),
            ("cg-private".to_owned(), Value::Bool(true)),
            ("cloudsmith-private".to_owned(), Value::Bool(true))
        ],
        "an expired token in use is shown as the cache's, expired"
    );
    let old = token_ids(&status);

    let plan = json(&flow_with(&served, &config, &["plan"]));
    let planned: Vec<_> = by_cache(&plan, "pull_token")
        .into_iter()
        .filter(|(_, t)| !t.is_null())
        .map(|(_, t)| t["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(planned, ["create", "create", "create"]);
    let to_revoke: BTreeSet<String> = strings_of(&plan, "revoke");
    assert_eq!(to_revoke, old);

    // With the usual lifetime (and the whole seeds), apply replaces them and revokes the
    // expired ones.
    let applied = json(&flow(&served, &["apply"], &[]));
    let revoked: BTreeSet<String> = strings_of(&applied, "revoked");
    assert_eq!(revoked, old);
    let status = json(&flow(&served, &["status"], &[]));
    assert!(token_ids(&status).is_disjoint(&old));
    assert_eq!(token_ids(&status).len(), 4);
}

#[test]
fn destroy_leaves_a_repository_the_config_does_not_describe() {
    let served = serve();
    expect_code(&flow(&served, &["apply"], &[]), 0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("other.toml");
    let seeds = std::fs::read_to_string(seeds()).unwrap();
    let other = seeds.replacen(
        "upstream = \"virtualapk.cgr.dev/{org_id}/chainguard\"",
        "upstream = \"virtualapk.cgr.dev/{org_id}/extra-packages\"",
        1,
    );
    std::fs::write(&config, other).unwrap();
    let destroyed = flow_with(&served, &config, &["destroy", "--yes"]);
    expect_code(&destroyed, 1);
    let document = json(&destroyed);
    assert_eq!(document["ok"], false);
    let outcome: Vec<(String, String)> = results(&document)
        .into_iter()
        .filter(|(_, r)| r != "deleted")
        .collect();
    assert_eq!(outcome, [("cg-chainguard".to_owned(), "failed".to_owned())]);
    let error = by_cache(&document, "error")
        .into_iter()
        .find(|(c, _)| c == "cg-chainguard")
        .unwrap()
        .1
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("not deleted: cg-chainguard is a remote of https://virtualapk.cgr.dev/"),
        "{error}"
    );
    let status = json(&flow(&served, &["status"], &[]));
    let exists: Vec<String> = by_cache(&status, "exists")
        .into_iter()
        .filter(|(_, e)| **e == Value::Bool(true))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(exists, ["cg-chainguard"]);
}

#[test]
fn verify_fails_with_the_tutorials_hint_and_apply_repairs_the_drift() {
    let served = serve();
    expect_code(&flow(&served, &["apply"], &[]), 0);
    drift(
        &served,
        "cgr-public",
        serde_json::json!({"enableTokenAuthentication": false}),
    );
    drift(
        &served,
        "cg-private",
        serde_json::json!({"disableUrlNormalization": false}),
    );

    let verified = flow(&served, &["verify"], &[]);
    expect_code(&verified, 1);
    let document = json(&verified);
    let failed: Vec<String> = by_cache(&document, "passed")
        .into_iter()
        .filter(|(_, p)| **p == Value::Bool(false))
        .map(|(c, _)| c)
        .collect();
    assert!(
        failed.contains(&"cgr-public".to_owned()) && failed.contains(&"cg-private".to_owned()),
        "{failed:?}"
    );
    let hints = |cache: &str| -> String {
        by_cache(&document, "checks")
            .into_iter()
            .find(|(c, _)| c == cache)
            .unwrap()
            .1
            .to_string()
    };
    assert!(
        hints("cgr-public").contains("enable token authentication on the remote"),
        "{}",
        hints("cgr-public")
    );
    assert!(
        hints("cg-private").contains("turn URL normalization off on the remote"),
        "{}",
        hints("cg-private")
    );
    assert!(
        text(&verified.stderr).contains("caches failed to pull through"),
        "{}",
        text(&verified.stderr)
    );
    let human = common::run(
        &served,
        &["--config", seeds().to_str().unwrap(), "verify"],
        &[],
    );
    expect_code(&human, 1);
    assert!(
        text(&human.stdout).contains("hint: enable token authentication on the remote"),
        "{}",
        text(&human.stdout)
    );

    // plan names the drifted fields; apply puts them back, writing only those.
    let plan = json(&flow(&served, &["plan"], &[]));
    let changes: Vec<String> = plan["caches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "update")
        .flat_map(|c| {
            c["changes"].as_array().unwrap().iter().map(move |f| {
                format!(
                    "{}.{}",
                    c["cache"].as_str().unwrap(),
                    f["field"].as_str().unwrap()
                )
            })
        })
        .collect();
    assert_eq!(
        changes,
        [
            "cgr-public.enableTokenAuthentication",
            "cg-private.disableUrlNormalization"
        ]
    );
    let applied = json(&flow(&served, &["apply"], &[]));
    let updated: Vec<String> = results(&applied)
        .into_iter()
        .filter(|(_, r)| r == "updated")
        .map(|(c, _)| c)
        .collect();
    assert_eq!(updated, ["cgr-public", "cg-private"]);
    expect_code(&flow(&served, &["verify"], &[]), 0);
}

#[test]
fn a_rotation_whose_pull_fails_keeps_the_old_token_and_says_so() {
    let served = serve();
    // The registry refuses the image from now on: whatever the cache held is cleared
    // by rotate, so the pull goes upstream and fails.
    let (before, document) = rotate_cgr_private_with(
        &served,
        serde_json::json!({
            "service": "cgr.dev", "method": "GET",
            "path_prefix": "/v2/example.com/chainguard-base/manifests",
            "fault": {"kind": "status", "status": 403}, "remaining": null
        }),
    );
    let error = by_cache(&document, "error")[0]
        .1
        .as_str()
        .unwrap()
        .to_owned();
    let old = before
        .iter()
        .find(|id| error.contains(id.as_str()))
        .unwrap_or_else(|| panic!("the error names the old token: {error}"))
        .clone();
    assert!(
        error.contains("The cache now holds the new token"),
        "{error}"
    );
    assert!(error.contains("was not revoked and still works"), "{error}");
    assert!(
        !error.contains("Failed {"),
        "no debug text for people: {error}"
    );

    // Nothing was revoked; the cache uses the new token, the old one is unused.
    let status = json(&flow(&served, &["status"], &[]));
    assert!(before.is_subset(&token_ids(&status)));
    assert_eq!(token_ids(&status).len(), 5);
    assert_eq!(status["unused_pull_tokens"], serde_json::json!([old]));

    // Once the cause is gone, rotating again converges and cleans up.
    add_fault(&served, Value::Null);
    let again = json(&flow(&served, &["rotate"], &["--cache", "cgr-private"]));
    assert_eq!(
        results(&again),
        [("cgr-private".to_owned(), "rotated".to_owned())]
    );
    let revoked = strings_of(&again, "revoked");
    assert!(revoked.contains(&old), "{revoked:?}");
    assert_eq!(token_ids(&json(&flow(&served, &["status"], &[]))).len(), 4);
}

#[test]
fn tokens_that_cannot_be_revoked_fail_the_run_and_a_rerun_revokes_them() {
    let served = serve();
    expect_code(&flow(&served, &["apply"], &[]), 0);
    let before = token_ids(&json(&flow(&served, &["status"], &[])));
    add_fault(
        &served,
        serde_json::json!({
            "service": "chainguard-api", "method": "DELETE",
            "path_prefix": "/iam/v1/identities/",
            "fault": {"kind": "status", "status": 403}, "remaining": null
        }),
    );
    let rotated = flow(&served, &["rotate"], &["--cache", "cg-private"]);
    expect_code(&rotated, 1);
    let document = json(&rotated);
    assert_eq!(document["ok"], false);
    assert_eq!(
        results(&document),
        [("cg-private".to_owned(), "rotated".to_owned())]
    );
    let not_revoked = by_cache(&document, "not_revoked")[0]
        .1
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(not_revoked.len(), 1, "{document:#}");
    assert!(
        before
            .iter()
            .any(|id| not_revoked[0].as_str().unwrap().starts_with(id.as_str()))
    );

    add_fault(&served, Value::Null);
    // The old token is left over; the next apply revokes it.
    let applied = json(&flow(&served, &["apply"], &[]));
    assert_eq!(applied["ok"], true);
    assert_eq!(strings_of(&applied, "revoked").len(), 1);
    assert_eq!(token_ids(&json(&flow(&served, &["status"], &[]))).len(), 4);
}

#[test]
fn a_cache_that_no_longer_needs_a_token_has_it_revoked() {
    let served = serve();
    expect_code(&flow(&served, &["apply"], &[]), 0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("public.toml");
    let seeds = std::fs::read_to_string(seeds()).unwrap();
    let public = seeds.replacen(
        "upstream = \"cgr.dev/{org}\"\npull_token = \"registry.pull\"",
        "upstream = \"cgr.dev/chainguard\"",
        1,
    );
    assert_ne!(public, seeds);
    std::fs::write(&config, public).unwrap();
    let plan = json(&flow_with(&served, &config, &["plan"]));
    let planned = strings_of(&plan, "revoke");
    assert_eq!(planned.len(), 1, "{plan:#}");
    let applied = flow_with(&served, &config, &["apply"]);
    expect_code(&applied, 0);
    let applied = json(&applied);
    let outcome = results(&applied);
    assert!(
        outcome.contains(&("cgr-private".to_owned(), "updated".to_owned())),
        "{outcome:?}"
    );
    assert_eq!(strings_of(&applied, "revoked"), planned);
    let status = json(&flow_with(&served, &config, &["status"]));
    assert_eq!(
        token_ids(&status).len(),
        3,
        "only cg-private's, chainguard-private's and cloudsmith-private's tokens are left"
    );
    assert_eq!(
        json(&flow_with(&served, &config, &["plan"]))["changes"],
        false
    );
}
