//! The file's shape as serde reads it; every value keeps its place in the file so a
//! problem found later can still name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) name: Spanned<String>,
    pub(super) chainguard: Spanned<RawChainguard>,
    #[serde(default)]
    pub(super) backends: BTreeMap<String, Spanned<RawBackend>>,
    #[serde(default)]
    pub(super) caches: Vec<Spanned<RawCache>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChainguard {
    pub(super) org: Spanned<String>,
    pub(super) org_id: Option<Spanned<String>>,
    pub(super) pull_token_ttl: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackend {
    #[serde(rename = "type")]
    pub(super) kind: Spanned<String>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) url_env: Option<Spanned<String>>,
    pub(super) token_env: Spanned<String>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) user_env: Option<Spanned<String>>,
    pub(super) docker_access: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    pub(super) name: Spanned<String>,
    pub(super) backend: Option<Spanned<String>>,
    pub(super) upstream: Option<Spanned<String>>,
    pub(super) pull_token: Option<Spanned<String>>,
    pub(super) members: Option<Spanned<Vec<String>>>,
    pub(super) format: Option<Spanned<String>>,
    pub(super) description: Option<Spanned<String>>,
    pub(super) probe: Option<Spanned<String>>,
}
