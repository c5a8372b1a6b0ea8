//! Where an embedding example runs: the services the variables name, or, when they are
//! not all set, the sandbox of fake services started in-process. Only this part differs
//! between a test run and a real one.

use std::sync::Arc;

use artifactory_client::ArtifactoryFactory;
use chainguard_client::ChainguardClient;
use gar_client::GarFactory;
use pull_through_core::tokens::PullTokens;
use pull_through_fleet::{Config, Deployment, Environment, Factories, FleetError};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::Gar;

/// The variables that point Artifactory's examples at a real instance.
#[allow(dead_code, reason = "the GAR example names its own")]
pub(crate) const ARTIFACTORY: &[&str] = &["ARTIFACTORY_URL"];

/// A deployment of `config_text`, and the sandbox it runs on (if any), to shut down. It
/// runs against real services when every variable of `real` is set, else on the sandbox.
pub(crate) async fn deploy(
    file: &str,
    config_text: &str,
    real: &[&str],
) -> Result<(Deployment, Option<Sandbox>), Box<dyn std::error::Error>> {
    // The backend types this tool knows: one line per vendor crate.
    let factories = Factories::new()
        .with(ArtifactoryFactory)
        .with(GarFactory)
        .with(cloudsmith_client::CloudsmithFactory);
    let config = Config::parse(file, config_text, &factories)?;
    let (env, sandbox) = if real.iter().all(|var| std::env::var_os(var).is_some()) {
        (Environment::Process, None)
    } else {
        let sandbox = Sandbox::builder()
            .chainguard(&Chainguard::new(config.org.as_str()))
            .cloudsmith(&pull_through_sandbox::cloudsmith::Cloudsmith::new())
            .artifactory(&Artifactory::new())
            // An operation done at the first poll, as the program's own sandbox does.
            .gar(&Gar::new().with_operation_polls(1))
            .start()
            .await?;
        (Environment::fixed(sandbox.env()), Some(sandbox))
    };
    // Pull tokens come from Chainguard's API, read from the same variables (for the real
    // services, chainctl's login too; the sandbox's variables are all there is).
    let builder = match &env {
        Environment::Process => ChainguardClient::builder().from_env()?,
        _ => ChainguardClient::builder().from_env_with(|var| env.get(var))?,
    };
    let tokens: Arc<dyn PullTokens> = Arc::new(builder.build()?);
    let deployment = Deployment::connect(config, &factories, &env, tokens, None, 4)
        .await
        .map_err(|err: FleetError| err.to_string())?;
    Ok((deployment, sandbox))
}
