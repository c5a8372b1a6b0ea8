//! What a person does with a cache: client access as the tutorial prints it, a pull
//! through the Docker registry with its Bearer challenge (and the tutorial's hints when it
//! fails), the diagnosis of a repository, and forgetting what a pull cached.

mod common;

use base64::Engine as _;
use common::fake::{FakeGoogle, agent};
use common::{Google, PROJECT, TOKEN};
use gar_client::GarBackend;
use pull_through_core::{
    CacheName, CacheSpec, CacheState, CheckOutcome, ClientLogin, Deleted, PackageFormat, Probe,
    PullThroughBackend, Reveal, Upstream, UpstreamCredentials,
};
use serde_json::json;
use wiremock::matchers::{header, header_regex, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const USER: &str = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

async fn world() -> (Google, FakeGoogle, GarBackend) {
    let google = Google::start().await;
    let fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    let backend = GarBackend::new(google.client()).with_org("example.com".parse().unwrap());
    (google, fake, backend)
}

fn private() -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap())
        .with_credentials(UpstreamCredentials::new(USER, "pull-token-one").unwrap())
}

#[tokio::test]
async fn client_access_is_the_tutorial_s() {
    let google = Google::start().await;
    let backend = GarBackend::new(
        google
            .builder()
            .with_docker_registry_url("https://us-central1-docker.pkg.dev/")
            .build()
            .unwrap(),
    )
    .with_org("example.com".parse().unwrap());
    let public = CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/",
    );
    let login = ClientLogin::new(
        "oauth2accesstoken",
        "ya29.login-secret",
        "GOOGLE_OAUTH_ACCESS_TOKEN",
    );
    let access = backend.client_access(&public, Some(&login)).unwrap();
    assert_eq!(
        access.render(Reveal::Names),
        "# let Docker use gcloud's credentials for the registry\n\
         gcloud auth configure-docker us-central1-docker.pkg.dev\n\
         # or write the same into ~/.docker/config.json\n\
         {\"credHelpers\":{\"us-central1-docker.pkg.dev\":\"gcloud\"}}\n\
         # or log in with an access token (it lasts about an hour)\n\
         gcloud auth print-access-token | docker login -u oauth2accesstoken --password-stdin https://us-central1-docker.pkg.dev\n\
         docker login us-central1-docker.pkg.dev --username oauth2accesstoken --password \"$GOOGLE_OAUTH_ACCESS_TOKEN\"\n\
         docker pull us-central1-docker.pkg.dev/pull-through-test/cgr-public/chainguard/go:latest"
    );
    assert!(
        access
            .render(Reveal::Secrets)
            .contains("--password ya29.login-secret")
    );
    assert!(!format!("{access:?}").contains("ya29.login-secret"));

    // Without a token (Application Default Credentials): gcloud logs in, no password line.
    let private = CacheState::remote(
        name("cgr-private"),
        PackageFormat::Docker,
        "https://cgr.dev/",
    )
    .with_username(USER);
    let adc = ClientLogin::new("oauth2accesstoken", "", "GOOGLE_OAUTH_ACCESS_TOKEN");
    let shown = backend
        .client_access(&private, Some(&adc))
        .unwrap()
        .render(Reveal::Names);
    assert!(!shown.contains("--password \""), "{shown}");
    assert!(
        shown.ends_with(
            "docker pull us-central1-docker.pkg.dev/pull-through-test/cgr-private/example.com/chainguard-base:latest"
        ),
        "{shown}"
    );
    let virt = CacheState::aggregate(name("cgr-virt"), PackageFormat::Docker, vec![]);
    let pulls: Vec<String> = backend
        .client_access(&virt, None)
        .unwrap()
        .render(Reveal::Names)
        .lines()
        .filter(|l| l.starts_with("docker pull"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        pulls,
        [
            "docker pull us-central1-docker.pkg.dev/pull-through-test/cgr-virt/chainguard/go:latest",
            "docker pull us-central1-docker.pkg.dev/pull-through-test/cgr-virt/example.com/chainguard-base:latest",
        ]
    );
}

/// The registry's challenge and token realm, as `*-docker.pkg.dev` answers them.
async fn mount_registry(google: &Google, repository: &str) {
    let uri = google.docker.uri();
    let host = uri.trim_start_matches("http://").to_owned();
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{uri}/v2/token\",service=\"{host}\"").as_str(),
        ))
        .mount(&google.docker)
        .await;
    let basic = base64::prelude::BASE64_STANDARD.encode(format!("oauth2accesstoken:{TOKEN}"));
    Mock::given(method("GET"))
        .and(path("/v2/token"))
        .and(query_param(
            "scope",
            format!("repository:{repository}:pull").as_str(),
        ))
        .and(query_param("service", host.as_str()))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": "registry-token", "expires_in": 3600})),
        )
        .mount(&google.docker)
        .await;
}

#[tokio::test]
async fn verify_pulls_a_manifest_through_the_registry_as_docker_does() {
    let (google, _fake, backend) = world().await;
    let repository = format!("{PROJECT}/cgr-public/chainguard/go");
    mount_registry(&google, &repository).await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/{repository}/manifests/latest")))
        .and(header("authorization", "Bearer registry-token"))
        .and(header_regex("accept", r"^application/vnd\.oci\.image\.index\.v1\+json, application/vnd\.oci\.image\.manifest\.v1\+json, application/vnd\.docker\.distribution\.manifest\.v2\+json"))
        .respond_with(ResponseTemplate::new(200).insert_header("docker-content-digest", "sha256:0123abcd"))
        .expect(1)
        .mount(&google.docker)
        .await;
    let state = CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/",
    );
    let verification = backend
        .verify(&state, &Probe::default_for(&Upstream::CgrPublic))
        .await
        .unwrap();
    assert!(verification.passed(), "{verification}");
    assert_eq!(
        verification.checks[0].outcome,
        CheckOutcome::Passed {
            detail: "sha256:0123abcd".into()
        }
    );
    google.docker.verify().await;
}

#[tokio::test]
async fn a_pull_refused_for_the_secret_names_the_grant_to_add() {
    let (google, _fake, backend) = world().await;
    let repository = format!("{PROJECT}/cgr-private/example.com/chainguard-base");
    mount_registry(&google, &repository).await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/{repository}/manifests/latest")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": [{"code": "DENIED",
            "message": "Permission \"secretmanager.versions.access\" denied on resource \"projects/123456789012/secrets/pull-through-cgr-private/versions/1\" (or it may not exist)."}]})))
        .mount(&google.docker)
        .await;
    let state = CacheState::remote(
        name("cgr-private"),
        PackageFormat::Docker,
        "https://cgr.dev/",
    )
    .with_username(USER);
    let probe = Probe::default_for(&"cgr.dev/example.com".parse().unwrap());
    let verification = backend.verify(&state, &probe).await.unwrap();
    assert!(!verification.passed());
    let CheckOutcome::Failed { reason, hint } = &verification.checks[0].outcome else {
        panic!("{verification}")
    };
    assert!(reason.contains("secretmanager.versions.access"), "{reason}");
    assert_eq!(
        hint.as_deref(),
        Some(format!(
            "the Artifact Registry service agent {} needs roles/secretmanager.secretAccessor on \
             secret pull-through-cgr-private: gcloud secrets add-iam-policy-binding \
             pull-through-cgr-private --project {PROJECT} --member={} \
             --role=roles/secretmanager.secretAccessor (apply adds it; a new grant takes a few \
             minutes to apply)",
            agent(),
            agent()
        ).as_str())
    );
}

#[tokio::test]
async fn failed_pulls_carry_the_tutorial_s_hints() {
    let (google, _fake, backend) = world().await;
    // A wrong upstream URL is named whatever the answer.
    let wrong = CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/chainguard",
    );
    let repository = format!("{PROJECT}/cgr-public/chainguard/go");
    mount_registry(&google, &repository).await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/{repository}/manifests/latest")))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"errors": [{"code": "NAME_UNKNOWN",
            "message": "Repository \"cgr-public\" not found"}]})),
        )
        .mount(&google.docker)
        .await;
    let probe = Probe::default_for(&Upstream::CgrPublic);
    let hint = |verification: pull_through_core::Verification| match &verification.checks[0].outcome
    {
        CheckOutcome::Failed { hint, .. } => hint.clone().unwrap_or_default(),
        other => panic!("{other:?}"),
    };
    let text = hint(backend.verify(&wrong, &probe).await.unwrap());
    assert!(
        text.contains("it must be exactly https://cgr.dev/"),
        "{text}"
    );
    let right = CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/",
    );
    let text = hint(backend.verify(&right, &probe).await.unwrap());
    assert!(
        text.contains("check the location and project")
            && text.contains("location us-central1 of project pull-through-test"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_access_token_fails_the_pull_with_its_hint() {
    let (google, _fake, backend) = world().await;
    let uri = google.docker.uri();
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{uri}/v2/token\",service=\"gar\"").as_str(),
        ))
        .mount(&google.docker)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"errors": [{"code": "UNAUTHORIZED",
            "message": "authentication failed"}]})),
        )
        .mount(&google.docker)
        .await;
    let state = CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/",
    );
    let verification = backend
        .verify(&state, &Probe::default_for(&Upstream::CgrPublic))
        .await
        .unwrap();
    let CheckOutcome::Failed { hint, .. } = &verification.checks[0].outcome else {
        panic!("{verification}")
    };
    assert!(
        hint.as_deref()
            .unwrap_or_default()
            .contains("gcloud auth print-access-token"),
        "{hint:?}"
    );
    assert!(!verification.to_string().contains(TOKEN));
}

#[tokio::test]
async fn diagnose_names_each_broken_rule_and_only_reads() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private()).await.unwrap();
    backend
        .ensure(&CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic))
        .await
        .unwrap();
    assert!(
        backend
            .diagnose(&name("cgr-private"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        backend
            .diagnose(&name("cgr-public"))
            .await
            .unwrap()
            .is_empty()
    );
    fake.revoke_grant("pull-through-cgr-private");
    fake.with(|s| {
        s.secrets
            .get_mut("pull-through-cgr-private")
            .unwrap()
            .versions[0]
            .state = "DISABLED".into()
    });
    fake.with(|s| {
        s.repositories.get_mut("cgr-public").unwrap()["remoteRepositoryConfig"] =
            json!({"commonRepository": {"uri": "https://cgr.dev/chainguard/"}})
    });
    fake.take();
    let found = backend.diagnose(&name("cgr-private")).await.unwrap();
    let checks: Vec<&str> = found.iter().map(|d| d.check.as_str()).collect();
    assert_eq!(checks, ["credentials", "secretAccessor"]);
    assert!(
        found[0]
            .problem
            .contains("version 1 of secret pull-through-cgr-private is missing or not ENABLED")
    );
    assert!(
        found[1].hint.starts_with(&format!(
            "gcloud secrets add-iam-policy-binding pull-through-cgr-private --project {PROJECT} --member={} --role=roles/secretmanager.secretAccessor",
            agent()
        )),
        "{}",
        found[1]
    );
    let upstream = backend.diagnose(&name("cgr-public")).await.unwrap();
    assert_eq!(upstream[0].check, "upstream");
    assert!(upstream[0].hint.contains("exactly https://cgr.dev/"));
    assert!(
        fake.take().iter().all(|l| !l.is_write()),
        "diagnose only reads"
    );
    assert!(
        backend
            .diagnose(&name("absent"))
            .await
            .unwrap_err()
            .is_invalid_input()
    );
}

#[tokio::test]
async fn forget_deletes_the_package_a_probe_pulls() {
    let (_google, fake, backend) = world().await;
    let probe = Probe::default_for(&"cgr.dev/example.com".parse().unwrap());
    assert_eq!(
        backend.forget(&name("cgr-private"), &probe).await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        fake.with(|s| s.deleted_packages.clone()),
        ["cgr-private/example.com/chainguard-base"]
    );
    let apk = Probe::ApkIndex {
        arch: "x86_64".into(),
        package: None,
    };
    assert_eq!(
        backend.forget(&name("cgr-private"), &apk).await.unwrap(),
        Deleted::AlreadyAbsent
    );
}
