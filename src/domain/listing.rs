//! Listings of the registry (API.md, "Listing"): merchants, campaigns and
//! API keys, a page at a time, in id order. Which merchant's campaigns a
//! key may list is `policy`'s; the walk is the store's. API keys are the
//! config file's and the store's, merged here in one walk.

use crate::auth::Caller;
use crate::error::Result;
use crate::model::{
    ApiKey, ApiKeyInfo, Campaign, CampaignQuery, CampaignStatus, KeyQuery, Merchant, MerchantId,
    Page,
};
use crate::policy;

use super::Cartclick;

impl Cartclick {
    /// A page of merchants after the merchant id `after`, by id.
    pub(crate) async fn list_merchants(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Page<Merchant, String>> {
        self.store.list_merchants(after.as_deref(), limit).await
    }

    /// A page of the campaigns `caller` may list (a merchant key its own
    /// merchant's), of the merchant named and in the status named, after
    /// the campaign id `after`, by id.
    pub(crate) async fn list_campaigns(
        &self,
        caller: &Caller,
        merchant_id: Option<MerchantId>,
        status: Option<CampaignStatus>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Page<Campaign, String>> {
        let query = CampaignQuery {
            merchant_id: policy::campaign_scope(&caller.grant, merchant_id)?,
            status,
        };
        self.store
            .list_campaigns(&query, after.as_deref(), limit)
            .await
    }

    /// A page of the API keys `query` selects, after the key id `after`, by
    /// id: the config file's (`from_config`) and the store's, in one walk.
    pub(crate) async fn list_api_keys(
        &self,
        query: &KeyQuery,
        after: Option<String>,
        limit: usize,
    ) -> Result<Page<ApiKeyInfo, String>> {
        let stored = self
            .store
            .list_api_keys(query, after.as_deref(), limit)
            .await?;
        let config = self
            .config_keys
            .iter()
            .filter(|key| after.as_deref().is_none_or(|after| key.id.as_str() > after))
            .filter(|key| query.selects(&key.grant))
            .map(config_key_info)
            .collect();
        Ok(merge_keys(config, stored, limit))
    }
}

/// What a listing shows of a config file key.
fn config_key_info(key: &ApiKey) -> ApiKeyInfo {
    ApiKeyInfo {
        key_id: key.id.clone(),
        grant: key.grant.clone(),
        label: String::new(),
        created_at: None,
        revoked: false,
        from_config: true,
    }
}

/// One page of keys from the config file's (`config`: every selected one
/// after the cursor) and a page of the store's. The store's page covers
/// the ids up to where it goes on (all, when it is the last): a page
/// returns only keys up to there, the first `limit` of them by id, and
/// goes on after its last key when more are left there, else where the
/// store's goes on. A config key shadows a stored key of the same id.
fn merge_keys(
    config: Vec<ApiKeyInfo>,
    stored: Page<ApiKeyInfo, String>,
    limit: usize,
) -> Page<ApiKeyInfo, String> {
    let frontier = stored.next;
    let mut keys: Vec<ApiKeyInfo> = config
        .into_iter()
        .filter(|key| {
            frontier
                .as_deref()
                .is_none_or(|frontier| key.key_id.as_str() <= frontier)
        })
        .chain(stored.items)
        .collect();
    // Stable: of two keys with one id, the config file's (first) stays.
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    keys.dedup_by(|later, first| later.key_id == first.key_id);
    if keys.len() > limit {
        keys.truncate(limit);
        let next = keys.last().map(|key| key.key_id.to_string());
        return Page { items: keys, next };
    }
    Page {
        items: keys,
        next: frontier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Grant, KeyId};

    fn key(id: &str, from_config: bool) -> ApiKeyInfo {
        ApiKeyInfo {
            key_id: KeyId::stored(id),
            grant: Grant::Admin,
            label: String::new(),
            created_at: None,
            revoked: false,
            from_config,
        }
    }

    fn ids(page: &Page<ApiKeyInfo, String>) -> Vec<&str> {
        page.items.iter().map(|k| k.key_id.as_str()).collect()
    }

    /// Walks `config` and a store of `stored` keys with pages of `limit`,
    /// as the domain does, and returns the ids in walk order.
    fn walk(config: &[&str], stored: &[&str], limit: usize) -> Vec<String> {
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        for _ in 0..100 {
            let selected = |id: &str| after.as_deref().is_none_or(|a| id > a);
            let config = config
                .iter()
                .filter(|id| selected(id))
                .map(|id| key(id, true))
                .collect();
            let mut rest: Vec<&str> = stored.iter().copied().filter(|id| selected(id)).collect();
            rest.sort();
            let stored = Page::first(rest.into_iter().map(|id| key(id, false)), limit, |k| {
                k.key_id.to_string()
            });
            let page = merge_keys(config, stored, limit);
            seen.extend(ids(&page).into_iter().map(str::to_owned));
            match page.next {
                Some(next) => after = Some(next),
                None => return seen,
            }
        }
        panic!("the walk does not end");
    }

    #[test]
    fn config_and_stored_keys_walk_once_each_in_id_order() {
        let config = ["a", "d", "z"];
        let stored = ["b", "c", "e", "f", "g"];
        let all = ["a", "b", "c", "d", "e", "f", "g", "z"];
        for limit in 1..=9 {
            assert_eq!(walk(&config, &stored, limit), all, "page size {limit}");
        }
        assert_eq!(walk(&[], &stored, 2), ["b", "c", "e", "f", "g"]);
        assert_eq!(walk(&config, &[], 2), ["a", "d", "z"]);
    }

    #[test]
    fn a_config_key_shadows_a_stored_key_of_its_id() {
        let page = merge_keys(
            vec![key("a", true)],
            Page {
                items: vec![key("a", false), key("b", false)],
                next: None,
            },
            10,
        );
        assert_eq!(ids(&page), ["a", "b"]);
        assert!(page.items[0].from_config);
        assert_eq!(page.next, None);
    }
}
