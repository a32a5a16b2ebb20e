//! The node: every service an actor or handler needs, in one cheap-to-clone handle, and the
//! router's host (how this node starts game and queue actors and reaches offline sessions).

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use async_trait::async_trait;
use client_protocol::{ErrorCode, GameStatus, ServerFrame, ServerMessage};

use crate::actors::game::{GameActor, GameState};
use crate::actors::queue::{QueueActor, QueueState};
use crate::auth::Accounts;
use crate::cluster::router::{Address, Envelope, Host, LocalActor, Refusal};
use crate::cluster::{Lease, Membership, Router, SnapshotStore};
use crate::config::Config;
use crate::domain::{GameId, SessionId};
use crate::session::actor::SessionEvent;
use crate::session::Sessions;
use crate::store::{FinishedGame, Store, StoreError};

/// Where finished games go: appended here, written to the store by whoever consumes it.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Durably accepts a finished game (idempotent by game id).
    async fn append(&self, game: &FinishedGame) -> Result<(), StoreError>;
}

/// The embedded outbox: the store itself is durable, so appending is writing.
pub struct DirectOutbox(pub Arc<dyn Store>);

#[async_trait]
impl Outbox for DirectOutbox {
    async fn append(&self, game: &FinishedGame) -> Result<(), StoreError> {
        self.0.record_game(game).await
    }
}

pub struct NodeInner {
    pub id: String,
    pub config: Config,
    pub router: Router,
    pub snapshots: Arc<dyn SnapshotStore>,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<dyn Outbox>,
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub membership: Arc<dyn Membership>,
    /// `embedded` or `cluster`, for logs and `/readyz`.
    pub mode: &'static str,
    /// Arbiters hosting game and queue actors, round-robin.
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: AtomicUsize,
    /// Set when the node stops taking new sockets.
    pub draining: AtomicBool,
}

/// A handle on the node's services.
#[derive(Clone)]
pub struct Node(Arc<NodeInner>);

impl Deref for Node {
    type Target = NodeInner;
    fn deref(&self) -> &NodeInner {
        &self.0
    }
}

/// Everything a node is built from (see `startup`).
pub struct NodeParts {
    pub id: String,
    pub config: Config,
    pub router: Router,
    pub snapshots: Arc<dyn SnapshotStore>,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<dyn Outbox>,
    pub accounts: Accounts,
    pub membership: Arc<dyn Membership>,
    pub mode: &'static str,
    pub arbiters: Vec<ArbiterHandle>,
}

impl Node {
    pub fn new(parts: NodeParts) -> Node {
        let ttl = std::time::Duration::from_secs(parts.config.session_ttl_secs);
        let node = Node(Arc::new(NodeInner {
            sessions: Sessions::new(parts.snapshots.clone(), ttl),
            id: parts.id,
            config: parts.config,
            router: parts.router,
            snapshots: parts.snapshots,
            store: parts.store,
            outbox: parts.outbox,
            accounts: parts.accounts,
            membership: parts.membership,
            mode: parts.mode,
            arbiters: parts.arbiters,
            next_arbiter: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
        }));
        node.router
            .attach_host(Arc::new(NodeHost(Arc::downgrade(&node.0))));
        node
    }

    fn arbiter(&self) -> ArbiterHandle {
        let i = self.next_arbiter.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
        self.arbiters[i].clone()
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Is this game still being played (its snapshot exists and is not over)?
    pub async fn game_is_live(&self, game: &GameId) -> bool {
        match self.snapshots.load(&GameState::snapshot_key(game)).await {
            Ok(Some(stored)) => serde_json::from_slice::<GameState>(&stored.data)
                .map(|state| state.status != GameStatus::Over)
                .unwrap_or(false),
            Ok(None) => false,
            Err(_) => true, // cannot tell: let the game actor answer
        }
    }

    async fn activate_game(&self, id: &GameId, lease: Lease) -> Result<LocalActor, Refusal> {
        let stored = self
            .snapshots
            .load(&GameState::snapshot_key(id))
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let stored = stored.ok_or(Refusal::NotFound)?;
        let state: GameState = serde_json::from_slice(&stored.data).map_err(|e| {
            tracing::error!(game = %id, error = %e, "corrupt game snapshot");
            Refusal::NotFound
        })?;
        let node = self.clone();
        let actor = GameActor::from_snapshot(node, lease, state).map_err(|e| {
            tracing::error!(game = %id, error = %e, "game snapshot does not rebuild");
            Refusal::NotFound
        })?;
        let addr = GameActor::start_in_arbiter(&self.arbiter(), move |_| actor);
        tracing::debug!(game = %id, "game activated");
        Ok(LocalActor::Game(addr))
    }

    async fn activate_queue(
        &self,
        key: &crate::domain::QueueKey,
        lease: Lease,
    ) -> Result<LocalActor, Refusal> {
        let stored = self
            .snapshots
            .load(key.as_str())
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let state = match stored {
            Some(stored) => serde_json::from_slice::<QueueState>(&stored.data).map_err(|e| {
                tracing::error!(queue = %key, error = %e, "corrupt queue snapshot");
                Refusal::Unavailable
            })?,
            None => QueueState::new(key.clone(), key.spec().ok_or(Refusal::NotFound)?),
        };
        let node = self.clone();
        let addr = QueueActor::start_in_arbiter(&self.arbiter(), move |_| {
            QueueActor::new(node, lease, state)
        });
        Ok(LocalActor::Queue(addr))
    }
}

/// The router's view of its node. Weak: the node owns the router, not the other way round.
struct NodeHost(std::sync::Weak<NodeInner>);

impl NodeHost {
    fn node(&self) -> Option<Node> {
        self.0.upgrade().map(Node)
    }
}

#[async_trait]
impl Host for NodeHost {
    async fn activate(&self, address: &Address, lease: Lease) -> Result<LocalActor, Refusal> {
        let node = self.node().ok_or(Refusal::Unavailable)?;
        match address {
            Address::Game(id) => node.activate_game(id, lease).await,
            Address::Queue(key) => node.activate_queue(key, lease).await,
            Address::Session(_) => Err(Refusal::NotFound),
        }
    }

    fn refuse(&self, envelope: Envelope, refusal: Refusal) {
        let Some(node) = self.node() else { return };
        // What was not found: a game the client named (`no_such_game`), or a queue it could
        // only have named through a field (`invalid_field`).
        let (from, what, not_found) = match envelope {
            Envelope::Game { game, command } => {
                (command.from, format!("game {game}"), ErrorCode::NoSuchGame)
            }
            Envelope::Queue { queue, command } => (
                Some(command.from),
                format!("queue {queue}"),
                ErrorCode::InvalidField,
            ),
            Envelope::Session { .. } => return,
        };
        let Some(from) = from else { return };
        let (code, message) = match refusal {
            Refusal::NotFound => (not_found, format!("no {what}")),
            Refusal::Unavailable => (
                ErrorCode::Unavailable,
                format!("{what} is unavailable, retry"),
            ),
        };
        let frame = ServerFrame {
            reference: from.reference,
            message: ServerMessage::error(code, message),
        };
        node.router.send_session(
            &from.session,
            SessionEvent::Push {
                frame: Box::new(frame),
            },
        );
    }

    async fn deliver_offline(&self, session: SessionId, event: SessionEvent) {
        let Some(node) = self.node() else { return };
        if let SessionEvent::Push { frame } = event {
            if let Err(e) = node.sessions.apply_offline(&session, &frame).await {
                tracing::warn!(%session, error = %e, "offline session update failed");
            }
        }
    }
}
