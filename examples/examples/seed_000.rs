//! Seed 000 through the library: the organization's private APK repository
//! (`apk.cgr.dev/<org>`) cached in Artifactory with an `apk.pull` token, then the token
//! rotated: a new one written and verified before the old one is revoked. Runs on the
//! embedded sandbox unless `ARTIFACTORY_URL` is set.
//!
//! `cargo run -p pull-through --example seed_000`

mod common;

use pull_through_fleet::NoProgress;

const CONFIG: &str = r#"
name = "seed-000"
[chainguard]
org = "example.com"
[backends.art]
type = "artifactory"
url_env = "ARTIFACTORY_URL"
token_env = "ARTIFACTORY_ACCESS_TOKEN"
[[caches]]
name = "cg-private"
upstream = "apk.cgr.dev/{org}"
pull_token = "apk.pull"
probe = "libstdc++"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (deployment, sandbox) =
        common::deploy("seed_000.toml", CONFIG, common::ARTIFACTORY).await?;

    let applied = deployment.apply(&NoProgress).await?;
    let token = applied[0]
        .pull_token
        .as_ref()
        .map(|t| t.identity_id.clone());
    println!(
        "cg-private: {:?} with pull token {token:?}",
        applied[0].result
    );

    let verified = deployment.verify(&NoProgress).await;
    for result in &verified {
        println!("{}", result.verification);
    }

    // Rotation: the old token is revoked only after a pull with the new one worked.
    let rotated = deployment.rotate(&[], &NoProgress).await?;
    println!(
        "rotated: {:?}, revoked {:?}",
        rotated[0].result, rotated[0].revoked
    );

    let status = deployment.status().await?;
    println!(
        "{} pull tokens made by this config",
        status.pull_tokens.len()
    );

    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    if !applied.iter().all(|o| o.ok()) || !verified.iter().all(|v| v.passed) {
        return Err("seed 000 was not applied, or does not pull through".into());
    }
    if !rotated.iter().all(|o| o.ok()) || rotated[0].revoked.is_empty() {
        return Err("seed 000's rotation did not complete".into());
    }
    Ok(())
}
