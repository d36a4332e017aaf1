//! Windows: how long after a click a campaign attributes its sales (API.md,
//! `Campaign.attribution_window`: 1 hour to 30 days, 7 days by default).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::{DEFAULT_ATTRIBUTION_WINDOW, MAX_ATTRIBUTION_WINDOW, MIN_ATTRIBUTION_WINDOW};

/// A campaign's attribution window: [`DEFAULT_ATTRIBUTION_WINDOW`] when none
/// is set, else it must lie within [`MIN_ATTRIBUTION_WINDOW`] and
/// [`MAX_ATTRIBUTION_WINDOW`] inclusive. Fails with `INVALID_FIELD` naming
/// `field`.
pub fn attribution_window(field: &str, window: Option<Duration>) -> Result<Duration> {
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
}
