//! Player sessions: the websocket actor that holds a live connection, the session state that
//! survives it (snapshotted on every change), and the parsing and limits of client frames.

pub mod actor;
pub mod frame;
pub mod state;

pub use state::{SessionState, Sessions};
