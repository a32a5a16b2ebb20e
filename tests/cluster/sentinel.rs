//! Redis behind Sentinel: the primary killed with SIGKILL mid-game, a replica promoted, the
//! nodes follow it, and every acknowledged move is in the stored game.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rookery::cluster::redis::RedisCluster;
use rookery::cluster::snapshot::SnapshotStore;
use rookery_testkit::CONNECT4_DRAW;
use serde_json::json;

use crate::harness::*;
use crate::servers::{free_port, kill9_watched, spawn_watched, unique, wait_for_port};

const SERVICE: &str = "mymaster";

/// One primary, two replicas and three sentinels (quorum 2) on loopback ports.
struct SentinelSet {
    dir: tempfile::TempDir,
    /// Data nodes by port; index 0 starts as the primary.
    redis: Vec<(u16, Option<Child>)>,
    sentinels: Vec<(u16, Child)>,
}

/// A data node on `port` (a replica of `replica_of`), without persistence.
fn spawn_redis(dir: &Path, port: u16, replica_of: Option<u16>) -> Child {
    let data = dir.join(format!("redis-{port}"));
    std::fs::create_dir_all(&data).unwrap();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &data.display().to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        // A replica's first full sync starts at once, not after the 5 s default.
        "--repl-diskless-sync-delay",
        "0",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(primary) = replica_of {
        args.extend([
            "--replicaof".into(),
            "127.0.0.1".into(),
            primary.to_string(),
        ]);
    }
    let child = spawn_watched("redis-server", &args, &data.join("redis.log"));
    wait_for_port(port, "redis-server");
    child
}

impl SentinelSet {
    fn start() -> SentinelSet {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut redis = Vec::new();
        let primary = free_port();
        for i in 0..3 {
            let port = if i == 0 { primary } else { free_port() };
            let replica_of = (i > 0).then_some(primary);
            redis.push((port, Some(spawn_redis(dir.path(), port, replica_of))));
        }
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.path().join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 3000\n\
                     sentinel parallel-syncs {SERVICE} 2\n",
                    dir = dir.path().display()
                ),
            )
            .unwrap();
            let args = [conf.display().to_string(), "--sentinel".into()];
            let log = dir.path().join(format!("sentinel-{port}.log"));
            sentinels.push((port, spawn_watched("redis-server", &args, &log)));
            wait_for_port(port, "redis-sentinel");
        }
        SentinelSet {
            dir,
            redis,
            sentinels,
        }
    }

    fn url(&self, options: &str) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+sentinel://{}/{SERVICE}{options}", hosts.join(","))
    }

    /// What `redis-cli` says to `port`.
    fn cli(port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(port.to_string())
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The primary the first sentinel names.
    fn primary_port(&self) -> Option<u16> {
        let answer = Self::cli(
            self.sentinels[0].0,
            &["SENTINEL", "get-master-addr-by-name", SERVICE],
        );
        answer.lines().nth(1)?.trim().parse().ok()
    }

    /// Until both replicas are connected and the sentinels know all of them.
    async fn settled(&self, primary: u16) {
        eventually("two replicas online", || async {
            let info = Self::cli(primary, &["INFO", "replication"]);
            (info.matches("state=online").count() == 2).then_some(())
        })
        .await;
        for (port, _) in &self.sentinels {
            eventually("each sentinel sees the replicas and its peers", || async {
                let info = Self::cli(*port, &["SENTINEL", "master", SERVICE]);
                let field = |name: &str| {
                    let mut lines = info.lines();
                    while let Some(line) = lines.next() {
                        if line.trim() == name {
                            return lines.next().map(|v| v.trim().to_owned());
                        }
                    }
                    None
                };
                (field("num-slaves").as_deref() == Some("2")
                    && field("num-other-sentinels").as_deref() == Some("2"))
                .then_some(())
            })
            .await;
        }
    }

    /// Starts the data node on `port` again, as a replica of `primary` (as an operator would
    /// bring a dead primary back).
    fn restart_as_replica(&mut self, port: u16, primary: u16) {
        let child = spawn_redis(self.dir.path(), port, Some(primary));
        self.redis.iter_mut().find(|(p, _)| *p == port).unwrap().1 = Some(child);
    }

    /// SIGKILL to the data node on `port`.
    fn kill9(&mut self, port: u16) {
        let (_, child) = self.redis.iter_mut().find(|(p, _)| *p == port).unwrap();
        kill9_watched(child);
    }

    fn logs(&self) -> String {
        let mut text = String::new();
        let mut add = |path: &Path| {
            text += &format!("== {}\n", path.display());
            text += &std::fs::read_to_string(path).unwrap_or_default();
        };
        for (port, _) in &self.sentinels {
            add(&self.dir.path().join(format!("sentinel-{port}.log")));
        }
        text
    }
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        let children = self
            .redis
            .iter_mut()
            .filter_map(|(_, c)| c.as_mut())
            .chain(self.sentinels.iter_mut().map(|(_, c)| c));
        for child in children {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

/// A client of the Redis (or sentinels) at `url`, under a prefix of its own.
async fn client(url: &str, prefix: &str) -> Arc<RedisCluster> {
    let address = rookery::cluster::redis::RedisAddress::One(url.to_owned());
    RedisCluster::open(&address, &unique(prefix), Duration::from_secs(10))
        .await
        .expect("a client")
}

/// Mean and 99th percentile of `n` sequential snapshot writes, in microseconds.
async fn save_latency(url: &str, n: u64) -> (f64, f64) {
    let cluster = client(url, "lat").await;
    let key = "game:latency";
    // The connection is made at the first command.
    cluster.save(key, vec![0; 600], 1, 1, None).await.unwrap();
    let mut took = Vec::new();
    for rev in 2..n + 2 {
        let start = Instant::now();
        cluster
            .save(key, vec![b'x'; 600], 1, rev, None)
            .await
            .expect("a write acknowledged");
        took.push(start.elapsed().as_secs_f64() * 1e6);
    }
    took.sort_by(f64::total_cmp);
    let mean = took.iter().sum::<f64>() / took.len() as f64;
    (mean, took[(took.len() * 99 / 100).min(took.len() - 1)])
}

/// Snapshot writes per second with `writers` games writing at once (`WAIT` shared per batch).
async fn save_throughput(url: &str, writers: u64, each: u64) -> f64 {
    let cluster = client(url, "tput").await;
    cluster.save("warm", vec![0], 1, 1, None).await.unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let key = format!("game:tput{w}");
                for rev in 1..=each {
                    cluster
                        .save(&key, vec![b'x'; 600], 1, rev, None)
                        .await
                        .expect("a write acknowledged");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (writers * each) as f64 / start.elapsed().as_secs_f64()
}

/// Asks a sentinel for a manual failover until it starts one (it refuses while no replica
/// is in sync or a failover is still in progress).
async fn manual_failover(set: &SentinelSet) {
    let port = set.sentinels[1].0;
    eventually("a manual failover starts", || async {
        (SentinelSet::cli(port, &["SENTINEL", "FAILOVER", SERVICE]) == "OK").then_some(())
    })
    .await;
}

#[actix_web::test]
async fn the_primary_killed_mid_game_loses_no_acknowledged_move() {
    if crate::servers::redis_shards().is_some() {
        println!("skipped: Sentinel watches one primary, not a Redis Cluster");
        return;
    }
    let mut set = SentinelSet::start();
    set.settled(set.redis[0].0).await;
    let url = set.url("?wait=1&wait_ms=1000");

    // What `WAIT 1` costs a snapshot write (600 bytes, one at a time, on loopback).
    let plain = save_latency(&format!("redis://127.0.0.1:{}/", set.redis[0].0), 300).await;
    let no_wait = save_latency(&set.url("?wait=0"), 300).await;
    let wait = save_latency(&url, 300).await;
    println!(
        "sentinel: snapshot write mean/p99 µs: redis:// {:.0}/{:.0}, sentinel wait=0 {:.0}/{:.0}, \
         sentinel wait=1 {:.0}/{:.0}",
        plain.0, plain.1, no_wait.0, no_wait.1, wait.0, wait.1
    );
    let plain_tput =
        save_throughput(&format!("redis://127.0.0.1:{}/", set.redis[0].0), 32, 50).await;
    let wait_tput = save_throughput(&url, 32, 50).await;
    println!(
        "sentinel: snapshot writes/s with 32 games writing at once: redis:// {plain_tput:.0}, \
         sentinel wait=1 {wait_tput:.0}"
    );

    let cluster = Cluster::start();
    let env = [("REDIS_URL", url.clone())];
    let (n1, n2) = (
        cluster.node_with("n1", &env).await,
        cluster.node_with("n2", &env).await,
    );
    let (a, b) = (n1.guest().await, n2.guest().await);
    let mut duel = duel(
        &n1,
        a,
        &n2,
        b,
        json!({"game": "connect4", "clock": null, "rated": false}),
    )
    .await;

    // At move 10 the primary dies (SIGKILL); then it comes back as a replica of the promoted
    // one, and at move 26 the promoted one is demoted by a manual failover while it runs (its
    // clients are cut, and it answers writes `READONLY`).
    let (kill_at, switch_at) = (10, 26);
    let old_primary = set.primary_port().expect("a primary");
    let mut acknowledged = Vec::new();
    let mut killed = None;
    let mut window = None;
    let mut switched = None;
    let mut switch_window = None;
    let mut promoted = None;
    let mut move_times = Vec::new();
    for (seq, &column) in CONNECT4_DRAW.iter().enumerate() {
        if seq == kill_at {
            set.kill9(old_primary);
            killed = Some(Instant::now());
        }
        if seq == switch_at {
            promoted = set.primary_port();
            assert_ne!(
                promoted,
                Some(old_primary),
                "promoted by now\n{}",
                set.logs()
            );
            set.restart_as_replica(old_primary, promoted.unwrap());
            set.settled(promoted.unwrap()).await;
            manual_failover(&set).await; // refused for a while after the last failover
            switched = Some(Instant::now());
            // The moves resume once the sentinels name the new primary (until then the old
            // one may still take them).
            let sentinels = &set;
            eventually("the sentinels name the new primary", || async {
                (sentinels.primary_port() != promoted).then_some(())
            })
            .await;
        }
        let mover = if seq % 2 == 0 {
            &mut duel.first
        } else {
            &mut duel.second
        };
        let sent = Instant::now();
        let ack = move_acked(mover, &duel.game, seq as u64, json!(column)).await;
        if seq == kill_at {
            window = killed.map(|k| k.elapsed());
        } else if seq == switch_at {
            switch_window = switched.map(|k| k.elapsed());
        } else {
            move_times.push(sent.elapsed());
        }
        let played = acked_move(&ack, seq);
        assert_eq!(played, json!(column), "move {seq} acknowledged as another");
        acknowledged.push(played);
    }
    duel.both_hear_the_end().await;
    let new_primary = set.primary_port().expect("a primary after the failovers");
    let promoted = promoted.unwrap();
    assert!(
        new_primary != promoted,
        "the manual failover named a new primary (either replica, the old one back too)\n{}",
        set.logs()
    );

    // Every acknowledged move is in the stored game, in order.
    let game = duel.game.clone();
    let stored = eventually(&format!("game {game} stored"), || async {
        let (status, record) = n1.get(&format!("/api/games/{game}")).await;
        (status == 200).then_some(record)
    })
    .await;
    assert_eq!(
        stored["moves"],
        json!(acknowledged),
        "stored moves = acknowledged moves"
    );
    for node in [&n1, &n2] {
        let log = node.log_text();
        assert!(
            log.contains("redis primary changed"),
            "{} followed the new primary",
            node.id
        );
        let (status, ready) = node.get("/readyz").await;
        assert_eq!(status, 200, "{} ready on the new primary: {ready}", node.id);
    }
    move_times.sort();
    println!(
        "sentinel: primary {old_primary} killed at move {kill_at}, replica {promoted} promoted: \
         unavailable for {} ms (the kill to the next acknowledged move); manual failover to \
         {new_primary} at move {switch_at}: {} ms; {} moves all stored; other moves median {} ms",
        window.unwrap().as_millis(),
        switch_window.unwrap().as_millis(),
        acknowledged.len(),
        move_times[move_times.len() / 2].as_millis()
    );
}
