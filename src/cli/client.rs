//! What every gRPC client command shares: where it connects and with which
//! key, the key on each request, and a failed call said in one line.

use std::time::Duration;

use chrono::DateTime;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::proto;

/// Where a client command connects, and with which key.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClientArgs {
    /// The server's address.
    #[arg(
        long,
        env = "CARTCLICK_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub(crate) server: String,
    /// The API key secret, sent as `authorization: Bearer <secret>`.
    #[arg(long, env = "CARTCLICK_API_KEY", hide_env_values = true)]
    pub(crate) api_key: String,
}

/// Connects to the server named by `client`.
pub(super) async fn channel(client: &ClientArgs) -> Result<Channel, String> {
    Channel::from_shared(client.server.clone())
        .map_err(|e| format!("--server {:?}: {e}", client.server))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", client.server))
}

/// A request with the client's key attached.
pub(super) fn authorized<T>(client: &ClientArgs, message: T) -> Result<tonic::Request<T>, String> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {}", client.api_key)
        .parse()
        .map_err(|_| "--api-key: not a valid header value".to_owned())?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// A status as one line: code, contract reason, field, message.
pub(super) fn describe(status: &tonic::Status) -> String {
    match status.get_details_error_info() {
        Some(info) => match info.metadata.get("field") {
            Some(field) => format!(
                "{:?} {} (field {field}): {}",
                status.code(),
                info.reason,
                status.message()
            ),
            None => format!("{:?} {}: {}", status.code(), info.reason, status.message()),
        },
        None => format!("{:?}: {}", status.code(), status.message()),
    }
}

/// A timestamp as RFC 3339, or nothing when absent or out of range.
pub(super) fn time_text(at: Option<prost_types::Timestamp>) -> String {
    at.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map_or_else(String::new, |t| t.to_rfc3339())
}

/// Fraud signals as their names without the enum's prefix
/// (`SALE_TOO_FAST`), comma separated; `none` for none.
pub(super) fn signals_text(signals: &[i32]) -> String {
    if signals.is_empty() {
        return "none".into();
    }
    signals
        .iter()
        .map(|s| {
            proto::FraudSignal::try_from(*s).map_or_else(
                |_| s.to_string(),
                |s| {
                    s.as_str_name()
                        .trim_start_matches("FRAUD_SIGNAL_")
                        .to_owned()
                },
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The message a call answered, or its status said in one line.
pub(super) fn answer<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Result<T, String> {
    result
        .map(tonic::Response::into_inner)
        .map_err(|s| describe(&s))
}
