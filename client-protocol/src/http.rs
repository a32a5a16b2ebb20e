//! JSON bodies of the HTTP API (`/api/...`).

use serde::{Deserialize, Serialize};

use crate::common::*;

/// Body of `POST /api/auth/register` and `POST /api/auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Answer of the three `POST /api/auth/...` routes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuthResponse {
    pub token: String,
    pub session: String,
    pub user: UserView,
}

/// Every HTTP error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// v1.1: on `banned` and `playban` only (null: until lifted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Until>,
}

/// `GET /api/users/{name}` and `GET /api/me`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub id: String,
    pub name: String,
    pub rating: i32,
    pub guest: bool,
    /// Glicko-2 rating deviation: how sure the rating is (350 for a new player).
    pub rating_deviation: f64,
    pub games_played: u64,
    pub created_at: u64,
    /// v1.1: `admin`, `moderator`; empty for a player.
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// A player of a finished game, with the rating change it brought (rated games only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GameRecordPlayer {
    pub user_id: String,
    pub name: String,
    pub side: Side,
    pub rating: i32,
    pub rating_change: Option<RatingDelta>,
}

/// A finished game: `GET /api/games/{id}` and the items of `/api/users/{name}/games`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GameRecord {
    pub game: String,
    pub kind: GameKind,
    pub rated: bool,
    pub clock: Option<ClockSpec>,
    pub players: Vec<GameRecordPlayer>,
    pub moves: Vec<Move>,
    pub result: GameResult,
    pub reason: EndReason,
    /// Each side's remaining time when the game ended.
    pub clocks: Clocks,
    pub final_position: Position,
    pub started_at: u64,
    pub ended_at: u64,
}

/// One queue in `GET /api/queues`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct QueueSize {
    pub queue: QueueSpec,
    /// Players waiting (not counting those in a pending matchup).
    pub waiting: u64,
}
