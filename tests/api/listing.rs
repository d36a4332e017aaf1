//! AdminService listings (API.md, "Listing"): ListMerchants, ListCampaigns
//! and ListApiKeys, a page at a time, in id order; their page tokens, roles,
//! filters and refusals; and, on Redis, the listing indexes backfilled for
//! records written without them.

use cartclick::proto::*;
use prost::Message;
use tonic::Code;

use crate::earnings_cli::run_ok;
use crate::support::*;

/// One page of merchants as `secret`'s key sees it.
async fn merchants_page(
    app: &TestApp,
    secret: &str,
    page_size: i32,
    page_token: &str,
) -> Result<ListMerchantsResponse, tonic::Status> {
    let request = ListMerchantsRequest {
        page_size,
        page_token: page_token.into(),
    };
    Ok(app
        .admin()
        .list_merchants(authed(secret, request))
        .await?
        .into_inner())
}

/// One page of campaigns.
async fn campaigns_page(
    app: &TestApp,
    secret: &str,
    request: ListCampaignsRequest,
) -> Result<ListCampaignsResponse, tonic::Status> {
    Ok(app
        .admin()
        .list_campaigns(authed(secret, request))
        .await?
        .into_inner())
}

/// One page of API keys.
async fn keys_page(
    app: &TestApp,
    secret: &str,
    request: ListApiKeysRequest,
) -> Result<ListApiKeysResponse, tonic::Status> {
    Ok(app
        .admin()
        .list_api_keys(authed(secret, request))
        .await?
        .into_inner())
}

/// Every merchant id in a walk of pages of `page_size`, page by page.
async fn merchant_pages(app: &TestApp, page_size: i32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    for _ in 0..100 {
        let page = merchants_page(app, &app.keys.admin, page_size, &token)
            .await
            .unwrap();
        pages.push(page.merchants.into_iter().map(|m| m.merchant_id).collect());
        if page.next_page_token.is_empty() {
            return pages;
        }
        token = page.next_page_token;
    }
    panic!("the walk does not end");
}

/// Every campaign id `request`'s filters select, walked with pages of 2 as
/// `secret`'s key.
async fn campaign_ids(app: &TestApp, secret: &str, request: ListCampaignsRequest) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    for _ in 0..100 {
        let page = campaigns_page(
            app,
            secret,
            ListCampaignsRequest {
                page_size: 2,
                page_token: token,
                ..request.clone()
            },
        )
        .await
        .unwrap();
        ids.extend(page.campaigns.into_iter().map(|c| c.campaign_id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
    panic!("the walk does not end");
}

/// Every key `request`'s filters select, walked with pages of 2.
async fn every_key(app: &TestApp, request: ListApiKeysRequest) -> Vec<ApiKeyInfo> {
    let mut keys = Vec::new();
    let mut token = String::new();
    for _ in 0..100 {
        let page = keys_page(
            app,
            &app.keys.admin,
            ListApiKeysRequest {
                page_size: 2,
                page_token: token,
                ..request.clone()
            },
        )
        .await
        .unwrap();
        keys.extend(page.api_keys);
        if page.next_page_token.is_empty() {
            return keys;
        }
        token = page.next_page_token;
    }
    panic!("the walk does not end");
}

/// Makes a key with CreateApiKey, as the admin.
async fn create_key(
    app: &TestApp,
    role: Role,
    merchant_id: &str,
    label: &str,
) -> CreateApiKeyResponse {
    app.admin()
        .create_api_key(authed(
            &app.keys.admin,
            CreateApiKeyRequest {
                role: role.into(),
                merchant_id: merchant_id.into(),
                label: label.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// Campaigns c-1 … c-5 of MERCHANT and OTHER_MERCHANT, put out of order,
/// c-2 and c-4 approved (and c-1, the seeded CAMPAIGN, when seeded: put
/// unchanged, it stays approved).
async fn five_campaigns(app: &TestApp) {
    for (id, merchant) in [
        ("c-4", MERCHANT),
        ("c-2", OTHER_MERCHANT),
        ("c-5", OTHER_MERCHANT),
        ("c-1", MERCHANT),
        ("c-3", MERCHANT),
    ] {
        app.put_campaign(id, merchant, "apparel", &[]).await;
    }
    for id in ["c-2", "c-4"] {
        app.review(id, ReviewDecision::Approve).await;
    }
}

async fn merchants_are_listed_by_id_each_once_a_page_at_a_time(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    for id in ["m-c", "m-a", "m-e", "m-b", "m-d"] {
        app.put_merchant(id, &["shop.dk"], "").await;
    }

    let by_two = merchant_pages(&app, 2).await;
    let by_five = merchant_pages(&app, 5).await;
    let first = merchants_page(&app, &app.keys.admin, 1, "").await.unwrap();

    assert_eq!(
        by_two,
        [vec!["m-a", "m-b"], vec!["m-c", "m-d"], vec!["m-e"]],
        "the last page's token is empty, so the walk stops after it"
    );
    assert_eq!(by_five, [vec!["m-a", "m-b", "m-c", "m-d", "m-e"]]);
    assert_eq!(first.merchants[0].display_name, "Shop m-a");
    assert_eq!(first.merchants[0].allowed_domains, ["shop.dk"]);
}

async fn a_page_size_of_zero_holds_fifty_and_a_larger_one_everything_up_to_a_thousand(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).spawn().await;
    for n in 0..51 {
        app.put_merchant(&format!("m-{n:02}"), &["shop.dk"], "")
            .await;
    }

    let default = merchants_page(&app, &app.keys.admin, 0, "").await.unwrap();
    let rest = merchants_page(&app, &app.keys.admin, 0, &default.next_page_token)
        .await
        .unwrap();
    let huge = merchants_page(&app, &app.keys.admin, i32::MAX, "")
        .await
        .unwrap();

    assert_eq!(default.merchants.len(), 50);
    assert!(!default.next_page_token.is_empty());
    assert_eq!(rest.merchants.len(), 1);
    assert_eq!(rest.merchants[0].merchant_id, "m-50");
    assert!(rest.next_page_token.is_empty());
    assert_eq!(huge.merchants.len(), 51);
    assert!(huge.next_page_token.is_empty());
}

async fn campaigns_are_listed_by_id_and_filtered_by_merchant_and_status(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    // The seeded CAMPAIGN is c-1, approved; put again unchanged, it stays so.
    five_campaigns(&app).await;
    let admin = app.keys.admin.clone();
    let list = |merchant_id: &str, status: CampaignStatus| ListCampaignsRequest {
        merchant_id: merchant_id.into(),
        status: status.into(),
        ..ListCampaignsRequest::default()
    };

    let all = campaign_ids(&app, &admin, list("", CampaignStatus::Unspecified)).await;
    let of_merchant = campaign_ids(&app, &admin, list(MERCHANT, CampaignStatus::Unspecified)).await;
    let approved = campaign_ids(&app, &admin, list("", CampaignStatus::Approved)).await;
    let approved_other =
        campaign_ids(&app, &admin, list(OTHER_MERCHANT, CampaignStatus::Approved)).await;
    let paused = campaign_ids(&app, &admin, list("", CampaignStatus::Paused)).await;
    let whole = campaigns_page(&app, &admin, list("", CampaignStatus::Unspecified))
        .await
        .unwrap();

    assert_eq!(all, ["c-1", "c-2", "c-3", "c-4", "c-5"]);
    assert_eq!(of_merchant, ["c-1", "c-3", "c-4"]);
    assert_eq!(approved, ["c-1", "c-2", "c-4"]);
    assert_eq!(approved_other, ["c-2"]);
    assert!(paused.is_empty());
    let c4 = whole
        .campaigns
        .iter()
        .find(|c| c.campaign_id == "c-4")
        .unwrap();
    assert_eq!(c4.status(), CampaignStatus::Approved);
    assert_eq!(c4.merchant_id, MERCHANT);
}

async fn a_campaign_moved_to_another_merchant_is_listed_under_the_new_one_only(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-move", MERCHANT, "apparel", &[]).await;
    app.put_campaign("c-move", OTHER_MERCHANT, "apparel", &[])
        .await;
    let of = |merchant_id: &str| ListCampaignsRequest {
        merchant_id: merchant_id.into(),
        ..ListCampaignsRequest::default()
    };

    let old = campaign_ids(&app, &app.keys.admin, of(MERCHANT)).await;
    let new = campaign_ids(&app, &app.keys.admin, of(OTHER_MERCHANT)).await;

    assert_eq!(old, [CAMPAIGN]);
    assert_eq!(new, ["c-move"]);
}

async fn a_merchant_key_lists_its_own_campaigns_and_reads_its_own_merchant_only(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    five_campaigns(&app).await;
    let key = app.keys.merchant.clone();
    let of = |merchant_id: &str| ListCampaignsRequest {
        merchant_id: merchant_id.into(),
        ..ListCampaignsRequest::default()
    };

    let own = campaign_ids(&app, &key, of("")).await;
    let named = campaign_ids(&app, &key, of(MERCHANT)).await;
    let other = campaigns_page(&app, &key, of(OTHER_MERCHANT))
        .await
        .unwrap_err();
    let read_own = app
        .admin()
        .get_merchant(authed(
            &key,
            GetMerchantRequest {
                merchant_id: MERCHANT.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let read_other = app
        .admin()
        .get_merchant(authed(
            &key,
            GetMerchantRequest {
                merchant_id: OTHER_MERCHANT.into(),
            },
        ))
        .await
        .unwrap_err();
    let merchants = merchants_page(&app, &key, 0, "").await.unwrap_err();
    let keys = keys_page(&app, &key, ListApiKeysRequest::default())
        .await
        .unwrap_err();

    assert_eq!(own, ["c-1", "c-3", "c-4"]);
    assert_eq!(named, own);
    assert_error(&other, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_eq!(read_own.merchant.unwrap().merchant_id, MERCHANT);
    assert_error(&read_other, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_error(&merchants, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_error(&keys, Code::PermissionDenied, "PERMISSION_DENIED");
}

async fn a_dashboard_lists_merchants_and_campaigns_but_not_keys_and_a_feed_nothing(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let dashboard = app.keys.dashboard.clone();
    let feed = app.keys.feed.clone();

    let merchants = merchants_page(&app, &dashboard, 0, "").await.unwrap();
    let campaigns = campaign_ids(&app, &dashboard, ListCampaignsRequest::default()).await;
    let keys = keys_page(&app, &dashboard, ListApiKeysRequest::default())
        .await
        .unwrap_err();
    let dashboard_get = app
        .admin()
        .get_merchant(authed(
            &dashboard,
            GetMerchantRequest {
                merchant_id: MERCHANT.into(),
            },
        ))
        .await
        .unwrap_err();
    let feed_refusals = [
        merchants_page(&app, &feed, 0, "").await.unwrap_err(),
        campaigns_page(&app, &feed, ListCampaignsRequest::default())
            .await
            .unwrap_err(),
        keys_page(&app, &feed, ListApiKeysRequest::default())
            .await
            .unwrap_err(),
    ];

    let ids: Vec<&str> = merchants
        .merchants
        .iter()
        .map(|m| m.merchant_id.as_str())
        .collect();
    assert_eq!(ids, [MERCHANT, OTHER_MERCHANT]);
    assert_eq!(campaigns, [CAMPAIGN]);
    assert_error(&keys, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_error(&dashboard_get, Code::PermissionDenied, "PERMISSION_DENIED");
    for refused in &feed_refusals {
        assert_error(refused, Code::PermissionDenied, "PERMISSION_DENIED");
    }
}

async fn keys_list_config_and_made_keys_by_id_without_secrets(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let shop = create_key(&app, Role::Merchant, MERCHANT, "shop checkout").await;
    let board = create_key(&app, Role::Dashboard, "", "wall screen").await;
    app.admin()
        .revoke_api_key(authed(
            &app.keys.admin,
            RevokeApiKeyRequest {
                key_id: board.key_id.clone(),
            },
        ))
        .await
        .unwrap();

    let all = every_key(&app, ListApiKeysRequest::default()).await;
    let merchant_keys = every_key(
        &app,
        ListApiKeysRequest {
            role: Role::Merchant.into(),
            ..ListApiKeysRequest::default()
        },
    )
    .await;
    let of_merchant = every_key(
        &app,
        ListApiKeysRequest {
            merchant_id: MERCHANT.into(),
            ..ListApiKeysRequest::default()
        },
    )
    .await;

    let ids: Vec<&str> = all.iter().map(|k| k.key_id.as_str()).collect();
    let mut expected = vec![
        "admin",
        "dashboard",
        "feed",
        "merchant",
        "merchant2",
        shop.key_id.as_str(),
        board.key_id.as_str(),
    ];
    expected.sort();
    assert_eq!(ids, expected, "config and made keys, by id, each once");
    let config: Vec<&ApiKeyInfo> = all.iter().filter(|k| k.from_config).collect();
    assert_eq!(config.len(), 5);
    assert!(config.iter().all(|k| k.created_at.is_none() && !k.revoked));
    let made_shop = all.iter().find(|k| k.key_id == shop.key_id).unwrap();
    assert_eq!(made_shop.role(), Role::Merchant);
    assert_eq!(made_shop.merchant_id, MERCHANT);
    assert_eq!(made_shop.label, "shop checkout");
    assert!(made_shop.created_at.is_some() && !made_shop.revoked && !made_shop.from_config);
    let made_board = all.iter().find(|k| k.key_id == board.key_id).unwrap();
    assert!(made_board.revoked);
    let merchant_ids: Vec<&str> = merchant_keys.iter().map(|k| k.key_id.as_str()).collect();
    let mut expected = vec!["merchant", "merchant2", shop.key_id.as_str()];
    expected.sort();
    assert_eq!(merchant_ids, expected);
    let of_merchant_ids: Vec<&str> = of_merchant.iter().map(|k| k.key_id.as_str()).collect();
    let mut expected = vec!["merchant", shop.key_id.as_str()];
    expected.sort();
    assert_eq!(of_merchant_ids, expected);
    // Never a secret nor its hash, in any form.
    let wire = ListApiKeysResponse {
        api_keys: all,
        next_page_token: String::new(),
    }
    .encode_to_vec();
    let wire = String::from_utf8_lossy(&wire);
    for secret in [
        &shop.secret,
        &board.secret,
        &app.keys.admin,
        &app.keys.merchant,
    ] {
        let hash = hex::encode(cartclick::auth::secret_sha256(secret));
        assert!(!wire.contains(secret.as_str()), "a secret is listed");
        assert!(!wire.contains(&hash), "a secret's hash is listed");
    }
}

async fn a_page_token_is_refused_for_another_rpc_key_or_filters(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    five_campaigns(&app).await;
    let admin = app.keys.admin.clone();
    let approved = ListCampaignsRequest {
        status: CampaignStatus::Approved.into(),
        page_size: 1,
        ..ListCampaignsRequest::default()
    };
    let token = campaigns_page(&app, &admin, approved.clone())
        .await
        .unwrap()
        .next_page_token;
    assert!(!token.is_empty());
    let with = |request: ListCampaignsRequest| ListCampaignsRequest {
        page_token: token.clone(),
        ..request
    };

    let same = campaigns_page(&app, &admin, with(approved.clone())).await;
    let other_page_size = campaigns_page(
        &app,
        &admin,
        with(ListCampaignsRequest {
            page_size: 7,
            ..approved.clone()
        }),
    )
    .await;
    let refusals = [
        campaigns_page(&app, &admin, with(ListCampaignsRequest::default()))
            .await
            .unwrap_err(),
        campaigns_page(
            &app,
            &admin,
            with(ListCampaignsRequest {
                merchant_id: MERCHANT.into(),
                ..approved.clone()
            }),
        )
        .await
        .unwrap_err(),
        campaigns_page(&app, &app.keys.dashboard, with(approved.clone()))
            .await
            .unwrap_err(),
        merchants_page(&app, &admin, 0, &token).await.unwrap_err(),
        keys_page(
            &app,
            &admin,
            ListApiKeysRequest {
                page_token: token.clone(),
                ..ListApiKeysRequest::default()
            },
        )
        .await
        .unwrap_err(),
        merchants_page(&app, &admin, 0, "not-a-token")
            .await
            .unwrap_err(),
    ];

    assert_eq!(same.unwrap().campaigns[0].campaign_id, "c-2");
    assert_eq!(other_page_size.unwrap().campaigns[0].campaign_id, "c-2");
    for refused in &refusals {
        assert_invalid_field(refused, "page_token");
    }
}

async fn bad_listing_input_is_invalid_field_naming_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let admin = app.keys.admin.clone();

    let negative = merchants_page(&app, &admin, -1, "").await.unwrap_err();
    let campaign_refusals = [
        (
            "status",
            ListCampaignsRequest {
                status: 99,
                ..ListCampaignsRequest::default()
            },
        ),
        (
            "merchant_id",
            ListCampaignsRequest {
                merchant_id: "has space".into(),
                ..ListCampaignsRequest::default()
            },
        ),
        (
            "page_size",
            ListCampaignsRequest {
                page_size: -5,
                ..ListCampaignsRequest::default()
            },
        ),
    ];
    let key_refusals = [
        (
            "role",
            ListApiKeysRequest {
                role: 99,
                ..ListApiKeysRequest::default()
            },
        ),
        (
            "merchant_id",
            ListApiKeysRequest {
                merchant_id: "x".repeat(129),
                ..ListApiKeysRequest::default()
            },
        ),
        (
            "page_size",
            ListApiKeysRequest {
                page_size: -1,
                ..ListApiKeysRequest::default()
            },
        ),
    ];

    assert_invalid_field(&negative, "page_size");
    for (field, request) in campaign_refusals {
        let refused = campaigns_page(&app, &admin, request).await.unwrap_err();
        assert_invalid_field(&refused, field);
    }
    for (field, request) in key_refusals {
        let refused = keys_page(&app, &admin, request).await.unwrap_err();
        assert_invalid_field(&refused, field);
    }
}

on_all_backends!(
    merchants_are_listed_by_id_each_once_a_page_at_a_time,
    a_page_size_of_zero_holds_fifty_and_a_larger_one_everything_up_to_a_thousand,
    campaigns_are_listed_by_id_and_filtered_by_merchant_and_status,
    a_campaign_moved_to_another_merchant_is_listed_under_the_new_one_only,
    a_merchant_key_lists_its_own_campaigns_and_reads_its_own_merchant_only,
    a_dashboard_lists_merchants_and_campaigns_but_not_keys_and_a_feed_nothing,
    keys_list_config_and_made_keys_by_id_without_secrets,
    a_page_token_is_refused_for_another_rpc_key_or_filters,
    bad_listing_input_is_invalid_field_naming_the_field,
);

/// Deletes every listing index of the registry (and the backfill marker),
/// as a store written by a version without them has none.
async fn drop_listing_indexes(conn: &mut impl ::redis::aio::ConnectionLike, indexes: &[String]) {
    for index in indexes {
        let _: i64 = ::redis::cmd("DEL")
            .arg(index)
            .query_async(conn)
            .await
            .unwrap();
    }
}

/// Every listing lists the same after a reopened store backfilled it.
async fn records_written_without_listing_indexes_are_listed_after_the_store_reopens(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let key = create_key(&app, Role::Feed, "", "older").await;
    let indexes: Vec<String> = [
        "r:{r}:ix:m",
        "r:{r}:ix:c",
        "r:{r}:ix:k",
        "r:{r}:ix:backfilled",
        &format!("r:{{r}}:ix:cm:{MERCHANT}"),
    ]
    .map(str::to_owned)
    .to_vec();
    match backend {
        Backend::Redis => drop_listing_indexes(&mut app.redis().connection().await, &indexes).await,
        Backend::Cluster => {
            drop_listing_indexes(&mut app.cluster().connection().await, &indexes).await
        }
        Backend::Memory => unreachable!("a memory store is never reopened"),
    }
    let stored_keys = |keys: Vec<ApiKeyInfo>| -> Vec<String> {
        keys.into_iter()
            .filter(|k| !k.from_config)
            .map(|k| k.key_id)
            .collect()
    };
    let before = merchants_page(&app, &app.keys.admin, 0, "").await.unwrap();
    assert!(
        before.merchants.is_empty(),
        "the indexes are what is listed"
    );

    let reopened = app.replica().spawn().await;
    let merchants = merchants_page(&reopened, &reopened.keys.admin, 0, "")
        .await
        .unwrap();
    let campaigns = campaign_ids(
        &reopened,
        &reopened.keys.merchant,
        ListCampaignsRequest::default(),
    )
    .await;
    let keys = stored_keys(every_key(&reopened, ListApiKeysRequest::default()).await);

    let ids: Vec<&str> = merchants
        .merchants
        .iter()
        .map(|m| m.merchant_id.as_str())
        .collect();
    assert_eq!(ids, [MERCHANT, OTHER_MERCHANT]);
    assert_eq!(campaigns, [CAMPAIGN]);
    assert_eq!(keys, [key.key_id]);
}

/// Only a Redis store is reopened over records it already holds.
mod redis_store {
    #[tokio::test]
    async fn records_written_without_listing_indexes_are_listed_after_the_store_reopens() {
        super::records_written_without_listing_indexes_are_listed_after_the_store_reopens(
            crate::support::Backend::Redis,
        )
        .await
    }
}

/// The same on a Redis Cluster, whose registry slot lives on one node.
mod cluster_store {
    #[tokio::test]
    async fn records_written_without_listing_indexes_are_listed_after_the_store_reopens() {
        super::records_written_without_listing_indexes_are_listed_after_the_store_reopens(
            crate::support::Backend::Cluster,
        )
        .await
    }
}

#[tokio::test]
async fn the_list_commands_print_what_is_there_as_tables() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    app.put_campaign("c-2", OTHER_MERCHANT, "shoes", &["sku-1", "sku-2"])
        .await;
    let made = create_key(&app, Role::Merchant, MERCHANT, "till").await;
    let admin = app.keys.admin.clone();

    let merchants = run_ok(&app, &admin, &["admin", "merchant", "list"]).await;
    let campaigns = run_ok(&app, &admin, &["admin", "campaign", "list"]).await;
    let approved = run_ok(
        &app,
        &app.keys.merchant,
        &["admin", "campaign", "list", "--status", "approved"],
    )
    .await;
    let keys = run_ok(
        &app,
        &admin,
        &[
            "admin",
            "key",
            "list",
            "--role",
            "merchant",
            "--merchant",
            MERCHANT,
        ],
    )
    .await;

    assert_eq!(
        merchants,
        [
            "merchant_id display_name allowed_domains token_param",
            "m-1 Shop m-1 shop.dk cc",
            "m-2 Shop m-2 other.dk cc",
        ]
    );
    assert_eq!(
        campaigns,
        [
            "campaign_id merchant_id category status commission_rate_bps products",
            "c-1 m-1 apparel approved 0 (any)",
            "c-2 m-2 shoes pending 0 sku-1,sku-2",
        ]
    );
    assert_eq!(approved[1..], ["c-1 m-1 apparel approved 0 (any)"]);
    assert_eq!(keys.len(), 3, "{keys:#?}");
    assert_eq!(
        keys[0],
        "key_id role merchant_id label created_at revoked source"
    );
    let made_row = keys
        .iter()
        .find(|row| row.starts_with(&made.key_id))
        .unwrap();
    assert!(made_row.contains(" merchant m-1 till "), "{made_row}");
    assert!(made_row.ends_with(" no stored"), "{made_row}");
    assert!(
        keys.contains(&"merchant merchant m-1 - no config".to_owned()),
        "{keys:#?}"
    );
    assert!(!keys.concat().contains(&made.secret));
}
