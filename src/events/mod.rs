//! The game event stream: every game appends what happened (`game_started`, `move`,
//! `draw_offered`, `game_over` with the finished-game document) to one durable, replayable
//! log, and independent listeners (the `listeners` module: the recorder that writes finished games
//! to the store, automod, anti-cheat) each read it through a consumer group of their own,
//! at least once, acknowledging only what they handled. A Redis stream in a cluster
//! (`redis.rs`: XADD, XREADGROUP, XAUTOCLAIM, XACK), a SQLite table embedded (`sqlite.rs`,
//! the same semantics in one process). The runner of listeners is in `listener.rs`.

pub mod listener;
pub mod redis;
pub mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use client_protocol::{GameKind, Move, Side};
use serde::{Deserialize, Serialize};

use crate::store::FinishedGame;

/// How long an entry a consumer took stays its own before another consumer may claim it (the
/// first is presumed dead), unless the log is built with another.
pub const CLAIM_IDLE: Duration = Duration::from_secs(30);

/// A player as `game_started` names them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPlayer {
    pub user_id: String,
    pub name: String,
    pub guest: bool,
}

/// One thing that happened in a game, appended after the snapshot write that made it true.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GameEvent {
    #[serde(rename_all = "camelCase")]
    GameStarted {
        game: String,
        kind: GameKind,
        rated: bool,
        players: [EventPlayer; 2],
        at: u64,
    },
    #[serde(rename_all = "camelCase")]
    Move {
        game: String,
        /// The move's index (0 for the first).
        seq: u32,
        side: Side,
        #[serde(rename = "move")]
        mv: Move,
        /// Time the mover took, ms.
        used_ms: u64,
        at: u64,
    },
    #[serde(rename_all = "camelCase")]
    DrawOffered { game: String, side: Side, at: u64 },
    /// The game's end, with everything a listener needs and nothing it must look up.
    #[serde(rename_all = "camelCase")]
    GameOver {
        finished: FinishedGame,
        /// Whether each side's socket was away when it ended.
        away: [bool; 2],
        /// Time each move took, ms, in move order.
        move_ms: Vec<u64>,
        /// The game was rebuilt on a node after its owner stopped (died or drained): a
        /// disconnection in it may be our doing, never the player's.
        rebuilt: bool,
        /// The tournament the game belongs to (its listener counts the result).
        #[serde(default)]
        tournament: Option<String>,
    },
}

impl GameEvent {
    /// The event's name on the wire (`move`, `game_over`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            GameEvent::GameStarted { .. } => "game_started",
            GameEvent::Move { .. } => "move",
            GameEvent::DrawOffered { .. } => "draw_offered",
            GameEvent::GameOver { .. } => "game_over",
        }
    }

    /// The game it is about.
    pub fn game(&self) -> &str {
        match self {
            GameEvent::GameStarted { game, .. }
            | GameEvent::Move { game, .. }
            | GameEvent::DrawOffered { game, .. } => game,
            GameEvent::GameOver { finished, .. } => &finished.record.game,
        }
    }
}

/// One entry of the log as a listener gets it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Unique within the log and increasing within its partition (Redis: `ms-seq`, or
    /// `p/ms-seq` in partition `p` of a partitioned log; embedded: a number).
    pub id: String,
    pub event: GameEvent,
    /// Times it was handed to this listener, this one included.
    pub deliveries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    #[error("event not encodable: {0}")]
    Encoding(#[from] serde_json::Error),
}

fn unavailable(e: impl std::fmt::Display) -> EventsError {
    EventsError::Unavailable(e.to_string())
}

/// How much of the log is kept: at most `max_len` entries (roughly: trimming is lazy) and none
/// older than `max_age`. A listener further behind than that loses what was trimmed; the lag
/// metric shows it coming.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub max_len: u64,
    pub max_age: Duration,
}

/// The durable, replayable log of game events. Every implementation passes
/// `tests/contract/events.rs`.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends; returns the entry's id.
    async fn append(&self, event: &GameEvent) -> Result<String, EventsError>;

    /// How many partitions the log is spread over (a Redis Cluster spreads them over its
    /// shards). Every event of one game goes to the same partition, in order; there is no
    /// order between partitions, and each is read on its own.
    fn partitions(&self) -> usize {
        1
    }

    /// Up to `count` entries of `partition` (below [`EventLog::partitions`]) for listener
    /// `group` and its `consumer` (one per node): this consumer's unacknowledged ones first,
    /// then those a dead consumer left for longer than the log's claim idle time
    /// ([`CLAIM_IDLE`] by default), then new ones, waiting up to `block` for one.
    async fn read(
        &self,
        group: &str,
        consumer: &str,
        partition: usize,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, EventsError>;

    /// The listener handled these entries (of any partitions): they are not delivered to that
    /// listener again.
    async fn ack(&self, group: &str, ids: &[String]) -> Result<(), EventsError>;

    /// Sets an entry the listener keeps failing on aside, in the listener's dead-letter log,
    /// with the error, and acknowledges it.
    async fn dead_letter(&self, group: &str, entry: &Entry, error: &str)
        -> Result<(), EventsError>;

    /// Entries in the listener's dead-letter log (newest last), as (entry id, event name,
    /// error).
    async fn dead_letters(&self, group: &str)
        -> Result<Vec<(String, String, String)>, EventsError>;

    /// Rewinds the listener: it is handed again every entry appended at or after `since`
    /// (unix ms; 0 for the start of the log).
    async fn rewind(&self, group: &str, since: u64) -> Result<(), EventsError>;

    /// Entries appended that the listener has not been handed yet.
    async fn lag(&self, group: &str) -> Result<u64, EventsError>;

    /// Drops what the retention no longer keeps.
    async fn trim(&self, retention: Retention) -> Result<(), EventsError>;
}
