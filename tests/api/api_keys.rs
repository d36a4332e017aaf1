//! AdminService.CreateApiKey and RevokeApiKey: keys made at run time, stored
//! hashed, refused by every replica within a second of their revocation.

use std::time::Duration;

use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::{Code, Status};

use crate::support::*;

/// How soon every replica must refuse a revoked key (API.md).
const REVOCATION_BOUND: Duration = Duration::from_secs(1);

async fn create_key(
    app: &TestApp,
    role: Role,
    merchant_id: &str,
) -> Result<CreateApiKeyResponse, Status> {
    create_key_as(app, &app.keys.admin, role, merchant_id).await
}

async fn create_key_as(
    app: &TestApp,
    key: &str,
    role: Role,
    merchant_id: &str,
) -> Result<CreateApiKeyResponse, Status> {
    let request = CreateApiKeyRequest {
        role: role.into(),
        merchant_id: merchant_id.into(),
        label: "test key".into(),
    };
    Ok(app
        .admin()
        .create_api_key(authed(key, request))
        .await?
        .into_inner())
}

async fn revoke_key(app: &TestApp, key_id: &str) -> Result<RevokeApiKeyResponse, Status> {
    let request = RevokeApiKeyRequest {
        key_id: key_id.into(),
    };
    Ok(app
        .admin()
        .revoke_api_key(authed(&app.keys.admin, request))
        .await?
        .into_inner())
}

/// A tap with `secret` as the feed key.
async fn issue_with(app: &TestApp, secret: &str) -> Result<IssueTokenResponse, Status> {
    Ok(app
        .clicks()
        .issue_token(authed(secret, tap("viewer-1")))
        .await?
        .into_inner())
}

/// A counter read of `id` over the test hour with `secret`.
async fn read_counters_with(
    app: &TestApp,
    secret: &str,
    dimension: Dimension,
    id: &str,
) -> Result<GetCountersResponse, Status> {
    let request = GetCountersRequest {
        dimension: dimension.into(),
        id: id.into(),
        granularity: Granularity::Hour.into(),
        start_time: Some(ts(start_time())),
        end_time: Some(ts(start_time() + TimeDelta::hours(1))),
    };
    Ok(app
        .counters()
        .get_counters(authed(secret, request))
        .await?
        .into_inner())
}

async fn a_created_key_has_a_new_id_and_secret_each_time(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;

    let first = create_key(&app, Role::Feed, "").await.unwrap();
    let second = create_key(&app, Role::Feed, "").await.unwrap();

    assert!(first.key_id.starts_with("key_"), "{}", first.key_id);
    assert!(first.secret.starts_with("cc_"));
    assert!(
        first.secret.len() >= 32 + 3,
        "a secret of at least 32 chars"
    );
    assert_ne!(first.key_id, second.key_id);
    assert_ne!(first.secret, second.secret);
}

async fn a_created_feed_key_issues_tokens_at_once(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let key = create_key(&app, Role::Feed, "").await.unwrap();
    let issued = issue_with(&app, &key.secret).await;

    assert!(issued.is_ok(), "{issued:?}");
}

async fn a_created_merchant_key_confirms_sales_for_its_own_merchant_only(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let key = create_key(&app, Role::Merchant, MERCHANT).await.unwrap();
    let other_key = create_key(&app, Role::Merchant, OTHER_MERCHANT)
        .await
        .unwrap();
    let issued = app.issue(tap("viewer-1")).await.unwrap();

    let own = app
        .confirm_as(&key.secret, &issued.token, "order-1", 12_500, "DKK")
        .await;
    let other = app
        .confirm_as(&other_key.secret, &issued.token, "order-2", 12_500, "DKK")
        .await
        .unwrap_err();

    assert!(own.is_ok(), "{own:?}");
    assert_error(&other, Code::InvalidArgument, "TOKEN_INVALID");
}

async fn a_created_merchant_key_reads_only_its_own_merchants_counters(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let key = create_key(&app, Role::Merchant, MERCHANT).await.unwrap();

    let own = read_counters_with(&app, &key.secret, Dimension::Merchant, MERCHANT).await;
    let other = read_counters_with(&app, &key.secret, Dimension::Merchant, OTHER_MERCHANT)
        .await
        .unwrap_err();

    assert!(own.is_ok(), "{own:?}");
    assert_error(&other, Code::PermissionDenied, "PERMISSION_DENIED");
}

async fn a_created_key_may_call_only_what_its_role_allows(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let dashboard = create_key(&app, Role::Dashboard, "").await.unwrap();
    let admin = create_key(&app, Role::Admin, "").await.unwrap();

    let dashboard_reads =
        read_counters_with(&app, &dashboard.secret, Dimension::Creator, "cr-1").await;
    let dashboard_taps = issue_with(&app, &dashboard.secret).await.unwrap_err();
    let dashboard_creates = create_key_as(&app, &dashboard.secret, Role::Admin, "")
        .await
        .unwrap_err();
    let admin_creates = create_key_as(&app, &admin.secret, Role::Feed, "").await;

    assert!(dashboard_reads.is_ok(), "{dashboard_reads:?}");
    assert_error(&dashboard_taps, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_error(
        &dashboard_creates,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert!(admin_creates.is_ok(), "{admin_creates:?}");
}

async fn the_secret_is_stored_only_as_its_hash(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let key = create_key(&app, Role::Merchant, MERCHANT).await.unwrap();
    app.confirm_as(&key.secret, "not-a-token", "order-1", 100, "DKK")
        .await
        .unwrap_err(); // the key is used, so any lookup cache is filled too

    let stored = app.stored_data().await;
    assert!(stored.contains_text(&key.key_id), "the key is in the store");
    assert!(!stored.contains_text(&key.secret));
    let secret_part = key.secret.trim_start_matches("cc_");
    assert!(!stored.contains_text(secret_part));
}

async fn malformed_create_requests_name_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let request = |role: Role, merchant_id: &str, label: &str| CreateApiKeyRequest {
        role: role.into(),
        merchant_id: merchant_id.into(),
        label: label.into(),
    };
    let cases = [
        ("role", request(Role::Unspecified, "", "")),
        (
            "role",
            CreateApiKeyRequest {
                role: 42,
                ..request(Role::Feed, "", "")
            },
        ),
        ("merchant_id", request(Role::Merchant, "", "")),
        ("merchant_id", request(Role::Merchant, "has space", "")),
        ("merchant_id", request(Role::Feed, MERCHANT, "")),
        ("merchant_id", request(Role::Dashboard, MERCHANT, "")),
        ("merchant_id", request(Role::Admin, MERCHANT, "")),
        ("label", request(Role::Feed, "", &"x".repeat(257))),
    ];
    for (field, request) in cases {
        let status = app
            .admin()
            .create_api_key(authed(&app.keys.admin, request))
            .await
            .unwrap_err();

        assert_invalid_field(&status, field);
    }
}

async fn a_merchant_key_for_an_unknown_merchant_is_merchant_not_found(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let status = create_key(&app, Role::Merchant, "nobody")
        .await
        .unwrap_err();

    assert_error(&status, Code::NotFound, "MERCHANT_NOT_FOUND");
}

async fn only_an_admin_key_may_create_or_revoke_keys(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let created = create_key(&app, Role::Feed, "").await.unwrap();
    let keys = &app.keys;

    for secret in [&keys.feed, &keys.merchant, &keys.dashboard] {
        let create = create_key_as(&app, secret, Role::Feed, "")
            .await
            .unwrap_err();
        let revoke = app
            .admin()
            .revoke_api_key(authed(
                secret,
                RevokeApiKeyRequest {
                    key_id: created.key_id.clone(),
                },
            ))
            .await
            .unwrap_err();

        assert_error(&create, Code::PermissionDenied, "PERMISSION_DENIED");
        assert_error(&revoke, Code::PermissionDenied, "PERMISSION_DENIED");
    }
    assert!(issue_with(&app, &created.secret).await.is_ok());
}

async fn a_revoked_key_is_unauthenticated_at_once_on_the_server_that_revoked_it(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let key = create_key(&app, Role::Feed, "").await.unwrap();
    issue_with(&app, &key.secret).await.expect("the key works");

    revoke_key(&app, &key.key_id).await.unwrap();
    let status = issue_with(&app, &key.secret).await.unwrap_err();

    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED");
}

async fn a_revoked_key_is_refused_by_every_replica_within_a_second(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let replica = app.replica().spawn().await;
    let key = create_key(&app, Role::Dashboard, "").await.unwrap();
    let read = || read_counters_with(&replica, &key.secret, Dimension::Merchant, MERCHANT);
    // The replica knows the key, and has just looked it up (and may cache it).
    read()
        .await
        .expect("a key made on one replica works on another");

    revoke_key(&app, &key.key_id).await.unwrap();

    wait_for(
        "the replica to refuse the revoked key",
        REVOCATION_BOUND,
        || async { read().await.is_err() },
    )
    .await;
    let status = read().await.unwrap_err();
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED");
}

async fn revoking_an_unknown_key_names_the_key_id(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;

    let unknown = revoke_key(&app, "key_0000000000000000").await.unwrap_err();
    let empty = revoke_key(&app, "").await.unwrap_err();

    assert_invalid_field(&unknown, "key_id");
    assert_invalid_field(&empty, "key_id");
}

async fn a_bootstrap_key_from_the_config_cannot_be_revoked_over_the_api(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let status = revoke_key(&app, "feed").await.unwrap_err();

    assert_invalid_field(&status, "key_id");
    assert!(issue_with(&app, &app.keys.feed).await.is_ok());
}

async fn revoking_one_key_leaves_the_others_working(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let revoked = create_key(&app, Role::Feed, "").await.unwrap();
    let kept = create_key(&app, Role::Feed, "").await.unwrap();

    revoke_key(&app, &revoked.key_id).await.unwrap();

    assert!(issue_with(&app, &kept.secret).await.is_ok());
    assert!(issue_with(&app, &app.keys.feed).await.is_ok());
}

on_all_backends!(
    a_created_key_has_a_new_id_and_secret_each_time,
    a_created_feed_key_issues_tokens_at_once,
    a_created_merchant_key_confirms_sales_for_its_own_merchant_only,
    a_created_merchant_key_reads_only_its_own_merchants_counters,
    a_created_key_may_call_only_what_its_role_allows,
    the_secret_is_stored_only_as_its_hash,
    malformed_create_requests_name_the_field,
    a_merchant_key_for_an_unknown_merchant_is_merchant_not_found,
    only_an_admin_key_may_create_or_revoke_keys,
    a_revoked_key_is_unauthenticated_at_once_on_the_server_that_revoked_it,
    a_revoked_key_is_refused_by_every_replica_within_a_second,
    revoking_an_unknown_key_names_the_key_id,
    a_bootstrap_key_from_the_config_cannot_be_revoked_over_the_api,
    revoking_one_key_leaves_the_others_working,
);
