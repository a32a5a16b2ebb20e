//! Redis implementations of the cluster seams: snapshots (compare-and-set by Lua), leases with
//! fencing numbers, node heartbeats, and the bus over pub/sub. Commands share one multiplexed
//! connection (concurrent commands are pipelined on it, and it reconnects by itself); the bus
//! listens on a RESP3 connection manager of its own that also resubscribes.
//!
//! Behind `redis+sentinel://` ([`super::sentinel`]) the primary is asked of the sentinels every
//! 250 ms (at once after a `READONLY` refusal); when it changes, the command connection is
//! rebuilt against the new one and the bus moves there too, resubscribes every channel and
//! counts a resubscription (so the sessions resync). Snapshot writes then go through one
//! writer of their own that follows each batch with `WAIT <replicas> <ms>`: a write is
//! acknowledged only once that many replicas hold it.
//!
//! Behind Redis Cluster (`REDIS_CLUSTER_URLS`, [`RedisAddress::Sharded`]) commands go through
//! redis-rs's cluster connection, which routes each by its key's hash slot and follows slot
//! moves and failovers. Every multi-key script and atomic pipeline touches one actor's keys,
//! which share a hash tag (`<prefix>{game:AbC}`, `<prefix>{game:AbC}:lease`,
//! `<prefix>{game:AbC}:fence`); batches that span actors (lease renewals, bus publishes) are
//! sent as concurrent single-slot commands instead of one pipeline. The bus uses sharded
//! pub/sub (`SPUBLISH`/`SSUBSCRIBE`): a channel lives on the shard that owns its slot, so
//! adding shards spreads the bus as well as the keys.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::join_all;
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
    AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion,
    PushKind, RedisFuture, Script, Value,
};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::bus::{Bus, BusError, Incoming};
use super::membership::Membership;
use super::sentinel::{self, SentinelConfig};
use super::snapshot::{Lease, Leases, SaveError, SnapshotStore, Stored};

/// A Redis command may take this long before the caller hears `unavailable`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after its subscriptions start coming back a node resyncs its sessions.
const RESYNC_AFTER_RESUBSCRIBE: Duration = Duration::from_millis(300);
/// Redis Cluster: how long after its channels were restored they are all subscribed again, in
/// case the cluster was still re-forming.
const RESTORE_SETTLE: Duration = Duration::from_secs(2);
/// How often the bus subscriber pings Redis, so that a lost connection is noticed and rebuilt.
const SUBSCRIBER_KEEPALIVE: Duration = Duration::from_secs(1);
/// How often a Sentinel-mode node asks the sentinels where the primary is.
const SENTINEL_POLL: Duration = Duration::from_millis(250);
/// At most this many snapshot writes share one `WAIT`.
const DURABLE_BATCH: usize = 256;
/// Channels per `SUBSCRIBE` when the bus moves to a new primary.
const RESUBSCRIBE_CHUNK: usize = 500;

/// How much longer than its snapshot an actor's fence counter lives, and how long the counter of
/// an actor that has no snapshot lives after a lease is taken. Far past any lease: a node that
/// lost its lease has long stopped writing when its fence can be reused.
const FENCE_GRACE_MS: u64 = 60_000;

/// Fenced compare-and-set of a snapshot hash {data, fence, rev}. The fence counter lives as long
/// as the snapshot does, plus the grace: a finished actor leaves nothing behind for ever.
/// KEYS[1] snapshot, KEYS[2] fence counter; ARGV data, fence, rev, ttl ms (0: no expiry), grace ms.
const SAVE: &str = r#"
local cur = redis.call('HMGET', KEYS[1], 'fence', 'rev')
if cur[1] then
  if tonumber(cur[1]) > tonumber(ARGV[2]) then return {'fenced', cur[1]} end
  if tonumber(cur[2]) >= tonumber(ARGV[3]) then return {'stale', cur[2]} end
end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'fence', ARGV[2], 'rev', ARGV[3])
if tonumber(ARGV[4]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4] + ARGV[5])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end
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
/// counter, KEYS[3] snapshot; ARGV node, ttl ms, grace ms. Returns the fence, or false when
/// another node holds it. The new fence is larger than the counter, the stored snapshot's and
/// our old lease's (so a counter that expired under a long-renewed lease cannot go back), and
/// the counter then lives as long as the snapshot plus the grace: for ever under a snapshot
/// without expiry, the grace past this lease when there is no snapshot (a new actor, or an id
/// nobody has) unless a save keeps it (see SAVE).
const ACQUIRE: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder and string.match(holder, '^(.*)|') ~= ARGV[1] then return false end
local fence = redis.call('INCR', KEYS[2])
local floor = tonumber(redis.call('HGET', KEYS[3], 'fence') or '0')
if holder then floor = math.max(floor, tonumber(string.match(holder, '|(%d+)$'))) end
if fence <= floor then
  fence = floor + 1
  redis.call('SET', KEYS[2], fence)
end
local left = redis.call('PTTL', KEYS[3])
if left == -2 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2] + ARGV[3])
elseif left >= 0 then
  redis.call('PEXPIRE', KEYS[2], math.max(left, tonumber(ARGV[2])) + ARGV[3])
else
  redis.call('PERSIST', KEYS[2])
end
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

/// Hash slots of a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// The hash slot Redis Cluster gives `tag` (the text between a key's braces, or the whole key
/// when it has none): CRC16/XMODEM modulo 16384, as in the cluster specification.
pub fn hash_slot(tag: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in tag {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % SLOTS
}

fn unavailable(e: impl std::fmt::Display) -> SaveError {
    SaveError::Unavailable(e.to_string())
}

/// A write refused by a node that is (now) a replica: the primary moved.
fn read_only(e: &redis::RedisError) -> bool {
    matches!(
        e.kind(),
        redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
    ) || e.code() == Some("READONLY")
        || e.to_string().contains("READONLY")
}

fn tcp_addr(info: &ConnectionInfo) -> Option<(String, u16)> {
    match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            Some((host.clone(), *port))
        }
        _ => None,
    }
}

fn command_manager(info: ConnectionInfo) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(info)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Where the cluster's Redis is: one server (`redis://`, or `redis+sentinel://` behind
/// Sentinel) or a Redis Cluster reached through any of its seed nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisAddress {
    One(String),
    Sharded(Vec<String>),
}

impl RedisAddress {
    /// `REDIS_CLUSTER_URLS`: seed nodes separated by commas (`redis://h1:7000,redis://h2:7001`).
    pub fn sharded(list: &str) -> Result<RedisAddress, SaveError> {
        let seeds: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if seeds.is_empty() {
            return Err(unavailable("REDIS_CLUSTER_URLS names no node"));
        }
        for seed in &seeds {
            seed.as_str()
                .into_connection_info()
                .map_err(|e| unavailable(format!("REDIS_CLUSTER_URLS: {e}")))?;
        }
        Ok(RedisAddress::Sharded(seeds))
    }
}

/// A command connection: to one server (reconnecting by itself), a plain one for blocking
/// commands, or a Redis Cluster connection that routes each command by its key's slot.
#[derive(Clone)]
pub enum Conn {
    Managed(ConnectionManager),
    Plain(MultiplexedConnection),
    Sharded(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Managed(c) => c.req_packed_command(cmd),
            Conn::Plain(c) => c.req_packed_command(cmd),
            Conn::Sharded(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Managed(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Plain(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sharded(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Managed(c) => c.get_db(),
            Conn::Plain(c) => c.get_db(),
            Conn::Sharded(c) => c.get_db(),
        }
    }
}

/// A Redis Cluster connection through the seeds, made in the background (until they answer,
/// its commands fail); `push` makes it a RESP3 subscriber connection, `response_timeout` None
/// suits blocking commands.
fn sharded_conn(
    seeds: &[String],
    push: Option<mpsc::UnboundedSender<redis::PushInfo>>,
    response_timeout: Option<Duration>,
) -> Result<ClusterConnection, redis::RedisError> {
    let mut builder = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
        .connection_timeout(COMMAND_TIMEOUT)
        .retries(3)
        .max_retry_wait(500);
    let mut config = redis::cluster::ClusterConfig::new().set_connection_timeout(COMMAND_TIMEOUT);
    if let Some(timeout) = response_timeout {
        builder = builder.response_timeout(timeout);
        config = config.set_response_timeout(timeout);
    }
    if let Some(push) = push {
        builder = builder
            .use_protocol(ProtocolVersion::RESP3)
            .push_sender(push);
    }
    Ok(builder
        .build()?
        .get_pending_async_connection_with_config(config))
}

impl Conn {
    /// Subscribes to channels (sharded channels on Redis Cluster); the connection manager and
    /// the cluster connection resubscribe by themselves after a reconnect.
    async fn subscribe(&mut self, channels: &[String]) -> redis::RedisResult<()> {
        match self {
            Conn::Managed(c) => c.subscribe(channels).await,
            Conn::Plain(c) => c.subscribe(channels).await,
            Conn::Sharded(c) => c.ssubscribe(channels).await,
        }
    }

    async fn unsubscribe(&mut self, channels: &[String]) -> redis::RedisResult<()> {
        match self {
            Conn::Managed(c) => c.unsubscribe(channels).await,
            Conn::Plain(c) => c.unsubscribe(channels).await,
            Conn::Sharded(c) => c.sunsubscribe(channels).await,
        }
    }
}

/// The primary this node talks to, and its connections to it.
struct Primary {
    info: ConnectionInfo,
    commands: Conn,
    /// Sentinel mode with `wait` > 0: the snapshot writes and their `WAIT`, on a connection of
    /// their own, since `WAIT` holds up every later command of the connection that sends it.
    durable: Option<ConnectionManager>,
}

impl Primary {
    fn connect(info: ConnectionInfo, durable: bool) -> Result<Primary, redis::RedisError> {
        Ok(Primary {
            commands: Conn::Managed(command_manager(info.clone())?),
            durable: if durable {
                Some(command_manager(info.clone())?)
            } else {
                None
            },
            info,
        })
    }
}

/// A snapshot write for the durable writer, and where its answer goes.
type DurableWrite = (redis::Cmd, oneshot::Sender<Result<Value, SaveError>>);

/// Asks the sentinels where the primary is, every [`SENTINEL_POLL`] or when told to, and moves
/// the connections when it changed. Ends when the cluster is dropped.
async fn follow_primary(
    config: Arc<SentinelConfig>,
    primary: Weak<RwLock<Primary>>,
    switched: watch::Sender<u64>,
    reresolve: Arc<Notify>,
) {
    let mut first = true;
    let mut failing = false;
    loop {
        if !first {
            tokio::select! {
                _ = tokio::time::sleep(SENTINEL_POLL) => {}
                _ = reresolve.notified() => {}
            }
        }
        first = false;
        let Some(primary) = primary.upgrade() else {
            return;
        };
        let (current, durable) = {
            let p = primary.read().expect("poisoned");
            (tcp_addr(&p.info), p.durable.is_some())
        };
        let named = match config.named_primary().await {
            Ok(named) => named,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "no sentinel names the redis primary");
                }
                failing = true;
                continue;
            }
        };
        failing = false;
        if current.as_ref() == Some(&named) {
            continue;
        }
        // A sentinel may still name the old primary, or one not yet promoted: trust the node.
        if let Err(e) = config.confirm(&named.0, named.1).await {
            tracing::debug!(error = %e, "the named redis primary is not one yet");
            continue;
        }
        match Primary::connect(config.node_info(&named.0, named.1), durable) {
            Ok(next) => {
                *primary.write().expect("poisoned") = next;
                switched.send_modify(|n| *n += 1);
                metrics::counter!(crate::telemetry::names::REDIS_PRIMARY_CHANGES).increment(1);
                tracing::info!(
                    host = %named.0,
                    port = named.1,
                    previous = ?current,
                    "redis primary changed: commands and bus follow"
                );
            }
            Err(e) => tracing::warn!(error = %e, "could not connect to the new redis primary"),
        }
    }
}

/// Sends the snapshot writes queued meanwhile as one pipeline followed by one
/// `WAIT replicas ms` (it covers every write before it on the connection), and answers each.
async fn durable_writer(
    mut queued: mpsc::UnboundedReceiver<DurableWrite>,
    primary: Arc<RwLock<Primary>>,
    reresolve: Arc<Notify>,
    replicas: u32,
    wait: Duration,
) {
    while let Some(first) = queued.recv().await {
        let mut batch = vec![first];
        while batch.len() < DURABLE_BATCH {
            match queued.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let (cmds, answers): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let mut pipe = redis::pipe();
        for cmd in cmds {
            pipe.add_command(cmd);
        }
        pipe.cmd("WAIT").arg(replicas).arg(wait.as_millis() as u64);
        let conn = primary.read().expect("poisoned").durable.clone();
        let outcome = match conn {
            None => Err("no durable connection".to_owned()),
            Some(mut conn) => {
                match tokio::time::timeout(
                    COMMAND_TIMEOUT + wait,
                    pipe.query_async::<Vec<Value>>(&mut conn),
                )
                .await
                {
                    Err(_) => Err("redis write timed out".to_owned()),
                    Ok(Err(e)) => {
                        if read_only(&e) {
                            reresolve.notify_one();
                        }
                        Err(e.to_string())
                    }
                    Ok(Ok(mut values)) => match values.pop() {
                        Some(Value::Int(n)) if n >= i64::from(replicas) => Ok(values),
                        reached => {
                            metrics::counter!(crate::telemetry::names::REDIS_WAIT_SHORT)
                                .increment(1);
                            Err(format!(
                                "written on the primary but {reached:?} of {replicas} replicas \
                                 had it within {wait:?}: not acknowledged"
                            ))
                        }
                    },
                }
            }
        };
        match outcome {
            Ok(values) => {
                for (answer, value) in answers.into_iter().zip(values) {
                    let _ = answer.send(Ok(value));
                }
            }
            Err(reason) => {
                for answer in answers {
                    let _ = answer.send(Err(SaveError::Unavailable(reason.clone())));
                }
            }
        }
    }
}

/// Connection to one Redis, with every key and channel under `prefix`.
pub struct RedisCluster {
    prefix: String,
    /// Redis Cluster mode: the seed nodes (for connections of their own: blocking commands,
    /// the bus subscriber). None for one server.
    seeds: Option<Vec<String>>,
    /// Every non-blocking command goes through one connection (`Primary::commands`), cloned
    /// per caller: commands issued concurrently are written back to back and their replies
    /// matched in order, so no connection is checked out (or pinged) per command. Swapped
    /// when Sentinel names a new primary.
    primary: Arc<RwLock<Primary>>,
    /// Sentinel mode with `wait` > 0: the writer that acknowledges a snapshot write once
    /// replicas hold it.
    durable: Option<mpsc::UnboundedSender<DurableWrite>>,
    /// Counts the primary changes (Sentinel mode); the bus follows them.
    switches: watch::Receiver<u64>,
    /// Asks the sentinels again now (after a `READONLY`).
    reresolve: Arc<Notify>,
    save: Script,
    claim: Script,
    acquire: Script,
    renew_many: Script,
    release: Script,
}

impl RedisCluster {
    /// Builds the shared connection lazily: it is made at the first command, so a node starts
    /// while Redis is down and reports it in `/readyz`. Must run inside a tokio runtime.
    ///
    /// `redis+sentinel://...` ([`SentinelConfig::parse`]) asks the sentinels for the primary
    /// (in the background: until one answers, commands fail as unavailable; see
    /// [`RedisCluster::open`]) and follows it.
    pub fn new(url: &str, prefix: &str) -> Result<Arc<Self>, SaveError> {
        Self::at(&RedisAddress::One(url.to_owned()), prefix)
    }

    /// [`RedisCluster::new`] for any [`RedisAddress`]; a Redis Cluster connection is made in
    /// the background too (its commands fail as unavailable until the seeds answer).
    pub fn at(address: &RedisAddress, prefix: &str) -> Result<Arc<Self>, SaveError> {
        if prefix.contains(['{', '}']) {
            return Err(unavailable(format!(
                "the Redis prefix {prefix:?} may not contain braces (they make hash tags)"
            )));
        }
        let url = match address {
            RedisAddress::One(url) => url,
            RedisAddress::Sharded(seeds) => {
                let commands =
                    sharded_conn(seeds, None, Some(COMMAND_TIMEOUT)).map_err(unavailable)?;
                let info = seeds[0]
                    .as_str()
                    .into_connection_info()
                    .map_err(unavailable)?;
                let (_, switches) = watch::channel(0u64);
                return Ok(Arc::new(Self::with(
                    prefix,
                    Some(seeds.clone()),
                    Arc::new(RwLock::new(Primary {
                        info,
                        commands: Conn::Sharded(commands),
                        durable: None,
                    })),
                    None,
                    switches,
                    Arc::new(Notify::new()),
                )));
            }
        };
        let sentinel = if sentinel::is_sentinel_url(url) {
            Some(Arc::new(SentinelConfig::parse(url).map_err(unavailable)?))
        } else {
            None
        };
        let info = match &sentinel {
            None => url.as_str().into_connection_info().map_err(unavailable)?,
            // Nothing listens on port 0: until the sentinels answer, commands are unavailable.
            Some(config) => config.node_info("127.0.0.1", 0),
        };
        let wait = sentinel
            .as_ref()
            .filter(|c| c.wait_replicas > 0)
            .map(|c| (c.wait_replicas, c.wait_timeout));
        let primary = Arc::new(RwLock::new(
            Primary::connect(info, wait.is_some()).map_err(unavailable)?,
        ));
        let (switched, switches) = watch::channel(0u64);
        let reresolve = Arc::new(Notify::new());
        let durable = wait.map(|(replicas, timeout)| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(durable_writer(
                rx,
                primary.clone(),
                reresolve.clone(),
                replicas,
                timeout,
            ));
            tx
        });
        if let Some(config) = sentinel {
            tokio::spawn(follow_primary(
                config,
                Arc::downgrade(&primary),
                switched,
                reresolve.clone(),
            ));
        }
        Ok(Arc::new(Self::with(
            prefix, None, primary, durable, switches, reresolve,
        )))
    }

    fn with(
        prefix: &str,
        seeds: Option<Vec<String>>,
        primary: Arc<RwLock<Primary>>,
        durable: Option<mpsc::UnboundedSender<DurableWrite>>,
        switches: watch::Receiver<u64>,
        reresolve: Arc<Notify>,
    ) -> RedisCluster {
        RedisCluster {
            prefix: prefix.to_owned(),
            seeds,
            primary,
            durable,
            switches,
            reresolve,
            save: Script::new(SAVE),
            claim: Script::new(CLAIM),
            acquire: Script::new(ACQUIRE),
            renew_many: Script::new(RENEW_MANY),
            release: Script::new(RELEASE),
        }
    }

    /// [`RedisCluster::new`], and in Sentinel mode a wait of up to `first_primary` for the
    /// sentinels to name the primary (the node starts anyway and follows it once they do).
    pub async fn open(
        address: &RedisAddress,
        prefix: &str,
        first_primary: Duration,
    ) -> Result<Arc<Self>, SaveError> {
        let cluster = Self::at(address, prefix)?;
        if matches!(address, RedisAddress::One(url) if sentinel::is_sentinel_url(url)) {
            let mut switches = cluster.switches.clone();
            if *switches.borrow_and_update() == 0
                && tokio::time::timeout(first_primary, switches.changed())
                    .await
                    .is_err()
            {
                tracing::warn!("no redis primary named by the sentinels yet; starting anyway");
            }
        }
        Ok(cluster)
    }

    /// How to reach the current primary.
    fn primary_info(&self) -> ConnectionInfo {
        self.primary.read().expect("poisoned").info.clone()
    }

    /// What a failed command means: a `READONLY` refusal sends the sentinels a question now.
    fn failed(&self, e: redis::RedisError) -> SaveError {
        if read_only(&e) {
            self.reresolve.notify_one();
        }
        unavailable(e)
    }

    /// Runs a write that must survive a failover: in Sentinel mode with `wait` > 0 through the
    /// writer that follows it with `WAIT` (answered once the replicas asked for have it),
    /// otherwise as any command.
    pub async fn durable(&self, cmd: redis::Cmd) -> Result<Value, SaveError> {
        match &self.durable {
            Some(durable) => {
                let (answer, answered) = oneshot::channel();
                let stopped = || unavailable("the durable writer stopped");
                durable.send((cmd, answer)).map_err(|_| stopped())?;
                answered.await.map_err(|_| stopped())?
            }
            None => cmd
                .query_async(&mut self.conn())
                .await
                .map_err(|e| self.failed(e)),
        }
    }

    /// A key or channel name under this cluster's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A key in the hash slot of `tag` (`<prefix>{tag}rest`): every key that one script or
    /// atomic pipeline touches carries the same tag, so that it runs on one Redis Cluster shard.
    pub fn tagged(&self, tag: &str, rest: &str) -> String {
        format!("{}{{{tag}}}{rest}", self.prefix)
    }

    /// Redis Cluster mode (commands routed by slot; pipelines must stay in one slot).
    pub fn is_sharded(&self) -> bool {
        self.seeds.is_some()
    }

    /// The publish command of this mode: sharded pub/sub (`SPUBLISH`) on Redis Cluster, where
    /// a plain `PUBLISH` would be copied to every shard, `PUBLISH` otherwise (also inside the
    /// scripts that publish).
    pub fn publish_command(&self) -> &'static str {
        if self.is_sharded() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// The shared command connection (a cheap handle; never for blocking commands).
    pub fn conn(&self) -> Conn {
        self.primary.read().expect("poisoned").commands.clone()
    }

    /// Runs a command with the command timeout.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, SaveError> {
        let mut conn = self.conn();
        tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("redis command timed out"))?
            .map_err(|e| self.failed(e))
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
            .map_err(|e| self.failed(e))
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, SaveError> {
        let mut conn = self.conn();
        tokio::time::timeout(COMMAND_TIMEOUT, invocation.invoke_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("redis script timed out"))?
            .map_err(|e| self.failed(e))
    }

    /// A connection of its own, for blocking commands: no response timeout (redis-rs gives a
    /// plain connection one of 500 ms unless told otherwise, which cut every longer
    /// `XREADGROUP ... BLOCK` short as an error); the caller bounds its wait. On Redis Cluster,
    /// a cluster connection of its own (none there either).
    pub async fn dedicated(&self) -> Result<Conn, SaveError> {
        if let Some(seeds) = &self.seeds {
            return Ok(Conn::Sharded(
                sharded_conn(seeds, None, None).map_err(unavailable)?,
            ));
        }
        let client = redis::Client::open(self.primary_info()).map_err(unavailable)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(None);
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(unavailable)?;
        Ok(Conn::Plain(conn))
    }

    /// A bus endpoint: its own RESP3 connection for subscriptions.
    /// The subscriber connection is named `<prefix>bus-<node>` (see CLIENT LIST).
    /// In Sentinel mode it moves to each new primary (see [`follow_switches`]).
    pub async fn bus(self: &Arc<Self>, node: &str) -> Result<RedisBus, BusError> {
        let fail = |e: redis::RedisError| BusError::Unavailable(e.to_string());
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let name = format!("{}bus-{node}", self.prefix).replace(|c: char| c.is_whitespace(), "_");
        let mut switches = self.switches.clone();
        switches.borrow_and_update();
        let subscriber = match &self.seeds {
            // One connection per shard (made as its slots are subscribed); it follows slot
            // moves and failovers and resubscribes by itself.
            Some(seeds) => Conn::Sharded(
                sharded_conn(seeds, Some(push_tx.clone()), Some(COMMAND_TIMEOUT)).map_err(fail)?,
            ),
            None => Conn::Managed(
                subscriber_manager(self.primary_info(), push_tx.clone(), &name)
                    .await
                    .map_err(fail)?,
            ),
        };
        let subscriber = Arc::new(RwLock::new(subscriber));
        // A subscriber only listens, so nothing would notice that a reconnect after Redis went
        // away gave up: a ping every second makes the manager reconnect (and resubscribe).
        let keepalive = Arc::downgrade(&subscriber);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SUBSCRIBER_KEEPALIVE).await;
                let Some(current) = keepalive.upgrade() else {
                    return;
                };
                let mut conn = current.read().expect("poisoned").clone();
                drop(current);
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
        let (resubscribed, resubscriptions) = watch::channel(0u64);
        let resubscribed = Arc::new(resubscribed);
        let prefix = self.prefix.clone();
        let resubscribed_on_push = resubscribed.clone();
        let channels = Arc::new(Mutex::new(HashSet::new()));
        let restore = self.is_sharded().then(|| Restore {
            subscriber: Arc::downgrade(&subscriber),
            channels: channels.clone(),
            running: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        });
        tokio::spawn(async move {
            let resubscribed = resubscribed_on_push;
            let mut disconnected = false;
            while let Some(push) = push_rx.recv().await {
                match push.kind {
                    // Redis Cluster: a shard's subscriber connection went away. Its channels
                    // are subscribed again here (not left to the client's own tracking, which
                    // does not say when it is done), then the sessions resync.
                    PushKind::Disconnection if restore.is_some() => {
                        if let Some(restore) = &restore {
                            restore.start(resubscribed.clone());
                        }
                    }
                    // Redis Cluster: the shard dropped a channel we still want (its slot moved,
                    // or the shard lost it while the cluster re-formed after a restart), with
                    // no disconnection for it. Every channel is subscribed again, then the
                    // sessions resync. Our own unsubscribes are of channels no longer wanted.
                    PushKind::SUnsubscribe if restore.is_some() => {
                        let channel = match push.data.first() {
                            Some(Value::BulkString(channel)) => String::from_utf8_lossy(channel),
                            _ => continue,
                        };
                        if let Some(restore) = &restore {
                            if restore.wants(&channel) {
                                tracing::info!(%channel, "bus: the cluster dropped a channel; subscribing again");
                                restore.start(resubscribed.clone());
                            }
                        }
                    }
                    PushKind::Disconnection => disconnected = true,
                    // The first confirmation after a disconnection: subscriptions are coming
                    // back, one channel per command. The sessions resync a little later, once
                    // the rest have landed too, or an update published to a channel not yet
                    // restored would be missed after the resync.
                    PushKind::Subscribe | PushKind::SSubscribe if disconnected => {
                        disconnected = false;
                        resync_later(resubscribed.clone());
                    }
                    PushKind::Message | PushKind::SMessage => {
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
        tokio::spawn(follow_switches(
            Arc::downgrade(self),
            switches,
            Arc::downgrade(&subscriber),
            channels.clone(),
            push_tx,
            name,
            resubscribed,
        ));
        Ok(RedisBus {
            cluster: self.clone(),
            subscriber,
            channels,
            incoming: Mutex::new(Some(rx)),
            resubscriptions,
        })
    }

    /// An actor's snapshot: `<prefix>{game:AbC}`, in its hash slot.
    fn snapshot_key(&self, actor: &str) -> String {
        self.tagged(actor, "")
    }

    /// An actor's lease, in the slot of its snapshot and fence counter.
    fn lease_key(&self, actor: &str) -> String {
        self.tagged(actor, ":lease")
    }

    /// An actor's fence counter, in the slot of its snapshot.
    fn fence_key(&self, actor: &str) -> String {
        self.tagged(actor, ":fence")
    }

    /// The queue-sizes hash.
    fn queue_sizes_key(&self) -> String {
        self.key("queue-sizes")
    }
}

/// Redis Cluster: subscribes every channel of the bus again after a shard's subscriber
/// connection dropped, once at a time, until all are back, then has the sessions resync.
struct Restore {
    subscriber: Weak<RwLock<Conn>>,
    channels: Arc<Mutex<HashSet<String>>>,
    running: Arc<std::sync::atomic::AtomicBool>,
}

impl Restore {
    fn wants(&self, channel: &str) -> bool {
        self.channels.lock().expect("poisoned").contains(channel)
    }

    fn start(&self, resubscribed: Arc<watch::Sender<u64>>) {
        use std::sync::atomic::Ordering;
        if self.running.swap(true, Ordering::AcqRel) {
            return; // one restore at a time: the running one takes every channel
        }
        let (subscriber, channels, running) = (
            self.subscriber.clone(),
            self.channels.clone(),
            self.running.clone(),
        );
        tokio::spawn(async move {
            // Let the client reconnect first (its own resubscriptions go out meanwhile). Then
            // twice: a cluster that is re-forming (every shard restarted) can drop a channel
            // just subscribed again without a word, so once it has settled every channel is
            // subscribed once more (a no-op for those still there) and the sessions resync
            // again, making up for any update lost in between.
            for wait in [RESYNC_AFTER_RESUBSCRIBE, RESTORE_SETTLE] {
                tokio::time::sleep(wait).await;
                let Some(wanted) = resubscribe_all(&subscriber, &channels).await else {
                    return;
                };
                tracing::info!(
                    channels = wanted,
                    "bus: every channel subscribed again on the cluster"
                );
                resubscribed.send_modify(|n| *n += 1);
            }
            running.store(false, Ordering::Release);
        });
    }
}

/// Subscribes every wanted channel again, until all are; how many there were (None once the
/// bus is gone).
async fn resubscribe_all(
    subscriber: &Weak<RwLock<Conn>>,
    channels: &Mutex<HashSet<String>>,
) -> Option<usize> {
    loop {
        let current = subscriber.upgrade()?;
        let conn = current.read().expect("poisoned").clone();
        drop(current);
        let wanted: Vec<String> = channels.lock().expect("poisoned").iter().cloned().collect();
        let mut failed = 0usize;
        for chunk in wanted.chunks(RESUBSCRIBE_CHUNK) {
            let sent = join_all(chunk.iter().map(|channel| {
                let mut conn = conn.clone();
                async move {
                    tokio::time::timeout(
                        COMMAND_TIMEOUT,
                        conn.subscribe(std::slice::from_ref(channel)),
                    )
                    .await
                    .map_err(|_| ())
                    .and_then(|r| r.map_err(|_| ()))
                }
            }))
            .await;
            failed += sent.iter().filter(|r| r.is_err()).count();
        }
        if failed == 0 {
            return Some(wanted.len());
        }
        tracing::warn!(failed, "bus: channels not subscribed again yet; retrying");
        tokio::time::sleep(SENTINEL_POLL).await;
    }
}

/// The sessions resync a moment after subscriptions start coming back.
fn resync_later(resubscribed: Arc<watch::Sender<u64>>) {
    tokio::spawn(async move {
        tokio::time::sleep(RESYNC_AFTER_RESUBSCRIBE).await;
        resubscribed.send_modify(|n| *n += 1);
    });
}

/// A RESP3 connection manager for subscriptions that resubscribes after a reconnect, named.
async fn subscriber_manager(
    info: ConnectionInfo,
    push: mpsc::UnboundedSender<redis::PushInfo>,
    name: &str,
) -> Result<ConnectionManager, redis::RedisError> {
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let client = redis::Client::open(info.set_redis_settings(settings))?;
    let config = ConnectionManagerConfig::new()
        .set_push_sender(push)
        .set_automatic_resubscription()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_max_delay(Duration::from_secs(1));
    let subscriber = client.get_connection_manager_with_config(config).await?;
    let mut named = subscriber.clone();
    if let Err(e) = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(name)
        .query_async::<()>(&mut named)
        .await
    {
        tracing::debug!(error = %e, "could not name the bus connection");
    }
    Ok(subscriber)
}

/// Sentinel mode: when the primary changes, a subscriber on the new one takes every channel
/// subscribed so far, replaces the old subscriber, and counts a resubscription (the sessions
/// resync). Ends with the bus or the cluster.
async fn follow_switches(
    cluster: Weak<RedisCluster>,
    mut switches: watch::Receiver<u64>,
    subscriber: Weak<RwLock<Conn>>,
    channels: Arc<Mutex<HashSet<String>>>,
    push: mpsc::UnboundedSender<redis::PushInfo>,
    name: String,
    resubscribed: Arc<watch::Sender<u64>>,
) {
    while switches.changed().await.is_ok() {
        loop {
            switches.borrow_and_update();
            let (Some(cluster), Some(current)) = (cluster.upgrade(), subscriber.upgrade()) else {
                return;
            };
            let info = cluster.primary_info();
            drop(cluster);
            let next = match subscriber_manager(info, push.clone(), &name).await {
                Ok(next) => Conn::Managed(next),
                Err(e) => {
                    tracing::warn!(error = %e, "bus: the new redis primary refused a subscriber; retrying");
                    tokio::time::sleep(SENTINEL_POLL).await;
                    continue;
                }
            };
            // From here on `subscribe` reaches the new subscriber; what was subscribed before
            // is in `channels` now (a channel taken twice is harmless).
            *current.write().expect("poisoned") = next.clone();
            drop(current);
            let all: Vec<String> = channels.lock().expect("poisoned").iter().cloned().collect();
            let mut failed = false;
            for chunk in all.chunks(RESUBSCRIBE_CHUNK) {
                let mut conn = next.clone();
                let done = tokio::time::timeout(COMMAND_TIMEOUT, conn.subscribe(chunk)).await;
                if !matches!(done, Ok(Ok(()))) {
                    failed = true;
                    break;
                }
            }
            if failed && !switches.has_changed().unwrap_or(true) {
                tracing::warn!("bus: resubscribing on the new redis primary failed; retrying");
                tokio::time::sleep(SENTINEL_POLL).await;
                continue;
            }
            tracing::info!(channels = all.len(), "bus moved to the new redis primary");
            resync_later(resubscribed.clone());
            break;
        }
    }
}

#[async_trait]
impl SnapshotStore for RedisCluster {
    async fn load(&self, key: &str) -> Result<Option<Stored>, SaveError> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.snapshot_key(key))
            .arg("data")
            .arg("fence")
            .arg("rev");
        let (data, fence, rev): (Option<Vec<u8>>, Option<u64>, Option<u64>) =
            self.run(&cmd).await?;
        Ok(data.map(|data| Stored {
            data,
            fence: fence.unwrap_or(0),
            rev: rev.unwrap_or(0),
        }))
    }

    async fn claim(&self, key: &str, fence: u64) -> Result<Option<Stored>, SaveError> {
        let mut invocation = self.claim.key(self.snapshot_key(key));
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
        let (outcome, stored): (String, u64) = match &self.durable {
            // Acknowledged once the replicas asked for hold it (see `durable_writer`).
            Some(_) => {
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(SAVE)
                    .arg(2)
                    .arg(self.snapshot_key(key))
                    .arg(self.fence_key(key))
                    .arg(data)
                    .arg(fence)
                    .arg(rev)
                    .arg(ttl_ms)
                    .arg(FENCE_GRACE_MS);
                redis::from_redis_value(self.durable(cmd).await?).map_err(unavailable)?
            }
            None => {
                let mut invocation = self.save.key(self.snapshot_key(key));
                invocation
                    .key(self.fence_key(key))
                    .arg(data)
                    .arg(fence)
                    .arg(rev)
                    .arg(ttl_ms)
                    .arg(FENCE_GRACE_MS);
                self.invoke(invocation).await?
            }
        };
        match outcome.as_str() {
            "ok" => Ok(()),
            "fenced" => Err(SaveError::Fenced {
                stored,
                ours: fence,
            }),
            _ => Err(SaveError::Stale { stored, ours: rev }),
        }
    }

    async fn put(&self, actor: &str, data: Vec<u8>, ttl: Duration) -> Result<(), SaveError> {
        let mut pipe = redis::pipe();
        let key = self.snapshot_key(actor);
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
            .ignore()
            .cmd("PEXPIRE")
            .arg(self.fence_key(actor))
            .arg(ttl.as_millis() as u64 + FENCE_GRACE_MS)
            .ignore();
        self.run_pipe(&pipe).await
    }

    async fn delete(&self, key: &str) -> Result<(), SaveError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(self.snapshot_key(key))
            .ignore()
            .cmd("PEXPIRE")
            .arg(self.fence_key(key))
            .arg(FENCE_GRACE_MS)
            .ignore();
        self.run_pipe(&pipe).await
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
        let mut invocation = self.acquire.key(self.lease_key(key));
        invocation
            .key(self.fence_key(key))
            .key(self.snapshot_key(key))
            .arg(node)
            .arg(ttl.as_millis() as u64)
            .arg(FENCE_GRACE_MS);
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
        let ttl_ms = ttl.as_millis() as u64;
        let invocation = |leases: &[Lease]| {
            let mut invocation = self.renew_many.prepare_invoke();
            invocation.arg(ttl_ms);
            for lease in leases {
                invocation
                    .key(self.lease_key(&lease.key))
                    .arg(holder(node, lease));
            }
            invocation
        };
        if !self.is_sharded() {
            let renewed: Vec<i64> = self.invoke(invocation(leases)).await?;
            return Ok(renewed.into_iter().map(|n| n == 1).collect());
        }
        // Each lease is in its own actor's slot: one script each, all sent at once.
        let answers = join_all(leases.chunks(1).map(|one| async move {
            let renewed: Vec<i64> = self.invoke(invocation(one)).await?;
            Ok::<_, SaveError>(renewed.first() == Some(&1))
        }))
        .await;
        answers.into_iter().collect()
    }

    async fn release(&self, lease: &Lease, node: &str) -> Result<(), SaveError> {
        let mut invocation = self.release.key(self.lease_key(&lease.key));
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
    /// Subscriptions only; reconnects and resubscribes by itself, and is replaced when the
    /// primary changes (Sentinel mode).
    subscriber: Arc<RwLock<Conn>>,
    /// Every channel subscribed (with the prefix), to take along to a new primary.
    channels: Arc<Mutex<HashSet<String>>>,
    incoming: Mutex<Option<mpsc::UnboundedReceiver<Incoming>>>,
    resubscriptions: tokio::sync::watch::Receiver<u64>,
}

fn bus_error(e: SaveError) -> BusError {
    BusError::Unavailable(e.to_string())
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<usize, BusError> {
        let mut cmd = redis::cmd(self.cluster.publish_command());
        cmd.arg(self.cluster.key(channel)).arg(payload);
        let receivers: i64 = self.cluster.run(&cmd).await.map_err(bus_error)?;
        Ok(receivers.max(0) as usize)
    }

    /// One pipeline on the shared connection: the messages leave in order, back to back. On
    /// Redis Cluster a pipeline must stay in one slot: one pipeline per channel (so each
    /// channel's messages keep their order), all sent at once.
    async fn publish_many(&self, messages: Vec<(String, Vec<u8>)>) -> Result<Vec<usize>, BusError> {
        let command = self.cluster.publish_command();
        if !self.cluster.is_sharded() {
            let mut pipe = redis::pipe();
            for (channel, payload) in messages {
                pipe.cmd(command)
                    .arg(self.cluster.key(&channel))
                    .arg(payload);
            }
            let receivers: Vec<i64> = self.cluster.run_pipe(&pipe).await.map_err(bus_error)?;
            return Ok(receivers.into_iter().map(|n| n.max(0) as usize).collect());
        }
        let count = messages.len();
        let mut by_channel: std::collections::HashMap<String, Vec<(usize, Vec<u8>)>> =
            std::collections::HashMap::new();
        for (i, (channel, payload)) in messages.into_iter().enumerate() {
            by_channel.entry(channel).or_default().push((i, payload));
        }
        let sent = by_channel.into_iter().map(|(channel, batch)| async move {
            let key = self.cluster.key(&channel);
            let mut pipe = redis::pipe();
            let mut positions = Vec::with_capacity(batch.len());
            for (i, payload) in batch {
                pipe.cmd(command).arg(&key).arg(payload);
                positions.push(i);
            }
            let receivers: Vec<i64> = self.cluster.run_pipe(&pipe).await?;
            Ok::<_, SaveError>((positions, receivers))
        });
        let mut receivers = vec![0; count];
        for outcome in join_all(sent).await {
            let (positions, counts) = outcome.map_err(bus_error)?;
            for (at, n) in positions.into_iter().zip(counts) {
                receivers[at] = n.max(0) as usize;
            }
        }
        Ok(receivers)
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BusError> {
        let channel = self.cluster.key(channel);
        self.channels
            .lock()
            .expect("poisoned")
            .insert(channel.clone());
        let mut subscriber = self.subscriber.read().expect("poisoned").clone();
        tokio::time::timeout(COMMAND_TIMEOUT, subscriber.subscribe(&[channel]))
            .await
            .map_err(|_| BusError::Unavailable("subscribe timed out".into()))?
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BusError> {
        let channel = self.cluster.key(channel);
        self.channels.lock().expect("poisoned").remove(&channel);
        let mut subscriber = self.subscriber.read().expect("poisoned").clone();
        tokio::time::timeout(COMMAND_TIMEOUT, subscriber.unsubscribe(&[channel]))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_slots_are_those_redis_computes() {
        // CLUSTER KEYSLOT answers, and the specification's CRC16 check value (0x31C3).
        assert_eq!(hash_slot(b"foo"), 12182);
        assert_eq!(hash_slot(b"123456789"), 0x31C3 % SLOTS);
        assert_eq!(hash_slot(b""), 0);
    }
}
