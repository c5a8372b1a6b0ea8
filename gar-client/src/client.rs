//! [`GarClient`]: one client for the three Google APIs a cache needs (Artifact Registry,
//! Secret Manager, Resource Manager) and the Docker registry in front of them. The calls
//! live in the modules named for their resources.

use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use pull_through_core::http::{HttpClient, HttpObserver, RequestBuilder, Response};
use pull_through_core::{Error, SecretString};
use url::Url;

use crate::auth::TokenSource;
use crate::backoff::Backoff;
use crate::builder::GarBuilder;

/// A client of Google Artifact Registry, Secret Manager and Resource Manager for one
/// project and location. Cheap to clone; clones share connections and the cached project
/// number.
///
/// ```no_run
/// use gar_client::GarClient;
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let client = GarClient::builder().from_env().build()?;
/// for repository in client.list_repositories().await? {
///     println!("{:?} {:?}", repository.id(), repository.upstream_uri());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GarClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) artifact_registry: HttpClient,
    pub(crate) secret_manager: HttpClient,
    pub(crate) resource_manager: HttpClient,
    pub(crate) docker: HttpClient,
    pub(crate) docker_url: Url,
    pub(crate) project: String,
    pub(crate) location: String,
    pub(crate) token: Arc<dyn TokenSource>,
    pub(crate) quota_project: Option<String>,
    pub(crate) polling: Backoff,
    pub(crate) iam_retry: Backoff,
    pub(crate) validation_retry: Backoff,
    pub(crate) observer: Option<Arc<dyn HttpObserver>>,
    pub(crate) project_number: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for GarClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarClient")
            .field("project", &self.inner.project)
            .field("location", &self.inner.location)
            .field("token", &self.inner.token)
            .field("artifact_registry", &self.inner.artifact_registry)
            .field("docker", &self.inner.docker)
            .finish_non_exhaustive()
    }
}

impl GarClient {
    /// A builder with nothing set.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder();
    /// ```
    pub fn builder() -> GarBuilder {
        GarBuilder::default()
    }

    pub(crate) fn from_inner(inner: Inner) -> GarClient {
        GarClient {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The project id.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// assert_eq!(client.project(), "my-project");
    /// ```
    pub fn project(&self) -> &str {
        &self.inner.project
    }

    /// The location.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// assert_eq!(client.location(), "us");
    /// ```
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// The Docker registry's host (and port), as `docker login` and image references name
    /// it: `{location}-docker.pkg.dev` unless overridden.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("europe-west4").with_access_token("t").build().unwrap();
    /// assert_eq!(client.docker_host(), "europe-west4-docker.pkg.dev");
    /// ```
    pub fn docker_host(&self) -> String {
        let url = &self.inner.docker_url;
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// Where images of `repository` are pulled from: `{docker host}/{project}/{repository}`.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us-central1").with_access_token("t").build().unwrap();
    /// assert_eq!(client.image_prefix("cgr-public"), "us-central1-docker.pkg.dev/my-project/cgr-public");
    /// ```
    pub fn image_prefix(&self, repository: &str) -> String {
        format!("{}/{}/{repository}", self.docker_host(), self.inner.project)
    }

    /// A repository's resource name, `projects/{project}/locations/{location}/repositories/{id}`.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// assert_eq!(client.repository_name("r"), "projects/my-project/locations/us/repositories/r");
    /// ```
    pub fn repository_name(&self, repository: &str) -> String {
        format!(
            "projects/{}/locations/{}/repositories/{repository}",
            self.inner.project, self.inner.location
        )
    }

    /// A secret version's resource name with the project id, as the repository pins it:
    /// `projects/{project}/secrets/{secret}/versions/{version}`.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// assert_eq!(client.secret_version_name("s", "2"), "projects/my-project/secrets/s/versions/2");
    /// ```
    pub fn secret_version_name(&self, secret: &str, version: &str) -> String {
        format!(
            "projects/{}/secrets/{secret}/versions/{version}",
            self.inner.project
        )
    }

    /// Whether a `projects/{segment}` of a resource name is this client's project: its id,
    /// or its number once read (Google echoes the number where the id was sent).
    pub(crate) fn is_own_project(&self, segment: &str) -> bool {
        segment == self.inner.project
            || self
                .inner
                .project_number
                .get()
                .is_some_and(|n| n == segment)
    }

    /// The secret a remote's credentials pin, as plans show it: its id when it is in this
    /// client's project, else its whole name (another project's secret is another secret).
    pub(crate) fn pinned_secret(
        &self,
        credentials: &crate::model::UsernamePasswordCredentials,
    ) -> Option<String> {
        let (secret, _version) = credentials.secret()?;
        let project = credentials
            .password_secret_version
            .split('/')
            .nth(1)
            .unwrap_or_default();
        Some(match self.is_own_project(project) {
            true => secret.to_owned(),
            false => format!("projects/{project}/secrets/{secret}"),
        })
    }

    /// A fresh access token from the client's token source.
    ///
    /// # Errors
    ///
    /// What the token source answers.
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let token = client.access_token().await?; // for `docker login -u oauth2accesstoken`
    /// # Ok(()) }
    /// ```
    pub async fn access_token(&self) -> Result<SecretString, Error> {
        self.inner.token.access_token().await
    }

    /// Sends `request` with the access token (and the quota project, when set).
    pub(crate) async fn send(&self, request: RequestBuilder<'_>) -> Result<Response, Error> {
        let token = self.access_token().await?;
        let mut request = request.bearer_auth(&token);
        if let Some(quota) = &self.inner.quota_project {
            if let Ok(value) = HeaderValue::from_str(quota) {
                request = request.header(HeaderName::from_static("x-goog-user-project"), value);
            }
        }
        request.send().await
    }

    /// Sends `request` and reads its JSON answer as `what`.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: RequestBuilder<'_>,
        what: &str,
    ) -> Result<T, Error> {
        self.send(request).await?.json(what).await
    }
}
