//! The event log on Redis streams: one (`<prefix>events`), or one per partition
//! (`<prefix>{events:N}`, spread over a Redis Cluster's slots), a game's events all in the
//! partition its id hashes to. XADD to append (trimmed to about `max_len` entries as it goes,
//! and by age in `trim`), one consumer group per listener on each stream, one consumer per
//! node. A read of a partition takes this consumer's pending entries (`XREADGROUP ... 0`) and
//! those a dead consumer left (`XAUTOCLAIM`) when there may be any, then new ones
//! (`XREADGROUP ... >`, blocking on a connection of its own, never the shared one). Dead
//! letters go to `<prefix>events:dead:<group>`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::Value;
use tokio::sync::Mutex;

use super::{unavailable, Entry, EventLog, EventsError, GameEvent, Retention, CLAIM_IDLE};
use crate::cluster::redis::{hash_slot, Conn, RedisCluster, SLOTS};
use crate::domain::now_ms;

/// Entries kept on XADD (approximately: `MAXLEN ~`), before `trim` applies the configured one.
const APPEND_MAX_LEN: u64 = 1_000_000;
/// Dead letters kept per listener.
const DEAD_MAX_LEN: u64 = 10_000;
/// How much longer than its `BLOCK` a blocking read may take before its connection is given up.
const READ_SLACK: Duration = Duration::from_secs(2);
/// Partitions a log may have.
pub const MAX_PARTITIONS: usize = 256;
/// Partitions of a node's log on a Redis Cluster unless configured: an even share on each of
/// 1, 2, 3 or 6 shards.
pub const CLUSTER_PARTITIONS: usize = 6;

pub struct RedisEvents {
    cluster: Arc<RedisCluster>,
    /// The stream of each partition.
    streams: Vec<String>,
    /// `<prefix>events:dead:`, before the group's name.
    dead: String,
    /// (group, partition) known to exist (created once per process).
    groups: Mutex<HashSet<(String, usize)>>,
    /// Each (group, consumer, partition) reader, made on first use.
    readers: std::sync::Mutex<HashMap<(String, String, usize), Arc<Reader>>>,
    claim_idle: Duration,
}

/// One consumer reading one partition for one group.
#[derive(Default)]
struct Reader {
    /// Its connection for blocking reads, made on first use (one per reader, so that one
    /// listener's wait never holds up another's).
    blocking: Mutex<Option<Conn>>,
    looked: std::sync::Mutex<Looked>,
}

/// What a reader knows of the entries pending with it, to skip the two commands that look for
/// them on every read when there cannot be any.
#[derive(Default)]
struct Looked {
    /// Entries handed out through this log and not acknowledged through it.
    outstanding: HashSet<String>,
    /// When it last looked for its own pending entries and for those of a dead consumer.
    /// Never (a restarted node may have left some under its name), or after a failed read
    /// (Redis may have handed it entries the answer lost): look on the next read.
    at: Option<Instant>,
}

impl Looked {
    /// Whether this read looks for a dead consumer's entries (at least every half of the claim
    /// idle time) and for its own (also whenever some are outstanding).
    fn due(&self, claim_idle: Duration) -> (bool, bool) {
        let claim = self.at.is_none_or(|at| at.elapsed() >= claim_idle / 2);
        (claim, claim || !self.outstanding.is_empty())
    }
}

impl RedisEvents {
    /// A log of one partition.
    pub fn new(cluster: Arc<RedisCluster>) -> RedisEvents {
        let streams = vec![cluster.key("events")];
        let dead = cluster.key("events:dead:");
        RedisEvents {
            cluster,
            streams,
            dead,
            groups: Mutex::new(HashSet::new()),
            readers: std::sync::Mutex::new(HashMap::new()),
            claim_idle: CLAIM_IDLE,
        }
    }

    /// Spread over `n` partitions (1 to [`MAX_PARTITIONS`]). Every node must agree on `n`: a
    /// node reads the partitions below its own, and one lowered on a live cluster strands what
    /// the higher ones hold.
    pub fn partitioned(self, n: usize) -> RedisEvents {
        let n = n.clamp(1, MAX_PARTITIONS);
        let streams = if n == 1 {
            vec![self.cluster.key("events")]
        } else {
            partition_tags(n)
                .iter()
                .map(|tag| self.cluster.tagged(tag, ""))
                .collect()
        };
        RedisEvents { streams, ..self }
    }

    /// Entries idle this long with a consumer may be claimed by another.
    pub fn claim_idle(self, idle: Duration) -> RedisEvents {
        RedisEvents {
            claim_idle: idle,
            ..self
        }
    }

    /// The stream of each partition.
    pub fn streams(&self) -> &[String] {
        &self.streams
    }

    fn dead_stream(&self, group: &str) -> String {
        format!("{}{group}", self.dead)
    }

    /// The partition a game's events go to.
    fn partition_of(&self, game: &str) -> usize {
        usize::from(hash_slot(game.as_bytes())) % self.streams.len()
    }

    /// The log's id of an entry of `partition` (the stream's own id when there is one).
    fn entry_id(&self, partition: usize, raw: String) -> String {
        if self.streams.len() == 1 {
            raw
        } else {
            format!("{partition}/{raw}")
        }
    }

    /// The partition and stream id of a log id.
    fn locate<'a>(&self, id: &'a str) -> Result<(usize, &'a str), EventsError> {
        let (partition, raw) = match id.split_once('/') {
            Some((p, raw)) => (p.parse().unwrap_or(usize::MAX), raw),
            None => (0, id),
        };
        if partition < self.streams.len() {
            Ok((partition, raw))
        } else {
            Err(unavailable(format!(
                "entry {id} is in no partition of this log"
            )))
        }
    }

    fn reader(&self, group: &str, consumer: &str, partition: usize) -> Arc<Reader> {
        self.readers
            .lock()
            .expect("poisoned")
            .entry((group.to_owned(), consumer.to_owned(), partition))
            .or_default()
            .clone()
    }

    /// Creates the group on the partition's stream (reading from its start) unless it exists.
    async fn ensure_group(&self, group: &str, partition: usize) -> Result<(), EventsError> {
        let key = (group.to_owned(), partition);
        if self.groups.lock().await.contains(&key) {
            return Ok(());
        }
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.streams[partition])
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
        self.groups.lock().await.insert(key);
        Ok(())
    }

    /// How often each of these pending entries (stream ids, sorted) was delivered to the group.
    async fn deliveries(
        &self,
        stream: &str,
        group: &str,
        ids: &[String],
    ) -> Result<HashMap<String, u64>, EventsError> {
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(HashMap::new());
        };
        let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(stream)
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

    /// This consumer's pending entries of the stream, then (when `claim`) those idle with a
    /// dead one, with their delivery counts.
    async fn pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        claim: bool,
    ) -> Result<Vec<(String, Vec<u8>, u64)>, EventsError> {
        let mut conn = self.cluster.conn();
        let mine: StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(stream)
            .arg("0")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut raw = entries_of(mine);
        if claim && raw.len() < count {
            let claimed: Value = redis::cmd("XAUTOCLAIM")
                .arg(stream)
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
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        // Pending ones were delivered before: their counts say how often.
        let mut ids: Vec<String> = raw.iter().map(|(id, _)| id.clone()).collect();
        ids.sort_by_key(|id| parse_id(id));
        let counts = self.deliveries(stream, group, &ids).await?;
        Ok(raw
            .into_iter()
            .map(|(id, payload)| {
                let deliveries = counts.get(&id).copied().unwrap_or(1);
                (id, payload, deliveries)
            })
            .collect())
    }

    async fn read_new(
        &self,
        reader: &Reader,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<(String, Vec<u8>)>, EventsError> {
        let mut slot = reader.blocking.lock().await;
        if slot.is_none() {
            *slot = Some(self.cluster.dedicated().await.map_err(unavailable)?);
        }
        let conn = slot.as_mut().expect("just made");
        let options = StreamReadOptions::default()
            .group(group, consumer)
            .count(count)
            .block(block.as_millis().max(1) as usize);
        // The connection has no response timeout of its own: a primary gone silent (no reset)
        // must not hold this reader for good.
        let reply = tokio::time::timeout(
            block + READ_SLACK,
            redis::AsyncCommands::xread_options::<_, _, Option<StreamReadReply>>(
                conn,
                &[stream],
                &[">"],
                &options,
            ),
        )
        .await;
        match reply {
            Ok(Ok(reply)) => Ok(reply.map(entries_of).unwrap_or_default()),
            Ok(Err(e)) => {
                *slot = None; // a fresh connection next time
                Err(unavailable(e))
            }
            Err(_) => {
                *slot = None;
                Err(unavailable(format!(
                    "no answer to a read blocking {block:?} within {READ_SLACK:?} more"
                )))
            }
        }
    }
}

/// The hash tag of each of `n` partitions: partition `p`'s slot is in the middle half of the
/// `p`-th of `n` equal slot ranges, so a cluster whose shards own equal ranges (as
/// `redis-cli --cluster create` makes them) holds an even share of the partitions on each.
/// Every node computes the same tags.
fn partition_tags(n: usize) -> Vec<String> {
    let range = usize::from(SLOTS) / n;
    (0..n)
        .map(|p| {
            let (low, high) = (p * range + range / 4, p * range + range * 3 / 4);
            (0u64..)
                .map(|k| format!("events:{k}"))
                .find(|tag| (low..=high).contains(&usize::from(hash_slot(tag.as_bytes()))))
                .expect("CRC16 reaches every slot range")
        })
        .collect()
}

fn decode(id: &str, payload: &[u8], deliveries: u64) -> Option<Entry> {
    match serde_json::from_slice::<GameEvent>(payload) {
        Ok(event) => Some(Entry {
            id: id.to_owned(),
            event,
            deliveries,
        }),
        Err(e) => {
            tracing::error!(entry = %id, error = %e, "undecodable event acknowledged unread");
            None
        }
    }
}

#[async_trait]
impl EventLog for RedisEvents {
    async fn append(&self, event: &GameEvent) -> Result<String, EventsError> {
        let payload = serde_json::to_vec(event)?;
        let partition = self.partition_of(event.game());
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.streams[partition])
            .arg("MAXLEN")
            .arg("~")
            .arg(APPEND_MAX_LEN)
            .arg("*")
            .arg("event")
            .arg(payload);
        // Behind Sentinel, appended once a replica has it: a `game_over` told to the players
        // survives a failover (the cluster's `durable` writes; plain Redis: one command).
        let id = self.cluster.durable(cmd).await.map_err(unavailable)?;
        let id: String = redis::from_redis_value(id).map_err(unavailable)?;
        Ok(self.entry_id(partition, id))
    }

    fn partitions(&self) -> usize {
        self.streams.len()
    }

    async fn read(
        &self,
        group: &str,
        consumer: &str,
        partition: usize,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, EventsError> {
        let stream = self
            .streams
            .get(partition)
            .ok_or_else(|| unavailable(format!("no partition {partition}")))?;
        self.ensure_group(group, partition).await?;
        let reader = self.reader(group, consumer, partition);
        let (claim, mine) = reader.looked.lock().expect("poisoned").due(self.claim_idle);
        let mut raw = Vec::new();
        if mine {
            raw = self.pending(stream, group, consumer, count, claim).await?;
            let mut looked = reader.looked.lock().expect("poisoned");
            looked.outstanding = raw.iter().map(|(id, _, _)| id.clone()).collect();
            if claim {
                looked.at = Some(Instant::now());
            }
        }
        if raw.is_empty() {
            match self
                .read_new(&reader, stream, group, consumer, count, block)
                .await
            {
                Ok(fresh) => raw = fresh.into_iter().map(|(id, p)| (id, p, 1)).collect(),
                Err(e) => {
                    reader.looked.lock().expect("poisoned").at = None;
                    return Err(e);
                }
            }
            let mut looked = reader.looked.lock().expect("poisoned");
            looked
                .outstanding
                .extend(raw.iter().map(|(id, _, _)| id.clone()));
        }
        let mut entries = Vec::with_capacity(raw.len());
        let mut undecodable = Vec::new();
        for (id, payload, deliveries) in raw {
            let id = self.entry_id(partition, id);
            match decode(&id, &payload, deliveries) {
                Some(entry) => entries.push(entry),
                None => undecodable.push(id),
            }
        }
        // No listener can handle those: done, or they would come back first on every read.
        self.ack(group, &undecodable).await?;
        Ok(entries)
    }

    async fn ack(&self, group: &str, ids: &[String]) -> Result<(), EventsError> {
        let mut by_partition: HashMap<usize, Vec<&str>> = HashMap::new();
        for id in ids {
            let (partition, raw) = self.locate(id)?;
            by_partition.entry(partition).or_default().push(raw);
        }
        for (partition, raw) in by_partition {
            redis::cmd("XACK")
                .arg(&self.streams[partition])
                .arg(group)
                .arg(&raw)
                .query_async::<()>(&mut self.cluster.conn())
                .await
                .map_err(unavailable)?;
            let readers = self.readers.lock().expect("poisoned");
            for ((g, _, p), reader) in readers.iter() {
                if g == group && *p == partition {
                    let mut looked = reader.looked.lock().expect("poisoned");
                    for id in &raw {
                        looked.outstanding.remove(*id);
                    }
                }
            }
        }
        Ok(())
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
        // The last id delivered becomes "just before `since`": everything from then on is new.
        let last = if since == 0 {
            "0".to_owned()
        } else {
            format!("{}-0", since - 1)
        };
        for (partition, stream) in self.streams.iter().enumerate() {
            self.ensure_group(group, partition).await?;
            redis::cmd("XGROUP")
                .arg("SETID")
                .arg(stream)
                .arg(group)
                .arg(&last)
                .query_async::<()>(&mut self.cluster.conn())
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn lag(&self, group: &str) -> Result<u64, EventsError> {
        let mut lag = 0;
        for (partition, stream) in self.streams.iter().enumerate() {
            self.ensure_group(group, partition).await?;
            let info: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(stream)
                .query_async(&mut self.cluster.conn())
                .await
                .map_err(unavailable)?;
            let length: u64 = redis::cmd("XLEN")
                .arg(stream)
                .query_async(&mut self.cluster.conn())
                .await
                .map_err(unavailable)?;
            let found = info.groups.iter().find(|g| g.name == group);
            lag += found
                .and_then(|g| {
                    g.lag
                        .map(|l| l as u64)
                        .or_else(|| g.entries_read.map(|r| length.saturating_sub(r as u64)))
                })
                .unwrap_or(length);
        }
        Ok(lag)
    }

    async fn trim(&self, retention: Retention) -> Result<(), EventsError> {
        let oldest = now_ms().saturating_sub(retention.max_age.as_millis() as u64);
        let mut conn = self.cluster.conn();
        for stream in &self.streams {
            redis::cmd("XTRIM")
                .arg(stream)
                .arg("MINID")
                .arg("~")
                .arg(format!("{oldest}-0"))
                .query_async::<u64>(&mut conn)
                .await
                .map_err(unavailable)?;
            redis::cmd("XTRIM")
                .arg(stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(retention.max_len)
                .query_async::<u64>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_spread_evenly_over_equal_shards() {
        for n in [2, 3, 6, 8, 256] {
            let slots: Vec<usize> = partition_tags(n)
                .iter()
                .map(|tag| usize::from(hash_slot(tag.as_bytes())))
                .collect();
            let range = usize::from(SLOTS) / n;
            for (p, slot) in slots.iter().enumerate() {
                assert_eq!(slot / range, p, "partition {p} of {n} at slot {slot}");
            }
        }
        // Three shards as `redis-cli --cluster create` splits the slots: two partitions each.
        let shard = |slot: u16| usize::from(slot) * 3 / usize::from(SLOTS);
        let mut per_shard = [0; 3];
        for tag in partition_tags(6) {
            per_shard[shard(hash_slot(tag.as_bytes()))] += 1;
        }
        assert_eq!(per_shard, [2, 2, 2]);
    }
}
