//! A node's cache of what any node may change (accounts, revoked sign-ins): entries kept for
//! at most a lifetime and dropped the moment a change is heard. A read of the shared store that
//! began before a change puts nothing back (its ticket is older than the drop), and a lost bus
//! connection empties the cache, since changes published meanwhile were missed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cluster::Bus;

/// Past this many entries, expired ones and old tombstones are swept on the next insert; past
/// twice this many, the cache starts afresh.
const SWEEP_AT: usize = 100_000;

enum Entry<V> {
    Cached {
        at: Instant,
        value: Box<V>,
    },
    /// Dropped by change number `seq`: a read that began before it may not put it back.
    Dropped {
        seq: u64,
        at: Instant,
    },
}

/// Values by key, each for at most `ttl`; see the module doc.
pub struct ChangeCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, Entry<V>>>,
    /// Counts the drops; a read takes its value first (`ticket`).
    changes: AtomicU64,
    /// Reads that began before this change number put nothing back (everything was dropped).
    floor: AtomicU64,
}

impl<K: Eq + Hash + Clone + Send + Sync + 'static, V: Clone + Send + Sync + 'static>
    ChangeCache<K, V>
{
    /// A cache whose entries live `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Self {
        ChangeCache {
            ttl,
            entries: Mutex::default(),
            changes: AtomicU64::new(0),
            floor: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        match self.entries.lock().expect("poisoned").get(key)? {
            Entry::Cached { at, value } if at.elapsed() < self.ttl => Some(V::clone(value)),
            _ => None,
        }
    }

    /// Taken before a read of the shared store: `put` keeps what the read found only if no
    /// change of that key came in since.
    pub fn ticket(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    pub fn put(&self, key: &K, value: &V, ticket: u64) {
        if self.ttl.is_zero() || ticket < self.floor.load(Ordering::SeqCst) {
            return;
        }
        let mut entries = self.entries.lock().expect("poisoned");
        if let Some(Entry::Dropped { seq, .. }) = entries.get(key) {
            if *seq > ticket {
                return;
            }
        }
        if entries.len() >= SWEEP_AT {
            // A tombstone matters only to reads in flight: none lasts a lifetime.
            entries.retain(|_, entry| match entry {
                Entry::Cached { at, .. } | Entry::Dropped { at, .. } => at.elapsed() < self.ttl,
            });
            if entries.len() >= 2 * SWEEP_AT {
                drop(entries);
                return self.clear();
            }
        }
        let entry = Entry::Cached {
            at: Instant::now(),
            value: Box::new(value.clone()),
        };
        entries.insert(key.clone(), entry);
    }

    /// Drops these keys (they changed somewhere).
    pub fn drop_keys(&self, keys: &[K]) {
        let mut entries = self.entries.lock().expect("poisoned");
        for key in keys {
            let seq = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
            let at = Instant::now();
            entries.insert(key.clone(), Entry::Dropped { seq, at });
        }
    }

    /// Drops everything (changes may have been missed).
    pub fn clear(&self) {
        let mut entries = self.entries.lock().expect("poisoned");
        let seq = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
        self.floor.store(seq, Ordering::SeqCst);
        entries.clear();
    }

    /// Empties the cache at every resubscription of `bus` (while the cache lives). Call on
    /// the node's runtime.
    pub fn clear_on_resubscription(self: &Arc<Self>, bus: &dyn Bus) {
        let Some(mut resubscriptions) = bus.resubscriptions() else {
            return;
        };
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while resubscriptions.changed().await.is_ok() {
                match cache.upgrade() {
                    Some(cache) => cache.clear(),
                    None => return,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_began_before_a_change_puts_nothing_back() {
        let cache = ChangeCache::<&str, u32>::new(Duration::from_secs(60));
        cache.put(&"a", &1, cache.ticket());
        assert_eq!(cache.get(&"a"), Some(1));

        // A read starts, the value changes somewhere, the read ends with the old value.
        let before = cache.ticket();
        cache.drop_keys(&["a"]);
        assert_eq!(cache.get(&"a"), None);
        cache.put(&"a", &1, before);
        assert_eq!(cache.get(&"a"), None, "the stale read stays out");
        // A read that began after the change is kept.
        cache.put(&"a", &2, cache.ticket());
        assert_eq!(cache.get(&"a"), Some(2));
    }

    #[test]
    fn a_clear_keeps_out_every_read_in_flight_and_a_zero_lifetime_keeps_nothing() {
        let cache = ChangeCache::<&str, u32>::new(Duration::from_secs(60));
        let before = cache.ticket();
        cache.put(&"a", &1, before);
        cache.clear();
        assert_eq!(cache.get(&"a"), None);
        cache.put(&"b", &2, before);
        assert_eq!(cache.get(&"b"), None);
        cache.put(&"b", &2, cache.ticket());
        assert_eq!(cache.get(&"b"), Some(2));

        let off = ChangeCache::<&str, u32>::new(Duration::ZERO);
        off.put(&"a", &1, off.ticket());
        assert_eq!(off.get(&"a"), None);
    }

    #[test]
    fn entries_expire() {
        let cache = ChangeCache::<&str, u32>::new(Duration::from_millis(20));
        cache.put(&"a", &1, cache.ticket());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&"a"), None);
    }
}
