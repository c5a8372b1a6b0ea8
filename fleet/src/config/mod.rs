//! The config file: which organization, which backends, which caches. Loaded and
//! checked as a whole before any request; every problem names the file, the line, the
//! field and what is allowed there.
//!
//! Secrets never live in the file: a backend names the environment variables that hold
//! its URL and token. A backend's own fields are read and checked by its vendor's
//! [`BackendFactory`](crate::BackendFactory).

mod check;
pub(crate) mod locate;
mod raw;

use std::collections::BTreeMap;
use std::time::Duration;

use pull_through_core::{
    CacheName, CacheSpec, OrgId, OrgName, PackageFormat, Probe, PullTokenRole, Upstream,
    UpstreamCredentials,
};

use self::check::Checker;
use self::raw::RawConfig;
use crate::factory::{BackendTable, Factories};

/// Chainguard's limit on a pull token's lifetime.
const MAX_TTL: Duration = Duration::from_secs(8760 * 3600);

/// Upstreams a cache may name, for messages.
const UPSTREAMS: &str = "cgr.dev/chainguard, cgr.dev/{org}, apk.cgr.dev/{org}, \
    apk.cgr.dev/chainguard, apk.cgr.dev/extra-packages, virtualapk.cgr.dev/{org_id}/chainguard, \
    virtualapk.cgr.dev/{org_id}/extra-packages, packages.wolfi.dev/os";

/// What is wrong with a config file, and where.
///
/// ```
/// use pull_through_fleet::{Config, Factories};
/// let text = "name = \"T t\"\n[chainguard]\norg = \"example.com\"\n";
/// let err = Config::parse("t.toml", text, &Factories::new()).unwrap_err();
/// assert_eq!((err.line, err.field.as_str()), (1, "name"));
/// assert!(err.to_string().starts_with("t.toml:1: name: "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {problem}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The file as the user named it.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The field's path (`caches[2].upstream`).
    pub field: String,
    /// What is wrong and what is allowed.
    pub problem: String,
}

/// A loaded, checked config: which organization, which backends, which caches.
///
/// ```
/// use pull_through_fleet::{Config, Factories};
/// // Backends are checked by their vendor's factory; with none registered, any type is refused.
/// let text = "name = \"t\"\n[chainguard]\norg = \"example.com\"\n[backends.art]\ntype = \"artifactory\"\n";
/// let err = Config::parse("t.toml", text, &Factories::new()).unwrap_err();
/// assert_eq!(err.field, "backends.art.type");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The file as the user named it.
    pub file: String,
    /// Names what this config makes: its pull tokens carry it in their description.
    pub name: String,
    /// The Chainguard organization.
    pub org: OrgName,
    /// Its id, when given; looked up by name when an upstream needs it.
    pub org_id: Option<OrgId>,
    /// Where `org_id` is (0 when absent).
    pub org_id_line: usize,
    /// How long the pull tokens this config makes live.
    pub pull_token_ttl: Duration,
    /// By name.
    pub backends: BTreeMap<String, BackendTable>,
    /// In file order.
    pub caches: Vec<CacheConfig>,
}

/// One cache of a config.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Its key or name on the backend.
    pub name: CacheName,
    /// The backend's name.
    pub backend: String,
    /// What it serves.
    pub format: PackageFormat,
    /// The description, if any.
    pub description: Option<String>,
    /// Remote or aggregate.
    pub kind: CacheIntent,
    /// What `verify` pulls, when not the default for the upstream.
    pub probe: Option<Probe>,
    /// Where its `[[caches]]` entry is.
    pub line: usize,
}

/// What a cache fronts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CacheIntent {
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
///
/// ```
/// use pull_through_fleet::UpstreamTemplate;
/// let template = UpstreamTemplate::new("cgr.dev/{org}");
/// let org = "example.com".parse()?;
/// let id = pull_through_core::OrgId::new("0".repeat(40))?;
/// assert_eq!(template.resolve(&org, &id)?.to_string(), "cgr.dev/example.com");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTemplate(String);

impl CacheConfig {
    /// The core's spec of this cache for the organization `org` / `org_id`, with
    /// `credentials` for a private remote.
    ///
    /// ```
    /// # fn example(cache: &pull_through_fleet::CacheConfig, deployment: &pull_through_fleet::Deployment) {
    /// let spec = cache.spec(&deployment.config.org, &deployment.org_id, None);
    /// assert_eq!(spec.name, cache.name);
    /// # }
    /// ```
    pub fn spec(
        &self,
        org: &OrgName,
        org_id: &OrgId,
        credentials: Option<UpstreamCredentials>,
    ) -> CacheSpec {
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
    /// A template as written in a config.
    ///
    /// ```
    /// # use pull_through_fleet::UpstreamTemplate;
    /// assert_eq!(UpstreamTemplate::new("apk.cgr.dev/{org}").as_str(), "apk.cgr.dev/{org}");
    /// ```
    pub fn new(text: impl Into<String>) -> UpstreamTemplate {
        UpstreamTemplate(text.into())
    }

    /// The template as written.
    ///
    /// ```
    /// # use pull_through_fleet::UpstreamTemplate;
    /// assert_eq!(UpstreamTemplate::new("cgr.dev/chainguard").as_str(), "cgr.dev/chainguard");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The upstream with the placeholders filled in.
    ///
    /// # Errors
    ///
    /// [`ValidationError`](pull_through_core::ValidationError) when the filled-in text is
    /// not an upstream of the catalogue.
    ///
    /// ```
    /// # use pull_through_fleet::UpstreamTemplate;
    /// let id = pull_through_core::OrgId::new("0123456789abcdef0123456789abcdef01234567")?;
    /// let upstream = UpstreamTemplate::new("virtualapk.cgr.dev/{org_id}/chainguard").resolve(&"example.com".parse()?, &id)?;
    /// assert!(upstream.to_string().contains("0123456789abcdef"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn resolve(
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
    /// Parses and checks `text`, reporting problems as in `file`; each backend's table is
    /// checked by the factory of its `type` in `factories`. Reads no variable and sends no
    /// request.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError`], naming its line, its field and what is allowed.
    ///
    /// ```
    /// use pull_through_fleet::{Config, Factories};
    /// let err = Config::parse("t.toml", "name = \"t\"\n", &Factories::new()).unwrap_err();
    /// assert_eq!(err.to_string(), "t.toml:1: chainguard: missing field `chainguard`");
    /// ```
    pub fn parse(file: &str, text: &str, factories: &Factories) -> Result<Config, ConfigError> {
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
        Checker {
            file,
            text,
            factories,
        }
        .check(raw)
    }

    /// A cache by name.
    ///
    /// ```
    /// # fn example(config: &pull_through_fleet::Config) -> Result<(), pull_through_core::ValidationError> {
    /// let virt = config.cache(&pull_through_core::CacheName::new("cgr-virt")?);
    /// # Ok(()) }
    /// ```
    pub fn cache(&self, name: &CacheName) -> Option<&CacheConfig> {
        self.caches.iter().find(|c| &c.name == name)
    }
}
