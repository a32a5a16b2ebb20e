//! Player sessions: the websocket actor that holds a live connection (`actor`), how a
//! connection begins (`opening`), where each client message goes (`route`, pure), the session
//! state that survives the socket (`state`, snapshotted on every change), and the parsing and
//! limits of client frames (`frame`).

pub mod actor;
pub mod frame;
pub mod opening;
pub mod route;
pub mod state;

pub use state::{SessionState, Sessions};
