//! The harness of the black-box tests: everything a test needs to start a
//! server, drive it and look at what it did, so that a test file holds only
//! behaviours. `use crate::support::*` brings it all in.
//!
//! - [`app`]: [`TestApp`], a real server in process on any [`Backend`],
//!   made by one builder (`TestApp::builder()…spawn()`), with replicas over
//!   the same store; `on_all_backends!` runs a test on every store.
//! - [`client`]: [`Client`], the generated gRPC clients over one connection
//!   with the test keys, and the calls most tests make; shared by
//!   [`TestApp`] (which derefs to it) and [`ServerProcess`].
//! - [`binary`]: [`ServerProcess`], the built `cartclick` binary as a child
//!   process (its logs, telemetry and signals), and its operator commands.
//! - [`keys`]: the merchants and campaign most tests sell for, and the
//!   per-test API keys and signing keys.
//! - [`fixtures`]: the messages and instants tests build calls from.
//! - [`store`]: the Redis store options of the tests, stores opened on a
//!   server or cluster, and [`TestStore`] for the conformance suite.
//! - [`redis_server`] and [`redis_cluster`]: a `redis-server` per test, and
//!   a Redis Cluster of three primaries and three replicas.
//! - [`gated_store`] and [`gated_app`]: a memory store that holds sales at a
//!   gate, and a server on one with a token ready to sell;
//!   [`counting_store`] a memory store that counts its counter reads.
//! - [`tcp_proxy`]: a relay that counts connections and commands and holds
//!   replies; [`raw_client`]: gRPC over bare HTTP/2 streams;
//!   [`otlp_receiver`]: an OTLP collector that keeps what it is sent.
//! - [`assert`] and [`wait`]: the contract's error checks, and waiting for
//!   what a server does in the background.

pub mod app;
pub mod assert;
pub mod binary;
pub mod client;
pub mod counting_store;
pub mod fixtures;
pub mod gated_app;
pub mod gated_store;
pub mod keys;
pub mod otlp_receiver;
pub mod raw_client;
pub mod redis_cluster;
pub mod redis_server;
pub mod store;
pub mod tcp_proxy;
pub mod wait;

pub use app::*;
pub use assert::*;
pub use binary::*;
pub use client::*;
pub use counting_store::*;
pub use fixtures::*;
pub use gated_app::*;
pub use gated_store::*;
pub use keys::*;
pub use redis_cluster::*;
pub use redis_server::*;
pub use store::*;
pub use tcp_proxy::*;
pub use wait::*;
