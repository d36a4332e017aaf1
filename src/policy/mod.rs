//! The platform's rules, pure: ids, money, merchant domains, landing and
//! redirect URLs, token parameters, categories, campaign review, who may be
//! issued a token, registry limits, top lists, and which merchant's data a
//! key reaches (API.md, "Errors" and "Authentication and roles"; DESIGN.md,
//! "Rules that come from the platform").
//!
//! Plain functions over plain types: no I/O, no async, no clock. The API
//! layer decodes a request with these, the domain decides with them, and
//! both pass on the [`Error`](crate::error::Error) they return. One file a
//! seam, every item re-exported here, so callers name
//! `crate::policy::…` and never the file:
//!
//! - `ids`: what an id may be.
//! - `money`: currencies, amounts, reversals.
//! - `domains`: the domains a merchant may register, normalised.
//! - `landing`: the landing URLs a click may send a viewer to.
//! - `redirect`: the redirect into the shop and its token parameter.
//! - `categories`: category slugs and the prohibited and age-restricted lists.
//! - `campaigns`: issuing under a campaign, review, and going back to review.
//! - `windows`: a campaign's attribution window; a counter read's range.
//! - `text`: free text an operator writes (names, labels, reasons).
//! - `top`: what a top list may rank, for which day, how many.
//! - `access`: which merchant's data a key reaches: counters, top lists,
//!   and which keys are bound to a merchant.

mod access;
mod campaigns;
mod categories;
mod domains;
mod ids;
mod landing;
mod money;
mod redirect;
mod sales;
#[cfg(test)]
mod test_support;
mod text;
mod top;
mod windows;

pub use access::{check_counter_read, counter_share, key_grant, top_list_scope};
pub use campaigns::{MAX_PRODUCTS, campaign_products, check_issue, review, status_after_put};
pub use categories::{CategoryRules, category_slug, validate_category};
pub use domains::{MAX_DOMAIN_LEN, MAX_DOMAINS, MAX_LABEL_LEN, allowed_domains, normalize_domain};
pub use ids::{MAX_ID_LEN, validate_id};
pub use landing::{LANDING_URL_FIELD, MAX_URL_LEN, check_landing_url};
pub use money::{MAX_AMOUNT_MINOR, check_reversal_amount, validate_currency, validate_money};
pub use redirect::{MAX_TOKEN_PARAM_LEN, normalize_token_param, redirect_url};
pub use sales::{
    is_same_reversal, is_same_sale, refund_above_what_is_left, refund_in_another_currency,
};
pub use text::{MAX_TEXT_LEN, validate_text};
pub use top::{DEFAULT_TOP_LIMIT, MAX_TOP_LIMIT, top_dimension, top_limit, utc_day};
pub use windows::{
    MAX_DAILY_BUCKETS, MAX_HOURLY_BUCKETS, TAP_RATE_WINDOW, attribution_window, counter_range,
};
