//! The demo day of `serve --dev`, so the dashboard is alive at first open:
//! five creators with eight videos, six products, two campaigns paying
//! commission, a few hundred taps over yesterday and today so far (UTC),
//! repeat taps among them, sales in DKK and a few in EUR, a refund, a
//! self-referral whose commission is held for review, and a payout.
//!
//! Everything goes through the domain, as the shop's and the feed's calls
//! would, so counters, top lists, commissions and ledgers are what they
//! would be. A tap or a sale happens at the service's clock's "now", so the
//! dev server runs on a [`DemoClock`]: pinned to each seeded event's instant
//! while the day is seeded, in time order, then the system's clock for good.
//! The day is drawn from a fixed seed: the same start instant seeds the same
//! day.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::auth::Caller;
use crate::clock::Clock;
use crate::domain::{CampaignSpec, Cartclick, PayoutRequest, Tap};
use crate::error::Error;
use crate::model::{
    AgeBracket, CampaignId, CommissionTerms, CreatorId, DEFAULT_ATTRIBUTION_WINDOW, Grant, KeyId,
    MerchantId, OrderId, PayoutId, ProductId, ReversalId, ReviewDecision, VideoId,
};
use crate::policy;

/// The dev server's clock: the system's, but while the demo day is seeded,
/// the instant of the event being seeded.
#[derive(Debug, Default)]
pub(super) struct DemoClock {
    /// The instant it stands at while seeding; `None` afterwards.
    pinned: Mutex<Option<DateTime<Utc>>>,
}

impl DemoClock {
    /// Stands the clock at `at` (`None`: the system's clock again).
    fn pin(&self, at: Option<DateTime<Utc>>) {
        *self.pinned.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for DemoClock {
    fn now(&self) -> DateTime<Utc> {
        self.pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(Utc::now)
    }
}

/// The seed the day is drawn from.
const SEED: u64 = 20_261_124;

/// The demo's creators, each with its videos.
const CREATORS: [(&str, &[&str]); 5] = [
    ("creator-anna", &["vid-anna-runs", "vid-anna-haul"]),
    ("creator-bo", &["vid-bo-unboxing", "vid-bo-trail"]),
    ("creator-cleo", &["vid-cleo-style", "vid-cleo-gym"]),
    ("creator-dan", &["vid-dan-review"]),
    ("creator-eva", &["vid-eva-morning"]),
];

/// How often each creator's videos are tapped, relative to the others.
const CREATOR_WEIGHTS: [u32; 5] = [6, 5, 3, 2, 1];

/// The demo's products, with a usual price in DKK øre.
const PRODUCTS: [(&str, i64); 6] = [
    ("sku-runner", 89_900),
    ("sku-trail-shoe", 119_900),
    ("sku-hoodie", 49_900),
    ("sku-cap", 19_900),
    ("sku-bottle", 14_900),
    ("sku-backpack", 69_900),
];

/// The second campaign: three products, 15 %, payable at once.
const SPRING_CAMPAIGN: &str = "demo-spring";
/// Its products (indexes into [`PRODUCTS`]).
const SPRING_PRODUCTS: [usize; 3] = [0, 1, 5];

/// Taps today and yesterday (before repeats).
const TAPS_TODAY: usize = 320;
/// DKK øre per EUR cent: the demo prices its EUR sales from its DKK prices.
const DKK_ORE_PER_EUR_CENT: i64 = 750;
const TAPS_YESTERDAY: usize = 160;
/// Distinct demo viewers.
const VIEWERS: u32 = 240;

/// What the day holds, to print.
#[derive(Debug, Default)]
pub(super) struct DemoDay {
    /// Taps answered.
    pub(super) taps: usize,
    /// Sales confirmed.
    pub(super) sales: usize,
}

/// One seeded event.
#[derive(Debug)]
enum Action {
    /// A viewer taps a cart; `tap` indexes the taps.
    Tap {
        tap: usize,
        repeat_of: Option<usize>,
    },
    /// The tap's viewer buys.
    Sale {
        tap: usize,
        order: String,
        currency: &'static str,
        amount_minor: i64,
    },
    /// The shop refunds part of an order.
    Refund { order: String, amount_minor: i64 },
    /// A payout of what is payable to a creator in DKK.
    Payout,
}

/// A cart tap's fields.
#[derive(Debug, Clone)]
struct DemoTap {
    viewer: String,
    creator: usize,
    video: &'static str,
    product: usize,
    campaign: &'static str,
}

/// Seeds the demo day on `domain` for `merchant` and its campaign
/// `campaign` (already approved), ending at `now`, with `clock` pinned to
/// each event's instant; then hands the clock back to the system.
pub(super) async fn seed_day(
    domain: &Cartclick,
    clock: &DemoClock,
    merchant: &str,
    campaign: &'static str,
    now: DateTime<Utc>,
) -> Result<DemoDay, String> {
    let result = seed(domain, clock, merchant, campaign, now).await;
    clock.pin(None);
    result
}

async fn seed(
    domain: &Cartclick,
    clock: &DemoClock,
    merchant: &str,
    campaign: &'static str,
    now: DateTime<Utc>,
) -> Result<DemoDay, String> {
    let merchant_id = MerchantId::stored(merchant);
    domain
        .put_campaign(CampaignSpec {
            campaign_id: CampaignId::stored(SPRING_CAMPAIGN),
            merchant_id: merchant_id.clone(),
            category: "sportswear".into(),
            attribution_window: DEFAULT_ATTRIBUTION_WINDOW,
            product_ids: SPRING_PRODUCTS
                .iter()
                .map(|&p| ProductId::stored(PRODUCTS[p].0))
                .collect(),
            terms: CommissionTerms {
                rate_bps: 1_500,
                holding_period: std::time::Duration::ZERO,
            },
        })
        .await
        .map_err(|e| format!("seeding the spring campaign: {e}"))?;
    domain
        .review_campaign(
            &CampaignId::stored(SPRING_CAMPAIGN),
            ReviewDecision::Approve,
            "demo".into(),
        )
        .await
        .map_err(|e| format!("approving the spring campaign: {e}"))?;

    let (taps, mut plan) = plan_day(now, campaign);
    plan.sort_by_key(|(at, _)| *at);
    let mut tokens: Vec<Option<String>> = vec![None; taps.len()];
    let mut day = DemoDay::default();
    let admin = Caller {
        key_id: KeyId::stored("dev-seed"),
        grant: Grant::Admin,
        sha256: [0; 32],
    };
    for (at, action) in plan {
        clock.pin(Some(at));
        match action {
            Action::Tap { tap, repeat_of } => {
                let fields = &taps[repeat_of.unwrap_or(tap)];
                let issued = domain
                    .issue_token(Tap {
                        viewer_id: fields.viewer.clone(),
                        video_id: VideoId::stored(fields.video),
                        creator_id: CreatorId::stored(CREATORS[fields.creator].0),
                        campaign_id: CampaignId::stored(fields.campaign),
                        product_id: ProductId::stored(PRODUCTS[fields.product].0),
                        landing_url: format!(
                            "https://shop.example/p/{}",
                            PRODUCTS[fields.product].0
                        ),
                        age: AgeBracket::Adult,
                    })
                    .await
                    .map_err(|e| format!("seeding a tap: {e}"))?;
                tokens[tap] = Some(issued.token);
                day.taps += 1;
            }
            Action::Sale {
                tap,
                order,
                currency,
                amount_minor,
            } => {
                let Some(token) = &tokens[tap] else { continue };
                let amount = policy::validate_money(currency, amount_minor)
                    .map_err(|e| format!("a demo amount: {e}"))?;
                domain
                    .confirm_sale(&merchant_id, token, OrderId::stored(order), amount)
                    .await
                    .map_err(|e| format!("seeding a sale: {e}"))?;
                day.sales += 1;
            }
            Action::Refund {
                order,
                amount_minor,
            } => {
                let amount = policy::validate_money("DKK", amount_minor)
                    .map_err(|e| format!("a demo amount: {e}"))?;
                domain
                    .reverse_sale(
                        &merchant_id,
                        OrderId::stored(order),
                        ReversalId::stored("demo-refund-1"),
                        amount,
                    )
                    .await
                    .map_err(|e| format!("seeding a refund: {e}"))?;
            }
            Action::Payout => {
                // The first creator with something payable in DKK is paid.
                for (creator, _) in CREATORS {
                    let paid = domain
                        .create_payout(
                            &admin,
                            PayoutRequest {
                                payout_id: PayoutId::stored("demo-payout-1"),
                                merchant_id: Some(merchant_id.clone()),
                                creator_id: CreatorId::stored(creator),
                                currency: "DKK".into(),
                            },
                        )
                        .await;
                    match paid {
                        Ok(_) => break,
                        Err(Error::NothingToPay) => continue,
                        Err(e) => return Err(format!("seeding a payout: {e}")),
                    }
                }
            }
        }
    }
    Ok(day)
}

/// The day's taps and every event with its instant, drawn from [`SEED`]:
/// taps over yesterday and today until `now`, some repeated within minutes,
/// a sale after some of them, a refund of the first sale, a creator's
/// self-referral and its sale, and a payout at the end.
fn plan_day(
    now: DateTime<Utc>,
    campaign: &'static str,
) -> (Vec<DemoTap>, Vec<(DateTime<Utc>, Action)>) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let yesterday = today - TimeDelta::days(1);
    let mut taps = Vec::new();
    let mut plan = Vec::new();
    let windows = [(yesterday, today, TAPS_YESTERDAY), (today, now, TAPS_TODAY)];
    let total_weight: u32 = CREATOR_WEIGHTS.iter().sum();
    let mut orders = 0;
    for (from, until, count) in windows {
        let span = (until - from).num_seconds().max(1);
        for _ in 0..count {
            let at = from + TimeDelta::seconds(rng.random_range(0..span));
            let mut pick = rng.random_range(0..total_weight);
            let creator = CREATOR_WEIGHTS
                .iter()
                .position(|&w| {
                    let hit = pick < w;
                    pick = pick.saturating_sub(w);
                    hit
                })
                .unwrap_or(0);
            let videos = CREATORS[creator].1;
            let video = videos[rng.random_range(0..videos.len())];
            let product = rng.random_range(0..PRODUCTS.len());
            let campaign = if SPRING_PRODUCTS.contains(&product) && rng.random_bool(0.5) {
                SPRING_CAMPAIGN
            } else {
                campaign
            };
            let tap = taps.len();
            taps.push(DemoTap {
                viewer: format!("demo-viewer-{}", rng.random_range(0..VIEWERS)),
                creator,
                video,
                product,
                campaign,
            });
            plan.push((
                at,
                Action::Tap {
                    tap,
                    repeat_of: None,
                },
            ));
            // A viewer who taps again within minutes: one more tap, the
            // same click.
            if rng.random_bool(0.12) {
                let again = at + TimeDelta::seconds(rng.random_range(30..600));
                if again < until {
                    let repeat = taps.len();
                    taps.push(taps[tap].clone());
                    plan.push((
                        again,
                        Action::Tap {
                            tap: repeat,
                            repeat_of: Some(tap),
                        },
                    ));
                }
            }
            if rng.random_bool(0.07) {
                let sold = at + TimeDelta::seconds(rng.random_range(120..2_700));
                if sold >= now {
                    continue;
                }
                orders += 1;
                let order = format!("demo-order-{orders:04}");
                let (currency, amount_minor) = if orders % 9 == 0 {
                    ("EUR", PRODUCTS[product].1 / DKK_ORE_PER_EUR_CENT * 100 + 95)
                } else {
                    ("DKK", PRODUCTS[product].1 * rng.random_range(1..=2))
                };
                if orders == 2 && sold + TimeDelta::minutes(20) < now {
                    plan.push((
                        sold + TimeDelta::minutes(20),
                        Action::Refund {
                            order: order.clone(),
                            amount_minor: amount_minor / 2,
                        },
                    ));
                }
                plan.push((
                    sold,
                    Action::Sale {
                        tap,
                        order,
                        currency,
                        amount_minor,
                    },
                ));
            }
        }
    }
    // A creator buying through their own cart: SELF_REFERRAL holds it.
    let own = taps.len();
    taps.push(DemoTap {
        viewer: CREATORS[1].0.into(),
        creator: 1,
        video: CREATORS[1].1[0],
        product: 2,
        campaign,
    });
    let own_at = now - TimeDelta::minutes(40);
    plan.push((
        own_at,
        Action::Tap {
            tap: own,
            repeat_of: None,
        },
    ));
    plan.push((
        own_at + TimeDelta::minutes(5),
        Action::Sale {
            tap: own,
            order: "demo-order-self".into(),
            currency: "DKK",
            amount_minor: PRODUCTS[2].1,
        },
    ));
    plan.push((now - TimeDelta::seconds(30), Action::Payout));
    (taps, plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_is_the_same_for_the_same_instant_and_never_in_the_future() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T15:42:00Z")
            .unwrap()
            .to_utc();
        let (taps, plan) = plan_day(now, "demo-campaign");
        let (again, replan) = plan_day(now, "demo-campaign");
        assert_eq!(taps.len(), again.len());
        assert_eq!(
            format!("{plan:?}"),
            format!("{replan:?}"),
            "drawn from a fixed seed"
        );
        assert!(plan.iter().all(|(at, _)| *at < now));
        let sales = plan
            .iter()
            .filter(|(_, action)| matches!(action, Action::Sale { .. }))
            .count();
        assert!((20..=60).contains(&sales), "{sales} sales");
        assert!(plan.iter().any(|(_, a)| matches!(a, Action::Refund { .. })));
        assert!(plan.iter().any(|(_, a)| matches!(
            a,
            Action::Sale {
                currency: "EUR",
                ..
            }
        )));
    }
}
