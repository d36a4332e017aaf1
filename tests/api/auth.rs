//! Authentication and roles, across the services.

use cartclick::proto::*;
use tonic::{Code, Request};

use crate::support::*;

async fn a_call_without_credentials_is_unauthenticated(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let status = app
        .clicks()
        .issue_token(Request::new(tap("viewer-1")))
        .await
        .unwrap_err();

    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED");
}

async fn an_unknown_secret_is_unauthenticated(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let status = app
        .clicks()
        .issue_token(authed("not-a-key", tap("viewer-1")))
        .await
        .unwrap_err();
    let mut basic = Request::new(tap("viewer-1"));
    basic.metadata_mut().insert(
        "authorization",
        format!("Basic {}", app.keys.feed).parse().unwrap(),
    );
    let basic = app.clicks().issue_token(basic).await.unwrap_err();

    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED");
    assert_error(&basic, Code::Unauthenticated, "UNAUTHENTICATED");
}

async fn each_role_is_refused_outside_its_services(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let sale = ConfirmSaleRequest {
        token: "x".into(),
        order_id: "o".into(),
        amount: Some(Money {
            currency_code: "DKK".into(),
            amount_minor: 1,
        }),
    };
    let counters = GetCountersRequest {
        dimension: Dimension::Merchant.into(),
        id: MERCHANT.into(),
        granularity: Granularity::Hour.into(),
        start_time: Some(ts(start_time())),
        end_time: Some(ts(start_time() + chrono::TimeDelta::hours(1))),
    };
    let get_merchant = GetMerchantRequest {
        merchant_id: MERCHANT.into(),
    };
    let keys = &app.keys;

    let refusals = [
        app.clicks()
            .issue_token(authed(&keys.merchant, tap("v")))
            .await
            .unwrap_err(),
        app.clicks()
            .issue_token(authed(&keys.dashboard, tap("v")))
            .await
            .unwrap_err(),
        app.sales()
            .confirm_sale(authed(&keys.feed, sale.clone()))
            .await
            .unwrap_err(),
        app.sales()
            .confirm_sale(authed(&keys.dashboard, sale))
            .await
            .unwrap_err(),
        app.counters()
            .get_counters(authed(&keys.feed, counters))
            .await
            .unwrap_err(),
        app.admin()
            .get_merchant(authed(&keys.feed, get_merchant.clone()))
            .await
            .unwrap_err(),
        // A merchant key reads its own merchant only.
        app.admin()
            .get_merchant(authed(&keys.other_merchant, get_merchant.clone()))
            .await
            .unwrap_err(),
        app.admin()
            .get_merchant(authed(&keys.dashboard, get_merchant))
            .await
            .unwrap_err(),
    ];

    for status in refusals {
        assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED");
    }
}

async fn admin_may_call_every_service(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let issued = app
        .clicks()
        .issue_token(authed(&app.keys.admin, tap("viewer-1")))
        .await;
    let counters = GetCountersRequest {
        dimension: Dimension::Merchant.into(),
        id: MERCHANT.into(),
        granularity: Granularity::Day.into(),
        start_time: Some(ts(start_time())),
        end_time: Some(ts(start_time() + chrono::TimeDelta::days(1))),
    };
    let read = app
        .counters()
        .get_counters(authed(&app.keys.admin, counters))
        .await;

    assert!(issued.is_ok(), "{issued:?}");
    assert_eq!(read.unwrap().into_inner().total.unwrap().clicks, 1);
}

on_all_backends!(
    a_call_without_credentials_is_unauthenticated,
    an_unknown_secret_is_unauthenticated,
    each_role_is_refused_outside_its_services,
    admin_may_call_every_service,
);
