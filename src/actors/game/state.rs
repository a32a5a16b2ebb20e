//! A game's state, its snapshot: seats, moves, clocks, draw offer, presence, result; and its
//! projections to what players see (`client/UPDATE_GAME`, the full view) and to the record
//! that goes to the store. Pure: times come in as arguments.

use client_protocol::http::{GameRecord, GameRecordPlayer};
use client_protocol::*;
use serde::{Deserialize, Serialize};

use crate::cluster::SnapshotStore;
use crate::domain::{GameId, SessionId, UserId};
use crate::events::{EventPlayer, GameEvent};
use crate::games::{Board, Outcome, Rules};
use crate::messages::{Address, Sender};
use crate::store::rating::{self, Glicko};
use crate::store::{FinishedGame, RatingUpdate};

/// A player's chair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seat {
    pub user_id: UserId,
    pub name: String,
    pub guest: bool,
    pub glicko: Glicko,
    /// Where this player's messages go: their session once one has joined the game. A game a
    /// tournament started has none at first, and reaches every open socket of the account.
    pub session: Option<SessionId>,
    /// The node that session's socket was last on: when that node dies, the player is away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<std::sync::Arc<str>>,
}

/// What a game's snapshot says of it (`GameState::standing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Live,
    /// Over; `recorded` once its `game_over` is in the event log. An unrecorded one lost its
    /// owner between the end and the append: activating it anywhere appends it.
    Over {
        recorded: bool,
    },
    Gone,
}

/// Where a frame for a player goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbox {
    Session(SessionId),
    /// Every open socket of the account (a seat no session has joined yet).
    User(UserId),
}

impl From<&SessionId> for Inbox {
    fn from(session: &SessionId) -> Inbox {
        Inbox::Session(session.clone())
    }
}

impl Seat {
    pub fn inbox(&self) -> Inbox {
        match &self.session {
            Some(session) => Inbox::Session(session.clone()),
            None => Inbox::User(self.user_id.clone()),
        }
    }

    /// Is `session` the one this seat's frames go to?
    pub fn is_bound_to(&self, session: &SessionId) -> bool {
        self.session.as_ref() == Some(session)
    }

    /// Is `from` this seat's session, on the node the seat knows it on?
    pub fn is_current(&self, from: &Sender) -> bool {
        self.is_bound_to(&from.session) && (from.node.is_none() || self.node == from.node)
    }

    /// Notes the node of this seat's own session when `from` is it.
    pub fn sits_at(&mut self, from: &Sender) {
        if self.is_bound_to(&from.session) && from.node.is_some() {
            self.node.clone_from(&from.node);
        }
    }
}

/// One played move, with both clocks right after it (to answer a retry exactly).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MoveRecord {
    pub mv: Move,
    pub at: u64,
    pub clocks: [u64; 2],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finish {
    pub result: GameResult,
    pub reason: EndReason,
    pub rating_change: Option<RatingChange>,
    pub ended_at: u64,
    /// Set once `game_over` is in the event log; a rebuilt game appends it again otherwise.
    pub recorded: bool,
}

/// Everything a game is: its snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GameState {
    pub id: GameId,
    pub kind: GameKind,
    pub rated: bool,
    pub clock: Option<ClockSpec>,
    pub seats: [Seat; 2],
    pub moves: Vec<MoveRecord>,
    pub status: GameStatus,
    pub ready: [bool; 2],
    /// Remaining ms per side as of `turn_started_at` (the side to move) or exactly (the other).
    pub remaining: [u64; 2],
    /// When the running clock started; None while no clock runs.
    pub turn_started_at: Option<u64>,
    pub draw_offer: Option<Side>,
    /// When each player's socket went away; None while connected.
    pub away_since: [Option<u64>; 2],
    pub created_at: u64,
    pub started_at: Option<u64>,
    pub saved_at: u64,
    pub finish: Option<Finish>,
    pub rev: u64,
    /// Rebuilt on a node after an owner that had written it stopped (died, drained): a
    /// disconnection in this game may be ours, and never counts against a player.
    #[serde(default)]
    pub rebuilt: bool,
    /// The tournament that started this game, if any.
    #[serde(default)]
    pub tournament: Option<String>,
}

impl GameState {
    /// A new game waiting for both players to be ready.
    pub fn new(
        id: GameId,
        kind: GameKind,
        clock: Option<ClockSpec>,
        rated: bool,
        seats: [Seat; 2],
        now: u64,
    ) -> Self {
        let initial = clock.map_or(0, |c| c.initial_ms);
        GameState {
            id,
            kind,
            rated,
            clock,
            seats,
            moves: Vec::new(),
            status: GameStatus::WaitingReady,
            ready: [false, false],
            remaining: [initial, initial],
            turn_started_at: None,
            draw_offer: None,
            away_since: [None, None],
            created_at: now,
            started_at: None,
            saved_at: now,
            finish: None,
            rev: 0,
            rebuilt: false,
            tournament: None,
        }
    }

    pub fn snapshot_key(id: &GameId) -> String {
        Address::game(id).key().to_owned()
    }

    /// Is this game still being played (its snapshot exists and is not over)?
    pub async fn is_live(snapshots: &dyn SnapshotStore, id: &GameId) -> bool {
        Self::standing(snapshots, id).await == Standing::Live
    }

    /// What a game's snapshot says of it.
    pub async fn standing(snapshots: &dyn SnapshotStore, id: &GameId) -> Standing {
        match snapshots.load(&Self::snapshot_key(id)).await {
            Ok(Some(stored)) => match serde_json::from_slice::<GameState>(&stored.data) {
                Ok(state) if state.status != GameStatus::Over => Standing::Live,
                Ok(state) => Standing::Over {
                    recorded: state.finish.is_some_and(|f| f.recorded),
                },
                Err(_) => Standing::Gone,
            },
            Ok(None) => Standing::Gone,
            Err(_) => Standing::Live, // cannot tell: let the game actor answer
        }
    }

    pub fn side_of(&self, user: &UserId) -> Option<Side> {
        Side::BOTH
            .into_iter()
            .find(|s| &self.seats[s.index()].user_id == user)
    }

    pub fn to_move(&self) -> Side {
        if self.moves.len().is_multiple_of(2) {
            Side::First
        } else {
            Side::Second
        }
    }

    /// Milliseconds the running clock has used so far.
    pub fn elapsed(&self, now: u64) -> u64 {
        self.turn_started_at.map_or(0, |t| now.saturating_sub(t))
    }

    pub fn clocks(&self, now: u64) -> Clocks {
        let mut left = self.remaining;
        let running = self.turn_started_at.map(|_| self.to_move());
        if let Some(side) = running {
            left[side.index()] = left[side.index()].saturating_sub(self.elapsed(now));
        }
        Clocks {
            first: left[0],
            second: left[1],
            running,
        }
    }

    pub fn update(&self, board: &Board, now: u64) -> GameUpdate {
        GameUpdate {
            game: self.id.to_string(),
            seq: self.moves.len() as u32,
            last_move: self.moves.last().map(|m| m.mv.clone()),
            position: board.position(),
            clocks: self.clocks(now),
            to_move: self.to_move(),
            status: self.status,
            draw_offer: self.draw_offer,
        }
    }

    pub fn view(&self, board: &Board, you: Option<Side>, now: u64) -> GameView {
        GameView {
            game: self.id.to_string(),
            kind: self.kind,
            players: Side::BOTH
                .into_iter()
                .map(|side| {
                    let seat = &self.seats[side.index()];
                    PlayerView {
                        name: seat.name.clone(),
                        rating: seat.glicko.display(),
                        side,
                    }
                })
                .collect(),
            you,
            seq: self.moves.len() as u32,
            moves: self.moves.iter().map(|m| m.mv.clone()).collect(),
            position: board.position(),
            clocks: self.clocks(now),
            to_move: self.to_move(),
            status: self.status,
            draw_offer: self.draw_offer,
            rated: self.rated,
            clock: self.clock,
            tournament: self.tournament.clone(),
        }
    }

    /// Time each move took, ms, in move order (the first from the start).
    pub fn move_ms(&self) -> Vec<u64> {
        let mut previous = self.started_at.unwrap_or(self.created_at);
        self.moves
            .iter()
            .map(|m| {
                let used = m.at.saturating_sub(previous);
                previous = m.at;
                used
            })
            .collect()
    }

    /// The events that the step from `self` to `next` makes true, in order (`game_over` is
    /// not among them: it goes through the durable finish path).
    pub fn events_to(&self, next: &GameState) -> Vec<GameEvent> {
        let game = next.id.to_string();
        let mut events = Vec::new();
        if let (None, Some(at)) = (self.started_at, next.started_at) {
            let player = |seat: &Seat| EventPlayer {
                user_id: seat.user_id.to_string(),
                name: seat.name.clone(),
                guest: seat.guest,
            };
            events.push(GameEvent::GameStarted {
                game: game.clone(),
                kind: next.kind,
                rated: next.rated,
                players: [player(&next.seats[0]), player(&next.seats[1])],
                at,
            });
        }
        let used = next.move_ms();
        for (seq, m) in next.moves.iter().enumerate().skip(self.moves.len()) {
            events.push(GameEvent::Move {
                game: game.clone(),
                seq: seq as u32,
                side: if seq % 2 == 0 {
                    Side::First
                } else {
                    Side::Second
                },
                mv: m.mv.clone(),
                used_ms: used[seq],
                at: m.at,
            });
        }
        if let (None, Some(side)) = (self.draw_offer, next.draw_offer) {
            events.push(GameEvent::DrawOffered {
                game,
                side,
                at: next.saved_at,
            });
        }
        events
    }

    /// The record that goes to the store once the game is over.
    pub fn record(&self, board: &Board) -> Option<FinishedGame> {
        let finish = self.finish.as_ref()?;
        let players = Side::BOTH
            .into_iter()
            .map(|side| {
                let seat = &self.seats[side.index()];
                GameRecordPlayer {
                    user_id: seat.user_id.to_string(),
                    name: seat.name.clone(),
                    side,
                    rating: seat.glicko.display(),
                    rating_change: finish.rating_change.map(|c| match side {
                        Side::First => c.first,
                        Side::Second => c.second,
                    }),
                }
            })
            .collect();
        let ratings = self
            .rated_outcome(finish.result)
            .map_or_else(Vec::new, |after| {
                Side::BOTH
                    .into_iter()
                    .map(|side| {
                        let (seat, new) = (&self.seats[side.index()], after[side.index()]);
                        RatingUpdate {
                            user_id: seat.user_id.clone(),
                            rating_delta: new.rating - seat.glicko.rating,
                            deviation: new.deviation,
                            volatility: new.volatility,
                        }
                    })
                    .collect()
            });
        Some(FinishedGame {
            record: GameRecord {
                game: self.id.to_string(),
                kind: self.kind,
                rated: self.rated,
                clock: self.clock,
                players,
                moves: self.moves.iter().map(|m| m.mv.clone()).collect(),
                result: finish.result,
                reason: finish.reason,
                clocks: Clocks {
                    first: self.remaining[0],
                    second: self.remaining[1],
                    running: None,
                },
                final_position: board.position(),
                started_at: self.started_at.unwrap_or(self.created_at),
                ended_at: finish.ended_at,
                chat: Vec::new(),
            },
            user_ids: [self.seats[0].user_id.clone(), self.seats[1].user_id.clone()],
            ratings,
        })
    }

    /// New ratings of both seats, when this result of this game changes ratings at all.
    pub fn rated_outcome(&self, result: GameResult) -> Option<[Glicko; 2]> {
        if !self.rated || self.seats.iter().any(|s| s.guest) {
            return None;
        }
        rating::rate(self.seats[0].glicko, self.seats[1].glicko, result).map(|(a, b)| [a, b])
    }

    /// Ends the game: stops clocks, settles ratings. Returns the `client/GAME_OVER` message.
    pub fn finish(&mut self, outcome: Outcome, now: u64) -> ServerMessage {
        if let Some(side) = self.turn_started_at.map(|_| self.to_move()) {
            let i = side.index();
            self.remaining[i] = self.remaining[i].saturating_sub(self.elapsed(now));
        }
        self.turn_started_at = None;
        self.status = GameStatus::Over;
        self.draw_offer = None;
        let rating_change = self
            .rated_outcome(outcome.result)
            .map(|after| rating::change([self.seats[0].glicko, self.seats[1].glicko], after));
        self.finish = Some(Finish {
            result: outcome.result,
            reason: outcome.reason,
            rating_change,
            ended_at: now,
            recorded: false,
        });
        self.game_over_message().expect("just finished")
    }

    pub fn game_over_message(&self) -> Option<ServerMessage> {
        let finish = self.finish.as_ref()?;
        Some(ServerMessage::GameOver {
            game: self.id.to_string(),
            result: finish.result,
            reason: finish.reason,
            rating_change: finish.rating_change,
        })
    }

    /// The earliest instant at which a timer must look at this game.
    pub fn next_deadline(&self, ready_timeout: u64, grace: u64) -> Option<u64> {
        let mut deadlines = Vec::new();
        match self.status {
            GameStatus::Over => return None,
            GameStatus::WaitingReady => {
                deadlines.push(self.created_at.saturating_add(ready_timeout))
            }
            GameStatus::Playing => {
                if let Some(start) = self.turn_started_at {
                    deadlines.push(start.saturating_add(self.remaining[self.to_move().index()]));
                }
            }
        }
        deadlines.extend(
            self.away_since
                .iter()
                .flatten()
                .map(|t| t.saturating_add(grace)),
        );
        deadlines.into_iter().min()
    }
}
