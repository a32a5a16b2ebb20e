//! The Redis jobs backend (the cluster default): every operation is one Lua script on the
//! cluster's shared connection, under its key prefix. Per tube, sorted sets hold the ready
//! jobs (score: priority; member: the zero-padded id, so equal priorities leave oldest id
//! first), the delayed ones (score: when they become ready), the reserved ones (score: when
//! their TTR runs out) and the buried ones (score: when buried); a hash per job holds the
//! rest.
//!
//! Time is Redis's own (`TIME` inside the scripts), so nodes with skewed clocks agree on what
//! is due. Nothing sweeps: each script that looks at a tube first makes its due delayed jobs and
//! expired reservations ready (in the same atomic step), so a job whose TTR ran out goes back
//! to ready at the next reserve, stats or list of its tube, and a late holder's delete is
//! refused. A blocked reserve issues no command while it waits: it sleeps on a pub/sub wakeup
//! (`<prefix>{jobs}:wake:<tube>`, published by the scripts that make a job ready) and on a timer
//! set to the earliest delayed job or reservation deadline that the failed try reported (see
//! `wake.rs`). The subscription is a connection of its own (the bus's RESP3 connection
//! manager, which resubscribes after a reconnect; every waiter retries then), so no blocking
//! command ever sits on the shared connection and its response timeout.
//!
//! Job hashes are addressed inside the scripts from a key prefix: every key carries the
//! `{jobs}` hash tag, so on Redis Cluster they all live in one slot, where a script may reach
//! keys it was not given; wakeups are then sharded channels (`SPUBLISH`) in that slot too.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::{FromRedisValue, Script, Value};

use super::wake::{Attempt, Wakeups};
use super::{
    millis, JobId, JobInfo, JobState, Jobs, JobsError, PutOptions, Reserved, Token, Tube, TubeStats,
};
use crate::cluster::redis::{RedisBus, RedisCluster};
use crate::cluster::Bus;

/// A script may take this long before the caller hears `unavailable` (as `cluster::redis`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Jobs a script moves from delayed or reserved to ready per tube per call; more wait for the
/// next call, so one script never runs long.
const SETTLE_BATCH: u32 = 1000;

/// Shared by every script: Redis's clock in ms, and settling a tube (due delayed jobs and
/// expired reservations become ready).
const PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function make_ready(key, from, ready, m)
  redis.call('ZREM', from, m)
  local pri = redis.call('HGET', key, 'pri')
  if pri then
    redis.call('ZADD', ready, pri, m)
    redis.call('HSET', key, 'state', 'ready')
    redis.call('HDEL', key, 'at')
  end
end
local function settle(ready, delayed, reserved, jp, now)
  for _, zset in ipairs({delayed, reserved}) do
    local due = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, SETTLE_BATCH)
    for _, m in ipairs(due) do make_ready(jp .. m, zset, ready, m) end
  end
end
-- Whether (member, attempts) still holds a reservation; one whose TTR ran out is made ready
-- here, as the next reserve would. KEYS: job, ready, delayed, reserved, buried.
local function holds(m, attempts, wake, now)
  local j = redis.call('HMGET', KEYS[1], 'state', 'attempts', 'at')
  if j[1] ~= 'reserved' or tonumber(j[2]) ~= tonumber(attempts) then return false end
  if tonumber(j[3]) <= now then
    make_ready(KEYS[1], KEYS[4], KEYS[2], m)
    redis.call('PUBLISH_COMMAND', wake, '')
    return false
  end
  return true
end
"#;

/// KEYS next-id, ready, delayed; ARGV job prefix, tube, body, priority, delay ms, ttr ms, wake.
const PUT: &str = r#"
local now = now_ms()
local id = redis.call('INCR', KEYS[1])
local m = string.format('%020d', id)
local key = ARGV[1] .. m
redis.call('HSET', key, 'tube', ARGV[2], 'body', ARGV[3], 'pri', ARGV[4], 'ttr', ARGV[6],
  'attempts', 0, 'created', now)
local delay = tonumber(ARGV[5])
if delay > 0 then
  redis.call('HSET', key, 'state', 'delayed', 'at', now + delay)
  redis.call('ZADD', KEYS[3], now + delay, m)
else
  redis.call('HSET', key, 'state', 'ready')
  redis.call('ZADD', KEYS[2], ARGV[4], m)
  redis.call('PUBLISH_COMMAND', ARGV[7], '')
end
return id
"#;

/// KEYS (ready, delayed, reserved) per watched tube; ARGV job prefix, then the tube names.
/// Found: {1, member, tube index, body, priority, attempts, ttr, error, more ready}.
/// Nothing: {0, now, the earliest delayed or reservation instant or -1}.
const RESERVE: &str = r#"
local now = now_ms()
local jp = ARGV[1]
local n = #KEYS / 3
local best, best_pri, best_i
for i = 0, n - 1 do
  local ready = KEYS[3 * i + 1]
  settle(ready, KEYS[3 * i + 2], KEYS[3 * i + 3], jp, now)
  local head = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  if head[1] then
    local pri = tonumber(head[2])
    if not best or pri < best_pri or (pri == best_pri and head[1] < best) then
      best, best_pri, best_i = head[1], pri, i
    end
  end
end
if not best then
  local next = -1
  for i = 0, n - 1 do
    for _, zset in ipairs({KEYS[3 * i + 2], KEYS[3 * i + 3]}) do
      local head = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
      if head[1] and (next < 0 or tonumber(head[2]) < next) then next = tonumber(head[2]) end
    end
  end
  return {0, now, next}
end
local key = jp .. best
redis.call('ZREM', KEYS[3 * best_i + 1], best)
local ttr = tonumber(redis.call('HGET', key, 'ttr'))
redis.call('ZADD', KEYS[3 * best_i + 3], now + ttr, best)
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'state', 'reserved', 'at', now + ttr)
local more = 0
for i = 0, n - 1 do more = more + redis.call('ZCARD', KEYS[3 * i + 1]) end
local j = redis.call('HMGET', key, 'body', 'pri', 'error')
return {1, best, best_i, j[1], tonumber(j[2]), attempts, ttr, j[3], more}
"#;

/// KEYS job, ready, delayed, reserved, buried; ARGV member, attempts, wake. 1 deleted, 0 lost.
const DELETE: &str = r#"
local now = now_ms()
if not holds(ARGV[1], ARGV[2], ARGV[3], now) then return 0 end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
"#;

/// KEYS as DELETE; ARGV member, attempts, wake, priority, delay ms, error, has error (1/0).
const RELEASE: &str = r#"
local now = now_ms()
local m = ARGV[1]
if not holds(m, ARGV[2], ARGV[3], now) then return 0 end
redis.call('ZREM', KEYS[4], m)
redis.call('HSET', KEYS[1], 'pri', ARGV[4])
if ARGV[7] == '1' then redis.call('HSET', KEYS[1], 'error', ARGV[6]) end
local delay = tonumber(ARGV[5])
if delay > 0 then
  redis.call('HSET', KEYS[1], 'state', 'delayed', 'at', now + delay)
  redis.call('ZADD', KEYS[3], now + delay, m)
else
  redis.call('HSET', KEYS[1], 'state', 'ready')
  redis.call('HDEL', KEYS[1], 'at')
  redis.call('ZADD', KEYS[2], ARGV[4], m)
  redis.call('PUBLISH_COMMAND', ARGV[3], '')
end
return 1
"#;

/// KEYS as DELETE; ARGV member, attempts, wake, priority, error, has error (1/0).
const BURY: &str = r#"
local now = now_ms()
local m = ARGV[1]
if not holds(m, ARGV[2], ARGV[3], now) then return 0 end
redis.call('ZREM', KEYS[4], m)
redis.call('HSET', KEYS[1], 'pri', ARGV[4], 'state', 'buried', 'at', now)
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'error', ARGV[5]) end
redis.call('ZADD', KEYS[5], now, m)
return 1
"#;

/// KEYS as DELETE; ARGV member, attempts, wake.
const TOUCH: &str = r#"
local now = now_ms()
if not holds(ARGV[1], ARGV[2], ARGV[3], now) then return 0 end
local deadline = now + tonumber(redis.call('HGET', KEYS[1], 'ttr'))
redis.call('HSET', KEYS[1], 'at', deadline)
redis.call('ZADD', KEYS[4], deadline, ARGV[1])
return 1
"#;

/// KEYS ready, delayed, reserved, buried; ARGV job prefix, bound, wake. Buried first (oldest
/// burial first), else delayed (soonest first), as beanstalkd's kick.
const KICK: &str = r#"
local now = now_ms()
settle(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now)
local n = 0
for _, from in ipairs({KEYS[4], KEYS[2]}) do
  for _, m in ipairs(redis.call('ZRANGE', from, 0, tonumber(ARGV[2]) - 1)) do
    make_ready(ARGV[1] .. m, from, KEYS[1], m)
    n = n + 1
  end
  if n > 0 then break end
end
if n > 0 then redis.call('PUBLISH_COMMAND', ARGV[3], '') end
return n
"#;

/// KEYS job, ready, delayed, reserved, buried; ARGV member, job prefix, wake.
const KICK_JOB: &str = r#"
local now = now_ms()
settle(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now)
local state = redis.call('HGET', KEYS[1], 'state')
local from
if state == 'buried' then from = KEYS[5] elseif state == 'delayed' then from = KEYS[3] else return 0 end
make_ready(KEYS[1], from, KEYS[2], ARGV[1])
redis.call('PUBLISH_COMMAND', ARGV[3], '')
return 1
"#;

/// KEYS job, ready, delayed, reserved, buried; ARGV member.
const DELETE_JOB: &str = r#"
for i = 2, 5 do redis.call('ZREM', KEYS[i], ARGV[1]) end
return redis.call('DEL', KEYS[1])
"#;

/// KEYS ready, delayed, reserved, buried; ARGV job prefix. The four counts.
const STATS: &str = r#"
settle(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now_ms())
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4])}
"#;

/// KEYS ready, delayed, reserved, buried; ARGV job prefix, which KEY (1-4), limit.
/// One {member, score, priority, attempts, error} per job, in the set's order.
const LIST: &str = r#"
settle(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now_ms())
local out = {}
local members = redis.call('ZRANGE', KEYS[tonumber(ARGV[2])], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
for i = 1, #members, 2 do
  local j = redis.call('HMGET', ARGV[1] .. members[i], 'pri', 'attempts', 'error', 'created')
  table.insert(out, {members[i], tonumber(members[i + 1]), tonumber(j[1]), tonumber(j[2]), j[3],
    tonumber(j[4])})
end
return out
"#;

struct Scripts {
    put: Script,
    reserve: Script,
    delete: Script,
    release: Script,
    bury: Script,
    touch: Script,
    kick: Script,
    kick_job: Script,
    delete_job: Script,
    stats: Script,
    list: Script,
}

impl Scripts {
    /// The scripts, publishing wakeups with `publish` (`SPUBLISH` on Redis Cluster).
    fn new(publish: &str) -> Self {
        let with_prelude = |body: &str| {
            let prelude = PRELUDE.replace("SETTLE_BATCH", &SETTLE_BATCH.to_string());
            Script::new(&format!("{prelude}{body}").replace("PUBLISH_COMMAND", publish))
        };
        Scripts {
            put: with_prelude(PUT),
            reserve: with_prelude(RESERVE),
            delete: with_prelude(DELETE),
            release: with_prelude(RELEASE),
            bury: with_prelude(BURY),
            touch: with_prelude(TOUCH),
            kick: with_prelude(KICK),
            kick_job: with_prelude(KICK_JOB),
            delete_job: with_prelude(DELETE_JOB),
            stats: with_prelude(STATS),
            list: with_prelude(LIST),
        }
    }
}

/// The Redis backend: scripts on the cluster's shared connection, wakeups over its own
/// subscription.
pub struct RedisJobs {
    cluster: Arc<RedisCluster>,
    /// Carries the wake channels only.
    bus: RedisBus,
    /// Wake channels subscribed so far: tubes are few, so none is ever unsubscribed.
    subscribed: tokio::sync::Mutex<HashSet<Tube>>,
    wakeups: Arc<Wakeups>,
    scripts: Scripts,
}

fn unavailable(e: impl std::fmt::Display) -> JobsError {
    JobsError::Unavailable(e.to_string())
}

fn member(id: JobId) -> String {
    format!("{id:020}")
}

fn parse_member(m: &[u8]) -> Result<JobId, JobsError> {
    std::str::from_utf8(m)
        .ok()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| JobsError::Protocol(format!("job member {m:?}")))
}

/// Element `i` of a script's array reply, converted.
fn at<T: FromRedisValue>(reply: &[Value], i: usize) -> Result<T, JobsError> {
    let value = reply
        .get(i)
        .ok_or_else(|| JobsError::Protocol(format!("short script reply: {reply:?}")))?;
    T::from_redis_value_ref(value).map_err(|e| JobsError::Protocol(e.to_string()))
}

/// Every key and wake channel of the queue carries this hash tag: a script touches a job's
/// hash, its tube's sets and its wake channel at once, so on Redis Cluster they share a slot
/// (deferred work is light beside play; one shard carries it).
const TAG: &str = "{jobs}";
const WAKE: &str = "{jobs}:wake:";

impl RedisJobs {
    /// Opens the wake subscription (a connection of its own, named `<prefix>bus-jobs-<name>`).
    pub async fn new(cluster: Arc<RedisCluster>, name: &str) -> Result<Self, JobsError> {
        let bus = cluster
            .bus(&format!("jobs-{name}"))
            .await
            .map_err(unavailable)?;
        let wakeups = Arc::new(Wakeups::default());
        let mut incoming = bus
            .take_incoming()
            .ok_or_else(|| unavailable("the wake subscription has no stream"))?;
        let woken = wakeups.clone();
        tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                let tube = message.channel.strip_prefix(WAKE).map(Tube::parse);
                if let Some(Ok(tube)) = tube {
                    woken.notify(&tube);
                }
            }
        });
        if let Some(mut resubscriptions) = bus.resubscriptions() {
            let woken = wakeups.clone();
            tokio::spawn(async move {
                while resubscriptions.changed().await.is_ok() {
                    tracing::debug!("jobs wake channels resubscribed: every waiter retries");
                    woken.notify_all();
                }
            });
        }
        let scripts = Scripts::new(cluster.publish_command());
        Ok(RedisJobs {
            cluster,
            bus,
            subscribed: tokio::sync::Mutex::default(),
            wakeups,
            scripts,
        })
    }

    fn job_prefix(&self) -> String {
        self.cluster.key(&format!("{TAG}:job:"))
    }

    fn job_key(&self, id: JobId) -> String {
        self.cluster.key(&format!("{TAG}:job:{}", member(id)))
    }

    fn set_key(&self, state: JobState, tube: &Tube) -> String {
        self.cluster
            .key(&format!("{TAG}:{}:{tube}", state.as_str()))
    }

    fn wake_channel(&self, tube: &Tube) -> String {
        self.cluster.key(&format!("{WAKE}{tube}"))
    }

    /// The four state sets of a tube, in the scripts' order: ready, delayed, reserved, buried.
    fn sets(&self, tube: &Tube) -> [String; 4] {
        JobState::ALL.map(|state| self.set_key(state, tube))
    }

    async fn invoke<T: FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, JobsError> {
        let mut conn = self.cluster.conn();
        tokio::time::timeout(COMMAND_TIMEOUT, invocation.invoke_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("redis script timed out"))?
            .map_err(unavailable)
    }

    /// A fenced script (delete, release, bury, touch) for `token`, with its keys and first
    /// arguments (member, attempts, wake channel); the caller adds the rest.
    fn fenced<'a>(&self, script: &'a Script, token: &Token) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.key(self.job_key(token.id));
        for set in self.sets(&token.tube) {
            invocation.key(set);
        }
        invocation
            .arg(member(token.id))
            .arg(token.reservation)
            .arg(self.wake_channel(&token.tube));
        invocation
    }

    /// Runs a fenced script: 1 when the token held the job, else the reservation is lost.
    async fn run_fenced(
        &self,
        invocation: redis::ScriptInvocation<'_>,
        token: &Token,
    ) -> Result<(), JobsError> {
        match self.invoke::<i64>(invocation).await? {
            1 => Ok(()),
            _ => Err(JobsError::ReservationLost { id: token.id }),
        }
    }

    /// Subscribes to the wake channels of `tubes` not yet subscribed, before the first try, so
    /// that no put between a failed try and the wait goes unheard.
    async fn watch(&self, tubes: &[Tube]) -> Result<(), JobsError> {
        let mut subscribed = self.subscribed.lock().await;
        for tube in tubes {
            if !subscribed.contains(tube) {
                self.bus
                    .subscribe(&format!("{WAKE}{tube}"))
                    .await
                    .map_err(unavailable)?;
                subscribed.insert(tube.clone());
            }
        }
        Ok(())
    }

    async fn attempt(&self, tubes: &[Tube]) -> Result<Attempt, JobsError> {
        let mut invocation = self.scripts.reserve.prepare_invoke();
        for tube in tubes {
            let [ready, delayed, reserved, _] = self.sets(tube);
            invocation.key(ready).key(delayed).key(reserved);
        }
        invocation.arg(self.job_prefix());
        for tube in tubes {
            invocation.arg(tube.as_str());
        }
        let reply: Vec<Value> = self.invoke(invocation).await?;
        if at::<i64>(&reply, 0)? == 0 {
            let now: i64 = at(&reply, 1)?;
            let next: i64 = at(&reply, 2)?;
            let next_in = (next >= 0).then(|| Duration::from_millis((next - now).max(0) as u64));
            return Ok(Attempt::Empty { next_in });
        }
        let id = parse_member(&at::<Vec<u8>>(&reply, 1)?)?;
        let tube = tubes
            .get(at::<usize>(&reply, 2)?)
            .cloned()
            .ok_or_else(|| JobsError::Protocol("tube index out of range".into()))?;
        let attempts: u32 = at(&reply, 5)?;
        Ok(Attempt::Got {
            job: Reserved {
                token: Token {
                    id,
                    tube,
                    reservation: attempts,
                },
                body: at(&reply, 3)?,
                priority: at(&reply, 4)?,
                attempts,
                ttr: Duration::from_millis(at(&reply, 6)?),
                last_error: at(&reply, 7)?,
            },
            more: at::<i64>(&reply, 8)? > 0,
        })
    }
}

#[async_trait]
impl Jobs for RedisJobs {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn put(
        &self,
        tube: &Tube,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<JobId, JobsError> {
        let mut invocation = self
            .scripts
            .put
            .key(self.cluster.key(&format!("{TAG}:next-id")));
        invocation
            .key(self.set_key(JobState::Ready, tube))
            .key(self.set_key(JobState::Delayed, tube))
            .arg(self.job_prefix())
            .arg(tube.as_str())
            .arg(body)
            .arg(options.priority)
            .arg(millis(options.delay))
            .arg(millis(options.ttr).max(1))
            .arg(self.wake_channel(tube));
        self.invoke(invocation).await
    }

    async fn reserve(
        &self,
        tubes: &[Tube],
        timeout: Duration,
    ) -> Result<Option<Reserved>, JobsError> {
        self.watch(tubes).await?;
        self.wakeups
            .reserve(tubes, timeout, || self.attempt(tubes))
            .await
    }

    async fn delete(&self, token: &Token) -> Result<(), JobsError> {
        let invocation = self.fenced(&self.scripts.delete, token);
        self.run_fenced(invocation, token).await
    }

    async fn release(
        &self,
        token: &Token,
        priority: u32,
        delay: Duration,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let mut invocation = self.fenced(&self.scripts.release, token);
        invocation
            .arg(priority)
            .arg(millis(delay))
            .arg(error.unwrap_or(""))
            .arg(u8::from(error.is_some()));
        self.run_fenced(invocation, token).await
    }

    async fn bury(
        &self,
        token: &Token,
        priority: u32,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let mut invocation = self.fenced(&self.scripts.bury, token);
        invocation
            .arg(priority)
            .arg(error.unwrap_or(""))
            .arg(u8::from(error.is_some()));
        self.run_fenced(invocation, token).await
    }

    async fn touch(&self, token: &Token) -> Result<(), JobsError> {
        let invocation = self.fenced(&self.scripts.touch, token);
        self.run_fenced(invocation, token).await
    }

    async fn kick(&self, tube: &Tube, bound: u32) -> Result<u32, JobsError> {
        if bound == 0 {
            return Ok(0);
        }
        let mut invocation = self.scripts.kick.prepare_invoke();
        for set in self.sets(tube) {
            invocation.key(set);
        }
        invocation
            .arg(self.job_prefix())
            .arg(bound)
            .arg(self.wake_channel(tube));
        self.invoke(invocation).await
    }

    async fn kick_job(&self, id: JobId) -> Result<bool, JobsError> {
        let Some(tube) = self.tube_of(id).await? else {
            return Ok(false);
        };
        let mut invocation = self.scripts.kick_job.key(self.job_key(id));
        for set in self.sets(&tube) {
            invocation.key(set);
        }
        invocation
            .arg(member(id))
            .arg(self.job_prefix())
            .arg(self.wake_channel(&tube));
        Ok(self.invoke::<i64>(invocation).await? == 1)
    }

    async fn stats(&self, tube: &Tube) -> Result<TubeStats, JobsError> {
        let mut invocation = self.scripts.stats.prepare_invoke();
        for set in self.sets(tube) {
            invocation.key(set);
        }
        invocation.arg(self.job_prefix());
        let [ready, delayed, reserved, buried]: [u64; 4] = self.invoke(invocation).await?;
        Ok(TubeStats {
            ready,
            delayed,
            reserved,
            buried,
        })
    }

    async fn list(
        &self,
        tube: &Tube,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<JobInfo>, JobsError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let which = JobState::ALL
            .iter()
            .position(|s| *s == state)
            .expect("every state is in ALL")
            + 1;
        let mut invocation = self.scripts.list.prepare_invoke();
        for set in self.sets(tube) {
            invocation.key(set);
        }
        invocation.arg(self.job_prefix()).arg(which).arg(limit);
        let rows: Vec<Vec<Value>> = self.invoke(invocation).await?;
        rows.iter()
            .map(|row| {
                let score: i64 = at(row, 1)?;
                Ok(JobInfo {
                    id: parse_member(&at::<Vec<u8>>(row, 0)?)?,
                    tube: tube.clone(),
                    state,
                    priority: at(row, 2)?,
                    attempts: at(row, 3)?,
                    last_error: at(row, 4)?,
                    run_at: matches!(state, JobState::Delayed | JobState::Reserved)
                        .then_some(score as u64),
                    put_at: at(row, 5)?,
                })
            })
            .collect()
    }

    async fn delete_job(&self, id: JobId) -> Result<bool, JobsError> {
        let Some(tube) = self.tube_of(id).await? else {
            return Ok(false);
        };
        let mut invocation = self.scripts.delete_job.key(self.job_key(id));
        for set in self.sets(&tube) {
            invocation.key(set);
        }
        invocation.arg(member(id));
        Ok(self.invoke::<i64>(invocation).await? == 1)
    }
}

impl RedisJobs {
    /// A job's tube (fixed at put, so reading it before a script races with nothing but the
    /// job's deletion, which the script then sees).
    async fn tube_of(&self, id: JobId) -> Result<Option<Tube>, JobsError> {
        let mut conn = self.cluster.conn();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.job_key(id)).arg("tube");
        let tube: Option<String> =
            tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async(&mut conn))
                .await
                .map_err(|_| unavailable("redis command timed out"))?
                .map_err(unavailable)?;
        tube.map(|t| Tube::parse(&t)).transpose()
    }
}
