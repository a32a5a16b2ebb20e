//! rookery-loadgen: a lean load generator for what k6 cannot reach on a small machine (held
//! sockets, connect rate, move throughput with microsecond latencies), and the bare websocket
//! echo/relay server that is its transport floor. See load-tests/README.md.

mod client;
mod echo;
mod hold;
mod play;
mod stats;
mod tournament;
mod watch;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for rookery, and its bare websocket floor"
)]
struct Cli {
    /// Runtime threads: 1 runs everything on one thread (pin the process with taskset).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open authenticated sockets as fast as allowed, report the connect rate, hold them idle.
    Hold(hold::HoldArgs),
    /// Seat two players per table who play connect-four games (42 moves, a draw) back to back.
    Play(play::PlayArgs),
    /// One tournament of guest bots: pairing time and standings-update latency.
    Tournament(tournament::TournamentArgs),
    /// One game watched by many sockets over several nodes: move to watcher, bus per move.
    Watch(watch::WatchArgs),
    /// A lobby of many members, some speaking: lines and deliveries per second, latency.
    Chat(watch::ChatArgs),
    /// The floor: a bare websocket server that relays each frame to both sockets of a pair.
    Echo(echo::EchoArgs),
}

fn main() {
    let cli = Cli::parse();
    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    }
    .expect("a tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Hold(args) => hold::run(args).await,
            Command::Play(args) => play::run(args).await,
            Command::Echo(args) => echo::run(args).await,
            Command::Tournament(args) => tournament::run(args).await,
            Command::Watch(args) => watch::run_watch(args).await,
            Command::Chat(args) => watch::run_chat(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}
