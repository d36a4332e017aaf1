//! Rotating the token signing key with no downtime.
//!
//! Every token carries the kid of the key that signed it; the active key
//! signs, every key in `[[signing_keys]]` verifies. Replicas are updated one
//! at a time (a rolling deploy), so at each step every replica must accept
//! the tokens of every other replica. From `k1` to `k2`:
//!
//! 1. **Add** the new key, inactive, on every replica, and finish the
//!    rollout. Tokens are still signed with `k1`; now every replica can also
//!    verify `k2`.
//!
//!    ```toml
//!    [[signing_keys]]
//!    kid = "k1"
//!    secret_base64 = "…"
//!    active = true
//!    [[signing_keys]]
//!    kid = "k2"
//!    secret_base64 = "…"        # openssl rand -base64 32
//!    active = false
//!    ```
//!
//! 2. **Activate** it: `k2` `active = true`, `k1` `active = false`, on every
//!    replica. Updated replicas sign with `k2`; replicas not yet updated
//!    still sign with `k1`; both verify both. Tokens signed with `k1` keep
//!    confirming.
//!
//! 3. **Remove** the old key once the longest attribution window of any
//!    campaign (at most 30 days) plus `clock_skew_seconds` has passed since
//!    step 2 finished: every `k1` token has then expired (TOKEN_EXPIRED), so
//!    removing `k1` refuses no sale that could still count. A `k1` token is
//!    TOKEN_INVALID from then on.
//!
//! Skipping step 1 (adding and activating in one deploy) is what causes
//! downtime: during that rollout, tokens signed by updated replicas are
//! TOKEN_INVALID on the replicas not yet updated.
//!
//! The tests run each step as replicas of one deployment over one store,
//! configured from the TOML above.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD};
use cartclick::config::Config;
use cartclick::privacy::ViewerPepper;
use cartclick::proto::{ConfirmSaleResponse, Dimension};
use tonic::Code;

use crate::support::*;

/// The secrets of the two keys, and the rest a deployment shares.
struct Deployment {
    keys: Keys,
    pepper: ViewerPepper,
    k1: String,
    k2: String,
}

/// A signing key of the config file.
#[derive(Clone, Copy)]
enum Key {
    Active,
    Inactive,
    Absent,
}

impl Deployment {
    fn new() -> Deployment {
        Deployment {
            keys: Keys::new(),
            pepper: ViewerPepper::new(&rand::random::<[u8; 32]>()),
            k1: BASE64.encode(rand::random::<[u8; 32]>()),
            k2: BASE64.encode(rand::random::<[u8; 32]>()),
        }
    }

    /// A replica's config, its `[[signing_keys]]` as an operator writes them.
    fn config(&self, k1: Key, k2: Key) -> Config {
        let mut text = String::new();
        for (kid, secret, key) in [("k1", &self.k1, k1), ("k2", &self.k2, k2)] {
            let active = match key {
                Key::Active => true,
                Key::Inactive => false,
                Key::Absent => continue,
            };
            text.push_str(&format!(
                "[[signing_keys]]\nkid = \"{kid}\"\nsecret_base64 = \"{secret}\"\nactive = {active}\n"
            ));
        }
        let mut config = Config::from_toml(&text).expect("the rotation config is valid");
        let base = test_config(&self.keys);
        config.listen = base.listen;
        config.http_listen = base.http_listen;
        config.api_keys = base.api_keys;
        config.shutdown_grace = base.shutdown_grace;
        config.viewer_pepper = Some(self.pepper.clone());
        config
    }

    /// The first replica, signing with k1 only: before the rotation.
    async fn start(&self) -> TestApp {
        TestApp::builder()
            .memory()
            .keys(self.keys.clone())
            .with_config(self.config(Key::Active, Key::Absent))
            .seeded()
            .spawn()
            .await
    }

    /// Another replica over `app`'s store and clock, with k1 and k2 as given.
    async fn replica(&self, app: &TestApp, k1: Key, k2: Key) -> TestApp {
        app.replica().with_config(self.config(k1, k2)).spawn().await
    }
}

/// The kid a token was signed with: byte 1 of the token is the kid's
/// length, the kid follows.
fn kid(token: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(token).expect("a token is base64url");
    let len = bytes[1] as usize;
    String::from_utf8(bytes[2..2 + len].to_vec()).unwrap()
}

/// A sale of 1.00 DKK of `token` as `order_id` on `app`.
async fn sell(
    app: &TestApp,
    token: &str,
    order_id: &str,
) -> Result<ConfirmSaleResponse, tonic::Status> {
    app.confirm(token, order_id, 100, "DKK").await
}

/// A token `app` issues for a tap by `viewer`.
async fn token_from(app: &TestApp, viewer: &str) -> String {
    app.issue(tap(viewer)).await.expect("issues").token
}

#[tokio::test]
async fn step_1_an_added_inactive_key_changes_no_token() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let added = deployment.replica(&old, Key::Active, Key::Inactive).await;

    let from_old = token_from(&old, "viewer-1").await;
    let from_added = token_from(&added, "viewer-2").await;

    assert_eq!(kid(&from_added), "k1");
    sell(&old, &from_added, "order-1").await.unwrap();
    sell(&added, &from_old, "order-2").await.unwrap();
}

#[tokio::test]
async fn step_2_new_tokens_carry_the_kid_of_the_newly_active_key() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let rotated = deployment.replica(&old, Key::Inactive, Key::Active).await;

    let before = token_from(&old, "viewer-1").await;
    let after = token_from(&rotated, "viewer-2").await;

    assert_eq!(kid(&before), "k1");
    assert_eq!(kid(&after), "k2");
    sell(&rotated, &after, "order-1").await.unwrap();
}

#[tokio::test]
async fn step_2_tokens_of_the_old_key_still_confirm() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let issued_before = token_from(&old, "viewer-1").await;

    let rotated = deployment.replica(&old, Key::Inactive, Key::Active).await;
    let sale = sell(&rotated, &issued_before, "order-1").await.unwrap();

    assert!(!sale.replayed);
    assert_eq!(
        rotated
            .total(Dimension::Merchant, MERCHANT)
            .await
            .conversions,
        1
    );
}

#[tokio::test]
async fn step_2_replicas_not_yet_rotated_confirm_the_rotated_replicas_tokens() {
    let deployment = Deployment::new();
    let first = deployment.start().await;
    let not_yet = deployment.replica(&first, Key::Active, Key::Inactive).await;
    let rotated = deployment.replica(&first, Key::Inactive, Key::Active).await;

    let from_rotated = token_from(&rotated, "viewer-1").await;
    let from_not_yet = token_from(&not_yet, "viewer-2").await;

    sell(&not_yet, &from_rotated, "order-1").await.unwrap();
    sell(&rotated, &from_not_yet, "order-2").await.unwrap();
}

#[tokio::test]
async fn a_repeat_tap_across_the_rotation_returns_a_token_that_confirms() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let first = old.issue(tap("viewer-1")).await.unwrap();
    let rotated = deployment.replica(&old, Key::Inactive, Key::Active).await;

    let repeat = rotated.issue(tap("viewer-1")).await.unwrap();

    assert!(repeat.deduplicated);
    assert_eq!(repeat.click_id, first.click_id);
    let sale = sell(&rotated, &repeat.token, "order-1").await.unwrap();
    assert_eq!(sale.click_id, first.click_id);
}

#[tokio::test]
async fn step_3_tokens_of_a_removed_key_are_token_invalid() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let old_token = token_from(&old, "viewer-1").await;
    let rotated = deployment.replica(&old, Key::Inactive, Key::Active).await;
    let new_token = token_from(&rotated, "viewer-2").await;

    let removed = deployment.replica(&old, Key::Absent, Key::Active).await;
    let refused = sell(&removed, &old_token, "order-1").await.unwrap_err();
    let newest = token_from(&removed, "viewer-3").await;

    assert_error(&refused, Code::InvalidArgument, "TOKEN_INVALID");
    sell(&removed, &new_token, "order-2").await.unwrap();
    assert_eq!(kid(&newest), "k2");
    sell(&removed, &newest, "order-3").await.unwrap();
}

#[tokio::test]
async fn step_3_after_the_longest_window_old_tokens_had_expired_anyway() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let old_token = token_from(&old, "viewer-1").await;
    let rotated = deployment.replica(&old, Key::Inactive, Key::Active).await;
    let removed = deployment.replica(&old, Key::Absent, Key::Active).await;

    // The campaign's window is the default, 7 days; the clock is shared.
    old.clock
        .advance(chrono::TimeDelta::days(7) + chrono::TimeDelta::seconds(1));
    let before_removal = sell(&rotated, &old_token, "order-1").await.unwrap_err();
    let after_removal = sell(&removed, &old_token, "order-2").await.unwrap_err();

    assert_error(&before_removal, Code::FailedPrecondition, "TOKEN_EXPIRED");
    assert_error(&after_removal, Code::InvalidArgument, "TOKEN_INVALID");
}

#[tokio::test]
async fn skipping_step_1_makes_replicas_not_yet_updated_refuse_the_new_keys_tokens() {
    let deployment = Deployment::new();
    let old = deployment.start().await;
    let rotated_in_one_go = deployment.replica(&old, Key::Inactive, Key::Active).await;

    let from_rotated = token_from(&rotated_in_one_go, "viewer-1").await;
    let refused = sell(&old, &from_rotated, "order-1").await.unwrap_err();

    assert_error(&refused, Code::InvalidArgument, "TOKEN_INVALID");
}
