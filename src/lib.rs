//! cartclick: tap-to-sale attribution for shoppable short videos.
//!
//! A feed service calls `IssueToken` when a viewer taps a cart; the merchant's
//! shop calls `ConfirmSale` with the token; dashboards read the counters.
//! The modules, each owning one concern (a folder when a concern has seams
//! of its own). The public ones are what the binary, the tests and the
//! benches use; the rest are crate-private.
//!
//! Pure, no I/O:
//! - [`model`]: the domain's plain types, validated id newtypes
//!   ([`model::MerchantId`], ...) and API keys with their [`model::Grant`].
//! - [`policy`]: every platform rule, one file a seam: ids, money, domains,
//!   landing and redirect URLs, categories, campaigns and review, windows,
//!   top lists, sales sent again, commissions and payouts, fraud signals,
//!   pages, and which merchant's data a key reaches.
//! - [`token`]: the token format, click ids, the key ring, sign and verify.
//! - [`privacy`]: keyed hashing of viewer ids.
//!
//! The service:
//! - [`domain`]: the operations (a tap, a sale, a refund, a counter read,
//!   admin writes; `domain/earnings.rs` balances, listings, payouts and
//!   reviews of held commissions):
//!   decide with `policy`, persist with the store.
//! - [`store`]: narrow store traits, one per concern ([`store::Store`] is
//!   all of them), the outcomes their writes report, the memory and Redis
//!   stores, and [`forward_store!`] for wrappers.
//! - `registry`: a short in-process cache of campaigns and merchants.
//! - `reconcile`: recounting a merchant's day from raw records, and its
//!   ledgers from its commissions.
//! - [`auth`]: finding the API key behind a request; revocation.
//! - [`error`]: the one error enum and its mapping to `tonic::Status`.
//! - [`clock`]: where "now" comes from.
//!
//! The edges:
//! - [`proto`]: the generated contract (`proto/cartclick/v1`).
//! - `api`: the gRPC adapters, one file per service (decode, call the
//!   domain, map the error), page tokens (`api/pages.rs`), the counter
//!   subscriptions both transports' streams share (`api/watch.rs`), and
//!   `api/http/`, the HTTP/JSON transport with its axum router, its
//!   Server-Sent Events and the embedded dashboard page.
//! - `rpc_layer`: the span, latency metric and admission of every RPC
//!   (key, body, permit, deadline), shared by both transports.
//! - `access_log`: the one info line each RPC writes when it ends.
//! - `serve`: the accept loop and connection limits of both ports.
//! - `grpc_web`: CORS for gRPC-Web calls from browser pages, on the
//!   requests that carry an `Origin`.
//! - `codec`: prost's codec, with undecodable messages as MALFORMED_REQUEST.
//! - [`startup`]: building and running the server, graceful shutdown.
//! - [`config`]: file + env + flags into one validated [`config::Config`].
//! - [`telemetry`]: logs, OpenTelemetry traces and metrics.
//! - [`cli`]: the binary's commands, one file per group.
//! - `loadgen`: the load generator behind `cartclick bench`.
//!
//! Items are `pub(crate)` by default: only what the binary, `tests/` and
//! `benches/` name is `pub` (with the types those items' signatures carry),
//! and `unreachable_pub` warns on a `pub` nothing outside can reach.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub(crate) mod access_log;
pub(crate) mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub(crate) mod codec;
pub mod config;
pub mod domain;
pub mod error;
pub(crate) mod grpc_web;
pub(crate) mod loadgen;
pub mod model;
pub mod policy;
pub mod privacy;
pub(crate) mod reconcile;
pub(crate) mod registry;
pub(crate) mod rpc_layer;
pub(crate) mod serve;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod token;

pub use api::http::OPENAPI;
pub use reconcile::ReconcileReport;

/// The generated protobuf types, clients and servers of `cartclick.v1`.
pub mod proto {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("cartclick.v1");

    /// The encoded descriptors of the contract, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/cartclick_descriptor.bin"));
}
