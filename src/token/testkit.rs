//! What the token tests share: fixed secrets, ring and claims builders, a
//! forger that puts a correct tag on any bytes, and proptest strategies.

use base64::Engine as _;
use hmac::Mac;
use proptest::prelude::*;

use super::format::ENGINE;
use super::ring::RingKey;
use super::{Claims, ClickId, KeyRing, SigningKey};

/// A valid 32-byte secret.
pub(super) const SECRET_A: [u8; 32] = [0x11; 32];
/// Another valid secret, for a second key.
pub(super) const SECRET_B: [u8; 32] = [0x22; 32];

/// A configured key.
pub(super) fn key(kid: &str, secret: &[u8], active: bool) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        secret: secret.to_vec(),
        active,
    }
}

/// A ring of `(kid, secret, active)` keys that must be valid.
pub(super) fn ring(keys: &[(&str, &[u8], bool)]) -> KeyRing {
    KeyRing::new(keys.iter().map(|&(k, s, a)| key(k, s, a)).collect()).expect("valid test ring")
}

/// Claims with this click id and window.
pub(super) fn claims(id: [u8; 16], issued_at: u64, expires_at: u64) -> Claims {
    Claims {
        click_id: ClickId::from_bytes(id),
        issued_at,
        expires_at,
    }
}

/// A token with arbitrary bytes before the tag and a correct tag, for
/// checks that must fail even when the MAC is right.
pub(super) fn forge(secret: &[u8], merchant_id: &str, body: &[u8]) -> String {
    let key = RingKey::new("x".to_owned(), secret);
    let tag = key.mac_over(body, merchant_id).finalize().into_bytes();
    let mut raw = body.to_vec();
    raw.extend_from_slice(&tag);
    ENGINE.encode(raw)
}

/// The bytes before the tag, with any version, `kid_len` and kid.
pub(super) fn body(version: u8, kid_len: u8, kid: &[u8], c: &Claims) -> Vec<u8> {
    let mut b = vec![version, kid_len];
    b.extend_from_slice(kid);
    b.extend_from_slice(c.click_id.as_bytes());
    b.extend_from_slice(&c.issued_at.to_be_bytes());
    b.extend_from_slice(&c.expires_at.to_be_bytes());
    b
}

/// A token's bytes.
pub(super) fn decode(token: &str) -> Vec<u8> {
    ENGINE.decode(token).expect("own tokens decode")
}

/// Any claims with `issued_at <= expires_at`.
pub(super) fn arb_claims() -> impl Strategy<Value = Claims> {
    (any::<[u8; 16]>(), any::<u64>(), any::<u64>())
        .prop_map(|(id, a, b)| claims(id, a.min(b), a.max(b)))
}

/// Any valid kid.
pub(super) fn arb_kid() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,8}"
}

/// Any merchant id, empty and non-ASCII included.
pub(super) fn arb_merchant() -> impl Strategy<Value = String> {
    ".{0,40}"
}
