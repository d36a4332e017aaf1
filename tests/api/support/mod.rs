//! The harness of the black-box tests.
//!
//! - [`gated_store`]: a memory store that holds sales at a gate.

pub mod gated_store;
