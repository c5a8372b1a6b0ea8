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

/// A backend's table: `type` and the vendor's fields, each with its place. The vendor's
/// factory reads its own fields; a tagged serde enum would lose the spans in toml.
pub(super) type RawBackend = BTreeMap<String, Spanned<toml::Value>>;

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
