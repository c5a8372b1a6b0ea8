//! The config file: which organization, which backends, which caches. Loaded and
//! checked as a whole before any request; every problem names the file, the line, the
//! field and what is allowed there.
//!
//! Secrets never live in the file: a backend names the environment variables that hold
//! its URL and token.

mod check;
mod locate;
mod raw;

use std::collections::BTreeMap;
use std::time::Duration;

use artifactory_client::DockerAccessMethod;
use pull_through_core::{CacheName, OrgId, OrgName, PackageFormat, Probe, PullTokenRole, Upstream};

use self::check::Checker;
use self::raw::RawConfig;

/// The config shipped with the program: everything in seeds 000, 001 and 003 on one
/// Artifactory. The default run applies it to the embedded sandbox.
pub(crate) const SEEDS: &str = include_str!("../../seeds.toml");

/// The name the shipped config is reported under.
pub(crate) const SEEDS_FILE: &str = "examples/seeds.toml";

/// Chainguard's limit on a pull token's lifetime.
const MAX_TTL: Duration = Duration::from_secs(8760 * 3600);

/// Upstreams a cache may name, for messages.
const UPSTREAMS: &str = "cgr.dev/chainguard, cgr.dev/{org}, apk.cgr.dev/{org}, \
    apk.cgr.dev/chainguard, apk.cgr.dev/extra-packages, virtualapk.cgr.dev/{org_id}/chainguard, \
    virtualapk.cgr.dev/{org_id}/extra-packages, packages.wolfi.dev/os";

/// What is wrong with a config file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {problem}")]
pub(crate) struct ConfigError {
    /// The file as the user named it.
    pub(crate) file: String,
    /// 1-based.
    pub(crate) line: usize,
    /// The field's path (`caches[2].upstream`).
    pub(crate) field: String,
    /// What is wrong and what is allowed.
    pub(crate) problem: String,
}

/// A loaded, checked config.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The file as the user named it.
    pub(crate) file: String,
    /// Names what this config makes: its pull tokens carry it in their description.
    pub(crate) name: String,
    /// The Chainguard organization.
    pub(crate) org: OrgName,
    /// Its id, when given; looked up by name when an upstream needs it.
    pub(crate) org_id: Option<OrgId>,
    /// Where `org_id` is (0 when absent).
    pub(crate) org_id_line: usize,
    /// How long the pull tokens this config makes live.
    pub(crate) pull_token_ttl: Duration,
    /// By name.
    pub(crate) backends: BTreeMap<String, BackendConfig>,
    /// In file order.
    pub(crate) caches: Vec<CacheConfig>,
}

/// A value given in the file or named by an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Setting {
    /// Written in the file.
    Literal(String),
    /// Read from this variable.
    Env(String),
}

/// One backend instance.
#[derive(Debug, Clone)]
pub(crate) struct BackendConfig {
    /// The instance's URL.
    pub(crate) url: Setting,
    /// The variable holding the admin access token.
    pub(crate) token_env: String,
    /// The user client access names, if known.
    pub(crate) user: Option<Setting>,
    /// How Docker clients address repositories.
    pub(crate) docker_access: DockerAccessMethod,
    /// Where `[backends.NAME]` is.
    pub(crate) line: usize,
}

/// One cache.
#[derive(Debug, Clone)]
pub(crate) struct CacheConfig {
    /// Its key or name on the backend.
    pub(crate) name: CacheName,
    /// The backend's name.
    pub(crate) backend: String,
    /// What it serves.
    pub(crate) format: PackageFormat,
    /// The description, if any.
    pub(crate) description: Option<String>,
    /// Remote or aggregate.
    pub(crate) kind: CacheIntent,
    /// What `verify` pulls, when not the default for the upstream.
    pub(crate) probe: Option<Probe>,
    /// Where its `[[caches]]` entry is.
    pub(crate) line: usize,
}

/// What a cache fronts.
#[derive(Debug, Clone)]
pub(crate) enum CacheIntent {
    /// One upstream, with the pull token it needs.
    Remote {
        /// The upstream, with `{org}` and `{org_id}` still to fill in.
        upstream: UpstreamTemplate,
        /// The pull token's role, for a private upstream.
        pull_token: Option<PullTokenRole>,
    },
    /// Other caches of this config, in order.
    Aggregate {
        /// The members.
        members: Vec<CacheName>,
    },
}

/// An upstream as written, with `{org}` and `{org_id}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpstreamTemplate(String);

impl CacheConfig {
    /// The core's spec of this cache for the organization `org` / `org_id`, with
    /// `credentials` for a private remote.
    pub(crate) fn spec(
        &self,
        org: &OrgName,
        org_id: &OrgId,
        credentials: Option<pull_through_core::UpstreamCredentials>,
    ) -> pull_through_core::CacheSpec {
        use pull_through_core::CacheSpec;
        let spec = match &self.kind {
            // The template was checked at load with a well-formed id; any other is too.
            CacheIntent::Remote { upstream, .. } => {
                let upstream = upstream.resolve(org, org_id).unwrap_or(Upstream::CgrPublic);
                let spec = CacheSpec::remote(self.name.clone(), upstream);
                match credentials {
                    Some(credentials) => spec.with_credentials(credentials),
                    None => spec,
                }
            }
            CacheIntent::Aggregate { members } => {
                CacheSpec::aggregate(self.name.clone(), self.format, members.clone())
            }
        };
        match &self.description {
            Some(description) => spec.with_description(description.clone()),
            None => spec,
        }
    }
}

/// An id that stands in for the organization's before it is known: upstreams are checked
/// with it at load, and it is well formed, so the real one resolves the same way.
pub(crate) fn placeholder_org_id() -> OrgId {
    OrgId::new("0".repeat(40)).unwrap_or_else(|_| unreachable!("40 hex digits are an OrgId"))
}

impl UpstreamTemplate {
    /// The upstream with the placeholders filled in.
    pub(crate) fn resolve(
        &self,
        org: &OrgName,
        org_id: &OrgId,
    ) -> Result<Upstream, pull_through_core::ValidationError> {
        Upstream::parse(
            &self
                .0
                .replace("{org_id}", org_id.as_str())
                .replace("{org}", org.as_str()),
        )
    }
}

impl Config {
    /// Parses and checks `text`, reporting problems as in `file`.
    pub(crate) fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| {
            let offset = err.span().map(|span| span.start).unwrap_or(0);
            let problem = err.message().trim().to_owned();
            // A missing field is reported at its table; name the field itself.
            let missing = problem
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            let field = match missing {
                Some(missing) => {
                    let (table, _) = locate::table_and_key(text, offset);
                    let table = if offset == 0 { String::new() } else { table };
                    locate::join(&table, Some(missing))
                }
                None => locate::path_at(text, offset),
            };
            ConfigError {
                file: file.to_owned(),
                line: locate::line_of(text, offset),
                field,
                problem,
            }
        })?;
        Checker { file, text }.check(raw)
    }

    /// A cache by name.
    pub(crate) fn cache(&self, name: &CacheName) -> Option<&CacheConfig> {
        self.caches.iter().find(|c| &c.name == name)
    }
}

#[cfg(test)]
mod tests;
