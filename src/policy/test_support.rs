//! Helpers the policy's unit and property tests share: the registered
//! domains of the test shop, campaigns, and pulling the field or message out
//! of an `INVALID_FIELD`.

use proptest::prelude::*;

use crate::error::{Error, Result};
use crate::model::{
    Campaign, CampaignId, CampaignStatus, DEFAULT_ATTRIBUTION_WINDOW, MerchantId, ProductId,
};

/// The test shop's registered domains.
pub(crate) fn shop() -> Vec<String> {
    vec!["shop.dk".to_owned()]
}

/// The field an `INVALID_FIELD` names; panics on any other result.
pub(crate) fn field_of(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::InvalidField { field, .. }) => field,
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

/// The message of an `INVALID_FIELD`; panics on any other result.
pub(crate) fn message_of(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::InvalidField { message, .. }) => message,
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

/// Campaign `c-1` of merchant `m-1` with this category, status and products.
pub(crate) fn campaign(category: &str, status: CampaignStatus, products: &[&str]) -> Campaign {
    Campaign {
        campaign_id: CampaignId::stored("c-1"),
        merchant_id: MerchantId::stored("m-1"),
        category: category.to_owned(),
        attribution_window: DEFAULT_ATTRIBUTION_WINDOW,
        product_ids: self::products(products),
        terms: crate::model::CommissionTerms::NONE,
        status,
        review_reason: String::new(),
        revision: 1,
    }
}

/// Owned copies of `list`.
pub(crate) fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A DNS label of letters and digits, sometimes with one inner hyphen.
pub(crate) fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,12}",
        "[a-z0-9]{1,5}-[a-z0-9]{1,5}",
        "[A-Z][a-zA-Z0-9]{0,6}",
    ]
}

/// Product ids from `list`.
pub(crate) fn products(list: &[&str]) -> Vec<ProductId> {
    list.iter().map(|p| ProductId::stored(*p)).collect()
}
