//! The main job end to end: `pull-through plan | apply | verify | status | rotate |
//! destroy` with the shipped seeds config, against `pull-through sandbox serve` and the
//! embedded sandbox.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use common::flow::*;
use common::{serve, text};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

#[test]
fn the_seeds_lifecycle_plan_apply_verify_status_rotate_destroy() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let journal = |name: &str| dir.path().join(name);

    // plan on an empty instance: everything to create, nothing written.
    let plan = flow(
        &served,
        &["plan"],
        &["--journal", journal("plan.jsonl").to_str().unwrap()],
    );
    expect_code(&plan, 0);
    let plan = json(&plan);
    assert_eq!(plan["command"], "plan");
    assert_eq!(plan["changes"], true);
    let actions: Vec<_> = by_cache(&plan, "action")
        .into_iter()
        .map(|(c, a)| (c, a.as_str().unwrap().to_owned()))
        .collect();
    assert!(actions.iter().all(|(_, a)| a == "create"), "{actions:?}");
    let tokens: Vec<_> = by_cache(&plan, "pull_token")
        .into_iter()
        .filter(|(_, t)| !t.is_null())
        .map(|(c, t)| {
            (
                c,
                t["action"].as_str().unwrap().to_owned(),
                t["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        tokens,
        [
            (
                "cgr-private".to_owned(),
                "create".to_owned(),
                "registry.pull".to_owned()
            ),
            (
                "cg-private".to_owned(),
                "create".to_owned(),
                "apk.pull".to_owned()
            ),
            (
                "chainguard-private".to_owned(),
                "create".to_owned(),
                "registry.pull".to_owned()
            ),
            (
                "cloudsmith-private".to_owned(),
                "create".to_owned(),
                "registry.pull".to_owned()
            ),
        ]
    );
    let cgr_public = plan["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cache"] == "cgr-public")
        .unwrap();
    let fields: Vec<(&str, &Value)> = cgr_public["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), &f["after"]))
        .collect();
    let url = serde_json::json!({"type": "text", "value": "https://cgr.dev/"});
    let on = serde_json::json!({"type": "bool", "value": true});
    assert!(fields.contains(&("url", &url)), "{fields:?}");
    assert!(
        fields.contains(&("enableTokenAuthentication", &on)),
        "{fields:?}"
    );
    assert!(
        writes(&journal("plan.jsonl")).is_empty(),
        "plan wrote: {:?}",
        writes(&journal("plan.jsonl"))
    );

    // apply: pull tokens, remotes, virtuals; client access for every cache.
    let applied = flow(&served, &["apply"], &[]);
    expect_code(&applied, 0);
    let applied = json(&applied);
    assert_eq!(results(&applied), all("created"));
    let made: Vec<_> = by_cache(&applied, "pull_token")
        .into_iter()
        .filter(|(_, t)| !t.is_null())
        .map(|(c, t)| (c, t["action"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        made,
        PRIVATE_CACHES.map(|c| (c.to_owned(), "created".to_owned()))
    );
    let access: Vec<&str> = applied["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["cache"].as_str().unwrap())
        .collect();
    assert_eq!(access, SEED_CACHES);
    let host = served.env["ARTIFACTORY_URL"]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let lines = |cache: &str| -> Vec<String> {
        applied["access"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["cache"] == cache)
            .unwrap()["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        lines("cgr-virt"),
        [
            format!(
                "docker login {host} --username admin --password \"$ARTIFACTORY_ACCESS_TOKEN\""
            ),
            format!("docker pull {host}/cgr-virt/chainguard/go:latest"),
            format!("docker pull {host}/cgr-virt/example.com/chainguard-base:latest"),
        ]
    );
    assert_eq!(
        lines("cg-private")[0],
        format!("http://admin:${{ARTIFACTORY_ACCESS_TOKEN}}@{host}/artifactory/cg-private/")
    );
    let secret = &served.env["ARTIFACTORY_ACCESS_TOKEN"];
    assert!(
        !serde_json::to_string(&applied)
            .unwrap()
            .contains(secret.as_str())
    );

    // plan and apply again: nothing to do, nothing written.
    let again = json(&flow(&served, &["plan"], &[]));
    assert_eq!(again["changes"], false, "{again:#}");
    let kept: Vec<_> = by_cache(&again, "pull_token")
        .into_iter()
        .filter(|(_, t)| !t.is_null())
        .map(|(_, t)| t["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept, ["keep", "keep", "keep", "keep"]);
    let second = flow(
        &served,
        &["apply"],
        &["--journal", journal("apply2.jsonl").to_str().unwrap()],
    );
    expect_code(&second, 0);
    assert_eq!(results(&json(&second)), all("unchanged"));
    assert!(
        writes(&journal("apply2.jsonl")).is_empty(),
        "second apply wrote: {:?}",
        writes(&journal("apply2.jsonl"))
    );

    // verify: a manifest per Docker cache, the index and a package per APK cache.
    let verified = flow(&served, &["verify"], &[]);
    expect_code(&verified, 0);
    let verified = json(&verified);
    assert_eq!(verified["ok"], true);
    let probes: Vec<_> = by_cache(&verified, "probe")
        .into_iter()
        .map(|(c, p)| format!("{c}: {}", p.as_str().unwrap()))
        .collect();
    assert_eq!(
        probes,
        [
            "cgr-public: manifest chainguard/go:latest",
            "cgr-private: manifest example.com/chainguard-base:latest",
            "cgr-virt: manifest chainguard/go:latest",
            "cg-private: x86_64/APKINDEX.tar.gz and package libstdc++",
            "cg-chainguard: x86_64/APKINDEX.tar.gz",
            "cg-extras: x86_64/APKINDEX.tar.gz",
            "cg-apk-virt: x86_64/APKINDEX.tar.gz and package libstdc++",
            "chainguard-pull-through: manifest chainguard/go:latest",
            "chainguard-private: manifest example.com/chainguard-base:latest",
            "chainguard-virt: manifest chainguard/go:latest",
            "cloudsmith-public: manifest chainguard/go:latest",
            "cloudsmith-private: manifest example.com/chainguard-base:latest",
            "chainguard: manifest chainguard/go:latest",
        ]
    );
    for (cache, checks) in by_cache(&verified, "checks") {
        let checks = checks.as_array().unwrap();
        // A Docker cache: one manifest; an APK cache: the index and a package.
        let wanted = if cache.starts_with("cg-") { 2 } else { 1 };
        assert_eq!(checks.len(), wanted, "{cache}: {checks:?}");
        assert!(
            checks.iter().all(|c| c["result"] == "passed"),
            "{cache}: {checks:?}"
        );
    }

    // status: everything exists, with the three tokens in use.
    let status = json(&flow(&served, &["status"], &[]));
    assert!(
        by_cache(&status, "exists")
            .iter()
            .all(|(_, e)| **e == Value::Bool(true))
    );
    let before = token_ids(&status);
    assert_eq!(before.len(), 4);
    assert_eq!(status["unused_pull_tokens"], Value::Array(vec![]));

    // rotate: new tokens written and verified, then the old ones revoked.
    let rotated = flow(&served, &["rotate"], &[]);
    expect_code(&rotated, 0);
    let rotated = json(&rotated);
    assert_eq!(
        results(&rotated),
        PRIVATE_CACHES.map(|c| (c.to_owned(), "rotated".to_owned()))
    );
    let revoked: BTreeSet<String> = strings_of(&rotated, "revoked");
    assert_eq!(revoked, before);
    let after = token_ids(&json(&flow(&served, &["status"], &[])));
    assert_eq!(after.len(), 4);
    assert!(after.is_disjoint(&before));
    expect_code(&flow(&served, &["verify"], &[]), 0);

    // destroy needs a confirmation; without a terminal, --yes.
    let refused = flow(&served, &["destroy"], &[]);
    expect_code(&refused, 2);
    assert!(
        text(&refused.stderr).contains("pass --yes"),
        "{}",
        text(&refused.stderr)
    );
    let destroyed = flow(&served, &["destroy", "--yes"], &[]);
    expect_code(&destroyed, 0);
    let destroyed = json(&destroyed);
    let deleted: BTreeSet<String> = results(&destroyed)
        .into_iter()
        .filter(|(_, r)| r == "deleted")
        .map(|(c, _)| c)
        .collect();
    assert_eq!(deleted.len(), SEED_CACHES.len());
    let order: Vec<String> = results(&destroyed).into_iter().map(|(c, _)| c).collect();
    let position = |name: &str| order.iter().position(|c| c == name).unwrap();
    assert!(
        position("cgr-virt") < position("cgr-public")
            && position("cg-apk-virt") < position("cg-private")
            && position("chainguard-virt") < position("chainguard-pull-through")
            && position("chainguard-virt") < position("chainguard-private")
            && position("chainguard") < position("cloudsmith-public"),
        "{order:?}"
    );
    let revoked: BTreeSet<String> = destroyed["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(revoked, after);
    let status = json(&flow(&served, &["status"], &[]));
    assert!(
        by_cache(&status, "exists")
            .iter()
            .all(|(_, e)| **e == Value::Bool(false))
    );
    assert!(token_ids(&status).is_empty());

    // apply again: back to where it was.
    let reapplied = flow(&served, &["apply"], &[]);
    expect_code(&reapplied, 0);
    assert_eq!(results(&json(&reapplied)), all("created"));
}

#[test]
fn the_default_run_applies_verifies_and_replans_on_the_embedded_sandbox() {
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env_remove("ARTIFACTORY_URL")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let human = run(&["apply"]);
    expect_code(&human, 0);
    let stdout = text(&human.stdout);
    let header = stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(
            "pull-through apply: examples/seeds.toml (seeds) on the embedded sandbox (Artifactory \
             at http://127.0.0.1:"
        ) && header.contains("/, Google Artifact Registry at http://127.0.0.1:")
            && header.ends_with("/pull-through-sandbox)"),
        "{header}"
    );
    assert!(stdout.contains("All 13 caches pulled through."), "{stdout}");
    assert!(
        stdout.contains("No changes: everything is as the config says."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Summary: 13 caches applied on the embedded sandbox, 13 pulled through, second plan: no changes."),
        "{stdout}"
    );

    // Secrets are named by variable unless asked for.
    assert!(
        stdout.contains("--password \"$ARTIFACTORY_ACCESS_TOKEN\""),
        "{stdout}"
    );
    assert!(!stdout.contains("eyJ2ZXIiOiIyIn0.admin"), "{stdout}");
    // Seed 002 on Google Artifact Registry: the oauth2accesstoken login names the token's
    // variable and hands it to docker on stdin (never in its argv), the references name
    // project and repository, and each cache verified.
    assert!(
        stdout.contains(
            "    # or log in with the access token in GOOGLE_OAUTH_ACCESS_TOKEN\n      echo \
             \"$GOOGLE_OAUTH_ACCESS_TOKEN\" | docker login -u oauth2accesstoken --password-stdin \
             http://127.0.0.1:"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "/pull-through-sandbox/chainguard-private/example.com/chainguard-base:latest\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("gcloud auth configure-docker 127.0.0.1:"),
        "{stdout}"
    );
    for cache in [
        "chainguard-pull-through",
        "chainguard-private",
        "chainguard-virt",
    ] {
        assert!(
            stdout.contains(&format!("  ok   {cache} ")),
            "{cache} was not verified: {stdout}"
        );
    }
    assert!(!stdout.contains("ya29.sandbox-"), "{stdout}");
    let shown = text(&run(&["--show-secrets", "apply"]).stdout);
    assert!(!shown.contains("$ARTIFACTORY_ACCESS_TOKEN"), "{shown}");
    assert!(
        shown.contains("--password eyJ2ZXIiOiIyIn0.admin"),
        "{shown}"
    );
    assert!(
        shown.contains("http://admin:eyJ2ZXIiOiIyIn0.admin"),
        "{shown}"
    );
    // The token single-quoted on echo's line, still piped to docker's stdin.
    let gar_login = shown
        .lines()
        .find(|line| line.contains("--password-stdin http://"))
        .unwrap_or_else(|| panic!("no GAR login: {shown}"));
    let (echo, login) = gar_login.split_once(" | ").unwrap();
    assert!(
        echo.starts_with("      echo 'ya29.sandbox-")
            && echo.ends_with('\'')
            && !echo[12..echo.len() - 1].contains('\''),
        "{gar_login}"
    );
    assert!(
        login.starts_with("docker login -u oauth2accesstoken --password-stdin http://127.0.0.1:"),
        "{gar_login}"
    );

    // Google's variables of the user's shell neither stop the default run nor reach it: it
    // reads only the sandbox's.
    let in_a_gcloud_shell = Command::new(BIN)
        .args(["--output", "json", "apply"])
        .env_remove("ARTIFACTORY_URL")
        .env_remove("RUST_LOG")
        .env("GOOGLE_CLOUD_PROJECT", "my-real-project")
        .env("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.a-real-token")
        .output()
        .unwrap();
    expect_code(&in_a_gcloud_shell, 0);
    let printed = text(&in_a_gcloud_shell.stdout);
    assert!(
        !printed.contains("my-real-project") && printed.contains("/pull-through-sandbox/"),
        "{printed}"
    );
    let document = json(&in_a_gcloud_shell);
    assert_eq!(document["sandbox"], true);
    assert_eq!(document["ok"], true);
    assert_eq!(results(&document), all("created"));
    assert_eq!(document["plan_after"]["changes"], false);
    assert!(
        document["verify"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["passed"] == true)
    );

    // A backend in the environment without --config is refused rather than guessed at.
    let refused = Command::new(BIN)
        .args(["apply"])
        .env("ARTIFACTORY_URL", "https://example.jfrog.io")
        .output()
        .unwrap();
    expect_code(&refused, 2);
    assert!(
        text(&refused.stderr).contains("ARTIFACTORY_URL is set but no --config was given"),
        "{}",
        text(&refused.stderr)
    );
}

/// Each bad file or environment exits 2 before any request, naming file, line and field.
#[test]
fn bad_configs_exit_2_naming_the_field() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(seeds()).unwrap();
    let line_of = |needle: &str| good.lines().position(|l| l == needle).unwrap() + 1;
    let typo_at = format!(
        ":{}: caches[0].upstrem: unknown field `upstrem`",
        line_of("upstream = \"cgr.dev/chainguard\"")
    );
    let backend_at = format!(
        "seeds.toml:{}: backends.artifactory.token_env: ARTIFACTORY_ACCESS_TOKEN is not set",
        line_of("[backends.artifactory]")
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "org-id",
            good.replacen(
                "# org_id = \"0123456789abcdef0123456789abcdef01234567\"",
                "org_id = \"0123456789abcdef0123456789abcdef01234567\"",
                1,
            ),
            "chainguard.org_id: 0123456789abcdef0123456789abcdef01234567 is not the id of organization example.com",
        ),
        (
            "typo",
            good.replacen(
                "upstream = \"cgr.dev/chainguard\"",
                "upstrem = \"cgr.dev/chainguard\"",
                1,
            ),
            &typo_at,
        ),
        (
            "role",
            good.replacen(
                "pull_token = \"apk.pull\"",
                "pull_token = \"registry.pull\"",
                1,
            ),
            "caches[3].pull_token: \"registry.pull\" does not grant",
        ),
        (
            "member",
            good.replacen(
                "members = [\"cgr-public\", \"cgr-private\"]",
                "members = [\"cgr-public\", \"cgr-privat\"]",
                1,
            ),
            "caches[2].members: \"cgr-privat\" is not a cache",
        ),
        (
            "docker-key",
            good.replacen("name = \"cgr-public\"", "name = \"cgr_public\"", 1)
                .replace(
                    "\"cgr-public\", \"cgr-private\"",
                    "\"cgr_public\", \"cgr-private\"",
                ),
            "caches[0].name:",
        ),
        (
            "secret-in-file",
            good.replacen(
                "token_env = \"ARTIFACTORY_ACCESS_TOKEN\"",
                "token_env = \"eyJ2ZXIiOiIyIn0.secret\"",
                1,
            ),
            "backends.artifactory.token_env: the value (22 characters, not shown) is not an environment variable name",
        ),
    ];
    for (name, body, says) in cases {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, body).unwrap();
        let output = common::run(&served, &["--config", path.to_str().unwrap(), "plan"], &[]);
        expect_code(&output, 2);
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("{}", path.display())),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(says),
            "{name}: {stderr} should contain {says:?}"
        );
    }
    // The token variable unset: named with the line of its backend.
    let output = Command::new(BIN)
        .args(["--config", seeds().to_str().unwrap(), "plan"])
        .envs(
            served
                .env
                .iter()
                .filter(|(k, _)| *k != "ARTIFACTORY_ACCESS_TOKEN"),
        )
        .env_remove("ARTIFACTORY_ACCESS_TOKEN")
        .output()
        .unwrap();
    expect_code(&output, 2);
    assert!(
        text(&output.stderr).contains(&backend_at),
        "{}",
        text(&output.stderr)
    );
    // A token the instance refuses: said once, naming the variable.
    let refused = common::run(
        &served,
        &["--config", seeds().to_str().unwrap(), "plan"],
        &[("ARTIFACTORY_ACCESS_TOKEN", "eyJ2ZXIiOiIyIn0.not-a-token")],
    );
    expect_code(&refused, 1);
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("backends.artifactory.token_env:")
            && stderr.contains("refused the token in ARTIFACTORY_ACCESS_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-token"), "{stderr}");
    let missing = common::run(
        &served,
        &["--config", "/nonexistent/pull-through.toml", "plan"],
        &[],
    );
    expect_code(&missing, 2);
    assert!(text(&missing.stderr).contains("--config /nonexistent/pull-through.toml"));
    let unknown = flow(&served, &["rotate"], &["--cache", "nope"]);
    expect_code(&unknown, 2);
    assert!(text(&unknown.stderr).contains("--cache nope: not a cache"));
    let public = flow(&served, &["rotate"], &["--cache", "cgr-public"]);
    expect_code(&public, 2);
    assert!(
        text(&public.stderr)
            .contains("with a pull token; allowed: cgr-private, cg-private, chainguard-private, cloudsmith-private"),
        "{}",
        text(&public.stderr)
    );
}

/// The same flows against real services. Reads the config named by
/// `PULL_THROUGH_REAL_CONFIG` (default `examples/seeds.toml`, whose `org` you edit first;
/// it names an Artifactory, a Google Cloud project and a Cloudsmith workspace, and a copy
/// without some vendors' tables and caches needs only the others') and the variables it
/// names, plus Chainguard's
/// credentials from the environment.
/// `plan` must write nothing; with `PULL_THROUGH_REAL_APPLY=1` it also applies, verifies,
/// re-plans (no changes) and destroys.
#[test]
#[ignore = "needs the services the config names (the seeds: ARTIFACTORY_URL, ARTIFACTORY_ACCESS_TOKEN, ARTIFACTORY_USER; GOOGLE_CLOUD_PROJECT and Google credentials; CLOUDSMITH_API_KEY, CLOUDSMITH_OWNER, CLOUDSMITH_USER) and Chainguard credentials (CHAINGUARD_TOKEN)"]
fn real_services_plan_writes_nothing_and_apply_converges() {
    let config = std::env::var("PULL_THROUGH_REAL_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| seeds());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("plan.jsonl");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(["--output", "json"])
            .args(args)
            .output()
            .unwrap()
    };
    expect_code(&run(&["--journal", journal.to_str().unwrap(), "plan"]), 0);
    assert!(
        writes(&journal).is_empty(),
        "plan wrote: {:?}",
        writes(&journal)
    );
    if std::env::var("PULL_THROUGH_REAL_APPLY").as_deref() != Ok("1") {
        return;
    }
    expect_code(&run(&["apply"]), 0);
    expect_code(&run(&["verify"]), 0);
    assert_eq!(json(&run(&["plan"]))["changes"], false);
    expect_code(&run(&["destroy", "--yes"]), 0);
}
