//! The embedded audit store: a table in its own SQLite file in the data dir, indexed for
//! every filter of the search. Calls run on the blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params_from_iter, Connection, ErrorCode, OptionalExtension};

use super::{AuditError, AuditEvent, AuditOutcome, AuditQuery, AuditStore, AuditType};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor TEXT,
    target TEXT,
    ip TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_type ON audit (type, id);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, id);
CREATE INDEX IF NOT EXISTS audit_target ON audit (target, id);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TABLE IF NOT EXISTS audit_anchor (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id INTEGER NOT NULL,
    hash TEXT NOT NULL
);
";

#[derive(Clone)]
pub struct SqliteAudit {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::fmt::Display) -> AuditError {
    AuditError::Unavailable(e.to_string())
}

const COLUMNS: &str = "id, at, type, actor, target, ip, outcome, details, hash";

fn event_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    let text = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let kind: String = row.get(2)?;
    let outcome: String = row.get(6)?;
    let details: String = row.get(7)?;
    Ok(AuditEvent {
        id: row.get::<_, i64>(0)? as u64,
        at: row.get::<_, i64>(1)? as u64,
        kind: AuditType::parse(&kind).ok_or_else(|| text(2, format!("type {kind}")))?,
        actor: row.get(3)?,
        target: row.get(4)?,
        ip: row.get(5)?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| text(6, outcome.clone()))?,
        details: serde_json::from_str(&details).map_err(|e| text(7, e.to_string()))?,
        hash: row.get(8)?,
    })
}

impl SqliteAudit {
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(SqliteAudit {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T, F>(&self, f: F) -> Result<T, AuditError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, AuditError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| unavailable("audit lock poisoned"))?;
            f(&mut conn)
        })
        .await
        .map_err(unavailable)?
    }

    /// Runs raw SQL against the log (tests use it to tamper with events).
    pub async fn execute(&self, sql: &'static str) -> Result<usize, AuditError> {
        self.with(move |conn| conn.execute(sql, []).map_err(unavailable))
            .await
    }
}

#[async_trait]
impl AuditStore for SqliteAudit {
    async fn head(&self) -> Result<Option<(u64, String)>, AuditError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)),
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn insert(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let events = events.to_vec();
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let mut taken = None;
            for e in &events {
                let details = serde_json::to_string(&e.details).map_err(unavailable)?;
                let inserted = tx.execute(
                    "INSERT INTO audit (id, at, type, actor, target, ip, outcome, details, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    rusqlite::params![
                        e.id as i64,
                        e.at as i64,
                        e.kind.as_str(),
                        e.actor,
                        e.target,
                        e.ip,
                        e.outcome.as_str(),
                        details,
                        e.hash
                    ],
                );
                match inserted {
                    Ok(_) => {}
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == ErrorCode::ConstraintViolation =>
                    {
                        taken = Some(e.id);
                        break;
                    }
                    Err(e) => return Err(unavailable(e)),
                }
            }
            tx.commit().map_err(unavailable)?;
            taken.map_or(Ok(()), |id| Err(AuditError::Taken(id)))
        })
        .await
    }

    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditError> {
        let query = query.clone();
        self.with(move |conn| {
            let mut clauses = Vec::new();
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut add = |clause: &str, value: rusqlite::types::Value| {
                args.push(value);
                clauses.push(format!("{clause} ?{}", args.len()));
            };
            if let Some(kind) = query.kind {
                add("type =", kind.as_str().to_owned().into());
            }
            if let Some(actor) = query.actor {
                add("actor =", actor.into());
            }
            if let Some(target) = query.target {
                add("target =", target.into());
            }
            if let Some(since) = query.since {
                add("at >=", (since as i64).into());
            }
            if let Some(until) = query.until {
                add("at <", (until as i64).into());
            }
            if let Some(before) = query.before {
                add("id <", (before as i64).into());
            }
            let filter = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM audit {filter} ORDER BY id DESC LIMIT {}",
                query.limit
            );
            let mut statement = conn.prepare(&sql).map_err(unavailable)?;
            let rows = statement
                .query_map(params_from_iter(args), event_from_row)
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn scan(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>, AuditError> {
        self.with(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2");
            let mut statement = conn.prepare(&sql).map_err(unavailable)?;
            let rows = statement
                .query_map([after as i64, limit as i64], event_from_row)
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn purge_before(&self, at: u64) -> Result<u64, AuditError> {
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let newest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, hash FROM audit WHERE at < ?1 ORDER BY id DESC LIMIT 1",
                    [at as i64],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let Some((id, hash)) = newest else {
                return Ok(0);
            };
            tx.execute(
                "INSERT INTO audit_anchor (one, id, hash) VALUES (1, ?1, ?2)
                 ON CONFLICT (one) DO UPDATE SET id = excluded.id, hash = excluded.hash
                 WHERE excluded.id > audit_anchor.id",
                rusqlite::params![id, hash],
            )
            .map_err(unavailable)?;
            let deleted = tx
                .execute("DELETE FROM audit WHERE id <= ?1", [id])
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn anchor(&self) -> Result<Option<(u64, String)>, AuditError> {
        self.with(|conn| {
            conn.query_row("SELECT id, hash FROM audit_anchor", [], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get(1)?))
            })
            .optional()
            .map_err(unavailable)
        })
        .await
    }
}
