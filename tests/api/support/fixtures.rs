//! The messages and instants tests build their calls from: a tap on
//! CAMPAIGN, a campaign, the test day, and tokens and viewers made to be
//! looked for.

use cartclick::proto::*;
use chrono::{DateTime, TimeZone, Utc};

use super::CAMPAIGN;

/// The dimensions ListTop ranks ids of.
pub const RANKED: [Dimension; 4] = [
    Dimension::Campaign,
    Dimension::Creator,
    Dimension::Video,
    Dimension::Product,
];

/// A whole hour, so tests that count by the hour do not straddle one.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
}

/// `at` as a protobuf timestamp, whole seconds.
pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// `amount_minor` in Danish kroner, the currency most tests sell in.
pub fn dkk(amount_minor: i64) -> Money {
    Money {
        currency_code: "DKK".into(),
        amount_minor,
    }
}

/// A campaign message.
pub fn campaign(id: &str, merchant: &str, category: &str, products: &[&str]) -> Campaign {
    Campaign {
        campaign_id: id.into(),
        merchant_id: merchant.into(),
        category: category.into(),
        attribution_window: None,
        product_ids: products.iter().map(|p| p.to_string()).collect(),
        status: 0,
        review_reason: String::new(),
        commission_rate_bps: 0,
        holding_period: None,
    }
}

/// A tap on CAMPAIGN by an adult viewer.
pub fn tap(viewer: &str) -> IssueTokenRequest {
    IssueTokenRequest {
        viewer_id: viewer.into(),
        video_id: "vid-1".into(),
        creator_id: "cr-1".into(),
        campaign_id: CAMPAIGN.into(),
        product_id: "sku-1".into(),
        landing_url: "https://www.shop.dk/p/sku-1?color=red#reviews".into(),
        age_bracket: AgeBracket::AgeBracket18Plus.into(),
    }
}

/// A tap by `viewer` on video `video` of CAMPAIGN: a new click per video.
pub fn tap_on(viewer: &str, video: &str) -> IssueTokenRequest {
    IssueTokenRequest {
        video_id: video.into(),
        ..tap(viewer)
    }
}

/// A tap by viewer-1 on CAMPAIGN that lands on `landing_url`.
pub fn tap_landing_on(landing_url: &str) -> IssueTokenRequest {
    IssueTokenRequest {
        landing_url: landing_url.into(),
        ..tap("viewer-1")
    }
}

/// `token` with one character in the middle changed: still base64url, no
/// longer authentic.
pub fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// A viewer id that is unique to the test, to look for it where it must
/// never be.
pub fn unique_viewer() -> String {
    format!("viewer-{}", hex::encode(rand::random::<[u8; 8]>()))
}
