//! Reconciliation: counters must always equal a recount of the raw records.
//! [`reconcile`] recounts one merchant's day from its stored click, sale
//! and refund records and compares every counter cell the merchant wrote
//! that day, hourly and daily: clicks, conversions, revenue, refunds,
//! commission, and the clicks and conversions fraud signals flagged (each
//! record keeps its signals). Repeat taps leave no record of their own, so taps are
//! checked only to be at least the clicks.
//!
//! It also recounts the merchant's earnings, whatever their day: every
//! ledger's unpaid and held totals must equal the commissions in that
//! state, what it paid less its clawback must cover the paid commissions
//! still kept (those past retention are gone, never the ledger), and every
//! commission must be what the proportional rule makes of its sale.
//!
//! A recount of a busy merchant reads many records: [`reconcile_with`]
//! reports each step as it starts and what it read (the CLI prints these
//! on stderr, one line each, so they read in CI logs as at a terminal).

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeDelta};

use crate::error::Result;
use crate::model::{
    Attribution, BucketRange, CommissionState, Counts, Dimension, Granularity, MerchantRecords,
    commission_count,
};
use crate::policy;
use crate::store::Operator;

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// The merchant recounted.
    pub merchant_id: String,
    /// The UTC day recounted.
    pub day: NaiveDate,
    /// Click records found for the day.
    pub clicks: usize,
    /// Sale records found for the day.
    pub sales: usize,
    /// Refund records found for the day.
    pub refunds: usize,
    /// The merchant's commissions found (any day).
    pub commissions: usize,
    /// The merchant's earnings ledgers found.
    pub ledgers: usize,
    /// One line per counter cell that differs from the recount; empty when clean.
    pub drift: Vec<String>,
}

/// A counter cell's identity: granularity, bucket start, dimension, id.
type CellKey = (Granularity, i64, Dimension, String);

/// Recounts `merchant_id`'s counters of the UTC `day` from its records.
pub(crate) async fn reconcile(
    store: &dyn Operator,
    merchant_id: &str,
    day: NaiveDate,
) -> Result<ReconcileReport> {
    reconcile_with(store, merchant_id, day, &|_| {}).await
}

/// [`reconcile`], telling `progress` each step as it starts and what it
/// read.
pub(crate) async fn reconcile_with(
    store: &dyn Operator,
    merchant_id: &str,
    day: NaiveDate,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ReconcileReport> {
    let from = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let to = from + TimeDelta::days(1);
    progress(&format!(
        "reading the records of merchant {merchant_id} on {day}"
    ));
    let records = store.merchant_records(merchant_id, from, to).await?;
    progress(&format!(
        "read {} click, {} sale and {} refund records, {} commissions, {} ledgers",
        records.clicks.len(),
        records.sales.len(),
        records.refunds.len(),
        records.commissions.len(),
        records.ledgers.len()
    ));

    let mut expected: BTreeMap<CellKey, Counts> = BTreeMap::new();
    let mut add = |attribution: &Attribution, at, delta: &Counts| {
        for granularity in Granularity::ALL {
            for dimension in Dimension::ALL {
                let key = (
                    granularity,
                    granularity.bucket_start(at),
                    dimension,
                    attribution.id(dimension).to_owned(),
                );
                expected.entry(key).or_default().add(delta);
            }
        }
    };
    for click in &records.clicks {
        add(
            &click.attribution,
            click.clicked_at,
            &Counts {
                clicks: 1,
                flagged_clicks: i64::from(!click.signals.is_empty()),
                ..Counts::default()
            },
        );
    }
    for sale in &records.sales {
        let currency = &sale.amount.currency;
        let delta = Counts {
            conversions: 1,
            flagged_conversions: i64::from(!sale.signals.is_empty()),
            revenue: [(currency.clone(), sale.amount.amount_minor)].into(),
            commission: commission_count(currency, sale.commission.amount_minor),
            ..Counts::default()
        };
        add(&sale.attribution, sale.confirmed_at, &delta);
    }
    // Refunds stored before reversals kept their time and attribution
    // cannot be recounted: while any is kept, refunds and commission are
    // not compared (they would show as drift that is not).
    let refunds_known = records.refunds.iter().all(|r| r.facts.is_some());
    for refund in &records.refunds {
        let Some(facts) = &refund.facts else {
            continue;
        };
        let currency = &refund.amount.currency;
        let delta = Counts {
            refunded: [(currency.clone(), refund.amount.amount_minor)].into(),
            commission: commission_count(currency, -facts.commission_taken),
            ..Counts::default()
        };
        add(&facts.attribution, facts.at, &delta);
    }

    progress(&format!(
        "recounted {} counter cells; reading the counters",
        expected.len()
    ));
    let mut counted: BTreeMap<CellKey, Counts> = BTreeMap::new();
    for (granularity, count) in [(Granularity::Hour, 24), (Granularity::Day, 1)] {
        let range = BucketRange {
            granularity,
            first: from.timestamp(),
            count,
        };
        // A sharded merchant has a cell per shard for the same key: sum them.
        for cell in store.merchant_counters(merchant_id, range).await? {
            counted
                .entry((granularity, cell.start, cell.dimension, cell.id))
                .or_default()
                .add(&cell.counts);
        }
    }

    progress(&format!("read {} counter cells; comparing", counted.len()));
    let mut drift = Vec::new();
    let keys: std::collections::BTreeSet<&CellKey> =
        expected.keys().chain(counted.keys()).collect();
    let empty = Counts::default();
    for key in keys {
        let want = expected.get(key).unwrap_or(&empty);
        let have = counted.get(key).unwrap_or(&empty);
        let (granularity, start, dimension, id) = key;
        let at = chrono::DateTime::from_timestamp(*start, 0).unwrap_or_default();
        let cell = format!(
            "{} {} {} {id}",
            match granularity {
                Granularity::Hour => "hour",
                Granularity::Day => "day",
            },
            at.format("%Y-%m-%dT%H:%MZ"),
            dimension.as_str()
        );
        if have.clicks != want.clicks {
            drift.push(format!(
                "{cell}: clicks counted {}, recounted {}",
                have.clicks, want.clicks
            ));
        }
        if have.taps < have.clicks {
            drift.push(format!(
                "{cell}: taps counted {} is below clicks {}",
                have.taps, have.clicks
            ));
        }
        if have.conversions != want.conversions {
            drift.push(format!(
                "{cell}: conversions counted {}, recounted {}",
                have.conversions, want.conversions
            ));
        }
        for (what, have, want) in [
            ("flagged clicks", have.flagged_clicks, want.flagged_clicks),
            (
                "flagged conversions",
                have.flagged_conversions,
                want.flagged_conversions,
            ),
        ] {
            if have != want {
                drift.push(format!("{cell}: {what} counted {have}, recounted {want}"));
            }
        }
        if have.revenue != want.revenue {
            drift.push(format!(
                "{cell}: revenue counted {:?}, recounted {:?}",
                have.revenue, want.revenue
            ));
        }
        if refunds_known && have.refunded != want.refunded {
            drift.push(format!(
                "{cell}: refunds counted {:?}, recounted {:?}",
                have.refunded, want.refunded
            ));
        }
        if refunds_known && have.commission != want.commission {
            drift.push(format!(
                "{cell}: commission counted {:?}, recounted {:?}",
                have.commission, want.commission
            ));
        }
    }
    drift.extend(earnings_drift(&records));
    Ok(ReconcileReport {
        merchant_id: merchant_id.to_owned(),
        day,
        clicks: records.clicks.len(),
        sales: records.sales.len(),
        refunds: records.refunds.iter().filter(|r| r.facts.is_some()).count(),
        commissions: records.commissions.len(),
        ledgers: records.ledgers.len(),
        drift,
    })
}

/// The drift of a merchant's earnings: each ledger against its
/// commissions, each commission against the proportional rule.
fn earnings_drift(records: &MerchantRecords) -> Vec<String> {
    let mut drift = Vec::new();
    // (creator, currency) -> commissions in each state, as they stand.
    let mut sums: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
    for commission in &records.commissions {
        let order = &commission.order_id;
        let expected = match commission.state {
            CommissionState::Void => 0,
            _ => policy::commission_after_refunds(
                commission.earned,
                commission.sale_total.amount_minor,
                commission.sale_amount.amount_minor,
            ),
        };
        // A void commission (refunded to 0, or voided on review) earns 0.
        if commission.commission.amount_minor != expected {
            drift.push(format!(
                "commission of order {order}: stands at {}, the rule makes it {expected}",
                commission.commission.amount_minor
            ));
        }
        let slot = match commission.state {
            CommissionState::Unpaid => 0,
            CommissionState::Held => 1,
            CommissionState::Paid => 2,
            CommissionState::Void => continue,
        };
        let key = (
            commission.attribution.creator_id.to_string(),
            commission.commission.currency.clone(),
        );
        sums.entry(key).or_default()[slot] += commission.commission.amount_minor;
    }
    let mut seen = std::collections::BTreeSet::new();
    for ledger in &records.ledgers {
        let key = (ledger.creator_id.to_string(), ledger.currency.clone());
        let [unpaid, held, paid] = sums.get(&key).copied().unwrap_or_default();
        let name = format!("ledger {} {}", ledger.creator_id, ledger.currency);
        if ledger.unpaid != unpaid {
            drift.push(format!(
                "{name}: unpaid {} but its pending and payable commissions sum to {unpaid}",
                ledger.unpaid
            ));
        }
        if ledger.held != held {
            drift.push(format!(
                "{name}: held {} but its held commissions sum to {held}",
                ledger.held
            ));
        }
        if ledger.paid - ledger.clawback < paid {
            drift.push(format!(
                "{name}: paid {} less clawback {} is below its paid commissions, {paid}",
                ledger.paid, ledger.clawback
            ));
        }
        if ledger.clawback < 0 || ledger.paid < 0 {
            drift.push(format!(
                "{name}: negative paid {} or clawback {}",
                ledger.paid, ledger.clawback
            ));
        }
        seen.insert(key);
    }
    for ((creator, currency), [unpaid, held, _]) in &sums {
        if !seen.contains(&(creator.clone(), currency.clone())) && (unpaid + held) != 0 {
            drift.push(format!(
                "ledger {creator} {currency}: missing, its commissions owe {}",
                unpaid + held
            ));
        }
    }
    drift
}
