//! Where an embedding example runs: the services the variables name, or, when no
//! `ARTIFACTORY_URL` is set (`CLOUDSMITH_API_KEY` for seed 004), the sandbox of fake
//! services started in-process. Only this part differs between a test run and a real one.

use std::sync::Arc;

use artifactory_client::ArtifactoryFactory;
use chainguard_client::ChainguardClient;
use pull_through_core::tokens::PullTokens;
use pull_through_fleet::{Config, Deployment, Environment, Factories, FleetError};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;

/// A deployment of `config_text`, and the sandbox it runs on (if any), to shut down.
#[allow(dead_code, reason = "seed 004 runs on Cloudsmith's variable instead")]
pub(crate) async fn deploy(
    file: &str,
    config_text: &str,
) -> Result<(Deployment, Option<Sandbox>), Box<dyn std::error::Error>> {
    deploy_unless(file, config_text, "ARTIFACTORY_URL").await
}

/// [`deploy`] on the real services when `real` (a variable the config's backend reads)
/// is set, else on the sandbox.
pub(crate) async fn deploy_unless(
    file: &str,
    config_text: &str,
    real: &str,
) -> Result<(Deployment, Option<Sandbox>), Box<dyn std::error::Error>> {
    // The backend types this tool knows: one line per vendor crate.
    let factories = Factories::new()
        .with(ArtifactoryFactory)
        .with(cloudsmith_client::CloudsmithFactory);
    let config = Config::parse(file, config_text, &factories)?;
    let (env, sandbox) = if std::env::var_os(real).is_some() {
        (Environment::Process, None)
    } else {
        let sandbox = Sandbox::builder()
            .chainguard(&Chainguard::new(config.org.as_str()))
            .cloudsmith(&pull_through_sandbox::cloudsmith::Cloudsmith::new())
            .artifactory(&Artifactory::new())
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
