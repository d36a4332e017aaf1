//! Page tokens (API.md, "Listing"): an opaque cursor after the last item a
//! page returned, bound to the RPC, the key and the filters (not to
//! `page_size`), that never expires. A token carries its cursor and a tag,
//! the first bytes of an HMAC-SHA256, under a key every replica derives
//! from its config, over what it is bound to: a client cannot make one,
//! and a token whose tag does not match this request was not issued for it
//! (`INVALID_FIELD`, `page_token`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::error::{Error, Result};

/// Bytes of the tag.
const TAG_LEN: usize = 12;
/// Longest token accepted: a cursor holds two ids of 128 bytes at most.
const MAX_TOKEN_LEN: usize = 1024;

/// What a page token is bound to: the RPC, the calling key and the
/// request's filters, each as text.
pub(crate) struct Binding<'a> {
    /// The key of the tags.
    pub(crate) key: &'a [u8; 32],
    /// The RPC's name.
    pub(crate) rpc: &'a str,
    /// The calling key's id.
    pub(crate) key_id: &'a str,
    /// The filters, in a fixed order.
    pub(crate) filters: &'a [&'a str],
}

impl Binding<'_> {
    /// The tag of `cursor` under this binding.
    fn tag(&self, cursor: &[u8]) -> [u8; TAG_LEN] {
        let mut hash =
            Hmac::<Sha256>::new_from_slice(self.key).expect("hmac accepts keys of any length");
        for part in [self.rpc.as_bytes(), self.key_id.as_bytes()]
            .into_iter()
            .chain(self.filters.iter().map(|f| f.as_bytes()))
            .chain([cursor])
        {
            // Length-prefixed, so that no two bindings hash alike.
            hash.update(&(part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&digest[..TAG_LEN]);
        tag
    }

    /// The token for a walk that goes on after `cursor`; empty for none.
    pub(crate) fn token<C: Serialize>(&self, cursor: Option<&C>) -> String {
        let Some(cursor) = cursor else {
            return String::new();
        };
        let Ok(cursor) = serde_json::to_vec(cursor) else {
            return String::new();
        };
        let mut bytes = self.tag(&cursor).to_vec();
        bytes.extend_from_slice(&cursor);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The cursor of a request's `page_token`: `None` for an empty one (the
    /// first page), `INVALID_FIELD` for one not issued for this request.
    pub(crate) fn cursor<C: DeserializeOwned>(&self, token: &str) -> Result<Option<C>> {
        if token.is_empty() {
            return Ok(None);
        }
        let refused = || Error::invalid_field("page_token", "not issued for this request");
        if token.len() > MAX_TOKEN_LEN {
            return Err(refused());
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
        if bytes.len() <= TAG_LEN {
            return Err(refused());
        }
        let (tag, cursor) = bytes.split_at(TAG_LEN);
        if tag != self.tag(cursor) {
            return Err(refused());
        }
        serde_json::from_slice(cursor)
            .map(Some)
            .map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn binding<'a>(key_id: &'a str, filters: &'a [&'a str]) -> Binding<'a> {
        Binding {
            key: &KEY,
            rpc: "ListPayouts",
            key_id,
            filters,
        }
    }

    #[test]
    fn a_token_reads_back_only_for_the_request_it_was_issued_for() {
        let issued = binding("key-1", &["m-1", ""]).token(Some(&(-5_i64, "p-1".to_owned())));

        let back: Option<(i64, String)> = binding("key-1", &["m-1", ""]).cursor(&issued).unwrap();
        assert_eq!(back, Some((-5, "p-1".to_owned())));
        for other in [
            binding("key-2", &["m-1", ""]),
            binding("key-1", &["m-2", ""]),
            binding("key-1", &["m-1", "c-1"]),
            binding("key-1", &["", "m-1"]),
        ] {
            let refused = other.cursor::<(i64, String)>(&issued);
            assert!(refused.is_err(), "{issued} accepted for another request");
        }
        assert_eq!(binding("k", &[]).cursor::<(i64, String)>("").unwrap(), None);
        assert!(binding("k", &[]).cursor::<(i64, String)>("%%%").is_err());
        assert!(binding("k", &[]).cursor::<(i64, String)>("AAAA").is_err());
        assert_eq!(binding("k", &[]).token::<(i64, String)>(None), "");
        let other_key = Binding {
            key: &[8; 32],
            ..binding("key-1", &["m-1", ""])
        };
        assert!(other_key.cursor::<(i64, String)>(&issued).is_err());
    }
}
