//! Tournaments on the wire (v1.1): the view every route and `client/TOURNAMENT_UPDATE` carry,
//! the create body, standings and the admin's registrations list.

use serde::{Deserialize, Serialize};

use crate::common::{ClockSpec, GameKind};

wire_names! {
    /// How a tournament pairs its players.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum TournamentFormat {
        Arena = "arena",
        Swiss = "swiss",
    }
}

wire_names! {
    /// Where a tournament is in its life.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum TournamentStatus {
        Created = "created",
        Started = "started",
        Finished = "finished",
        Cancelled = "cancelled",
    }
}

/// Body of `POST /api/tournaments` (admin). `durationMs` is required for an arena, `rounds`
/// (1-20) for a swiss; the other is null or absent. A `startsAt` not in the future starts at
/// once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["name", "format", "game", "clock", "rated", "startsAt"]))
)]
#[serde(rename_all = "camelCase")]
pub struct TournamentCreate {
    pub name: String,
    pub format: TournamentFormat,
    pub game: GameKind,
    /// Required; null for untimed games.
    #[serde(deserialize_with = "Option::deserialize")]
    pub clock: Option<ClockSpec>,
    pub rated: bool,
    pub starts_at: u64,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub rounds: Option<u32>,
    #[serde(default)]
    pub max_players: Option<u32>,
}

/// One row of a tournament's standings, best first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Standing {
    pub rank: u32,
    pub name: String,
    pub rating: i32,
    /// Swiss: 1 / ½ / 0 and 1 per bye; arena: 2 / 1 / 0, 4 per win on a streak.
    pub score: f64,
    pub games: u32,
    pub wins: u32,
    pub draws: u32,
    pub losses: u32,
    /// Swiss `[buchholz, sonnebornBerger]`, arena `[]`.
    #[serde(rename = "tieBreak")]
    pub tie_break: Vec<f64>,
    /// Added: byes received (swiss), each worth 1 point and no game.
    pub byes: u32,
    /// Added (arena): the next win scores 4.
    #[serde(default)]
    pub streak: bool,
    /// Added: withdrawn from a running tournament (no further pairings; played games stay).
    #[serde(default)]
    pub withdrawn: bool,
}

/// A game of the current round (swiss) or running now (arena).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TournamentPairing {
    pub game: String,
    pub round: u32,
    /// Names: `first` plays the first side (white in chess).
    pub first: String,
    pub second: String,
    /// `first`, `second`, `draw`, or null while it is played.
    pub result: Option<crate::common::GameResult>,
}

/// The tournament view of every route and of `client/TOURNAMENT_UPDATE`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TournamentView {
    pub id: String,
    pub name: String,
    pub format: TournamentFormat,
    pub game: GameKind,
    pub clock: Option<ClockSpec>,
    pub rated: bool,
    pub status: TournamentStatus,
    pub starts_at: u64,
    pub duration_ms: Option<u64>,
    pub rounds: Option<u32>,
    /// 0 before the start; the current round of a swiss; arena: how many pairing waves so far.
    pub round: u32,
    /// How many players are registered.
    pub players: u32,
    pub max_players: Option<u32>,
    /// The admin who created it.
    pub created_by: String,
    pub standings: Vec<Standing>,
    /// Added: the games of the current round (swiss) or in progress (arena).
    #[serde(default)]
    pub pairings: Vec<TournamentPairing>,
    /// Added: when it finished or was cancelled (ms), else null.
    #[serde(default)]
    pub ended_at: Option<u64>,
}

/// `GET /api/tournaments?status=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TournamentList {
    pub tournaments: Vec<TournamentView>,
}

/// Body of `POST /api/tournaments/{id}/registrations` (admin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegistrationAdd {
    pub username: String,
}

/// One registered player. `by` (who registered them: their own name, or the admin's) is only
/// in the admin's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub name: String,
    pub rating: i32,
    pub registered_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `GET /api/tournaments/{id}/registrations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegistrationList {
    pub registrations: Vec<Registration>,
}

wire_names! {
    /// Why `client/TOURNAMENT_LEFT` was sent.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum TournamentLeftReason {
        // The player withdrew.
        Withdrawn = "withdrawn",
        // An admin removed the registration.
        Removed = "removed",
        // The tournament was cancelled.
        Cancelled = "cancelled",
    }
}
