//! The config checks through the program's factories: the fleet's own rules and
//! Artifactory's fields, each problem named by file, line and field.

use std::time::Duration;

use pull_through_core::{CacheName, OrgId, PackageFormat, Probe, PullTokenRole, Upstream};
use pull_through_fleet::{CacheIntent, Config, ConfigError};

use crate::flow_cmd::{SEEDS, SEEDS_FILE};

fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    Config::parse(file, text, &crate::factory::factories())
}

const GOOD: &str = r#"name = "t"
[chainguard]
org = "example.com"
[backends.art]
type = "artifactory"
url_env = "ARTIFACTORY_URL"
token_env = "ARTIFACTORY_ACCESS_TOKEN"
[[caches]]
name = "pub"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "priv"
upstream = "cgr.dev/{org}"
pull_token = "registry.pull"
[[caches]]
name = "virt"
members = ["pub", "priv"]
"#;

fn problem(text: &str) -> ConfigError {
    parse("t.toml", text).expect_err("the config should be refused")
}

/// `GOOD` with `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from:?} is not in GOOD");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_shipped_seeds_config_loads() {
    let config = parse(SEEDS_FILE, SEEDS).expect("seeds.toml is valid");
    let names: Vec<&str> = config.caches.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cgr-public",
            "cgr-private",
            "cgr-virt",
            "cg-private",
            "cg-chainguard",
            "cg-extras",
            "cg-apk-virt",
            "chainguard-pull-through",
            "chainguard-private",
            "chainguard-virt",
            "cloudsmith-public",
            "cloudsmith-private",
            "chainguard"
        ]
    );
    // Seed 002 on Google Artifact Registry: the project from the variable gcloud uses,
    // the tutorial's location, and no token_env (GOOGLE_OAUTH_ACCESS_TOKEN, else ADC).
    let gar = &config.backends["gar"];
    assert_eq!(gar.kind, "gar");
    assert_eq!(
        gar.string("project_env").unwrap().as_deref(),
        Some("GOOGLE_CLOUD_PROJECT")
    );
    assert_eq!(
        gar.string("location").unwrap().as_deref(),
        Some("us-central1")
    );
    assert_eq!(gar.string("token_env").unwrap(), None);
    let backends: Vec<(&str, &str)> = config
        .caches
        .iter()
        .map(|c| (c.name.as_str(), c.backend.as_str()))
        .collect();
    assert!(
        backends
            .iter()
            .all(|(name, backend)| (*backend == "gar") == name.starts_with("chainguard-")),
        "{backends:?}"
    );
    // Seed 004's upstreams and the order of its shared repository, named after it.
    assert!(
        backends
            .iter()
            .all(|(name, backend)| (*backend == "cloudsmith")
                == (name.starts_with("cloudsmith-") || *name == "chainguard")),
        "{backends:?}"
    );
    let authenticated = config
        .cache(&CacheName::new("chainguard-private").unwrap())
        .unwrap();
    assert!(matches!(
        &authenticated.kind,
        CacheIntent::Remote {
            pull_token: Some(PullTokenRole::RegistryPull),
            ..
        }
    ));
    let virt = config
        .cache(&CacheName::new("chainguard-virt").unwrap())
        .unwrap();
    assert!(matches!(
        &virt.kind,
        CacheIntent::Aggregate { members } if members.iter().map(CacheName::as_str).eq(["chainguard-pull-through", "chainguard-private"])
    ));
    assert_eq!(config.name, "seeds");
    assert_eq!(config.pull_token_ttl, Duration::from_secs(720 * 3600));
    let backend = &config.backends["artifactory"];
    assert_eq!(backend.kind, "artifactory");
    assert_eq!(
        backend.string("url_env").unwrap().as_deref(),
        Some("ARTIFACTORY_URL")
    );
    assert_eq!(
        backend.string("token_env").unwrap().as_deref(),
        Some("ARTIFACTORY_ACCESS_TOKEN")
    );
    assert_eq!(
        backend.string("user_env").unwrap().as_deref(),
        Some("ARTIFACTORY_USER")
    );
    let virt = config
        .cache(&CacheName::new("cg-apk-virt").unwrap())
        .unwrap();
    assert_eq!(virt.format, PackageFormat::Apk);
    let private = config
        .cache(&CacheName::new("cg-private").unwrap())
        .unwrap();
    assert!(matches!(
        &private.kind,
        CacheIntent::Remote {
            pull_token: Some(PullTokenRole::ApkPull),
            ..
        }
    ));
    assert_eq!(
        private.probe,
        Some(Probe::ApkIndex {
            arch: "x86_64".into(),
            package: Some("libstdc++".into())
        })
    );
    let public = config
        .cache(&CacheName::new("cgr-public").unwrap())
        .unwrap();
    assert_eq!(
        public.probe,
        Some(Probe::DockerManifest {
            image: "chainguard/go".into(),
            reference: "latest".into()
        })
    );
}

#[test]
fn a_good_config_resolves_formats_and_backends() {
    let config = parse("t.toml", GOOD).unwrap();
    let virt = &config.caches[2];
    assert_eq!(virt.backend, "art");
    assert_eq!(virt.format, PackageFormat::Docker);
    assert_eq!(virt.line, 15);
    let CacheIntent::Remote {
        upstream,
        pull_token,
    } = &config.caches[1].kind
    else {
        panic!("priv is a remote")
    };
    assert_eq!(*pull_token, Some(PullTokenRole::RegistryPull));
    let org_id = OrgId::new("0123456789abcdef0123456789abcdef01234567").unwrap();
    assert_eq!(
        upstream.resolve(&config.org, &org_id).unwrap(),
        Upstream::CgrPrivate {
            org: config.org.clone()
        }
    );
}

/// Each bad file is refused with the line, the field, and what is allowed.
#[test]
fn bad_configs_name_line_and_field() {
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            with("name = \"t\"", "name = \"T t\""),
            1,
            "name",
            "lowercase letters",
        ),
        (
            with("org = \"example.com\"", "org = \"\""),
            3,
            "chainguard.org",
            "organization",
        ),
        (
            with(
                "org = \"example.com\"",
                "org = \"example.com\"\norg_id = \"nope\"",
            ),
            4,
            "chainguard.org_id",
            "40",
        ),
        (
            with(
                "org = \"example.com\"",
                "org = \"example.com\"\npull_token_ttl = \"9000h\"",
            ),
            4,
            "chainguard.pull_token_ttl",
            "8760h",
        ),
        (
            with(
                "org = \"example.com\"",
                "org = \"example.com\"\npull_token_ttl = \"soon\"",
            ),
            4,
            "chainguard.pull_token_ttl",
            "720h",
        ),
        (
            with("type = \"artifactory\"", "type = \"nexus\""),
            5,
            "backends.art.type",
            "allowed: \"artifactory\"",
        ),
        (
            with("url_env = \"ARTIFACTORY_URL\"", "url_env = \"https://x\""),
            6,
            "backends.art.url_env",
            "never the secret",
        ),
        (
            with("url_env = \"ARTIFACTORY_URL\"", "url = \"ftp://x\""),
            6,
            "backends.art.url",
            "http(s) URL",
        ),
        (
            with("url_env = \"ARTIFACTORY_URL\"\n", ""),
            4,
            "backends.art",
            "missing url_env",
        ),
        (
            with(
                "token_env = \"ARTIFACTORY_ACCESS_TOKEN\"",
                "token_env = \"cmVmdGtu.secret\"",
            ),
            7,
            "backends.art.token_env",
            "never the secret",
        ),
        (
            with(
                "token_env = \"ARTIFACTORY_ACCESS_TOKEN\"",
                "token_env = \"T\"\ndocker_access = \"port\"",
            ),
            8,
            "backends.art.docker_access",
            "\"repository-path\", \"subdomain\"",
        ),
        (
            with("token_env = \"ARTIFACTORY_ACCESS_TOKEN\"", "token = \"x\""),
            7,
            "backends.art.token",
            "unknown field `token`",
        ),
        (
            with("name = \"pub\"", "name = \"pub lic\""),
            9,
            "caches[0].name",
            "pub lic",
        ),
        (
            with(
                "upstream = \"cgr.dev/chainguard\"",
                "upstrem = \"cgr.dev/chainguard\"",
            ),
            10,
            "caches[0].upstrem",
            "unknown field `upstrem`",
        ),
        (
            with(
                "upstream = \"cgr.dev/chainguard\"",
                "upstream = \"https://cgr.dev/\"",
            ),
            10,
            "caches[0].upstream",
            "allowed: cgr.dev/chainguard",
        ),
        (
            with(
                "upstream = \"cgr.dev/chainguard\"",
                "upstream = \"docker.io/library\"",
            ),
            10,
            "caches[0].upstream",
            "allowed:",
        ),
        (
            with(
                "upstream = \"cgr.dev/chainguard\"",
                "upstream = \"cgr.dev/{organization}\"",
            ),
            10,
            "caches[0].upstream",
            "{org} and {org_id}",
        ),
        (
            with("upstream = \"cgr.dev/chainguard\"", "upstream = 5"),
            10,
            "caches[0].upstream",
            "expected a string",
        ),
        (
            with(
                "upstream = \"cgr.dev/chainguard\"",
                "upstream = \"cgr.dev/chainguard\"\nbackend = \"other\"",
            ),
            11,
            "caches[0].backend",
            "allowed: \"art\"",
        ),
        (
            with(
                "upstream = \"cgr.dev/chainguard\"",
                "upstream = \"cgr.dev/chainguard\"\npull_token = \"registry.pull\"",
            ),
            11,
            "caches[0].pull_token",
            "public",
        ),
        (
            with("pull_token = \"registry.pull\"\n", ""),
            13,
            "caches[1].pull_token",
            "add pull_token = \"registry.pull\"",
        ),
        (
            with(
                "pull_token = \"registry.pull\"",
                "pull_token = \"apk.pull\"",
            ),
            14,
            "caches[1].pull_token",
            "allowed: \"registry.pull\"",
        ),
        (
            with(
                "upstream = \"cgr.dev/{org}\"",
                "upstream = \"cgr.dev/other.org\"",
            ),
            13,
            "caches[1].upstream",
            "another organization",
        ),
        (
            with(
                "upstream = \"cgr.dev/{org}\"\npull_token = \"registry.pull\"\n",
                "",
            ),
            11,
            "caches[1]",
            "missing upstream or members",
        ),
        (
            with(
                "members = [\"pub\", \"priv\"]",
                "members = [\"pub\", \"gone\"]",
            ),
            17,
            "caches[2].members",
            "\"gone\" is not a cache",
        ),
        (
            with("members = [\"pub\", \"priv\"]", "members = []"),
            17,
            "caches[2].members",
            "is empty",
        ),
        (
            with(
                "members = [\"pub\", \"priv\"]",
                "members = [\"pub\", \"virt\"]",
            ),
            17,
            "caches[2].members",
            "itself",
        ),
        (
            with(
                "members = [\"pub\", \"priv\"]",
                "members = [\"pub\"]\nformat = \"apk\"",
            ),
            18,
            "caches[2].format",
            "serves docker",
        ),
        (
            with(
                "members = [\"pub\", \"priv\"]",
                "members = [\"pub\"]\nformat = \"rpm\"",
            ),
            18,
            "caches[2].format",
            "allowed: \"docker\", \"apk\"",
        ),
        (
            with(
                "members = [\"pub\", \"priv\"]",
                "members = [\"pub\"]\npull_token = \"apk.pull\"",
            ),
            18,
            "caches[2].pull_token",
            "members",
        ),
        (
            with("name = \"virt\"", "name = \"pub\""),
            16,
            "caches[2].name",
            "named twice",
        ),
        (
            with(
                "members = [\"pub\", \"priv\"]",
                "members = [\"pub\"]\nprobe = \"\"",
            ),
            18,
            "caches[2].probe",
            "is empty",
        ),
        (
            format!(
                "{GOOD}[[caches]]\nname = \"apk\"\nupstream = \"apk.cgr.dev/chainguard\"\n[[caches]]\nname = \"mixed\"\nmembers = [\"pub\", \"apk\"]\n"
            ),
            23,
            "caches[4].members",
            "one format",
        ),
        (
            "name = \"t\"\n".to_owned(),
            1,
            "chainguard",
            "missing field `chainguard`",
        ),
        (
            "name = \"t\"\n[chainguard]\norg = \"o.com\"\n".to_owned(),
            4,
            "backends",
            "no backend",
        ),
        (
            GOOD.split("[[caches]]").next().unwrap().to_owned(),
            8,
            "caches",
            "no cache",
        ),
        (
            "name = \"t\"\n[chainguard\n".to_owned(),
            2,
            "chainguard",
            "unclosed table",
        ),
    ];
    for (text, line, field, says) in cases {
        let err = problem(&text);
        assert_eq!(
            (err.line, err.field.as_str()),
            (line, field),
            "{err}\nfor:\n{text}"
        );
        assert!(err.problem.contains(says), "{err:?} should say {says:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("t.toml:{line}: {field}: ")),
            "{err}"
        );
    }
}

#[test]
fn a_secret_pasted_for_a_variable_name_is_not_echoed() {
    let err = problem(&with(
        "token_env = \"ARTIFACTORY_ACCESS_TOKEN\"",
        "token_env = \"cmVmdGtuOjAxOmFiY2RlZg\"",
    ));
    assert_eq!(err.field, "backends.art.token_env");
    assert!(!err.to_string().contains("cmVmdGtu"), "{err}");
    assert!(err.problem.contains("22 characters, not shown"), "{err}");
}

#[test]
fn probes_take_tags_digests_and_packages() {
    let probe = |text: &str| {
        let config = parse(
            "t.toml",
            &with(
                "name = \"pub\"",
                &format!("name = \"pub\"\nprobe = \"{text}\""),
            ),
        )
        .unwrap();
        config.caches[0].probe.clone().unwrap()
    };
    let manifest = |image: &str, reference: &str| Probe::DockerManifest {
        image: image.into(),
        reference: reference.into(),
    };
    assert_eq!(probe("chainguard/go"), manifest("chainguard/go", "latest"));
    assert_eq!(
        probe("chainguard/go:1.23"),
        manifest("chainguard/go", "1.23")
    );
    let digest = format!("sha256:{}", "ab".repeat(32));
    assert_eq!(
        probe(&format!("chainguard/go@{digest}")),
        manifest("chainguard/go", &digest)
    );
}

#[test]
fn aggregate_cycles_are_refused() {
    let text = format!(
        "{GOOD}[[caches]]\nname = \"a\"\nmembers = [\"b\"]\n[[caches]]\nname = \"b\"\nmembers = [\"a\"]\n"
    );
    let err = problem(&text);
    assert_eq!(err.field, "caches[3].members");
    assert!(err.problem.contains("cycle"), "{err}");
}

#[test]
fn several_backends_need_a_backend_per_cache() {
    let text = with(
        "[[caches]]",
        "[backends.second]\ntype = \"artifactory\"\nurl = \"https://b.example\"\ntoken_env = \"B_TOKEN\"\n[[caches]]",
    );
    let err = problem(&text);
    assert_eq!(err.field, "caches[0].backend");
    assert!(err.problem.contains("\"art\", \"second\""), "{err}");
    let members_elsewhere = text
        .replacen(
            "upstream = \"cgr.dev/chainguard\"",
            "upstream = \"cgr.dev/chainguard\"\nbackend = \"second\"",
            1,
        )
        .replacen(
            "pull_token = \"registry.pull\"",
            "pull_token = \"registry.pull\"\nbackend = \"art\"",
            1,
        )
        .replacen(
            "members = [\"pub\", \"priv\"]",
            "members = [\"pub\", \"priv\"]\nbackend = \"art\"",
            1,
        );
    let err = problem(&members_elsewhere);
    assert!(err.problem.contains("same backend"), "{err}");
}
