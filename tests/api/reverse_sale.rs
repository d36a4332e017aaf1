//! SaleService.ReverseSale.

use cartclick::proto::*;
use tonic::Code;

use crate::support::*;

impl TestApp {
    /// A confirmed sale of `amount` DKK as order-1.
    async fn sold(&self, amount_minor: i64) {
        let issued = self.issue(tap("viewer-1")).await.unwrap();
        self.confirm(&issued.token, "order-1", amount_minor, "DKK")
            .await
            .unwrap();
    }
}

async fn partial_and_full_refunds_leave_the_sale_less_all_reversals(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.sold(10_000).await;

    let first = app.refund("order-1", "refund-1", 3_000).await.unwrap();
    let second = app.refund("order-1", "refund-2", 2_000).await.unwrap();
    let last = app.refund("order-1", "refund-3", 5_000).await.unwrap();

    assert_eq!(first.remaining, Some(dkk(7_000)));
    assert_eq!(second.remaining, Some(dkk(5_000)));
    assert_eq!(last.remaining, Some(dkk(0)));
    assert!(!first.replayed && !second.replayed && !last.replayed);
    for (dimension, id) in [
        (Dimension::Merchant, MERCHANT),
        (Dimension::Campaign, CAMPAIGN),
        (Dimension::Creator, "cr-1"),
        (Dimension::Video, "vid-1"),
        (Dimension::Product, "sku-1"),
    ] {
        let total = app.total(dimension, id).await;
        assert_eq!(total.revenue, vec![dkk(10_000)], "{dimension:?}");
        assert_eq!(total.refunded, vec![dkk(10_000)], "{dimension:?}");
        assert_eq!(total.conversions, 1);
    }
}

async fn an_identical_repeat_returns_the_first_answer_and_counts_once(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.sold(10_000).await;
    let first = app.refund("order-1", "refund-1", 3_000).await.unwrap();
    app.refund("order-1", "refund-2", 1_000).await.unwrap();

    let repeat = app.refund("order-1", "refund-1", 3_000).await.unwrap();

    assert!(repeat.replayed);
    assert_eq!(repeat.remaining, first.remaining);
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.refunded,
        vec![dkk(4_000)]
    );
}

async fn the_same_reversal_id_with_another_order_or_amount_is_a_conflict(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 10_000, "DKK").await;
    app.confirmed(&issued.token, "order-2", 10_000, "DKK").await;
    app.refund("order-1", "refund-1", 3_000).await.unwrap();

    let other_amount = app.refund("order-1", "refund-1", 2_000).await.unwrap_err();
    let other_order = app.refund("order-2", "refund-1", 3_000).await.unwrap_err();

    for status in [other_amount, other_order] {
        assert_error(&status, Code::AlreadyExists, "ORDER_CONFLICT");
    }
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.refunded,
        vec![dkk(3_000)]
    );
}

async fn reversals_never_exceed_the_sale_nor_change_its_currency(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.sold(10_000).await;
    app.refund("order-1", "refund-1", 6_000).await.unwrap();

    let too_much = app.refund("order-1", "refund-2", 4_001).await.unwrap_err();
    let euros = app
        .reverse(
            "order-1",
            "refund-3",
            Money {
                currency_code: "EUR".into(),
                amount_minor: 1,
            },
        )
        .await
        .unwrap_err();
    let rest = app.refund("order-1", "refund-4", 4_000).await.unwrap();

    assert_error(&too_much, Code::FailedPrecondition, "REVERSAL_EXCEEDS_SALE");
    assert_error(&euros, Code::FailedPrecondition, "REVERSAL_EXCEEDS_SALE");
    assert_eq!(rest.remaining, Some(dkk(0)));
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.refunded,
        vec![dkk(10_000)]
    );
}

async fn a_zero_amount_reversal_is_invalid_amount_and_records_nothing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.sold(10_000).await;

    let zero = app.refund("order-1", "refund-1", 0).await.unwrap_err();
    let real = app.refund("order-1", "refund-1", 2_500).await.unwrap();

    assert_error(&zero, Code::InvalidArgument, "INVALID_AMOUNT");
    assert!(!real.replayed);
    assert_eq!(real.remaining, Some(dkk(7_500)));
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.refunded,
        vec![dkk(2_500)]
    );
}

async fn a_zero_amount_sale_is_confirmed_but_not_reversed_by_zero(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    app.sold(0).await;
    let zero = app.refund("order-1", "refund-1", 0).await.unwrap_err();

    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        1
    );
    assert_error(&zero, Code::InvalidArgument, "INVALID_AMOUNT");
}

async fn an_order_never_confirmed_or_of_another_merchant_is_not_found(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.sold(10_000).await;

    let unknown = app.refund("order-9", "refund-1", 1).await.unwrap_err();
    let theirs = app
        .reverse_as(&app.keys.other_merchant, "order-1", "refund-1", dkk(1))
        .await
        .unwrap_err();

    assert_error(&unknown, Code::NotFound, "ORDER_NOT_FOUND");
    assert_error(&theirs, Code::NotFound, "ORDER_NOT_FOUND");
}

async fn malformed_reversals_name_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.sold(10_000).await;
    let request = |order: &str, reversal: &str, amount: Option<Money>| ReverseSaleRequest {
        order_id: order.into(),
        reversal_id: reversal.into(),
        amount,
    };
    for (field, message) in [
        ("order_id", request("", "r-1", Some(dkk(1)))),
        ("reversal_id", request("order-1", "", Some(dkk(1)))),
        (
            "reversal_id",
            request("order-1", &"r".repeat(129), Some(dkk(1))),
        ),
        ("amount", request("order-1", "r-1", None)),
        (
            "amount.currency_code",
            request("order-1", "r-1", Some(Money::default())),
        ),
    ] {
        let status = app
            .sales()
            .reverse_sale(authed(&app.keys.merchant, message))
            .await
            .unwrap_err();
        assert_invalid_field(&status, field);
    }
    let negative = app.refund("order-1", "r-1", -1).await.unwrap_err();
    assert_error(&negative, Code::InvalidArgument, "INVALID_AMOUNT");
}

async fn only_merchant_and_admin_keys_reverse(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let status = app
        .reverse_as(&app.keys.feed, "order-1", "r-1", dkk(1))
        .await
        .unwrap_err();

    assert_error(&status, Code::PermissionDenied, "PERMISSION_DENIED");
}

on_all_backends!(
    partial_and_full_refunds_leave_the_sale_less_all_reversals,
    an_identical_repeat_returns_the_first_answer_and_counts_once,
    the_same_reversal_id_with_another_order_or_amount_is_a_conflict,
    reversals_never_exceed_the_sale_nor_change_its_currency,
    a_zero_amount_reversal_is_invalid_amount_and_records_nothing,
    a_zero_amount_sale_is_confirmed_but_not_reversed_by_zero,
    an_order_never_confirmed_or_of_another_merchant_is_not_found,
    malformed_reversals_name_the_field,
    only_merchant_and_admin_keys_reverse,
);
