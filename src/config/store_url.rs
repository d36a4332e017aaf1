//! `--store`: which store to run on, as API.md spells its URLs.

use super::ConfigError;

/// Which store to run on, from `--store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `memory://`: embedded, nothing kept after exit.
    Memory,
    /// `redis://…` or `rediss://…`: one Redis server.
    Redis(String),
    /// `redis+cluster://host:port,host:port,…`: a Redis Cluster, by its seed nodes.
    RedisCluster(Vec<String>),
}

impl StoreUrl {
    /// Parses a store URL as API.md spells them.
    pub fn parse(raw: &str) -> Result<StoreUrl, ConfigError> {
        let bad = |why: &str| ConfigError::at("store", format!("{why} (got {raw:?})"));
        if let Some(rest) = raw.strip_prefix("redis+cluster://") {
            let nodes: Vec<String> = rest
                .trim_end_matches('/')
                .split(',')
                .map(|node| format!("redis://{node}"))
                .collect();
            for node in &nodes {
                let url = url::Url::parse(node).map_err(|_| bad("not a host:port list"))?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(bad("a cluster node has no host"));
                }
            }
            return Ok(StoreUrl::RedisCluster(nodes));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| bad("must be memory://, redis://, rediss:// or redis+cluster://"))?;
        match url.scheme() {
            "memory" => Ok(StoreUrl::Memory),
            "redis" | "rediss" if url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(StoreUrl::Redis(raw.to_owned()))
            }
            "redis" | "rediss" => Err(bad("has no host")),
            _ => Err(bad(
                "must be memory://, redis://, rediss:// or redis+cluster://",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_as_the_contract_spells_them() {
        assert_eq!(StoreUrl::parse("memory://").unwrap(), StoreUrl::Memory);
        assert!(matches!(
            StoreUrl::parse("redis://127.0.0.1:6379/0").unwrap(),
            StoreUrl::Redis(_)
        ));
        assert!(matches!(
            StoreUrl::parse("rediss://cache.internal:6380").unwrap(),
            StoreUrl::Redis(_)
        ));
        assert_eq!(
            StoreUrl::parse("redis+cluster://10.0.0.1:7000,10.0.0.2:7000").unwrap(),
            StoreUrl::RedisCluster(vec![
                "redis://10.0.0.1:7000".into(),
                "redis://10.0.0.2:7000".into()
            ])
        );
        assert!(StoreUrl::parse("mysql://x").is_err());
        assert!(StoreUrl::parse("redis://").is_err());
    }
}
