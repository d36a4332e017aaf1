//! The one error type of the service and its one mapping to `tonic::Status`.
//!
//! Every status carries a `google.rpc.ErrorInfo` with domain `cartclick` and a
//! `reason` from the contract (API.md, "Errors"). Internal causes (store
//! failures) are logged where they happen and never sent to the client.

use std::collections::HashMap;

use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error this service returns.
pub(crate) const ERROR_DOMAIN: &str = "cartclick";

/// Everything an RPC can fail with, one variant per contract reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field is missing, too long or malformed; `field` names it as in the proto.
    #[error("invalid field {field}: {message}")]
    InvalidField {
        /// The request field, dotted for nested fields (`amount.currency_code`).
        field: String,
        /// What is wrong with it, for the human reading the error.
        message: String,
    },
    /// The landing URL is not https on a domain the merchant registered.
    #[error("landing_url is not https on a domain registered by the merchant")]
    LandingUrlNotAllowed,
    /// The campaign lists its products and this is not one.
    #[error("product is not in the campaign")]
    ProductNotInCampaign,
    /// Unknown currency, negative amount, or over the bound.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// Malformed, forged, unknown key id, or issued for another merchant.
    #[error("token is invalid")]
    TokenInvalid,
    /// The sale is past the click's attribution window.
    #[error("token has expired: the sale is past the click's attribution window")]
    TokenExpired,
    /// The token verifies but its click record is gone.
    #[error("click not found")]
    ClickNotFound,
    /// order_id or reversal_id reused with a different token or amount.
    #[error("{0} was already used with a different request")]
    OrderConflict(&'static str),
    /// Reversal of an order that was never confirmed.
    #[error("order not found")]
    OrderNotFound,
    /// Reversals would exceed the sale, or the currency differs.
    #[error("reversal exceeds the sale: {0}")]
    ReversalExceedsSale(String),
    /// No campaign with that id.
    #[error("campaign not found")]
    CampaignNotFound,
    /// No merchant with that id.
    #[error("merchant not found")]
    MerchantNotFound,
    /// The campaign is pending, rejected or paused.
    #[error("campaign is not approved")]
    CampaignNotApproved,
    /// The campaign's category may not be promoted.
    #[error("campaign category is prohibited")]
    CategoryProhibited,
    /// The viewer is under 13.
    #[error("viewer is under 13")]
    ViewerUnderage,
    /// The category is age-restricted and the viewer is a minor or of unknown age.
    #[error("campaign category is age-restricted")]
    AgeRestricted,
    /// Per-viewer tap rate exceeded, or the server sheds load.
    #[error("rate limited")]
    RateLimited,
    /// The store could not be reached in time; the call is safe to retry.
    #[error("store unavailable")]
    StoreUnavailable,
    /// A tap while its shard has more events not yet folded into the
    /// counters than `max_unfolded_events`; sales and the rest go on.
    #[error(
        "store unavailable: the counters are behind (more events than max_unfolded_events wait to be folded); taps resume as they catch up"
    )]
    Backlog,
    /// No credentials, or a secret that matches no live key.
    #[error("missing or unknown api key")]
    Unauthenticated,
    /// A known key whose role or merchant does not allow the call.
    #[error("api key may not call this")]
    PermissionDenied,
    /// The request cannot be decoded: not protobuf, not a JSON object, a
    /// JSON key given twice, a body of another content type.
    #[error("malformed request: {0}")]
    MalformedRequest(String),
    /// The request is over the size limit.
    #[error("request too large: {0}")]
    RequestTooLarge(String),
    /// The call ran past its deadline, or its body did not arrive in time.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// HTTP only: no route with that path.
    #[error("{0}")]
    RouteNotFound(String),
    /// A payout id reused for another creator or currency.
    #[error("payout_id was already used for another creator or currency")]
    PayoutConflict,
    /// No payable commission, or an outstanding clawback at least as large.
    #[error(
        "nothing to pay: no payable commission, or the clawback is as large as what is payable"
    )]
    NothingToPay,
    /// A review of a commission that no fraud signal holds.
    #[error("the commission is not held")]
    CommissionNotHeld,
}

impl Error {
    /// An `INVALID_FIELD` error for `field`.
    pub(crate) fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The contract's `ErrorInfo.reason` for this error.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Error::InvalidField { .. } => "INVALID_FIELD",
            Error::LandingUrlNotAllowed => "LANDING_URL_NOT_ALLOWED",
            Error::ProductNotInCampaign => "PRODUCT_NOT_IN_CAMPAIGN",
            Error::InvalidAmount(_) => "INVALID_AMOUNT",
            Error::TokenInvalid => "TOKEN_INVALID",
            Error::TokenExpired => "TOKEN_EXPIRED",
            Error::ClickNotFound => "CLICK_NOT_FOUND",
            Error::OrderConflict(_) => "ORDER_CONFLICT",
            Error::OrderNotFound => "ORDER_NOT_FOUND",
            Error::ReversalExceedsSale(_) => "REVERSAL_EXCEEDS_SALE",
            Error::CampaignNotFound => "CAMPAIGN_NOT_FOUND",
            Error::MerchantNotFound => "MERCHANT_NOT_FOUND",
            Error::CampaignNotApproved => "CAMPAIGN_NOT_APPROVED",
            Error::CategoryProhibited => "CATEGORY_PROHIBITED",
            Error::ViewerUnderage => "VIEWER_UNDERAGE",
            Error::AgeRestricted => "AGE_RESTRICTED",
            Error::RateLimited => "RATE_LIMITED",
            Error::StoreUnavailable | Error::Backlog => "STORE_UNAVAILABLE",
            Error::Unauthenticated => "UNAUTHENTICATED",
            Error::PermissionDenied => "PERMISSION_DENIED",
            Error::MalformedRequest(_) => "MALFORMED_REQUEST",
            Error::RequestTooLarge(_) => "REQUEST_TOO_LARGE",
            Error::DeadlineExceeded(_) => "DEADLINE_EXCEEDED",
            Error::RouteNotFound(_) => "ROUTE_NOT_FOUND",
            Error::PayoutConflict => "PAYOUT_CONFLICT",
            Error::NothingToPay => "NOTHING_TO_PAY",
            Error::CommissionNotHeld => "COMMISSION_NOT_HELD",
        }
    }

    /// The gRPC status code of this error.
    pub(crate) fn code(&self) -> Code {
        match self {
            Error::InvalidField { .. }
            | Error::LandingUrlNotAllowed
            | Error::ProductNotInCampaign
            | Error::InvalidAmount(_)
            | Error::TokenInvalid
            | Error::MalformedRequest(_) => Code::InvalidArgument,
            Error::TokenExpired
            | Error::ReversalExceedsSale(_)
            | Error::CampaignNotApproved
            | Error::CategoryProhibited
            | Error::NothingToPay
            | Error::CommissionNotHeld => Code::FailedPrecondition,
            Error::ClickNotFound
            | Error::OrderNotFound
            | Error::CampaignNotFound
            | Error::MerchantNotFound => Code::NotFound,
            Error::OrderConflict(_) | Error::PayoutConflict => Code::AlreadyExists,
            Error::ViewerUnderage | Error::AgeRestricted | Error::PermissionDenied => {
                Code::PermissionDenied
            }
            Error::RateLimited => Code::ResourceExhausted,
            Error::StoreUnavailable | Error::Backlog => Code::Unavailable,
            Error::Unauthenticated => Code::Unauthenticated,
            Error::RequestTooLarge(_) => Code::OutOfRange,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::RouteNotFound(_) => Code::NotFound,
        }
    }
}

/// The contract's reason for a status the service did not make itself
/// (tonic's and h2's own answers: an unknown method, a deadline, bytes that
/// are no gRPC call), by its code.
fn transport_reason(code: Code) -> &'static str {
    match code {
        Code::Unimplemented | Code::NotFound => "ROUTE_NOT_FOUND",
        Code::DeadlineExceeded | Code::Cancelled => "DEADLINE_EXCEEDED",
        Code::OutOfRange => "REQUEST_TOO_LARGE",
        Code::ResourceExhausted => "RATE_LIMITED",
        Code::Unavailable => "STORE_UNAVAILABLE",
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::PermissionDenied => "PERMISSION_DENIED",
        _ => "MALFORMED_REQUEST",
    }
}

/// `status` with an ErrorInfo: as it is when it has one, else with the
/// reason its code stands for, so that every status the service sends
/// carries one (API.md, "Errors"), those tonic makes included.
pub(crate) fn with_error_info(status: tonic::Status) -> tonic::Status {
    if status.code() == Code::Ok || status.get_details_error_info().is_some() {
        return status;
    }
    let reason = transport_reason(status.code());
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    tonic::Status::with_error_details(status.code(), status.message(), details)
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        let mut metadata = HashMap::new();
        if let Error::InvalidField { field, .. } = &error {
            metadata.insert("field".to_owned(), field.clone());
        }
        let details = ErrorDetails::with_error_info(error.reason(), ERROR_DOMAIN, metadata);
        tonic::Status::with_error_details(error.code(), error.to_string(), details)
    }
}

/// The result type of the domain and the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_field_status_names_the_field_in_error_info() {
        let status = tonic::Status::from(Error::invalid_field("amount.currency_code", "missing"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "INVALID_FIELD");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(
            info.metadata.get("field").map(String::as_str),
            Some("amount.currency_code")
        );
    }

    #[test]
    fn every_error_carries_its_reason() {
        let status = tonic::Status::from(Error::StoreUnavailable);
        assert_eq!(status.code(), Code::Unavailable);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "STORE_UNAVAILABLE");
    }
}
