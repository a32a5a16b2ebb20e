//! `play`: tables of two players who meet through the real queue (a time control of their own
//! per table), accept, get ready and play connect-four games back to back. Each game is the same
//! 42 moves that fill the board without a line (a draw), so every game is long and every move
//! is a persisted, acknowledged move. One task drives both seats of a table, so one clock sees a
//! move leave the mover and arrive at the opponent (microseconds). `--rate` paces the moves of
//! all tables together (0: as fast as the node acknowledges them); `--floor` plays the same
//! frames through the bare relay of `loadgen echo` instead.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_protocol::*;
use rookery_testkit::{http, Closed, Endpoint, Socket};
use serde::{Deserialize, Serialize};

use crate::client::{self, Sources};
use crate::stats::{self, Latencies, Summary};

pub use rookery_testkit::CONNECT4_DRAW as DRAW;
/// A table that hears nothing for this long is stuck.
const STALL: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
pub struct PlayArgs {
    /// Nodes, comma-separated http://IP:PORT; seat A of table i uses targets[i], seat B the
    /// next one (two nodes or more: every game spans two nodes).
    #[arg(long, value_delimiter = ',', required = true)]
    targets: Vec<String>,
    /// Tables (two sockets each).
    #[arg(long, default_value_t = 100)]
    tables: usize,
    /// Seconds of play before measuring.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Moves per second for all tables together (0: as fast as they are acknowledged).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Source addresses, comma-separated.
    #[arg(long, default_value = "127.0.0.1")]
    sources: String,
    /// Play through the bare relay of `loadgen echo` (the transport floor).
    #[arg(long)]
    floor: bool,
    /// Offsets the tables' time controls (60 s + (base + table) s, at most 3 h), so that runs
    /// against one cluster use fresh queues.
    #[arg(long, default_value_t = 0)]
    clock_base: u64,
    /// Allow targets that are not loopback addresses.
    #[arg(long)]
    allow_remote: bool,
    /// Write the JSON report here too.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report {
    tool: &'static str,
    mode: &'static str,
    targets: Vec<String>,
    tables: usize,
    rate_target: f64,
    warmup_secs: u64,
    duration_secs: u64,
    moves_per_sec: f64,
    moves_measured: u64,
    games_completed: u64,
    move_to_opponent: Summary,
    setup_failed: usize,
    tables_failed: usize,
    errors: BTreeMap<String, u64>,
    first_failures: Vec<String>,
    loadgen_cpu_secs: Option<f64>,
}

struct Shared {
    floor: bool,
    targets: Vec<Endpoint>,
    sources: Sources,
    clock_base: u64,
    interval: Duration,
    /// Set when every table is seated: measuring starts `warmup` after it.
    go: tokio::sync::watch::Receiver<Option<Instant>>,
    warmup: Duration,
    duration: Duration,
    seated: AtomicUsize,
    setup_failed: AtomicUsize,
    tables_failed: AtomicUsize,
    moves: AtomicU64,
    moves_measured: AtomicU64,
    games: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<Vec<String>>,
}

impl Shared {
    fn count_error(&self, code: &str) {
        *self
            .errors
            .lock()
            .expect("poisoned")
            .entry(code.to_owned())
            .or_default() += 1;
    }

    fn failure(&self, what: String) {
        let mut failures = self.failures.lock().expect("poisoned");
        if failures.len() < 10 {
            failures.push(what);
        }
    }
}

pub async fn run(args: PlayArgs) -> Result<(), String> {
    let targets = args
        .targets
        .iter()
        .map(|t| client::target(t, args.allow_remote))
        .collect::<Result<Vec<_>, _>>()?;
    let tables = args.tables.max(1);
    let (go_tx, go_rx) = tokio::sync::watch::channel(None);
    let shared = Arc::new(Shared {
        floor: args.floor,
        targets,
        sources: Sources::parse(&args.sources)?,
        clock_base: args.clock_base,
        interval: if args.rate > 0.0 {
            Duration::from_secs_f64(tables as f64 / args.rate)
        } else {
            Duration::ZERO
        },
        go: go_rx,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
        seated: AtomicUsize::new(0),
        setup_failed: AtomicUsize::new(0),
        tables_failed: AtomicUsize::new(0),
        moves: AtomicU64::new(0),
        moves_measured: AtomicU64::new(0),
        games: AtomicU64::new(0),
        errors: Mutex::new(BTreeMap::new()),
        failures: Mutex::new(Vec::new()),
    });
    eprintln!("play: seating {tables} tables ({} sockets)", 2 * tables);
    let handles: Vec<_> = (0..tables)
        .map(|i| tokio::spawn(table(i, shared.clone())))
        .collect();
    let setup_started = Instant::now();
    while shared.seated.load(Ordering::Relaxed) + shared.setup_failed.load(Ordering::Relaxed)
        < tables
    {
        if setup_started.elapsed() > Duration::from_secs(300) {
            return Err("tables not seated within 300 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "play: {} tables seated in {:.1} s ({} failed); warm-up {} s, then {} s measured",
        shared.seated.load(Ordering::Relaxed),
        setup_started.elapsed().as_secs_f64(),
        shared.setup_failed.load(Ordering::Relaxed),
        args.warmup_secs,
        args.duration_secs
    );
    let start = Instant::now();
    let _ = go_tx.send(Some(start));
    let progress = tokio::spawn(progress(shared.clone()));
    let mut latencies = Latencies::default();
    for handle in handles {
        match handle.await {
            Ok(Ok(l)) => latencies.merge(l),
            Ok(Err(e)) => {
                shared.tables_failed.fetch_add(1, Ordering::Relaxed);
                shared.failure(e);
            }
            Err(e) => shared.failure(e.to_string()),
        }
    }
    progress.abort();
    let measured = shared.moves_measured.load(Ordering::Relaxed);
    let report = Report {
        tool: "rookery-loadgen",
        mode: if args.floor { "play-floor" } else { "play" },
        targets: shared.targets.iter().map(Endpoint::base_url).collect(),
        tables,
        rate_target: args.rate,
        warmup_secs: args.warmup_secs,
        duration_secs: args.duration_secs,
        moves_per_sec: measured as f64 / shared.duration.as_secs_f64().max(0.001),
        moves_measured: measured,
        games_completed: shared.games.load(Ordering::Relaxed),
        move_to_opponent: latencies.summary(),
        setup_failed: shared.setup_failed.load(Ordering::Relaxed),
        tables_failed: shared.tables_failed.load(Ordering::Relaxed),
        errors: shared.errors.lock().expect("poisoned").clone(),
        first_failures: shared.failures.lock().expect("poisoned").clone(),
        loadgen_cpu_secs: stats::own_cpu_secs(),
    };
    stats::report(&report, args.out.as_deref())
}

async fn progress(shared: Arc<Shared>) {
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let moves = shared.moves.load(Ordering::Relaxed);
        let errors: u64 = shared.errors.lock().expect("poisoned").values().sum();
        eprintln!(
            "play: {} moves/s, {} games, {} errors, {} tables failed",
            moves - last,
            shared.games.load(Ordering::Relaxed),
            errors,
            shared.tables_failed.load(Ordering::Relaxed)
        );
        last = moves;
    }
}

/// Seats a table, then plays games until the measured window ends.
async fn table(i: usize, shared: Arc<Shared>) -> Result<Latencies, String> {
    let seats = match seat(i, &shared).await {
        Ok(seats) => {
            shared.seated.fetch_add(1, Ordering::Relaxed);
            seats
        }
        Err(e) => {
            shared.setup_failed.fetch_add(1, Ordering::Relaxed);
            shared.failure(format!("table {i}: {e}"));
            return Ok(Latencies::default());
        }
    };
    let mut go = shared.go.clone();
    let start = loop {
        if let Some(start) = *go.borrow_and_update() {
            break start;
        }
        go.changed().await.map_err(|e| e.to_string())?;
    };
    let mut table = Table {
        i,
        shared: shared.clone(),
        seats,
        measure_from: start + shared.warmup,
        end: start + shared.warmup + shared.duration,
        // Spread the tables' first moves over one pacing interval.
        next_slot: Instant::now() + shared.interval.mul_f64(i as f64 / 64.0 % 1.0),
        latencies: Latencies::default(),
    };
    let result = table.play_until_end().await;
    for ws in table.seats.iter_mut() {
        ws.close().await;
    }
    result.map(|()| table.latencies)
}

async fn seat(i: usize, shared: &Shared) -> Result<[Socket; 2], String> {
    let n = shared.targets.len();
    let mut seats = Vec::with_capacity(2);
    for s in 0..2 {
        let endpoint = shared.sources.next(&shared.targets[(i + s) % n]);
        let mut ws = if shared.floor {
            Socket::connect(&endpoint, &format!("/relay?pair={i}")).await?
        } else {
            let who = http::guest(&endpoint).await?;
            Socket::connect(&endpoint, &who.ws_path()).await?
        };
        ws.next_text_within(STALL)
            .await
            .map_err(|e| format!("no first frame: {e}"))?;
        seats.push(ws);
    }
    let b = seats.pop().expect("two seats");
    let a = seats.pop().expect("two seats");
    Ok([a, b])
}

/// The relay's copy of a move frame: only its seq matters.
#[derive(Deserialize)]
struct FloorMove {
    seq: u32,
}

enum Event {
    Frame(
        usize,
        Result<rookery_testkit::tungstenite::Utf8Bytes, Closed>,
    ),
    Fire,
    Stall,
}

struct Table {
    i: usize,
    shared: Arc<Shared>,
    seats: [Socket; 2],
    measure_from: Instant,
    end: Instant,
    next_slot: Instant,
    latencies: Latencies,
}

/// One game in progress.
#[derive(Default)]
struct Game {
    id: String,
    sides: [Option<Side>; 2],
    /// When each seq's move was sent, and by which seat.
    sent: Vec<Option<(Instant, usize)>>,
    over: [bool; 2],
    /// The next move to send: (seat, seq, when).
    due: Option<(usize, u32, Instant)>,
}

impl Table {
    async fn play_until_end(&mut self) -> Result<(), String> {
        while Instant::now() < self.end {
            self.play_one().await?;
        }
        Ok(())
    }

    fn schedule(&mut self, game: &mut Game, seat: usize, seq: u32) {
        let now = Instant::now();
        // Pacing: one move per interval per table, never bunching up after a slow spell.
        let at = self.next_slot.max(now);
        self.next_slot = (at + self.shared.interval).max(now);
        game.due = Some((seat, seq, at));
    }

    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_from && t <= self.end
    }

    async fn play_one(&mut self) -> Result<(), String> {
        let mut game = Game {
            sent: vec![None; DRAW.len() + 1],
            ..Game::default()
        };
        if self.shared.floor {
            game.id = "floor".into();
            self.schedule(&mut game, 0, 0);
        } else {
            let queue = QueueSpec {
                game: GameKind::Connect4,
                clock: Some(ClockSpec {
                    initial_ms: 60_000 + (self.shared.clock_base + self.i as u64) * 1000,
                    increment_ms: 0,
                }),
                rated: false,
            };
            for ws in self.seats.iter_mut() {
                let queue = queue.clone();
                ws.send(ClientMessage::StartMatchmaking { queue }, None)
                    .await?;
            }
        }
        let mut stall_at = Instant::now() + STALL;
        loop {
            if Instant::now() >= self.end {
                return Ok(());
            }
            let event = {
                let [a, b] = &mut self.seats;
                let due_at = game.due.map(|(_, _, at)| at).unwrap_or(stall_at);
                tokio::select! {
                    m = a.next_text() => Event::Frame(0, m),
                    m = b.next_text() => Event::Frame(1, m),
                    _ = tokio::time::sleep_until(due_at.into()), if game.due.is_some() => Event::Fire,
                    _ = tokio::time::sleep_until(stall_at.into()) => Event::Stall,
                    _ = tokio::time::sleep_until(self.end.into()) => return Ok(()),
                }
            };
            match event {
                Event::Stall => {
                    return Err(format!("table {}: nothing heard for {STALL:?}", self.i));
                }
                Event::Fire => {
                    let (seat, seq, _) = game.due.take().expect("a due move");
                    let now = Instant::now();
                    game.sent[seq as usize] = Some((now, seat));
                    let column = DRAW[seq as usize];
                    let ws = &mut self.seats[seat];
                    if self.shared.floor {
                        let text = format!(
                            r#"{{"type":"game/PLAYER_MOVE","game":"floor","seq":{seq},"move":{column},"ref":"m{seq}"}}"#
                        );
                        ws.send_text(text).await?;
                    } else {
                        let mv = ClientMessage::PlayerMove {
                            game: game.id.clone(),
                            seq,
                            mv: Move::Index(column),
                        };
                        ws.send(mv, Some(format!("m{seq}"))).await?;
                    }
                }
                Event::Frame(seat, frame) => {
                    let text = match frame {
                        Ok(text) => text,
                        Err(closed) => return Err(format!("table {}: socket {closed}", self.i)),
                    };
                    stall_at = Instant::now() + STALL;
                    let done = if self.shared.floor {
                        self.on_floor_frame(&mut game, seat, &text)?
                    } else {
                        self.on_frame(&mut game, seat, &text).await?
                    };
                    if done {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Counts an acknowledged move or measures its arrival at the opponent.
    fn arrived(&mut self, game: &Game, seat: usize, moved: u32) {
        let now = Instant::now();
        let Some(Some((sent, by))) = game.sent.get(moved as usize).copied() else {
            return;
        };
        if by == seat {
            self.shared.moves.fetch_add(1, Ordering::Relaxed);
            if self.in_window(now) {
                self.shared.moves_measured.fetch_add(1, Ordering::Relaxed);
            }
        } else if self.in_window(sent) && self.in_window(now) {
            self.latencies.record(now - sent);
        }
    }

    fn on_floor_frame(&mut self, game: &mut Game, seat: usize, text: &str) -> Result<bool, String> {
        let Ok(mv) = serde_json::from_str::<FloorMove>(text) else {
            return Ok(false);
        };
        self.arrived(game, seat, mv.seq);
        let by = game.sent[mv.seq as usize].map(|(_, by)| by);
        if by != Some(seat) {
            // The opponent saw the move: its turn.
            let next = mv.seq + 1;
            if next as usize == DRAW.len() {
                self.shared.games.fetch_add(1, Ordering::Relaxed);
                return Ok(true);
            }
            self.schedule(game, seat, next);
        }
        Ok(false)
    }

    async fn on_frame(&mut self, game: &mut Game, seat: usize, text: &str) -> Result<bool, String> {
        let Some(frame) = rookery_testkit::parse(text) else {
            self.shared.count_error("unparsed_frame");
            return Ok(false);
        };
        let ws = &mut self.seats[seat];
        match frame.message {
            ServerMessage::ProposeMatchup { matchup, .. } => {
                let reply = ClientMessage::ReplyMatchup {
                    matchup,
                    accept: true,
                };
                ws.send(reply, None).await?;
            }
            ServerMessage::StartGame(view) | ServerMessage::ResumeGame(view) => {
                game.id = view.game.clone();
                game.sides[seat] = view.you;
                let ready = ClientMessage::PlayerReady { game: view.game };
                ws.send(ready, None).await?;
            }
            ServerMessage::UpdateGame(u) if u.game == game.id => {
                if u.seq > 0 && u.last_move.is_some() {
                    self.arrived(game, seat, u.seq - 1);
                }
                let ours = game.sides[seat] == Some(u.to_move);
                let unsent = game.sent.get(u.seq as usize).is_some_and(|s| s.is_none());
                let left = (u.seq as usize) < DRAW.len();
                if u.status == GameStatus::Playing && ours && unsent && left && game.due.is_none() {
                    self.schedule(game, seat, u.seq);
                }
            }
            ServerMessage::GameOver { game: id, .. } if id == game.id => {
                game.over[seat] = true;
                if game.over == [true, true] {
                    self.shared.games.fetch_add(1, Ordering::Relaxed);
                    return Ok(true);
                }
            }
            ServerMessage::Error { code, .. } => {
                self.shared.count_error(code.as_str());
                // A dropped move (rate limit, store hiccup): send it again shortly.
                if let (Some(r), true) = (
                    frame.reference.as_deref(),
                    matches!(code, ErrorCode::RateLimited | ErrorCode::Unavailable),
                ) {
                    if let Some(seq) = r.strip_prefix('m').and_then(|s| s.parse::<u32>().ok()) {
                        game.sent[seq as usize] = None;
                        let at = Instant::now() + Duration::from_millis(50);
                        game.due = Some((seat, seq, at));
                    }
                }
            }
            _ => {}
        }
        Ok(false)
    }
}
