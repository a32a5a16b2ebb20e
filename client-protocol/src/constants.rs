//! The protocol's numbers that clients need as much as nodes: close codes, limits and timers.
//!
//! This file is their one source. `tests/schema.rs` exports every `pub const` here into
//! `schema/rookery.schema.json` (`$defs/Constants`, with these doc comments), and
//! `js/gen-types.mjs` turns that into the SDK's `js/protocol.js` and the declarations in
//! `js/rookery.d.ts`. A change here that is not regenerated fails
//! `cargo test -p client-protocol --features schema`. A new constant must also be listed in
//! that test's table (the test says so when it is not).

// ---- close codes --------------------------------------------------------------------------

/// Close code 1008 (policy): over the rate limit for too long, too slow to read its messages,
/// or another user's session. Do not reconnect blindly.
pub const CLOSE_POLICY: u16 = 1008;

/// Close code 1012 (service restart): the node is restarting or draining. Reconnect, to any
/// node, with the same session and resume.
pub const CLOSE_RESTART: u16 = 1012;

/// Close code 4000, sent by a client: it closes a socket it believes dead (the network changed)
/// before it opens a new one.
pub const CLOSE_NETWORK_CHANGED: u16 = 4000;

/// Close code 4001: this session connected again on another socket, which now owns it. Do not
/// reconnect.
pub const CLOSE_TAKEN_OVER: u16 = 4001;

/// Close code 4003: the account is banned (v1.1); the `client/ERROR` `banned` before it says
/// until when. Do not reconnect.
pub const CLOSE_BANNED: u16 = 4003;

/// The close codes after which a client does not reconnect by itself.
pub const NO_RECONNECT_CLOSE_CODES: &[u16] = &[CLOSE_POLICY, CLOSE_TAKEN_OVER, CLOSE_BANNED];

// ---- limits -------------------------------------------------------------------------------

/// Largest text frame a node accepts, in bytes; a larger one gets `bad_frame`.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Longest `ref` a client may attach to a message, in characters.
pub const MAX_REF_CHARS: usize = 64;

/// Shortest username, in characters.
pub const USERNAME_MIN_CHARS: usize = 3;

/// Longest username, in characters.
pub const USERNAME_MAX_CHARS: usize = 20;

/// Shortest password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;

/// Longest password, in characters.
pub const PASSWORD_MAX_CHARS: usize = 128;

// ---- timers -------------------------------------------------------------------------------

/// How long a node waits by default for both players' `game/PLAYER_READY` before it aborts the
/// game, in ms (`ROOKERY_READY_TIMEOUT_MS` changes it).
pub const READY_TIMEOUT_MS: u64 = 60_000;

/// How long a client waits for the answer to a message before it gives up, in ms.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// Reconnect backoff: the delay before the first attempt, in ms.
pub const RECONNECT_INITIAL_DELAY_MS: u64 = 250;

/// Reconnect backoff: the largest delay, in ms.
pub const RECONNECT_MAX_DELAY_MS: u64 = 10_000;

/// Reconnect backoff: each attempt waits this many times longer than the one before.
pub const RECONNECT_FACTOR: u32 = 2;

/// Reconnect backoff: up to this share of each delay, in percent, is taken away at random, so
/// that clients dropped together (a node draining with 1012) do not all come back at once.
pub const RECONNECT_JITTER_PERCENT: u32 = 50;
