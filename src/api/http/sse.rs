//! `GET /v1/counters:watch?dimension=…&id=…`: `CounterService.WatchCounters`
//! as Server-Sent Events, for the dashboard page (which reads it with fetch,
//! since the key comes from `authorization` only, never from the query, and
//! `EventSource` cannot send headers).
//!
//! The stream is admitted as every route is ([`admission`](super::admission)):
//! the key, then a permit, then the query read into `WatchCountersRequest`
//! (protobuf JSON mapping, so an unknown parameter, `key` included, is
//! INVALID_FIELD naming it) and checked by the gRPC adapter's own code,
//! then the first bucket read, all within the request timeout. What fails
//! there is an ordinary error answer (401, 403, 400 INVALID_FIELD naming the
//! parameter, 503 STORE_UNAVAILABLE), as every route gives. The permit is
//! held until the stream starts, not for its life, as gRPC's WatchCounters
//! holds it until its first answer.
//!
//! Once started, the stream sends each bucket as `data: <CounterBucket
//! JSON>` (the default event type): the current hour's now, then whenever it
//! changes, at most once a second (the shared subscription of `api::watch`:
//! one store read a second per watched id, however many streams watch it,
//! and a slow client only ever gets the latest bucket). A comment line
//! `: keep-alive` goes out after every quiet [`keep_alive`](crate::config::Config::sse_keep_alive)
//! (15 s), so proxies keep the connection. The stream ends with one
//! `event: error` whose data is the JSON `google.rpc.Status`: UNAUTHENTICATED
//! when the key is revoked, UNAVAILABLE when the server shuts down (so the
//! page reconnects, to another replica).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use http::HeaderValue;
use http::header::CACHE_CONTROL;
use tonic::Code;
use tracing::Instrument;

use super::HttpApi;
use super::error::{error_response, status_json};
use super::json::{from_query, to_json};
use crate::api::counter::watch_request;
use crate::api::refused;
use crate::api::watch::{Next, Watch};
use crate::error::Error;
use crate::proto::WatchCountersRequest;
use crate::rpc_layer::rpc_span;

/// Where the stream is served.
pub(super) const WATCH_PATH: &str = "/v1/counters:watch";

/// The service and RPC the stream runs, for spans, metrics and the access
/// log.
const SERVICE: &str = "cartclick.v1.CounterService";
const RPC: &str = "WatchCounters";

/// The handler of [`WATCH_PATH`]: see the module docs.
pub(super) async fn watch_counters(State(api): State<Arc<HttpApi>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let span = rpc_span("http", SERVICE, RPC, &parts.headers);
    let admission = &api.admission;
    let mut measure = admission.measure(span.clone(), "http", SERVICE, RPC);
    let limits = admission.limits();
    let caller = match admission
        .authenticate(&parts.headers)
        .instrument(span.clone())
        .await
    {
        Ok(caller) => caller,
        Err(error) => {
            span.in_scope(|| measure.finish(error.code() as i32, Some(error.reason())));
            return span.in_scope(|| error_response(&refused(error), None));
        }
    };
    measure.caller(&caller);
    let permit = match admission.permit(&mut measure) {
        Ok(permit) => permit,
        Err(error) => return span.in_scope(|| error_response(&refused(error), None)),
    };
    let open = async {
        let query = parts.uri.query().unwrap_or("");
        let message: WatchCountersRequest = from_query(&api.watch.input, query)?;
        let mut extensions = tonic::Extensions::default();
        extensions.insert(caller);
        let request =
            tonic::Request::from_parts(tonic::metadata::MetadataMap::new(), extensions, message);
        let (caller, dimension, id) = watch_request(&request)?;
        api.counters.open_watch(caller, dimension, id).await
    };
    let opened = tokio::time::timeout(limits.request_timeout, open.instrument(span.clone())).await;
    drop(permit);
    let watch = match opened {
        Ok(Ok(watch)) => watch,
        Ok(Err(error)) => {
            span.in_scope(|| measure.finish(error.code() as i32, Some(error.reason())));
            return span.in_scope(|| error_response(&refused(error), None));
        }
        Err(_) => {
            let late = Error::DeadlineExceeded(format!(
                "no first bucket within {} ms",
                limits.request_timeout.as_millis()
            ));
            span.in_scope(|| measure.finish(late.code() as i32, Some(late.reason())));
            return span.in_scope(|| error_response(&refused(late), None));
        }
    };
    span.in_scope(|| measure.finish(Code::Ok as i32, None));
    let keep_alive = KeepAlive::new()
        .interval(api.sse_keep_alive)
        .text("keep-alive");
    let mut response = Sse::new(events(api.clone(), watch))
        .keep_alive(keep_alive)
        .into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where a stream is: watching, or done after its last event.
enum Stream {
    /// Sending buckets.
    Watching(Arc<HttpApi>, Box<Watch>),
    /// Its `event: error` was sent: nothing more.
    Ended,
}

/// The events of one stream: each bucket, then one `event: error`.
fn events(
    api: Arc<HttpApi>,
    watch: Watch,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> + Send + 'static {
    stream::unfold(Stream::Watching(api, Box::new(watch)), |state| async move {
        let Stream::Watching(api, mut watch) = state else {
            return None;
        };
        let ended = match watch.next().await {
            Next::Bucket((start, counts)) => {
                let bucket = crate::api::to_bucket(start, &counts);
                match to_json(&api.watch.bucket, &bucket) {
                    Ok(json) => {
                        let event = Event::default().data(String::from_utf8_lossy(&json));
                        return Some((Ok(event), Stream::Watching(api, watch)));
                    }
                    Err(status) => status,
                }
            }
            Next::Revoked => refused(Error::Unauthenticated),
            Next::ShuttingDown => {
                tonic::Status::unavailable("the server is shutting down: reconnect")
            }
        };
        let event = Event::default()
            .event("error")
            .data(String::from_utf8_lossy(&status_json(&ended)));
        Some((Ok(event), Stream::Ended))
    })
}
