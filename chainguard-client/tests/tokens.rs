//! The core's `PullTokens` trait as `ChainguardClient` implements it, against the sandbox's
//! Chainguard fakes, called through a trait object as the flows call it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, DEFAULT_TTL};
use pull_through_core::tokens::{PullTokens, TokenRequest};
use pull_through_core::{
    Deleted, Error, ExposeSecret, OrgId, OrgName, PullTokenRole, http::RetryConfig,
};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;

struct World {
    sandbox: Sandbox,
    chainguard: Chainguard,
    client: ChainguardClient,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .start()
        .await
        .unwrap();
    let client = ChainguardClient::builder()
        .with_api_url(sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            chainguard.admin_token().expose(),
        )))
        .with_retry(RetryConfig::none())
        .with_binding_retry(vec![Duration::from_millis(10)])
        // Key generation dominates a token's cost; 2048 bits keeps the tests quick.
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    World {
        sandbox,
        chainguard,
        client,
    }
}

fn api_writes(world: &World) -> Vec<String> {
    world
        .sandbox
        .journal()
        .entries_for("chainguard-api")
        .into_iter()
        .filter(|e| !matches!(e.method.as_str(), "GET" | "HEAD"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// `expires_at` should be `ttl` after the call; the slack covers the call's own duration.
fn assert_expires_in(expires_at: SystemTime, before: SystemTime, ttl: Duration) {
    let after = SystemTime::now();
    assert!(
        expires_at >= before + ttl && expires_at <= after + ttl,
        "expires_at {expires_at:?} is not {ttl:?} after the call ({before:?}..{after:?})"
    );
}

#[tokio::test]
async fn a_token_is_issued_found_listed_and_revoked_through_the_trait() {
    let world = world().await;
    let tokens: &dyn PullTokens = &world.client;

    let org_name: OrgName = "example.com".parse().unwrap();
    let org = tokens.resolve_org(&org_name).await.unwrap();
    assert_eq!(org, OrgId::new(world.chainguard.org_id()).unwrap());

    let tag = "pull-through test=tokens cache=cgr-private";
    let before = SystemTime::now();
    let issued = tokens
        .issue(
            &org,
            &TokenRequest::new(PullTokenRole::RegistryPull, "pull-through cgr-private")
                .with_description(tag)
                .with_ttl(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    assert!(
        issued.identity_id.starts_with(&format!("{org}/")),
        "the identity {} belongs under the organization {org}",
        issued.identity_id
    );
    assert_eq!(issued.role, PullTokenRole::RegistryPull);
    assert_expires_in(issued.expires_at, before, Duration::from_secs(3600));
    // The identity, then its role binding: the same two writes the client makes itself.
    let writes = api_writes(&world);
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[0], format!("POST /iam/v1/identities/{org}"));
    let credentials = issued.credentials().unwrap();
    assert_eq!(credentials.username(), issued.identity_id);
    assert_eq!(
        credentials.password().expose_secret(),
        issued.secret.expose_secret()
    );

    let secret = issued.secret.expose_secret();
    assert!(!secret.is_empty());
    let debug = format!("{issued:?}");
    assert!(!debug.contains(secret), "Debug shows the secret: {debug}");
    assert!(debug.contains(&issued.identity_id), "{debug}");
    assert!(debug.contains("[REDACTED]"), "{debug}");

    let found = tokens.find_tagged(&org, tag).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].identity_id, issued.identity_id);
    assert_eq!(found[0].name, "pull-through cgr-private");
    assert_eq!(found[0].description, tag);
    assert!(!found[0].expired);
    // A prefix of the tag finds it; another tag does not.
    assert_eq!(
        tokens
            .find_tagged(&org, "pull-through test=tokens ")
            .await
            .unwrap(),
        found
    );
    assert!(
        tokens
            .find_tagged(&org, "pull-through test=other")
            .await
            .unwrap()
            .is_empty()
    );

    let listed = tokens.list(&org).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|r| r.identity_id == issued.identity_id)
            .collect::<Vec<_>>(),
        vec![&found[0]]
    );
    // The listing carries the expiry the token was made with, to the second.
    let listed_expiry = humantime::parse_rfc3339(&found[0].expires_at).unwrap();
    let skew = listed_expiry
        .duration_since(issued.expires_at)
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(1), "{found:?} vs {issued:?}");

    assert_eq!(
        tokens.revoke(&issued.identity_id).await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        tokens.revoke(&issued.identity_id).await.unwrap(),
        Deleted::AlreadyAbsent
    );
    assert!(tokens.find_tagged(&org, tag).await.unwrap().is_empty());
    assert!(
        !tokens
            .list(&org)
            .await
            .unwrap()
            .iter()
            .any(|r| r.identity_id == issued.identity_id)
    );
}

#[tokio::test]
async fn a_request_without_a_lifetime_gets_the_default_and_apk_pull_is_bound() {
    let world = world().await;
    let tokens: &dyn PullTokens = &world.client;
    let org = OrgId::new(world.chainguard.org_id()).unwrap();

    let before = SystemTime::now();
    let issued = tokens
        .issue(
            &org,
            &TokenRequest::new(PullTokenRole::ApkPull, "apk cache"),
        )
        .await
        .unwrap();
    assert_eq!(issued.role, PullTokenRole::ApkPull);
    assert_expires_in(issued.expires_at, before, DEFAULT_TTL);

    let record = tokens
        .list(&org)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.identity_id == issued.identity_id)
        .unwrap();
    assert_eq!(record.name, "apk cache");
    assert_eq!(record.description, "");
    assert_eq!(
        tokens.revoke(&issued.identity_id).await.unwrap(),
        Deleted::Removed
    );
}

#[tokio::test]
async fn a_bad_request_is_refused_before_any_write() {
    let world = world().await;
    let tokens: &dyn PullTokens = &world.client;
    let org = OrgId::new(world.chainguard.org_id()).unwrap();

    let too_long = TokenRequest::new(PullTokenRole::RegistryPull, "ci")
        .with_ttl(Duration::from_secs(8761 * 3600));
    match tokens.issue(&org, &too_long).await {
        Err(Error::InvalidInput(err)) => assert!(err.to_string().contains("8760h"), "{err}"),
        other => panic!("a ttl over 8760h must be InvalidInput, got {other:?}"),
    }
    let bad_name = TokenRequest::new(PullTokenRole::RegistryPull, "Upper Case");
    match tokens.issue(&org, &bad_name).await {
        Err(Error::InvalidInput(err)) => assert!(err.to_string().contains("Upper Case"), "{err}"),
        other => panic!("an invalid identity name must be InvalidInput, got {other:?}"),
    }
    assert_eq!(api_writes(&world), Vec::<String>::new());
}
