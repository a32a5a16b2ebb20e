//! Tournaments (arena and swiss) as virtual actors: the state and its pure decisions
//! (`state.rs`), standings and tie-breaks (`standings.rs`), the pairing rules (`swiss.rs`,
//! `arena.rs`, pure), and the thin actor that writes and tells (`actor.rs`). [`create`] writes
//! a new tournament's first snapshot and record; [`Scheduler`] wakes, on every node, the
//! tournaments that should be running, so a dead owner's tournament goes on elsewhere.

mod actor;
pub mod arena;
mod scheduler;
pub mod standings;
pub mod state;
pub mod swiss;

pub use actor::TournamentActor;
pub use scheduler::Scheduler;
pub use state::{check, TournamentState};

use crate::cluster::{SaveError, SnapshotStore};
use crate::store::{Store, TournamentRecord};

/// What the store keeps of a tournament: its view and its registrations (who registered
/// whom), for the lists and for after its snapshot is gone.
pub fn record(state: &TournamentState) -> TournamentRecord {
    TournamentRecord {
        id: state.id.to_string(),
        status: state.status,
        starts_at: state.spec.starts_at,
        rev: state.rev,
        view: state.view(),
        registrations: state.registrations(),
    }
}

/// Why a tournament could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("snapshot store: {0}")]
    Snapshot(#[from] SaveError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// Writes a new tournament's first snapshot (fence 0, so its first owner supersedes it) and
/// its record; the scheduler (or the first command) activates it.
pub async fn create(
    snapshots: &dyn SnapshotStore,
    store: &dyn Store,
    mut state: TournamentState,
) -> Result<TournamentRecord, CreateError> {
    state.rev = 1;
    let data = serde_json::to_vec(&state).expect("tournament state serialises");
    let key = TournamentState::snapshot_key(&state.id);
    snapshots.save(&key, data, 0, state.rev, None).await?;
    let record = record(&state);
    store.save_tournament(&record).await?;
    Ok(record)
}
