//! `tournament`: one tournament (arena or swiss) of `--players` guest bots on one node. An
//! admin creates it, every bot joins over its socket, and from the start each bot readies
//! and plays every tic-tac-toe game the tournament starts for it at once (the first side
//! wins in five moves), as fast as the node answers. A watcher socket follows the
//! tournament's updates. Measured: how long the node takes to pair (a swiss round after the
//! previous one's last game ended; an arena player's next game after their last one), how
//! long a round's games take to reach all their players, and how long after a game ends an
//! update shows its result (updates are sent at most twice a second by design).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client_protocol::*;
use rookery_testkit::{http, Endpoint, Socket};
use serde::Serialize;
use serde_json::{json, Value};

use crate::client;
use crate::stats::{self, Latencies, Summary};

/// A bot that hears nothing for this long (outside a tournament wait) is stuck.
const STALL: Duration = Duration::from_secs(60);

#[derive(clap::Args)]
pub struct TournamentArgs {
    /// The node, http://IP:PORT (started with `ROOKERY_ADMINS` naming `--admin`).
    #[arg(long)]
    target: String,
    /// The admin account (registered, or logged into when it exists).
    #[arg(long, default_value = "benchadmin")]
    admin: String,
    #[arg(long, default_value = "benchadmin-password")]
    admin_password: String,
    /// `arena` or `swiss`.
    #[arg(long, default_value = "arena")]
    format: String,
    #[arg(long, default_value_t = 100)]
    players: usize,
    /// Swiss rounds.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Arena length, seconds.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Each bot thinks this long before each move (0: moves as soon as it may).
    #[arg(long, default_value_t = 0)]
    think_ms: u64,
    /// Seconds from creation to the start (time for every bot to join).
    #[arg(long, default_value_t = 30)]
    start_in_secs: u64,
    /// Source addresses, comma-separated.
    #[arg(long, default_value = "127.0.0.1")]
    sources: String,
    #[arg(long)]
    allow_remote: bool,
    /// Write the JSON report here too.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(Serialize)]
struct Report {
    tool: &'static str,
    mode: &'static str,
    format: String,
    players: usize,
    think_ms: u64,
    joined: usize,
    games_started: usize,
    games_finished: usize,
    rounds: u32,
    /// Swiss: the previous round's last game over → the next round's first game announced.
    pair_round: Summary,
    /// Swiss: a round's first → last game announced (all its games created and sent).
    announce_round: Summary,
    /// The start instant → the first game announced.
    first_game_after_start_ms: f64,
    /// Arena: a player's game over → their next game announced.
    arena_repair: Summary,
    /// A game over → the first watcher update showing its result.
    standings_update: Summary,
    updates_seen: usize,
    wall_secs: f64,
    errors: BTreeMap<String, u64>,
    loadgen_cpu_secs: Option<f64>,
}

#[derive(Default)]
struct Shared {
    /// When each game was announced (first seat to hear) and ended (first to hear).
    started: HashMap<String, Instant>,
    ended: HashMap<String, Instant>,
    /// Swiss: the last game over seen, and the first / last announcement of the round.
    last_over: Option<Instant>,
    round_first: Option<Instant>,
    round_last: Option<Instant>,
    pair_round: Latencies,
    announce_round: Latencies,
    arena_repair: Latencies,
    first_game: Option<Instant>,
    errors: BTreeMap<String, u64>,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub async fn run(args: TournamentArgs) -> Result<(), String> {
    let target = client::target(&args.target, args.allow_remote)?;
    let sources = Arc::new(client::Sources::parse(&args.sources)?);
    let admin = match http::register(&target, &args.admin, &args.admin_password).await {
        Ok(admin) => admin,
        Err(_) => http::login(&target, &args.admin, &args.admin_password)
            .await
            .map_err(|e| format!("admin {}: {e}", args.admin))?,
    };
    let swiss = args.format == "swiss";
    let start_instant = Instant::now() + Duration::from_secs(args.start_in_secs);
    let starts_at = unix_ms() + args.start_in_secs * 1000;
    let mut body = json!({
        "name": format!("bench {} {}", args.format, args.players), "format": args.format,
        "game": "tictactoe", "clock": null, "rated": false, "startsAt": starts_at,
    });
    if swiss {
        body["rounds"] = json!(args.rounds);
    } else {
        body["durationMs"] = json!(args.duration_secs * 1000);
    }
    let bearer = format!("Bearer {}", admin.token);
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let created = http::request(
        &target,
        "POST",
        "/api/tournaments",
        &headers,
        body.to_string().as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    if created.status != 201 {
        return Err(format!(
            "create: HTTP {}: {}",
            created.status,
            created.text()
        ));
    }
    let id = created.json()["id"].as_str().unwrap_or_default().to_owned();
    eprintln!("tournament {id}: {} bots joining", args.players);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (joined_tx, mut joined_rx) = tokio::sync::mpsc::unbounded_channel();
    let began = Instant::now();
    let mut bots = Vec::new();
    for i in 0..args.players {
        let endpoint = sources.next(&target);
        let (id, shared, joined) = (id.clone(), shared.clone(), joined_tx.clone());
        let think = Duration::from_millis(args.think_ms);
        bots.push(tokio::spawn(async move {
            if let Err(e) = bot(endpoint, &id, swiss, think, shared.clone(), joined).await {
                *shared
                    .lock()
                    .expect("poisoned")
                    .errors
                    .entry(e)
                    .or_default() += 1;
            }
        }));
        // Keep the connect rate gentle: the node's login limits and the accept queue.
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(joined_tx);
    let mut joined = 0;
    while joined < args.players {
        match tokio::time::timeout(
            Duration::from_secs(args.start_in_secs + 30),
            joined_rx.recv(),
        )
        .await
        {
            Ok(Some(())) => joined += 1,
            _ => break,
        }
    }
    eprintln!(
        "tournament {id}: {joined} joined in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let watcher = tokio::spawn(watch(sources.next(&target), id.clone(), shared.clone()));
    for bot in bots {
        let _ = bot.await;
    }
    let (mut updates, updates_seen) = watcher.await.map_err(|e| e.to_string())??;
    let mut shared = shared.lock().expect("poisoned");
    let first_game = shared
        .first_game
        .map(|t| t.saturating_duration_since(start_instant).as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    let rounds = shared.announce_round_count();
    let report = Report {
        tool: "rookery-loadgen",
        mode: "tournament",
        format: args.format.clone(),
        players: args.players,
        think_ms: args.think_ms,
        joined,
        games_started: shared.started.len(),
        games_finished: shared.ended.len(),
        rounds,
        pair_round: shared.pair_round.summary(),
        announce_round: shared.announce_round.summary(),
        first_game_after_start_ms: first_game,
        arena_repair: shared.arena_repair.summary(),
        standings_update: updates.summary(),
        updates_seen,
        wall_secs: began.elapsed().as_secs_f64(),
        errors: shared.errors.clone(),
        loadgen_cpu_secs: stats::own_cpu_secs(),
    };
    stats::report(&report, args.out.as_deref())
}

impl Shared {
    fn announce_round_count(&mut self) -> u32 {
        self.close_round();
        self.announce_round.count() as u32
    }

    /// Ends the round being announced (a swiss round's last announcement is the latest).
    fn close_round(&mut self) {
        if let (Some(first), Some(last)) = (self.round_first.take(), self.round_last.take()) {
            self.announce_round.record(last - first);
        }
    }

    fn game_started(&mut self, game: &str, swiss: bool, my_last_over: Option<Instant>) {
        let now = Instant::now();
        if self.started.contains_key(game) {
            return;
        }
        self.first_game.get_or_insert(now);
        let in_flight = self.started.len() - self.ended.len();
        if swiss && in_flight == 0 {
            // Every game so far has ended: this is the first game of a new round.
            self.close_round();
            if let Some(over) = self.last_over {
                self.pair_round.record(now - over);
            }
            self.round_first = Some(now);
        }
        self.round_last = Some(now);
        if !swiss {
            if let Some(over) = my_last_over {
                self.arena_repair.record(now - over);
            }
        }
        self.started.insert(game.to_owned(), now);
    }

    fn game_over(&mut self, game: &str) {
        let now = Instant::now();
        if self.ended.insert(game.to_owned(), now).is_none() {
            self.last_over = Some(now);
        }
    }
}

/// A guest who joins, then plays every game it is given until the tournament ends.
async fn bot(
    endpoint: Endpoint,
    id: &str,
    swiss: bool,
    think: Duration,
    shared: Arc<Mutex<Shared>>,
    joined: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<(), String> {
    let who = http::guest(&endpoint)
        .await
        .map_err(|e| format!("guest: {e}"))?;
    let mut ws = Socket::connect(&endpoint, &who.ws_path())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ws.send(
        ClientMessage::JoinTournament {
            tournament: id.to_owned(),
        },
        None,
    )
    .await
    .map_err(|e| format!("send: {e}"))?;
    let mut side = None;
    let mut game = String::new();
    let mut my_last_over = None;
    loop {
        let text = ws
            .next_text_within(STALL)
            .await
            .map_err(|e| format!("bot: {e}"))?;
        // Updates are big and a bot needs only whether the tournament is over: a bot parses
        // them no further, so the load generator's core stays free for the games.
        if text.starts_with(r#"{"type":"client/TOURNAMENT_UPDATE""#) {
            if text.contains(r#""status":"finished""#) || text.contains(r#""status":"cancelled""#) {
                ws.close().await;
                return Ok(());
            }
            continue;
        }
        let Some(frame) = rookery_testkit::parse(&text) else {
            return Err(format!("bot: not a frame: {text}"));
        };
        match frame.message {
            ServerMessage::TournamentJoined { .. } => {
                let _ = joined.send(());
            }
            ServerMessage::TournamentUpdate { tournament } => {
                if matches!(
                    tournament.status,
                    TournamentStatus::Finished | TournamentStatus::Cancelled
                ) {
                    ws.close().await;
                    return Ok(());
                }
            }
            ServerMessage::StartGame(view) if view.tournament.as_deref() == Some(id) => {
                shared
                    .lock()
                    .expect("poisoned")
                    .game_started(&view.game, swiss, my_last_over);
                game = view.game.clone();
                side = view.you;
                ws.send(ClientMessage::PlayerReady { game: game.clone() }, None)
                    .await
                    .map_err(|e| format!("send: {e}"))?;
            }
            // My turn. First wins: 0 1 2 against 3 4.
            ServerMessage::UpdateGame(update)
                if update.game == game
                    && update.status == GameStatus::Playing
                    && Some(update.to_move) == side =>
            {
                let cell = match (side, update.seq) {
                    (Some(Side::First), s) => s / 2,
                    (_, s) => 3 + s / 2,
                };
                if !think.is_zero() {
                    tokio::time::sleep(think).await;
                }
                let mv = ClientMessage::PlayerMove {
                    game: game.clone(),
                    seq: update.seq,
                    mv: Move::Index(cell),
                };
                ws.send(mv, None).await.map_err(|e| format!("send: {e}"))?;
            }
            ServerMessage::GameOver { game: over, .. } if over == game => {
                shared.lock().expect("poisoned").game_over(&over);
                my_last_over = Some(Instant::now());
            }
            ServerMessage::Error { code, message, .. } => {
                if std::env::var_os("LOADGEN_DEBUG").is_some() {
                    eprintln!(
                        "bot {}: {} {message} (game {game}, side {side:?})",
                        who.name,
                        code.as_str()
                    );
                }
                *shared
                    .lock()
                    .expect("poisoned")
                    .errors
                    .entry(code.as_str().to_owned())
                    .or_default() += 1;
            }
            _ => {}
        }
    }
}

/// Follows the tournament's updates: for each game seen running in an update, the time from
/// its end (as its players heard it) to the first update that shows it ended.
async fn watch(
    endpoint: Endpoint,
    id: String,
    shared: Arc<Mutex<Shared>>,
) -> Result<(Latencies, usize), String> {
    let who = http::guest(&endpoint)
        .await
        .map_err(|e| format!("watcher: {e}"))?;
    let mut ws = Socket::connect(&endpoint, &who.ws_path())
        .await
        .map_err(|e| format!("watcher: {e}"))?;
    ws.send(
        ClientMessage::WatchTournament {
            tournament: id.clone(),
        },
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut latencies = Latencies::default();
    let mut running: HashSet<String> = HashSet::new();
    let mut updates = 0;
    loop {
        let frame = ws
            .next_frame_within(STALL)
            .await
            .map_err(|e| format!("watcher: {e}"))?;
        let ServerMessage::TournamentUpdate { tournament } = frame.message else {
            continue;
        };
        let now = Instant::now();
        updates += 1;
        let view: Value = serde_json::to_value(&tournament).map_err(|e| e.to_string())?;
        let shown: HashMap<String, bool> = view["pairings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["game"].as_str().unwrap_or("").to_owned(),
                    !p["result"].is_null(),
                )
            })
            .collect();
        let ended = shared.lock().expect("poisoned").ended.clone();
        running.retain(|game| {
            let done = match shown.get(game) {
                Some(result) => *result,
                None => true, // an arena lists running games only
            };
            if done {
                if let Some(over) = ended.get(game) {
                    latencies.record(now.saturating_duration_since(*over));
                }
            }
            !done
        });
        for (game, done) in shown {
            if !done {
                running.insert(game);
            }
        }
        if matches!(
            tournament.status,
            TournamentStatus::Finished | TournamentStatus::Cancelled
        ) {
            ws.close().await;
            return Ok((latencies, updates));
        }
    }
}
