//! `pull-through chainguard ...` against `pull-through sandbox serve`, configured only by
//! the env file the sandbox writes, as a user's shell would be.

mod common;

use common::{run, serve, text};

#[test]
fn the_chainctl_steps_of_the_tutorials() {
    let served = serve();
    let org_id = served.env["CHAINGUARD_ORG_ID"].clone();

    let orgs = run(&served, &["chainguard", "orgs", "list"], &[]);
    assert!(orgs.status.success(), "{}", text(&orgs.stderr));
    assert_eq!(text(&orgs.stdout).trim(), format!("{org_id}  example.com"));

    let roles = run(
        &served,
        &[
            "--output",
            "json",
            "chainguard",
            "roles",
            "list",
            "--name",
            "apk.pull",
        ],
        &[],
    );
    let roles: serde_json::Value = serde_json::from_slice(&roles.stdout).unwrap();
    assert_eq!(roles["roles"][0]["name"], "apk.pull");
    assert_eq!(roles["roles"][0]["built_in"], true);

    // A pull token needs somewhere to put the secret, decided before anything is created.
    let refused = run(
        &served,
        &["chainguard", "pull-token", "create", "--org", "example.com"],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("--secrets-out"));
    let listed = run(
        &served,
        &[
            "--output",
            "json",
            "chainguard",
            "pull-token",
            "list",
            "--org",
            "example.com",
        ],
        &[],
    );
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        listed["pull_tokens"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );

    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("pull-token.env");
    let created = run(
        &served,
        &[
            "--secrets-out",
            secrets.to_str().unwrap(),
            "chainguard",
            "pull-token",
            "create",
            "--org",
            "example.com",
            "--role",
            "apk.pull",
            "--ttl",
            "48h",
            "-o",
            "env",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let printed = text(&created.stdout);
    assert!(
        printed.contains("CHAINGUARD_TOKEN=[not shown]"),
        "{printed}"
    );
    let written = std::fs::read_to_string(&secrets).unwrap();
    let identity = written
        .lines()
        .find_map(|l| l.strip_prefix("CHAINGUARD_IDENTITY_ID="))
        .unwrap()
        .to_owned();
    let token = written
        .lines()
        .find_map(|l| l.strip_prefix("CHAINGUARD_TOKEN="))
        .unwrap()
        .to_owned();
    assert!(identity.starts_with(&format!("{org_id}/")));
    assert!(!printed.contains(&token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The pull token works as an upstream OIDC token for its own identity, read from a
    // token file and exchanged at the fake STS (CHAINGUARD_IDENTITY + token file).
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, &token).unwrap();
    let as_identity = run(
        &served,
        &[
            "chainguard",
            "token",
            "--audience",
            "apk.cgr.dev",
            "--show-secrets",
        ],
        &[
            ("CHAINGUARD_TOKEN", ""),
            ("CHAINGUARD_IDENTITY", &identity),
            ("CHAINGUARD_OIDC_TOKEN_FILE", token_file.to_str().unwrap()),
        ],
    );
    assert!(
        as_identity.status.success(),
        "{}",
        text(&as_identity.stderr)
    );
    assert_eq!(
        text(&as_identity.stdout).trim().split('.').count(),
        3,
        "a minted token"
    );

    // The same upstream token from an environment variable.
    let from_env_var = run(
        &served,
        &[
            "chainguard",
            "token",
            "--audience",
            "apk.cgr.dev",
            "--show-secrets",
        ],
        &[
            ("CHAINGUARD_TOKEN", ""),
            ("CHAINGUARD_IDENTITY", &identity),
            ("CHAINGUARD_OIDC_TOKEN", &token),
        ],
    );
    assert!(
        from_env_var.status.success(),
        "{}",
        text(&from_env_var.stderr)
    );
    assert_eq!(text(&from_env_var.stdout).trim().split('.').count(), 3);

    // The env file's console token is exchanged for the audience asked for, not
    // printed as if it were for apk.cgr.dev.
    let scratch = tempfile::tempdir().unwrap();
    let journal = scratch.path().join("journal.jsonl");
    let exchanged = run(
        &served,
        &[
            "--journal",
            journal.to_str().unwrap(),
            "chainguard",
            "token",
            "--audience",
            "apk.cgr.dev",
            "--show-secrets",
        ],
        &[],
    );
    assert!(exchanged.status.success(), "{}", text(&exchanged.stderr));
    // The exchange at the STS is in the journal, without the token.
    let recorded = std::fs::read_to_string(&journal).unwrap();
    assert!(recorded.contains("/sts/exchange"), "{recorded}");
    assert!(
        !recorded.contains(text(&exchanged.stdout).trim()),
        "{recorded}"
    );
    let payload = text(&exchanged.stdout)
        .trim()
        .split('.')
        .nth(1)
        .map(str::to_owned)
        .unwrap();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::prelude::BASE64_URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "apk.cgr.dev");

    let list = run(
        &served,
        &["chainguard", "pull-token", "list", "--org", &org_id],
        &[],
    );
    assert!(text(&list.stdout).contains(&identity));
    let revoked = run(
        &served,
        &["chainguard", "pull-token", "revoke", &identity],
        &[],
    );
    assert!(text(&revoked.stdout).contains("Removed"));
    let again = run(
        &served,
        &["chainguard", "pull-token", "revoke", &identity],
        &[],
    );
    assert!(text(&again.stdout).contains("AlreadyAbsent"));

    let status = run(&served, &["chainguard", "status"], &[]);
    assert!(
        text(&status.stdout).contains("example.com: owner"),
        "{}",
        text(&status.stdout)
    );
    let no_secret_destination = run(&served, &["chainguard", "token"], &[]);
    assert_eq!(no_secret_destination.status.code(), Some(2));
}

#[test]
fn bad_input_and_bad_credentials() {
    let served = serve();
    let bad_ttl = run(
        &served,
        &[
            "--show-secrets",
            "chainguard",
            "pull-token",
            "create",
            "--org",
            "example.com",
            "--ttl",
            "9000h",
        ],
        &[],
    );
    assert_eq!(bad_ttl.status.code(), Some(2), "{}", text(&bad_ttl.stderr));
    assert!(text(&bad_ttl.stderr).contains("8760h"));
    // An unwritable --secrets-out is refused before any pull token is created.
    let unwritable = run(
        &served,
        &[
            "--secrets-out",
            "/nonexistent-folder/pull.env",
            "chainguard",
            "pull-token",
            "create",
            "--org",
            "example.com",
        ],
        &[],
    );
    assert_eq!(
        unwritable.status.code(),
        Some(2),
        "{}",
        text(&unwritable.stderr)
    );
    assert!(text(&unwritable.stderr).contains("/nonexistent-folder does not exist"));
    let listed = run(
        &served,
        &["chainguard", "pull-token", "list", "--org", "example.com"],
        &[],
    );
    assert!(listed.status.success());
    assert_eq!(
        text(&listed.stdout).trim(),
        "",
        "no pull token was left behind"
    );
    let unknown_org = run(
        &served,
        &[
            "chainguard",
            "pull-token",
            "list",
            "--org",
            "nobody.example",
        ],
        &[],
    );
    assert_eq!(unknown_org.status.code(), Some(2));
    assert!(text(&unknown_org.stderr).contains("nobody.example"));
    let wrong_token = run(
        &served,
        &["chainguard", "status"],
        &[("CHAINGUARD_TOKEN", "not-a-token")],
    );
    assert_eq!(wrong_token.status.code(), Some(1));
    assert!(
        text(&wrong_token.stderr).contains("not authenticated"),
        "{}",
        text(&wrong_token.stderr)
    );
    assert!(!text(&wrong_token.stderr).contains("not-a-token"));
}

#[test]
fn github_actions_oidc_tokens_are_exchanged() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("pull-token.env");
    let created = run(
        &served,
        &[
            "--secrets-out",
            secrets.to_str().unwrap(),
            "chainguard",
            "pull-token",
            "create",
            "--org",
            "example.com",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let written = std::fs::read_to_string(&secrets).unwrap();
    let identity = written
        .lines()
        .find_map(|l| l.strip_prefix("CHAINGUARD_IDENTITY_ID="))
        .unwrap()
        .to_owned();
    let token = written
        .lines()
        .find_map(|l| l.strip_prefix("CHAINGUARD_TOKEN="))
        .unwrap()
        .to_owned();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let actions = runtime.block_on(async {
        use wiremock::matchers::{header, method, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("api-version", "2.0"))
            .and(query_param("audience", "issuer.enforce.dev"))
            .and(header("authorization", "Bearer actions-request-token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": token})),
            )
            .expect(1)
            .mount(&server)
            .await;
        server
    });
    let output = run(
        &served,
        &[
            "chainguard",
            "token",
            "--audience",
            "cgr.dev",
            "--show-secrets",
        ],
        &[
            ("CHAINGUARD_TOKEN", ""),
            ("CHAINGUARD_IDENTITY", &identity),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{}/token?api-version=2.0", actions.uri()),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "actions-request-token"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim().split('.').count(), 3);
    runtime.block_on(actions.verify());
}

#[test]
fn role_bindings_renderings_and_prune() {
    let served = serve();
    let org_id = served.env["CHAINGUARD_ORG_ID"].clone();
    // -o docker: the seed's `docker login "cgr.dev" --username ... --password ...` line.
    let docker = run(
        &served,
        &[
            "--show-secrets",
            "chainguard",
            "pull-token",
            "create",
            "--org",
            "example.com",
            "-o",
            "docker",
        ],
        &[],
    );
    assert!(docker.status.success(), "{}", text(&docker.stderr));
    let line = text(&docker.stdout);
    assert!(
        line.contains(&format!("docker login \"cgr.dev\" --username \"{org_id}/")),
        "{line}"
    );
    // -o json with --output json: one document naming the identity.
    let created = run(
        &served,
        &[
            "--output",
            "json",
            "--show-secrets",
            "chainguard",
            "pull-token",
            "create",
            "--org",
            "example.com",
            "--role",
            "apk.pull",
            "-o",
            "json",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let document: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let identity = document["identity_id"].as_str().unwrap().to_owned();
    assert!(identity.starts_with(&format!("{org_id}/")), "{document}");

    // A second binding for the identity, then its deletion, twice.
    let bound = run(
        &served,
        &[
            "--output",
            "json",
            "chainguard",
            "role-binding",
            "create",
            "--org",
            "example.com",
            "--identity",
            &identity,
            "--role",
            "registry.pull",
        ],
        &[],
    );
    assert!(bound.status.success(), "{}", text(&bound.stderr));
    let binding: serde_json::Value = serde_json::from_slice(&bound.stdout).unwrap();
    assert_eq!(binding["role"], "registry.pull");
    let binding_id = binding["id"].as_str().unwrap().to_owned();
    let deleted = run(
        &served,
        &["chainguard", "role-binding", "delete", &binding_id],
        &[],
    );
    assert_eq!(
        text(&deleted.stdout).trim(),
        format!("{binding_id}: Removed")
    );
    let again = run(
        &served,
        &["chainguard", "role-binding", "delete", &binding_id],
        &[],
    );
    assert_eq!(
        text(&again.stdout).trim(),
        format!("{binding_id}: AlreadyAbsent")
    );
    let unknown_role = run(
        &served,
        &[
            "chainguard",
            "role-binding",
            "create",
            "--org",
            "example.com",
            "--identity",
            &identity,
            "--role",
            "no.such.role",
        ],
        &[],
    );
    assert_ne!(unknown_role.status.code(), Some(0));
    assert!(text(&unknown_role.stderr).contains("no.such.role"));

    // Nothing has expired yet, so prune deletes nothing.
    let pruned = run(
        &served,
        &["chainguard", "pull-token", "prune", "--org", "example.com"],
        &[],
    );
    assert_eq!(
        text(&pruned.stdout).trim(),
        "deleted 0 expired pull token(s)"
    );
}
