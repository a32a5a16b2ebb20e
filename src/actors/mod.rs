//! The virtual actors a node hosts on demand: one per live game and one per matchmaking
//! queue. They never touch sockets or HTTP; they talk to players through the router.

pub mod game;
pub mod lease;
pub mod queue;

use serde::{Deserialize, Serialize};

use crate::domain::{SessionId, UserId};

/// Who sent a command to an actor, and where its replies go.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sender {
    pub session: SessionId,
    pub user: UserId,
    /// The client message's `ref`, echoed by the reply.
    pub reference: Option<String>,
}
