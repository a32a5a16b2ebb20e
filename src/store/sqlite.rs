//! The embedded store: one SQLite file (rusqlite, bundled) in the data dir. Calls run on the
//! blocking pool so that no socket's arbiter ever waits on disk. Finished games are stored in
//! the shape of [`GameDocument`] as columns, a players side table and JSON cells.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use client_protocol::http::GameRecord;
use client_protocol::GameKind;
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cached::{CachedSql, CACHED_STATEMENTS};
use super::document::{from_wire_name, wire_name, DocumentError, GameDocument, PlayerDocument};
use super::{
    FinishedGame, Glicko, NewUser, Standing, StandingChange, Store, StoreError, StoredAnalysis,
    TournamentRecord, User, CHEAT_FLAG, NOTIFICATIONS_KEPT, NOTIFICATION_TTL_MS,
};
use crate::analysis::PlayerAnalysis;
use crate::domain::{now_ms, Email, UserId};
use client_protocol::http::NotificationEntry;
use client_protocol::{Notification, NotificationKind, TournamentStatus};

/// Set once per connection, outside any transaction (SQLite refuses to switch the journal
/// mode inside one).
const PRAGMAS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
";

/// Finished games in the shape of [`GameDocument`]: scalars as columns, players in a side table
/// (one row per seat, indexed for "a player's newest games"), nested values as JSON text.
const SCHEMA: &str = "
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
    kind TEXT NOT NULL,               -- tictactoe | connect4 | chess
    rated INTEGER NOT NULL,
    tournament TEXT,                  -- always NULL for now
    clock TEXT,                       -- JSON {initialMs, incrementMs}; NULL when untimed
    moves TEXT NOT NULL,              -- JSON array: cells/columns as numbers, chess as UCI
    result TEXT NOT NULL,             -- first | second | draw | aborted
    reason TEXT NOT NULL,             -- resign, checkmate, line, ...
    started_at INTEGER NOT NULL,      -- unix ms
    ended_at INTEGER NOT NULL,        -- unix ms
    clocks TEXT NOT NULL,             -- JSON {first, second, running}
    final_position TEXT NOT NULL,     -- JSON: FEN string or rows
    pgn TEXT,                         -- chess only
    chat TEXT                         -- JSON array of the players' chat lines; NULL: none
);
CREATE INDEX IF NOT EXISTS games_ended ON games (ended_at DESC);
CREATE TABLE IF NOT EXISTS game_players (
    game_id TEXT NOT NULL REFERENCES games(id),
    seat INTEGER NOT NULL,            -- position in the record's players (side order)
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    side TEXT NOT NULL,
    rating_before INTEGER NOT NULL,
    rating_after INTEGER,             -- NULL when the game changed no rating
    rating_delta INTEGER,             -- NULL exactly when rating_after is
    rating_change_before INTEGER,     -- see PlayerDocument::rating_change_before
    ended_at INTEGER NOT NULL,        -- copy of games.ended_at, for the index
    PRIMARY KEY (game_id, seat)
);
CREATE INDEX IF NOT EXISTS game_players_newest ON game_players (user_id, ended_at DESC, game_id);
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,               -- tournament_starting | registration_changed | ...
    text TEXT NOT NULL,
    at INTEGER NOT NULL,              -- unix ms
    data TEXT NOT NULL,               -- JSON object of strings
    read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notifications_newest ON notifications (user_id, at DESC);
CREATE TABLE IF NOT EXISTS emails_sent (
    notification_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL               -- unix ms
);
CREATE INDEX IF NOT EXISTS emails_sent_at ON emails_sent (at);
CREATE TABLE IF NOT EXISTS analyses (
    game TEXT PRIMARY KEY,
    ended_at INTEGER NOT NULL,
    body TEXT NOT NULL                -- StoredAnalysis as JSON
);
CREATE TABLE IF NOT EXISTS analysis_players (
    game TEXT NOT NULL,
    user_id TEXT NOT NULL,
    ended_at INTEGER NOT NULL,
    body TEXT NOT NULL,               -- that player's PlayerAnalysis as JSON
    PRIMARY KEY (game, user_id)
);
CREATE INDEX IF NOT EXISTS analysis_players_newest ON analysis_players (user_id, ended_at DESC);
CREATE TABLE IF NOT EXISTS tournaments (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL                -- TournamentRecord as JSON
);
CREATE INDEX IF NOT EXISTS tournaments_by_status ON tournaments (status, starts_at);
";

/// Moves the legacy tables (`games (id, ended_at, record)` holding the record as JSON text,
/// and `game_players (game_id, user_id, ended_at)`) aside so that [`SCHEMA`] creates the new
/// ones; [`migrate_legacy_games`] then converts the rows and drops the old tables.
const SET_LEGACY_ASIDE: &str = "
ALTER TABLE games RENAME TO legacy_games;
ALTER TABLE game_players RENAME TO legacy_game_players;
DROP INDEX IF EXISTS game_players_newest;
";

const GAME_COLUMNS: &str = "g.id, g.kind, g.rated, g.tournament, g.clock, g.moves, g.result, \
     g.reason, g.started_at, g.ended_at, g.clocks, g.final_position, g.pgn, g.chat";

/// The SQLite store. One connection behind a mutex: SQLite serialises writers anyway.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    legacy_converted: u64,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let mut conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(PRAGMAS).map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        let legacy_converted = prepare_schema(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            legacy_converted,
        })
    }

    /// How many legacy game rows [`SqliteStore::open`] converted (0 on every open after the
    /// first with the new schema).
    pub fn legacy_games_converted(&self) -> u64 {
        self.legacy_converted
    }

    /// The JSON `body` column of the row `sql` selects by one key, read into `T`.
    async fn json_body<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let key = key.to_owned();
        let body: Option<String> = self
            .with(move |conn| {
                conn.one(sql, [key], |r| r.get(0))
                    .optional()
                    .map_err(unavailable)
            })
            .await?;
        body.map(|b| serde_json::from_str(&b).map_err(unavailable))
            .transpose()
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
    let standing: Option<String> = row.get(9)?;
    let standing = match standing {
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, e.into())
        })?,
        None => Standing::default(),
    };
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
            standing,
            // A stored address that no longer parses (the rules tightened) is as good as none.
            email: row
                .get::<_, Option<String>>(10)?
                .and_then(|e| Email::parse(&e).ok()),
        },
        row.get(8)?,
    ))
}

const USER_COLUMNS: &str = "id, name, guest, rating, deviation, volatility, games_played, \
     created_at, password_hash, standing, email";

/// Adds a nullable TEXT column to a table made before it: the users' `standing` (roles and
/// sanctions, as JSON) and `email`, the games' `chat`.
fn add_column(tx: &rusqlite::Transaction<'_>, table: &str, column: &str) -> Result<(), StoreError> {
    let present: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            [table, column],
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    if !present {
        tx.run(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"), [])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Brings the schema up to date in one transaction (SQLite's DDL is transactional: a crash
/// leaves either the old tables or the new ones), converting legacy game rows on the way.
/// Returns how many it converted. Idempotent: once the `games` table has no `record` column
/// there is nothing to convert.
fn prepare_schema(conn: &mut Connection) -> Result<u64, StoreError> {
    // Immediate: takes the write lock before looking, so that a second process opening the
    // same file waits (busy timeout) and then finds the new schema, rather than both starting
    // to migrate.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let legacy: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('games') WHERE name = 'record')",
            [],
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    if legacy {
        tx.execute_batch(SET_LEGACY_ASIDE).map_err(unavailable)?;
    }
    tx.execute_batch(SCHEMA).map_err(unavailable)?;
    add_column(&tx, "users", "standing")?;
    add_column(&tx, "users", "email")?;
    add_column(&tx, "games", "chat")?;
    let converted = if legacy {
        migrate_legacy_games(&tx)?
    } else {
        0
    };
    tx.commit().map_err(unavailable)?;
    if legacy {
        tracing::info!(
            converted,
            "sqlite games: legacy JSON records converted to columns"
        );
    }
    Ok(converted)
}

/// Converts every row of the legacy table set aside by [`SET_LEGACY_ASIDE`], then drops the
/// legacy tables. A row that does not convert exactly fails the open (and the transaction
/// rolls back): the old table is dropped here, so nothing may be left behind.
fn migrate_legacy_games(tx: &rusqlite::Transaction<'_>) -> Result<u64, StoreError> {
    let mut converted = 0;
    {
        let mut rows = tx
            .prepare("SELECT id, record FROM legacy_games ORDER BY id")
            .map_err(unavailable)?;
        let rows = rows
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(unavailable)?;
        for row in rows {
            let (id, json) = row.map_err(unavailable)?;
            let document = GameDocument::from_legacy_json(&json).map_err(|e| {
                unavailable(format!(
                    "legacy game {id} does not convert, nothing migrated: {e}"
                ))
            })?;
            insert_game(tx, &document)?;
            converted += 1;
        }
    }
    tx.execute_batch("DROP TABLE legacy_game_players; DROP TABLE legacy_games;")
        .map_err(unavailable)?;
    Ok(converted)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, DocumentError> {
    Ok(serde_json::to_string(value)?)
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, DocumentError> {
    Ok(serde_json::from_str(text)?)
}

/// A `games` row (the [`GAME_COLUMNS`]) before its players are attached.
fn game_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GameRow> {
    Ok(GameRow {
        id: row.get(0)?,
        kind: row.get(1)?,
        rated: row.get(2)?,
        tournament: row.get(3)?,
        clock: row.get(4)?,
        moves: row.get(5)?,
        result: row.get(6)?,
        reason: row.get(7)?,
        started_at: row.get(8)?,
        ended_at: row.get(9)?,
        clocks: row.get(10)?,
        final_position: row.get(11)?,
        pgn: row.get(12)?,
        chat: row.get(13)?,
    })
}

/// The raw cells of a `games` row, read inside the row callback and decoded after it (rusqlite
/// callbacks can only fail with its own error type).
struct GameRow {
    id: String,
    kind: String,
    rated: bool,
    tournament: Option<String>,
    clock: Option<String>,
    moves: String,
    result: String,
    reason: String,
    started_at: i64,
    ended_at: i64,
    clocks: String,
    final_position: String,
    pgn: Option<String>,
    chat: Option<String>,
}

/// The record of a `games` row and its `game_players` rows.
fn load_record(conn: &Connection, row: GameRow) -> Result<GameRecord, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT user_id, name, side, rating_before, rating_after, rating_delta,
                 rating_change_before
             FROM game_players WHERE game_id = ?1 ORDER BY seat",
        )
        .map_err(unavailable)?;
    let cells = stmt
        .query_map([&row.id], |p| {
            Ok((
                p.get::<_, String>(0)?,
                p.get::<_, String>(1)?,
                p.get::<_, String>(2)?,
                p.get::<_, i32>(3)?,
                p.get::<_, Option<i32>>(4)?,
                p.get::<_, Option<i32>>(5)?,
                p.get::<_, Option<i32>>(6)?,
            ))
        })
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    let mut players = Vec::with_capacity(cells.len());
    for (user_id, name, side, before, after, delta, change_before) in cells {
        players.push(PlayerDocument {
            user_id,
            name,
            side: from_wire_name("game_players.side", &side)?,
            rating_before: before,
            rating_after: after,
            rating_delta: delta,
            rating_change_before: change_before,
        });
    }
    let document = GameDocument {
        kind: GameKind::parse(&row.kind).ok_or_else(|| DocumentError::UnknownName {
            what: "games.kind",
            text: row.kind.clone(),
        })?,
        rated: row.rated,
        tournament: row.tournament,
        clock: row.clock.as_deref().map(from_json).transpose()?,
        players,
        moves: from_json(&row.moves)?,
        result: from_wire_name("games.result", &row.result)?,
        reason: from_wire_name("games.reason", &row.reason)?,
        started_at: row.started_at,
        ended_at: row.ended_at,
        clocks: from_json(&row.clocks)?,
        final_position: from_json(&row.final_position)?,
        pgn: row.pgn,
        chat: row
            .chat
            .as_deref()
            .map(from_json)
            .transpose()?
            .unwrap_or_default(),
        id: row.id,
    };
    Ok(document.into_record()?)
}

/// Inserts a game and its players; false (and no change) when the game id is stored already.
fn insert_game(conn: &Connection, game: &GameDocument) -> Result<bool, StoreError> {
    let inserted = conn
        .execute(
            "INSERT INTO games (id, kind, rated, tournament, clock, moves, result, reason,
                 started_at, ended_at, clocks, final_position, pgn, chat)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT(id) DO NOTHING",
            params![
                game.id,
                game.kind.as_str(),
                game.rated,
                game.tournament,
                game.clock.map(|c| to_json(&c)).transpose()?,
                to_json(&game.moves)?,
                wire_name(&game.result)?,
                wire_name(&game.reason)?,
                game.started_at,
                game.ended_at,
                to_json(&game.clocks)?,
                to_json(&game.final_position)?,
                game.pgn,
                (!game.chat.is_empty())
                    .then(|| to_json(&game.chat))
                    .transpose()?,
            ],
        )
        .map_err(unavailable)?;
    if inserted == 0 {
        return Ok(false);
    }
    for (seat, player) in game.players.iter().enumerate() {
        conn.run(
            "INSERT INTO game_players (game_id, seat, user_id, name, side, rating_before,
                 rating_after, rating_delta, rating_change_before, ended_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                game.id,
                seat as i64,
                player.user_id,
                player.name,
                wire_name(&player.side)?,
                player.rating_before,
                player.rating_after,
                player.rating_delta,
                player.rating_change_before,
                game.ended_at,
            ],
        )
        .map_err(unavailable)?;
    }
    Ok(true)
}
#[async_trait]
impl Store for SqliteStore {
    async fn change_standing(
        &self,
        id: &UserId,
        change: StandingChange,
    ) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let stored: Option<Option<String>> = tx
                .query_row("SELECT standing FROM users WHERE id = ?1", [&id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            let Some(stored) = stored else {
                return Ok(false);
            };
            let mut standing: Standing = match stored {
                Some(json) => serde_json::from_str(&json).map_err(unavailable)?,
                None => Standing::default(),
            };
            change.apply(&mut standing);
            let json = serde_json::to_string(&standing).map_err(unavailable)?;
            tx.run(
                "UPDATE users SET standing = ?1 WHERE id = ?2",
                params![json, id],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.with(move |conn| {
            let glicko = Glicko::default();
            let inserted = conn.run(
                "INSERT INTO users (id, name, name_key, password_hash, guest, rating, deviation, volatility, created_at, email)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(name_key) DO NOTHING",
                params![
                    user.id.as_str(),
                    user.name,
                    user.name_key,
                    user.password_hash,
                    user.guest,
                    glicko.rating,
                    glicko.deviation,
                    glicko.volatility,
                    user.created_at as i64,
                    user.email.as_ref().map(Email::as_str),
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
                    standing: Standing::default(),
                    email: user.email,
                }),
            }
        })
        .await
    }

    async fn set_email(&self, id: &UserId, email: Option<&Email>) -> Result<bool, StoreError> {
        let (id, email) = (id.to_string(), email.map(|e| e.as_str().to_owned()));
        self.with(move |conn| {
            conn.run(
                "UPDATE users SET email = ?2 WHERE id = ?1",
                params![id, email],
            )
            .map(|changed| changed > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn add_notification(
        &self,
        user: &UserId,
        notification: &Notification,
    ) -> Result<(), StoreError> {
        let user = user.to_string();
        let n = notification.clone();
        let data = serde_json::to_string(&n.data).map_err(unavailable)?;
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            tx.run(
                "INSERT INTO notifications (id, user_id, kind, text, at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO NOTHING",
                params![n.id, user, n.kind.as_str(), n.text, n.at as i64, data],
            )
            .map_err(unavailable)?;
            let cutoff = now_ms().saturating_sub(NOTIFICATION_TTL_MS) as i64;
            tx.run(
                "DELETE FROM notifications WHERE user_id = ?1 AND (at < ?2 OR id NOT IN
                     (SELECT id FROM notifications WHERE user_id = ?1 ORDER BY at DESC, rowid DESC LIMIT ?3))",
                params![user, cutoff, NOTIFICATIONS_KEPT],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn notifications(
        &self,
        user: &UserId,
        limit: u32,
        unread_only: bool,
    ) -> Result<Vec<NotificationEntry>, StoreError> {
        let user = user.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, kind, text, at, data, read FROM notifications
                     WHERE user_id = ?1 AND (?2 = 0 OR read = 0)
                     ORDER BY at DESC, rowid DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![user, unread_only, limit], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, bool>(5)?,
                    ))
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(id, kind, text, at, data, read)| {
                    let kind = NotificationKind::parse(&kind).ok_or_else(|| {
                        unavailable(format!("notifications.kind: unknown {kind:?}"))
                    })?;
                    Ok(NotificationEntry {
                        notification: Notification {
                            id,
                            kind,
                            text,
                            at: at.max(0) as u64,
                            data: serde_json::from_str(&data).map_err(unavailable)?,
                        },
                        read,
                    })
                })
                .collect()
        })
        .await
    }

    async fn mark_read(&self, user: &UserId, ids: &[String]) -> Result<u64, StoreError> {
        let (user, ids) = (user.to_string(), ids.to_vec());
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let mut read = 0;
            for id in &ids {
                read += tx
                    .execute(
                        "UPDATE notifications SET read = 1 WHERE id = ?1 AND user_id = ?2 AND read = 0",
                        params![id, user],
                    )
                    .map_err(unavailable)? as u64;
            }
            tx.commit().map_err(unavailable)?;
            Ok(read)
        })
        .await
    }

    async fn email_sent(&self, notification: &str) -> Result<bool, StoreError> {
        let id = notification.to_owned();
        self.with(move |conn| {
            conn.one(
                "SELECT EXISTS (SELECT 1 FROM emails_sent WHERE notification_id = ?1)",
                [id],
                |row| row.get(0),
            )
            .map_err(unavailable)
        })
        .await
    }

    async fn record_email_sent(&self, notification: &str, at: u64) -> Result<(), StoreError> {
        let id = notification.to_owned();
        self.with(move |conn| {
            let cutoff = now_ms().saturating_sub(NOTIFICATION_TTL_MS) as i64;
            conn.run("DELETE FROM emails_sent WHERE at < ?1", [cutoff])
                .map_err(unavailable)?;
            conn.run(
                "INSERT INTO emails_sent (notification_id, at) VALUES (?1, ?2)
                 ON CONFLICT(notification_id) DO NOTHING",
                params![id, at as i64],
            )
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn user_by_name(
        &self,
        name_key: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let key = name_key.to_owned();
        self.with(move |conn| {
            conn.one(
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
            conn.one(
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
        let document = GameDocument::from_record(&game.record)?;
        let game = game.clone();
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            if !insert_game(&tx, &document)? {
                return Ok(()); // already recorded: ratings were applied then
            }
            for user in &game.user_ids {
                tx.run("UPDATE users SET games_played = games_played + 1 WHERE id = ?1", [user.as_str()])
                    .map_err(unavailable)?;
            }
            for update in &game.ratings {
                tx.run(
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
            let rows = {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {GAME_COLUMNS} FROM game_players p JOIN games g ON g.id = p.game_id
                         WHERE p.user_id = ?1 ORDER BY p.ended_at DESC, p.game_id LIMIT ?2"
                    ))
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![user, limit as i64], game_from_row)
                    .map_err(unavailable)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(unavailable)?;
                rows
            };
            rows.into_iter().map(|row| load_record(conn, row)).collect()
        })
        .await
    }

    async fn game(&self, id: &str) -> Result<Option<GameRecord>, StoreError> {
        let id = id.to_owned();
        self.with(move |conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {GAME_COLUMNS} FROM games g WHERE g.id = ?1"),
                    [id],
                    game_from_row,
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|row| load_record(conn, row)).transpose()
        })
        .await
    }

    async fn save_analysis(&self, analysis: &StoredAnalysis) -> Result<(), StoreError> {
        let a = analysis.clone();
        let body = serde_json::to_string(&a).map_err(unavailable)?;
        let sides = a
            .players
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            tx.run(
                "INSERT INTO analyses (game, ended_at, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(game) DO UPDATE SET body = excluded.body",
                params![a.game, a.ended_at as i64, body],
            )
            .map_err(unavailable)?;
            for (user, side) in a.user_ids.iter().zip(sides) {
                tx.run(
                    "INSERT INTO analysis_players (game, user_id, ended_at, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(game, user_id) DO UPDATE SET body = excluded.body",
                    params![a.game, user.as_str(), a.ended_at as i64, side],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn analysis(&self, game: &str) -> Result<Option<StoredAnalysis>, StoreError> {
        self.json_body("SELECT body FROM analyses WHERE game = ?1", game)
            .await
    }

    async fn analyses_of(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<PlayerAnalysis>, StoreError> {
        let user = user.to_string();
        let bodies: Vec<String> = self
            .with(move |conn| {
                conn.prepare_cached(
                    "SELECT body FROM analysis_players WHERE user_id = ?1
                     ORDER BY ended_at DESC LIMIT ?2",
                )
                .map_err(unavailable)?
                .query_map(params![user, limit], |r| r.get(0))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)
            })
            .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(unavailable))
            .collect()
    }

    async fn staff(&self) -> Result<Vec<User>, StoreError> {
        self.with(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE standing IS NOT NULL AND EXISTS
                     (SELECT 1 FROM json_each(users.standing, '$.roles'))"
            ))
            .map_err(unavailable)?
            .query_map([], user_from_row)
            .map_err(unavailable)?
            .map(|row| row.map(|(user, _)| user))
            .collect::<Result<_, _>>()
            .map_err(unavailable)
        })
        .await
    }

    async fn flagged(&self, limit: u32) -> Result<Vec<User>, StoreError> {
        self.with(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE standing IS NOT NULL AND EXISTS
                     (SELECT 1 FROM json_each(users.standing, '$.flags')
                      WHERE json_extract(value, '$.kind') = ?1)
                 ORDER BY created_at DESC LIMIT ?2"
            ))
            .map_err(unavailable)?
            .query_map(params![CHEAT_FLAG, limit], user_from_row)
            .map_err(unavailable)?
            .map(|row| row.map(|(user, _)| user))
            .collect::<Result<_, _>>()
            .map_err(unavailable)
        })
        .await
    }

    async fn save_tournament(&self, record: &TournamentRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(record).map_err(unavailable)?;
        let (id, status) = (record.id.clone(), record.status.as_str());
        let (starts_at, rev) = (record.starts_at as i64, record.rev as i64);
        self.with(move |conn| {
            conn.run(
                "INSERT INTO tournaments (id, status, starts_at, rev, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status,
                   starts_at = excluded.starts_at, rev = excluded.rev, body = excluded.body",
                params![id, status, starts_at, rev, body],
            )
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn tournament(&self, id: &str) -> Result<Option<TournamentRecord>, StoreError> {
        self.json_body("SELECT body FROM tournaments WHERE id = ?1", id)
            .await
    }

    async fn tournaments(
        &self,
        status: Option<TournamentStatus>,
        limit: usize,
    ) -> Result<Vec<TournamentRecord>, StoreError> {
        let bodies: Vec<String> = self
            .with(move |conn| {
                let (sql, status) = match status {
                    Some(TournamentStatus::Created) => (
                        "SELECT body FROM tournaments WHERE status = ?1 ORDER BY starts_at ASC LIMIT ?2",
                        TournamentStatus::Created.as_str(),
                    ),
                    Some(other) => (
                        "SELECT body FROM tournaments WHERE status = ?1 ORDER BY starts_at DESC LIMIT ?2",
                        other.as_str(),
                    ),
                    None => (
                        "SELECT body FROM tournaments WHERE ?1 = ?1 ORDER BY starts_at DESC LIMIT ?2",
                        "",
                    ),
                };
                let mut statement = conn.prepare_cached(sql).map_err(unavailable)?;
                let rows = statement
                    .query_map(params![status, limit as i64], |r| r.get(0))
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(unavailable)
            })
            .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(unavailable))
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|conn| conn.one("SELECT 1", [], |_| Ok(())).map_err(unavailable))
            .await
    }
}
