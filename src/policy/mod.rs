//! The platform's rules, pure: ids, money, merchant domains, landing and
//! redirect URLs, token parameters, categories, campaign review, who may be
//! issued a token, registry limits, top lists, sales sent again, and which
//! merchant's data a key reaches (API.md, "Errors" and "Authentication and
//! roles"; DESIGN.md, "Rules that come from the platform").
//!
//! Plain functions over plain types: no I/O, no async, no clock. The API
//! layer decodes a request with these, the domain decides with them, and
//! both pass on the [`Error`](crate::error::Error) they return. One file a
//! seam, every function and type a caller uses re-exported here, so callers
//! name `crate::policy::…` and never the file (the limits stay in their
//! files, next to the checks that apply them):
//!
//! - `ids`: what an id may be.
//! - `money`: currencies, amounts, reversals.
//! - `domains`: the domains a merchant may register, normalised.
//! - `landing`: the landing URLs a click may send a viewer to.
//! - `redirect`: the redirect into the shop and its token parameter.
//! - `categories`: category slugs and the prohibited and age-restricted lists.
//! - `campaigns`: issuing under a campaign, review, and going back to review.
//! - `windows`: a campaign's attribution window; a counter read's range;
//!   the window taps are rate limited in.
//! - `sales`: when an order or reversal id sent again is the same call
//!   and when it conflicts; what a refund the sale cannot cover is told.
//! - `text`: free text an operator writes (names, labels, reasons).
//! - `top`: what a top list may rank, for which day, how many.
//! - `commissions`: a campaign's commission terms, what a sale earns, what
//!   a refund takes back, what a payout pays.
//! - `fraud`: the fraud signals of a tap and a sale, from their counts.
//! - `pages`: how many items a page of a listing holds.
//! - `access`: which merchant's data a key reaches: counters, top lists,
//!   and which keys are bound to a merchant.

mod access;
mod campaigns;
mod categories;
mod commissions;
mod domains;
mod fraud;
mod ids;
mod landing;
mod money;
mod pages;
mod redirect;
mod sales;
#[cfg(test)]
mod test_support;
mod text;
mod top;
mod windows;

pub(crate) use access::{
    campaign_scope, check_counter_read, check_listing_scope, check_merchant_read, counter_share,
    earnings_scope, key_grant, payout_merchant, top_list_scope,
};
pub(crate) use campaigns::{campaign_products, check_issue, review, status_after_put};
pub use categories::CategoryRules;
pub(crate) use categories::{category_slug, validate_category};
pub use commissions::commission;
pub(crate) use commissions::{
    DEFAULT_HOLDING_PERIOD, MAX_PAYOUT_COMMISSIONS, commission_after_refunds, commission_rate,
    holding_period, is_same_payout, payable_at, payout_amount, refund_plan, sale_commission,
};
pub(crate) use domains::allowed_domains;
pub(crate) use fraud::{
    CREATOR_HOPPING_WINDOW, MAX_CLICK_TO_SALE, MAX_CREATORS_PER_VIEWER_LIMIT, TAP_FLOOD_WINDOW,
    is_self_referral, window_number,
};
pub use fraud::{TapCounts, click_signals, sale_signals};
pub(crate) use ids::{MAX_ID_LEN, validate_id};
pub(crate) use landing::check_landing_url;
pub(crate) use money::{check_reversal_amount, validate_currency, validate_money};
pub(crate) use pages::page_size;
pub(crate) use redirect::{normalize_token_param, redirect_url};
pub use sales::{is_same_reversal, is_same_sale};
pub(crate) use sales::{refund_above_what_is_left, refund_in_another_currency};
pub(crate) use text::validate_text;
pub(crate) use top::{DEFAULT_TOP_LIMIT, top_dimension, top_limit, utc_day};
pub(crate) use windows::{TAP_RATE_WINDOW, attribution_window, counter_range};
