//! The embedded event log: a SQLite file in the data dir (`events.sqlite3`) with the Redis
//! stream's semantics for the one process that uses it: entries with increasing ids, a
//! consumer group per listener (the last id handed out, and a pending list with delivery
//! counts), claims of entries left idle, dead letters. A reader waits on an in-process
//! wakeup, never a poll. Appends are group-committed: the appends that arrive while one
//! transaction is being written go into the next one together, so many games' moves cost one
//! SQLite transaction (and one hop to the blocking pool), each append still answered only once
//! its entry is committed. The events this process appended most recently are kept decoded,
//! so that the listeners reading them (four, each in its own group) take a copy instead of
//! decoding the same JSON four times.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{oneshot, Notify};

use super::{unavailable, Entry, EventLog, EventsError, GameEvent, Retention, CLAIM_IDLE};
use crate::domain::now_ms;
use crate::store::cached::{CachedSql, CACHED_STATEMENTS};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,          -- unix ms
    body TEXT NOT NULL            -- the event as JSON
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS groups (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL      -- the last entry handed out
);
CREATE TABLE IF NOT EXISTS pending (
    grp TEXT NOT NULL,
    id INTEGER NOT NULL,
    consumer TEXT NOT NULL,
    deliveries INTEGER NOT NULL,
    delivered_at INTEGER NOT NULL,
    PRIMARY KEY (grp, id)
);
CREATE TABLE IF NOT EXISTS dead (
    grp TEXT NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    error TEXT NOT NULL,
    at INTEGER NOT NULL
);
";

/// The file of the embedded event log, in the data dir.
pub const SQLITE_FILE: &str = "events.sqlite3";

/// Decoded entries kept of what this process appended last: a few seconds of a busy node's
/// events, which its listeners read while they keep up.
const RECENT: usize = 4096;

#[derive(Clone)]
pub struct SqliteEvents {
    conn: Arc<Mutex<Connection>>,
    appended: Arc<Notify>,
    claim_idle: Duration,
    appends: Arc<Mutex<Appends>>,
    /// The last [`RECENT`] entries this process committed, by increasing id.
    recent: Arc<Mutex<VecDeque<(i64, GameEvent)>>>,
}

/// An append waiting for the next group commit: the event, its JSON, and who waits for its id.
type Queued = (GameEvent, String, oneshot::Sender<Result<i64, EventsError>>);

/// Appends waiting for the next group commit.
#[derive(Default)]
struct Appends {
    queued: Vec<Queued>,
    /// A writer is committing (it takes what is queued when it is done).
    writing: bool,
}

impl SqliteEvents {
    pub fn open(path: &Path) -> Result<SqliteEvents, EventsError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        Ok(SqliteEvents {
            conn: Arc::new(Mutex::new(conn)),
            appended: Arc::new(Notify::new()),
            claim_idle: CLAIM_IDLE,
            appends: Arc::default(),
            recent: Arc::default(),
        })
    }

    /// Entries idle this long with a consumer may be claimed by another.
    pub fn claim_idle(self, idle: Duration) -> SqliteEvents {
        SqliteEvents {
            claim_idle: idle,
            ..self
        }
    }

    async fn with<T, F>(&self, f: F) -> Result<T, EventsError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| unavailable("poisoned lock"))?;
            f(&mut conn).map_err(unavailable)
        })
        .await
        .map_err(unavailable)?
    }

    /// Commits what is queued, one transaction per round, until nothing is left.
    async fn write_queued(self) {
        loop {
            let batch = {
                let mut appends = self.appends.lock().expect("poisoned");
                if appends.queued.is_empty() {
                    appends.writing = false;
                    return;
                }
                std::mem::take(&mut appends.queued)
            };
            let mut events = Vec::with_capacity(batch.len());
            let mut bodies = Vec::with_capacity(batch.len());
            let mut waiters = Vec::with_capacity(batch.len());
            for (event, body, waiter) in batch {
                events.push(event);
                bodies.push(body);
                waiters.push(waiter);
            }
            let committed = self
                .with(move |conn| {
                    let tx = conn.transaction()?;
                    let at = now_ms() as i64;
                    let mut ids = Vec::with_capacity(bodies.len());
                    for body in bodies {
                        tx.run(
                            "INSERT INTO events (at, body) VALUES (?1, ?2)",
                            params![at, body],
                        )?;
                        ids.push(tx.last_insert_rowid());
                    }
                    tx.commit()?;
                    Ok(ids)
                })
                .await;
            match committed {
                Ok(ids) => {
                    {
                        let mut recent = self.recent.lock().expect("poisoned");
                        recent.extend(ids.iter().copied().zip(events));
                        let over = recent.len().saturating_sub(RECENT);
                        recent.drain(..over);
                    }
                    for (waiter, id) in waiters.into_iter().zip(ids) {
                        let _ = waiter.send(Ok(id));
                    }
                    self.appended.notify_waiters();
                }
                Err(e) => {
                    for waiter in waiters {
                        let _ = waiter.send(Err(unavailable(&e)));
                    }
                }
            }
        }
    }

    /// Entries from what [`SqliteEvents::take`] took: a copy of the decoded event when this
    /// process appended it lately, the stored JSON decoded otherwise.
    fn decode(&self, taken: Vec<(i64, String, u64)>) -> Vec<Entry> {
        let recent = self.recent.lock().expect("poisoned");
        taken
            .into_iter()
            .filter_map(|(id, body, deliveries)| {
                let event = match recent.binary_search_by_key(&id, |(at, _)| *at) {
                    Ok(at) => recent[at].1.clone(),
                    Err(_) => match serde_json::from_str::<GameEvent>(&body) {
                        Ok(event) => event,
                        Err(e) => {
                            tracing::error!(entry = id, error = %e, "undecodable event skipped");
                            return None;
                        }
                    },
                };
                Some(Entry {
                    id: id.to_string(),
                    event,
                    deliveries,
                })
            })
            .collect()
    }

    /// One read without waiting: own pending, then claimable, then new entries.
    async fn take(
        &self,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<(i64, String, u64)>, EventsError> {
        let (group, consumer) = (group.to_owned(), consumer.to_owned());
        let claim_idle = self.claim_idle;
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let now = now_ms() as i64;
            tx.run(
                "INSERT INTO groups (name, last_id) VALUES (?1, 0) ON CONFLICT(name) DO NOTHING",
                [&group],
            )?;
            let idle_before = now - claim_idle.as_millis() as i64;
            let pending: Vec<i64> = tx
                .prepare_cached(
                    "SELECT id FROM pending WHERE grp = ?1 AND (consumer = ?2 OR delivered_at < ?3)
                     ORDER BY id LIMIT ?4",
                )?
                .query_map(params![group, consumer, idle_before, count as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut taken = Vec::new();
            for id in pending {
                tx.run(
                    "UPDATE pending SET consumer = ?3, deliveries = deliveries + 1, delivered_at = ?4
                     WHERE grp = ?1 AND id = ?2",
                    params![group, id, consumer, now],
                )?;
                let row: Option<(String, u64)> = tx
                    .query_row(
                        "SELECT e.body, p.deliveries FROM events e JOIN pending p ON p.id = e.id
                         WHERE p.grp = ?1 AND e.id = ?2",
                        params![group, id],
                        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
                    )
                    .optional()?;
                match row {
                    Some((body, deliveries)) => taken.push((id, body, deliveries)),
                    // Trimmed away meanwhile: nothing left to deliver.
                    None => {
                        tx.run(
                            "DELETE FROM pending WHERE grp = ?1 AND id = ?2",
                            params![group, id],
                        )?;
                    }
                }
            }
            if taken.is_empty() {
                let last: i64 =
                    tx.one("SELECT last_id FROM groups WHERE name = ?1", [&group], |r| {
                        r.get(0)
                    })?;
                let fresh: Vec<(i64, String)> = tx
                    .prepare_cached("SELECT id, body FROM events WHERE id > ?1 ORDER BY id LIMIT ?2")?
                    .query_map(params![last, count as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (id, body) in fresh {
                    tx.run(
                        "INSERT INTO pending (grp, id, consumer, deliveries, delivered_at)
                         VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT(grp, id) DO NOTHING",
                        params![group, id, consumer, now],
                    )?;
                    taken.push((id, body, 1));
                }
                if let Some(&(last, _, _)) = taken.last() {
                    tx.run(
                        "UPDATE groups SET last_id = ?2 WHERE name = ?1",
                        params![group, last],
                    )?;
                }
            }
            tx.commit()?;
            Ok(taken)
        })
        .await
    }
}

#[async_trait]
impl EventLog for SqliteEvents {
    async fn append(&self, event: &GameEvent) -> Result<String, EventsError> {
        let body = serde_json::to_string(event)?;
        let (tx, rx) = oneshot::channel();
        let start_writer = {
            let mut appends = self.appends.lock().expect("poisoned");
            appends.queued.push((event.clone(), body, tx));
            !std::mem::replace(&mut appends.writing, true)
        };
        if start_writer {
            tokio::spawn(self.clone().write_queued());
        }
        let id = rx
            .await
            .map_err(|_| unavailable("event writer stopped"))??;
        Ok(id.to_string())
    }

    async fn read(
        &self,
        group: &str,
        consumer: &str,
        partition: usize,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, EventsError> {
        debug_assert_eq!(partition, 0, "the embedded log has one partition");
        let deadline = tokio::time::Instant::now() + block;
        loop {
            // Registered before looking, so an append in between is not missed.
            let appended = self.appended.notified();
            let taken = self.take(group, consumer, count).await?;
            if !taken.is_empty() {
                return Ok(self.decode(taken));
            }
            if tokio::time::timeout_at(deadline, appended).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn ack(&self, group: &str, ids: &[String]) -> Result<(), EventsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let group = group.to_owned();
        let ids: Vec<i64> = ids.iter().map(|id| id.parse().unwrap_or(-1)).collect();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut delete =
                    tx.prepare_cached("DELETE FROM pending WHERE grp = ?1 AND id = ?2")?;
                for id in ids {
                    delete.execute(params![group, id])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn dead_letter(
        &self,
        group: &str,
        entry: &Entry,
        error: &str,
    ) -> Result<(), EventsError> {
        let body = serde_json::to_string(&entry.event)?;
        let (g, id, name, error) = (
            group.to_owned(),
            entry.id.parse::<i64>().unwrap_or(-1),
            entry.event.name(),
            error.to_owned(),
        );
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.run(
                "INSERT INTO dead (grp, id, name, body, error, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![g, id, name, body, error, now_ms() as i64],
            )?;
            tx.run(
                "DELETE FROM pending WHERE grp = ?1 AND id = ?2",
                params![g, id],
            )?;
            tx.commit()
        })
        .await
    }

    async fn dead_letters(
        &self,
        group: &str,
    ) -> Result<Vec<(String, String, String)>, EventsError> {
        let group = group.to_owned();
        self.with(move |conn| {
            conn.prepare("SELECT id, name, error FROM dead WHERE grp = ?1 ORDER BY rowid")?
                .query_map([group], |r| {
                    Ok((r.get::<_, i64>(0)?.to_string(), r.get(1)?, r.get(2)?))
                })?
                .collect()
        })
        .await
    }

    async fn rewind(&self, group: &str, since: u64) -> Result<(), EventsError> {
        let group = group.to_owned();
        self.with(move |conn| {
            let last: i64 = conn.one(
                "SELECT COALESCE(MAX(id), 0) FROM events WHERE at < ?1",
                [since as i64],
                |r| r.get(0),
            )?;
            conn.run(
                "INSERT INTO groups (name, last_id) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id",
                params![group, last],
            )
            .map(|_| ())
        })
        .await?;
        self.appended.notify_waiters();
        Ok(())
    }

    async fn lag(&self, group: &str) -> Result<u64, EventsError> {
        let group = group.to_owned();
        self.with(move |conn| {
            let last: i64 = conn
                .query_row(
                    "SELECT last_id FROM groups WHERE name = ?1",
                    [&group],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            conn.one("SELECT COUNT(*) FROM events WHERE id > ?1", [last], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
        })
        .await
    }

    async fn trim(&self, retention: Retention) -> Result<(), EventsError> {
        let oldest = now_ms().saturating_sub(retention.max_age.as_millis() as u64) as i64;
        let keep = retention.max_len.min(i64::MAX as u64) as i64;
        self.with(move |conn| {
            conn.run(
                "DELETE FROM events WHERE at < ?1
                 OR id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ?2",
                params![oldest, keep],
            )
            .map(|_| ())
        })
        .await
    }
}
