//! When a sale may be attributed to a click.

use chrono::TimeDelta;
use tonic::Code;

use crate::support::*;

async fn a_sale_is_never_attributed_to_a_click_in_its_future(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    app.clock.advance(-TimeDelta::minutes(6));
    let beyond_skew = app
        .confirm(&issued.token, "o-1", 100, "DKK")
        .await
        .unwrap_err();
    app.clock.advance(TimeDelta::minutes(2));
    let within_skew = app.confirm(&issued.token, "o-2", 100, "DKK").await;

    assert_error(&beyond_skew, Code::InvalidArgument, "TOKEN_INVALID");
    assert!(within_skew.is_ok(), "{within_skew:?}");
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        1
    );
}

async fn the_clock_skew_bound_is_configurable(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| config.policy.clock_skew = std::time::Duration::from_secs(0))
        .seeded()
        .spawn()
        .await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    app.clock.advance(-TimeDelta::seconds(2));
    let status = app
        .confirm(&issued.token, "o-1", 100, "DKK")
        .await
        .unwrap_err();

    assert_error(&status, Code::InvalidArgument, "TOKEN_INVALID");
}

on_all_backends!(
    a_sale_is_never_attributed_to_a_click_in_its_future,
    the_clock_skew_bound_is_configurable,
);

use cartclick::proto::Dimension;
