//! The tournament actor: one per tournament, a cluster-wide singleton by lease like games and
//! queues. It decides each command against its state (`state.rs`), creates the games a
//! pairing makes (their first snapshots) and writes its own snapshot (fenced) and the store's
//! copy (lists, history) before anyone hears of them, so a failover repeats no pairing and
//! loses no game; then it tells players and watchers, at most 2 updates a second.
//!
//! Writes are group commits: while one is on the wire, the commands that arrive are decided
//! (in place: a big tournament is never copied per command) and their answers wait; the next
//! write covers them all. A round's results arriving together cost a few writes, not one
//! each. A write that fails retires the actor: its next activation starts from what is
//! written, so nothing undecided is ever told.

use std::time::{Duration, Instant};

use actix::prelude::*;
use client_protocol::*;

use super::record;
use super::state::{Effects, TournamentState};
use crate::actors::game::{self, GameState};
use crate::actors::{ActorEnv, Tenure, VirtualActor};
use crate::cluster::{Lease, LeaseLost, Passivate, SaveError};
use crate::domain::now_ms;
use crate::messages::{
    Address, Caller, Envelope, FeedEvent, GameAction, GameCommand, Refusal, ReplyEvent,
    TournamentAction, TournamentCommand, UserEvent,
};
use crate::notify::{data, Draft};

/// At most this many `client/TOURNAMENT_UPDATE`s per second per tournament.
const UPDATES_PER_SECOND: u32 = 2;
/// Standings rows and pairings a pushed update carries (the best rows, the first boards;
/// `GET /api/tournaments/{id}` has all).
const PUSHED_ROWS: usize = 100;
/// How long an ended tournament's snapshot is kept (its record stays in the store).
const OVER_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long an ended tournament's actor stays before it passivates.
const OVER_LINGER: Duration = Duration::from_secs(30);

/// Time to look at the clock (start, pairing, the end).
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

/// Send the pending `client/TOURNAMENT_UPDATE`.
#[derive(Message)]
#[rtype(result = "()")]
struct Broadcast;

pub struct TournamentActor {
    ctx: ActorEnv,
    tenure: Tenure,
    /// The newest decided state.
    state: TournamentState,
    /// `state` changed since the last write began.
    dirty: bool,
    /// The effects of decisions not yet written (their answers wait for the write).
    queued: Vec<Effects>,
    /// A write is on the wire.
    writing: bool,
    last_broadcast: Option<Instant>,
    broadcast_pending: bool,
    /// The store's copy is older than the snapshot (its write failed, or it was not due):
    /// written again later.
    record_stale: bool,
    /// What the store's copy last showed of registrations and progress, and when it was
    /// written: between registration or status changes, results reach it at most once per
    /// [`RECORD_EVERY`] (the live view is the pushed update).
    record_mark: Option<(RecordKey, Instant)>,
}

/// What makes the store's copy due at once when it changes.
type RecordKey = (TournamentStatus, u32, usize, usize);

/// How often results alone refresh the store's copy.
const RECORD_EVERY: Duration = Duration::from_millis(500);

fn record_key(state: &TournamentState) -> RecordKey {
    let withdrawn = state.players.iter().filter(|p| p.withdrawn).count();
    (state.status, state.round, state.players.len(), withdrawn)
}

impl VirtualActor for TournamentActor {
    type Command = TournamentCommand;
    type Snapshot = TournamentState;

    /// A tournament exists once its creation wrote its first snapshot.
    fn rebuild(
        ctx: ActorEnv,
        address: &Address,
        lease: Lease,
        snapshot: Option<TournamentState>,
    ) -> Result<Self, Refusal> {
        let state = snapshot.ok_or(Refusal::NotFound)?;
        Ok(TournamentActor {
            ctx,
            tenure: Tenure::new(address.clone(), lease),
            state,
            dirty: false,
            queued: Vec::new(),
            writing: false,
            last_broadcast: None,
            broadcast_pending: false,
            record_stale: true,
            record_mark: None,
        })
    }
}

impl TournamentActor {
    /// Decides against the newest decided state; the answer goes out once that is written.
    fn run(&mut self, from: Caller, action: TournamentAction, ctx: &mut Context<Self>) {
        let effects = self.state.apply(&from, action, now_ms());
        self.dirty |= effects.changed;
        let idle = !self.writing && self.queued.is_empty();
        if idle && !self.dirty && !self.record_stale {
            return self.tell(effects); // nothing to write: answer at once
        }
        self.queued.push(effects);
        if !self.writing {
            self.flush(ctx);
        }
    }

    /// Writes what was decided since the last write: the games its pairings create, the
    /// snapshot (fenced) and the store's copy; then tells what each decision said.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let batch = std::mem::take(&mut self.queued);
        let changed = std::mem::take(&mut self.dirty);
        if !changed && !self.record_stale {
            for effects in batch {
                self.tell(effects);
            }
            return;
        }
        if changed {
            self.state.rev += 1;
        }
        self.writing = true;
        let state = &self.state;
        let services = self.ctx.services.clone();
        let lease = self.tenure.lease.clone();
        let key = TournamentState::snapshot_key(&state.id);
        let rev = state.rev;
        let data = serde_json::to_vec(state).expect("tournament state serialises");
        let ttl = state.is_over().then_some(OVER_TTL);
        let games: Vec<GameState> = batch
            .iter()
            .flat_map(|effects| effects.new_games.iter())
            .map(|i| new_game(state, *i))
            .collect();
        let mark = record_key(state);
        let due = match &self.record_mark {
            Some((key, at)) => *key != mark || at.elapsed() >= RECORD_EVERY,
            None => true,
        };
        let record = (due || state.is_over()).then(|| record(state));
        let write = async move {
            for state in &games {
                let mut state = state.clone();
                for seat in state.seats.iter_mut() {
                    let player = game::Player {
                        user_id: &seat.user_id,
                        name: &seat.name,
                        rating: seat.glicko.display(),
                        guest: seat.guest,
                        session: None,
                        glicko: None,
                    };
                    *seat = game::seat(&services, player).await;
                }
                game::create(&services, state).await?;
            }
            if changed {
                services
                    .snapshots
                    .save(&key, data, lease.fence, rev, ttl)
                    .await?;
            }
            let stored = match &record {
                Some(record) => save_record(&*services.store, record).await,
                None => false, // not due: a tick writes it
            };
            Ok::<_, SaveError>((games, stored))
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
            act.writing = false;
            match result {
                Ok((games, stored)) => {
                    act.record_stale = !stored;
                    if stored {
                        act.record_mark = Some((mark, Instant::now()));
                    }
                    for effects in batch {
                        act.tell(effects);
                    }
                    for game in games {
                        let start = GameCommand { from: None, action: GameAction::Start };
                        act.ctx.router.send(Envelope::game(&game.id, start));
                    }
                    if changed {
                        act.schedule_broadcast(ctx);
                        if act.state.is_over() {
                            ctx.run_later(OVER_LINGER, |act, ctx| act.tenure.retire(&act.ctx, ctx));
                        }
                    }
                    if !act.queued.is_empty() || act.dirty {
                        act.flush(ctx);
                    }
                }
                Err(e) => {
                    // Nothing of this batch, nor of what was decided on top of it, happened:
                    // the next activation starts from what is written.
                    tracing::warn!(tournament = %act.state.id, error = %e, "tournament write refused: retiring");
                    let queued = std::mem::take(&mut act.queued);
                    for effects in batch.iter().chain(&queued) {
                        act.refuse(effects);
                    }
                    act.tenure.retire(&act.ctx, ctx);
                }
            }
        }));
    }

    /// Answers `unavailable` to every caller of a decision that was not written.
    fn refuse(&self, effects: &Effects) {
        let message = "the tournament could not be saved, retry";
        for (caller, _) in &effects.replies {
            let answer = crate::messages::Answer::refused(ErrorCode::Unavailable, message);
            let frame = ServerMessage::error(ErrorCode::Unavailable, message);
            self.answer(caller, answer, Some(frame));
        }
    }

    /// Sends the replies, pushes and notifications of a decision already written.
    fn tell(&self, effects: Effects) {
        for (caller, reply) in &effects.replies {
            let answer = reply.answer(&self.state);
            self.answer(caller, answer, reply.frame(&self.state));
        }
        for (user, message) in effects.pushes {
            let frame = Box::new(ServerFrame {
                reference: None,
                message,
            });
            self.ctx
                .router
                .send(Envelope::user(&user, UserEvent::Push { frame }));
        }
        // Told once, after the write (a failover before this loses them; none is repeated).
        let id = self.state.id.to_string();
        for (user, kind, text) in effects.notices {
            let draft = Draft::new(kind, text, data([("tournament", id.clone())]));
            let (notifier, router) = (self.ctx.notifier.clone(), self.ctx.router.clone());
            actix::spawn(async move { notifier.tell(&router, &user, draft).await });
        }
    }

    fn answer(
        &self,
        caller: &Caller,
        answer: crate::messages::Answer,
        frame: Option<ServerMessage>,
    ) {
        match caller {
            Caller::Request(to) => self.ctx.router.send(Envelope {
                to: to.clone(),
                body: ReplyEvent(answer).into(),
            }),
            Caller::Socket(from) => {
                if let Some(message) = frame {
                    let frame = ServerFrame {
                        reference: from.reference.clone(),
                        message,
                    };
                    self.ctx.router.send(Envelope::push(&from.session, frame));
                }
            }
            Caller::Server => {}
        }
    }

    /// A `client/TOURNAMENT_UPDATE` now, or when the rate allows.
    fn schedule_broadcast(&mut self, ctx: &mut Context<Self>) {
        if self.broadcast_pending {
            return;
        }
        let gap = Duration::from_secs(1) / UPDATES_PER_SECOND;
        let wait = self
            .last_broadcast
            .map_or(Duration::ZERO, |last| gap.saturating_sub(last.elapsed()));
        self.broadcast_pending = true;
        if wait.is_zero() {
            ctx.notify(Broadcast);
        } else {
            ctx.notify_later(Broadcast, wait);
        }
    }

    /// One update to the tournament's group: its watchers and its players' sockets (each
    /// session follows the tournaments it is in), one bus message whatever their number.
    fn broadcast(&mut self) {
        self.broadcast_pending = false;
        self.last_broadcast = Some(Instant::now());
        let mut view = self.state.view();
        view.standings.truncate(PUSHED_ROWS);
        view.pairings.truncate(PUSHED_ROWS);
        let frame = ServerFrame {
            reference: None,
            message: ServerMessage::TournamentUpdate {
                tournament: Box::new(view),
            },
        };
        self.ctx.router.send(Envelope {
            to: Address::tournament_watchers(&self.state.id),
            body: FeedEvent::new(frame).into(),
        });
    }
}

/// The first state of game `index` of the tournament (seats rated from the store when written).
fn new_game(state: &TournamentState, index: usize) -> GameState {
    let pairing = &state.games[index];
    let seats = pairing.players.map(|p| {
        let player = &state.players[p];
        game::Seat {
            user_id: player.user_id.clone(),
            name: player.name.clone(),
            guest: player.guest,
            glicko: crate::store::Glicko {
                rating: player.rating as f64,
                ..crate::store::Glicko::default()
            },
            session: None,
            node: None,
        }
    });
    let spec = &state.spec;
    let mut game = GameState::new(
        pairing.game.clone(),
        spec.game,
        spec.clock,
        spec.rated,
        seats,
        now_ms(),
    );
    game.tournament = Some(state.id.to_string());
    game
}

/// Writes the store's copy; false (logged) when the store is down: the actor tries again.
async fn save_record(
    store: &dyn crate::store::Store,
    record: &crate::store::TournamentRecord,
) -> bool {
    match store.save_tournament(record).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(tournament = %record.id, error = %e, "tournament record not stored, retrying later");
            false
        }
    }
}

impl Actor for TournamentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.ctx.keep_lease(ctx, self.tenure.lease.clone());
        let every = Duration::from_millis(self.ctx.config.tournament_tick_ms.max(10));
        ctx.run_interval(every, |_, ctx| ctx.notify(Tick));
        ctx.notify(Tick);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.tenure.stopped(&self.ctx);
    }
}

impl Handler<TournamentCommand> for TournamentActor {
    type Result = ();

    fn handle(&mut self, command: TournamentCommand, ctx: &mut Self::Context) {
        let Some(command) = self.tenure.admit(&self.ctx, command) else {
            return; // sent on to the tournament's next owner
        };
        let _span = tracing::info_span!("tournament", tournament = %self.state.id).entered();
        self.run(command.from, *command.action, ctx);
    }
}

impl Handler<Tick> for TournamentActor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        if self.tenure.is_retired() || (self.state.is_over() && !self.record_stale) {
            return;
        }
        // A tick writes a store copy that is behind (not due at the last write, or refused).
        if self.record_stale {
            self.record_mark = None;
        }
        self.run(Caller::Server, TournamentAction::Wake, ctx);
    }
}

impl Handler<Broadcast> for TournamentActor {
    type Result = ();

    fn handle(&mut self, _: Broadcast, _: &mut Self::Context) {
        self.broadcast();
    }
}

impl Handler<LeaseLost> for TournamentActor {
    type Result = ();

    fn handle(&mut self, _: LeaseLost, ctx: &mut Self::Context) {
        tracing::warn!(tournament = %self.state.id, "lease lost, stopping");
        self.tenure.retire(&self.ctx, ctx);
    }
}

impl Handler<Passivate> for TournamentActor {
    type Result = ();

    fn handle(&mut self, _: Passivate, ctx: &mut Self::Context) {
        self.tenure.retire(&self.ctx, ctx); // the next message activates it elsewhere
    }
}
