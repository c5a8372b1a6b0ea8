//! `google.longrunning.Operation` and `google.rpc.Status`.

use serde::Deserialize;

/// A long-running operation (`google.longrunning.Operation`).
///
/// ```
/// let op: gar_client::model::Operation = serde_json::from_str(
///     r#"{"name": "projects/p/locations/us/operations/1", "done": false}"#).unwrap();
/// assert!(!op.done && op.error.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Operation {
    /// `projects/{project}/locations/{location}/operations/{id}`.
    #[serde(default)]
    pub name: String,
    /// Whether it finished.
    #[serde(default)]
    pub done: bool,
    /// Set when it finished with an error.
    pub error: Option<Status>,
    /// Set when it finished with a result (an `Any`: `@type` and the message's fields).
    pub response: Option<serde_json::Value>,
}

/// `google.rpc.Status`: an operation's error, and the body of every error answer.
///
/// ```
/// let status: gar_client::model::Status = serde_json::from_str(
///     r#"{"code": 6, "message": "the repository already exists"}"#).unwrap();
/// assert_eq!(status.code, 6);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Status {
    /// The canonical code's number (HTTP status in error answers).
    #[serde(default)]
    pub code: i32,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// The canonical code's name (error answers only).
    pub status: Option<String>,
    /// `ErrorInfo` and other details.
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}
