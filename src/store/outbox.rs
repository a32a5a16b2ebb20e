//! The finished-games outbox seam: where a game actor hands a finished game. The embedded
//! outbox writes it to the store at once; the cluster's (`cluster::outbox`) appends it to a
//! Redis stream that a consumer group writes to the store.

use std::sync::Arc;

use async_trait::async_trait;

use super::{FinishedGame, Store, StoreError};

/// Where finished games go: appended here, written to the store by whoever consumes it.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Durably accepts a finished game (idempotent by game id).
    async fn append(&self, game: &FinishedGame) -> Result<(), StoreError>;
}

/// The embedded outbox: the store itself is durable, so appending is writing.
pub struct DirectOutbox(pub Arc<dyn Store>);

#[async_trait]
impl Outbox for DirectOutbox {
    async fn append(&self, game: &FinishedGame) -> Result<(), StoreError> {
        self.0.record_game(game).await
    }
}
