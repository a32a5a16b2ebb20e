//! Event stream benchmark (not a test): `move` events appended as fast as `--appenders`
//! concurrent appenders go for `--seconds`, while three listeners (as many as a node runs,
//! each its own consumer group, each acknowledging every event) read them; reports events
//! appended per second, events handled per second per listener, and how far behind the
//! slowest listener was at the end. Then the analysis throughput: tic-tac-toe, connect-four
//! and chess games analysed per minute on one core.
//!
//! ```text
//! cargo run --release --example events_bench -- [--seconds N] [--appenders N] [embedded|redis ...]
//! ```
//! Redis from `ROOKERY_TEST_REDIS_URL` (or `REDIS_URL`); Stockfish at /usr/games/stockfish.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use client_protocol::{GameKind, Move, Side};
use rookery::analysis::{Analyser, AnalyserConfig, AnalysisInput, DEFAULT_STOCKFISH_PATH};
use rookery::audit::sqlite::SqliteAudit;
use rookery::audit::Auditor;
use rookery::cluster::redis::RedisCluster;
use rookery::events::listener::{Listener, ListenerError, Listeners, Policy};
use rookery::events::redis::RedisEvents;
use rookery::events::sqlite::SqliteEvents;
use rookery::events::{EventLog, GameEvent, Retention};

struct Counting {
    name: &'static str,
    handled: AtomicU64,
}

#[async_trait]
impl Listener for Counting {
    fn name(&self) -> &'static str {
        self.name
    }
    fn wants(&self, _: &GameEvent) -> bool {
        true
    }
    async fn handle(&self, _: &GameEvent) -> Result<(), ListenerError> {
        self.handled.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn a_move(i: u64) -> GameEvent {
    GameEvent::Move {
        game: format!("g{}", i / 40),
        seq: (i % 40) as u32,
        side: if i.is_multiple_of(2) {
            Side::First
        } else {
            Side::Second
        },
        mv: Move::Text("e2e4".into()),
        used_ms: 1200,
        at: rookery::domain::now_ms(),
    }
}

async fn stream(name: &str, log: Arc<dyn EventLog>, seconds: u64, appenders: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = SqliteAudit::open(&dir.path().join("audit.sqlite3")).expect("audit");
    let auditor = Auditor::start(Arc::new(audit), Duration::from_secs(3600));
    let listeners: Vec<Arc<Counting>> = ["recorders", "anticheat", "automod"]
        .into_iter()
        .map(|name| {
            Arc::new(Counting {
                name,
                handled: AtomicU64::new(0),
            })
        })
        .collect();
    let policy = Policy {
        pause_after_handling: Vec::new(),
        max_deliveries: 5,
        retry_after: Duration::from_millis(100),
        retention: Retention {
            max_len: 10_000_000,
            max_age: Duration::from_secs(3600),
        },
    };
    let running = Listeners::start(
        log.clone(),
        listeners
            .iter()
            .map(|l| l.clone() as Arc<dyn Listener>)
            .collect(),
        "bench".into(),
        auditor,
        policy,
    );
    let appended = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..appenders {
        let (log, appended) = (log.clone(), appended.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let i = appended.fetch_add(1, Ordering::Relaxed);
                log.append(&a_move(i)).await.expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.expect("appender");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = appended.load(Ordering::Relaxed);
    let handled: Vec<u64> = listeners
        .iter()
        .map(|l| l.handled.load(Ordering::Relaxed))
        .collect();
    let behind = total - handled.iter().copied().min().unwrap_or(0);
    println!(
        "{name}: {total} events in {elapsed:.1} s = {:.0} appended/s; handled per listener: {:?} = {:.0}/s each (slowest); {behind} behind at the end",
        total as f64 / elapsed,
        handled,
        *handled.iter().min().unwrap_or(&0) as f64 / elapsed,
    );
    running.stop();
}

/// Games analysed per minute: `n` random-ish legal games of each kind, one after another.
async fn analysis() {
    let analyser = Analyser::new(AnalyserConfig {
        stockfish_path: Some(DEFAULT_STOCKFISH_PATH.into()),
        ..AnalyserConfig::default()
    });
    let games: [(GameKind, Vec<Move>); 3] = [
        (
            GameKind::TicTacToe,
            [4, 0, 2, 6, 3, 5, 7, 1, 8].map(Move::Index).to_vec(),
        ),
        (
            GameKind::Connect4,
            [3, 3, 2, 4, 2, 2, 4, 5, 1, 0, 5, 6, 0, 1, 6, 6, 1, 0, 3, 4]
                .map(Move::Index)
                .to_vec(),
        ),
        (
            GameKind::Chess,
            "e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1 f8e7 f1e1 b7b5 a4b3 d7d6 c2c3 e8g8 h2h3 c6b8 d2d4 b8d7 c3c4 c7c6 c4b5 a6b5 b1c3 c8b7 c1g5 b5b4 c3b1 h7h6 g5h4 c6c5 d4e5 f6e4 h4e7 d8e7 e5d6 e7f6 b1d2 e4d6"
                .split(' ')
                .map(|m| Move::Text(m.into()))
                .collect(),
        ),
    ];
    for (kind, moves) in games {
        let input = AnalysisInput {
            kind,
            move_ms: vec![1000; moves.len()],
            moves,
            players: ["a".into(), "b".into()],
        };
        let runs = 5;
        let started = Instant::now();
        for _ in 0..runs {
            if let Err(e) = analyser.analyse(&input).await {
                println!("analysis {}: {e}", kind.as_str());
                break;
            }
        }
        let per_game = started.elapsed().as_secs_f64() / runs as f64;
        println!(
            "analysis {}: {} plies, {:.3} s per game = {:.0} games per minute",
            kind.as_str(),
            input.moves.len(),
            per_game,
            60.0 / per_game
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut seconds = 10;
    let mut appenders = 8;
    let mut backends = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => seconds = it.next().and_then(|v| v.parse().ok()).expect("N"),
            "--appenders" => appenders = it.next().and_then(|v| v.parse().ok()).expect("N"),
            other => backends.push(other.to_owned()),
        }
    }
    if backends.is_empty() {
        backends = vec!["embedded".into(), "redis".into()];
    }
    for backend in backends {
        let dir = tempfile::tempdir().expect("tempdir");
        let log: Arc<dyn EventLog> = match backend.as_str() {
            "embedded" => {
                Arc::new(SqliteEvents::open(&dir.path().join("events.sqlite3")).expect("sqlite"))
            }
            "redis" => {
                let url =
                    std::env::var("ROOKERY_TEST_REDIS_URL").or_else(|_| std::env::var("REDIS_URL"));
                let Ok(url) = url else {
                    println!("redis: skipped (no ROOKERY_TEST_REDIS_URL)");
                    continue;
                };
                let prefix = format!("bench{}:", rand::random::<u32>());
                Arc::new(RedisEvents::new(
                    RedisCluster::new(&url, &prefix).expect("redis"),
                ))
            }
            other => panic!("unknown backend {other}"),
        };
        stream(&backend, log, seconds, appenders).await;
    }
    analysis().await;
}
