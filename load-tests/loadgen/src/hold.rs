//! `hold`: opens authenticated sockets (each answered by `client/SESSION_STARTED`) as fast as
//! allowed, reports the connect rate and the time to the first frame, then holds them idle
//! (the runtime answers the node's pings) and counts the ones dropped meanwhile.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_protocol::ServerMessage;
use rookery_testkit::{http, ws_path, Socket};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::client::{self, Sources};
use crate::stats::{self, Latencies, Summary};

#[derive(clap::Args)]
pub struct HoldArgs {
    /// The node (or echo server with --floor), http://IP:PORT.
    #[arg(long)]
    target: String,
    /// Sockets to open.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Connects in flight at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// New sockets per second at most (0: as fast as the node takes them).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seconds to hold the sockets once all are open (0: close at once).
    #[arg(long, default_value_t = 30)]
    hold_secs: u64,
    /// Accounts the sockets share (each socket gets a session of its own).
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Registered accounts instead of guests: a registered user's socket reads the account
    /// store on connect (for the current rating), a guest's does not.
    #[arg(long)]
    registered: bool,
    /// Source addresses, comma-separated (127.0.0.1,127.0.0.2,... are all loopback).
    #[arg(long, default_value = "127.0.0.1")]
    sources: String,
    /// The target is the bare echo server: no accounts, any first frame counts.
    #[arg(long)]
    floor: bool,
    /// Allow a target that is not a loopback address.
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
    target: String,
    floor: bool,
    registered: bool,
    requested: usize,
    opened: usize,
    failed: usize,
    dropped_while_held: usize,
    connect_secs: f64,
    connect_per_sec: f64,
    first_frame: Summary,
    held_secs: u64,
    errors: Vec<String>,
    loadgen_cpu_secs: Option<f64>,
}

#[derive(Default)]
struct Counters {
    opened: AtomicUsize,
    failed: AtomicUsize,
    dropped: AtomicUsize,
    holding: AtomicBool,
    stop: AtomicBool,
    errors: Mutex<Vec<String>>,
    first_frame: Mutex<Latencies>,
}

impl Counters {
    fn fail(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().expect("poisoned");
        if errors.len() < 10 {
            errors.push(error);
        }
    }
}

pub async fn run(args: HoldArgs) -> Result<(), String> {
    let target = client::target(&args.target, args.allow_remote)?;
    let sources = Arc::new(Sources::parse(&args.sources)?);
    let mut tokens = Vec::new();
    if !args.floor {
        let kind = if args.registered {
            "registered users"
        } else {
            "guests"
        };
        eprintln!("hold: creating {} {kind}", args.users.max(1));
        let run = std::process::id();
        for i in 0..args.users.max(1) {
            let auth = if args.registered {
                let name = format!("lg{run}x{i}");
                http::register(&sources.next(&target), &name, "load-test-password").await?
            } else {
                http::guest(&sources.next(&target)).await?
            };
            tokens.push(auth.token);
        }
    }
    let tokens = Arc::new(tokens);
    // A line a profiler may wait for: what follows is the connecting alone.
    println!("CONNECTING {}", args.sockets);
    let counters = Arc::new(Counters::default());
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let progress = tokio::spawn(progress(counters.clone(), args.sockets));
    let mut tasks = Vec::with_capacity(args.sockets);
    for i in 0..args.sockets {
        if args.rate > 0.0 {
            let due = started + Duration::from_secs_f64(i as f64 / args.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let path = if args.floor {
            "/hold".to_owned()
        } else {
            ws_path(&tokens[i % tokens.len()], None)
        };
        let (endpoint, counters, floor) = (sources.next(&target), counters.clone(), args.floor);
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let begun = Instant::now();
            let opened = async {
                let mut ws = Socket::connect(&endpoint, &path).await?;
                let text = ws
                    .next_text_within(Duration::from_secs(10))
                    .await
                    .map_err(|e| format!("no first frame: {e}"))?;
                let ok = floor
                    || matches!(
                        rookery_testkit::parse(&text).map(|f| f.message),
                        Some(ServerMessage::SessionStarted { .. })
                    );
                if ok {
                    Ok(ws)
                } else {
                    Err(format!("unexpected first frame: {text}"))
                }
            }
            .await;
            drop(permit);
            let mut ws = match opened {
                Ok(ws) => ws,
                Err(e) => return counters.fail(e),
            };
            counters
                .first_frame
                .lock()
                .expect("poisoned")
                .record(begun.elapsed());
            counters.opened.fetch_add(1, Ordering::Relaxed);
            // Idle: read (pings are answered while reading) until told to stop.
            loop {
                tokio::select! {
                    next = ws.next_text() => if next.is_err() {
                        if !counters.stop.load(Ordering::Relaxed) {
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        return;
                    },
                    _ = stop.changed() => {
                        ws.close().await;
                        return;
                    }
                }
            }
        }));
    }
    // Every socket has been started; wait until each opened or failed.
    while counters.opened.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed)
        < args.sockets
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let opened = counters.opened.load(Ordering::Relaxed);
    eprintln!(
        "hold: {opened} sockets open in {connect_secs:.2} s ({:.0}/s), {} failed; holding {} s",
        opened as f64 / connect_secs,
        counters.failed.load(Ordering::Relaxed),
        args.hold_secs
    );
    counters.holding.store(true, Ordering::Relaxed);
    // A line the runner waits for before it samples memory at the plateau.
    println!("HOLDING {opened}");
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    counters.stop.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let closing = Instant::now();
    for task in tasks {
        let left = Duration::from_secs(15).saturating_sub(closing.elapsed());
        if tokio::time::timeout(left, task).await.is_err() {
            break;
        }
    }
    progress.abort();
    let report = Report {
        tool: "rookery-loadgen",
        mode: "hold",
        target: target.base_url(),
        floor: args.floor,
        registered: args.registered,
        requested: args.sockets,
        opened,
        failed: counters.failed.load(Ordering::Relaxed),
        dropped_while_held: counters.dropped.load(Ordering::Relaxed),
        connect_secs,
        connect_per_sec: opened as f64 / connect_secs,
        first_frame: counters.first_frame.lock().expect("poisoned").summary(),
        held_secs: args.hold_secs,
        errors: counters.errors.lock().expect("poisoned").clone(),
        loadgen_cpu_secs: stats::own_cpu_secs(),
    };
    stats::report(&report, args.out.as_deref())
}

async fn progress(counters: Arc<Counters>, requested: usize) {
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let opened = counters.opened.load(Ordering::Relaxed);
        eprintln!(
            "hold: open {opened}/{requested} (+{}/s), failed {}, dropped {}{}",
            opened - last,
            counters.failed.load(Ordering::Relaxed),
            counters.dropped.load(Ordering::Relaxed),
            if counters.holding.load(Ordering::Relaxed) {
                ", holding"
            } else {
                ""
            }
        );
        last = opened;
    }
}
