//! Running a config: the clients it needs, and the flows (plan, apply, verify, status,
//! rotate, destroy) built on them.
//!
//! Everything that can be checked without a request is checked in [`Deployment::connect`],
//! so bad input exits 2 before anything is touched.

pub(crate) mod apply;
pub(crate) mod destroy;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod rotate;
pub(crate) mod status;
pub(crate) mod tokens;
pub(crate) mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use artifactory_client::{ArtifactoryBackend, ArtifactoryClient};
use chainguard_client::ChainguardClient;
use futures::StreamExt;
use pull_through_core::http::HttpObserver;
use pull_through_core::{
    CacheSet, CacheSpec, ClientLogin, OrgId, Probe, PullThroughBackend, PullTokenRole,
    SecretString, Upstream, UpstreamCredentials,
};

use crate::Failure;
use crate::config::{CacheConfig, CacheIntent, Config, Setting};

/// Where variables are read: the process, or a fixed set (the embedded sandbox's).
#[derive(Clone)]
pub(crate) enum Environment {
    /// `std::env`.
    Process,
    /// These pairs only.
    Fixed(Arc<BTreeMap<String, String>>),
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Process => f.write_str("Environment::Process"),
            // Names only: the values are tokens.
            Environment::Fixed(vars) => f.debug_list().entries(vars.keys()).finish(),
        }
    }
}

impl Environment {
    /// A variable's value; empty counts as unset.
    pub(crate) fn get(&self, var: &str) -> Option<String> {
        match self {
            Environment::Process => std::env::var(var).ok(),
            Environment::Fixed(vars) => vars.get(var).cloned(),
        }
        .filter(|value| !value.is_empty())
    }
}

/// One backend instance, connected.
#[derive(Debug)]
pub(crate) struct Backend {
    /// The backend as the core sees it.
    pub(crate) api: Arc<dyn PullThroughBackend>,
    /// The same backend with its Artifactory-only calls (the tutorials' checks, cache
    /// clearing).
    pub(crate) artifactory: ArtifactoryBackend,
    /// The person's login, for client access.
    pub(crate) login: ClientLogin,
    /// The URL, as configured.
    pub(crate) url: String,
    /// The variables client access names, with their values, for `--secrets-out`.
    pub(crate) variables: Vec<(String, SecretString)>,
}

/// A config with every client it needs.
#[derive(Debug)]
pub(crate) struct Deployment {
    /// The config.
    pub(crate) config: Config,
    /// By name.
    pub(crate) backends: BTreeMap<String, Backend>,
    /// The Chainguard API.
    pub(crate) chainguard: ChainguardClient,
    /// The organization's id, given or looked up.
    pub(crate) org_id: OrgId,
    /// How many calls run at once.
    pub(crate) concurrency: usize,
}

/// The password placed in specs whose password will not be written (a cache that keeps
/// its pull token, or a plan); never sent: backends write the password only on create,
/// on a username change and on rotation, and each of those comes with a real token.
const UNWRITTEN_PASSWORD: &str = "(not written)";

/// The username shown in a plan for a pull token that apply will create.
pub(crate) const NEW_PULL_TOKEN: &str = "(new pull token)";

impl Deployment {
    /// Builds every client and checks every cache against its backend's rules, then
    /// looks up the organization's id if the config does not give it.
    pub(crate) async fn connect(
        config: Config,
        env: &Environment,
        observer: Option<Arc<dyn HttpObserver>>,
        concurrency: usize,
    ) -> Result<Deployment, Failure> {
        let mut backends = BTreeMap::new();
        for (name, backend) in &config.backends {
            let at = |field: &str, problem: String| {
                Failure::Usage(format!(
                    "{}:{}: backends.{name}.{field}: {problem}",
                    config.file, backend.line
                ))
            };
            let read = |setting: &Setting, field: &str, what: &str| -> Result<String, Failure> {
                match setting {
                    Setting::Literal(value) => Ok(value.clone()),
                    Setting::Env(var) => env.get(var).ok_or_else(|| {
                        at(field, format!("{var} is not set; export it with {what}"))
                    }),
                }
            };
            let url = read(
                &backend.url,
                "url_env",
                "the instance's URL (https://example.jfrog.io)",
            )?;
            let token = env.get(&backend.token_env).ok_or_else(|| {
                at(
                    "token_env",
                    format!(
                        "{} is not set; export it with an admin access token (Administration > \
                         User Management > Access Tokens)",
                        backend.token_env
                    ),
                )
            })?;
            let user = match &backend.user {
                Some(setting) => read(setting, "user_env", "the user people log in as")?,
                None => "<artifactory user>".to_owned(),
            };
            let mut builder = ArtifactoryClient::builder()
                .with_url(url.clone())
                .with_access_token(token.clone());
            if let Some(observer) = &observer {
                builder = builder.with_observer(observer.clone());
            }
            let client = builder.build().map_err(|err| at("url", err.to_string()))?;
            let api = ArtifactoryBackend::new(client.clone())
                .with_org(config.org.clone())
                .with_docker_method(backend.docker_access);
            let mut variables = Vec::new();
            if let Setting::Env(var) = &backend.url {
                variables.push((var.clone(), SecretString::from(url.clone())));
            }
            if let Some(Setting::Env(var)) = &backend.user {
                variables.push((var.clone(), SecretString::from(user.clone())));
            }
            variables.push((backend.token_env.clone(), SecretString::from(token.clone())));
            backends.insert(
                name.clone(),
                Backend {
                    api: Arc::new(api.clone()),
                    artifactory: api,
                    login: ClientLogin::new(user, token, backend.token_env.clone()),
                    url,
                    variables,
                },
            );
        }
        check_caches(&config, &backends)?;
        // One authenticated read per backend, so a refused token is reported once, naming
        // its variable, instead of once per cache.
        for (name, backend) in &backends {
            if let Err(err) = backend
                .artifactory
                .client()
                .list_repositories(Some("remote"), None)
                .await
            {
                let backend_config = &config.backends[name];
                if matches!(
                    err.kind(),
                    pull_through_core::ErrorKind::Unauthenticated
                        | pull_through_core::ErrorKind::PermissionDenied
                ) {
                    return Err(Failure::Step(format!(
                        "{}:{}: backends.{name}.token_env: {} refused the token in {}: {err}; \
                         give an admin access token (Administration > User Management > Access Tokens)",
                        config.file, backend_config.line, backend.url, backend_config.token_env
                    )));
                }
                return Err(crate::output::failure(err));
            }
        }

        // The observer first, so the token exchanges `from_env_with` sets up are journaled.
        let mut builder = ChainguardClient::builder();
        if let Some(observer) = &observer {
            builder = builder.with_observer(observer.clone());
        }
        let builder = builder
            .from_env_with(|var| env.get(var))
            .map_err(crate::output::failure)?;
        let chainguard = builder.build().map_err(|err| {
            Failure::Usage(format!(
                "{err}; set CHAINGUARD_TOKEN (a token from `chainctl auth token`), or \
                 CHAINGUARD_IDENTITY with an OIDC token, or log in with chainctl"
            ))
        })?;
        let resolved = chainguard.resolve_organization(config.org.as_str()).await;
        let org_id = match (&config.org_id, resolved) {
            (None, resolved) => resolved.map_err(crate::output::failure)?,
            (Some(given), Ok(resolved)) if *given != resolved => {
                // A wrong id would point caches at another organization's packages.
                return Err(Failure::Usage(format!(
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
            chainguard,
            org_id,
            concurrency: concurrency.max(1),
        })
    }

    /// The backend a cache is on.
    pub(crate) fn backend(&self, cache: &CacheConfig) -> &Backend {
        &self.backends[&cache.backend]
    }

    /// The upstream of a remote cache.
    pub(crate) fn upstream(&self, cache: &CacheConfig) -> Option<Upstream> {
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
    /// [`UNWRITTEN_PASSWORD`]), so a plan can compare everything else.
    pub(crate) fn spec(
        &self,
        cache: &CacheConfig,
        credentials: Option<UpstreamCredentials>,
    ) -> CacheSpec {
        cache.spec(&self.config.org, &self.org_id, credentials)
    }

    /// What `verify` pulls through a cache: the configured probe, or the default for its
    /// upstream (for an aggregate, its first member's).
    pub(crate) fn probe(&self, cache: &CacheConfig) -> Probe {
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
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Caches whose every member comes before them: remotes first, then aggregates by
    /// depth. Destroy walks it backwards.
    pub(crate) fn apply_order(&self) -> Vec<&CacheConfig> {
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
    pub(crate) fn layers(&self) -> Vec<Vec<&CacheConfig>> {
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
    pub(crate) fn private_caches(&self) -> Vec<(&CacheConfig, PullTokenRole)> {
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
fn check_caches(config: &Config, backends: &BTreeMap<String, Backend>) -> Result<(), Failure> {
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
            Failure::Usage(format!(
                "{}:{}: caches[{index}].{field}: {err}",
                config.file, cache.line
            ))
        })?;
        per_backend
            .entry(cache.backend.as_str())
            .or_default()
            .push(spec);
    }
    for (name, specs) in per_backend {
        let case = backends[name].api.capabilities().name_case;
        CacheSet::new(specs, case)
            .map_err(|err| Failure::Usage(format!("{}: backends.{name}: {err}", config.file)))?;
    }
    Ok(())
}

/// Credentials that stand in for a pull token whose password is not written.
pub(crate) fn unwritten_credentials(identity_id: &str) -> Option<UpstreamCredentials> {
    UpstreamCredentials::new(identity_id, UNWRITTEN_PASSWORD).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_environment_shows_names_never_values() {
        let env = Environment::Fixed(Arc::new(BTreeMap::from([
            (
                "ARTIFACTORY_ACCESS_TOKEN".to_owned(),
                "eyJ-secret".to_owned(),
            ),
            ("EMPTY".to_owned(), String::new()),
        ])));
        assert_eq!(
            format!("{env:?}"),
            "[\"ARTIFACTORY_ACCESS_TOKEN\", \"EMPTY\"]"
        );
        assert_eq!(
            env.get("ARTIFACTORY_ACCESS_TOKEN").as_deref(),
            Some("eyJ-secret")
        );
        assert_eq!(env.get("EMPTY"), None, "empty counts as unset");
        assert_eq!(env.get("MISSING"), None);
    }
}
