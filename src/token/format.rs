//! The token's bytes: the layout of the module docs, written by signing and
//! read back by verification, and the one canonical base64url spelling.
//! Nothing here knows a key: the tag is computed and checked in `sign`.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use super::ClickId;

/// The longest key id, in bytes.
pub(crate) const MAX_KID_LEN: usize = 8;
/// The longest token string [`super::KeyRing::verify`] looks at; longer is invalid.
pub(crate) const MAX_TOKEN_LEN: usize = 100;

/// The only token version.
const VERSION: u8 = 1;
/// Prepended to every MAC input so a tag means "cartclick token v1" only.
pub(super) const DOMAIN: &[u8] = b"cartclick/token/v1\0";
/// The length of the HMAC-SHA256 tag.
pub(super) const TAG_LEN: usize = 32;
/// Bytes of a token besides its kid: version, `kid_len`, click id, two times, tag.
const FIXED_LEN: usize = 1 + 1 + 16 + 8 + 8 + TAG_LEN;
/// The longest decoded token.
pub(super) const MAX_RAW_LEN: usize = FIXED_LEN + MAX_KID_LEN;

/// base64url, no padding on encode, padding refused on decode, and non-zero
/// trailing bits refused, so each byte string has exactly one accepted spelling.
pub(super) const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

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

/// Writes the bytes before the tag (version, `kid_len`, kid, claims) to the
/// front of `buf` and returns how many; the tag goes right after them.
///
/// `kid` is at most [`MAX_KID_LEN`] bytes: the ring checked it when it was
/// built.
#[inline]
pub(super) fn write_body(buf: &mut [u8; MAX_RAW_LEN], kid: &[u8], claims: &Claims) -> usize {
    let body_len = FIXED_LEN - TAG_LEN + kid.len();
    let body = &mut buf[..body_len];
    body[0] = VERSION;
    // kid.len() <= MAX_KID_LEN = 8 (checked by KeyRing::new), fits a u8.
    body[1] = kid.len() as u8;
    let (kid_dst, tail) = body[2..].split_at_mut(kid.len());
    kid_dst.copy_from_slice(kid);
    tail[..16].copy_from_slice(claims.click_id.as_bytes());
    tail[16..24].copy_from_slice(&claims.issued_at.to_be_bytes());
    tail[24..32].copy_from_slice(&claims.expires_at.to_be_bytes());
    body_len
}

/// A decoded token's parts, its layout checked but nothing authenticated.
pub(super) struct Parts<'a> {
    /// Every byte before the tag: what the tag covers.
    pub(super) body: &'a [u8],
    /// The key id, 1..=[`MAX_KID_LEN`] bytes.
    pub(super) kid: &'a [u8],
    /// The claims' 32 bytes, to read once the tag is checked.
    pub(super) fields: &'a [u8],
    /// The tag, [`TAG_LEN`] bytes.
    pub(super) tag: &'a [u8],
}

/// Steps (1) to (4) of verification: the string's length before decoding
/// anything, canonical base64url into `buf`, the version, and the kid
/// length against the exact total length. `None` for any failure: the
/// caller answers them all alike.
#[inline]
pub(super) fn parse<'a>(
    token: &str,
    buf: &'a mut [u8; MAX_TOKEN_LEN * 3 / 4],
) -> Option<Parts<'a>> {
    // (1) Bound the work before decoding anything.
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    // (2) Canonical base64url: the engine refuses padding and non-zero
    // trailing bits. 100 characters decode to at most 75 bytes.
    let len = ENGINE.decode_slice(token, buf).ok()?;
    let raw = &buf[..len];
    // (3) Version.
    if raw.first() != Some(&VERSION) {
        return None;
    }
    // (4) Kid length and exact total length.
    let kid_len = usize::from(*raw.get(1)?);
    if !(1..=MAX_KID_LEN).contains(&kid_len) || raw.len() != FIXED_LEN + kid_len {
        return None;
    }
    let (body, tag) = raw.split_at(raw.len() - TAG_LEN);
    let (kid, fields) = body[2..].split_at(kid_len);
    Some(Parts {
        body,
        kid,
        fields,
        tag,
    })
}

/// Click id, `issued_at` and `expires_at` from their 32 bytes.
pub(super) fn parse_claims(fields: &[u8]) -> Option<Claims> {
    let click_id: [u8; 16] = fields.get(..16)?.try_into().ok()?;
    let issued_at: [u8; 8] = fields.get(16..24)?.try_into().ok()?;
    let expires_at: [u8; 8] = fields.get(24..32)?.try_into().ok()?;
    Some(Claims {
        click_id: ClickId::from_bytes(click_id),
        issued_at: u64::from_be_bytes(issued_at),
        expires_at: u64::from_be_bytes(expires_at),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::token::TokenError;
    use crate::token::testkit::*;

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
        fn arbitrary_input_never_panics(s in ".{0,120}", m in arb_merchant(), now in any::<u64>()) {
            let r = ring(&[("k", &SECRET_A, true)]);
            prop_assert_eq!(r.verify(&m, &s, now), Err(TokenError::Invalid));
        }
    }
}
