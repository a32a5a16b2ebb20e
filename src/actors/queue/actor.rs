//! The matchmaking-queue actor: one per (game, clock, rated) queue, a cluster-wide singleton by
//! lease. It decides each command against its state (`state.rs` pairs the tickets), proposes
//! each pair a matchup, and turns a matchup both accepted into a new game.
//!
//! Tickets and matchups live in the queue's snapshot, written (fenced) before any player is
//! told anything, so a failover loses no ticket.

use std::time::Duration;

use actix::prelude::*;
use client_protocol::*;

use super::state::{Matchup, QueueState, Window};
use crate::actors::game::{self, GameState, Seat};
use crate::actors::{ActorEnv, Services, Tenure, VirtualActor};
use crate::cluster::{Lease, LeaseLost, Passivate, SaveError};
use crate::domain::{now_ms, GameId, MatchupId, QueueKey, SessionId};
use crate::messages::{
    Address, Envelope, GameAction, GameCommand, QueueAction, QueueCommand, Refusal, Sender, Ticket,
};
use crate::telemetry::names;

/// Time to pair players and expire matchups.
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

struct Out {
    to: SessionId,
    frame: ServerFrame,
}

/// A matchup both players accepted, to become a game once the queue's state is written.
struct NewGame {
    id: GameId,
    tickets: [Ticket; 2],
}

pub struct QueueActor {
    ctx: ActorEnv,
    tenure: Tenure,
    state: QueueState,
}

impl VirtualActor for QueueActor {
    type Command = QueueCommand;
    type Snapshot = QueueState;

    /// A queue with no snapshot yet starts empty: any valid queue key names a queue.
    fn rebuild(
        ctx: ActorEnv,
        address: &Address,
        lease: Lease,
        snapshot: Option<QueueState>,
    ) -> Result<Self, Refusal> {
        let state = match snapshot {
            Some(state) => state,
            None => {
                let key = QueueKey::parse(address.key()).ok_or(Refusal::NotFound)?;
                let spec = key.spec().ok_or(Refusal::NotFound)?;
                QueueState::new(key, spec)
            }
        };
        Ok(QueueActor {
            ctx,
            tenure: Tenure::new(address.clone(), lease),
            state,
        })
    }
}

impl QueueActor {
    fn window(&self) -> Window {
        Window {
            base: self.ctx.config.match_window,
            growth_per_sec: self.ctx.config.match_window_growth_per_sec,
        }
    }

    fn out(to: &SessionId, message: ServerMessage, reference: Option<String>) -> Out {
        Out {
            to: to.clone(),
            frame: ServerFrame { reference, message },
        }
    }

    fn left(&self, ticket: &Ticket, reason: QueueLeftReason, reference: Option<String>) -> Out {
        let msg = ServerMessage::QueueLeft {
            queue: self.state.spec.clone(),
            reason,
        };
        Self::out(&ticket.session, msg, reference)
    }

    fn proposals(&self, matchup: &Matchup) -> Vec<Out> {
        (0..2)
            .map(|i| {
                let (me, them) = (&matchup.tickets[i], &matchup.tickets[1 - i]);
                let msg = ServerMessage::ProposeMatchup {
                    matchup: matchup.id.to_string(),
                    queue: self.state.spec.clone(),
                    opponent: Opponent {
                        name: them.name.clone(),
                        rating: them.rating,
                    },
                    expires_at: matchup.expires_at,
                };
                Self::out(&me.session, msg, None)
            })
            .collect()
    }

    /// Removes a matchup: players in `requeue` go back to the front of the queue, the others
    /// leave it with `reason`. Both are told the matchup is off.
    fn dissolve(
        &self,
        next: &mut QueueState,
        index: usize,
        cancel: MatchupCancelReason,
        requeue: [bool; 2],
        leave_reason: QueueLeftReason,
        from: Option<&Sender>,
    ) -> Vec<Out> {
        let matchup = next.matchups.remove(index);
        let mut outs = Vec::new();
        for (i, ticket) in matchup.tickets.iter().enumerate().rev() {
            let reference = from
                .filter(|f| f.session == ticket.session)
                .and_then(|f| f.reference.clone());
            let cancelled = ServerMessage::MatchupCancelled {
                matchup: matchup.id.to_string(),
                reason: cancel,
            };
            outs.push(Self::out(&ticket.session, cancelled, reference.clone()));
            if requeue[i] {
                next.waiting.insert(0, ticket.clone());
            } else {
                outs.push(self.left(ticket, leave_reason, reference));
            }
        }
        outs
    }

    fn decide(&self, command: QueueCommand, now: u64) -> (QueueState, Vec<Out>) {
        let mut next = self.state.clone();
        let from = command.from;
        let mut outs = Vec::new();
        match command.action {
            QueueAction::Enqueue { mut ticket } => {
                if next.holds_session(&from.session) || next.holds_user(&from.user) {
                    let msg = ServerMessage::AlreadyInQueue {
                        queue: next.spec.clone(),
                    };
                    outs.push(Self::out(&from.session, msg, from.reference));
                } else {
                    ticket.queued_at = now;
                    let msg = ServerMessage::Queued {
                        queue: next.spec.clone(),
                        queued_at: now,
                    };
                    outs.push(Self::out(&ticket.session, msg, from.reference.clone()));
                    next.waiting.push(*ticket);
                }
            }
            QueueAction::Leave => {
                if let Some(i) = next.waiting.iter().position(|t| t.session == from.session) {
                    let ticket = next.waiting.remove(i);
                    outs.push(self.left(&ticket, QueueLeftReason::Cancelled, from.reference));
                } else if let Some(m) = next
                    .matchups
                    .iter()
                    .position(|m| m.tickets.iter().any(|t| t.session == from.session))
                {
                    let requeue = next.matchups[m]
                        .tickets
                        .clone()
                        .map(|t| t.session != from.session);
                    outs = self.dissolve(
                        &mut next,
                        m,
                        MatchupCancelReason::Declined,
                        requeue,
                        QueueLeftReason::Cancelled,
                        Some(&from),
                    );
                } else {
                    // Not here (already matched or never queued): confirm, so the client agrees.
                    let msg = ServerMessage::QueueLeft {
                        queue: next.spec.clone(),
                        reason: QueueLeftReason::Cancelled,
                    };
                    outs.push(Self::out(&from.session, msg, from.reference));
                }
            }
            // A resumed session in a pending matchup hears the proposal again: one delivered to
            // its snapshot while it was reconnecting could have been overwritten by the resume.
            QueueAction::Resume { matchup: known } => {
                let missed = next.matchups.iter().find(|m| {
                    m.tickets.iter().any(|t| t.session == from.session)
                        && known.as_deref() != Some(m.id.as_str())
                });
                if let Some(matchup) = missed {
                    let again = self.proposals(matchup);
                    outs.extend(again.into_iter().filter(|o| o.to == from.session));
                }
            }
            QueueAction::Reply { matchup, accept } => {
                let found = next
                    .matchups
                    .iter()
                    .position(|m| m.id.as_str() == matchup)
                    .and_then(|m| {
                        next.matchups[m]
                            .tickets
                            .iter()
                            .position(|t| t.session == from.session)
                            .map(|i| (m, i))
                    });
                match found {
                    None => {
                        let msg = ServerMessage::error(
                            ErrorCode::NoSuchMatchup,
                            format!("no pending matchup {matchup}"),
                        );
                        outs.push(Self::out(&from.session, msg, from.reference));
                    }
                    Some((m, i)) if accept => next.matchups[m].accepted[i] = true,
                    Some((m, i)) => {
                        let requeue = [i != 0, i != 1];
                        outs = self.dissolve(
                            &mut next,
                            m,
                            MatchupCancelReason::Declined,
                            requeue,
                            QueueLeftReason::Declined,
                            Some(&from),
                        );
                    }
                }
            }
        }
        outs.extend(self.housekeeping(&mut next, now));
        (next, outs)
    }

    /// Expires matchups and pairs whoever can be paired.
    fn housekeeping(&self, next: &mut QueueState, now: u64) -> Vec<Out> {
        let mut outs = Vec::new();
        while let Some(m) = next
            .matchups
            .iter()
            .position(|m| m.expires_at <= now && m.accepted != [true, true])
        {
            let requeue = next.matchups[m].accepted;
            outs.extend(self.dissolve(
                next,
                m,
                MatchupCancelReason::Timeout,
                requeue,
                QueueLeftReason::Timeout,
                None,
            ));
        }
        let config = &self.ctx.config;
        for matchup in next.pair(
            now,
            self.window(),
            config.matchup_timeout_ms,
            MatchupId::generate,
        ) {
            outs.extend(self.proposals(&matchup));
        }
        outs
    }

    /// Writes `next` (and the games it creates), then adopts it and tells the players.
    fn commit(&mut self, mut next: QueueState, outs: Vec<Out>, ctx: &mut Context<Self>) {
        // Matchups both accepted become games in this same commit.
        let mut games = Vec::new();
        next.matchups.retain(|m| {
            if m.accepted == [true, true] {
                games.push(NewGame {
                    id: GameId::generate(),
                    tickets: m.tickets.clone(),
                });
                false
            } else {
                true
            }
        });
        if next == self.state && games.is_empty() {
            return self.send(outs);
        }
        next.rev = self.state.rev + 1;
        let services = self.ctx.services.clone();
        let lease = self.tenure.lease.clone();
        let spec = next.spec.clone();
        let data = serde_json::to_vec(&next).expect("queue state serialises");
        let key = next.key.clone();
        let waiting = next.waiting.len() as u64;
        let write = async move {
            for game in &games {
                create_game(&services, &spec, game).await?;
            }
            services
                .snapshots
                .save(key.as_str(), data, lease.fence, next.rev, None)
                .await?;
            if let Err(e) = services
                .snapshots
                .set_queue_size(key.as_str(), waiting)
                .await
            {
                tracing::debug!(error = %e, "queue size not published");
            }
            Ok::<_, SaveError>((next, games))
        };
        ctx.wait(write.into_actor(self).map(move |result, act, ctx| match result {
            Ok((next, games)) => {
                act.state = next;
                metrics::gauge!(names::QUEUE_WAITING, "queue" => act.state.key.to_string()).set(waiting as f64);
                act.send(outs);
                for game in games {
                    for ticket in &game.tickets {
                        act.send(vec![act.left(ticket, QueueLeftReason::Matched, None)]);
                    }
                    act.ctx.router.send(Envelope::game(&game.id, GameCommand { from: None, action: GameAction::Start }));
                }
            }
            Err(e) => {
                tracing::warn!(queue = %act.state.key, error = %e, "queue snapshot write refused");
                if matches!(e, SaveError::Fenced { .. } | SaveError::Stale { .. }) {
                    act.tenure.retire(&act.ctx, ctx); // another node owns this queue now
                }
            }
        }));
    }

    fn send(&self, outs: Vec<Out>) {
        for out in outs {
            self.ctx.router.send(Envelope::push(&out.to, out.frame));
        }
    }
}

/// Writes a new game's first snapshot, the two tickets seated in random order.
async fn create_game(
    services: &Services,
    spec: &QueueSpec,
    game: &NewGame,
) -> Result<(), SaveError> {
    let mut seats = Vec::with_capacity(2);
    for ticket in &game.tickets {
        let player = game::Player {
            user_id: &ticket.user_id,
            name: &ticket.name,
            rating: ticket.rating,
            guest: ticket.guest,
            session: Some(ticket.session.clone()),
            glicko: ticket.glicko.map(|g| crate::store::Glicko {
                rating: g.rating,
                deviation: g.deviation,
                volatility: g.volatility,
            }),
        };
        seats.push(game::seat(services, player).await);
    }
    if rand::random::<bool>() {
        seats.swap(0, 1);
    }
    let seats: [Seat; 2] = seats.try_into().expect("two tickets make two seats");
    let state = GameState::new(
        game.id.clone(),
        spec.game,
        spec.clock,
        spec.rated,
        seats,
        now_ms(),
    );
    game::create(services, state).await
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.ctx.keep_lease(ctx, self.tenure.lease.clone());
        let every = Duration::from_millis(self.ctx.config.match_interval_ms.max(10));
        ctx.run_interval(every, |_, ctx| ctx.notify(Tick));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.tenure.stopped(&self.ctx);
    }
}

impl Handler<QueueCommand> for QueueActor {
    type Result = ();

    fn handle(&mut self, command: QueueCommand, ctx: &mut Self::Context) {
        let Some(command) = self.tenure.admit(&self.ctx, command) else {
            return; // sent on to the queue's next owner
        };
        let _span =
            tracing::info_span!("queue", queue = %self.state.key, session = %command.from.session)
                .entered();
        let (next, outs) = self.decide(command, now_ms());
        self.commit(next, outs, ctx);
    }
}

impl Handler<Tick> for QueueActor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        if self.tenure.is_retired() {
            return;
        }
        let mut next = self.state.clone();
        let outs = self.housekeeping(&mut next, now_ms());
        self.commit(next, outs, ctx);
    }
}

impl Handler<LeaseLost> for QueueActor {
    type Result = ();

    fn handle(&mut self, _: LeaseLost, ctx: &mut Self::Context) {
        tracing::warn!(queue = %self.state.key, "lease lost, stopping");
        self.tenure.retire(&self.ctx, ctx);
    }
}

impl Handler<Passivate> for QueueActor {
    type Result = ();

    fn handle(&mut self, _: Passivate, ctx: &mut Self::Context) {
        self.tenure.retire(&self.ctx, ctx); // the next message activates it elsewhere
    }
}
