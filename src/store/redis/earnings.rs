//! Earnings on Redis: balances, commission and payout listings, payouts.
//!
//! A merchant's commissions, ledgers and payouts live under its own tag
//! (`{merchant}`, shard 0), so a payout is one script. A listing across
//! merchants (a creator's, with no merchant named) asks each merchant of
//! the creator's earnings index (`x:earn:<creator>`, written at the taps
//! of campaigns that pay) for its part, in parallel, and merges them.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use redis::{AsyncCommands, Value};

use crate::error::Result;
use crate::model::{
    Commission, CommissionCursor, CommissionQuery, CommissionReview, CommissionState,
    CommissionStatus, CommissionTerms, CreatorId, EarningsBalance, MerchantId, Money, NewPayout,
    OrderId, Page, Payout, PayoutCursor, PayoutId, PayoutQuery,
};
use crate::store::{Earnings, PayoutWrite, ReviewWrite};

use super::RedisStore;
use super::codec::{corrupt, from_millis, millis, reply, stored_attribution, trailing_signals};
use super::keys::{
    commission_index_key, commission_key, commission_prefix, currencies_key, earnings_index_key,
    events_key, fold_state_key, ledger_key, order_key, own_tag, payout_commissions_key,
    payout_index_key, payout_key, payout_prefix, unpaid_key,
};

/// Index members one listing call looks at, at most, per merchant: a bound
/// on a script's run when a filter keeps few of them.
const LOOK_AT_MOST: usize = 2_000;
/// The largest position: 13 nines (see `newest_first` in the prelude).
const NEWEST_FIRST_BASE: i64 = 9_999_999_999_999;

/// An index member's prefix for an item made `newest_first` (minus ms).
/// Clamped to the positions there are (a cursor only comes from a signed
/// page token, but no input may overflow).
fn position_prefix(newest_first: i64) -> String {
    format!(
        "{:013}",
        NEWEST_FIRST_BASE + newest_first.clamp(-NEWEST_FIRST_BASE, 0)
    )
}

/// Where one merchant's walk starts for a listing after the global
/// position (`newest_first`, `id`, `merchant`), when items of equal time
/// are ordered by `id` and then merchant (`merchant_breaks_ties`), or by
/// merchant and then `id`.
fn start_after(
    after: Option<(i64, &str, &str)>,
    merchant: &str,
    merchant_breaks_ties: bool,
) -> String {
    let Some((newest_first, id, after_merchant)) = after else {
        return "-".to_owned();
    };
    let prefix = position_prefix(newest_first);
    if merchant_breaks_ties {
        // Same time and id: only merchants after the cursor's.
        if merchant > after_merchant {
            format!("[{prefix}|{id}")
        } else {
            format!("({prefix}|{id}")
        }
    } else if merchant < after_merchant {
        // Same time: this merchant's items came before the cursor.
        format!("[{}", position_prefix(newest_first.saturating_add(1)))
    } else if merchant == after_merchant {
        format!("({prefix}|{id}")
    } else {
        format!("[{prefix}")
    }
}

/// One merchant's part of a listing to read (see `list_index.lua`).
struct Walk<'a> {
    /// The merchant.
    merchant: &'a str,
    /// Its listing index.
    index: String,
    /// Where to start, as ZRANGE BYLEX takes it.
    start: String,
    /// Items to return at most.
    want: usize,
    /// The record key prefix.
    prefix: String,
    /// `c` for commissions, `p` for payouts.
    kind: &'static str,
    /// The state a commission must be in ('' any).
    filter: &'static str,
    /// Now, for PENDING and PAYABLE.
    now: DateTime<Utc>,
    /// Only this creator's commissions ('' any).
    creator: &'a str,
}

/// One merchant's part of a listing: items (member, record), the last
/// member looked at, and whether its index is done after it.
struct Part {
    merchant: String,
    items: Vec<(String, Value)>,
    last: String,
    done: bool,
}

impl Part {
    /// The part as positioned items (`read` makes an item and its position
    /// of a record: the merchant, the member's id, the record), and the
    /// position it stopped at short of its index's end (`stop` makes it of
    /// the last member looked at: its time, id and the merchant).
    fn reached<T, C>(
        self,
        read: impl Fn(&str, &str, Value) -> Result<(C, T)>,
        stop: impl Fn(i64, &str, &str) -> C,
    ) -> Result<Reached<T, C>> {
        let items = self
            .items
            .into_iter()
            .map(|(member, record)| {
                let (_, id) = member_parts(&member).ok_or_else(|| corrupt("listing"))?;
                read(&self.merchant, id, record)
            })
            .collect::<Result<Vec<_>>>()?;
        let stopped = match (self.done, member_parts(&self.last)) {
            (false, Some((newest_first, id))) => Some(stop(newest_first, id, &self.merchant)),
            _ => None,
        };
        Ok((items, stopped))
    }
}

/// The id and ms of an index member (`<13 digits>|<id>`).
fn member_parts(member: &str) -> Option<(i64, &str)> {
    let (digits, id) = member.split_once('|')?;
    Some((digits.parse::<i64>().ok()? - NEWEST_FIRST_BASE, id))
}

/// A commission hash (field/value list) as the commission it is; `None`
/// for an empty one (a key gone).
pub(super) fn parse_commission(
    merchant: &str,
    order: &str,
    record: Value,
) -> Result<Option<Commission>> {
    let fields: HashMap<String, String> =
        redis::from_redis_value(record).map_err(|_| corrupt("commission"))?;
    if fields.is_empty() {
        return Ok(None);
    }
    let get = |name: &str| fields.get(name).ok_or_else(|| corrupt("commission"));
    let number =
        |name: &str| -> Result<i64> { get(name)?.parse().map_err(|_| corrupt("commission")) };
    let ms = |name: &str| {
        number(name)
            .ok()
            .and_then(from_millis)
            .ok_or_else(|| corrupt("commission"))
    };
    let currency = get("cu")?.clone();
    let money = |amount_minor| Money {
        currency: currency.clone(),
        amount_minor,
    };
    let ids: Vec<&str> = get("a")?.split(' ').collect();
    let [campaign, creator, video, product] = ids.as_slice() else {
        return Err(corrupt("commission"));
    };
    let state = CommissionState::from_code(get("st")?).ok_or_else(|| corrupt("commission"))?;
    Ok(Some(Commission {
        order_id: OrderId::stored(order),
        attribution: stored_attribution(merchant, [*campaign, *creator, *video, *product]),
        sale_total: money(number("a0")?),
        sale_amount: money(number("sa")?),
        earned: number("c0")?,
        commission: money(number("c")?),
        terms: CommissionTerms {
            rate_bps: get("r")?.parse().map_err(|_| corrupt("commission"))?,
            holding_period: std::time::Duration::from_secs(
                get("h")?.parse().map_err(|_| corrupt("commission"))?,
            ),
        },
        state,
        confirmed_at: ms("cf")?,
        payable_at: ms("pa")?,
        payout_id: fields.get("po").map(PayoutId::stored),
        signals: trailing_signals(fields.get("sg").map(String::as_str))
            .ok_or_else(|| corrupt("commission"))?,
        review_reason: fields.get("rr").cloned().unwrap_or_default(),
        reviewed_at: fields
            .get("ra")
            .and_then(|v| v.parse().ok())
            .and_then(from_millis),
    }))
}

/// A stored payout (creator, currency, amount, commissions, clawback,
/// created ms) as the payout it is.
fn parse_payout(merchant: &str, payout_id: &str, record: &[u8]) -> Result<Payout> {
    let text = std::str::from_utf8(record).map_err(|_| corrupt("payout"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [creator, currency, amount, commissions, clawback, created] = parts.as_slice() else {
        return Err(corrupt("payout"));
    };
    let number = |s: &str| -> Result<i64> { s.parse().map_err(|_| corrupt("payout")) };
    let money = |amount_minor| Money {
        currency: (*currency).to_owned(),
        amount_minor,
    };
    Ok(Payout {
        payout_id: PayoutId::stored(payout_id),
        merchant_id: MerchantId::stored(merchant),
        creator_id: CreatorId::stored(*creator),
        amount: money(number(amount)?),
        commissions: number(commissions)?,
        clawback_deducted: money(number(clawback)?),
        created_at: from_millis(number(created)?).ok_or_else(|| corrupt("payout"))?,
    })
}

/// The stored state a status filter keeps, as the list script takes it.
fn state_filter(status: Option<CommissionStatus>) -> &'static str {
    match status {
        None => "",
        Some(CommissionStatus::Pending) => "pending",
        Some(CommissionStatus::Payable) => "payable",
        Some(CommissionStatus::Held) => CommissionState::Held.code(),
        Some(CommissionStatus::Paid) => CommissionState::Paid.code(),
        Some(CommissionStatus::Void) => CommissionState::Void.code(),
    }
}

/// One merchant's items with their positions, and the position it
/// stopped at short of its index's end (`None` when it read to the end).
type Reached<T, C> = (Vec<(C, T)>, Option<C>);

/// Merges merchants' parts into one page of `limit` in `order`: only items
/// up to the earliest point a part stopped short of its end (past it, that
/// part may hold items not yet read), and where the next page starts.
fn merge<T, C: Ord + Clone>(parts: Vec<Reached<T, C>>, limit: usize) -> Page<T, C> {
    let frontier = parts.iter().filter_map(|(_, stop)| stop.clone()).min();
    let mut items: Vec<(C, T)> = parts
        .into_iter()
        .flat_map(|(items, _)| items)
        .filter(|(position, _)| frontier.as_ref().is_none_or(|f| position <= f))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(position, _)| position.clone())
    } else {
        frontier
    };
    Page {
        items: items.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

impl RedisStore {
    /// The merchants a listing reads: the one named, or those of the
    /// creator's earnings index.
    async fn earning_merchants(
        &self,
        merchant: Option<&MerchantId>,
        creator: Option<&CreatorId>,
    ) -> Result<Vec<String>> {
        match (merchant, creator) {
            (Some(merchant), _) => Ok(vec![merchant.to_string()]),
            (None, Some(creator)) => {
                let mut merchants: Vec<String> = self
                    .run(self.conn.clone().smembers(earnings_index_key(creator)))
                    .await?;
                merchants.sort();
                Ok(merchants)
            }
            (None, None) => Ok(Vec::new()),
        }
    }

    /// Runs the list script for one merchant's part of a listing.
    async fn walk(&self, walk: Walk<'_>) -> Result<Part> {
        let value: Value = self
            .run(
                self.scripts
                    .list_index
                    .key(walk.index)
                    .arg(walk.start)
                    .arg(walk.want)
                    .arg(LOOK_AT_MOST)
                    .arg(walk.prefix)
                    .arg(walk.kind)
                    .arg(walk.filter)
                    .arg(millis(walk.now))
                    .arg(walk.creator)
                    .invoke_async(&mut self.conn.clone()),
            )
            .await?;
        let (raw, last, done): (Vec<Value>, String, String) =
            redis::from_redis_value(value).map_err(|_| corrupt("listing"))?;
        let mut items = Vec::with_capacity(raw.len() / 2);
        let mut raw = raw.into_iter();
        while let (Some(member), Some(record)) = (raw.next(), raw.next()) {
            let member: String = redis::from_redis_value(member).map_err(|_| corrupt("listing"))?;
            items.push((member, record));
        }
        Ok(Part {
            merchant: walk.merchant.to_owned(),
            items,
            last,
            done: done == "1",
        })
    }
}

#[async_trait]
impl Earnings for RedisStore {
    async fn earnings(
        &self,
        creator_id: &str,
        merchant: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<EarningsBalance>> {
        let creator = CreatorId::stored(creator_id);
        let merchant = merchant.map(MerchantId::stored);
        let merchants = self
            .earning_merchants(merchant.as_ref(), Some(&creator))
            .await?;
        let creator = &creator;
        let reads = merchants.iter().map(|merchant| async move {
            let value: Vec<String> = self
                .run(
                    self.scripts
                        .earnings
                        .key(currencies_key(merchant, creator_id))
                        .arg(own_tag(merchant))
                        .arg(creator_id)
                        .arg(millis(now))
                        .invoke_async(&mut self.conn.clone()),
                )
                .await?;
            value
                .iter()
                .map(|line| {
                    let parts: Vec<&str> = line.split(' ').collect();
                    let [currency, unpaid, held, paid, clawback, payable] = parts.as_slice() else {
                        return Err(corrupt("ledger"));
                    };
                    let n = |s: &str| -> Result<i64> { s.parse().map_err(|_| corrupt("ledger")) };
                    Ok(EarningsBalance {
                        merchant_id: MerchantId::stored(merchant.as_str()),
                        creator_id: creator.clone(),
                        currency: (*currency).to_owned(),
                        pending: n(unpaid)? - n(payable)?,
                        payable: n(payable)?,
                        held: n(held)?,
                        paid: n(paid)?,
                        clawback: n(clawback)?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        });
        let mut balances: Vec<EarningsBalance> =
            try_join_all(reads).await?.into_iter().flatten().collect();
        balances.sort_by(|a, b| (&a.merchant_id, &a.currency).cmp(&(&b.merchant_id, &b.currency)));
        Ok(balances)
    }

    async fn list_commissions(
        &self,
        query: &CommissionQuery,
        after: Option<&CommissionCursor>,
        limit: usize,
    ) -> Result<Page<Commission, CommissionCursor>> {
        let merchants = self
            .earning_merchants(query.merchant_id.as_ref(), query.creator_id.as_ref())
            .await?;
        let filter = state_filter(query.status);
        let walks = merchants.iter().map(|merchant| {
            let (index, creator) = match (&query.payout_id, &query.creator_id) {
                (Some(payout), creator) => (
                    payout_commissions_key(merchant, payout),
                    creator.as_deref().unwrap_or(""),
                ),
                (None, Some(creator)) => (commission_index_key(merchant, Some(creator)), ""),
                (None, None) => (commission_index_key(merchant, None), ""),
            };
            let start = start_after(
                after.map(|c| (c.newest_first, c.order_id.as_str(), c.merchant_id.as_str())),
                merchant,
                false,
            );
            self.walk(Walk {
                merchant,
                index,
                start,
                want: limit + 1,
                prefix: commission_prefix(merchant),
                kind: "c",
                filter,
                now: query.now,
                creator,
            })
        });
        let parts = try_join_all(walks).await?;
        let reached = parts.into_iter().map(|part| {
            part.reached(
                |merchant, order, record| {
                    let commission = parse_commission(merchant, order, record)?
                        .ok_or_else(|| corrupt("listing"))?;
                    Ok((CommissionCursor::of(&commission), commission))
                },
                |newest_first, order, merchant| CommissionCursor {
                    newest_first,
                    merchant_id: merchant.to_owned(),
                    order_id: order.to_owned(),
                },
            )
        });
        Ok(merge(reached.collect::<Result<_>>()?, limit))
    }

    async fn create_payout(&self, payout: &NewPayout) -> Result<PayoutWrite> {
        self.writable()?;
        let merchant = payout.merchant_id.as_str();
        let creator = payout.creator_id.as_str();
        let mut invocation = self.scripts.create_payout.prepare_invoke();
        invocation
            .key(payout_key(merchant, &payout.payout_id))
            .key(ledger_key(merchant, creator, &payout.currency))
            .key(unpaid_key(merchant, creator, &payout.currency))
            .key(events_key(merchant))
            .key(payout_index_key(merchant, None))
            .key(payout_index_key(merchant, Some(creator)))
            .key(payout_commissions_key(merchant, &payout.payout_id))
            .key(fold_state_key(merchant))
            .arg(payout.payout_id.as_str())
            .arg(creator)
            .arg(&payout.currency)
            .arg(millis(payout.now))
            .arg(payout.max_commissions);
        match payout.quoted {
            Some(quote) => invocation
                .arg(quote.payable)
                .arg(quote.clawback)
                .arg(quote.amount)
                .arg(quote.deducted),
            None => invocation.arg("").arg("").arg(0).arg(0),
        };
        invocation
            .arg(own_tag(merchant))
            .arg(self.retention.orders.as_millis() as i64)
            .arg(self.retention.payouts.as_millis() as i64)
            .arg(self.events_ttl());
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        let id = payout.payout_id.as_str();
        match reply(value)? {
            (tag, Some(record)) if tag == "new" => {
                self.fold.wrote(merchant);
                Ok(PayoutWrite::New(parse_payout(merchant, id, &record)?))
            }
            (tag, Some(record)) if tag == "existing" => {
                Ok(PayoutWrite::Existing(parse_payout(merchant, id, &record)?))
            }
            (tag, Some(quote)) if tag == "quote" => {
                let text = String::from_utf8(quote).map_err(|_| corrupt("payout quote"))?;
                let (payable, clawback) = text
                    .split_once(' ')
                    .and_then(|(p, c)| Some((p.parse().ok()?, c.parse().ok()?)))
                    .ok_or_else(|| corrupt("payout quote"))?;
                Ok(PayoutWrite::Quote { payable, clawback })
            }
            _ => Err(corrupt("create_payout reply")),
        }
    }

    async fn review_commission(&self, review: &CommissionReview) -> Result<ReviewWrite> {
        self.writable()?;
        let merchant = review.merchant_id.as_str();
        let order = review.order_id.as_str();
        let value: Value = self
            .run(
                self.scripts
                    .review_commission
                    .key(commission_key(merchant, order))
                    .key(order_key(merchant, order))
                    .key(events_key(merchant))
                    .key(fold_state_key(merchant))
                    .arg(order)
                    .arg(review.decision.code())
                    .arg(&review.reason)
                    .arg(millis(review.now))
                    .arg(own_tag(merchant))
                    .arg(self.retention.orders.as_millis() as i64)
                    .arg(self.events_ttl())
                    .invoke_async(&mut self.conn.clone()),
            )
            .await?;
        let Value::Array(items) = value else {
            return Err(corrupt("review_commission reply"));
        };
        let mut items = items.into_iter();
        let tag: String = items
            .next()
            .and_then(|tag| redis::from_redis_value(tag).ok())
            .ok_or_else(|| corrupt("review_commission reply"))?;
        match (tag.as_str(), items.next()) {
            ("reviewed", Some(fields)) => {
                self.fold.wrote(merchant);
                parse_commission(merchant, order, fields)?
                    .map(|commission| ReviewWrite::Reviewed(Box::new(commission)))
                    .ok_or_else(|| corrupt("review_commission reply"))
            }
            ("not_held", None) => Ok(ReviewWrite::NotHeld),
            ("no_order", None) => Ok(ReviewWrite::NoOrder),
            _ => Err(corrupt("review_commission reply")),
        }
    }

    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        after: Option<&PayoutCursor>,
        limit: usize,
    ) -> Result<Page<Payout, PayoutCursor>> {
        let merchants = self
            .earning_merchants(query.merchant_id.as_ref(), query.creator_id.as_ref())
            .await?;
        let walks = merchants.iter().map(|merchant| {
            let start = start_after(
                after.map(|c| (c.newest_first, c.payout_id.as_str(), c.merchant_id.as_str())),
                merchant,
                true,
            );
            self.walk(Walk {
                merchant,
                index: payout_index_key(merchant, query.creator_id.as_deref()),
                start,
                want: limit + 1,
                prefix: payout_prefix(merchant),
                kind: "p",
                filter: "",
                now: query.now,
                creator: "",
            })
        });
        let parts = try_join_all(walks).await?;
        let reached = parts.into_iter().map(|part| {
            part.reached(
                |merchant, payout_id, record| {
                    let record: Vec<u8> =
                        redis::from_redis_value(record).map_err(|_| corrupt("payout"))?;
                    let payout = parse_payout(merchant, payout_id, &record)?;
                    Ok((PayoutCursor::of(&payout), payout))
                },
                |newest_first, payout_id, merchant| PayoutCursor {
                    newest_first,
                    payout_id: payout_id.to_owned(),
                    merchant_id: merchant.to_owned(),
                },
            )
        });
        Ok(merge(reached.collect::<Result<_>>()?, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_starts_after_the_cursor_in_the_global_order() {
        let after = Some((-1_000, "o-5", "m-2"));
        let at = position_prefix(-1_000);
        let later = position_prefix(-999);

        assert_eq!(start_after(None, "m-1", false), "-");
        assert_eq!(start_after(after, "m-1", false), format!("[{later}"));
        assert_eq!(start_after(after, "m-2", false), format!("({at}|o-5"));
        assert_eq!(start_after(after, "m-3", false), format!("[{at}"));
        assert_eq!(start_after(after, "m-1", true), format!("({at}|o-5"));
        assert_eq!(start_after(after, "m-3", true), format!("[{at}|o-5"));
    }

    #[test]
    fn members_read_back_as_their_position() {
        let member = format!("{}|order-1", position_prefix(-1_764_000_000_000));
        assert_eq!(member_parts(&member), Some((-1_764_000_000_000, "order-1")));
    }

    #[test]
    fn a_merge_keeps_only_what_every_unfinished_part_has_reached() {
        // Part a stopped at 5 with more to read; part b is done.
        let a = (vec![(1, "a1"), (5, "a5")], Some(5));
        let b = (vec![(2, "b2"), (7, "b7")], None);

        let page = merge(vec![a, b], 10);

        assert_eq!(page.items, vec!["a1", "b2", "a5"]);
        assert_eq!(page.next, Some(5));
        let full = merge(vec![(vec![(1, "x"), (2, "y")], None)], 1);
        assert_eq!((full.items, full.next), (vec!["x"], Some(1)));
    }
}
