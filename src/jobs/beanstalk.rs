//! The beanstalkd backend (`ROOKERY_JOBS_URL=beanstalk://host:port`): its text protocol spoken
//! over tokio TCP. The crates.io clients were not usable (tokio-beanstalkd 0.4 is on tokio 0.1;
//! beanstalkc is blocking), and the protocol is small.
//!
//! **Fencing.** beanstalkd binds a reservation to the connection that made it: only that
//! connection may release, bury or touch the job, and a job whose TTR ran out is handed to
//! others. So each reservation keeps its connection (from a pool) until it is finished, and
//! the token (job id, beanstalkd's `reserves` count read by `stats-job` right after the
//! reserve) finds that connection again. Release, bury and touch are then fenced by beanstalkd
//! itself. `delete` is not: beanstalkd lets anyone delete a ready job, so a holder whose TTR
//! ran out, but whose job nobody took yet, would delete a job it no longer holds. A delete is
//! therefore preceded by a `touch`, which succeeds only while this connection holds the job and
//! gives it a full TTR again; the `delete` follows one round trip later. **The race left**: a
//! holder that stalls for a whole TTR (at least 1 s) between that `TOUCHED` and its `delete`
//! reaching beanstalkd deletes a job that went back to ready meanwhile. A process that dies
//! closes its connections, and beanstalkd puts their jobs back at once, without waiting for the
//! TTR.
//!
//! **A beanstalkd bug worked around.** beanstalkd (1.12, and its current source) can forget
//! to expire the reservation of an idle connection: when its event loop runs the connection's
//! timer in the few nanoseconds between the instant it scheduled and the job's deadline, it
//! finds nothing due and never schedules the connection again, so the job stays reserved
//! until that connection next sends a command (about 1 reservation in 6 here). So a timer per
//! reservation sends a no-op (`list-tube-used`) on its connection just after the TTR, and
//! beanstalkd looks again.
//!
//! **What it cannot do like the others.** Times are whole seconds (delay, TTR, the reserve
//! timeout are rounded up; the TTR is at least 1 s). `last_error` has no place in beanstalkd:
//! it is kept in this process (the newest few thousand), so another node does not see it.
//! Listing: beanstalkd lists no jobs, it only peeks at the head of a tube's ready, delayed and
//! buried queues. `list` reads `stats-job` for every id among the newest
//! [`LIST_WINDOW`] (pipelined), plus the peeked heads, so it misses jobs older than that
//! window that are not at a head. `delete_job` of a job reserved by another client (another
//! node) is refused with `ReservedElsewhere`: beanstalkd lets only the holder delete it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{
    JobId, JobInfo, JobState, Jobs, JobsError, PutOptions, Reserved, Token, Tube, TubeStats,
};
use crate::domain::now_ms;

/// beanstalkd's port.
pub const DEFAULT_PORT: u16 = 11300;
/// How many of the newest job ids `list` examines.
pub const LIST_WINDOW: u64 = 10_000;
/// A command (other than a blocking reserve) may take this long before the caller hears
/// `unavailable`; its connection is then dropped, its state unknown.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept for reuse; more are closed when returned.
const MAX_IDLE: usize = 32;
/// `last_error`s kept in this process.
const ERRORS_KEPT: usize = 10_000;
/// A reservation this long past its TTR is certainly released by beanstalkd, so its
/// connection goes back to the pool and a late token finds nothing.
const FORGET_AFTER: Duration = Duration::from_secs(2);
/// `stats-job` commands in flight at once while listing.
const LIST_BATCH: u64 = 256;
/// How long after a reservation's TTR its connection is nudged (see the module doc).
const NUDGE_AFTER: Duration = Duration::from_millis(100);
/// Longest response line beanstalkd sends (its longest is a 200-byte tube name and a word).
const MAX_LINE: usize = 1024;

fn unavailable(e: impl std::fmt::Display) -> JobsError {
    JobsError::Unavailable(e.to_string())
}

fn protocol(what: impl std::fmt::Display) -> JobsError {
    JobsError::Protocol(what.to_string())
}

/// One response: its first word, the words after it, and the data block that `RESERVED`,
/// `FOUND` and `OK` carry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub word: String,
    pub args: Vec<String>,
    pub body: Option<Vec<u8>>,
}

impl Response {
    fn arg<T: std::str::FromStr>(&self, i: usize) -> Result<T, JobsError> {
        self.args
            .get(i)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| protocol(format!("{} without a valid argument {i}", self.word)))
    }

    fn unexpected(&self, during: &str) -> JobsError {
        match self.word.as_str() {
            "OUT_OF_MEMORY" | "INTERNAL_ERROR" | "DRAINING" => {
                unavailable(format!("beanstalkd answered {} to {during}", self.word))
            }
            "JOB_TOO_BIG" => JobsError::TooBig { size: 0 },
            _ => protocol(format!("{} {:?} to {during}", self.word, self.args)),
        }
    }
}

/// Parses one response from the front of `buf`: None while it is incomplete, else the
/// response and how many bytes it took.
pub(crate) fn parse_response(buf: &[u8]) -> Result<Option<(Response, usize)>, JobsError> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() > MAX_LINE {
            return Err(protocol("response line too long"));
        }
        return Ok(None);
    };
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| protocol("non-UTF-8 line"))?;
    let mut words = line.split(' ');
    let word = words.next().unwrap_or_default().to_owned();
    if word.is_empty() {
        return Err(protocol("empty response line"));
    }
    let args: Vec<String> = words.map(str::to_owned).collect();
    let carries = match word.as_str() {
        "RESERVED" | "FOUND" => Some(1),
        "OK" => Some(0),
        _ => None,
    };
    let Some(len_at) = carries else {
        return Ok(Some((
            Response {
                word,
                args,
                body: None,
            },
            end + 2,
        )));
    };
    let len: usize = args
        .get(len_at)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| protocol(format!("{word} without a length")))?;
    let start = end + 2;
    let Some(total) = start.checked_add(len).and_then(|n| n.checked_add(2)) else {
        return Err(protocol("impossible length"));
    };
    if buf.len() < total {
        return Ok(None);
    }
    if &buf[start + len..total] != b"\r\n" {
        return Err(protocol(format!("{word} data not followed by CRLF")));
    }
    let body = buf[start..start + len].to_vec();
    Ok(Some((
        Response {
            word,
            args,
            body: Some(body),
        },
        total,
    )))
}

/// The flat YAML map of `stats-job` and `stats-tube` (`---` then `key: value` lines).
pub(crate) fn parse_stats(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// Whole seconds, rounded up (beanstalkd counts in seconds).
fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn field<T: std::str::FromStr>(stats: &HashMap<String, String>, key: &str) -> Result<T, JobsError> {
    stats
        .get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| protocol(format!("stats without {key}")))
}

/// What `stats-job` says of a job.
#[derive(Debug)]
struct JobStats {
    id: JobId,
    tube: Tube,
    state: JobState,
    priority: u32,
    reserves: u32,
    ttr: Duration,
    time_left: Duration,
    /// Since the job was put.
    age: Duration,
}

impl JobStats {
    fn parse(body: &[u8]) -> Result<JobStats, JobsError> {
        let stats = parse_stats(body);
        let state = stats
            .get("state")
            .and_then(|s| JobState::parse(s))
            .ok_or_else(|| protocol("stats-job without a known state"))?;
        Ok(JobStats {
            id: field(&stats, "id")?,
            tube: Tube::parse(stats.get("tube").map_or("", String::as_str))?,
            state,
            priority: field(&stats, "pri")?,
            reserves: field(&stats, "reserves")?,
            ttr: Duration::from_secs(field(&stats, "ttr")?),
            time_left: Duration::from_secs(field(&stats, "time-left")?),
            age: Duration::from_secs(field(&stats, "age")?),
        })
    }
}

/// One connection, and what it is using and watching (so those are sent only on change).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    using: String,
    watching: Vec<String>,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn, JobsError> {
        let stream = tokio::time::timeout(COMMAND_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| unavailable(format!("connecting to beanstalkd at {addr} timed out")))?
            .map_err(|e| unavailable(format!("beanstalkd at {addr}: {e}")))?;
        stream.set_nodelay(true).map_err(unavailable)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
            using: "default".to_owned(),
            watching: vec!["default".to_owned()],
        })
    }

    async fn read(&mut self) -> Result<Response, JobsError> {
        loop {
            if let Some((response, used)) = parse_response(&self.buf)? {
                self.buf.drain(..used);
                return Ok(response);
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await.map_err(unavailable)?;
            if n == 0 {
                return Err(unavailable("beanstalkd closed the connection"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `command` (whole lines, CRLF included) and reads one response, within `limit`.
    async fn call_within(
        &mut self,
        command: &[u8],
        limit: Duration,
    ) -> Result<Response, JobsError> {
        tokio::time::timeout(limit, async {
            self.stream.write_all(command).await.map_err(unavailable)?;
            self.read().await
        })
        .await
        .map_err(|_| unavailable("beanstalkd did not answer in time"))?
    }

    async fn call(&mut self, command: impl AsRef<[u8]>) -> Result<Response, JobsError> {
        self.call_within(command.as_ref(), COMMAND_TIMEOUT).await
    }

    /// Sends every command at once, then reads their responses in order.
    async fn pipeline(&mut self, commands: &[String]) -> Result<Vec<Response>, JobsError> {
        tokio::time::timeout(COMMAND_TIMEOUT * 2, async {
            self.stream
                .write_all(commands.concat().as_bytes())
                .await
                .map_err(unavailable)?;
            let mut responses = Vec::with_capacity(commands.len());
            for _ in commands {
                responses.push(self.read().await?);
            }
            Ok(responses)
        })
        .await
        .map_err(|_| unavailable("beanstalkd did not answer in time"))?
    }

    async fn use_tube(&mut self, tube: &Tube) -> Result<(), JobsError> {
        if self.using != tube.as_str() {
            let response = self.call(format!("use {tube}\r\n")).await?;
            if response.word != "USING" {
                return Err(response.unexpected("use"));
            }
            self.using = tube.as_str().to_owned();
        }
        Ok(())
    }

    /// Watches exactly `tubes` (new ones first: beanstalkd will not ignore the last tube).
    async fn watch_only(&mut self, tubes: &[Tube]) -> Result<(), JobsError> {
        for tube in tubes {
            if !self.watching.iter().any(|w| w == tube.as_str()) {
                let response = self.call(format!("watch {tube}\r\n")).await?;
                if response.word != "WATCHING" {
                    return Err(response.unexpected("watch"));
                }
                self.watching.push(tube.as_str().to_owned());
            }
        }
        let extra: Vec<String> = self
            .watching
            .iter()
            .filter(|w| !tubes.iter().any(|t| t.as_str() == w.as_str()))
            .cloned()
            .collect();
        for tube in extra {
            let response = self.call(format!("ignore {tube}\r\n")).await?;
            if response.word != "WATCHING" {
                return Err(response.unexpected("ignore"));
            }
            self.watching.retain(|w| *w != tube);
        }
        Ok(())
    }

    async fn stats_job(&mut self, id: JobId) -> Result<Option<JobStats>, JobsError> {
        let response = self.call(format!("stats-job {id}\r\n")).await?;
        match response.word.as_str() {
            "OK" => Ok(Some(JobStats::parse(
                response.body.as_deref().unwrap_or_default(),
            )?)),
            "NOT_FOUND" => Ok(None),
            _ => Err(response.unexpected("stats-job")),
        }
    }
}

/// A reservation's connection, kept until the reservation is finished. `None` once finished
/// by a concurrent call with the same token.
struct Held {
    conn: Arc<tokio::sync::Mutex<Option<Conn>>>,
    /// Our view of when beanstalkd releases it (its TTR counted from when we heard of it).
    expires: Instant,
    ttr: Duration,
}

/// The beanstalkd backend. Connections are opened lazily; one per outstanding reservation
/// plus a small idle pool.
pub struct BeanstalkJobs {
    addr: String,
    idle: Mutex<Vec<Conn>>,
    /// Shared with each reservation's nudge timer.
    held: Arc<Mutex<HashMap<(JobId, u32), Held>>>,
    /// `last_error` per job (beanstalkd has nowhere to keep it); oldest ids dropped first.
    errors: Mutex<BTreeMap<JobId, String>>,
    /// The largest job id this client has seen, for `list`'s window.
    newest: Mutex<JobId>,
}

fn lost(token: &Token) -> JobsError {
    JobsError::ReservationLost { id: token.id }
}

impl BeanstalkJobs {
    /// `addr` is `host:port`. Nothing connects until the first call.
    pub fn new(addr: &str) -> Self {
        BeanstalkJobs {
            addr: addr.to_owned(),
            idle: Mutex::default(),
            held: Arc::default(),
            errors: Mutex::default(),
            newest: Mutex::new(0),
        }
    }

    async fn checkout(&self) -> Result<Conn, JobsError> {
        let idle = self.idle.lock().expect("poisoned").pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Conn::open(&self.addr).await,
        }
    }

    /// Returns a connection that holds no reservation to the pool.
    fn checkin(&self, conn: Conn) {
        let mut idle = self.idle.lock().expect("poisoned");
        if idle.len() < MAX_IDLE && conn.buf.is_empty() {
            idle.push(conn);
        }
    }

    fn saw(&self, id: JobId) {
        let mut newest = self.newest.lock().expect("poisoned");
        *newest = (*newest).max(id);
    }

    fn note_error(&self, id: JobId, error: Option<&str>) {
        if let Some(error) = error {
            let mut errors = self.errors.lock().expect("poisoned");
            errors.insert(id, error.to_owned());
            while errors.len() > ERRORS_KEPT {
                errors.pop_first();
            }
        }
    }

    fn error_of(&self, id: JobId) -> Option<String> {
        self.errors.lock().expect("poisoned").get(&id).cloned()
    }

    /// Forgets reservations long past their TTR (beanstalkd has released them), returning
    /// their connections to the pool.
    fn forget_expired(&self) {
        let now = Instant::now();
        let expired: Vec<Held> = {
            let mut held = self.held.lock().expect("poisoned");
            let keys: Vec<(JobId, u32)> = held
                .iter()
                .filter(|(_, h)| h.expires + FORGET_AFTER < now)
                .map(|(k, _)| *k)
                .collect();
            keys.into_iter().filter_map(|k| held.remove(&k)).collect()
        };
        for held in expired {
            if let Ok(mut slot) = held.conn.try_lock() {
                if let Some(conn) = slot.take() {
                    self.checkin(conn);
                }
            }
        }
    }

    fn holder(&self, key: (JobId, u32)) -> Option<Arc<tokio::sync::Mutex<Option<Conn>>>> {
        self.held
            .lock()
            .expect("poisoned")
            .get(&key)
            .map(|h| h.conn.clone())
    }

    /// Runs `f` on the connection holding `token`'s reservation. When `f` says the
    /// reservation is over (`Ok(true)`, or `ReservationLost`), the connection goes back to the
    /// pool; on a connection error it is closed (and beanstalkd puts the job back).
    /// Sends `command` on the holder's connection: one of the `ok` words means it was done
    /// (and, when `finishes`, the reservation is over); `NOT_FOUND` means the reservation is
    /// gone.
    async fn holder_command(
        &self,
        token: &Token,
        command: String,
        ok: &'static [&'static str],
        finishes: bool,
        what: &'static str,
    ) -> Result<(), JobsError> {
        let owned = token.clone();
        self.on_holder(token, move |conn| {
            Box::pin(async move {
                let answer = conn.call(command).await?;
                match answer.word.as_str() {
                    word if ok.contains(&word) => Ok(finishes),
                    "NOT_FOUND" => Err(lost(&owned)),
                    _ => Err(answer.unexpected(what)),
                }
            })
        })
        .await
    }

    async fn on_holder<F>(&self, token: &Token, f: F) -> Result<(), JobsError>
    where
        F: for<'c> FnOnce(
            &'c mut Conn,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<bool, JobsError>> + Send + 'c>,
        >,
    {
        let key = (token.id, token.reservation);
        let slot = self.holder(key).ok_or_else(|| lost(token))?;
        let mut slot = slot.lock().await;
        let conn = slot.as_mut().ok_or_else(|| lost(token))?;
        let outcome = f(conn).await;
        let finished = match &outcome {
            Ok(finished) => *finished,
            Err(JobsError::ReservationLost { .. }) => true,
            Err(_) => {
                slot.take(); // state unknown: close it
                true
            }
        };
        if finished {
            self.held.lock().expect("poisoned").remove(&key);
            if let Some(conn) = slot.take() {
                self.checkin(conn);
            }
        }
        outcome.map(|_| ())
    }

    /// Jobs of `tube` in `state` among the newest ids, plus the peeked head.
    async fn scan(
        &self,
        conn: &mut Conn,
        tube: &Tube,
        state: JobState,
    ) -> Result<Vec<JobStats>, JobsError> {
        let stats = conn.call("stats\r\n").await?;
        if stats.word != "OK" {
            return Err(stats.unexpected("stats"));
        }
        let total: JobId = field(
            &parse_stats(stats.body.as_deref().unwrap_or_default()),
            "total-jobs",
        )?;
        let newest = total.max(*self.newest.lock().expect("poisoned"));
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let peek = match state {
            JobState::Ready => Some("peek-ready"),
            JobState::Delayed => Some("peek-delayed"),
            JobState::Buried => Some("peek-buried"),
            JobState::Reserved => None,
        };
        if let Some(peek) = peek {
            conn.use_tube(tube).await?;
            let head = conn.call(format!("{peek}\r\n")).await?;
            if head.word == "FOUND" {
                if let Some(job) = conn.stats_job(head.arg(0)?).await? {
                    if job.state == state && job.tube == *tube {
                        seen.insert(job.id);
                        found.push(job);
                    }
                }
            } else if head.word != "NOT_FOUND" {
                return Err(head.unexpected(peek));
            }
        }
        let lowest = newest.saturating_sub(LIST_WINDOW) + 1;
        let mut hi = newest;
        while hi >= lowest && hi > 0 {
            let lo = hi.saturating_sub(LIST_BATCH - 1).max(lowest);
            let commands: Vec<String> = (lo..=hi).map(|id| format!("stats-job {id}\r\n")).collect();
            for response in conn.pipeline(&commands).await? {
                match response.word.as_str() {
                    "OK" => {
                        let job = JobStats::parse(response.body.as_deref().unwrap_or_default())?;
                        if job.state == state && job.tube == *tube && seen.insert(job.id) {
                            found.push(job);
                        }
                    }
                    "NOT_FOUND" => {}
                    _ => return Err(response.unexpected("stats-job")),
                }
            }
            hi = lo - 1;
        }
        Ok(found)
    }
}

/// Once a reservation is past its TTR and still not finished, sends a no-op on its
/// connection, so that beanstalkd notices the TTR ran out (see the module doc). Ends when the
/// reservation is finished or nudged.
async fn nudge_when_expired(held: Arc<Mutex<HashMap<(JobId, u32), Held>>>, key: (JobId, u32)) {
    loop {
        let Some(expires) = held.lock().expect("poisoned").get(&key).map(|h| h.expires) else {
            return;
        };
        tokio::time::sleep_until(expires + NUDGE_AFTER).await;
        let (slot, now_expires) = match held.lock().expect("poisoned").get(&key) {
            Some(h) => (h.conn.clone(), h.expires),
            None => return,
        };
        if now_expires > expires {
            continue; // touched meanwhile
        }
        let mut slot = slot.lock().await;
        let Some(conn) = slot.as_mut() else { return };
        if let Err(e) = conn.call("list-tube-used\r\n").await {
            tracing::debug!(job = key.0, error = %e, "nudging an expired reservation failed");
            slot.take(); // closed: beanstalkd puts the job back all the same
        }
        return;
    }
}

#[async_trait]
impl Jobs for BeanstalkJobs {
    fn backend(&self) -> &'static str {
        "beanstalk"
    }

    async fn put(
        &self,
        tube: &Tube,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<JobId, JobsError> {
        let mut conn = self.checkout().await?;
        conn.use_tube(tube).await?;
        let mut command = format!(
            "put {} {} {} {}\r\n",
            options.priority,
            secs_up(options.delay),
            secs_up(options.ttr).max(1),
            body.len()
        )
        .into_bytes();
        command.extend_from_slice(&body);
        command.extend_from_slice(b"\r\n");
        let response = conn.call(&command).await?;
        let id = match response.word.as_str() {
            "INSERTED" => response.arg(0)?,
            "BURIED" => {
                tracing::warn!(%tube, "beanstalkd is out of memory: the new job was buried");
                response.arg(0)?
            }
            "JOB_TOO_BIG" => {
                self.checkin(conn);
                return Err(JobsError::TooBig { size: body.len() });
            }
            _ => return Err(response.unexpected("put")),
        };
        self.checkin(conn);
        self.saw(id);
        Ok(id)
    }

    async fn reserve(
        &self,
        tubes: &[Tube],
        timeout: Duration,
    ) -> Result<Option<Reserved>, JobsError> {
        if tubes.is_empty() {
            return Err(JobsError::NoTubes);
        }
        self.forget_expired();
        let mut conn = self.checkout().await?;
        conn.watch_only(tubes).await?;
        let secs = secs_up(timeout);
        let command = format!("reserve-with-timeout {secs}\r\n");
        // A connection dropped here mid-reserve is closed, and any job it got goes back.
        let response = conn
            .call_within(
                command.as_bytes(),
                Duration::from_secs(secs) + COMMAND_TIMEOUT,
            )
            .await?;
        match response.word.as_str() {
            "TIMED_OUT" => {
                self.checkin(conn);
                return Ok(None);
            }
            "RESERVED" => {}
            _ => return Err(response.unexpected("reserve")),
        }
        let id: JobId = response.arg(0)?;
        let body = response.body.unwrap_or_default();
        let stats = conn
            .stats_job(id)
            .await?
            .ok_or_else(|| protocol(format!("reserved job {id} has no stats")))?;
        self.saw(id);
        let token = Token {
            id,
            tube: stats.tube,
            reservation: stats.reserves,
        };
        let key = (id, stats.reserves);
        self.held.lock().expect("poisoned").insert(
            key,
            Held {
                conn: Arc::new(tokio::sync::Mutex::new(Some(conn))),
                expires: Instant::now() + stats.ttr,
                ttr: stats.ttr,
            },
        );
        tokio::spawn(nudge_when_expired(self.held.clone(), key));
        Ok(Some(Reserved {
            token,
            body,
            priority: stats.priority,
            attempts: stats.reserves,
            ttr: stats.ttr,
            last_error: self.error_of(id),
        }))
    }

    async fn delete(&self, token: &Token) -> Result<(), JobsError> {
        let id = token.id;
        let owned = token.clone();
        self.on_holder(token, move |conn| {
            Box::pin(async move {
                // Only the holder can touch: proof that we still hold it, and a fresh TTR for
                // the delete that follows (see the module doc for the race that remains).
                let touched = conn.call(format!("touch {id}\r\n")).await?;
                match touched.word.as_str() {
                    "TOUCHED" => {}
                    "NOT_FOUND" => return Err(lost(&owned)),
                    _ => return Err(touched.unexpected("touch")),
                }
                let deleted = conn.call(format!("delete {id}\r\n")).await?;
                match deleted.word.as_str() {
                    "DELETED" => Ok(true),
                    "NOT_FOUND" => Err(lost(&owned)),
                    _ => Err(deleted.unexpected("delete")),
                }
            })
        })
        .await?;
        self.errors.lock().expect("poisoned").remove(&id);
        Ok(())
    }

    async fn release(
        &self,
        token: &Token,
        priority: u32,
        delay: Duration,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let id = token.id;
        let command = format!("release {id} {priority} {}\r\n", secs_up(delay));
        // BURIED: beanstalkd had no memory to put it back in the ready queue.
        self.holder_command(token, command, &["RELEASED", "BURIED"], true, "release")
            .await?;
        self.note_error(id, error);
        Ok(())
    }

    async fn bury(
        &self,
        token: &Token,
        priority: u32,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let id = token.id;
        let command = format!("bury {id} {priority}\r\n");
        self.holder_command(token, command, &["BURIED"], true, "bury")
            .await?;
        self.note_error(id, error);
        Ok(())
    }

    async fn touch(&self, token: &Token) -> Result<(), JobsError> {
        let id = token.id;
        let command = format!("touch {id}\r\n");
        self.holder_command(token, command, &["TOUCHED"], false, "touch")
            .await?;
        // A touch restarts the TTR: push back the moment we would forget the reservation.
        if let Some(held) = self
            .held
            .lock()
            .expect("poisoned")
            .get_mut(&(token.id, token.reservation))
        {
            held.expires = Instant::now() + held.ttr;
        }
        Ok(())
    }

    async fn kick(&self, tube: &Tube, bound: u32) -> Result<u32, JobsError> {
        let mut conn = self.checkout().await?;
        conn.use_tube(tube).await?;
        let response = conn.call(format!("kick {bound}\r\n")).await?;
        if response.word != "KICKED" {
            return Err(response.unexpected("kick"));
        }
        self.checkin(conn);
        response.arg(0)
    }

    async fn kick_job(&self, id: JobId) -> Result<bool, JobsError> {
        let mut conn = self.checkout().await?;
        let response = conn.call(format!("kick-job {id}\r\n")).await?;
        let kicked = match response.word.as_str() {
            "KICKED" => true,
            "NOT_FOUND" => false,
            _ => return Err(response.unexpected("kick-job")),
        };
        self.checkin(conn);
        Ok(kicked)
    }

    async fn stats(&self, tube: &Tube) -> Result<TubeStats, JobsError> {
        let mut conn = self.checkout().await?;
        let response = conn.call(format!("stats-tube {tube}\r\n")).await?;
        let stats = match response.word.as_str() {
            "NOT_FOUND" => TubeStats::default(), // beanstalkd forgets empty, unwatched tubes
            "OK" => {
                let map = parse_stats(response.body.as_deref().unwrap_or_default());
                TubeStats {
                    ready: field(&map, "current-jobs-ready")?,
                    delayed: field(&map, "current-jobs-delayed")?,
                    reserved: field(&map, "current-jobs-reserved")?,
                    buried: field(&map, "current-jobs-buried")?,
                }
            }
            _ => return Err(response.unexpected("stats-tube")),
        };
        self.checkin(conn);
        Ok(stats)
    }

    async fn list(
        &self,
        tube: &Tube,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<JobInfo>, JobsError> {
        let mut conn = self.checkout().await?;
        let mut jobs = self.scan(&mut conn, tube, state).await?;
        self.checkin(conn);
        match state {
            JobState::Ready => jobs.sort_by_key(|j| (j.priority, j.id)),
            JobState::Delayed | JobState::Reserved => jobs.sort_by_key(|j| (j.time_left, j.id)),
            JobState::Buried => jobs.sort_by_key(|j| j.id),
        }
        jobs.truncate(limit);
        let now = now_ms();
        Ok(jobs
            .into_iter()
            .map(|job| JobInfo {
                id: job.id,
                tube: job.tube,
                state: job.state,
                priority: job.priority,
                attempts: job.reserves,
                last_error: self.error_of(job.id),
                run_at: matches!(state, JobState::Delayed | JobState::Reserved)
                    .then(|| now + job.time_left.as_millis() as u64),
                put_at: now.saturating_sub(job.age.as_millis() as u64),
            })
            .collect())
    }

    async fn delete_job(&self, id: JobId) -> Result<bool, JobsError> {
        // Reserved through this client: only its connection may delete it.
        let mine: Option<u32> = self
            .held
            .lock()
            .expect("poisoned")
            .keys()
            .find(|(held, _)| *held == id)
            .map(|(_, reservation)| *reservation);
        if let Some(reservation) = mine {
            let token = Token {
                id,
                tube: Tube::parse("default")?, // on_holder goes by id and reservation only
                reservation,
            };
            let deleted = self
                .on_holder(&token, move |conn| {
                    Box::pin(async move {
                        let deleted = conn.call(format!("delete {id}\r\n")).await?;
                        match deleted.word.as_str() {
                            "DELETED" => Ok(true),
                            "NOT_FOUND" => Err(JobsError::ReservationLost { id }),
                            _ => Err(deleted.unexpected("delete")),
                        }
                    })
                })
                .await;
            match deleted {
                Ok(()) => {
                    self.errors.lock().expect("poisoned").remove(&id);
                    return Ok(true);
                }
                // No longer ours: delete it as anyone may.
                Err(JobsError::ReservationLost { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut conn = self.checkout().await?;
        let response = conn.call(format!("delete {id}\r\n")).await?;
        let deleted = match response.word.as_str() {
            "DELETED" => true,
            "NOT_FOUND" => {
                if let Some(job) = conn.stats_job(id).await? {
                    if job.state == JobState::Reserved {
                        self.checkin(conn);
                        return Err(JobsError::ReservedElsewhere(id));
                    }
                }
                false
            }
            _ => return Err(response.unexpected("delete")),
        };
        self.checkin(conn);
        self.errors.lock().expect("poisoned").remove(&id);
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(mut buf: &[u8]) -> Vec<Response> {
        let mut out = Vec::new();
        while let Some((response, used)) = parse_response(buf).unwrap() {
            out.push(response);
            buf = &buf[used..];
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        out
    }

    #[test]
    fn a_simple_response_is_a_word_and_its_arguments() {
        let (response, used) = parse_response(b"INSERTED 42\r\nmore").unwrap().unwrap();
        assert_eq!(used, 13);
        assert_eq!(response.word, "INSERTED");
        assert_eq!(response.arg::<u64>(0).unwrap(), 42);
        assert_eq!(response.body, None);
        let (response, _) = parse_response(b"TIMED_OUT\r\n").unwrap().unwrap();
        assert_eq!(
            (response.word.as_str(), response.args.len()),
            ("TIMED_OUT", 0)
        );
    }

    #[test]
    fn a_data_block_may_hold_crlf_and_is_taken_by_its_length() {
        let wire = b"RESERVED 7 6\r\na\r\nb\r\n\r\nDELETED\r\n";
        let responses = parse_all(wire);
        assert_eq!(responses.len(), 2);
        assert_eq!(responses[0].word, "RESERVED");
        assert_eq!(responses[0].body.as_deref(), Some(&b"a\r\nb\r\n"[..]));
        assert_eq!(responses[1].word, "DELETED");
        let empty = parse_all(b"FOUND 3 0\r\n\r\n");
        assert_eq!(empty[0].body.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn an_incomplete_response_asks_for_more_at_every_cut() {
        let wire = b"OK 10\r\n---\nid: 1\n\r\n";
        for cut in 0..wire.len() {
            assert_eq!(parse_response(&wire[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse_response(wire).unwrap().is_some());
    }

    #[test]
    fn malformed_responses_are_protocol_errors() {
        for bad in [
            &b"OK 3\r\nabcXY"[..],
            b"RESERVED 1\r\nabc\r\n",
            b"OK many\r\n",
            b"\r\n",
            b"OK 99999999999999999999999\r\n",
        ] {
            assert!(
                matches!(parse_response(bad), Err(JobsError::Protocol(_))),
                "{bad:?}"
            );
        }
        assert!(parse_response(&[b'x'; MAX_LINE + 1]).is_err());
    }

    #[test]
    fn stats_yaml_reads_as_a_map() {
        let body = b"---\nid: 1\ntube: my-tube\nstate: reserved\npri: 5\nage: 0\ndelay: 0\nttr: 1\ntime-left: 0\nfile: 0\nreserves: 1\ntimeouts: 0\nreleases: 0\nburies: 0\nkicks: 0\n";
        let job = JobStats::parse(body).unwrap();
        assert_eq!(job.id, 1);
        assert_eq!(job.tube.as_str(), "my-tube");
        assert_eq!(job.state, JobState::Reserved);
        assert_eq!((job.priority, job.reserves), (5, 1));
        assert_eq!(job.ttr, Duration::from_secs(1));
        assert!(JobStats::parse(b"---\nid: 1\n").is_err());
        let map = parse_stats(b"---\nname: \"x\"\ncurrent-jobs-ready: 3\n");
        assert_eq!(map["name"], "x");
        assert_eq!(map["current-jobs-ready"], "3");
    }

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(secs_up(Duration::ZERO), 0);
        assert_eq!(secs_up(Duration::from_millis(1)), 1);
        assert_eq!(secs_up(Duration::from_secs(2)), 2);
        assert_eq!(secs_up(Duration::from_millis(2001)), 3);
    }
}
