//! The service's operations over validated domain types: what happens on a
//! tap, a sale, a counter read, an admin write. The gRPC adapters in `api/`
//! decode and validate requests, call these, and map the errors; the rules
//! themselves live in `policy` (pure), the token format in `token` (pure), and
//! atomicity in the store.

mod earnings;
mod listing;

pub(crate) use earnings::{CommissionFilter, PayoutRequest, ReviewRequest};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::{Caller, secret_sha256};
use crate::clock::Clock;
use crate::config::Policy;
use crate::error::{Error, Result};
use crate::model::{
    AgeBracket, Attribution, BucketRange, Campaign, ClickRecord, CommissionTerms, Counts,
    Dimension, Granularity, Merchant, Money, NewClick, NewReversal, NewSale, ReversalOutcome,
    ReviewDecision, SaleOutcome, Signals, TapFraud, TopEntry, TopMetric,
};
use crate::model::{
    ApiKey, CampaignId, CreatorId, Grant, KeyId, MerchantId, OrderId, ProductId, ReversalId,
    VideoId,
};
use crate::policy;
use crate::privacy::ViewerPepper;
use crate::reconcile::ReconcileReport;
use crate::registry::RegistryCache;
use crate::store::{ClickWrite, ReversalWrite, SaleWrite, Store};
use crate::telemetry::metrics;
use crate::token::{Claims, ClickId, KeyRing, TokenError};

/// How often a campaign write is retried when another write came first.
const CAMPAIGN_WRITE_ATTEMPTS: usize = 8;
/// How often a refund or a payout is planned again when the totals it was
/// planned from moved under it (a payout's move with every sale and refund
/// of its creator: past this, STORE_UNAVAILABLE, safe to retry).
const MONEY_WRITE_ATTEMPTS: usize = 16;

/// A viewer's tap on a cart, validated.
#[derive(Debug, Clone)]
pub(crate) struct Tap {
    /// The viewer: hashed before anything is stored.
    pub(crate) viewer_id: String,
    /// The video the cart was tapped on.
    pub(crate) video_id: VideoId,
    /// The video's creator.
    pub(crate) creator_id: CreatorId,
    /// The cart's campaign.
    pub(crate) campaign_id: CampaignId,
    /// The cart's product.
    pub(crate) product_id: ProductId,
    /// Where the viewer goes.
    pub(crate) landing_url: String,
    /// The viewer's age bracket.
    pub(crate) age: AgeBracket,
}

/// What a tap gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuedToken {
    /// The signed token.
    pub(crate) token: String,
    /// The landing URL with the token in it.
    pub(crate) redirect_url: String,
    /// The click the token stands for.
    pub(crate) click_id: ClickId,
    /// End of the attribution window.
    pub(crate) expires_at: DateTime<Utc>,
    /// A repeat tap inside the dedup window.
    pub(crate) deduplicated: bool,
    /// The click's fraud signals (a repeat's first tap's).
    pub(crate) signals: Signals,
}

/// A campaign as an admin writes it; review state is the service's.
#[derive(Debug, Clone)]
pub(crate) struct CampaignSpec {
    /// The campaign's id.
    pub(crate) campaign_id: CampaignId,
    /// The merchant that pays for it.
    pub(crate) merchant_id: MerchantId,
    /// Its category.
    pub(crate) category: String,
    /// Its attribution window, validated.
    pub(crate) attribution_window: Duration,
    /// Its products; empty means any.
    pub(crate) product_ids: Vec<ProductId>,
    /// Its commission terms, validated; a change does not send it back to review.
    pub(crate) terms: CommissionTerms,
}

/// Counters over a range: one bucket per step and their sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CounterSeries {
    /// (bucket start, counts), oldest first.
    pub(crate) buckets: Vec<(DateTime<Utc>, Counts)>,
    /// The sum of the buckets.
    pub(crate) total: Counts,
    /// Start of the first bucket.
    pub(crate) start: DateTime<Utc>,
}

/// A new API key: its id and its secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreatedKey {
    /// The key's id, for revocation.
    pub(crate) key_id: KeyId,
    /// The bearer secret.
    pub(crate) secret: String,
}

/// The service: its store, keys, rules and clock.
pub struct Cartclick {
    /// Where clicks, sales, counters and the registry live.
    store: Arc<dyn Store>,
    /// Signs and verifies tokens.
    keys: KeyRing,
    /// Keys the viewer-id hash.
    pepper: ViewerPepper,
    /// The platform's rules.
    policy: Policy,
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// Campaigns and merchants read on the hot path, cached briefly.
    registry: RegistryCache,
    /// Keys the page tokens of listings (derived from the pepper).
    page_key: [u8; 32],
    /// The config file's API keys, by id: listed beside the stored ones.
    config_keys: Vec<ApiKey>,
}

impl Cartclick {
    /// The service over `store`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        keys: KeyRing,
        pepper: ViewerPepper,
        policy: Policy,
        clock: Arc<dyn Clock>,
        config_keys: &[ApiKey],
    ) -> Self {
        let mut config_keys = config_keys.to_vec();
        config_keys.sort_by(|a, b| a.id.cmp(&b.id));
        Cartclick {
            config_keys,
            store,
            keys,
            page_key: pepper.derive_key("page tokens"),
            pepper,
            policy,
            clock,
            registry: RegistryCache::default(),
        }
    }

    /// The key of listings' page tokens: every replica of one config has it.
    pub(crate) fn page_key(&self) -> &[u8; 32] {
        &self.page_key
    }

    /// The time now, by the service's clock: for defaults that mean today.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The store, for health checks.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A tap: checks the campaign and the viewer, records the click (or
    /// finds the first click of a repeat), and signs its token, once.
    pub(crate) async fn issue_token(&self, tap: Tap) -> Result<IssuedToken> {
        let campaign = self
            .cached_campaign(&tap.campaign_id)
            .await?
            .ok_or(Error::CampaignNotFound)?;
        policy::check_issue(&campaign, &self.policy.categories, tap.age, &tap.product_id)?;
        let merchant = self
            .cached_merchant(&campaign.merchant_id)
            .await?
            .ok_or(Error::MerchantNotFound)?;
        tracing::Span::current().record("merchant_id", merchant.merchant_id.as_str());
        let landing = policy::check_landing_url(&tap.landing_url, &merchant.allowed_domains)?;

        let now = self.clock.now();
        let issued_at = now.timestamp();
        let expires_at = issued_at + campaign.attribution_window.as_secs() as i64;
        let viewer_hash = self.pepper.viewer_hash(&tap.viewer_id);
        let fraud = self.policy.fraud.map(|rules| TapFraud {
            rules,
            self_referral: policy::is_self_referral(&tap.viewer_id, &tap.creator_id),
        });
        let click = NewClick {
            dedup_key: self.pepper.dedup_key(
                &viewer_hash,
                &tap.campaign_id,
                &tap.video_id,
                &tap.product_id,
            ),
            record: ClickRecord {
                // Unplaced: the store puts the click on its shard.
                click_id: ClickId::random(),
                attribution: Attribution {
                    merchant_id: merchant.merchant_id.clone(),
                    campaign_id: tap.campaign_id,
                    creator_id: tap.creator_id,
                    video_id: tap.video_id,
                    product_id: tap.product_id,
                },
                terms: campaign.terms,
                viewer_hash: Some(viewer_hash),
                clicked_at: now,
                expires_at: timestamp(expires_at),
                signals: Signals::NONE,
            },
            kid: self.keys.active_kid().to_owned(),
            dedup_window: self.policy.dedup_window,
            tap_limit: self.policy.tap_rate_limit_per_minute.get(),
            tap_window: policy::TAP_RATE_WINDOW,
            fraud,
        };
        // What the token stands for, and the key that signs it: the new
        // click's, or the first click's of a repeat tap.
        let (claims, kid, expires_at, deduplicated, signals) =
            match self.store.record_click(&click).await? {
                ClickWrite::New(click_id, signals) => {
                    metrics().tokens_issued.add(1, &[]);
                    metrics().flagged(signals, "click");
                    let claims = Claims {
                        click_id,
                        issued_at: issued_at as u64,
                        expires_at: expires_at as u64,
                    };
                    (claims, click.kid, click.record.expires_at, false, signals)
                }
                ClickWrite::Repeat(first) => {
                    let claims = Claims {
                        click_id: first.click_id,
                        issued_at: first.clicked_at.timestamp().max(0) as u64,
                        expires_at: first.expires_at.timestamp().max(0) as u64,
                    };
                    (claims, first.kid, first.expires_at, true, first.signals)
                }
                ClickWrite::Limited => return Err(Error::RateLimited),
            };
        // Signed once. A repeat's key re-signs the same claims: the same
        // token. Only if that key has left the ring since does it change.
        let token = self
            .keys
            .sign_with(&kid, &merchant.merchant_id, &claims)
            .unwrap_or_else(|| self.keys.sign(&merchant.merchant_id, &claims));
        Ok(IssuedToken {
            redirect_url: policy::redirect_url(&landing, &merchant.token_param, &token),
            token,
            click_id: claims.click_id,
            expires_at,
            deduplicated,
            signals,
        })
    }

    /// A merchant's sale: verifies the token for the merchant and attributes
    /// the order to its click, exactly once.
    pub(crate) async fn confirm_sale(
        &self,
        merchant_id: &MerchantId,
        token: &str,
        order_id: OrderId,
        amount: Money,
    ) -> Result<SaleOutcome> {
        let now = self.clock.now();
        let (claims, token_expired) =
            match self
                .keys
                .verify(merchant_id, token, now.timestamp().max(0) as u64)
            {
                Ok(claims) => (claims, false),
                Err(TokenError::Expired(claims)) => (claims, true),
                Err(TokenError::Invalid) => return Err(Error::TokenInvalid),
            };
        // A click in the sale's future, beyond what clocks may disagree by,
        // is not a click this sale can come from.
        let skew = self.policy.clock_skew.as_secs();
        if claims.issued_at > (now.timestamp().max(0) as u64).saturating_add(skew) {
            return Err(Error::TokenInvalid);
        }
        let sale = NewSale {
            merchant_id: merchant_id.clone(),
            order_id,
            click_id: claims.click_id,
            click_expires_at: timestamp(claims.expires_at.min(i64::MAX as u64) as i64),
            amount,
            now,
            token_expired,
            fraud: self.policy.fraud,
        };
        let outcome = sale_answer(&sale, self.store.confirm_sale(&sale).await?)?;
        if !outcome.replayed {
            metrics().sales_confirmed.add(1, &[]);
            metrics().flagged(outcome.sale.signals, "sale");
        }
        Ok(outcome)
    }

    /// A merchant's refund of a confirmed order, exactly once per reversal
    /// id; a refund of zero is refused before anything is recorded.
    pub(crate) async fn reverse_sale(
        &self,
        merchant_id: &MerchantId,
        order_id: OrderId,
        reversal_id: ReversalId,
        amount: Money,
    ) -> Result<ReversalOutcome> {
        policy::check_reversal_amount(&amount)?;
        let mut reversal = NewReversal {
            merchant_id: merchant_id.clone(),
            order_id,
            reversal_id,
            amount,
            now: self.clock.now(),
            plan: None,
        };
        // A sale with a commission needs a plan for it, made here from the
        // totals the store quotes (a product of two amounts is past what
        // a script computes exactly); the store writes it only if those
        // totals still stand, else quotes again.
        for _ in 0..MONEY_WRITE_ATTEMPTS {
            match self.store.reverse_sale(&reversal).await? {
                ReversalWrite::Quote(order) => {
                    reversal.plan = Some(policy::refund_plan(&order, reversal.amount.amount_minor));
                }
                write => return reversal_answer(&reversal, write),
            }
        }
        // Only under a storm of concurrent refunds of one order.
        Err(Error::StoreUnavailable)
    }

    /// The top ids of a dimension on a UTC day, over all merchants or one:
    /// the one `requested` as `caller` may rank within
    /// ([`policy::top_list_scope`]).
    pub(crate) async fn list_top(
        &self,
        caller: &Caller,
        dimension: Dimension,
        day: NaiveDate,
        metric: TopMetric,
        limit: usize,
        requested: Option<MerchantId>,
    ) -> Result<Vec<TopEntry>> {
        let merchant = policy::top_list_scope(&caller.grant, requested)?;
        let day_start = day
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp();
        self.store
            .list_top(dimension, day_start, &metric, limit, merchant.as_deref())
            .await
    }

    /// The current hour's counters of one id (all merchants', or one's share).
    pub(crate) async fn current_hour(
        &self,
        dimension: Dimension,
        id: &str,
        merchant: Option<&str>,
    ) -> Result<(DateTime<Utc>, Counts)> {
        let start = timestamp(Granularity::Hour.bucket_start(self.clock.now()));
        let range = BucketRange {
            granularity: Granularity::Hour,
            first: start.timestamp(),
            count: 1,
        };
        let counts = self
            .store
            .read_counters(dimension, id, range, merchant)
            .await?;
        Ok((start, counts.into_iter().next().unwrap_or_default()))
    }

    /// Counters of one id over `[start, end)`, widened to whole buckets:
    /// all merchants' or, with `merchant`, that merchant's share.
    pub(crate) async fn get_counters(
        &self,
        dimension: Dimension,
        id: &str,
        granularity: Granularity,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        merchant: Option<&str>,
    ) -> Result<CounterSeries> {
        let range = policy::counter_range(granularity, start, end)?;
        let counts = self
            .store
            .read_counters(dimension, id, range, merchant)
            .await?;
        let mut total = Counts::default();
        let buckets = range
            .starts()
            .zip(counts)
            .map(|(start, counts)| {
                total.add(&counts);
                (timestamp(start), counts)
            })
            .collect();
        Ok(CounterSeries {
            buckets,
            total,
            start: timestamp(range.first),
        })
    }

    /// May `caller` read the counters of `id` in `dimension`, and whose
    /// share? Dashboards and admins read everything (`None`: all merchants);
    /// a merchant key reads its own merchant, its campaigns and its share of
    /// any product (`Some(own merchant)`); anything else is PERMISSION_DENIED.
    /// The rules are [`policy::counter_share`] and
    /// [`policy::check_counter_read`]; this finds the campaign's merchant.
    pub(crate) async fn authorize_counters(
        &self,
        caller: &Caller,
        dimension: Dimension,
        id: &str,
    ) -> Result<Option<MerchantId>> {
        let Some(own) = policy::counter_share(&caller.grant)? else {
            return Ok(None);
        };
        let campaign_merchant = match dimension {
            Dimension::Campaign => self
                .cached_campaign(id)
                .await?
                .map(|campaign| campaign.merchant_id.clone()),
            _ => None,
        };
        policy::check_counter_read(own, dimension, id, campaign_merchant.as_ref())?;
        Ok(Some(own.clone()))
    }

    /// Recounts a merchant's UTC day from its raw records (see `reconcile`).
    pub async fn reconcile(
        &self,
        merchant_id: &MerchantId,
        day: NaiveDate,
    ) -> Result<ReconcileReport> {
        crate::reconcile::reconcile(self.store.as_ref(), merchant_id, day).await
    }

    async fn cached_campaign(&self, campaign_id: &str) -> Result<Option<Arc<Campaign>>> {
        if let Some(cached) = self.registry.campaign(campaign_id) {
            return Ok(cached);
        }
        let campaign = self.store.get_campaign(campaign_id).await?.map(Arc::new);
        self.registry.put_campaign(campaign_id, campaign.clone());
        Ok(campaign)
    }

    async fn cached_merchant(&self, merchant_id: &str) -> Result<Option<Arc<Merchant>>> {
        if let Some(cached) = self.registry.merchant(merchant_id) {
            return Ok(cached);
        }
        let merchant = self.store.get_merchant(merchant_id).await?.map(Arc::new);
        self.registry.put_merchant(merchant_id, merchant.clone());
        Ok(merchant)
    }

    /// Makes an API key: a random id and secret; only the secret's hash is
    /// stored. The secret is in the answer and nowhere else.
    pub(crate) async fn create_api_key(&self, grant: Grant, label: &str) -> Result<CreatedKey> {
        if let Some(merchant_id) = grant.merchant()
            && self.store.get_merchant(merchant_id).await?.is_none()
        {
            return Err(Error::MerchantNotFound);
        }
        let key_id = KeyId::stored(format!("key_{}", hex::encode(rand::random::<[u8; 8]>())));
        let secret = format!("cc_{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
        let key = ApiKey {
            id: key_id.clone(),
            grant,
            sha256: secret_sha256(&secret),
        };
        self.store
            .put_api_key(&key, label, self.clock.now())
            .await?;
        Ok(CreatedKey { key_id, secret })
    }

    /// Revokes a stored API key; false when there is no such key.
    pub(crate) async fn revoke_api_key(&self, key_id: &KeyId) -> Result<bool> {
        self.store.revoke_api_key(key_id).await
    }

    /// Unlinks a viewer from everything stored; returns the clicks unlinked.
    pub(crate) async fn erase_viewer(&self, viewer_id: &str) -> Result<u64> {
        self.store
            .erase_viewer(&self.pepper.viewer_hash(viewer_id))
            .await
    }

    /// Creates or replaces a merchant.
    pub(crate) async fn put_merchant(&self, merchant: Merchant) -> Result<Merchant> {
        self.store.put_merchant(&merchant).await?;
        self.registry.forget_merchant(&merchant.merchant_id);
        Ok(merchant)
    }

    /// Reads a merchant `caller` may read (an admin any, a merchant key
    /// its own).
    pub(crate) async fn get_merchant(
        &self,
        caller: &Caller,
        merchant_id: &MerchantId,
    ) -> Result<Merchant> {
        policy::check_merchant_read(&caller.grant, merchant_id)?;
        self.store
            .get_merchant(merchant_id)
            .await?
            .ok_or(Error::MerchantNotFound)
    }

    /// Reads a campaign.
    pub(crate) async fn get_campaign(&self, campaign_id: &CampaignId) -> Result<Campaign> {
        self.store
            .get_campaign(campaign_id)
            .await?
            .ok_or(Error::CampaignNotFound)
    }

    /// Creates or updates a campaign; a new campaign, or a change of
    /// merchant, category or products, goes back to review.
    pub(crate) async fn put_campaign(&self, spec: CampaignSpec) -> Result<Campaign> {
        if self.store.get_merchant(&spec.merchant_id).await?.is_none() {
            return Err(Error::MerchantNotFound);
        }
        self.update_campaign(&spec.campaign_id.clone(), |existing| {
            let status = policy::status_after_put(
                existing,
                &spec.merchant_id,
                &spec.category,
                &spec.product_ids,
            );
            let review_reason = match existing {
                Some(old) if old.status == status => old.review_reason.clone(),
                _ => String::new(),
            };
            Ok(Campaign {
                campaign_id: spec.campaign_id.clone(),
                merchant_id: spec.merchant_id.clone(),
                category: spec.category.clone(),
                attribution_window: spec.attribution_window,
                product_ids: spec.product_ids.clone(),
                terms: spec.terms,
                status,
                review_reason,
                revision: existing.map_or(1, |old| old.revision + 1),
            })
        })
        .await
    }

    /// Applies a reviewer's decision.
    pub(crate) async fn review_campaign(
        &self,
        campaign_id: &CampaignId,
        decision: ReviewDecision,
        reason: String,
    ) -> Result<Campaign> {
        self.update_campaign(campaign_id, |existing| {
            let existing = existing.ok_or(Error::CampaignNotFound)?;
            let status = policy::review(existing, decision, &self.policy.categories)?;
            Ok(Campaign {
                status,
                review_reason: reason.clone(),
                revision: existing.revision + 1,
                ..existing.clone()
            })
        })
        .await
    }

    /// Read, change, compare-and-set: a review never lands on a campaign that
    /// changed under it, and a change never keeps an approval it should lose.
    async fn update_campaign(
        &self,
        campaign_id: &str,
        change: impl Fn(Option<&Campaign>) -> Result<Campaign>,
    ) -> Result<Campaign> {
        for _ in 0..CAMPAIGN_WRITE_ATTEMPTS {
            let existing = self.store.get_campaign(campaign_id).await?;
            let updated = change(existing.as_ref())?;
            let expected = existing.map(|c| c.revision);
            if self.store.put_campaign(&updated, expected).await? {
                self.registry.forget_campaign(campaign_id);
                return Ok(updated);
            }
        }
        // Only under a storm of concurrent writes to one campaign: safe to retry.
        Err(Error::StoreUnavailable)
    }
}

/// What a sale's write means: a new sale, or a replay of the order's first
/// sale when [`policy::is_same_sale`] (also after the token expired), else
/// `ORDER_CONFLICT`; `TOKEN_EXPIRED` or `CLICK_NOT_FOUND` when nothing was
/// written for those reasons.
fn sale_answer(sale: &NewSale, write: SaleWrite) -> Result<SaleOutcome> {
    match write {
        SaleWrite::New(record) => Ok(SaleOutcome {
            sale: record,
            replayed: false,
        }),
        SaleWrite::Existing(first)
            if policy::is_same_sale(&first, &sale.click_id, &sale.amount) =>
        {
            Ok(SaleOutcome {
                sale: first,
                replayed: true,
            })
        }
        SaleWrite::Existing(_) => Err(Error::OrderConflict("order_id")),
        SaleWrite::Expired => Err(Error::TokenExpired),
        SaleWrite::NoClick => Err(Error::ClickNotFound),
    }
}

/// What a refund's write means: a new reversal, or a replay of the first
/// under its id when [`policy::is_same_reversal`], else `ORDER_CONFLICT`;
/// `ORDER_NOT_FOUND`, or `REVERSAL_EXCEEDS_SALE` saying why, when nothing
/// was written.
fn reversal_answer(reversal: &NewReversal, write: ReversalWrite) -> Result<ReversalOutcome> {
    match write {
        ReversalWrite::New {
            remaining,
            commission_remaining,
        } => Ok(ReversalOutcome {
            remaining,
            commission_remaining,
            replayed: false,
        }),
        ReversalWrite::Existing(first)
            if policy::is_same_reversal(
                &first.order_id,
                &first.amount,
                &reversal.order_id,
                &reversal.amount,
            ) =>
        {
            Ok(ReversalOutcome {
                remaining: first.remaining,
                commission_remaining: first.commission_remaining,
                replayed: true,
            })
        }
        ReversalWrite::Existing(_) => Err(Error::OrderConflict("reversal_id")),
        ReversalWrite::NoOrder => Err(Error::OrderNotFound),
        ReversalWrite::CurrencyDiffers { sale_currency } => {
            Err(policy::refund_in_another_currency(&sale_currency))
        }
        ReversalWrite::Exceeds { left } => Err(policy::refund_above_what_is_left(&left)),
        // The caller plans and writes again; a quote never reaches here.
        ReversalWrite::Quote(_) => Err(Error::StoreUnavailable),
    }
}

/// A unix-seconds instant; out-of-range values clamp to the epoch (they come
/// only from validated, bounded arithmetic).
fn timestamp(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SaleRecord;
    use crate::store::ReversalRecord;

    fn dkk(amount_minor: i64) -> Money {
        Money {
            currency: "DKK".into(),
            amount_minor,
        }
    }

    fn new_sale(click_id: ClickId, amount: Money) -> NewSale {
        NewSale {
            merchant_id: MerchantId::stored("m-1"),
            order_id: OrderId::stored("order-1"),
            click_id,
            click_expires_at: timestamp(86_400),
            amount,
            now: timestamp(3_600),
            token_expired: false,
            fraud: None,
        }
    }

    fn first_sale(click_id: ClickId) -> SaleRecord {
        SaleRecord {
            click_id,
            attribution: Attribution {
                merchant_id: MerchantId::stored("m-1"),
                campaign_id: CampaignId::stored("c-1"),
                creator_id: CreatorId::stored("cr-1"),
                video_id: VideoId::stored("vid-1"),
                product_id: ProductId::stored("sku-1"),
            },
            amount: dkk(12_500),
            clicked_at: timestamp(0),
            confirmed_at: timestamp(60),
            commission: dkk(1_250),
            signals: Signals::NONE,
        }
    }

    fn new_reversal(amount: Money) -> NewReversal {
        NewReversal {
            merchant_id: MerchantId::stored("m-1"),
            order_id: OrderId::stored("order-1"),
            reversal_id: ReversalId::stored("refund-1"),
            amount,
            now: timestamp(3_600),
            plan: None,
        }
    }

    #[test]
    fn a_taken_order_id_is_a_replay_of_the_same_sale_and_a_conflict_otherwise() {
        let click = ClickId::random();
        let first = first_sale(click);

        let replay = sale_answer(
            &new_sale(click, dkk(12_500)),
            SaleWrite::Existing(first.clone()),
        );
        let conflicts = [
            new_sale(click, dkk(99)),
            new_sale(ClickId::random(), dkk(12_500)),
            new_sale(
                click,
                Money {
                    currency: "EUR".into(),
                    amount_minor: 12_500,
                },
            ),
        ]
        .map(|sale| sale_answer(&sale, SaleWrite::Existing(first.clone())));

        assert_eq!(
            replay,
            Ok(SaleOutcome {
                sale: first,
                replayed: true
            })
        );
        for conflict in conflicts {
            assert_eq!(conflict, Err(Error::OrderConflict("order_id")));
        }
    }

    #[test]
    fn a_sale_the_store_did_not_write_is_its_contract_error() {
        let sale = new_sale(ClickId::random(), dkk(100));

        assert_eq!(
            sale_answer(&sale, SaleWrite::Expired),
            Err(Error::TokenExpired)
        );
        assert_eq!(
            sale_answer(&sale, SaleWrite::NoClick),
            Err(Error::ClickNotFound)
        );
        let record = first_sale(sale.click_id);
        assert_eq!(
            sale_answer(&sale, SaleWrite::New(record.clone())),
            Ok(SaleOutcome {
                sale: record,
                replayed: false
            })
        );
    }

    #[test]
    fn a_taken_reversal_id_is_a_replay_of_the_same_refund_and_a_conflict_otherwise() {
        let first = ReversalRecord {
            order_id: OrderId::stored("order-1"),
            amount: dkk(2_500),
            remaining: dkk(10_000),
            commission_remaining: dkk(800),
            facts: None,
        };
        let on_another_order = NewReversal {
            order_id: OrderId::stored("order-2"),
            ..new_reversal(dkk(2_500))
        };

        let replay = reversal_answer(
            &new_reversal(dkk(2_500)),
            ReversalWrite::Existing(first.clone()),
        );
        let other_amount = reversal_answer(
            &new_reversal(dkk(100)),
            ReversalWrite::Existing(first.clone()),
        );
        let other_order = reversal_answer(&on_another_order, ReversalWrite::Existing(first));

        assert_eq!(
            replay,
            Ok(ReversalOutcome {
                remaining: dkk(10_000),
                commission_remaining: dkk(800),
                replayed: true
            })
        );
        assert_eq!(other_amount, Err(Error::OrderConflict("reversal_id")));
        assert_eq!(other_order, Err(Error::OrderConflict("reversal_id")));
    }

    #[test]
    fn a_refund_the_store_did_not_write_says_why() {
        let reversal = new_reversal(dkk(500));

        assert_eq!(
            reversal_answer(&reversal, ReversalWrite::NoOrder),
            Err(Error::OrderNotFound)
        );
        assert_eq!(
            reversal_answer(
                &reversal,
                ReversalWrite::CurrencyDiffers {
                    sale_currency: "EUR".into()
                }
            ),
            Err(Error::ReversalExceedsSale("the sale is in EUR".into()))
        );
        assert_eq!(
            reversal_answer(&reversal, ReversalWrite::Exceeds { left: dkk(400) }),
            Err(Error::ReversalExceedsSale(
                "400 DKK is left of the sale".into()
            ))
        );
        assert_eq!(
            reversal_answer(
                &reversal,
                ReversalWrite::New {
                    remaining: dkk(0),
                    commission_remaining: dkk(0)
                }
            ),
            Ok(ReversalOutcome {
                remaining: dkk(0),
                commission_remaining: dkk(0),
                replayed: false
            })
        );
    }
}
