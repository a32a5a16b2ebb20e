//! The listeners of the game event stream, each an independent module with its own consumer
//! group (see `events::listener`): the recorder (finished games into the store, once per
//! game), automod (playbans), anti-cheat (analysis jobs) and tournaments (results to their
//! tournament). A new one is a file with an
//! `impl Listener` and a line in [`all`].

pub mod anticheat;
pub mod automod;
pub mod tournaments;

use std::sync::Arc;

use async_trait::async_trait;

use crate::audit::Auditor;
use crate::cluster::Router;
use crate::events::listener::{Listener, ListenerError};
use crate::events::GameEvent;
use crate::jobs::Jobs;
use crate::notify::Notifier;
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

/// What the listeners use.
pub struct Context {
    pub store: Arc<dyn Store>,
    pub jobs: Arc<dyn Jobs>,
    pub auditor: Auditor,
    pub notifier: Notifier,
    pub router: Router,
}

/// Every listener a node runs.
pub fn all(cx: Context) -> Vec<Arc<dyn Listener>> {
    vec![
        Arc::new(Recorder::new(cx.store.clone())),
        Arc::new(anticheat::AntiCheat::new(cx.jobs)),
        Arc::new(tournaments::Tournaments::new(cx.router.clone())),
        Arc::new(automod::Automod::new(
            cx.store,
            cx.auditor,
            cx.notifier,
            cx.router,
        )),
    ]
}
