//! Seed 002 through the library: Chainguard's public images cached in a Google Artifact
//! Registry remote repository of `https://cgr.dev/` (named as the tutorial names it),
//! the organization's private images in an authenticated one whose pull-token password
//! is kept in Secret Manager (and read by the Artifact Registry service agent, a grant
//! apply makes), and one virtual repository over both. Runs on the embedded sandbox
//! unless `GOOGLE_CLOUD_PROJECT` and `GOOGLE_OAUTH_ACCESS_TOKEN` are both set (with
//! `CHAINGUARD_TOKEN`, or chainctl's login, for the pull token; edit `org` first):
//!
//! ```text
//! export GOOGLE_CLOUD_PROJECT=my-project
//! export GOOGLE_OAUTH_ACCESS_TOKEN="$(gcloud auth print-access-token)"
//! cargo run -p pull-through --example seed_002
//! ```

mod common;

use pull_through_core::Reveal;
use pull_through_fleet::NoProgress;

const CONFIG: &str = r#"
name = "seed-002"
[chainguard]
org = "example.com"
[backends.gar]
type = "gar"
project_env = "GOOGLE_CLOUD_PROJECT"
location = "us-central1"
[[caches]]
name = "chainguard-pull-through"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "chainguard-private"
upstream = "cgr.dev/{org}"
pull_token = "registry.pull"
[[caches]]
name = "chainguard-virt"
members = ["chainguard-pull-through", "chainguard-private"]
"#;

/// Real services when both are set; the token is one `gcloud auth print-access-token`
/// printed (the library also takes Application Default Credentials, but whether they are
/// there cannot be told without asking Google).
const GOOGLE: &[&str] = &["GOOGLE_CLOUD_PROJECT", "GOOGLE_OAUTH_ACCESS_TOKEN"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (deployment, sandbox) = common::deploy("seed_002.toml", CONFIG, GOOGLE).await?;

    // What apply would do, field by field; nothing is written.
    for planned in deployment.plan().await? {
        if let Some(plan) = &planned.plan {
            println!("{plan}");
        }
    }

    // The pull token first, then the remotes (the private one: created anonymously, its
    // secret and the service agent's grant, then switched to authenticated by PATCH, as
    // the tutorial's "Edit" step), then the virtual.
    let outcomes = deployment.apply(&NoProgress).await?;
    for outcome in &outcomes {
        println!("{:<24} {:?}", outcome.cache, outcome.result);
    }
    for access in deployment.access(&outcomes, Reveal::Names) {
        // Snippets span lines (a comment, then the command): indent each.
        let lines: Vec<&str> = access.lines.iter().flat_map(|l| l.lines()).collect();
        println!("{}:\n  {}", access.cache, lines.join("\n  "));
    }

    // A pull through each repository as Docker makes it, then a plan with nothing to do.
    let failed = deployment
        .verify(&NoProgress)
        .await
        .iter()
        .filter(|v| !v.passed)
        .count();
    let changes = deployment.plan().await?.iter().any(|p| p.has_changes());
    println!(
        "{failed} caches failed to pull through; second plan: {}",
        if changes { "CHANGES" } else { "no changes" }
    );

    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    if failed > 0 || changes {
        return Err("seed 002 did not settle".into());
    }
    Ok(())
}
