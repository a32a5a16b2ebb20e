//! Contract tests: one suite per seam (snapshots, leases, bus, account/game store, audit log,
//! jobs), written
//! once against the trait and run against every implementation, so they cannot drift.

#[path = "../support/servers.rs"]
mod servers;

mod audit;
mod bus;
mod events;
mod jobs;
mod leases;
mod ledger;
mod rooms;
mod snapshots;
mod store;
mod workers;
