//! Seed 004 through the program's flows on the Cloudsmith fake: the default run with the
//! other seeds, and seed 004 alone in each layout (`seeds.toml`'s shared repository, and a
//! repository per cache): apply, verify, a second plan and apply with nothing to do,
//! rotation, destroy, and a repository holding an upstream the config does not describe.

mod cloudsmith_support;

use std::process::Command;

use cloudsmith_support::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

#[test]
fn the_default_run_sets_up_seed_004_on_the_embedded_cloudsmith() {
    let output = Command::new(BIN)
        .arg("apply")
        .env_remove("ARTIFACTORY_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    let header = stdout.lines().next().unwrap();
    assert!(
        header.contains(" on the embedded sandbox (Artifactory at http://127.0.0.1:")
            && header.contains(", Cloudsmith at http://127.0.0.1:"),
        "{header}"
    );
    for line in [
        "  cloudsmith-public       created",
        "  chainguard              created",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in:\n{stdout}");
    }
    assert!(
        stdout.lines().any(
            |l| l.starts_with("  cloudsmith-private      created (pull token ")
                && l.contains(" created, registry.pull, ")
        ),
        "{stdout}"
    );
    // The seed's pull references: public images without chainguard/, the organization's
    // below its name, both through the one repository; the API key named by variable.
    let registry = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("    docker login "))
        .find(|rest| rest.contains("--username sandbox-user"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no Cloudsmith docker login in:\n{stdout}"))
        .to_owned();
    let section = stdout
        .split("\n  chainguard:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no access for chainguard in:\n{stdout}"));
    let expected = format!(
        "    docker login {registry} --username sandbox-user --password \"$CLOUDSMITH_API_KEY\"\n\
         \x20   docker pull {registry}/pull-through-sandbox/chainguard/nginx:latest\n\
         \x20   docker pull {registry}/pull-through-sandbox/chainguard/example.com/chainguard-base:latest\n"
    );
    assert!(section.starts_with(&expected), "{section}");
    for cache in ["cloudsmith-public", "cloudsmith-private", "chainguard"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("  ok   {cache:<23} manifest "))),
            "{cache} verified in:\n{stdout}"
        );
    }
    for line in [
        "= cloudsmith-public",
        "= cloudsmith-private",
        "= chainguard",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains(
            "Summary: 13 caches applied on the embedded sandbox, 13 pulled through, second \
             plan: no changes."
        ),
        "{stdout}"
    );
}

/// The repositories' slugs, sorted: apply makes the caches of one layer concurrently.
fn repositories(world: &World) -> Vec<String> {
    let mut slugs = world.cloudsmith.repository_slugs();
    slugs.sort();
    slugs
}

/// What seed 004 alone makes in each layout: `(repository, upstream, url, mode, priority,
/// auth_mode)` for every upstream the fake holds, by repository and priority.
fn upstreams(world: &World) -> Vec<(String, String, String, String, i64, String)> {
    let mut all: Vec<_> = repositories(world)
        .into_iter()
        .flat_map(|repository| {
            world
                .cloudsmith
                .upstreams(&repository)
                .into_iter()
                .map(move |u| {
                    (
                        repository.clone(),
                        u.name,
                        u.upstream_url,
                        u.mode,
                        u.priority,
                        u.auth_mode,
                    )
                })
        })
        .collect();
    all.sort_by(|a, b| (&a.0, a.4, &a.1).cmp(&(&b.0, b.4, &b.1)));
    all
}

fn upstream(
    repository: &str,
    name: &str,
    url: &str,
    priority: i64,
    auth: &str,
) -> (String, String, String, String, i64, String) {
    (
        repository.to_owned(),
        name.to_owned(),
        url.to_owned(),
        "Cache and Proxy".to_owned(),
        priority,
        auth.to_owned(),
    )
}

/// Apply, what the fake holds, verify, and a second plan and apply that change nothing.
fn apply_verify_replan(world: &World, layout: Layout) -> Value {
    let config = world.config("seed-004.toml", &seed_004(layout));
    let applied = world.flow(&config, &["apply"]);
    expect_code(&applied, 0);
    let applied = json(&applied);
    let registry = world.docker_host();
    let login =
        format!("docker login {registry} --username {USER} --password \"$CLOUDSMITH_API_KEY\"");
    match layout {
        Layout::Shared => {
            assert_eq!(
                results(&applied),
                pairs(&[
                    ("cloudsmith-public", "created"),
                    ("cloudsmith-private", "created"),
                    ("chainguard", "created"),
                ])
            );
            assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
            assert_eq!(
                upstreams(world),
                [
                    upstream(
                        "chainguard",
                        "cloudsmith-public",
                        "https://cgr.dev/chainguard",
                        1,
                        "None"
                    ),
                    upstream(
                        "chainguard",
                        "cloudsmith-private",
                        "https://cgr.dev",
                        2,
                        "Username and Password"
                    ),
                ]
            );
            assert_eq!(
                access_lines(&applied, "cloudsmith-private"),
                [
                    login.clone(),
                    format!(
                        "docker pull {registry}/{OWNER}/chainguard/example.com/chainguard-base:latest"
                    )
                ]
            );
        }
        Layout::OwnRepository => {
            assert_eq!(
                results(&applied),
                pairs(&[
                    ("cloudsmith-public", "created"),
                    ("cloudsmith-private", "created"),
                ])
            );
            assert_eq!(
                repositories(world),
                ["cloudsmith-private", "cloudsmith-public"]
            );
            assert_eq!(
                upstreams(world),
                [
                    upstream(
                        "cloudsmith-private",
                        "cloudsmith-private",
                        "https://cgr.dev",
                        1,
                        "Username and Password"
                    ),
                    upstream(
                        "cloudsmith-public",
                        "cloudsmith-public",
                        "https://cgr.dev/chainguard",
                        1,
                        "None"
                    ),
                ]
            );
            assert_eq!(
                access_lines(&applied, "cloudsmith-public"),
                [
                    login.clone(),
                    format!("docker pull {registry}/{OWNER}/cloudsmith-public/nginx:latest")
                ]
            );
        }
    }
    let secret = &world.env["CLOUDSMITH_API_KEY"];
    assert!(!serde_json::to_string(&applied).unwrap().contains(secret));

    let verified = world.flow(&config, &["verify"]);
    expect_code(&verified, 0);
    let verified = json(&verified);
    assert_eq!(verified["ok"], true);
    let probes: Vec<String> = verified["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}: {}", c["cache"], c["probe"]))
        .collect();
    let mut expected = vec![
        "\"cloudsmith-public\": \"manifest chainguard/go:latest\"".to_owned(),
        "\"cloudsmith-private\": \"manifest example.com/chainguard-base:latest\"".to_owned(),
    ];
    if layout == Layout::Shared {
        expected.push("\"chainguard\": \"manifest chainguard/go:latest\"".to_owned());
    }
    assert_eq!(probes, expected);

    let plan = json(&world.flow(&config, &["plan"]));
    assert_eq!(plan["changes"], false, "{plan:#}");
    let journal = world.dir.path().join("apply-again.jsonl");
    let again = world.flow(&config, &["--journal", journal.to_str().unwrap(), "apply"]);
    expect_code(&again, 0);
    assert!(
        results(&json(&again)).iter().all(|(_, r)| r == "unchanged"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(writes(&journal), Vec::<String>::new());
    applied
}

/// Rotation: a new pull token in the upstream's `auth_secret` (read from the fake, which
/// never answers it), a pull verified, the old token revoked, and still one upstream.
fn rotate(world: &World, layout: Layout) {
    let config = world.dir.path().join("seed-004.toml");
    let repository = match layout {
        Layout::Shared => "chainguard",
        Layout::OwnRepository => "cloudsmith-private",
    };
    let stored = || {
        world
            .cloudsmith
            .stored_auth_secret(repository, "cloudsmith-private")
            .unwrap()
            .expose()
            .to_owned()
    };
    let before_secret = stored();
    let before = token_ids(&json(&world.flow(&config, &["status"])));
    assert_eq!(before.len(), 1);
    let secrets_out = world.dir.path().join("rotated.env");
    let rotated = world.flow(
        &config,
        &["--secrets-out", secrets_out.to_str().unwrap(), "rotate"],
    );
    expect_code(&rotated, 0);
    let rotated = json(&rotated);
    assert_eq!(
        results(&rotated),
        pairs(&[("cloudsmith-private", "rotated")])
    );
    let outcome = &rotated["caches"][0];
    assert_eq!(outcome["revoked"], serde_json::json!(before));
    let new_identity = outcome["pull_token"]["identity_id"].as_str().unwrap();
    let written = secrets(&secrets_out);
    assert_eq!(
        written["PULL_TOKEN_CLOUDSMITH_PRIVATE_IDENTITY"], new_identity,
        "{written:?}"
    );
    // The upstream holds the new token: its password and, a new identity, its username.
    assert_ne!(stored(), before_secret);
    assert_eq!(stored(), written["PULL_TOKEN_CLOUDSMITH_PRIVATE"]);
    let private: Vec<_> = world
        .cloudsmith
        .upstreams(repository)
        .into_iter()
        .filter(|u| u.name == "cloudsmith-private")
        .collect();
    assert_eq!(private.len(), 1, "one upstream per cache");
    assert_eq!(private[0].auth_username.as_deref(), Some(new_identity));
    let total = world
        .cloudsmith
        .repository_slugs()
        .iter()
        .map(|r| world.cloudsmith.upstreams(r).len())
        .sum::<usize>();
    assert_eq!(total, 2, "a rotation adds no upstream");
    let after = token_ids(&json(&world.flow(&config, &["status"])));
    assert_eq!(after, [new_identity.to_owned()]);
    expect_code(&world.flow(&config, &["verify"]), 0);
}

/// Destroy: no upstream, repository or pull token left.
fn destroy(world: &World, layout: Layout) {
    let config = world.dir.path().join("seed-004.toml");
    let destroyed = world.flow(&config, &["destroy", "--yes"]);
    expect_code(&destroyed, 0);
    let destroyed = json(&destroyed);
    let expected = match layout {
        // The aggregate first (its claim on the order), then the upstreams; the
        // repository goes with the last of them.
        Layout::Shared => pairs(&[
            ("chainguard", "deleted"),
            ("cloudsmith-public", "deleted"),
            ("cloudsmith-private", "deleted"),
        ]),
        Layout::OwnRepository => pairs(&[
            ("cloudsmith-public", "deleted"),
            ("cloudsmith-private", "deleted"),
        ]),
    };
    assert_eq!(results(&destroyed), expected);
    assert_eq!(destroyed["revoked"].as_array().unwrap().len(), 1);
    assert!(world.cloudsmith.repository_slugs().is_empty());
    let status = json(&world.flow(&config, &["status"]));
    assert!(token_ids(&status).is_empty(), "{status:#}");
    assert!(
        status["caches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["exists"] == false),
        "{status:#}"
    );
}

#[test]
fn seed_004_alone_in_one_repository_applies_rotates_and_destroys() {
    let world = World::start();
    apply_verify_replan(&world, Layout::Shared);
    rotate(&world, Layout::Shared);
    destroy(&world, Layout::Shared);
}

#[test]
fn seed_004_alone_with_a_repository_per_cache_applies_rotates_and_destroys() {
    let world = World::start();
    apply_verify_replan(&world, Layout::OwnRepository);
    rotate(&world, Layout::OwnRepository);
    destroy(&world, Layout::OwnRepository);
}

#[test]
fn destroy_leaves_a_shared_repository_holding_an_upstream_the_config_does_not_describe() {
    let world = World::start();
    let config = world.config("seed-004.toml", &seed_004(Layout::Shared));
    expect_code(&world.flow(&config, &["apply"]), 0);
    world.add_foreign_upstream("chainguard");

    let destroyed = world.flow(&config, &["destroy", "--yes"]);
    expect_code(&destroyed, 1);
    let document = json(&destroyed);
    assert_eq!(
        results(&document),
        pairs(&[
            ("chainguard", "failed"),
            ("cloudsmith-public", "deleted"),
            ("cloudsmith-private", "deleted"),
        ])
    );
    let error = document["caches"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("not deleted: chainguard is a virtual over ")
            && error.contains("docker-hub"),
        "{error}"
    );
    assert!(
        text(&destroyed.stderr).contains("1 of 3 caches could not be deleted"),
        "{}",
        text(&destroyed.stderr)
    );
    // The config's upstreams went, and the token of the one that had it; the repository
    // stays with what it holds besides.
    assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
    let left: Vec<String> = world
        .cloudsmith
        .upstreams("chainguard")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(left, ["docker-hub"]);
    assert_eq!(document["revoked"].as_array().unwrap().len(), 1);
    assert!(token_ids(&json(&world.flow(&config, &["status"]))).is_empty());
}

#[test]
fn destroy_leaves_a_cache_s_own_repository_holding_another_upstream_and_says_so() {
    let world = World::start();
    let config = world.config("seed-004.toml", &seed_004(Layout::OwnRepository));
    expect_code(&world.flow(&config, &["apply"]), 0);
    world.add_foreign_upstream("cloudsmith-private");

    let destroyed = world.flow(&config, &["destroy", "--yes"]);
    expect_code(&destroyed, 0);
    assert_eq!(
        results(&json(&destroyed)),
        pairs(&[
            ("cloudsmith-public", "deleted"),
            ("cloudsmith-private", "deleted"),
        ])
    );
    let stderr = text(&destroyed.stderr);
    assert!(
        stderr.contains(
            "kept repository cloudsmith-private: it still holds the Docker upstream \"docker-hub\""
        ),
        "{stderr}"
    );
    assert_eq!(world.cloudsmith.repository_slugs(), ["cloudsmith-private"]);
    let left: Vec<String> = world
        .cloudsmith
        .upstreams("cloudsmith-private")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(left, ["docker-hub"]);
}

#[test]
fn a_bad_cloudsmith_table_or_key_is_named_by_file_line_and_field() {
    let world = World::start();
    let good = seed_004(Layout::Shared);
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l == needle).unwrap() + 1;

    let upper = good.replacen(
        "repository = \"chainguard\"",
        "repository = \"Chainguard\"",
        1,
    );
    let path = world.config("upper.toml", &upper);
    let output = world.run(&["--config", path.to_str().unwrap(), "plan"]);
    expect_code(&output, 2);
    let at = format!(
        "upper.toml:{}: backends.cloudsmith.repository: ",
        line_of(&upper, "repository = \"Chainguard\"")
    );
    assert!(
        text(&output.stderr).contains(&at),
        "{}",
        text(&output.stderr)
    );

    let apk = format!(
        "{good}\n[[caches]]\nname = \"cs-apk\"\nbackend = \"cloudsmith\"\nupstream = \"apk.cgr.dev/{{org}}\"\npull_token = \"apk.pull\"\n"
    );
    let path = world.config("apk.toml", &apk);
    let output = world.run(&["--config", path.to_str().unwrap(), "plan"]);
    expect_code(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "caches[3].upstream: cloudsmith does not support a cache of apk.cgr.dev/example.com: \
             Cloudsmith has an Alpine upstream, but no source shows it working with apk.cgr.dev"
        ),
        "{stderr}"
    );

    // The key's variable unset, then a key the API refuses: named, never shown.
    let path = world.config("seed-004.toml", &good);
    let output = Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "plan"])
        .envs(world.env.iter().filter(|(k, _)| *k != "CLOUDSMITH_API_KEY"))
        .env_remove("CLOUDSMITH_API_KEY")
        .output()
        .unwrap();
    expect_code(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("backends.cloudsmith.api_key_env: CLOUDSMITH_API_KEY is not set"),
        "{stderr}"
    );
    let refused = world.run_with(
        &["--config", path.to_str().unwrap(), "plan"],
        &[(
            "CLOUDSMITH_API_KEY",
            "0000000000000000000000000000000000000000",
        )],
    );
    expect_code(&refused, 1);
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("backends.cloudsmith.api_key_env: ")
            && stderr.contains("refused the token in CLOUDSMITH_API_KEY")
            && stderr.contains("the API key in CLOUDSMITH_API_KEY was refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("0000000000"), "{stderr}");
}
