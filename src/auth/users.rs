//! The node's account cache: the store as every reader sees it, with accounts read by id kept
//! until any node changes them. Every change of an account through the store (standing, roles,
//! ratings, email) drops it here at once and on every other node through the bus
//! (`accounts:changed`), so a connect or a queue request reads no store while bans, roles and
//! ratings stay current everywhere within a bus hop. A lost bus connection (`resubscriptions`)
//! empties the cache, since changes published meanwhile were missed; the lifetime of an entry
//! bounds what a change nobody heard of (its writer died before publishing) can leave behind.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::cache::ChangeCache;
use crate::cluster::Bus;
use crate::domain::{Email, UserId};
use crate::store::{
    FinishedGame, GameRecord, NewUser, Notification, NotificationEntry, PlayerAnalysis,
    StandingChange, Store, StoreError, StoredAnalysis, TournamentRecord, User,
};

/// The bus channel every node's cache listens on (under the bus's own prefix).
pub const CHANGED_CHANNEL: &str = "accounts:changed";

/// What the bus carries: the accounts some node just changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Changed {
    pub users: Vec<UserId>,
}

/// Accounts by id, each kept for at most the cache's lifetime; see the module doc.
pub type UserCache = ChangeCache<UserId, User>;

/// Takes a change some node published on [`CHANGED_CHANNEL`].
pub fn hear(cache: &UserCache, payload: &[u8]) {
    match serde_json::from_slice::<Changed>(payload) {
        Ok(changed) => cache.drop_keys(&changed.users),
        Err(e) => tracing::warn!(error = %e, "undecodable account change"),
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
        self.cache.drop_keys(&users);
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
            self.cache.put(&user.id, user, ticket);
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
    use std::time::Duration;

    use super::*;
    use crate::auth::tests::alice;

    #[test]
    fn a_change_heard_on_the_bus_drops_the_account() {
        let cache = UserCache::new(Duration::from_secs(60));
        let user = alice();
        cache.put(&user.id, &user, cache.ticket());
        assert_eq!(cache.get(&user.id), Some(user.clone()));
        hear(&cache, b"not json");
        assert_eq!(cache.get(&user.id), Some(user.clone()), "nothing to drop");
        let changed = Changed {
            users: vec![user.id.clone()],
        };
        hear(&cache, &serde_json::to_vec(&changed).unwrap());
        assert_eq!(cache.get(&user.id), None);
    }
}
