//! `watch` and `chat`: spectators and chat at scale across nodes.
//!
//! `watch`: two guest players on the first node play one connect-four game (42 moves, a
//! draw) at a set pace while `--watchers` guest sockets, spread over every `--targets` node,
//! watch it. Measured: move to watcher (the mover's send to each watcher's `UPDATE_GAME`),
//! whether each watcher saw every update in order, and bus messages per move read from each
//! node's `/metrics` (published, and received by watcher groups: one per node per move).
//!
//! `chat`: `--members` guest sockets over the nodes join the lobby; `--senders` of them say a
//! new line every `--interval-ms` (within the flood rule). Measured: lines accepted per second,
//! deliveries per second, and send to delivery latency.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_protocol::*;
use rookery_testkit::{http, Endpoint, Socket};
use serde::Serialize;

use crate::client;
use crate::play::DRAW;
use crate::stats::{self, Latencies, Summary};

const STALL: Duration = Duration::from_secs(60);

#[derive(clap::Args)]
pub struct WatchArgs {
    /// The nodes, comma-separated http://IP:PORT (the game is made on the first).
    #[arg(long)]
    targets: String,
    #[arg(long, default_value_t = 10_000)]
    watchers: usize,
    /// Pause between moves (the game's pace), ms.
    #[arg(long, default_value_t = 200)]
    move_interval_ms: u64,
    /// Source addresses, comma-separated.
    #[arg(long, default_value = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4")]
    sources: String,
    #[arg(long)]
    allow_remote: bool,
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(clap::Args)]
pub struct ChatArgs {
    #[arg(long)]
    targets: String,
    #[arg(long, default_value_t = 1_000)]
    members: usize,
    /// How many members speak.
    #[arg(long, default_value_t = 200)]
    senders: usize,
    /// Each sender's pause between lines, ms (the flood rule allows 5 per 10 s).
    #[arg(long, default_value_t = 2_100)]
    interval_ms: u64,
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    #[arg(long, default_value = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4")]
    sources: String,
    #[arg(long)]
    allow_remote: bool,
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(Serialize)]
struct WatchReport {
    tool: &'static str,
    mode: &'static str,
    nodes: usize,
    watchers: usize,
    watching: usize,
    moves: usize,
    move_interval_ms: u64,
    move_to_watcher: Summary,
    /// Watchers that saw all the updates, in order, and the end.
    complete: usize,
    out_of_order: u64,
    /// The last `client/CROWD` a player heard.
    crowd: u32,
    /// Over all nodes, during the game, divided by its moves.
    bus_published_per_move: f64,
    bus_received_by_watchers_per_move: f64,
    setup_secs: f64,
    errors: BTreeMap<String, u64>,
    loadgen_cpu_secs: Option<f64>,
}

#[derive(Serialize)]
struct ChatReport {
    tool: &'static str,
    mode: &'static str,
    nodes: usize,
    members: usize,
    senders: usize,
    duration_secs: f64,
    accepted: usize,
    accepted_per_sec: f64,
    deliveries: usize,
    deliveries_per_sec: f64,
    send_to_delivery: Summary,
    refused: BTreeMap<String, u64>,
    loadgen_cpu_secs: Option<f64>,
}

fn targets(list: &str, remote: bool) -> Result<Vec<Endpoint>, String> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|t| client::target(t.trim(), remote))
        .collect()
}

/// A guest socket on `endpoint`, past its opening frame.
async fn guest_socket(endpoint: &Endpoint) -> Result<Socket, String> {
    let who = http::guest(endpoint)
        .await
        .map_err(|e| format!("guest: {e}"))?;
    let mut ws = Socket::connect(endpoint, &who.ws_path())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ws.next_text_within(STALL)
        .await
        .map_err(|e| format!("no first frame: {e}"))?;
    Ok(ws)
}

/// The sum over `nodes` of a counter (its line as `/metrics` prints it, labels included).
async fn counter(nodes: &[Endpoint], line: &str) -> f64 {
    let mut total = 0.0;
    for node in nodes {
        if let Ok(r) = http::get(node, "/metrics").await {
            total += r
                .text()
                .lines()
                .find_map(|l| l.strip_prefix(line)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
        }
    }
    total
}

/// Counts the sockets that say they are ready, until `expected` did or none spoke for
/// [`STALL`].
async fn arrivals(ready: &mut tokio::sync::mpsc::UnboundedReceiver<()>, expected: usize) -> usize {
    let mut arrived = 0;
    while arrived < expected {
        match tokio::time::timeout(STALL, ready.recv()).await {
            Ok(Some(())) => arrived += 1,
            _ => break,
        }
    }
    arrived
}

async fn send(ws: &mut Socket, message: ClientMessage) -> Result<(), String> {
    ws.send(message, None)
        .await
        .map_err(|e| format!("send: {e}"))
}

async fn next(ws: &mut Socket) -> Result<ServerMessage, String> {
    ws.next_frame_within(STALL)
        .await
        .map(|f| f.message)
        .map_err(|e| format!("recv: {e}"))
}

/// Two players matched and announced (not ready yet): their sockets by side and the game.
async fn two_players(node: &Endpoint) -> Result<(Socket, Socket, String), String> {
    let (mut a, mut b) = (guest_socket(node).await?, guest_socket(node).await?);
    let queue = QueueSpec {
        game: GameKind::Connect4,
        clock: None,
        rated: false,
    };
    for ws in [&mut a, &mut b] {
        send(
            ws,
            ClientMessage::StartMatchmaking {
                queue: queue.clone(),
            },
        )
        .await?;
    }
    for ws in [&mut a, &mut b] {
        loop {
            if let ServerMessage::ProposeMatchup { matchup, .. } = next(ws).await? {
                send(
                    ws,
                    ClientMessage::ReplyMatchup {
                        matchup,
                        accept: true,
                    },
                )
                .await?;
                break;
            }
        }
    }
    let mut start = None;
    for ws in [&mut a, &mut b] {
        loop {
            if let ServerMessage::StartGame(view) = next(ws).await? {
                start = Some((view.game.clone(), view.you));
                break;
            }
        }
    }
    let (game, you) = start.expect("a start");
    // `you` is b's side (the last to hear): order the sockets first, second.
    Ok(match you {
        Some(Side::Second) => (a, b, game),
        _ => (b, a, game),
    })
}

pub async fn run_watch(args: WatchArgs) -> Result<(), String> {
    let nodes = targets(&args.targets, args.allow_remote)?;
    let sources = Arc::new(client::Sources::parse(&args.sources)?);
    let began = Instant::now();
    let (mut first, mut second, game) = two_players(&nodes[0]).await?;
    eprintln!(
        "game {game}: {} watchers connecting over {} nodes",
        args.watchers,
        nodes.len()
    );
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; DRAW.len() + 1]));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watchers = Vec::new();
    for i in 0..args.watchers {
        let endpoint = sources.next(&nodes[i % nodes.len()]);
        let (game, sent, ready) = (game.clone(), sent.clone(), ready_tx.clone());
        watchers.push(tokio::spawn(async move {
            watcher(endpoint, game, sent, ready).await
        }));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    drop(ready_tx);
    let watching = arrivals(&mut ready_rx, args.watchers).await;
    let setup_secs = began.elapsed().as_secs_f64();
    eprintln!("{watching} watching after {setup_secs:.1} s");
    // Let the crowd reports settle, then count the bus from here.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let published = counter(&nodes, "rookery_bus_published_total").await;
    let received = counter(&nodes, "rookery_bus_received_total{kind=\"watch\"}").await;
    for ws in [&mut first, &mut second] {
        send(ws, ClientMessage::PlayerReady { game: game.clone() }).await?;
    }
    let mut crowd = 0;
    for ws in [&mut first, &mut second] {
        loop {
            match next(ws).await? {
                ServerMessage::UpdateGame(u) if u.status == GameStatus::Playing => break,
                ServerMessage::Crowd { watchers, .. } => crowd = watchers,
                _ => {}
            }
        }
    }
    for (seq, column) in DRAW.iter().enumerate() {
        let mover = if seq % 2 == 0 {
            &mut first
        } else {
            &mut second
        };
        tokio::time::sleep(Duration::from_millis(args.move_interval_ms)).await;
        sent.lock().expect("poisoned")[seq + 1] = Some(Instant::now());
        let mv = ClientMessage::PlayerMove {
            game: game.clone(),
            seq: seq as u32,
            mv: Move::Index(*column),
        };
        send(mover, mv).await?;
        loop {
            match next(mover).await? {
                ServerMessage::UpdateGame(u) if u.seq as usize == seq + 1 => break,
                ServerMessage::Crowd { watchers, .. } => crowd = watchers,
                ServerMessage::Error { code, message, .. } => {
                    return Err(format!("move {seq}: {} {message}", code.as_str()))
                }
                _ => {}
            }
        }
    }
    let mut latencies = Latencies::default();
    let (mut complete, mut out_of_order) = (0, 0);
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for w in watchers {
        match w.await.map_err(|e| e.to_string())? {
            Ok(seen) => {
                complete += usize::from(seen.complete);
                out_of_order += seen.out_of_order;
                latencies.merge(seen.latencies);
            }
            Err(e) => *errors.entry(e).or_default() += 1,
        }
    }
    let moves = DRAW.len() as f64;
    let report = WatchReport {
        tool: "rookery-loadgen",
        mode: "watch",
        nodes: nodes.len(),
        watchers: args.watchers,
        watching,
        moves: DRAW.len(),
        move_interval_ms: args.move_interval_ms,
        move_to_watcher: latencies.summary(),
        complete,
        out_of_order,
        crowd,
        bus_published_per_move: (counter(&nodes, "rookery_bus_published_total").await - published)
            / moves,
        bus_received_by_watchers_per_move: (counter(
            &nodes,
            "rookery_bus_received_total{kind=\"watch\"}",
        )
        .await
            - received)
            / moves,
        setup_secs,
        errors,
        loadgen_cpu_secs: stats::own_cpu_secs(),
    };
    stats::report(&report, args.out.as_deref())
}

struct Seen {
    latencies: Latencies,
    complete: bool,
    out_of_order: u64,
}

async fn watcher(
    endpoint: Endpoint,
    game: String,
    sent: Arc<Mutex<Vec<Option<Instant>>>>,
    ready: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<Seen, String> {
    let mut ws = guest_socket(&endpoint).await?;
    send(&mut ws, ClientMessage::WatchGame { game: game.clone() }).await?;
    let mut seen = Seen {
        latencies: Latencies::default(),
        complete: false,
        out_of_order: 0,
    };
    let mut last = 0;
    loop {
        // Only the type and seq are read: 10,000 watchers' frames are parsed on one core.
        let text = ws
            .next_text_within(STALL)
            .await
            .map_err(|e| format!("recv: {e}"))?;
        let peek: Peek = serde_json::from_str(&text).map_err(|e| format!("frame: {e}"))?;
        match peek.ty {
            "client/WATCH_GAME" => {
                last = peek.seq.unwrap_or(0);
                let _ = ready.send(());
            }
            "client/UPDATE_GAME" => {
                let seq = peek.seq.unwrap_or(0);
                if seq == 0 {
                    continue;
                }
                if let Some(at) = sent.lock().expect("poisoned")[seq as usize] {
                    seen.latencies.record(at.elapsed());
                }
                if seq != last + 1 {
                    seen.out_of_order += 1;
                }
                last = seq;
            }
            "client/GAME_OVER" => {
                seen.complete = last as usize == DRAW.len() && seen.out_of_order == 0;
                ws.close().await;
                return Ok(seen);
            }
            "client/ERROR" => return Err(peek.code.unwrap_or("error").to_owned()),
            _ => {}
        }
    }
}

/// What a watcher reads of a frame.
#[derive(serde::Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    ty: &'a str,
    seq: Option<u32>,
    #[serde(borrow)]
    code: Option<&'a str>,
}

pub async fn run_chat(args: ChatArgs) -> Result<(), String> {
    let nodes = targets(&args.targets, args.allow_remote)?;
    let sources = Arc::new(client::Sources::parse(&args.sources)?);
    // Send instants by text (every line is unique).
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let refused: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let mut members = Vec::new();
    let (joined_tx, mut joined_rx) = tokio::sync::mpsc::unbounded_channel();
    let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
    for i in 0..args.members {
        let endpoint = sources.next(&nodes[i % nodes.len()]);
        let speaks = i < args.senders;
        let (sent, refused, joined, mut go) = (
            sent.clone(),
            refused.clone(),
            joined_tx.clone(),
            go_rx.clone(),
        );
        let interval = Duration::from_millis(args.interval_ms);
        let duration = Duration::from_secs(args.duration_secs);
        members.push(tokio::spawn(async move {
            let mut ws = guest_socket(&endpoint).await?;
            send(
                &mut ws,
                ClientMessage::ChatJoin {
                    room: "lobby".into(),
                },
            )
            .await?;
            loop {
                if let ServerMessage::ChatHistory { .. } = next(&mut ws).await? {
                    break;
                }
            }
            let _ = joined.send(());
            let start = loop {
                if let Some(start) = *go.borrow() {
                    break start;
                }
                go.changed().await.map_err(|e| e.to_string())?;
            };
            let mut latencies = Latencies::default();
            let (mut accepted, mut deliveries) = (0usize, 0usize);
            // Spread the senders over the interval.
            let mut next_send = start + interval.mul_f64((i % 97) as f64 / 97.0);
            let mut k = 0;
            let end = start + duration;
            while Instant::now() < end {
                let wait = if speaks { next_send.min(end) } else { end };
                let frame = tokio::time::timeout_at(wait.into(), ws.next_frame_within(STALL)).await;
                match frame {
                    Err(_) if speaks && Instant::now() >= next_send && Instant::now() < end => {
                        let text = format!("member {i} line {k}");
                        k += 1;
                        sent.lock()
                            .expect("poisoned")
                            .insert(text.clone(), Instant::now());
                        let say = ClientMessage::ChatSend {
                            room: "lobby".into(),
                            text,
                        };
                        ws.send(say, Some("s".into()))
                            .await
                            .map_err(|e| e.to_string())?;
                        next_send += interval;
                    }
                    Err(_) => {}
                    Ok(Err(e)) => return Err(format!("recv: {e}")),
                    Ok(Ok(frame)) => match frame.message {
                        ServerMessage::ChatMessage(line) if frame.reference.is_some() => {
                            accepted += 1;
                            let _ = line;
                        }
                        ServerMessage::ChatMessage(line) => {
                            deliveries += 1;
                            if let Some(at) = sent.lock().expect("poisoned").get(&line.text) {
                                latencies.record(at.elapsed());
                            }
                        }
                        ServerMessage::Error { code, .. } => {
                            *refused
                                .lock()
                                .expect("poisoned")
                                .entry(code.as_str().to_owned())
                                .or_default() += 1
                        }
                        _ => {}
                    },
                }
            }
            ws.close().await;
            Ok::<_, String>((latencies, accepted, deliveries))
        }));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    drop(joined_tx);
    let joined = arrivals(&mut joined_rx, args.members).await;
    eprintln!("{joined} members in the lobby; {} speak", args.senders);
    let began = Instant::now();
    let _ = go_tx.send(Some(began));
    let (mut latencies, mut accepted, mut deliveries) = (Latencies::default(), 0, 0);
    for m in members {
        match m.await.map_err(|e| e.to_string())? {
            Ok((l, a, d)) => {
                latencies.merge(l);
                accepted += a;
                deliveries += d;
            }
            Err(e) => *refused.lock().expect("poisoned").entry(e).or_default() += 1,
        }
    }
    let secs = args.duration_secs as f64;
    let report = ChatReport {
        tool: "rookery-loadgen",
        mode: "chat",
        nodes: nodes.len(),
        members: joined,
        senders: args.senders,
        duration_secs: secs,
        accepted,
        accepted_per_sec: accepted as f64 / secs,
        deliveries,
        deliveries_per_sec: deliveries as f64 / secs,
        send_to_delivery: latencies.summary(),
        refused: refused.lock().expect("poisoned").clone(),
        loadgen_cpu_secs: stats::own_cpu_secs(),
    };
    stats::report(&report, args.out.as_deref())
}
