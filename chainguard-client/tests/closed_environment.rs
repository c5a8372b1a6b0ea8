//! A builder given a lookup reads only that lookup: no credentials from chainctl's cache
//! under the real home, no real hosts, unless the caller asks for them.

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use chainguard_client::ChainguardClient;

/// Set in the child process `an_explicit_environment_without_credentials_builds_no_client`
/// starts, to the home it made.
const CHILD: &str = "CHAINGUARD_CLIENT_CLOSED_ENVIRONMENT_CHILD";

const CONSOLE: &str = "https://console-api.enforce.dev";

/// A console token as chainctl caches one, valid until 2100.
fn cached_token() -> String {
    let header = BASE64_URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
    let payload = BASE64_URL_SAFE_NO_PAD
        .encode(serde_json::json!({"aud": CONSOLE, "exp": 4102444800_u64}).to_string());
    format!("{header}.{payload}.Y2FjaGVk")
}

/// Writes chainctl's cache under `home` as `chainctl auth login` leaves it.
fn chainctl_home(home: &std::path::Path) -> std::path::PathBuf {
    let dir = home.join(".cache").join("chainguard");
    let audience_dir = dir.join(CONSOLE.replace('/', "-"));
    std::fs::create_dir_all(&audience_dir).unwrap();
    std::fs::write(audience_dir.join("oidc-token"), cached_token()).unwrap();
    dir
}

fn refusal(result: Result<ChainguardClient, pull_through_core::Error>) -> String {
    let err = result.expect_err("a client was built from an environment without credentials");
    assert!(err.is_invalid_input(), "{err:?}");
    err.to_string()
}

#[test]
fn an_explicit_environment_without_credentials_builds_no_client() {
    if let Some(home) = std::env::var_os(CHILD) {
        // This process's HOME holds a valid chainctl login; the lookups hold nothing, or
        // only a home: neither may reach the cache.
        let message = refusal(
            ChainguardClient::builder()
                .from_env_with(|_| None)
                .and_then(|builder| builder.build()),
        );
        for var in ["CHAINGUARD_TOKEN", "CHAINGUARD_IDENTITY"] {
            assert!(message.contains(var), "{var} not named: {message}");
        }
        let home = home.to_string_lossy().into_owned();
        let message = refusal(
            ChainguardClient::builder()
                .from_env_with(|var| matches!(var, "HOME").then(|| home.clone()))
                .and_then(|builder| builder.build()),
        );
        assert!(message.contains("CHAINGUARD_TOKEN"), "{message}");
        // The process environment keeps today's behaviour: chainctl's cache, real hosts.
        let client = ChainguardClient::builder()
            .from_env()
            .unwrap()
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let token = runtime.block_on(client.token(CONSOLE)).unwrap();
        assert_eq!(
            pull_through_core::ExposeSecret::expose_secret(&token),
            cached_token()
        );
        return;
    }
    let home = tempfile::tempdir().unwrap();
    chainctl_home(home.path());
    // Setting variables in this process would race with the other tests (and needs
    // `unsafe`), so a copy of this test runs in a child with its own HOME.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "an_explicit_environment_without_credentials_builds_no_client",
            "--test-threads=1",
        ])
        .env(CHILD, home.path())
        .env("HOME", home.path())
        .env_remove("XDG_CACHE_HOME");
    for var in [
        "CHAINGUARD_TOKEN",
        "CHAINGUARD_IDENTITY",
        "CHAINGUARD_OIDC_TOKEN",
        "CHAINGUARD_OIDC_TOKEN_FILE",
        "CHAINGUARD_API_URL",
        "CHAINGUARD_ISSUER_URL",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ] {
        child.env_remove(var);
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A filter that matched nothing would also succeed.
    assert!(stdout.contains("1 passed"), "{stdout}");
}

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |var| map.get(var).cloned()
}

#[tokio::test]
async fn chainctl_login_is_read_when_asked_for() {
    use chainguard_client::auth::ChainctlCache;
    let home = tempfile::tempdir().unwrap();
    let dir = chainctl_home(home.path());
    let home_text = home.path().to_str().unwrap().to_owned();
    let env = lookup(&[("HOME", &home_text)]);
    for cache in [
        ChainctlCache::new(&dir),
        ChainctlCache::default_location_with(&env).unwrap(),
    ] {
        let client = ChainguardClient::builder()
            .from_env_with(&env)
            .unwrap()
            .with_chainctl_cache(cache)
            .build()
            .unwrap();
        let token = client.token(CONSOLE).await.unwrap();
        assert_eq!(
            pull_through_core::ExposeSecret::expose_secret(&token),
            cached_token()
        );
    }
}

#[test]
fn an_identity_without_its_upstream_token_names_what_is_missing() {
    let message = refusal(
        ChainguardClient::builder()
            .from_env_with(lookup(&[("CHAINGUARD_IDENTITY", "org/identity")]))
            .and_then(|builder| builder.build()),
    );
    for var in [
        "CHAINGUARD_OIDC_TOKEN_FILE",
        "CHAINGUARD_OIDC_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ] {
        assert!(message.contains(var), "{var}: {message}");
    }
    let message = refusal(
        ChainguardClient::builder()
            .from_env_with(lookup(&[
                ("CHAINGUARD_IDENTITY", "org/identity"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://actions.example/t"),
            ]))
            .and_then(|builder| builder.build()),
    );
    assert!(
        message
            .contains("ACTIONS_ID_TOKEN_REQUEST_URL is set without ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        "{message}"
    );
}

#[test]
fn a_builder_told_nothing_names_its_methods_and_keeps_a_given_source() {
    let message = refusal(ChainguardClient::builder().build());
    assert!(message.contains("call with_token_source"), "{message}");
    assert!(!message.contains("CHAINGUARD_TOKEN"), "{message}");
    // An environment without credentials leaves a source given before in place.
    let source = std::sync::Arc::new(chainguard_client::auth::StaticToken::new("given"));
    ChainguardClient::builder()
        .with_token_source(source)
        .from_env_with(|_| None)
        .unwrap()
        .build()
        .unwrap();
}

#[tokio::test]
async fn upstream_tokens_come_from_the_environment_given() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    // The OIDC token itself, given in the lookup (the process has no such variable).
    Mock::given(method("GET"))
        .and(path("/sts/exchange"))
        .and(query_param("identity", "org/identity"))
        .and(header("authorization", "Bearer oidc-from-lookup"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "from-value"})),
        )
        .mount(&server)
        .await;
    // GitHub Actions' request URL and token, given in the lookup.
    Mock::given(method("GET"))
        .and(path("/actions/idtoken"))
        .and(query_param("audience", "issuer.enforce.dev"))
        .and(header("authorization", "Bearer actions-request-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": "gha-id-token"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/sts/exchange"))
        .and(header("authorization", "Bearer gha-id-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "from-actions"})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let actions = format!("{uri}/actions/idtoken?api-version=2.0");
    for (extra, expected) in [
        (("CHAINGUARD_OIDC_TOKEN", "oidc-from-lookup"), "from-value"),
        (
            ("ACTIONS_ID_TOKEN_REQUEST_URL", actions.as_str()),
            "from-actions",
        ),
    ] {
        let client = ChainguardClient::builder()
            .from_env_with(lookup(&[
                ("CHAINGUARD_API_URL", &uri),
                ("CHAINGUARD_ISSUER_URL", &uri),
                ("CHAINGUARD_IDENTITY", "org/identity"),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "actions-request-token"),
                extra,
            ]))
            .unwrap()
            .build()
            .unwrap();
        let token = client.token("cgr.dev").await.unwrap();
        assert_eq!(
            pull_through_core::ExposeSecret::expose_secret(&token),
            expected
        );
    }
}

/// Set in the child process of `chainctls_login_goes_only_to_chainguards_hosts`.
const OTHER_HOST_CHILD: &str = "CHAINGUARD_CLIENT_OTHER_HOST_CHILD";

/// A shell left pointing at a sandbox (or at whatever listens on a port) with no token of
/// its own must not hand it chainctl's real login.
#[test]
fn chainctls_login_goes_only_to_chainguards_hosts() {
    if std::env::var_os(OTHER_HOST_CHILD).is_some() {
        let message = refusal(
            ChainguardClient::builder()
                .from_env()
                .and_then(|builder| builder.build()),
        );
        assert!(message.contains("another host"), "{message}");
        assert!(message.contains("CHAINGUARD_TOKEN"), "{message}");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    chainctl_home(home.path());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "chainctls_login_goes_only_to_chainguards_hosts",
            "--test-threads=1",
        ])
        .env(OTHER_HOST_CHILD, "1")
        .env("HOME", home.path())
        .env("CHAINGUARD_API_URL", "http://127.0.0.1:9")
        .env_remove("XDG_CACHE_HOME");
    for var in [
        "CHAINGUARD_TOKEN",
        "CHAINGUARD_IDENTITY",
        "CHAINGUARD_OIDC_TOKEN",
        "CHAINGUARD_OIDC_TOKEN_FILE",
        "CHAINGUARD_ISSUER_URL",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ] {
        child.env_remove(var);
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}
