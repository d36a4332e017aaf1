//! Privacy: viewer ids are stored only as a hash keyed by the viewer pepper,
//! and AdminService.EraseViewer removes every stored link to a viewer (dedup
//! entries, the viewer field of click records, rate-limit counts) while the
//! counted figures stay.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use cartclick::proto::*;
use chrono::TimeDelta;
use std::num::NonZero;
use tonic::{Code, Status};

use crate::support::*;

/// A viewer id that nothing else in a test contains.
const RAW_VIEWER: &str = "viewer-RAW-7f3a";

async fn erase_as(app: &TestApp, key: &str, viewer_id: &str) -> Result<i64, Status> {
    let request = EraseViewerRequest {
        viewer_id: viewer_id.into(),
    };
    Ok(app
        .admin()
        .erase_viewer(authed(key, request))
        .await?
        .into_inner()
        .clicks_erased)
}

async fn erase(app: &TestApp, viewer_id: &str) -> i64 {
    erase_as(app, &app.keys.admin, viewer_id)
        .await
        .expect("erase viewer")
}

/// The hash the app stores for `viewer_id`, under its configured pepper.
fn stored_hash(app: &TestApp, viewer_id: &str) -> [u8; 16] {
    app.config
        .viewer_pepper
        .as_ref()
        .expect("the test config has a viewer pepper")
        .viewer_hash(viewer_id)
}

/// The ways `text` could be written into a stored value: as is, in hex, and
/// in base64 (standard and URL-safe) at each of the three byte alignments,
/// keeping only the characters that depend on `text` alone.
fn encodings_of(text: &str) -> Vec<String> {
    let mut encodings = vec![text.to_owned(), hex::encode(text), hex::encode_upper(text)];
    for offset in 0..3 {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(text.as_bytes());
        let first = 4 * offset.div_ceil(3);
        let last = 4 * ((offset + text.len()) / 3);
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            encodings.push(engine.encode(&bytes)[first..last].to_owned());
        }
    }
    encodings
}

async fn erasing_a_viewer_returns_how_many_of_its_clicks_were_unlinked(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap_on("viewer-1", "vid-1")).await.unwrap();
    app.issue(tap_on("viewer-1", "vid-1")).await.unwrap(); // a repeat: no new click
    app.issue(tap_on("viewer-1", "vid-2")).await.unwrap();
    app.issue(tap_on("viewer-2", "vid-1")).await.unwrap();

    let erased = erase(&app, "viewer-1").await;

    assert_eq!(erased, 2);
}

async fn erasing_the_same_viewer_again_erases_nothing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();
    erase(&app, "viewer-1").await;

    let again = erase(&app, "viewer-1").await;

    assert_eq!(again, 0);
}

async fn a_viewer_who_never_tapped_erases_nothing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();

    let erased = erase(&app, "viewer-9").await;

    assert_eq!(erased, 0);
}

async fn after_erasure_a_repeat_tap_is_a_new_click(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let first = app.issue(tap("viewer-1")).await.unwrap();
    erase(&app, "viewer-1").await;
    app.clock.advance(TimeDelta::minutes(1));

    let again = app.issue(tap("viewer-1")).await.unwrap();

    assert!(!again.deduplicated);
    assert_ne!(again.click_id, first.click_id);
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!((total.taps, total.clicks), (2, 2));
}

async fn erasure_leaves_the_counted_figures_unchanged(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 12_500, "DKK").await;
    let dimensions = [
        (Dimension::Merchant, MERCHANT),
        (Dimension::Campaign, CAMPAIGN),
        (Dimension::Creator, "cr-1"),
        (Dimension::Video, "vid-1"),
        (Dimension::Product, "sku-1"),
    ];
    let mut before = Vec::new();
    for (dimension, id) in dimensions {
        before.push(app.total(dimension, id).await);
    }

    erase(&app, "viewer-1").await;

    for ((dimension, id), before) in dimensions.into_iter().zip(before) {
        let after = app.total(dimension, id).await;
        assert_eq!(after, before, "{dimension:?}");
    }
    let campaign = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!(
        (campaign.taps, campaign.clicks, campaign.conversions),
        (2, 1, 1)
    );
}

async fn erasure_leaves_other_viewers_untouched(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();
    let other = app.issue(tap("viewer-2")).await.unwrap();

    erase(&app, "viewer-1").await;

    let repeat = app.issue(tap("viewer-2")).await.unwrap();
    assert!(repeat.deduplicated);
    assert_eq!(repeat.click_id, other.click_id);
    assert_eq!(erase(&app, "viewer-2").await, 1);
}

async fn a_sale_on_an_erased_viewers_click_still_confirms(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    erase(&app, "viewer-1").await;

    let sale = app.confirm(&issued.token, "order-1", 12_500, "DKK").await;

    let sale = sale.expect("the click record stays");
    assert_eq!(sale.click_id, issued.click_id);
    assert_eq!(sale.video_id, "vid-1");
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!(total.conversions, 1);
}

async fn erasure_removes_the_viewers_rate_limit_count(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| config.policy.tap_rate_limit_per_minute = NonZero::new(2).unwrap())
        .seeded()
        .spawn()
        .await;
    app.issue(tap_on("viewer-1", "vid-1")).await.unwrap();
    app.issue(tap_on("viewer-1", "vid-2")).await.unwrap();

    erase(&app, "viewer-1").await;
    let third = app.issue(tap_on("viewer-1", "vid-3")).await;

    assert!(third.is_ok(), "the count went with the viewer: {third:?}");
}

async fn viewer_ids_are_stored_as_a_hash_keyed_by_the_configured_pepper(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    app.issue(tap(RAW_VIEWER)).await.unwrap();

    let stored = app.stored_data().await;
    assert!(stored.contains_bytes(&stored_hash(&app, RAW_VIEWER)));
    assert!(!stored.contains_text(RAW_VIEWER));
}

async fn after_erasure_nothing_stored_holds_the_viewers_hash(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap_on(RAW_VIEWER, "vid-1")).await.unwrap();
    app.issue(tap_on(RAW_VIEWER, "vid-1")).await.unwrap();
    app.issue(tap_on(RAW_VIEWER, "vid-2")).await.unwrap();
    app.issue(tap_on("viewer-2", "vid-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 100, "DKK").await;
    let hash = stored_hash(&app, RAW_VIEWER);
    assert!(app.stored_data().await.contains_bytes(&hash));

    erase(&app, RAW_VIEWER).await;

    let stored = app.stored_data().await;
    assert!(!stored.contains_bytes(&hash));
    assert!(stored.contains_bytes(&stored_hash(&app, "viewer-2")));
}

async fn no_stored_key_or_value_holds_the_raw_viewer_id_after_the_full_flow(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let first = app.issue(tap_on(RAW_VIEWER, "vid-1")).await.unwrap();
    app.issue(tap_on(RAW_VIEWER, "vid-1")).await.unwrap(); // a repeat
    let second = app.issue(tap_on(RAW_VIEWER, "vid-2")).await.unwrap();
    app.issue(tap_on("viewer-2", "vid-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(90));
    app.confirmed(&first.token, "order-1", 12_500, "DKK").await;
    app.confirm(&first.token, "order-1", 12_500, "DKK")
        .await
        .unwrap(); // a replay
    app.confirmed(&second.token, "order-2", 300, "EUR").await;
    app.total(Dimension::Merchant, MERCHANT).await;

    let stored = app.stored_data().await;

    assert!(stored.contains_text("order-2"), "the flow's data is there");
    for encoding in encodings_of(RAW_VIEWER) {
        assert!(
            !stored.contains_text(&encoding),
            "the store holds the viewer id as {encoding}"
        );
    }
}

async fn an_empty_viewer_id_is_an_invalid_field(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;

    let status = erase_as(&app, &app.keys.admin, "").await.unwrap_err();

    assert_invalid_field(&status, "viewer_id");
}

async fn only_an_admin_key_may_erase_a_viewer(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();
    let keys = &app.keys;

    for key in [&keys.feed, &keys.merchant, &keys.dashboard] {
        let status = erase_as(&app, key, "viewer-1").await.unwrap_err();

        assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED");
    }
    assert_eq!(
        erase(&app, "viewer-1").await,
        1,
        "nothing was erased before"
    );
}

on_all_backends!(
    erasing_a_viewer_returns_how_many_of_its_clicks_were_unlinked,
    erasing_the_same_viewer_again_erases_nothing,
    a_viewer_who_never_tapped_erases_nothing,
    after_erasure_a_repeat_tap_is_a_new_click,
    erasure_leaves_the_counted_figures_unchanged,
    erasure_leaves_other_viewers_untouched,
    a_sale_on_an_erased_viewers_click_still_confirms,
    erasure_removes_the_viewers_rate_limit_count,
    viewer_ids_are_stored_as_a_hash_keyed_by_the_configured_pepper,
    after_erasure_nothing_stored_holds_the_viewers_hash,
    no_stored_key_or_value_holds_the_raw_viewer_id_after_the_full_flow,
    an_empty_viewer_id_is_an_invalid_field,
    only_an_admin_key_may_erase_a_viewer,
);
