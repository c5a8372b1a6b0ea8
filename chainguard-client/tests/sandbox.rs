//! End to end against the sandbox's Chainguard fakes: pull tokens made by the client,
//! verified by the fake STS, used by apk-repo against the fake APK repository and by the
//! registry challenge flow against the fake cgr.dev.

use std::sync::Arc;
use std::time::Duration;

use apk_repo::fetch::RepoClient;
use apk_repo::http_auth::HttpAuth;
use apk_repo::index::IndexError;
use apk_repo::repo_url::RepoUrl;
use chainguard_client::auth::{StaticToken, Sts, TokenSource};
use chainguard_client::{ChainguardClient, PullTokenOptions, RegistryAuth};
use pull_through_core::http::RetryConfig;
use pull_through_core::{Error, ExposeSecret, OrgId, PullTokenRole, SecretString};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;

struct World {
    sandbox: Sandbox,
    chainguard: Chainguard,
    client: ChainguardClient,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .start()
        .await
        .unwrap();
    let client = ChainguardClient::builder()
        .with_api_url(sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            chainguard.admin_token().expose(),
        )))
        .with_retry(RetryConfig::none())
        .with_binding_retry(vec![Duration::from_millis(10)])
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    World {
        sandbox,
        chainguard,
        client,
    }
}

fn org(world: &World) -> OrgId {
    OrgId::new(world.chainguard.org_id()).unwrap()
}

fn apk_repo(world: &World) -> RepoUrl {
    let base = world.sandbox.url("apk.cgr.dev").unwrap();
    RepoUrl::parse(&format!("{base}example.com")).unwrap()
}

fn host(world: &World, service: &str) -> String {
    world
        .sandbox
        .url(service)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_apk_pull_token_fetches_and_verifies_the_private_index() {
    let world = world().await;
    assert_eq!(
        world
            .client
            .resolve_organization("example.com")
            .await
            .unwrap(),
        org(&world)
    );

    let token = world
        .client
        .create_pull_token(&org(&world), PullTokenOptions::new(PullTokenRole::ApkPull))
        .await
        .unwrap();
    let auth = HttpAuth::basic(
        &host(&world, "apk.cgr.dev"),
        &token.identity_id,
        token.token.clone(),
    )
    .unwrap();
    let repo = RepoClient::builder(apk_repo(&world))
        .http_auth(auth)
        .build()
        .unwrap();

    let keys = repo
        .discover_keys()
        .await
        .unwrap()
        .expect("apk-configuration is served");
    assert_eq!(
        keys.names().collect::<Vec<_>>(),
        [world.chainguard.apk_key_name()]
    );
    for arch in ["x86_64", "aarch64"] {
        let index = repo.fetch_verified_index(arch, &keys).await.unwrap();
        let names: Vec<&str> = index.packages.iter().map(|p| p.name.as_str()).collect();
        for expected in [
            "wget",
            "npm",
            "sed",
            "c-ares",
            "stunnel",
            "bash",
            "openssl",
            "libstdc++",
        ] {
            assert!(names.contains(&expected), "{arch}: {names:?}");
        }
        assert!(
            index
                .packages
                .iter()
                .all(|p| p.arch.as_deref() == Some(arch))
        );
        let plus = index
            .packages
            .iter()
            .find(|p| p.name == "libstdc++")
            .unwrap();
        let bytes = repo.fetch_file(arch, &plus.file_name()).await.unwrap();
        // A real .apk: gzip members, as long as the index's record says.
        assert_eq!(Some(bytes.len() as u64), plus.size);
        assert!(bytes.starts_with(&[0x1f, 0x8b]));
    }
    let journal = world.sandbox.journal().to_json_lines();
    assert!(
        !journal.contains(token.token.expose_secret()),
        "the journal never holds the token"
    );
}

#[tokio::test]
async fn without_apk_pull_the_index_is_refused_with_the_fix() {
    let world = world().await;
    let token = world
        .client
        .create_pull_token(
            &org(&world),
            PullTokenOptions::new(PullTokenRole::RegistryPull),
        )
        .await
        .unwrap();
    let auth = HttpAuth::basic(
        &host(&world, "apk.cgr.dev"),
        &token.identity_id,
        token.token.clone(),
    )
    .unwrap();
    let repo = RepoClient::builder(apk_repo(&world))
        .http_auth(auth)
        .build()
        .unwrap();
    match repo.fetch_index("x86_64").await.unwrap_err() {
        IndexError::Fetch(Error::PermissionDenied(api)) => {
            assert!(
                api.message
                    .contains("caller does not have the required capabilities")
            );
            assert!(api.fix.unwrap().contains("apk.pull"));
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    // Binding apk.pull afterwards fixes it: pull tokens are checked as they stand.
    let apk_pull = world.client.find_builtin_role("apk.pull").await.unwrap();
    world
        .client
        .create_role_binding(org(&world).as_str(), &token.identity_id, &apk_pull.id)
        .await
        .unwrap();
    assert!(repo.fetch_index("x86_64").await.is_ok());
}

#[tokio::test]
async fn public_repositories_need_no_credentials() {
    let world = world().await;
    let virtual_base = world.sandbox.url("virtualapk.cgr.dev").unwrap();
    let by_id = RepoUrl::parse(&format!(
        "{virtual_base}{}/extra-packages",
        world.chainguard.org_id()
    ))
    .unwrap();
    let client = RepoClient::builder(by_id).build().unwrap();
    let keys = client.discover_keys().await.unwrap().unwrap();
    let index = client.fetch_verified_index("x86_64", &keys).await.unwrap();
    assert!(index.packages.iter().any(|p| p.name == "stunnel"));

    let by_name = RepoUrl::parse(&format!("{virtual_base}example.com/extra-packages")).unwrap();
    let err = RepoClient::builder(by_name)
        .build()
        .unwrap()
        .fetch_index("x86_64")
        .await
        .unwrap_err();
    assert!(
        matches!(err, IndexError::Fetch(ref e) if e.is_not_found()),
        "a name does not resolve: {err:?}"
    );

    let anonymous = RepoClient::builder(apk_repo(&world))
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let err = anonymous.fetch_index("x86_64").await.unwrap_err();
    assert!(
        matches!(err, IndexError::Fetch(Error::Unauthenticated(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_registry_pull_token_pulls_the_private_base_image() {
    let world = world().await;
    let token = world
        .client
        .create_pull_token(
            &org(&world),
            PullTokenOptions::new(PullTokenRole::RegistryPull),
        )
        .await
        .unwrap();
    let registry_url = world.sandbox.url("cgr.dev").unwrap().clone();
    let auth = RegistryAuth::new(registry_url.clone()).unwrap();
    let credentials = token.credentials().unwrap();
    let bearer = auth
        .pull_token("example.com/chainguard-base", Some(&credentials))
        .await
        .unwrap()
        .expect("the registry asks for a token");

    let http = reqwest::Client::new();
    let manifest = http
        .get(
            registry_url
                .join("v2/example.com/chainguard-base/manifests/latest")
                .unwrap(),
        )
        .bearer_auth(bearer.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    assert!(
        manifest.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // The token is for that repository only.
    let other = http
        .get(
            registry_url
                .join("v2/chainguard/go/manifests/latest")
                .unwrap(),
        )
        .bearer_auth(bearer.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);

    // An APK pull token may not pull the private image.
    let apk_token = world
        .client
        .create_pull_token(&org(&world), PullTokenOptions::new(PullTokenRole::ApkPull))
        .await
        .unwrap();
    let err = auth
        .pull_token(
            "example.com/chainguard-base",
            Some(&apk_token.credentials().unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::FORBIDDEN));
    // Public images need nothing.
    assert!(
        auth.pull_token("chainguard/go", None)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_sts_verifies_pull_tokens_strictly() {
    let world = world().await;
    let sts = Sts::new(world.sandbox.url("chainguard-sts").unwrap().clone()).unwrap();
    let token = world
        .client
        .create_pull_token(&org(&world), PullTokenOptions::new(PullTokenRole::ApkPull))
        .await
        .unwrap();
    let exchanged = sts
        .exchange(&token.token, "apk.cgr.dev", Some(&token.identity_id))
        .await
        .unwrap();
    // The exchanged token opens the APK repository with any username.
    let auth = HttpAuth::basic(&host(&world, "apk.cgr.dev"), "user", exchanged).unwrap();
    RepoClient::builder(apk_repo(&world))
        .http_auth(auth)
        .build()
        .unwrap()
        .fetch_index("x86_64")
        .await
        .unwrap();

    // A tampered signature fails.
    let text = token.token.expose_secret();
    let (signed, signature) = text.rsplit_once('.').unwrap();
    // Swap the signature's first character for a different one.
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{first}{}", &signature[1..]);
    let err = sts
        .exchange(
            &SecretString::from(tampered),
            "apk.cgr.dev",
            Some(&token.identity_id),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");

    // A static identity's token cannot be exchanged without naming the identity.
    let err = sts
        .exchange(&token.token, "apk.cgr.dev", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("identity is required"), "{err}");

    // A revoked token fails.
    world
        .client
        .revoke_pull_token(&token.identity_id)
        .await
        .unwrap();
    let err = sts
        .exchange(&token.token, "apk.cgr.dev", Some(&token.identity_id))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no identity"), "{err}");

    // An expired one fails.
    let short = world
        .client
        .create_pull_token(
            &org(&world),
            PullTokenOptions::new(PullTokenRole::ApkPull)
                .with_ttl(Duration::from_secs(1))
                .unwrap(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = sts
        .exchange(&short.token, "apk.cgr.dev", Some(&short.identity_id))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn status_capabilities_and_refresh() {
    let world = world().await;
    let me = world.client.status().await.unwrap();
    assert_eq!(me.capabilities[0].role.as_ref().unwrap().name, "owner");
    world
        .client
        .require_capability(&org(&world), "identity.create")
        .await
        .unwrap();

    let refresh = chainguard_client::auth::RefreshExchange::new(
        Sts::new(world.sandbox.url("chainguard-sts").unwrap().clone()).unwrap(),
        world.chainguard.issue_refresh_token().expose(),
    );
    let first = refresh.current_refresh_token().await;
    refresh
        .token("https://console-api.enforce.dev")
        .await
        .unwrap();
    let rotated = refresh.current_refresh_token().await;
    assert_ne!(first.expose_secret(), rotated.expose_secret());
    refresh
        .token("https://console-api.enforce.dev")
        .await
        .unwrap();

    // Pull tokens are listed with their expiry, and revoked.
    let token = world
        .client
        .create_pull_token(
            &org(&world),
            PullTokenOptions::new(PullTokenRole::RegistryPull),
        )
        .await
        .unwrap();
    let listed = world.client.list_pull_tokens(&org(&world)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].expired);
    world
        .client
        .revoke_pull_token(&token.identity_id)
        .await
        .unwrap();
    assert!(
        world
            .client
            .list_pull_tokens(&org(&world))
            .await
            .unwrap()
            .is_empty()
    );
}
