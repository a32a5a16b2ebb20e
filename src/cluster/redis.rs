//! Redis implementations of the cluster seams: snapshots (compare-and-set by Lua), leases with
//! fencing numbers, node heartbeats, and the bus over pub/sub. Commands share one multiplexed
//! connection (concurrent commands are pipelined on it, and it reconnects by itself); the bus
//! listens on a RESP3 connection manager of its own that also resubscribes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion, PushKind, Script, Value};
use tokio::sync::mpsc;

use super::bus::{Bus, BusError, Incoming};
use super::membership::Membership;
use super::snapshot::{Lease, Leases, SaveError, SnapshotStore, Stored};

/// A Redis command may take this long before the caller hears `unavailable`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after its subscriptions start coming back a node resyncs its sessions.
const RESYNC_AFTER_RESUBSCRIBE: Duration = Duration::from_millis(300);
/// How often the bus subscriber pings Redis, so that a lost connection is noticed and rebuilt.
const SUBSCRIBER_KEEPALIVE: Duration = Duration::from_secs(1);

/// Fenced compare-and-set of a snapshot hash {data, fence, rev}.
/// KEYS[1] snapshot; ARGV data, fence, rev, ttl ms (0: no expiry).
const SAVE: &str = r#"
local cur = redis.call('HMGET', KEYS[1], 'fence', 'rev')
if cur[1] then
  if tonumber(cur[1]) > tonumber(ARGV[2]) then return {'fenced', cur[1]} end
  if tonumber(cur[2]) >= tonumber(ARGV[3]) then return {'stale', cur[2]} end
end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'fence', ARGV[2], 'rev', ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return {'ok', ARGV[3]}
"#;

/// Marks a snapshot with a new owner's fence and returns it. KEYS[1] snapshot; ARGV fence.
/// Returns {'ok', data, rev}, {'fenced', stored fence}, or {'none'} when nothing is stored.
const CLAIM: &str = r#"
local cur = redis.call('HMGET', KEYS[1], 'data', 'fence', 'rev')
if not cur[1] then return {'none'} end
if tonumber(cur[2]) > tonumber(ARGV[1]) then return {'fenced', cur[2]} end
redis.call('HSET', KEYS[1], 'fence', ARGV[1])
return {'ok', cur[1], cur[3]}
"#;

/// Takes a lease if free or already ours, with a new fence. KEYS[1] lease, KEYS[2] fence
/// counter; ARGV node, ttl ms. Returns the fence, or false when another node holds it.
const ACQUIRE: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder and string.match(holder, '^(.*)|') ~= ARGV[1] then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return fence
"#;

/// Renews many leases: KEYS the leases; ARGV[1] ttl ms, ARGV[1 + i] the holder of KEYS[i].
/// One 1/0 per key, in order.
const RENEW_MANY: &str = r#"
local renewed = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    renewed[i] = redis.call('PEXPIRE', key, ARGV[1])
  else
    renewed[i] = 0
  end
end
return renewed
"#;

/// Deletes a lease still held as node|fence. KEYS[1] lease; ARGV holder.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

fn unavailable(e: impl std::fmt::Display) -> SaveError {
    SaveError::Unavailable(e.to_string())
}

/// Connection to one Redis, with every key and channel under `prefix`.
pub struct RedisCluster {
    url: String,
    prefix: String,
    /// Every non-blocking command goes through this one connection, cloned per caller:
    /// commands issued concurrently are written back to back and their replies matched in
    /// order, so no connection is checked out (or pinged) per command.
    commands: ConnectionManager,
    save: Script,
    claim: Script,
    acquire: Script,
    renew_many: Script,
    release: Script,
}

impl RedisCluster {
    /// Builds the shared connection lazily: it is made at the first command, so a node starts
    /// while Redis is down and reports it in `/readyz`. Must run inside a tokio runtime.
    pub fn new(url: &str, prefix: &str) -> Result<Arc<Self>, SaveError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let commands =
            ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Arc::new(RedisCluster {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            commands,
            save: Script::new(SAVE),
            claim: Script::new(CLAIM),
            acquire: Script::new(ACQUIRE),
            renew_many: Script::new(RENEW_MANY),
            release: Script::new(RELEASE),
        }))
    }

    /// A key or channel name under this cluster's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The shared command connection (a cheap handle; never for blocking commands).
    pub fn conn(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// Runs a command with the command timeout.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, SaveError> {
        let mut conn = self.conn();
        tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("redis command timed out"))?
            .map_err(unavailable)
    }

    /// Runs a pipeline with the command timeout.
    async fn run_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, SaveError> {
        let mut conn = self.conn();
        tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("redis command timed out"))?
            .map_err(unavailable)
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, SaveError> {
        let mut conn = self.conn();
        tokio::time::timeout(COMMAND_TIMEOUT, invocation.invoke_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("redis script timed out"))?
            .map_err(unavailable)
    }

    /// A connection of its own, for blocking commands.
    pub async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection, SaveError> {
        let client = redis::Client::open(self.url.as_str()).map_err(unavailable)?;
        tokio::time::timeout(COMMAND_TIMEOUT, client.get_multiplexed_async_connection())
            .await
            .map_err(|_| unavailable("redis connect timed out"))?
            .map_err(unavailable)
    }

    /// A bus endpoint: its own RESP3 connection for subscriptions.
    /// The subscriber connection is named `<prefix>bus-<node>` (see CLIENT LIST).
    pub async fn bus(self: &Arc<Self>, node: &str) -> Result<RedisBus, BusError> {
        let fail = |e: redis::RedisError| BusError::Unavailable(e.to_string());
        let info = self.url.as_str().into_connection_info().map_err(fail)?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(fail)?;
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(push_tx)
            .set_automatic_resubscription()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(1));
        let subscriber = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(fail)?;
        // A subscriber only listens, so nothing would notice that a reconnect after Redis went
        // away gave up: a ping every second makes the manager reconnect (and resubscribe).
        let mut named = subscriber.clone();
        let name = format!("{}bus-{node}", self.prefix).replace(|c: char| c.is_whitespace(), "_");
        if let Err(e) = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(&name)
            .query_async::<()>(&mut named)
            .await
        {
            tracing::debug!(error = %e, "could not name the bus connection");
        }
        let keepalive = subscriber.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SUBSCRIBER_KEEPALIVE).await;
                let mut conn = keepalive.clone();
                let ping = redis::cmd("PING");
                match tokio::time::timeout(COMMAND_TIMEOUT, ping.query_async::<Value>(&mut conn))
                    .await
                {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "bus subscriber ping failed; reconnecting")
                    }
                    Err(_) => tracing::debug!("bus subscriber ping timed out"),
                }
            }
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let (resubscribed, resubscriptions) = tokio::sync::watch::channel(0u64);
        let prefix = self.prefix.clone();
        tokio::spawn(async move {
            let mut disconnected = false;
            while let Some(push) = push_rx.recv().await {
                match push.kind {
                    PushKind::Disconnection => disconnected = true,
                    // The first confirmation after a disconnection: subscriptions are coming
                    // back, one channel per command. The sessions resync a little later, once
                    // the rest have landed too, or an update published to a channel not yet
                    // restored would be missed after the resync.
                    PushKind::Subscribe if disconnected => {
                        disconnected = false;
                        let resubscribed = resubscribed.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(RESYNC_AFTER_RESUBSCRIBE).await;
                            resubscribed.send_modify(|n| *n += 1);
                        });
                    }
                    PushKind::Message => {
                        let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                            (push.data.first(), push.data.get(1))
                        else {
                            continue;
                        };
                        let channel = String::from_utf8_lossy(channel);
                        let channel = channel.strip_prefix(&prefix).unwrap_or(&channel).to_owned();
                        if tx
                            .send(Incoming {
                                channel,
                                payload: payload.clone(),
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    _ => {}
                }
            }
        });
        Ok(RedisBus {
            cluster: self.clone(),
            subscriber,
            incoming: Mutex::new(Some(rx)),
            resubscriptions,
        })
    }

    /// The queue-sizes hash.
    fn queue_sizes_key(&self) -> String {
        self.key("queue-sizes")
    }
}

#[async_trait]
impl SnapshotStore for RedisCluster {
    async fn load(&self, key: &str) -> Result<Option<Stored>, SaveError> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.key(key)).arg("data").arg("fence").arg("rev");
        let (data, fence, rev): (Option<Vec<u8>>, Option<u64>, Option<u64>) =
            self.run(&cmd).await?;
        Ok(data.map(|data| Stored {
            data,
            fence: fence.unwrap_or(0),
            rev: rev.unwrap_or(0),
        }))
    }

    async fn claim(&self, key: &str, fence: u64) -> Result<Option<Stored>, SaveError> {
        let mut invocation = self.claim.key(self.key(key));
        invocation.arg(fence);
        let answer: Vec<Value> = self.invoke(invocation).await?;
        let text = |v: Option<&Value>| -> Option<Vec<u8>> {
            match v {
                Some(Value::BulkString(bytes)) => Some(bytes.clone()),
                Some(Value::SimpleString(s)) => Some(s.clone().into_bytes()),
                _ => None,
            }
        };
        let number = |v: Option<&Value>| {
            text(v).and_then(|b| String::from_utf8(b).ok()?.parse::<u64>().ok())
        };
        match text(answer.first()).as_deref() {
            Some(b"ok") => Ok(Some(Stored {
                data: text(answer.get(1)).unwrap_or_default(),
                fence,
                rev: number(answer.get(2)).unwrap_or(0),
            })),
            Some(b"fenced") => Err(SaveError::Fenced {
                stored: number(answer.get(1)).unwrap_or(0),
                ours: fence,
            }),
            Some(b"none") => Ok(None),
            _ => Err(unavailable(format!("unexpected claim answer {answer:?}"))),
        }
    }

    async fn save(
        &self,
        key: &str,
        data: Vec<u8>,
        fence: u64,
        rev: u64,
        ttl: Option<Duration>,
    ) -> Result<(), SaveError> {
        let ttl_ms = ttl.map_or(0, |t| t.as_millis() as u64);
        let mut invocation = self.save.key(self.key(key));
        invocation.arg(data).arg(fence).arg(rev).arg(ttl_ms);
        let (outcome, stored): (String, u64) = self.invoke(invocation).await?;
        match outcome.as_str() {
            "ok" => Ok(()),
            "fenced" => Err(SaveError::Fenced {
                stored,
                ours: fence,
            }),
            _ => Err(SaveError::Stale { stored, ours: rev }),
        }
    }

    async fn put(&self, key: &str, data: Vec<u8>, ttl: Duration) -> Result<(), SaveError> {
        let mut pipe = redis::pipe();
        let key = self.key(key);
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg("data")
            .arg(data)
            .arg("fence")
            .arg(0)
            .arg("rev")
            .arg(0)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl.as_millis() as u64)
            .ignore();
        self.run_pipe(&pipe).await
    }

    async fn delete(&self, key: &str) -> Result<(), SaveError> {
        self.run::<()>(redis::cmd("DEL").arg(self.key(key))).await
    }

    async fn set_queue_size(&self, queue: &str, waiting: u64) -> Result<(), SaveError> {
        self.run::<()>(
            redis::cmd("HSET")
                .arg(self.queue_sizes_key())
                .arg(queue)
                .arg(waiting),
        )
        .await
    }

    async fn queue_sizes(&self) -> Result<Vec<(String, u64)>, SaveError> {
        let mut sizes: Vec<(String, u64)> = self
            .run(redis::cmd("HGETALL").arg(self.queue_sizes_key()))
            .await?;
        sizes.sort();
        Ok(sizes)
    }
}

fn holder(node: &str, lease: &Lease) -> String {
    format!("{node}|{}", lease.fence)
}

#[async_trait]
impl Leases for RedisCluster {
    async fn acquire(
        &self,
        key: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, SaveError> {
        let mut invocation = self.acquire.key(self.key(&format!("lease:{key}")));
        invocation
            .key(self.key(&format!("fence:{key}")))
            .arg(node)
            .arg(ttl.as_millis() as u64);
        let fence: Option<u64> = self.invoke(invocation).await?;
        Ok(fence.map(|fence| Lease {
            key: key.to_owned(),
            fence,
        }))
    }

    async fn renew(&self, lease: &Lease, node: &str, ttl: Duration) -> Result<bool, SaveError> {
        let renewed = self
            .renew_many(std::slice::from_ref(lease), node, ttl)
            .await?;
        Ok(renewed.first().copied().unwrap_or(false))
    }

    async fn renew_many(
        &self,
        leases: &[Lease],
        node: &str,
        ttl: Duration,
    ) -> Result<Vec<bool>, SaveError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.renew_many.prepare_invoke();
        invocation.arg(ttl.as_millis() as u64);
        for lease in leases {
            invocation
                .key(self.key(&format!("lease:{}", lease.key)))
                .arg(holder(node, lease));
        }
        let renewed: Vec<i64> = self.invoke(invocation).await?;
        Ok(renewed.into_iter().map(|n| n == 1).collect())
    }

    async fn release(&self, lease: &Lease, node: &str) -> Result<(), SaveError> {
        let mut invocation = self.release.key(self.key(&format!("lease:{}", lease.key)));
        invocation.arg(holder(node, lease));
        self.invoke::<i64>(invocation).await.map(|_| ())
    }
}

#[async_trait]
impl Membership for RedisCluster {
    async fn heartbeat(&self, node: &str, ttl: Duration) -> Result<(), SaveError> {
        let now = crate::domain::now_ms();
        let mut pipe = redis::pipe();
        let key = self.key("nodes");
        pipe.cmd("ZADD")
            .arg(&key)
            .arg(now + ttl.as_millis() as u64)
            .arg(node)
            .ignore();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(now)
            .ignore();
        self.run_pipe(&pipe).await
    }

    async fn leave(&self, node: &str) -> Result<(), SaveError> {
        self.run::<()>(redis::cmd("ZREM").arg(self.key("nodes")).arg(node))
            .await
    }

    async fn peers(&self) -> Result<Vec<String>, SaveError> {
        let now = crate::domain::now_ms();
        self.run(
            redis::cmd("ZRANGEBYSCORE")
                .arg(self.key("nodes"))
                .arg(now)
                .arg("+inf"),
        )
        .await
    }
}

/// One node's endpoint on the Redis bus.
pub struct RedisBus {
    cluster: Arc<RedisCluster>,
    /// Subscriptions only; reconnects and resubscribes by itself.
    subscriber: ConnectionManager,
    incoming: Mutex<Option<mpsc::UnboundedReceiver<Incoming>>>,
    resubscriptions: tokio::sync::watch::Receiver<u64>,
}

fn bus_error(e: SaveError) -> BusError {
    BusError::Unavailable(e.to_string())
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<usize, BusError> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(self.cluster.key(channel)).arg(payload);
        let receivers: i64 = self.cluster.run(&cmd).await.map_err(bus_error)?;
        Ok(receivers.max(0) as usize)
    }

    /// One pipeline on the shared connection: the messages leave in order, back to back.
    async fn publish_many(&self, messages: Vec<(String, Vec<u8>)>) -> Result<Vec<usize>, BusError> {
        let mut pipe = redis::pipe();
        for (channel, payload) in messages {
            pipe.cmd("PUBLISH")
                .arg(self.cluster.key(&channel))
                .arg(payload);
        }
        let receivers: Vec<i64> = self.cluster.run_pipe(&pipe).await.map_err(bus_error)?;
        Ok(receivers.into_iter().map(|n| n.max(0) as usize).collect())
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BusError> {
        let mut subscriber = self.subscriber.clone();
        tokio::time::timeout(
            COMMAND_TIMEOUT,
            subscriber.subscribe(self.cluster.key(channel)),
        )
        .await
        .map_err(|_| BusError::Unavailable("subscribe timed out".into()))?
        .map_err(|e| BusError::Unavailable(e.to_string()))
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BusError> {
        let mut subscriber = self.subscriber.clone();
        tokio::time::timeout(
            COMMAND_TIMEOUT,
            subscriber.unsubscribe(self.cluster.key(channel)),
        )
        .await
        .map_err(|_| BusError::Unavailable("unsubscribe timed out".into()))?
        .map_err(|e| BusError::Unavailable(e.to_string()))
    }

    fn take_incoming(&self) -> Option<mpsc::UnboundedReceiver<Incoming>> {
        self.incoming.lock().expect("poisoned").take()
    }

    fn resubscriptions(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.resubscriptions.clone())
    }
}
