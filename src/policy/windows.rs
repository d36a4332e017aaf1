//! Windows: how long after a click a campaign attributes its sales (API.md,
//! `Campaign.attribution_window`: 1 hour to 30 days, 7 days by default), and
//! how much time one counter read may span (API.md, `GetCounters`: at most
//! 744 hourly or 400 daily buckets), and the window taps are rate limited in.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::{
    BucketRange, DEFAULT_ATTRIBUTION_WINDOW, Granularity, MAX_ATTRIBUTION_WINDOW,
    MIN_ATTRIBUTION_WINDOW,
};

/// The window of the tap rate limit: a viewer may make
/// `policy.tap_rate_limit_per_minute` taps at a merchant per minute; the
/// store counts them per aligned window of this length.
pub(crate) const TAP_RATE_WINDOW: Duration = Duration::from_secs(60);

/// Most hourly buckets one counter read may span (31 days).
pub(crate) const MAX_HOURLY_BUCKETS: i64 = 744;
/// Most daily buckets one counter read may span.
pub(crate) const MAX_DAILY_BUCKETS: i64 = 400;

/// A campaign's attribution window: [`DEFAULT_ATTRIBUTION_WINDOW`] when none
/// is set, else it must lie within [`MIN_ATTRIBUTION_WINDOW`] and
/// [`MAX_ATTRIBUTION_WINDOW`] inclusive. Fails with `INVALID_FIELD` naming
/// `field`.
pub(crate) fn attribution_window(field: &str, window: Option<Duration>) -> Result<Duration> {
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

/// The buckets a counter read of `[start, end)` covers, widened to whole
/// buckets of `granularity`: at most [`MAX_HOURLY_BUCKETS`] hourly or
/// [`MAX_DAILY_BUCKETS`] daily ones. Fails with `INVALID_FIELD` naming
/// `end_time` when `end` is not after `start` or the range spans more.
pub(crate) fn counter_range(
    granularity: Granularity,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<BucketRange> {
    if end <= start {
        return Err(Error::invalid_field("end_time", "must be after start_time"));
    }
    let step = granularity.seconds();
    let first = granularity.bucket_start(start);
    let last_exclusive = (end.timestamp() + step - 1).div_euclid(step) * step;
    let count = (last_exclusive - first) / step;
    let max = match granularity {
        Granularity::Hour => MAX_HOURLY_BUCKETS,
        Granularity::Day => MAX_DAILY_BUCKETS,
    };
    if count > max {
        return Err(Error::invalid_field(
            "end_time",
            format!("the range spans {count} buckets, at most {max} a call"),
        ));
    }
    Ok(BucketRange {
        granularity,
        first,
        count: count as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    // ---- counter_range ----

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn a_counter_range_widens_to_whole_buckets() {
        let hour = Granularity::Hour;
        let range = counter_range(hour, at(3600 + 5), at(3 * 3600 + 1)).unwrap();
        assert_eq!((range.first, range.count), (3600, 3));
        let range = counter_range(hour, at(3600), at(2 * 3600)).unwrap();
        assert_eq!((range.first, range.count), (3600, 1));
        let day = Granularity::Day;
        let range = counter_range(day, at(86_400 + 1), at(86_400 + 2)).unwrap();
        assert_eq!((range.first, range.count), (86_400, 1));
    }

    #[test]
    fn a_counter_range_ends_after_it_starts() {
        for end in [at(3600), at(3599)] {
            assert_eq!(
                counter_range(Granularity::Hour, at(3600), end),
                Err(Error::invalid_field("end_time", "must be after start_time"))
            );
        }
    }

    #[test]
    fn a_counter_range_spans_at_most_744_hours_or_400_days() {
        for (granularity, max) in [
            (Granularity::Hour, MAX_HOURLY_BUCKETS),
            (Granularity::Day, MAX_DAILY_BUCKETS),
        ] {
            let step = granularity.seconds();
            let range = counter_range(granularity, at(0), at(max * step)).unwrap();
            assert_eq!(i64::from(range.count), max);
            assert_eq!(
                counter_range(granularity, at(0), at(max * step + 1)),
                Err(Error::invalid_field(
                    "end_time",
                    format!("the range spans {} buckets, at most {max} a call", max + 1)
                ))
            );
        }
    }
}
