//! A local cluster for a test: its own Redis and FerretDB, and node processes started from
//! the built binary with short timers, each logging to its own file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rookery::cluster::redis::{RedisAddress, RedisCluster};
use rookery_testkit::{http, Endpoint};
use serde_json::{json, Value};

use crate::helpers::{http_get, Client, Identity, WAIT};
use crate::servers::{free_port, FerretServer, TestRedis};

/// Lease TTL of test nodes: a dead node's games move within about this long.
pub const LEASE_TTL_MS: u64 = 1_000;

pub struct Cluster {
    pub redis: TestRedis,
    pub ferret: FerretServer,
    dir: tempfile::TempDir,
}

pub struct NodeProc {
    pub id: String,
    pub endpoint: Endpoint,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster {
            redis: TestRedis::start(),
            ferret: FerretServer::start(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts node `id` and waits until it answers `/healthz`.
    pub async fn node(&self, id: &str) -> NodeProc {
        self.node_with(id, &[]).await
    }

    /// Starts node `id` with more environment (`ROOKERY_SMTP_URL`, failpoints...).
    pub async fn node_with(&self, id: &str, env: &[(&str, String)]) -> NodeProc {
        let port = free_port();
        let log = self.dir.path().join(format!("{id}.log"));
        let data = self.dir.path().join(id);
        let (redis_var, redis_at) = self.redis.env();
        let child = Command::new(env!("CARGO_BIN_EXE_rookery"))
            .env(redis_var, redis_at)
            .env("MONGODB_URI", self.ferret.uri())
            .env("ROOKERY_MONGODB_DB", "rookery_cluster_test")
            .env(
                "ROOKERY_JWT_SECRET",
                "cluster-test-secret-cluster-test-secret",
            )
            .env("ROOKERY_NODE_ID", id)
            .env("ROOKERY_BIND", format!("127.0.0.1:{port}"))
            .env("ROOKERY_DATA_DIR", &data)
            .env("ROOKERY_LOG_FORMAT", "json")
            .env("ROOKERY_MATCH_INTERVAL_MS", "50")
            .env("ROOKERY_LEASE_TTL_MS", LEASE_TTL_MS.to_string())
            .env("ROOKERY_WORKERS", "1")
            .env("ROOKERY_ADMINS", "admin")
            // redis-rs's cluster client logs every failed reconnect at warn: hundreds a
            // second while a shard is down, which would push the node's own lines out of the
            // tail a failing test prints. `ROOKERY_TEST_RUST_LOG` sets another filter.
            .env(
                "RUST_LOG",
                std::env::var("ROOKERY_TEST_RUST_LOG")
                    .unwrap_or_else(|_| "info,redis=error".into()),
            )
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let node = NodeProc {
            id: id.to_owned(),
            endpoint: Endpoint::localhost(port),
            child: Some(child),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Ok(r)) =
                tokio::time::timeout(WAIT, http::get(&node.endpoint, "/healthz")).await
            {
                if r.status == 200 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {id} did not come up; log: {}",
                node.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }
}

impl Cluster {
    /// Has Redis drop `node`'s bus connection, as a network partition would end it. A Redis
    /// Cluster's subscriber connections carry no name: there every node's are dropped.
    pub async fn cut_bus_connection(&self, node: &str) {
        let servers = match &self.redis {
            TestRedis::One(server) => vec![server],
            TestRedis::Sharded(shards) => shards.servers.iter().collect(),
        };
        for server in servers {
            let client = redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let mut kill = redis::cmd("CLIENT");
            kill.arg("KILL");
            if let TestRedis::Sharded(_) = &self.redis {
                kill.arg("TYPE").arg("pubsub");
            } else {
                let list: String = redis::cmd("CLIENT")
                    .arg("LIST")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let name = format!("name=rookery:bus-{node} ");
                let line = list
                    .lines()
                    .find(|l| l.contains(&name))
                    .unwrap_or_else(|| panic!("no bus connection of {node}: {list}"));
                let id = line
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix("id="))
                    .unwrap();
                kill.arg("ID").arg(id);
            }
            let _: i64 = kill.query_async(&mut conn).await.unwrap();
        }
    }

    /// The test's Redis, as the nodes reach it.
    fn redis_cluster(&self) -> std::sync::Arc<RedisCluster> {
        let address = match self.redis.env() {
            ("REDIS_URL", url) => RedisAddress::One(url),
            (_, urls) => RedisAddress::sharded(&urls).unwrap(),
        };
        RedisCluster::at(&address, "rookery:").unwrap()
    }
}

impl Cluster {
    /// True once every finished game the nodes appended to the outbox has been delivered to
    /// the recorders and acknowledged: no entry waits, none is pending in any partition of the
    /// event stream (nothing can be recorded again after this).
    pub async fn outbox_settled(&self) -> bool {
        let redis = self.redis_cluster();
        // The nodes' partitions: the default of their Redis mode.
        let partitions = if redis.is_sharded() {
            rookery::events::redis::CLUSTER_PARTITIONS
        } else {
            1
        };
        let events =
            rookery::events::redis::RedisEvents::new(redis.clone()).partitioned(partitions);
        let mut conn = redis.conn();
        for stream in events.streams() {
            let length: redis::RedisResult<usize> =
                redis::cmd("XLEN").arg(stream).query_async(&mut conn).await;
            match length {
                Ok(0) => continue,
                Ok(_) => {}
                Err(_) => return false,
            }
            let info: redis::RedisResult<redis::streams::StreamInfoGroupsReply> =
                redis::cmd("XINFO")
                    .arg("GROUPS")
                    .arg(stream)
                    .query_async(&mut conn)
                    .await;
            let (Ok(info), Ok(length)) = (info, length) else {
                return false;
            };
            let settled = info.groups.iter().any(|g| {
                g.name == "recorders"
                    && g.pending == 0
                    && (g.lag == Some(0) || g.entries_read == Some(length))
            });
            if !settled {
                return false;
            }
        }
        true
    }
}

impl NodeProc {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the node dies without a chance to clean anything up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: the node drains.
    pub fn terminate(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
    }

    /// SIGSTOP / SIGCONT: a node frozen in place (a long GC pause, a partition), then thawed.
    pub fn freeze(&self, frozen: bool) {
        if let Some(child) = &self.child {
            let signal = if frozen { "-STOP" } else { "-CONT" };
            let _ = Command::new("kill")
                .arg(signal)
                .arg(child.id().to_string())
                .status();
        }
    }

    /// True while the process runs (it has not exited or been killed).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The process id while the node runs (to signal it from elsewhere, e.g. a timed SIGCONT).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "node {} did not exit", self.id);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = http_get(&self.endpoint, path).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// An HTTP call with a bearer token and a JSON body: status and JSON answer.
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
        ];
        let body = body.to_string();
        let response =
            crate::helpers::http_request(&self.endpoint, method, path, &headers, body.as_bytes())
                .await;
        (response.status, response.json())
    }

    pub async fn register(&self, name: &str) -> Identity {
        tokio::time::timeout(WAIT, http::register(&self.endpoint, name, "correct horse"))
            .await
            .expect("register within WAIT")
            .unwrap_or_else(|e| panic!("register {name} on {}: {e}", self.id))
    }

    pub async fn guest(&self) -> Identity {
        tokio::time::timeout(WAIT, http::guest(&self.endpoint))
            .await
            .expect("guest within WAIT")
            .unwrap_or_else(|e| panic!("guest on {}: {e}", self.id))
    }

    /// Opens a socket for `who` on this node (resuming its session).
    pub async fn connect(&self, who: &Identity) -> Client {
        Client::connect(&self.endpoint, &who.ws_path()).await
    }

    /// How many games this node hosts right now.
    pub async fn hosted_games(&self) -> u64 {
        let (_, ready) = self.get("/readyz").await;
        ready["hosted"]["games"].as_u64().unwrap_or(0)
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill9();
        // A failing test shows what its nodes logged last (`ROOKERY_TEST_NODE_LOG_LINES`).
        if std::thread::panicking() {
            let lines: usize = std::env::var("ROOKERY_TEST_NODE_LOG_LINES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(40);
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(lines).collect();
            eprintln!("--- last {} lines of {}'s log ---", tail.len(), self.id);
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Reads until `client/RESUME_SESSION` and returns it.
pub async fn resumed(client: &mut Client) -> Value {
    client.next_is("client/RESUME_SESSION").await
}

/// How long a client waits for a move's answer before sending it again.
const RESEND_AFTER: Duration = Duration::from_secs(3);

/// Sends a move until it is acknowledged and returns the acknowledgement, as the SDK does:
/// `unavailable` (a dependency or an owner briefly away) and `stale_seq` are retried at once,
/// and a move nothing answers within [`RESEND_AFTER`] is sent again (same seq, same move:
/// applied once). A node that was cut off from Redis can answer `stale_seq` from its old state
/// until its next lease renewal tells it the game moved on, and a command that reached an
/// owner just as it stopped (its lease lost) is dropped with its mailbox (ARCHITECTURE.md,
/// known limits): nothing is applied, and the retry reaches the owner. An acknowledgement
/// missed while this node's bus reconnected arrives as the resync's `client/RESUME_GAME`, with
/// the move in its list; that is returned then.
pub async fn move_acked(client: &mut Client, game: &str, seq: u64, mv: Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "move {seq} never acknowledged");
        let reference = format!("m{seq}-{}", rand::random::<u16>());
        let frame = json!({"type": "game/PLAYER_MOVE", "game": game, "seq": seq, "move": mv, "ref": reference});
        client.send(frame).await;
        let sent = Instant::now();
        loop {
            let left = RESEND_AFTER.saturating_sub(sent.elapsed());
            let Ok(text) = client.socket().next_text_within(left).await else {
                break; // nothing within the wait: send again
            };
            let message: Value = serde_json::from_str(&text).expect("JSON frames");
            if message["type"] == "client/RESUME_GAME"
                && message["moves"].get(seq as usize) == Some(&mv)
            {
                return message;
            }
            if message["ref"] != reference.as_str() {
                continue;
            }
            if message["type"] == "client/UPDATE_GAME" {
                assert_eq!(message["seq"], seq + 1, "{message}");
                return message;
            }
            assert!(
                message["code"] == "unavailable" || message["code"] == "stale_seq",
                "only `unavailable` and `stale_seq` are retried: {message}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            break;
        }
    }
}

/// The acknowledged move of an acknowledgement: the update's `lastMove`, or the move in a
/// resync's list.
pub fn acked_move(ack: &Value, seq: usize) -> Value {
    if ack["type"] == "client/RESUME_GAME" {
        ack["moves"][seq].clone()
    } else {
        ack["lastMove"].clone()
    }
}

/// Two players of a running game, by side.
pub struct Duel {
    pub game: String,
    pub first: Client,
    pub second: Client,
    pub first_who: Identity,
    pub second_who: Identity,
    /// Which of the two was `a` (the first to queue).
    pub a_is_first: bool,
}

impl Duel {
    /// Waits until both players have heard the game end: its `client/GAME_OVER`, or a resync's
    /// `client/RESUME_GAME` of the finished game.
    pub async fn both_hear_the_end(&mut self) {
        for player in [&mut self.first, &mut self.second] {
            player
                .expect_matching("the game's end", |m| {
                    m["type"] == "client/GAME_OVER"
                        || (m["type"] == "client/RESUME_GAME" && m["status"] != "playing")
                })
                .await;
        }
    }

    /// Plays `moves` alternately from seq 0 (first moves first), each acknowledged; returns
    /// the acknowledged moves as the game recorded them.
    pub async fn play(&mut self, moves: &[Value]) -> Vec<Value> {
        let mut acknowledged = Vec::new();
        for (seq, mv) in moves.iter().enumerate() {
            let mover = if seq % 2 == 0 {
                &mut self.first
            } else {
                &mut self.second
            };
            let ack = move_acked(mover, &self.game, seq as u64, mv.clone()).await;
            acknowledged.push(acked_move(&ack, seq));
        }
        acknowledged
    }
}

/// `a` (on `a_node`) queues first, so the queue and the game live on `a_node`; `b` joins
/// from `b_node`; both accept and get ready.
pub async fn duel(
    a_node: &NodeProc,
    a: Identity,
    b_node: &NodeProc,
    b: Identity,
    queue: Value,
) -> Duel {
    let mut ca = a_node.connect(&a).await;
    resumed(&mut ca).await;
    let mut cb = b_node.connect(&b).await;
    resumed(&mut cb).await;
    ca.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    ca.next_is("client/QUEUED").await;
    cb.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    cb.next_is("client/QUEUED").await;
    let matchup = ca.next_is("client/PROPOSE_MATCHUP").await["matchup"].clone();
    assert_eq!(
        cb.next_is("client/PROPOSE_MATCHUP").await["matchup"],
        matchup
    );
    for c in [&mut ca, &mut cb] {
        c.send(json!({"type": "server/REPLY_MATCHUP", "matchup": matchup, "accept": true}))
            .await;
    }
    let start = ca.expect("client/START_GAME").await;
    cb.expect("client/START_GAME").await;
    let game = start["game"].as_str().unwrap().to_owned();
    for c in [&mut ca, &mut cb] {
        c.send(json!({"type": "game/PLAYER_READY", "game": game}))
            .await;
    }
    for c in [&mut ca, &mut cb] {
        assert_eq!(c.expect("client/UPDATE_GAME").await["status"], "playing");
    }
    let a_is_first = start["you"] == "first";
    let (first, second, first_who, second_who) = if a_is_first {
        (ca, cb, a, b)
    } else {
        (cb, ca, b, a)
    };
    Duel {
        game,
        first,
        second,
        first_who,
        second_who,
        a_is_first,
    }
}

/// Polls `probe` until it yields a value.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `client` has seen move number `seq`: as its `client/UPDATE_GAME`, or, when the
/// update was missed while the bus reconnected, inside the `client/RESUME_GAME` of the resync.
pub async fn sees_move(client: &mut Client, seq: u64, mv: Value) {
    loop {
        let message = client.recv().await;
        if message["type"] == "client/UPDATE_GAME" && message["seq"] == seq + 1 {
            assert_eq!(message["lastMove"], mv, "{message}");
            return;
        }
        if message["type"] == "client/RESUME_GAME" {
            if let Some(played) = message["moves"]
                .as_array()
                .and_then(|m| m.get(seq as usize))
            {
                assert_eq!(played, &mv, "{message}");
                return;
            }
        }
    }
}
