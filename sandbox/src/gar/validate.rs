//! The checks Artifact Registry makes on a repository after parsing: the mode and its
//! configuration agree, a remote names one upstream of its format and well-formed
//! credentials, a virtual's upstream policies name existing repositories of its format
//! in its project and location, labels and cleanup policies follow their rules.

use serde_json::{Map, Value};

use super::envelope::Refusal;
use super::remote::parse_version_name;
use super::state::State;
use super::{Fake, names};

/// The remote sources a format may use (`commonRepository` suits every one).
fn sources_for(format: &str) -> &'static [&'static str] {
    match format {
        "DOCKER" => &["dockerRepository", "commonRepository"],
        "MAVEN" => &["mavenRepository", "commonRepository"],
        "NPM" => &["npmRepository", "commonRepository"],
        "PYTHON" => &["pythonRepository", "commonRepository"],
        "APT" => &["aptRepository", "commonRepository"],
        "YUM" => &["yumRepository", "commonRepository"],
        _ => &["commonRepository"],
    }
}

fn is_http_url(uri: &str) -> bool {
    url::Url::parse(uri)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Removes and returns the input-only `remoteRepositoryConfig.disableUpstreamValidation`.
pub(crate) fn take_disable_validation(body: &mut Map<String, Value>) -> bool {
    body.get_mut("remoteRepositoryConfig")
        .and_then(Value::as_object_mut)
        .and_then(|remote| remote.remove("disableUpstreamValidation"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Checks a repository's fields as they will be stored (after a create's defaults or a
/// patch's mask): `project` and `location` are the repository's, `id` its id.
pub(crate) fn check(
    fake: &Fake,
    state: &State,
    body: &mut Map<String, Value>,
    (project, location, id): (&str, &str, &str),
) -> Result<(), Refusal> {
    let format = body
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("FORMAT_UNSPECIFIED")
        .to_owned();
    if format == "FORMAT_UNSPECIFIED" {
        return Err(Refusal::invalid_field(
            "repository.format",
            "Repository format must be specified (for example DOCKER).",
        ));
    }
    let mode = match body.get("mode").and_then(Value::as_str) {
        None | Some("MODE_UNSPECIFIED") => {
            if body.get("disallowUnspecifiedMode") == Some(&Value::Bool(true)) {
                return Err(Refusal::invalid_field(
                    "repository.mode",
                    "Repository mode must be specified when disallow_unspecified_mode is set.",
                ));
            }
            body.insert("mode".to_owned(), "STANDARD_REPOSITORY".into());
            "STANDARD_REPOSITORY".to_owned()
        }
        Some(mode) => mode.to_owned(),
    };
    let remote = body.get("remoteRepositoryConfig");
    let virtual_config = body.get("virtualRepositoryConfig");
    match mode.as_str() {
        "REMOTE_REPOSITORY" if remote.is_none() => {
            return Err(Refusal::invalid_field(
                "repository.remote_repository_config",
                "A remote repository needs remote_repository_config with its upstream.",
            ));
        }
        "REMOTE_REPOSITORY" => {}
        _ if remote.is_some() => {
            return Err(Refusal::invalid_field(
                "repository.remote_repository_config",
                format!(
                    "remote_repository_config is only allowed on a remote repository, not a {mode}."
                ),
            ));
        }
        _ => {}
    }
    if virtual_config.is_some() && mode != "VIRTUAL_REPOSITORY" {
        return Err(Refusal::invalid_field(
            "repository.virtual_repository_config",
            format!(
                "virtual_repository_config is only allowed on a virtual repository, not a {mode}."
            ),
        ));
    }
    if body.contains_key("dockerConfig") && format != "DOCKER" {
        return Err(Refusal::invalid_field(
            "repository.docker_config",
            "docker_config needs the DOCKER format.",
        ));
    }
    if body.contains_key("mavenConfig") && format != "MAVEN" {
        return Err(Refusal::invalid_field(
            "repository.maven_config",
            "maven_config needs the MAVEN format.",
        ));
    }
    if let Some(remote) = remote.and_then(Value::as_object) {
        check_remote(remote, &format)?;
    }
    if let Some(config) = virtual_config {
        check_virtual(fake, state, config, &format, (project, location, id))?;
    }
    names::check_labels(body.get("labels"), "repository.labels")?;
    if let Some(policies) = body.get("cleanupPolicies").and_then(Value::as_object) {
        if policies.len() > 10
            || policies
                .keys()
                .any(|key| key.is_empty() || key.len() >= 128)
        {
            return Err(Refusal::invalid_field(
                "repository.cleanup_policies",
                "At most 10 cleanup policies, each id 1 to 127 characters.",
            ));
        }
    }
    if let Some(key) = body.get("kmsKeyName").and_then(Value::as_str) {
        let parts: Vec<&str> = key.split('/').collect();
        let shaped = matches!(
            parts.as_slice(),
            [
                "projects",
                _,
                "locations",
                _,
                "keyRings",
                _,
                "cryptoKeys",
                _
            ]
        );
        if !key.is_empty() && !shaped {
            return Err(Refusal::invalid_field(
                "repository.kms_key_name",
                format!(
                    "Invalid kms_key_name \"{key}\": projects/P/locations/L/keyRings/R/cryptoKeys/K."
                ),
            ));
        }
    }
    Ok(())
}

fn check_remote(remote: &Map<String, Value>, format: &str) -> Result<(), Refusal> {
    let source = super::messages::REMOTE_SOURCES
        .iter()
        .find(|source| remote.contains_key(**source));
    let Some(source) = source else {
        return Err(Refusal::invalid_field(
            "repository.remote_repository_config",
            "A remote repository needs an upstream: common_repository.uri or docker_repository.",
        ));
    };
    if !sources_for(format).contains(source) {
        return Err(Refusal::invalid_field(
            "repository.remote_repository_config",
            format!(
                "A {format} remote repository cannot use {} as its upstream.",
                super::schema::snake(source)
            ),
        ));
    }
    let uri = match *source {
        "commonRepository" => Some(
            remote[*source]
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        _ => {
            let upstream = &remote[*source];
            if upstream.get("publicRepository").is_none()
                && upstream.get("customRepository").is_none()
            {
                return Err(Refusal::invalid_field(
                    "repository.remote_repository_config",
                    format!(
                        "{} needs public_repository or custom_repository.",
                        super::schema::snake(source)
                    ),
                ));
            }
            upstream.get("customRepository").map(|custom| {
                custom
                    .get("uri")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            })
        }
    };
    if let Some(uri) = uri {
        // commonRepository also takes another Artifact Registry repository's name.
        let repository_name = uri.starts_with("projects/") && uri.contains("/repositories/");
        let common_name = *source == "commonRepository" && repository_name;
        if !(is_http_url(uri) || common_name) {
            return Err(Refusal::invalid_field(
                "repository.remote_repository_config",
                format!("Invalid upstream uri \"{uri}\": an http(s) URL such as https://cgr.dev/."),
            ));
        }
    }
    if let Some(credentials) = remote.get("upstreamCredentials") {
        check_credentials(credentials)?;
    }
    Ok(())
}

/// Upstream credentials, when given, name a user and a secret version
/// `projects/P/secrets/S/versions/V`.
pub(crate) fn check_credentials(credentials: &Value) -> Result<(), Refusal> {
    let path = "repository.remote_repository_config.upstream_credentials";
    let Some(pair) = credentials.get("usernamePasswordCredentials") else {
        // An empty upstreamCredentials is no credentials.
        return Ok(());
    };
    let field = |name: &str| pair.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("username").is_empty() || field("passwordSecretVersion").is_empty() {
        return Err(Refusal::invalid_field(
            path,
            "username_password_credentials needs both username and password_secret_version.",
        ));
    }
    if parse_version_name(field("passwordSecretVersion")).is_none() {
        return Err(Refusal::invalid_field(
            path,
            format!(
                "Invalid password_secret_version \"{}\": it must be in the format of \
                 projects/{{project}}/secrets/{{secret}}/versions/{{version}}.",
                field("passwordSecretVersion")
            ),
        ));
    }
    Ok(())
}

fn check_virtual(
    fake: &Fake,
    state: &State,
    config: &Value,
    format: &str,
    (project, location, id): (&str, &str, &str),
) -> Result<(), Refusal> {
    let path = "repository.virtual_repository_config.upstream_policies";
    let policies = config
        .get("upstreamPolicies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut ids = std::collections::BTreeSet::new();
    for policy in &policies {
        let policy_id = policy.get("id").and_then(Value::as_str).unwrap_or_default();
        if policy_id.is_empty() || !ids.insert(policy_id.to_owned()) {
            return Err(Refusal::invalid_field(
                path,
                format!(
                    "Every upstream policy needs a unique id; \"{policy_id}\" is empty or repeated."
                ),
            ));
        }
        let member = policy
            .get("repository")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let parts: Vec<&str> = member.split('/').collect();
        let [
            "projects",
            member_project,
            "locations",
            member_location,
            "repositories",
            member_id,
        ] = parts.as_slice()
        else {
            return Err(Refusal::invalid_field(
                path,
                format!(
                    "Invalid upstream repository \"{member}\": projects/P/locations/L/repositories/R."
                ),
            ));
        };
        let same_project = fake
            .project(member_project)
            .is_some_and(|p| p.id == project);
        if !same_project || *member_location != location {
            return Err(Refusal::invalid_field(
                path,
                format!(
                    "Upstream repository \"{member}\" must be in project {project} and location {location}."
                ),
            ));
        }
        if *member_id == id {
            return Err(Refusal::invalid_field(
                path,
                "A virtual repository cannot be its own upstream.",
            ));
        }
        let key = format!("projects/{project}/locations/{location}/repositories/{member_id}");
        let Some(found) = state.repositories.get(&key) else {
            return Err(Refusal::invalid_field(
                path,
                format!("Upstream repository \"{member}\" does not exist."),
            ));
        };
        if found.format() != format || found.mode() == "VIRTUAL_REPOSITORY" {
            return Err(Refusal::invalid_field(
                path,
                format!(
                    "Upstream repository \"{member}\" is a {} {}; a {format} virtual repository takes \
                     standard or remote {format} repositories.",
                    found.format(),
                    found.mode()
                ),
            ));
        }
    }
    Ok(())
}
