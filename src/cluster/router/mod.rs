//! The router: delivers a message to an actor by address, wherever it lives.
//!
//! Local first: if this node hosts the target, the message goes straight to its mailbox.
//! Otherwise it is published on the target's bus channel, in order, by one publisher task.
//! If nobody received it, the target is active nowhere: the kind's registered fallback takes
//! it. A virtual actor kind (games, queues) is activated here, under a lease, from its snapshot
//! (as in Orleans); a socket kind (sessions) is updated offline. Messages that arrive while an
//! actor is being activated wait in its slot and are delivered in order once it runs.
//!
//! The router knows actor kinds only through the `Registry` it is started with and the
//! `Mailbox` each actor hands it (`mailbox.rs`): it never names a concrete actor type.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::bus::{Bus, Incoming};

mod groups;
mod replies;
mod sockets;
use super::lease_keeper::LeaseKeeper;
use super::mailbox::{Mailbox, Passivate};
use super::snapshot::{Lease, Leases};
use crate::messages::{ActorKind, Address, Envelope, Refusal, SessionEvent};
use crate::telemetry::names;

/// At most this many envelopes go to the bus in one round trip.
const PUBLISH_BATCH: usize = 256;
/// Messages for an actor another node owns are retried this often while its lease lives.
const OWNED_ELSEWHERE_RETRY: Duration = Duration::from_millis(100);
/// The node-wide channel on which a node whose publish failed tells every node to resync its
/// sessions, once the bus takes messages again.
const RESYNC_CHANNEL: &str = "bus:resync";
/// How often that node tries to send it.
const RESYNC_RETRY: Duration = Duration::from_millis(250);

/// How one virtual-actor kind is started on this node.
#[async_trait]
pub trait Activator: Send + Sync + 'static {
    /// Starts the actor for `address` under `lease`, from its snapshot. `router` is the
    /// router the actor will talk through.
    async fn activate(
        &self,
        router: &Router,
        address: &Address,
        lease: Lease,
    ) -> Result<Mailbox, Refusal>;
}

/// What to do with a message for a socket kind's actor that is connected nowhere.
#[async_trait]
pub trait Offline: Send + Sync + 'static {
    async fn deliver_offline(&self, envelope: Envelope);
}

/// What a node-wide channel's messages go to (see `Registry::channel`).
type ChannelHandler = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// What the router does, per actor kind, with a message nobody hosts, and which node-wide
/// channels it hands to whom.
#[derive(Default)]
pub struct Registry {
    activators: HashMap<ActorKind, Arc<dyn Activator>>,
    offline: HashMap<ActorKind, Arc<dyn Offline>>,
    groups: HashSet<ActorKind>,
    channels: HashMap<String, ChannelHandler>,
}

impl Registry {
    /// `kind` is a virtual actor: activated here when nobody hosts it.
    pub fn activate(mut self, kind: ActorKind, activator: impl Activator) -> Self {
        self.activators.insert(kind, Arc::new(activator));
        self
    }

    /// `kind` is a socket: its messages update its stored state while it is connected nowhere.
    pub fn offline(mut self, kind: ActorKind, handler: impl Offline) -> Self {
        self.offline.insert(kind, Arc::new(handler));
        self
    }

    /// `kind` is a group: its messages go to every member on every node (see `Router::join`);
    /// a message for a group with no member anywhere goes nowhere.
    pub fn group(mut self, kind: ActorKind) -> Self {
        self.groups.insert(kind);
        self
    }

    /// Every node subscribes `channel`, outside any actor, and hands each message on it to
    /// `handler` (node-wide state such as the account cache; published straight on the bus).
    pub fn channel(
        mut self,
        channel: &str,
        handler: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> Self {
        self.channels.insert(channel.to_owned(), Arc::new(handler));
        self
    }
}

enum Slot {
    /// `socket` is the connection id of a registered socket; `fence` the lease fence of a
    /// virtual actor's activation (so that an old activation stopping late frees nothing of a
    /// newer one).
    Active {
        mailbox: Mailbox,
        socket: Option<u64>,
        fence: Option<u64>,
    },
    Activating(Vec<Envelope>),
    /// A fan-out address (a user's sockets, a room's members): every member here gets each
    /// message, and this node holds one bus subscription for all of them.
    Group(Vec<(u64, Mailbox)>),
    /// A request waiting for its one answer (`replies.rs`).
    Waiter(tokio::sync::oneshot::Sender<crate::messages::Body>),
}

struct Inner {
    node_id: String,
    bus: Arc<dyn Bus>,
    leases: Arc<dyn Leases>,
    registry: Registry,
    local: Mutex<HashMap<Address, Slot>>,
    outgoing: mpsc::UnboundedSender<Envelope>,
    /// The runtime the router started on: its background work runs there, whichever
    /// arbiter thread asks (an actor stopping during shutdown may have none of its own).
    runtime: tokio::runtime::Handle,
    /// How long a lease lives without renewal.
    lease_ttl: Duration,
    /// Set once the node drains (`stop_activating`).
    draining: std::sync::atomic::AtomicBool,
    /// Renews the leases of every virtual actor hosted here.
    keeper: Arc<LeaseKeeper>,
    /// A publish failed and the resync it calls for has not been sent yet.
    resync_owed: std::sync::atomic::AtomicBool,
}

/// Cheap to clone; one per node.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl Router {
    /// Creates the router and starts its publisher and bus-listener tasks (on the current
    /// tokio runtime).
    pub fn start(
        node_id: String,
        bus: Arc<dyn Bus>,
        leases: Arc<dyn Leases>,
        lease_ttl: Duration,
        registry: Registry,
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
                registry,
                keeper,
                local: Mutex::new(HashMap::new()),
                outgoing,
                runtime: tokio::runtime::Handle::current(),
                lease_ttl,
                draining: false.into(),
                resync_owed: false.into(),
            }),
        };
        router.spawn(router.clone().publish_loop(outgoing_rx));
        let mut channels: Vec<String> = router.inner.registry.channels.keys().cloned().collect();
        channels.push(RESYNC_CHANNEL.to_owned());
        let bus = router.inner.bus.clone();
        router.spawn(async move {
            for channel in channels {
                if let Err(e) = bus.subscribe(&channel).await {
                    tracing::error!(error = %e, %channel, "could not subscribe a node-wide channel");
                }
            }
        });
        if let Some(incoming) = incoming {
            router.spawn(router.clone().listen_loop(incoming));
        }
        if let Some(mut resubscriptions) = resubscriptions {
            let resync = router.clone();
            router.spawn(async move {
                while resubscriptions.changed().await.is_ok() {
                    resync.resync_sessions("bus resubscribed");
                }
            });
        }
        router
    }

    /// Every session on this node fetches its game's state again: updates on the bus may
    /// have been missed.
    fn resync_sessions(&self, why: &'static str) {
        let sockets = self.mailboxes(true);
        tracing::info!(sessions = sockets.len(), why, "resyncing sessions");
        for mailbox in sockets {
            let _ = mailbox.deliver(SessionEvent::Resync.into());
        }
    }

    /// A publish failed: what it carried may be lost to a session on a node whose own
    /// connection never broke, so that nothing there calls for a resync. Once the bus takes a
    /// message again, this node tells every node (itself included) to resync its sessions.
    fn publish_failed(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.inner.resync_owed.swap(true, SeqCst) {
            return; // already on its way
        }
        let router = self.clone();
        self.spawn(async move {
            loop {
                tokio::time::sleep(RESYNC_RETRY).await;
                // Cleared first: a publish failing after this point owes a resync of its own.
                router.inner.resync_owed.store(false, SeqCst);
                match router.inner.bus.publish(RESYNC_CHANNEL, Vec::new()).await {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::debug!(error = %e, "resync not sent yet");
                        if router.inner.resync_owed.swap(true, SeqCst) {
                            return; // a newer failure sends it
                        }
                    }
                }
            }
        });
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.inner.runtime.spawn(task);
    }

    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    pub fn lease_ttl(&self) -> Duration {
        self.inner.lease_ttl
    }

    pub fn lease_keeper(&self) -> &LeaseKeeper {
        &self.inner.keeper
    }

    /// Delivers locally when this node hosts the target, otherwise hands the envelope to the
    /// ordered publisher. Never blocks.
    pub fn send(&self, envelope: Envelope) {
        // A group may have members on other nodes too: it always goes through the bus, and
        // every node (this one included) delivers to its own members as it receives it.
        if self.is_group(&envelope.to) {
            let _ = self.inner.outgoing.send(envelope);
        } else if let Err(envelope) = self.try_local(envelope) {
            let _ = self.inner.outgoing.send(*envelope);
        }
    }

    /// Local delivery; Err gives the envelope back when the target is not hosted here.
    fn try_local(&self, envelope: Envelope) -> Result<(), Box<Envelope>> {
        let mut local = self.inner.local.lock().expect("poisoned");
        match local.get_mut(&envelope.to) {
            Some(Slot::Activating(pending)) => {
                pending.push(envelope);
                Ok(())
            }
            Some(Slot::Group(_)) => Err(Box::new(envelope)),
            Some(Slot::Waiter(_)) => {
                if let Some(Slot::Waiter(waiter)) = local.remove(&envelope.to) {
                    replies::answer(waiter, envelope.body);
                }
                Ok(())
            }
            Some(Slot::Active { mailbox, .. }) => match mailbox.deliver(envelope.body) {
                Ok(()) => Ok(()),
                Err(body) => {
                    tracing::debug!(key = %envelope.to, "local actor gone");
                    local.remove(&envelope.to);
                    Err(Box::new(Envelope {
                        to: envelope.to,
                        body,
                    }))
                }
            },
            None => Err(Box::new(envelope)),
        }
    }

    /// Called by a virtual actor as it gives its address up: frees its slot and channel (unless
    /// a newer activation here holds them) and its lease.
    pub fn deactivated(&self, address: &Address, lease: &Lease) {
        let removed = {
            let mut local = self.inner.local.lock().expect("poisoned");
            let ours = matches!(local.get(address),
                Some(Slot::Active { fence: Some(fence), .. }) if *fence == lease.fence);
            ours && local.remove(address).is_some()
        };
        self.inner.keeper.forget(lease);
        let inner = self.inner.clone();
        let (key, lease) = (address.key().to_owned(), lease.clone());
        self.spawn(async move {
            if removed {
                let _ = inner.bus.unsubscribe(&key).await;
            }
            let _ = inner.leases.release(&lease, &inner.node_id).await;
        });
    }

    /// The node drains: from now on no virtual actor is activated here; their messages are
    /// refused as `unavailable` until another node takes them.
    pub fn stop_activating(&self) {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many actors of each kind this node hosts (every kind listed, zeros included).
    pub fn hosted(&self) -> BTreeMap<ActorKind, usize> {
        let mut counts: BTreeMap<ActorKind, usize> =
            ActorKind::ALL.iter().map(|k| (*k, 0)).collect();
        let local = self.inner.local.lock().expect("poisoned");
        for (address, slot) in local.iter() {
            if let Slot::Active { .. } = slot {
                *counts.entry(address.kind()).or_default() += 1;
            }
        }
        counts
    }

    /// The addresses of the `kind` actors this node hosts.
    pub fn hosted_addresses(&self, kind: ActorKind) -> Vec<Address> {
        let local = self.inner.local.lock().expect("poisoned");
        local
            .iter()
            .filter(|(address, slot)| {
                address.kind() == kind && matches!(slot, Slot::Active { socket: None, .. })
            })
            .map(|(address, _)| address.clone())
            .collect()
    }

    /// How many virtual actors (`sockets` false) or sockets (true) this node hosts.
    pub fn hosted_count(&self, sockets: bool) -> usize {
        self.mailboxes(sockets).len()
    }

    fn mailboxes(&self, sockets: bool) -> Vec<Mailbox> {
        let local = self.inner.local.lock().expect("poisoned");
        local
            .values()
            .filter_map(|slot| match slot {
                Slot::Active {
                    mailbox, socket, ..
                } if socket.is_some() == sockets => Some(mailbox.clone()),
                _ => None,
            })
            .collect()
    }

    /// Tells every virtual actor (`sockets` false) or socket (true) hosted here to passivate;
    /// returns how many were told.
    pub fn passivate(&self, sockets: bool) -> usize {
        let mailboxes = self.mailboxes(sockets);
        for mailbox in &mailboxes {
            mailbox.passivate.do_send(Passivate);
        }
        mailboxes.len()
    }

    /// The channel and bytes of an envelope on the bus.
    fn encode(envelope: &Envelope) -> Option<(String, Vec<u8>)> {
        match serde_json::to_vec(envelope) {
            Ok(payload) => Some((envelope.to.key().to_owned(), payload)),
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
                self.publish_failed();
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
                // It may have become local while it waited (a group never does).
                let envelope = if self.is_group(&envelope.to) {
                    Box::new(envelope)
                } else {
                    match self.try_local(envelope) {
                        Ok(()) => continue,
                        Err(envelope) => envelope,
                    }
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
                    self.publish_failed();
                    vec![0; remote.len()]
                }
            };
            let delivered = receivers.iter().filter(|n| **n > 0).count();
            metrics::counter!(names::BUS_PUBLISHED).increment(delivered as u64);
            // Nobody received it (or the bus is down): the target is hosted nowhere.
            for (envelope, _) in remote.into_iter().zip(receivers).filter(|(_, n)| *n == 0) {
                self.absent(envelope);
            }
        }
    }

    /// A message nobody received: its kind's fallback takes it.
    fn absent(&self, envelope: Envelope) {
        let kind = envelope.to.kind();
        if self.inner.registry.groups.contains(&kind) || kind == ActorKind::Reply {
            return; // a group nobody is in, or an answer nobody waits for any more
        }
        if let Some(offline) = self.inner.registry.offline.get(&kind) {
            tracing::debug!(key = %envelope.to, "connected nowhere: updating its stored state");
            let offline = offline.clone();
            self.spawn(async move { offline.deliver_offline(envelope).await });
        } else if self.inner.registry.activators.contains_key(&kind) {
            if self
                .inner
                .draining
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return self.refuse(envelope, Refusal::Unavailable);
            }
            self.activate(envelope);
        } else {
            tracing::error!(?kind, "no activator registered for this kind of actor");
            self.refuse(envelope, Refusal::Unavailable);
        }
    }

    /// Tells the sender of an undeliverable envelope, if it has one.
    fn refuse(&self, envelope: Envelope, refusal: Refusal) {
        if let Some(reply) = envelope.refusal(refusal) {
            self.send(reply);
        }
    }

    async fn listen_loop(self, mut incoming: mpsc::UnboundedReceiver<Incoming>) {
        while let Some(message) = incoming.recv().await {
            if let Some(handler) = self.inner.registry.channels.get(&message.channel) {
                handler(&message.payload);
                continue;
            }
            if message.channel == RESYNC_CHANNEL {
                self.resync_sessions("a node's publish failed");
                continue;
            }
            let envelope = serde_json::from_slice::<Envelope>(&message.payload);
            if let Ok(envelope) = &envelope {
                metrics::counter!(names::BUS_RECEIVED, "kind" => envelope.to.kind().prefix())
                    .increment(1);
            }
            match envelope {
                Ok(envelope) if self.is_group(&envelope.to) => self.deliver_group(envelope),
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
        let address = envelope.to.clone();
        {
            let mut local = self.inner.local.lock().expect("poisoned");
            match local.get_mut(&address) {
                Some(Slot::Activating(pending)) => return pending.push(envelope),
                Some(Slot::Active { .. } | Slot::Group(_) | Slot::Waiter(_)) => {
                    drop(local);
                    return self.send(envelope);
                }
                None => {
                    local.insert(address.clone(), Slot::Activating(vec![envelope]));
                }
            }
        }
        let router = self.clone();
        self.spawn(async move { router.run_activation(address).await });
    }

    async fn run_activation(self, address: Address) {
        let inner = &self.inner;
        let key = address.key();
        let Some(activator) = inner.registry.activators.get(&address.kind()).cloned() else {
            return;
        };
        let started = tokio::time::Instant::now();
        let outcome = loop {
            match inner
                .leases
                .acquire(key, &inner.node_id, inner.lease_ttl)
                .await
            {
                Ok(Some(lease)) => {
                    if let Err(e) = inner.bus.subscribe(key).await {
                        tracing::warn!(error = %e, channel = %key, "subscribe failed during activation");
                    }
                    let result = activator.activate(&self, &address, lease.clone()).await;
                    if result.is_err() {
                        let _ = inner.bus.unsubscribe(key).await;
                        let _ = inner.leases.release(&lease, &inner.node_id).await;
                    }
                    break result.map(|mailbox| (mailbox, lease.fence));
                }
                // Another node owns it: hand it what waits here. If it does not answer (it
                // died and its lease has yet to expire), keep the rest and try again.
                Ok(None) => {
                    if self.forward_pending(&address).await {
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
            let pending = match local.remove(&address) {
                Some(Slot::Activating(pending)) => pending,
                Some(active) => {
                    local.insert(address.clone(), active);
                    Vec::new()
                }
                None => Vec::new(),
            };
            if let Ok((mailbox, fence)) = &outcome {
                let slot = Slot::Active {
                    mailbox: mailbox.clone(),
                    socket: None,
                    fence: Some(*fence),
                };
                local.insert(address.clone(), slot);
            }
            pending
        };
        match outcome {
            Ok((mailbox, _)) => {
                metrics::counter!(names::ACTIVATIONS, "kind" => address.kind().prefix())
                    .increment(1);
                for envelope in pending {
                    if let Err(body) = mailbox.deliver(envelope.body) {
                        let to = envelope.to;
                        self.refuse(Envelope { to, body }, Refusal::Unavailable);
                    }
                }
            }
            Err(refusal) => {
                for envelope in pending {
                    self.refuse(envelope, refusal);
                }
            }
        }
    }

    /// Publishes what waits in an activating slot to the node that owns it. True when all of
    /// it was received (the slot is gone); false when something is still waiting.
    async fn forward_pending(&self, key: &Address) -> bool {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use actix::prelude::*;

    use super::*;
    use crate::cluster::bus::BusError;
    use crate::cluster::memory::{MemoryBus, MemoryCluster};
    use crate::domain::SessionId;

    /// A session as the router sees it: whatever reaches it is told to the test.
    struct Probe(mpsc::UnboundedSender<SessionEvent>);

    impl Actor for Probe {
        type Context = Context<Self>;
    }

    impl Handler<SessionEvent> for Probe {
        type Result = ();
        fn handle(&mut self, event: SessionEvent, _: &mut Context<Self>) {
            let _ = self.0.send(event);
        }
    }

    impl Handler<Passivate> for Probe {
        type Result = ();
        fn handle(&mut self, _: Passivate, _: &mut Context<Self>) {}
    }

    /// A bus whose next `failures` publishes fail, as they do while Redis is away, though this
    /// node's subscriptions stay up.
    struct Failing {
        bus: MemoryBus,
        failures: AtomicUsize,
    }

    #[async_trait]
    impl Bus for Failing {
        async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<usize, BusError> {
            let fail = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if fail.is_ok() {
                return Err(BusError::Unavailable("redis away".into()));
            }
            self.bus.publish(channel, payload).await
        }
        async fn subscribe(&self, channel: &str) -> Result<(), BusError> {
            self.bus.subscribe(channel).await
        }
        async fn unsubscribe(&self, channel: &str) -> Result<(), BusError> {
            self.bus.unsubscribe(channel).await
        }
        fn take_incoming(&self) -> Option<mpsc::UnboundedReceiver<Incoming>> {
            self.bus.take_incoming()
        }
    }

    #[actix::test]
    async fn an_update_lost_to_a_failed_publish_makes_every_session_resync() {
        let cluster = MemoryCluster::new();
        let ttl = Duration::from_secs(5);
        let n1 = Router::start(
            "n1".into(),
            Arc::new(cluster.bus()),
            cluster.clone(),
            ttl,
            Registry::default(),
        );
        // n2's publishes fail twice: the update, then its first try at the resync.
        let failing = Failing {
            bus: cluster.bus(),
            failures: AtomicUsize::new(2),
        };
        let n2 = Router::start(
            "n2".into(),
            Arc::new(failing),
            cluster.clone(),
            ttl,
            Registry::default(),
        );
        let (heard, mut hears) = mpsc::unbounded_channel();
        let probe = Probe(heard).start();
        let session = SessionId::generate();
        n1.register_socket(&session, Mailbox::of::<Probe, SessionEvent>(&probe), 1)
            .await;

        n2.send(Envelope::session(
            &session,
            SessionEvent::TakenOver { by: 7 },
        ));
        // The update itself is lost; the resync once the bus is back makes up for it. (The
        // socket may hear its own takeover notice first, which names its own connection.)
        let resynced = async {
            while let Some(event) = hears.recv().await {
                match event {
                    SessionEvent::Resync => return,
                    SessionEvent::TakenOver { by: 1 } => {}
                    other => panic!("{other:?}"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), resynced)
            .await
            .expect("no resync came");
    }
}
