//! The router: delivers a message to an actor by address, wherever it lives.
//!
//! Local first: if this node hosts the target, the message goes straight to its mailbox.
//! Otherwise it is published on the target's bus channel, in order, by one publisher task.
//! If nobody received it, the target is active nowhere: a session is offline (the host folds
//! the event into its snapshot), a game or queue is activated here, under a lease, from its
//! snapshot (virtual actors, as in Orleans). Messages that arrive while an actor is being
//! activated wait in its slot and are delivered in order once it runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix::Addr;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::bus::{Bus, Incoming};
use super::snapshot::{Lease, Leases};
use crate::actors::game::{GameActor, GameCommand};
use crate::actors::lease::LeaseKeeper;
use crate::actors::queue::{QueueActor, QueueCommand};
use crate::domain::{GameId, QueueKey, SessionId};
use crate::session::actor::{SessionActor, SessionEvent};
use crate::telemetry::names;

/// At most this many envelopes go to the bus in one round trip.
const PUBLISH_BATCH: usize = 256;
/// Messages for an actor another node owns are retried this often while its lease lives.
const OWNED_ELSEWHERE_RETRY: Duration = Duration::from_millis(100);

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    Session(SessionId),
    Game(GameId),
    Queue(QueueKey),
}

impl Address {
    /// The bus channel and snapshot/lease key of this address.
    pub fn key(&self) -> String {
        match self {
            Address::Session(id) => format!("session:{id}"),
            Address::Game(id) => format!("game:{id}"),
            Address::Queue(key) => key.to_string(),
        }
    }
}

/// A message to one actor, as it travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Envelope {
    Session {
        session: SessionId,
        event: SessionEvent,
    },
    Game {
        game: GameId,
        command: GameCommand,
    },
    Queue {
        queue: QueueKey,
        command: QueueCommand,
    },
}

impl Envelope {
    pub fn address(&self) -> Address {
        match self {
            Envelope::Session { session, .. } => Address::Session(session.clone()),
            Envelope::Game { game, .. } => Address::Game(game.clone()),
            Envelope::Queue { queue, .. } => Address::Queue(queue.clone()),
        }
    }
}

/// An actor hosted on this node.
#[derive(Clone)]
pub enum LocalActor {
    Session(Addr<SessionActor>),
    Game(Addr<GameActor>),
    Queue(Addr<QueueActor>),
}

impl LocalActor {
    /// Hands the envelope to the actor, or gives it back if the actor has stopped.
    fn deliver(&self, envelope: Envelope) -> Result<(), Box<Envelope>> {
        match (self, envelope) {
            (LocalActor::Session(addr), Envelope::Session { event, .. }) if addr.connected() => {
                addr.do_send(event);
                Ok(())
            }
            (LocalActor::Game(addr), Envelope::Game { command, .. }) if addr.connected() => {
                addr.do_send(command);
                Ok(())
            }
            (LocalActor::Queue(addr), Envelope::Queue { command, .. }) if addr.connected() => {
                addr.do_send(command);
                Ok(())
            }
            (_, envelope) => Err(Box::new(envelope)),
        }
    }

    fn same(&self, other: &LocalActor) -> bool {
        match (self, other) {
            (LocalActor::Session(a), LocalActor::Session(b)) => a == b,
            (LocalActor::Game(a), LocalActor::Game(b)) => a == b,
            (LocalActor::Queue(a), LocalActor::Queue(b)) => a == b,
            _ => false,
        }
    }
}

/// Why an activation produced no actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// There is nothing to host (no snapshot of that game).
    NotFound,
    /// A dependency failed; the sender may retry.
    Unavailable,
}

/// What the router needs from its node: starting actors, and reaching offline sessions.
#[async_trait]
pub trait Host: Send + Sync + 'static {
    /// Starts the actor for `address` under `lease`, from its snapshot.
    async fn activate(&self, address: &Address, lease: Lease) -> Result<LocalActor, Refusal>;
    /// Tells the senders of `envelope` that it could not be delivered.
    fn refuse(&self, envelope: Envelope, refusal: Refusal);
    /// Applies an event for a session that no node hosts to its snapshot.
    async fn deliver_offline(&self, session: SessionId, event: SessionEvent);
}

enum Slot {
    Active(LocalActor),
    Activating(Vec<Envelope>),
}

struct Inner {
    node_id: String,
    bus: Arc<dyn Bus>,
    leases: Arc<dyn Leases>,
    local: Mutex<HashMap<String, Slot>>,
    outgoing: mpsc::UnboundedSender<Envelope>,
    host: OnceLock<Arc<dyn Host>>,
    /// The runtime the router started on: its background work runs there, whichever
    /// arbiter thread asks (an actor stopping during shutdown may have none of its own).
    runtime: tokio::runtime::Handle,
    /// How long a lease lives without renewal.
    lease_ttl: Duration,
    /// Renews the leases of every game and queue hosted here.
    keeper: Arc<LeaseKeeper>,
}

/// Cheap to clone; one per node.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl Router {
    /// Creates the router and starts its publisher and bus-listener tasks (on the current
    /// tokio runtime). `attach_host` must be called before the first message.
    pub fn start(
        node_id: String,
        bus: Arc<dyn Bus>,
        leases: Arc<dyn Leases>,
        lease_ttl: Duration,
    ) -> Router {
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let incoming = bus.take_incoming();
        let resubscriptions = bus.resubscriptions();
        let keeper = LeaseKeeper::start(leases.clone(), node_id.clone(), lease_ttl);
        let router = Router {
            inner: Arc::new(Inner {
                node_id,
                bus,
                leases,
                keeper,
                local: Mutex::new(HashMap::new()),
                outgoing,
                host: OnceLock::new(),
                runtime: tokio::runtime::Handle::current(),
                lease_ttl,
            }),
        };
        router.spawn(router.clone().publish_loop(outgoing_rx));
        if let Some(incoming) = incoming {
            router.spawn(router.clone().listen_loop(incoming));
        }
        if let Some(mut resubscriptions) = resubscriptions {
            let resync = router.clone();
            router.spawn(async move {
                while resubscriptions.changed().await.is_ok() {
                    let sessions = resync.local_sessions();
                    tracing::info!(
                        sessions = sessions.len(),
                        "bus resubscribed: resyncing sessions"
                    );
                    for session in sessions {
                        session.do_send(SessionEvent::Resync);
                    }
                }
            });
        }
        router
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.inner.runtime.spawn(task);
    }

    pub fn attach_host(&self, host: Arc<dyn Host>) {
        let _ = self.inner.host.set(host);
    }

    fn host(&self) -> &Arc<dyn Host> {
        self.inner
            .host
            .get()
            .expect("router used before its host was attached")
    }

    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    pub fn leases(&self) -> &Arc<dyn Leases> {
        &self.inner.leases
    }

    pub fn lease_ttl(&self) -> Duration {
        self.inner.lease_ttl
    }

    pub fn lease_keeper(&self) -> &LeaseKeeper {
        &self.inner.keeper
    }

    pub fn send_session(&self, session: &SessionId, event: SessionEvent) {
        self.deliver(Envelope::Session {
            session: session.clone(),
            event,
        });
    }

    pub fn send_game(&self, game: &GameId, command: GameCommand) {
        self.deliver(Envelope::Game {
            game: game.clone(),
            command,
        });
    }

    pub fn send_queue(&self, queue: &QueueKey, command: QueueCommand) {
        self.deliver(Envelope::Queue {
            queue: queue.clone(),
            command,
        });
    }

    /// Delivers locally when this node hosts the target, otherwise hands the envelope to the
    /// ordered publisher. Never blocks.
    pub fn deliver(&self, envelope: Envelope) {
        if let Err(envelope) = self.try_local(envelope) {
            let _ = self.inner.outgoing.send(*envelope);
        }
    }

    /// Local delivery; Err gives the envelope back when the target is not hosted here.
    fn try_local(&self, envelope: Envelope) -> Result<(), Box<Envelope>> {
        let key = envelope.address().key();
        let mut local = self.inner.local.lock().expect("poisoned");
        match local.get_mut(&key) {
            Some(Slot::Activating(pending)) => {
                pending.push(envelope);
                Ok(())
            }
            Some(Slot::Active(actor)) => match actor.deliver(envelope) {
                Ok(()) => Ok(()),
                Err(envelope) => {
                    tracing::debug!(%key, "local actor gone");
                    local.remove(&key);
                    Err(envelope)
                }
            },
            None => Err(Box::new(envelope)),
        }
    }

    /// Makes a websocket session reachable here. A previous socket of the same session, on this
    /// node or another, is told it was taken over by `connection`. The takeover notice and the
    /// subscription go to Redis together (one round trip, not two): if the subscription lands
    /// first, this socket hears its own notice, which names its connection and is ignored.
    pub async fn register_session(
        &self,
        session: &SessionId,
        addr: Addr<SessionActor>,
        connection: u64,
    ) {
        let address = Address::Session(session.clone());
        let key = address.key();
        // Another node's socket for this session, if any, hands over first.
        let takeover = SessionEvent::TakenOver { by: connection };
        let envelope = Envelope::Session {
            session: session.clone(),
            event: takeover.clone(),
        };
        tracing::debug!(%session, connection, "registering session");
        let previous = {
            let mut local = self.inner.local.lock().expect("poisoned");
            local.insert(key.clone(), Slot::Active(LocalActor::Session(addr.clone())))
        };
        if let Some(Slot::Active(LocalActor::Session(old))) = previous {
            if old != addr {
                old.do_send(takeover);
            }
        }
        let (_, subscribed) = tokio::join!(self.publish(envelope), self.inner.bus.subscribe(&key));
        if let Err(e) = subscribed {
            tracing::warn!(error = %e, channel = %key, "could not subscribe session channel");
        }
    }

    /// Removes a session actor, if it is still the one registered.
    pub fn unregister_session(&self, session: &SessionId, addr: &Addr<SessionActor>) {
        let key = Address::Session(session.clone()).key();
        let removed = {
            let mut local = self.inner.local.lock().expect("poisoned");
            match local.get(&key) {
                Some(Slot::Active(actor)) if actor.same(&LocalActor::Session(addr.clone())) => {
                    tracing::debug!(%session, "unregistering session");
                    local.remove(&key);
                    true
                }
                _ => false,
            }
        };
        if removed {
            let bus = self.inner.bus.clone();
            self.spawn(async move {
                let _ = bus.unsubscribe(&key).await;
            });
        }
    }

    /// Called by a game or queue actor as it stops: frees its slot, channel and lease.
    pub fn deactivated(&self, address: &Address, lease: &Lease) {
        let key = address.key();
        self.inner.local.lock().expect("poisoned").remove(&key);
        self.inner.keeper.forget(lease);
        let inner = self.inner.clone();
        let lease = lease.clone();
        self.spawn(async move {
            let _ = inner.bus.unsubscribe(&key).await;
            let _ = inner.leases.release(&lease, &inner.node_id).await;
        });
    }

    /// How many actors of each kind this node hosts: (sessions, games, queues).
    pub fn hosted(&self) -> (usize, usize, usize) {
        let local = self.inner.local.lock().expect("poisoned");
        local
            .values()
            .fold((0, 0, 0), |(s, g, q), slot| match slot {
                Slot::Active(LocalActor::Session(_)) => (s + 1, g, q),
                Slot::Active(LocalActor::Game(_)) => (s, g + 1, q),
                Slot::Active(LocalActor::Queue(_)) => (s, g, q + 1),
                Slot::Activating(_) => (s, g, q),
            })
    }

    /// Every game and queue actor hosted here (for draining).
    pub fn local_actors(&self) -> Vec<LocalActor> {
        let local = self.inner.local.lock().expect("poisoned");
        local
            .values()
            .filter_map(|slot| match slot {
                Slot::Active(actor @ (LocalActor::Game(_) | LocalActor::Queue(_))) => {
                    Some(actor.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// Every session socket hosted here (for draining).
    pub fn local_sessions(&self) -> Vec<Addr<SessionActor>> {
        let local = self.inner.local.lock().expect("poisoned");
        local
            .values()
            .filter_map(|slot| match slot {
                Slot::Active(LocalActor::Session(addr)) => Some(addr.clone()),
                _ => None,
            })
            .collect()
    }

    /// The channel and bytes of an envelope on the bus.
    fn encode(envelope: &Envelope) -> Option<(String, Vec<u8>)> {
        match serde_json::to_vec(envelope) {
            Ok(payload) => Some((envelope.address().key(), payload)),
            Err(e) => {
                tracing::error!(error = %e, "unserialisable envelope");
                None
            }
        }
    }

    /// Publishes one envelope; returns how many nodes received it (0 on bus failure).
    async fn publish(&self, envelope: Envelope) -> usize {
        let Some((key, payload)) = Self::encode(&envelope) else {
            return 0;
        };
        match self.inner.bus.publish(&key, payload).await {
            Ok(n) => {
                if n > 0 {
                    metrics::counter!(names::BUS_PUBLISHED).increment(1);
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, channel = %key, "bus publish failed");
                0
            }
        }
    }

    /// Sends remote envelopes in the order they were delivered. Whatever queued up while the
    /// previous batch was on the wire goes out as the next batch, in one round trip (group
    /// commit): under load a node's cross-node traffic costs a round trip per batch, not per
    /// message, and a message never waits behind more than one batch.
    async fn publish_loop(self, mut outgoing: mpsc::UnboundedReceiver<Envelope>) {
        let mut batch = Vec::new();
        while outgoing.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
            let mut remote = Vec::with_capacity(batch.len());
            let mut messages = Vec::with_capacity(batch.len());
            for envelope in batch.drain(..) {
                // It may have become local while it waited.
                let Err(envelope) = self.try_local(envelope) else {
                    continue;
                };
                if let Some(message) = Self::encode(&envelope) {
                    messages.push(message);
                    remote.push(*envelope);
                }
            }
            if remote.is_empty() {
                continue;
            }
            let receivers = match self.inner.bus.publish_many(messages).await {
                Ok(receivers) => receivers,
                Err(e) => {
                    tracing::warn!(error = %e, messages = remote.len(), "bus publish failed");
                    vec![0; remote.len()]
                }
            };
            let delivered = receivers.iter().filter(|n| **n > 0).count();
            metrics::counter!(names::BUS_PUBLISHED).increment(delivered as u64);
            // Nobody received it (or the bus is down): the target is hosted nowhere.
            for (envelope, _) in remote.into_iter().zip(receivers).filter(|(_, n)| *n == 0) {
                match envelope {
                    Envelope::Session { session, event } => {
                        tracing::debug!(%session, "session connected nowhere: updating its snapshot");
                        let host = self.host().clone();
                        self.spawn(async move { host.deliver_offline(session, event).await });
                    }
                    other => self.activate(other),
                }
            }
        }
    }

    async fn listen_loop(self, mut incoming: mpsc::UnboundedReceiver<Incoming>) {
        while let Some(message) = incoming.recv().await {
            match serde_json::from_slice::<Envelope>(&message.payload) {
                Ok(envelope) => {
                    if let Err(envelope) = self.try_local(envelope) {
                        tracing::debug!(channel = %message.channel, "message for an actor no longer here");
                        drop(envelope);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, channel = %message.channel, "undecodable bus message")
                }
            }
        }
    }

    /// Starts activating the envelope's target here, buffering the envelope in its slot.
    fn activate(&self, envelope: Envelope) {
        let address = envelope.address();
        let key = address.key();
        {
            let mut local = self.inner.local.lock().expect("poisoned");
            match local.get_mut(&key) {
                Some(Slot::Activating(pending)) => return pending.push(envelope),
                Some(Slot::Active(_)) => {
                    drop(local);
                    return self.deliver(envelope);
                }
                None => {
                    local.insert(key.clone(), Slot::Activating(vec![envelope]));
                }
            }
        }
        let router = self.clone();
        self.spawn(async move { router.run_activation(address, key).await });
    }

    async fn run_activation(self, address: Address, key: String) {
        let inner = &self.inner;
        let started = tokio::time::Instant::now();
        let outcome = loop {
            match inner
                .leases
                .acquire(&key, &inner.node_id, inner.lease_ttl)
                .await
            {
                Ok(Some(lease)) => {
                    if let Err(e) = inner.bus.subscribe(&key).await {
                        tracing::warn!(error = %e, channel = %key, "subscribe failed during activation");
                    }
                    let result = self.host().activate(&address, lease.clone()).await;
                    if result.is_err() {
                        let _ = inner.bus.unsubscribe(&key).await;
                        let _ = inner.leases.release(&lease, &inner.node_id).await;
                    }
                    break result;
                }
                // Another node owns it: hand it what waits here. If it does not answer (it
                // died and its lease has yet to expire), keep the rest and try again.
                Ok(None) => {
                    if self.forward_pending(&key).await {
                        return;
                    }
                    if started.elapsed() > inner.lease_ttl * 2 {
                        break Err(Refusal::Unavailable);
                    }
                    tokio::time::sleep(OWNED_ELSEWHERE_RETRY).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, %key, "lease store unavailable");
                    break Err(Refusal::Unavailable);
                }
            }
        };
        let pending = {
            let mut local = inner.local.lock().expect("poisoned");
            let pending = match local.remove(&key) {
                Some(Slot::Activating(pending)) => pending,
                Some(active) => {
                    local.insert(key.clone(), active);
                    Vec::new()
                }
                None => Vec::new(),
            };
            if let Ok(actor) = &outcome {
                local.insert(key.clone(), Slot::Active(actor.clone()));
            }
            pending
        };
        match outcome {
            Ok(actor) => {
                metrics::counter!(names::ACTIVATIONS, "kind" => kind_label(&address)).increment(1);
                for envelope in pending {
                    if let Err(envelope) = actor.deliver(envelope) {
                        self.host().refuse(*envelope, Refusal::Unavailable);
                    }
                }
            }
            Err(refusal) => {
                for envelope in pending {
                    self.host().refuse(envelope, refusal);
                }
            }
        }
    }

    /// Publishes what waits in an activating slot to the node that owns it. True when all of
    /// it was received (the slot is gone); false when something is still waiting.
    async fn forward_pending(&self, key: &str) -> bool {
        let pending = match self.inner.local.lock().expect("poisoned").get_mut(key) {
            Some(Slot::Activating(pending)) => std::mem::take(pending),
            _ => return true,
        };
        let mut unanswered = Vec::new();
        for envelope in pending {
            if self.publish(envelope.clone()).await == 0 {
                unanswered.push(envelope);
            }
        }
        let mut local = self.inner.local.lock().expect("poisoned");
        match local.get_mut(key) {
            Some(Slot::Activating(pending)) => {
                // Keep order: what was not answered goes before what arrived meanwhile.
                unanswered.append(pending);
                if unanswered.is_empty() {
                    local.remove(key);
                    return true;
                }
                *pending = unanswered;
                false
            }
            _ => unanswered.is_empty(),
        }
    }
}

fn kind_label(address: &Address) -> &'static str {
    match address {
        Address::Session(_) => "session",
        Address::Game(_) => "game",
        Address::Queue(_) => "queue",
    }
}
