//! Google's identifier rules, the Artifact Registry locations, and finding the project a
//! path names.

use serde_json::{Map, Value, json};

use super::envelope::Refusal;
use super::{Fake, Project};

/// The Artifact Registry locations: regions and the multi-regions `us`, `europe`, `asia`
/// ("Artifact Registry locations" as of 2026).
pub(crate) const LOCATIONS: &[&str] = &[
    "us",
    "europe",
    "asia",
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
];

/// A project id: 6 to 30 lowercase letters, digits and hyphens, starting with a letter,
/// not ending with a hyphen (Resource Manager's `project_id` rule).
pub(crate) fn is_project_id(id: &str) -> bool {
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// gcloud's repository rule `^[a-z]([a-z0-9-]*[a-z0-9])?$`, at most 63 characters
/// (AIP-122; the reference found no other maximum).
pub(crate) fn check_repository_id(id: &str) -> Result<(), Refusal> {
    let shape = id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if id.is_empty() {
        return Err(Refusal::invalid_field(
            "repository_id",
            "Field [repository_id] is required: pass ?repositoryId=<id>.",
        ));
    }
    if !shape || id.len() > 63 {
        return Err(Refusal::invalid_field(
            "repository_id",
            format!(
                "Invalid repository ID \"{id}\": names may only contain lowercase letters, \
                 numbers, and hyphens, must begin with a letter and end with a letter or number, \
                 and be at most 63 characters long."
            ),
        ));
    }
    Ok(())
}

/// A secret id: 1 to 255 letters, digits, `-` and `_`.
pub(crate) fn check_secret_id(id: &str) -> Result<(), Refusal> {
    let ok = (1..=255).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Refusal::invalid_field(
            "secret_id",
            format!(
                "Invalid secret id \"{id}\": a secret id is 1 to 255 characters of letters, \
                 digits, '-' and '_'."
            ),
        ))
    }
}

/// Label rules shared by both APIs: at most 64; keys 1 to 63 characters starting with a
/// lowercase letter, then lowercase letters, digits, `_` and `-`; values at most 63 of
/// those.
pub(crate) fn check_labels(labels: Option<&Value>, path: &str) -> Result<(), Refusal> {
    let Some(labels) = labels.and_then(Value::as_object) else {
        return Ok(());
    };
    let allowed = |c: char| c.is_lowercase() || c.is_numeric() || c == '_' || c == '-';
    if labels.len() > 64 {
        return Err(Refusal::invalid_field(
            path,
            "At most 64 labels are allowed.",
        ));
    }
    for (key, value) in labels {
        let value = value.as_str().unwrap_or_default();
        let key_ok = key.chars().count() <= 63
            && key.starts_with(char::is_lowercase)
            && key.chars().all(allowed);
        let value_ok = value.chars().count() <= 63 && value.chars().all(allowed);
        if !key_ok || !value_ok {
            return Err(Refusal::invalid_field(
                path,
                format!(
                    "Invalid label {key:?}: {value:?}. Keys start with a lowercase letter; keys \
                     and values hold at most 63 lowercase letters, digits, '_' and '-'."
                ),
            ));
        }
    }
    Ok(())
}

/// The project a path segment names (an id or a number), or Google's answer: 400
/// `RESOURCE_PROJECT_INVALID` for what cannot be a project, 403 for an unknown one.
pub(crate) fn project(
    fake: &Fake,
    segment: &str,
    api: &str,
    permission: &str,
    resource: &str,
) -> Result<Project, Refusal> {
    if let Some(project) = fake.project(segment) {
        return Ok(project);
    }
    let number = segment.len() <= 20 && segment.bytes().all(|b| b.is_ascii_digit());
    if !(is_project_id(segment) || number) {
        let mut refusal = Refusal::invalid("Invalid resource field value in the request.");
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RESOURCE_PROJECT_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": api, "project": segment}
        }));
        return Err(refusal);
    }
    Err(Refusal::permission_denied(
        format!("Permission '{permission}' denied on resource '{resource}' (or it may not exist)."),
        permission,
        resource,
    ))
}

/// Checks an Artifact Registry location. Google's exact answer to an unknown location is
/// not in the reference; the fake answers 400 `INVALID_ARGUMENT` naming it.
pub(crate) fn check_location(location: &str) -> Result<(), Refusal> {
    if LOCATIONS.contains(&location) {
        Ok(())
    } else {
        Err(Refusal::invalid(format!(
            "Location \"{location}\" is not a valid Artifact Registry location \
             (a region like us-central1, or us, europe, asia)."
        )))
    }
}

/// `{"name", "locationId", "displayName"}` of a location, as `locations.get` answers.
pub(crate) fn location_json(project: &str, location: &str) -> Value {
    let mut map = Map::new();
    map.insert(
        "name".to_owned(),
        format!("projects/{project}/locations/{location}").into(),
    );
    map.insert("locationId".to_owned(), location.into());
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_ids_follow_gclouds_rule() {
        for good in ["a", "chainguard-pull-through", "a1", &"a".repeat(63)] {
            assert!(check_repository_id(good).is_ok(), "{good}");
        }
        for bad in ["", "1a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(check_repository_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn project_ids_follow_resource_managers_rule() {
        assert!(is_project_id("pull-through-sandbox"));
        for bad in [
            "short",
            "Upper-case",
            "1starts-digit",
            "ends-hyphen-",
            &"a".repeat(31),
        ] {
            assert!(!is_project_id(bad), "{bad}");
        }
    }

    #[test]
    fn secret_ids_and_labels() {
        assert!(check_secret_id("cgr_pull-token-1").is_ok());
        assert!(check_secret_id("a/b").is_err());
        assert!(check_secret_id(&"a".repeat(256)).is_err());
        let labels = serde_json::json!({"team": "platform", "x_y-1": ""});
        assert!(check_labels(Some(&labels), "labels").is_ok());
        let bad = serde_json::json!({"Team": "x"});
        assert!(check_labels(Some(&bad), "labels").is_err());
    }
}
