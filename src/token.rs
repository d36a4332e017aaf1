//! Click tokens: the format, the key ring, signing and verification.
//!
//! A token is what a shop receives in a URL query parameter when a viewer taps
//! a product; it comes back with the sale and proves which click the sale
//! belongs to. It is a binary string, encoded as base64url without padding:
//!
//! ```text
//! version (1 byte, = 1) | kid_len (1 byte, 1..=8) | kid | click_id (16)
//!   | issued_at (u64 BE, unix secs) | expires_at (u64 BE, unix secs) | tag (32)
//! ```
//!
//! `tag` is the full HMAC-SHA256, under the key named by `kid`, of
//! `"cartclick/token/v1\0" || every byte before the tag || len(merchant_id)
//! (u16 BE) || merchant_id`. The domain-separation prefix keeps a tag from
//! ever being valid for any other message the same secret might be used for.
//! The merchant id is bound by the MAC but not carried in the token: a token
//! issued for one shop is [`TokenError::Invalid`] for every other shop, and
//! the token reveals nothing but the click id and its window. It carries no
//! viewer data. With a kid of at most [`MAX_KID_LEN`] bytes a token is at
//! most 74 bytes, 99 characters encoded.
//!
//! [`KeyRing::verify`] checks in a fixed order and does no work on input it
//! has not yet accepted: the length of the string before decoding anything;
//! canonical base64url (no padding, no non-zero trailing bits, so every token
//! has exactly one spelling); the version; the kid length and the exact total
//! length; the kid against the ring; the tag, in constant time and over all
//! 32 bytes; and only then the claims (`expires_at >= issued_at`, then the
//! expiry). Every failure before the expiry check is the same
//! [`TokenError::Invalid`], so a caller learns nothing about why a forgery
//! failed. An authentic but expired token is [`TokenError::Expired`] and
//! still carries its claims, so an idempotent replay of a sale can be found.
//!
//! Keys rotate by kid: exactly one key in the ring signs, the others only
//! verify, so tokens signed before a rotation keep working until their key
//! is removed. Everything here is pure: no I/O, and time is a parameter.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The longest key id, in bytes.
pub const MAX_KID_LEN: usize = 8;
/// The shortest secret a [`SigningKey`] may have, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// The longest token string [`KeyRing::verify`] looks at; longer is invalid.
pub const MAX_TOKEN_LEN: usize = 100;

/// The only token version.
const VERSION: u8 = 1;
/// Prepended to every MAC input so a tag means "cartclick token v1" only.
const DOMAIN: &[u8] = b"cartclick/token/v1\0";
/// The length of the HMAC-SHA256 tag.
const TAG_LEN: usize = 32;
/// Bytes of a token besides its kid: version, `kid_len`, click id, two times, tag.
const FIXED_LEN: usize = 1 + 1 + 16 + 8 + 8 + TAG_LEN;
/// The longest decoded token.
const MAX_RAW_LEN: usize = FIXED_LEN + MAX_KID_LEN;
/// The kid of [`KeyRing::ephemeral`].
const EPHEMERAL_KID: &str = "eph";

/// base64url, no padding on encode, padding refused on decode, and non-zero
/// trailing bits refused, so each byte string has exactly one accepted spelling.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

type HmacSha256 = Hmac<Sha256>;

/// A 128-bit click id: 120 random bits, and a last byte that names the
/// store shard the click lives in (0 until a store places it elsewhere:
/// [`crate::store::Ledger::record_click`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClickId([u8; 16]);

impl ClickId {
    /// A fresh id from the thread-local CSPRNG (`ChaCha` seeded from the
    /// OS), on shard 0.
    #[must_use]
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand::rng().fill_bytes(&mut b[..15]);
        Self(b)
    }

    /// The id with these bytes.
    #[must_use]
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }

    /// The id's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The id as 32 lower-case hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 32 lower-case hex digits, the form [`ClickId::to_hex`]
    /// writes; anything else (upper case included) is `None`, so every id
    /// has one spelling.
    #[must_use]
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).ok()?;
        Some(Self(b))
    }
}

impl fmt::Display for ClickId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What a token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// The click the token stands for.
    pub click_id: ClickId,
    /// When the token was issued, unix seconds. Informational: not checked
    /// against the verifier's clock.
    pub issued_at: u64,
    /// The last second the token is valid, unix seconds (inclusive).
    pub expires_at: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, forged, unknown kid, or issued for another merchant; the
    /// cases are deliberately not told apart.
    #[error("token is invalid")]
    Invalid,
    /// Authentic, but the verification time is past `expires_at`. The claims
    /// are returned so the caller can still recognise an idempotent replay.
    #[error("token has expired")]
    Expired(Claims),
}

/// Why a set of keys does not make a [`KeyRing`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// The ring has no keys at all.
    #[error("key ring has no keys")]
    NoKeys,
    /// No key is marked active, so nothing could sign.
    #[error("key ring has no active key")]
    NoActiveKey,
    /// More than one key is marked active; the two named are the first found.
    #[error("key ring has two active keys: {first:?} and {second:?}")]
    TwoActiveKeys {
        /// The first active kid.
        first: String,
        /// The second active kid.
        second: String,
    },
    /// Two keys share a kid.
    #[error("duplicate kid {0:?}")]
    DuplicateKid(String),
    /// A kid is the empty string.
    #[error("kid is empty")]
    EmptyKid,
    /// A kid is longer than [`MAX_KID_LEN`] bytes.
    #[error("kid {0:?} is longer than 8 bytes")]
    KidTooLong(String),
    /// A kid has a character outside `[A-Za-z0-9_-]`.
    #[error("kid {0:?} has characters outside [A-Za-z0-9_-]")]
    KidBadChars(String),
    /// A secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("secret of kid {kid:?} is {len} bytes, shorter than 32")]
    SecretTooShort {
        /// The key's kid.
        kid: String,
        /// The secret's length in bytes.
        len: usize,
    },
}

/// One configured key, as read from configuration.
#[derive(Clone)]
pub struct SigningKey {
    /// Key id, carried in every token it signs: 1..=8 bytes of `[A-Za-z0-9_-]`.
    pub kid: String,
    /// The HMAC secret, at least [`MIN_SECRET_LEN`] bytes. Never printed.
    pub secret: Vec<u8>,
    /// Whether this key signs new tokens; exactly one key in a ring does.
    pub active: bool,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("secret", &"<redacted>")
            .field("active", &self.active)
            .finish()
    }
}

/// A key of the ring, with its HMAC state precomputed.
#[derive(Clone)]
struct RingKey {
    kid: String,
    /// HMAC-SHA256 keyed with the secret and fed [`DOMAIN`]; cloned per use.
    mac: HmacSha256,
}

impl RingKey {
    fn new(kid: String, secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("hmac accepts any key length");
        mac.update(DOMAIN);
        Self { kid, mac }
    }

    /// The MAC state after the token bytes before the tag and the merchant id.
    fn mac_over(&self, signed: &[u8], merchant_id: &str) -> HmacSha256 {
        // Saturating is sound: the merchant id is the last field of the MAC
        // input and the bytes before it have a length fixed by kid_len, so the
        // input stays injective even for ids over 65535 bytes.
        let len = u16::try_from(merchant_id.len()).unwrap_or(u16::MAX);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.update(&len.to_be_bytes());
        mac.update(merchant_id.as_bytes());
        mac
    }
}

/// The keys that sign and verify tokens: one active key signs, every key
/// verifies. Cheap to clone (the keys are shared).
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<[RingKey]>,
    /// Index of the active key in `keys`.
    active: usize,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeyRing")
            .field("kids", &kids)
            .field("active", &self.active_kid())
            .finish()
    }
}

impl KeyRing {
    /// A ring of `keys`, exactly one of them active; the others only verify.
    ///
    /// Every kid must be 1..=[`MAX_KID_LEN`] bytes of `[A-Za-z0-9_-]` and
    /// unique, every secret at least [`MIN_SECRET_LEN`] bytes.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`KeyRingError`].
    pub fn new(keys: Vec<SigningKey>) -> Result<KeyRing, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::NoKeys);
        }
        let mut ring: Vec<RingKey> = Vec::with_capacity(keys.len());
        let mut active: Option<usize> = None;
        for key in keys {
            check_kid(&key.kid)?;
            if key.secret.len() < MIN_SECRET_LEN {
                return Err(KeyRingError::SecretTooShort {
                    kid: key.kid,
                    len: key.secret.len(),
                });
            }
            if ring.iter().any(|k| k.kid == key.kid) {
                return Err(KeyRingError::DuplicateKid(key.kid));
            }
            if key.active {
                if let Some(first) = active {
                    return Err(KeyRingError::TwoActiveKeys {
                        first: ring[first].kid.clone(),
                        second: key.kid,
                    });
                }
                active = Some(ring.len());
            }
            ring.push(RingKey::new(key.kid, &key.secret));
        }
        let active = active.ok_or(KeyRingError::NoActiveKey)?;
        Ok(KeyRing {
            keys: ring.into(),
            active,
        })
    }

    /// One random 32-byte key with kid `"eph"`, for the in-memory dev store.
    /// Its tokens die with the process.
    #[must_use]
    pub fn ephemeral() -> KeyRing {
        let mut secret = [0u8; MIN_SECRET_LEN];
        rand::rng().fill_bytes(&mut secret);
        KeyRing {
            keys: Arc::new([RingKey::new(EPHEMERAL_KID.to_owned(), &secret)]),
            active: 0,
        }
    }

    /// The kid of the key that signs.
    #[must_use]
    pub fn active_kid(&self) -> &str {
        &self.keys[self.active].kid
    }

    /// A token for `claims`, valid only for `merchant_id`, signed with the
    /// active key. At most 99 characters of `[A-Za-z0-9_-]`.
    ///
    /// A token with `expires_at < issued_at` never verifies.
    #[must_use]
    pub fn sign(&self, merchant_id: &str, claims: &Claims) -> String {
        self.sign_by(&self.keys[self.active], merchant_id, claims)
    }

    /// Signs `claims` with the key `kid` if the ring still holds it, active
    /// or not: re-creates, byte for byte, a token signed before (HMAC is
    /// deterministic), e.g. for a repeat tap after a key rotation.
    pub fn sign_with(&self, kid: &str, merchant_id: &str, claims: &Claims) -> Option<String> {
        let key = self.keys.iter().find(|key| key.kid == kid)?;
        Some(self.sign_by(key, merchant_id, claims))
    }

    fn sign_by(&self, key: &RingKey, merchant_id: &str, claims: &Claims) -> String {
        let kid = key.kid.as_bytes();
        let mut buf = [0u8; MAX_RAW_LEN];
        let body_len = FIXED_LEN - TAG_LEN + kid.len();
        let (body, rest) = buf.split_at_mut(body_len);
        body[0] = VERSION;
        // kid.len() <= MAX_KID_LEN = 8 (checked by KeyRing::new), fits a u8.
        body[1] = kid.len() as u8;
        let (kid_dst, tail) = body[2..].split_at_mut(kid.len());
        kid_dst.copy_from_slice(kid);
        tail[..16].copy_from_slice(claims.click_id.as_bytes());
        tail[16..24].copy_from_slice(&claims.issued_at.to_be_bytes());
        tail[24..32].copy_from_slice(&claims.expires_at.to_be_bytes());
        let tag = key.mac_over(body, merchant_id).finalize().into_bytes();
        rest[..TAG_LEN].copy_from_slice(&tag);
        ENGINE.encode(&buf[..body_len + TAG_LEN])
    }

    /// The claims of `token` if the ring signed it for `merchant_id` and it
    /// has not expired at `now_unix` (valid up to and including `expires_at`).
    ///
    /// Every malformed, forged, unknown-kid or other-merchant token is the
    /// same [`TokenError::Invalid`]; see the module docs for the order of
    /// checks.
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] unless the token is authentic for
    /// `merchant_id`; [`TokenError::Expired`] if it is but
    /// `now_unix > expires_at`.
    pub fn verify(
        &self,
        merchant_id: &str,
        token: &str,
        now_unix: u64,
    ) -> Result<Claims, TokenError> {
        // (1) Bound the work before decoding anything.
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        // (2) Canonical base64url: the engine refuses padding and non-zero
        // trailing bits. 100 characters decode to at most 75 bytes.
        let mut buf = [0u8; MAX_TOKEN_LEN * 3 / 4];
        let len = ENGINE
            .decode_slice(token, &mut buf)
            .map_err(|_| TokenError::Invalid)?;
        let raw = &buf[..len];
        // (3) Version.
        if raw.first() != Some(&VERSION) {
            return Err(TokenError::Invalid);
        }
        // (4) Kid length and exact total length.
        let kid_len = usize::from(*raw.get(1).ok_or(TokenError::Invalid)?);
        if !(1..=MAX_KID_LEN).contains(&kid_len) || raw.len() != FIXED_LEN + kid_len {
            return Err(TokenError::Invalid);
        }
        let (body, tag) = raw.split_at(raw.len() - TAG_LEN);
        let (kid, fields) = body[2..].split_at(kid_len);
        // (5) Kid lookup. Kids are public; no need for constant time here.
        let key = self
            .keys
            .iter()
            .find(|k| k.kid.as_bytes() == kid)
            .ok_or(TokenError::Invalid)?;
        // (6) Full 32-byte tag, compared in constant time.
        key.mac_over(body, merchant_id)
            .verify_slice(tag)
            .map_err(|_| TokenError::Invalid)?;
        // (7) Authentic: now the claims.
        let claims = parse_claims(fields).ok_or(TokenError::Invalid)?;
        if claims.expires_at < claims.issued_at {
            return Err(TokenError::Invalid);
        }
        if now_unix > claims.expires_at {
            return Err(TokenError::Expired(claims));
        }
        Ok(claims)
    }
}

/// Checks a kid: 1..=8 bytes of `[A-Za-z0-9_-]`.
fn check_kid(kid: &str) -> Result<(), KeyRingError> {
    if kid.is_empty() {
        return Err(KeyRingError::EmptyKid);
    }
    if kid.len() > MAX_KID_LEN {
        return Err(KeyRingError::KidTooLong(kid.to_owned()));
    }
    if !kid
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        return Err(KeyRingError::KidBadChars(kid.to_owned()));
    }
    Ok(())
}

/// Click id, `issued_at` and `expires_at` from their 32 bytes.
fn parse_claims(fields: &[u8]) -> Option<Claims> {
    let click_id: [u8; 16] = fields.get(..16)?.try_into().ok()?;
    let issued_at: [u8; 8] = fields.get(16..24)?.try_into().ok()?;
    let expires_at: [u8; 8] = fields.get(24..32)?.try_into().ok()?;
    Some(Claims {
        click_id: ClickId(click_id),
        issued_at: u64::from_be_bytes(issued_at),
        expires_at: u64::from_be_bytes(expires_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET_A: [u8; 32] = [0x11; 32];
    const SECRET_B: [u8; 32] = [0x22; 32];

    fn key(kid: &str, secret: &[u8], active: bool) -> SigningKey {
        SigningKey {
            kid: kid.to_owned(),
            secret: secret.to_vec(),
            active,
        }
    }

    fn ring(keys: &[(&str, &[u8], bool)]) -> KeyRing {
        KeyRing::new(keys.iter().map(|&(k, s, a)| key(k, s, a)).collect()).expect("valid test ring")
    }

    fn claims(id: [u8; 16], issued_at: u64, expires_at: u64) -> Claims {
        Claims {
            click_id: ClickId::from_bytes(id),
            issued_at,
            expires_at,
        }
    }

    /// A token with arbitrary bytes before the tag and a correct tag, for
    /// checks that must fail even when the MAC is right.
    fn forge(secret: &[u8], merchant_id: &str, body: &[u8]) -> String {
        let key = RingKey::new("x".to_owned(), secret);
        let tag = key.mac_over(body, merchant_id).finalize().into_bytes();
        let mut raw = body.to_vec();
        raw.extend_from_slice(&tag);
        ENGINE.encode(raw)
    }

    fn body(version: u8, kid_len: u8, kid: &[u8], c: &Claims) -> Vec<u8> {
        let mut b = vec![version, kid_len];
        b.extend_from_slice(kid);
        b.extend_from_slice(c.click_id.as_bytes());
        b.extend_from_slice(&c.issued_at.to_be_bytes());
        b.extend_from_slice(&c.expires_at.to_be_bytes());
        b
    }

    fn decode(token: &str) -> Vec<u8> {
        ENGINE.decode(token).expect("own tokens decode")
    }

    fn arb_claims() -> impl Strategy<Value = Claims> {
        (any::<[u8; 16]>(), any::<u64>(), any::<u64>())
            .prop_map(|(id, a, b)| claims(id, a.min(b), a.max(b)))
    }

    fn arb_kid() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,8}"
    }

    fn arb_merchant() -> impl Strategy<Value = String> {
        ".{0,40}"
    }

    /// Independently computed (Python hmac/hashlib/base64) for secret
    /// `[0x42; 32]`, kid "k1", merchant "m-1", click id 00..0f,
    /// issued_at 1_700_000_000, expires_at 1_700_086_400.
    #[test]
    fn known_answer() {
        let r = ring(&[("k1", &[0x42; 32], true)]);
        let id: [u8; 16] = std::array::from_fn(|i| i as u8);
        let c = claims(id, 1_700_000_000, 1_700_086_400);
        let t = r.sign("m-1", &c);
        assert_eq!(t, KNOWN_TOKEN);
        assert_eq!(r.verify("m-1", KNOWN_TOKEN, 1_700_000_000), Ok(c));
    }

    const KNOWN_TOKEN: &str = "AQJrMQABAgMEBQYHCAkKCwwNDg8AAAAAZVPxAAAAAABlVUKAIrVvHmk-Ppbu6XDtnTOETgrF1wup00uNa5JB6l29fxo";

    #[test]
    fn longest_token_fits() {
        let r = ring(&[("abcdefgh", &SECRET_A, true)]);
        let t = r.sign(&"m".repeat(1000), &claims([0xff; 16], u64::MAX, u64::MAX));
        assert_eq!(decode(&t).len(), MAX_RAW_LEN);
        assert_eq!(t.len(), 99);
        assert!(t.len() <= MAX_TOKEN_LEN);
    }

    #[test]
    fn expiry_boundary() {
        let r = ring(&[("k", &SECRET_A, true)]);
        let c = claims([7; 16], 100, 200);
        let t = r.sign("m", &c);
        assert_eq!(r.verify("m", &t, 0), Ok(c));
        assert_eq!(r.verify("m", &t, 200), Ok(c));
        assert_eq!(r.verify("m", &t, 201), Err(TokenError::Expired(c)));
        assert_eq!(r.verify("m", &t, u64::MAX), Err(TokenError::Expired(c)));
        let same = claims([7; 16], 5, 5);
        assert_eq!(r.verify("m", &r.sign("m", &same), 5), Ok(same));
    }

    #[test]
    fn expires_before_issued_is_invalid_even_if_authentic() {
        let r = ring(&[("k", &SECRET_A, true)]);
        let c = claims([7; 16], 200, 100);
        let t = r.sign("m", &c);
        assert_eq!(r.verify("m", &t, 0), Err(TokenError::Invalid));
        assert_eq!(r.verify("m", &t, 150), Err(TokenError::Invalid));
        assert_eq!(r.verify("m", &t, 300), Err(TokenError::Invalid));
    }

    #[test]
    fn authentic_but_malformed_is_invalid() {
        let r = ring(&[("k", &SECRET_A, true)]);
        let c = claims([1; 16], 10, 20);
        assert_eq!(
            r.verify("m", &forge(&SECRET_A, "m", &body(1, 1, b"k", &c)), 15),
            Ok(c)
        );
        for b in [
            body(0, 1, b"k", &c),
            body(2, 1, b"k", &c),
            body(255, 1, b"k", &c),
            body(1, 0, b"", &c),
            body(1, 2, b"k", &c),
            body(1, 9, b"kkkkkkkkk", &c),
            body(1, 1, b"kk", &c),
        ] {
            let t = forge(&SECRET_A, "m", &b);
            assert_eq!(r.verify("m", &t, 15), Err(TokenError::Invalid), "{b:?}");
        }
    }

    #[test]
    fn rejects_odd_strings() {
        let r = ring(&[("k", &SECRET_A, true)]);
        let t = r.sign("m", &claims([3; 16], 1, 2));
        let odd = [
            String::new(),
            "A".to_owned(),
            "AQ".to_owned(),
            format!("{t}="),
            format!("{t}=="),
            format!(" {t}"),
            format!("{t}\n"),
            t.replace('-', "+").replace('_', "/"),
            "A".repeat(101),
            "A".repeat(10_000),
        ];
        for s in odd {
            if s != t {
                assert_eq!(r.verify("m", &s, 1), Err(TokenError::Invalid), "{s:?}");
            }
        }
    }

    #[test]
    fn non_canonical_trailing_bits_rejected() {
        // kid_len 1 -> 67 bytes -> last char holds 4 unused bits;
        // kid_len 8 -> 74 bytes -> last char holds 2 unused bits.
        for kid in ["k", "abcdefgh"] {
            let r = ring(&[(kid, &SECRET_A, true)]);
            let t = r.sign("m", &claims([3; 16], 1, 2));
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let last = t.as_bytes()[t.len() - 1];
            let idx = alphabet.iter().position(|&c| c == last).expect("url-safe");
            let mut s = t.clone();
            s.pop();
            s.push(char::from(alphabet[idx ^ 1]));
            // Same bytes under a lenient decoder, refused here.
            let lenient = GeneralPurpose::new(
                &alphabet::URL_SAFE,
                GeneralPurposeConfig::new()
                    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
                    .with_decode_allow_trailing_bits(true),
            );
            assert_eq!(lenient.decode(&s).expect("lenient"), decode(&t));
            assert_eq!(r.verify("m", &s, 1), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn retired_key_verifies_until_removed() {
        let old = ring(&[("k1", &SECRET_A, true)]);
        let rotated = ring(&[("k1", &SECRET_A, false), ("k2", &SECRET_B, true)]);
        let removed = ring(&[("k2", &SECRET_B, true)]);
        let c = claims([9; 16], 1, 1000);
        let t = old.sign("m", &c);
        assert_eq!(rotated.active_kid(), "k2");
        assert_eq!(rotated.verify("m", &t, 10), Ok(c));
        assert_eq!(removed.verify("m", &t, 10), Err(TokenError::Invalid));
        let t2 = rotated.sign("m", &c);
        assert_eq!(removed.verify("m", &t2, 10), Ok(c));
        assert_eq!(old.verify("m", &t2, 10), Err(TokenError::Invalid));
    }

    #[test]
    fn ephemeral_ring() {
        let r = KeyRing::ephemeral();
        assert_eq!(r.active_kid(), "eph");
        let c = claims([5; 16], 1, 2);
        assert_eq!(r.verify("m", &r.sign("m", &c), 1), Ok(c));
        // A second ephemeral ring has another secret under the same kid.
        let other = KeyRing::ephemeral();
        assert_eq!(
            other.verify("m", &r.sign("m", &c), 1),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn ring_is_clone_send_sync() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<KeyRing>();
        let r = ring(&[("k", &SECRET_A, true)]);
        let c = claims([5; 16], 1, 2);
        let t = r.sign("m", &c);
        let r2 = r.clone();
        let h = std::thread::spawn(move || r2.verify("m", &t, 1));
        assert_eq!(h.join().expect("thread"), Ok(c));
    }

    #[test]
    fn debug_hides_secrets() {
        let secret = b"TOPSECRETTOPSECRETTOPSECRETTOPSE".to_vec();
        let k = key("k1", &secret, true);
        let r = KeyRing::new(vec![k.clone(), key("k2", &SECRET_B, false)]).expect("valid");
        let needles = [
            "TOPSECRET".to_owned(),
            format!("{:?}", &secret[..8])
                .trim_end_matches(']')
                .to_owned(),
            hex::encode(&secret[..8]),
            hex::encode_upper(&secret[..8]),
            "17, 17, 17".to_owned(),
            "34, 34, 34".to_owned(),
            "2222".to_owned(),
        ];
        for out in [
            format!("{k:?}"),
            format!("{k:#?}"),
            format!("{r:?}"),
            format!("{r:#?}"),
        ] {
            assert!(out.contains("k1"), "{out}");
            for n in &needles {
                assert!(!out.contains(n.as_str()), "{out} contains {n}");
            }
        }
    }

    #[test]
    fn key_ring_config_errors() {
        let s: &[u8] = &SECRET_A;
        let cases: Vec<(Vec<SigningKey>, KeyRingError)> = vec![
            (vec![], KeyRingError::NoKeys),
            (vec![key("a", s, false)], KeyRingError::NoActiveKey),
            (
                vec![key("a", s, false), key("b", s, false)],
                KeyRingError::NoActiveKey,
            ),
            (
                vec![key("a", s, true), key("b", s, false), key("c", s, true)],
                KeyRingError::TwoActiveKeys {
                    first: "a".into(),
                    second: "c".into(),
                },
            ),
            (
                vec![key("a", s, true), key("a", &SECRET_B, false)],
                KeyRingError::DuplicateKid("a".into()),
            ),
            (vec![key("", s, true)], KeyRingError::EmptyKid),
            (
                vec![key("abcdefghi", s, true)],
                KeyRingError::KidTooLong("abcdefghi".into()),
            ),
            (
                vec![key("ééééé", s, true)],
                KeyRingError::KidTooLong("ééééé".into()),
            ),
            (
                vec![key("a.b", s, true)],
                KeyRingError::KidBadChars("a.b".into()),
            ),
            (
                vec![key("a b", s, true)],
                KeyRingError::KidBadChars("a b".into()),
            ),
            (
                vec![key("é", s, true)],
                KeyRingError::KidBadChars("é".into()),
            ),
            (
                vec![key("a", &[0; 31], true)],
                KeyRingError::SecretTooShort {
                    kid: "a".into(),
                    len: 31,
                },
            ),
            (
                vec![key("a", &[], true)],
                KeyRingError::SecretTooShort {
                    kid: "a".into(),
                    len: 0,
                },
            ),
        ];
        for (keys, want) in cases {
            let got = KeyRing::new(keys).expect_err("bad config");
            let msg = got.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(msg.starts_with(|c: char| !c.is_uppercase()), "{msg}");
            assert_eq!(got, want);
        }
        // Boundaries that are fine.
        let ok = KeyRing::new(vec![
            key("abcdefgh", &[0; 32], false),
            key("A-z_09", &[1; 100], true),
        ])
        .expect("valid");
        assert_eq!(ok.active_kid(), "A-z_09");
    }

    #[test]
    fn click_id_hex() {
        let id = ClickId::from_bytes(std::array::from_fn(|i| (i as u8) * 17));
        assert_eq!(id.to_hex(), "00112233445566778899aabbccddeeff");
        assert_eq!(id.to_string(), id.to_hex());
        assert_eq!(ClickId::from_hex(&id.to_hex()), Some(id));
        for bad in [
            "",
            "00112233445566778899aabbccddeef",
            "00112233445566778899aabbccddeeff0",
            "00112233445566778899AABBCCDDEEFF",
            "00112233445566778899aabbccddeefg",
            "+0112233445566778899aabbccddeeff",
            "00112233445566778899aabbccddeeé",
        ] {
            assert_eq!(ClickId::from_hex(bad), None, "{bad}");
        }
        assert_ne!(ClickId::random(), ClickId::random());
    }

    proptest! {
        #[test]
        fn round_trip(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), dt in any::<u64>()) {
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            let now = if c.expires_at == u64::MAX { dt } else { dt % (c.expires_at + 1) };
            prop_assert_eq!(r.verify(&m, &t, now), Ok(c));
            prop_assert_eq!(r.verify(&m, &t, c.expires_at), Ok(c));
            prop_assert!(t.len() <= MAX_TOKEN_LEN);
            prop_assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(ENGINE.encode(decode(&t)), t);
        }

        #[test]
        fn click_id_hex_round_trip(b in any::<[u8; 16]>()) {
            let id = ClickId::from_bytes(b);
            let h = id.to_hex();
            prop_assert_eq!(h.len(), 32);
            prop_assert_eq!(ClickId::from_hex(&h), Some(id));
            prop_assert_eq!(id.as_bytes(), &b);
        }

        #[test]
        fn flipped_bit_is_invalid(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), bit in any::<usize>()) {
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let mut raw = decode(&r.sign(&m, &c));
            let bit = bit % (raw.len() * 8);
            raw[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(r.verify(&m, &ENGINE.encode(&raw), c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn flipped_char_is_invalid(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), pos in any::<usize>(), ch in any::<char>()) {
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            let pos = pos % t.len();
            prop_assume!(char::from(t.as_bytes()[pos]) != ch);
            let mut s = t[..pos].to_owned();
            s.push(ch);
            s.push_str(&t[pos + 1..]);
            prop_assert_eq!(r.verify(&m, &s, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn flipped_url_safe_char_is_invalid(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), pos in any::<usize>(), ch in "[A-Za-z0-9_-]") {
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            let pos = pos % t.len();
            prop_assume!(t[pos..=pos] != *ch);
            let s = format!("{}{}{}", &t[..pos], ch, &t[pos + 1..]);
            prop_assert_eq!(r.verify(&m, &s, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn truncation_is_invalid(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), cut in any::<usize>()) {
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            let s = &t[..cut % t.len()];
            prop_assert_eq!(r.verify(&m, s, c.issued_at), Err(TokenError::Invalid));
            let mut raw = decode(&t);
            raw.truncate(cut % raw.len());
            prop_assert_eq!(r.verify(&m, &ENGINE.encode(&raw), c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn extension_is_invalid(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), tail in ".{1,8}", extra in proptest::collection::vec(any::<u8>(), 1..8)) {
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            prop_assert_eq!(r.verify(&m, &format!("{t}{tail}"), c.issued_at), Err(TokenError::Invalid));
            let mut raw = decode(&t);
            raw.extend_from_slice(&extra);
            prop_assert_eq!(r.verify(&m, &ENGINE.encode(&raw), c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn other_merchant_is_invalid(kid in arb_kid(), m in arb_merchant(), other in arb_merchant(), c in arb_claims()) {
            prop_assume!(m != other);
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            prop_assert_eq!(r.verify(&other, &t, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn unknown_kid_is_invalid(kid in arb_kid(), other in arb_kid(), m in arb_merchant(), c in arb_claims()) {
            prop_assume!(kid != other);
            // Same secret, even: the kid alone must not match.
            let signer = ring(&[(&kid, &SECRET_A, true)]);
            let verifier = ring(&[(&other, &SECRET_A, true)]);
            let t = signer.sign(&m, &c);
            prop_assert_eq!(verifier.verify(&m, &t, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn other_secret_same_kid_is_invalid(kid in arb_kid(), secret in any::<[u8; 32]>(), m in arb_merchant(), c in arb_claims()) {
            prop_assume!(secret != SECRET_A);
            let signer = ring(&[(&kid, &secret, true)]);
            let verifier = ring(&[(&kid, &SECRET_A, true)]);
            let t = signer.sign(&m, &c);
            prop_assert_eq!(verifier.verify(&m, &t, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn expired_returns_claims(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), late in 1u64..) {
            prop_assume!(c.expires_at < u64::MAX);
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            let now = c.expires_at.saturating_add(late);
            prop_assert_eq!(r.verify(&m, &t, now), Err(TokenError::Expired(c)));
        }

        #[test]
        fn retired_key_round_trip(m in arb_merchant(), c in arb_claims()) {
            let old = ring(&[("k1", &SECRET_A, true)]);
            let rotated = ring(&[("k2", &SECRET_B, true), ("k1", &SECRET_A, false)]);
            let removed = ring(&[("k2", &SECRET_B, true)]);
            let t = old.sign(&m, &c);
            prop_assert_eq!(rotated.verify(&m, &t, c.issued_at), Ok(c));
            prop_assert_eq!(removed.verify(&m, &t, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".{0,120}", m in arb_merchant(), now in any::<u64>()) {
            let r = ring(&[("k", &SECRET_A, true)]);
            prop_assert_eq!(r.verify(&m, &s, now), Err(TokenError::Invalid));
        }
    }
}
