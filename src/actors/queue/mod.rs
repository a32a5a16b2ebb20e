//! A matchmaking queue as a virtual actor: its state and pairing rule (`state`), and the actor
//! that commits, proposes and starts games (`actor`).

mod actor;
pub mod state;

pub use actor::QueueActor;
pub use state::{Matchup, QueueState, Window};
