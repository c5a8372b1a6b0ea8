//! What the wiremock tests share: the project, the token, a client whose three APIs and
//! Docker registry are four mock servers, and fast backoffs.
#![allow(dead_code, unreachable_pub)]

pub mod fake;

use std::sync::Arc;
use std::time::Duration;

use gar_client::{Backoff, GarBuilder, GarClient};
use pull_through_core::http::{RecordingObserver, RetryConfig};
use wiremock::MockServer;

pub const PROJECT: &str = "pull-through-test";
pub const NUMBER: &str = "123456789012";
pub const LOCATION: &str = "us-central1";
pub const TOKEN: &str = "ya29.test-access-token-0123456789";

/// Four hosts, as Google has them.
pub struct Google {
    pub ar: MockServer,
    pub sm: MockServer,
    pub crm: MockServer,
    pub docker: MockServer,
}

impl Google {
    pub async fn start() -> Google {
        Google {
            ar: MockServer::start().await,
            sm: MockServer::start().await,
            crm: MockServer::start().await,
            docker: MockServer::start().await,
        }
    }

    /// A builder at the four servers, with the test token, no HTTP retries and quick
    /// backoffs.
    pub fn builder(&self) -> GarBuilder {
        let quick = |max_attempts| {
            Backoff::new(Duration::from_millis(2), Duration::from_millis(8))
                .with_budget(Duration::from_secs(2))
                .with_max_attempts(max_attempts)
        };
        GarClient::builder()
            .with_project(PROJECT)
            .with_location(LOCATION)
            .with_access_token(TOKEN)
            .with_artifact_registry_url(format!("{}/", self.ar.uri()))
            .with_secret_manager_url(format!("{}/", self.sm.uri()))
            .with_resource_manager_url(format!("{}/", self.crm.uri()))
            .with_docker_registry_url(format!("{}/", self.docker.uri()))
            .with_retry(RetryConfig::none())
            .with_operation_polling(quick(20))
            .with_iam_retry(quick(4))
            .with_validation_retry(quick(5))
    }

    pub fn client(&self) -> GarClient {
        self.builder().build().unwrap()
    }

    pub fn observed_client(&self) -> (GarClient, Arc<RecordingObserver>) {
        let log = Arc::new(RecordingObserver::new());
        (
            self.builder().with_observer(log.clone()).build().unwrap(),
            log,
        )
    }
}

/// `v1/projects/P/locations/L/repositories`.
pub fn repositories_path() -> String {
    format!("/v1/projects/{PROJECT}/locations/{LOCATION}/repositories")
}

/// `v1/projects/P/secrets`.
pub fn secrets_path() -> String {
    format!("/v1/projects/{PROJECT}/secrets")
}

/// A fixture of `tests/fixtures`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    wiremock::matchers::header("authorization", format!("Bearer {TOKEN}").as_str())
}
