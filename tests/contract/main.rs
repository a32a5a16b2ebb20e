//! Contract tests: one suite per seam (snapshots, leases, bus, account/game store, audit log,
//! jobs), written
//! once against the trait and run against every implementation, so they cannot drift.

#[path = "../support/servers.rs"]
mod servers;

/// A client of the shared three-primary Redis Cluster, under `prefix`.
fn sharded(prefix: &str) -> std::sync::Arc<rookery::cluster::redis::RedisCluster> {
    use rookery::cluster::redis::{RedisAddress, RedisCluster};
    let address = RedisAddress::sharded(servers::shared_shards()).expect("cluster urls");
    RedisCluster::at(&address, prefix).expect("a cluster client")
}

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
