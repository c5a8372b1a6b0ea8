//! Where an embedding example runs: the services the variables name, or, when no
//! `ARTIFACTORY_URL` is set, the sandbox of fake services started in-process. Only this
//! part differs between a test run and a real one.

use std::sync::Arc;

use artifactory_client::ArtifactoryFactory;
use chainguard_client::ChainguardClient;
use pull_through_core::tokens::PullTokens;
use pull_through_fleet::{Config, Deployment, Environment, Factories, FleetError};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;

/// A deployment of `config_text`, and the sandbox it runs on (if any), to shut down.
pub(crate) async fn deploy(
    file: &str,
    config_text: &str,
) -> Result<(Deployment, Option<Sandbox>), Box<dyn std::error::Error>> {
    // The backend types this tool knows: one line per vendor crate.
    let factories = Factories::new().with(ArtifactoryFactory);
    let config = Config::parse(file, config_text, &factories)?;
    let (env, sandbox) = if std::env::var_os("ARTIFACTORY_URL").is_some() {
        (Environment::Process, None)
    } else {
        let sandbox = Sandbox::builder()
            .chainguard(&Chainguard::new(config.org.as_str()))
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
