//! The tower layer around every gRPC call: one span per RPC, joined to the
//! caller's trace (`traceparent`), its latency recorded by method and status
//! code, and a server-wide concurrency limit that sheds load at once. The
//! HTTP/JSON transport (`api::http`) uses the same span, measurement and
//! permits ([`RpcLayer::permits`]), so a call costs the same whichever way
//! it came in.
//!
//! Shedding answers RESOURCE_EXHAUSTED with reason RATE_LIMITED the moment
//! the limit is reached, instead of queueing calls until every one of them
//! times out. Health checks and reflection are never shed: an overloaded
//! replica must still answer its probes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::propagation::Extractor;
use tokio::sync::Semaphore;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::Error;
use crate::telemetry::{metrics, rpc_attributes};

/// Wraps the router: see the module docs.
#[derive(Debug, Clone)]
pub struct RpcLayer {
    /// Permits for calls in flight; none left means shed.
    in_flight: Arc<Semaphore>,
}

impl RpcLayer {
    /// A layer that lets at most `max_in_flight` calls run at once.
    pub fn new(max_in_flight: usize) -> Self {
        RpcLayer {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
        }
    }

    /// The permits for calls in flight, to share with another transport.
    pub fn permits(&self) -> Arc<Semaphore> {
        self.in_flight.clone()
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService {
            inner,
            in_flight: self.in_flight.clone(),
        }
    }
}

/// The service [`RpcLayer`] makes.
#[derive(Debug, Clone)]
pub struct RpcService<S> {
    inner: S,
    in_flight: Arc<Semaphore>,
}

/// Reads `traceparent` (and `tracestate`) from request headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The gRPC status code of a response: in the headers for an error (a
/// trailers-only response), else in trailers, which means OK here.
fn status_code<B>(response: &http::Response<B>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", path));
        let span = rpc_span("grpc", service, method, request.headers());
        let mut measure = Measure::start(span.clone(), method);

        let essential =
            service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.");
        let permit = if essential {
            None
        } else {
            match self.in_flight.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let shed = tonic::Status::from(measure.shed()).into_http();
                    return Box::pin(async move { Ok(shed) });
                }
            }
        };

        // The clone that was made ready is the one to call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).instrument(span).await;
            let code = match &response {
                Ok(response) => status_code(response),
                Err(_) => tonic::Code::Unknown as i32,
            };
            measure.finish(code);
            drop(permit);
            response
        })
    }
}

/// The span of one call, joined to the caller's trace. `system` is "grpc"
/// or "http" (the JSON transport, which names the RPC it runs).
pub(crate) fn rpc_span(
    system: &'static str,
    service: &str,
    method: &str,
    headers: &http::HeaderMap,
) -> tracing::Span {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // Fields the adapters fill in: ids (never viewer ids, never tokens),
    // and how the call ended.
    let span = tracing::info_span!(
        "rpc",
        otel.name = %method,
        otel.kind = "server",
        rpc.system = system,
        rpc.service = %service,
        rpc.method = %method,
        merchant_id = Empty,
        campaign_id = Empty,
        outcome = Empty,
        reason = Empty,
        rpc.grpc.status_code = Empty,
    );
    let _ = span.set_parent(parent);
    span
}

/// Records how one call ended: the status code on its span and its latency.
/// A call dropped before it answers (tonic's `grpc-timeout`, which runs
/// outside this layer and answers CANCELLED, or a client that went away)
/// is recorded as CANCELLED when dropped, so the slowest calls are not
/// missing from the latency histogram.
pub(crate) struct Measure {
    span: tracing::Span,
    method: String,
    started: Instant,
    done: bool,
}

impl Measure {
    /// Starts the clock of a call.
    pub(crate) fn start(span: tracing::Span, method: &str) -> Measure {
        Measure {
            span,
            method: method.to_owned(),
            started: Instant::now(),
            done: false,
        }
    }

    /// Records a call shed for want of a permit, and the error to answer:
    /// a shed call is a span and a measurement like any other.
    pub(crate) fn shed(&mut self) -> Error {
        let error = Error::RateLimited;
        self.span
            .in_scope(|| tracing::warn!("overloaded: call shed"));
        self.span.record("outcome", "error");
        self.span.record("reason", error.reason());
        self.finish(error.code() as i32);
        error
    }

    /// Records the status code the call ended with.
    pub(crate) fn finish(&mut self, code: i32) {
        self.done = true;
        self.span.record("rpc.grpc.status_code", code);
        metrics().rpc_duration.record(
            self.started.elapsed().as_secs_f64(),
            &rpc_attributes(&self.method, code),
        );
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        if !self.done {
            self.span.record("outcome", "error");
            self.finish(tonic::Code::Cancelled as i32);
        }
    }
}
