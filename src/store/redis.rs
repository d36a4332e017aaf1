//! The Redis store (placeholder while it is written).

use std::time::Duration;

use crate::model::Retention;

/// Settings of a Redis store.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Longest any Redis call may take.
    pub timeout: Duration,
    /// Counter and record retention.
    pub retention: Retention,
}

/// The production store.
#[derive(Debug)]
pub struct RedisStore;

/// Why a Redis store would not open.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub String);

impl RedisStore {
    /// Connects, checks the server is safe to count on, loads the scripts.
    pub async fn open(_url: &str, _options: RedisOptions) -> Result<RedisStore, OpenError> {
        Err(OpenError("not built yet".into()))
    }
}
