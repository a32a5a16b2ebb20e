//! Spectators' and chat's shared state, outside any actor: chat rooms (their last 50 messages
//! and each sender's flood record, `ChatLog`) and the cluster-wide index of live games by
//! watchers (`LiveIndex`). Each is a seam with an in-process implementation (`memory`) and a
//! Redis one (`redis`: a capped list per room, a sorted set of live games). The rules a
//! message must pass (`Room`, [`clean_text`], [`Flood`]) are pure and live here too.
//!
//! Delivery is not here: a room's members and a game's watchers are router groups
//! (`watch:chat:<room>`, `watch:game:<id>`), one bus subscription per node.

pub mod memory;
pub mod redis;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use client_protocol::http::LiveGame;
use client_protocol::{ChatLine, GameKind};
use unicode_normalization::UnicodeNormalization;

use crate::domain::{GameId, TournamentId};

/// Messages a room keeps (and `client/CHAT_HISTORY` sends).
pub const HISTORY: usize = 50;
/// Longest message, in Unicode scalar values.
pub const MAX_TEXT_CHARS: usize = 500;
/// The flood rule: at most `FLOOD_MAX` accepted messages per `FLOOD_WINDOW_MS`...
pub const FLOOD_MAX: usize = 5;
pub const FLOOD_WINDOW_MS: u64 = 10_000;
/// ...and none that repeats one of the sender's last `REPEATS`.
pub const REPEATS: usize = 2;
/// How long an idle room's history is kept (every message refreshes it).
pub const ROOM_TTL_SECS: u64 = 24 * 3600;
/// A live-index entry not refreshed for this long is dropped (its node died).
pub const LIVE_STALE_MS: u64 = 120_000;

#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    #[error("chat or live-games store unavailable: {0}")]
    Unavailable(String),
}

/// A chat room, as the protocol names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Room {
    /// A game's two players.
    Game(GameId),
    /// A game's watchers.
    Watchers(GameId),
    /// A tournament's players and watchers.
    Tournament(TournamentId),
    /// Everyone who joined.
    Lobby,
}

impl Room {
    /// Reads `game:<id>`, `watchers:<id>`, `tournament:<id>` or `lobby`.
    pub fn parse(name: &str) -> Option<Room> {
        if name == "lobby" {
            return Some(Room::Lobby);
        }
        let (kind, id) = name.split_once(':')?;
        match kind {
            "game" => GameId::parse(id).map(Room::Game),
            "watchers" => GameId::parse(id).map(Room::Watchers),
            "tournament" => TournamentId::parse(id).map(Room::Tournament),
            _ => None,
        }
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Room::Game(id) => write!(f, "game:{id}"),
            Room::Watchers(id) => write!(f, "watchers:{id}"),
            Room::Tournament(id) => write!(f, "tournament:{id}"),
            Room::Lobby => f.write_str("lobby"),
        }
    }
}

/// The text as it is kept: trimmed, without control characters (Unicode category Cc, newline
/// and tab included), NFC-normalised, 1 to 500 scalar values. Err says what is wrong.
pub fn clean_text(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("text: empty after trimming".into());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("text: control characters (newlines, tabs) are not allowed".into());
    }
    let text: String = trimmed.nfc().collect();
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "text: {chars} characters, at most {MAX_TEXT_CHARS}"
        ));
    }
    Ok(text)
}

/// What makes two messages "the same" for the repeat rule: letters and digits only, lower
/// case ("GG!!", "gg" and "g g" repeat one another); a text with none is compared whole.
pub fn fingerprint(text: &str) -> String {
    let letters: String = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if letters.is_empty() {
        text.to_owned()
    } else {
        letters
    }
}

/// A sender's recent accepted messages, newest first: (at, fingerprint).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flood {
    pub recent: Vec<(u64, String)>,
}

impl Flood {
    /// Whether a message with `fingerprint` at `now` may be said.
    pub fn allows(&self, now: u64, fingerprint: &str) -> bool {
        let in_window = self
            .recent
            .iter()
            .filter(|(at, _)| now.saturating_sub(*at) < FLOOD_WINDOW_MS)
            .count();
        let repeat = self
            .recent
            .iter()
            .take(REPEATS)
            .any(|(_, f)| f == fingerprint);
        in_window < FLOOD_MAX && !repeat
    }

    /// Records an accepted message.
    pub fn record(&mut self, now: u64, fingerprint: String) {
        self.recent.insert(0, (now, fingerprint));
        self.recent.truncate(FLOOD_MAX);
    }
}

/// Why a message was not kept.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("too many messages: at most {FLOOD_MAX} in 10 s, and no repeat of your last two")]
    Flood,
    #[error(transparent)]
    Unavailable(#[from] RoomsError),
}

/// Chat rooms' history and senders' flood records.
#[async_trait]
pub trait ChatLog: Send + Sync {
    /// Keeps `line` in its room if `sender`'s flood record allows it (checked and recorded in
    /// one step, so two sockets of one account cannot both slip through).
    async fn post(&self, sender: &str, line: &ChatLine, fingerprint: &str)
        -> Result<(), PostError>;
    /// The room's last messages, oldest first.
    async fn history(&self, room: &Room) -> Result<Vec<ChatLine>, RoomsError>;
    /// Deletes message `id` from the room; the deleted message, if it was there.
    async fn delete(&self, room: &Room, id: &str) -> Result<Option<ChatLine>, RoomsError>;
}

/// The live games, by watchers.
#[async_trait]
pub trait LiveIndex: Send + Sync {
    /// Adds or refreshes a game (its `watchers` included).
    async fn upsert(&self, game: &LiveGame, now: u64) -> Result<(), RoomsError>;
    async fn remove(&self, game: &str) -> Result<(), RoomsError>;
    /// The most watched games (of `kind`, if given), at most `limit`.
    async fn top(
        &self,
        kind: Option<GameKind>,
        limit: usize,
        now: u64,
    ) -> Result<Vec<LiveGame>, RoomsError>;
}

/// The two seams, in one handle for whoever needs them, and the node's writer of the live
/// index.
#[derive(Clone)]
pub struct Rooms {
    pub chat: Arc<dyn ChatLog>,
    pub live: Arc<dyn LiveIndex>,
    pub live_writer: LiveWriter,
}

impl Rooms {
    /// Starts the live index's writer task: call inside a tokio runtime.
    pub fn new(chat: Arc<dyn ChatLog>, live: Arc<dyn LiveIndex>) -> Rooms {
        Rooms {
            chat,
            live_writer: LiveWriter::start(live.clone()),
            live,
        }
    }

    /// Both in this process (embedded mode, tests).
    pub fn in_process() -> Rooms {
        Rooms::new(
            Arc::new(memory::MemoryChat::default()),
            Arc::new(memory::MemoryLive::default()),
        )
    }

    /// Both on the cluster's Redis.
    pub fn on_redis(cluster: Arc<crate::cluster::redis::RedisCluster>) -> Rooms {
        Rooms::new(
            Arc::new(redis::RedisChat::new(cluster.clone())),
            Arc::new(redis::RedisLive::new(cluster)),
        )
    }
}

/// A change to the live index.
#[derive(Debug)]
pub enum LiveWrite {
    Upsert(Box<LiveGame>),
    Remove(String),
}

impl LiveWrite {
    fn game(&self) -> &str {
        match self {
            LiveWrite::Upsert(game) => &game.game,
            LiveWrite::Remove(game) => game,
        }
    }
}

/// Writes the live index off the game actors, in order per game: a game's removal at its end
/// is never overtaken by an earlier refresh. Each batch keeps the last write of each game and
/// applies them together; batches go one after another.
#[derive(Clone)]
pub struct LiveWriter {
    tx: tokio::sync::mpsc::UnboundedSender<LiveWrite>,
}

impl LiveWriter {
    fn start(live: Arc<dyn LiveIndex>) -> LiveWriter {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<LiveWrite>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = std::collections::HashMap::new();
                batch.insert(first.game().to_owned(), first);
                while let Ok(next) = rx.try_recv() {
                    batch.insert(next.game().to_owned(), next);
                }
                let now = crate::domain::now_ms();
                let writes = batch.into_values().map(|write| {
                    let live = live.clone();
                    async move {
                        let done = match &write {
                            LiveWrite::Upsert(game) => live.upsert(game, now).await,
                            LiveWrite::Remove(game) => live.remove(game).await,
                        };
                        if let Err(e) = done {
                            tracing::debug!(error = %e, game = write.game(), "live index not written");
                        }
                    }
                });
                futures_util::future::join_all(writes).await;
            }
        });
        LiveWriter { tx }
    }

    pub fn write(&self, write: LiveWrite) {
        let _ = self.tx.send(write);
    }
}

/// Orders live games as the route lists them: most watched, then newest.
pub(crate) fn most_watched(games: &mut [LiveGame]) {
    games.sort_by(|a, b| {
        b.watchers
            .cmp(&a.watchers)
            .then(b.started_at.cmp(&a.started_at))
            .then(a.game.cmp(&b.game))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_parse_and_print_back() {
        let game = GameId::generate();
        for name in [
            format!("game:{game}"),
            format!("watchers:{game}"),
            "lobby".to_owned(),
        ] {
            assert_eq!(Room::parse(&name).expect(&name).to_string(), name);
        }
        for bad in ["", "lobby:x", "game:", "game:not an id", "hall", "watchers"] {
            assert_eq!(Room::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_normalised_and_bounded() {
        assert_eq!(clean_text("  hi  ").unwrap(), "hi");
        // e + combining acute becomes one scalar value.
        assert_eq!(clean_text("cafe\u{301}").unwrap(), "caf\u{e9}");
        assert!(clean_text("   ").is_err());
        assert!(clean_text("").is_err());
        assert!(clean_text("a\nb").is_err());
        assert!(clean_text("a\tb").is_err());
        assert!(clean_text("a\u{7}b").is_err());
        assert_eq!(clean_text("\n hi \t").unwrap(), "hi");
        let longest = "é".repeat(MAX_TEXT_CHARS);
        assert_eq!(clean_text(&longest).unwrap(), longest);
        assert!(clean_text(&format!("{longest}x")).is_err());
        // Counted after normalising: 500 decomposed é are 1000 code points but 500 characters.
        assert!(clean_text(&"e\u{301}".repeat(MAX_TEXT_CHARS)).is_ok());
    }

    #[test]
    fn near_repeats_share_a_fingerprint() {
        assert_eq!(fingerprint("GG!!"), fingerprint("g g"));
        assert_ne!(fingerprint("gg"), fingerprint("good game"));
        assert_eq!(fingerprint("!!!"), "!!!");
    }

    #[test]
    fn the_flood_rule_counts_accepted_messages_and_refuses_repeats() {
        let mut flood = Flood::default();
        for i in 0..FLOOD_MAX as u64 {
            assert!(flood.allows(1000 + i, &format!("m{i}")));
            flood.record(1000 + i, format!("m{i}"));
        }
        assert!(!flood.allows(2000, "new"), "a sixth message within 10 s");
        assert!(
            flood.allows(1000 + FLOOD_WINDOW_MS, "new"),
            "the first left the window"
        );
        assert!(!flood.allows(60_000, "m4"), "the last one again");
        assert!(!flood.allows(60_000, "m3"), "the one before");
        assert!(flood.allows(60_000, "m2"), "older ones may come back");
        assert_eq!(flood.recent.len(), FLOOD_MAX);
    }
}
