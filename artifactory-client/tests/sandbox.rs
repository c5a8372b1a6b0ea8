//! End to end against the sandbox: the repositories of seeds 000 (APK packages through
//! Artifactory) and 001 (container images through Artifactory) created by the backend on
//! the Artifactory fake, content pulled through them from the Chainguard fakes, and the
//! core's conformance suite.

use std::sync::Arc;
use std::time::Duration;

use apk_repo::index::ApkIndex;
use apk_repo::repo_url::RepoUrl;
use artifactory_client::{AccessTokenRequest, ArtifactoryBackend, ArtifactoryClient};
use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, PullTokenOptions};
use pull_through_core::conformance::{self, Fixtures};
use pull_through_core::http::{RecordingObserver, RetryConfig};
use pull_through_core::{
    CacheName, CacheSpec, Ensured, ExposeSecret, OrgId, OrgName, PackageFormat, PullThroughBackend,
    PullTokenRole, Upstream, UpstreamCredentials, VirtualApkRepo,
};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;

struct World {
    sandbox: Sandbox,
    chainguard: Chainguard,
    artifactory: Artifactory,
    client: ArtifactoryClient,
    log: Arc<RecordingObserver>,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let artifactory = Artifactory::new();
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .artifactory(&artifactory)
        .start()
        .await
        .unwrap();
    let log = Arc::new(RecordingObserver::default());
    let client = ArtifactoryClient::builder()
        .with_base_url(sandbox.url("artifactory").unwrap().as_str())
        .with_access_token(artifactory.admin_token().expose())
        .with_retry(RetryConfig::none())
        .with_observer(log.clone())
        .build()
        .unwrap();
    World {
        sandbox,
        chainguard,
        artifactory,
        client,
        log,
    }
}

async fn pull_token(world: &World, role: PullTokenRole) -> UpstreamCredentials {
    let chainguard = ChainguardClient::builder()
        .with_api_url(world.sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(world.sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            world.chainguard.admin_token().expose(),
        )))
        .with_retry(RetryConfig::none())
        .with_binding_retry(vec![Duration::from_millis(10)])
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    let org = OrgId::new(world.chainguard.org_id()).unwrap();
    chainguard
        .create_pull_token(&org, PullTokenOptions::new(role))
        .await
        .unwrap()
        .credentials()
        .unwrap()
}

fn name(key: &str) -> CacheName {
    CacheName::new(key).unwrap()
}

/// Seed 001's three Docker repositories and seed 000's three Alpine remotes and Generic
/// virtual, in apply order.
async fn seed_specs(world: &World) -> Vec<CacheSpec> {
    let org: OrgName = "example.com".parse().unwrap();
    let org_id = OrgId::new(world.chainguard.org_id()).unwrap();
    let registry = pull_token(world, PullTokenRole::RegistryPull).await;
    let apk = pull_token(world, PullTokenRole::ApkPull).await;
    vec![
        CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic),
        CacheSpec::remote(
            name("cgr-private"),
            Upstream::CgrPrivate { org: org.clone() },
        )
        .with_credentials(registry),
        CacheSpec::aggregate(
            name("cgr-virt"),
            PackageFormat::Docker,
            vec![name("cgr-public"), name("cgr-private")],
        ),
        CacheSpec::remote(name("cg-private"), Upstream::Apk { org }).with_credentials(apk),
        CacheSpec::remote(
            name("cg-chainguard"),
            Upstream::VirtualApk {
                org_id: org_id.clone(),
                repo: VirtualApkRepo::Chainguard,
            },
        ),
        CacheSpec::remote(
            name("cg-extras"),
            Upstream::VirtualApk {
                org_id,
                repo: VirtualApkRepo::ExtraPackages,
            },
        ),
        CacheSpec::aggregate(
            name("cg-apk-virt"),
            PackageFormat::Apk,
            vec![name("cg-private"), name("cg-chainguard"), name("cg-extras")],
        ),
    ]
}

fn writes(world: &World) -> Vec<String> {
    world
        .sandbox
        .journal()
        .entries_for("artifactory")
        .into_iter()
        .filter(|e| !matches!(e.method.as_str(), "GET" | "HEAD"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

#[tokio::test]
async fn the_seed_repositories_converge_and_a_second_ensure_writes_nothing() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    let specs = seed_specs(&world).await;
    for spec in &specs {
        let ensured = backend.ensure(spec).await.unwrap();
        assert!(matches!(ensured, Ensured::Created { .. }), "{ensured:?}");
    }
    assert_eq!(
        world.artifactory.repository_keys(),
        [
            "cg-apk-virt",
            "cg-chainguard",
            "cg-extras",
            "cg-private",
            "cgr-private",
            "cgr-public",
            "cgr-virt"
        ]
    );
    assert_eq!(
        writes(&world),
        specs
            .iter()
            .map(|s| format!("PUT /artifactory/api/repositories/{}", s.name))
            .collect::<Vec<_>>()
    );
    // The pull token is stored; the server shows it only encrypted.
    let stored = world.artifactory.stored_password("cgr-private").unwrap();
    assert!(stored.expose().starts_with("ey"));
    let shown = world
        .client
        .get_repository("cgr-private")
        .await
        .unwrap()
        .unwrap();
    assert!(shown.password.is_none());

    world.sandbox.journal().clear();
    for spec in &specs {
        let ensured = backend.ensure(spec).await.unwrap();
        assert!(matches!(ensured, Ensured::Unchanged { .. }), "{ensured:?}");
    }
    assert_eq!(writes(&world), Vec::<String>::new());

    // A rotation writes the password again and nothing else.
    let rotated = specs[1].clone().rotating_credentials();
    let ensured = backend.ensure(&rotated).await.unwrap();
    let Ensured::Updated { changes, .. } = ensured else {
        panic!("expected an update, got {ensured:?}")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["password"]
    );
    assert_eq!(
        writes(&world),
        ["POST /artifactory/api/repositories/cgr-private"]
    );

    let listed: Vec<String> = backend
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(listed.len(), 7, "{listed:?}");
}

async fn manifest(world: &World, path: &str) -> (u16, Option<String>) {
    let base = world.sandbox.url("artifactory").unwrap();
    let answer = reqwest::Client::new()
        .get(base.join(path).unwrap())
        .bearer_auth(world.artifactory.admin_token().expose())
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    let digest = answer
        .headers()
        .get("docker-content-digest")
        .map(|d| d.to_str().unwrap().to_owned());
    (answer.status().as_u16(), digest)
}

/// The backend's verification of `image:latest` through cache `key`.
async fn verify_manifest(
    backend: &ArtifactoryBackend,
    key: &str,
    image: &str,
) -> pull_through_core::Verification {
    let state = backend.describe(&name(key)).await.unwrap().unwrap();
    let probe = pull_through_core::Probe::DockerManifest {
        image: image.to_owned(),
        reference: "latest".to_owned(),
    };
    backend.verify(&state, &probe).await.unwrap()
}

#[tokio::test]
async fn manifests_are_pulled_through_the_remotes_and_the_virtual() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    for spec in seed_specs(&world).await.iter().take(3) {
        backend.ensure(spec).await.unwrap();
    }
    let (status, public) = manifest(
        &world,
        "artifactory/api/docker/cgr-public/v2/chainguard/go/manifests/latest",
    )
    .await;
    assert_eq!(status, 200);
    let public = public.unwrap();
    assert!(public.starts_with("sha256:"));
    let (status, private) = manifest(
        &world,
        "artifactory/api/docker/cgr-private/v2/example.com/chainguard-base/manifests/latest",
    )
    .await;
    assert_eq!(status, 200);
    // Through the virtual, by the repository-path method (`<host>/<key>/<image>`).
    assert_eq!(
        manifest(&world, "v2/cgr-virt/chainguard/go/manifests/latest").await,
        (200, Some(public))
    );
    assert_eq!(
        manifest(
            &world,
            "v2/cgr-virt/example.com/chainguard-base/manifests/latest"
        )
        .await,
        (200, private)
    );
    assert!(
        world
            .artifactory
            .cached_paths("cgr-public")
            .contains(&"chainguard/go/manifests/latest".to_owned())
    );

    // The backend's own verification agrees.
    let verification =
        verify_manifest(&backend, "cgr-private", "example.com/chainguard-base").await;
    assert!(verification.passed(), "{verification:?}");

    // What a probe is answered from can be cleared, so the next verification goes upstream.
    let probe = pull_through_core::Probe::DockerManifest {
        image: "chainguard/go".to_owned(),
        reference: "latest".to_owned(),
    };
    let forgotten = backend.forget(&name("cgr-public"), &probe).await.unwrap();
    assert_eq!(forgotten, pull_through_core::Deleted::Removed);
    assert!(
        !world
            .artifactory
            .cached_paths("cgr-public")
            .iter()
            .any(|p| p.starts_with("chainguard/go/")),
        "{:?}",
        world.artifactory.cached_paths("cgr-public")
    );
    assert_eq!(
        backend.forget(&name("cgr-public"), &probe).await.unwrap(),
        pull_through_core::Deleted::AlreadyAbsent
    );
}

#[tokio::test]
async fn without_token_authentication_cgr_dev_cannot_be_pulled() {
    let world = world().await;
    let mut config = artifactory_client::RepositoryConfig::remote_docker("cgr-public", None);
    config.enable_token_authentication = Some(false);
    world.client.create_repository(&config).await.unwrap();
    let (status, _) = manifest(
        &world,
        "artifactory/api/docker/cgr-public/v2/chainguard/go/manifests/latest",
    )
    .await;
    assert_eq!(status, 404);
    let backend = ArtifactoryBackend::new(world.client.clone());
    let verification = verify_manifest(&backend, "cgr-public", "chainguard/go").await;
    assert!(!verification.passed());
    assert!(
        format!("{verification:?}").contains("enableTokenAuthentication"),
        "{verification:?}"
    );
}

/// Fetches an index and the `libstdc++` package with the apk line apk-repo builds.
async fn fetch_with_apk_line(world: &World, key: &str) -> Result<usize, String> {
    let token = world
        .client
        .create_access_token(&AccessTokenRequest::for_user("linky@example.com"))
        .await
        .unwrap();
    let base = world
        .sandbox
        .url("artifactory")
        .unwrap()
        .join("artifactory/")
        .unwrap();
    let line = RepoUrl::artifactory(base.as_str(), key)
        .unwrap()
        .with_credentials("linky@example.com", token.access_token.clone())
        .unwrap();
    assert!(line.expose().contains("linky%40example.com:"));
    let repo = apk_repo::fetch::RepoClient::builder(line)
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let index_bytes = repo
        .fetch_index("x86_64")
        .await
        .map_err(|e| e.to_string())?;
    let index = ApkIndex::read_unverified(&index_bytes).map_err(|e| e.to_string())?;
    let package = index
        .packages
        .iter()
        .find(|p| p.name == "libstdc++")
        .ok_or("no libstdc++ in the index")?;
    repo.fetch_file("x86_64", &package.file_name())
        .await
        .map_err(|e| e.to_string())?;
    Ok(index.packages.len())
}

#[tokio::test]
async fn apk_indexes_and_plus_named_packages_come_through_the_remote_and_the_generic_virtual() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    for spec in seed_specs(&world).await.iter().skip(3) {
        backend.ensure(spec).await.unwrap();
    }
    assert_eq!(fetch_with_apk_line(&world, "cg-private").await, Ok(8));
    // The virtual answers from its first member that has the path: cg-private's index.
    assert_eq!(fetch_with_apk_line(&world, "cg-apk-virt").await, Ok(8));
    let cached = world.artifactory.cached_paths("cg-private");
    assert!(cached.iter().any(|p| p.contains("libstdc++")), "{cached:?}");

    // The tutorials' debugging step: clear the cache, then it is fetched again.
    world
        .client
        .clear_cache("cg-private", "x86_64")
        .await
        .unwrap();
    assert!(world.artifactory.cached_paths("cg-private").is_empty());
    assert_eq!(fetch_with_apk_line(&world, "cg-private").await, Ok(8));
}

#[tokio::test]
async fn with_url_normalization_on_plus_named_packages_are_not_found() {
    let world = world().await;
    let apk = pull_token(&world, PullTokenRole::ApkPull).await;
    let upstream = Upstream::Apk {
        org: "example.com".parse().unwrap(),
    };
    let mut config =
        artifactory_client::RepositoryConfig::remote_alpine("cg-private", &upstream, Some(&apk));
    config.disable_url_normalization = Some(false);
    world.client.create_repository(&config).await.unwrap();
    let failed = fetch_with_apk_line(&world, "cg-private").await.unwrap_err();
    assert!(failed.contains("404"), "{failed}");
    // The index itself has no `+`, so it did come through.
    assert!(
        world
            .artifactory
            .cached_paths("cg-private")
            .contains(&"x86_64/APKINDEX.tar.gz".to_owned())
    );
}

#[tokio::test]
async fn the_fake_is_strict_about_fields_keys_and_duplicates() {
    let world = world().await;
    let base = world.sandbox.url("artifactory").unwrap().clone();
    let http = reqwest::Client::new();
    let token = world.artifactory.admin_token();
    let put = |key: &str, body: serde_json::Value| {
        http.put(
            base.join(&format!("artifactory/api/repositories/{key}"))
                .unwrap(),
        )
        .bearer_auth(token.expose())
        .json(&body)
        .send()
    };
    let cases = [
        (
            "typo",
            serde_json::json!({"key": "typo", "rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/", "enableTokenAuth": true}),
            "Unrecognized field \"enableTokenAuth\"",
        ),
        (
            "kind",
            serde_json::json!({"key": "kind", "rclass": "remote", "packageType": "dockr", "url": "https://cgr.dev/"}),
            "Unsupported package type 'dockr'",
        ),
        (
            "noclass",
            serde_json::json!({"key": "noclass", "packageType": "docker"}),
            "rclass is mandatory",
        ),
        (
            "flag",
            serde_json::json!({"key": "flag", "rclass": "remote", "packageType": "alpine", "url": "https://cgr.dev/", "disableUrlNormalization": "true"}),
            "Invalid value for field \"disableUrlNormalization\"",
        ),
    ];
    for (key, body, message) in cases {
        let answer = put(key, body).await.unwrap();
        assert_eq!(answer.status(), 400);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["errors"][0]["status"], 400);
        let text = body["errors"][0]["message"].as_str().unwrap();
        assert!(text.contains(message), "{text}");
    }
    world
        .client
        .create_repository(&artifactory_client::RepositoryConfig::remote_docker(
            "cgr-public",
            None,
        ))
        .await
        .unwrap();
    let duplicate = put(
        "CGR-Public",
        serde_json::json!({"key": "CGR-Public", "rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/"}),
    )
    .await
    .unwrap();
    assert_eq!(duplicate.status(), 400);
    assert!(
        duplicate
            .text()
            .await
            .unwrap()
            .contains("Case insensitive repository key already exists")
    );
    // The list answers in other letter cases, and the description carries the suffix.
    let listed = world.client.list_repositories(None, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].rclass(), "remote");
    let raw: serde_json::Value = http
        .get(base.join("artifactory/api/repositories").unwrap())
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw[0]["type"], "REMOTE");
    assert_eq!(raw[0]["packageType"], "Docker");
    assert_eq!(raw[0]["description"], " (local file cache)");
    // Unauthenticated callers are refused with the envelope.
    let anonymous = http
        .get(base.join("artifactory/api/repositories").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // Docker clients get a Bearer challenge naming the Docker token endpoint, as
    // Artifactory's Docker API answers them; ping is open.
    let docker = http.get(base.join("v2/").unwrap()).send().await.unwrap();
    assert_eq!(docker.status(), 401);
    let host = format!("{}:{}", base.host_str().unwrap(), base.port().unwrap());
    assert_eq!(
        docker.headers()["www-authenticate"],
        format!("Bearer realm=\"http://{host}/v2/token\",service=\"{host}\"").as_str()
    );
    let ping = http
        .get(base.join("artifactory/api/system/ping").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ping.text().await.unwrap(), "OK");
    world.client.ping().await.unwrap();
    assert_eq!(world.client.version().await.unwrap(), "7.104.0-sandbox");
}

#[tokio::test]
async fn access_tokens_are_issued_accepted_and_revoked() {
    let world = world().await;
    let token = world
        .client
        .create_access_token(
            &AccessTokenRequest::for_user("linky@example.com").with_reference_token(),
        )
        .await
        .unwrap();
    let reference = token.reference_token.clone().unwrap();
    assert_eq!(reference.expose_secret().len(), 64);
    assert!(reference.expose_secret().starts_with("cmVmd"));
    let as_user = ArtifactoryClient::builder()
        .with_base_url(world.sandbox.url("artifactory").unwrap().as_str())
        .with_basic("linky@example.com", token.access_token.clone())
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    assert!(
        as_user
            .list_repositories(None, None)
            .await
            .unwrap()
            .is_empty()
    );
    // Basic auth names the token's user: an encoded or other user name is refused.
    for wrong_user in ["linky%40example.com", "admin"] {
        let mismatched = ArtifactoryClient::builder()
            .with_base_url(world.sandbox.url("artifactory").unwrap().as_str())
            .with_basic(wrong_user, token.access_token.clone())
            .with_retry(RetryConfig::none())
            .build()
            .unwrap();
        let err = mismatched.list_repositories(None, None).await.unwrap_err();
        assert!(
            matches!(err, pull_through_core::Error::Unauthenticated(_)),
            "{err:?}"
        );
    }
    assert_eq!(
        world
            .client
            .revoke_access_token(&token.token_id)
            .await
            .unwrap(),
        pull_through_core::Deleted::Removed
    );
    assert!(as_user.list_repositories(None, None).await.is_err());
    assert_eq!(
        world
            .client
            .revoke_access_token(&token.token_id)
            .await
            .unwrap(),
        pull_through_core::Deleted::AlreadyAbsent
    );
}

#[tokio::test]
async fn the_backend_passes_the_conformance_suite() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    let fixtures = Fixtures::new(
        CacheSpec::remote(name("conformance-public"), Upstream::CgrPublic),
        CacheSpec::remote(name("bad_docker_key"), Upstream::CgrPublic),
    )
    .with_private(
        CacheSpec::remote(
            name("conformance-private"),
            Upstream::CgrPrivate {
                org: "example.com".parse().unwrap(),
            },
        )
        .with_credentials(pull_token(&world, PullTokenRole::RegistryPull).await),
    )
    .with_aggregate(CacheSpec::aggregate(
        name("conformance-virt"),
        PackageFormat::Docker,
        vec![name("conformance-public")],
    ))
    .with_probe(pull_through_core::Probe::default_for(&Upstream::CgrPublic))
    .with_login(pull_through_core::ClientLogin::new(
        "linky@example.com",
        "conformance-login-secret",
        "ARTIFACTORY_TOKEN",
    ));
    conformance::run_all(&backend, world.log.as_ref(), &fixtures).await;
    // And within a run: plan, ensure and describe through a listing.
    conformance::run_all(&conformance::InRun(&backend), world.log.as_ref(), &fixtures).await;
    // What the suite created, it deleted.
    assert_eq!(
        backend.list().await.unwrap(),
        Vec::new(),
        "the suite left repositories behind"
    );
}

#[tokio::test]
async fn client_access_is_printed_as_the_seeds_print_it() {
    let world = world().await;
    let backend =
        ArtifactoryBackend::new(world.client.clone()).with_org("example.com".parse().unwrap());
    let specs = seed_specs(&world).await;
    for spec in &specs {
        backend.ensure(spec).await.unwrap();
    }
    let host = world.client.host();
    let login = pull_through_core::ClientLogin::new(
        "linky@example.com",
        "s3cret-token",
        "ARTIFACTORY_TOKEN",
    );
    let access = |key: &str| {
        let backend = backend.clone();
        let login = login.clone();
        let key = key.to_owned();
        async move {
            let state = backend.describe(&name(&key)).await.unwrap().unwrap();
            backend.client_access(&state, Some(&login)).unwrap()
        }
    };
    use pull_through_core::Reveal;
    assert_eq!(
        access("cgr-public").await.render(Reveal::Names),
        format!(
            "docker login {host} --username linky@example.com --password \"$ARTIFACTORY_TOKEN\"\n\
             docker pull {host}/cgr-public/chainguard/go:latest"
        )
    );
    assert_eq!(
        access("cgr-virt").await.render(Reveal::Names),
        format!(
            "docker login {host} --username linky@example.com --password \"$ARTIFACTORY_TOKEN\"\n\
             docker pull {host}/cgr-virt/chainguard/go:latest\n\
             docker pull {host}/cgr-virt/example.com/chainguard-base:latest"
        )
    );
    // The subdomain method: the registry host carries the key.
    let subdomain = backend
        .clone()
        .with_docker_method(artifactory_client::DockerAccessMethod::Subdomain);
    let state = subdomain
        .describe(&name("cgr-public"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        subdomain
            .client_access(&state, Some(&login))
            .unwrap()
            .render(Reveal::Names),
        format!(
            "docker login cgr-public.{host} --username linky@example.com --password \"$ARTIFACTORY_TOKEN\"\n\
             docker pull cgr-public.{host}/chainguard/go:latest"
        )
    );
    let private = access("cgr-private").await.render(Reveal::Names);
    assert!(private.ends_with(&format!(
        "docker pull {host}/cgr-private/example.com/chainguard-base:latest"
    )));
    assert!(!private.contains("s3cret-token"));

    let apk = access("cg-private").await;
    let shown = apk.render(Reveal::Names);
    let base = world.sandbox.url("artifactory").unwrap();
    let line = shown.lines().next().unwrap();
    assert_eq!(
        line,
        format!(
            "{}://linky%40example.com:${{ARTIFACTORY_TOKEN}}@{host}/artifactory/cg-private/",
            base.scheme()
        )
    );
    // apko cannot name a host with a port in HTTP_AUTH, so the sandbox gets no such line.
    assert!(!shown.contains("export HTTP_AUTH"), "{shown}");
    assert!(
        shown.contains("# apko: the cache as the image's repository\n"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "    - {}://{host}/artifactory/cg-private/\n",
            base.scheme()
        )),
        "{shown}"
    );
    assert!(!shown.contains("s3cret-token"), "{shown}");
    assert!(apk.render(Reveal::Secrets).contains(&format!(
        "linky%40example.com:s3cret-token@{host}/artifactory/cg-private/"
    )));
    // The Dockerfile mounts the line as a build secret instead of baking it in.
    assert!(shown.contains("--mount=type=secret"), "{shown}");
    assert!(shown.contains("apk add"), "{shown}");
}

#[tokio::test]
async fn drift_the_server_reports_converges_and_case_twins_are_refused() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    let creds = pull_token(&world, PullTokenRole::RegistryPull).await;

    // A remote that holds credentials the spec no longer has: they are cleared, once.
    world
        .client
        .create_repository(&artifactory_client::RepositoryConfig::remote_docker(
            "cgr-public",
            Some(&creds),
        ))
        .await
        .unwrap();
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    let Ensured::Updated { changes, .. } = backend.ensure(&spec).await.unwrap() else {
        panic!("expected the stored username to be cleared")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["username", "password"]
    );
    assert!(
        world
            .artifactory
            .stored_password("cgr-public")
            .is_none_or(|p| p.expose().is_empty())
    );
    let state = backend
        .describe(&name("cgr-public"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            &state.role,
            pull_through_core::CacheRole::Remote { username: None, .. }
        ),
        "an empty username is no username: {:?}",
        state.role
    );
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Unchanged { .. }
    ));

    // An empty description is no description: no write on every run.
    let described = spec.clone().with_description("");
    world.sandbox.journal().clear();
    assert!(matches!(
        backend.ensure(&described).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
    assert_eq!(writes(&world), Vec::<String>::new());

    // A Docker key with upper-case letters is one Artifactory refuses: refused at plan.
    let upper = CacheSpec::remote(name("CGR-Public"), Upstream::CgrPublic);
    let err = backend.plan(&upper).await.unwrap_err();
    assert!(
        matches!(err, pull_through_core::Error::InvalidInput(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("upper-case"), "{err}");
    assert_eq!(writes(&world), Vec::<String>::new());

    // The fake refuses a Docker virtual over an Alpine remote, as Artifactory does.
    let upstream = Upstream::Apk {
        org: "example.com".parse().unwrap(),
    };
    world
        .client
        .create_repository(&artifactory_client::RepositoryConfig::remote_alpine(
            "cg-private",
            &upstream,
            None,
        ))
        .await
        .unwrap();
    let mixed = CacheSpec::aggregate(
        name("cgr-virt"),
        PackageFormat::Docker,
        vec![name("cgr-public"), name("cg-private")],
    );
    let err = backend.ensure(&mixed).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be included in a docker virtual"),
        "{err}"
    );

    // A key that differs only in letter case can never be created: refused at plan.
    world.sandbox.journal().clear();
    let twin = CacheSpec::remote(name("CG-Private"), upstream.clone())
        .with_credentials(pull_token(&world, PullTokenRole::ApkPull).await);
    let err = backend.plan(&twin).await.unwrap_err();
    assert!(
        matches!(err, pull_through_core::Error::InvalidInput(_)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("cg-private already exists"),
        "{err}"
    );
    assert_eq!(writes(&world), Vec::<String>::new());
}

#[tokio::test]
async fn a_remote_is_never_turned_into_a_virtual_in_place() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    backend
        .ensure(&CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic))
        .await
        .unwrap();
    world.sandbox.journal().clear();
    let virt = CacheSpec::aggregate(
        name("cgr-public"),
        PackageFormat::Docker,
        vec![name("cgr-other")],
    );
    for err in [
        backend.plan(&virt).await.unwrap_err(),
        backend.ensure(&virt).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, pull_through_core::Error::Unsupported { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "artifactory does not support turning cgr-public (remote docker) into a virtual \
             docker repository: Artifactory cannot change a repository's class or type: delete \
             it (its cache goes with it) and apply again"
        );
    }
    assert_eq!(writes(&world), Vec::<String>::new());
}

#[tokio::test]
async fn clearing_a_cache_path_matches_whole_segments() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    for spec in seed_specs(&world).await.iter().skip(3).take(1) {
        backend.ensure(spec).await.unwrap();
    }
    fetch_with_apk_line(&world, "cg-private").await.unwrap();
    assert_eq!(
        world.client.clear_cache("cg-private", "x86").await.unwrap(),
        pull_through_core::Deleted::AlreadyAbsent
    );
    assert!(!world.artifactory.cached_paths("cg-private").is_empty());
    assert_eq!(
        world
            .client
            .clear_cache("cg-private", "x86_64")
            .await
            .unwrap(),
        pull_through_core::Deleted::Removed
    );
    assert!(world.artifactory.cached_paths("cg-private").is_empty());
}

#[tokio::test]
async fn a_probe_package_missing_from_the_index_fails_verification() {
    let world = world().await;
    let backend = ArtifactoryBackend::new(world.client.clone());
    let specs = seed_specs(&world).await;
    let private = specs
        .iter()
        .find(|s| s.name.as_str() == "cg-private")
        .unwrap();
    backend.ensure(private).await.unwrap();
    let state = backend
        .describe(&name("cg-private"))
        .await
        .unwrap()
        .unwrap();
    let probe = pull_through_core::Probe::ApkIndex {
        arch: "x86_64".to_owned(),
        package: Some("no-such-package".to_owned()),
    };
    let verification = backend.verify(&state, &probe).await.unwrap();
    assert!(!verification.passed(), "{verification:?}");
    let steps: Vec<(&str, bool)> = verification
        .checks
        .iter()
        .map(|c| (c.step.as_str(), c.is_passed()))
        .collect();
    assert_eq!(
        steps,
        [
            ("x86_64/APKINDEX.tar.gz", true),
            ("package no-such-package", false)
        ]
    );
}
