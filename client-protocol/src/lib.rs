//! rookery wire protocol v1: every message between browser clients and a node, as serde types.
//!
//! Split by direction, as the protocol page is: [`from_client`] holds what clients send
//! (`server/` and `game/` namespaces), [`to_client`] what nodes send (`client/`), and
//! [`http`] the JSON bodies of the HTTP API. Shared vocabulary (sides, game kinds, results)
//! lives in [`common`]. This crate depends on serde only, so servers, tests, load generators
//! and bots can all use it.

#[macro_use]
mod names;

pub mod common;
pub mod from_client;
pub mod http;
pub mod to_client;

pub use common::*;
pub use from_client::{ClientFrame, ClientMessage};
pub use to_client::{GameUpdate, GameView, Opponent, PlayerView, ServerFrame, ServerMessage};

/// Largest text frame a node accepts, in bytes (protocol: "A frame over 16 KiB ... `bad_frame`").
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Longest `ref` a client may attach to a message.
pub const MAX_REF_CHARS: usize = 64;
