//! A live game as a virtual actor, in three layers: its state and projections (`state`), the
//! pure decisions over them (`decide`), and the thin actor that commits and sends (`actor`).

mod actor;
pub mod decide;
pub mod state;

pub use actor::{GameActor, CREATED_REV, LIVE_TTL};
pub use state::{Finish, GameState, MoveRecord, Seat};
