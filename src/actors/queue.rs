//! The matchmaking-queue actor: one per (game, clock, rated) queue, a cluster-wide singleton by
//! lease. It pairs waiting players by rating, with a window that widens while they wait,
//! proposes each pair a matchup, and turns a matchup both accepted into a new game.
//!
//! Tickets and matchups live in the queue's snapshot, written (fenced) before any player is
//! told anything, so a failover loses no ticket.

use std::time::Duration;

use actix::prelude::*;
use client_protocol::*;
use serde::{Deserialize, Serialize};

use crate::actors::game::{GameState, Seat, LIVE_TTL};
use crate::actors::{ActorEnv, Services, VirtualActor};
use crate::cluster::{Lease, LeaseLost, Passivate, SaveError};
use crate::domain::{now_ms, GameId, MatchupId, QueueKey, SessionId, UserId};
use crate::messages::{
    Address, Envelope, GameAction, GameCommand, QueueAction, QueueCommand, Refusal, Sender, Ticket,
};
use crate::store::Glicko;
use crate::telemetry::names;

/// The rating window stops widening here.
const MAX_WINDOW: u32 = 1000;

/// Time to pair players and expire matchups.
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

// ---------------------------------------------------------------------------------------------
// State

/// Two players asked to accept each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matchup {
    pub id: MatchupId,
    pub tickets: [Ticket; 2],
    pub accepted: [bool; 2],
    pub expires_at: u64,
}

/// A queue's snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueState {
    pub key: QueueKey,
    pub spec: QueueSpec,
    /// Oldest first: the front is paired first.
    pub waiting: Vec<Ticket>,
    pub matchups: Vec<Matchup>,
    pub rev: u64,
}

/// The rating window rules, from config.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub base: u32,
    pub growth_per_sec: u32,
}

impl Window {
    /// How far from its own rating a ticket accepts an opponent after waiting until `now`.
    pub fn width(&self, ticket: &Ticket, now: u64) -> u32 {
        let waited_secs = now.saturating_sub(ticket.queued_at) / 1000;
        let grown = self.base as u64 + self.growth_per_sec as u64 * waited_secs;
        grown.min(MAX_WINDOW as u64) as u32
    }
}

impl QueueState {
    pub fn new(key: QueueKey, spec: QueueSpec) -> Self {
        QueueState {
            key,
            spec,
            waiting: Vec::new(),
            matchups: Vec::new(),
            rev: 0,
        }
    }

    fn holds_session(&self, session: &SessionId) -> bool {
        self.waiting.iter().any(|t| &t.session == session)
            || self
                .matchups
                .iter()
                .any(|m| m.tickets.iter().any(|t| &t.session == session))
    }

    fn holds_user(&self, user: &UserId) -> bool {
        self.waiting.iter().any(|t| &t.user_id == user)
            || self
                .matchups
                .iter()
                .any(|m| m.tickets.iter().any(|t| &t.user_id == user))
    }

    /// Pairs waiting tickets, oldest first, each with the closest rating both windows accept.
    /// Pure: `make_id` supplies matchup ids.
    pub fn pair(
        &mut self,
        now: u64,
        window: Window,
        timeout_ms: u64,
        mut make_id: impl FnMut() -> MatchupId,
    ) -> Vec<Matchup> {
        let mut made = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            let a = &self.waiting[i];
            let best = self.waiting[i + 1..]
                .iter()
                .enumerate()
                .filter(|(_, b)| b.user_id != a.user_id)
                .map(|(j, b)| (i + 1 + j, a.rating.abs_diff(b.rating)))
                .filter(|&(j, diff)| {
                    let b = &self.waiting[j];
                    diff <= window.width(a, now).min(window.width(b, now))
                })
                .min_by_key(|&(_, diff)| diff);
            match best {
                Some((j, _)) => {
                    let b = self.waiting.remove(j);
                    let a = self.waiting.remove(i);
                    made.push(Matchup {
                        id: make_id(),
                        tickets: [a, b],
                        accepted: [false, false],
                        expires_at: now + timeout_ms,
                    });
                }
                None => i += 1,
            }
        }
        self.matchups.extend(made.iter().cloned());
        made
    }
}

// ---------------------------------------------------------------------------------------------
// The actor

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
    lease: Lease,
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
        Ok(QueueActor { ctx, lease, state })
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
            QueueAction::Resume => {}
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
        let lease = self.lease.clone();
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
                    ctx.stop();
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

/// Writes a new game's first snapshot (fence 0: any owner's first write supersedes it).
async fn create_game(
    services: &Services,
    spec: &QueueSpec,
    game: &NewGame,
) -> Result<(), SaveError> {
    let mut seats = Vec::with_capacity(2);
    for ticket in &game.tickets {
        let glicko = match services.store.user_by_id(&ticket.user_id).await {
            Ok(Some(user)) => user.glicko,
            // The store is down: rate from the ticket's rating with a fresh deviation.
            _ => Glicko {
                rating: ticket.rating as f64,
                ..Glicko::default()
            },
        };
        seats.push(Seat {
            user_id: ticket.user_id.clone(),
            name: ticket.name.clone(),
            guest: ticket.guest,
            glicko,
            session: ticket.session.clone(),
        });
    }
    if rand::random::<bool>() {
        seats.swap(0, 1);
    }
    let seats: [Seat; 2] = seats.try_into().expect("two tickets make two seats");
    let now = now_ms();
    let mut state = GameState::new(
        game.id.clone(),
        spec.game,
        spec.clock,
        spec.rated,
        seats,
        now,
    );
    state.rev = 1;
    let data = serde_json::to_vec(&state).expect("game state serialises");
    let key = GameState::snapshot_key(&game.id);
    services
        .snapshots
        .save(&key, data, 0, state.rev, Some(LIVE_TTL))
        .await
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.ctx.keep_lease(ctx, self.lease.clone());
        let every = Duration::from_millis(self.ctx.config.match_interval_ms.max(10));
        ctx.run_interval(every, |_, ctx| ctx.notify(Tick));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.ctx
            .router
            .deactivated(&Address::queue(&self.state.key), &self.lease);
    }
}

impl Handler<QueueCommand> for QueueActor {
    type Result = ();

    fn handle(&mut self, command: QueueCommand, ctx: &mut Self::Context) {
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
        let mut next = self.state.clone();
        let outs = self.housekeeping(&mut next, now_ms());
        self.commit(next, outs, ctx);
    }
}

impl Handler<LeaseLost> for QueueActor {
    type Result = ();

    fn handle(&mut self, _: LeaseLost, ctx: &mut Self::Context) {
        tracing::warn!(queue = %self.state.key, "lease lost, stopping");
        ctx.stop();
    }
}

impl Handler<Passivate> for QueueActor {
    type Result = ();

    fn handle(&mut self, _: Passivate, ctx: &mut Self::Context) {
        ctx.stop(); // `stopped` releases the lease; the next message activates it elsewhere
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(name: &str, rating: i32, queued_at: u64) -> Ticket {
        Ticket {
            session: SessionId::generate(),
            user_id: UserId::generate(),
            name: name.into(),
            rating,
            guest: false,
            queued_at,
        }
    }

    fn queue() -> QueueState {
        let spec = QueueSpec {
            game: GameKind::Chess,
            clock: None,
            rated: true,
        };
        QueueState::new(QueueKey::from_spec(&spec).unwrap(), spec)
    }

    const WINDOW: Window = Window {
        base: 100,
        growth_per_sec: 50,
    };

    #[test]
    fn close_ratings_pair_at_once_and_far_ones_wait_for_the_window_to_widen() {
        let mut q = queue();
        q.waiting = vec![
            ticket("a", 1500, 0),
            ticket("b", 1900, 0),
            ticket("c", 1550, 0),
        ];
        let made = q.pair(0, WINDOW, 10_000, MatchupId::generate);
        assert_eq!(made.len(), 1);
        assert_eq!(
            [
                made[0].tickets[0].name.as_str(),
                made[0].tickets[1].name.as_str()
            ],
            ["a", "c"]
        );
        assert_eq!(q.waiting.len(), 1);

        q.waiting.push(ticket("d", 1500, 0));
        assert!(
            q.pair(1_000, WINDOW, 10_000, MatchupId::generate)
                .is_empty(),
            "400 apart after 1 s"
        );
        assert_eq!(
            q.pair(6_000, WINDOW, 10_000, MatchupId::generate).len(),
            1,
            "window 400 after 6 s"
        );
    }

    #[test]
    fn a_player_is_never_paired_with_themselves() {
        let mut q = queue();
        let a = ticket("a", 1500, 0);
        let mut again = ticket("a2", 1500, 0);
        again.user_id = a.user_id.clone();
        q.waiting = vec![a, again];
        assert!(q.pair(0, WINDOW, 10_000, MatchupId::generate).is_empty());
    }

    #[test]
    fn the_window_stops_widening_at_its_maximum() {
        let t = ticket("a", 1500, 0);
        assert_eq!(WINDOW.width(&t, 0), 100);
        assert_eq!(WINDOW.width(&t, 3_000), 250);
        assert_eq!(WINDOW.width(&t, 3_600_000), MAX_WINDOW);
    }
}
