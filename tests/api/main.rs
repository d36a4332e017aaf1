//! Black-box tests: a real server on an ephemeral port, driven over gRPC with
//! the generated clients, grouped by RPC; each test is one behaviour.

mod admin;
mod auth;
mod binary;
mod confirm_sale;
mod get_counters;
mod helpers;
mod issue_token;
mod server;
