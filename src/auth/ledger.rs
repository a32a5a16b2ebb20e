//! The identity ledger every node of a cluster shares: login attempt counters (fixed windows)
//! and revoked or spent token ids. In process on an embedded node; in Redis for a cluster
//! (`auth::redis`), so a limit holds across nodes and a logout holds on all of them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::now_ms;

/// The ledger could not be read or written (Redis down). Callers fail open and say so: a
/// login is not refused, nor a token, because the ledger is out of reach.
#[derive(Debug, thiserror::Error)]
#[error("the identity ledger is unavailable: {0}")]
pub struct LedgerError(pub String);

/// Whether a counted event was within its limit; `Over` carries the seconds until the window
/// resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Within,
    Over { retry_after_secs: u64 },
}

#[async_trait]
pub trait Ledger: Send + Sync {
    /// Counts one event under `key`, unless `limit` events were already counted in the
    /// current window (which starts at the window's first event and lasts `window`).
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError>;
    /// Whether `key` is at its limit in the current window, counting nothing.
    async fn peek(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError>;
    /// Marks a token id (a token's `jti` or a sign-in's `fam`) revoked for `ttl`: longer than
    /// any token carrying it lives.
    async fn revoke(&self, id: &str, ttl: Duration) -> Result<(), LedgerError>;
    /// Whether `id` is revoked.
    async fn revoked(&self, id: &str) -> Result<bool, LedgerError>;
    /// Spends a one-use id for `ttl`: None the first time, else when (ms since the epoch) it
    /// was first spent. One caller wins a race.
    async fn spend(&self, id: &str, ttl: Duration) -> Result<Option<u64>, LedgerError>;
}

/// The ledger of a single node.
#[derive(Default)]
pub struct MemoryLedger {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    /// id -> (when it stops mattering, when it was marked in ms since the epoch).
    marks: Mutex<HashMap<String, (Instant, u64)>>,
}

/// Past this many entries, expired ones are swept on the next write.
const SWEEP_AT: usize = 100_000;

impl MemoryLedger {
    fn window(&self, key: &str, limit: u32, window: Duration, count: bool) -> Count {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("poisoned");
        if windows.len() > SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let current = match windows.get(key) {
            Some(&(start, n)) if now.duration_since(start) < window => (start, n),
            _ => (now, 0),
        };
        if current.1 >= limit {
            let left = window.saturating_sub(now.duration_since(current.0));
            return Count::Over {
                retry_after_secs: left.as_secs().max(1),
            };
        }
        if count {
            windows.insert(key.to_owned(), (current.0, current.1 + 1));
        }
        Count::Within
    }

    fn mark(&self, id: &str, ttl: Duration, only_if_new: bool) -> Option<u64> {
        let now = Instant::now();
        let mut marks = self.marks.lock().expect("poisoned");
        if marks.len() > SWEEP_AT {
            marks.retain(|_, (until, _)| *until > now);
        }
        if let Some(&(until, at)) = marks.get(id) {
            if until > now && only_if_new {
                return Some(at);
            }
        }
        marks.insert(id.to_owned(), (now + ttl, now_ms()));
        None
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError> {
        Ok(self.window(key, limit, window, true))
    }

    async fn peek(&self, key: &str, limit: u32, window: Duration) -> Result<Count, LedgerError> {
        Ok(self.window(key, limit, window, false))
    }

    async fn revoke(&self, id: &str, ttl: Duration) -> Result<(), LedgerError> {
        self.mark(id, ttl, false);
        Ok(())
    }

    async fn revoked(&self, id: &str) -> Result<bool, LedgerError> {
        let marks = self.marks.lock().expect("poisoned");
        Ok(marks
            .get(id)
            .is_some_and(|(until, _)| *until > Instant::now()))
    }

    async fn spend(&self, id: &str, ttl: Duration) -> Result<Option<u64>, LedgerError> {
        Ok(self.mark(id, ttl, true))
    }
}
