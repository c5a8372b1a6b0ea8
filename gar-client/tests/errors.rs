//! Google's error envelope into the core's variants (and raw text when there is none), bad
//! input refused before any request, the token sent as Bearer and never shown, and the
//! password never in an error.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::{Google, PROJECT, TOKEN, bearer, fixture, repositories_path, secrets_path};
use gar_client::auth::StaticToken;
use gar_client::model::Repository;
use gar_client::{GarBackend, GarClient};
use pull_through_core::{
    CacheName, CacheSpec, Error, ErrorKind, PackageFormat, PullThroughBackend, SecretString,
    Upstream, UpstreamCredentials,
};
use serde_json::json;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn envelope(code: u16, status: &str, message: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

#[tokio::test]
async fn every_envelope_becomes_its_variant_with_what_to_do() {
    let cases: Vec<(u16, serde_json::Value, ErrorKind, &str, Option<&str>)> = vec![
        (
            400,
            envelope(400, "INVALID_ARGUMENT", "Invalid repository id"),
            ErrorKind::Api,
            "INVALID_ARGUMENT",
            None,
        ),
        (
            401,
            envelope(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            ),
            ErrorKind::Unauthenticated,
            "UNAUTHENTICATED",
            Some("the access token in GOOGLE_OAUTH_ACCESS_TOKEN was refused"),
        ),
        (
            403,
            envelope(
                403,
                "PERMISSION_DENIED",
                "Permission 'artifactregistry.repositories.list' denied on resource '//artifactregistry.googleapis.com/projects/pull-through-test/locations/us-central1' (or it may not exist).",
            ),
            ErrorKind::PermissionDenied,
            "PERMISSION_DENIED",
            Some(
                "the account lacks artifactregistry.repositories.list in project pull-through-test",
            ),
        ),
        (
            403,
            fixture("service-disabled.json"),
            ErrorKind::Api,
            "PERMISSION_DENIED",
            Some("gcloud services enable secretmanager.googleapis.com --project pull-through-test"),
        ),
        (
            404,
            envelope(404, "NOT_FOUND", "Location us-central9 is not found"),
            ErrorKind::NotFound,
            "NOT_FOUND",
            None,
        ),
        (
            409,
            envelope(409, "ALREADY_EXISTS", "the repository already exists"),
            ErrorKind::AlreadyExists,
            "ALREADY_EXISTS",
            None,
        ),
        (
            409,
            envelope(409, "ABORTED", "There were concurrent policy changes."),
            ErrorKind::Api,
            "ABORTED",
            None,
        ),
        (
            429,
            envelope(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Requests'",
            ),
            ErrorKind::RateLimited,
            "RESOURCE_EXHAUSTED",
            None,
        ),
        (
            400,
            envelope(
                400,
                "FAILED_PRECONDITION",
                "The repository is being deleted",
            ),
            ErrorKind::Api,
            "FAILED_PRECONDITION",
            None,
        ),
        (
            400,
            envelope(
                400,
                "INVALID_ARGUMENT",
                "Failed to validate remote upstream: failed to fetch bearer token; generic::unauthenticated",
            ),
            ErrorKind::Api,
            "INVALID_ARGUMENT",
            Some("registry.pull role"),
        ),
        (
            400,
            envelope(
                400,
                "INVALID_ARGUMENT",
                "Service account service-123456789012@gcp-sa-artifactregistry.iam.gserviceaccount.com does not exist.",
            ),
            ErrorKind::Api,
            "INVALID_ARGUMENT",
            Some(
                "gcloud beta services identity create --service=artifactregistry.googleapis.com --project pull-through-test",
            ),
        ),
    ];
    for (status, body, kind, code, fix) in cases {
        let google = Google::start().await;
        Mock::given(method("GET"))
            .and(path(repositories_path()))
            .respond_with(ResponseTemplate::new(status).set_body_json(body.clone()))
            .mount(&google.ar)
            .await;
        let client = google
            .builder()
            .with_token_source(Arc::new(
                StaticToken::new(TOKEN).named("GOOGLE_OAUTH_ACCESS_TOKEN"),
            ))
            .build()
            .unwrap();
        let err = client.list_repositories().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{body}: {err:?}");
        let api = err.api().unwrap();
        assert_eq!(api.vendor, "gar");
        assert_eq!(api.status.as_u16(), status);
        assert_eq!(api.code.as_deref(), Some(code), "{body}");
        assert_eq!(api.message, body["error"]["message"].as_str().unwrap());
        match fix {
            Some(fix) => assert!(
                api.fix.as_deref().is_some_and(|f| f.contains(fix)),
                "{body}: {:?}",
                api.fix
            ),
            None => assert_eq!(api.fix, None, "{body}"),
        }
    }
}

#[tokio::test]
async fn bodies_without_the_envelope_keep_their_raw_text() {
    for (status, body, kind) in [
        (
            502,
            "<html><body>502 Bad Gateway</body></html>",
            ErrorKind::Api,
        ),
        (
            401,
            r#"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#,
            ErrorKind::Unauthenticated,
        ),
        (404, "", ErrorKind::NotFound),
    ] {
        let google = Google::start().await;
        Mock::given(method("GET"))
            .and(path(repositories_path()))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&google.ar)
            .await;
        let err = google.client().list_repositories().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{body}");
        let api = err.api().unwrap();
        assert_eq!(api.code, None);
        let expected = match status {
            502 => "<html><body>502 Bad Gateway</body></html>",
            401 => "invalid_grant",
            _ => "Not Found",
        };
        assert!(api.message.contains(expected), "{}", api.message);
    }
}

/// Four servers that fail the test if anything reaches them.
async fn refuse_everything(google: &Google) {
    for server in [&google.ar, &google.sm, &google.crm, &google.docker] {
        Mock::given(any())
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(server)
            .await;
    }
}

async fn verify_nothing_sent(google: &Google) {
    for server in [&google.ar, &google.sm, &google.crm, &google.docker] {
        server.verify().await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let google = Google::start().await;
    refuse_everything(&google).await;
    let client = google.client();
    let invalid = |result: Result<(), Error>, rule: &str| {
        let err = result.unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        assert!(err.to_string().contains(rule), "{err}");
    };
    let remote = Repository::remote_docker(None);
    invalid(
        client
            .create_repository("Cgr_Public", &remote)
            .await
            .map(drop),
        "1 to 63 lowercase letters, digits and hyphens",
    );
    invalid(
        client
            .create_repository(&"a".repeat(64), &remote)
            .await
            .map(drop),
        "it has 64 characters",
    );
    invalid(
        client.create_repository("gcr.io", &remote).await.map(drop),
        "Container Registry",
    );
    invalid(
        client.get_repository("1cache").await.map(drop),
        "starting with a letter",
    );
    invalid(
        client.get_repository("cache-").await.map(drop),
        "ending with a letter or digit",
    );
    invalid(
        client.delete_repository("../x").await.map(drop),
        "is not allowed",
    );
    invalid(
        client.delete_package("cgr-public", "").await.map(drop),
        "image name",
    );
    invalid(
        client.ensure_secret("a.b").await.map(drop),
        "1 to 255 letters",
    );
    invalid(
        client
            .add_secret_version("a/b", &SecretString::from("p"))
            .await
            .map(drop),
        "1 to 255 letters",
    );
    invalid(
        client.disable_secret_version("s", "latest").await.map(drop),
        "version number",
    );
    invalid(
        client
            .grant_secret_accessor(&"s".repeat(256))
            .await
            .map(drop),
        "it has 256 characters",
    );
    invalid(
        client.patch_repository("cgr", &[], &remote).await.map(drop),
        "updateMask",
    );
    invalid(
        client.get_operation("../../v1/projects").await.map(drop),
        "operation name",
    );

    let backend = GarBackend::new(client);
    let name = |n: &str| CacheName::new(n).unwrap();
    let private = || UpstreamCredentials::new("org/identity", "pull-token-password").unwrap();
    for spec in [
        CacheSpec::remote(name("cgr_public"), Upstream::CgrPublic),
        CacheSpec::remote(name("CGR"), Upstream::CgrPublic),
        CacheSpec::aggregate(
            name("cgr-virt"),
            PackageFormat::Docker,
            vec![name("Bad_Member")],
        ),
        // A private upstream without credentials.
        CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap()),
    ] {
        for result in [
            backend.plan(&spec).await.map(drop),
            backend.ensure(&spec).await.map(drop),
        ] {
            assert!(
                result.as_ref().unwrap_err().is_invalid_input(),
                "{spec:?}: {result:?}"
            );
        }
    }
    // APK upstreams: GAR has no remote for them.
    let apk = CacheSpec::remote(
        name("cg-private"),
        "apk.cgr.dev/example.com".parse().unwrap(),
    )
    .with_credentials(private());
    let err = backend.ensure(&apk).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("GAR has no remote repository type for apk.cgr.dev"),
        "{err}"
    );
    assert!(matches!(
        backend
            .plan(&CacheSpec::remote(name("wolfi"), Upstream::Wolfi))
            .await,
        Err(Error::Unsupported { .. })
    ));
    let apk_virt = CacheSpec::aggregate(
        name("apk-virt"),
        PackageFormat::Apk,
        vec![name("cg-private")],
    );
    assert!(matches!(
        backend.check_spec(&apk_virt),
        Err(Error::Unsupported { .. })
    ));
    verify_nothing_sent(&google).await;
}

#[tokio::test]
async fn a_builder_refuses_bad_settings_and_names_their_variables() {
    let build = |vars: Vec<(&'static str, &'static str)>| {
        GarClient::builder()
            .from_env_with(move |var| {
                vars.iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| v.to_string())
            })
            .build()
            .unwrap_err()
            .to_string()
    };
    let base = vec![
        ("GOOGLE_CLOUD_LOCATION", "us-central1"),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN),
    ];
    assert!(build(base.clone()).contains("GOOGLE_CLOUD_PROJECT"));
    let mut bad_project = base.clone();
    bad_project.push(("GOOGLE_CLOUD_PROJECT", "123456789012"));
    let text = build(bad_project);
    assert!(
        text.contains("(from GOOGLE_CLOUD_PROJECT)") && text.contains("starting with a letter"),
        "{text}"
    );
    let text = build(vec![
        ("GOOGLE_CLOUD_PROJECT", PROJECT),
        ("GOOGLE_CLOUD_LOCATION", "global"),
    ]);
    assert!(
        text.contains("(from GOOGLE_CLOUD_LOCATION)") && text.contains("multi-region"),
        "{text}"
    );
    let text = build(vec![
        ("GOOGLE_CLOUD_PROJECT", PROJECT),
        ("GOOGLE_CLOUD_LOCATION", "us-central1"),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
            "http://artifactregistry.example.com/",
        ),
    ]);
    assert!(text.contains("plain http"), "{text}");
    // A token pasted where a URL belongs is refused without being echoed.
    let text = build(vec![
        ("GOOGLE_CLOUD_PROJECT", PROJECT),
        ("GOOGLE_CLOUD_LOCATION", "us-central1"),
        (
            "GAR_DOCKER_REGISTRY_URL",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA",
        ),
    ]);
    assert!(
        text.contains("GAR_DOCKER_REGISTRY_URL") && !text.contains("eyJ"),
        "{text}"
    );
    // A token given in code stays when the variable is unset.
    let client = GarClient::builder()
        .with_access_token("ya29.given-in-code")
        .from_env_with(|var| match var {
            "GOOGLE_CLOUD_PROJECT" => Some(PROJECT.to_owned()),
            "GOOGLE_CLOUD_LOCATION" => Some("us".to_owned()),
            _ => None,
        })
        .build()
        .unwrap();
    assert!(format!("{client:?}").contains("StaticToken"), "{client:?}");
    let err = GarClient::builder()
        .with_project(PROJECT)
        .with_location("us")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("with_access_token"), "{err}");
}

#[tokio::test]
async fn the_token_is_sent_as_bearer_with_the_quota_project() {
    let google = Google::start().await;
    Mock::given(method("GET"))
        .and(path(repositories_path()))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-goog-user-project", "billing-project"))
        .and(header(
            "user-agent",
            concat!("gar-client/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&google.ar)
        .await;
    let client = google
        .builder()
        .with_quota_project("billing-project")
        .build()
        .unwrap();
    assert!(client.list_repositories().await.unwrap().is_empty());
    google.ar.verify().await;
}

#[tokio::test]
async fn secrets_never_show_in_debug_display_or_errors() {
    let password = "pull-token-password-9f8e7d6c";
    let encoded = base64::prelude::BASE64_STANDARD.encode(password);
    let google = Google::start().await;
    // A server that echoes what it was sent, the token included.
    Mock::given(method("POST"))
        .and(path(format!(
            "{}/pull-through-cgr:addVersion",
            secrets_path()
        )))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 400,
            "status": "INVALID_ARGUMENT",
            "message": format!("bad payload {encoded} ({password}) sent with Bearer {TOKEN}")}})),
        )
        .mount(&google.sm)
        .await;
    Mock::given(method("GET"))
        .and(path(repositories_path()))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!("token {TOKEN} refused")))
        .mount(&google.ar)
        .await;
    let client = google.client();
    let err = client
        .add_secret_version("pull-through-cgr", &SecretString::from(password))
        .await
        .unwrap_err();
    let unauthenticated = client.list_repositories().await.unwrap_err();
    let backend = GarBackend::new(client.clone());
    let shown = [
        err.to_string(),
        format!("{err:?}"),
        unauthenticated.to_string(),
        format!("{unauthenticated:?}"),
        format!("{client:?}"),
        format!("{backend:?}"),
        format!("{:?}", google.builder()),
        format!("{:?}", StaticToken::new(TOKEN)),
    ];
    for text in shown {
        for secret in [password, encoded.as_str(), TOKEN] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
}

#[tokio::test]
async fn check_access_is_one_read_and_names_the_token_variable_on_401() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(repositories_path()))
        .and(wiremock::matchers::query_param("pageSize", "1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(envelope(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let vars = [
        ("GOOGLE_CLOUD_PROJECT", PROJECT.to_owned()),
        ("GOOGLE_CLOUD_LOCATION", "us-central1".to_owned()),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.expired".to_owned()),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
            format!("{}/", server.uri()),
        ),
    ];
    let client = GarClient::builder()
        .from_env_with(|var| vars.iter().find(|(k, _)| *k == var).map(|(_, v)| v.clone()))
        .with_retry(pull_through_core::http::RetryConfig::none())
        .build()
        .unwrap();
    let err = GarBackend::new(client).check_access().await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("export GOOGLE_OAUTH_ACCESS_TOKEN=\"$(gcloud auth print-access-token)\""),
        "{err}"
    );
    server.verify().await;
}
