//! The game's decisions, pure: given the state, the board, a command and the time, what to
//! answer and what new state to commit. No I/O, no actix, no clock: the actor supplies `now`
//! and carries the decision out (`actor.rs`), and the tests below drive every rule of the
//! protocol on an injected clock.

use client_protocol::*;

use super::state::{GameState, Inbox, MoveRecord};
use crate::games::{Board, Outcome, Rules};
use crate::messages::{GameAction, GameCommand, Sender};

/// The timing rules a game is decided under (from config).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Both players must be ready within this long of the game's creation.
    pub ready_timeout_ms: u64,
    /// A player whose socket went away loses after this long.
    pub grace_ms: u64,
}

/// A frame for one player (or the session that asked).
#[derive(Debug)]
pub struct Out {
    pub to: Inbox,
    pub frame: ServerFrame,
}

/// What a command leads to: replies only, or a new state to commit before the replies go.
#[derive(Debug)]
pub enum Decision {
    Reply(Vec<Out>),
    Commit {
        next: Box<(GameState, Board)>,
        outs: Vec<Out>,
    },
}

/// Decides a command against the game as it is at `now`.
pub fn decide(
    state: &GameState,
    board: &Board,
    command: GameCommand,
    now: u64,
    limits: &Limits,
) -> Decision {
    Decider {
        state,
        board,
        limits,
    }
    .decide(command, now)
}

/// Decides what the deadlines (ready timeout, flag fall, abandonment) do at `now`.
pub fn tick(state: &GameState, board: &Board, now: u64, limits: &Limits) -> Decision {
    Decider {
        state,
        board,
        limits,
    }
    .decide_tick(now)
}

struct Decider<'a> {
    state: &'a GameState,
    board: &'a Board,
    limits: &'a Limits,
}

impl Decider<'_> {
    fn out(&self, to: impl Into<Inbox>, message: ServerMessage, reference: Option<String>) -> Out {
        Out {
            to: to.into(),
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
                self.out(seat.inbox(), message.clone(), reference)
            })
            .collect();
        if let Some(f) = from {
            if !state.seats.iter().any(|s| s.is_bound_to(&f.session)) {
                outs.push(self.out(&f.session, message, f.reference.clone()));
            }
        }
        outs
    }

    fn decide(&self, command: GameCommand, now: u64) -> Decision {
        let state = self.state;
        let Some(from) = command.from else {
            return match command.action {
                GameAction::Start if state.status == GameStatus::WaitingReady => Decision::Reply(
                    Side::BOTH
                        .into_iter()
                        .map(|side| {
                            let view = state.view(self.board, Some(side), now);
                            self.out(
                                state.seats[side.index()].inbox(),
                                ServerMessage::StartGame(view),
                                None,
                            )
                        })
                        .collect(),
                ),
                GameAction::NodesAlive { alive } => self.decide_nodes_alive(&alive, now),
                _ => Decision::Reply(Vec::new()),
            };
        };
        if command.action == GameAction::Watch {
            // Anyone may watch, players too (from another device): the view of no side.
            let view = state.view(self.board, None, now);
            let watched = ServerMessage::WatchGame(view);
            return Decision::Reply(vec![self.out(&from.session, watched, from.reference)]);
        }
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
            // Answered above (watch) or by the actor itself (crowd counts).
            GameAction::Watch | GameAction::Crowd { .. } => Decision::Reply(Vec::new()),
            // Only a node sends this, never a player.
            GameAction::NodesAlive { .. } => Decision::Reply(Vec::new()),
        }
    }

    /// Players whose sockets were on a dead node are away from now on: the abandonment grace
    /// starts for them as if their sockets had closed (none did: their node was killed).
    fn decide_nodes_alive(&self, alive: &[String], now: u64) -> Decision {
        let state = self.state;
        if state.status == GameStatus::Over {
            return Decision::Reply(Vec::new());
        }
        let mut next = state.clone();
        let mut outs = Vec::new();
        for side in Side::BOTH {
            let seat = &state.seats[side.index()];
            let on_dead_node = seat
                .node
                .as_ref()
                .is_some_and(|n| !alive.iter().any(|a| a.as_str() == &**n));
            if !on_dead_node || state.away_since[side.index()].is_some() {
                continue;
            }
            next.away_since[side.index()] = Some(now);
            let presence = self.presence(false);
            outs.push(self.out(state.seats[side.other().index()].inbox(), presence, None));
        }
        if outs.is_empty() {
            return Decision::Reply(outs);
        }
        self.commit(next, outs)
    }

    /// `client/OPPONENT_PRESENCE` about this game's player who left or came back.
    fn presence(&self, connected: bool) -> ServerMessage {
        ServerMessage::OpponentPresence {
            game: self.state.id.to_string(),
            connected,
            grace_ms: self.limits.grace_ms,
        }
    }

    /// A new state on the same board, then the replies.
    fn commit(&self, next: GameState, outs: Vec<Out>) -> Decision {
        Decision::Commit {
            next: Box::new((next, self.board.clone())),
            outs,
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
        let state = self.state;
        let mut outs = vec![self.out(
            &from.session,
            ServerMessage::ResumeGame(state.view(self.board, Some(side), now)),
            from.reference.clone(),
        )];
        if let Some(over) = state.game_over_message() {
            outs.push(self.out(&from.session, over, None));
            return Decision::Reply(outs);
        }
        let seat = &state.seats[side.index()];
        if state.away_since[side.index()].is_none() && seat.is_current(from) {
            return Decision::Reply(outs);
        }
        let mut next = state.clone();
        next.away_since[side.index()] = None;
        next.seats[side.index()].session = Some(from.session.clone());
        next.seats[side.index()].sits_at(from);
        // The opponent hears of a return only if they heard of the absence.
        if state.away_since[side.index()].is_some() {
            let presence = self.presence(true);
            outs.push(self.out(state.seats[side.other().index()].inbox(), presence, None));
        }
        self.commit(next, outs)
    }

    fn decide_leave(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = self.state;
        let seat = &state.seats[side.index()];
        if state.status == GameStatus::Over
            || !seat.is_bound_to(&from.session)
            || state.away_since[side.index()].is_some()
        {
            return Decision::Reply(Vec::new());
        }
        let mut next = state.clone();
        next.away_since[side.index()] = Some(now);
        let presence = self.presence(false);
        let outs = vec![self.out(state.seats[side.other().index()].inbox(), presence, None)];
        self.commit(next, outs)
    }

    fn decide_ready(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = self.state;
        match state.status {
            GameStatus::Over => return self.error(from, ErrorCode::GameOver, "the game is over"),
            GameStatus::Playing => {
                let update = ServerMessage::UpdateGame(state.update(self.board, now));
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
        // A tournament's game reaches the player's session once it says it is ready.
        if next.seats[side.index()].session.is_none() {
            next.seats[side.index()].session = Some(from.session.clone());
        }
        next.seats[side.index()].sits_at(from);
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
                ServerMessage::UpdateGame(next.update(self.board, now)),
                Some(from),
            );
        }
        self.commit(next, outs)
    }

    fn decide_move(&self, from: &Sender, side: Side, seq: u32, mv: Move, now: u64) -> Decision {
        let state = self.state;
        let parsed = self.board.parse_move(&mv);
        // A retry of a move this player already made: acknowledge it again, apply nothing.
        if let Some(done) = state.moves.get(seq as usize) {
            let mover = if seq.is_multiple_of(2) {
                Side::First
            } else {
                Side::Second
            };
            if parsed.as_ref() == Ok(&done.mv) && mover == side {
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
            let update = ServerMessage::UpdateGame(state.update(self.board, now));
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
        next.seats[side.index()].sits_at(from);
        let elapsed = next.elapsed(now);
        if next.clock.is_some() && elapsed >= next.remaining[side.index()] {
            let over = next.finish(self.flag_outcome(side), now);
            let outs = self.broadcast(&next, over, None);
            return self.commit(next, outs);
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
        // The move that ends the game is acknowledged with the game as it ends (`status`
        // `over`, no clock running), then `client/GAME_OVER` follows.
        let over = applied.outcome.map(|outcome| next.finish(outcome, now));
        let mut outs = Vec::new();
        // A player thought away (their node was taken for dead) who moves is back.
        if next.away_since[side.index()].is_some() && state.seats[side.index()].is_current(from) {
            next.away_since[side.index()] = None;
            let presence = self.presence(true);
            outs.push(self.out(state.seats[side.other().index()].inbox(), presence, None));
        }
        outs.extend(self.broadcast(
            &next,
            ServerMessage::UpdateGame(next.update(&board, now)),
            Some(from),
        ));
        if let Some(over) = over {
            outs.extend(self.broadcast(&next, over, None));
        }
        Decision::Commit {
            next: Box::new((next, board)),
            outs,
        }
    }

    /// The `client/UPDATE_GAME` that acknowledged move `seq`, rebuilt for a retry.
    fn replayed_update(&self, seq: u32) -> GameUpdate {
        let state = self.state;
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
        let state = self.state;
        let mut next = state.clone();
        match state.draw_offer {
            Some(offerer) if offerer == side.other() => {
                let over = next.finish(Outcome::draw(EndReason::DrawAgreed), now);
                let outs = self.broadcast(&next, over, Some(from));
                self.commit(next, outs)
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
                self.commit(next, outs)
            }
        }
    }

    fn decide_decline_draw(&self, from: &Sender, side: Side, now: u64) -> Decision {
        if let Some(refusal) = self.check_playing(from) {
            return refusal;
        }
        let state = self.state;
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
            ServerMessage::UpdateGame(next.update(self.board, now)),
            Some(from),
        );
        self.commit(next, outs)
    }

    fn decide_concede(&self, from: &Sender, side: Side, now: u64) -> Decision {
        let state = self.state;
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
        self.commit(next, outs)
    }

    /// Nobody readied in time. A tournament game is lost by the one player who was not ready
    /// (the game counts); any other game, or one where neither was ready, is aborted.
    fn not_ready_outcome(state: &GameState) -> Outcome {
        match (state.tournament.is_some(), state.ready) {
            (true, [true, false]) => Outcome::win(Side::First, EndReason::Abandoned),
            (true, [false, true]) => Outcome::win(Side::Second, EndReason::Abandoned),
            _ => Outcome {
                result: GameResult::Aborted,
                reason: EndReason::Abandoned,
            },
        }
    }

    /// Deadlines: ready timeout, flag fall, abandonment.
    fn decide_tick(&self, now: u64) -> Decision {
        let state = self.state;
        let limits = self.limits;
        let outcome = match state.status {
            GameStatus::Over => None,
            GameStatus::WaitingReady
                if now >= state.created_at.saturating_add(limits.ready_timeout_ms) =>
            {
                Some(Self::not_ready_outcome(state))
            }
            GameStatus::Playing
                if state.clock.is_some()
                    && state.elapsed(now) >= state.remaining[state.to_move().index()] =>
            {
                Some(self.flag_outcome(state.to_move()))
            }
            _ => None,
        };
        let abandoned = Side::BOTH.into_iter().find(|s| {
            state.away_since[s.index()].is_some_and(|t| now >= t.saturating_add(limits.grace_ms))
        });
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
        self.commit(next, outs)
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
