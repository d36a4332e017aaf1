//! How the client commands read the values of their flags where clap's own
//! parsing would refuse what a person types: a currency in lower case, a
//! day for a time. A value that cannot be read is refused by clap, naming
//! the flag and saying what is expected.

use chrono::{DateTime, NaiveDate, Utc};

/// A currency code, upper-cased (`dkk` is `DKK`). Whether it is money is
/// the server's to say (INVALID_AMOUNT); this only refuses what cannot be
/// a code at all.
pub(super) fn currency(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err("expected a three-letter ISO 4217 code, e.g. DKK".to_owned())
    }
}

/// An instant: an RFC 3339 time (`2026-11-01T10:00:00Z`,
/// `2026-11-01T11:00:00+01:00`), or a day (`2026-11-01`), which is that
/// day's UTC midnight.
pub(super) fn instant(raw: &str) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .ok_or_else(|| {
            "expected a UTC day (2026-11-01) or an RFC 3339 time (2026-11-01T10:00:00Z)".to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_is_upper_cased() {
        assert_eq!(currency("dkk").unwrap(), "DKK");
        assert_eq!(currency(" Eur ").unwrap(), "EUR");
        assert_eq!(currency("JPY").unwrap(), "JPY");
    }

    #[test]
    fn what_cannot_be_a_currency_code_says_what_is_expected() {
        for raw in ["", "dk", "dkkk", "d1k", "øre"] {
            let error = currency(raw).unwrap_err();
            assert!(error.contains("ISO 4217"), "{raw:?}: {error}");
        }
    }

    #[test]
    fn a_day_is_its_utc_midnight_and_a_full_time_is_itself() {
        let midnight = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(instant("2026-11-01").unwrap(), midnight);
        assert_eq!(
            instant("2026-11-01T11:30:00+01:00").unwrap(),
            DateTime::parse_from_rfc3339("2026-11-01T10:30:00Z").unwrap()
        );
    }

    #[test]
    fn a_bad_instant_says_which_formats_are_read() {
        for raw in ["2026-11", "2026-13-01", "yesterday", "2026-11-01 10:00"] {
            let error = instant(raw).unwrap_err();
            assert!(
                error.contains("2026-11-01") && error.contains("RFC 3339"),
                "{raw:?}: {error}"
            );
        }
    }
}
