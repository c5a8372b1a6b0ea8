//! The one place the program names vendor crates for the flows: which backend types a
//! config may use, and the Chainguard client that issues pull tokens. Adding a backend is
//! one `.with(...)` here (and its vendor crate's factory).

use std::sync::Arc;

use artifactory_client::ArtifactoryFactory;
use chainguard_client::ChainguardClient;
use gar_client::GarFactory;
use pull_through_core::http::HttpObserver;
use pull_through_core::tokens::PullTokens;
use pull_through_fleet::{Environment, Factories};

use crate::Failure;

/// The variables that mean "a real backend is configured": then the program does not
/// start the sandbox behind the user's back.
///
/// Google Artifact Registry's variables are not among them. `GOOGLE_CLOUD_PROJECT` is set
/// in many shells for other reasons (Cloud Shell sets it, client libraries and Terraform
/// read it), as is `GOOGLE_OAUTH_ACCESS_TOKEN` for Terraform; refusing the default run
/// there would stop the demo for a shell that never meant to name a backend. Nothing is
/// lost by it: the default run reads only the sandbox's variables (a closed
/// environment), so a project in the shell can never be written to without `--config`.
pub(crate) const REAL_BACKEND_VARIABLES: &[&str] = &["ARTIFACTORY_URL"];

/// Every backend type the program knows.
pub(crate) fn factories() -> Factories {
    // Cloudsmith's variables are not among REAL_BACKEND_VARIABLES: CLOUDSMITH_API_KEY is
    // set in many shells for the cloudsmith CLI, and the default run reads only the
    // sandbox's variables (a closed environment), so a workspace in the shell is never
    // written to without --config.
    Factories::new()
        .with(ArtifactoryFactory)
        .with(GarFactory)
        .with(cloudsmith_client::CloudsmithFactory)
}

/// A backend type as people call the product (`gar` is Google Artifact Registry), for
/// headers; a type this list lacks is shown as it is spelled in the config.
pub(crate) fn product(kind: &str) -> &str {
    match kind {
        "artifactory" => "Artifactory",
        "gar" => "Google Artifact Registry",
        "cloudsmith" => "Cloudsmith",
        other => other,
    }
}

/// The Chainguard client: from the process environment with chainctl's login as the last
/// resort, or from a fixed environment (the sandbox's) only, which is closed: it never
/// falls back to the process's variables or to a real login. `observer` is set first so
/// the token exchanges it sets up are journaled.
pub(crate) fn pull_tokens(
    env: &Environment,
    observer: Option<Arc<dyn HttpObserver>>,
) -> Result<Arc<dyn PullTokens>, Failure> {
    let mut builder = ChainguardClient::builder();
    if let Some(observer) = &observer {
        builder = builder.with_observer(observer.clone());
    }
    let builder = match env {
        Environment::Process => builder.from_env(),
        _ => builder.from_env_with(|var| env.get(var)),
    }
    .map_err(crate::output::failure)?;
    let client = builder
        .build()
        .map_err(|err| Failure::Usage(err.to_string()))?;
    Ok(Arc::new(client))
}
