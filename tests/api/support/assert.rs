//! Assertions on the contract's errors: the status code and the
//! `ErrorInfo` reason (and field) every refusal carries.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Asserts a status has the code and ErrorInfo reason (and field) of the contract.
#[track_caller]
pub fn assert_error(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .expect("status carries ErrorInfo");
    assert_eq!(info.domain, "cartclick");
    assert_eq!(info.reason, reason, "{status:?}");
}

/// Asserts an INVALID_FIELD error naming `field`.
#[track_caller]
pub fn assert_invalid_field(status: &Status, field: &str) {
    assert_error(status, Code::InvalidArgument, "INVALID_FIELD");
    let info = status.get_details_error_info().unwrap();
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some(field),
        "{status:?}"
    );
}

/// The ErrorInfo reason of a status ("" when it has none).
pub fn error_reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}
