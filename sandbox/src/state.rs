//! What each fake holds, read-only, for tests that count what a run made: the objects by
//! kind, the username each cache stores and the secret version it pins, and the subject
//! of each identity (`GET /_sandbox/state`, [`Sandbox::state`]).
//!
//! [`Sandbox::state`]: crate::Sandbox::state

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What one fake holds: its objects by kind, each as a short line naming it, the
/// username each cache's stored upstream credentials name, where a cache keeps its
/// password as a pinned secret version, that version, and the subject each identity's
/// tokens carry. Never a secret.
///
/// The kinds the vendor fakes report: `chainguard-api` holds `identities` (their ids) and
/// `role_bindings` (`<identity> <role>`, so a binding made twice shows twice), and fills
/// [`subjects`](Self::subjects), so an identity made twice from one request shows as two
/// ids with one subject;
/// `artifactory` holds `repositories` (keys); `artifactregistry` holds `repositories`
/// (ids); `secretmanager` holds `secrets` (ids) and `secret_versions`
/// (`<secret>/<number> <state> crc32c=<the payload's CRC32C>`, so a password added twice
/// shows as two versions with one checksum); `cloudsmith` holds `repositories` (slugs) and
/// `upstreams` (`<repository> <name> <url>`). The caches' fakes fill
/// [`credentials`](Self::credentials): Artifactory by repository key, Artifact Registry by
/// repository id, Cloudsmith by upstream name; Artifact Registry also fills
/// [`pinned_versions`](Self::pinned_versions).
///
/// ```
/// use pull_through_sandbox::ServiceState;
/// let state = ServiceState::new()
///     .with_objects("repositories", ["cgr-private", "cgr-public"])
///     .with_credential("cgr-private", "ORG/0123456789abcdef");
/// assert_eq!(state.count("repositories"), 2);
/// assert_eq!(state.count("upstreams"), 0);
/// assert_eq!(state.counts()["repositories"], 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceState {
    /// How many of each kind, as [`counts`](Self::counts) gives them (filled when
    /// serialized, so the JSON document says it without counting).
    #[serde(default)]
    pub counts: BTreeMap<String, usize>,
    /// Kind (`repositories`, `identities`, ...) to one line per object, sorted.
    pub objects: BTreeMap<String, Vec<String>>,
    /// Cache (repository key, repository id or upstream name) to the username its
    /// stored upstream credentials name.
    pub credentials: BTreeMap<String, String>,
    /// Cache to the secret version holding its password, for caches that keep it in a
    /// secret store (Artifact Registry's `passwordSecretVersion`): `<secret>/<number>`
    /// as `secret_versions` lines begin (`latest` resolved to the version it names), or
    /// the pin as written when it names no version the fake holds. Never the payload.
    #[serde(default)]
    pub pinned_versions: BTreeMap<String, String>,
    /// Identity to the subject its tokens carry (`sub`: public, in every token), for
    /// fakes of identity providers (`chainguard-api`).
    #[serde(default)]
    pub subjects: BTreeMap<String, String>,
}

impl ServiceState {
    /// Nothing held.
    ///
    /// ```
    /// assert!(pull_through_sandbox::ServiceState::new().objects.is_empty());
    /// ```
    pub fn new() -> ServiceState {
        ServiceState::default()
    }

    /// Records the objects of one kind (sorted; an empty list still names the kind, so
    /// its count reads 0).
    ///
    /// ```
    /// let state = pull_through_sandbox::ServiceState::new().with_objects("secrets", Vec::<String>::new());
    /// assert_eq!(state.counts()["secrets"], 0);
    /// ```
    pub fn with_objects<I, S>(mut self, kind: &str, objects: I) -> ServiceState
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut lines: Vec<String> = objects.into_iter().map(Into::into).collect();
        lines.sort();
        self.counts.insert(kind.to_owned(), lines.len());
        self.objects.insert(kind.to_owned(), lines);
        self
    }

    /// Records the username a cache's stored credentials name.
    ///
    /// ```
    /// let state = pull_through_sandbox::ServiceState::new().with_credential("cg-private", "ORG/abc");
    /// assert_eq!(state.credentials["cg-private"], "ORG/abc");
    /// ```
    pub fn with_credential(mut self, cache: &str, username: &str) -> ServiceState {
        self.credentials
            .insert(cache.to_owned(), username.to_owned());
        self
    }

    /// Records the secret version a cache's stored credentials pin.
    ///
    /// ```
    /// let state = pull_through_sandbox::ServiceState::new()
    ///     .with_pinned_version("chainguard-private", "pull-through-chainguard-private/2");
    /// assert_eq!(state.pinned_versions["chainguard-private"], "pull-through-chainguard-private/2");
    /// ```
    pub fn with_pinned_version(mut self, cache: &str, version: &str) -> ServiceState {
        self.pinned_versions
            .insert(cache.to_owned(), version.to_owned());
        self
    }

    /// Records the subject an identity's tokens carry.
    ///
    /// ```
    /// let state = pull_through_sandbox::ServiceState::new().with_subject("ORG/0a1b", "pull-token-1");
    /// assert_eq!(state.subjects["ORG/0a1b"], "pull-token-1");
    /// ```
    pub fn with_subject(mut self, identity: &str, subject: &str) -> ServiceState {
        self.subjects
            .insert(identity.to_owned(), subject.to_owned());
        self
    }

    /// How many objects of `kind` the fake holds (0 for a kind it does not report).
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::ServiceState::new().count("identities"), 0);
    /// ```
    pub fn count(&self, kind: &str) -> usize {
        self.objects.get(kind).map_or(0, Vec::len)
    }

    /// Every kind with its count.
    ///
    /// ```
    /// let state = pull_through_sandbox::ServiceState::new().with_objects("upstreams", ["a", "b"]);
    /// assert_eq!(state.counts().get("upstreams"), Some(&2));
    /// ```
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.objects
            .iter()
            .map(|(kind, objects)| (kind.clone(), objects.len()))
            .collect()
    }
}
