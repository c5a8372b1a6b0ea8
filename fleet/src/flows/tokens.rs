//! The pull tokens a config makes: one per cache of a private upstream, found again by a
//! tag in the identity's description (`pull-through config=NAME cache=KEY`).
//!
//! Which token a cache uses is read from the backend (the username it stores), so a run
//! that stopped half way is recognised: a tagged token the cache does not use is stale
//! and is revoked once the cache holds a working one.

use std::time::{Duration, SystemTime};

use pull_through_core::tokens::{IssuedToken, TokenRecord, TokenRequest};
use pull_through_core::{CacheName, CacheRole, CacheState, Error, PullTokenRole};
use serde::Serialize;

use crate::Deployment;

/// A pull token this config made.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
/// let expired = deployment.owned_tokens().await?.into_iter().filter(|t| t.expired).count();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedToken {
    /// The identity's id (the username a cache presents).
    pub identity_id: String,
    /// The cache it was made for.
    pub cache: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// Whether it has expired.
    pub expired: bool,
}

/// A cache's tokens: the one it uses, and the others.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheTokens {
    /// The token whose id the cache stores as its username (expired or not: `status`
    /// must show an expired token in use, and apply and rotate replace it).
    pub(crate) current: Option<OwnedToken>,
    /// Every other token made for the cache.
    pub(crate) stale: Vec<OwnedToken>,
}

impl CacheTokens {
    /// The token the cache can keep (its current one, unless expired) and every other
    /// token made for it, which apply and rotate revoke once the cache holds a new one.
    pub(crate) fn usable(self) -> (Option<OwnedToken>, Vec<OwnedToken>) {
        match self.current {
            Some(current) if !current.expired => (Some(current), self.stale),
            Some(expired) => (None, std::iter::once(expired).chain(self.stale).collect()),
            None => (None, self.stale),
        }
    }
}

/// The description that tags a token as this config's, for this cache.
pub(crate) fn tag(config: &str, cache: &CacheName) -> String {
    format!("pull-through config={config} cache={cache}")
}

fn parse_tag<'a>(config: &str, description: &'a str) -> Option<&'a str> {
    description
        .strip_prefix("pull-through config=")?
        .strip_prefix(config)?
        .strip_prefix(" cache=")
}

/// Chainguard identity names allow `[a-z0-9 ._-]`; cache keys may hold more.
fn identity_name(cache: &CacheName) -> String {
    let key: String = cache
        .as_str()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("pull-through {key}")
}

impl Deployment {
    /// Every pull token this config made, by any cache (found by the tag in their
    /// description).
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// for token in deployment.owned_tokens().await? {
    ///     println!("{} for {} (expired: {})", token.identity_id, token.cache, token.expired);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn owned_tokens(&self) -> Result<Vec<OwnedToken>, Error> {
        Ok(self
            .tokens
            .find_tagged(
                &self.org_id,
                &format!("pull-through config={} ", self.config.name),
            )
            .await?
            .into_iter()
            .filter_map(|record: TokenRecord| {
                let cache = parse_tag(&self.config.name, &record.description)?.to_owned();
                Some(OwnedToken {
                    identity_id: record.identity_id,
                    cache,
                    expires_at: record.expires_at,
                    expired: record.expired,
                })
            })
            .collect())
    }

    /// Makes a pull token for a cache, tagged as this config's.
    pub(crate) async fn create_token(
        &self,
        cache: &CacheName,
        role: PullTokenRole,
    ) -> Result<IssuedToken, Error> {
        let request = TokenRequest::new(role, identity_name(cache))
            .with_description(tag(&self.config.name, cache))
            .with_ttl(self.config.pull_token_ttl);
        self.tokens.issue(&self.org_id, &request).await
    }
}

/// Splits the tokens made for `cache` by whether the cache's stored username names them.
pub(crate) fn for_cache(
    tokens: &[OwnedToken],
    cache: &CacheName,
    state: Option<&CacheState>,
) -> CacheTokens {
    let username = state.and_then(|state| match &state.role {
        CacheRole::Remote { username, .. } => username.as_deref(),
        _ => None,
    });
    let mut split = CacheTokens::default();
    for token in tokens.iter().filter(|t| t.cache == cache.as_str()) {
        if split.current.is_none() && Some(token.identity_id.as_str()) == username {
            split.current = Some(token.clone());
        } else {
            split.stale.push(token.clone());
        }
    }
    split
}

/// An RFC 3339 time for output.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// How long until `expires_at`, for people; `None` if it cannot be read.
///
/// ```
/// use pull_through_fleet::remaining;
/// assert_eq!(remaining("2001-01-01T00:00:00Z").as_deref(), Some("expired"));
/// assert!(remaining("3000-01-01T00:00:00Z").unwrap().starts_with("expires in "));
/// assert_eq!(remaining("not a time"), None);
/// ```
pub fn remaining(expires_at: &str) -> Option<String> {
    let at = humantime::parse_rfc3339_weak(expires_at).ok()?;
    Some(match at.duration_since(SystemTime::now()) {
        Ok(left) => format!(
            "expires in {}",
            humantime::format_duration(Duration::from_secs(left.as_secs() / 3600 * 3600))
        ),
        Err(_) => "expired".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pull_through_core::PackageFormat;

    fn token(id: &str, cache: &str, expired: bool) -> OwnedToken {
        OwnedToken {
            identity_id: id.into(),
            cache: cache.into(),
            expires_at: "2027-01-01T00:00:00Z".into(),
            expired,
        }
    }

    #[test]
    fn tags_round_trip_and_stay_per_config() {
        let cache = CacheName::new("cgr-private").unwrap();
        let tag = tag("seeds", &cache);
        assert_eq!(tag, "pull-through config=seeds cache=cgr-private");
        assert_eq!(parse_tag("seeds", &tag), Some("cgr-private"));
        assert_eq!(parse_tag("seed", &tag), None);
        assert_eq!(parse_tag("seeds-2", &tag), None);
        assert_eq!(parse_tag("seeds", "made by hand"), None);
        assert_eq!(
            identity_name(&CacheName::new("CG_private").unwrap()),
            "pull-through cg_private"
        );
    }

    #[test]
    fn the_token_a_cache_stores_is_current_the_rest_stale() {
        let cache = CacheName::new("cg-private").unwrap();
        let state = CacheState::remote(
            cache.clone(),
            PackageFormat::Apk,
            "https://apk.cgr.dev/example.com",
        )
        .with_username("org/b");
        let tokens = vec![
            token("org/a", "cg-private", false),
            token("org/b", "cg-private", false),
            token("org/c", "cgr-private", false),
        ];
        let split = for_cache(&tokens, &cache, Some(&state));
        assert_eq!(split.current.map(|t| t.identity_id), Some("org/b".into()));
        assert_eq!(
            split
                .stale
                .iter()
                .map(|t| t.identity_id.as_str())
                .collect::<Vec<_>>(),
            ["org/a"]
        );
        let expired = vec![token("org/b", "cg-private", true)];
        let split = for_cache(&expired, &cache, Some(&state));
        assert!(
            split.current.is_some_and(|t| t.expired),
            "an expired token in use is still the cache's"
        );
        assert!(split.stale.is_empty());
        let (kept, stale) = for_cache(&expired, &cache, Some(&state)).usable();
        assert!(kept.is_none());
        assert_eq!(stale.len(), 1);
        assert!(for_cache(&tokens, &cache, None).current.is_none());
    }
}
