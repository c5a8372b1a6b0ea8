//! Artifact Registry's long-running operations (reference §1.5): a create or delete answers
//! an [`Operation`], polled with `GET v1/{name}` until `done`.

use http::{Method, StatusCode};
use pull_through_core::error::{ApiError, ApiErrorClass};
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

/// A `google.rpc.Code` as its name and the HTTP status Google's REST answers carry for it
/// (`google/rpc/code.proto`); codes it does not name are `UNKNOWN`.
fn canonical(code: i32) -> (StatusCode, &'static str) {
    let (status, name) = match code {
        1 => (499, "CANCELLED"),
        3 => (400, "INVALID_ARGUMENT"),
        4 => (504, "DEADLINE_EXCEEDED"),
        5 => (404, "NOT_FOUND"),
        6 => (409, "ALREADY_EXISTS"),
        7 => (403, "PERMISSION_DENIED"),
        8 => (429, "RESOURCE_EXHAUSTED"),
        9 => (400, "FAILED_PRECONDITION"),
        10 => (409, "ABORTED"),
        11 => (400, "OUT_OF_RANGE"),
        12 => (501, "UNIMPLEMENTED"),
        13 => (500, "INTERNAL"),
        14 => (503, "UNAVAILABLE"),
        15 => (500, "DATA_LOSS"),
        16 => (401, "UNAUTHENTICATED"),
        _ => (500, "UNKNOWN"),
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        name,
    )
}

/// The URL an operation is polled at, for errors: the base URL joined with `v1/{name}`
/// (the base ends in a slash; formatting the two would double it).
fn operation_url(client: &GarClient, name: &str) -> String {
    let base = client.inner().artifact_registry.base_url();
    base.join(&format!("v1/{name}"))
        .map_or_else(|_| format!("{base}v1/{name}"), String::from)
}

/// An operation that finished with `error`: the create or delete failed, although the
/// request that started it succeeded. The error is built as if Google had answered the
/// status directly, so that `ALREADY_EXISTS` is [`Error::AlreadyExists`], and so on.
pub(crate) fn status_error(client: &GarClient, operation: &Operation, status: &Status) -> Error {
    let (http, canonical) = canonical(status.code);
    let body = serde_json::json!({"error": {
        "code": http.as_u16(),
        "message": status.message,
        "status": canonical,
        "details": status.details,
    }});
    let url = operation_url(client, &operation.name);
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
    /// An operation still running when the polling budget is spent: Google's own answer to
    /// a deadline (504 `DEADLINE_EXCEEDED`), though the operation goes on.
    fn polling_deadline(&self, operation: &Operation) -> Error {
        let budget = self.inner().polling.budget.as_secs();
        let mut api = ApiError::new(
            "gar",
            Method::GET,
            operation_url(self, &operation.name),
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "operation {} had not finished after {budget} s of polling",
                operation.name
            ),
        );
        api.code = Some("DEADLINE_EXCEEDED".to_owned());
        api.fix = Some(
            "it may still finish: run again in a few minutes (every step is idempotent and \
             reads what the operation made), or give the client a larger polling budget \
             (GarBuilder::with_operation_polling)"
                .to_owned(),
        );
        Error::from_api(api, Some(ApiErrorClass::Other))
    }

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
    /// The operation's error, mapped as Google's envelope would be; when the polling
    /// budget ran out, [`Error::Api`] with status 504 and code `DEADLINE_EXCEEDED` naming
    /// the operation (it may still finish: run again); the core's [`Error`].
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
                return Err(self.polling_deadline(&operation));
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
