//! The merchant API over HTTP/JSON, on its own port, for shops and
//! dashboards that cannot speak gRPC (PHP, hosted shop platforms, plain
//! JavaScript on a server):
//!
//! | route | RPC |
//! |---|---|
//! | `POST /v1/sales:confirm` | `SaleService.ConfirmSale` |
//! | `POST /v1/sales:reverse` | `SaleService.ReverseSale` |
//! | `GET /v1/counters?dimension=…&id=…&granularity=…&startTime=…&endTime=…` | `CounterService.GetCounters` |
//! | `GET /v1/top?dimension=…&day=…&metric=…` | `CounterService.ListTop` |
//! | `GET /v1/earnings?creatorId=…&merchantId=…` | `EarningsService.GetEarnings` |
//! | `GET /v1/commissions?creatorId=…&merchantId=…&status=…&payoutId=…&pageSize=…&pageToken=…` | `EarningsService.ListCommissions` |
//! | `POST /v1/payouts` | `EarningsService.CreatePayout` |
//! | `GET /v1/payouts?merchantId=…&creatorId=…&pageSize=…&pageToken=…` | `EarningsService.ListPayouts` |
//! | `POST /v1/commissions:review` | `EarningsService.ReviewCommission` |
//! | `GET /v1/merchants?pageSize=…&pageToken=…` | `AdminService.ListMerchants` |
//! | `GET /v1/campaigns?merchantId=…&status=…&pageSize=…&pageToken=…` | `AdminService.ListCampaigns` |
//! | `GET /v1/apiKeys?role=…&merchantId=…&pageSize=…&pageToken=…` | `AdminService.ListApiKeys` |
//! | `GET /v1/counters:watch?dimension=…&id=…` | `CounterService.WatchCounters`, as Server-Sent Events ([`sse`]) |
//! | `GET /` and `GET /assets/<file>` | the dashboard page and its assets, embedded ([`page`]) |
//! | `GET /openapi.yaml` | this API's OpenAPI document |
//! | `GET /healthz` | 200 while the process serves (liveness) |
//! | `GET /readyz` | 200 while the store answers and takes writes, else 503 (readiness) |
//!
//! This is a transcoder, not a second implementation: the body (or the query)
//! is read with the protobuf JSON mapping (prost-reflect over the same
//! descriptors the gRPC server reflects) into the request message, and the
//! very gRPC adapter of the RPC is called with the HTTP headers as its
//! metadata, so keys, roles and every check are the same. Answers are
//! protobuf JSON with every field present; errors are the JSON form of
//! `google.rpc.Status` with its `ErrorInfo`, under the HTTP status the
//! standard gRPC-to-HTTP mapping gives the code. The counter routes fill in
//! what a query leaves out as the CLI does ([`defaults`]). Each call has the span,
//! latency metric, concurrency permit and time limit of a gRPC call.
//!
//! One concern a file: [`routes`] the paths and methods (an
//! `axum::Router`), [`admission`] a call's way in (key, body, permit,
//! deadline), [`call`] the transcoding glue to the adapter, [`sse`] the
//! event stream over the shared counter subscriptions (`api::watch`),
//! [`page`] the dashboard page, [`json`] the
//! protobuf JSON mapping (with [`unique_keys`] refusing a key given twice;
//! the CLI's `--output json` writes through it too), [`error`] the error
//! answers.

mod admission;
mod call;
mod defaults;
mod error;
mod json;
mod page;
mod routes;
mod sse;
mod unique_keys;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use prost_reflect::{DescriptorPool, MessageDescriptor};

pub(crate) use json::to_json;
pub use routes::OPENAPI;

use crate::api::admin::AdminApi;
use crate::api::counter::CounterApi;
use crate::api::earnings::EarningsApi;
use crate::api::sale::SaleApi;
use crate::rpc_layer::Admission;
use call::Messages;
use routes::ROUTES;

/// The HTTP/JSON API: the gRPC adapters it calls, and the admission it
/// shares with the gRPC server.
pub(crate) struct HttpApi {
    /// Runs ConfirmSale and ReverseSale.
    sales: SaleApi,
    /// Runs GetCounters and ListTop.
    counters: CounterApi,
    /// Runs GetEarnings, ListCommissions, CreatePayout, ListPayouts and
    /// ReviewCommission.
    earnings: EarningsApi,
    /// Runs the registry's listings: ListMerchants, ListCampaigns and
    /// ListApiKeys.
    admin: AdminApi,
    /// The message types of each route, in the order of [`ROUTES`].
    messages: Vec<Messages>,
    /// The message types of the SSE stream ([`sse`]).
    watch: WatchMessages,
    /// How long an SSE stream may stay quiet before a keep-alive comment.
    sse_keep_alive: Duration,
    /// The gRPC server's admission: one key check, body-read timeout and
    /// concurrency limit for both transports.
    admission: Arc<Admission>,
    /// Whether the store answers and takes writes, as gRPC health reports
    /// it: what `/readyz` answers.
    ready: Arc<AtomicBool>,
}

impl HttpApi {
    /// The API over the adapters' shared state. The descriptors come from the
    /// build's own descriptor set, so a route whose RPC they lack is a build
    /// error, caught by the first test that starts a server.
    pub(crate) fn new(
        state: crate::api::State,
        admission: Arc<Admission>,
        ready: Arc<AtomicBool>,
        sse_keep_alive: Duration,
    ) -> HttpApi {
        let pool = DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the build's descriptor set decodes");
        let messages = ROUTES
            .iter()
            .map(|route| {
                let rpc = pool
                    .get_service_by_name(route.service)
                    .and_then(|service| service.methods().find(|m| m.name() == route.rpc.name()))
                    .expect("every route names an RPC of the contract");
                Messages {
                    input: rpc.input(),
                    output: rpc.output(),
                }
            })
            .collect();
        let message = |name: &str| {
            pool.get_message_by_name(name)
                .expect("the contract has the messages of WatchCounters")
        };
        let watch = WatchMessages {
            input: message("cartclick.v1.WatchCountersRequest"),
            bucket: message("cartclick.v1.CounterBucket"),
        };
        HttpApi {
            sales: SaleApi {
                state: state.clone(),
            },
            counters: CounterApi {
                state: state.clone(),
            },
            earnings: EarningsApi {
                state: state.clone(),
            },
            admin: AdminApi { state },
            messages,
            watch,
            sse_keep_alive,
            admission,
            ready,
        }
    }

    /// The axum router of the HTTP port: see [`routes`].
    pub(crate) fn router(self) -> axum::Router {
        routes::router(Arc::new(self))
    }
}

/// The message types of the SSE stream: what its query is read into, and
/// what each event's data is written from.
struct WatchMessages {
    /// `WatchCountersRequest`.
    input: MessageDescriptor,
    /// `CounterBucket`.
    bucket: MessageDescriptor,
}
