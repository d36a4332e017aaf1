//! Pseudonymised viewer ids. A viewer id never leaves the request handler: it
//! is replaced by a keyed hash (HMAC-SHA256 under the viewer pepper, a secret
//! separate from the signing keys), so stored data cannot be joined back to a
//! viewer without the pepper, and erasure can find a viewer's records.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret that keys viewer hashes.
#[derive(Clone)]
pub struct ViewerPepper {
    /// HMAC keyed once with the pepper; cloned per hash.
    mac: Hmac<Sha256>,
}

/// A pseudonymised viewer id.
pub type ViewerHash = [u8; 16];

/// Shortest pepper accepted, in bytes.
pub(crate) const MIN_PEPPER_LEN: usize = 32;

impl ViewerPepper {
    /// A pepper from its secret bytes (at least [`MIN_PEPPER_LEN`]; config checks).
    pub fn new(secret: &[u8]) -> Self {
        ViewerPepper {
            mac: Hmac::new_from_slice(secret).expect("hmac accepts keys of any length"),
        }
    }

    /// A random pepper, for the in-memory store, whose data dies with the process.
    pub(crate) fn ephemeral() -> Self {
        let secret: [u8; 32] = rand::random();
        ViewerPepper::new(&secret)
    }

    /// The stored stand-in for a viewer id: HMAC-SHA256 truncated to 128
    /// bits, plenty to tell viewers apart and small enough to keep per click.
    pub fn viewer_hash(&self, viewer_id: &str) -> ViewerHash {
        let mut mac = self.mac.clone();
        mac.update(b"cartclick/viewer/v1\0");
        mac.update(viewer_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&digest[..16]);
        hash
    }

    /// A key for another purpose, derived from the pepper under `label`
    /// (so the config holds one secret less): HMAC-SHA256 of the label.
    pub(crate) fn derive_key(&self, label: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"cartclick/derive/v1\0");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The key that makes repeat taps of one viewer on one video, product and
    /// campaign find each other. Each part is length-prefixed so no two
    /// different tuples hash alike.
    pub(crate) fn dedup_key(
        &self,
        viewer_hash: &ViewerHash,
        campaign_id: &str,
        video_id: &str,
        product_id: &str,
    ) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"cartclick/dedup/v1\0");
        mac.update(viewer_hash);
        for part in [campaign_id, video_id, product_id] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for ViewerPepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ViewerPepper(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_hash_depends_on_the_pepper_and_hides_the_id() {
        let a = ViewerPepper::new(&[1; 32]);
        let b = ViewerPepper::new(&[2; 32]);
        assert_eq!(a.viewer_hash("v-1"), a.viewer_hash("v-1"));
        assert_ne!(a.viewer_hash("v-1"), b.viewer_hash("v-1"));
        assert_ne!(a.viewer_hash("v-1"), a.viewer_hash("v-2"));
        let hex = hex::encode(a.viewer_hash("v-1"));
        assert!(!hex.contains("v-1"));
    }

    #[test]
    fn dedup_key_parts_cannot_slide_into_each_other() {
        let p = ViewerPepper::new(&[1; 32]);
        let v = p.viewer_hash("v");
        assert_ne!(
            p.dedup_key(&v, "ab", "c", "d"),
            p.dedup_key(&v, "a", "bc", "d")
        );
    }
}
