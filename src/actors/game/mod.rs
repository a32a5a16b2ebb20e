//! A live game as a virtual actor, in three layers: its state and projections (`state`), the
//! pure decisions over them (`decide`), and the thin actor that commits and sends (`actor`).
//! [`create`] writes a new game's first snapshot, for whoever starts games (queues,
//! tournaments).

mod actor;
pub mod crowd;
pub mod decide;
pub mod presence;
pub mod state;

pub use actor::{GameActor, CREATED_REV, LIVE_TTL};
pub use state::{Finish, GameState, Inbox, MoveRecord, Seat, Standing};

use crate::actors::Services;
use crate::cluster::SaveError;
use crate::domain::{SessionId, UserId};
use crate::store::Glicko;

/// Who sits down at a new game.
pub struct Player<'a> {
    pub user_id: &'a UserId,
    pub name: &'a str,
    pub rating: i32,
    pub guest: bool,
    /// None: the game reaches every socket of the account until one joins it.
    pub session: Option<SessionId>,
    /// The stored rating, when the caller has it (a ticket): no store read then.
    pub glicko: Option<Glicko>,
}

/// A seat for `player`, with their stored Glicko-2 rating (the store being down, their shown
/// rating with a fresh deviation).
pub async fn seat(services: &Services, player: Player<'_>) -> Seat {
    let glicko = match player.glicko {
        Some(glicko) => glicko,
        None => match services.store.user_by_id(player.user_id).await {
            Ok(Some(user)) => user.glicko,
            _ => Glicko {
                rating: player.rating as f64,
                ..Glicko::default()
            },
        },
    };
    Seat {
        user_id: player.user_id.clone(),
        name: player.name.to_owned(),
        guest: player.guest,
        glicko,
        session: player.session,
        node: None,
    }
}

/// Writes a new game's first snapshot (fence 0: any owner's first write supersedes it), at
/// revision [`CREATED_REV`], so that a later rebuild can tell it was never run.
pub async fn create(services: &Services, mut state: GameState) -> Result<(), SaveError> {
    state.rev = CREATED_REV;
    let data = serde_json::to_vec(&state).expect("game state serialises");
    let key = GameState::snapshot_key(&state.id);
    services
        .snapshots
        .save(&key, data, 0, state.rev, Some(LIVE_TTL))
        .await
}
