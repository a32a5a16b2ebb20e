//! End-to-end tests of one node over real sockets: one test crate, one module per capability.

mod helpers;
#[path = "../support/servers.rs"]
mod servers;

mod accounts;
mod admin;
mod anticheat;
mod automod;
mod frames;
mod games;
mod hardening;
mod matchmaking;
mod notifications;
mod resume;
mod spectators;
mod tokens;
mod tournaments;
