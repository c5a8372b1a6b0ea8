//! What the fake holds: repositories with their Docker upstreams, packages and the
//! cached files behind them, issued registry tokens and rate-limit windows.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Map, Value};

use super::rate;
use crate::upstream::{Credentials, Fetched};

/// One repository. Its fields are kept as the API answers them, checked and with
/// defaults filled.
#[derive(Debug, Clone)]
pub(crate) struct Repository {
    pub(crate) seq: u64,
    pub(crate) slug_perm: String,
    pub(crate) created_at: String,
    pub(crate) config: Map<String, Value>,
    pub(crate) upstreams: Vec<DockerUpstream>,
    /// Upstreams of the other formats (`formats.rs`).
    pub(crate) other_upstreams: Vec<super::formats::OtherUpstream>,
}

impl Repository {
    pub(crate) fn slug(&self) -> &str {
        self.config
            .get("slug")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(crate) fn name(&self) -> &str {
        self.config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether `identifier` (a slug or a `slug_perm`) names this repository.
    pub(crate) fn is(&self, identifier: &str) -> bool {
        self.slug() == identifier || self.slug_perm == identifier
    }
}

/// One Docker upstream. The write-only fields are kept apart; `Debug` leaves them out.
#[derive(Clone)]
pub(crate) struct DockerUpstream {
    pub(crate) seq: u64,
    pub(crate) slug_perm: String,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    /// The answered fields (no write-only one).
    pub(crate) config: Map<String, Value>,
    pub(crate) auth_secret: Option<String>,
    pub(crate) auth_certificate: Option<String>,
    pub(crate) auth_certificate_key: Option<String>,
}

impl std::fmt::Debug for DockerUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerUpstream")
            .field("slug_perm", &self.slug_perm)
            .field("config", &self.config)
            .field(
                "auth_secret",
                &self.auth_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

impl DockerUpstream {
    pub(crate) fn text(&self, field: &str) -> &str {
        self.config
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(crate) fn priority(&self) -> i64 {
        self.config
            .get("priority")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX)
    }

    pub(crate) fn is_active(&self) -> bool {
        self.config.get("is_active").and_then(Value::as_bool) != Some(false)
    }

    /// What a pull sends upstream: the username and secret under `Username and
    /// Password`, nothing otherwise (the fake `cgr.dev` speaks no mTLS).
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        (self.text("auth_mode") == "Username and Password").then(|| {
            Credentials::new(
                self.text("auth_username"),
                self.auth_secret.clone().unwrap_or_default(),
            )
        })
    }
}

/// A cached Docker image in a repository, as the packages API lists it.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) seq: u64,
    pub(crate) slug_perm: String,
    /// The repository's `slug_perm`.
    pub(crate) repository: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) uploaded_at: String,
}

/// Where a cached answer lives: (repository `slug_perm`, image, `manifests/<ref>` or
/// `blobs/<digest>`).
pub(crate) type CacheKey = (String, String, String);

/// `Debug` shows no secret: no API key, registry token or stored upstream secret.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) next_seq: u64,
    /// In creation order.
    pub(crate) repos: Vec<Repository>,
    pub(crate) packages: Vec<Package>,
    /// What caching upstreams fetched, with the `slug_perm` of the package it belongs to.
    pub(crate) cache: HashMap<CacheKey, (Fetched, String)>,
    /// Tokens the registry's token endpoint issued, with when.
    pub(crate) registry_tokens: HashMap<String, Instant>,
    /// Rate-limit windows by caller.
    pub(crate) windows: HashMap<String, rate::Window>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("repos", &self.repos)
            .field("packages", &self.packages)
            .field("cache", &self.cache.len())
            .field("registry_tokens", &self.registry_tokens.len())
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(crate) fn repo(&self, identifier: &str) -> Option<&Repository> {
        self.repos.iter().find(|repo| repo.is(identifier))
    }

    pub(crate) fn repo_mut(&mut self, identifier: &str) -> Option<&mut Repository> {
        self.repos.iter_mut().find(|repo| repo.is(identifier))
    }
}
