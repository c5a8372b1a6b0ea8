//! A pull through a repository as Docker makes it, with the tutorial's debugging hints
//! when it fails, and the tutorial's checks of a repository (plus the IAM grant).

use std::time::Instant;

use http::header::{ACCEPT, HeaderValue};
use pull_through_core::pull::MANIFEST_ACCEPT;
use pull_through_core::registry::RegistryAuth;
use pull_through_core::{
    CacheRole, CacheState, Check, Diagnosis, Error, ErrorKind, Probe, Upstream,
    UpstreamCredentials, ValidationError,
};

use crate::client::GarClient;
use crate::model::{FORMAT_DOCKER, MODE_REMOTE, MODE_VIRTUAL, SECRET_ACCESSOR_ROLE};
use crate::rules::secret_id_for;

/// The `gcloud` command that grants the service agent access to a secret.
fn grant_command(client: &GarClient, secret: &str, member: &str) -> String {
    format!(
        "gcloud secrets add-iam-policy-binding {secret} --project {} --member={member} \
         --role={SECRET_ACCESSOR_ROLE}",
        client.project()
    )
}

/// The tutorial's hint for a pull that failed with `err`.
async fn pull_hint(client: &GarClient, state: &CacheState, err: &Error) -> Option<String> {
    if let Some(url) = state.upstream_url() {
        if !Upstream::CgrPublic.matches_url(url) {
            return Some(format!(
                "the remote's upstream is {url:?}; it must be exactly https://cgr.dev/ with no \
                 additional components (the upstream cannot be changed: make a new repository)"
            ));
        }
    }
    let text = err.to_string();
    if text.contains("secretmanager") || text.contains("/secrets/") {
        let secret = secret_id_for(state.name.as_str());
        if text.contains("DISABLED") || text.contains("DESTROYED") || text.contains("disabled") {
            return Some(format!(
                "the secret version the repository pins is not enabled; write the password \
                 again (apply with a rotation) so that {secret} has an enabled, pinned version"
            ));
        }
        let member = client
            .service_agent()
            .await
            .unwrap_or_else(|_| "serviceAccount:service-PROJECT_NUMBER@gcp-sa-artifactregistry.iam.gserviceaccount.com".to_owned());
        return Some(format!(
            "the Artifact Registry service agent {member} needs {SECRET_ACCESSOR_ROLE} on \
             secret {secret}: {} (apply adds it; a new grant takes a few minutes to apply)",
            grant_command(client, &secret, &member)
        ));
    }
    match err.kind() {
        ErrorKind::Unauthenticated => Some(client.inner().token.refusal_hint()),
        ErrorKind::NotFound => Some(format!(
            "check the location and project: the repository must be {} in location {} of \
             project {}, pulled as {}/...",
            state.name,
            client.location(),
            client.project(),
            client.image_prefix(state.name.as_str())
        )),
        _ if matches!(
            &state.role,
            CacheRole::Remote {
                username: Some(_),
                ..
            }
        ) =>
        {
            Some(
                "check the pull token: it must have the registry.pull role and not be expired"
                    .to_owned(),
            )
        }
        _ => None,
    }
}

/// Pulls `image:reference`'s manifest through the repository of `state` as Docker does:
/// the registry's Bearer challenge, a token from its realm for `oauth2accesstoken` and an
/// access token, then the manifest with Docker's `Accept`.
pub(crate) async fn pull_manifest(
    client: &GarClient,
    state: &CacheState,
    probe: &Probe,
    image: &str,
    reference: &str,
) -> Check {
    let started = Instant::now();
    let step = probe.to_string();
    let repository = format!("{}/{}/{image}", client.project(), state.name);
    let result: Result<String, Error> = async {
        let access = client.access_token().await?;
        let login = UpstreamCredentials::new("oauth2accesstoken", access)?;
        let auth = RegistryAuth::with_observer(
            client.inner().docker_url.clone(),
            client.inner().observer.clone(),
        )?;
        let token = auth.pull_token(&repository, Some(&login)).await?;
        let mut request = client
            .inner()
            .docker
            .get(&format!("v2/{repository}/manifests/{reference}"))
            .header(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await?;
        Ok(answer
            .headers()
            .get("docker-content-digest")
            .and_then(|d| d.to_str().ok())
            .unwrap_or("no digest")
            .to_owned())
    }
    .await;
    match result {
        Ok(digest) => Check::passed(step, digest, started.elapsed()),
        Err(err) => {
            let hint = pull_hint(client, state, &err).await;
            Check::failed(step, err.to_string(), hint, started.elapsed())
        }
    }
}

/// The checks of repository `id`: a Docker remote of exactly `https://cgr.dev/` (or a
/// Docker virtual), and for credentials, a pin of an enabled version of the cache's own
/// secret, which the service agent may read.
pub(crate) async fn diagnose(client: &GarClient, id: &str) -> Result<Vec<Diagnosis>, Error> {
    let Some(repository) = client.get_repository(id).await? else {
        return Err(Error::InvalidInput(ValidationError::InvalidValue {
            field: "repository".to_owned(),
            problem: format!(
                "there is no repository {id:?} in location {} of project {}",
                client.location(),
                client.project()
            ),
        }));
    };
    let mut found = Vec::new();
    let format = repository.format.as_deref().unwrap_or("unspecified");
    if format != FORMAT_DOCKER {
        found.push(Diagnosis::new(
            "format",
            format!("the repository's format is {format}, not DOCKER"),
            "make a Docker repository (the format cannot be changed)",
        ));
    }
    match repository.mode.as_deref() {
        Some(MODE_VIRTUAL) => return Ok(found),
        Some(MODE_REMOTE) => {}
        other => {
            found.push(Diagnosis::new(
                "mode",
                format!(
                    "the repository is a {} repository, not a remote",
                    other.unwrap_or("STANDARD_REPOSITORY")
                ),
                "make a remote repository (Remote, Custom, https://cgr.dev/): the mode cannot \
                 be changed",
            ));
            return Ok(found);
        }
    }
    let upstream = repository.upstream_uri().unwrap_or_default();
    // Google may drop the trailing slash; the tutorial's rule is about extra components.
    if !Upstream::CgrPublic.matches_url(upstream) {
        found.push(Diagnosis::new(
            "upstream",
            format!("the upstream is {upstream:?}"),
            "it must be exactly https://cgr.dev/ with no additional components; make a new \
             repository (the upstream cannot be changed)",
        ));
    }
    let Some(creds) = repository.credentials() else {
        return Ok(found);
    };
    let secret = secret_id_for(id);
    let redo = "apply the cache's spec with a rotation to write the password into its own \
                secret and pin it";
    let Some((pinned, version)) = creds.secret() else {
        found.push(Diagnosis::new(
            "credentials",
            format!(
                "passwordSecretVersion {:?} is not projects/P/secrets/S/versions/N",
                creds.password_secret_version
            ),
            redo,
        ));
        return Ok(found);
    };
    client.project_number().await?;
    let shown = client
        .pinned_secret(creds)
        .unwrap_or_else(|| pinned.to_owned());
    if shown != secret {
        found.push(Diagnosis::new(
            "credentials",
            format!("the credentials pin secret {shown}, not the cache's secret {secret}"),
            redo,
        ));
        return Ok(found);
    }
    let versions = match client.list_secret_versions(&secret).await {
        Ok(versions) => versions,
        Err(err) if err.is_not_found() => {
            found.push(Diagnosis::new(
                "credentials",
                format!("the pinned secret {secret} does not exist"),
                redo,
            ));
            return Ok(found);
        }
        Err(err) => return Err(err),
    };
    let enabled = versions
        .iter()
        .any(|v| v.is_enabled() && (version == "latest" || v.version_id() == Some(version)));
    if !enabled {
        found.push(Diagnosis::new(
            "credentials",
            format!("version {version} of secret {secret} is missing or not ENABLED"),
            redo,
        ));
    }
    if !client.secret_accessor_granted(&secret).await? {
        let member = client.service_agent().await?;
        found.push(Diagnosis::new(
            "secretAccessor",
            format!("{member} does not hold {SECRET_ACCESSOR_ROLE} on secret {secret}"),
            format!(
                "{}, or apply the cache's spec",
                grant_command(client, &secret, &member)
            ),
        ));
    }
    Ok(found)
}
