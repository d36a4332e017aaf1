//! The fraud rules (API.md, "Fraud signals"): counts and thresholds in,
//! signals out. The stores keep the counts, in the same atomic step as the
//! tap or the sale; these decide what they mean. The Redis scripts apply
//! the same comparisons inside Redis (`record_click.lua`,
//! `confirm_sale.lua`), and the conformance tests hold the two equal at
//! every boundary.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{FraudRules, FraudSignal, Signals};

/// The window `TAP_FLOOD` counts a creator's taps in: the UTC minute.
pub(crate) const TAP_FLOOD_WINDOW: Duration = Duration::from_secs(60);
/// The window `CREATOR_HOPPING` counts a viewer's creators in: the UTC hour.
pub(crate) const CREATOR_HOPPING_WINDOW: Duration = Duration::from_secs(3600);
/// The most `max_creators_per_viewer_per_hour` may be: a store keeps up to
/// one more creator than the limit per viewer and hour.
pub(crate) const MAX_CREATORS_PER_VIEWER_LIMIT: u32 = 1000;
/// The most `min_click_to_sale_seconds` may be: a day.
pub(crate) const MAX_CLICK_TO_SALE: Duration = Duration::from_secs(86_400);

/// What a store counted for a new click, this tap included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapCounts {
    /// The viewer is the creator.
    pub self_referral: bool,
    /// The creator's taps at the merchant (its shard) this UTC minute.
    pub creator_taps_this_minute: u64,
    /// The distinct creators of the merchant (its shard) the viewer tapped
    /// this UTC hour.
    pub viewer_creators_this_hour: u64,
}

/// Whether a tap is a self-referral: the viewer is the creator.
pub(crate) fn is_self_referral(viewer_id: &str, creator_id: &str) -> bool {
    viewer_id == creator_id
}

/// A new click's signals from its counts: a count *over* its limit flags
/// (the limit-th tap is clean, the next is not).
pub fn click_signals(rules: &FraudRules, counts: TapCounts) -> Signals {
    Signals::NONE
        .with_if(FraudSignal::SelfReferral, counts.self_referral)
        .with_if(
            FraudSignal::TapFlood,
            counts.creator_taps_this_minute > u64::from(rules.max_creator_taps_per_minute.get()),
        )
        .with_if(
            FraudSignal::CreatorHopping,
            counts.viewer_creators_this_hour
                > u64::from(rules.max_creators_per_viewer_per_hour.get()),
        )
}

/// A sale's signals: its click's, and `SALE_TOO_FAST` when it came less
/// than the minimum after the click's first tap.
pub fn sale_signals(
    rules: &FraudRules,
    click: Signals,
    clicked_at: DateTime<Utc>,
    confirmed_at: DateTime<Utc>,
) -> Signals {
    let too_fast = (confirmed_at - clicked_at)
        .to_std()
        .map_or(true, |after| after < rules.min_click_to_sale);
    click.with_if(
        FraudSignal::SaleTooFast,
        too_fast && !rules.min_click_to_sale.is_zero(),
    )
}

/// The number of the fixed window of `length` that `at` falls in, counted
/// from the epoch (UTC minutes and hours restart on the minute and hour).
pub(crate) fn window_number(at: DateTime<Utc>, length: Duration) -> i64 {
    at.timestamp().div_euclid(length.as_secs().max(1) as i64)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use chrono::TimeDelta;

    use super::*;

    fn rules(taps: u32, creators: u32, seconds: u64) -> FraudRules {
        FraudRules {
            max_creator_taps_per_minute: NonZeroU32::new(taps).unwrap(),
            max_creators_per_viewer_per_hour: NonZeroU32::new(creators).unwrap(),
            min_click_to_sale: Duration::from_secs(seconds),
        }
    }

    fn counts(taps: u64, creators: u64) -> TapCounts {
        TapCounts {
            self_referral: false,
            creator_taps_this_minute: taps,
            viewer_creators_this_hour: creators,
        }
    }

    #[test]
    fn a_count_at_its_limit_is_clean_and_one_over_is_flagged() {
        let rules = rules(3, 2, 10);
        assert_eq!(click_signals(&rules, counts(3, 2)), Signals::NONE);
        assert_eq!(
            click_signals(&rules, counts(4, 2)),
            Signals::of(FraudSignal::TapFlood)
        );
        assert_eq!(
            click_signals(&rules, counts(1, 3)),
            Signals::of(FraudSignal::CreatorHopping)
        );
        let both = click_signals(&rules, counts(4, 3));
        assert!(both.contains(FraudSignal::TapFlood) && both.contains(FraudSignal::CreatorHopping));
    }

    #[test]
    fn a_viewer_who_is_the_creator_is_a_self_referral() {
        assert!(is_self_referral("u-1", "u-1"));
        assert!(!is_self_referral("u-1", "U-1"));
        let signals = click_signals(
            &FraudRules::default(),
            TapCounts {
                self_referral: true,
                ..counts(1, 1)
            },
        );
        assert_eq!(signals, Signals::of(FraudSignal::SelfReferral));
    }

    #[test]
    fn a_sale_sooner_than_the_minimum_is_too_fast_and_one_at_it_is_not() {
        let rules = rules(600, 10, 10);
        let clicked = DateTime::from_timestamp(1_000, 0).unwrap();
        let at = |ms| clicked + TimeDelta::milliseconds(ms);
        let fast = Signals::of(FraudSignal::SaleTooFast);
        assert_eq!(
            sale_signals(&rules, Signals::NONE, clicked, at(9_999)),
            fast
        );
        assert_eq!(
            sale_signals(&rules, Signals::NONE, clicked, at(10_000)),
            Signals::NONE
        );
        // A sale before its click (clocks of replicas disagree) is too fast.
        assert_eq!(sale_signals(&rules, Signals::NONE, clicked, at(-1)), fast);
        // The click's signals carry over.
        let click = Signals::of(FraudSignal::TapFlood);
        assert_eq!(sale_signals(&rules, click, clicked, at(60_000)), click);
        // A minimum of zero never flags.
        assert_eq!(
            sale_signals(&self::rules(600, 10, 0), Signals::NONE, clicked, at(-1)),
            Signals::NONE
        );
    }

    #[test]
    fn windows_restart_on_the_utc_minute_and_hour() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(window_number(at(119), TAP_FLOOD_WINDOW), 1);
        assert_eq!(window_number(at(120), TAP_FLOOD_WINDOW), 2);
        assert_eq!(window_number(at(7_199), CREATOR_HOPPING_WINDOW), 1);
        assert_eq!(window_number(at(7_200), CREATOR_HOPPING_WINDOW), 2);
    }
}
