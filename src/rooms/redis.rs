//! The chat log and live-games index on the cluster's Redis: a room is a list capped at its
//! last 50 messages (newest first), a sender's flood record a short list checked and extended
//! by one script before the message is kept (two steps, since the record and the room are two
//! actors' keys, on two Redis Cluster shards: a message refused by neither is kept, and one
//! that fails between them only counts against its sender); the live games are a hash of summaries and a
//! sorted set by watchers (one for all games, one per kind), all under the `{live}` hash tag
//! so that one atomic pipeline updates them on Redis Cluster.

use std::sync::Arc;

use async_trait::async_trait;
use client_protocol::http::LiveGame;
use client_protocol::{ChatLine, GameKind};
use redis::Script;
use serde::{Deserialize, Serialize};

use super::{
    most_watched, ChatLog, LiveIndex, PostError, Room, RoomsError, FLOOD_MAX, FLOOD_WINDOW_MS,
    HISTORY, LIVE_STALE_MS, REPEATS, ROOM_TTL_SECS,
};
use crate::cluster::redis::RedisCluster;

/// Records a message in its sender's flood record if the record allows it. KEYS[1] flood
/// record; ARGV now, fingerprint, window ms, max, repeats, record ttl (ms). Returns 1 when
/// allowed (and recorded), 0 when refused.
const FLOOD: &str = r#"
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[4])
local recent = redis.call('LRANGE', KEYS[1], 0, max - 1)
local in_window = 0
for i, entry in ipairs(recent) do
  local sep = string.find(entry, '|', 1, true)
  local at = tonumber(string.sub(entry, 1, sep - 1))
  if now - at < tonumber(ARGV[3]) then in_window = in_window + 1 end
  if i <= tonumber(ARGV[5]) and string.sub(entry, sep + 1) == ARGV[2] then return 0 end
end
if in_window >= max then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1] .. '|' .. ARGV[2])
redis.call('LTRIM', KEYS[1], 0, max - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
"#;

/// Removes the message with id ARGV[1] from room KEYS[1]; returns it, or nil.
const DELETE: &str = r#"
for _, line in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, decoded = pcall(cjson.decode, line)
  if ok and decoded.id == ARGV[1] then
    redis.call('LREM', KEYS[1], 1, line)
    return line
  end
end
return false
"#;

/// A sender's flood record outlives the window: the repeat rule looks at the last two
/// messages whenever they were said.
const FLOOD_TTL_MS: u64 = 3_600_000;

fn unavailable(e: impl std::fmt::Display) -> RoomsError {
    RoomsError::Unavailable(e.to_string())
}

pub struct RedisChat {
    cluster: Arc<RedisCluster>,
    flood: Script,
    delete: Script,
}

impl RedisChat {
    pub fn new(cluster: Arc<RedisCluster>) -> Self {
        RedisChat {
            cluster,
            flood: Script::new(FLOOD),
            delete: Script::new(DELETE),
        }
    }

    fn room_key(&self, room: &str) -> String {
        self.cluster.key(&format!("chat:room:{room}"))
    }
}

#[async_trait]
impl ChatLog for RedisChat {
    async fn post(
        &self,
        sender: &str,
        line: &ChatLine,
        fingerprint: &str,
    ) -> Result<(), PostError> {
        let text = serde_json::to_string(line).expect("chat lines serialise");
        let allowed: i64 = self
            .flood
            .key(self.cluster.key(&format!("chat:flood:{sender}")))
            .arg(line.at)
            .arg(fingerprint)
            .arg(FLOOD_WINDOW_MS)
            .arg(FLOOD_MAX)
            .arg(REPEATS)
            .arg(FLOOD_TTL_MS)
            .invoke_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        if allowed != 1 {
            return Err(PostError::Flood);
        }
        let room = self.room_key(&line.room);
        redis::pipe()
            .atomic()
            .lpush(&room, text)
            .ignore()
            .ltrim(&room, 0, HISTORY as isize - 1)
            .ignore()
            .expire(&room, ROOM_TTL_SECS as i64)
            .ignore()
            .query_async::<()>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn history(&self, room: &Room) -> Result<Vec<ChatLine>, RoomsError> {
        let lines: Vec<String> = redis::cmd("LRANGE")
            .arg(self.room_key(&room.to_string()))
            .arg(0)
            .arg(HISTORY - 1)
            .query_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(lines
            .iter()
            .rev()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    async fn delete(&self, room: &Room, id: &str) -> Result<Option<ChatLine>, RoomsError> {
        let deleted: Option<String> = self
            .delete
            .key(self.room_key(&room.to_string()))
            .arg(id)
            .invoke_async(&mut self.cluster.conn())
            .await
            .map_err(unavailable)?;
        Ok(deleted.and_then(|l| serde_json::from_str(&l).ok()))
    }
}

/// A live game as the hash keeps it: its summary and when its owner last refreshed it.
#[derive(Serialize, Deserialize)]
struct Entry {
    game: LiveGame,
    refreshed_at: u64,
}

pub struct RedisLive {
    cluster: Arc<RedisCluster>,
}

impl RedisLive {
    pub fn new(cluster: Arc<RedisCluster>) -> Self {
        RedisLive { cluster }
    }

    fn by_watchers(&self, kind: Option<GameKind>) -> String {
        match kind {
            Some(kind) => self
                .cluster
                .tagged("live", &format!(":games:{}", kind.as_str())),
            None => self.cluster.tagged("live", ":games"),
        }
    }

    fn entries(&self) -> String {
        self.cluster.tagged("live", ":game")
    }
}

#[async_trait]
impl LiveIndex for RedisLive {
    async fn upsert(&self, game: &LiveGame, now: u64) -> Result<(), RoomsError> {
        let entry = Entry {
            game: game.clone(),
            refreshed_at: now,
        };
        let text = serde_json::to_string(&entry).expect("live entries serialise");
        redis::pipe()
            .atomic()
            .hset(self.entries(), &game.game, text)
            .zadd(self.by_watchers(None), &game.game, game.watchers)
            .zadd(self.by_watchers(Some(game.kind)), &game.game, game.watchers)
            .query_async::<()>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)
    }

    async fn remove(&self, game: &str) -> Result<(), RoomsError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hdel(self.entries(), game)
            .zrem(self.by_watchers(None), game);
        for kind in GameKind::ALL {
            pipe.zrem(self.by_watchers(Some(*kind)), game);
        }
        pipe.query_async::<()>(&mut self.cluster.conn())
            .await
            .map_err(unavailable)
    }

    async fn top(
        &self,
        kind: Option<GameKind>,
        limit: usize,
        now: u64,
    ) -> Result<Vec<LiveGame>, RoomsError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.cluster.conn();
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.by_watchers(kind))
            .arg(0)
            .arg(limit - 1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.entries())
            .arg(&ids)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut games = Vec::new();
        for (id, entry) in ids.iter().zip(found) {
            match entry.and_then(|e| serde_json::from_str::<Entry>(&e).ok()) {
                Some(entry) if now.saturating_sub(entry.refreshed_at) < LIVE_STALE_MS => {
                    games.push(entry.game)
                }
                // Its owner stopped refreshing it (the node died): forget it.
                _ => self.remove(id).await?,
            }
        }
        most_watched(&mut games);
        Ok(games)
    }
}
