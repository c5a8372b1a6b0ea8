//! `PATCH v1/projects/{p}/locations/{l}/repositories/{r}?updateMask=a,b`: only the masked
//! subtrees of the body are applied (a masked field absent from the body is cleared);
//! immutable fields (format, mode, the KMS key, the remote's upstream and description) are
//! refused in a mask, as is any path that is not a field. Without a mask, the fields
//! present in the body are the mask (AIP-134). Credentials that change are validated
//! upstream unless `remoteRepositoryConfig.disableUpstreamValidation` is true in the
//! body (whether Google also wants that field in the mask is not documented, reference
//! §8; the fake honours it either way). Answers the repository itself, not an operation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query as RawQuery, State};
use axum::response::Response;
use serde_json::{Map, Value};

use super::envelope::{Query, Refusal};
use super::messages::REPOSITORY;
use super::repositories::{json_body, repository_name};
use super::schema::{self, Kind, Message};
use super::state::now;
use super::{Fake, remote, validate};

/// Mask paths that may change after creation.
const MUTABLE: &[&str] = &[
    "description",
    "labels",
    "dockerConfig",
    "mavenConfig",
    "cleanupPolicies",
    "cleanupPolicyDryRun",
    "vulnerabilityScanningConfig",
    "disallowUnspecifiedMode",
    "virtualRepositoryConfig",
    "remoteRepositoryConfig.upstreamCredentials",
    "remoteRepositoryConfig.disableUpstreamValidation",
];

/// Mask paths that may not.
const IMMUTABLE: &[&str] = &[
    "name",
    "format",
    "mode",
    "kmsKeyName",
    "remoteRepositoryConfig.description",
    "remoteRepositoryConfig.dockerRepository",
    "remoteRepositoryConfig.mavenRepository",
    "remoteRepositoryConfig.npmRepository",
    "remoteRepositoryConfig.pythonRepository",
    "remoteRepositoryConfig.aptRepository",
    "remoteRepositoryConfig.yumRepository",
    "remoteRepositoryConfig.commonRepository",
];

/// `remote_repository_config.upstream_credentials` → `remoteRepositoryConfig.upstreamCredentials`.
fn camel_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let mut out = String::new();
            let mut upper = false;
            for c in segment.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether `path` names a field of the Repository message (any depth).
fn is_field(path: &str) -> bool {
    let mut message: &Message = &REPOSITORY;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Some(field) = message.field(segment) else {
            return false;
        };
        if field.output_only {
            return false;
        }
        match (&field.kind, segments.peek()) {
            (_, None) => return true,
            (Kind::Message(inner), Some(_)) if !field.repeated => message = inner,
            _ => return false,
        }
    }
    false
}

/// Whether `path` equals or lies under one of `roots`.
fn under(path: &str, roots: &[&str]) -> bool {
    roots.iter().any(|root| {
        path == *root
            || path
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

fn get_path<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut value = map.get(segments.next()?)?;
    for segment in segments {
        value = value.get(segment)?;
    }
    Some(value)
}

fn set_path(map: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    let (parents, leaf) = match path.rsplit_once('.') {
        Some((parents, leaf)) => (Some(parents), leaf),
        None => (None, path),
    };
    let mut target = map;
    for segment in parents.into_iter().flat_map(|p| p.split('.')) {
        let entry = target
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(inner) = entry else { return };
        target = inner;
    }
    match value {
        Some(value) => {
            target.insert(leaf.to_owned(), value);
        }
        None => {
            target.remove(leaf);
        }
    }
}

/// An empty `upstreamCredentials` (or empty pair inside it) is no credentials.
fn prune_credentials(body: &mut Map<String, Value>) {
    let Some(remote) = body
        .get_mut("remoteRepositoryConfig")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let empty_pair = remote
        .get("upstreamCredentials")
        .and_then(|c| c.get("usernamePasswordCredentials"))
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty);
    if empty_pair {
        if let Some(credentials) = remote
            .get_mut("upstreamCredentials")
            .and_then(Value::as_object_mut)
        {
            credentials.remove("usernamePasswordCredentials");
        }
    }
    if remote
        .get("upstreamCredentials")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        remote.remove("upstreamCredentials");
    }
}

/// The mask's paths, in lowerCamelCase, each checked.
fn mask_paths(
    query: &Query,
    body: &Map<String, Value>,
    stored: &Map<String, Value>,
) -> Result<Vec<String>, Refusal> {
    let given = query.get("updateMask").unwrap_or_default();
    let paths: Vec<String> = if given.trim().is_empty() {
        body.keys().filter(|key| *key != "name").cloned().collect()
    } else {
        given
            .split(',')
            .map(|p| camel_path(p.trim()))
            .filter(|p| !p.is_empty())
            .collect()
    };
    let mut checked = Vec::new();
    for path in paths {
        if !is_field(&path) {
            return Err(Refusal::invalid_field(
                "update_mask",
                format!(
                    "Invalid update_mask path \"{path}\": not a field of \
                     google.devtools.artifactregistry.v1.Repository that can be updated."
                ),
            ));
        }
        // The whole remote config: only its credentials may differ from what is stored.
        if path == "remoteRepositoryConfig" {
            let same = |key: &str| {
                let wanted = body.get("remoteRepositoryConfig").and_then(|r| r.get(key));
                wanted.is_none()
                    || wanted
                        == stored
                            .get("remoteRepositoryConfig")
                            .and_then(|r| r.get(key))
            };
            let fixed = ["description"]
                .iter()
                .chain(super::messages::REMOTE_SOURCES.iter());
            if let Some(changed) = fixed.clone().find(|key| !same(key)) {
                return Err(immutable(&format!("remoteRepositoryConfig.{changed}")));
            }
            checked.push("remoteRepositoryConfig.upstreamCredentials".to_owned());
            continue;
        }
        if under(&path, IMMUTABLE) {
            return Err(immutable(&path));
        }
        if !under(&path, MUTABLE) {
            return Err(Refusal::invalid_field(
                "update_mask",
                format!("Invalid update_mask path \"{path}\": it cannot be updated."),
            ));
        }
        checked.push(path);
    }
    Ok(checked)
}

fn immutable(path: &str) -> Refusal {
    Refusal::invalid_field(
        "update_mask",
        format!(
            "Invalid update_mask: field \"{}\" is immutable and cannot be changed after the \
             repository is created.",
            schema::snake(path)
        ),
    )
}

pub(crate) async fn update(
    State(fake): State<Arc<Fake>>,
    Path(path): Path<(String, String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["updateMask"])?;
    let name = repository_name(&fake, &path, "artifactregistry.repositories.update")?;
    let mut body = schema::parse(&json_body(&body)?, &REPOSITORY, "repository")?;
    let skip_validation = validate::take_disable_validation(&mut body);
    let mut updated = {
        let state = fake.lock();
        let stored = state
            .repositories
            .get(&name)
            .ok_or_else(|| Refusal::not_found("Requested entity was not found."))?;
        let mut updated = stored.clone();
        for path in mask_paths(&query, &body, &stored.body)? {
            if path == "remoteRepositoryConfig.disableUpstreamValidation" {
                continue;
            }
            set_path(&mut updated.body, &path, get_path(&body, &path).cloned());
        }
        prune_credentials(&mut updated.body);
        let (project, location, id) = (
            updated.project.clone(),
            updated.location.clone(),
            updated.id.clone(),
        );
        validate::check(&fake, &state, &mut updated.body, (&project, &location, &id))?;
        updated
    };
    let old_credentials = fake
        .lock()
        .repositories
        .get(&name)
        .and_then(|r| r.credentials());
    let new_credentials = updated.credentials();
    if new_credentials.is_some() && new_credentials != old_credentials && !skip_validation {
        remote::validate(&fake, &updated).await.map_err(|reason| {
            Refusal::invalid(format!("Failed to validate remote upstream: {reason}"))
        })?;
    }
    updated.update_time = now();
    let mut state = fake.lock();
    let Some(stored) = state.repositories.get_mut(&name) else {
        return Err(Refusal::not_found("Requested entity was not found."));
    };
    // What was cached or served meanwhile stays.
    updated.packages = std::mem::take(&mut stored.packages);
    *stored = updated;
    Ok(query.answer(stored.to_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_paths_are_fields_in_either_spelling() {
        assert_eq!(
            camel_path("remote_repository_config.upstream_credentials"),
            "remoteRepositoryConfig.upstreamCredentials"
        );
        assert!(is_field(
            "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.passwordSecretVersion"
        ));
        assert!(is_field("description"));
        assert!(!is_field("descriptions"));
        assert!(!is_field("createTime"));
        assert!(!is_field(
            "virtualRepositoryConfig.upstreamPolicies.priority"
        ));
        assert!(under(
            "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials",
            MUTABLE
        ));
        assert!(under(
            "remoteRepositoryConfig.commonRepository.uri",
            IMMUTABLE
        ));
        assert!(!under(
            "remoteRepositoryConfig.upstreamCredentialsX",
            MUTABLE
        ));
    }

    #[test]
    fn set_path_creates_and_clears_subtrees() {
        let mut map = Map::new();
        set_path(&mut map, "a.b.c", Some(Value::from(1)));
        assert_eq!(
            Value::Object(map.clone()),
            serde_json::json!({"a": {"b": {"c": 1}}})
        );
        set_path(&mut map, "a.b", None);
        assert_eq!(Value::Object(map), serde_json::json!({"a": {}}));
    }
}
