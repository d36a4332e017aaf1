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
//! viewer data. With a kid of at most
//! [`MAX_KID_LEN`](format::MAX_KID_LEN) bytes a token is at most 74 bytes,
//! 99 characters encoded.
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
//!
//! The files, one concern each: `click_id` (the 128-bit id a token stands
//! for), `format` (the byte layout and its canonical encoding, written and
//! read), `ring` (the keys: validation, rotation, the precomputed MAC) and
//! `sign` (signing and the ordered checks of verification).

mod click_id;
mod format;
mod ring;
mod sign;
#[cfg(test)]
mod testkit;

pub use click_id::ClickId;
pub use format::Claims;
pub(crate) use ring::MIN_SECRET_LEN;
pub use ring::{KeyRing, KeyRingError, SigningKey};
pub use sign::TokenError;
