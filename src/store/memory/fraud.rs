//! The embedded store's fraud counts (API.md, "Fraud signals"): each
//! creator's taps at a merchant in the current UTC minute, and the creators
//! of a merchant each viewer tapped in the current UTC hour. Kept for the
//! current windows only, as the Redis keys of past windows expire.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::{Attribution, CreatorId, FraudRules, MerchantId};
use crate::policy::{self, CREATOR_HOPPING_WINDOW, TAP_FLOOD_WINDOW, TapCounts};
use crate::privacy::ViewerHash;

/// The counts of the current windows.
#[derive(Debug, Default)]
pub(super) struct FraudCounts {
    /// The UTC minute `taps` counts in.
    minute: i64,
    /// Taps per (merchant, creator) this minute.
    taps: HashMap<(MerchantId, CreatorId), u64>,
    /// The UTC hour `creators` counts in.
    hour: i64,
    /// The distinct creators per (merchant, viewer) this hour: at most one
    /// more than the limit (past it, every new click is flagged anyway).
    creators: HashMap<(MerchantId, ViewerHash), Vec<CreatorId>>,
}

impl FraudCounts {
    /// Counts a tap answered OK (a new click or a repeat) and returns the
    /// counts its click is judged by.
    pub(super) fn count_tap(
        &mut self,
        rules: &FraudRules,
        attribution: &Attribution,
        viewer: Option<&ViewerHash>,
        self_referral: bool,
        now: DateTime<Utc>,
    ) -> TapCounts {
        let minute = policy::window_number(now, TAP_FLOOD_WINDOW);
        if minute != self.minute {
            self.minute = minute;
            self.taps.clear();
        }
        let hour = policy::window_number(now, CREATOR_HOPPING_WINDOW);
        if hour != self.hour {
            self.hour = hour;
            self.creators.clear();
        }
        let taps = self
            .taps
            .entry((
                attribution.merchant_id.clone(),
                attribution.creator_id.clone(),
            ))
            .or_default();
        *taps += 1;
        let creators = viewer.map_or(0, |viewer| {
            let seen = self
                .creators
                .entry((attribution.merchant_id.clone(), *viewer))
                .or_default();
            let cap = rules.max_creators_per_viewer_per_hour.get() as usize + 1;
            if seen.len() < cap && !seen.contains(&attribution.creator_id) {
                seen.push(attribution.creator_id.clone());
            }
            seen.len() as u64
        });
        TapCounts {
            self_referral,
            creator_taps_this_minute: *taps,
            viewer_creators_this_hour: creators,
        }
    }

    /// Forgets a viewer's creators (EraseViewer).
    pub(super) fn erase(&mut self, viewer: &ViewerHash) {
        self.creators.retain(|(_, v), _| v != viewer);
    }
}
