//! The platform API, STS and registry flows against wiremock: exact requests, every error
//! envelope, the PermissionDenied retry, rollback.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use chainguard_client::auth::{
    CachedTokens, ChainctlCache, OidcExchange, RefreshExchange, StaticToken, Sts, TokenSource,
    UpstreamToken,
};
use chainguard_client::{ChainguardClient, PullTokenOptions, RegistryAuth};
use pull_through_core::http::{RecordingObserver, RetryConfig};
use pull_through_core::{
    Deleted, Error, ExposeSecret, OrgId, PullTokenRole, SecretString, UpstreamCredentials,
};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ORG: &str = "0123456789abcdef0123456789abcdef01234567";
const BUILTIN_APK_PULL: &str = "7a5cd2b0a1f56d7b2e7c8b16d1f6e3a2c4b5d6e7";
const API_TOKEN: &str = "console-api-token";

fn org() -> OrgId {
    OrgId::new(ORG).unwrap()
}

fn client(server: &MockServer) -> (ChainguardClient, RecordingObserver) {
    let recorder = RecordingObserver::new();
    let client = ChainguardClient::builder()
        .with_api_url(server.uri().parse().unwrap())
        .with_token_source(Arc::new(StaticToken::new(API_TOKEN)))
        .with_retry(RetryConfig::none())
        .with_binding_retry(vec![Duration::from_millis(5); 2])
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .with_observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();
    (client, recorder)
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {API_TOKEN}").as_str())
}

fn rpc(code: i32, message: &str) -> serde_json::Value {
    serde_json::json!({"code": code, "message": message, "details": []})
}

#[tokio::test]
async fn organizations_are_root_groups() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/iam/v1/groups"))
        .and(query_param("uidp.inRoot", "true"))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
                {"id": ORG, "name": "example.com", "description": "", "verified": true},
                {"id": format!("{ORG}/0123456789abcdef"), "name": "a folder"}
            ]})),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let orgs = client.list_organizations().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].name, "example.com");
}

#[tokio::test]
async fn organization_names_resolve_to_one_id_or_a_listing_error() {
    let server = MockServer::start().await;
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    Mock::given(path("/iam/v1/groups"))
        .and(query_param("name", "example.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"items": [{"id": ORG, "name": "example.com"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/iam/v1/groups"))
        .and(query_param("name", "twice"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
            {"id": ORG, "name": "twice"}, {"id": other, "name": "twice"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/iam/v1/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert_eq!(
        client.resolve_organization("example.com").await.unwrap(),
        org()
    );
    let twice = client
        .resolve_organization("twice")
        .await
        .unwrap_err()
        .to_string();
    assert!(twice.contains(ORG) && twice.contains(other), "{twice}");
    let none = client
        .resolve_organization("nobody")
        .await
        .unwrap_err()
        .to_string();
    assert!(none.contains("empty list"), "{none}");
}

#[tokio::test]
async fn built_in_roles_win_and_custom_ones_are_never_picked() {
    let server = MockServer::start().await;
    Mock::given(path("/iam/v1/roles"))
        .and(query_param("name", "apk.pull"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
            {"id": format!("{ORG}/0123456789abcdef"), "name": "apk.pull", "capabilities": ["apk.list"]},
            {"id": BUILTIN_APK_PULL, "name": "apk.pull", "capabilities": ["apk.list", "apk.blobs.get"]}
        ]})))
        .mount(&server)
        .await;
    Mock::given(path("/iam/v1/roles"))
        .and(query_param("name", "registry.pull"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
            {"id": format!("{ORG}/0123456789abcdef"), "name": "registry.pull"}]})),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert_eq!(
        client.find_builtin_role("apk.pull").await.unwrap().id,
        BUILTIN_APK_PULL
    );
    let err = client
        .find_builtin_role("registry.pull")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("only custom roles") && err.contains("/0123456789abcdef"),
        "{err}"
    );
}

#[tokio::test]
async fn role_bindings_are_retried_while_the_identity_propagates() {
    let server = MockServer::start().await;
    let identity = format!("{ORG}/aaaaaaaaaaaaaaaa");
    Mock::given(method("POST"))
        .and(path(format!("/iam/v1/rolebindings/{ORG}")))
        .respond_with(ResponseTemplate::new(403).set_body_json(rpc(7, "permission denied")))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/iam/v1/rolebindings/{ORG}")))
        .and(bearer())
        .and(body_json(serde_json::json!({"identity": identity, "role": BUILTIN_APK_PULL})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": format!("{ORG}/bbbbbbbbbbbbbbbb"), "identity": identity, "role": BUILTIN_APK_PULL})))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server);
    let binding = client
        .create_role_binding_for_new_identity(ORG, &identity, BUILTIN_APK_PULL)
        .await
        .unwrap();
    assert_eq!(binding.id, format!("{ORG}/bbbbbbbbbbbbbbbb"));
    assert_eq!(recorder.records().len(), 3, "two denials, then success");
}

#[tokio::test]
async fn role_binding_denials_end_when_the_schedule_does() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(rpc(7, "caller lacks role_bindings.create")),
        )
        .mount(&server)
        .await;
    let (client, recorder) = client(&server);
    // For an existing identity a denial is final: the caller lacks the capability.
    let err = client
        .create_role_binding(ORG, "o/i", "r")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert_eq!(
        recorder.records().len(),
        1,
        "no retry for an existing identity"
    );
    let err = client
        .create_role_binding_for_new_identity(ORG, "o/i", "r")
        .await
        .unwrap_err();
    match &err {
        Error::PermissionDenied(api) => {
            assert_eq!(api.code.as_deref(), Some("PERMISSION_DENIED"));
            assert_eq!(api.message, "caller lacks role_bindings.create");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        recorder.records().len(),
        4,
        "then the first try and two retries"
    );
}

/// Mounts the role lookup and identity creation; returns the created identity id.
async fn mount_pull_token_api(server: &MockServer) -> String {
    let identity = format!("{ORG}/cccccccccccccccc");
    Mock::given(method("GET"))
        .and(path("/iam/v1/roles"))
        .and(query_param("name", "apk.pull"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
            {"id": BUILTIN_APK_PULL, "name": "apk.pull"}]})),
        )
        .mount(server)
        .await;
    let created = identity.clone();
    Mock::given(method("POST"))
        .and(path(format!("/iam/v1/identities/{ORG}")))
        .and(bearer())
        .respond_with(move |request: &Request| {
            let mut body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            body["id"] = serde_json::Value::String(created.clone());
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(server)
        .await;
    identity
}

#[tokio::test]
async fn pull_tokens_are_a_static_identity_a_binding_and_a_jwt() {
    let server = MockServer::start().await;
    let identity = mount_pull_token_api(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/iam/v1/rolebindings/{ORG}")))
        .and(body_json(
            serde_json::json!({"identity": identity, "role": BUILTIN_APK_PULL}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "x/y"})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let before = SystemTime::now();

    let token = client
        .create_pull_token(
            &org(),
            PullTokenOptions::new(PullTokenRole::ApkPull).with_description("cg-private cache"),
        )
        .await
        .unwrap();

    assert_eq!(token.identity_id, identity);
    let requests = server.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.url.path() == format!("/iam/v1/identities/{ORG}"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["name"], "pull-token");
    assert_eq!(body["description"], "cg-private cache");
    assert_eq!(
        body["static"]["issuer"],
        "https://pulltoken.issuer.chainguard.dev"
    );
    let subject = body["static"]["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("pull-token-") && subject.len() == 51,
        "{subject}"
    );
    let expiration =
        humantime::parse_rfc3339(body["static"]["expiration"].as_str().unwrap()).unwrap();
    let ttl = expiration.duration_since(before).unwrap();
    // Whole seconds in the body, and the clock may cross a second while the key is made.
    assert!(
        ttl <= Duration::from_secs(720 * 3600 + 1) && ttl > Duration::from_secs(720 * 3600 - 60),
        "{ttl:?}"
    );
    assert!(body.get("id").is_none(), "a create request carries no id");

    // The JWT verifies with the key the identity registered, and names its subject.
    let jwks: serde_json::Value =
        serde_json::from_str(body["static"]["issuerKeys"].as_str().unwrap()).unwrap();
    let key = &jwks["keys"][0];
    let decode = |field: &str| {
        BASE64_URL_SAFE_NO_PAD
            .decode(key[field].as_str().unwrap())
            .unwrap()
    };
    let parts: Vec<&str> = token.token.expose_secret().split('.').collect();
    aws_lc_rs::signature::RsaPublicKeyComponents {
        n: decode("n"),
        e: decode("e"),
    }
    .verify(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &BASE64_URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    )
    .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&BASE64_URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], subject);
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://issuer.enforce.dev"])
    );

    let credentials = token.credentials().unwrap();
    assert_eq!(credentials.username(), identity);
    assert!(!format!("{token:?}").contains(parts[2]));
}

/// Whatever makes the binding fail (a denial once the retries are spent, a role that is
/// not found, which is not retried), the new identity is deleted again.
#[tokio::test]
async fn a_failed_binding_leaves_no_identity_behind() {
    // (HTTP status, gRPC code, binding attempts, the error's variant)
    let cases = [(403, 7, 3, "PermissionDenied"), (404, 5, 1, "NotFound")];
    for (status, code, attempts, variant) in cases {
        let server = MockServer::start().await;
        let identity = mount_pull_token_api(&server).await;
        Mock::given(method("POST"))
            .and(path(format!("/iam/v1/rolebindings/{ORG}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(rpc(code, "failed")))
            .expect(attempts)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path(format!("/iam/v1/identities/{identity}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client(&server);
        let err = client
            .create_pull_token(&org(), PullTokenOptions::new(PullTokenRole::ApkPull))
            .await
            .unwrap_err();
        assert!(format!("{err:?}").starts_with(variant), "{status}: {err:?}");
        server.verify().await;
    }
}

#[tokio::test]
async fn bad_options_send_nothing() {
    let server = MockServer::start().await;
    let (client, recorder) = client(&server);
    let err = client
        .create_pull_token(
            &org(),
            PullTokenOptions::new(PullTokenRole::RegistryPull).with_name("Not Valid!"),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert!(recorder.records().is_empty());
}

#[tokio::test]
async fn pull_tokens_are_listed_revoked_and_pruned() {
    let server = MockServer::start().await;
    let keys = |expiration: &str| {
        serde_json::json!({"issuer": "https://pulltoken.issuer.chainguard.dev",
        "subject": "pull-token-x", "issuerKeys": "{}", "expiration": expiration})
    };
    Mock::given(method("GET"))
        .and(path("/iam/v1/identities"))
        .and(query_param("uidp.descendantsOf", ORG))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
            {"id": format!("{ORG}/1111111111111111"), "name": "pull-token", "static": keys("2020-01-01T00:00:00Z")},
            {"id": format!("{ORG}/2222222222222222"), "name": "pull-token", "static": keys("2999-01-01T00:00:00Z")},
            {"id": format!("{ORG}/3333333333333333"), "name": "ci", "static": {"issuer": "https://token.actions.githubusercontent.com",
                "subject": "s", "issuerKeys": "{}", "expiration": "2020-01-01T00:00:00Z"}},
            {"id": format!("{ORG}/4444444444444444"), "name": "human"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/iam/v1/identities/{ORG}/1111111111111111")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(rpc(5, "not found")))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let tokens = client.list_pull_tokens(&org()).await.unwrap();
    assert_eq!(tokens.len(), 2, "only pull-token issuers");
    assert!(tokens[0].expired && !tokens[1].expired);
    assert_eq!(
        client.prune_expired_pull_tokens(&org()).await.unwrap(),
        [format!("{ORG}/1111111111111111")]
    );
    assert_eq!(
        client
            .revoke_pull_token(&format!("{ORG}/9999999999999999"))
            .await
            .unwrap(),
        Deleted::AlreadyAbsent
    );
    server.verify().await;
}

#[tokio::test]
async fn status_and_capability_checks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/v1/ok"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": "https://issuer.enforce.dev", "subject": "user-1", "audience": ["https://console-api.enforce.dev"],
            "capabilities": [{"group": {"id": ORG, "name": "example.com"},
                              "role": {"id": "r", "name": "viewer", "capabilities": ["repo.list", "groups.list"]}}]})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let me = client.status().await.unwrap();
    assert_eq!(me.subject, "user-1");
    client
        .require_capability(&org(), "repo.list")
        .await
        .unwrap();
    match client
        .require_capability(&org(), "apk.list")
        .await
        .unwrap_err()
    {
        Error::PermissionDenied(api) => {
            let fix = api.fix.unwrap();
            assert!(
                fix.contains("apk.pull") && fix.contains("mint a new token"),
                "{fix}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unauthenticated_answers_carry_the_fix_and_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("x-request-id", "req-42")
                .set_body_json(rpc(16, "token expired")),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    match client.status().await.unwrap_err() {
        Error::Unauthenticated(api) => {
            assert_eq!(api.request_id.as_deref(), Some("req-42"));
            assert_eq!(api.code.as_deref(), Some("UNAUTHENTICATED"));
            assert!(api.fix.unwrap().contains("console-api.enforce.dev"));
        }
        other => panic!("{other:?}"),
    }
}

fn jwt_expiring_in(seconds: u64) -> String {
    let exp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + seconds;
    let payload = BASE64_URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
    format!("e30.{payload}.sig")
}

#[tokio::test]
async fn oidc_exchange_per_audience_with_caching() {
    let server = MockServer::start().await;
    let upstream = "upstream-oidc-token";
    let identity = format!("{ORG}/dddddddddddddddd");
    for audience in ["https://console-api.enforce.dev", "apk.cgr.dev"] {
        Mock::given(method("GET"))
            .and(path("/sts/exchange"))
            .and(query_param("aud", audience))
            .and(query_param("identity", identity.as_str()))
            .and(header(
                "authorization",
                format!("Bearer {upstream}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "token": jwt_expiring_in(3600), "expiry": "2999-01-01T00:00:00Z"})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oidc-token");
    std::fs::write(&file, format!("{upstream}\n")).unwrap();
    let sts = Sts::new(server.uri().parse().unwrap()).unwrap();
    let source = CachedTokens::new(Arc::new(OidcExchange::new(
        sts,
        identity,
        UpstreamToken::File(file),
    )));
    let first = source
        .token("https://console-api.enforce.dev")
        .await
        .unwrap();
    let again = source
        .token("https://console-api.enforce.dev")
        .await
        .unwrap();
    assert_eq!(
        first.expose_secret(),
        again.expose_secret(),
        "served from the cache"
    );
    source.token("apk.cgr.dev").await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sts/exchange_refresh_token"))
        .and(header("authorization", "Bearer refresh-1"))
        .and(body_string("aud=https%3A%2F%2Fconsole-api.enforce.dev"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": {"token": "access-1", "expiry": "2999-01-01T00:00:00Z"},
            "refreshToken": {"token": "refresh-2", "expiry": "2999-01-01T00:00:00Z"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer refresh-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": {"token": "access-2"}, "refreshToken": {"token": "refresh-3"}})))
        .mount(&server)
        .await;
    let source = RefreshExchange::new(
        Sts::new(server.uri().parse().unwrap()).unwrap(),
        "refresh-1",
    );
    assert_eq!(
        source
            .token("https://console-api.enforce.dev")
            .await
            .unwrap()
            .expose_secret(),
        "access-1"
    );
    assert_eq!(
        source.current_refresh_token().await.expose_secret(),
        "refresh-2"
    );
    assert_eq!(
        source
            .token("https://console-api.enforce.dev")
            .await
            .unwrap()
            .expose_secret(),
        "access-2"
    );
    assert_eq!(
        source.current_refresh_token().await.expose_secret(),
        "refresh-3"
    );
}

#[tokio::test]
async fn the_sts_never_follows_redirects() {
    let server = MockServer::start().await;
    Mock::given(path("/sts/exchange"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/elsewhere", server.uri()).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "leaked"})),
        )
        .expect(0)
        .mount(&server)
        .await;
    let sts = Sts::new(server.uri().parse().unwrap()).unwrap();
    let err = sts
        .exchange(&SecretString::from("upstream"), "cgr.dev", None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::FOUND));
    server.verify().await;
}

#[tokio::test]
async fn chainctl_cache_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ChainctlCache::new(dir.path());
    let audience = "https://console-api.enforce.dev";
    let path = cache.token_path(audience);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fresh = jwt_expiring_in(600);
    std::fs::write(&path, &fresh).unwrap();
    assert_eq!(cache.token(audience).await.unwrap().expose_secret(), fresh);
    let expired = format!("e30.{}.sig", BASE64_URL_SAFE_NO_PAD.encode(br#"{"exp":1}"#));
    std::fs::write(&path, expired).unwrap();
    let err = cache.token(audience).await.unwrap_err().to_string();
    assert!(
        err.contains("expired") && err.contains("chainctl auth login"),
        "{err}"
    );
    let missing = cache.token("apk.cgr.dev").await.unwrap_err().to_string();
    assert!(missing.contains("--audience apk.cgr.dev"), "{missing}");
}

#[tokio::test]
async fn registry_tokens_follow_the_challenge() {
    let server = MockServer::start().await;
    let challenge = format!(r#"Bearer realm="{}/token",service="cgr.dev""#, server.uri());
    Mock::given(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str()),
        )
        .mount(&server)
        .await;
    let basic = format!(
        "Basic {}",
        base64::prelude::BASE64_STANDARD.encode(format!("{ORG}/eeeeeeeeeeeeeeee:pull-jwt"))
    );
    Mock::given(path("/token"))
        .and(query_param(
            "scope",
            "repository:example.com/chainguard-base:pull",
        ))
        .and(query_param("service", "cgr.dev"))
        .and(header("authorization", basic.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "registry-token"})),
        )
        .mount(&server)
        .await;
    let auth = RegistryAuth::new(server.uri().parse().unwrap()).unwrap();
    let credentials =
        UpstreamCredentials::new(format!("{ORG}/eeeeeeeeeeeeeeee"), "pull-jwt").unwrap();
    let token = auth
        .pull_token("example.com/chainguard-base", Some(&credentials))
        .await
        .unwrap();
    assert_eq!(token.unwrap().expose_secret(), "registry-token");
}

#[tokio::test]
async fn registries_without_auth_or_without_a_challenge() {
    let open = MockServer::start().await;
    Mock::given(path("/v2/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&open)
        .await;
    let auth = RegistryAuth::new(open.uri().parse().unwrap()).unwrap();
    assert!(
        auth.pull_token("chainguard/go", None)
            .await
            .unwrap()
            .is_none()
    );

    let basic_only = MockServer::start().await;
    Mock::given(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", "Basic realm=\"r\""),
        )
        .mount(&basic_only)
        .await;
    let auth = RegistryAuth::new(basic_only.uri().parse().unwrap()).unwrap();
    let err = auth.pull_token("chainguard/go", None).await.unwrap_err();
    assert!(err.to_string().contains("Bearer challenge"), "{err}");
}

#[tokio::test]
async fn role_bindings_are_deleted_and_absence_is_reported() {
    let server = MockServer::start().await;
    let binding = format!("{ORG}/ffffffffffffffff");
    Mock::given(method("DELETE"))
        .and(path(format!("/iam/v1/rolebindings/{binding}")))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(rpc(5, "role binding not found")))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert_eq!(
        client.delete_role_binding(&binding).await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        client.delete_role_binding(&binding).await.unwrap(),
        Deleted::AlreadyAbsent
    );
}

#[tokio::test]
async fn missing_upstream_tokens_say_what_to_set() {
    // Setting variables needs `unsafe` in edition 2024, which the workspace forbids; the
    // happy paths (a token file, GitHub Actions) run in the program's end-to-end tests,
    // where the child process gets its own environment.
    let sts = Sts::new("http://127.0.0.1:9".parse().unwrap()).unwrap();
    let from_env = OidcExchange::new(
        sts.clone(),
        "o/i",
        UpstreamToken::Env("PULL_THROUGH_UNSET_OIDC_X".into()),
    );
    let err = from_env.token("cgr.dev").await.unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("PULL_THROUGH_UNSET_OIDC_X"),
        "{err}"
    );
    let from_file = OidcExchange::new(
        sts.clone(),
        "o/i",
        UpstreamToken::File("/nonexistent/oidc-token".into()),
    );
    assert!(
        from_file
            .token("cgr.dev")
            .await
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/oidc-token")
    );
    if std::env::var_os("ACTIONS_ID_TOKEN_REQUEST_URL").is_none() {
        let github = OidcExchange::new(
            sts,
            "o/i",
            UpstreamToken::GitHubActions {
                audience: "issuer.enforce.dev".into(),
            },
        );
        let err = github.token("cgr.dev").await.unwrap_err();
        assert!(err.to_string().contains("id-token: write"), "{err}");
    }
}

fn jwt_for(aud: serde_json::Value) -> String {
    let header = BASE64_URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
    let payload = BASE64_URL_SAFE_NO_PAD
        .encode(serde_json::json!({"aud": aud, "exp": 4102444800_u64}).to_string());
    format!("{header}.{payload}.c2ln")
}

#[tokio::test]
async fn a_static_token_is_exchanged_for_another_audience_and_kept_for_its_own() {
    let server = MockServer::start().await;
    let console = jwt_for(serde_json::json!(["https://console-api.enforce.dev"]));
    Mock::given(method("GET"))
        .and(path("/sts/exchange"))
        .and(query_param("aud", "apk.cgr.dev"))
        .and(header(
            "authorization",
            format!("Bearer {console}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "apk-token"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sts = Sts::new(server.uri().parse().unwrap()).unwrap();
    let source = StaticToken::new(console.clone()).exchanging_with(sts);
    assert_eq!(
        source.token("apk.cgr.dev").await.unwrap().expose_secret(),
        "apk-token"
    );
    // Its own audience needs no exchange (the mock expects exactly one call).
    assert_eq!(
        source
            .token("https://console-api.enforce.dev")
            .await
            .unwrap()
            .expose_secret(),
        console
    );
}

#[tokio::test]
async fn a_static_token_for_another_audience_without_an_sts_is_refused_naming_both() {
    let source = StaticToken::new(jwt_for(serde_json::json!(
        "https://console-api.enforce.dev"
    )));
    let err = source.token("cgr.dev").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(
        text.contains("\"cgr.dev\"") && text.contains("console-api.enforce.dev"),
        "{text}"
    );
    // An opaque token is passed as given: only the server can judge it.
    let opaque = StaticToken::new("not-a-jwt");
    assert_eq!(
        opaque.token("cgr.dev").await.unwrap().expose_secret(),
        "not-a-jwt"
    );
}

#[tokio::test]
async fn a_ttl_assigned_to_the_field_is_still_checked_before_any_request() {
    let server = MockServer::start().await;
    let (client, recorder) = client(&server);
    for ttl in [Duration::ZERO, Duration::from_secs(400 * 24 * 3600)] {
        let mut options = PullTokenOptions::new(PullTokenRole::ApkPull);
        options.ttl = ttl;
        let err = client.create_pull_token(&org(), options).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(err.to_string().contains("8760h"), "{err}");
    }
    assert!(recorder.records().is_empty());
}

#[tokio::test]
async fn a_failed_identity_create_attempts_no_binding() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/iam/v1/roles"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [
            {"id": BUILTIN_APK_PULL, "name": "apk.pull"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/iam/v1/identities/{ORG}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "code": 3, "message": "invalid identity", "details": [
                {"@type": "type.googleapis.com/google.rpc.BadRequest",
                 "fieldViolations": [{"field": "static.expiration", "description": "too far in the future"}]}]})))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server);
    let err = client
        .create_pull_token(&org(), PullTokenOptions::new(PullTokenRole::ApkPull))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("static.expiration: too far in the future"),
        "{err}"
    );
    assert!(
        !recorder
            .records()
            .iter()
            .any(|r| r.url.contains("rolebindings")),
        "no binding after a failed create"
    );
}

#[tokio::test]
async fn sts_errors_keep_their_meaning() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sts/exchange"))
        .and(query_param("aud", "cgr.dev"))
        .respond_with(ResponseTemplate::new(403).set_body_json(rpc(7, "token is expired")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/sts/exchange"))
        .and(query_param("aud", "apk.cgr.dev"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/sts/exchange_refresh_token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(rpc(16, "refresh token revoked")))
        .mount(&server)
        .await;
    let sts = Sts::new(server.uri().parse().unwrap()).unwrap();
    let upstream = SecretString::from("upstream");
    let expired = sts.exchange(&upstream, "cgr.dev", None).await.unwrap_err();
    assert!(matches!(expired, Error::PermissionDenied(_)), "{expired:?}");
    assert!(expired.to_string().contains("token is expired"));
    // A non-JSON gateway page is still an API error with its status, not a decode error.
    let gateway = sts
        .exchange(&upstream, "apk.cgr.dev", None)
        .await
        .unwrap_err();
    assert!(!matches!(gateway, Error::Decode(_)), "{gateway:?}");
    assert!(gateway.to_string().contains("502"), "{gateway}");
    // A failed refresh keeps the refresh token it had: nothing was rotated.
    let source = RefreshExchange::new(sts, "refresh-1");
    let err = source
        .token("https://console-api.enforce.dev")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    assert_eq!(
        source.current_refresh_token().await.expose_secret(),
        "refresh-1"
    );
}
