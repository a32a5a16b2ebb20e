//! Multi-node tests: the real `rookery` binary as separate OS processes sharing one Redis and
//! one FerretDB; nodes killed with SIGKILL, drained with SIGTERM, dependencies restarted.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/servers.rs"]
mod servers;

mod harness;

mod chaos;
mod email;
mod failover;
mod faults;
mod listeners;
mod moderation;
mod outages;
mod secrets;
mod sentinel;
mod spectators;
mod tokens;
mod tournaments;
