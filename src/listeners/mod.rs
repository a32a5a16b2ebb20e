//! The listeners of the game event stream, each an independent module with its own consumer
//! group (see `events::listener`): the recorder (finished games into the store, once per
//! game), automod (playbans) and anti-cheat (analysis jobs). A new one is a file with an
//! `impl Listener` and a line in [`all`].

pub mod anticheat;

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::listener::{Listener, ListenerError};
use crate::events::GameEvent;
use crate::jobs::Jobs;
use crate::store::Store;

/// Writes each finished game, with its rating changes, to the store. The store's
/// `record_game` is idempotent by game id, so a second delivery changes nothing.
pub struct Recorder {
    store: Arc<dyn Store>,
}

impl Recorder {
    pub fn new(store: Arc<dyn Store>) -> Recorder {
        Recorder { store }
    }
}

#[async_trait]
impl Listener for Recorder {
    fn name(&self) -> &'static str {
        "recorders"
    }

    fn wants(&self, event: &GameEvent) -> bool {
        matches!(event, GameEvent::GameOver { .. })
    }

    async fn handle(&self, event: &GameEvent) -> Result<(), ListenerError> {
        let GameEvent::GameOver { finished, .. } = event else {
            return Ok(());
        };
        self.store
            .record_game(finished)
            .await
            .map_err(ListenerError::new)
    }
}

/// Every listener a node runs.
pub fn all(store: Arc<dyn Store>, jobs: Arc<dyn Jobs>) -> Vec<Arc<dyn Listener>> {
    vec![
        Arc::new(Recorder::new(store)),
        Arc::new(anticheat::AntiCheat::new(jobs)),
    ]
}
