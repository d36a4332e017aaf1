//! The Lua scripts: each of `store/lua/` with the prelude before it,
//! hashed once and loaded at start, and the event stream TTL they share.

use redis::Script;

use crate::error::Result;

use super::RedisStore;
use super::connect::OpenError;

/// A Lua script of `src/store/lua/` (`../lua/` from here), with
/// `prelude.lua` (shared helpers) before it.
macro_rules! script {
    ($name:literal) => {
        Script::new(concat!(
            include_str!("../lua/prelude.lua"),
            include_str!(concat!("../lua/", $name, ".lua"))
        ))
    };
}

/// The scripts, hashed once.
pub(super) struct Scripts {
    pub(super) record_click: Script,
    pub(super) confirm_sale: Script,
    pub(super) put_campaign: Script,
    pub(super) unlink_viewer: Script,
    pub(super) reverse_sale: Script,
    pub(super) read_click: Script,
    pub(super) create_payout: Script,
    pub(super) earnings: Script,
    pub(super) list_index: Script,
    pub(super) review_commission: Script,
    pub(super) fold: Script,
}

impl Scripts {
    /// Every script, built from its Lua source.
    pub(super) fn new() -> Scripts {
        Scripts {
            record_click: script!("record_click"),
            confirm_sale: script!("confirm_sale"),
            put_campaign: script!("put_campaign"),
            unlink_viewer: script!("unlink_viewer"),
            reverse_sale: script!("reverse_sale"),
            read_click: script!("read_click"),
            create_payout: script!("create_payout"),
            earnings: script!("earnings"),
            list_index: script!("list_index"),
            review_commission: script!("review_commission"),
            fold: script!("fold"),
        }
    }
}

impl RedisStore {
    /// Loads every script, so the first call after start runs EVALSHA at
    /// once (a Redis restart or SCRIPT FLUSH later is the NOSCRIPT fallback's).
    pub(super) async fn load_scripts(&self) -> Result<(), OpenError> {
        for script in [
            &self.scripts.record_click,
            &self.scripts.confirm_sale,
            &self.scripts.put_campaign,
            &self.scripts.unlink_viewer,
            &self.scripts.reverse_sale,
            &self.scripts.read_click,
            &self.scripts.create_payout,
            &self.scripts.earnings,
            &self.scripts.list_index,
            &self.scripts.review_commission,
            &self.scripts.fold,
        ] {
            let mut conn = self.conn.clone();
            let loaded: Result<String> = self.run(script.load_async(&mut conn)).await;
            loaded.map_err(|_| OpenError("store: redis refused to load the lua scripts".into()))?;
        }
        Ok(())
    }

    /// The TTL of an event stream (and its fold state), in ms: a stream
    /// lives as long as the daily counters it is folded into.
    pub(super) fn events_ttl(&self) -> i64 {
        self.retention.daily.as_millis() as i64
    }
}
