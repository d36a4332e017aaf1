//! The click id a token stands for: 128 bits, one hex spelling.

use std::fmt;

use rand::RngCore;

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
    pub(crate) fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The id as 32 lower-case hex digits. Written into a buffer, not
    /// collected a char at a time as `hex::encode` does: a tap spells its
    /// id twice (to the store and in the answer).
    #[must_use]
    pub fn to_hex(&self) -> String {
        let mut digits = [0u8; 32];
        hex::encode_to_slice(self.0, &mut digits).expect("16 bytes are 32 digits");
        String::from_utf8(digits.to_vec()).expect("hex digits are ASCII")
    }

    /// Parses exactly 32 lower-case hex digits, the form [`ClickId::to_hex`]
    /// writes; anything else (upper case included) is `None`, so every id
    /// has one spelling.
    #[must_use]
    pub(crate) fn from_hex(s: &str) -> Option<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        fn click_id_hex_round_trip(b in any::<[u8; 16]>()) {
            let id = ClickId::from_bytes(b);
            let h = id.to_hex();
            prop_assert_eq!(h.len(), 32);
            prop_assert_eq!(ClickId::from_hex(&h), Some(id));
            prop_assert_eq!(id.as_bytes(), &b);
        }
    }
}
