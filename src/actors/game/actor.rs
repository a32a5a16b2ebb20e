//! The game actor: one per live game, a thin shell around the pure decisions (`decide.rs`).
//! It commits each decision's new state by a fenced snapshot write before any reply is sent,
//! runs the game's one timer, appends what happened to the event log (`crate::events`), and
//! hands a finished game to it durably.
//!
//! Every command is decided synchronously against the current state; a decision that changes
//! state is committed with `ctx.wait`, so the next command waits for the write (a second move
//! can never overtake the first). Only then are replies sent.
//!
//! Clock rule: remaining times are stored with the instant the running clock started. When a
//! game is rebuilt on another node, the time since its last snapshot write is not charged to
//! the player to move: the clock restarts from the moment of rebuild.

use std::time::{Duration, Instant};

use actix::prelude::*;
use client_protocol::*;

use super::crowd::Crowd;
use super::decide::{self, Decision, Limits, Out};
use super::state::{GameState, Inbox};
use crate::actors::{ActorEnv, Tenure, VirtualActor};
use crate::cluster::{Lease, LeaseLost, Passivate, SaveError};
use crate::domain::now_ms;
use crate::events::{EventLog, GameEvent};
use crate::games::Board;
use crate::messages::{
    Address, Envelope, FeedEvent, GameAction, GameCommand, Refusal, Sender, UserEvent,
};
use crate::notify::{data, Draft};
use crate::rooms::{LiveWrite, Room};
use crate::store::FinishedGame;
use crate::telemetry::names;

/// The revision of a game's snapshot as the queue creates it, before any owner wrote it.
pub const CREATED_REV: u64 = 1;
/// A finished game whose result is recorded stays active this long for late messages (a
/// retried move, a watcher's request), then stops: a burst of short games leaves no actors.
const LINGER: Duration = Duration::from_secs(2);
/// Snapshot lifetime of a live game (refreshed by every write) and of a finished one.
pub const LIVE_TTL: Duration = Duration::from_secs(24 * 3600);
const OVER_TTL: Duration = Duration::from_secs(3600);
/// Snapshot lifetime of a finished game once its result is recorded: what late messages
/// may still find, no longer (the record is in the store).
const RECORDED_TTL: Duration = Duration::from_secs(30);
/// A game in play refreshes its live-index entry after a move at most this often (its `seq`
/// there is at most this old), and at least every `LIVE_KEEPALIVE` without moves.
const LIVE_REFRESH: Duration = Duration::from_secs(2);
const LIVE_KEEPALIVE: Duration = Duration::from_secs(30);

/// A timer fired: check flags, grace periods and the ready deadline.
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

pub struct GameActor {
    ctx: ActorEnv,
    tenure: Tenure,
    state: GameState,
    board: Board,
    timer: Option<SpawnHandle>,
    /// When the move being committed arrived, for the move-latency histogram.
    move_started: Option<Instant>,
    /// Its watchers, as the nodes count them (not in the snapshot: nodes report again).
    crowd: Crowd,
    crowd_timer: Option<SpawnHandle>,
    /// When the live index last heard of this game.
    live_written: Option<Instant>,
    /// Counted in `rookery_games_live` (hosted here and not over).
    in_play: bool,
}

impl VirtualActor for GameActor {
    type Command = GameCommand;
    type Snapshot = GameState;

    /// Rebuilds a game from its snapshot under a freshly taken lease.
    fn rebuild(
        ctx: ActorEnv,
        address: &Address,
        lease: Lease,
        snapshot: Option<GameState>,
    ) -> Result<Self, Refusal> {
        let mut state = snapshot.ok_or(Refusal::NotFound)?;
        let moves: Vec<Move> = state.moves.iter().map(|m| m.mv.clone()).collect();
        let board = Board::replay(state.kind, &moves).map_err(|e| {
            tracing::error!(%address, error = %e, "game snapshot does not replay");
            Refusal::NotFound
        })?;
        let now = now_ms();
        // Written by an owner before (the queue's creation write is rev 1): that owner
        // stopped, and this is a rebuild.
        state.rebuilt |= state.rev > CREATED_REV;
        if let Some(start) = state.turn_started_at {
            // Not charged: the time since the last write, while possibly nobody owned the game.
            state.turn_started_at = Some(start.saturating_add(now.saturating_sub(state.saved_at)));
        }
        let crowd = Crowd::new(ctx.config.crowd_tick_ms);
        Ok(GameActor {
            ctx,
            tenure: Tenure::new(address.clone(), lease),
            state,
            board,
            timer: None,
            move_started: None,
            crowd,
            crowd_timer: None,
            live_written: None,
            in_play: false,
        })
    }
}

impl GameActor {
    fn limits(&self) -> Limits {
        Limits {
            ready_timeout_ms: self.ctx.config.ready_timeout_ms,
            grace_ms: self.ctx.config.grace_ms,
        }
    }

    fn send(&self, outs: Vec<Out>) {
        for out in outs {
            let envelope = match out.to {
                Inbox::Session(session) => Envelope::push(&session, out.frame),
                Inbox::User(user) => Envelope::user(
                    &user,
                    UserEvent::Push {
                        frame: Box::new(out.frame),
                    },
                ),
            };
            self.ctx.router.send(envelope);
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
        let services = self.ctx.services.clone();
        let lease = self.tenure.lease.clone();
        let data = serde_json::to_vec(&next).expect("game state serialises");
        let ttl = match &next.finish {
            Some(finish) if finish.recorded => RECORDED_TTL,
            _ if next.status == GameStatus::Over => OVER_TTL,
            _ => LIVE_TTL,
        };
        let key = GameState::snapshot_key(&next.id);
        let finished = (next.status == GameStatus::Over && self.state.status != GameStatus::Over)
            .then(|| next.record(&board))
            .flatten();
        let write = async move {
            services
                .snapshots
                .save(&key, data, lease.fence, next.rev, Some(ttl))
                .await?;
            Ok::<_, SaveError>(next)
        };
        ctx.wait(write.into_actor(self).map(move |result, act, ctx| match result {
            Ok(next) => {
                act.publish(act.state.events_to(&next));
                let was = act.state.status;
                let moved = next.moves.len() > act.state.moves.len();
                act.state = next;
                if let (true, Some(started)) = (moved, act.move_started.take()) {
                    metrics::counter!(names::MOVES, "kind" => act.state.kind.as_str()).increment(1);
                    metrics::histogram!(names::MOVE_SECONDS).record(started.elapsed().as_secs_f64());
                }
                act.board = board;
                act.count_in_play();
                act.index(was);
                match finished {
                    // The end is told once it is recorded: nobody hears a result that a node
                    // dying now could lose (the retried move reaches the rebuilt game).
                    Some(finished) => act.game_finished(finished, outs, ctx),
                    None => {
                        act.show_watchers(&outs);
                        act.send(outs);
                    }
                }
                act.schedule(ctx);
            }
            Err(e) => {
                tracing::warn!(game = %act.state.id, error = %e, "game snapshot write refused");
                if let Some(from) = requester {
                    let refusal = ServerMessage::error(ErrorCode::Unavailable, "the game could not be saved, retry");
                    let frame = ServerFrame { reference: from.reference, message: refusal };
                    act.send(vec![Out { to: Inbox::Session(from.session), frame }]);
                }
                if matches!(e, SaveError::Fenced { .. } | SaveError::Stale { .. }) {
                    act.tenure.retire(&act.ctx, ctx); // another node owns this game now
                }
            }
        }));
    }

    /// The frames watchers see (updates, draw offers, the end), once each and without the
    /// mover's `ref`, to the game's watchers group: one bus message per node that has watchers.
    fn show_watchers(&mut self, outs: &[Out]) {
        if !self.crowd.watched(now_ms()) {
            return;
        }
        let mut sent: Vec<&ServerMessage> = Vec::new();
        for out in outs {
            let message = &out.frame.message;
            let shown = matches!(
                message,
                ServerMessage::UpdateGame(_)
                    | ServerMessage::OfferDraw { .. }
                    | ServerMessage::GameOver { .. }
            );
            if shown && !sent.contains(&message) {
                sent.push(message);
            }
        }
        let group = Address::game_watchers(&self.state.id);
        for message in sent {
            let frame = ServerFrame {
                reference: None,
                message: message.clone(),
            };
            self.ctx.router.send(Envelope {
                to: group.clone(),
                body: FeedEvent::new(frame).into(),
            });
        }
    }

    /// Keeps `rookery_games_live` to the games in play here: counted while not over.
    fn count_in_play(&mut self) {
        let in_play = self.state.status != GameStatus::Over;
        if in_play != self.in_play {
            let gauge = metrics::gauge!(names::GAMES_LIVE);
            if in_play {
                gauge.increment(1.0)
            } else {
                gauge.decrement(1.0)
            }
            self.in_play = in_play;
        }
    }

    /// Keeps the live index current: added when play starts, refreshed after moves (at most
    /// every `LIVE_REFRESH`) and when the crowd changes, removed at the end.
    fn index(&mut self, was: GameStatus) {
        let writer = &self.ctx.services.rooms.live_writer;
        match self.state.status {
            GameStatus::Over if was != GameStatus::Over => {
                writer.write(LiveWrite::Remove(self.state.id.to_string()));
            }
            GameStatus::Playing
                if was != GameStatus::Playing
                    || self
                        .live_written
                        .is_none_or(|at| at.elapsed() >= LIVE_REFRESH) =>
            {
                self.refresh_index();
            }
            _ => {}
        }
    }

    fn refresh_index(&mut self) {
        if self.state.status != GameStatus::Playing {
            return;
        }
        let view = self.state.view(&self.board, None, now_ms());
        let entry = client_protocol::http::LiveGame {
            game: view.game,
            kind: view.kind,
            players: view.players,
            seq: view.seq,
            started_at: self.state.started_at.unwrap_or(self.state.created_at),
            watchers: self.crowd.last_told(),
            rated: view.rated,
            tournament: view.tournament,
        };
        self.ctx
            .services
            .rooms
            .live_writer
            .write(LiveWrite::Upsert(Box::new(entry)));
        self.live_written = Some(Instant::now());
    }

    /// A node's count of its watchers: tell the players and watchers when the total changed,
    /// at most once a second.
    fn crowd_reported(&mut self, node: String, watchers: u32, ctx: &mut Context<Self>) {
        self.crowd.report(node, watchers, now_ms());
        self.schedule_crowd(ctx);
    }

    fn schedule_crowd(&mut self, ctx: &mut Context<Self>) {
        if self.crowd_timer.is_some() {
            return;
        }
        let now = now_ms();
        if let Some(at) = self.crowd.due(now) {
            let delay = Duration::from_millis(at.saturating_sub(now));
            self.crowd_timer = Some(ctx.run_later(delay, |act, ctx| {
                act.crowd_timer = None;
                act.tell_crowd();
                act.schedule_crowd(ctx);
            }));
        }
    }

    fn crowd_frame(&self, watchers: u32) -> ServerFrame {
        ServerFrame {
            reference: None,
            message: ServerMessage::Crowd {
                game: self.state.id.to_string(),
                watchers,
            },
        }
    }

    fn tell_crowd(&mut self) {
        let now = now_ms();
        let watchers = self.crowd.total(now);
        if watchers == self.crowd.last_told() {
            return;
        }
        self.crowd.told(watchers, now);
        let frame = self.crowd_frame(watchers);
        let outs = self
            .state
            .seats
            .iter()
            .map(|seat| Out {
                to: seat.inbox(),
                frame: frame.clone(),
            })
            .collect();
        self.send(outs);
        self.ctx.router.send(Envelope {
            to: Address::game_watchers(&self.state.id),
            body: FeedEvent::new(frame).into(),
        });
        self.refresh_index();
    }

    /// Appends what a committed step made true to the event log, off the actor (a listener
    /// that must not miss a game relies on `game_over`, which carries the whole game and goes
    /// through the durable path below).
    fn publish(&self, events: Vec<GameEvent>) {
        if events.is_empty() {
            return;
        }
        let log = self.ctx.services.events.clone();
        tokio::spawn(async move {
            for event in events {
                append(&*log, &event, 3).await;
            }
        });
    }

    /// Hands a finished game to the event log (retrying until it takes it), then sends `held`
    /// (the frames that tell of the end), tells the players who were away how it ended, and
    /// marks it recorded. A node dying before the mark makes the next one do it again: every
    /// listener and the notices are idempotent by game id.
    fn game_finished(&mut self, finished: FinishedGame, held: Vec<Out>, ctx: &mut Context<Self>) {
        let record = &finished.record;
        metrics::counter!(names::GAMES_FINISHED, "kind" => record.kind.as_str(), "reason" => record.reason.as_str())
            .increment(1);
        tracing::info!(game = %record.game, result = ?record.result, reason = ?record.reason, "game over");
        let notices = away_notices(&self.state, record);
        let (away, move_ms) = (
            self.state.away_since.map(|a| a.is_some()),
            self.state.move_ms(),
        );
        let (rebuilt, tournament) = (self.state.rebuilt, self.state.tournament.clone());
        let router = self.ctx.router.clone();
        let services = self.ctx.services.clone();
        let room = Room::Game(self.state.id.clone());
        let append = async move {
            let started = Instant::now();
            let mut finished = finished;
            // What the players said is kept with the game (their room closes with it).
            match services.rooms.chat.history(&room).await {
                Ok(chat) => finished.record.chat = chat,
                Err(e) => tracing::warn!(%room, error = %e, "game chat not kept with the game"),
            }
            let over = GameEvent::GameOver {
                finished,
                away,
                move_ms,
                rebuilt,
                tournament,
            };
            append(&*services.events, &over, u32::MAX).await;
            metrics::histogram!(names::PERSIST_SECONDS).record(started.elapsed().as_secs_f64());
            services
        };
        ctx.spawn(append.into_actor(self).map(move |services, act, ctx| {
            act.show_watchers(&held);
            act.send(held);
            tokio::spawn(async move {
                for (user, draft) in notices {
                    services.notifier.tell(&router, &user, draft).await;
                }
            });
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
        let limits = self.limits();
        let delay = match self
            .state
            .next_deadline(limits.ready_timeout_ms, limits.grace_ms)
        {
            Some(at) => Duration::from_millis(at.saturating_sub(now_ms()) + 1),
            // Only once the result is recorded: stopping earlier would drop its append.
            None if self.state.finish.as_ref().is_some_and(|f| f.recorded) => {
                self.timer =
                    Some(ctx.run_later(LINGER, |act, ctx| act.tenure.retire(&act.ctx, ctx)));
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

/// Appends one event, trying up to `tries` times with a growing pause.
async fn append(log: &dyn EventLog, event: &GameEvent, tries: u32) {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=tries {
        match log.append(event).await {
            Ok(_) => {
                metrics::counter!(names::EVENTS_APPENDED, "type" => event.name()).increment(1);
                return;
            }
            Err(e) if attempt < tries => {
                tracing::warn!(game = event.game(), event = event.name(), error = %e, "event append failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::warn!(game = event.game(), event = event.name(), error = %e, "event not appended");
            }
        }
    }
}

/// A `game_finished` notice for each player whose socket was away when the game ended.
fn away_notices(
    state: &GameState,
    record: &client_protocol::http::GameRecord,
) -> Vec<(crate::domain::UserId, Draft)> {
    [Side::First, Side::Second]
        .into_iter()
        .filter(|side| state.away_since[side.index()].is_some())
        .map(|side| {
            let seat = &state.seats[side.index()];
            let opponent = &state.seats[side.other().index()].name;
            let (outcome, word) = match record.result {
                GameResult::Draw => ("it was drawn", "draw"),
                GameResult::Aborted => ("it was aborted", "aborted"),
                result if result == GameResult::win_for(side) => ("you won", "won"),
                _ => ("you lost", "lost"),
            };
            let text = format!(
                "Your {} game against {opponent} ended while you were away: {outcome} ({}).",
                record.kind.as_str(),
                record.reason.as_str().replace('_', " ")
            );
            let about = data([("game", record.game.clone()), ("result", word.to_owned())]);
            let draft = Draft::new(NotificationKind::GameFinished, text, about).once(format!(
                "game-{}-{}",
                record.game,
                side.index()
            ));
            (seat.user_id.clone(), draft)
        })
        .collect()
}

impl Actor for GameActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.count_in_play();
        self.ctx.keep_lease(ctx, self.tenure.lease.clone());
        // Watchers may be waiting on a game rebuilt here: its nodes report within a tick.
        if self.state.rebuilt {
            self.crowd.expect(now_ms());
        }
        self.refresh_index();
        ctx.run_interval(LIVE_KEEPALIVE, |act, _| act.refresh_index());
        if let Some(finish) = &self.state.finish {
            if !finish.recorded {
                if let Some(record) = self.state.record(&self.board) {
                    self.game_finished(record, Vec::new(), ctx);
                }
            }
        }
        self.schedule(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if std::mem::take(&mut self.in_play) {
            metrics::gauge!(names::GAMES_LIVE).decrement(1.0);
        }
        self.tenure.stopped(&self.ctx);
    }
}

impl Handler<GameCommand> for GameActor {
    type Result = ();

    fn handle(&mut self, command: GameCommand, ctx: &mut Self::Context) {
        let Some(command) = self.tenure.admit(&self.ctx, command) else {
            return; // sent on to the game's next owner
        };
        let _span = tracing::info_span!("game", game = %self.state.id).entered();
        match &command.action {
            GameAction::Crowd { node, watchers } => {
                return self.crowd_reported(node.clone(), *watchers, ctx);
            }
            GameAction::Watch => self.crowd.expect(now_ms()),
            _ => {}
        }
        // A new watcher hears the crowd it joins, after its view.
        let crowd_for = match (&command.action, &command.from) {
            (GameAction::Watch, Some(from)) => Some(from.session.clone()),
            _ => None,
        };
        let started = Instant::now();
        let is_move = matches!(command.action, GameAction::Move { .. });
        let requester = command.from.clone();
        let decision = decide::decide(&self.state, &self.board, command, now_ms(), &self.limits());
        // Recorded when the commit succeeds (the move is acknowledged only then).
        self.move_started =
            (is_move && matches!(decision, Decision::Commit { .. })).then_some(started);
        self.run(decision, requester, ctx);
        if let (Some(session), watchers @ 1..) = (crowd_for, self.crowd.last_told()) {
            let frame = self.crowd_frame(watchers);
            self.send(vec![Out {
                to: Inbox::Session(session),
                frame,
            }]);
        }
    }
}

impl Handler<Tick> for GameActor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        if self.tenure.is_retired() {
            return; // the next owner keeps the game's time
        }
        let decision = decide::tick(&self.state, &self.board, now_ms(), &self.limits());
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
        self.tenure.retire(&self.ctx, ctx);
    }
}

impl Handler<Passivate> for GameActor {
    type Result = ();

    fn handle(&mut self, _: Passivate, ctx: &mut Self::Context) {
        self.tenure.retire(&self.ctx, ctx); // the next message activates it elsewhere
    }
}
