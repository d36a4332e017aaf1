//! The event stream: every click, repeat tap, sale and reversal, appended
//! with its counter update.

use std::collections::BTreeMap;

use cartclick::model::{BucketRange, Counts, Dimension, EventKind, Granularity};
use cartclick::proto::IssueTokenRequest;
use chrono::TimeDelta;

use crate::support::*;

/// Taps (new and repeat) on two creators, sales in two currencies, refunds.
async fn busy_hour(app: &TestApp) {
    let mut tokens = Vec::new();
    for (i, creator) in ["cr-a", "cr-b", "cr-a"].iter().enumerate() {
        let request = IssueTokenRequest {
            creator_id: creator.to_string(),
            video_id: format!("vid-{creator}"),
            ..tap(&format!("viewer-{i}"))
        };
        tokens.push(app.issue(request.clone()).await.unwrap().token);
        app.issue(request).await.unwrap();
    }
    app.clock.advance(TimeDelta::minutes(70));
    app.confirm(&tokens[0], "o-1", 10_000, "DKK").await.unwrap();
    app.confirm(&tokens[1], "o-2", 2_500, "EUR").await.unwrap();
    app.refund("o-1", "r-1", 4_000).await.unwrap();
}

async fn replaying_the_stream_reproduces_the_counters_exactly(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    busy_hour(&app).await;

    let store = app.domain.store().clone();
    let events = store.read_events(MERCHANT, None, 10_000).await.unwrap();
    let mut replayed: BTreeMap<(Dimension, String, i64), Counts> = BTreeMap::new();
    for event in &events {
        for dimension in Dimension::ALL {
            let key = (
                dimension,
                event.attribution.id(dimension).to_owned(),
                Granularity::Hour.bucket_start(event.at),
            );
            replayed.entry(key).or_default().add(&event.counts());
        }
    }

    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Click).count(), 3);
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::RepeatTap).count(),
        3
    );
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Sale).count(), 2);
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Reversal).count(),
        1
    );
    assert!(!replayed.is_empty());
    for ((dimension, id, start), counts) in &replayed {
        let range = BucketRange {
            granularity: Granularity::Hour,
            first: *start,
            count: 1,
        };
        let counted = store
            .read_counters(*dimension, id, range, None)
            .await
            .unwrap();
        assert_eq!(&counted[0], counts, "{dimension:?} {id} at {start}");
    }
    // ... and nothing is counted that no event explains.
    let hours = BucketRange {
        granularity: Granularity::Hour,
        first: start_time().timestamp(),
        count: 3,
    };
    let cells = store.merchant_counters(MERCHANT, hours).await.unwrap();
    for cell in cells {
        let key = (cell.dimension, cell.id.clone(), cell.start);
        assert_eq!(replayed.get(&key), Some(&cell.counts), "{key:?}");
    }
}

async fn events_are_ordered_and_read_after_a_cursor(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    busy_hour(&app).await;
    let store = app.domain.store().clone();

    let all = store.read_events(MERCHANT, None, 100).await.unwrap();
    let first_page = store.read_events(MERCHANT, None, 4).await.unwrap();
    let rest = store
        .read_events(MERCHANT, Some(&first_page[3].id), 100)
        .await
        .unwrap();
    let theirs = store.read_events(OTHER_MERCHANT, None, 100).await.unwrap();

    assert_eq!(all.len(), 9);
    assert_eq!([first_page, rest].concat(), all);
    assert!(all.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert!(theirs.is_empty());
    let sale = all.iter().find(|e| e.kind == EventKind::Sale).unwrap();
    assert_eq!(sale.order_id, "o-1");
    assert_eq!(sale.amount.as_ref().map(|m| m.amount_minor), Some(10_000));
    let reversal = all.iter().find(|e| e.kind == EventKind::Reversal).unwrap();
    assert_eq!(reversal.reversal_id, "r-1");
    assert_eq!(reversal.click_id, sale.click_id);
}

async fn the_stream_keeps_the_configured_number_of_events(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| config.retention.events_max_len = 4)
        .seeded()
        .spawn()
        .await;
    busy_hour(&app).await;
    // The stream is trimmed as it is folded, and a counter read folds.
    app.total(cartclick::proto::Dimension::Merchant, MERCHANT)
        .await;

    let kept = app
        .domain
        .store()
        .read_events(MERCHANT, None, 100)
        .await
        .unwrap();

    assert_eq!(kept.len(), 4);
    assert_eq!(kept.last().map(|e| e.kind), Some(EventKind::Reversal));
}

on_all_backends!(
    replaying_the_stream_reproduces_the_counters_exactly,
    events_are_ordered_and_read_after_a_cursor,
    the_stream_keeps_the_configured_number_of_events,
);

#[tokio::test]
async fn events_tail_prints_a_merchants_stream() {
    events_tail_prints_a_merchants_stream_on(Backend::Redis).await;
}

#[tokio::test]
async fn events_tail_prints_a_merchants_stream_from_a_cluster() {
    events_tail_prints_a_merchants_stream_on(Backend::Cluster).await;
}

async fn events_tail_prints_a_merchants_stream_on(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    busy_hour(&app).await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cartclick"))
        .args([
            "events",
            "tail",
            "--store",
            &app.store_url(),
            "--merchant",
            MERCHANT,
        ])
        .env_remove("CARTCLICK_CONFIG")
        .output()
        .unwrap();

    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let kinds: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "click",
            "repeat_tap",
            "click",
            "repeat_tap",
            "click",
            "repeat_tap",
            "sale",
            "sale",
            "reversal"
        ]
    );
    assert!(stdout.contains("order=o-1 amount=10000 DKK"), "{stdout}");
    let pepper = app.config.viewer_pepper.as_ref().unwrap();
    for viewer in ["viewer-0", "viewer-1", "viewer-2"] {
        let hash = pepper.viewer_hash(viewer);
        for written in [
            viewer.to_owned(),
            hex::encode(hash),
            hex::encode_upper(hash),
        ] {
            assert!(
                !stdout.contains(&written),
                "{viewer} as {written}: {stdout}"
            );
        }
    }
}
