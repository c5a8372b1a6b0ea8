//! Seed 004's public half against the real Cloudsmith API: a private repository holding a
//! Docker upstream of `https://cgr.dev/chainguard`, made, found unchanged by a second
//! ensure, pulled through (when `CLOUDSMITH_USER` names the key's user), and deleted.
//!
//! Ignored: it needs a Cloudsmith workspace. Run it with
//!
//! ```text
//! CLOUDSMITH_API_KEY=... CLOUDSMITH_OWNER=my-workspace CLOUDSMITH_USER=my-user-slug \
//!   cargo test -p cloudsmith-client --test real_account -- --ignored --nocapture
//! ```
//!
//! The repository's slug is new on every run (`pull-through-test-<seconds>`): Cloudsmith
//! soft-deletes repositories and keeps their slugs reserved for a while, so a fixed slug
//! would fail the next run's create. The test deletes what it made even when a step fails.

use cloudsmith_client::{CloudsmithBackend, CloudsmithClient, Layout};
use pull_through_core::{
    CacheName, CacheSpec, Deleted, Ensured, Probe, PullThroughBackend, Reveal, Upstream,
};

async fn seed_004_public_half(backend: &CloudsmithBackend, spec: &CacheSpec) -> Result<(), String> {
    backend.check_access().await.map_err(|e| e.to_string())?;
    let plan = backend.plan(spec).await.map_err(|e| e.to_string())?;
    println!("{plan}");
    if !plan.has_changes() {
        return Err(format!("{} already exists: pick another slug", spec.name));
    }
    let created = backend.ensure(spec).await.map_err(|e| e.to_string())?;
    if !matches!(created, Ensured::Created { .. }) {
        return Err(format!("the first ensure was not a create: {created:?}"));
    }
    let again = backend.ensure(spec).await.map_err(|e| e.to_string())?;
    if !matches!(again, Ensured::Unchanged { .. }) {
        return Err(format!("the second ensure wrote: {again:?}"));
    }
    let state = backend
        .describe(&spec.name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("describe found nothing after ensure")?;
    if state.upstream_url() != Some("https://cgr.dev/chainguard") {
        return Err(format!("the upstream is {:?}", state.upstream_url()));
    }
    let diagnoses = backend
        .diagnose(&spec.name)
        .await
        .map_err(|e| e.to_string())?;
    if !diagnoses.is_empty() {
        return Err(format!("diagnose: {diagnoses:?}"));
    }
    let access = backend
        .client_access(&state, None)
        .map_err(|e| e.to_string())?;
    println!("{}", access.render(Reveal::Names));
    if backend.client().user().is_some() {
        let pulled = backend
            .verify(&state, &Probe::default_for(&Upstream::CgrPublic))
            .await
            .map_err(|e| e.to_string())?;
        println!("{pulled}");
        if !pulled.passed() {
            return Err(format!("the pull through {} failed: {pulled}", spec.name));
        }
    } else {
        println!("CLOUDSMITH_USER is not set: the pull through the registry is skipped");
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs a Cloudsmith workspace: CLOUDSMITH_API_KEY, CLOUDSMITH_OWNER"]
async fn seed_004_public_half_on_the_real_api() {
    let client = CloudsmithClient::builder().from_env().build().unwrap();
    let backend = CloudsmithBackend::new(client).with_layout(Layout::OwnRepository);
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let name = CacheName::new(format!("pull-through-test-{seconds}")).unwrap();
    let spec = CacheSpec::remote(name.clone(), Upstream::CgrPublic)
        .with_description("pull-through's real-account test (seed 004, public images)");

    let outcome = seed_004_public_half(&backend, &spec).await;
    // Whatever happened above, leave nothing behind.
    let deleted = backend.delete(&name).await;
    let gone = backend.describe(&name).await;
    outcome.unwrap();
    assert_eq!(deleted.unwrap(), Deleted::Removed);
    assert!(
        gone.unwrap().is_none(),
        "describe after delete found {name}"
    );
}
