//! Signing with the active key and verification in the fixed order of the
//! module docs: layout first (`format`), then the kid, then the tag in
//! constant time, and only then the claims.

use base64::Engine as _;
use hmac::Mac;

use super::format::{self, Claims, ENGINE, MAX_RAW_LEN, MAX_TOKEN_LEN, TAG_LEN};
use super::ring::{KeyRing, RingKey};

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

impl KeyRing {
    /// A token for `claims`, valid only for `merchant_id`, signed with the
    /// active key. At most 99 characters of `[A-Za-z0-9_-]`.
    ///
    /// A token with `expires_at < issued_at` never verifies.
    #[must_use]
    pub fn sign(&self, merchant_id: &str, claims: &Claims) -> String {
        sign_by(self.active_key(), merchant_id, claims)
    }

    /// Signs `claims` with the key `kid` if the ring still holds it, active
    /// or not: re-creates, byte for byte, a token signed before (HMAC is
    /// deterministic), e.g. for a repeat tap after a key rotation.
    pub(crate) fn sign_with(
        &self,
        kid: &str,
        merchant_id: &str,
        claims: &Claims,
    ) -> Option<String> {
        let key = self.key(kid.as_bytes())?;
        Some(sign_by(key, merchant_id, claims))
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
        // (1) to (4): length, canonical base64url, version, kid length.
        let mut buf = [0u8; MAX_TOKEN_LEN * 3 / 4];
        let parts = format::parse(token, &mut buf).ok_or(TokenError::Invalid)?;
        // (5) Kid lookup. Kids are public; no need for constant time here.
        let key = self.key(parts.kid).ok_or(TokenError::Invalid)?;
        // (6) Full 32-byte tag, compared in constant time.
        key.mac_over(parts.body, merchant_id)
            .verify_slice(parts.tag)
            .map_err(|_| TokenError::Invalid)?;
        // (7) Authentic: now the claims.
        let claims = format::parse_claims(parts.fields).ok_or(TokenError::Invalid)?;
        if claims.expires_at < claims.issued_at {
            return Err(TokenError::Invalid);
        }
        if now_unix > claims.expires_at {
            return Err(TokenError::Expired(claims));
        }
        Ok(claims)
    }
}

/// The token for `claims` under `key`: the body, its tag, encoded.
fn sign_by(key: &RingKey, merchant_id: &str, claims: &Claims) -> String {
    let mut buf = [0u8; MAX_RAW_LEN];
    let body_len = format::write_body(&mut buf, key.kid.as_bytes(), claims);
    let (body, rest) = buf.split_at_mut(body_len);
    let tag = key.mac_over(body, merchant_id).finalize().into_bytes();
    rest[..TAG_LEN].copy_from_slice(&tag);
    ENGINE.encode(&buf[..body_len + TAG_LEN])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::token::testkit::*;

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

    proptest! {
        #[test]
        fn other_merchant_is_invalid(kid in arb_kid(), m in arb_merchant(), other in arb_merchant(), c in arb_claims()) {
            prop_assume!(m != other);
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            prop_assert_eq!(r.verify(&other, &t, c.issued_at), Err(TokenError::Invalid));
        }

        #[test]
        fn expired_returns_claims(kid in arb_kid(), m in arb_merchant(), c in arb_claims(), late in 1u64..) {
            prop_assume!(c.expires_at < u64::MAX);
            let r = ring(&[(&kid, &SECRET_A, true)]);
            let t = r.sign(&m, &c);
            let now = c.expires_at.saturating_add(late);
            prop_assert_eq!(r.verify(&m, &t, now), Err(TokenError::Expired(c)));
        }
    }
}
