//! One HTTP call's way through admission, in the order the gRPC transport
//! takes (`rpc_layer`, whose [`Admission`](crate::rpc_layer::Admission) it
//! shares): the key from the headers first, then the body under the
//! body-read timeout, then a concurrency permit, then the call under the
//! request timeout. Each refusal answers with its HTTP status where the
//! gRPC code's usual one would mislead (415, 413, 408).

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, StatusCode};
use tonic::Code;
use tracing::Instrument;

use super::HttpApi;
use super::call::Input;
use super::error::error_response;
use super::routes::ROUTES;
use crate::access_log::reason_of;
use crate::api::refused;
use crate::error::Error;
use crate::rpc_layer::rpc_span;

/// The handler of route `index`: admits its request and runs its RPC as
/// the gRPC transport would (`rpc_layer`): the key from the headers first,
/// then the body under the body-read timeout, then a permit, then the call
/// under the request timeout.
pub(super) async fn handle(api: Arc<HttpApi>, index: usize, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let route = &ROUTES[index];
    let span = rpc_span("http", route.service, route.rpc.name(), &parts.headers);
    let admission = &api.admission;
    let mut measure = admission.measure(span.clone(), "http", route.service, route.rpc.name());
    let limits = admission.limits();
    let deadline = tokio::time::Instant::now() + limits.request_timeout;
    // Each refusal with its HTTP status where the gRPC code's usual one
    // would mislead.
    let admitted = async {
        let caller = admission
            .authenticate(&parts.headers)
            .await
            .map_err(|error| (error, None))?;
        let input = if route.method == Method::GET {
            Input::Query(parts.uri.query().map(str::to_owned))
        } else {
            json_content_type(&parts.headers)
                .map_err(|error| (error, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)))?;
            let body = admission
                .read_body(body, limits.max_request_bytes, deadline)
                .await
                .map_err(|error| {
                    let http = match &error {
                        Error::RequestTooLarge(_) => Some(StatusCode::PAYLOAD_TOO_LARGE),
                        // The client did not send its body in time: its
                        // fault (408), not a gateway's (504).
                        Error::DeadlineExceeded(_) => Some(StatusCode::REQUEST_TIMEOUT),
                        _ => None,
                    };
                    (error, http)
                })?;
            Input::Body(body)
        };
        Ok((caller, input))
    };
    let (caller, input) = match admitted.instrument(span.clone()).await {
        Ok(admitted) => admitted,
        Err((error, http)) => {
            span.in_scope(|| measure.finish(error.code() as i32, Some(error.reason())));
            return span.in_scope(|| error_response(&refused(error), http));
        }
    };
    measure.caller(&caller);
    let permit = match admission.permit(&mut measure) {
        Ok(permit) => permit,
        Err(error) => return span.in_scope(|| error_response(&refused(error), None)),
    };
    let call = api.call(index, parts.headers, caller, input);
    let outcome = tokio::time::timeout_at(deadline, call.instrument(span.clone())).await;
    let response = match outcome {
        Ok(Ok(json)) => {
            span.in_scope(|| measure.finish(Code::Ok as i32, None));
            ([(CONTENT_TYPE, "application/json")], json).into_response()
        }
        Ok(Err(status)) => {
            let reason = reason_of(&status);
            span.in_scope(|| measure.finish(status.code() as i32, reason.as_deref()));
            error_response(&status, None)
        }
        Err(_) => {
            let late = Error::DeadlineExceeded(format!(
                "no answer within {} ms",
                limits.request_timeout.as_millis()
            ));
            span.in_scope(|| measure.finish(late.code() as i32, Some(late.reason())));
            span.in_scope(|| error_response(&refused(late), None))
        }
    };
    drop(permit);
    response
}

/// Refuses a body that is not declared JSON (415): a form or a gRPC
/// message read as JSON by accident could mean another request.
fn json_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case("application/json") => Ok(()),
        Some(other) => Err(Error::MalformedRequest(format!(
            "content-type {other} is not application/json"
        ))),
        None => Err(Error::MalformedRequest(
            "no content-type: send application/json".into(),
        )),
    }
}
