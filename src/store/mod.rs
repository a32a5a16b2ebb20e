//! The account and game store: credentials, ratings and finished games. SQLite embedded by
//! default (`sqlite`), MongoDB in a cluster. Actor and HTTP code see only the [`Store`] trait.

pub mod cached;
pub mod document;
pub mod mongo;
pub mod rating;
pub mod sqlite;

use async_trait::async_trait;
// The Store trait's vocabulary, re-exported for its implementations and wrappers.
pub use client_protocol::http::{GameRecord, NotificationEntry};
pub use client_protocol::Notification;
use client_protocol::{Role, UserView};
use serde::{Deserialize, Serialize};

pub use crate::analysis::PlayerAnalysis;
use crate::domain::{Email, UserId};
pub use rating::Glicko;

/// An account as the store keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub guest: bool,
    pub glicko: Glicko,
    pub games_played: u64,
    pub created_at: u64,
    /// Roles and sanctions: what the account may do beyond playing, and what it may not.
    pub standing: Standing,
    /// Where notifications go by email; shown to the account itself only.
    pub email: Option<Email>,
}

impl User {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.to_string(),
            name: self.name.clone(),
            rating: self.glicko.display(),
            guest: self.guest,
            roles: self.standing.roles.clone(),
        }
    }

    /// Holds `role`, or one that includes it (an admin may do all a moderator may).
    pub fn may(&self, role: Role) -> bool {
        let roles = &self.standing.roles;
        roles.contains(&role) || roles.contains(&Role::Admin)
    }
}

/// A ban, mute or playban: until when (None: until lifted), why, and by whom. It is compared
/// with the time on use, so it ends by itself without a sweeper to race it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sanction {
    pub until: Option<u64>,
    pub reason: String,
    /// The moderator's name (or `automod`).
    pub by: String,
    pub at: u64,
}

impl Sanction {
    pub fn in_force(&self, now: u64) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// What a moderator or anti-cheat found about an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub kind: String,
    pub at: u64,
    pub details: String,
}

/// An account's roles and sanctions, stored with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Standing {
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub ban: Option<Sanction>,
    #[serde(default)]
    pub mute: Option<Sanction>,
    #[serde(default)]
    pub playban: Option<Sanction>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Games lost by abandonment or by a clock run out without a move (automod counts them).
    #[serde(default)]
    pub offences: Vec<Offence>,
    /// When each playban began (unix ms): repeats within a week last longer.
    #[serde(default)]
    pub playbans: Vec<u64>,
}

/// One game counted against a player by automod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offence {
    pub game: String,
    /// When the game ended.
    pub at: u64,
}

impl Standing {
    /// The ban in force at `now`, if any.
    pub fn banned(&self, now: u64) -> Option<&Sanction> {
        self.ban.as_ref().filter(|s| s.in_force(now))
    }

    pub fn muted(&self, now: u64) -> Option<&Sanction> {
        self.mute.as_ref().filter(|s| s.in_force(now))
    }

    pub fn playbanned(&self, now: u64) -> Option<&Sanction> {
        self.playban.as_ref().filter(|s| s.in_force(now))
    }
}

/// One change to an account's standing, applied by itself so that two moderators acting at
/// once on different sanctions of one account do not undo each other.
#[derive(Clone, Debug, PartialEq)]
pub enum StandingChange {
    Roles(Vec<Role>),
    Ban(Option<Sanction>),
    Mute(Option<Sanction>),
    Playban(Option<Sanction>),
    AddFlag(Flag),
    /// Counts a game against the player, once per game.
    AddOffence(Offence),
    /// Records that a playban began at this instant, once per instant.
    RecordPlayban(u64),
}

impl StandingChange {
    /// Applies the change to `standing` (the SQLite store's read-modify-write, and tests).
    pub fn apply(self, standing: &mut Standing) {
        match self {
            StandingChange::Roles(roles) => standing.roles = roles,
            StandingChange::Ban(s) => standing.ban = s,
            StandingChange::Mute(s) => standing.mute = s,
            StandingChange::Playban(s) => standing.playban = s,
            StandingChange::AddFlag(flag) => standing.flags.push(flag),
            StandingChange::AddOffence(offence) => {
                if !standing.offences.contains(&offence) {
                    standing.offences.push(offence);
                }
            }
            StandingChange::RecordPlayban(at) => {
                if !standing.playbans.contains(&at) {
                    standing.playbans.push(at);
                }
            }
        }
    }
}

/// The kind of flag anti-cheat puts on an account whose suspicion stays high.
pub const CHEAT_FLAG: &str = "cheat";

/// A finished game's analysis, as anti-cheat keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAnalysis {
    pub game: String,
    /// When the game ended (unix ms): the order of a player's analyses.
    pub ended_at: u64,
    pub engine: String,
    /// The players' user ids, in side order.
    pub user_ids: [UserId; 2],
    pub players: [PlayerAnalysis; 2],
}

/// A new account to create.
pub struct NewUser {
    pub id: UserId,
    pub name: String,
    /// Case-folded name; unique across accounts.
    pub name_key: String,
    /// PHC-format argon2id hash; None for guests.
    pub password_hash: Option<String>,
    pub guest: bool,
    pub created_at: u64,
    pub email: Option<Email>,
}

/// Notifications kept per account: the newest this many...
pub const NOTIFICATIONS_KEPT: u32 = 100;
/// ...and none older than this (ms), so that the table cannot grow without bound. The same
/// age bounds the email idempotency markers: no email job lives that long.
pub const NOTIFICATION_TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// One player's rating update from one rated game. Applied as a delta to the stored rating so
/// that two games finishing at once both count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingUpdate {
    pub user_id: UserId,
    pub rating_delta: f64,
    pub deviation: f64,
    pub volatility: f64,
}

/// A finished game as the game actor hands it to persistence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishedGame {
    pub record: GameRecord,
    /// The players' user ids, in side order (first, second).
    pub user_ids: [UserId; 2],
    /// Empty for unrated or aborted games.
    pub ratings: Vec<RatingUpdate>,
}

/// What the store keeps of a tournament: written by its actor after each change (the
/// snapshot is the live truth), read by the lists and after the snapshot is gone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TournamentRecord {
    pub id: String,
    pub status: client_protocol::TournamentStatus,
    pub starts_at: u64,
    pub rev: u64,
    pub view: client_protocol::TournamentView,
    /// With who registered whom (`by`), for admins.
    pub registrations: Vec<client_protocol::tournament::Registration>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("username is taken")]
    UsernameTaken,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an account; `UsernameTaken` if the case-folded name exists.
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    /// An account and its password hash, by case-folded name.
    async fn user_by_name(
        &self,
        name_key: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError>;
    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    /// Changes one part of an account's standing; false when there is no such account.
    async fn change_standing(
        &self,
        id: &UserId,
        change: StandingChange,
    ) -> Result<bool, StoreError>;
    /// Stores a finished game and applies its rating updates, once: a second call with the
    /// same game id changes nothing (the outbox may deliver twice).
    async fn record_game(&self, game: &FinishedGame) -> Result<(), StoreError>;
    /// A player's finished games, newest first.
    async fn games_of(&self, user: &UserId, limit: u32) -> Result<Vec<GameRecord>, StoreError>;
    async fn game(&self, id: &str) -> Result<Option<GameRecord>, StoreError>;
    /// Sets (or, with None, removes) the account's email; false when there is no such account.
    async fn set_email(&self, id: &UserId, email: Option<&Email>) -> Result<bool, StoreError>;
    /// Keeps a notification for `user`, then drops that user's notifications beyond the newest
    /// [`NOTIFICATIONS_KEPT`] and those older than [`NOTIFICATION_TTL_MS`]. Storing the same
    /// id again changes nothing.
    async fn add_notification(
        &self,
        user: &UserId,
        notification: &Notification,
    ) -> Result<(), StoreError>;
    /// The user's newest notifications first (unread ones only, when asked).
    async fn notifications(
        &self,
        user: &UserId,
        limit: u32,
        unread_only: bool,
    ) -> Result<Vec<NotificationEntry>, StoreError>;
    /// Marks the user's notifications among `ids` read; answers how many were unread. Ids of
    /// other users' notifications are ignored.
    async fn mark_read(&self, user: &UserId, ids: &[String]) -> Result<u64, StoreError>;
    /// Whether the email for this notification went out: the idempotency key of an email job.
    async fn email_sent(&self, notification: &str) -> Result<bool, StoreError>;
    /// Records that the email for this notification went out (at unix ms `at`).
    async fn record_email_sent(&self, notification: &str, at: u64) -> Result<(), StoreError>;
    /// Keeps a game's analysis (a second save of the same game replaces it).
    async fn save_analysis(&self, analysis: &StoredAnalysis) -> Result<(), StoreError>;
    async fn analysis(&self, game: &str) -> Result<Option<StoredAnalysis>, StoreError>;
    /// The player's side of their analysed games, newest first.
    async fn analyses_of(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<PlayerAnalysis>, StoreError>;
    /// Accounts holding a role (moderators and admins).
    async fn staff(&self) -> Result<Vec<User>, StoreError>;
    /// Accounts holding a [`CHEAT_FLAG`], newest account first.
    async fn flagged(&self, limit: u32) -> Result<Vec<User>, StoreError>;
    /// Keeps a tournament's record (replacing the previous one).
    async fn save_tournament(&self, record: &TournamentRecord) -> Result<(), StoreError>;
    async fn tournament(&self, id: &str) -> Result<Option<TournamentRecord>, StoreError>;
    /// Tournaments of one status (all, with None), by start time: soonest first for
    /// `created`, newest first otherwise.
    async fn tournaments(
        &self,
        status: Option<client_protocol::TournamentStatus>,
        limit: usize,
    ) -> Result<Vec<TournamentRecord>, StoreError>;
    /// A cheap round trip for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
}
