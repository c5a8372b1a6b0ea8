//! Google's error envelope, `{"error":{"code","message","status","details"}}` (reference
//! §1.11), read into the core's error variants with what to do, and the Docker registry's
//! `{"errors":[{"code","message"}]}`.

use http::StatusCode;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope, VendorError};
use serde_json::Value;

/// The message Artifact Registry answers when a remote's upstream refused the credentials,
/// or the secret could not be read (reference §1.4, §3.3).
pub(crate) const UPSTREAM_VALIDATION: &str = "Failed to validate remote upstream";

/// Reads Google's error envelope for one client: the canonical `status` decides the
/// variant (`ALREADY_EXISTS`, `NOT_FOUND`, `PERMISSION_DENIED`, `UNAUTHENTICATED`,
/// `RESOURCE_EXHAUSTED`; `ABORTED` is a conflict to retry, not an existing resource), and
/// the fix names the permission, the variable holding the token, or the `gcloud` command
/// that enables a disabled API.
///
/// ```
/// use gar_client::GoogleErrors;
/// use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
/// let errors = GoogleErrors::new("my-project", "export GOOGLE_OAUTH_ACCESS_TOKEN=...");
/// let parsed = errors.parse(http::StatusCode::FORBIDDEN, r#"{"error": {"code": 403,
///     "message": "Permission 'artifactregistry.repositories.get' denied on resource x (or it may not exist).",
///     "status": "PERMISSION_DENIED"}}"#).unwrap();
/// assert_eq!(parsed.class, Some(ApiErrorClass::PermissionDenied));
/// assert_eq!(parsed.code.as_deref(), Some("PERMISSION_DENIED"));
/// assert!(parsed.fix.unwrap().contains("artifactregistry.repositories.get"));
/// ```
#[derive(Debug, Clone)]
pub struct GoogleErrors {
    project: String,
    refusal_hint: String,
}

impl GoogleErrors {
    /// An envelope reader for calls about `project`, saying `refusal_hint` when the token
    /// is refused.
    ///
    /// ```
    /// let errors = gar_client::GoogleErrors::new("my-project", "refresh the token");
    /// ```
    pub fn new(project: impl Into<String>, refusal_hint: impl Into<String>) -> GoogleErrors {
        GoogleErrors {
            project: project.into(),
            refusal_hint: refusal_hint.into(),
        }
    }

    fn enable(&self, service: &str) -> String {
        format!(
            "the {service} API is disabled in the project; enable it with `gcloud services \
             enable {service} --project {}` and retry in a minute",
            self.project
        )
    }
}

/// The first `ErrorInfo` of `details`: its reason and metadata.
fn error_info(details: Option<&Value>) -> Option<(&str, Option<&serde_json::Map<String, Value>>)> {
    details?.as_array()?.iter().find_map(|detail| {
        let kind = detail.get("@type")?.as_str()?;
        if !kind.ends_with("google.rpc.ErrorInfo") {
            return None;
        }
        Some((
            detail.get("reason")?.as_str()?,
            detail.get("metadata").and_then(Value::as_object),
        ))
    })
}

/// The permission a denial names: `Permission 'x.y.z' denied` (Artifact Registry) or
/// `Permission "x.y.z" denied` (Secret Manager, IAM).
fn named_permission(message: &str) -> Option<&str> {
    let rest = message.split("ermission ").nth(1)?;
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    let end = inner.find(quote)?;
    let permission = &inner[..end];
    permission
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        .then_some(permission)
}

/// The service a "has not been used ... or it is disabled" message links to
/// (`.../apis/api/<service>/overview...`).
fn linked_service(message: &str) -> Option<&str> {
    let rest = message.split("/apis/api/").nth(1)?;
    let service = rest.split(['/', '?', ' ']).next()?;
    service.ends_with(".googleapis.com").then_some(service)
}

impl ErrorEnvelope for GoogleErrors {
    fn parse(&self, _status: StatusCode, body: &str) -> Option<VendorError> {
        let value: Value = serde_json::from_str(body).ok()?;
        // The OAuth endpoint's `{"error": "invalid_grant"}` is not this envelope.
        let error = value.get("error")?.as_object()?;
        let message = error.get("message")?.as_str()?.to_owned();
        let canonical = error.get("status").and_then(Value::as_str);
        let info = error_info(error.get("details"));
        let mut parsed = VendorError::message(message.clone());
        if let Some(canonical) = canonical {
            parsed = parsed.with_code(canonical);
        }
        let disabled = match info {
            Some(("SERVICE_DISABLED", metadata)) => Some(
                metadata
                    .and_then(|m| m.get("service"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| linked_service(&message).map(str::to_owned))
                    .unwrap_or_else(|| "the named service".to_owned()),
            ),
            _ if message.contains("has not been used in project")
                || message.contains("it is disabled") =>
            {
                linked_service(&message).map(str::to_owned)
            }
            _ => None,
        };
        if let Some(service) = disabled {
            // Not a credentials problem: the fix is to enable the API, whatever the status.
            return Some(
                parsed
                    .with_class(ApiErrorClass::Other)
                    .with_fix(self.enable(&service)),
            );
        }
        parsed = match canonical {
            Some("ALREADY_EXISTS") => parsed.with_class(ApiErrorClass::AlreadyExists),
            Some("NOT_FOUND") => parsed.with_class(ApiErrorClass::NotFound),
            Some("UNAUTHENTICATED") => parsed
                .with_class(ApiErrorClass::Unauthenticated)
                .with_fix(self.refusal_hint.clone()),
            Some("PERMISSION_DENIED") => {
                let fix = match named_permission(&message) {
                    Some(permission) => format!(
                        "the account lacks {permission} in project {}; grant it a role that \
                         holds it (Artifact Registry Administrator and Secret Manager Admin \
                         cover every call of this crate), or check the project and location",
                        self.project
                    ),
                    None => format!(
                        "the account may not do this in project {}; it needs Artifact \
                         Registry Administrator and Secret Manager Admin (and \
                         resourcemanager.projects.get)",
                        self.project
                    ),
                };
                parsed
                    .with_class(ApiErrorClass::PermissionDenied)
                    .with_fix(fix)
            }
            Some("RESOURCE_EXHAUSTED") => parsed.with_class(ApiErrorClass::RateLimited),
            // A 409 that is not "already exists": a concurrent change to retry.
            Some("ABORTED") => parsed.with_class(ApiErrorClass::Other),
            Some(_) => parsed.with_class(ApiErrorClass::Other),
            None => parsed,
        };
        if message.contains(UPSTREAM_VALIDATION) {
            parsed = parsed.with_fix(
                "Artifact Registry could not pull from https://cgr.dev/ with the credentials: \
                 check that the pull token has the registry.pull role and has not expired, and \
                 that the Artifact Registry service agent holds \
                 roles/secretmanager.secretAccessor on the secret (a new grant takes 2 to 7 \
                 minutes to reach Artifact Registry)",
            );
        } else if message.contains("gcp-sa-artifactregistry") && message.contains("does not exist")
        {
            parsed = parsed.with_fix(format!(
                "the Artifact Registry service agent does not exist yet; create it with \
                 `gcloud beta services identity create --service=artifactregistry.googleapis.com \
                 --project {}`, or create any repository first",
                self.project
            ));
        }
        Some(parsed)
    }

    fn request_id_headers(&self) -> &[&str] {
        &["x-goog-request-id", "x-request-id", "x-cloud-trace-context"]
    }
}

/// The Docker registry's `{"errors":[{"code":"DENIED","message":"..."}]}`.
///
/// ```
/// use gar_client::DockerErrors;
/// use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
/// let parsed = DockerErrors.parse(http::StatusCode::FORBIDDEN,
///     r#"{"errors":[{"code":"DENIED","message":"Permission \"secretmanager.versions.access\" denied"}]}"#).unwrap();
/// assert_eq!(parsed.class, Some(ApiErrorClass::PermissionDenied));
/// assert_eq!(parsed.code.as_deref(), Some("DENIED"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DockerErrors;

impl ErrorEnvelope for DockerErrors {
    fn parse(&self, _status: StatusCode, body: &str) -> Option<VendorError> {
        let value: Value = serde_json::from_str(body).ok()?;
        let first = value.get("errors")?.get(0)?;
        let message = first.get("message")?.as_str()?;
        let mut parsed = VendorError::message(message);
        if let Some(code) = first.get("code").and_then(Value::as_str) {
            parsed = parsed.with_code(code);
            parsed = match code {
                "DENIED" => parsed.with_class(ApiErrorClass::PermissionDenied),
                "UNAUTHORIZED" => parsed.with_class(ApiErrorClass::Unauthenticated),
                "NAME_UNKNOWN" | "MANIFEST_UNKNOWN" => parsed.with_class(ApiErrorClass::NotFound),
                "TOOMANYREQUESTS" => parsed.with_class(ApiErrorClass::RateLimited),
                _ => parsed,
            };
        }
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_read_in_both_quotings() {
        assert_eq!(
            named_permission("Permission 'artifactregistry.repositories.get' denied on x"),
            Some("artifactregistry.repositories.get")
        );
        assert_eq!(
            named_permission("Permission \"secretmanager.versions.access\" denied"),
            Some("secretmanager.versions.access")
        );
        assert_eq!(named_permission("permission denied"), None);
    }

    #[test]
    fn a_linked_service_is_found() {
        let message = "Secret Manager API has not been used in project 123 before or it is \
                       disabled. Enable it by visiting https://console.developers.google.com/apis/api/secretmanager.googleapis.com/overview?project=123 then retry.";
        assert_eq!(
            linked_service(message),
            Some("secretmanager.googleapis.com")
        );
    }
}
