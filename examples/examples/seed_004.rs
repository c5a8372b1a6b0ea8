//! Seed 004 through the library: Chainguard's public images and the organization's as
//! Docker upstreams of one private Cloudsmith repository, tried in the aggregate's order;
//! then a rotation of the pull token the private upstream holds. Runs on the embedded
//! sandbox unless `CLOUDSMITH_API_KEY` (with `CLOUDSMITH_OWNER`, `CLOUDSMITH_USER` and
//! `CHAINGUARD_TOKEN`) is set.
//!
//! `cargo run -p pull-through --example seed_004`

mod common;

use pull_through_core::Reveal;
use pull_through_fleet::{NoProgress, Outcome};

const CONFIG: &str = r#"
name = "seed-004"
[chainguard]
org = "example.com"
[backends.cs]
type = "cloudsmith"
owner_env = "CLOUDSMITH_OWNER"
api_key_env = "CLOUDSMITH_API_KEY"
user_env = "CLOUDSMITH_USER"
repository = "chainguard"
[[caches]]
name = "cloudsmith-public"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "cloudsmith-private"
upstream = "cgr.dev/{org}"
pull_token = "registry.pull"
[[caches]]
name = "chainguard"
members = ["cloudsmith-public", "cloudsmith-private"]
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (deployment, sandbox) =
        common::deploy("seed_004.toml", CONFIG, &["CLOUDSMITH_API_KEY"]).await?;

    // The pull token, then the repository with both upstreams, then their order.
    let outcomes = deployment.apply(&NoProgress).await?;
    for outcome in &outcomes {
        println!("{:<20} {:?}", outcome.cache, outcome.result);
    }
    for access in deployment.access(&outcomes, Reveal::Names) {
        println!("{}:\n  {}", access.cache, access.lines.join("\n  "));
    }

    // A real pull through each cache, a rotation (a new pull token PATCHed into the
    // upstream's auth_secret, verified, the old one revoked), and a second apply that
    // writes nothing.
    let failed = deployment
        .verify(&NoProgress)
        .await
        .iter()
        .filter(|v| !v.passed)
        .count();
    let rotated = deployment.rotate(&[], &NoProgress).await?;
    let rotated_ok = rotated.iter().all(|o| o.ok());
    for outcome in &rotated {
        println!(
            "{} {:?}, revoked {}",
            outcome.cache,
            outcome.result,
            outcome.revoked.join(", ")
        );
    }
    let again = deployment.apply(&NoProgress).await?;
    let unchanged = again.iter().all(|o| o.result == Outcome::Unchanged);
    println!("{failed} caches failed to pull through; second apply unchanged: {unchanged}");

    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    if failed > 0 || !rotated_ok || !unchanged {
        return Err("seed 004 did not settle".into());
    }
    Ok(())
}
