//! Seed 003 through the library: Chainguard's packages through the organization's public
//! proxy (`virtualapk.cgr.dev/<org id>/chainguard` and `/extra-packages`), cached in
//! Artifactory and combined in a virtual; then everything destroyed again. Runs on the
//! embedded sandbox unless `ARTIFACTORY_URL` is set.
//!
//! `cargo run -p pull-through --example seed_003`

mod common;

use pull_through_fleet::NoProgress;

const CONFIG: &str = r#"
name = "seed-003"
[chainguard]
org = "example.com"
[backends.art]
type = "artifactory"
url_env = "ARTIFACTORY_URL"
token_env = "ARTIFACTORY_ACCESS_TOKEN"
[[caches]]
name = "cg-chainguard"
upstream = "virtualapk.cgr.dev/{org_id}/chainguard"
[[caches]]
name = "cg-extras"
upstream = "virtualapk.cgr.dev/{org_id}/extra-packages"
[[caches]]
name = "cg-apk-virt"
members = ["cg-chainguard", "cg-extras"]
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (deployment, sandbox) =
        common::deploy("seed_003.toml", CONFIG, common::ARTIFACTORY).await?;
    println!("organization id {}", deployment.org_id);

    // What would change, field by field, before anything is written.
    for plan in deployment.plan().await? {
        if let Some(plan) = plan.plan {
            println!("{plan}");
        }
    }
    deployment.apply(&NoProgress).await?;
    let verified = deployment.verify(&NoProgress).await;
    for result in &verified {
        println!("{}", result.verification);
    }

    // Aggregates go before their members; the config's pull tokens (none here) after.
    let destroyed = deployment.destroy(&NoProgress).await?;
    println!("destroyed: {}", destroyed.ok());

    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    if !verified.iter().all(|v| v.passed) || !destroyed.ok() {
        return Err("seed 003 did not complete".into());
    }
    Ok(())
}
