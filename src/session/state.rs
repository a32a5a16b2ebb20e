//! Session state: who the player is and where they are (queue, matchup, game). It is a fold
//! over the messages the player is sent, so the live actor and an offline snapshot update
//! apply one rule, and a crash loses nothing: the snapshot is written on every change.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use client_protocol::{
    GameStatus, QueueSpec, ServerFrame, ServerMessage, Side, TournamentStatus, UserView,
};
use serde::{Deserialize, Serialize};

use crate::cluster::{Offline, SaveError, SnapshotStore};
use crate::domain::{now_ms, GameId, SessionId, UserId};
use crate::messages::{Address, Body, Envelope, SessionEvent};

/// What a session remembers between connections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub id: SessionId,
    pub user_id: UserId,
    pub user: UserView,
    pub queue: Option<QueueSpec>,
    /// The pending proposal, kept whole so a resumed client can be asked again.
    pub matchup: Option<ServerFrame>,
    pub matchup_id: Option<String>,
    pub game: Option<GameId>,
    /// Our side in `game`, to read our own line of a rating change.
    pub side: Option<Side>,
    /// `game` belongs to a tournament (the player cannot queue meanwhile).
    #[serde(default)]
    pub in_tournament: bool,
    /// The tournaments this session knows the player is in (joined, or played a game of):
    /// its socket follows their updates.
    #[serde(default)]
    pub tournaments: std::collections::BTreeSet<String>,
    /// The live games this session watches (`client/WATCH_GAME` until `client/UNWATCHED` or
    /// the game's end): a resumed socket watches them again.
    #[serde(default)]
    pub watching: std::collections::BTreeSet<String>,
    pub updated_at: u64,
}

impl SessionState {
    pub fn new(id: SessionId, user_id: UserId, user: UserView) -> Self {
        SessionState {
            id,
            user_id,
            user,
            queue: None,
            matchup: None,
            matchup_id: None,
            game: None,
            side: None,
            in_tournament: false,
            tournaments: Default::default(),
            watching: Default::default(),
            updated_at: now_ms(),
        }
    }

    /// Applies a message sent to this session; true if the state changed.
    pub fn apply(&mut self, frame: &ServerFrame) -> bool {
        if !Self::may_change(&frame.message) {
            return false;
        }
        let before = self.clone();
        match &frame.message {
            ServerMessage::Queued { queue, .. } => self.queue = Some(queue.clone()),
            ServerMessage::QueueLeft { queue, .. } if self.queue.as_ref() == Some(queue) => {
                self.queue = None;
                self.matchup = None;
                self.matchup_id = None;
            }
            ServerMessage::ProposeMatchup { matchup, .. } => {
                self.matchup_id = Some(matchup.clone());
                self.matchup = Some(ServerFrame {
                    reference: None,
                    message: frame.message.clone(),
                });
            }
            ServerMessage::MatchupCancelled { matchup, .. }
                if self.matchup_id.as_ref() == Some(matchup) =>
            {
                self.matchup = None;
                self.matchup_id = None;
            }
            ServerMessage::StartGame(view) | ServerMessage::ResumeGame(view) => {
                self.game = GameId::parse(&view.game);
                // A side and a tournament game only with a game (an id that does not parse
                // names none).
                self.side = self.game.as_ref().and(view.you);
                self.in_tournament = self.game.is_some() && view.tournament.is_some();
                if let Some(tournament) = &view.tournament {
                    self.tournaments.insert(tournament.clone());
                }
                self.queue = None;
                self.matchup = None;
                self.matchup_id = None;
            }
            ServerMessage::GameOver {
                game,
                rating_change,
                ..
            } => {
                self.watching.remove(game);
                if self.game.as_ref().map(|g| g.as_str()) == Some(game.as_str()) {
                    if let (Some(change), Some(side)) = (rating_change, self.side) {
                        let mine = match side {
                            Side::First => change.first,
                            Side::Second => change.second,
                        };
                        self.user.rating = mine.after;
                    }
                    self.game = None;
                    self.side = None;
                    self.in_tournament = false;
                }
            }
            ServerMessage::WatchGame(view) if view.status != GameStatus::Over => {
                self.watching.insert(view.game.clone());
            }
            ServerMessage::Unwatched { game } => {
                self.watching.remove(game);
            }
            ServerMessage::TournamentJoined { tournament } => {
                self.tournaments.insert(tournament.clone());
            }
            ServerMessage::TournamentLeft { tournament, .. } => {
                self.tournaments.remove(tournament);
            }
            ServerMessage::TournamentUpdate { tournament }
                if matches!(
                    tournament.status,
                    TournamentStatus::Finished | TournamentStatus::Cancelled
                ) =>
            {
                self.tournaments.remove(&tournament.id);
            }
            _ => {}
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now_ms();
        }
        changed
    }

    /// Whether `apply` can change anything for this kind of message. Most frames a session
    /// sees are game updates, which never do, so they skip the clone and compare.
    fn may_change(message: &ServerMessage) -> bool {
        matches!(
            message,
            ServerMessage::Queued { .. }
                | ServerMessage::QueueLeft { .. }
                | ServerMessage::ProposeMatchup { .. }
                | ServerMessage::MatchupCancelled { .. }
                | ServerMessage::StartGame(_)
                | ServerMessage::ResumeGame(_)
                | ServerMessage::GameOver { .. }
                | ServerMessage::TournamentJoined { .. }
                | ServerMessage::TournamentLeft { .. }
                | ServerMessage::TournamentUpdate { .. }
                | ServerMessage::WatchGame(_)
                | ServerMessage::Unwatched { .. }
        )
    }

    /// The `client/RESUME_SESSION` for this state.
    pub fn resume_message(&self) -> ServerMessage {
        ServerMessage::ResumeSession {
            session: self.id.to_string(),
            user: self.user.clone(),
            queue: self.queue.clone(),
            matchup: self.matchup_id.clone(),
            game: self.game.as_ref().map(|g| g.to_string()),
        }
    }
}

/// Reads and writes session snapshots.
#[derive(Clone)]
pub struct Sessions {
    snapshots: Arc<dyn SnapshotStore>,
    ttl: Duration,
}

impl Sessions {
    pub fn new(snapshots: Arc<dyn SnapshotStore>, ttl: Duration) -> Self {
        Sessions { snapshots, ttl }
    }

    pub async fn load(&self, id: &SessionId) -> Result<Option<SessionState>, SaveError> {
        let stored = self.snapshots.load(Address::session(id).key()).await?;
        Ok(stored.and_then(|s| serde_json::from_slice(&s.data).ok()))
    }

    pub async fn save(&self, state: &SessionState) -> Result<(), SaveError> {
        let data = serde_json::to_vec(state).expect("session state serialises");
        self.snapshots
            .put(Address::session(&state.id).key(), data, self.ttl)
            .await
    }

    /// Forgets a session (logout): it can no longer be resumed.
    pub async fn delete(&self, id: &SessionId) -> Result<(), SaveError> {
        self.snapshots.delete(Address::session(id).key()).await
    }

    /// Applies an event to a session that is connected nowhere.
    pub async fn apply_offline(
        &self,
        id: &SessionId,
        frame: &ServerFrame,
    ) -> Result<(), SaveError> {
        if let Some(mut state) = self.load(id).await? {
            if state.apply(frame) {
                self.save(&state).await?;
            }
        }
        Ok(())
    }
}

/// A session connected nowhere: the frames sent to it update its snapshot, so the player finds
/// them folded in on resuming.
#[async_trait]
impl Offline for Sessions {
    async fn deliver_offline(&self, envelope: Envelope) {
        let (Some(id), Body::Session(SessionEvent::Push { frame })) =
            (SessionId::parse(envelope.to.id()), &envelope.body)
        else {
            return;
        };
        if let Err(e) = self.apply_offline(&id, frame).await {
            tracing::warn!(session = %id, error = %e, "offline session update failed");
        }
    }
}
