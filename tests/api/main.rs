//! Black-box tests: a real server on an ephemeral port, driven over gRPC with
//! the generated clients, grouped by RPC; each test is one behaviour. The API
//! tests and the store conformance suite run on every store (`memory::`,
//! `redis::` and `cluster::` in the test names: the memory store, one
//! redis-server, a Redis Cluster of three primaries and three replicas);
//! `redis_store` holds what only Redis has, `cluster` what only a cluster has.
//! `support` is the harness: one `TestApp` builder for every server a test
//! starts, one `Client` for the in-process server and the built binary.

mod access_log;
mod admin;
mod api_keys;
mod auth;
mod bench;
mod binary;
mod cli;
mod cluster;
mod commission_review;
mod confirm_sale;
pub(crate) mod earnings;
mod earnings_cli;
mod events;
mod fold;
mod fraud;
mod fuzz;
mod get_counters;
mod grpc_web;
mod hostile;
mod hot_merchant;
mod http_json;
mod issue_token;
mod key_rotation;
mod list_top;
mod listing;
mod logs;
mod overload;
mod privacy;
mod rate_limit;
mod readme;
mod redis_store;
mod reverse_sale;
mod sale_window;
mod server;
mod shutdown;
mod store_conformance;
mod support;
mod telemetry;
mod watch_counters;
