//! An upstream's mode and credentials are checked together before anything is sent (a
//! mock that answers anything fails the test): only the two Docker modes the spec lists,
//! and no authentication mode without what it needs, nor credentials it does not use.

mod common;

use cloudsmith_client::{AuthMode, DockerUpstreamPatch, DockerUpstreamRequest, Mode};
use common::*;
use pull_through_core::SecretString;
use wiremock::MockServer;

#[tokio::test]
async fn cache_only_is_refused_for_docker_before_sending() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (client, recorder) = client(&server);
    let mut request = DockerUpstreamRequest::public("cgr-public");
    request.mode = Mode::CacheOnly;
    let err = client
        .create_upstream("chainguard", &request)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert!(
        err.to_string()
            .contains("\"Cache Only\" is not a Docker upstream mode of the API's spec"),
        "{err}"
    );
    let mut patch = DockerUpstreamPatch::default();
    patch.mode = Some(Mode::CacheOnly);
    let err = client
        .update_upstream("chainguard", "Up1", &patch)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert!(recorder.records().is_empty());
}

#[tokio::test]
async fn credentials_must_go_with_the_authentication_mode() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (client, recorder) = client(&server);
    let secret = || Some(SecretString::from(PULL_TOKEN));
    let mut none_with_secret = DockerUpstreamRequest::public("cgr-public");
    none_with_secret.auth_secret = secret();
    let mut none_with_username = DockerUpstreamRequest::public("cgr-public");
    none_with_username.auth_username = Some(IDENTITY.to_owned());
    let mut password_without_username = DockerUpstreamRequest::private("cgr", &pull_token());
    password_without_username.auth_username = None;
    let mut password_without_secret = DockerUpstreamRequest::private("cgr", &pull_token());
    password_without_secret.auth_secret = None;
    let mut certificate = DockerUpstreamRequest::private("cgr", &pull_token());
    certificate.auth_mode = AuthMode::CertificateAndKey;
    for (request, expected) in [
        (none_with_secret, "\"None\" sends no credentials"),
        (none_with_username, "\"None\" sends no credentials"),
        (
            password_without_username,
            "needs both auth_username and auth_secret",
        ),
        (
            password_without_secret,
            "needs both auth_username and auth_secret",
        ),
        (certificate, "which this crate does not send"),
    ] {
        let err = client
            .create_upstream("chainguard", &request)
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        assert!(err.to_string().contains(expected), "{request:?}: {err}");
        assert!(!err.to_string().contains(PULL_TOKEN));
    }

    let patch = |mode: AuthMode, username: Option<Option<&str>>, secret: Option<bool>| {
        let mut patch = DockerUpstreamPatch::default();
        patch.auth_mode = Some(mode);
        patch.auth_username = username.map(|u| u.map(str::to_owned));
        patch.auth_secret = secret.map(|set| set.then(|| SecretString::from(PULL_TOKEN)));
        patch
    };
    for (patch, expected) in [
        (
            patch(AuthMode::None, None, Some(true)),
            "\"None\" sends no credentials",
        ),
        (
            patch(AuthMode::UsernameAndPassword, Some(None), None),
            "needs both auth_username and auth_secret",
        ),
        (
            patch(
                AuthMode::UsernameAndPassword,
                Some(Some(IDENTITY)),
                Some(false),
            ),
            "needs both auth_username and auth_secret",
        ),
    ] {
        let err = client
            .update_upstream("chainguard", "Up1", &patch)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{patch:?}: {err}");
    }
    assert!(recorder.records().is_empty());
}
