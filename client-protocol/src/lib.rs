//! rookery wire protocol v1: every message between browser clients and a node, as serde types.
//!
//! Split by direction, as the protocol page is: [`from_client`] holds what clients send
//! (`server/` and `game/` namespaces), [`to_client`] what nodes send (`client/`), and
//! [`http`] the JSON bodies of the HTTP API. Shared vocabulary (sides, game kinds, results)
//! lives in [`common`], the numbers clients need too (close codes, limits, timers) in
//! [`constants`]. This crate depends on serde only, so servers, tests, load generators
//! and bots can all use it.

#[macro_use]
mod names;

pub mod admin;
pub mod common;
pub mod constants;
pub mod from_client;
pub mod http;
pub mod to_client;
pub mod tournament;

pub use common::*;
pub use from_client::{ClientFrame, ClientMessage};
pub use to_client::{GameUpdate, GameView, Opponent, PlayerView, ServerFrame, ServerMessage};
pub use tournament::{TournamentFormat, TournamentLeftReason, TournamentStatus, TournamentView};

pub use constants::{MAX_FRAME_BYTES, MAX_REF_CHARS};
