// placeholder: replaced by the real module
use crate::error::{Error, Result};
use crate::model::*;
use std::collections::HashSet;
pub const MAX_ID_LEN: usize = 128;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
pub fn validate_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_field(field, "missing"));
    }
    Ok(())
}
pub fn validate_money(currency_code: &str, amount_minor: i64) -> Result<Money> {
    Ok(Money {
        currency: currency_code.into(),
        amount_minor,
    })
}
pub fn normalize_domain(_field: &str, raw: &str) -> Result<String> {
    Ok(raw.to_lowercase())
}
pub fn check_landing_url(raw: &str, _allowed: &[String]) -> Result<url::Url> {
    url::Url::parse(raw).map_err(|_| Error::invalid_field("landing_url", "malformed"))
}
pub fn redirect_url(landing: &url::Url, token_param: &str, token: &str) -> String {
    let mut u = landing.clone();
    u.query_pairs_mut().append_pair(token_param, token);
    u.into()
}
pub fn normalize_token_param(_field: &str, raw: &str) -> Result<String> {
    Ok(if raw.is_empty() {
        DEFAULT_TOKEN_PARAM.into()
    } else {
        raw.into()
    })
}
pub fn category_slug(raw: &str) -> String {
    raw.trim().to_lowercase()
}
#[derive(Debug, Clone)]
pub struct CategoryRules {
    pub prohibited: HashSet<String>,
    pub age_restricted: HashSet<String>,
}
impl CategoryRules {
    pub fn new(p: &[String], a: &[String]) -> Self {
        CategoryRules {
            prohibited: p.iter().map(|s| category_slug(s)).collect(),
            age_restricted: a.iter().map(|s| category_slug(s)).collect(),
        }
    }
    pub fn is_prohibited(&self, c: &str) -> bool {
        self.prohibited.contains(&category_slug(c))
    }
    pub fn is_age_restricted(&self, c: &str) -> bool {
        self.age_restricted.contains(&category_slug(c))
    }
}
impl Default for CategoryRules {
    fn default() -> Self {
        Self::new(&["alcohol".into(), "tobacco".into()], &[])
    }
}
pub fn check_issue(c: &Campaign, _r: &CategoryRules, _a: AgeBracket, _p: &str) -> Result<()> {
    if c.status != CampaignStatus::Approved {
        return Err(Error::CampaignNotApproved);
    }
    Ok(())
}
pub fn review(_c: &Campaign, d: ReviewDecision, _r: &CategoryRules) -> Result<CampaignStatus> {
    Ok(match d {
        ReviewDecision::Approve => CampaignStatus::Approved,
        ReviewDecision::Reject => CampaignStatus::Rejected,
        ReviewDecision::Pause => CampaignStatus::Paused,
    })
}
pub fn status_after_put(
    _e: Option<&Campaign>,
    _m: &str,
    _c: &str,
    _p: &[String],
) -> CampaignStatus {
    CampaignStatus::Pending
}
pub fn attribution_window(_f: &str, w: Option<std::time::Duration>) -> Result<std::time::Duration> {
    Ok(w.unwrap_or(DEFAULT_ATTRIBUTION_WINDOW))
}
