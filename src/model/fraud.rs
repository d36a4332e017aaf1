//! Fraud signals: reasons to doubt a tap or a sale (API.md, "Fraud
//! signals"). Flagged, never blocked: a flagged tap still gets its token,
//! a flagged sale still counts, and the sale's commission is held until an
//! admin reviews it. The rules that raise them are `policy::fraud`'s.

use std::num::NonZeroU32;
use std::time::Duration;

/// One reason to doubt a tap or a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FraudSignal {
    /// The viewer is the creator.
    SelfReferral,
    /// The creator's taps at the merchant this minute are over the limit.
    TapFlood,
    /// The viewer tapped carts of more of the merchant's creators this hour
    /// than the limit.
    CreatorHopping,
    /// The sale came sooner after the click than the minimum.
    SaleTooFast,
}

impl FraudSignal {
    /// Every signal, in the contract's order.
    pub const ALL: [FraudSignal; 4] = [
        FraudSignal::SelfReferral,
        FraudSignal::TapFlood,
        FraudSignal::CreatorHopping,
        FraudSignal::SaleTooFast,
    ];

    /// Its bit in a [`Signals`] set, as the stores keep it (the Lua scripts
    /// add these same values).
    const fn bit(self) -> u8 {
        match self {
            FraudSignal::SelfReferral => 1,
            FraudSignal::TapFlood => 2,
            FraudSignal::CreatorHopping => 4,
            FraudSignal::SaleTooFast => 8,
        }
    }

    /// Its name in logs and metrics, as the contract spells it without the
    /// enum's prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            FraudSignal::SelfReferral => "SELF_REFERRAL",
            FraudSignal::TapFlood => "TAP_FLOOD",
            FraudSignal::CreatorHopping => "CREATOR_HOPPING",
            FraudSignal::SaleTooFast => "SALE_TOO_FAST",
        }
    }
}

/// A set of fraud signals: a click's, or a sale's (its click's and its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Signals(u8);

impl Signals {
    /// No signal.
    pub const NONE: Signals = Signals(0);

    /// The set holding `signal` only.
    pub const fn of(signal: FraudSignal) -> Signals {
        Signals(signal.bit())
    }

    /// This set with `signal` added when `raised`.
    #[must_use]
    pub const fn with_if(self, signal: FraudSignal, raised: bool) -> Signals {
        if raised {
            Signals(self.0 | signal.bit())
        } else {
            self
        }
    }

    /// Both sets together.
    #[must_use]
    pub const fn union(self, other: Signals) -> Signals {
        Signals(self.0 | other.0)
    }

    /// No signal at all.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `signal` is in the set.
    pub const fn contains(self, signal: FraudSignal) -> bool {
        self.0 & signal.bit() != 0
    }

    /// The signals in the set, in the contract's order.
    pub fn iter(self) -> impl Iterator<Item = FraudSignal> {
        FraudSignal::ALL
            .into_iter()
            .filter(move |signal| self.contains(*signal))
    }

    /// The set of stored bits; `None` for bits no signal has.
    pub(crate) fn from_bits(bits: u8) -> Option<Signals> {
        (bits & !0b1111 == 0).then_some(Signals(bits))
    }
}

impl FromIterator<FraudSignal> for Signals {
    fn from_iter<I: IntoIterator<Item = FraudSignal>>(signals: I) -> Signals {
        signals
            .into_iter()
            .fold(Signals::NONE, |set, signal| set.with_if(signal, true))
    }
}

/// The `[fraud]` thresholds, when fraud signals are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FraudRules {
    /// A creator's taps at a merchant a UTC minute before its new clicks
    /// are `TAP_FLOOD`.
    pub max_creator_taps_per_minute: NonZeroU32,
    /// The creators of a merchant a viewer may tap a UTC hour before its
    /// new clicks are `CREATOR_HOPPING`.
    pub max_creators_per_viewer_per_hour: NonZeroU32,
    /// A sale sooner than this after its click's first tap is
    /// `SALE_TOO_FAST`; zero never is.
    pub min_click_to_sale: Duration,
}

impl Default for FraudRules {
    fn default() -> Self {
        FraudRules {
            max_creator_taps_per_minute: NonZeroU32::new(600).expect("not zero"),
            max_creators_per_viewer_per_hour: NonZeroU32::new(10).expect("not zero"),
            min_click_to_sale: Duration::from_secs(10),
        }
    }
}

/// What a tap hands the store to raise its click's signals: the rules,
/// and whether the viewer is the creator (known only before the viewer id
/// is hashed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapFraud {
    /// The thresholds.
    pub rules: FraudRules,
    /// The viewer is the creator.
    pub self_referral: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_keeps_its_signals_in_the_contracts_order_and_round_trips_its_bits() {
        let set: Signals = [FraudSignal::SaleTooFast, FraudSignal::SelfReferral]
            .into_iter()
            .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [FraudSignal::SelfReferral, FraudSignal::SaleTooFast]
        );
        assert_eq!(Signals::from_bits(9), Some(set));
        assert_eq!(Signals::from_bits(16), None);
        assert!(Signals::NONE.is_empty());
        assert!(!set.contains(FraudSignal::TapFlood));
        let all = FraudSignal::ALL.into_iter().collect::<Signals>();
        assert_eq!(Signals::from_bits(15), Some(all));
        assert_eq!(
            Signals::of(FraudSignal::TapFlood).union(Signals::of(FraudSignal::CreatorHopping)),
            Signals::NONE
                .with_if(FraudSignal::TapFlood, true)
                .with_if(FraudSignal::CreatorHopping, true)
                .with_if(FraudSignal::SaleTooFast, false)
        );
    }
}
