//! The tutorials' debugging checks of a remote, as a call: the URL exactly what Chainguard
//! requires, token authentication on for `cgr.dev`, URL normalization off for APK
//! repositories.

use std::fmt;

use pull_through_core::{Error, Upstream};

use crate::client::ArtifactoryClient;
use crate::model::RepositoryConfig;

/// One way a remote differs from what Chainguard's tutorials require.
///
/// ```
/// use artifactory_client::RemoteProblem;
/// let problem = RemoteProblem::TokenAuthenticationOff;
/// assert!(problem.to_string().contains("enableTokenAuthentication"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteProblem {
    /// The repository is not a remote (a virtual or local one has nothing to check here).
    NotARemote {
        /// Its class.
        rclass: String,
    },
    /// The URL is not one of Chainguard's upstreams as the tutorials write them.
    WrongUrl {
        /// The URL it has.
        found: String,
        /// What it should be.
        required: &'static str,
    },
    /// A Docker remote of `cgr.dev` without token authentication cannot answer the
    /// registry's challenge.
    TokenAuthenticationOff,
    /// An Alpine remote with URL normalization on mangles `+` in package names.
    UrlNormalizationOn,
}

impl RemoteProblem {
    /// The rule's short name, as [`Diagnosis::check`](pull_through_core::Diagnosis) names it.
    ///
    /// ```
    /// use artifactory_client::RemoteProblem;
    /// assert_eq!(RemoteProblem::UrlNormalizationOn.check_name(), "url normalization");
    /// ```
    pub fn check_name(&self) -> &'static str {
        match self {
            RemoteProblem::NotARemote { .. } => "repository class",
            RemoteProblem::WrongUrl { .. } => "url",
            RemoteProblem::TokenAuthenticationOff => "token authentication",
            RemoteProblem::UrlNormalizationOn => "url normalization",
        }
    }
}

impl fmt::Display for RemoteProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteProblem::NotARemote { rclass } => {
                write!(f, "it is a {rclass} repository, not a remote")
            }
            RemoteProblem::WrongUrl { found, required } => write!(
                f,
                "the URL is {found:?}; it must be {required}, with no additional components"
            ),
            RemoteProblem::TokenAuthenticationOff => f.write_str(
                "token authentication is off: set enableTokenAuthentication to true (the REST default is false)",
            ),
            RemoteProblem::UrlNormalizationOn => f.write_str(
                "URL normalization is on: set disableUrlNormalization to true, or packages with '+' in their names fail",
            ),
        }
    }
}

/// What a remote's configuration breaks of the tutorials' rules; empty when none.
///
/// ```
/// use artifactory_client::{RemoteProblem, RepositoryConfig, remote_problems};
/// let mut config = RepositoryConfig::remote_docker("cgr-public", None);
/// assert!(remote_problems(&config).is_empty());
/// config.url = Some("https://cgr.dev/chainguard".to_owned());
/// config.enable_token_authentication = Some(false);
/// assert_eq!(remote_problems(&config).len(), 2);
/// ```
pub fn remote_problems(config: &RepositoryConfig) -> Vec<RemoteProblem> {
    if !config.rclass.eq_ignore_ascii_case("remote") {
        return vec![RemoteProblem::NotARemote {
            rclass: config.rclass.to_ascii_lowercase(),
        }];
    }
    let url = config.url.as_deref().unwrap_or_default();
    let mut problems = Vec::new();
    if config.package_type.eq_ignore_ascii_case("docker") {
        if !Upstream::CgrPublic.matches_url(url) {
            problems.push(RemoteProblem::WrongUrl {
                found: url.to_owned(),
                required: "https://cgr.dev/",
            });
        }
        if config.enable_token_authentication != Some(true) {
            problems.push(RemoteProblem::TokenAuthenticationOff);
        }
    } else {
        let chainguard_apk = url
            .trim_end_matches('/')
            .parse::<Upstream>()
            .is_ok_and(|upstream| upstream.matches_url(url));
        if !chainguard_apk {
            problems.push(RemoteProblem::WrongUrl {
                found: url.to_owned(),
                required: "https://apk.cgr.dev/<org name> or https://virtualapk.cgr.dev/<org id>/chainguard|extra-packages",
            });
        }
        if config.disable_url_normalization != Some(true) {
            problems.push(RemoteProblem::UrlNormalizationOn);
        }
    }
    problems
}

impl ArtifactoryClient {
    /// Reads a remote and checks it against the tutorials' rules ([`remote_problems`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad key; the core's [`Error`] otherwise; a missing
    /// repository is [`Error::InvalidInput`] naming it.
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// for problem in client.check_remote("cg-private").await? {
    ///     println!("cg-private: {problem}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn check_remote(&self, key: &str) -> Result<Vec<RemoteProblem>, Error> {
        match self.get_repository(key).await? {
            Some(config) => Ok(remote_problems(&config)),
            None => Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "repository".to_owned(),
                    problem: format!("there is no repository {key:?}"),
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tutorial_rule() {
        let upstream: Upstream = "apk.cgr.dev/example.com".parse().unwrap();
        let mut alpine = RepositoryConfig::remote_alpine("cg-private", &upstream, None);
        assert_eq!(remote_problems(&alpine), []);
        alpine.disable_url_normalization = Some(false);
        alpine.url = Some("https://apk.cgr.dev/example.com/x86_64".to_owned());
        let problems = remote_problems(&alpine);
        assert!(
            matches!(problems[0], RemoteProblem::WrongUrl { .. }),
            "{problems:?}"
        );
        assert_eq!(problems[1], RemoteProblem::UrlNormalizationOn);

        let mut docker = RepositoryConfig::remote_docker("cgr-public", None);
        docker.url = Some("https://cgr.dev/chainguard/".to_owned());
        assert_eq!(
            remote_problems(&docker),
            [RemoteProblem::WrongUrl {
                found: "https://cgr.dev/chainguard/".to_owned(),
                required: "https://cgr.dev/"
            }]
        );
        let virt = RepositoryConfig::virtual_docker("cgr-virt", &["cgr-public"]);
        assert_eq!(
            remote_problems(&virt),
            [RemoteProblem::NotARemote {
                rclass: "virtual".to_owned()
            }]
        );
    }
}
