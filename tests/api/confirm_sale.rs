//! SaleService.ConfirmSale.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::Code;

use crate::support::*;

async fn a_sale_is_attributed_to_the_clicks_creator_video_campaign_and_product(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::hours(2));

    let sale = app
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap();

    assert_eq!(sale.click_id, issued.click_id);
    assert_eq!(sale.campaign_id, CAMPAIGN);
    assert_eq!(sale.creator_id, "cr-1");
    assert_eq!(sale.video_id, "vid-1");
    assert_eq!(sale.product_id, "sku-1");
    assert_eq!(sale.clicked_at.unwrap().seconds, start_time().timestamp());
    assert_eq!(
        sale.confirmed_at.unwrap().seconds,
        (start_time() + TimeDelta::hours(2)).timestamp()
    );
    assert!(!sale.replayed);
}

async fn an_identical_repeat_returns_the_first_answer_and_counts_nothing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let first = app
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap();
    app.clock.advance(TimeDelta::minutes(5));

    let repeat = app
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap();

    assert!(repeat.replayed);
    assert_eq!(repeat.confirmed_at, first.confirmed_at);
    assert_eq!(
        ConfirmSaleResponse {
            replayed: false,
            ..repeat
        },
        first
    );
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(total.conversions, 1);
    assert_eq!(
        total.revenue,
        vec![Money {
            currency_code: "DKK".into(),
            amount_minor: 12_500
        }]
    );
}

async fn the_same_order_with_another_amount_or_token_is_a_conflict(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let first = app.issue(tap("viewer-1")).await.unwrap();
    let second = app.issue(tap("viewer-2")).await.unwrap();
    app.confirmed(&first.token, "order-1", 12_500, "DKK").await;

    let other_amount = app
        .confirm(&first.token, "order-1", 99, "DKK")
        .await
        .unwrap_err();
    let other_currency = app
        .confirm(&first.token, "order-1", 12_500, "EUR")
        .await
        .unwrap_err();
    let other_token = app
        .confirm(&second.token, "order-1", 12_500, "DKK")
        .await
        .unwrap_err();

    for status in [other_amount, other_currency, other_token] {
        assert_error(&status, Code::AlreadyExists, "ORDER_CONFLICT");
    }
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        1
    );
}

async fn every_distinct_order_inside_the_window_counts(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    app.confirmed(&issued.token, "order-1", 100, "DKK").await;
    app.confirmed(&issued.token, "order-2", 250, "DKK").await;
    app.confirmed(&issued.token, "order-3", 300, "EUR").await;

    let total = app.total(Dimension::Creator, "cr-1").await;
    assert_eq!(total.conversions, 3);
    assert_eq!(
        total.revenue,
        vec![
            Money {
                currency_code: "DKK".into(),
                amount_minor: 350
            },
            Money {
                currency_code: "EUR".into(),
                amount_minor: 300
            },
        ]
    );
}

async fn another_merchants_token_is_invalid(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    let status = app
        .confirm_as(
            &app.keys.other_merchant,
            &issued.token,
            "order-1",
            100,
            "DKK",
        )
        .await
        .unwrap_err();

    assert_error(&status, Code::InvalidArgument, "TOKEN_INVALID");
}

async fn a_tampered_or_malformed_token_is_invalid(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(&issued.token).unwrap();
    bytes[10] ^= 0x01;
    let flipped = URL_SAFE_NO_PAD.encode(&bytes);

    for token in [
        flipped.as_str(),
        &issued.token[..issued.token.len() - 1],
        &format!("{}A", issued.token),
        "not a token",
        &"A".repeat(500),
    ] {
        let status = app.confirm(token, "order-1", 100, "DKK").await.unwrap_err();

        assert_error(&status, Code::InvalidArgument, "TOKEN_INVALID");
    }
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        0
    );
}

async fn a_token_from_another_deployments_keys_is_invalid(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let elsewhere = TestApp::builder().on(backend).seeded().spawn().await;
    let foreign = elsewhere.issue(tap("viewer-1")).await.unwrap();

    let status = app
        .confirm(&foreign.token, "order-1", 100, "DKK")
        .await
        .unwrap_err();

    assert_error(&status, Code::InvalidArgument, "TOKEN_INVALID");
}

async fn a_sale_after_the_attribution_window_is_expired_but_a_replay_still_answers(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::days(6));
    let first = app
        .confirm(&issued.token, "order-1", 100, "DKK")
        .await
        .unwrap();
    app.clock.advance(TimeDelta::days(2));

    let late = app
        .confirm(&issued.token, "order-2", 100, "DKK")
        .await
        .unwrap_err();
    let replay = app
        .confirm(&issued.token, "order-1", 100, "DKK")
        .await
        .unwrap();

    assert_error(&late, Code::FailedPrecondition, "TOKEN_EXPIRED");
    assert!(replay.replayed);
    assert_eq!(replay.confirmed_at, first.confirmed_at);
}

async fn a_token_whose_click_record_is_gone_is_click_not_found(backend: Backend) {
    // Two servers with the same signing keys but separate stores (on Redis,
    // separate redis-servers): the token verifies on the second, which has
    // no record of the click.
    let first = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = first.issue(tap("viewer-1")).await.unwrap();
    let second = TestApp::builder()
        .on(backend)
        .like(&first)
        .seeded()
        .spawn()
        .await;

    let status = second
        .confirm(&issued.token, "order-1", 100, "DKK")
        .await
        .unwrap_err();

    assert_error(&status, Code::NotFound, "CLICK_NOT_FOUND");
}

async fn bad_amounts_are_invalid_amount(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    for (amount, currency) in [
        (100, "XYZ"),
        (100, "dkk"),
        (-1, "DKK"),
        (1_000_000_000_001, "DKK"),
    ] {
        let status = app
            .confirm(&issued.token, "order-1", amount, currency)
            .await
            .unwrap_err();

        assert_error(&status, Code::InvalidArgument, "INVALID_AMOUNT");
    }
    let largest = app
        .confirm(&issued.token, "order-1", 1_000_000_000_000, "DKK")
        .await;
    assert!(largest.is_ok(), "{largest:?}");
}

async fn gold_and_other_codes_that_are_not_money_are_invalid_amount(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    for currency in ["XAU", "XAG", "XXX", "XTS", "XDR", "BOV", "CLF"] {
        let status = app
            .confirm(&issued.token, "order-1", 100, currency)
            .await
            .unwrap_err();

        assert_error(&status, Code::InvalidArgument, "INVALID_AMOUNT");
    }
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(total.conversions, 0);
    let in_money = app.confirm(&issued.token, "order-1", 100, "DKK").await;
    assert!(!in_money.unwrap().replayed);
}

async fn missing_fields_are_named(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let request = |token: &str, order: &str, amount: Option<Money>| ConfirmSaleRequest {
        token: token.into(),
        order_id: order.into(),
        amount,
    };
    let dkk = Some(Money {
        currency_code: "DKK".into(),
        amount_minor: 1,
    });
    let cases = [
        ("token", request("", "o-1", dkk.clone())),
        ("order_id", request(&issued.token, "", dkk.clone())),
        (
            "order_id",
            request(&issued.token, &"o".repeat(129), dkk.clone()),
        ),
        ("amount", request(&issued.token, "o-1", None)),
        (
            "amount.currency_code",
            request(
                &issued.token,
                "o-1",
                Some(Money {
                    currency_code: String::new(),
                    amount_minor: 1,
                }),
            ),
        ),
    ];
    for (field, message) in cases {
        let status = app
            .sales()
            .confirm_sale(authed(&app.keys.merchant, message))
            .await
            .unwrap_err();

        assert_invalid_field(&status, field);
    }
}

async fn an_admin_confirms_on_behalf_of_a_named_merchant(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let message = ConfirmSaleRequest {
        token: issued.token,
        order_id: "o-1".into(),
        amount: Some(Money {
            currency_code: "DKK".into(),
            amount_minor: 1,
        }),
    };

    let without = app
        .sales()
        .confirm_sale(authed(&app.keys.admin, message.clone()))
        .await
        .unwrap_err();
    let mut request = authed(&app.keys.admin, message);
    request
        .metadata_mut()
        .insert(cartclick::auth::ACT_AS_MERCHANT, MERCHANT.parse().unwrap());
    let with = app.sales().confirm_sale(request).await;

    assert_invalid_field(&without, cartclick::auth::ACT_AS_MERCHANT);
    assert!(with.is_ok(), "{with:?}");
}

async fn fifty_concurrent_identical_confirmations_count_once(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let mut sales = app.sales();
            let request = authed(
                &app.keys.merchant,
                ConfirmSaleRequest {
                    token: issued.token.clone(),
                    order_id: "order-1".into(),
                    amount: Some(Money {
                        currency_code: "DKK".into(),
                        amount_minor: 12_500,
                    }),
                },
            );
            tokio::spawn(async move { sales.confirm_sale(request).await })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(
            call.await
                .unwrap()
                .expect("every call succeeds")
                .into_inner(),
        );
    }

    let first = answers
        .iter()
        .find(|a| !a.replayed)
        .expect("one first answer");
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    for answer in &answers {
        assert_eq!(answer.click_id, issued.click_id);
        assert_eq!(answer.confirmed_at, first.confirmed_at);
    }
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await.conversions,
        1
    );
}

on_all_backends!(
    a_sale_is_attributed_to_the_clicks_creator_video_campaign_and_product,
    an_identical_repeat_returns_the_first_answer_and_counts_nothing,
    the_same_order_with_another_amount_or_token_is_a_conflict,
    every_distinct_order_inside_the_window_counts,
    another_merchants_token_is_invalid,
    a_tampered_or_malformed_token_is_invalid,
    a_token_from_another_deployments_keys_is_invalid,
    a_sale_after_the_attribution_window_is_expired_but_a_replay_still_answers,
    a_token_whose_click_record_is_gone_is_click_not_found,
    bad_amounts_are_invalid_amount,
    gold_and_other_codes_that_are_not_money_are_invalid_amount,
    missing_fields_are_named,
    an_admin_confirms_on_behalf_of_a_named_merchant,
    fifty_concurrent_identical_confirmations_count_once,
);
