//! [`Deployment`]: a config with every client it needs, and what the flows share (the
//! order caches are written in, concurrency, the spec of each cache).
//!
//! Everything that can be checked without a request is checked in [`Deployment::connect`],
//! so bad input is refused before anything is touched.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use pull_through_core::http::HttpObserver;
use pull_through_core::listing::Listing;
use pull_through_core::tokens::PullTokens;
use pull_through_core::{
    CacheSet, CacheSpec, OrgId, Probe, PullTokenRole, Upstream, UpstreamCredentials,
};

use crate::config::{CacheConfig, CacheIntent, Config};
use crate::env::Environment;
use crate::error::FleetError;
use crate::factory::{ConnectContext, Connected, Factories};

/// A config with every client it needs: its backends, built by their factories, and the
/// pull-token issuer. The flows ([`plan`](Deployment::plan), [`apply`](Deployment::apply),
/// [`verify`](Deployment::verify), [`status`](Deployment::status),
/// [`rotate`](Deployment::rotate), [`destroy`](Deployment::destroy)) are its methods.
///
/// See the crate documentation for a whole run.
#[derive(Debug)]
#[non_exhaustive]
pub struct Deployment {
    /// The config.
    pub config: Config,
    /// The backends, by name.
    pub backends: BTreeMap<String, Connected>,
    /// Where pull tokens come from.
    pub tokens: Arc<dyn PullTokens>,
    /// The organization's id, given or looked up.
    pub org_id: OrgId,
    /// How many calls run at once.
    pub concurrency: usize,
}

/// The password placed in specs whose password will not be written (a cache that keeps
/// its pull token, or a plan); never sent: the core's reconcile writes the password only
/// on create, on a username change and on rotation, and each of those comes with a real
/// token. This lifecycle is the library's: callers never see it.
const UNWRITTEN_PASSWORD: &str = "(not written)";

/// The username shown in a plan for a pull token that apply will create.
pub const NEW_PULL_TOKEN: &str = "(new pull token)";

impl Deployment {
    /// Builds every backend through its factory, checks every cache against its backend's
    /// rules, then checks that each backend accepts its credentials (one read each, so a
    /// refused token is reported once, naming its variable) and looks up the
    /// organization's id if the config does not give it (or checks the one it gives).
    ///
    /// # Errors
    ///
    /// [`FleetError::Config`] or [`FleetError::Usage`] for bad input, found before any
    /// write; [`FleetError::Refused`] for refused credentials; [`FleetError::Backend`]
    /// when a service could not be asked.
    ///
    /// See the crate documentation for an example.
    pub async fn connect(
        config: Config,
        factories: &Factories,
        env: &Environment,
        tokens: Arc<dyn PullTokens>,
        observer: Option<Arc<dyn HttpObserver>>,
        concurrency: usize,
    ) -> Result<Deployment, FleetError> {
        let mut backends = BTreeMap::new();
        for (name, table) in &config.backends {
            let factory = factories.get(&table.kind).ok_or_else(|| {
                table.error(
                    "type",
                    format!("{:?} is not a backend type this program knows", table.kind),
                )
            })?;
            let context = ConnectContext::new(env, &config.org).with_observer(observer.clone());
            backends.insert(name.clone(), factory.connect(table, &context)?);
        }
        check_caches(&config, &backends)?;
        // Each a round trip of its own: asked at once, a fleet's start costs one.
        let (checks, resolved) =
            futures::join!(
                futures::future::join_all(backends.iter().map(|(name, backend)| async move {
                    (name, backend.api.check_access().await)
                })),
                tokens.resolve_org(&config.org)
            );
        for (name, checked) in checks {
            let backend = &backends[name];
            if let Err(err) = checked {
                let table = &config.backends[name];
                if matches!(
                    err.kind(),
                    pull_through_core::ErrorKind::Unauthenticated
                        | pull_through_core::ErrorKind::PermissionDenied
                ) {
                    return Err(FleetError::Refused(format!(
                        "{}:{}: backends.{name}.{}: {} refused the token in {}: {err}; {}",
                        config.file,
                        table.line,
                        backend.credential_field,
                        backend.url,
                        backend.credential_source,
                        backend.credential_hint
                    )));
                }
                return Err(err.into());
            }
        }
        let org_id = match (&config.org_id, resolved) {
            (None, resolved) => resolved?,
            (Some(given), Ok(resolved)) if *given != resolved => {
                // A wrong id would point caches at another organization's packages.
                return Err(FleetError::Usage(format!(
                    "{}:{}: chainguard.org_id: {given} is not the id of organization {} (its id is \
                     {resolved}); correct org_id or remove it to have it looked up",
                    config.file, config.org_id_line, config.org
                )));
            }
            (Some(given), Ok(_)) => given.clone(),
            // A token that may not list organizations can still use the id it was given.
            (Some(given), Err(err)) => {
                tracing::warn!(
                    "could not check chainguard.org_id against {}: {err}",
                    config.org
                );
                given.clone()
            }
        };
        Ok(Deployment {
            config,
            backends,
            tokens,
            org_id,
            concurrency: concurrency.max(1),
        })
    }

    /// The backend a cache is on.
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment) {
    /// for cache in &deployment.config.caches {
    ///     println!("{} on {}", cache.name, deployment.backend(cache).url);
    /// }
    /// # }
    /// ```
    pub fn backend(&self, cache: &CacheConfig) -> &Connected {
        &self.backends[&cache.backend]
    }

    /// The upstream of a remote cache, with the organization filled in.
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment, cache: &pull_through_fleet::CacheConfig) {
    /// if let Some(upstream) = deployment.upstream(cache) {
    ///     println!("{} caches {upstream}", cache.name);
    /// }
    /// # }
    /// ```
    pub fn upstream(&self, cache: &CacheConfig) -> Option<Upstream> {
        match &cache.kind {
            // Checked at load with a placeholder id; the real id is well formed too.
            CacheIntent::Remote { upstream, .. } => {
                upstream.resolve(&self.config.org, &self.org_id).ok()
            }
            CacheIntent::Aggregate { .. } => None,
        }
    }

    /// The spec of a cache, with `credentials` for a private remote. Without credentials
    /// a private remote gets a placeholder that is never written (see
    /// the password rule), so a plan can compare everything else.
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment, cache: &pull_through_fleet::CacheConfig) {
    /// let spec = deployment.spec(cache, None);
    /// # }
    /// ```
    pub fn spec(&self, cache: &CacheConfig, credentials: Option<UpstreamCredentials>) -> CacheSpec {
        cache.spec(&self.config.org, &self.org_id, credentials)
    }

    /// What `verify` pulls through a cache: the configured probe, or the default for its
    /// upstream (for an aggregate, its first member's).
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment, cache: &pull_through_fleet::CacheConfig) {
    /// println!("verify pulls {}", deployment.probe(cache));
    /// # }
    /// ```
    pub fn probe(&self, cache: &CacheConfig) -> Probe {
        if let Some(probe) = &cache.probe {
            return probe.clone();
        }
        match &cache.kind {
            CacheIntent::Remote { .. } => self
                .upstream(cache)
                .map(|upstream| Probe::default_for(&upstream))
                .unwrap_or_else(|| Probe::default_for(&Upstream::CgrPublic)),
            CacheIntent::Aggregate { members } => members
                .first()
                .and_then(|first| self.config.cache(first))
                .map(|member| self.probe(member))
                .unwrap_or_else(|| Probe::default_for(&Upstream::CgrPublic)),
        }
    }

    /// One listing per backend the config's caches use, taken concurrently at the start
    /// of a run, so the run reads each cache at most once. A backend whose listing fails
    /// is read cache by cache, where the failure (an unreachable service, a refused token)
    /// is then reported against each cache.
    pub(crate) async fn listings(&self) -> BTreeMap<String, Listing> {
        let used: std::collections::BTreeSet<&str> = self
            .config
            .caches
            .iter()
            .map(|cache| cache.backend.as_str())
            .collect();
        futures::future::join_all(
            self.backends
                .iter()
                .filter(|(name, _)| used.contains(name.as_str()))
                .map(|(name, backend)| async move {
                    let listing = match backend.api.listing().await {
                        Ok(listing) => listing,
                        Err(err) => {
                            tracing::warn!(backend = %name, error = %err, "listing failed; reading each cache");
                            Listing::unknown()
                        }
                    };
                    (name.clone(), listing)
                }),
        )
        .await
        .into_iter()
        .collect()
    }

    /// Runs `work` on each item, at most `concurrency` at once, and returns the results
    /// in the items' order.
    pub(crate) async fn each<T, R, F, Fut>(&self, items: Vec<T>, work: F) -> Vec<R>
    where
        F: Fn(T) -> Fut,
        Fut: Future<Output = R>,
    {
        let mut results: Vec<(usize, R)> = futures::stream::iter(items.into_iter().enumerate())
            .map(|(index, item)| {
                let future = work(item);
                async move { (index, future.await) }
            })
            // The field is public: a caller's 0 would mean no progress at all.
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Caches whose every member comes before them: remotes first, then aggregates by
    /// depth. Destroy walks it backwards.
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment) {
    /// let names: Vec<&str> = deployment.apply_order().iter().map(|c| c.name.as_str()).collect();
    /// # }
    /// ```
    pub fn apply_order(&self) -> Vec<&CacheConfig> {
        let mut placed: Vec<&CacheConfig> = Vec::new();
        let mut rest: Vec<&CacheConfig> = self.config.caches.iter().collect();
        while !rest.is_empty() {
            let (ready, waiting): (Vec<&CacheConfig>, Vec<&CacheConfig>) =
                rest.into_iter().partition(|cache| match &cache.kind {
                    CacheIntent::Remote { .. } => true,
                    CacheIntent::Aggregate { members } => {
                        members.iter().all(|m| placed.iter().any(|p| &p.name == m))
                    }
                });
            if ready.is_empty() {
                // The config check refuses cycles; keep the rest rather than loop.
                placed.extend(waiting);
                break;
            }
            placed.extend(ready);
            rest = waiting;
        }
        placed
    }

    /// The layers of [`apply_order`](Self::apply_order): each layer's caches only need
    /// caches of earlier layers, so a layer runs concurrently.
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment) {
    /// println!("{} layers", deployment.layers().len());
    /// # }
    /// ```
    pub fn layers(&self) -> Vec<Vec<&CacheConfig>> {
        let mut layers: Vec<Vec<&CacheConfig>> = Vec::new();
        let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
        for cache in self.apply_order() {
            let level = match &cache.kind {
                CacheIntent::Remote { .. } => 0,
                CacheIntent::Aggregate { members } => {
                    1 + members
                        .iter()
                        .filter_map(|m| depth.get(m.as_str()))
                        .max()
                        .copied()
                        .unwrap_or(0)
                }
            };
            depth.insert(cache.name.as_str(), level);
            if layers.len() <= level {
                layers.resize_with(level + 1, Vec::new);
            }
            layers[level].push(cache);
        }
        layers
    }

    /// The caches of private upstreams, with the role of the pull token each needs.
    ///
    /// ```no_run
    /// # fn example(deployment: &pull_through_fleet::Deployment) {
    /// for (cache, role) in deployment.private_caches() {
    ///     println!("{} needs a {role} pull token", cache.name);
    /// }
    /// # }
    /// ```
    pub fn private_caches(&self) -> Vec<(&CacheConfig, PullTokenRole)> {
        self.config
            .caches
            .iter()
            .filter_map(|cache| match &cache.kind {
                CacheIntent::Remote {
                    pull_token: Some(role),
                    ..
                } => Some((cache, *role)),
                _ => None,
            })
            .collect()
    }
}

/// Each cache against its backend's rules (key rules, supported upstreams, letter-case
/// twins), before any request.
fn check_caches(config: &Config, backends: &BTreeMap<String, Connected>) -> Result<(), FleetError> {
    let placeholder_id = crate::config::placeholder_org_id();
    let mut per_backend: BTreeMap<&str, Vec<CacheSpec>> = BTreeMap::new();
    for (index, cache) in config.caches.iter().enumerate() {
        let backend = &backends[&cache.backend];
        let private = matches!(
            &cache.kind,
            CacheIntent::Remote {
                pull_token: Some(_),
                ..
            }
        );
        let credentials = private
            .then(|| UpstreamCredentials::new(NEW_PULL_TOKEN, UNWRITTEN_PASSWORD).ok())
            .flatten();
        let spec = cache.spec(&config.org, &placeholder_id, credentials);
        backend.api.check_spec(&spec).map_err(|err| {
            let field = match &err {
                pull_through_core::Error::InvalidInput(
                    pull_through_core::ValidationError::InvalidMembers { .. },
                ) => "members",
                pull_through_core::Error::Unsupported { .. } => "upstream",
                _ => "name",
            };
            FleetError::Config(crate::config::ConfigError {
                file: config.file.clone(),
                line: cache.line,
                field: format!("caches[{index}].{field}"),
                problem: err.to_string(),
            })
        })?;
        per_backend
            .entry(cache.backend.as_str())
            .or_default()
            .push(spec);
    }
    for (name, specs) in per_backend {
        let case = backends[name].api.capabilities().name_case;
        CacheSet::new(specs, case)
            .map_err(|err| FleetError::Usage(format!("{}: backends.{name}: {err}", config.file)))?;
    }
    Ok(())
}

/// Credentials that stand in for a pull token whose password is not written.
pub(crate) fn unwritten_credentials(identity_id: &str) -> Option<UpstreamCredentials> {
    UpstreamCredentials::new(identity_id, UNWRITTEN_PASSWORD).ok()
}
