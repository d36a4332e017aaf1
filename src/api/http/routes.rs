//! The routes of the HTTP port, as an `axum::Router`: the path and method
//! of each RPC served as JSON, of WatchCounters as Server-Sent Events
//! ([`sse`](super::sse)), of the dashboard page and its assets
//! ([`page`](super::page), no key), of the OpenAPI document that describes
//! them, and of the probes `/healthz` and `/readyz` (no key: a load
//! balancer calls them; small plain-text bodies). Everything else is answered with ROUTE_NOT_FOUND: an unknown path
//! 404, a known path asked with another method 405, its `Allow` naming the
//! methods the path takes (one, or two where a list and its create share a
//! path, as `GET` and `POST /v1/payouts` do).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode, Uri};

use super::HttpApi;
use super::admission::handle;
use super::error::error_response;
use super::page::{ASSETS_PATH, PAGE_PATH, asset, page};
use super::sse::{WATCH_PATH, watch_counters};
use crate::api::refused;
use crate::error::Error;

/// The OpenAPI document of this API, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../openapi/cartclick.yaml");

/// Where the OpenAPI document is served.
const OPENAPI_PATH: &str = "/openapi.yaml";

/// The liveness probe: 200 while the process serves.
const HEALTHZ_PATH: &str = "/healthz";

/// The readiness probe: 200 while the store answers, else 503.
const READYZ_PATH: &str = "/readyz";

/// One route: its HTTP method and path, and the RPC it runs.
pub(super) struct Route {
    /// The method the route takes (another route may take another method on
    /// the same path).
    pub(super) method: Method,
    /// Its path, as the OpenAPI document names it.
    pub(super) path: &'static str,
    /// The full name of the gRPC service of its RPC.
    pub(super) service: &'static str,
    /// The RPC it runs.
    pub(super) rpc: Rpc,
}

/// The RPCs served over HTTP.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rpc {
    ConfirmSale,
    ReverseSale,
    GetCounters,
    ListTop,
    GetEarnings,
    ListCommissions,
    CreatePayout,
    ListPayouts,
    ReviewCommission,
    ListMerchants,
    ListCampaigns,
    ListApiKeys,
}

impl Rpc {
    /// The method's name in the proto.
    pub(super) fn name(self) -> &'static str {
        match self {
            Rpc::ConfirmSale => "ConfirmSale",
            Rpc::ReverseSale => "ReverseSale",
            Rpc::GetCounters => "GetCounters",
            Rpc::ListTop => "ListTop",
            Rpc::GetEarnings => "GetEarnings",
            Rpc::ListCommissions => "ListCommissions",
            Rpc::CreatePayout => "CreatePayout",
            Rpc::ListPayouts => "ListPayouts",
            Rpc::ReviewCommission => "ReviewCommission",
            Rpc::ListMerchants => "ListMerchants",
            Rpc::ListCampaigns => "ListCampaigns",
            Rpc::ListApiKeys => "ListApiKeys",
        }
    }
}

/// The routes, in the order of the module docs.
pub(super) const ROUTES: [Route; 12] = [
    Route {
        method: Method::POST,
        path: "/v1/sales:confirm",
        service: "cartclick.v1.SaleService",
        rpc: Rpc::ConfirmSale,
    },
    Route {
        method: Method::POST,
        path: "/v1/sales:reverse",
        service: "cartclick.v1.SaleService",
        rpc: Rpc::ReverseSale,
    },
    Route {
        method: Method::GET,
        path: "/v1/counters",
        service: "cartclick.v1.CounterService",
        rpc: Rpc::GetCounters,
    },
    Route {
        method: Method::GET,
        path: "/v1/top",
        service: "cartclick.v1.CounterService",
        rpc: Rpc::ListTop,
    },
    Route {
        method: Method::GET,
        path: "/v1/earnings",
        service: "cartclick.v1.EarningsService",
        rpc: Rpc::GetEarnings,
    },
    Route {
        method: Method::GET,
        path: "/v1/commissions",
        service: "cartclick.v1.EarningsService",
        rpc: Rpc::ListCommissions,
    },
    Route {
        method: Method::POST,
        path: "/v1/payouts",
        service: "cartclick.v1.EarningsService",
        rpc: Rpc::CreatePayout,
    },
    Route {
        method: Method::GET,
        path: "/v1/payouts",
        service: "cartclick.v1.EarningsService",
        rpc: Rpc::ListPayouts,
    },
    Route {
        method: Method::POST,
        path: "/v1/commissions:review",
        service: "cartclick.v1.EarningsService",
        rpc: Rpc::ReviewCommission,
    },
    Route {
        method: Method::GET,
        path: "/v1/merchants",
        service: "cartclick.v1.AdminService",
        rpc: Rpc::ListMerchants,
    },
    Route {
        method: Method::GET,
        path: "/v1/campaigns",
        service: "cartclick.v1.AdminService",
        rpc: Rpc::ListCampaigns,
    },
    Route {
        method: Method::GET,
        path: "/v1/apiKeys",
        service: "cartclick.v1.AdminService",
        rpc: Rpc::ListApiKeys,
    },
];

/// The router of the HTTP port: each path's methods to their handlers,
/// which admit and run the route's RPC ([`handle`]), and the OpenAPI
/// document. Routes that share a path share one method router, so a method
/// none of them takes is refused naming them all.
pub(super) fn router(api: Arc<HttpApi>) -> axum::Router {
    let mut router = axum::Router::new()
        .route(OPENAPI_PATH, only(vec![(Method::GET, openapi_document)]))
        .route(HEALTHZ_PATH, only(vec![(Method::GET, healthz)]))
        .route(READYZ_PATH, only(vec![(Method::GET, readyz)]))
        .route(WATCH_PATH, only(vec![(Method::GET, watch_counters)]))
        .route(PAGE_PATH, only(vec![(Method::GET, page)]))
        .route(ASSETS_PATH, only(vec![(Method::GET, asset)]));
    let mut paths: Vec<&'static str> = Vec::with_capacity(ROUTES.len());
    for route in &ROUTES {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let handlers = ROUTES
            .iter()
            .enumerate()
            .filter(|(_, route)| route.path == path)
            .map(|(index, route)| {
                let rpc = move |State(api): State<Arc<HttpApi>>, request: Request| {
                    handle(api, index, request)
                };
                (route.method.clone(), rpc)
            })
            .collect();
        router = router.route(path, only(handlers));
    }
    router.fallback(no_route).with_state(api)
}

/// A path that takes only the methods of `handlers`: axum's method routing
/// sends any other method to [`wrong_method`]. That includes HEAD on a GET
/// path, which axum would otherwise answer with the GET handler: the API
/// takes only the methods its OpenAPI document names, and `Allow` says so.
fn only<H, T>(handlers: Vec<(Method, H)>) -> MethodRouter<Arc<HttpApi>>
where
    H: Handler<T, Arc<HttpApi>>,
    T: 'static,
{
    let mut allowed: Vec<Method> = handlers.iter().map(|(method, _)| method.clone()).collect();
    allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let refuse =
        move |asked: Method, uri: Uri| async move { wrong_method(uri.path(), &allowed, &asked) };
    let mut router = MethodRouter::new();
    for (method, handler) in handlers {
        let filter =
            MethodFilter::try_from(method).expect("every route's method is one axum routes by");
        router = router.on(filter, handler);
    }
    router.head(refuse.clone()).fallback(refuse)
}

/// Serves the OpenAPI document.
async fn openapi_document() -> Response {
    ([(CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

/// Liveness: the process serves, whatever the store does, so a Redis
/// outage takes replicas out of rotation without restarting them.
async fn healthz() -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n").into_response()
}

/// Readiness: 200 while the store answers and takes writes (the condition
/// of gRPC health SERVING), 503 while it does not or the server is
/// shutting down.
async fn readyz(State(api): State<Arc<HttpApi>>) -> Response {
    let plain = [(CONTENT_TYPE, "text/plain; charset=utf-8")];
    if api.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, plain, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, plain, "not ready\n").into_response()
    }
}

/// A path this API does not serve: 404.
async fn no_route(uri: Uri) -> Response {
    let missing = Error::RouteNotFound(format!("no route {}", uri.path()));
    error_response(&refused(missing), None)
}

/// A known path asked with another method than its own: 405, and `Allow`
/// names the methods it takes, comma separated (set here, so axum adds none
/// of its own).
fn wrong_method(path: &str, allowed: &[Method], asked: &Method) -> Response {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let wrong = Error::RouteNotFound(format!("{path} takes {allow}, not {asked}"));
    let mut response = error_response(&refused(wrong), Some(StatusCode::METHOD_NOT_ALLOWED));
    if let Ok(allow) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The (method, path) operations under `paths:` of the OpenAPI
    /// document: each path key (`  /v1/top:`) and the method keys nested in
    /// it (`    get:`). Enough of YAML for the layout the document keeps;
    /// schemathesis (openapi/schemathesis.sh) reads it in full.
    fn documented_operations() -> Vec<(String, String)> {
        let mut operations = Vec::new();
        let mut in_paths = false;
        let mut path = None;
        for line in OPENAPI.lines() {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(key) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = Some(format!("/{key}"));
            } else if let (Some(path), Some(method)) = (
                &path,
                line.strip_prefix("    ")
                    .and_then(|l| l.strip_suffix(':'))
                    .filter(|key| !key.starts_with(' ')),
            ) {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
        operations
    }

    #[test]
    fn the_openapi_document_has_exactly_the_routes_served() {
        assert!(OPENAPI.starts_with("openapi: 3.0.3\n"));
        let mut documented = documented_operations();
        documented.sort();
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned()))
            .chain(
                [
                    OPENAPI_PATH,
                    HEALTHZ_PATH,
                    READYZ_PATH,
                    WATCH_PATH,
                    PAGE_PATH,
                    ASSETS_PATH,
                ]
                .map(|path| ("GET".to_owned(), path.to_owned())),
            )
            .collect();
        served.sort();
        assert_eq!(documented, served);
        for route in &ROUTES {
            assert!(
                OPENAPI.contains(&format!(
                    "({}.{})",
                    route.service.rsplit('.').next().unwrap(),
                    route.rpc.name()
                )),
                "the summary of {} names its RPC",
                route.path
            );
        }
    }
}
