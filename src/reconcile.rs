//! Reconciliation: counters must always equal a recount of the raw records.
//! [`reconcile`] recounts one merchant's day from its stored click and sale
//! records and compares every counter cell the merchant wrote that day,
//! hourly and daily. Repeat taps leave no record of their own, so taps are
//! checked only to be at least the clicks.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeDelta};

use crate::error::Result;
use crate::model::{Attribution, BucketRange, Counts, Dimension, Granularity};
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
    let from = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let to = from + TimeDelta::days(1);
    let records = store.merchant_records(merchant_id, from, to).await?;

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
                ..Counts::default()
            },
        );
    }
    for sale in &records.sales {
        let delta = Counts {
            conversions: 1,
            revenue: [(sale.amount.currency.clone(), sale.amount.amount_minor)].into(),
            ..Counts::default()
        };
        add(&sale.attribution, sale.confirmed_at, &delta);
    }

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
        if have.revenue != want.revenue {
            drift.push(format!(
                "{cell}: revenue counted {:?}, recounted {:?}",
                have.revenue, want.revenue
            ));
        }
    }
    Ok(ReconcileReport {
        merchant_id: merchant_id.to_owned(),
        day,
        clicks: records.clicks.len(),
        sales: records.sales.len(),
        drift,
    })
}
