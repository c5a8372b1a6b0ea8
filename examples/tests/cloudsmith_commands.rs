//! `pull-through cloudsmith ...` and `sandbox serve`'s Cloudsmith side: the commands
//! against `pull-through sandbox serve`, configured only by the env file it writes, as a
//! user's shell would be.

mod common;

use std::process::{Command, Output};

use common::{run, serve, text};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");
const OWNER: &str = "pull-through-sandbox";

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A call to the Cloudsmith API, as a user's other tooling would make it.
fn api(served: &common::Served, method: &str, path: &str, body: Value) -> u16 {
    let url = format!("{}{path}", served.env["CLOUDSMITH_API_URL"]);
    let key = served.env["CLOUDSMITH_API_KEY"].clone();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::Client::new()
                .request(method, url)
                .header("X-Api-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
}

fn create_repository(served: &common::Served, slug: &str) {
    let body = json!({"name": slug, "slug": slug, "repository_type_str": "Private"});
    assert_eq!(api(served, "POST", &format!("repos/{OWNER}/"), body), 201);
}

fn create_upstream(served: &common::Served, repository: &str, body: Value) {
    let path = format!("repos/{OWNER}/{repository}/upstream/docker/");
    assert_eq!(api(served, "POST", &path, body), 201);
}

#[test]
fn repos_list_show_delete_and_check_against_the_seed_s_rules() {
    let served = serve();
    let empty = json_of(&run(
        &served,
        &["--output", "json", "cloudsmith", "repos", "list"],
        &[],
    ));
    assert_eq!(empty, json!({"owner": OWNER, "repositories": []}));
    let none = run(&served, &["cloudsmith", "repos", "list"], &[]);
    assert_eq!(
        text(&none.stdout).trim(),
        "no repositories in workspace pull-through-sandbox"
    );

    // As the seed sets it up: both upstreams in one repository, public first.
    create_repository(&served, "chainguard");
    create_upstream(
        &served,
        "chainguard",
        json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
            "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "auth_mode": "None"}),
    );
    create_upstream(
        &served,
        "chainguard",
        json!({"name": "cgr-private", "upstream_url": "https://cgr.dev",
            "mode": "Cache and Proxy", "priority": 2, "verify_ssl": true,
            "auth_mode": "Username and Password", "auth_username": "org/identity",
            "auth_secret": "the-upstream-secret"}),
    );
    // And one that breaks the seed's rules: the API's default mode, no credentials.
    create_repository(&served, "broken");
    create_upstream(
        &served,
        "broken",
        json!({"name": "cgr", "upstream_url": "https://cgr.dev", "priority": 1}),
    );
    create_repository(&served, "empty");

    // --journal records every request of a client command, secrets redacted.
    let scratch = tempfile::tempdir().unwrap();
    let journal = scratch.path().join("journal.jsonl");
    let listed = run(
        &served,
        &[
            "--journal",
            journal.to_str().unwrap(),
            "cloudsmith",
            "repos",
            "list",
        ],
        &[],
    );
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert_eq!(
        text(&listed.stdout),
        "broken                   Private  cgr (https://cgr.dev)\n\
         chainguard               Private  cgr-public (https://cgr.dev/chainguard), cgr-private (https://cgr.dev)\n\
         empty                    Private  no Docker upstream\n"
    );
    let recorded = std::fs::read_to_string(&journal).unwrap();
    let first: Value = serde_json::from_str(recorded.lines().next().unwrap()).unwrap();
    assert_eq!(first["method"], "GET");
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .contains(&format!("/repos/{OWNER}/")),
        "{first}"
    );
    assert!(!recorded.contains(served.env["CLOUDSMITH_API_KEY"].as_str()));

    let listed = json_of(&run(
        &served,
        &["--output", "json", "cloudsmith", "repos", "list"],
        &[],
    ));
    assert_eq!(
        listed["repositories"][1],
        json!({"slug": "chainguard", "repository_type_str": "Private", "storage_region": "default",
            "upstreams": [
                {"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard", "priority": 1},
                {"name": "cgr-private", "upstream_url": "https://cgr.dev", "priority": 2}]})
    );

    // show: the settings, never the stored secret.
    let shown = run(
        &served,
        &[
            "--output",
            "json",
            "cloudsmith",
            "repos",
            "show",
            "chainguard",
        ],
        &[],
    );
    assert!(!text(&shown.stdout).contains("the-upstream-secret"));
    let shown = json_of(&shown);
    assert_eq!(shown["repository"]["slug"], "chainguard");
    assert_eq!(shown["repository"]["repository_type_str"], "Private");
    let upstreams = shown["upstreams"].as_array().unwrap();
    assert_eq!(upstreams.len(), 2);
    assert_eq!(upstreams[1]["name"], "cgr-private");
    assert_eq!(upstreams[1]["auth_mode"], "Username and Password");
    assert_eq!(upstreams[1]["auth_username"], "org/identity");
    assert_eq!(upstreams[1]["mode"], "Cache and Proxy");
    assert!(upstreams[1].get("auth_secret").is_none(), "{shown}");
    let human = run(&served, &["cloudsmith", "repos", "show", "chainguard"], &[]);
    assert!(human.status.success());
    assert!(text(&human.stdout).contains("\"upstream_url\": \"https://cgr.dev/chainguard\""));

    // check: the seed's rules per upstream.
    let good = run(&served, &["cloudsmith", "check", "chainguard"], &[]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert_eq!(
        text(&good.stdout).trim(),
        "chainguard: as the seed requires (upstreams in order: cgr-public, cgr-private)"
    );
    let broken = run(&served, &["cloudsmith", "check", "broken"], &[]);
    assert_eq!(broken.status.code(), Some(1));
    let report = text(&broken.stdout);
    assert!(
        report.contains(
            "broken: upstream cgr: the mode is \"Proxy Only\"; Cache and Proxy keeps what is pulled"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "broken: upstream cgr: https://cgr.dev has auth_mode \"None\"; an organization's \
             images need Username and Password from a pull token bound to registry.pull"
        ),
        "{report}"
    );
    assert!(
        report.contains("  hint: set mode to Cache and Proxy"),
        "{report}"
    );
    assert!(
        text(&broken.stderr).contains("broken breaks 2 of the seed's rules"),
        "{}",
        text(&broken.stderr)
    );
    let checked = json_of(&run(
        &served,
        &["--output", "json", "cloudsmith", "check", "chainguard"],
        &[],
    ));
    assert_eq!(
        checked,
        json!({"name": "chainguard", "upstreams": ["cgr-public", "cgr-private"], "problems": []})
    );
    let empty = run(&served, &["cloudsmith", "check", "empty"], &[]);
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        text(&empty.stdout).contains("empty: it holds no Docker upstream"),
        "{}",
        text(&empty.stdout)
    );

    // delete, then it is absent; missing and malformed names.
    for (name, result) in [("broken", "removed"), ("broken", "already absent")] {
        let deleted = run(&served, &["cloudsmith", "repos", "delete", name], &[]);
        assert!(deleted.status.success(), "{}", text(&deleted.stderr));
        assert_eq!(text(&deleted.stdout).trim(), format!("{name}: {result}"));
    }
    let missing = run(&served, &["cloudsmith", "repos", "show", "broken"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr)
            .contains("no repository \"broken\" in workspace pull-through-sandbox"),
        "{}",
        text(&missing.stderr)
    );
    let missing = run(&served, &["cloudsmith", "check", "nope"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    for args in [
        &["cloudsmith", "repos", "show", "bad slug"][..],
        &["cloudsmith", "repos", "delete", "../chainguard"][..],
        &["cloudsmith", "check", "a/b"][..],
    ] {
        let refused = run(&served, args, &[]);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&refused.stderr)
        );
    }
    let listed = json_of(&run(
        &served,
        &["--output", "json", "cloudsmith", "repos", "list"],
        &[],
    ));
    let slugs: Vec<&str> = listed["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["chainguard", "empty"]);
}

#[test]
fn a_missing_or_refused_key_is_named_by_its_variable() {
    let served = serve();
    let unset = Command::new(BIN)
        .args(["cloudsmith", "repos", "list"])
        .envs(
            served
                .env
                .iter()
                .filter(|(k, _)| *k != "CLOUDSMITH_API_KEY"),
        )
        .env_remove("CLOUDSMITH_API_KEY")
        .output()
        .unwrap();
    assert_eq!(unset.status.code(), Some(2), "{}", text(&unset.stderr));
    assert!(
        text(&unset.stderr).contains("CLOUDSMITH_API_KEY"),
        "{}",
        text(&unset.stderr)
    );
    let refused = run(
        &served,
        &["cloudsmith", "repos", "list"],
        &[(
            "CLOUDSMITH_API_KEY",
            "0000000000000000000000000000000000000000",
        )],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("the API key in CLOUDSMITH_API_KEY was refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("0000000000"), "{stderr}");
}

#[test]
fn sandbox_serve_lists_the_cloudsmith_fakes_and_its_env_file_carries_their_variables() {
    let served = serve();
    assert_eq!(served.env["CLOUDSMITH_OWNER"], OWNER);
    assert_eq!(served.env["CLOUDSMITH_USER"], "sandbox-user");
    assert_eq!(served.env["CLOUDSMITH_API_KEY"].len(), 40);
    for var in ["CLOUDSMITH_API_URL", "CLOUDSMITH_DOCKER_URL"] {
        assert!(
            served.env[var].starts_with("http://127.0.0.1:") && served.env[var].ends_with('/'),
            "{var}={}",
            served.env[var]
        );
    }
    assert_ne!(
        served.env["CLOUDSMITH_API_URL"],
        served.env["CLOUDSMITH_DOCKER_URL"]
    );
    // The variables are all a client needs: the API answers the key as its user's.
    let user = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::Client::new()
                .get(format!("{}user/self/", served.env["CLOUDSMITH_API_URL"]))
                .header("X-Api-Key", &served.env["CLOUDSMITH_API_KEY"])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        });
    assert_eq!(user["authenticated"], true);
    assert_eq!(user["slug"], "sandbox-user");

    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("sandbox.env");
    let output = Command::new(BIN)
        .args(["sandbox", "serve", "--stop-after", "1", "--env-file"])
        .arg(&env_file)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for name in ["cloudsmith", "cloudsmith-docker"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("  {name:<20} http://127.0.0.1:"))),
            "{name} in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(
            "\"cloudsmith\" is api.cloudsmith.io and \"cloudsmith-docker\" docker.cloudsmith.io"
        ),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&env_file).unwrap();
    for var in [
        "CLOUDSMITH_API_KEY",
        "CLOUDSMITH_API_URL",
        "CLOUDSMITH_DOCKER_URL",
        "CLOUDSMITH_OWNER",
        "CLOUDSMITH_USER",
    ] {
        assert!(
            written.lines().any(|l| l.starts_with(&format!("{var}="))),
            "{var} in:\n{written}"
        );
    }
}
