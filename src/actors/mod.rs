//! The virtual actors a node hosts on demand: one per live game and one per matchmaking
//! queue. They never touch sockets or HTTP; they talk to players through the router, and see
//! only the narrow [`ActorEnv`] (config, router, snapshots, event log, store, notifier).
//!
//! A virtual-actor kind implements [`VirtualActor`] in its own file and is registered once in
//! `startup` with [`register`]; the router activates it through the generic [`Activation`].

pub mod game;
pub mod queue;
pub mod tournament;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::cluster::{
    keep_lease, Activator, Lease, LeaseLost, Mailbox, Passivate, Registry, Router, SnapshotStore,
};
use crate::config::Config;
use crate::events::EventLog;
use crate::messages::{Address, Body, Deliverable, Envelope, Refusal};
use crate::notify::Notifier;
use crate::rooms::Rooms;
use crate::store::Store;

/// The services a virtual actor may use, whichever node it runs on.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub snapshots: Arc<dyn SnapshotStore>,
    /// The game event log (finished games reach the store through its recorder listener).
    pub events: Arc<dyn EventLog>,
    pub store: Arc<dyn Store>,
    pub notifier: Notifier,
    /// Chat history (a finished game keeps its players' chat) and the live-games index.
    pub rooms: Rooms,
    arbiters: Arbiters,
}

impl Services {
    /// `arbiters` host the actors, round-robin (kept off the HTTP workers' threads).
    pub fn new(
        config: Arc<Config>,
        snapshots: Arc<dyn SnapshotStore>,
        events: Arc<dyn EventLog>,
        store: Arc<dyn Store>,
        notifier: Notifier,
        rooms: Rooms,
        arbiters: Vec<ArbiterHandle>,
    ) -> Services {
        Services {
            config,
            snapshots,
            events,
            store,
            notifier,
            rooms,
            arbiters: Arbiters(Arc::new((arbiters, AtomicUsize::new(0)))),
        }
    }
}

/// The environment one running actor holds: the services, and the router it talks through.
#[derive(Clone)]
pub struct ActorEnv {
    pub services: Services,
    pub router: Router,
}

impl std::ops::Deref for ActorEnv {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

impl ActorEnv {
    /// Keeps `lease` renewed for as long as the actor lives.
    pub fn keep_lease<A>(&self, ctx: &mut Context<A>, lease: Lease)
    where
        A: Actor<Context = Context<A>> + Handler<LeaseLost>,
    {
        keep_lease(ctx, self.router.lease_keeper(), lease);
    }
}

/// How long a retired actor lives on to forward what was already in its mailbox.
const RETIRE_LINGER: Duration = Duration::from_secs(1);

/// A virtual actor's hold on its address under a lease, and its retirement.
///
/// An actor that must stop (its lease is lost, a write was fenced out, the node drains, a
/// finished game lingered long enough) retires first: the router forgets it at once, so new
/// messages go to whoever owns the address next, and the commands already in its mailbox are
/// sent on to that owner instead of being dropped with the mailbox. Then it stops.
pub struct Tenure {
    pub address: Address,
    pub lease: Lease,
    retired: bool,
}

impl Tenure {
    pub fn new(address: Address, lease: Lease) -> Tenure {
        Tenure {
            address,
            lease,
            retired: false,
        }
    }

    pub fn is_retired(&self) -> bool {
        self.retired
    }

    /// Gives the address up now and stops the actor after a short linger.
    pub fn retire<A>(&mut self, env: &ActorEnv, ctx: &mut Context<A>)
    where
        A: Actor<Context = Context<A>>,
    {
        if std::mem::replace(&mut self.retired, true) {
            return;
        }
        env.router.deactivated(&self.address, &self.lease);
        ctx.run_later(RETIRE_LINGER, |_, ctx| ctx.stop());
    }

    /// The command back while the actor holds its address; once retired, the command is sent
    /// on to the address's next owner and None comes back.
    pub fn admit<M: Into<Body>>(&self, env: &ActorEnv, command: M) -> Option<M> {
        if !self.retired {
            return Some(command);
        }
        env.router.send(Envelope {
            to: self.address.clone(),
            body: command.into(),
        });
        None
    }

    /// For `Actor::stopped`: gives the address up if retiring did not.
    pub fn stopped(&mut self, env: &ActorEnv) {
        if !std::mem::replace(&mut self.retired, true) {
            env.router.deactivated(&self.address, &self.lease);
        }
    }
}

/// Arbiters for actors, handed out round-robin.
#[derive(Clone)]
struct Arbiters(Arc<(Vec<ArbiterHandle>, AtomicUsize)>);

impl Arbiters {
    fn next(&self) -> ArbiterHandle {
        let (handles, next) = &*self.0;
        handles[next.fetch_add(1, Ordering::Relaxed) % handles.len()].clone()
    }
}

/// An actor addressed by id, activated on demand from its snapshot under a lease.
pub trait VirtualActor:
    Actor<Context = Context<Self>>
    + Handler<Self::Command>
    + Handler<Passivate>
    + Handler<LeaseLost>
    + Send
{
    /// What the actor takes out of envelopes; its kind is the actor's kind.
    type Command: Deliverable;
    /// Its snapshot, as stored under its address's key.
    type Snapshot: DeserializeOwned;

    /// Rebuilds the actor from its snapshot (None: nothing stored yet) under a fresh lease.
    fn rebuild(
        ctx: ActorEnv,
        address: &Address,
        lease: Lease,
        snapshot: Option<Self::Snapshot>,
    ) -> Result<Self, Refusal>;
}

/// Starts a `VirtualActor` kind on this node for the router.
pub struct Activation<A> {
    services: Services,
    actor: PhantomData<fn() -> A>,
}

#[async_trait]
impl<A: VirtualActor> Activator for Activation<A> {
    async fn activate(
        &self,
        router: &Router,
        address: &Address,
        lease: Lease,
    ) -> Result<Mailbox, Refusal> {
        // Claimed, not only read: the old owner's late write cannot overtake what we start from.
        let stored = self
            .services
            .snapshots
            .claim(address.key(), lease.fence)
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let snapshot = match stored {
            Some(stored) => Some(serde_json::from_slice(&stored.data).map_err(|e| {
                tracing::error!(%address, error = %e, "corrupt snapshot");
                Refusal::NotFound
            })?),
            None => None,
        };
        let ctx = ActorEnv {
            services: self.services.clone(),
            router: router.clone(),
        };
        let actor = A::rebuild(ctx, address, lease, snapshot)?;
        let addr = A::start_in_arbiter(&self.services.arbiters.next(), move |_| actor);
        tracing::debug!(%address, "activated");
        Ok(Mailbox::of::<A, A::Command>(&addr))
    }
}

/// Registers virtual-actor kind `A`: one line per kind in the composition root.
pub fn register<A: VirtualActor>(registry: Registry, services: &Services) -> Registry {
    let activation = Activation::<A> {
        services: services.clone(),
        actor: PhantomData,
    };
    registry.activate(<A::Command as Deliverable>::KIND, activation)
}
