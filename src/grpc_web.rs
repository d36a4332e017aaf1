//! CORS for gRPC-Web calls from browser pages on the configured origins:
//! the headers a gRPC-Web client sends, and the status headers it must
//! read. No cookies: callers authenticate with a bearer key.
//!
//! Only a request that carries an `Origin` goes through CORS: a browser
//! sends one with every request CORS governs (a cross-origin call and its
//! preflight). A native gRPC client sends none, and for its calls CORS would
//! only build and send a `Vary` header (about 2% of an IssueToken's
//! instructions) that no cache of POST answers reads. The CORS rules are
//! shared, not copied: the service is cloned for every request, and a copy
//! of the rules is made only for a request that goes through CORS.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::Either;
use http::{HeaderName, HeaderValue, Request, Response, header};
use tower::{Layer, Service};
use tower_http::cors::{self, AllowOrigin, CorsLayer};

/// The CORS layer of the gRPC port, for `origins` (`*` for any).
pub(crate) fn cors(origins: &[String]) -> OriginCorsLayer {
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    let header = HeaderName::from_static;
    OriginCorsLayer(Arc::new(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([http::Method::POST])
            .allow_headers([
                header("authorization"),
                header("content-type"),
                header("x-grpc-web"),
                header("x-user-agent"),
                header("grpc-timeout"),
                header("traceparent"),
                header("tracestate"),
                header(crate::auth::ACT_AS_MERCHANT),
            ])
            .expose_headers([
                header("grpc-status"),
                header("grpc-message"),
                header("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(3600)),
    ))
}

/// Puts [`OriginCors`] around a service.
#[derive(Debug, Clone)]
pub(crate) struct OriginCorsLayer(Arc<CorsLayer>);

impl<S> Layer<S> for OriginCorsLayer {
    type Service = OriginCors<S>;

    fn layer(&self, inner: S) -> OriginCors<S> {
        OriginCors {
            cors: self.0.clone(),
            inner,
        }
    }
}

/// A service behind CORS for requests with an `Origin`, as it is for the
/// others: see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct OriginCors<S> {
    /// The CORS rules.
    cors: Arc<CorsLayer>,
    /// The service.
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OriginCors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Either<cors::ResponseFuture<S::Future>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.headers().contains_key(header::ORIGIN) {
            // The clone that was made ready is the one to call (tower's rule).
            let clone = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, clone);
            Either::Left(self.cors.layer(ready).call(request))
        } else {
            Either::Right(self.inner.call(request))
        }
    }
}
