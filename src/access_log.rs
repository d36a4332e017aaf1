//! The access log: one structured line per RPC at info, target
//! `cartclick::access`, message `rpc`, on both transports (gRPC and the
//! HTTP JSON routes): `transport`, `method` (`cartclick.v1.SaleService/
//! ConfirmSale`), `status` (the gRPC code's name), `code` (its number),
//! `reason` (the ErrorInfo reason of an error), `duration_ms`, `key_id`
//! (the caller's key, never its secret) and `merchant_id` (a merchant key's
//! merchant). Never a viewer id, a token or a secret: only these fields
//! are written, and none of them comes from a request's body.
//!
//! Health checks and reflection are not logged (probes every few seconds
//! would bury the calls), nor are calls shed under overload (their
//! once-a-second summary is: a line a call would itself be the outage). A
//! stream (WatchCounters) is logged when it is answered. Off with
//! `serve --no-access-log`, `CARTCLICK_ACCESS_LOG=false` or
//! `access_log = false`.

use std::time::Duration;

use tonic::Code;
use tonic_types::StatusExt;

use crate::auth::Caller;
use crate::model::{Grant, KeyId, MerchantId};

/// The target of access lines, which filters and log pipelines select by.
const TARGET: &str = "cartclick::access";

/// What one call's access line says beside its status and duration: who
/// called what.
#[derive(Debug)]
pub(crate) struct AccessLine {
    /// "grpc" or "http".
    transport: &'static str,
    /// The full method name, `package.Service/Method`.
    method: String,
    /// The caller's key, once authenticated.
    key_id: Option<KeyId>,
    /// The caller's merchant, for a merchant key.
    merchant_id: Option<MerchantId>,
}

impl AccessLine {
    /// The line of a call of `service`'s `method` that came in by `transport`.
    pub(crate) fn new(transport: &'static str, service: &str, method: &str) -> AccessLine {
        AccessLine {
            transport,
            method: format!("{service}/{method}"),
            key_id: None,
            merchant_id: None,
        }
    }

    /// Notes who called: the key, and its merchant for a merchant key.
    pub(crate) fn caller(&mut self, caller: &Caller) {
        self.key_id = Some(caller.key_id.clone());
        if let Grant::Merchant(merchant) = &caller.grant {
            self.merchant_id = Some(merchant.clone());
        }
    }

    /// Writes the line of a call that ended with `code` (and `reason`,
    /// for an error) after `elapsed`.
    pub(crate) fn write(&self, code: i32, reason: Option<&str>, elapsed: Duration) {
        let code = Code::from_i32(code);
        tracing::info!(
            target: TARGET,
            transport = self.transport,
            method = %self.method,
            status = status_name(code),
            code = code as i32,
            reason,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            key_id = self.key_id.as_ref().map(KeyId::as_str),
            merchant_id = self.merchant_id.as_ref().map(MerchantId::as_str),
            "rpc"
        );
    }
}

/// Whether a line written now would be logged: at the access log's level
/// and target, asked inside the call's span (a filter may turn lines on in
/// that span alone), so a call whose line nobody would see builds none.
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// The ErrorInfo reason a status carries, if any.
pub(crate) fn reason_of(status: &tonic::Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// A gRPC code's canonical name, as the gRPC spec writes it.
pub(crate) fn status_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_as_the_grpc_spec_names_them() {
        assert_eq!(status_name(Code::Ok), "OK");
        assert_eq!(status_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(status_name(Code::from_i32(16)), "UNAUTHENTICATED");
    }
}
