//! The in-process chat log and live-games index of an embedded node (one node: nothing to
//! share), with the same rules as the Redis ones.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use client_protocol::http::LiveGame;
use client_protocol::{ChatLine, GameKind};

use super::{most_watched, ChatLog, Flood, LiveIndex, PostError, Room, RoomsError, HISTORY};

#[derive(Default)]
pub struct MemoryChat {
    inner: Mutex<Chat>,
}

#[derive(Default)]
struct Chat {
    /// Newest last.
    rooms: HashMap<String, VecDeque<ChatLine>>,
    floods: HashMap<String, Flood>,
}

#[async_trait]
impl ChatLog for MemoryChat {
    async fn post(
        &self,
        sender: &str,
        line: &ChatLine,
        fingerprint: &str,
    ) -> Result<(), PostError> {
        let mut chat = self.inner.lock().expect("poisoned");
        let flood = chat.floods.entry(sender.to_owned()).or_default();
        if !flood.allows(line.at, fingerprint) {
            return Err(PostError::Flood);
        }
        flood.record(line.at, fingerprint.to_owned());
        let room = chat.rooms.entry(line.room.clone()).or_default();
        room.push_back(line.clone());
        if room.len() > HISTORY {
            room.pop_front();
        }
        Ok(())
    }

    async fn history(&self, room: &Room) -> Result<Vec<ChatLine>, RoomsError> {
        let chat = self.inner.lock().expect("poisoned");
        Ok(chat
            .rooms
            .get(&room.to_string())
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn delete(&self, room: &Room, id: &str) -> Result<Option<ChatLine>, RoomsError> {
        let mut chat = self.inner.lock().expect("poisoned");
        let Some(lines) = chat.rooms.get_mut(&room.to_string()) else {
            return Ok(None);
        };
        Ok(lines
            .iter()
            .position(|l| l.id == id)
            .and_then(|at| lines.remove(at)))
    }
}

#[derive(Default)]
pub struct MemoryLive {
    /// Each game with when it was last refreshed.
    games: Mutex<HashMap<String, (LiveGame, u64)>>,
}

#[async_trait]
impl LiveIndex for MemoryLive {
    async fn upsert(&self, game: &LiveGame, now: u64) -> Result<(), RoomsError> {
        self.games
            .lock()
            .expect("poisoned")
            .insert(game.game.clone(), (game.clone(), now));
        Ok(())
    }

    async fn remove(&self, game: &str) -> Result<(), RoomsError> {
        self.games.lock().expect("poisoned").remove(game);
        Ok(())
    }

    async fn top(
        &self,
        kind: Option<GameKind>,
        limit: usize,
        now: u64,
    ) -> Result<Vec<LiveGame>, RoomsError> {
        let mut all = self.games.lock().expect("poisoned");
        all.retain(|_, (_, at)| now.saturating_sub(*at) < super::LIVE_STALE_MS);
        let mut games: Vec<LiveGame> = all
            .values()
            .map(|(g, _)| g)
            .filter(|g| kind.is_none_or(|k| g.kind == k))
            .cloned()
            .collect();
        most_watched(&mut games);
        games.truncate(limit);
        Ok(games)
    }
}
