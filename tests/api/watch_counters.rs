//! CounterService.WatchCounters.

use cartclick::proto::*;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::*;

fn watch_request(dimension: Dimension, id: &str) -> WatchCountersRequest {
    WatchCountersRequest {
        dimension: dimension.into(),
        id: id.into(),
    }
}

async fn the_current_hour_is_pushed_now_and_again_when_it_changes(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut stream = app
        .counters()
        .watch_counters(authed(
            &app.keys.dashboard,
            watch_request(Dimension::Campaign, CAMPAIGN),
        ))
        .await
        .unwrap()
        .into_inner();

    let first = stream.next().await.unwrap().unwrap().bucket.unwrap();
    app.issue(tap("viewer-1")).await.unwrap();
    let second = tokio::time::timeout(BOUND, stream.next())
        .await
        .expect("a change is pushed")
        .unwrap()
        .unwrap()
        .bucket
        .unwrap();

    assert_eq!(first.start_time.unwrap().seconds, start_time().timestamp());
    assert_eq!((first.taps, first.clicks), (0, 0));
    assert_eq!(second.start_time, first.start_time);
    assert_eq!((second.taps, second.clicks), (1, 1));
}

async fn a_watch_ends_cleanly_when_the_server_shuts_down(backend: Backend) {
    let mut app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut stream = app
        .counters()
        .watch_counters(authed(
            &app.keys.dashboard,
            watch_request(Dimension::Merchant, MERCHANT),
        ))
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();

    app.begin_shutdown();
    let end = tokio::time::timeout(BOUND, stream.next())
        .await
        .expect("the stream ends");

    assert!(
        end.is_none(),
        "ended with {end:?}: a clean end has no error status"
    );
}

async fn watches_are_authorised_and_validated_like_reads(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut counters = app.counters();

    let unspecified = counters
        .watch_counters(authed(
            &app.keys.dashboard,
            watch_request(Dimension::Unspecified, "x"),
        ))
        .await
        .unwrap_err();
    let no_id = counters
        .watch_counters(authed(
            &app.keys.dashboard,
            watch_request(Dimension::Merchant, ""),
        ))
        .await
        .unwrap_err();
    let not_theirs = counters
        .watch_counters(authed(
            &app.keys.merchant,
            watch_request(Dimension::Merchant, OTHER_MERCHANT),
        ))
        .await
        .unwrap_err();
    let feed = counters
        .watch_counters(authed(
            &app.keys.feed,
            watch_request(Dimension::Merchant, MERCHANT),
        ))
        .await
        .unwrap_err();

    assert_invalid_field(&unspecified, "dimension");
    assert_invalid_field(&no_id, "id");
    assert_error(&not_theirs, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_error(&feed, Code::PermissionDenied, "PERMISSION_DENIED");
}

on_all_backends!(
    the_current_hour_is_pushed_now_and_again_when_it_changes,
    a_watch_ends_cleanly_when_the_server_shuts_down,
    watches_are_authorised_and_validated_like_reads,
);
