//! The finished-games outbox on a Redis stream: the game actor appends (XADD); a consumer
//! group, one consumer per node, writes each game to the store and acknowledges (XACK) only
//! after the write. Entries a dead consumer left pending are claimed by another (XAUTOCLAIM).
//! The store being down means delay, never loss; the store's idempotent `record_game` makes a
//! second delivery harmless.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::Value;

use super::redis::RedisCluster;
use crate::store::{FinishedGame, Outbox, Store, StoreError};
use crate::telemetry::names;

const GROUP: &str = "recorders";
/// A pending entry idle this long belongs to a consumer presumed dead.
const CLAIM_IDLE: Duration = Duration::from_secs(30);

pub struct RedisOutbox {
    cluster: Arc<RedisCluster>,
    stream: String,
}

impl RedisOutbox {
    pub fn new(cluster: Arc<RedisCluster>) -> Self {
        let stream = cluster.key("finished-games");
        RedisOutbox { cluster, stream }
    }

    /// Runs this node's consumer until the process ends.
    pub fn spawn_consumer(self: Arc<Self>, store: Arc<dyn Store>, consumer: String) {
        tokio::spawn(async move { self.consume(store, consumer).await });
    }

    async fn consume(&self, store: Arc<dyn Store>, consumer: String) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.round(&store, &consumer).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox consumer: retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// One round: make sure the group exists, claim what dead consumers left, read new
    /// entries (blocking up to a second), record and acknowledge each.
    async fn round(&self, store: &Arc<dyn Store>, consumer: &str) -> Result<(), StoreError> {
        let mut conn = self.cluster.conn();
        let fail = |e: redis::RedisError| StoreError::Unavailable(e.to_string());
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(e) = created {
            if e.code() != Some("BUSYGROUP") {
                return Err(fail(e));
            }
        }
        // Our own pending entries first (a crash between write and ack), then dead consumers'.
        let mine: StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(64)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg("0")
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        let mut entries = entries_of(mine);
        let claimed: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(consumer)
            .arg(CLAIM_IDLE.as_millis() as u64)
            .arg("0")
            .arg("COUNT")
            .arg(64)
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        entries.extend(claimed_entries(claimed));
        drop(conn);
        if entries.is_empty() {
            // Blocking read on a connection of its own: a multiplexed one would stall others.
            let mut dedicated = self
                .cluster
                .dedicated()
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let options = StreamReadOptions::default()
                .group(GROUP, consumer)
                .count(64)
                .block(1000);
            let reply: Option<StreamReadReply> = redis::AsyncCommands::xread_options(
                &mut dedicated,
                &[&self.stream],
                &[">"],
                &options,
            )
            .await
            .map_err(fail)?;
            entries.extend(reply.map(entries_of).unwrap_or_default());
        }
        for (id, payload) in entries {
            match serde_json::from_slice::<FinishedGame>(&payload) {
                Ok(game) => {
                    let started = std::time::Instant::now();
                    store.record_game(&game).await?; // not acknowledged unless written
                    metrics::histogram!(names::PERSIST_SECONDS)
                        .record(started.elapsed().as_secs_f64());
                }
                Err(e) => {
                    tracing::error!(entry = %id, error = %e, "undecodable outbox entry dropped")
                }
            }
            let mut conn = self.cluster.conn();
            redis::cmd("XACK")
                .arg(&self.stream)
                .arg(GROUP)
                .arg(&id)
                .query_async::<()>(&mut conn)
                .await
                .map_err(fail)?;
        }
        Ok(())
    }
}

/// (entry id, `game` field) of every entry in a read reply.
fn entries_of(reply: StreamReadReply) -> Vec<(String, Vec<u8>)> {
    reply
        .keys
        .into_iter()
        .flat_map(|key| key.ids)
        .filter_map(|entry| {
            let payload = match entry.map.get("game") {
                Some(Value::BulkString(bytes)) => bytes.clone(),
                _ => return None,
            };
            Some((entry.id, payload))
        })
        .collect()
}

/// The entries of an XAUTOCLAIM reply: [cursor, [[id, [field, value, ...]], ...], deleted].
fn claimed_entries(reply: Value) -> Vec<(String, Vec<u8>)> {
    let Value::Array(parts) = reply else {
        return Vec::new();
    };
    let Some(Value::Array(entries)) = parts.get(1) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let Value::Array(pair) = entry else {
                return None;
            };
            let id = match pair.first()? {
                Value::BulkString(id) => String::from_utf8_lossy(id).into_owned(),
                _ => return None,
            };
            let Value::Array(fields) = pair.get(1)? else {
                return None;
            };
            let payload = fields.chunks(2).find_map(|kv| match kv {
                [Value::BulkString(k), Value::BulkString(v)] if k == b"game" => Some(v.clone()),
                _ => None,
            })?;
            Some((id, payload))
        })
        .collect()
}

#[async_trait]
impl Outbox for RedisOutbox {
    async fn append(&self, game: &FinishedGame) -> Result<(), StoreError> {
        let payload =
            serde_json::to_vec(game).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut conn = self.cluster.conn();
        redis::cmd("XADD")
            .arg(&self.stream)
            .arg("*")
            .arg("game")
            .arg(payload)
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}
