//! `pull-through gar ...` against `pull-through sandbox serve`, configured only by the env
//! file the sandbox writes; and that env file's Google variables, with which a `gar-client`
//! of a user's own tool works as is.

mod common;

use std::collections::HashMap;

use gar_client::GarClient;
use serde_json::Value;

use common::flow::{expect_code, flow_with, json, seed_002_only};
use common::gar::*;
use common::{run, serve, text};

fn ok_json(output: &std::process::Output) -> Value {
    expect_code(output, 0);
    json(output)
}

#[test]
fn repos_list_show_delete_and_check() {
    let served = serve();
    let empty = ok_json(&run(
        &served,
        &["--output", "json", "gar", "repos", "list"],
        &[],
    ));
    assert_eq!(empty, serde_json::json!({"repositories": []}));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seed-002.toml");
    std::fs::write(&config, seed_002_only()).unwrap();
    expect_code(&flow_with(&served, &config, &["apply"]), 0);

    // --journal records every request of a client command, and never the token.
    let journal = dir.path().join("journal.jsonl");
    let listed = run(
        &served,
        &[
            "--journal",
            journal.to_str().unwrap(),
            "gar",
            "repos",
            "list",
        ],
        &[],
    );
    expect_code(&listed, 0);
    let lines: Vec<String> = text(&listed.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let username = |id: &str| {
        repository(&served, id).unwrap()["remoteRepositoryConfig"]["upstreamCredentials"]
            ["usernamePasswordCredentials"]["username"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        lines,
        [
            format!(
                "chainguard-private remote docker https://cgr.dev/ (authenticated as {})",
                username("chainguard-private")
            ),
            "chainguard-pull-through remote docker https://cgr.dev/".to_owned(),
            "chainguard-virt virtual docker chainguard-pull-through, chainguard-private".to_owned(),
        ]
    );
    let recorded = std::fs::read_to_string(&journal).unwrap();
    let record: Value = serde_json::from_str(recorded.lines().next().unwrap()).unwrap();
    assert_eq!(record["method"], "GET");
    assert!(
        record["url"].as_str().unwrap().ends_with(&format!(
            "/v1/projects/{PROJECT}/locations/{LOCATION}/repositories"
        )),
        "{record}"
    );
    assert!(!recorded.contains(served.env["GOOGLE_OAUTH_ACCESS_TOKEN"].as_str()));

    let listed = ok_json(&run(
        &served,
        &["--output", "json", "gar", "repos", "list"],
        &[],
    ));
    let public = &listed["repositories"][1];
    assert_eq!(public["id"], "chainguard-pull-through");
    assert_eq!(public["mode"], "remote");
    assert_eq!(public["format"], "docker");
    assert_eq!(public["upstream"], "https://cgr.dev/");
    assert_eq!(public["username"], Value::Null);
    assert_eq!(
        public["registryUri"],
        format!("{LOCATION}-docker.pkg.dev/{PROJECT}/chainguard-pull-through")
    );
    assert_eq!(
        listed["repositories"][2]["members"],
        serde_json::json!(["chainguard-pull-through", "chainguard-private"])
    );

    let shown = ok_json(&run(
        &served,
        &[
            "--output",
            "json",
            "gar",
            "repos",
            "show",
            "chainguard-private",
        ],
        &[],
    ));
    assert_eq!(shown["mode"], "REMOTE_REPOSITORY");
    assert_eq!(
        shown["remoteRepositoryConfig"]["commonRepository"]["uri"],
        "https://cgr.dev/"
    );
    let credentials =
        &shown["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"];
    assert!(
        credentials["passwordSecretVersion"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/secrets/{PRIVATE_SECRET}/versions/1")),
        "{credentials}"
    );

    // check: the rules, then a pull; the organization from the env file.
    let checked = run(&served, &["gar", "check", "chainguard-private"], &[]);
    expect_code(&checked, 0);
    let report = text(&checked.stdout);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "chainguard-private: as the tutorial requires");
    assert!(
        lines[1].starts_with(
            "chainguard-private: pulled manifest example.com/chainguard-base:latest: sha256:"
        ),
        "{report}"
    );
    assert_eq!(lines.len(), 2, "{report}");
    let public = run(
        &served,
        &[
            "--output",
            "json",
            "gar",
            "check",
            "chainguard-virt",
            "--probe",
            "chainguard/nginx",
        ],
        &[],
    );
    let public = ok_json(&public);
    assert_eq!(public["problems"], serde_json::json!([]));
    assert_eq!(public["probe"], "manifest chainguard/nginx:latest");
    assert_eq!(public["passed"], true);

    // A missing grant: named by the rules and by the pull, exit 1.
    remove_agent(&served, PRIVATE_SECRET);
    let broken = run(&served, &["gar", "check", "chainguard-private"], &[]);
    expect_code(&broken, 1);
    let report = text(&broken.stdout);
    assert!(
        report.starts_with(&format!(
            "chainguard-private: secretAccessor: {AGENT} does not hold {ACCESSOR} on secret \
             {PRIVATE_SECRET}; gcloud secrets add-iam-policy-binding {PRIVATE_SECRET} --project \
             {PROJECT} --member={AGENT} --role={ACCESSOR}, or apply the cache's spec\n"
        )),
        "{report}"
    );
    assert!(
        report.contains("chainguard-private: FAILED manifest example.com/chainguard-base:latest: ")
            && report.contains(&format!(
                "  hint: the Artifact Registry service agent {AGENT}"
            )),
        "{report}"
    );
    assert!(
        text(&broken.stderr).contains(
            "chainguard-private breaks 1 of the tutorial's rules, and the pull of manifest \
             example.com/chainguard-base:latest through it failed"
        ),
        "{}",
        text(&broken.stderr)
    );

    // Bad input exits 2 before any request; an absent repository exits 1.
    let bad = run(&served, &["gar", "repos", "show", "Bad_Name"], &[]);
    expect_code(&bad, 2);
    let bad_probe = run(
        &served,
        &["gar", "check", "chainguard-virt", "--probe", "a b"],
        &[],
    );
    expect_code(&bad_probe, 2);
    assert!(text(&bad_probe.stderr).contains("--probe \"a b\""));
    let missing = run(&served, &["gar", "repos", "show", "nope-nope"], &[]);
    expect_code(&missing, 1);
    assert!(
        text(&missing.stderr).contains(&format!(
            "no repository \"nope-nope\" in location {LOCATION} of project {PROJECT}"
        )),
        "{}",
        text(&missing.stderr)
    );
    let unset = run(
        &served,
        &["gar", "repos", "list"],
        &[("GOOGLE_CLOUD_PROJECT", "")],
    );
    expect_code(&unset, 2);
    assert!(
        text(&unset.stderr).contains("set GOOGLE_CLOUD_PROJECT"),
        "{}",
        text(&unset.stderr)
    );

    // delete: the virtual first (it names the others), then a remote and its secret.
    let deleted = run(&served, &["gar", "repos", "delete", "chainguard-virt"], &[]);
    expect_code(&deleted, 0);
    assert_eq!(text(&deleted.stdout).trim(), "chainguard-virt: removed");
    let deleted = run(
        &served,
        &["gar", "repos", "delete", "chainguard-private"],
        &[],
    );
    expect_code(&deleted, 0);
    assert_eq!(
        text(&deleted.stdout).trim(),
        format!("chainguard-private: removed; its secret {PRIVATE_SECRET} deleted")
    );
    assert_eq!(secret_ids(&served), Vec::<String>::new());
    let again = run(
        &served,
        &["gar", "repos", "delete", "chainguard-private"],
        &[],
    );
    assert_eq!(
        text(&again.stdout).trim(),
        "chainguard-private: already absent"
    );
    assert_eq!(repository_ids(&served), ["chainguard-pull-through"]);

    // A refused token: exit 1, the token's variable named, the token not shown.
    let refused = run(
        &served,
        &["gar", "repos", "list"],
        &[("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.not-the-token")],
    );
    expect_code(&refused, 1);
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("GOOGLE_OAUTH_ACCESS_TOKEN"), "{stderr}");
    assert!(!stderr.contains("ya29.not-the-token"), "{stderr}");
}

#[test]
fn sandbox_serve_writes_google_s_variables_and_a_gar_client_works_with_them() {
    let served = serve();
    let env = &served.env;
    assert!(env["GOOGLE_OAUTH_ACCESS_TOKEN"].starts_with("ya29.sandbox-"));
    assert_eq!(env["GOOGLE_CLOUD_PROJECT"], PROJECT);
    assert_eq!(env["GOOGLE_CLOUD_LOCATION"], LOCATION);
    for var in [
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
        "GAR_DOCKER_REGISTRY_URL",
    ] {
        // Root URLs as gcloud's overrides take them: the client appends v1/...
        assert!(
            env[var].starts_with("http://127.0.0.1:") && env[var].ends_with('/'),
            "{var}={}",
            env[var]
        );
    }
    let vars: HashMap<String, String> = env.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = GarClient::builder()
            .from_env_with(|var| vars.get(var).cloned())
            .build()
            .unwrap();
        assert_eq!(client.project(), PROJECT);
        assert_eq!(client.project_number().await.unwrap(), "123456789012");
        assert!(client.list_repositories().await.unwrap().is_empty());
        assert_eq!(
            client.docker_host(),
            vars["GAR_DOCKER_REGISTRY_URL"]
                .trim_start_matches("http://")
                .trim_end_matches('/')
        );
        // The sandbox lists Google's four services.
        let services: Value = reqwest::get(format!(
            "{}/_sandbox/services",
            vars["PULL_THROUGH_SANDBOX_URL"]
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let names: Vec<&str> = services
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        for service in [
            "artifactregistry",
            "secretmanager",
            "cloudresourcemanager",
            "gar-docker",
        ] {
            assert!(names.contains(&service), "{names:?}");
        }
    });
}
