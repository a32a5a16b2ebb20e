//! Cluster membership: each node announces itself with a heartbeat that expires, and
//! `/readyz` lists the peers it can see.

use std::time::Duration;

use async_trait::async_trait;

use super::snapshot::SaveError;

/// How often a node announces itself, and how long an announcement lasts.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(5);

#[async_trait]
pub trait Membership: Send + Sync + 'static {
    /// Announces `node` as alive for `ttl`.
    async fn heartbeat(&self, node: &str, ttl: Duration) -> Result<(), SaveError>;
    /// Withdraws `node` at once (a clean stop).
    async fn leave(&self, node: &str) -> Result<(), SaveError>;
    /// Every node whose announcement has not expired.
    async fn peers(&self) -> Result<Vec<String>, SaveError>;
}
