//! The node as the HTTP layer and the sockets see it: every service a handler or a session
//! needs, in one cheap-to-clone handle. It builds nothing: the composition root (`startup`)
//! makes the parts, and virtual actors see only their own narrow context
//! (`actors::ActorEnv`).

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::auth::Accounts;
use crate::cluster::{Membership, Router, SnapshotStore};
use crate::config::Config;
use crate::events::listener::Listeners;
use crate::events::EventLog;
use crate::jobs::Jobs;
use crate::notify::Notifier;
use crate::rooms::Rooms;
use crate::session::{SessionEnv, Sessions};
use crate::store::Store;

pub struct NodeInner {
    pub id: String,
    pub config: Arc<Config>,
    pub router: Router,
    pub snapshots: Arc<dyn SnapshotStore>,
    pub store: Arc<dyn Store>,
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub membership: Arc<dyn Membership>,
    /// Deferred work (beanstalkd semantics).
    pub jobs: Arc<dyn Jobs>,
    /// The game event log, and the listeners this node runs on it.
    pub events: Arc<dyn EventLog>,
    pub listeners: Arc<Listeners>,
    /// Whether this node's analysis workers have a chess engine (Stockfish) to use.
    pub chess_analysis: bool,
    /// Stores, pushes and emails notifications.
    pub notifier: Notifier,
    /// Chat rooms' history and the live-games index.
    pub rooms: Rooms,
    /// `embedded` or `cluster`, for logs and `/readyz`.
    pub mode: &'static str,
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

impl Node {
    pub fn new(inner: NodeInner) -> Node {
        Node(Arc::new(inner))
    }

    /// What a new socket's session actor gets.
    pub fn session_env(&self) -> SessionEnv {
        SessionEnv {
            config: self.config.clone(),
            router: self.router.clone(),
            accounts: self.accounts.clone(),
            sessions: self.sessions.clone(),
            snapshots: self.snapshots.clone(),
            rooms: self.rooms.clone(),
            store: self.store.clone(),
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
