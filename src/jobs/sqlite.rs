//! The embedded jobs backend: one SQLite file in the data dir (`jobs.sqlite3`), calls on the
//! blocking pool. Time is compared, not swept: a delayed job whose time has come and a
//! reservation whose TTR ran out are made ready by the next reserve, stats or list of their
//! tube. A blocked reserve sleeps on an in-process wakeup (see `wake.rs`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::wake::{Attempt, Wakeups};
use super::{
    millis, unavailable, JobId, JobInfo, JobState, Jobs, JobsError, PutOptions, Reserved, Token,
    Tube, TubeStats,
};
use crate::domain::now_ms;

/// `at_ms` means, by state: delayed, when it becomes ready; reserved, when its TTR runs out;
/// buried, when it was buried (kicks take the oldest first). AUTOINCREMENT: an id is never
/// reused, so a stale token can never match a new job.
const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tube TEXT NOT NULL,
    body BLOB NOT NULL,
    priority INTEGER NOT NULL,
    ttr_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'delayed', 'reserved', 'buried')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    at_ms INTEGER,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_priority ON jobs (tube, state, priority, id);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (tube, state, at_ms, id);
";

/// The embedded backend. One connection behind a mutex: SQLite serialises writers anyway,
/// and every call here writes (a reserve makes due jobs ready first).
pub struct SqliteJobs {
    conn: Arc<Mutex<Connection>>,
    wakeups: Arc<Wakeups>,
}

fn db(e: rusqlite::Error) -> JobsError {
    unavailable(e)
}

/// Runs a statement through the connection's statement cache (every call here runs the same
/// few statements, so parsing them each time would cost more than running them).
fn exec<P: rusqlite::Params>(
    tx: &Transaction<'_>,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
fn one<T, P, F>(tx: &Transaction<'_>, sql: &str, params: P, f: F) -> rusqlite::Result<T>
where
    P: rusqlite::Params,
    F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
{
    tx.prepare_cached(sql)?.query_row(params, f)
}

/// `?,?,?` for an `IN` list.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

/// Makes due delayed jobs and expired reservations of `tubes` ready.
fn settle(tx: &Transaction<'_>, tubes: &[String], now: u64) -> Result<usize, JobsError> {
    let sql = format!(
        "UPDATE jobs SET state = 'ready', at_ms = NULL
         WHERE tube IN ({}) AND state IN ('delayed', 'reserved') AND at_ms <= ?",
        placeholders(tubes.len())
    );
    let mut args: Vec<rusqlite::types::Value> = tubes.iter().map(|t| t.clone().into()).collect();
    args.push((now as i64).into());
    exec(tx, &sql, params_from_iter(args)).map_err(db)
}

/// Whether the token still holds its job, right now. An expired reservation is settled to
/// ready on the way (as a reserve would), so the caller's refusal and the state agree.
fn holds(tx: &Transaction<'_>, token: &Token, now: u64) -> Result<bool, JobsError> {
    settle(tx, &[token.tube.as_str().to_owned()], now)?;
    let held: Option<i64> = one(
        tx,
        "SELECT 1 FROM jobs WHERE id = ? AND state = 'reserved' AND attempts = ?",
        params![token.id as i64, token.reservation],
        |row| row.get(0),
    )
    .optional()
    .map_err(db)?;
    Ok(held.is_some())
}

fn lost(token: &Token) -> JobsError {
    JobsError::ReservationLost { id: token.id }
}

impl SqliteJobs {
    pub fn open(path: &Path) -> Result<Self, JobsError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteJobs {
            conn: Arc::new(Mutex::new(conn)),
            wakeups: Arc::default(),
        })
    }

    /// Runs `f` in one transaction on the blocking pool.
    async fn with<T, F>(&self, f: F) -> Result<T, JobsError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, JobsError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| unavailable("jobs connection lock poisoned"))?;
            let tx = conn.transaction().map_err(db)?;
            let out = f(&tx)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
        .map_err(unavailable)?
    }

    /// One non-blocking try at reserving from `tubes`.
    async fn attempt(&self, tubes: Vec<String>) -> Result<Attempt, JobsError> {
        self.with(move |tx| {
            let now = now_ms();
            settle(tx, &tubes, now)?;
            let list = placeholders(tubes.len());
            let sql = format!(
                "SELECT id, tube, body, priority, ttr_ms, attempts, last_error FROM jobs
                 WHERE tube IN ({list}) AND state = 'ready' ORDER BY priority, id LIMIT 1"
            );
            let found = one(tx, &sql, params_from_iter(&tubes), |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                    row.get::<_, u32>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, u32>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ))
            })
            .optional()
            .map_err(db)?;
            let Some((id, tube, body, priority, ttr_ms, attempts, last_error)) = found else {
                let sql = format!(
                    "SELECT MIN(at_ms) FROM jobs
                     WHERE tube IN ({list}) AND state IN ('delayed', 'reserved')"
                );
                let next: Option<i64> =
                    one(tx, &sql, params_from_iter(&tubes), |row| row.get(0)).map_err(db)?;
                let next_in = next.map(|at| Duration::from_millis((at as u64).saturating_sub(now)));
                return Ok(Attempt::Empty { next_in });
            };
            let attempts = attempts + 1;
            exec(
                tx,
                "UPDATE jobs SET state = 'reserved', attempts = ?, at_ms = ? WHERE id = ?",
                params![attempts, (now as i64).saturating_add(ttr_ms), id],
            )
            .map_err(db)?;
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE tube IN ({list}) AND state = 'ready')"
            );
            let more: bool =
                one(tx, &sql, params_from_iter(&tubes), |row| row.get(0)).map_err(db)?;
            let tube = Tube::parse(&tube)?;
            Ok(Attempt::Got {
                job: Reserved {
                    token: Token {
                        id: id as JobId,
                        tube,
                        reservation: attempts,
                    },
                    body,
                    priority,
                    attempts,
                    ttr: Duration::from_millis(ttr_ms as u64),
                    last_error,
                },
                more,
            })
        })
        .await
    }
}

#[async_trait]
impl Jobs for SqliteJobs {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn put(
        &self,
        tube: &Tube,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<JobId, JobsError> {
        let name = tube.as_str().to_owned();
        let delayed = !options.delay.is_zero();
        let id = self
            .with(move |tx| {
                let now = now_ms();
                let (state, at) = if delayed {
                    (
                        "delayed",
                        Some(now.saturating_add(millis(options.delay)) as i64),
                    )
                } else {
                    ("ready", None)
                };
                exec(
                    tx,
                    "INSERT INTO jobs (tube, body, priority, ttr_ms, state, at_ms, created_ms)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                    params![
                        name,
                        body,
                        options.priority,
                        millis(options.ttr) as i64,
                        state,
                        at,
                        now as i64
                    ],
                )
                .map_err(db)?;
                Ok(tx.last_insert_rowid() as JobId)
            })
            .await?;
        if !delayed {
            self.wakeups.notify(tube);
        }
        Ok(id)
    }

    async fn reserve(
        &self,
        tubes: &[Tube],
        timeout: Duration,
    ) -> Result<Option<Reserved>, JobsError> {
        let names: Vec<String> = tubes.iter().map(|t| t.as_str().to_owned()).collect();
        self.wakeups
            .reserve(tubes, timeout, || self.attempt(names.clone()))
            .await
    }

    async fn delete(&self, token: &Token) -> Result<(), JobsError> {
        let token = token.clone();
        self.with(move |tx| {
            if !holds(tx, &token, now_ms())? {
                return Err(lost(&token));
            }
            exec(
                tx,
                "DELETE FROM jobs WHERE id = ?",
                params![token.id as i64],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn release(
        &self,
        token: &Token,
        priority: u32,
        delay: Duration,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let token = token.clone();
        let error = error.map(str::to_owned);
        let delayed = !delay.is_zero();
        let tube = token.tube.clone();
        self.with(move |tx| {
            let now = now_ms();
            if !holds(tx, &token, now)? {
                return Err(lost(&token));
            }
            let (state, at) = if delayed {
                ("delayed", Some(now.saturating_add(millis(delay)) as i64))
            } else {
                ("ready", None)
            };
            exec(
                tx,
                "UPDATE jobs SET state = ?, at_ms = ?, priority = ?,
                     last_error = COALESCE(?, last_error) WHERE id = ?",
                params![state, at, priority, error, token.id as i64],
            )
            .map_err(db)?;
            Ok(())
        })
        .await?;
        if !delayed {
            self.wakeups.notify(&tube);
        }
        Ok(())
    }

    async fn bury(
        &self,
        token: &Token,
        priority: u32,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let token = token.clone();
        let error = error.map(str::to_owned);
        self.with(move |tx| {
            let now = now_ms();
            if !holds(tx, &token, now)? {
                return Err(lost(&token));
            }
            exec(
                tx,
                "UPDATE jobs SET state = 'buried', at_ms = ?, priority = ?,
                     last_error = COALESCE(?, last_error) WHERE id = ?",
                params![now as i64, priority, error, token.id as i64],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn touch(&self, token: &Token) -> Result<(), JobsError> {
        let token = token.clone();
        self.with(move |tx| {
            let now = now_ms();
            if !holds(tx, &token, now)? {
                return Err(lost(&token));
            }
            exec(
                tx,
                "UPDATE jobs SET at_ms = ? + ttr_ms WHERE id = ?",
                params![now as i64, token.id as i64],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn kick(&self, tube: &Tube, bound: u32) -> Result<u32, JobsError> {
        let name = tube.as_str().to_owned();
        let kicked = self
            .with(move |tx| {
                settle(tx, std::slice::from_ref(&name), now_ms())?;
                let mut kicked = 0;
                for from in ["buried", "delayed"] {
                    kicked = exec(
                        tx,
                        "UPDATE jobs SET state = 'ready', at_ms = NULL WHERE id IN (
                                 SELECT id FROM jobs WHERE tube = ? AND state = ?
                                 ORDER BY at_ms, id LIMIT ?)",
                        params![name, from, bound],
                    )
                    .map_err(db)?;
                    if kicked > 0 {
                        break;
                    }
                }
                Ok(kicked as u32)
            })
            .await?;
        for _ in 0..kicked {
            self.wakeups.notify(tube);
        }
        Ok(kicked)
    }

    async fn kick_job(&self, id: JobId) -> Result<bool, JobsError> {
        let tube = self
            .with(move |tx| {
                let tube: Option<String> = one(
                    tx,
                    "SELECT tube FROM jobs WHERE id = ?",
                    params![id as i64],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
                let Some(tube) = tube else { return Ok(None) };
                settle(tx, std::slice::from_ref(&tube), now_ms())?;
                let kicked = exec(
                    tx,
                    "UPDATE jobs SET state = 'ready', at_ms = NULL
                         WHERE id = ? AND state IN ('buried', 'delayed')",
                    params![id as i64],
                )
                .map_err(db)?;
                Ok((kicked > 0).then_some(tube))
            })
            .await?;
        match tube {
            Some(tube) => {
                self.wakeups.notify(&Tube::parse(&tube)?);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn stats(&self, tube: &Tube) -> Result<TubeStats, JobsError> {
        let name = tube.as_str().to_owned();
        self.with(move |tx| {
            settle(tx, std::slice::from_ref(&name), now_ms())?;
            let mut stmt = tx
                .prepare_cached("SELECT state, COUNT(*) FROM jobs WHERE tube = ? GROUP BY state")
                .map_err(db)?;
            let rows = stmt
                .query_map(params![name], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
                })
                .map_err(db)?;
            let mut stats = TubeStats::default();
            for row in rows {
                let (state, n) = row.map_err(db)?;
                match JobState::parse(&state) {
                    Some(JobState::Ready) => stats.ready = n,
                    Some(JobState::Delayed) => stats.delayed = n,
                    Some(JobState::Reserved) => stats.reserved = n,
                    Some(JobState::Buried) => stats.buried = n,
                    None => {}
                }
            }
            Ok(stats)
        })
        .await
    }

    async fn list(
        &self,
        tube: &Tube,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<JobInfo>, JobsError> {
        let owned = tube.clone();
        self.with(move |tx| {
            let name = owned.as_str().to_owned();
            settle(tx, std::slice::from_ref(&name), now_ms())?;
            let order = match state {
                JobState::Ready => "priority, id",
                _ => "at_ms, id",
            };
            let sql = format!(
                "SELECT id, priority, attempts, last_error, at_ms, created_ms FROM jobs
                 WHERE tube = ? AND state = ? ORDER BY {order} LIMIT ?"
            );
            let mut stmt = tx.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(
                    params![name, state.as_str(), limit.min(i64::MAX as usize) as i64],
                    |row| {
                        Ok(JobInfo {
                            id: row.get::<_, i64>(0)? as JobId,
                            tube: owned.clone(),
                            state,
                            priority: row.get(1)?,
                            attempts: row.get(2)?,
                            last_error: row.get(3)?,
                            run_at: match state {
                                JobState::Delayed | JobState::Reserved => {
                                    row.get::<_, Option<i64>>(4)?.map(|at| at as u64)
                                }
                                _ => None,
                            },
                            put_at: row.get::<_, i64>(5)?.max(0) as u64,
                        })
                    },
                )
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    async fn delete_job(&self, id: JobId) -> Result<bool, JobsError> {
        self.with(move |tx| {
            let deleted =
                exec(tx, "DELETE FROM jobs WHERE id = ?", params![id as i64]).map_err(db)?;
            Ok(deleted > 0)
        })
        .await
    }
}
