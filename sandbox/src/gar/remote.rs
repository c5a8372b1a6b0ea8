//! What a remote repository does with its upstream credentials, as Artifact Registry
//! does: the password is the pinned Secret Manager version's payload, read as the
//! project's service agent, so the version must exist and be `ENABLED` and the agent
//! must hold `roles/secretmanager.secretAccessor` on the secret. Create and patch
//! validate the upstream with them (unless `disableUpstreamValidation`); pulls use them.

use axum::http::StatusCode;

use super::state::{Repository, State, VersionState};
use super::{Fake, SECRET_ACCESSOR};
use crate::upstream::{Credentials, UpstreamError};

/// Why a remote's credentials cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denied {
    /// The pinned version's secret or version does not exist.
    Missing(String),
    /// The version is disabled or destroyed.
    NotEnabled(String, &'static str),
    /// The service agent may not access the secret.
    NoAccess { version: String, agent: String },
}

impl Denied {
    pub(crate) fn message(&self) -> String {
        match self {
            Denied::Missing(version) => {
                format!("Secret version \"{version}\" not found (or it may not exist).")
            }
            Denied::NotEnabled(version, state) => {
                format!("Secret version \"{version}\" is in {state} state.")
            }
            Denied::NoAccess { version, agent } => format!(
                "Permission \"secretmanager.versions.access\" denied on resource \"{version}\" \
                 (or it may not exist) for the Artifact Registry service agent {agent}: grant it \
                 {SECRET_ACCESSOR} on the secret."
            ),
        }
    }
}

/// `projects/{p}/secrets/{s}/versions/{v}` as `(p, s, v)`, `v` a number or `latest`.
pub(crate) fn parse_version_name(name: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["projects", project, "secrets", secret, "versions", version]
            if !project.is_empty()
                && !secret.is_empty()
                && (*version == "latest"
                    || (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()))) =>
        {
            Some((project, secret, version))
        }
        _ => None,
    }
}

/// The version a `passwordSecretVersion` pin names, as `<secret>/<number>` (how the
/// state's `secret_versions` lines begin; `latest` resolved as [`credentials`] resolves
/// it), or the pin itself when it names none the fake holds.
pub(crate) fn pinned(fake: &Fake, state: &State, pin: &str) -> String {
    parse_version_name(pin)
        .and_then(|(project, secret, version)| {
            let number = fake.project(project)?.number;
            let secret = state.secrets.get(&(number, secret.to_owned()))?;
            Some(format!("{}/{}", secret.id, secret.version(version)?.number))
        })
        .unwrap_or_else(|| pin.to_owned())
}

/// The credentials a remote sends upstream: `None` for an anonymous remote. Whether
/// Google resolves `versions/latest` is not documented (reference §8); the fake takes it
/// as the newest version.
pub(crate) fn credentials(
    fake: &Fake,
    state: &State,
    repository: &Repository,
) -> Result<Option<Credentials>, Denied> {
    let Some((username, version_name)) = repository.credentials() else {
        return Ok(None);
    };
    let Some((project, secret_id, version)) = parse_version_name(&version_name) else {
        return Err(Denied::Missing(version_name));
    };
    let Some(secret_project) = fake.project(project) else {
        return Err(Denied::Missing(version_name));
    };
    let key = (secret_project.number.clone(), secret_id.to_owned());
    let Some(secret) = state.secrets.get(&key) else {
        return Err(Denied::Missing(version_name));
    };
    let Some(found) = secret.version(version) else {
        return Err(Denied::Missing(version_name));
    };
    let resolved = format!("{}/versions/{}", secret.name(), found.number);
    let agent = fake
        .project(&repository.project)
        .map(|p| p.agent_member())
        .unwrap_or_default();
    if !secret.policy.grants(SECRET_ACCESSOR, &agent) {
        return Err(Denied::NoAccess {
            version: resolved,
            agent: agent.trim_start_matches("serviceAccount:").to_owned(),
        });
    }
    match (found.state, &found.payload) {
        (VersionState::Enabled, Some(payload)) => Ok(Some(Credentials::new(
            username,
            String::from_utf8_lossy(payload).into_owned(),
        ))),
        (state, _) => Err(Denied::NotEnabled(resolved, state.as_str())),
    }
}

/// Validates a remote's upstream the way Artifact Registry does on create and patch: the
/// credentials must resolve, and the upstream must answer `GET /v2/` with them (through
/// its token challenge). `Err` holds the reason, for "Failed to validate remote upstream:
/// ...".
pub(crate) async fn validate(fake: &Fake, repository: &Repository) -> Result<(), String> {
    let credentials = {
        let state = fake.lock();
        credentials(fake, &state, repository).map_err(|denied| denied.message())?
    };
    let Some(uri) = repository.upstream_uri() else {
        // Maven, npm, Python, Apt and Yum upstreams: nothing the sandbox can reach.
        return Ok(());
    };
    let Some(upstream) = fake.upstream() else {
        return Err(format!("could not reach {uri}"));
    };
    match upstream
        .docker(&uri, "")
        .credentials(credentials.as_ref())
        .send()
        .await
    {
        Ok(answer) if answer.is_success() => Ok(()),
        Ok(answer)
            if matches!(
                answer.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) =>
        {
            Err(format!(
                "failed to fetch bearer token; generic::unauthenticated: Unauthorized error \
                 returned by the external repository {uri} (HTTP {}); this typically means your \
                 upstream credentials are invalid",
                answer.status.as_u16()
            ))
        }
        Ok(answer) => Err(format!(
            "the external repository {uri} answered HTTP {} to GET /v2/",
            answer.status.as_u16()
        )),
        Err(UpstreamError::NoFake(_)) => Err(format!(
            "could not reach {uri}: no fake of that host runs in this sandbox (use https://cgr.dev/)"
        )),
        Err(error) => Err(format!("could not reach {uri}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_version_name;

    #[test]
    fn version_names_are_project_secret_version() {
        assert_eq!(
            parse_version_name("projects/123/secrets/s/versions/2"),
            Some(("123", "s", "2"))
        );
        assert_eq!(
            parse_version_name("projects/p/secrets/s/versions/latest"),
            Some(("p", "s", "latest"))
        );
        for bad in [
            "projects/p/secrets/s",
            "projects/p/secrets/s/versions/x",
            "projects//secrets/s/versions/1",
            "p/secrets/s/versions/1",
        ] {
            assert_eq!(parse_version_name(bad), None, "{bad}");
        }
    }
}
