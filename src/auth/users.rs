//! The node's account cache: the store as every reader sees it, with accounts read by id kept
//! until any node changes them. Every change of an account through the store (standing, roles,
//! ratings, email) drops it here at once and on every other node through the bus
//! (`accounts:changed`), so a connect or a queue request reads no store while bans, roles and
//! ratings stay current everywhere within a bus hop. A lost bus connection (`resubscriptions`)
//! empties the cache, since changes published meanwhile were missed; the lifetime of an entry
//! bounds what a change nobody heard of (its writer died before publishing) can leave behind.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cluster::Bus;
use crate::domain::{Email, UserId};
use crate::store::{
    FinishedGame, GameRecord, NewUser, Notification, NotificationEntry, PlayerAnalysis,
    StandingChange, Store, StoreError, StoredAnalysis, TournamentRecord, User,
};

/// The bus channel every node's cache listens on (under the bus's own prefix).
pub const CHANGED_CHANNEL: &str = "accounts:changed";

/// Past this many entries, expired ones and old tombstones are swept on the next insert; past
/// twice this many, the cache starts afresh.
const SWEEP_AT: usize = 100_000;

/// What the bus carries: the accounts some node just changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Changed {
    pub users: Vec<UserId>,
}

enum Entry {
    Cached {
        at: Instant,
        user: Box<User>,
    },
    /// Dropped by change number `seq`: a read that began before it may not put it back.
    Dropped {
        seq: u64,
        at: Instant,
    },
}

/// Accounts by id, each for at most `ttl`; see the module doc.
pub struct UserCache {
    ttl: Duration,
    entries: Mutex<HashMap<UserId, Entry>>,
    /// Counts the drops; a read takes its value first (`ticket`).
    changes: AtomicU64,
    /// Reads that began before this change number put nothing back (everything was dropped).
    floor: AtomicU64,
}

impl UserCache {
    /// A cache whose entries live `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> UserCache {
        UserCache {
            ttl,
            entries: Mutex::default(),
            changes: AtomicU64::new(0),
            floor: AtomicU64::new(0),
        }
    }

    pub fn get(&self, id: &UserId) -> Option<User> {
        match self.entries.lock().expect("poisoned").get(id)? {
            Entry::Cached { at, user } if at.elapsed() < self.ttl => Some(User::clone(user)),
            _ => None,
        }
    }

    /// Taken before a store read: `put` keeps what the read found only if no change of that
    /// account came in since.
    pub fn ticket(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    pub fn put(&self, user: &User, ticket: u64) {
        if self.ttl.is_zero() || ticket < self.floor.load(Ordering::SeqCst) {
            return;
        }
        let mut entries = self.entries.lock().expect("poisoned");
        if let Some(Entry::Dropped { seq, .. }) = entries.get(&user.id) {
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
            user: Box::new(user.clone()),
        };
        entries.insert(user.id.clone(), entry);
    }

    /// Drops these accounts (they changed somewhere).
    pub fn drop_users(&self, ids: &[UserId]) {
        let mut entries = self.entries.lock().expect("poisoned");
        for id in ids {
            let seq = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
            let at = Instant::now();
            entries.insert(id.clone(), Entry::Dropped { seq, at });
        }
    }

    /// Drops everything (changes may have been missed).
    pub fn clear(&self) {
        let mut entries = self.entries.lock().expect("poisoned");
        let seq = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
        self.floor.store(seq, Ordering::SeqCst);
        entries.clear();
    }

    /// Takes a change some node published on [`CHANGED_CHANNEL`].
    pub fn hear(&self, payload: &[u8]) {
        match serde_json::from_slice::<Changed>(payload) {
            Ok(changed) => self.drop_users(&changed.users),
            Err(e) => tracing::warn!(error = %e, "undecodable account change"),
        }
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

/// The store with the node's account cache in front of `user_by_id`; every account change
/// through it is told to every node.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    cache: Arc<UserCache>,
    /// Where the changes go (the in-process bus of an embedded node hands them back to it).
    bus: Arc<dyn Bus>,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>, cache: Arc<UserCache>, bus: Arc<dyn Bus>) -> CachedStore {
        CachedStore { inner, cache, bus }
    }

    /// After a change: dropped here at once, then on every node.
    async fn changed(&self, users: Vec<UserId>) {
        self.cache.drop_users(&users);
        let payload = serde_json::to_vec(&Changed { users }).expect("serialisable");
        if let Err(e) = self.bus.publish(CHANGED_CHANNEL, payload).await {
            // The other nodes keep what they read for at most the cache's lifetime.
            tracing::warn!(error = %e, "account change not told to the other nodes");
        }
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create_user(user).await
    }

    async fn user_by_name(
        &self,
        name_key: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        self.inner.user_by_name(name_key).await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.cache.get(id) {
            return Ok(Some(user));
        }
        let ticket = self.cache.ticket();
        let found = self.inner.user_by_id(id).await?;
        if let Some(user) = &found {
            self.cache.put(user, ticket);
        }
        Ok(found)
    }

    async fn change_standing(
        &self,
        id: &UserId,
        change: StandingChange,
    ) -> Result<bool, StoreError> {
        let changed = self.inner.change_standing(id, change).await;
        self.changed(vec![id.clone()]).await;
        changed
    }

    async fn record_game(&self, game: &FinishedGame) -> Result<(), StoreError> {
        let recorded = self.inner.record_game(game).await;
        self.changed(game.user_ids.to_vec()).await;
        recorded
    }

    async fn games_of(&self, user: &UserId, limit: u32) -> Result<Vec<GameRecord>, StoreError> {
        self.inner.games_of(user, limit).await
    }

    async fn game(&self, id: &str) -> Result<Option<GameRecord>, StoreError> {
        self.inner.game(id).await
    }

    async fn set_email(&self, id: &UserId, email: Option<&Email>) -> Result<bool, StoreError> {
        let set = self.inner.set_email(id, email).await;
        self.changed(vec![id.clone()]).await;
        set
    }

    async fn add_notification(
        &self,
        user: &UserId,
        notification: &Notification,
    ) -> Result<(), StoreError> {
        self.inner.add_notification(user, notification).await
    }

    async fn notifications(
        &self,
        user: &UserId,
        limit: u32,
        unread_only: bool,
    ) -> Result<Vec<NotificationEntry>, StoreError> {
        self.inner.notifications(user, limit, unread_only).await
    }

    async fn mark_read(&self, user: &UserId, ids: &[String]) -> Result<u64, StoreError> {
        self.inner.mark_read(user, ids).await
    }

    async fn email_sent(&self, notification: &str) -> Result<bool, StoreError> {
        self.inner.email_sent(notification).await
    }

    async fn record_email_sent(&self, notification: &str, at: u64) -> Result<(), StoreError> {
        self.inner.record_email_sent(notification, at).await
    }

    async fn save_analysis(&self, analysis: &StoredAnalysis) -> Result<(), StoreError> {
        self.inner.save_analysis(analysis).await
    }

    async fn analysis(&self, game: &str) -> Result<Option<StoredAnalysis>, StoreError> {
        self.inner.analysis(game).await
    }

    async fn analyses_of(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<PlayerAnalysis>, StoreError> {
        self.inner.analyses_of(user, limit).await
    }

    async fn staff(&self) -> Result<Vec<User>, StoreError> {
        self.inner.staff().await
    }

    async fn flagged(&self, limit: u32) -> Result<Vec<User>, StoreError> {
        self.inner.flagged(limit).await
    }

    async fn save_tournament(&self, record: &TournamentRecord) -> Result<(), StoreError> {
        self.inner.save_tournament(record).await
    }

    async fn tournament(&self, id: &str) -> Result<Option<TournamentRecord>, StoreError> {
        self.inner.tournament(id).await
    }

    async fn tournaments(
        &self,
        status: Option<client_protocol::TournamentStatus>,
        limit: usize,
    ) -> Result<Vec<TournamentRecord>, StoreError> {
        self.inner.tournaments(status, limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tests::alice;

    #[test]
    fn a_read_that_began_before_a_change_puts_nothing_back() {
        let cache = UserCache::new(Duration::from_secs(60));
        let user = alice();
        let ticket = cache.ticket();
        cache.put(&user, ticket);
        assert_eq!(cache.get(&user.id), Some(user.clone()));

        // A read starts, the account changes somewhere, the read ends with the old account.
        let before = cache.ticket();
        cache.hear(
            &serde_json::to_vec(&Changed {
                users: vec![user.id.clone()],
            })
            .unwrap(),
        );
        assert_eq!(cache.get(&user.id), None);
        cache.put(&user, before);
        assert_eq!(cache.get(&user.id), None, "the stale read stays out");
        // A read that began after the change is kept.
        cache.put(&user, cache.ticket());
        assert_eq!(cache.get(&user.id), Some(user));
    }

    #[test]
    fn a_clear_keeps_out_every_read_in_flight_and_a_zero_lifetime_keeps_nothing() {
        let cache = UserCache::new(Duration::from_secs(60));
        let (a, b) = (alice(), alice());
        let before = cache.ticket();
        cache.put(&a, before);
        cache.clear();
        assert_eq!(cache.get(&a.id), None);
        cache.put(&b, before);
        assert_eq!(cache.get(&b.id), None);
        cache.put(&b, cache.ticket());
        assert_eq!(cache.get(&b.id), Some(b));

        let off = UserCache::new(Duration::ZERO);
        off.put(&a, off.ticket());
        assert_eq!(off.get(&a.id), None);
        cache.hear(b"not json");
    }
}
