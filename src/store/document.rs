//! The stored shape of a finished game, shared by both stores: a native MongoDB document, and
//! the columns and JSON cells of SQLite. Converts to and from the HTTP `GameRecord` without loss.
//!
//! Field names are camelCase like the HTTP API; numbers are Int32 (moves, ratings) or Int64
//! (milliseconds: times since the epoch, clocks), never floats; enums are their wire names.

use client_protocol::http::{GameRecord, GameRecordPlayer};
use client_protocol::{
    ChatLine, ClockSpec, Clocks, EndReason, GameKind, GameResult, Move, Position, RatingDelta, Side,
};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::games::{pgn, PgnGame};

/// The `Site` tag of a PGN rendered at write time. The PGN route fills in the host the client
/// asked instead; at write time there is no request, and PGN spells "unknown" as `?`.
const STORED_PGN_SITE: &str = "?";

/// Why a game record and its stored shape do not convert into each other.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{field} = {value} does not fit the stored integer type")]
    OutOfRange { field: &'static str, value: u64 },
    #[error("{field} = {value} is negative")]
    Negative { field: &'static str, value: i64 },
    #[error("player {user_id}: ratingAfter and ratingDelta must both be set or both be null")]
    HalfRatingChange { user_id: String },
    #[error("not a {what}: {text:?}")]
    UnknownName { what: &'static str, text: String },
    #[error("legacy record is not a game record: {0}")]
    LegacyJson(#[source] serde_json::Error),
    #[error("legacy record {0} would not read back unchanged")]
    Lossy(String),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bson encoding: {0}")]
    BsonEncode(#[from] mongodb::bson::ser::Error),
    #[error("bson decoding: {0}")]
    BsonDecode(#[from] mongodb::bson::de::Error),
}

impl From<DocumentError> for StoreError {
    fn from(e: DocumentError) -> Self {
        StoreError::Unavailable(format!("game document: {e}"))
    }
}

/// A finished game as stored. The MongoDB `_id` is the game id, which makes every write
/// idempotent without transactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameDocument {
    #[serde(rename = "_id")]
    pub id: String,
    pub kind: GameKind,
    pub rated: bool,
    /// Always null for now: games do not belong to tournaments yet. Present so that the shape
    /// does not change (nor need a migration) when they do.
    pub tournament: Option<String>,
    /// Null for an untimed game.
    pub clock: Option<ClockDocument>,
    /// In side order (first, second), as in the record.
    pub players: Vec<PlayerDocument>,
    pub moves: Vec<StoredMove>,
    pub result: GameResult,
    pub reason: EndReason,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms; the history sort key.
    pub ended_at: i64,
    /// Each side's remaining time when the game ended.
    pub clocks: ClocksDocument,
    /// FEN for chess, rows (top first) for the other games.
    pub final_position: Position,
    /// The PGN export, rendered at write time: chess only, null otherwise (and null for a
    /// chess game whose moves do not replay, which the rules never let happen).
    pub pgn: Option<String>,
    /// What the players said in the game's room (v1.1), natively: an array of lines.
    #[serde(default)]
    pub chat: Vec<ChatLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayerDocument {
    pub user_id: String,
    pub name: String,
    pub side: Side,
    /// The player's displayed rating when the game started (`GameRecordPlayer.rating`).
    pub rating_before: i32,
    /// Null when the game changed no rating (unrated, aborted, or a guest played): null says
    /// "not rated", which a copy of `ratingBefore` could not tell from "rated, no change".
    pub rating_after: Option<i32>,
    /// `ratingAfter - ratingBefore` as the game reported it; null exactly when `ratingAfter` is.
    pub rating_delta: Option<i32>,
    /// Absent unless the record's rating change starts from a rating other than
    /// `ratingBefore`. The game actor takes both from the same seat rating, so this never
    /// appears for its records; it exists so that any record reads back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_change_before: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockDocument {
    pub initial_ms: i64,
    pub increment_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClocksDocument {
    pub first: i64,
    pub second: i64,
    /// Always null for a finished game; kept so the record reads back unchanged.
    pub running: Option<Side>,
}

/// A move as stored: a cell or column as an Int32 (serde would turn the record's `u32` into an
/// Int64), a chess move as its UCI text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredMove {
    Index(i32),
    Text(String),
}

fn to_i64(field: &'static str, value: u64) -> Result<i64, DocumentError> {
    i64::try_from(value).map_err(|_| DocumentError::OutOfRange { field, value })
}

fn to_u64(field: &'static str, value: i64) -> Result<u64, DocumentError> {
    u64::try_from(value).map_err(|_| DocumentError::Negative { field, value })
}

impl StoredMove {
    fn from_move(mv: &Move) -> Result<Self, DocumentError> {
        Ok(match mv {
            Move::Index(n) => {
                StoredMove::Index(i32::try_from(*n).map_err(|_| DocumentError::OutOfRange {
                    field: "moves[]",
                    value: u64::from(*n),
                })?)
            }
            Move::Text(text) => StoredMove::Text(text.clone()),
        })
    }

    fn into_move(self) -> Result<Move, DocumentError> {
        Ok(match self {
            StoredMove::Index(n) => {
                Move::Index(u32::try_from(n).map_err(|_| DocumentError::Negative {
                    field: "moves[]",
                    value: i64::from(n),
                })?)
            }
            StoredMove::Text(text) => Move::Text(text),
        })
    }
}

impl PlayerDocument {
    fn from_player(player: &GameRecordPlayer) -> Self {
        let change = player.rating_change;
        PlayerDocument {
            user_id: player.user_id.clone(),
            name: player.name.clone(),
            side: player.side,
            rating_before: player.rating,
            rating_after: change.map(|c| c.after),
            rating_delta: change.map(|c| c.delta),
            rating_change_before: change
                .map(|c| c.before)
                .filter(|before| *before != player.rating),
        }
    }

    fn into_player(self) -> Result<GameRecordPlayer, DocumentError> {
        let rating_change = match (self.rating_after, self.rating_delta) {
            (Some(after), Some(delta)) => Some(RatingDelta {
                before: self.rating_change_before.unwrap_or(self.rating_before),
                after,
                delta,
            }),
            (None, None) => None,
            _ => {
                return Err(DocumentError::HalfRatingChange {
                    user_id: self.user_id,
                })
            }
        };
        Ok(GameRecordPlayer {
            user_id: self.user_id,
            name: self.name,
            side: self.side,
            rating: self.rating_before,
            rating_change,
        })
    }
}

impl GameDocument {
    /// The stored shape of a record, with its PGN when it is a chess game.
    pub fn from_record(record: &GameRecord) -> Result<Self, DocumentError> {
        let clock = record
            .clock
            .map(|c| {
                Ok::<_, DocumentError>(ClockDocument {
                    initial_ms: to_i64("clock.initialMs", c.initial_ms)?,
                    increment_ms: to_i64("clock.incrementMs", c.increment_ms)?,
                })
            })
            .transpose()?;
        Ok(GameDocument {
            id: record.game.clone(),
            kind: record.kind,
            rated: record.rated,
            tournament: None,
            clock,
            players: record
                .players
                .iter()
                .map(PlayerDocument::from_player)
                .collect(),
            moves: record
                .moves
                .iter()
                .map(StoredMove::from_move)
                .collect::<Result<_, _>>()?,
            result: record.result,
            reason: record.reason,
            started_at: to_i64("startedAt", record.started_at)?,
            ended_at: to_i64("endedAt", record.ended_at)?,
            clocks: ClocksDocument {
                first: to_i64("clocks.first", record.clocks.first)?,
                second: to_i64("clocks.second", record.clocks.second)?,
                running: record.clocks.running,
            },
            final_position: record.final_position.clone(),
            pgn: chess_pgn(record),
            chat: record.chat.clone(),
        })
    }

    /// The record this document stores, exactly as it was handed to the store.
    pub fn into_record(self) -> Result<GameRecord, DocumentError> {
        let clock = self
            .clock
            .map(|c| {
                Ok::<_, DocumentError>(ClockSpec {
                    initial_ms: to_u64("clock.initialMs", c.initial_ms)?,
                    increment_ms: to_u64("clock.incrementMs", c.increment_ms)?,
                })
            })
            .transpose()?;
        Ok(GameRecord {
            game: self.id,
            kind: self.kind,
            rated: self.rated,
            clock,
            players: self
                .players
                .into_iter()
                .map(PlayerDocument::into_player)
                .collect::<Result<_, _>>()?,
            moves: self
                .moves
                .into_iter()
                .map(StoredMove::into_move)
                .collect::<Result<_, _>>()?,
            result: self.result,
            reason: self.reason,
            clocks: Clocks {
                first: to_u64("clocks.first", self.clocks.first)?,
                second: to_u64("clocks.second", self.clocks.second)?,
                running: self.clocks.running,
            },
            final_position: self.final_position,
            started_at: to_u64("startedAt", self.started_at)?,
            ended_at: to_u64("endedAt", self.ended_at)?,
            chat: self.chat,
        })
    }

    /// Converts a legacy record (the game record as JSON text) and checks that the result
    /// reads back as the same record: a migration must never replace data it cannot reproduce.
    pub fn from_legacy_json(json: &str) -> Result<Self, DocumentError> {
        let record: GameRecord = serde_json::from_str(json).map_err(DocumentError::LegacyJson)?;
        let document = GameDocument::from_record(&record)?;
        if document.clone().into_record()? != record {
            return Err(DocumentError::Lossy(record.game));
        }
        Ok(document)
    }
}

/// The PGN of a chess record, rendered as the PGN route does (apart from `Site`). A record
/// whose moves do not replay gets none rather than failing the write: the game is over either
/// way, and its moves are kept.
fn chess_pgn(record: &GameRecord) -> Option<String> {
    if record.kind != GameKind::Chess {
        return None;
    }
    match pgn(&PgnGame::of(record, STORED_PGN_SITE)) {
        Ok(text) => Some(text),
        Err(e) => {
            tracing::warn!(game = %record.game, error = %e, "chess game does not replay; stored without PGN");
            None
        }
    }
}

/// The wire name of a unit enum (`"first"`, `"resign"`), for SQLite text columns.
pub fn wire_name<T: Serialize>(value: &T) -> Result<String, DocumentError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(name) => Ok(name),
        other => Err(DocumentError::UnknownName {
            what: "unit enum",
            text: other.to_string(),
        }),
    }
}

/// The enum a wire name stands for; `what` names the column in the error.
pub fn from_wire_name<T: serde::de::DeserializeOwned>(
    what: &'static str,
    name: &str,
) -> Result<T, DocumentError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        DocumentError::UnknownName {
            what,
            text: name.to_owned(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: GameKind, moves: Vec<Move>) -> GameRecord {
        let player = |id: &str, side, change| GameRecordPlayer {
            user_id: id.into(),
            name: format!("name-{id}"),
            side,
            rating: 1500,
            rating_change: change,
        };
        GameRecord {
            game: "g1".into(),
            kind,
            rated: true,
            clock: Some(ClockSpec {
                initial_ms: 60_000,
                increment_ms: 1_000,
            }),
            players: vec![
                player(
                    "a",
                    Side::First,
                    Some(RatingDelta {
                        before: 1500,
                        after: 1512,
                        delta: 12,
                    }),
                ),
                player("b", Side::Second, None),
            ],
            moves,
            result: GameResult::First,
            reason: EndReason::Resign,
            clocks: Clocks {
                first: 59_000,
                second: 58_000,
                running: None,
            },
            final_position: Position::Fen("8/8/8/8/8/8/8/8 w - - 0 1".into()),
            started_at: 1_700_000_000_000,
            ended_at: 1_700_000_060_000,
            chat: Vec::new(),
        }
    }

    #[test]
    fn a_record_round_trips_and_chess_gets_its_pgn() {
        let chess = record(GameKind::Chess, vec![Move::Text("e2e4".into())]);
        let document = GameDocument::from_record(&chess).unwrap();
        let pgn = document.pgn.clone().expect("chess has a PGN");
        assert!(pgn.contains("1. e4"), "{pgn}");
        assert_eq!(document.players[0].rating_after, Some(1512));
        assert_eq!(document.players[1].rating_after, None);
        assert_eq!(document.into_record().unwrap(), chess);

        let cells = record(GameKind::TicTacToe, vec![Move::Index(4), Move::Index(0)]);
        let document = GameDocument::from_record(&cells).unwrap();
        assert_eq!(document.pgn, None);
        assert_eq!(document.moves, [StoredMove::Index(4), StoredMove::Index(0)]);
        assert_eq!(document.into_record().unwrap(), cells);
    }

    #[test]
    fn an_odd_rating_change_still_round_trips() {
        let mut odd = record(GameKind::Connect4, vec![Move::Index(3)]);
        odd.players[1].rating_change = Some(RatingDelta {
            before: 1490,
            after: 1480,
            delta: -10,
        });
        let document = GameDocument::from_record(&odd).unwrap();
        assert_eq!(document.players[0].rating_change_before, None);
        assert_eq!(document.players[1].rating_change_before, Some(1490));
        assert_eq!(document.into_record().unwrap(), odd);
    }

    #[test]
    fn the_bson_shape_uses_native_types() {
        use mongodb::bson::Bson;
        let chess = record(GameKind::Chess, vec![Move::Text("e2e4".into())]);
        let document = GameDocument::from_record(&chess).unwrap();
        let bson = mongodb::bson::to_document(&document).unwrap();
        assert_eq!(bson.get_str("_id").unwrap(), "g1");
        assert_eq!(bson.get_str("result").unwrap(), "first");
        assert_eq!(bson.get_i64("endedAt").unwrap(), 1_700_000_060_000);
        assert_eq!(bson.get("tournament"), Some(&Bson::Null));
        let players = bson.get_array("players").unwrap();
        let first = players[0].as_document().unwrap();
        assert_eq!(first.get_i32("ratingBefore").unwrap(), 1500);
        assert!(first.get("ratingChangeBefore").is_none());
        let cells = record(GameKind::TicTacToe, vec![Move::Index(4)]);
        let bson = mongodb::bson::to_document(&GameDocument::from_record(&cells).unwrap()).unwrap();
        assert_eq!(bson.get_array("moves").unwrap(), &vec![Bson::Int32(4)]);
        let back: GameDocument = mongodb::bson::from_document(bson).unwrap();
        assert_eq!(back.into_record().unwrap(), cells);
    }

    #[test]
    fn a_legacy_json_record_converts() {
        let chess = record(GameKind::Chess, vec![Move::Text("e2e4".into())]);
        let json = serde_json::to_string(&chess).unwrap();
        let document = GameDocument::from_legacy_json(&json).unwrap();
        assert_eq!(document.into_record().unwrap(), chess);
        assert!(matches!(
            GameDocument::from_legacy_json("{\"game\": 1}"),
            Err(DocumentError::LegacyJson(_))
        ));
    }
}
