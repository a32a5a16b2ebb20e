//! JSON bodies of the HTTP API (`/api/...`).

use serde::{Deserialize, Serialize};

use crate::common::*;

/// Body of `POST /api/auth/register` and `POST /api/auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// v1.1, register only: where notifications go by email (never shown to others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `PUT /api/me`: `email` null or absent removes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfileUpdate {
    #[serde(default)]
    pub email: Option<String>,
}

/// One entry of `GET /api/me/notifications`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NotificationEntry {
    #[serde(flatten)]
    pub notification: Notification,
    pub read: bool,
}

/// `GET /api/me/notifications?limit=&unread=`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NotificationList {
    pub notifications: Vec<NotificationEntry>,
}

/// Body of `POST /api/me/notifications/read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReadNotifications {
    pub ids: Vec<String>,
}

/// Answer of `POST /api/me/notifications/read`: how many were unread and now are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReadCount {
    pub read: u64,
}

/// Answer of the three `POST /api/auth/...` routes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub token: String,
    pub session: String,
    pub user: UserView,
    /// Added: a refresh token, for `POST /api/auth/refresh` once `token` expires. Each
    /// renewal spends it and answers a new one.
    #[serde(default)]
    pub refresh_token: String,
    /// Added: when `token` expires (ms since the epoch).
    #[serde(default)]
    pub expires_at: u64,
}

/// Body of `POST /api/auth/refresh` and (optional) `POST /api/auth/logout`: the refresh token,
/// unless the `rookery_refresh` cookie carries it; `session`, the session to keep (else the
/// `rookery_session` cookie's; a new one when neither is the caller's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub session: Option<String>,
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
    /// v1.1: the account's email, in `GET /api/me` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// v1.1, `GET /api/me` only: when the account's playban ends (ms), null when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playban_until: Option<Until>,
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
    /// v1.1: what its players said in `game:<id>`, oldest first (deleted messages gone).
    #[serde(default)]
    pub chat: Vec<ChatLine>,
}

/// One game of `GET /api/games/live` (v1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LiveGame {
    pub game: String,
    pub kind: GameKind,
    pub players: Vec<crate::PlayerView>,
    /// Moves played, as of at most a few seconds ago.
    pub seq: u32,
    pub started_at: u64,
    pub watchers: u32,
    pub rated: bool,
    pub tournament: Option<String>,
}

/// `GET /api/games/live?game=&limit=`: most watched first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LiveGames {
    pub games: Vec<LiveGame>,
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
