//! The platform's rules, pure: ids, money, merchant domains, landing and
//! redirect URLs, token parameters, categories, campaign review and who may be
//! issued a token (API.md, "Errors"; DESIGN.md, "Rules that come from the
//! platform").
//!
//! Plain functions over plain types: no I/O, no async, no clock. The API layer
//! decodes a request, calls these, and maps the [`Error`](crate::error::Error)
//! they return. One file a seam, every item re-exported here, so callers name
//! `crate::policy::…` and never the file:
//!
//! - `ids`: what an id may be.
//! - `money`: currencies, amounts, reversals.
//! - `domains`: the domains a merchant may register, normalised.
//! - `landing`: the landing URLs a click may send a viewer to.
//! - `redirect`: the redirect into the shop and its token parameter.
//! - `categories`: category slugs and the prohibited and age-restricted lists.
//! - `campaigns`: issuing under a campaign, review, and going back to review.
//! - `windows`: a campaign's attribution window.

mod campaigns;
mod categories;
mod domains;
mod ids;
mod landing;
mod money;
mod redirect;
#[cfg(test)]
mod test_support;
mod windows;

pub use campaigns::{check_issue, review, status_after_put};
pub use categories::{CategoryRules, category_slug, validate_category};
pub use domains::{MAX_DOMAIN_LEN, MAX_LABEL_LEN, normalize_domain};
pub use ids::{MAX_ID_LEN, validate_id};
pub use landing::{LANDING_URL_FIELD, MAX_URL_LEN, check_landing_url};
pub use money::{MAX_AMOUNT_MINOR, check_reversal_amount, validate_money};
pub use redirect::{MAX_TOKEN_PARAM_LEN, normalize_token_param, redirect_url};
pub use windows::attribution_window;
