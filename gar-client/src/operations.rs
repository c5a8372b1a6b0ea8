//! Artifact Registry's long-running operations (reference §1.5): a create or delete answers
//! an [`Operation`], polled with `GET v1/{name}` until `done`.

use http::{Method, StatusCode};
use pull_through_core::error::ApiError;
use pull_through_core::{Error, ValidationError};

use crate::client::GarClient;
use crate::model::{Operation, Status};

/// Whether a name the server gave is safe in a URL path: `projects/.../operations/...` of
/// plain characters.
fn is_operation_name(name: &str) -> bool {
    name.starts_with("projects/")
        && name.contains("/operations/")
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
}

/// An operation that finished with `error`: the create or delete failed, although the
/// request that started it succeeded. The error is built as if Google had answered the
/// status directly, so that `ALREADY_EXISTS` is [`Error::AlreadyExists`], and so on.
pub(crate) fn status_error(client: &GarClient, operation: &Operation, status: &Status) -> Error {
    let http = match status.code {
        3 | 9 | 11 => StatusCode::BAD_REQUEST, // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
        5 => StatusCode::NOT_FOUND,
        6 | 10 => StatusCode::CONFLICT, // ALREADY_EXISTS, ABORTED
        7 => StatusCode::FORBIDDEN,
        8 => StatusCode::TOO_MANY_REQUESTS,
        16 => StatusCode::UNAUTHORIZED,
        14 => StatusCode::SERVICE_UNAVAILABLE,
        4 => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let canonical = match status.code {
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        14 => "UNAVAILABLE",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    };
    let body = serde_json::json!({"error": {
        "code": http.as_u16(),
        "message": status.message,
        "status": canonical,
        "details": status.details,
    }});
    let url = format!(
        "{}/v1/{}",
        client.inner().artifact_registry.base_url(),
        operation.name
    );
    let envelope = crate::error::GoogleErrors::new(
        client.project().to_owned(),
        client.inner().token.refusal_hint(),
    );
    let parsed = pull_through_core::error::ErrorEnvelope::parse(&envelope, http, &body.to_string())
        .unwrap_or_default();
    let mut api = ApiError::new(
        "gar",
        Method::GET,
        url,
        http,
        format!("the operation finished with an error: {}", status.message),
    );
    api.code = parsed.code;
    api.fix = parsed.fix;
    api.body = body.to_string();
    Error::from_api(api, parsed.class)
}

impl GarClient {
    /// `GET v1/{name}`: an operation as it is now.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a name that is not an operation's; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let operation = client.get_operation("projects/p/locations/us-central1/operations/0b5e").await?;
    /// println!("done: {}", operation.done);
    /// # Ok(()) }
    /// ```
    pub async fn get_operation(&self, name: &str) -> Result<Operation, Error> {
        if !is_operation_name(name) {
            return Err(Error::InvalidInput(ValidationError::InvalidValue {
                field: "operation".to_owned(),
                problem: "is not an operation name (projects/P/locations/L/operations/ID)"
                    .to_owned(),
            }));
        }
        let request = self.inner().artifact_registry.get(&format!("v1/{name}"));
        self.json(request, "operation").await
    }

    /// Polls `operation` with the client's backoff until it is done, and returns it done.
    /// An operation that finished with `error` is that error.
    ///
    /// # Errors
    ///
    /// The operation's error, mapped as Google's envelope would be; [`Error::Unsupported`]
    /// when the polling budget ran out (the operation may still finish: read the resource
    /// again later); the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient, started: gar_client::model::Operation) -> Result<(), pull_through_core::Error> {
    /// let finished = client.wait_operation(started).await?;
    /// assert!(finished.done);
    /// # Ok(()) }
    /// ```
    pub async fn wait_operation(&self, operation: Operation) -> Result<Operation, Error> {
        let mut operation = operation;
        let mut schedule = self.inner().polling.schedule();
        while !operation.done {
            if !schedule.wait().await {
                return Err(Error::Unsupported {
                    vendor: "gar".to_owned(),
                    what: format!("waiting longer for operation {}", operation.name),
                    hint: "it has not finished within the polling budget; it may still \
                           finish: run again later (or raise the budget with \
                           with_operation_polling)"
                        .to_owned(),
                });
            }
            operation = self.get_operation(&operation.name).await?;
        }
        match &operation.error {
            Some(status) => Err(status_error(self, &operation, status)),
            None => Ok(operation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_checked() {
        assert!(is_operation_name(
            "projects/p/locations/us-central1/operations/0b5e-11"
        ));
        for bad in [
            "operations/1",
            "projects/p/../x/operations/1",
            "projects/p/locations/l/operations/1?x=y",
            "projects/p/locations/l/operations/a b",
        ] {
            assert!(!is_operation_name(bad), "{bad}");
        }
    }
}
