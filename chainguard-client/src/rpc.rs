//! The `google.rpc.Status` error envelope of the platform API and STS.

use http::StatusCode;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope, VendorError};

/// Reads `{"code": <grpc code>, "message": "...", "details": [...]}` bodies, classifying by
/// the gRPC code (more precise than the HTTP status: 500 lumps several together).
///
/// ```
/// use chainguard_client::RpcStatus;
/// use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
/// let parsed = RpcStatus.parse(http::StatusCode::FORBIDDEN,
///     r#"{"code":7,"message":"permission denied","details":[]}"#).unwrap();
/// assert_eq!(parsed.class, Some(ApiErrorClass::PermissionDenied));
/// assert_eq!(parsed.code.as_deref(), Some("PERMISSION_DENIED"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcStatus;

impl ErrorEnvelope for RpcStatus {
    fn parse(&self, _status: StatusCode, body: &str) -> Option<VendorError> {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        let code = value.get("code")?.as_i64()?;
        let mut message = value
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        // ErrorInfo reasons and BadRequest field violations say which field is wrong.
        let details = detail_summaries(value.get("details"));
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
        let (name, class) = match code {
            1 => ("CANCELLED", ApiErrorClass::Other),
            2 => ("UNKNOWN", ApiErrorClass::Other),
            3 => ("INVALID_ARGUMENT", ApiErrorClass::Other),
            4 => ("DEADLINE_EXCEEDED", ApiErrorClass::Other),
            5 => ("NOT_FOUND", ApiErrorClass::NotFound),
            6 => ("ALREADY_EXISTS", ApiErrorClass::AlreadyExists),
            7 => ("PERMISSION_DENIED", ApiErrorClass::PermissionDenied),
            8 => ("RESOURCE_EXHAUSTED", ApiErrorClass::RateLimited),
            9 => ("FAILED_PRECONDITION", ApiErrorClass::Other),
            10 => ("ABORTED", ApiErrorClass::Other),
            11 => ("OUT_OF_RANGE", ApiErrorClass::Other),
            12 => ("UNIMPLEMENTED", ApiErrorClass::Other),
            13 => ("INTERNAL", ApiErrorClass::Other),
            14 => ("UNAVAILABLE", ApiErrorClass::Other),
            15 => ("DATA_LOSS", ApiErrorClass::Other),
            16 => ("UNAUTHENTICATED", ApiErrorClass::Unauthenticated),
            _ => ("UNKNOWN", ApiErrorClass::Other),
        };
        let mut parsed = VendorError::message(&message)
            .with_code(name)
            .with_class(class);
        if code == 16 {
            parsed = parsed.with_fix(
                "the token is missing, expired or for another audience: mint one for \
                 https://console-api.enforce.dev (chainctl auth token) or check CHAINGUARD_TOKEN",
            );
        }
        Some(parsed)
    }

    fn request_id_headers(&self) -> &[&str] {
        &[
            "x-request-id",
            "x-cloud-trace-context",
            "grpc-metadata-x-request-id",
        ]
    }
}

/// `reason` of ErrorInfo details and `field: description` of BadRequest violations.
fn detail_summaries(details: Option<&serde_json::Value>) -> Vec<String> {
    let mut summaries = Vec::new();
    for detail in details.and_then(|d| d.as_array()).into_iter().flatten() {
        if let Some(reason) = detail.get("reason").and_then(|r| r.as_str()) {
            summaries.push(reason.to_owned());
        }
        let violations = detail.get("fieldViolations").and_then(|v| v.as_array());
        for violation in violations.into_iter().flatten() {
            let field = violation
                .get("field")
                .and_then(|f| f.as_str())
                .unwrap_or("?");
            let description = violation
                .get("description")
                .and_then(|d| d.as_str())
                .unwrap_or_default();
            summaries.push(format!("{field}: {description}"));
        }
    }
    summaries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        let cases = [
            (5, ApiErrorClass::NotFound),
            (6, ApiErrorClass::AlreadyExists),
            (7, ApiErrorClass::PermissionDenied),
            (8, ApiErrorClass::RateLimited),
            (16, ApiErrorClass::Unauthenticated),
            (3, ApiErrorClass::Other),
        ];
        let names = [
            (1, "CANCELLED"),
            (4, "DEADLINE_EXCEEDED"),
            (11, "OUT_OF_RANGE"),
            (12, "UNIMPLEMENTED"),
            (15, "DATA_LOSS"),
            (99, "UNKNOWN"),
        ];
        for (code, name) in names {
            let body = format!(r#"{{"code":{code},"message":"m"}}"#);
            let parsed = RpcStatus.parse(StatusCode::BAD_REQUEST, &body).unwrap();
            assert_eq!(parsed.code.as_deref(), Some(name));
        }
        let detailed = RpcStatus
            .parse(
                StatusCode::BAD_REQUEST,
                r#"{"code":3,"message":"invalid identity","details":[
                    {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"INVALID_ISSUER"},
                    {"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"static.issuer","description":"must be a URL"}]}]}"#,
            )
            .unwrap();
        assert_eq!(
            detailed.message.as_deref(),
            Some("invalid identity (INVALID_ISSUER; static.issuer: must be a URL)")
        );
        for (code, class) in cases {
            let body = format!(r#"{{"code":{code},"message":"m"}}"#);
            let parsed = RpcStatus.parse(StatusCode::BAD_REQUEST, &body).unwrap();
            assert_eq!(parsed.class, Some(class), "{code}");
            assert_eq!(parsed.message.as_deref(), Some("m"));
        }
        assert!(RpcStatus.parse(StatusCode::BAD_GATEWAY, "<html>").is_none());
        assert!(
            RpcStatus
                .parse(StatusCode::BAD_GATEWAY, r#"{"error":"x"}"#)
                .is_none()
        );
    }
}
