//! Dependency outages under load: tables of players spread over a 3-node cluster play paced
//! connect-four games (42 acknowledged moves each, players on different nodes) while Redis is
//! killed with kill -9 and started again on its append-only file, and then FerretDB is stopped
//! while the games finish and started again. No node is restarted. Checks that every stored
//! game holds exactly its acknowledged moves in order; that `/readyz` on every node answers 503
//! with the failing check while a dependency is down (and never 200 from its first 503 until
//! the dependency is back), and 200 again once it is back; that every node ran throughout.
//! Prints the moves per second before, during and after each outage, and how long each node's
//! `/readyz` took to notice and to recover.
//!
//! `ROOKERY_OUTAGE_TABLES` (default 6), `ROOKERY_OUTAGE_SECS` (how long Redis stays down,
//! default 2), `ROOKERY_OUTAGE_PACE_MS` (between two moves of a table, default 150).
//! `scripts/outages` runs a longer version.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rookery_testkit::{http, Endpoint, CONNECT4_DRAW};
use serde_json::{json, Value};

use crate::harness::*;

/// What the tables and the readiness sampler record, in milliseconds since `start`.
struct Load {
    start: Instant,
    /// Each acknowledged move: when, and by which table.
    acks: Mutex<Vec<(u64, usize)>>,
    /// When each finished table's game was over for both players.
    finished: Mutex<Vec<u64>>,
    /// Each `/readyz` answer: when, which node, the status (0: no answer), and whether the
    /// snapshot (Redis) and store (MongoDB) checks passed.
    probes: Mutex<Vec<Probe>>,
    stop: AtomicBool,
}

#[derive(Clone, Copy)]
struct Probe {
    /// Asked at, and answered at.
    at: u64,
    answered: u64,
    node: usize,
    status: u16,
    snapshots: bool,
    store: bool,
}

impl Load {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Acknowledged moves in `[from, to)`, per second.
    fn rate(&self, from: u64, to: u64) -> f64 {
        let acks = self.acks.lock().unwrap();
        let n = acks.iter().filter(|(t, _)| (from..to).contains(t)).count();
        n as f64 * 1000.0 / (to.saturating_sub(from)).max(1) as f64
    }

    /// True once every table has had a move acknowledged since `since`, or has finished.
    fn all_moving_since(&self, since: u64, tables: usize) -> bool {
        let acks = self.acks.lock().unwrap();
        let mut moving = vec![false; tables];
        for &(t, table) in acks.iter() {
            if t >= since {
                moving[table] = true;
            }
        }
        moving.iter().filter(|m| **m).count() + self.finished.lock().unwrap().len() >= tables
    }
}

/// Plays the game's 42 moves, one every `pace`, each until acknowledged; then both players
/// hear the end. Returns the game id and the acknowledged moves.
async fn play_table(mut duel: Duel, table: usize, pace: Duration, load: Arc<Load>) -> Value {
    let mut acknowledged = Vec::new();
    for (seq, &column) in CONNECT4_DRAW.iter().enumerate() {
        tokio::time::sleep(pace).await;
        let mover = if seq % 2 == 0 {
            &mut duel.first
        } else {
            &mut duel.second
        };
        let ack = move_acked(mover, &duel.game, seq as u64, json!(column)).await;
        let played = acked_move(&ack, seq);
        assert_eq!(played, json!(column), "move {seq} acknowledged as another");
        acknowledged.push(played);
        load.acks.lock().unwrap().push((load.now(), table));
    }
    duel.both_hear_the_end().await;
    load.finished.lock().unwrap().push(load.now());
    json!({"game": duel.game, "moves": acknowledged})
}

/// Asks every node's `/readyz` every 100 ms (each node on its own, so one slow answer delays
/// no other) until told to stop; each answer is booked at the time it was asked.
async fn sample_readiness(endpoints: Vec<Endpoint>, load: Arc<Load>) {
    let samplers = endpoints.into_iter().enumerate().map(|(node, endpoint)| {
        let load = load.clone();
        async move {
            while !load.stop.load(Ordering::Relaxed) {
                let at = load.now();
                let answer =
                    tokio::time::timeout(Duration::from_secs(5), http::get(&endpoint, "/readyz"))
                        .await;
                let (status, body) = match answer {
                    Ok(Ok(response)) => (response.status, response.json()),
                    _ => (0, Value::Null),
                };
                let ok = |check: &str| body["checks"][check]["ok"] == true;
                let probe = Probe {
                    at,
                    answered: load.now(),
                    node,
                    status,
                    snapshots: ok("snapshots"),
                    store: ok("store"),
                };
                load.probes.lock().unwrap().push(probe);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    futures_util::future::join_all(samplers).await;
}

/// One node's readiness around an outage `[down, back)`: when its `/readyz` first said 503 with
/// the dependency's check failing, and first said 200 when asked after `back`. Panics if it
/// said 200 between its first 503 and `back` (asked and answered in between), or never noticed.
fn readiness_around(
    load: &Load,
    node: usize,
    down: u64,
    back: u64,
    check_ok: fn(&Probe) -> bool,
) -> (u64, Option<u64>) {
    let probes = load.probes.lock().unwrap();
    let mine: Vec<Probe> = probes
        .iter()
        .filter(|p| p.node == node && p.at >= down)
        .copied()
        .collect();
    let noticed = mine
        .iter()
        .find(|p| p.status == 503 && !check_ok(p))
        .unwrap_or_else(|| panic!("node {node}'s /readyz never said the dependency was down"))
        .at;
    let ready_while_down = mine
        .iter()
        .find(|p| p.at > noticed && p.answered < back && p.status == 200);
    assert!(
        ready_while_down.is_none(),
        "node {node} said ready while the dependency was down (at {} ms)",
        ready_while_down.map_or(0, |p| p.at)
    );
    let recovered = mine
        .iter()
        .find(|p| p.at >= back && p.status == 200)
        .map(|p| p.at - back);
    (noticed - down, recovered)
}

/// Every node answers `/readyz` 200 again.
async fn all_ready(nodes: &[NodeProc]) {
    for node in nodes {
        eventually(&format!("{} ready again", node.id), || async {
            (node.get("/readyz").await.0 == 200).then_some(())
        })
        .await;
    }
}

/// Every node answers `/readyz` 503 with `check` failing.
async fn all_unready(nodes: &[NodeProc], check: &str) {
    for node in nodes {
        let (status, ready) = node.get("/readyz").await;
        assert_eq!(
            (status, ready["checks"][check]["ok"].clone()),
            (503, json!(false)),
            "{} while {check} is down: {ready}",
            node.id
        );
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test]
async fn redis_and_mongodb_outages_under_load_lose_no_acknowledged_move() {
    let tables = env_or("ROOKERY_OUTAGE_TABLES", 6) as usize;
    let redis_down_for = Duration::from_secs(env_or("ROOKERY_OUTAGE_SECS", 2));
    let pace = Duration::from_millis(env_or("ROOKERY_OUTAGE_PACE_MS", 150));
    let mut cluster = Cluster::start();
    let mut nodes = Vec::new();
    // Every player signs up from one address.
    let limits = [("ROOKERY_LOGIN_PER_IP_PER_MIN", "100000".to_owned())];
    for id in ["n1", "n2", "n3"] {
        nodes.push(cluster.node_with(id, &limits).await);
    }
    let mut duels = Vec::new();
    for i in 0..tables {
        let (a_node, b_node) = (&nodes[i % 3], &nodes[(i + 1) % 3]);
        let (a, b) = (a_node.guest().await, b_node.guest().await);
        // A time control per table: a queue of its own, so each table's two players meet.
        let clock = json!({"initialMs": 600_000 + 1000 * i as u64, "incrementMs": 0});
        let queue = json!({"game": "connect4", "clock": clock, "rated": false});
        duels.push(duel(a_node, a, b_node, b, queue).await);
    }
    println!("outages: {tables} tables seated, a move every {pace:?} per table");

    let load = Arc::new(Load {
        start: Instant::now(),
        acks: Mutex::new(Vec::new()),
        finished: Mutex::new(Vec::new()),
        probes: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let endpoints: Vec<Endpoint> = nodes.iter().map(|n| n.endpoint).collect();
    let sampler = tokio::spawn(sample_readiness(endpoints, load.clone()));
    let players: Vec<_> = duels
        .into_iter()
        .enumerate()
        .map(|(i, d)| tokio::spawn(play_table(d, i, pace, load.clone())))
        .collect();

    // Redis: killed mid-play, back after `redis_down_for`, on the same port and file.
    tokio::time::sleep(pace * 8).await;
    let redis_down = load.now();
    cluster.redis.kill9();
    tokio::time::sleep(redis_down_for).await;
    all_unready(&nodes, "snapshots").await;
    let redis_back = load.now();
    cluster.redis.resume();
    all_ready(&nodes).await;
    eventually("every table playing again", || async {
        load.all_moving_since(redis_back, tables).then_some(())
    })
    .await;
    let playing_again = load.now();

    // MongoDB: stopped while the games play on and finish, started again once they have.
    cluster.ferret.stop();
    let mongo_down = load.now();
    let mut results = Vec::new();
    for player in players {
        results.push(player.await.expect("a table plays its game to the end"));
    }
    let mongo_back = load.now();
    all_unready(&nodes, "store").await;
    cluster.ferret.resume();
    all_ready(&nodes).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop.store(true, Ordering::Relaxed);
    sampler.await.unwrap();

    // Every game stored once it could be, with exactly its acknowledged moves.
    for result in &results {
        let game = result["game"].as_str().unwrap();
        let stored = eventually(&format!("game {game} stored"), || async {
            let (status, record) = nodes[0].get(&format!("/api/games/{game}")).await;
            (status == 200).then_some(record)
        })
        .await;
        assert_eq!(
            stored["moves"], result["moves"],
            "game {game}: stored moves = acknowledged moves, in order"
        );
    }
    eventually("every finished game recorded", || async {
        cluster.outbox_settled().await.then_some(())
    })
    .await;
    for node in nodes.iter_mut() {
        assert!(node.running(), "{} ran throughout (no restart)", node.id);
    }

    let acks = load.acks.lock().unwrap().len();
    let finished = load.finished.lock().unwrap();
    let finished_while_down = finished.iter().filter(|&&t| t >= mongo_down).count();
    println!(
        "outages: {acks} moves acknowledged in {tables} games, all stored in order; \
         {finished_while_down} games ended while MongoDB was down"
    );
    println!(
        "outages: moves/s before Redis died {:.0}, while it was down {:.0}, from its return \
         until every table moved again ({} ms) {:.0}, while MongoDB was down {:.0}",
        load.rate(0, redis_down),
        load.rate(redis_down, redis_back),
        playing_again - redis_back,
        load.rate(redis_back, playing_again),
        load.rate(mongo_down, mongo_back),
    );
    let last_ack_while_down = load
        .acks
        .lock()
        .unwrap()
        .iter()
        .map(|&(t, _)| t)
        .filter(|t| (redis_down..redis_back).contains(t))
        .max();
    println!(
        "outages: the last acknowledgement while Redis was down came {} ms after it died \
         (moves whose write Redis had answered just before)",
        last_ack_while_down.map_or("-".into(), |t| (t - redis_down).to_string())
    );
    for (node, proc) in nodes.iter().enumerate() {
        let (noticed, back) =
            readiness_around(&load, node, redis_down, redis_back, |p| p.snapshots);
        let (m_noticed, m_back) =
            readiness_around(&load, node, mongo_down, mongo_back, |p| p.store);
        println!(
            "outages: {} /readyz: Redis down noticed after {noticed} ms, ready {} ms after \
             its return; MongoDB down noticed after {m_noticed} ms, ready {} ms after its return",
            proc.id,
            back.map_or("?".into(), |b| b.to_string()),
            m_back.map_or("?".into(), |b| b.to_string()),
        );
    }
}
