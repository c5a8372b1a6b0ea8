//! What else a repository may hold, read before this crate deletes one: upstreams of the
//! formats other than Docker, and packages that are not Docker images.

use http::Method;
use pull_through_core::Error;

use crate::client::CloudsmithClient;
use crate::model::Package;
use crate::rules::IDENTIFIER_RULES;

/// Every upstream format of the API but Docker, as the reference lists them (the same six
/// operations exist for each, the path segment being the format).
pub(crate) const OTHER_UPSTREAM_FORMATS: [&str; 21] = [
    "alpine",
    "cargo",
    "composer",
    "conda",
    "cran",
    "dart",
    "deb",
    "generic",
    "go",
    "helm",
    "hex",
    "huggingface",
    "maven",
    "nix",
    "npm",
    "nuget",
    "python",
    "rpm",
    "ruby",
    "skills",
    "swift",
];

/// The fields of any format's upstream this crate reads.
#[derive(Debug, serde::Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

impl CloudsmithClient {
    /// The names of the repository's upstreams of `format` (all pages). A 404 is none: a
    /// format this API version does not have yet (the list grows) has no upstream.
    pub(crate) async fn other_upstream_names(
        &self,
        repository: &str,
        format: &str,
    ) -> Result<Vec<String>, Error> {
        IDENTIFIER_RULES.check(repository)?;
        let path = format!("repos/{}/{repository}/upstream/{format}/", self.owner());
        match self.list_all::<Named>(&path, &[], "upstream list").await {
            Ok(upstreams) => Ok(upstreams.into_iter().map(|u| u.name).collect()),
            Err(err) if err.is_not_found() => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }

    /// One package of the repository that is not a Docker image, if there is any: one
    /// page of one item of the search `NOT format:docker` (the search syntax is boolean).
    pub(crate) async fn non_docker_package(
        &self,
        repository: &str,
    ) -> Result<Option<Package>, Error> {
        IDENTIFIER_RULES.check(repository)?;
        let path = format!("packages/{}/{repository}/", self.owner());
        let request = self.request(Method::GET, &path).query(&[
            ("query", "NOT format:docker"),
            ("page", "1"),
            ("page_size", "1"),
        ]);
        let found: Vec<Package> = match self.send(request).await {
            Ok(answer) => answer.json("package list").await?,
            Err(err) if err.is_not_found() => Vec::new(),
            Err(err) => return Err(err),
        };
        Ok(found.into_iter().next())
    }
}
