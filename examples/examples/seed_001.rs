//! Seed 001 through the library: Chainguard's public and private images cached in
//! Artifactory, and one virtual over both. Runs on the embedded sandbox unless
//! `ARTIFACTORY_URL` (with `ARTIFACTORY_ACCESS_TOKEN` and `CHAINGUARD_TOKEN`) is set.
//!
//! `cargo run -p pull-through --example seed_001`

mod common;

use pull_through_core::Reveal;
use pull_through_fleet::{NoProgress, Outcome};

const CONFIG: &str = r#"
name = "seed-001"
[chainguard]
org = "example.com"
[backends.art]
type = "artifactory"
url_env = "ARTIFACTORY_URL"
token_env = "ARTIFACTORY_ACCESS_TOKEN"
[[caches]]
name = "cgr-public"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "cgr-private"
upstream = "cgr.dev/{org}"
pull_token = "registry.pull"
[[caches]]
name = "cgr-virt"
members = ["cgr-public", "cgr-private"]
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (deployment, sandbox) =
        common::deploy("seed_001.toml", CONFIG, common::ARTIFACTORY).await?;

    // Pull tokens first, then the remotes, then the virtual; each cache on its own.
    let outcomes = deployment.apply(&NoProgress).await?;
    for outcome in &outcomes {
        println!("{:<12} {:?}", outcome.cache, outcome.result);
    }
    for access in deployment.access(&outcomes, Reveal::Names) {
        println!("{}:\n  {}", access.cache, access.lines.join("\n  "));
    }

    // A real pull through each cache, then a second apply that writes nothing.
    let failed = deployment
        .verify(&NoProgress)
        .await
        .iter()
        .filter(|v| !v.passed)
        .count();
    let again = deployment.apply(&NoProgress).await?;
    let unchanged = again.iter().all(|o| o.result == Outcome::Unchanged);
    println!("{failed} caches failed to pull through; second apply unchanged: {unchanged}");

    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    if failed > 0 || !unchanged {
        return Err("seed 001 did not settle".into());
    }
    Ok(())
}
