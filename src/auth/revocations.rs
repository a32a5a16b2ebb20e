//! The node's cache of revoked sign-ins, in front of the cluster's ledger: whether a token's
//! family is revoked is asked of Redis once per family and lifetime, not on every connect and
//! every authenticated request. A revocation through any node drops the family here at once
//! and on every other node through the bus (`auth:revoked`), so a logout holds everywhere
//! within a bus hop; a lost bus connection empties the cache, and the lifetime of an entry
//! bounds what a revocation nobody heard of (its node died before publishing) leaves behind.
//! Login windows and spent refresh tokens are not cached: they change on every use.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::cache::ChangeCache;
use super::ledger::{Count, Ledger, LedgerError};
use crate::cluster::Bus;

/// The bus channel every node's revocation cache listens on (under the bus's own prefix).
pub const REVOKED_CHANNEL: &str = "auth:revoked";

/// What the bus carries: the sign-in families some node just revoked.
#[derive(Debug, Serialize, Deserialize)]
pub struct Revoked {
    pub families: Vec<String>,
}

/// Whether a family is revoked, by family id; see the module doc.
pub type RevocationCache = ChangeCache<String, bool>;

/// Takes a revocation some node published on [`REVOKED_CHANNEL`].
pub fn hear(cache: &RevocationCache, payload: &[u8]) {
    match serde_json::from_slice::<Revoked>(payload) {
        Ok(revoked) => cache.drop_keys(&revoked.families),
        Err(e) => tracing::warn!(error = %e, "undecodable revocation"),
    }
}

/// The ledger with the node's revocation cache in front of `revoked`; every revocation
/// through it is told to every node.
pub struct CachedLedger {
    inner: Arc<dyn Ledger>,
    cache: Arc<RevocationCache>,
    bus: Arc<dyn Bus>,
}

impl CachedLedger {
    pub fn new(
        inner: Arc<dyn Ledger>,
        cache: Arc<RevocationCache>,
        bus: Arc<dyn Bus>,
    ) -> CachedLedger {
        CachedLedger { inner, cache, bus }
    }
}

#[async_trait]
impl Ledger for CachedLedger {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError> {
        self.inner.hit(key, limit, window).await
    }

    async fn peek(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError> {
        self.inner.peek(key, limit, window).await
    }

    async fn revoke(&self, id: &str, ttl: Duration) -> Result<(), LedgerError> {
        self.inner.revoke(id, ttl).await?;
        let families = vec![id.to_owned()];
        self.cache.drop_keys(&families);
        let payload = serde_json::to_vec(&Revoked { families }).expect("serialisable");
        if let Err(e) = self.bus.publish(REVOKED_CHANNEL, payload).await {
            // The other nodes keep what they read for at most the cache's lifetime.
            tracing::warn!(error = %e, "revocation not told to the other nodes");
        }
        Ok(())
    }

    async fn revoked(&self, id: &str) -> Result<bool, LedgerError> {
        let key = id.to_owned();
        if let Some(revoked) = self.cache.get(&key) {
            return Ok(revoked);
        }
        let ticket = self.cache.ticket();
        let revoked = self.inner.revoked(id).await?;
        self.cache.put(&key, &revoked, ticket);
        Ok(revoked)
    }

    async fn spend(&self, id: &str, ttl: Duration) -> Result<Option<u64>, LedgerError> {
        self.inner.spend(id, ttl).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ledger::MemoryLedger;
    use crate::cluster::memory::MemoryCluster;

    /// Two nodes sharing one ledger, each with its own cache and bus endpoint.
    #[tokio::test]
    async fn a_revocation_is_asked_once_and_dropped_on_every_node_by_the_bus() {
        let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::default());
        let cluster = MemoryCluster::new();
        let minute = Duration::from_secs(60);
        let node = |bus: Arc<dyn Bus>| {
            let cache = Arc::new(RevocationCache::new(minute));
            (CachedLedger::new(ledger.clone(), cache.clone(), bus), cache)
        };
        let (a, _) = node(Arc::new(cluster.bus()));
        let b_bus = cluster.bus();
        b_bus.subscribe(REVOKED_CHANNEL).await.unwrap();
        let mut b_incoming = b_bus.take_incoming().unwrap();
        let (b, b_cache) = node(Arc::new(b_bus));

        assert!(!b.revoked("fam").await.unwrap());
        a.revoke("fam", minute).await.unwrap();
        assert!(
            a.revoked("fam").await.unwrap(),
            "dropped at once where revoked"
        );
        assert!(
            !b.revoked("fam").await.unwrap(),
            "b answers from its cache until it hears the revocation"
        );
        let heard = b_incoming.recv().await.unwrap();
        assert_eq!(heard.channel, REVOKED_CHANNEL);
        hear(&b_cache, &heard.payload);
        assert!(b.revoked("fam").await.unwrap(), "heard: asked again");
        hear(&b_cache, b"not json");
        assert!(b.revoked("fam").await.unwrap());
    }
}
