//! The key ring: which keys sign and verify, checked once when the ring is
//! built, each with its HMAC state precomputed.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::format::{DOMAIN, MAX_KID_LEN};

/// The shortest secret a [`SigningKey`] may have, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// The kid of [`KeyRing::ephemeral`].
const EPHEMERAL_KID: &str = "eph";

/// The MAC every tag is computed with.
pub(super) type HmacSha256 = Hmac<Sha256>;

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
pub(super) struct RingKey {
    /// The key's id, as tokens carry it.
    pub(super) kid: String,
    /// HMAC-SHA256 keyed with the secret and fed [`DOMAIN`]; cloned per use.
    mac: HmacSha256,
}

impl RingKey {
    /// The key `kid` with `secret`, its MAC already fed the domain prefix.
    pub(super) fn new(kid: String, secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("hmac accepts any key length");
        mac.update(DOMAIN);
        Self { kid, mac }
    }

    /// The MAC state after the token bytes before the tag and the merchant id.
    #[inline]
    pub(super) fn mac_over(&self, signed: &[u8], merchant_id: &str) -> HmacSha256 {
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
    pub(crate) fn ephemeral() -> KeyRing {
        let mut secret = [0u8; MIN_SECRET_LEN];
        rand::rng().fill_bytes(&mut secret);
        KeyRing {
            keys: Arc::new([RingKey::new(EPHEMERAL_KID.to_owned(), &secret)]),
            active: 0,
        }
    }

    /// The kid of the key that signs.
    #[must_use]
    pub(crate) fn active_kid(&self) -> &str {
        &self.keys[self.active].kid
    }

    /// The key that signs.
    #[inline]
    pub(super) fn active_key(&self) -> &RingKey {
        &self.keys[self.active]
    }

    /// The key named `kid`, active or not.
    #[inline]
    pub(super) fn key(&self, kid: &[u8]) -> Option<&RingKey> {
        self.keys.iter().find(|key| key.kid.as_bytes() == kid)
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::token::TokenError;
    use crate::token::testkit::*;

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

    proptest! {
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
        fn retired_key_round_trip(m in arb_merchant(), c in arb_claims()) {
            let old = ring(&[("k1", &SECRET_A, true)]);
            let rotated = ring(&[("k2", &SECRET_B, true), ("k1", &SECRET_A, false)]);
            let removed = ring(&[("k2", &SECRET_B, true)]);
            let t = old.sign(&m, &c);
            prop_assert_eq!(rotated.verify(&m, &t, c.issued_at), Ok(c));
            prop_assert_eq!(removed.verify(&m, &t, c.issued_at), Err(TokenError::Invalid));
        }
    }
}
