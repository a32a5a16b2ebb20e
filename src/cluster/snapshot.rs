//! Snapshots and leases: where actor state lives between activations, and who may own an actor.
//!
//! Single activation works like this (the same rules for every implementation):
//! a node may host a game or queue actor only while it holds the actor's lease; each
//! acquisition takes a new, strictly larger fencing number; a fenced save succeeds only if the
//! stored fence is not larger than the writer's and the stored revision is smaller than the
//! writer's. So a node that lost its lease can never overwrite newer state.

use std::time::Duration;

use async_trait::async_trait;

/// A stored snapshot with the fence and revision it was written under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub data: Vec<u8>,
    pub fence: u64,
    pub rev: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SaveError {
    /// A newer owner (larger fence) has written: this writer lost its lease.
    #[error("fenced out: stored fence {stored} is newer than {ours}")]
    Fenced { stored: u64, ours: u64 },
    /// The stored revision is not older than the one being written.
    #[error("stale revision: stored {stored}, writing {ours}")]
    Stale { stored: u64, ours: u64 },
    #[error("snapshot store unavailable: {0}")]
    Unavailable(String),
}

/// A held lease: the key it guards and the fencing number of this acquisition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub fence: u64,
}

#[async_trait]
pub trait SnapshotStore: Send + Sync + 'static {
    /// Reads a snapshot.
    async fn load(&self, key: &str) -> Result<Option<Stored>, SaveError>;
    /// Reads a snapshot for a new owner and, in the same step, marks it with the owner's
    /// `fence` (data, revision and expiry unchanged): from then on the previous owner's late
    /// writes are fenced out, so the state the new owner starts from cannot be overtaken.
    /// `Fenced` if an even newer owner claimed it; None if nothing is stored.
    async fn claim(&self, key: &str, fence: u64) -> Result<Option<Stored>, SaveError>;
    /// Compare-and-set write (see the module doc); `ttl` None keeps it forever.
    async fn save(
        &self,
        key: &str,
        data: Vec<u8>,
        fence: u64,
        rev: u64,
        ttl: Option<Duration>,
    ) -> Result<(), SaveError>;
    /// Unconditional write, for state that has one writer at a time (session snapshots).
    async fn put(&self, key: &str, data: Vec<u8>, ttl: Duration) -> Result<(), SaveError>;
    /// Removes a snapshot.
    async fn delete(&self, key: &str) -> Result<(), SaveError>;
    /// Publishes a queue's waiting count for `GET /api/queues`.
    async fn set_queue_size(&self, queue: &str, waiting: u64) -> Result<(), SaveError>;
    /// Every queue's last published waiting count.
    async fn queue_sizes(&self) -> Result<Vec<(String, u64)>, SaveError>;
}

#[async_trait]
pub trait Leases: Send + Sync + 'static {
    /// Takes the lease if nobody holds it (or `node` already does); a new fence either way.
    async fn acquire(
        &self,
        key: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, SaveError>;
    /// Extends a held lease; false if it is no longer ours.
    async fn renew(&self, lease: &Lease, node: &str, ttl: Duration) -> Result<bool, SaveError>;
    /// Extends many held leases at once (in one round trip where the store allows): one
    /// answer per lease, in order.
    async fn renew_many(
        &self,
        leases: &[Lease],
        node: &str,
        ttl: Duration,
    ) -> Result<Vec<bool>, SaveError> {
        let mut renewed = Vec::with_capacity(leases.len());
        for lease in leases {
            renewed.push(self.renew(lease, node, ttl).await?);
        }
        Ok(renewed)
    }
    /// Gives a lease back (no-op if it is no longer ours).
    async fn release(&self, lease: &Lease, node: &str) -> Result<(), SaveError>;
}
