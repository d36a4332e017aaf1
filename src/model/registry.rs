//! The registry's types: merchants, their campaigns and how a campaign
//! stands in review.

use std::time::Duration;

use super::earnings::CommissionTerms;
use super::ids::{CampaignId, MerchantId, ProductId};

/// Default attribution window of a campaign that sets none (API.md).
pub(crate) const DEFAULT_ATTRIBUTION_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// Shortest attribution window a campaign may set.
pub(crate) const MIN_ATTRIBUTION_WINDOW: Duration = Duration::from_secs(3600);
/// Longest attribution window a campaign may set.
pub(crate) const MAX_ATTRIBUTION_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// The token parameter of a merchant that names none.
pub(crate) const DEFAULT_TOKEN_PARAM: &str = "cc";

/// A merchant: a webshop that pays for attributed sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    /// The merchant's id.
    pub merchant_id: MerchantId,
    /// Name shown on dashboards.
    pub display_name: String,
    /// Registered domains, lower case and in punycode; landing URLs must be on one.
    pub allowed_domains: Vec<String>,
    /// The query parameter that carries the token into the shop.
    pub token_param: String,
}

/// Where a campaign stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStatus {
    /// New or changed, waiting for review.
    Pending,
    /// Issues tokens.
    Approved,
    /// Reviewed and refused.
    Rejected,
    /// Stopped by an operator until approved again.
    Paused,
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReviewDecision {
    /// The campaign may issue tokens.
    Approve,
    /// The campaign may not issue tokens.
    Reject,
    /// The campaign stops issuing tokens for now.
    Pause,
}

/// A campaign: a merchant's products promoted in videos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// The campaign's id.
    pub campaign_id: CampaignId,
    /// The merchant that pays for it.
    pub merchant_id: MerchantId,
    /// The category as the merchant wrote it; rules match on its slug.
    pub category: String,
    /// How long after a click a sale is attributed to it.
    pub attribution_window: Duration,
    /// Products in the campaign; empty means any.
    pub product_ids: Vec<ProductId>,
    /// What its clicks earn their creators, taken at each click.
    pub terms: CommissionTerms,
    /// Review status.
    pub status: CampaignStatus,
    /// The reason given with the last review decision.
    pub review_reason: String,
    /// Bumped on every write, so a review never applies to a campaign that
    /// changed under it (compare-and-set in the store).
    pub revision: u64,
}

/// A viewer's age bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgeBracket {
    /// Age unknown: a minor for age-restricted categories.
    Unspecified,
    /// Under 13: never issued a token.
    Under13,
    /// 13 to 17.
    Teen,
    /// 18 or older.
    Adult,
}

/// Which campaigns a listing selects: each `None` is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignQuery {
    /// One merchant's campaigns.
    pub merchant_id: Option<MerchantId>,
    /// Those in this status.
    pub status: Option<CampaignStatus>,
}

impl CampaignQuery {
    /// Whether `campaign` is selected.
    pub fn selects(&self, campaign: &Campaign) -> bool {
        self.merchant_id
            .as_ref()
            .is_none_or(|merchant| campaign.merchant_id == *merchant)
            && self.status.is_none_or(|status| campaign.status == status)
    }
}
