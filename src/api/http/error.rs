//! Error answers of the HTTP port: the JSON form of `google.rpc.Status` with
//! its `ErrorInfo`, under the HTTP status the standard gRPC-to-HTTP mapping
//! gives its code (or a more telling one the caller names: 405, 408, 413,
//! 415), and `Retry-After` when trying again later can help.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;

/// The JSON form of `google.rpc.Status`.
#[derive(Serialize)]
struct StatusJson<'a> {
    code: i32,
    message: &'a str,
    details: Vec<ErrorInfoJson>,
}

/// The JSON form of a `google.rpc.ErrorInfo` inside an `Any`.
#[derive(Serialize)]
struct ErrorInfoJson {
    #[serde(rename = "@type")]
    type_url: &'static str,
    reason: String,
    domain: String,
    metadata: BTreeMap<String, String>,
}

/// An error answer: the status as JSON under `http`, or the HTTP status
/// its code maps to.
pub(super) fn error_response(status: &tonic::Status, http: Option<StatusCode>) -> Response {
    let status = &crate::error::with_error_info(status.clone());
    let json = status_json(status);
    let mut response = (
        http.unwrap_or_else(|| http_status(status.code())),
        [(CONTENT_TYPE, "application/json")],
        Body::from(json),
    )
        .into_response();
    if matches!(status.code(), Code::Unavailable | Code::ResourceExhausted) {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The JSON `google.rpc.Status` of `status`, with its ErrorInfo, on one
/// line: an error answer's body, and an SSE stream's last event.
pub(super) fn status_json(status: &tonic::Status) -> Vec<u8> {
    let status = &crate::error::with_error_info(status.clone());
    let details = status
        .get_details_error_info()
        .map(|info| ErrorInfoJson {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo",
            reason: info.reason,
            domain: info.domain,
            metadata: info.metadata.into_iter().collect(),
        })
        .into_iter()
        .collect();
    let body = StatusJson {
        code: status.code() as i32,
        message: status.message(),
        details,
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The HTTP status of a gRPC code, as google.rpc.Code documents it (and
/// grpc-gateway and Envoy's transcoder answer).
pub(super) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_http_as_google_rpc_code_documents() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Code::FailedPrecondition),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }
}
