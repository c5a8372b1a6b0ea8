//! The builder's sources of settings and the messages `build` refuses with: variables are
//! named only when the value was looked for in the environment.

use std::collections::HashMap;

use artifactory_client::{ArtifactoryBuilder, ArtifactoryClient};
use pull_through_core::http::RetryConfig;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A lookup over fixed pairs, standing in for the environment.
fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |var| map.get(var).cloned()
}

fn refusal(builder: ArtifactoryBuilder) -> String {
    let err = builder.build().unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    err.to_string()
}

#[test]
fn nothing_given_asks_for_with_url() {
    assert_eq!(
        refusal(ArtifactoryClient::builder()),
        "invalid input: url: none was given; call with_url with the instance's URL (such as \
         https://example.jfrog.io)"
    );
}

#[test]
fn with_url_without_token_asks_for_with_access_token_and_names_no_variable() {
    let message = refusal(ArtifactoryClient::builder().with_url("https://example.jfrog.io"));
    assert_eq!(
        message,
        "invalid input: credentials: none were given; call with_access_token with an access \
         token (or with_basic with a username and a token or password)"
    );
    assert!(!message.contains("ARTIFACTORY"), "{message}");
}

#[test]
fn empty_environment_names_the_url_variable() {
    assert_eq!(
        refusal(ArtifactoryClient::builder().from_env_with(vars(&[]))),
        "invalid input: url: ARTIFACTORY_URL is not set; set it to the instance's URL (such as \
         https://example.jfrog.io) or call with_url"
    );
}

#[test]
fn with_url_and_environment_without_token_names_the_token_variable() {
    let expected = "invalid input: credentials: ARTIFACTORY_ACCESS_TOKEN is not set (nor \
                    JFROG_ACCESS_TOKEN); set it to an access token or call with_access_token";
    // In either order: the environment was asked, so its variable is named.
    let before = ArtifactoryClient::builder()
        .with_url("https://example.jfrog.io")
        .from_env_with(vars(&[]));
    assert_eq!(refusal(before), expected);
    let after = ArtifactoryClient::builder()
        .from_env_with(vars(&[]))
        .with_url("https://example.jfrog.io");
    assert_eq!(refusal(after), expected);
    // ARTIFACTORY_USER alone does not authenticate.
    let user_only = ArtifactoryClient::builder().from_env_with(vars(&[
        ("ARTIFACTORY_URL", "https://example.jfrog.io"),
        ("ARTIFACTORY_USER", "linky@example.com"),
    ]));
    assert_eq!(refusal(user_only), expected);
}

#[test]
fn a_bad_url_is_named_by_where_it_came_from() {
    let from_code = ArtifactoryClient::builder()
        .with_url("ftp://example.jfrog.io")
        .with_access_token("t");
    assert_eq!(
        refusal(from_code),
        "invalid input: url: \"ftp://example.jfrog.io/\" is not a valid URL: use an http or \
         https URL with a host"
    );
    let from_env = ArtifactoryClient::builder().from_env_with(vars(&[
        ("ARTIFACTORY_URL", "ftp://example.jfrog.io"),
        ("ARTIFACTORY_ACCESS_TOKEN", "t"),
    ]));
    assert_eq!(
        refusal(from_env),
        "invalid input: ARTIFACTORY_URL: \"ftp://example.jfrog.io/\" is not a valid URL: use an \
         http or https URL with a host"
    );
}

#[test]
fn refusals_never_show_the_token() {
    let secret = "eyJ-very-secret-token";
    let insecure = ArtifactoryClient::builder().from_env_with(vars(&[
        ("ARTIFACTORY_URL", "http://example.jfrog.io"),
        ("ARTIFACTORY_ACCESS_TOKEN", secret),
        ("ARTIFACTORY_USER", "linky@example.com"),
    ]));
    let debug = format!("{insecure:?}");
    assert!(!debug.contains(secret), "{debug}");
    let message = refusal(insecure);
    assert!(message.contains("plain http"), "{message}");
    assert!(!message.contains(secret), "{message}");
}

#[test]
fn environment_values_are_read_from_the_lookup() {
    let client = ArtifactoryClient::builder()
        .from_env_with(vars(&[
            ("ARTIFACTORY_URL", "https://example.jfrog.io/artifactory/"),
            ("ARTIFACTORY_ACCESS_TOKEN", "admin-token"),
            ("ARTIFACTORY_USER", "linky@example.com"),
        ]))
        .build()
        .unwrap();
    assert_eq!(
        client.repositories_url().as_str(),
        "https://example.jfrog.io/artifactory"
    );
    assert_eq!(client.user(), Some("linky@example.com"));
    let debug = format!("{client:?}");
    assert!(!debug.contains("admin-token"), "{debug}");
}

#[test]
fn empty_variables_count_as_unset_and_leave_earlier_settings() {
    let client = ArtifactoryClient::builder()
        .with_url("https://code.example.jfrog.io")
        .with_user("from-code")
        .from_env_with(vars(&[
            ("ARTIFACTORY_URL", ""),
            ("ARTIFACTORY_ACCESS_TOKEN", ""),
            ("JFROG_ACCESS_TOKEN", "jfrog-token"),
            ("ARTIFACTORY_USER", ""),
        ]))
        .build()
        .unwrap();
    assert_eq!(client.host(), "code.example.jfrog.io");
    assert_eq!(client.user(), Some("from-code"));
}

#[test]
fn the_user_is_the_last_one_given() {
    let url = "https://example.jfrog.io";
    let basic = ArtifactoryClient::builder()
        .with_url(url)
        .with_basic("linky@example.com", "token")
        .build()
        .unwrap();
    assert_eq!(basic.user(), Some("linky@example.com"));
    let overridden = ArtifactoryClient::builder()
        .with_url(url)
        .with_basic("admin", "token")
        .from_env_with(vars(&[("ARTIFACTORY_USER", "linky@example.com")]))
        .build()
        .unwrap();
    assert_eq!(overridden.user(), Some("linky@example.com"));
    let bearer = ArtifactoryClient::builder()
        .with_url(url)
        .with_access_token("token")
        .build()
        .unwrap();
    assert_eq!(bearer.user(), None);
}

/// The client answers `ping` only when the request carries `authorization`.
async fn ping_server(authorization: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/artifactory/api/system/ping"))
        .and(header("authorization", authorization))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn an_environment_token_is_sent_as_bearer_even_with_a_user() {
    let server = ping_server("Bearer admin-token").await;
    let client = ArtifactoryClient::builder()
        .from_env_with(vars(&[
            ("ARTIFACTORY_URL", &server.uri()),
            ("ARTIFACTORY_ACCESS_TOKEN", "admin-token"),
            ("JFROG_ACCESS_TOKEN", "second-choice"),
            ("ARTIFACTORY_USER", "linky@example.com"),
        ]))
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    client.ping().await.unwrap();
    assert_eq!(client.user(), Some("linky@example.com"));
}

#[tokio::test]
async fn jfrog_access_token_is_the_fallback() {
    let server = ping_server("Bearer jfrog-token").await;
    let client = ArtifactoryClient::builder()
        .from_env_with(vars(&[
            ("ARTIFACTORY_URL", &server.uri()),
            ("JFROG_ACCESS_TOKEN", "jfrog-token"),
        ]))
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    client.ping().await.unwrap();
}

#[tokio::test]
async fn with_basic_keeps_sending_basic_credentials() {
    // "linky@example.com:token", as JFrog expects: the username raw, not percent-encoded.
    let server = ping_server("Basic bGlua3lAZXhhbXBsZS5jb206dG9rZW4=").await;
    let client = ArtifactoryClient::builder()
        .with_url(server.uri())
        .with_basic("linky@example.com", "token")
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    client.ping().await.unwrap();
}

/// Set in the child process `from_env_with_never_reads_the_process_environment` starts.
const CHILD: &str = "ARTIFACTORY_CLIENT_BUILDER_TEST_CHILD";

#[test]
fn from_env_with_never_reads_the_process_environment() {
    if std::env::var_os(CHILD).is_some() {
        // The process environment holds a complete configuration; the lookup holds none.
        assert_eq!(
            refusal(ArtifactoryClient::builder().from_env_with(|_| None)),
            "invalid input: url: ARTIFACTORY_URL is not set; set it to the instance's URL (such as \
             https://example.jfrog.io) or call with_url"
        );
        let from_process = ArtifactoryClient::builder().from_env().build().unwrap();
        assert_eq!(from_process.host(), "process.example.jfrog.io");
        assert_eq!(from_process.user(), Some("process-user"));
        return;
    }
    // Setting variables in this process would race with the other tests, so a copy of this
    // test runs in a child with them set.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "from_env_with_never_reads_the_process_environment",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("ARTIFACTORY_URL", "https://process.example.jfrog.io")
        .env("ARTIFACTORY_ACCESS_TOKEN", "process-token")
        .env("ARTIFACTORY_USER", "process-user")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A filter that matched nothing would also succeed.
    assert!(stdout.contains("1 passed"), "{stdout}");
}
