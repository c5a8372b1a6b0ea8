//! Resource Manager v1 (reference §3.4): the project number, which names the Artifact
//! Registry service agent. Read once per client.

use pull_through_core::Error;

use crate::client::GarClient;
use crate::model::Project;

impl GarClient {
    /// The project's number (`GET v1/projects/{projectId}` on Resource Manager), read once
    /// and kept by the client and its clones.
    ///
    /// # Errors
    ///
    /// The core's [`Error`] (the caller needs `resourcemanager.projects.get`).
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// println!("project number {}", client.project_number().await?);
    /// # Ok(()) }
    /// ```
    pub async fn project_number(&self) -> Result<String, Error> {
        self.inner()
            .project_number
            .get_or_try_init(|| async {
                let path = format!("v1/projects/{}", self.project());
                let project: Project = self
                    .json(self.inner().resource_manager.get(&path), "project")
                    .await?;
                if project.project_number.is_empty()
                    || !project.project_number.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(Error::Decode(Box::new(
                        pull_through_core::error::DecodeError::new(
                            "gar",
                            "project",
                            "projectNumber",
                            "is not a number",
                        ),
                    )));
                }
                Ok(project.project_number)
            })
            .await
            .cloned()
    }

    /// The Artifact Registry service agent as an IAM member:
    /// `serviceAccount:service-{number}@gcp-sa-artifactregistry.iam.gserviceaccount.com`.
    ///
    /// # Errors
    ///
    /// As [`GarClient::project_number`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// println!("{}", client.service_agent().await?);
    /// # Ok(()) }
    /// ```
    pub async fn service_agent(&self) -> Result<String, Error> {
        Ok(service_agent_member(&self.project_number().await?))
    }
}

/// The Artifact Registry service agent of the project numbered `number`, as an IAM member.
///
/// ```
/// assert_eq!(gar_client::service_agent_member("123456789012"),
///     "serviceAccount:service-123456789012@gcp-sa-artifactregistry.iam.gserviceaccount.com");
/// ```
pub fn service_agent_member(number: &str) -> String {
    format!("serviceAccount:service-{number}@gcp-sa-artifactregistry.iam.gserviceaccount.com")
}
