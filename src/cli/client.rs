//! What every gRPC client command shares: where it connects, with which
//! key, how it prints (`--output`), and a failed call said in one line
//! (`invalid argument: --from: the range spans 900 buckets, at most 744 a
//! call (INVALID_FIELD)`), naming the flag the user typed rather than the
//! proto field, and saying plainly when the server cannot be reached or
//! does not speak gRPC.

use std::time::Duration;

use chrono::DateTime;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::output::Format;
use crate::proto;

/// How long a call may take, but for a stream (`watch`).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a client command connects, with which key, and how it prints.
/// Global, so each is taken anywhere after the command's name
/// (`admin key create --api-key …` as well as `admin --api-key … key
/// create`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClientArgs {
    /// The server's gRPC address; `http://` is assumed without a scheme.
    #[arg(
        long,
        global = true,
        env = "CARTCLICK_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// The API key secret, sent as `authorization: Bearer <secret>`.
    #[arg(long, global = true, env = "CARTCLICK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print a table, or the answer as JSON in the protobuf mapping (one
    /// message a line).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub(super) output: Format,
}

/// How a command's flags name the fields of its request: (proto field as
/// the server names it in `ErrorInfo`, flag). A field not listed is said as
/// the server names it.
pub(super) type Flags<'a> = &'a [(&'a str, &'a str)];

impl ClientArgs {
    /// The server's address with its scheme: `http://` when none is given.
    pub(super) fn server(&self) -> String {
        if self.server.contains("://") {
            self.server.clone()
        } else {
            format!("http://{}", self.server)
        }
    }

    /// Connects to the server; each call may take [`CALL_TIMEOUT`].
    pub(super) async fn channel(&self) -> Result<Channel, String> {
        self.connect(Some(CALL_TIMEOUT)).await
    }

    /// Connects to the server for a stream, which runs as long as it runs.
    pub(super) async fn stream_channel(&self) -> Result<Channel, String> {
        self.connect(None).await
    }

    /// Connects, and says why not in one line
    /// (`cannot connect to http://127.0.0.1:50051: connection refused`).
    async fn connect(&self, timeout: Option<Duration>) -> Result<Channel, String> {
        let server = self.server();
        let mut endpoint = Channel::from_shared(server.clone())
            .map_err(|e| format!("--server {server}: not an address: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(timeout) = timeout {
            endpoint = endpoint.timeout(timeout);
        }
        endpoint
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {server}: {}", cause(&e)))
    }

    /// A request with the client's key attached.
    pub(super) fn authorized<T>(&self, message: T) -> Result<tonic::Request<T>, String> {
        let key = self
            .api_key
            .as_deref()
            .ok_or("no API key: give --api-key or set CARTCLICK_API_KEY")?;
        let mut request = tonic::Request::new(message);
        let value: MetadataValue<_> = format!("Bearer {key}")
            .parse()
            .map_err(|_| "--api-key: not a valid header value".to_owned())?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    /// The message a call answered, or its status said in one line with
    /// the fields named by `flags`.
    pub(super) fn answer<T>(
        &self,
        result: Result<tonic::Response<T>, tonic::Status>,
        flags: Flags,
    ) -> Result<T, String> {
        result
            .map(tonic::Response::into_inner)
            .map_err(|status| self.describe(&status, flags))
    }

    /// A failed call in one line: the code in words, the field (as its
    /// flag) once, the server's message, the contract's reason once. A
    /// status without the `ErrorInfo` every cartclick status carries, that
    /// says the answer was no gRPC, came from something else listening
    /// there: most likely the HTTP port.
    pub(super) fn describe(&self, status: &tonic::Status, flags: Flags) -> String {
        let code = code_words(status.code());
        let message = status.message();
        let Some(info) = status.get_details_error_info() else {
            if not_grpc(status) {
                return format!(
                    "the server at {} did not answer gRPC (is this the HTTP port? \
                     the gRPC port is the `addr` that `cartclick serve` logs, \
                     by default 127.0.0.1:50051)",
                    self.server()
                );
            }
            return format!("{code}: {}", in_flags(message, flags));
        };
        match info.metadata.get("field") {
            Some(field) => {
                let said = message
                    .strip_prefix(&format!("invalid field {field}: "))
                    .unwrap_or(message);
                format!(
                    "{code}: {}: {} ({})",
                    flag_of(field, flags),
                    in_flags(said, flags),
                    info.reason
                )
            }
            None => format!("{code}: {} ({})", in_flags(message, flags), info.reason),
        }
    }
}

/// Whether a status says the answer was not gRPC at all: tonic reads the
/// first byte of a JSON body (`{`, 123) as a compression flag, and an
/// HTTP error status as a gRPC one.
fn not_grpc(status: &tonic::Status) -> bool {
    let message = status.message();
    message.contains("invalid compression flag")
        || message.contains("http2 header with status")
        || status
            .metadata()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.starts_with("application/grpc"))
}

/// Why a connection failed, in a few words: the I/O error's kind
/// (`connection refused`) when there is one, else the innermost cause
/// (tonic's own `transport error` says nothing).
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        if let Some(io) = source.downcast_ref::<std::io::Error>() {
            return io.kind().to_string();
        }
        innermost = source;
    }
    innermost.to_string()
}

/// A status code in lower-case words: `InvalidArgument` is
/// `invalid argument`.
fn code_words(code: tonic::Code) -> String {
    let mut words = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// The flag of a field, or the field as named when no flag sets it. An
/// index (`campaign.product_ids[2]`) is kept after the flag.
fn flag_of(field: &str, flags: Flags) -> String {
    let (name, index) = match field.find('[') {
        Some(at) => field.split_at(at),
        None => (field, ""),
    };
    flags
        .iter()
        .find(|(proto, _)| *proto == name)
        .map_or_else(|| field.to_owned(), |(_, flag)| format!("{flag}{index}"))
}

/// `message` with each proto field it names said as its flag
/// (`amount_minor must not be negative` is `--amount-minor must not be
/// negative`).
fn in_flags(message: &str, flags: Flags) -> String {
    let is_name =
        |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '[' || c == ']';
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        if end == 0 {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = &rest[..end];
        let name = word.trim_end_matches('.');
        out.push_str(&flag_of(name, flags));
        out.push_str(&word[name.len()..]);
        rest = &rest[end..];
    }
    out
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn client() -> ClientArgs {
        ClientArgs {
            server: "127.0.0.1:50051".into(),
            api_key: None,
            output: Format::Table,
        }
    }

    fn status(
        code: tonic::Code,
        message: &str,
        reason: &str,
        field: Option<&str>,
    ) -> tonic::Status {
        let metadata: HashMap<String, String> = field
            .map(|f| ("field".to_owned(), f.to_owned()))
            .into_iter()
            .collect();
        tonic::Status::with_error_details(
            code,
            message,
            tonic_types::ErrorDetails::with_error_info(reason, "cartclick", metadata),
        )
    }

    #[test]
    fn an_invalid_field_is_said_once_with_its_flag() {
        let status = status(
            tonic::Code::InvalidArgument,
            "invalid field key_id: no such key",
            "INVALID_FIELD",
            Some("key_id"),
        );
        assert_eq!(
            client().describe(&status, &[("key_id", "--id")]),
            "invalid argument: --id: no such key (INVALID_FIELD)"
        );
        assert_eq!(
            client().describe(&status, &[]),
            "invalid argument: key_id: no such key (INVALID_FIELD)"
        );
    }

    #[test]
    fn fields_the_message_names_are_said_as_flags_too() {
        let status = status(
            tonic::Code::InvalidArgument,
            "invalid field end_time: must be after start_time",
            "INVALID_FIELD",
            Some("end_time"),
        );
        let flags = [("start_time", "--from"), ("end_time", "--to")];
        assert_eq!(
            client().describe(&status, &flags),
            "invalid argument: --to: must be after --from (INVALID_FIELD)"
        );
        let amount = super::in_flags(
            "amount_minor must not be negative.",
            &[("amount_minor", "--amount-minor")],
        );
        assert_eq!(amount, "--amount-minor must not be negative.");
    }

    #[test]
    fn a_reason_without_a_field_follows_the_message() {
        let status = status(
            tonic::Code::NotFound,
            "merchant not found",
            "MERCHANT_NOT_FOUND",
            None,
        );
        assert_eq!(
            client().describe(&status, &[]),
            "not found: merchant not found (MERCHANT_NOT_FOUND)"
        );
    }

    #[test]
    fn an_indexed_field_keeps_its_index_after_the_flag() {
        assert_eq!(
            flag_of(
                "campaign.product_ids[2]",
                &[("campaign.product_ids", "--product")]
            ),
            "--product[2]"
        );
    }

    #[test]
    fn an_answer_that_is_no_grpc_is_said_to_be_so() {
        let status = tonic::Status::internal(
            "protocol error: received message with invalid compression flag: 123 (valid flags are 0 and 1) while receiving response with status: 404 Not Found",
        );
        let said = client().describe(&status, &[]);
        assert!(
            said.starts_with("the server at http://127.0.0.1:50051 did not answer gRPC"),
            "{said}"
        );
        assert!(said.contains("HTTP port"), "{said}");
    }

    #[test]
    fn a_server_without_a_scheme_is_http() {
        assert_eq!(client().server(), "http://127.0.0.1:50051");
        let tls = ClientArgs {
            server: "https://cartclick.example".into(),
            ..client()
        };
        assert_eq!(tls.server(), "https://cartclick.example");
    }

    #[test]
    fn codes_are_said_in_words() {
        assert_eq!(code_words(tonic::Code::InvalidArgument), "invalid argument");
        assert_eq!(code_words(tonic::Code::NotFound), "not found");
        assert_eq!(code_words(tonic::Code::Unauthenticated), "unauthenticated");
    }
}
