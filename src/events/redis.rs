//! The event log on a Redis stream (`<prefix>events`): XADD to append (trimmed to about
//! `max_len` entries as it goes, and by age in `trim`), one consumer group per listener, one
//! consumer per node. A read takes this consumer's pending entries (`XREADGROUP ... 0`), then
//! those a dead consumer left (`XAUTOCLAIM`), then new ones (`XREADGROUP ... >`, blocking on a
//! connection of its own, never the shared one). Dead letters go to `<prefix>events:dead:<group>`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::Value;
use tokio::sync::Mutex;

use super::{unavailable, Entry, EventLog, EventsError, GameEvent, Retention, CLAIM_IDLE};
use crate::cluster::redis::RedisCluster;
use crate::domain::now_ms;

/// Entries kept on XADD (approximately: `MAXLEN ~`), before `trim` applies the configured one.
const APPEND_MAX_LEN: u64 = 1_000_000;
/// Dead letters kept per listener.
const DEAD_MAX_LEN: u64 = 10_000;

pub struct RedisEvents {
    cluster: Arc<RedisCluster>,
    stream: String,
    /// Groups known to exist (created once per process).
    groups: Mutex<HashSet<String>>,
    /// The blocking connection of each consumer group's reader, made on first use (one per
    /// group, so that one listener's wait never holds up another's).
    blocking: Mutex<HashMap<String, Arc<Mutex<Option<crate::cluster::redis::Conn>>>>>,
    claim_idle: Duration,
}

impl RedisEvents {
    pub fn new(cluster: Arc<RedisCluster>) -> RedisEvents {
        let stream = cluster.key("events");
        RedisEvents {
            cluster,
            stream,
            groups: Mutex::new(HashSet::new()),
            blocking: Mutex::new(HashMap::new()),
            claim_idle: CLAIM_IDLE,
        }
    }

    /// Entries idle this long with a consumer may be claimed by another.
    pub fn claim_idle(self, idle: Duration) -> RedisEvents {
        RedisEvents {
            claim_idle: idle,
            ..self
        }
    }

    fn dead_stream(&self, group: &str) -> String {
        format!("{}:dead:{group}", self.stream)
    }

    /// Creates the group (reading from the start of the log) unless it exists.
    async fn ensure_group(&self, group: &str) -> Result<(), EventsError> {
        if self.groups.lock().await.contains(group) {
            return Ok(());
        }
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.cluster.conn())
            .await;
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(unavailable(e)),
        }
        self.groups.lock().await.insert(group.to_owned());
        Ok(())
    }

    /// How often each of these pending entries was delivered to the group.
    async fn deliveries(
        &self,
        group: &str,
        ids: &[String],
    ) -> Result<HashMap<String, u64>, EventsError> {
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(HashMap::new());
        };
        let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(group)
            .arg(first)
            .arg(last)
            .arg(ids.len().max(1) * 4)
            .query_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(pending
            .into_iter()
            .map(|(id, _, _, deliveries)| (id, deliveries))
            .collect())
    }

    async fn read_new(
        &self,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<(String, Vec<u8>)>, EventsError> {
        let slot = self
            .blocking
            .lock()
            .await
            .entry(group.to_owned())
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        if slot.is_none() {
            *slot = Some(self.cluster.dedicated().await.map_err(unavailable)?);
        }
        let conn = slot.as_mut().expect("just made");
        let options = StreamReadOptions::default()
            .group(group, consumer)
            .count(count)
            .block(block.as_millis().max(1) as usize);
        let reply: redis::RedisResult<Option<StreamReadReply>> =
            redis::AsyncCommands::xread_options(conn, &[&self.stream], &[">"], &options).await;
        match reply {
            Ok(reply) => Ok(reply.map(entries_of).unwrap_or_default()),
            Err(e) => {
                *slot = None; // a fresh connection next time
                Err(unavailable(e))
            }
        }
    }
}

fn decode(id: String, payload: &[u8], deliveries: u64) -> Option<Entry> {
    match serde_json::from_slice::<GameEvent>(payload) {
        Ok(event) => Some(Entry {
            id,
            event,
            deliveries,
        }),
        Err(e) => {
            tracing::error!(entry = %id, error = %e, "undecodable event skipped");
            None
        }
    }
}

#[async_trait]
impl EventLog for RedisEvents {
    async fn append(&self, event: &GameEvent) -> Result<String, EventsError> {
        let payload = serde_json::to_vec(event)?;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(APPEND_MAX_LEN)
            .arg("*")
            .arg("event")
            .arg(payload);
        // Behind Sentinel, appended once a replica has it: a `game_over` told to the players
        // survives a failover (the cluster's `durable` writes; plain Redis: one command).
        let id = self.cluster.durable(cmd).await.map_err(unavailable)?;
        redis::from_redis_value(id).map_err(unavailable)
    }

    async fn read(
        &self,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, EventsError> {
        self.ensure_group(group).await?;
        let mut conn = self.cluster.conn();
        let mine: StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg("0")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut raw = entries_of(mine);
        if raw.len() < count {
            let claimed: Value = redis::cmd("XAUTOCLAIM")
                .arg(&self.stream)
                .arg(group)
                .arg(consumer)
                .arg(self.claim_idle.as_millis() as u64)
                .arg("0")
                .arg("COUNT")
                .arg(count - raw.len())
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            raw.extend(claimed_entries(claimed));
        }
        if !raw.is_empty() {
            // Pending ones were delivered before: their counts say how often.
            let mut ids: Vec<String> = raw.iter().map(|(id, _)| id.clone()).collect();
            ids.sort_by_key(|id| parse_id(id));
            let counts = self.deliveries(group, &ids).await?;
            return Ok(raw
                .into_iter()
                .filter_map(|(id, payload)| {
                    let deliveries = counts.get(&id).copied().unwrap_or(1);
                    decode(id, &payload, deliveries)
                })
                .collect());
        }
        let fresh = self.read_new(group, consumer, count, block).await?;
        Ok(fresh
            .into_iter()
            .filter_map(|(id, payload)| decode(id, &payload, 1))
            .collect())
    }

    async fn ack(&self, group: &str, ids: &[String]) -> Result<(), EventsError> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::cmd("XACK")
            .arg(&self.stream)
            .arg(group)
            .arg(ids)
            .query_async::<()>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)
    }

    async fn dead_letter(
        &self,
        group: &str,
        entry: &Entry,
        error: &str,
    ) -> Result<(), EventsError> {
        let payload = serde_json::to_vec(&entry.event)?;
        redis::cmd("XADD")
            .arg(self.dead_stream(group))
            .arg("MAXLEN")
            .arg("~")
            .arg(DEAD_MAX_LEN)
            .arg("*")
            .arg("entry")
            .arg(&entry.id)
            .arg("event")
            .arg(payload)
            .arg("error")
            .arg(error)
            .query_async::<String>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        self.ack(group, std::slice::from_ref(&entry.id)).await
    }

    async fn dead_letters(
        &self,
        group: &str,
    ) -> Result<Vec<(String, String, String)>, EventsError> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.dead_stream(group))
            .arg("-")
            .arg("+")
            .query_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(reply
            .ids
            .into_iter()
            .map(|e| {
                let text = |k: &str| match e.map.get(k) {
                    Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                    _ => String::new(),
                };
                let name = serde_json::from_str::<GameEvent>(&text("event"))
                    .map(|ev| ev.name().to_owned())
                    .unwrap_or_default();
                (text("entry"), name, text("error"))
            })
            .collect())
    }

    async fn rewind(&self, group: &str, since: u64) -> Result<(), EventsError> {
        self.ensure_group(group).await?;
        // The last id delivered becomes "just before `since`": everything from then on is new.
        let last = if since == 0 {
            "0".to_owned()
        } else {
            format!("{}-0", since - 1)
        };
        redis::cmd("XGROUP")
            .arg("SETID")
            .arg(&self.stream)
            .arg(group)
            .arg(last)
            .query_async::<()>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)
    }

    async fn lag(&self, group: &str) -> Result<u64, EventsError> {
        self.ensure_group(group).await?;
        let info: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&self.stream)
            .query_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        let length: u64 = redis::cmd("XLEN")
            .arg(&self.stream)
            .query_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        let found = info.groups.iter().find(|g| g.name == group);
        Ok(found
            .and_then(|g| {
                g.lag
                    .map(|l| l as u64)
                    .or_else(|| g.entries_read.map(|r| length.saturating_sub(r as u64)))
            })
            .unwrap_or(length))
    }

    async fn trim(&self, retention: Retention) -> Result<(), EventsError> {
        let oldest = now_ms().saturating_sub(retention.max_age.as_millis() as u64);
        let mut conn = self.cluster.conn();
        redis::cmd("XTRIM")
            .arg(&self.stream)
            .arg("MINID")
            .arg("~")
            .arg(format!("{oldest}-0"))
            .query_async::<u64>(&mut conn)
            .await
            .map_err(unavailable)?;
        redis::cmd("XTRIM")
            .arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(retention.max_len)
            .query_async::<u64>(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// `ms-seq` as a pair that sorts like the stream.
fn parse_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// (entry id, `event` field) of every entry in a read reply.
fn entries_of(reply: StreamReadReply) -> Vec<(String, Vec<u8>)> {
    reply
        .keys
        .into_iter()
        .flat_map(|key| key.ids)
        .filter_map(|entry| match entry.map.get("event") {
            Some(Value::BulkString(bytes)) => Some((entry.id, bytes.clone())),
            _ => None,
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
                [Value::BulkString(k), Value::BulkString(v)] if k == b"event" => Some(v.clone()),
                _ => None,
            })?;
            Some((id, payload))
        })
        .collect()
}
