//! Google's error envelope (`{"error": {"code", "message", "status", "details"}}`), the
//! OAuth check every Google API makes, the disabled-API answer, and the query rules of
//! Google's HTTP transcoding (an unknown parameter is refused; `$alt=json;enum-encoding=int`
//! asks for enum numbers).

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Fake;
use super::schema::{enums_as_numbers, snake};
use crate::common::bearer;

/// A Google API error: the HTTP status, the canonical code's name, the message and the
/// `details` Google attaches (an `ErrorInfo` for authentication, permission and disabled
/// APIs; a `BadRequest` naming the field for a refused body). `details` is left out when
/// empty, as Google does for a plain `NOT_FOUND`.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) canonical: &'static str,
    pub(crate) message: String,
    pub(crate) details: Vec<Value>,
    pub(crate) challenge: bool,
}

impl Refusal {
    pub(crate) fn new(
        status: StatusCode,
        canonical: &'static str,
        message: impl Into<String>,
    ) -> Refusal {
        Refusal {
            status,
            canonical,
            message: message.into(),
            details: Vec::new(),
            challenge: false,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// 400 with a `BadRequest` detail naming `field` (its proto path).
    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Refusal {
        let message = message.into();
        let mut refusal = Refusal::invalid(message.clone());
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}]
        }));
        refusal
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub(crate) fn already_exists(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
    }

    pub(crate) fn aborted(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::CONFLICT, "ABORTED", message)
    }

    pub(crate) fn failed_precondition(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
    }

    /// 403 the way IAM answers it, also for a resource that does not exist (Google does
    /// not tell a caller without the permission whether it exists).
    pub(crate) fn permission_denied(
        message: impl Into<String>,
        permission: &str,
        resource: &str,
    ) -> Refusal {
        let mut refusal = Refusal::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message);
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "IAM_PERMISSION_DENIED",
            "domain": "iam.googleapis.com",
            "metadata": {"permission": permission, "resource": resource}
        }));
        refusal
    }

    /// 429 `RESOURCE_EXHAUSTED` as Google answers a caller past a per-user quota of
    /// `api` (`artifactregistry`), with the `ErrorInfo` naming the quota.
    pub(crate) fn rate_limited(api: &str, project_number: &str) -> Refusal {
        let service = format!("{api}.googleapis.com");
        let mut refusal = Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            format!(
                "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per \
                 user' of service '{service}' for consumer 'project_number:{project_number}'."
            ),
        );
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "service": service,
                "consumer": format!("projects/{project_number}"),
                "quota_metric": format!("{service}/requests"),
                "quota_limit": "RequestsPerMinutePerUser",
            }
        }));
        refusal
    }

    /// 401 for a request without the sandbox's access token (`missing`) or with another.
    pub(crate) fn unauthenticated(api: &str, missing: bool) -> Refusal {
        let (start, reason) = if missing {
            (
                "Request is missing required authentication credential",
                "CREDENTIALS_MISSING",
            )
        } else {
            (
                "Request had invalid authentication credentials",
                "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            )
        };
        let mut refusal = Refusal::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!(
                "{start}. Expected OAuth 2 access token, login cookie or other valid \
                 authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project."
            ),
        );
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
            "metadata": {"service": api}
        }));
        refusal.challenge = true;
        refusal
    }

    /// 403 `SERVICE_DISABLED`, as Google answers every call of an API the project has not
    /// enabled.
    pub(crate) fn service_disabled(api: &str, project_number: &str) -> Refusal {
        let title = match api {
            "artifactregistry.googleapis.com" => "Artifact Registry API",
            "secretmanager.googleapis.com" => "Secret Manager API",
            _ => "Cloud Resource Manager API",
        };
        let activation = format!(
            "https://console.developers.google.com/apis/api/{api}/overview?project={project_number}"
        );
        let mut refusal = Refusal::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!(
                "{title} has not been used in project {project_number} before or it is disabled. \
                 Enable it by visiting {activation} then retry. If you enabled this API recently, \
                 wait a few minutes for the action to propagate to our systems and retry."
            ),
        );
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {
                "consumer": format!("projects/{project_number}"),
                "service": api,
                "serviceTitle": title,
                "containerInfo": project_number,
                "activationUrl": activation
            }
        }));
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "Google developers console API activation", "url": activation}]
        }));
        refusal
    }

    /// The envelope as JSON.
    pub(crate) fn body(&self) -> Value {
        let mut error = json!({
            "code": self.status.as_u16(),
            "message": self.message,
            "status": self.canonical,
        });
        if !self.details.is_empty() {
            error["details"] = Value::Array(self.details.clone());
        }
        json!({"error": error})
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut answer = (self.status, axum::Json(self.body())).into_response();
        if self.challenge {
            answer.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
            );
        }
        answer
    }
}

/// The authentication layer of the three Google APIs: `Authorization: Bearer <the
/// sandbox's access token>` (or the `access_token` query parameter Google also takes),
/// else 401; then 403 `SERVICE_DISABLED` when a test disabled the API.
pub(crate) async fn authenticate(
    axum::extract::State((fake, api)): axum::extract::State<(Arc<Fake>, &'static str)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let from_query = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "access_token")
            .map(|(_, value)| value.into_owned())
    });
    let token = bearer(request.headers()).map(str::to_owned).or(from_query);
    match token {
        None => return Refusal::unauthenticated(api, true).into_response(),
        Some(token) if token != fake.token => {
            return Refusal::unauthenticated(api, false).into_response();
        }
        Some(_) => {}
    }
    if fake.lock().disabled_apis.contains(api) {
        let project = request
            .uri()
            .path()
            .split('/')
            .skip_while(|segment| *segment != "projects")
            .nth(1)
            .and_then(|segment| fake.project(segment))
            .unwrap_or_else(|| fake.default_project());
        return Refusal::service_disabled(api, &project.number).into_response();
    }
    next.run(request).await
}

/// Query parameters every Google API takes besides a method's own.
const SYSTEM_PARAMETERS: [&str; 14] = [
    "$alt",
    "alt",
    "$.xgafv",
    "prettyPrint",
    "$prettyPrint",
    "fields",
    "$fields",
    "key",
    "quotaUser",
    "$quotaUser",
    "access_token",
    "callback",
    "$callback",
    "upload_protocol",
];

/// A request's query, checked: a method's own parameters (either spelling) and the
/// system ones; anything else is refused as Google's transcoder refuses it.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
    /// Whether the answer's enums are to be numbers (`$alt=json;enum-encoding=int`).
    pub(crate) numbers: bool,
}

impl Query {
    pub(crate) fn check(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Query, Refusal> {
        let mut numbers = false;
        for (key, value) in &pairs {
            if matches!(key.as_str(), "$alt" | "alt") {
                let mut parts = value.split(';');
                if parts.next() != Some("json") {
                    return Err(Refusal::invalid(format!(
                        "the sandbox answers alt=json only, not {value:?}"
                    )));
                }
                numbers |= parts.any(|part| part == "enum-encoding=int");
                continue;
            }
            let known = SYSTEM_PARAMETERS.contains(&key.as_str())
                || allowed
                    .iter()
                    .any(|name| *name == key || snake(name) == *key);
            if !known {
                return Err(Refusal::invalid_field(
                    key,
                    format!(
                        "Invalid JSON payload received. Unknown name \"{key}\": Cannot bind query \
                         parameter. Field '{key}' could not be found in request message."
                    ),
                ));
            }
        }
        Ok(Query { pairs, numbers })
    }

    /// A method parameter by its camelCase name, given in either spelling.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let snake_name = snake(name);
        self.pairs
            .iter()
            .find(|(key, _)| key == name || *key == snake_name)
            .map(|(_, value)| value.as_str())
    }

    /// The answer to give: `value`, with enum numbers when the client asked for them.
    pub(crate) fn answer(&self, mut value: Value) -> Response {
        if self.numbers {
            enums_as_numbers(&mut value);
        }
        axum::Json(value).into_response()
    }
}

/// One page of `items` as Google's list methods give them: `pageSize` absent or 0 is
/// `default`, above `max` is `max`, negative is refused; `pageToken` is the opaque token a
/// previous page returned (a wrong one is refused). The token is `None` on the last page.
pub(crate) fn page<T: Clone>(
    items: &[T],
    query: &Query,
    default: usize,
    max: usize,
) -> Result<(Vec<T>, Option<String>), Refusal> {
    let size = match query.get("pageSize") {
        None | Some("") => default,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n < 0 => {
                return Err(Refusal::invalid_field(
                    "page_size",
                    "page_size must not be negative",
                ));
            }
            Ok(0) => default,
            Ok(n) => usize::try_from(n).unwrap_or(max).min(max),
            Err(_) => {
                return Err(Refusal::invalid_field(
                    "page_size",
                    format!("Invalid value at 'page_size' (TYPE_INT32), \"{text}\""),
                ));
            }
        },
    };
    let start = match query.get("pageToken") {
        None | Some("") => 0,
        Some(token) => super::schema::decode_bytes(token)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix("sandbox-page:").map(str::to_owned))
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| Refusal::invalid_field("page_token", "Invalid page token."))?,
    };
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| {
        use base64::Engine as _;
        base64::prelude::BASE64_URL_SAFE_NO_PAD.encode(format!("sandbox-page:{end}"))
    });
    Ok((items[start..end].to_vec(), next))
}

/// Google's answer to a path no method is bound to.
pub(crate) async fn no_such_method() -> Response {
    Refusal::not_found("The requested URL was not found on this server.").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_query_takes_both_spellings_and_refuses_strangers() {
        let query = Query::check(
            pairs(&[("repository_id", "r"), ("$alt", "json;enum-encoding=int")]),
            &["repositoryId"],
        )
        .unwrap();
        assert_eq!(query.get("repositoryId"), Some("r"));
        assert!(query.numbers);
        let refused = Query::check(pairs(&[("repoId", "r")]), &["repositoryId"]).unwrap_err();
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.message.contains("Unknown name \"repoId\""));
        assert!(Query::check(pairs(&[("alt", "proto")]), &[]).is_err());
    }

    #[test]
    fn the_envelope_has_details_only_when_there_are_some() {
        let body = Refusal::not_found("Requested entity was not found.").body();
        assert_eq!(
            body,
            json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})
        );
        let body = Refusal::service_disabled("secretmanager.googleapis.com", "1").body();
        assert_eq!(body["error"]["details"][0]["reason"], "SERVICE_DISABLED");
        assert_eq!(
            body["error"]["details"][0]["metadata"]["consumer"],
            "projects/1"
        );
    }
}
