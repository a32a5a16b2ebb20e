//! The embedded store: one SQLite file (rusqlite, bundled) in the data dir. Calls run on the
//! blocking pool so that no socket's arbiter ever waits on disk.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use client_protocol::http::GameRecord;
use rusqlite::{params, Connection, OptionalExtension};

use super::{FinishedGame, Glicko, NewUser, Store, StoreError, User};
use crate::domain::UserId;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    guest INTEGER NOT NULL,
    rating REAL NOT NULL,
    deviation REAL NOT NULL,
    volatility REAL NOT NULL,
    games_played INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS games (
    id TEXT PRIMARY KEY,
    ended_at INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS game_players (
    game_id TEXT NOT NULL REFERENCES games(id),
    user_id TEXT NOT NULL,
    ended_at INTEGER NOT NULL,
    PRIMARY KEY (game_id, user_id)
);
CREATE INDEX IF NOT EXISTS game_players_newest ON game_players (user_id, ended_at DESC);
";

/// The SQLite store. One connection behind a mutex: SQLite serialises writers anyway.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| unavailable("connection lock poisoned"))?;
            f(&mut conn)
        })
        .await
        .map_err(unavailable)?
    }
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(User, Option<String>)> {
    Ok((
        User {
            id: UserId::parse(&row.get::<_, String>(0)?).unwrap_or_else(UserId::generate),
            name: row.get(1)?,
            guest: row.get(2)?,
            glicko: Glicko {
                rating: row.get(3)?,
                deviation: row.get(4)?,
                volatility: row.get(5)?,
            },
            games_played: row.get::<_, i64>(6)? as u64,
            created_at: row.get::<_, i64>(7)? as u64,
        },
        row.get(8)?,
    ))
}

const USER_COLUMNS: &str =
    "id, name, guest, rating, deviation, volatility, games_played, created_at, password_hash";

fn parse_record(text: String) -> Result<GameRecord, StoreError> {
    serde_json::from_str(&text).map_err(|e| unavailable(format!("corrupt game record: {e}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.with(move |conn| {
            let glicko = Glicko::default();
            let inserted = conn.execute(
                "INSERT INTO users (id, name, name_key, password_hash, guest, rating, deviation, volatility, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(name_key) DO NOTHING",
                params![
                    user.id.as_str(),
                    user.name,
                    user.name_key,
                    user.password_hash,
                    user.guest,
                    glicko.rating,
                    glicko.deviation,
                    glicko.volatility,
                    user.created_at as i64
                ],
            );
            match inserted.map_err(unavailable)? {
                0 => Err(StoreError::UsernameTaken),
                _ => Ok(User {
                    id: user.id,
                    name: user.name,
                    guest: user.guest,
                    glicko,
                    games_played: 0,
                    created_at: user.created_at,
                }),
            }
        })
        .await
    }

    async fn user_by_name(
        &self,
        name_key: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let key = name_key.to_owned();
        self.with(move |conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = ?1"),
                [key],
                user_from_row,
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.with(move |conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_from_row,
            )
            .optional()
            .map(|found| found.map(|(user, _)| user))
            .map_err(unavailable)
        })
        .await
    }

    async fn record_game(&self, game: &FinishedGame) -> Result<(), StoreError> {
        let game = game.clone();
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let record = serde_json::to_string(&game.record).map_err(unavailable)?;
            let ended = game.record.ended_at as i64;
            let inserted = tx
                .execute(
                    "INSERT INTO games (id, ended_at, record) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
                    params![game.record.game, ended, record],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Ok(()); // already recorded: ratings were applied then
            }
            for user in &game.user_ids {
                tx.execute(
                    "INSERT OR IGNORE INTO game_players (game_id, user_id, ended_at) VALUES (?1, ?2, ?3)",
                    params![game.record.game, user.as_str(), ended],
                )
                .map_err(unavailable)?;
                tx.execute("UPDATE users SET games_played = games_played + 1 WHERE id = ?1", [user.as_str()])
                    .map_err(unavailable)?;
            }
            for update in &game.ratings {
                tx.execute(
                    "UPDATE users SET rating = rating + ?2, deviation = ?3, volatility = ?4 WHERE id = ?1",
                    params![update.user_id.as_str(), update.rating_delta, update.deviation, update.volatility],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn games_of(&self, user: &UserId, limit: u32) -> Result<Vec<GameRecord>, StoreError> {
        let user = user.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT g.record FROM game_players p JOIN games g ON g.id = p.game_id
                     WHERE p.user_id = ?1 ORDER BY p.ended_at DESC, g.id LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![user, limit as i64], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|r| r.map_err(unavailable).and_then(parse_record))
                .collect()
        })
        .await
    }

    async fn game(&self, id: &str) -> Result<Option<GameRecord>, StoreError> {
        let id = id.to_owned();
        self.with(move |conn| {
            let text: Option<String> = conn
                .query_row("SELECT record FROM games WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            text.map(parse_record).transpose()
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
        .await
    }
}
