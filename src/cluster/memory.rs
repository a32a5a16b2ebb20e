//! In-process implementations of the bus, snapshot store and leases: the embedded default of a
//! single node. Several nodes in one process (tests) may share one [`MemoryCluster`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::bus::{Bus, BusError, Incoming};
use super::membership::Membership;
use super::snapshot::{Lease, Leases, SaveError, SnapshotStore, Stored};

/// Subscribers of one channel: (bus member, its incoming queue).
type Subscribers = Vec<(u64, mpsc::UnboundedSender<Incoming>)>;

/// Shared state of an in-process "cluster": channels, snapshots, leases.
#[derive(Default)]
pub struct MemoryCluster {
    channels: Mutex<HashMap<String, Subscribers>>,
    snapshots: Mutex<HashMap<String, (Stored, Option<Instant>)>>,
    leases: Mutex<HashMap<String, (String, u64, Instant)>>,
    fences: Mutex<HashMap<String, u64>>,
    queue_sizes: Mutex<HashMap<String, u64>>,
    next_member: Mutex<u64>,
    /// Snapshot writes and lease acquisitions since the last sweep.
    writes: Mutex<u64>,
    members: Mutex<HashMap<String, Instant>>,
}

/// Expired snapshots and leases, and the fences of actors that have neither, are swept once per
/// this many snapshot writes and lease acquisitions, so memory stays bounded by what is alive.
const SWEEP_EVERY: u64 = 1024;

impl MemoryCluster {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Inserts a snapshot, sweeping now and then.
    fn insert(
        &self,
        snapshots: &mut HashMap<String, (Stored, Option<Instant>)>,
        key: &str,
        entry: (Stored, Option<Instant>),
    ) {
        snapshots.insert(key.to_owned(), entry);
        if self.sweep_due() {
            self.sweep(snapshots);
        }
    }

    /// Counts one write or acquisition; true once per [`SWEEP_EVERY`].
    fn sweep_due(&self) -> bool {
        let mut writes = self.writes.lock().expect("poisoned");
        *writes += 1;
        let due = *writes >= SWEEP_EVERY;
        if due {
            *writes = 0;
        }
        due
    }

    /// Drops expired snapshots and leases, then the fence of every actor left with neither: a
    /// finished actor, or an id someone asked for that never existed, leaves nothing behind.
    /// Locks in the order snapshots, leases, fences (acquire takes the last two in that order).
    fn sweep(&self, snapshots: &mut HashMap<String, (Stored, Option<Instant>)>) {
        snapshots.retain(|_, (_, expiry)| alive(expiry));
        let mut leases = self.leases.lock().expect("poisoned");
        let now = Instant::now();
        leases.retain(|_, (_, _, expires)| *expires > now);
        self.fences
            .lock()
            .expect("poisoned")
            .retain(|key, _| snapshots.contains_key(key) || leases.contains_key(key));
    }

    /// A bus endpoint for one node.
    pub fn bus(self: &Arc<Self>) -> MemoryBus {
        let mut next = self.next_member.lock().expect("poisoned");
        *next += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        MemoryBus {
            cluster: self.clone(),
            member: *next,
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

/// One node's endpoint on an in-process bus.
pub struct MemoryBus {
    cluster: Arc<MemoryCluster>,
    member: u64,
    tx: mpsc::UnboundedSender<Incoming>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Incoming>>>,
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<usize, BusError> {
        let mut channels = self.cluster.channels.lock().expect("poisoned");
        let Some(subscribers) = channels.get_mut(channel) else {
            return Ok(0);
        };
        subscribers.retain(|(_, tx)| !tx.is_closed());
        let mut delivered = 0;
        for (_, tx) in subscribers.iter() {
            let message = Incoming {
                channel: channel.to_owned(),
                payload: payload.clone(),
            };
            if tx.send(message).is_ok() {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BusError> {
        let mut channels = self.cluster.channels.lock().expect("poisoned");
        let subscribers = channels.entry(channel.to_owned()).or_default();
        if !subscribers.iter().any(|(member, _)| *member == self.member) {
            subscribers.push((self.member, self.tx.clone()));
        }
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BusError> {
        let mut channels = self.cluster.channels.lock().expect("poisoned");
        if let Some(subscribers) = channels.get_mut(channel) {
            subscribers.retain(|(member, _)| *member != self.member);
            if subscribers.is_empty() {
                channels.remove(channel);
            }
        }
        Ok(())
    }

    fn take_incoming(&self) -> Option<mpsc::UnboundedReceiver<Incoming>> {
        self.rx.lock().expect("poisoned").take()
    }
}

fn alive(expiry: &Option<Instant>) -> bool {
    expiry.is_none_or(|at| at > Instant::now())
}

#[async_trait]
impl SnapshotStore for MemoryCluster {
    async fn load(&self, key: &str) -> Result<Option<Stored>, SaveError> {
        let snapshots = self.snapshots.lock().expect("poisoned");
        Ok(snapshots
            .get(key)
            .filter(|(_, exp)| alive(exp))
            .map(|(s, _)| s.clone()))
    }

    async fn claim(&self, key: &str, fence: u64) -> Result<Option<Stored>, SaveError> {
        let mut snapshots = self.snapshots.lock().expect("poisoned");
        let Some((stored, _)) = snapshots.get_mut(key).filter(|(_, exp)| alive(exp)) else {
            return Ok(None);
        };
        if stored.fence > fence {
            return Err(SaveError::Fenced {
                stored: stored.fence,
                ours: fence,
            });
        }
        stored.fence = fence;
        Ok(Some(stored.clone()))
    }

    async fn save(
        &self,
        key: &str,
        data: Vec<u8>,
        fence: u64,
        rev: u64,
        ttl: Option<Duration>,
    ) -> Result<(), SaveError> {
        let mut snapshots = self.snapshots.lock().expect("poisoned");
        if let Some((stored, exp)) = snapshots.get(key) {
            if alive(exp) {
                if stored.fence > fence {
                    return Err(SaveError::Fenced {
                        stored: stored.fence,
                        ours: fence,
                    });
                }
                if stored.rev >= rev {
                    return Err(SaveError::Stale {
                        stored: stored.rev,
                        ours: rev,
                    });
                }
            }
        }
        let expiry = ttl.map(|t| Instant::now() + t);
        self.insert(&mut snapshots, key, (Stored { data, fence, rev }, expiry));
        Ok(())
    }

    async fn put(&self, key: &str, data: Vec<u8>, ttl: Duration) -> Result<(), SaveError> {
        let mut snapshots = self.snapshots.lock().expect("poisoned");
        let stored = Stored {
            data,
            fence: 0,
            rev: 0,
        };
        self.insert(&mut snapshots, key, (stored, Some(Instant::now() + ttl)));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), SaveError> {
        self.snapshots.lock().expect("poisoned").remove(key);
        Ok(())
    }

    async fn set_queue_size(&self, queue: &str, waiting: u64) -> Result<(), SaveError> {
        self.queue_sizes
            .lock()
            .expect("poisoned")
            .insert(queue.to_owned(), waiting);
        Ok(())
    }

    async fn queue_sizes(&self) -> Result<Vec<(String, u64)>, SaveError> {
        let sizes = self.queue_sizes.lock().expect("poisoned");
        let mut all: Vec<_> = sizes.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort();
        Ok(all)
    }
}

#[async_trait]
impl Leases for MemoryCluster {
    async fn acquire(
        &self,
        key: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, SaveError> {
        let mut leases = self.leases.lock().expect("poisoned");
        if let Some((owner, _, expires)) = leases.get(key) {
            if owner != node && *expires > Instant::now() {
                return Ok(None);
            }
        }
        let fence = {
            let mut fences = self.fences.lock().expect("poisoned");
            let fence = fences.entry(key.to_owned()).or_default();
            *fence += 1;
            *fence
        };
        leases.insert(
            key.to_owned(),
            (node.to_owned(), fence, Instant::now() + ttl),
        );
        drop(leases);
        if self.sweep_due() {
            self.sweep(&mut self.snapshots.lock().expect("poisoned"));
        }
        Ok(Some(Lease {
            key: key.to_owned(),
            fence,
        }))
    }

    async fn renew(&self, lease: &Lease, node: &str, ttl: Duration) -> Result<bool, SaveError> {
        let mut leases = self.leases.lock().expect("poisoned");
        match leases.get_mut(&lease.key) {
            Some((owner, fence, expires)) if owner == node && *fence == lease.fence => {
                *expires = Instant::now() + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, lease: &Lease, node: &str) -> Result<(), SaveError> {
        let mut leases = self.leases.lock().expect("poisoned");
        if let Some((owner, fence, _)) = leases.get(&lease.key) {
            if owner == node && *fence == lease.fence {
                leases.remove(&lease.key);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Membership for MemoryCluster {
    async fn heartbeat(&self, node: &str, ttl: Duration) -> Result<(), SaveError> {
        self.members
            .lock()
            .expect("poisoned")
            .insert(node.to_owned(), Instant::now() + ttl);
        Ok(())
    }

    async fn leave(&self, node: &str) -> Result<(), SaveError> {
        self.members.lock().expect("poisoned").remove(node);
        Ok(())
    }

    async fn peers(&self) -> Result<Vec<String>, SaveError> {
        let mut members = self.members.lock().expect("poisoned");
        let now = Instant::now();
        members.retain(|_, expiry| *expiry > now);
        let mut peers: Vec<String> = members.keys().cloned().collect();
        peers.sort();
        Ok(peers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finished_actors_leave_no_fence_behind() {
        let cluster = MemoryCluster::new();
        let ttl = Duration::from_secs(5);
        let kept = cluster
            .acquire("game:kept", "n", ttl)
            .await
            .unwrap()
            .unwrap();
        cluster
            .save("game:kept", b"live".to_vec(), kept.fence, 1, None)
            .await
            .unwrap();
        cluster.release(&kept, "n").await.unwrap();
        // Many short actors, each finished (its snapshot already expired) and released, and ids
        // that never existed: a sweep is due well before the loop ends.
        for i in 0..SWEEP_EVERY {
            let key = format!("game:{i}");
            let lease = cluster.acquire(&key, "n", ttl).await.unwrap().unwrap();
            if i % 2 == 0 {
                cluster
                    .save(&key, b"done".to_vec(), lease.fence, 1, Some(Duration::ZERO))
                    .await
                    .unwrap();
            }
            cluster.release(&lease, "n").await.unwrap();
        }
        let fences = cluster.fences.lock().unwrap().len();
        assert!(fences < SWEEP_EVERY as usize / 2, "{fences} fences kept");
        let again = cluster
            .acquire("game:kept", "n", ttl)
            .await
            .unwrap()
            .unwrap();
        assert!(again.fence > kept.fence, "a live snapshot's fence is kept");
    }
}
