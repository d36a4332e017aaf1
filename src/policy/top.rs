//! Top lists: what a ranking may be asked for (API.md, CounterService
//! `ListTop`): a dimension other than merchants, one UTC day, and at most
//! [`MAX_TOP_LIMIT`] entries.

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::model::Dimension;

/// Entries a top list has when an HTTP query names no limit (over gRPC a
/// limit is required).
pub(crate) const DEFAULT_TOP_LIMIT: i32 = 10;
/// Most entries a top list may have.
pub(crate) const MAX_TOP_LIMIT: usize = 100;

/// The dimension a top list ranks: any but merchants. Fails with
/// `INVALID_FIELD` naming `field`.
pub(crate) fn top_dimension(field: &str, dimension: Dimension) -> Result<Dimension> {
    match dimension {
        Dimension::Merchant => Err(Error::invalid_field(
            field,
            "top lists rank campaigns, creators, videos or products",
        )),
        other => Ok(other),
    }
}

/// The UTC day a top list ranks, written exactly `YYYY-MM-DD` (chrono alone
/// also takes `2026-1-5` and `+2026-01-05`). Fails with `INVALID_FIELD`
/// naming `field`.
pub(crate) fn utc_day(field: &str, raw: &str) -> Result<NaiveDate> {
    Some(raw)
        .filter(|day| day.len() == 10 && day.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .ok_or_else(|| Error::invalid_field(field, "must be a UTC day, YYYY-MM-DD"))
}

/// How many entries a top list has: 1 to [`MAX_TOP_LIMIT`]; none (0) or
/// more fails with `INVALID_FIELD` naming `field` (the HTTP route fills in
/// [`DEFAULT_TOP_LIMIT`] before).
pub(crate) fn top_limit(field: &str, requested: i32) -> Result<usize> {
    match usize::try_from(requested) {
        Ok(n @ 1..=MAX_TOP_LIMIT) => Ok(n),
        _ => Err(Error::invalid_field(
            field,
            format!("must be 1 to {MAX_TOP_LIMIT}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_support::{field_of, message_of};

    #[test]
    fn top_lists_rank_anything_but_merchants() {
        for dimension in [
            Dimension::Campaign,
            Dimension::Creator,
            Dimension::Video,
            Dimension::Product,
        ] {
            assert_eq!(top_dimension("dimension", dimension), Ok(dimension));
        }
        let result = top_dimension("dimension", Dimension::Merchant);
        assert_eq!(field_of(result.clone()), "dimension");
        assert!(message_of(result).contains("campaigns, creators, videos or products"));
    }

    #[test]
    fn a_day_is_exactly_yyyy_mm_dd() {
        assert_eq!(
            utc_day("day", "2026-01-05"),
            Ok(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
        );
        for bad in [
            "",
            "2026-1-5",
            "+2026-01-05",
            "2026-01-5 ",
            "2026-02-30",
            "2026/01/05",
            "20260105",
            "2026-13-01",
            "٢٠٢٦-٠١-٠٥",
        ] {
            assert_eq!(
                utc_day("day", bad),
                Err(Error::invalid_field("day", "must be a UTC day, YYYY-MM-DD")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_limit_is_1_to_100() {
        assert_eq!(top_limit("limit", 1), Ok(1));
        assert_eq!(top_limit("limit", 100), Ok(MAX_TOP_LIMIT));
        for bad in [0, -1, 101, i32::MIN, i32::MAX] {
            assert_eq!(
                top_limit("limit", bad),
                Err(Error::invalid_field("limit", "must be 1 to 100")),
                "{bad}"
            );
        }
    }
}
