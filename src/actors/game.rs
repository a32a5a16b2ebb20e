//! The game actor: one per live game. It owns the rules, the move sequence, the clocks, draw
//! offers and presence, and acknowledges nothing before the new state is in its snapshot.
//!
//! Every command is decided synchronously against a copy of the state; a decision that changes
//! state is committed by a fenced snapshot write run with `ctx.wait`, so the next command waits
//! for it (a second move can never overtake the first). Only then are replies sent.
//!
//! Clock rule: remaining times are stored with the instant the running clock started. When a
//! game is rebuilt on another node, the time since its last snapshot write is not charged to
//! the player to move: the clock restarts from the moment of rebuild.

use std::time::{Duration, Instant};

use actix::prelude::*;
use client_protocol::http::{GameRecord, GameRecordPlayer};
use client_protocol::*;
use serde::{Deserialize, Serialize};

use crate::actors::lease::{keep_lease, LeaseLost, Passivate};
use crate::actors::Sender;
use crate::cluster::router::Address;
use crate::cluster::{Lease, SaveError};
use crate::domain::{now_ms, GameId, SessionId, UserId};
use crate::games::{Board, Outcome, Rules};
use crate::node::Node;
use crate::session::actor::SessionEvent;
use crate::store::rating::{self, Glicko};
use crate::store::{FinishedGame, RatingUpdate};
use crate::telemetry::names;

/// A finished game stays active this long for late messages, then stops.
const LINGER: Duration = Duration::from_secs(30);
/// Snapshot lifetime of a live game (refreshed by every write) and of a finished one.
const LIVE_TTL: Duration = Duration::from_secs(24 * 3600);
const OVER_TTL: Duration = Duration::from_secs(3600);

// ---------------------------------------------------------------------------------------------
// Messages

/// A command for a game, as sessions and queues send it (it may cross nodes).
#[derive(Clone, Debug, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct GameCommand {
    /// None only for `Start`, which the queue sends.
    pub from: Option<Sender>,
    pub action: GameAction,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum GameAction {
    /// Announce the new game to both players (`client/START_GAME`).
    Start,
    /// A player's session (re)connected: send it the game, tell the opponent.
    Join,
    /// A player's socket closed: start the abandonment grace period.
    Leave,
    Ready,
    Move {
        seq: u32,
        mv: Move,
    },
    OfferDraw,
    DeclineDraw,
    Concede,
}

/// A timer fired: check flags, grace periods and the ready deadline.
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

// ---------------------------------------------------------------------------------------------
// State

/// A player's chair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seat {
    pub user_id: UserId,
    pub name: String,
    pub guest: bool,
    pub glicko: Glicko,
    /// Where this player's messages go.
    pub session: SessionId,
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
    /// Set once the finished game is in the outbox; a rebuilt game re-sends it otherwise.
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
}

impl GameState {
    /// A new game waiting for both players to be ready.
    pub fn new(
        id: GameId,
        kind: GameKind,
        clock: Option<ClockSpec>,
        rated: bool,
        seats: [Seat; 2],
    ) -> Self {
        let initial = clock.map_or(0, |c| c.initial_ms);
        let now = now_ms();
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
        }
    }

    pub fn snapshot_key(id: &GameId) -> String {
        Address::Game(id.clone()).key()
    }

    fn side_of(&self, user: &UserId) -> Option<Side> {
        Side::BOTH
            .into_iter()
            .find(|s| &self.seats[s.index()].user_id == user)
    }

    fn to_move(&self) -> Side {
        if self.moves.len().is_multiple_of(2) {
            Side::First
        } else {
            Side::Second
        }
    }

    /// Milliseconds the running clock has used so far.
    fn elapsed(&self, now: u64) -> u64 {
        self.turn_started_at.map_or(0, |t| now.saturating_sub(t))
    }

    fn clocks(&self, now: u64) -> Clocks {
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

    fn update(&self, board: &Board, now: u64) -> GameUpdate {
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

    fn view(&self, board: &Board, you: Side, now: u64) -> GameView {
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
        }
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
            },
            user_ids: [self.seats[0].user_id.clone(), self.seats[1].user_id.clone()],
            ratings,
        })
    }

    /// New ratings of both seats, when this result of this game changes ratings at all.
    fn rated_outcome(&self, result: GameResult) -> Option<[Glicko; 2]> {
        if !self.rated || self.seats.iter().any(|s| s.guest) {
            return None;
        }
        rating::rate(self.seats[0].glicko, self.seats[1].glicko, result).map(|(a, b)| [a, b])
    }

    /// Ends the game: stops clocks, settles ratings. Returns the `client/GAME_OVER` message.
    fn finish(&mut self, outcome: Outcome, now: u64) -> ServerMessage {
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

    fn game_over_message(&self) -> Option<ServerMessage> {
        let finish = self.finish.as_ref()?;
        Some(ServerMessage::GameOver {
            game: self.id.to_string(),
            result: finish.result,
            reason: finish.reason,
            rating_change: finish.rating_change,
        })
    }

    /// The earliest instant at which a timer must look at this game.
    fn next_deadline(&self, ready_timeout: u64, grace: u64) -> Option<u64> {
        let mut deadlines = Vec::new();
        match self.status {
            GameStatus::Over => return None,
            GameStatus::WaitingReady => deadlines.push(self.created_at + ready_timeout),
            GameStatus::Playing => {
                if let Some(start) = self.turn_started_at {
                    deadlines.push(start + self.remaining[self.to_move().index()]);
                }
            }
        }
        deadlines.extend(self.away_since.iter().flatten().map(|t| t + grace));
        deadlines.into_iter().min()
    }
}

/// The move as a game stores it, so that a retry compares equal whatever its spelling.
fn canonical(kind: GameKind, mv: &Move) -> Move {
    match (kind, mv) {
        (GameKind::Chess, Move::Text(s)) => Move::Text(s.trim().to_ascii_lowercase()),
        (_, Move::Text(s)) => s
            .trim()
            .parse()
            .map(Move::Index)
            .unwrap_or_else(|_| mv.clone()),
        _ => mv.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// A frame for one session.
struct Out {
    to: SessionId,
    frame: ServerFrame,
}

/// What a command leads to: replies only, or a new state to commit first.
enum Decision {
    Reply(Vec<Out>),
    Commit {
        next: Box<(GameState, Board)>,
        outs: Vec<Out>,
    },
}

// ---------------------------------------------------------------------------------------------
// The actor

pub struct GameActor {
    node: Node,
    lease: Lease,
    state: GameState,
    board: Board,
    timer: Option<SpawnHandle>,
    /// When the move being committed arrived, for the move-latency histogram.
    move_started: Option<Instant>,
}

impl GameActor {
    /// Rebuilds a game from its snapshot under a freshly taken lease.
    pub fn from_snapshot(node: Node, lease: Lease, mut state: GameState) -> Result<Self, String> {
        let moves: Vec<Move> = state.moves.iter().map(|m| m.mv.clone()).collect();
        let board = Board::replay(state.kind, &moves)
            .map_err(|e| format!("snapshot does not replay: {e}"))?;
        let now = now_ms();
        if let Some(start) = state.turn_started_at {
            // Not charged: the time since the last write, while possibly nobody owned the game.
            state.turn_started_at = Some(start + now.saturating_sub(state.saved_at));
        }
        Ok(GameActor {
            node,
            lease,
            state,
            board,
            timer: None,
            move_started: None,
        })
    }

    fn out(&self, to: &SessionId, message: ServerMessage, reference: Option<String>) -> Out {
        Out {
            to: to.clone(),
            frame: ServerFrame { reference, message },
        }
    }

    /// A `client/ERROR` for the sender, echoing its ref.
    fn error_out(&self, from: &Sender, code: ErrorCode, message: impl Into<String>) -> Out {
        self.out(
            &from.session,
            ServerMessage::error(code, message),
            from.reference.clone(),
        )
    }

    fn error(&self, from: &Sender, code: ErrorCode, message: impl Into<String>) -> Decision {
        Decision::Reply(vec![self.error_out(from, code, message)])
    }

    /// The same message to both seats; the sender's copy carries its ref. A sender on another
    /// session of the same player also gets a copy.
    fn broadcast(
        &self,
        state: &GameState,
        message: ServerMessage,
        from: Option<&Sender>,
    ) -> Vec<Out> {
        let mut outs: Vec<Out> = state
            .seats
            .iter()
            .map(|seat| {
                let reference = from
                    .filter(|f| f.user == seat.user_id)
                    .and_then(|f| f.reference.clone());
                self.out(&seat.session, message.clone(), reference)
            })
            .collect();
        if let Some(f) = from {
            if !state.seats.iter().any(|s| s.session == f.session) {
                outs.push(self.out(&f.session, message, f.reference.clone()));
            }
        }
        outs
    }

    fn decide(&self, command: GameCommand, now: u64) -> Decision {
        let state = &self.state;
        let Some(from) = command.from else {
            return match command.action {
                GameAction::Start if state.status == GameStatus::WaitingReady => Decision::Reply(
                    Side::BOTH
                        .into_iter()
                        .map(|side| {
                            let view = state.view(&self.board, side, now);
                            self.out(
                                &state.seats[side.index()].session,
                                ServerMessage::StartGame(view),
                                None,
                            )
                        })
                        .collect(),
                ),
                _ => Decision::Reply(Vec::new()),
            };
        };
        let Some(side) = state.side_of(&from.user) else {
            return self.error(
                &from,
                ErrorCode::NotInGame,
                format!("you are not a player in game {}", state.id),
            );
        };
        match command.action {
            GameAction::Start => Decision::Reply(Vec::new()),
            GameAction::Join => self.decide_join(&from, side, now),
            GameAction::Leave => self.decide_leave(&from, side, now),
            GameAction::Ready => self.decide_ready(&from, side, now),
            GameAction::Move { seq, mv } => self.decide_move(&from, side, seq, mv, now),
            GameAction::OfferDraw => self.decide_offer_draw(&from, side, now),
            GameAction::DeclineDraw => self.decide_decline_draw(&from, side, now),
            GameAction::Concede => self.decide_concede(&from, side, now),
        }
    }

    /// Refuses actions on a game that is over or not yet started.
    fn check_playing(&self, from: &Sender) -> Option<Decision> {
        match self.state.status {
            GameStatus::Over => Some(self.error(from, ErrorCode::GameOver, "the game is over")),
            GameStatus::WaitingReady => Some(self.error(
                from,
                ErrorCode::NotStarted,
                "the game starts when both players are ready",
            )),
            GameStatus::Playing => None,
        }
    }

    fn decide_join(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = &self.state;
        let mut outs = vec![self.out(
            &from.session,
            ServerMessage::ResumeGame(state.view(&self.board, side, now)),
            from.reference.clone(),
        )];
        if let Some(over) = state.game_over_message() {
            outs.push(self.out(&from.session, over, None));
            return Decision::Reply(outs);
        }
        let seat = &state.seats[side.index()];
        if state.away_since[side.index()].is_none() && seat.session == from.session {
            return Decision::Reply(outs);
        }
        let mut next = state.clone();
        next.away_since[side.index()] = None;
        next.seats[side.index()].session = from.session.clone();
        let presence = ServerMessage::OpponentPresence {
            game: state.id.to_string(),
            connected: true,
            grace_ms: self.node.config.grace_ms,
        };
        outs.push(self.out(&state.seats[side.other().index()].session, presence, None));
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
        }
    }

    fn decide_leave(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = &self.state;
        let seat = &state.seats[side.index()];
        if state.status == GameStatus::Over
            || seat.session != from.session
            || state.away_since[side.index()].is_some()
        {
            return Decision::Reply(Vec::new());
        }
        let mut next = state.clone();
        next.away_since[side.index()] = Some(now);
        let presence = ServerMessage::OpponentPresence {
            game: state.id.to_string(),
            connected: false,
            grace_ms: self.node.config.grace_ms,
        };
        let outs = vec![self.out(&state.seats[side.other().index()].session, presence, None)];
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
        }
    }

    fn decide_ready(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = &self.state;
        match state.status {
            GameStatus::Over => return self.error(from, ErrorCode::GameOver, "the game is over"),
            GameStatus::Playing => {
                let update = ServerMessage::UpdateGame(state.update(&self.board, now));
                return Decision::Reply(vec![self.out(
                    &from.session,
                    update,
                    from.reference.clone(),
                )]);
            }
            GameStatus::WaitingReady => {}
        }
        let mut next = state.clone();
        next.ready[side.index()] = true;
        if next == *state {
            return Decision::Reply(Vec::new());
        }
        let mut outs = Vec::new();
        if next.ready == [true, true] {
            next.status = GameStatus::Playing;
            next.started_at = Some(now);
            next.turn_started_at = next.clock.map(|_| now);
            outs = self.broadcast(
                &next,
                ServerMessage::UpdateGame(next.update(&self.board, now)),
                Some(from),
            );
        }
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
        }
    }

    fn decide_move(&self, from: &Sender, side: Side, seq: u32, mv: Move, now: u64) -> Decision {
        let state = &self.state;
        let mv = canonical(state.kind, &mv);
        // A retry of a move this player already made: acknowledge it again, apply nothing.
        if let Some(done) = state.moves.get(seq as usize) {
            let mover = if seq.is_multiple_of(2) {
                Side::First
            } else {
                Side::Second
            };
            if done.mv == mv && mover == side {
                return Decision::Reply(vec![self.out(
                    &from.session,
                    ServerMessage::UpdateGame(self.replayed_update(seq)),
                    from.reference.clone(),
                )]);
            }
        }
        if let Some(refusal) = self.check_playing(from) {
            return refusal;
        }
        let current = state.moves.len() as u32;
        if seq != current {
            let stale = format!("seq {seq} is not the current {current}");
            let update = ServerMessage::UpdateGame(state.update(&self.board, now));
            let outs = vec![
                self.error_out(from, ErrorCode::StaleSeq, stale),
                self.out(&from.session, update, None),
            ];
            return Decision::Reply(outs);
        }
        if state.to_move() != side {
            return self.error(from, ErrorCode::NotYourTurn, "it is your opponent's turn");
        }
        let mut next = state.clone();
        let elapsed = next.elapsed(now);
        if next.clock.is_some() && elapsed >= next.remaining[side.index()] {
            let over = next.finish(self.flag_outcome(side), now);
            let outs = self.broadcast(&next, over, None);
            return Decision::Commit {
                next: Box::new((next, self.board.clone())),
                outs,
            };
        }
        let mut board = self.board.clone();
        let applied = match board.apply(&mv) {
            Ok(applied) => applied,
            Err(e) => return self.error(from, ErrorCode::IllegalMove, e.to_string()),
        };
        if let Some(clock) = next.clock {
            let i = side.index();
            next.remaining[i] = next.remaining[i] - elapsed + clock.increment_ms;
            next.turn_started_at = Some(now);
        }
        if next.draw_offer == Some(side.other()) {
            next.draw_offer = None; // moving declines the opponent's offer
        }
        next.moves.push(MoveRecord {
            mv: applied.canonical,
            at: now,
            clocks: next.remaining,
        });
        let mut outs = self.broadcast(
            &next,
            ServerMessage::UpdateGame(next.update(&board, now)),
            Some(from),
        );
        if let Some(outcome) = applied.outcome {
            let over = next.finish(outcome, now);
            outs.extend(self.broadcast(&next, over, None));
        }
        Decision::Commit {
            next: Box::new((next, board)),
            outs,
        }
    }

    /// The `client/UPDATE_GAME` that acknowledged move `seq`, rebuilt for a retry.
    fn replayed_update(&self, seq: u32) -> GameUpdate {
        let state = &self.state;
        let played: Vec<Move> = state.moves[..=seq as usize]
            .iter()
            .map(|m| m.mv.clone())
            .collect();
        let board = Board::replay(state.kind, &played).unwrap_or_else(|_| self.board.clone());
        let record = &state.moves[seq as usize];
        let latest = seq as usize + 1 == state.moves.len();
        let to_move = if played.len().is_multiple_of(2) {
            Side::First
        } else {
            Side::Second
        };
        GameUpdate {
            game: state.id.to_string(),
            seq: seq + 1,
            last_move: Some(record.mv.clone()),
            position: board.position(),
            clocks: Clocks {
                first: record.clocks[0],
                second: record.clocks[1],
                running: (state.clock.is_some()
                    && (!latest || state.status == GameStatus::Playing))
                    .then_some(to_move),
            },
            to_move,
            status: if latest {
                state.status
            } else {
                GameStatus::Playing
            },
            draw_offer: if latest { state.draw_offer } else { None },
        }
    }

    /// A flag fell for `side`: the opponent wins, unless they could never checkmate.
    fn flag_outcome(&self, side: Side) -> Outcome {
        if self.board.can_win(side.other()) {
            Outcome::win(side.other(), EndReason::Timeout)
        } else {
            Outcome::draw(EndReason::Timeout)
        }
    }

    fn decide_offer_draw(&self, from: &Sender, side: Side, now: u64) -> Decision {
        if let Some(refusal) = self.check_playing(from) {
            return refusal;
        }
        let state = &self.state;
        let mut next = state.clone();
        match state.draw_offer {
            Some(offerer) if offerer == side.other() => {
                let over = next.finish(Outcome::draw(EndReason::DrawAgreed), now);
                let outs = self.broadcast(&next, over, Some(from));
                Decision::Commit {
                    next: Box::new((next, self.board.clone())),
                    outs,
                }
            }
            Some(_) => {
                let offer = ServerMessage::OfferDraw {
                    game: state.id.to_string(),
                    from: side,
                };
                Decision::Reply(vec![self.out(&from.session, offer, from.reference.clone())])
            }
            None => {
                next.draw_offer = Some(side);
                let offer = ServerMessage::OfferDraw {
                    game: state.id.to_string(),
                    from: side,
                };
                let outs = self.broadcast(&next, offer, Some(from));
                Decision::Commit {
                    next: Box::new((next, self.board.clone())),
                    outs,
                }
            }
        }
    }

    fn decide_decline_draw(&self, from: &Sender, side: Side, now: u64) -> Decision {
        if let Some(refusal) = self.check_playing(from) {
            return refusal;
        }
        let state = &self.state;
        if state.draw_offer != Some(side.other()) {
            return self.error(
                from,
                ErrorCode::NoDrawOffer,
                "your opponent has no draw offer pending",
            );
        }
        let mut next = state.clone();
        next.draw_offer = None;
        let outs = self.broadcast(
            &next,
            ServerMessage::UpdateGame(next.update(&self.board, now)),
            Some(from),
        );
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
        }
    }

    fn decide_concede(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = &self.state;
        let outcome = match state.status {
            GameStatus::Over => return self.error(from, ErrorCode::GameOver, "the game is over"),
            GameStatus::WaitingReady => Outcome {
                result: GameResult::Aborted,
                reason: EndReason::Resign,
            },
            GameStatus::Playing => Outcome::win(side.other(), EndReason::Resign),
        };
        let mut next = state.clone();
        let over = next.finish(outcome, now);
        let outs = self.broadcast(&next, over, Some(from));
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
        }
    }

    /// Deadlines: ready timeout, flag fall, abandonment.
    fn decide_tick(&self, now: u64) -> Decision {
        let state = &self.state;
        let config = &self.node.config;
        let outcome = match state.status {
            GameStatus::Over => None,
            GameStatus::WaitingReady if now >= state.created_at + config.ready_timeout_ms => {
                Some(Outcome {
                    result: GameResult::Aborted,
                    reason: EndReason::Abandoned,
                })
            }
            GameStatus::Playing
                if state.clock.is_some()
                    && state.elapsed(now) >= state.remaining[state.to_move().index()] =>
            {
                Some(self.flag_outcome(state.to_move()))
            }
            _ => None,
        };
        let abandoned = Side::BOTH
            .into_iter()
            .find(|s| state.away_since[s.index()].is_some_and(|t| now >= t + config.grace_ms));
        let outcome = outcome.or_else(|| {
            abandoned.map(|side| match state.status {
                GameStatus::Playing => Outcome::win(side.other(), EndReason::Abandoned),
                _ => Outcome {
                    result: GameResult::Aborted,
                    reason: EndReason::Abandoned,
                },
            })
        });
        let Some(outcome) = outcome.filter(|_| state.status != GameStatus::Over) else {
            return Decision::Reply(Vec::new());
        };
        let mut next = state.clone();
        let over = next.finish(outcome, now);
        let outs = self.broadcast(&next, over, None);
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
        }
    }

    fn send(&self, outs: Vec<Out>) {
        for out in outs {
            self.node.router.send_session(
                &out.to,
                SessionEvent::Push {
                    frame: Box::new(out.frame),
                },
            );
        }
    }

    /// Writes `next` (fenced), then adopts it and sends `outs`. Runs with `ctx.wait`: nothing
    /// else happens in this game until the write is decided.
    fn commit(
        &mut self,
        next: GameState,
        board: Board,
        outs: Vec<Out>,
        requester: Option<Sender>,
        ctx: &mut Context<Self>,
    ) {
        let mut next = next;
        next.rev = self.state.rev + 1;
        next.saved_at = now_ms();
        let node = self.node.clone();
        let lease = self.lease.clone();
        let data = serde_json::to_vec(&next).expect("game state serialises");
        let ttl = if next.status == GameStatus::Over {
            OVER_TTL
        } else {
            LIVE_TTL
        };
        let key = GameState::snapshot_key(&next.id);
        let finished = (next.status == GameStatus::Over && self.state.status != GameStatus::Over)
            .then(|| next.record(&board))
            .flatten();
        let write = async move {
            node.snapshots
                .save(&key, data, lease.fence, next.rev, Some(ttl))
                .await?;
            Ok::<_, SaveError>(next)
        };
        ctx.wait(write.into_actor(self).map(move |result, act, ctx| match result {
            Ok(next) => {
                let moved = next.moves.len() > act.state.moves.len();
                act.state = next;
                if let (true, Some(started)) = (moved, act.move_started.take()) {
                    metrics::counter!(names::MOVES, "kind" => act.state.kind.as_str()).increment(1);
                    metrics::histogram!(names::MOVE_SECONDS).record(started.elapsed().as_secs_f64());
                }
                act.board = board;
                act.send(outs);
                if let Some(finished) = finished {
                    act.game_finished(finished, ctx);
                }
                act.schedule(ctx);
            }
            Err(e) => {
                tracing::warn!(game = %act.state.id, error = %e, "game snapshot write refused");
                if let Some(from) = requester {
                    let refusal = ServerMessage::error(ErrorCode::Unavailable, "the game could not be saved, retry");
                    act.send(vec![act.out(&from.session, refusal, from.reference)]);
                }
                if matches!(e, SaveError::Fenced { .. } | SaveError::Stale { .. }) {
                    ctx.stop(); // another node owns this game now
                }
            }
        }));
    }

    /// Hands a finished game to the outbox (retrying until it takes it), then marks it recorded.
    fn game_finished(&mut self, finished: FinishedGame, ctx: &mut Context<Self>) {
        let record = &finished.record;
        metrics::counter!(names::GAMES_FINISHED, "kind" => record.kind.as_str(), "reason" => format!("{:?}", record.reason))
            .increment(1);
        tracing::info!(game = %record.game, result = ?record.result, reason = ?record.reason, "game over");
        let node = self.node.clone();
        let append = async move {
            let mut delay = Duration::from_millis(100);
            loop {
                let started = Instant::now();
                match node.outbox.append(&finished).await {
                    Ok(()) => {
                        metrics::histogram!(names::PERSIST_SECONDS)
                            .record(started.elapsed().as_secs_f64());
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(game = %finished.record.game, error = %e, "outbox append failed, retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        };
        ctx.spawn(append.into_actor(self).map(|(), act, ctx| {
            let mut next = act.state.clone();
            if let Some(finish) = next.finish.as_mut() {
                finish.recorded = true;
                act.commit(next, act.board.clone(), Vec::new(), None, ctx);
            }
        }));
    }

    /// Arms one timer for the earliest deadline (or the linger stop of a finished game).
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        let config = &self.node.config;
        let delay = match self
            .state
            .next_deadline(config.ready_timeout_ms, config.grace_ms)
        {
            Some(at) => Duration::from_millis(at.saturating_sub(now_ms()) + 1),
            None if self.state.status == GameStatus::Over => {
                self.timer = Some(ctx.run_later(LINGER, |_, ctx| ctx.stop()));
                return;
            }
            None => return,
        };
        self.timer = Some(ctx.run_later(delay, |_, ctx| ctx.notify(Tick)));
    }

    fn run(&mut self, decision: Decision, requester: Option<Sender>, ctx: &mut Context<Self>) {
        match decision {
            Decision::Reply(outs) => self.send(outs),
            Decision::Commit { next, outs } => {
                let (next, board) = *next;
                self.commit(next, board, outs, requester, ctx);
            }
        }
    }
}

impl Actor for GameActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        metrics::gauge!(names::GAMES_LIVE).increment(1.0);
        keep_lease(ctx, &self.node, self.lease.clone());
        if let Some(finish) = &self.state.finish {
            if !finish.recorded {
                if let Some(record) = self.state.record(&self.board) {
                    self.game_finished(record, ctx);
                }
            }
        }
        self.schedule(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        metrics::gauge!(names::GAMES_LIVE).decrement(1.0);
        self.node
            .router
            .deactivated(&Address::Game(self.state.id.clone()), &self.lease);
    }
}

impl Handler<GameCommand> for GameActor {
    type Result = ();

    fn handle(&mut self, command: GameCommand, ctx: &mut Self::Context) {
        let _span = tracing::info_span!("game", game = %self.state.id).entered();
        let started = Instant::now();
        let is_move = matches!(command.action, GameAction::Move { .. });
        let requester = command.from.clone();
        let decision = self.decide(command, now_ms());
        // Recorded when the commit succeeds (the move is acknowledged only then).
        self.move_started =
            (is_move && matches!(decision, Decision::Commit { .. })).then_some(started);
        self.run(decision, requester, ctx);
    }
}

impl Handler<Tick> for GameActor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        let decision = self.decide_tick(now_ms());
        let nothing_to_commit = matches!(decision, Decision::Reply(_));
        self.run(decision, None, ctx);
        if nothing_to_commit {
            self.schedule(ctx); // a commit reschedules once its write is done
        }
    }
}

impl Handler<LeaseLost> for GameActor {
    type Result = ();

    fn handle(&mut self, _: LeaseLost, ctx: &mut Self::Context) {
        tracing::warn!(game = %self.state.id, "lease lost, stopping");
        ctx.stop();
    }
}

impl Handler<Passivate> for GameActor {
    type Result = ();

    fn handle(&mut self, _: Passivate, ctx: &mut Self::Context) {
        ctx.stop(); // `stopped` releases the lease; the next message activates it elsewhere
    }
}
