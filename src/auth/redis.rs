//! The identity ledger on the cluster's Redis: a login window is a counter that expires with
//! its window, a revoked or spent token id a key that outlives every token carrying it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use super::ledger::{Count, Ledger, LedgerError};
use crate::cluster::redis::RedisCluster;
use crate::domain::now_ms;

/// Counts an event unless the window is full. KEYS[1] counter; ARGV limit, window ms, count
/// (1) or only look (0). Returns -1 when within the limit, else the ms left in the window.
const WINDOW: &str = r#"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then left = tonumber(ARGV[2]) end
  return left
end
if ARGV[3] == '1' then
  redis.call('INCR', KEYS[1])
  if n == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return -1
"#;

/// Marks KEYS[1] with ARGV[1] (now) for ARGV[2] ms unless it is marked; returns the earlier
/// mark, or false.
const SPEND: &str = r#"
local at = redis.call('GET', KEYS[1])
if at then return at end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"#;

pub struct RedisLedger {
    cluster: Arc<RedisCluster>,
    window: Script,
    spend: Script,
}

fn unavailable(e: impl std::fmt::Display) -> LedgerError {
    LedgerError(e.to_string())
}

/// Milliseconds for Redis, never 0 (which PX refuses).
fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl RedisLedger {
    pub fn new(cluster: Arc<RedisCluster>) -> Self {
        RedisLedger {
            cluster,
            window: Script::new(WINDOW),
            spend: Script::new(SPEND),
        }
    }

    fn mark_key(&self, id: &str) -> String {
        self.cluster.key(&format!("auth:mark:{id}"))
    }

    async fn window(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        count: bool,
    ) -> Result<Count, LedgerError> {
        let left: i64 = self
            .window
            .key(self.cluster.key(&format!("auth:window:{key}")))
            .arg(limit)
            .arg(millis(window))
            .arg(if count { 1 } else { 0 })
            .invoke_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(match left {
            ..=-1 => Count::Within,
            ms => Count::Over {
                retry_after_secs: (ms as u64).div_ceil(1000).max(1),
            },
        })
    }
}

#[async_trait]
impl Ledger for RedisLedger {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError> {
        self.window(key, limit, window, true).await
    }

    async fn peek(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError> {
        self.window(key, limit, window, false).await
    }

    async fn revoke(&self, id: &str, ttl: Duration) -> Result<(), LedgerError> {
        redis::cmd("SET")
            .arg(self.mark_key(id))
            .arg(now_ms())
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)
    }

    async fn revoked(&self, id: &str) -> Result<bool, LedgerError> {
        redis::cmd("EXISTS")
            .arg(self.mark_key(id))
            .query_async::<bool>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)
    }

    async fn spend(&self, id: &str, ttl: Duration) -> Result<Option<u64>, LedgerError> {
        let earlier: Option<u64> = self
            .spend
            .key(self.mark_key(id))
            .arg(now_ms())
            .arg(millis(ttl))
            .invoke_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(earlier)
    }
}
