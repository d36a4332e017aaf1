//! cartclick: tap-to-sale attribution for shoppable short videos.
//!
//! A feed service calls `IssueToken` when a viewer taps a cart; the merchant's
//! shop calls `ConfirmSale` with the token; dashboards read the counters.
//! The modules, each owning one concern:
//!
//! - [`proto`]: the generated contract (`proto/cartclick/v1`).
//! - [`config`]: file + env + flags into one validated [`config::Config`].
//! - [`token`]: the token format and key ring; pure sign and verify.
//! - [`policy`]: the platform's rules (review, categories, age, landing
//!   domains, ids and money); pure.
//! - [`privacy`]: keyed hashing of viewer ids.
//! - [`model`]: the domain's plain types.
//! - [`domain`]: the operations (a tap, a sale, a counter read, admin writes).
//! - [`store`]: the store traits, one per concern ([`store::Store`] is all
//!   of them), what their writes report, and their implementations.
//! - [`registry`]: a short in-process cache of campaigns and merchants.
//! - [`reconcile`]: recounting a merchant's day from raw records.
//! - [`auth`]: API keys and roles.
//! - [`api`]: the adapters, one file per gRPC service, and [`api::http`],
//!   the HTTP/JSON transport that runs them.
//! - [`error`]: the one error enum and its mapping to `tonic::Status`.
//! - [`startup`]: building and running the server, graceful shutdown.
//! - [`clock`]: where "now" comes from.
//! - [`telemetry`]: logs, OpenTelemetry traces and metrics.
//! - [`rpc_layer`]: the span, latency metric and admission of every RPC
//!   (key, body, permit, deadline), shared by both transports.
//! - [`serve`]: the accept loop and connection limits of both ports.
//! - [`codec`]: prost's codec, with undecodable messages as MALFORMED_REQUEST.
//! - [`cli`]: the operator and client commands of the binary.
//! - [`loadgen`]: the load generator behind `cartclick bench`.
//!
//! Items are `pub(crate)` by default: only what the binary, `tests/` and
//! `benches/` name is `pub` (with the types those items' signatures carry),
//! and `unreachable_pub` warns on a `pub` nothing outside can reach.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub(crate) mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub(crate) mod codec;
pub mod config;
pub mod domain;
pub mod error;
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
