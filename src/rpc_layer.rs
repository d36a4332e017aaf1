//! The tower layer around every gRPC call: one span per RPC, joined to the
//! caller's trace (`traceparent`), its latency recorded by method and status
//! code, and the admission of the call ([`Admission`]), which the HTTP/JSON
//! transport (`api::http`) shares, so a call costs the same and is admitted
//! the same whichever way it came in.
//!
//! A call is admitted in this order, each step holding no more than it must:
//!
//! 1. its key is authenticated from the headers: a caller without a live key
//!    is answered UNAUTHENTICATED at once, holding no permit and never read;
//! 2. its body is read under `body_read_timeout` (a client that sends the
//!    headers and stalls is answered DEADLINE_EXCEEDED) and the size limit
//!    (REQUEST_TOO_LARGE), and must be one uncompressed gRPC message
//!    (MALFORMED_REQUEST);
//! 3. only then does it take one of the `max_concurrent_requests` permits;
//!    none left answers RESOURCE_EXHAUSTED / RATE_LIMITED at once, a whole
//!    gRPC answer on a connection that stays open (shedding is counted and
//!    logged as one summary a second, never a line a call);
//! 4. it runs until `request_timeout`, or the client's shorter
//!    `grpc-timeout`: DEADLINE_EXCEEDED after.
//!
//! Every error status leaving the layer carries its ErrorInfo, tonic's own
//! (an unknown method) included. Health checks and reflection skip steps 1
//! to 3: an overloaded replica must still answer its probes.
//!
//! Each call's end is measured once ([`Measure`]): its status on the span,
//! its latency in the histogram, and its access-log line (`access_log`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderName;
use http_body_util::{BodyExt, Full, Limited};
use opentelemetry::propagation::Extractor;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::access_log::{self, AccessLine, reason_of};
use crate::auth::{Authenticator, Caller};
use crate::error::{Error, with_error_info};
use crate::telemetry::{metrics, rpc_attributes};

/// The limits a call is admitted under, from the config.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    /// Calls running at once before new ones are shed.
    pub max_in_flight: usize,
    /// Longest a call may run; a client's shorter `grpc-timeout` wins.
    pub request_timeout: Duration,
    /// Longest a request's body may take to arrive once its headers have.
    pub body_read_timeout: Duration,
    /// The largest request message accepted.
    pub max_request_bytes: usize,
}

/// What both transports admit a call with: see the module docs.
#[derive(Debug)]
pub(crate) struct Admission {
    /// Finds the caller's key.
    auth: Arc<Authenticator>,
    /// Permits for calls in flight; none left means shed.
    in_flight: Arc<Semaphore>,
    /// The limits.
    limits: CallLimits,
    /// Counts shed calls for the once-a-second summary.
    shed_log: ShedLog,
    /// Whether each call writes its access-log line (`access_log`).
    access_log: bool,
}

impl Admission {
    /// Admission under `limits`, authenticating with `auth`; each call
    /// writes an access-log line when `access_log` is on.
    pub(crate) fn new(auth: Arc<Authenticator>, limits: CallLimits, access_log: bool) -> Admission {
        Admission {
            auth,
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
            limits,
            shed_log: ShedLog::default(),
            access_log,
        }
    }

    /// The measure of a call of `service`'s `method` by `transport`, with
    /// its access-log line when the log is on and its level would write it.
    pub(crate) fn measure(
        &self,
        span: tracing::Span,
        transport: &'static str,
        service: &str,
        method: &str,
    ) -> Measure {
        let access = (self.access_log && span.in_scope(access_log::enabled))
            .then(|| AccessLine::new(transport, service, method));
        Measure::start(span, method, access)
    }

    /// The limits calls are admitted under.
    pub(crate) fn limits(&self) -> CallLimits {
        self.limits
    }

    /// Step 1: the caller of a request, from its headers.
    pub(crate) async fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller, Error> {
        self.auth.authenticate(headers).await
    }

    /// Step 2: the whole body, within the body-read timeout (or `deadline`,
    /// when that comes first) and `limit` bytes.
    pub(crate) async fn read_body<B>(
        &self,
        body: B,
        limit: usize,
        deadline: tokio::time::Instant,
    ) -> Result<Bytes, Error>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = tokio::time::Instant::now();
        let until = deadline.min(started + self.limits.body_read_timeout);
        match tokio::time::timeout_at(until, Limited::new(body, limit).collect()).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(
                Error::RequestTooLarge(format!("the request is larger than {limit} bytes")),
            ),
            Ok(Err(_)) => Err(Error::MalformedRequest(
                "the request body was cut short".into(),
            )),
            Err(_) => Err(Error::DeadlineExceeded(format!(
                "the request body did not arrive within {} ms",
                (until - started).as_millis()
            ))),
        }
    }

    /// Step 3: a permit for a call, or RATE_LIMITED at once (the call is
    /// recorded as shed on `measure`).
    pub(crate) fn permit(&self, measure: &mut Measure) -> Result<OwnedSemaphorePermit, Error> {
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            self.shed_log.shed(self.limits.max_in_flight);
            measure.shed()
        })
    }
}

/// Counts shed calls and logs them as one summary at most once a second:
/// under a flood, a line a call would itself be the outage.
#[derive(Debug)]
struct ShedLog {
    /// Calls shed since the last summary.
    shed: AtomicU64,
    /// When the last summary was logged, in ms since `epoch`.
    logged_at: AtomicU64,
    /// Where `logged_at` counts from.
    epoch: Instant,
}

/// How often, at most, shedding is logged.
const SHED_LOG_EVERY: Duration = Duration::from_secs(1);

impl Default for ShedLog {
    fn default() -> Self {
        ShedLog {
            shed: AtomicU64::new(0),
            logged_at: AtomicU64::new(0),
            epoch: Instant::now() - SHED_LOG_EVERY,
        }
    }
}

impl ShedLog {
    /// Counts one shed call, and logs the summary when it is due.
    fn shed(&self, max_in_flight: usize) {
        self.shed.fetch_add(1, Ordering::Relaxed);
        let now = self.epoch.elapsed().as_millis() as u64;
        let last = self.logged_at.load(Ordering::Relaxed);
        let every = SHED_LOG_EVERY.as_millis() as u64;
        if now.saturating_sub(last) >= every
            && self
                .logged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let shed = self.shed.swap(0, Ordering::Relaxed);
            tracing::warn!(
                shed,
                max_in_flight,
                "overloaded: calls shed with RATE_LIMITED since the last summary"
            );
        }
    }
}

/// Wraps the gRPC routes: see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct RpcLayer {
    admission: Arc<Admission>,
}

impl RpcLayer {
    /// A layer admitting calls with `admission`.
    pub(crate) fn new(admission: Arc<Admission>) -> Self {
        RpcLayer { admission }
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService {
            inner,
            admission: self.admission.clone(),
        }
    }
}

/// The service [`RpcLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct RpcService<S> {
    inner: S,
    admission: Arc<Admission>,
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

/// The headers the layer reads on every call, named once: a look-up by a
/// `HeaderName` skips parsing and lower-casing the name that a look-up by
/// `&str` does each time.
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_STATUS_DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");
const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// The gRPC status code of a response: in the headers for an error (a
/// trailers-only response), else in trailers, which means OK here.
fn status_code<B>(response: &http::Response<B>) -> i32 {
    response
        .headers()
        .get(GRPC_STATUS)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// A trailers-only gRPC answer with `error`'s status and ErrorInfo.
fn answer(error: Error) -> http::Response<tonic::body::Body> {
    crate::api::refused(error).into_http()
}

/// `response`, with an ErrorInfo added to an error status that lacks one
/// (tonic's own answers, such as an unknown method). An answer without a
/// status in its headers is not trailers-only: its status, OK, follows in
/// trailers.
fn with_details(response: http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body> {
    let headers = response.headers();
    if !headers.contains_key(GRPC_STATUS) || headers.contains_key(GRPC_STATUS_DETAILS) {
        return response;
    }
    match tonic::Status::from_header_map(headers) {
        Some(status) if status.code() != tonic::Code::Ok => with_error_info(status).into_http(),
        _ => response,
    }
}

/// The size of a gRPC message frame's header: a compression flag and a
/// four-byte length.
const FRAME_HEADER: usize = 5;

/// Checks that a unary or server-streaming request's body is exactly one
/// uncompressed gRPC message of at most `max` bytes, so that the codec only
/// ever sees a whole message (tonic would answer INTERNAL otherwise).
fn one_message(body: &[u8], max: usize) -> Result<(), Error> {
    let Some((header, message)) = body.split_first_chunk::<FRAME_HEADER>() else {
        return Err(Error::MalformedRequest(
            "the request body holds no gRPC message".into(),
        ));
    };
    match header[0] {
        0 => {}
        1 => {
            return Err(Error::MalformedRequest(
                "compressed messages are not accepted".into(),
            ));
        }
        _ => {
            return Err(Error::MalformedRequest(
                "the request body is not a gRPC message frame".into(),
            ));
        }
    }
    let declared = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if declared > max {
        return Err(Error::RequestTooLarge(format!(
            "the message is larger than {max} bytes"
        )));
    }
    if declared != message.len() {
        return Err(Error::MalformedRequest(
            "the request body is not exactly one gRPC message".into(),
        ));
    }
    Ok(())
}

/// The client's deadline from a `grpc-timeout` header (an integer of at
/// most 8 digits and a unit: H, M, S, m, u or n); `None` when absent or
/// malformed, which the gRPC spec treats as no deadline.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

impl<S> Service<http::Request<tonic::body::Body>> for RpcService<S>
where
    S: Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", path));
        let span = rpc_span("grpc", service, method, request.headers());
        let essential =
            service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.");
        // Probes and reflection are measured but not access-logged.
        let mut measure = if essential {
            Measure::start(span.clone(), method, None)
        } else {
            self.admission
                .measure(span.clone(), "grpc", service, method)
        };

        // The clone that was made ready is the one to call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let admission = self.admission.clone();
        Box::pin(
            async move {
                let response = if essential {
                    inner.call(request).await?
                } else {
                    let admitted = match admit(&admission, request, &mut measure).await {
                        Ok(admitted) => admitted,
                        Err(refusal) => return Ok(refusal),
                    };
                    let call = inner.call(admitted.request);
                    let response = match tokio::time::timeout_at(admitted.deadline, call).await {
                        Ok(response) => response?,
                        Err(_) => answer(Error::DeadlineExceeded(format!(
                            "no answer within {} ms",
                            admitted.budget.as_millis()
                        ))),
                    };
                    drop(admitted.permit);
                    response
                };
                let response = with_details(response);
                let code = status_code(&response);
                let reason = (code != 0)
                    .then(|| tonic::Status::from_header_map(response.headers()))
                    .flatten()
                    .and_then(|status| reason_of(&status));
                measure.finish(code, reason.as_deref());
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// A call that passed admission.
struct Admitted {
    /// The request, its body read and its caller in its extensions.
    request: http::Request<tonic::body::Body>,
    /// When it must have answered.
    deadline: tokio::time::Instant,
    /// The time it was given: `request_timeout` or the client's shorter one.
    budget: Duration,
    /// Its place among the calls in flight, held until it answers (a
    /// stream, WatchCounters, until its first answer: streams are bounded
    /// by the connection limits, not by the permits).
    permit: OwnedSemaphorePermit,
}

/// Steps 1 to 3 of the module docs: the admitted call, or the answer that
/// refuses it.
async fn admit(
    admission: &Admission,
    request: http::Request<tonic::body::Body>,
    measure: &mut Measure,
) -> Result<Admitted, http::Response<tonic::body::Body>> {
    let refuse = |measure: &mut Measure, error: Error| {
        measure.finish(error.code() as i32, Some(error.reason()));
        answer(error)
    };
    let limits = admission.limits;
    let budget = grpc_timeout(request.headers()).map_or(limits.request_timeout, |client| {
        client.min(limits.request_timeout)
    });
    let deadline = tokio::time::Instant::now() + budget;
    let (mut parts, body) = request.into_parts();
    let caller = match admission.authenticate(&parts.headers).await {
        Ok(caller) => caller,
        Err(error) => return Err(refuse(measure, error)),
    };
    let max = limits.max_request_bytes;
    let body = match admission
        .read_body(body, max + FRAME_HEADER, deadline)
        .await
    {
        Ok(body) => body,
        Err(error) => return Err(refuse(measure, error)),
    };
    if let Err(error) = one_message(&body, max) {
        return Err(refuse(measure, error));
    }
    let permit = match admission.permit(measure) {
        Ok(permit) => permit,
        Err(error) => return Err(answer(error)),
    };
    measure.caller(&caller);
    parts.extensions.insert(caller);
    Ok(Admitted {
        request: http::Request::from_parts(parts, tonic::body::Body::new(Full::new(body))),
        deadline,
        budget,
        permit,
    })
}

/// The span of one call, joined to the caller's trace. `system` is "grpc"
/// or "http" (the JSON transport, which names the RPC it runs).
pub(crate) fn rpc_span(
    system: &'static str,
    service: &str,
    method: &str,
    headers: &http::HeaderMap,
) -> tracing::Span {
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
    // A span the log filter turns off records nothing, so it has no trace
    // to join: the caller's `traceparent` is read only for a span that is on.
    if !span.is_disabled() {
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(headers))
        });
        let _ = span.set_parent(parent);
    }
    span
}

/// Records how one call ended: the status code on its span, its latency,
/// and its access-log line. A call dropped before it answers (a client
/// that went away) is recorded as CANCELLED when dropped, so the slowest
/// calls are not missing from the latency histogram.
pub(crate) struct Measure {
    /// The call's span.
    span: tracing::Span,
    /// The method's name, the histogram's attribute.
    method: String,
    /// When the call came in.
    started: Instant,
    /// Whether its end is recorded (once).
    done: bool,
    /// Its access-log line; `None` when the call is not logged.
    access: Option<AccessLine>,
}

impl Measure {
    /// Starts the clock of a call, which writes `access` when it ends.
    fn start(span: tracing::Span, method: &str, access: Option<AccessLine>) -> Measure {
        Measure {
            span,
            method: method.to_owned(),
            started: Instant::now(),
            done: false,
            access,
        }
    }

    /// Notes who calls, for the access line.
    pub(crate) fn caller(&mut self, caller: &Caller) {
        if let Some(access) = &mut self.access {
            access.caller(caller);
        }
    }

    /// Records a call shed for want of a permit, and the error to answer:
    /// a shed call is a span and a measurement like any other (logged only
    /// in the shedding summary).
    fn shed(&mut self) -> Error {
        let error = Error::RateLimited;
        self.span.record("outcome", "error");
        self.span.record("reason", error.reason());
        // Shedding is logged as its summary, never a line a call.
        self.access = None;
        self.finish(error.code() as i32, Some(error.reason()));
        error
    }

    /// Records the status code the call ended with, and the ErrorInfo
    /// reason of an error (once: a later call is ignored).
    pub(crate) fn finish(&mut self, code: i32, reason: Option<&str>) {
        if self.done {
            return;
        }
        self.done = true;
        let elapsed = self.started.elapsed();
        // Needed no more: the call ends once.
        let method = std::mem::take(&mut self.method);
        self.span.record("rpc.grpc.status_code", code);
        metrics()
            .rpc_duration
            .record(elapsed.as_secs_f64(), &rpc_attributes(method, code));
        if let Some(access) = &self.access {
            access.write(code, reason, elapsed);
        }
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        if !self.done {
            self.span.record("outcome", "error");
            let _entered = self.span.clone().entered();
            self.finish(tonic::Code::Cancelled as i32, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flag: u8, declared: u32, message: &[u8]) -> Vec<u8> {
        let mut body = vec![flag];
        body.extend_from_slice(&declared.to_be_bytes());
        body.extend_from_slice(message);
        body
    }

    #[test]
    fn a_body_must_be_exactly_one_uncompressed_message() {
        assert_eq!(one_message(&frame(0, 3, b"abc"), 10), Ok(()));
        assert_eq!(one_message(&frame(0, 0, b""), 10), Ok(()));
        for (body, reason) in [
            (Vec::new(), "MALFORMED_REQUEST"),
            (vec![0, 0, 0], "MALFORMED_REQUEST"),
            (frame(1, 3, b"abc"), "MALFORMED_REQUEST"),
            (frame(123, 3, b"abc"), "MALFORMED_REQUEST"),
            (frame(0, 4, b"abc"), "MALFORMED_REQUEST"),
            (frame(0, 2, b"abc"), "MALFORMED_REQUEST"),
            (frame(0, 11, &[0; 11]), "REQUEST_TOO_LARGE"),
        ] {
            let error = one_message(&body, 10).unwrap_err();
            assert_eq!(error.reason(), reason, "{body:?}");
        }
    }

    /// Counts the events logged while it is the subscriber.
    #[derive(Clone, Default)]
    struct Events(Arc<AtomicU64>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
        fn on_event(
            &self,
            _event: &tracing::Event<'_>,
            _context: tracing_subscriber::layer::Context<'_, S>,
        ) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_flood_of_shed_calls_logs_one_summary_not_a_line_a_call() {
        use tracing_subscriber::layer::SubscriberExt;
        let events = Events::default();
        let subscriber = tracing_subscriber::registry().with(events.clone());
        let log = ShedLog::default();

        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..10_000 {
                log.shed(8);
            }
        });

        // One summary now; the next is due a second later, whatever comes.
        assert_eq!(events.0.load(Ordering::Relaxed), 1);
        assert_eq!(
            log.shed.load(Ordering::Relaxed),
            9_999,
            "counted for the next"
        );
    }

    #[test]
    fn grpc_timeouts_parse_as_the_spec_writes_them() {
        let with = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-timeout", value.parse().unwrap());
            grpc_timeout(&headers)
        };
        assert_eq!(with("300m"), Some(Duration::from_millis(300)));
        assert_eq!(with("2S"), Some(Duration::from_secs(2)));
        assert_eq!(with("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(with("5u"), Some(Duration::from_micros(5)));
        for bad in ["", "m", "123456789m", "10x", "-1S", "1.5S"] {
            assert_eq!(with(bad), None, "{bad}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}
