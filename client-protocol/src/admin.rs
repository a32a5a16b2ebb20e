//! JSON bodies of the v1.1 administration API (`/api/admin/...`): roles, moderation, and the
//! tamper-evident audit log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::Role;

wire_names! {
    /// What an audit event records. The protocol fixes these names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum AuditType {
        Register = "register",
        Login = "login",
        LoginFailed = "login_failed",
        Logout = "logout",
        TokenRefused = "token_refused",
        SessionRefused = "session_refused",
        OriginRefused = "origin_refused",
        RateLimited = "rate_limited",
        RoleChanged = "role_changed",
        Ban = "ban",
        Unban = "unban",
        Mute = "mute",
        Unmute = "unmute",
        TournamentCreated = "tournament_created",
        TournamentCancelled = "tournament_cancelled",
        RegistrationAdded = "registration_added",
        RegistrationRemoved = "registration_removed",
        Playban = "playban",
        CheatFlagged = "cheat_flagged",
        JobBuried = "job_buried",
        // Added: a game event a listener kept failing on, set aside in its dead-letter log.
        EventDeadLettered = "event_dead_lettered",
        // Added: a moderator deleted a chat message (`server/CHAT_DELETE`).
        ChatDeleted = "chat_deleted",
    }
}

wire_names! {
    /// Whether the recorded action happened or was refused.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum AuditOutcome {
        Ok = "ok",
        Refused = "refused",
    }
}

/// One value in an event's `details`. No floats: the hash is over canonical JSON, and integers
/// and strings have exactly one canonical spelling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Detail {
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
}

/// One audit event, as `GET /api/admin/audit` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEvent {
    /// Position in the one chain of the cluster: 1, 2, 3, ...
    pub id: u64,
    /// When it happened, ms since the Unix epoch.
    pub at: u64,
    #[serde(rename = "type")]
    pub kind: AuditType,
    /// Who did it (a username), null when unknown.
    pub actor: Option<String>,
    /// Whom it was done to (a username), if anyone.
    pub target: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    pub outcome: AuditOutcome,
    pub details: BTreeMap<String, Detail>,
    /// SHA-256 (hex) over the previous event's `hash` and this event's canonical JSON.
    pub hash: String,
}

/// `GET /api/admin/audit`: newest first; `next` is the `before` of the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next: Option<u64>,
}

/// `GET /api/admin/audit/verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditVerify {
    pub ok: bool,
    /// How many events were checked.
    pub checked: u64,
    /// The id of the first event that does not match, or null.
    pub first_bad: Option<u64>,
}

/// `PUT /api/admin/users/{name}/roles`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RolesBody {
    pub roles: Vec<Role>,
}

/// `POST /api/admin/users/{name}/ban` and `.../mute`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SanctionBody {
    pub reason: String,
    /// How long, in ms; null = until lifted.
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

/// `GET /api/admin/users/{name}`: the account as moderators see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminUserView {
    pub id: String,
    pub name: String,
    pub rating: i32,
    pub guest: bool,
    pub roles: Vec<Role>,
    /// Added: whether a ban is in force (with `bannedUntil` null, it is until lifted).
    pub banned: bool,
    /// When the ban in force ends; null when there is none or it is until lifted.
    pub banned_until: Option<u64>,
    pub muted: bool,
    pub muted_until: Option<u64>,
    pub playbanned: bool,
    pub playban_until: Option<u64>,
    /// What anti-cheat and automod found.
    pub flags: Vec<AccountFlag>,
    /// The reasons of the sanctions in force, and who set them.
    pub sanctions: Vec<SanctionView>,
    pub games_played: u64,
    pub created_at: u64,
}

/// One finding about an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountFlag {
    pub kind: String,
    pub at: u64,
    pub details: String,
}

/// A sanction in force, as moderators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SanctionView {
    /// `ban`, `mute` or `playban`.
    pub kind: String,
    pub until: Option<u64>,
    pub reason: String,
    pub by: String,
    pub at: u64,
}

/// One player's side of `GET /api/admin/games/{id}/analysis`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AnalysisPlayer {
    pub name: String,
    /// Share of the player's moves that lost no value, 0-100.
    pub accuracy: f64,
    /// Moves as good as the best one.
    pub perfect_moves: u32,
    /// The player's move count.
    pub moves: u32,
    /// Standard deviation of the player's move times.
    pub move_time_spread_ms: f64,
    /// 0-100, this game alone.
    pub suspicion: f64,
    /// Added: the mean value lost per move (centipawns in chess).
    pub average_loss: f64,
    /// Added: the mean move time.
    pub move_time_mean_ms: f64,
}

/// `GET /api/admin/games/{id}/analysis`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GameAnalysisView {
    pub game: String,
    pub players: Vec<AnalysisPlayer>,
    /// Added: what judged the moves (`solved`, `negamax depth 8`, `stockfish depth 10`).
    pub engine: String,
}

/// One flagged account in `GET /api/admin/reports`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Report {
    pub name: String,
    /// The account's suspicion now, over its recent analysed games, 0-100.
    pub suspicion: f64,
    /// Analysed games counted.
    pub games: u32,
    pub flags: Vec<AccountFlag>,
}

/// `GET /api/admin/reports`: flagged accounts, newest account first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReportList {
    pub reports: Vec<Report>,
}

/// One event a listener set aside, in `GET /api/admin/listeners`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeadLetter {
    /// The entry's id in the event log.
    pub entry: String,
    /// `game_started`, `move`, `draw_offered` or `game_over`.
    pub event: String,
    pub error: String,
}

/// One listener of the game event stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListenerView {
    pub name: String,
    /// Events appended that it has not been handed yet.
    pub lag: u64,
    pub dead_letters: Vec<DeadLetter>,
}

/// `GET /api/admin/listeners` (admin, added).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListenerList {
    pub listeners: Vec<ListenerView>,
}

/// Body of `POST /api/admin/listeners/{name}/replay` (admin, added): hand the listener again
/// every event from `since` (unix ms; 0 or absent: the start of the log).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReplayBody {
    #[serde(default)]
    pub since: Option<u64>,
}
