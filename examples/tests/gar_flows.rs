//! Seed 002 on Google Artifact Registry through the program: the shipped seeds' Google half
//! alone against `pull-through sandbox serve`, the tutorial's "Edit" step (a public
//! repository switched to authenticated), rotation, a missing IAM grant, and destroy. What
//! the fakes hold is read back through Google's REST APIs, and what was sent from the
//! sandbox's journal.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use common::flow::*;
use common::gar::*;
use common::{Served, serve, text};

const GAR_CACHES: [&str; 3] = [
    "chainguard-pull-through",
    "chainguard-private",
    "chainguard-virt",
];

fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn seed_002(dir: &tempfile::TempDir) -> PathBuf {
    write(dir, "seed-002.toml", &seed_002_only())
}

fn all_gar(result: &str) -> Vec<(String, String)> {
    GAR_CACHES
        .iter()
        .map(|c| ((*c).to_owned(), result.to_owned()))
        .collect()
}

fn applied(served: &Served, config: &std::path::Path) -> Value {
    let output = flow_with(served, config, &["apply"]);
    expect_code(&output, 0);
    json(&output)
}

/// The pinned secret version of a repository's credentials.
fn pinned(served: &Served, id: &str) -> String {
    let repository = repository(served, id).unwrap();
    repository["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
        ["passwordSecretVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("{id} has no credentials: {repository}"))
        .to_owned()
}

#[test]
fn seed_002_alone_applies_verifies_and_plans_no_changes() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let config = seed_002(&dir);

    let plan = json(&flow_with(&served, &config, &["plan"]));
    assert_eq!(plan["changes"], true);
    let private = plan["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cache"] == "chainguard-private")
        .unwrap();
    let fields: Vec<(&str, &Value)> = private["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), &f["after"]))
        .collect();
    let text_value = |v: &str| serde_json::json!({"type": "text", "value": v});
    for (field, value) in [
        ("commonRepository.uri", "https://cgr.dev/"),
        ("upstreamCredentials.passwordSecret", PRIVATE_SECRET),
        (
            "passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]",
            AGENT,
        ),
        ("mode", "REMOTE_REPOSITORY"),
    ] {
        assert!(
            fields.contains(&(field, &text_value(value))),
            "{field}: {fields:?}"
        );
    }

    let document = applied(&served, &config);
    assert_eq!(results(&document), all_gar("created"));
    // Listed in id order.
    assert_eq!(
        repository_ids(&served),
        [
            "chainguard-private",
            "chainguard-pull-through",
            "chainguard-virt"
        ]
    );
    // The private cache's password: its own secret, one enabled version, pinned, and
    // readable by the Artifact Registry service agent.
    assert_eq!(secret_ids(&served), [PRIVATE_SECRET]);
    assert_eq!(
        versions(&served, PRIVATE_SECRET),
        [("1".to_owned(), "ENABLED".to_owned())]
    );
    assert!(
        pinned(&served, "chainguard-private")
            .ends_with(&format!("/secrets/{PRIVATE_SECRET}/versions/1")),
        "{}",
        pinned(&served, "chainguard-private")
    );
    assert_eq!(members(&served, PRIVATE_SECRET, ACCESSOR), [AGENT]);
    let virt = repository(&served, "chainguard-virt").unwrap();
    let policies: Vec<(String, i64)> = virt["virtualRepositoryConfig"]["upstreamPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["repository"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                p["priority"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        policies,
        [
            ("chainguard-pull-through".to_owned(), 2),
            ("chainguard-private".to_owned(), 1)
        ]
    );

    let verified = flow_with(&served, &config, &["verify"]);
    expect_code(&verified, 0);
    let probes: Vec<String> = by_cache(&json(&verified), "probe")
        .into_iter()
        .map(|(c, p)| format!("{c}: {}", p.as_str().unwrap()))
        .collect();
    assert_eq!(
        probes,
        [
            "chainguard-pull-through: manifest chainguard/go:latest",
            "chainguard-private: manifest example.com/chainguard-base:latest",
            "chainguard-virt: manifest chainguard/go:latest",
        ]
    );

    let again = json(&flow_with(&served, &config, &["plan"]));
    assert_eq!(again["changes"], false, "{again:#}");
    let mark = mark(&served);
    assert_eq!(results(&applied(&served, &config)), all_gar("unchanged"));
    assert_eq!(google_writes_since(&served, mark), Vec::<String>::new());
}

/// The tutorial's "Edit" step: a public repository that exists is switched to
/// authenticated by a PATCH of its upstream credentials only; no second repository.
#[test]
fn the_edit_step_patches_only_the_upstream_credentials() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let head = "name = \"seed-002\"\n[chainguard]\norg = \"example.com\"\n[backends.gar]\n\
                type = \"gar\"\nproject_env = \"GOOGLE_CLOUD_PROJECT\"\nlocation = \"us-central1\"\n";
    let public = write(
        &dir,
        "public.toml",
        &format!(
            "{head}[[caches]]\nname = \"chainguard-pull-through\"\nupstream = \"cgr.dev/chainguard\"\n"
        ),
    );
    let authenticated = write(
        &dir,
        "authenticated.toml",
        &format!(
            "{head}[[caches]]\nname = \"chainguard-pull-through\"\nupstream = \"cgr.dev/{{org}}\"\n\
             pull_token = \"registry.pull\"\n"
        ),
    );
    assert_eq!(
        results(&applied(&served, &public)),
        [("chainguard-pull-through".to_owned(), "created".to_owned())]
    );
    expect_code(&flow_with(&served, &public, &["verify"]), 0);

    let plan = json(&flow_with(&served, &authenticated, &["plan"]));
    let actions: Vec<_> = by_cache(&plan, "action")
        .into_iter()
        .map(|(c, a)| (c, a.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        actions,
        [("chainguard-pull-through".to_owned(), "update".to_owned())]
    );
    let mark = mark(&served);
    let document = applied(&served, &authenticated);
    assert_eq!(
        results(&document),
        [("chainguard-pull-through".to_owned(), "updated".to_owned())]
    );
    let secret = "pull-through-chainguard-pull-through";
    let base = format!("/v1/projects/{PROJECT}/secrets/{secret}");
    assert_eq!(
        google_writes_since(&served, mark),
        [
            format!("secretmanager POST /v1/projects/{PROJECT}/secrets?secretId={secret}"),
            format!("secretmanager POST {base}:addVersion"),
            format!("secretmanager POST {base}:setIamPolicy"),
            format!(
                "artifactregistry PATCH /v1/projects/{PROJECT}/locations/{LOCATION}/repositories/\
                 chainguard-pull-through?updateMask=remoteRepositoryConfig.upstreamCredentials"
            ),
        ]
    );
    // The PATCH's body holds the credentials and nothing else (the password is in Secret
    // Manager; the body names its version).
    let patch = journal(&served)
        .into_iter()
        .find(|e| e["method"] == "PATCH" && e["seq"].as_u64().unwrap() > mark)
        .unwrap();
    let body: Value = serde_json::from_str(patch["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["remoteRepositoryConfig"]
    );
    assert_eq!(
        body["remoteRepositoryConfig"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["upstreamCredentials"]
    );
    assert_eq!(repository_ids(&served), ["chainguard-pull-through"]);
    assert!(pinned(&served, "chainguard-pull-through").ends_with(&format!("{secret}/versions/1")));
    let verified = json(&flow_with(&served, &authenticated, &["verify"]));
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert_eq!(
        by_cache(&verified, "probe")[0].1,
        "manifest example.com/chainguard-base:latest"
    );
}

#[test]
fn rotation_pins_a_new_version_verifies_then_revokes_and_disables_the_old() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let config = seed_002(&dir);
    applied(&served, &config);
    let before: BTreeSet<String> = token_ids(&json(&flow_with(&served, &config, &["status"])));
    assert_eq!(before.len(), 1);

    let mark = mark(&served);
    let human = common::run(
        &served,
        &["--config", config.to_str().unwrap(), "rotate"],
        &[],
    );
    expect_code(&human, 0);
    let stdout = text(&human.stdout);
    let old = before.iter().next().unwrap();
    let old_version = format!("projects/{PROJECT}/secrets/{PRIVATE_SECRET}/versions/1");
    let new_version = format!("projects/{PROJECT}/secrets/{PRIVATE_SECRET}/versions/2");
    // New pull token, its password as a new version, the pin moved, a pull verified,
    // then the old token revoked and the old version disabled ("retired").
    let expected = [
        "  chainguard-private   rotated (pull token ".to_owned(),
        format!("      username: \"{old}\" -> \""),
        "      password: (sensitive value) -> (sensitive value)".to_owned(),
        format!("      passwordSecretVersion: \"{old_version}\" -> \"{new_version}\""),
        "      verified: a pull through the cache with the new pull token".to_owned(),
        format!("      revoked pull token {old}"),
        format!("      note: retired {old_version}"),
    ];
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, start) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(start.as_str()),
            "{line:?} should start with {start:?}:\n{stdout}"
        );
    }

    assert_eq!(
        versions(&served, PRIVATE_SECRET),
        [
            ("1".to_owned(), "DISABLED".to_owned()),
            ("2".to_owned(), "ENABLED".to_owned())
        ]
    );
    assert!(
        pinned(&served, "chainguard-private")
            .ends_with(&format!("/secrets/{PRIVATE_SECRET}/versions/2"))
    );
    let writes = google_writes_since(&served, mark);
    let base = format!("/v1/projects/{PROJECT}/secrets/{PRIVATE_SECRET}");
    let position = |wanted: &str| {
        writes
            .iter()
            .position(|w| w.starts_with(wanted))
            .unwrap_or_else(|| panic!("no {wanted}: {writes:#?}"))
    };
    let patch = position(&format!(
        "artifactregistry PATCH /v1/projects/{PROJECT}/locations/{LOCATION}/repositories/chainguard-private?updateMask=remoteRepositoryConfig.upstreamCredentials"
    ));
    let added = position(&format!("secretmanager POST {base}:addVersion"));
    let forgot = position(&format!(
        "artifactregistry DELETE /v1/projects/{PROJECT}/locations/{LOCATION}/repositories/chainguard-private/packages/example.com%2Fchainguard-base"
    ));
    let disabled = position(&format!("secretmanager POST {base}/versions/1:disable"));
    assert!(
        added < patch && patch < forgot && forgot < disabled,
        "{writes:#?}"
    );

    let after = token_ids(&json(&flow_with(&served, &config, &["status"])));
    assert_eq!(after.len(), 1);
    assert!(after.is_disjoint(&before));
    expect_code(&flow_with(&served, &config, &["verify"]), 0);
    assert_eq!(
        json(&flow_with(&served, &config, &["plan"]))["changes"],
        false
    );
}

#[test]
fn a_missing_grant_is_named_by_verify_and_repaired_by_apply_alone() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let config = seed_002(&dir);
    applied(&served, &config);
    remove_agent(&served, PRIVATE_SECRET);

    let verified = flow_with(&served, &config, &["verify"]);
    expect_code(&verified, 1);
    let document = json(&verified);
    let failed: Vec<String> = by_cache(&document, "passed")
        .into_iter()
        .filter(|(_, p)| **p == Value::Bool(false))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(failed, ["chainguard-private"]);
    let checks = by_cache(&document, "checks")
        .into_iter()
        .find(|(c, _)| c == "chainguard-private")
        .unwrap()
        .1
        .clone();
    let hint = checks[0]["hint"].as_str().unwrap_or_default();
    for needle in [
        AGENT,
        ACCESSOR,
        PRIVATE_SECRET,
        "gcloud secrets add-iam-policy-binding pull-through-chainguard-private",
    ] {
        assert!(hint.contains(needle), "the hint lacks {needle:?}: {hint}");
    }
    let human = common::run(
        &served,
        &["--config", config.to_str().unwrap(), "verify"],
        &[],
    );
    expect_code(&human, 1);
    assert!(
        text(&human.stdout).contains(&format!(
            "hint: the Artifact Registry service agent {AGENT}"
        )),
        "{}",
        text(&human.stdout)
    );

    // plan names the grant; apply repairs it with one setIamPolicy and nothing else.
    let plan = json(&flow_with(&served, &config, &["plan"]));
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
        ["chainguard-private.passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]"]
    );
    let mark = mark(&served);
    let document = applied(&served, &config);
    let updated: Vec<(String, String)> = results(&document)
        .into_iter()
        .filter(|(_, r)| r != "unchanged")
        .collect();
    assert_eq!(
        updated,
        [("chainguard-private".to_owned(), "updated".to_owned())]
    );
    assert_eq!(
        google_writes_since(&served, mark),
        [format!(
            "secretmanager POST /v1/projects/{PROJECT}/secrets/{PRIVATE_SECRET}:setIamPolicy"
        )]
    );
    let chainguard_writes: Vec<Value> = journal(&served)
        .into_iter()
        .filter(|e| e["seq"].as_u64().unwrap() > mark && e["service"] == "chainguard-api")
        .filter(|e| e["method"] != "GET")
        .collect();
    assert!(chainguard_writes.is_empty(), "{chainguard_writes:?}");
    assert_eq!(members(&served, PRIVATE_SECRET, ACCESSOR), [AGENT]);
    assert_eq!(
        versions(&served, PRIVATE_SECRET),
        [("1".to_owned(), "ENABLED".to_owned())]
    );
    expect_code(&flow_with(&served, &config, &["verify"]), 0);
}

#[test]
fn destroy_leaves_no_repository_secret_or_pull_token() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let config = seed_002(&dir);
    applied(&served, &config);
    let tokens = token_ids(&json(&flow_with(&served, &config, &["status"])));
    assert_eq!(tokens.len(), 1);

    let destroyed = flow_with(&served, &config, &["destroy", "--yes"]);
    expect_code(&destroyed, 0);
    let document = json(&destroyed);
    let order: Vec<String> = results(&document)
        .into_iter()
        .map(|(c, r)| {
            assert_eq!(r, "deleted", "{c}");
            c
        })
        .collect();
    assert_eq!(order.first().map(String::as_str), Some("chainguard-virt"));
    let revoked: BTreeSet<String> = document["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(revoked, tokens);

    assert_eq!(repository_ids(&served), Vec::<String>::new());
    assert_eq!(secret_ids(&served), Vec::<String>::new());
    let status = json(&flow_with(&served, &config, &["status"]));
    assert!(token_ids(&status).is_empty());
    assert!(
        by_cache(&status, "exists")
            .iter()
            .all(|(_, e)| **e == Value::Bool(false))
    );
    // A second destroy finds nothing to do.
    let again = json(&flow_with(&served, &config, &["destroy", "--yes"]));
    assert!(
        results(&again).iter().all(|(_, r)| r == "already_absent"),
        "{again:#}"
    );
    assert_eq!(results(&again).len(), 3);
}
