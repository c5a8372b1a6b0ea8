//! Access on the sandbox's Cloudsmith fake: a refused key named by its variable, a wrong
//! user's pull with its hint, and a rate-limited key paced so that it is never throttled.

mod sandbox_support;

use sandbox_support::*;

use std::time::Duration;

use cloudsmith_client::{CloudsmithBackend, CloudsmithClient};
use pull_through_core::http::RetryConfig;
use pull_through_core::{CacheSpec, PullThroughBackend, Upstream};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::cloudsmith::Cloudsmith;

#[tokio::test]
async fn a_wrong_key_is_refused_by_name_and_a_wrong_user_fails_the_pull_with_a_hint() {
    let world = world().await;
    let env = world.sandbox.env();
    let lookup = |var: &str| {
        env.iter()
            .find(|(name, _)| name == var)
            .map(|(_, value)| value.clone())
    };
    let wrong = CloudsmithClient::builder()
        .from_env_with(lookup)
        .with_api_key_from(
            "MY_CLOUDSMITH_KEY",
            "0000000000000000000000000000000000000000",
        )
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let err = CloudsmithBackend::new(wrong)
        .check_access()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the API key in MY_CLOUDSMITH_KEY was refused"),
        "{err}"
    );
    assert!(!err.to_string().contains("0000000000"), "{err}");
    let good = CloudsmithBackend::new(world.client.clone());
    good.check_access().await.unwrap();

    good.ensure(&CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic))
        .await
        .unwrap();
    let someone_else = CloudsmithClient::builder()
        .from_env_with(lookup)
        .with_user("someone-else")
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let backend = CloudsmithBackend::new(someone_else);
    let pulled = verify(&backend, "cgr-public", "chainguard/go").await;
    assert!(!pulled.passed());
    assert!(
        pulled
            .to_string()
            .contains("takes the user slug (someone-else) and the API key (CLOUDSMITH_API_KEY)"),
        "{pulled}"
    );
}

#[tokio::test]
async fn a_rate_limited_key_is_paced_and_never_throttled() {
    let chainguard = Chainguard::new("example.com");
    let cloudsmith = Cloudsmith::new().rate_limit(2, Duration::from_secs(1));
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .cloudsmith(&cloudsmith)
        .start()
        .await
        .unwrap();
    let env = sandbox.env();
    let client = CloudsmithClient::builder()
        .from_env_with(|var| {
            env.iter()
                .find(|(name, _)| name == var)
                .map(|(_, value)| value.clone())
        })
        // No retries: a 429 fails the call instead of being waited out.
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    // Five calls on a budget of two a second: the client waits when the answers say
    // nothing remains, so the fake never has to throttle it.
    for _ in 0..5 {
        assert!(client.list_repositories().await.unwrap().is_empty());
    }
    let statuses: Vec<Option<u16>> = sandbox
        .journal()
        .entries_for("cloudsmith")
        .into_iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [Some(200); 5]);
}
