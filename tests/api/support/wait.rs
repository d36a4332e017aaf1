//! Waiting for what a server does in the background: a condition polled
//! until it holds, a call repeated while it is safe to retry, and the bound
//! a test gives a thing the server does at once.

use std::future::Future;
use std::time::Duration;

use tonic::{Code, Status};

/// How long a test waits for what a server does at once (a held call to
/// reach its store, a refusal, a reconnect).
pub const BOUND: Duration = Duration::from_secs(10);

/// Polls `condition` every 20 ms until it holds; panics naming `what` if
/// it does not within `bound`.
pub async fn wait_for<F, Fut>(what: &str, bound: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {bound:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Repeats `call` while it answers UNAVAILABLE (safe to retry, says the
/// contract), for up to `bound`, counting the repeats in `retries`; returns
/// the first other answer.
pub async fn retry_unavailable<T, F, Fut>(
    bound: Duration,
    retries: &mut usize,
    mut call: F,
) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match call().await {
            Err(status)
                if status.code() == Code::Unavailable && tokio::time::Instant::now() < deadline =>
            {
                *retries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answer => return answer,
        }
    }
}
