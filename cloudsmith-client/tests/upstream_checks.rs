//! An upstream's mode and credentials are checked together before anything is sent (a
//! mock that answers anything fails the test): only the two Docker modes the spec lists,
//! and no authentication mode without what it needs, nor credentials it does not use.

mod common;

use cloudsmith_client::{DockerUpstreamPatch, DockerUpstreamRequest, Mode};
use common::*;
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
