//! Player sessions: the websocket actor that holds a live connection (`actor`), how a
//! connection begins (`opening`), where each client message goes (`route`, pure), the session
//! state that survives the socket (`state`, snapshotted on every change), and the parsing and
//! limits of client frames (`frame`), and the websocket transport under them (`transport`:
//! whole messages, refusals with their RFC 6455 close codes).

pub mod actor;
pub mod chat;
pub mod frame;
pub mod opening;
pub mod route;
pub mod state;
pub mod transport;

pub use state::{SessionState, Sessions};

use std::sync::Arc;

use crate::auth::Accounts;
use crate::cluster::{Router, SnapshotStore};
use crate::config::Config;
use crate::rooms::Rooms;
use crate::store::Store;

/// What a socket's session needs from its node, and nothing more.
#[derive(Clone)]
pub struct SessionEnv {
    pub config: Arc<Config>,
    pub router: Router,
    pub accounts: Accounts,
    pub sessions: Sessions,
    /// To tell, on resuming, whether the session's game is still live.
    pub snapshots: Arc<dyn SnapshotStore>,
    /// Chat rooms' history and senders' flood records.
    pub rooms: Rooms,
    /// Accounts as they are now (a mute or a role holds from the next chat message).
    pub store: Arc<dyn Store>,
}
