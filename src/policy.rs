//! The platform's rules, pure: ids, money, merchant domains, landing and
//! redirect URLs, token parameters, categories, campaign review and who may be
//! issued a token (API.md, "Errors"; DESIGN.md, "Rules that come from the
//! platform").
//!
//! Plain functions over plain types: no I/O, no async, no clock. The API layer
//! decodes a request, calls these, and maps the [`Error`] they return.

use std::collections::HashSet;
use std::time::Duration;

use url::{Host, Url};

use crate::error::{Error, Result};
use crate::model::{
    AgeBracket, Campaign, CampaignStatus, DEFAULT_ATTRIBUTION_WINDOW, DEFAULT_TOKEN_PARAM,
    MAX_ATTRIBUTION_WINDOW, MIN_ATTRIBUTION_WINDOW, Money, ReviewDecision,
};

/// Longest id (merchant, campaign, product, viewer, order, ...) in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest landing URL in bytes, as sent and as parsed.
pub const MAX_URL_LEN: usize = 2048;
/// Largest amount in minor units, inclusive (10^12).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
/// Longest merchant token parameter name in bytes.
pub const MAX_TOKEN_PARAM_LEN: usize = 32;
/// Longest domain name in bytes (DNS).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain label in bytes (DNS).
pub const MAX_LABEL_LEN: usize = 63;
/// The field name landing URL errors carry.
pub const LANDING_URL_FIELD: &str = "landing_url";

/// Checks an id: 1 to [`MAX_ID_LEN`] bytes of printable ASCII without spaces
/// (0x21 to 0x7E). Fails with `INVALID_FIELD` naming `field`.
pub fn validate_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_field(field, "missing"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid_field(
            field,
            format!("too long: at most {MAX_ID_LEN} bytes"),
        ));
    }
    if !value.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
        return Err(Error::invalid_field(
            field,
            "must be printable ascii without spaces",
        ));
    }
    Ok(())
}

/// Checks an amount of money: `currency_code` a known ISO 4217 alphabetic code
/// in upper case that is money, `amount_minor` from 0 to
/// [`MAX_AMOUNT_MINOR`]. Fails with `INVALID_AMOUNT`. A missing `Money`
/// message is the caller's to report.
///
/// Not money, as `iso_currency` flags them: its "special" codes (`XXX` no
/// currency, `XTS` testing, the metals `XAU` `XAG` `XPD` `XPT`, and the units
/// of account `XDR` `XBA`-`XBD` `XSU` `XUA` `XAD`) and its funds (`BOV`
/// `CHE` `CHW` `CLF` `COU` `MXV` `USN` `UYI` `UYW`). Superseded currencies
/// (`HRK`) are still money: a sale made in one may be refunded in it.
pub fn validate_money(currency_code: &str, amount_minor: i64) -> Result<Money> {
    if currency_code.is_empty() {
        return Err(Error::InvalidAmount("currency_code is missing".to_owned()));
    }
    let Some(currency) = iso_currency::Currency::from_code(currency_code) else {
        return Err(Error::InvalidAmount(
            "currency_code must be an upper-case ISO 4217 code".to_owned(),
        ));
    };
    if currency.is_special() || currency.is_fund() {
        return Err(Error::InvalidAmount(
            "currency_code is not money: a fund, metal, unit of account, testing or no-currency code"
                .to_owned(),
        ));
    }
    if amount_minor < 0 {
        return Err(Error::InvalidAmount(
            "amount_minor must not be negative".to_owned(),
        ));
    }
    if amount_minor > MAX_AMOUNT_MINOR {
        return Err(Error::InvalidAmount(format!(
            "amount_minor must be at most {MAX_AMOUNT_MINOR}"
        )));
    }
    Ok(Money {
        currency: currency_code.to_owned(),
        amount_minor,
    })
}

/// Checks the amount of a reversal, already a valid [`Money`]: a reversal
/// refunds something, so zero is `INVALID_AMOUNT` (it would record a refund
/// of nothing under its reversal_id). A zero-amount sale stays allowed.
pub fn check_reversal_amount(amount: &Money) -> Result<()> {
    if amount.amount_minor == 0 {
        return Err(Error::InvalidAmount(
            "a reversal must refund more than zero".to_owned(),
        ));
    }
    Ok(())
}

/// Normalises a merchant's registered domain for storage: trimmed, one
/// trailing `.` dropped, lower case, internationalised names in punycode
/// (`bücher.example` → `xn--bcher-kva.example`).
///
/// Refuses anything but a bare domain name of at least two labels: schemes,
/// userinfo, ports, paths, wildcards, percent-encoding, IP addresses, empty
/// labels, labels other than letters, digits and inner hyphens, and names
/// longer than DNS allows. Fails with `INVALID_FIELD` naming `field`.
///
/// Refuses public suffixes too (`co.uk`, `github.io`: the Public Suffix List
/// as the `psl` crate compiles it in, ICANN and private sections): a landing
/// host may be any subdomain of a registered domain, so registering a suffix
/// would let the merchant send viewers to anyone's site under it. A
/// registrable domain or a subdomain of one (`example.co.uk`,
/// `shop.example.dk`) is fine.
pub fn normalize_domain(field: &str, raw: &str) -> Result<String> {
    let invalid = |message: &str| Error::invalid_field(field, message);
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("missing"));
    }
    if trimmed.contains("://") {
        return Err(invalid("must be a bare domain, without a scheme"));
    }
    if trimmed.contains('@') {
        return Err(invalid("must be a bare domain, without userinfo"));
    }
    if trimmed.contains(['/', '\\', '?', '#']) {
        return Err(invalid(
            "must be a bare domain, without a path, query or fragment",
        ));
    }
    if trimmed.contains(['[', ']']) {
        return Err(invalid("ip addresses are not allowed"));
    }
    if trimmed.contains(':') {
        return Err(invalid("must be a bare domain, without a port"));
    }
    if trimmed.contains('*') {
        return Err(invalid("wildcards are not allowed"));
    }
    if trimmed.contains('%') {
        return Err(invalid("must not be percent-encoded"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain whitespace or control characters"));
    }
    let ascii = match Host::parse(trimmed) {
        Ok(Host::Domain(domain)) => domain,
        Ok(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(invalid("ip addresses are not allowed")),
        Err(_) => return Err(invalid("not a valid domain name")),
    };
    let domain = ascii.strip_suffix('.').unwrap_or(&ascii);
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(invalid("too long: at most 253 bytes"));
    }
    let mut labels = 0usize;
    for label in domain.split('.') {
        labels += 1;
        if label.is_empty() {
            return Err(invalid("must not have empty labels"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid("labels must be at most 63 bytes"));
        }
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ldh || label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("labels must be letters, digits and inner hyphens"));
        }
    }
    if labels < 2 {
        return Err(invalid("must have at least two labels"));
    }
    // `psl` wants lower-case ASCII without a trailing dot: `domain` is that.
    if psl::domain(domain.as_bytes()).is_none() {
        return Err(invalid(
            "is a public suffix: register a domain under it, not the suffix",
        ));
    }
    Ok(domain.to_owned())
}

/// Checks a landing URL against the merchant's registered domains (as
/// [`normalize_domain`] stores them) and returns it parsed.
///
/// `INVALID_FIELD` (`landing_url`) when it is empty, longer than
/// [`MAX_URL_LEN`] bytes (as sent or as parsed), contains ASCII control
/// characters (tabs and newlines included: the URL parser would silently drop
/// them), or does not parse. `LANDING_URL_NOT_ALLOWED` unless the scheme is
/// https, there is no userinfo, there is no port but https's own, and the
/// host is a domain name (never an IP address) without empty labels, equal to
/// a registered domain or a subdomain of one on a label boundary. Only the
/// parsed host is compared (lower case, punycode, one trailing `.` dropped),
/// never the raw text.
///
/// Merchants register bare domains, so another port of their host is a
/// service they never registered. An explicit `:443` is accepted: the parser
/// drops the scheme's default port, so the returned URL has none.
pub fn check_landing_url(raw: &str, allowed_domains: &[String]) -> Result<Url> {
    let invalid = |message: &str| Error::invalid_field(LANDING_URL_FIELD, message);
    if raw.is_empty() {
        return Err(invalid("missing"));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(invalid("too long: at most 2048 bytes"));
    }
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err(invalid("must not contain control characters"));
    }
    let url = Url::parse(raw).map_err(|_| invalid("malformed"))?;
    if url.as_str().len() > MAX_URL_LEN {
        return Err(invalid("too long: at most 2048 bytes"));
    }
    if url.scheme() != "https"
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
    {
        return Err(Error::LandingUrlNotAllowed);
    }
    let Some(Host::Domain(host)) = url.host() else {
        return Err(Error::LandingUrlNotAllowed);
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.split('.').any(str::is_empty) {
        return Err(Error::LandingUrlNotAllowed);
    }
    if allowed_domains
        .iter()
        .any(|domain| host_on_domain(host, domain))
    {
        Ok(url)
    } else {
        Err(Error::LandingUrlNotAllowed)
    }
}

/// Whether `host` is `domain` or a subdomain of it on a label boundary.
/// Both are compared as given (lower case, punycode); an empty domain matches
/// nothing.
fn host_on_domain(host: &str, domain: &str) -> bool {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return false;
    }
    match host.strip_suffix(domain) {
        Some("") => true,
        Some(rest) => rest.len() > 1 && rest.ends_with('.'),
        None => false,
    }
}

/// The redirect URL of a click: `landing` with the query parameter
/// `token_param` set to `token`. Every existing parameter of that name (after
/// decoding) is removed, the other pairs are kept in order (re-serialised as
/// `application/x-www-form-urlencoded`), the new pair goes last, and the
/// fragment is kept.
pub fn redirect_url(landing: &Url, token_param: &str, token: &str) -> String {
    let kept: Vec<(String, String)> = landing
        .query_pairs()
        .filter(|(name, _)| name != token_param)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut url = landing.clone();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(token_param, token);
    url.into()
}

/// Checks a merchant's token parameter name: empty means
/// [`DEFAULT_TOKEN_PARAM`]; otherwise 1 to [`MAX_TOKEN_PARAM_LEN`] characters
/// of `A-Z a-z 0-9 _ . -`. Fails with `INVALID_FIELD` naming `field`.
pub fn normalize_token_param(field: &str, raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Ok(DEFAULT_TOKEN_PARAM.to_owned());
    }
    if raw.len() > MAX_TOKEN_PARAM_LEN {
        return Err(Error::invalid_field(
            field,
            format!("too long: at most {MAX_TOKEN_PARAM_LEN} characters"),
        ));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(Error::invalid_field(
            field,
            "must be letters, digits, '_', '.' or '-'",
        ));
    }
    Ok(raw.to_owned())
}

/// The slug category rules match on: lower case, every run of characters that
/// are not letters or digits turned into one `-`, none at either end.
/// `"Adult Toys"`, `"adult_toys"` and `"adult-toys"` all give `"adult-toys"`.
pub fn category_slug(raw: &str) -> String {
    let mut slug = String::with_capacity(raw.len());
    let mut pending_dash = false;
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c);
        } else {
            pending_dash = true;
        }
    }
    slug
}

/// Checks a campaign's category: at most [`MAX_ID_LEN`] bytes, with at least
/// one letter or digit (a non-empty slug). Fails with `INVALID_FIELD` naming
/// `field`.
pub fn validate_category(field: &str, raw: &str) -> Result<()> {
    if raw.trim().is_empty() {
        return Err(Error::invalid_field(field, "missing"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(Error::invalid_field(
            field,
            format!("too long: at most {MAX_ID_LEN} bytes"),
        ));
    }
    if category_slug(raw).is_empty() {
        return Err(Error::invalid_field(
            field,
            "must contain a letter or a digit",
        ));
    }
    Ok(())
}

/// The platform's category lists (configuration), held as slugs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRules {
    /// Categories that may never be promoted.
    pub prohibited: HashSet<String>,
    /// Categories never issued to a minor or a viewer of unknown age.
    pub age_restricted: HashSet<String>,
}

impl CategoryRules {
    /// Rules from the configured lists; entries are slugged, empty slugs dropped.
    pub fn new(prohibited: &[String], age_restricted: &[String]) -> Self {
        fn slugs(list: &[String]) -> HashSet<String> {
            list.iter()
                .map(|category| category_slug(category))
                .filter(|slug| !slug.is_empty())
                .collect()
        }
        CategoryRules {
            prohibited: slugs(prohibited),
            age_restricted: slugs(age_restricted),
        }
    }

    /// Whether `category` (as written; matched by slug) may never be promoted.
    pub fn is_prohibited(&self, category: &str) -> bool {
        self.prohibited.contains(&category_slug(category))
    }

    /// Whether `category` (as written; matched by slug) is age-restricted.
    pub fn is_age_restricted(&self, category: &str) -> bool {
        self.age_restricted.contains(&category_slug(category))
    }
}

impl Default for CategoryRules {
    /// The contract's defaults: alcohol and tobacco prohibited, nothing
    /// age-restricted.
    fn default() -> Self {
        CategoryRules::new(&["alcohol".to_owned(), "tobacco".to_owned()], &[])
    }
}

/// Whether `campaign` may issue a token to a viewer of `age` for `product_id`.
/// Returns the first failure, in this order:
///
/// 1. the category is prohibited (even if approved before the list changed):
///    `CATEGORY_PROHIBITED`;
/// 2. the campaign is not approved: `CAMPAIGN_NOT_APPROVED`;
/// 3. the campaign lists products and this is not one: `PRODUCT_NOT_IN_CAMPAIGN`;
/// 4. the viewer is under 13: `VIEWER_UNDERAGE`;
/// 5. the category is age-restricted and the viewer is 13-17 or of unknown
///    age: `AGE_RESTRICTED`.
pub fn check_issue(
    campaign: &Campaign,
    rules: &CategoryRules,
    age: AgeBracket,
    product_id: &str,
) -> Result<()> {
    if rules.is_prohibited(&campaign.category) {
        return Err(Error::CategoryProhibited);
    }
    if campaign.status != CampaignStatus::Approved {
        return Err(Error::CampaignNotApproved);
    }
    if !campaign.product_ids.is_empty() && !campaign.product_ids.iter().any(|p| p == product_id) {
        return Err(Error::ProductNotInCampaign);
    }
    match age {
        AgeBracket::Under13 => Err(Error::ViewerUnderage),
        AgeBracket::Teen | AgeBracket::Unspecified
            if rules.is_age_restricted(&campaign.category) =>
        {
            Err(Error::AgeRestricted)
        }
        AgeBracket::Teen | AgeBracket::Unspecified | AgeBracket::Adult => Ok(()),
    }
}

/// The status a review decision gives `campaign`, from any current status:
/// approve gives approved (`CATEGORY_PROHIBITED` if its category is
/// prohibited), reject gives rejected, pause gives paused.
pub fn review(
    campaign: &Campaign,
    decision: ReviewDecision,
    rules: &CategoryRules,
) -> Result<CampaignStatus> {
    match decision {
        ReviewDecision::Approve if rules.is_prohibited(&campaign.category) => {
            Err(Error::CategoryProhibited)
        }
        ReviewDecision::Approve => Ok(CampaignStatus::Approved),
        ReviewDecision::Reject => Ok(CampaignStatus::Rejected),
        ReviewDecision::Pause => Ok(CampaignStatus::Paused),
    }
}

/// The status of a campaign after a write: pending when it is new or its
/// merchant, category slug or set of products changed; otherwise (only the
/// attribution window, say) the existing status is kept.
pub fn status_after_put(
    existing: Option<&Campaign>,
    merchant_id: &str,
    category: &str,
    product_ids: &[String],
) -> CampaignStatus {
    let Some(existing) = existing else {
        return CampaignStatus::Pending;
    };
    let old_products: HashSet<&str> = existing.product_ids.iter().map(String::as_str).collect();
    let new_products: HashSet<&str> = product_ids.iter().map(String::as_str).collect();
    if existing.merchant_id != merchant_id
        || category_slug(&existing.category) != category_slug(category)
        || old_products != new_products
    {
        CampaignStatus::Pending
    } else {
        existing.status
    }
}

/// A campaign's attribution window: [`DEFAULT_ATTRIBUTION_WINDOW`] when none
/// is set, else it must lie within [`MIN_ATTRIBUTION_WINDOW`] and
/// [`MAX_ATTRIBUTION_WINDOW`] inclusive. Fails with `INVALID_FIELD` naming
/// `field`.
pub fn attribution_window(field: &str, window: Option<Duration>) -> Result<Duration> {
    match window {
        None => Ok(DEFAULT_ATTRIBUTION_WINDOW),
        Some(window) if (MIN_ATTRIBUTION_WINDOW..=MAX_ATTRIBUTION_WINDOW).contains(&window) => {
            Ok(window)
        }
        Some(_) => Err(Error::invalid_field(
            field,
            "must be between 1 hour and 30 days",
        )),
    }
}

/// The window of the tap rate limit: a viewer may make
/// `policy.tap_rate_limit_per_minute` taps at a merchant per minute; the
/// store counts them per aligned window of this length.
pub const TAP_RATE_WINDOW: Duration = Duration::from_secs(60);

/// Whether an order id sent again repeats the sale first confirmed under
/// it: the same click and the same amount, currency included. A repeat is
/// answered with the first sale, even after the token expired; anything
/// else is `ORDER_CONFLICT`.
pub fn is_same_sale(
    first: &crate::model::SaleRecord,
    click_id: &crate::token::ClickId,
    amount: &Money,
) -> bool {
    first.click_id == *click_id && first.amount == *amount
}

/// Whether a reversal id sent again repeats the refund first recorded
/// under it: the same order and the same amount, currency included. A
/// repeat is answered with what remained after the first; anything else is
/// `ORDER_CONFLICT`.
pub fn is_same_reversal(
    first_order_id: &str,
    first_amount: &Money,
    order_id: &str,
    amount: &Money,
) -> bool {
    first_order_id == order_id && first_amount == amount
}

/// `REVERSAL_EXCEEDS_SALE` for a refund in another currency than its sale
/// (a refund is recorded in the sale's currency or not at all).
pub fn refund_in_another_currency(sale_currency: &str) -> Error {
    Error::ReversalExceedsSale(format!("the sale is in {sale_currency}"))
}

/// `REVERSAL_EXCEEDS_SALE` for a refund above what is `left` of its sale
/// (the sale less its earlier refunds: never refunded below zero).
pub fn refund_above_what_is_left(left: &Money) -> Error {
    Error::ReversalExceedsSale(format!(
        "{} {} is left of the sale",
        left.amount_minor, left.currency
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shop() -> Vec<String> {
        vec!["shop.dk".to_owned()]
    }

    fn field_of(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    fn message_of(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::InvalidField { message, .. }) => message,
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    fn campaign(category: &str, status: CampaignStatus, products: &[&str]) -> Campaign {
        Campaign {
            campaign_id: "c-1".to_owned(),
            merchant_id: "m-1".to_owned(),
            category: category.to_owned(),
            attribution_window: DEFAULT_ATTRIBUTION_WINDOW,
            product_ids: products.iter().map(|p| (*p).to_owned()).collect(),
            status,
            review_reason: String::new(),
            revision: 1,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    // ---- validate_id ----

    #[test]
    fn id_accepts_printable_ascii_up_to_128_bytes() {
        validate_id("viewer_id", "v").unwrap();
        validate_id("viewer_id", "abc-123_XYZ!~{}").unwrap();
        validate_id("viewer_id", &"x".repeat(MAX_ID_LEN)).unwrap();
    }

    #[test]
    fn id_empty_is_missing() {
        assert_eq!(
            validate_id("viewer_id", ""),
            Err(Error::invalid_field("viewer_id", "missing"))
        );
    }

    #[test]
    fn id_too_long_names_the_field() {
        let result = validate_id("order_id", &"x".repeat(MAX_ID_LEN + 1));
        assert!(message_of(result.clone()).contains("too long"));
        assert_eq!(field_of(result), "order_id");
    }

    #[test]
    fn id_refuses_spaces_controls_and_non_ascii() {
        for bad in ["a b", " a", "a\t", "a\n", "\u{7f}", "caf\u{e9}", "a\u{0}"] {
            let result = validate_id("video_id", bad);
            assert_eq!(field_of(result.clone()), "video_id", "{bad:?}");
            assert!(message_of(result).contains("printable ascii"), "{bad:?}");
        }
    }

    // ---- validate_money ----

    #[test]
    fn money_accepts_known_codes_and_bounds() {
        assert_eq!(
            validate_money("DKK", 0),
            Ok(Money {
                currency: "DKK".to_owned(),
                amount_minor: 0
            })
        );
        assert_eq!(
            validate_money("EUR", MAX_AMOUNT_MINOR).map(|m| m.amount_minor),
            Ok(MAX_AMOUNT_MINOR)
        );
        validate_money("USD", 12_345).unwrap();
    }

    #[test]
    fn money_refuses_lower_case_unknown_and_missing_currency() {
        for code in ["dkk", "Dkk", "ABC", "DK", "DKKK", " DKK", "€"] {
            assert_eq!(
                validate_money(code, 100),
                Err(Error::InvalidAmount(
                    "currency_code must be an upper-case ISO 4217 code".to_owned()
                )),
                "{code:?}"
            );
        }
        assert!(
            matches!(validate_money("", 100), Err(Error::InvalidAmount(m)) if m.contains("missing"))
        );
    }

    /// The ISO 4217 codes that are not money: no currency, testing,
    /// precious metals, units of account and drawing rights, and funds.
    const NOT_MONEY: [&str; 23] = [
        "XXX", "XTS", // no currency, testing
        "XAU", "XAG", "XPD", "XPT", // gold, silver, palladium, platinum
        "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA", "XAD", // units of account
        "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW", // funds
    ];

    #[test]
    fn money_refuses_each_code_that_is_not_money() {
        for code in NOT_MONEY {
            assert!(
                matches!(validate_money(code, 100), Err(Error::InvalidAmount(m)) if m.contains("not money")),
                "{code}: {:?}",
                validate_money(code, 100)
            );
            assert!(
                matches!(validate_money(code, 0), Err(Error::InvalidAmount(_))),
                "{code}"
            );
        }
    }

    #[test]
    fn money_refuses_exactly_the_codes_that_are_not_money() {
        // Every code iso_currency knows, so a new release that marks another
        // code as fund or special shows up here.
        let letters = b'A'..=b'Z';
        let mut refused = Vec::new();
        for a in letters.clone() {
            for b in letters.clone() {
                for c in letters.clone() {
                    let code = String::from_utf8(vec![a, b, c]).unwrap();
                    if iso_currency::Currency::from_code(&code).is_some()
                        && validate_money(&code, 1).is_err()
                    {
                        refused.push(code);
                    }
                }
            }
        }
        let mut want: Vec<String> = NOT_MONEY.iter().map(|c| (*c).to_owned()).collect();
        want.sort();
        assert_eq!(refused, want);
    }

    #[test]
    fn money_accepts_currencies_that_only_look_special() {
        // CFA and CFP francs, East Caribbean dollar and Caribbean guilder
        // start with X but are money; the currencies beside each fund are
        // money; a superseded currency still refunds the sales made in it.
        for code in [
            "XAF", "XOF", "XPF", "XCD", "XCG", "BOB", "CHF", "CLP", "COP", "MXN", "USD", "UYU",
            "HRK",
        ] {
            assert!(validate_money(code, 100).is_ok(), "{code}");
        }
    }

    #[test]
    fn money_refuses_negative_and_over_bound() {
        assert!(
            matches!(validate_money("DKK", -1), Err(Error::InvalidAmount(m)) if m.contains("negative"))
        );
        assert!(matches!(
            validate_money("DKK", i64::MIN),
            Err(Error::InvalidAmount(_))
        ));
        assert!(matches!(
            validate_money("DKK", MAX_AMOUNT_MINOR + 1),
            Err(Error::InvalidAmount(m)) if m.contains("at most")
        ));
        assert!(matches!(
            validate_money("DKK", i64::MAX),
            Err(Error::InvalidAmount(_))
        ));
    }

    // ---- check_reversal_amount ----

    #[test]
    fn a_reversal_refunds_more_than_zero() {
        let zero = validate_money("DKK", 0).unwrap();
        assert_eq!(
            check_reversal_amount(&zero),
            Err(Error::InvalidAmount(
                "a reversal must refund more than zero".to_owned()
            ))
        );
        for amount_minor in [1, 2_500, MAX_AMOUNT_MINOR] {
            let amount = validate_money("DKK", amount_minor).unwrap();
            assert_eq!(check_reversal_amount(&amount), Ok(()), "{amount_minor}");
        }
    }

    // ---- normalize_domain ----

    #[test]
    fn domain_is_normalised() {
        let cases = [
            ("shop.dk", "shop.dk"),
            ("  Shop.DK  ", "shop.dk"),
            ("shop.dk.", "shop.dk"),
            ("www.shop.dk", "www.shop.dk"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("ｓｈｏｐ．ｄｋ", "shop.dk"),
            ("ＳＨＯＰ．ＤＫ．", "shop.dk"),
            ("shop。dk", "shop.dk"),
            ("1.shop.dk", "1.shop.dk"),
            ("my-shop.co.uk", "my-shop.co.uk"),
            ("shop.dk\n", "shop.dk"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_domain("d", raw).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn domain_refuses_everything_but_a_bare_name() {
        let cases = [
            ("", "missing"),
            ("   ", "missing"),
            ("https://shop.dk", "scheme"),
            ("user@shop.dk", "userinfo"),
            ("shop.dk/path", "path"),
            ("shop.dk\\x", "path"),
            ("shop.dk?q", "path"),
            ("shop.dk#f", "path"),
            ("shop.dk:443", "port"),
            ("*.shop.dk", "wildcard"),
            ("＊.shop.dk", "labels"),
            ("[::1]", "ip"),
            ("127.0.0.1", "ip"),
            ("0x7f.1", "ip"),
            ("1.2.3.4.", "ip"),
            ("shop%2edk", "percent"),
            ("sh op.dk", "whitespace"),
            ("sh\top.dk", "whitespace"),
            ("shop..dk", "empty labels"),
            (".shop.dk", "empty labels"),
            ("shop.dk..", "empty labels"),
            ("localhost", "two labels"),
            ("dk", "two labels"),
            ("-shop.dk", "hyphens"),
            ("shop-.dk", "hyphens"),
            ("a_b.dk", "labels"),
            ("a!b.dk", "labels"),
            ("xn--zz.dk", "not a valid domain"),
            ("shop.123", "not a valid domain"),
        ];
        for (raw, reason) in cases {
            let result = normalize_domain("merchant.allowed_domains", raw);
            assert_eq!(
                field_of(result.clone()),
                "merchant.allowed_domains",
                "{raw:?}"
            );
            let message = message_of(result);
            assert!(message.contains(reason), "{raw:?}: {message}");
        }
    }

    #[test]
    fn domain_refuses_public_suffixes() {
        // From the Public Suffix List, ICANN and private sections: registering
        // one would make every site under it a landing host.
        for raw in [
            "co.uk",
            "CO.UK.",
            "ｃｏ．ｕｋ",
            "com.au",
            "github.io",
            "GitHub.IO",
            "blogspot.com",
            "herokuapp.com",
            "xn--55qx5d.cn",
            "公司.cn",
        ] {
            let result = normalize_domain("merchant.allowed_domains", raw);
            assert_eq!(
                field_of(result.clone()),
                "merchant.allowed_domains",
                "{raw:?}"
            );
            let message = message_of(result);
            assert!(message.contains("public suffix"), "{raw:?}: {message}");
        }
        // Top-level domains are refused as names of a single label.
        for raw in ["com", "dk", "uk"] {
            let result = normalize_domain("merchant.allowed_domains", raw);
            assert_eq!(field_of(result), "merchant.allowed_domains", "{raw:?}");
        }
    }

    #[test]
    fn domain_under_a_public_suffix_is_allowed() {
        for (raw, want) in [
            ("example.co.uk", "example.co.uk"),
            ("www.example.co.uk", "www.example.co.uk"),
            ("shop.example.dk", "shop.example.dk"),
            ("myshop.github.io", "myshop.github.io"),
            ("MyShop.GitHub.io.", "myshop.github.io"),
            ("shop.com.au", "shop.com.au"),
            ("shop.dk", "shop.dk"),
            ("公司.公司.cn", "xn--55qx5d.xn--55qx5d.cn"),
            ("bücher.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(normalize_domain("d", raw).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn domain_length_limits() {
        let label = "a".repeat(MAX_LABEL_LEN);
        assert!(normalize_domain("d", &format!("{label}.dk")).is_ok());
        let long_label = "a".repeat(MAX_LABEL_LEN + 1);
        assert!(message_of(normalize_domain("d", &format!("{long_label}.dk"))).contains("63"));
        let long_name = format!("{label}.{label}.{label}.{label}.dk");
        assert!(long_name.len() > MAX_DOMAIN_LEN);
        assert!(message_of(normalize_domain("d", &long_name)).contains("too long"));
    }

    #[test]
    fn normalised_domains_are_fixed_points() {
        for raw in ["Shop.DK.", "bücher.example", "ｓｈｏｐ．ｄｋ"] {
            let once = normalize_domain("d", raw).unwrap();
            assert_eq!(normalize_domain("d", &once), Ok(once.clone()));
        }
    }

    // ---- check_landing_url ----

    #[test]
    fn landing_url_on_domain_or_subdomain_is_allowed() {
        for raw in [
            "https://shop.dk",
            "https://shop.dk/",
            "https://www.shop.dk/p/1?x=1#top",
            "https://a.b.shop.dk/",
            "https://SHOP.DK/Path",
            "https://shop.dk./",
            "https://www.shop.dk.:443/",
            "https://shop.dk:443/x",
            "https://ｓｈｏｐ．ｄｋ/x",
            "https://shop。dk/",
            "HTTPS://shop.dk/",
            "https:shop.dk/x",
            "https:///shop.dk",
            "https://1.shop.dk/",
            "https://shop.dk/a b?c d#e f",
            "  https://shop.dk/  ",
            "https://shop.dk/evil.com",
            "https://shop.dk/?next=https://evil.com",
            "https://shop.dk/#@evil.com",
            "https://evil.com%2eshop.dk/",
        ] {
            let url = check_landing_url(raw, &shop()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            let host = url.host_str().unwrap_or_default();
            assert!(
                host.trim_end_matches('.').ends_with("shop.dk"),
                "{raw:?} -> {url}"
            );
        }
    }

    #[test]
    fn landing_url_matches_any_registered_domain_and_idn() {
        let allowed = strings(&["other.example", "xn--bcher-kva.example"]);
        check_landing_url("https://bücher.example/", &allowed).unwrap();
        check_landing_url("https://www.BÜCHER.example/", &allowed).unwrap();
        check_landing_url("https://xn--bcher-kva.example/", &allowed).unwrap();
        check_landing_url("https://other.example/", &allowed).unwrap();
        assert_eq!(
            check_landing_url("https://bucher.example/", &allowed),
            Err(Error::LandingUrlNotAllowed)
        );
    }

    #[test]
    fn landing_url_refuses_hostile_tricks() {
        for raw in [
            "http://shop.dk/",
            "javascript:alert(1)",
            "javascript://shop.dk/%0aalert(1)",
            "data:text/html,hi",
            "ftp://shop.dk/",
            "wss://shop.dk/",
            "https://evilshop.dk/",
            "https://shop.dk.evil.com/",
            "https://shop.dkevil.com/",
            "https://shop.dk-evil.com/",
            "https://www.shop.dk.evil.com/",
            "https://shop.dk@evil.com/",
            "https://shop.dk:pw@evil.com/",
            "https://user@shop.dk/",
            "https://user:pw@shop.dk/",
            "https://:pw@shop.dk/",
            "https://evil.com\\@shop.dk",
            "https://evil.com#@shop.dk",
            "https://evil.com?@shop.dk",
            "https://evil.com/@shop.dk",
            "https://shop.dk%2eevil.com/",
            "https://shop%2edk.evil.com/",
            "https://xn--shp-0ma.dk/",
            "https://ѕһор.dk/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://dk/",
            "https://shop.dk../",
            "https://a..shop.dk/",
            "https://.shop.dk/",
            "https://sshop.dk/",
            "https://hop.dk/",
            "https://shop.d/",
        ] {
            assert_eq!(
                check_landing_url(raw, &shop()),
                Err(Error::LandingUrlNotAllowed),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn landing_url_with_a_port_other_than_443_is_refused() {
        // Merchants register bare domains: a shop on another port of the
        // same host is another service, not the one they registered.
        for raw in [
            "https://shop.dk:8443/",
            "https://www.shop.dk.:8443/",
            "https://shop.dk:80/p",
            "https://shop.dk:1/",
            "https://shop.dk:0/",
            "https://a.b.shop.dk:65535/x?y=1#z",
        ] {
            assert_eq!(
                check_landing_url(raw, &shop()),
                Err(Error::LandingUrlNotAllowed),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn landing_url_with_an_explicit_443_is_allowed_and_loses_it() {
        // The URL parser drops the scheme's default port: what is checked,
        // signed and redirected to has none.
        for raw in [
            "https://shop.dk:443/x",
            "https://www.shop.dk:443",
            "https://shop.dk:0443/x",
            "https://shop.dk:/x",
        ] {
            let url = check_landing_url(raw, &shop()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(url.port(), None, "{raw:?}");
            let redirect = redirect_url(&url, "cc", "TOK");
            let origin = format!("https://{}/", url.host_str().unwrap_or_default());
            assert!(redirect.starts_with(&origin), "{raw:?} -> {redirect}");
        }
    }

    #[test]
    fn landing_url_field_errors() {
        assert_eq!(
            check_landing_url("", &shop()),
            Err(Error::invalid_field("landing_url", "missing"))
        );
        let long = format!("https://shop.dk/{}", "a".repeat(MAX_URL_LEN));
        assert!(message_of(check_landing_url(&long, &shop())).contains("too long"));
        let just_fits = format!("https://shop.dk/{}", "a".repeat(MAX_URL_LEN - 16));
        assert_eq!(just_fits.len(), MAX_URL_LEN);
        check_landing_url(&just_fits, &shop()).unwrap();
        // Fits as sent, but not once percent-encoded.
        let expands = format!("https://shop.dk/{}x", " ".repeat(MAX_URL_LEN - 17));
        assert!(message_of(check_landing_url(&expands, &shop())).contains("too long"));
        for raw in [
            "shop.dk",
            "//shop.dk/",
            "https://",
            "https://sh op.dk/",
            "https://shop.dk:99999/",
            "https://x%00.shop.dk/",
            "https://a.1/",
            "not a url",
        ] {
            let result = check_landing_url(raw, &shop());
            assert_eq!(field_of(result.clone()), "landing_url", "{raw:?}");
            assert_eq!(message_of(result), "malformed", "{raw:?}");
        }
    }

    #[test]
    fn landing_url_with_tabs_or_newlines_is_refused_not_stripped() {
        // The URL parser would drop these and accept `https://shop.dk/`: refuse
        // instead, so what is signed is what was sent.
        for raw in [
            "https://sh\top.dk/",
            "https://shop.dk/\n",
            "\thttps://shop.dk/",
            "https://shop.dk/?a=\r\nb",
            "https://evil.com\n.shop.dk/",
            "https://shop.dk/\u{0}",
            "https://shop.dk/\u{7f}",
        ] {
            let result = check_landing_url(raw, &shop());
            assert_eq!(field_of(result.clone()), "landing_url", "{raw:?}");
            assert!(message_of(result).contains("control"), "{raw:?}");
        }
    }

    #[test]
    fn landing_url_with_no_registered_domains_is_never_allowed() {
        assert_eq!(
            check_landing_url("https://shop.dk/", &[]),
            Err(Error::LandingUrlNotAllowed)
        );
        assert_eq!(
            check_landing_url("https://shop.dk./", &strings(&["", "."])),
            Err(Error::LandingUrlNotAllowed)
        );
    }

    #[test]
    fn host_on_domain_is_label_bounded() {
        assert!(host_on_domain("shop.dk", "shop.dk"));
        assert!(host_on_domain("a.shop.dk", "shop.dk"));
        assert!(host_on_domain("a.shop.dk", "shop.dk."));
        assert!(!host_on_domain("ashop.dk", "shop.dk"));
        assert!(!host_on_domain(".shop.dk", "shop.dk"));
        assert!(!host_on_domain("shop.dk", "a.shop.dk"));
        assert!(!host_on_domain("anything", ""));
    }

    // ---- redirect_url ----

    fn parse(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn redirect_appends_token_to_empty_query() {
        assert_eq!(
            redirect_url(&parse("https://shop.dk/p"), "cc", "TOK"),
            "https://shop.dk/p?cc=TOK"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk/p?"), "cc", "TOK"),
            "https://shop.dk/p?cc=TOK"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk"), "cc", "TOK"),
            "https://shop.dk/?cc=TOK"
        );
    }

    #[test]
    fn redirect_keeps_other_pairs_in_order_and_the_fragment() {
        assert_eq!(
            redirect_url(&parse("https://shop.dk/p?b=2&a=1#frag"), "cc", "TOK"),
            "https://shop.dk/p?b=2&a=1&cc=TOK#frag"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk:8443/p#only-fragment"), "cc", "TOK"),
            "https://shop.dk:8443/p?cc=TOK#only-fragment"
        );
    }

    #[test]
    fn redirect_replaces_every_existing_token_param() {
        assert_eq!(
            redirect_url(
                &parse("https://shop.dk/?cc=old&x=1&cc=older&cc"),
                "cc",
                "TOK"
            ),
            "https://shop.dk/?x=1&cc=TOK"
        );
        // Matched after decoding, as the shop would read it.
        assert_eq!(
            redirect_url(&parse("https://shop.dk/?c%63=old&x=1"), "cc", "TOK"),
            "https://shop.dk/?x=1&cc=TOK"
        );
        // Only exact names: `CC` and `cc2` are other parameters.
        assert_eq!(
            redirect_url(&parse("https://shop.dk/?CC=1&cc2=2"), "cc", "TOK"),
            "https://shop.dk/?CC=1&cc2=2&cc=TOK"
        );
    }

    #[test]
    fn redirect_uses_the_merchants_param_and_reencodes_as_form() {
        assert_eq!(
            redirect_url(
                &parse("https://shop.dk/?q=a+b&r=%26&s=x%20y"),
                "ref.id",
                "T-_1"
            ),
            "https://shop.dk/?q=a+b&r=%26&s=x+y&ref.id=T-_1"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk/?flag&cc=1"), "ref", "T"),
            "https://shop.dk/?flag=&cc=1&ref=T"
        );
    }

    #[test]
    fn redirect_of_a_checked_landing_url_stays_on_its_host() {
        let landing = check_landing_url("https://www.shop.dk./x?y=1#z", &shop()).unwrap();
        let redirect = parse(&redirect_url(&landing, "cc", "TOK"));
        assert_eq!(redirect.host_str(), Some("www.shop.dk."));
        assert_eq!(redirect.fragment(), Some("z"));
    }

    // ---- normalize_token_param ----

    #[test]
    fn token_param_defaults_and_accepts_safe_names() {
        assert_eq!(
            normalize_token_param("p", ""),
            Ok(DEFAULT_TOKEN_PARAM.to_owned())
        );
        for ok in [
            "cc",
            "ref",
            "Click_ID",
            "a.b-c",
            "0",
            &"x".repeat(MAX_TOKEN_PARAM_LEN),
        ] {
            assert_eq!(normalize_token_param("p", ok).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn token_param_refuses_long_or_unsafe_names() {
        let result = normalize_token_param("merchant.token_param", &"x".repeat(33));
        assert_eq!(field_of(result.clone()), "merchant.token_param");
        assert!(message_of(result).contains("too long"));
        for bad in [
            " ", " cc", "c c", "a=b", "a&b", "a#b", "a%20", "café", "a+b", "a/b",
        ] {
            let result = normalize_token_param("merchant.token_param", bad);
            assert_eq!(field_of(result.clone()), "merchant.token_param", "{bad:?}");
            assert!(message_of(result).contains("letters"), "{bad:?}");
        }
    }

    // ---- category_slug and validate_category ----

    #[test]
    fn category_slugs() {
        for (raw, want) in [
            ("Alcohol", "alcohol"),
            (" ALCOHOL ", "alcohol"),
            ("alcohol!", "alcohol"),
            ("Adult Toys", "adult-toys"),
            ("adult_toys", "adult-toys"),
            ("adult-toys", "adult-toys"),
            ("--Adult   &&  Toys--", "adult-toys"),
            ("Øl & Vin", "øl-vin"),
            ("CBD", "cbd"),
            ("18+", "18"),
            ("", ""),
            ("!!!", ""),
        ] {
            assert_eq!(category_slug(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn category_validation() {
        validate_category("campaign.category", "Sports Shoes").unwrap();
        assert_eq!(
            validate_category("campaign.category", " "),
            Err(Error::invalid_field("campaign.category", "missing"))
        );
        assert!(message_of(validate_category("c", "--!")).contains("letter"));
        assert!(
            message_of(validate_category("c", &"a".repeat(MAX_ID_LEN + 1))).contains("too long")
        );
    }

    // ---- CategoryRules ----

    #[test]
    fn default_rules_prohibit_alcohol_and_tobacco_only() {
        let rules = CategoryRules::default();
        assert!(rules.is_prohibited("alcohol"));
        assert!(rules.is_prohibited(" Alcohol! "));
        assert!(rules.is_prohibited("TOBACCO"));
        assert!(!rules.is_prohibited("shoes"));
        assert!(!rules.is_prohibited("alcohol-free beer"));
        assert!(rules.age_restricted.is_empty());
        assert!(!rules.is_age_restricted("alcohol"));
    }

    #[test]
    fn rules_slug_their_lists() {
        let rules = CategoryRules::new(
            &strings(&["Gambling", "!!"]),
            &strings(&["Adult Toys", "Energy_Drinks"]),
        );
        assert_eq!(rules.prohibited, HashSet::from(["gambling".to_owned()]));
        assert!(rules.is_prohibited("gambling"));
        assert!(!rules.is_prohibited("alcohol"));
        assert!(!rules.is_prohibited(""));
        assert!(rules.is_age_restricted("adult_toys"));
        assert!(rules.is_age_restricted("ENERGY DRINKS"));
        assert!(!rules.is_age_restricted("toys"));
    }

    // ---- check_issue ----

    #[test]
    fn issue_to_adult_on_approved_campaign() {
        let rules = CategoryRules::default();
        let c = campaign("shoes", CampaignStatus::Approved, &[]);
        for age in [AgeBracket::Adult, AgeBracket::Teen, AgeBracket::Unspecified] {
            assert_eq!(check_issue(&c, &rules, age, "any-product"), Ok(()));
        }
    }

    #[test]
    fn issue_prohibited_category_first_even_if_approved() {
        let rules = CategoryRules::default();
        let c = campaign("Alcohol", CampaignStatus::Approved, &["p"]);
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Adult, "p"),
            Err(Error::CategoryProhibited)
        );
        let c = campaign("tobacco", CampaignStatus::Pending, &["p"]);
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Under13, "other"),
            Err(Error::CategoryProhibited)
        );
    }

    #[test]
    fn issue_needs_approval() {
        let rules = CategoryRules::default();
        for status in [
            CampaignStatus::Pending,
            CampaignStatus::Rejected,
            CampaignStatus::Paused,
        ] {
            let c = campaign("shoes", status, &["p"]);
            assert_eq!(
                check_issue(&c, &rules, AgeBracket::Under13, "other"),
                Err(Error::CampaignNotApproved)
            );
        }
    }

    #[test]
    fn issue_checks_products_before_age() {
        let rules = CategoryRules::default();
        let c = campaign("shoes", CampaignStatus::Approved, &["p1", "p2"]);
        assert_eq!(check_issue(&c, &rules, AgeBracket::Adult, "p2"), Ok(()));
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Adult, "p3"),
            Err(Error::ProductNotInCampaign)
        );
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Under13, "p3"),
            Err(Error::ProductNotInCampaign)
        );
    }

    #[test]
    fn issue_never_to_under_13() {
        let rules = CategoryRules::default();
        let c = campaign("shoes", CampaignStatus::Approved, &[]);
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Under13, "p"),
            Err(Error::ViewerUnderage)
        );
        let restricted = CategoryRules::new(&[], &strings(&["shoes"]));
        assert_eq!(
            check_issue(&c, &restricted, AgeBracket::Under13, "p"),
            Err(Error::ViewerUnderage)
        );
    }

    #[test]
    fn issue_age_restricted_only_to_adults() {
        let rules = CategoryRules::new(&[], &strings(&["energy drinks"]));
        let c = campaign("Energy-Drinks", CampaignStatus::Approved, &[]);
        assert_eq!(check_issue(&c, &rules, AgeBracket::Adult, "p"), Ok(()));
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Teen, "p"),
            Err(Error::AgeRestricted)
        );
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Unspecified, "p"),
            Err(Error::AgeRestricted)
        );
    }

    // ---- review ----

    #[test]
    fn review_transitions_from_any_status() {
        let rules = CategoryRules::default();
        for status in [
            CampaignStatus::Pending,
            CampaignStatus::Approved,
            CampaignStatus::Rejected,
            CampaignStatus::Paused,
        ] {
            let c = campaign("shoes", status, &[]);
            assert_eq!(
                review(&c, ReviewDecision::Approve, &rules),
                Ok(CampaignStatus::Approved)
            );
            assert_eq!(
                review(&c, ReviewDecision::Reject, &rules),
                Ok(CampaignStatus::Rejected)
            );
            assert_eq!(
                review(&c, ReviewDecision::Pause, &rules),
                Ok(CampaignStatus::Paused)
            );
        }
    }

    #[test]
    fn review_cannot_approve_a_prohibited_category() {
        let rules = CategoryRules::default();
        let c = campaign("Tobacco", CampaignStatus::Pending, &[]);
        assert_eq!(
            review(&c, ReviewDecision::Approve, &rules),
            Err(Error::CategoryProhibited)
        );
        assert_eq!(
            review(&c, ReviewDecision::Reject, &rules),
            Ok(CampaignStatus::Rejected)
        );
        assert_eq!(
            review(&c, ReviewDecision::Pause, &rules),
            Ok(CampaignStatus::Paused)
        );
    }

    // ---- status_after_put ----

    #[test]
    fn new_campaign_is_pending() {
        assert_eq!(
            status_after_put(None, "m-1", "shoes", &[]),
            CampaignStatus::Pending
        );
    }

    #[test]
    fn unchanged_review_inputs_keep_the_status() {
        let c = campaign("Sports Shoes", CampaignStatus::Approved, &["p1", "p2"]);
        assert_eq!(
            status_after_put(Some(&c), "m-1", "Sports Shoes", &strings(&["p1", "p2"])),
            CampaignStatus::Approved
        );
        // Same slug, same set (order and repeats do not matter).
        assert_eq!(
            status_after_put(
                Some(&c),
                "m-1",
                "sports_shoes",
                &strings(&["p2", "p1", "p2"])
            ),
            CampaignStatus::Approved
        );
        let paused = campaign("shoes", CampaignStatus::Paused, &[]);
        assert_eq!(
            status_after_put(Some(&paused), "m-1", "shoes", &[]),
            CampaignStatus::Paused
        );
    }

    #[test]
    fn changed_review_inputs_go_back_to_pending() {
        let c = campaign("shoes", CampaignStatus::Approved, &["p1"]);
        assert_eq!(
            status_after_put(Some(&c), "m-2", "shoes", &strings(&["p1"])),
            CampaignStatus::Pending
        );
        assert_eq!(
            status_after_put(Some(&c), "m-1", "boots", &strings(&["p1"])),
            CampaignStatus::Pending
        );
        assert_eq!(
            status_after_put(Some(&c), "m-1", "shoes", &strings(&["p1", "p2"])),
            CampaignStatus::Pending
        );
        assert_eq!(
            status_after_put(Some(&c), "m-1", "shoes", &[]),
            CampaignStatus::Pending
        );
        let rejected = campaign("shoes", CampaignStatus::Rejected, &[]);
        assert_eq!(
            status_after_put(Some(&rejected), "m-1", "shoes", &strings(&["p"])),
            CampaignStatus::Pending
        );
    }

    // ---- attribution_window ----

    #[test]
    fn attribution_window_default_and_bounds() {
        assert_eq!(
            attribution_window("w", None),
            Ok(DEFAULT_ATTRIBUTION_WINDOW)
        );
        assert_eq!(
            attribution_window("w", Some(MIN_ATTRIBUTION_WINDOW)),
            Ok(MIN_ATTRIBUTION_WINDOW)
        );
        assert_eq!(
            attribution_window("w", Some(MAX_ATTRIBUTION_WINDOW)),
            Ok(MAX_ATTRIBUTION_WINDOW)
        );
        let day = Duration::from_secs(86_400);
        assert_eq!(attribution_window("w", Some(day)), Ok(day));
    }

    #[test]
    fn attribution_window_out_of_bounds() {
        let one_ns = Duration::from_nanos(1);
        for bad in [
            Duration::ZERO,
            MIN_ATTRIBUTION_WINDOW - one_ns,
            MAX_ATTRIBUTION_WINDOW + one_ns,
            Duration::MAX,
        ] {
            assert_eq!(
                attribution_window("campaign.attribution_window", Some(bad)),
                Err(Error::invalid_field(
                    "campaign.attribution_window",
                    "must be between 1 hour and 30 days"
                ))
            );
        }
    }

    // ---- properties ----

    /// A DNS label of letters and digits, sometimes with one inner hyphen.
    fn label() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]{1,12}",
            "[a-z0-9]{1,5}-[a-z0-9]{1,5}",
            "[A-Z][a-zA-Z0-9]{0,6}",
        ]
    }

    /// A domain that is neither shop.dk nor under it: its last label is never `dk`.
    fn evil_domain() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(label(), 0..3),
            prop::sample::select(vec!["com", "net", "evil", "org", "dkk", "d"]),
        )
            .prop_map(|(labels, tld)| {
                let mut parts = labels;
                parts.push(tld.to_owned());
                parts.join(".")
            })
    }

    fn path_query_fragment() -> impl Strategy<Value = String> {
        (
            "(/[a-zA-Z0-9._~!$&'()*+,;=:@%-]{0,10}){0,3}",
            prop::option::of("[a-zA-Z0-9._~!$&'()*+,;=:@/?%-]{0,20}"),
            prop::option::of("[a-zA-Z0-9._~!$&'()*+,;=:@/?#%-]{0,12}"),
        )
            .prop_map(|(path, query, fragment)| {
                let mut s = path;
                if let Some(q) = query {
                    s.push('?');
                    s.push_str(&q);
                }
                if let Some(f) = fragment {
                    s.push('#');
                    s.push_str(&f);
                }
                s
            })
    }

    /// Hosts and URLs that look like shop.dk but are not on it.
    fn hostile_url() -> impl Strategy<Value = String> {
        let glued_prefix =
            (prop::collection::vec(label(), 1..3), label()).prop_map(|(labels, glued)| {
                format!(
                    "https://{}{glued}shop.dk/",
                    labels.iter().map(|l| format!("{l}.")).collect::<String>()
                )
            });
        let simple_prefix = label().prop_map(|l| format!("https://{l}shop.dk/"));
        let glued_suffix = "[a-z0-9-]{1,8}".prop_map(|s| format!("https://shop.dk{s}/"));
        let dotted_suffix = evil_domain().prop_map(|evil| format!("https://shop.dk.{evil}/"));
        let encoded_dot = evil_domain().prop_map(|evil| format!("https://shop.dk%2e{evil}/"));
        let sub_then_evil =
            (label(), evil_domain()).prop_map(|(l, evil)| format!("https://{l}.shop.dk.{evil}/"));
        let userinfo = (
            prop::option::of(label()),
            evil_domain(),
            prop::option::of("[a-z0-9]{0,6}"),
        )
            .prop_map(|(sub, evil, pw)| {
                let user = sub.map_or("shop.dk".to_owned(), |s| format!("{s}.shop.dk"));
                match pw {
                    Some(pw) => format!("https://{user}:{pw}@{evil}/"),
                    None => format!("https://{user}@{evil}/"),
                }
            });
        let separator_tricks = (
            evil_domain(),
            prop::sample::select(vec!["\\@", "#@", "?@", "/@", "\\", ";@"]),
        )
            .prop_map(|(evil, sep)| format!("https://{evil}{sep}shop.dk/"));
        let own_userinfo = label().prop_map(|u| format!("https://{u}@shop.dk/"));
        let wrong_scheme = (
            prop::sample::select(vec!["http", "ftp", "javascript", "data", "wss", "file"]),
            label(),
        )
            .prop_map(|(scheme, l)| format!("{scheme}://{l}.shop.dk/"));
        let ip =
            (any::<[u8; 4]>(), any::<[u16; 8]>(), any::<bool>()).prop_map(|(v4, v6, use_v4)| {
                if use_v4 {
                    format!("https://{}.{}.{}.{}/", v4[0], v4[1], v4[2], v4[3])
                } else {
                    let v6: Vec<String> = v6.iter().map(|g| format!("{g:x}")).collect();
                    format!("https://[{}]/", v6.join(":"))
                }
            });
        prop_oneof![
            glued_prefix,
            simple_prefix,
            glued_suffix,
            dotted_suffix,
            encoded_dot,
            sub_then_evil,
            userinfo,
            separator_tricks,
            own_userinfo,
            wrong_scheme,
            ip,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn hostile_urls_are_never_allowed(raw in hostile_url(), tail in path_query_fragment()) {
            let raw = format!("{}{}", raw.trim_end_matches('/'), if tail.is_empty() { "/" } else { &tail });
            let result = check_landing_url(&raw, &shop());
            let refused = matches!(
                &result,
                Err(Error::LandingUrlNotAllowed)
            ) || matches!(&result, Err(Error::InvalidField { field, .. }) if field == "landing_url");
            prop_assert!(refused, "{raw:?} -> {result:?}");
        }

        #[test]
        fn subdomains_of_shop_dk_are_allowed(
            labels in prop::collection::vec(label(), 0..5),
            upper in any::<bool>(),
            trailing_dot in any::<bool>(),
            explicit_443 in any::<bool>(),
            tail in path_query_fragment(),
        ) {
            let mut host: String = labels.iter().map(|l| format!("{l}.")).collect();
            host.push_str("shop.dk");
            if upper {
                host = host.to_uppercase();
            }
            if trailing_dot {
                host.push('.');
            }
            let port = if explicit_443 { ":443" } else { "" };
            let raw = format!("https://{host}{port}{tail}");
            let url = check_landing_url(&raw, &shop());
            prop_assert!(url.is_ok(), "{raw:?} -> {url:?}");
            let url = url.unwrap();
            prop_assert_eq!(url.port(), None);
            let got = url.host_str().unwrap_or_default().trim_end_matches('.').to_owned();
            prop_assert_eq!(got, host.trim_end_matches('.').to_lowercase());
        }

        #[test]
        fn other_ports_of_shop_dk_are_never_allowed(
            labels in prop::collection::vec(label(), 0..3),
            port in 0u16..,
            tail in path_query_fragment(),
        ) {
            prop_assume!(port != 443);
            let subdomains: String = labels.iter().map(|l| format!("{l}.")).collect();
            let raw = format!("https://{subdomains}shop.dk:{port}{tail}");
            prop_assert_eq!(check_landing_url(&raw, &shop()), Err(Error::LandingUrlNotAllowed), "{:?}", raw);
        }

        #[test]
        fn redirect_sets_exactly_one_token_and_keeps_the_rest(
            pairs in prop::collection::vec(
                (prop_oneof![Just("cc".to_owned()), Just("CC".to_owned()), Just("utm_source".to_owned()), "\\PC{0,6}"], "\\PC{0,10}"),
                0..8,
            ),
            host_labels in prop::collection::vec(label(), 0..3),
            fragment in prop::option::of("\\PC{0,10}"),
            token in "[A-Za-z0-9_-]{1,100}",
        ) {
            let host: String = host_labels.iter().map(|l| format!("{l}.")).collect::<String>() + "shop.dk";
            let mut landing = Url::parse(&format!("https://{host}/p/q")).unwrap();
            if !pairs.is_empty() {
                landing.query_pairs_mut().extend_pairs(&pairs);
            }
            landing.set_fragment(fragment.as_deref());
            let landing = check_landing_url(landing.as_str(), &shop()).unwrap();

            let redirect = Url::parse(&redirect_url(&landing, "cc", &token)).unwrap();
            let got: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
            let tokens: Vec<&(String, String)> = got.iter().filter(|(k, _)| k == "cc").collect();
            prop_assert_eq!(tokens.len(), 1);
            prop_assert_eq!(&tokens[0].1, &token);
            prop_assert_eq!(got.last().map(|(k, _)| k.as_str()), Some("cc"));
            let others: Vec<&(String, String)> = got.iter().filter(|(k, _)| k != "cc").collect();
            let want: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "cc").collect();
            prop_assert_eq!(others, want);
            prop_assert_eq!(redirect.fragment(), landing.fragment());
            prop_assert_eq!(redirect.host(), landing.host());
            prop_assert_eq!(redirect.port(), landing.port());
            prop_assert_eq!(redirect.path(), landing.path());
            prop_assert_eq!(redirect.scheme(), "https");
        }

        #[test]
        fn redirect_keeps_pairs_of_any_raw_query(query in "[^#\\x00-\\x1f]{0,40}", token in "[A-Za-z0-9_-]{1,20}") {
            let landing = Url::parse(&format!("https://shop.dk/?{query}#frag"));
            prop_assume!(landing.is_ok());
            let landing = landing.unwrap();
            let redirect = Url::parse(&redirect_url(&landing, "cc", &token)).unwrap();
            let before: Vec<(String, String)> = landing.query_pairs().into_owned().filter(|(k, _)| k != "cc").collect();
            let after: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
            prop_assert_eq!(&after[..after.len() - 1], &before[..]);
            prop_assert_eq!(&after[after.len() - 1], &("cc".to_owned(), token));
            prop_assert_eq!(redirect.fragment(), Some("frag"));
            prop_assert_eq!(redirect.host_str(), Some("shop.dk"));
        }

        #[test]
        fn landing_url_never_panics_on_any_string(raw in ".*") {
            if let Ok(url) = check_landing_url(&raw, &shop()) {
                let _ = redirect_url(&url, "cc", "t");
            }
        }

        #[test]
        fn landing_url_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let raw = String::from_utf8_lossy(&bytes);
            let _ = check_landing_url(&raw, &shop());
            let _ = check_landing_url(&format!("https://{raw}"), &shop());
            let _ = check_landing_url(&format!("https://shop.dk/{raw}"), &shop());
            let _ = normalize_domain("d", &raw);
        }

        #[test]
        fn landing_url_never_panics_on_url_like_strings(
            host in "[a-zA-Z0-9.%@:\\[\\]\\\\/#?*\u{ff0e}\u{3002}-]{0,30}",
            tail in ".{0,20}",
        ) {
            let raw = format!("https://{host}{tail}");
            if let Ok(url) = check_landing_url(&raw, &shop()) {
                let host = url.host_str().unwrap_or_default().trim_end_matches('.');
                prop_assert!(host == "shop.dk" || host.ends_with(".shop.dk"), "{raw:?} -> {url}");
                prop_assert_eq!(url.port(), None);
                prop_assert_eq!(url.scheme(), "https");
                prop_assert!(url.username().is_empty() && url.password().is_none());
            }
        }

        #[test]
        fn normalised_domains_are_accepted_landing_hosts(labels in prop::collection::vec(label(), 1..4), tld in "[a-z]{2,6}") {
            let raw = format!("{}.{tld}", labels.join("."));
            // Names that are themselves public suffixes (`co.uk`, any `x.bd`)
            // are refused, see `domain_refuses_public_suffixes`.
            prop_assume!(psl::domain(raw.to_lowercase().as_bytes()).is_some());
            let domain = normalize_domain("d", &raw).unwrap();
            prop_assert_eq!(&domain, &raw.to_lowercase());
            let allowed = vec![domain.clone()];
            let landing = format!("https://{domain}/");
            prop_assert!(check_landing_url(&landing, &allowed).is_ok());
            let landing = format!("https://www.{domain}/");
            prop_assert!(check_landing_url(&landing, &allowed).is_ok());
            let landing = format!("https://x{domain}/");
            prop_assert_eq!(check_landing_url(&landing, &allowed), Err(Error::LandingUrlNotAllowed));
        }

        #[test]
        fn validate_id_accepts_exactly_printable_ascii_up_to_128(
            value in prop_oneof![".*", "[!-~]{0,140}", "[ -~]{0,140}", "[\\x00-\\x7f]{0,130}"],
        ) {
            let expected = (1..=MAX_ID_LEN).contains(&value.len())
                && value.bytes().all(|b| (0x21..=0x7e).contains(&b));
            prop_assert_eq!(validate_id("id", &value).is_ok(), expected, "{:?}", value);
        }

        #[test]
        fn category_slug_is_idempotent_and_clean(raw in ".*") {
            let slug = category_slug(&raw);
            prop_assert_eq!(category_slug(&slug), slug.clone());
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
            prop_assert!(slug.chars().all(|c| c == '-' || c.is_alphanumeric()));
        }

        #[test]
        fn money_accepts_exactly_the_bounded_range(amount in any::<i64>()) {
            prop_assert_eq!(validate_money("DKK", amount).is_ok(), (0..=MAX_AMOUNT_MINOR).contains(&amount));
        }
    }
}
