//! Anti-cheat analysis of one finished game, off the move path: each move's value against the
//! best (the solved game for tic-tac-toe, a bounded search for connect-four, Stockfish for
//! chess), folded per player into accuracy, perfect moves, loss, move times and a suspicion.
//!
//! Pure but for Stockfish's processes: the rules are `games`', nothing here stores or sends.
//! The caller (a job) keeps the `GameAnalysis` and feeds the player's recent ones to
//! `account_suspicion`, flagging the account at `FLAG_THRESHOLD`.

mod connect4;
mod stockfish;
mod suspicion;
mod tictactoe;

use std::path::PathBuf;
use std::time::Duration;

use client_protocol::{GameKind, Move};
use serde::{Deserialize, Serialize};

pub use suspicion::{account_suspicion, FLAG_THRESHOLD, RECENT_GAMES};

/// Where Debian's `stockfish` package puts the binary.
pub const DEFAULT_STOCKFISH_PATH: &str = "/usr/games/stockfish";

/// One finished game, as stored.
#[derive(Clone, Debug)]
pub struct AnalysisInput {
    pub kind: GameKind,
    pub moves: Vec<Move>,
    /// ms each ply took, same length as moves
    pub move_ms: Vec<u64>,
    /// The first side's name, then the second's.
    pub players: [String; 2],
}

/// How one player played one game.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayerAnalysis {
    pub name: String,
    /// Which game: how much a perfect game says depends on it (see `account_suspicion`).
    pub kind: GameKind,
    /// 0-100: share of that player's moves that do not lose value (chess: at most
    /// 20 centipawns; connect-four: at most 2 heuristic units; tic-tac-toe: none). 0 with no
    /// moves.
    pub accuracy: f64,
    /// Moves equal in value to the best (chess: the engine's best move, or one that loses no
    /// centipawn).
    pub perfect_moves: u32,
    pub moves: u32,
    /// Centipawns for chess (each move's loss capped at 1000), value units otherwise
    /// (tic-tac-toe: 1 per step from win to draw to loss; connect-four: heuristic units, a
    /// thrown-away win costing 2000 at most).
    pub average_loss: f64,
    pub move_time_mean_ms: f64,
    /// The standard deviation of the player's move times.
    pub move_time_spread_ms: f64,
    /// 0-100 for this game alone.
    pub suspicion: f64,
}

/// Both players' analysis of one game.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameAnalysis {
    pub players: [PlayerAnalysis; 2],
    /// What judged the moves: "solved", "negamax depth 8", "stockfish depth 10".
    pub engine: String,
}

/// How chess is analysed.
#[derive(Clone, Debug)]
pub struct AnalyserConfig {
    /// None or missing binary: chess analysis returns `AnalysisError::EngineMissing`.
    pub stockfish_path: Option<PathBuf>,
    /// Plies each position is searched (default 10).
    pub stockfish_depth: u32,
    /// Pool size (default 1): how many positions are searched at once, one thread each.
    pub stockfish_processes: usize,
    /// The longest any one UCI exchange may take before the process is replaced (default
    /// 30 s, far above a depth-10 search).
    pub command_timeout: Duration,
}

impl Default for AnalyserConfig {
    fn default() -> Self {
        AnalyserConfig {
            stockfish_path: None,
            stockfish_depth: 10,
            stockfish_processes: 1,
            command_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a game could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// No Stockfish configured, or none at its path: chess is skipped.
    #[error("no chess engine: Stockfish is not configured or not at its path")]
    EngineMissing,
    /// The engine failed twice in a row on one position (crashed, hung, spoke nonsense).
    #[error("the chess engine failed: {0}")]
    Engine(String),
    /// The stored game does not replay by the rules, or its times do not match its moves.
    #[error("the game cannot be analysed: {0}")]
    IllegalGame(String),
}

/// How one ply scored, for the side that played it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PlyScore {
    /// The best move's value minus this one's, never negative.
    loss: f64,
    /// As good as the best move.
    perfect: bool,
}

/// Analyses finished games; holds the Stockfish pool, started on first use.
pub struct Analyser {
    pool: stockfish::Pool,
}

impl Analyser {
    pub fn new(config: AnalyserConfig) -> Analyser {
        Analyser {
            pool: stockfish::Pool::new(
                config.stockfish_path,
                config.stockfish_depth,
                config.stockfish_processes,
                config.command_timeout,
            ),
        }
    }

    /// Is there a Stockfish binary to analyse chess with?
    pub fn chess_available(&self) -> bool {
        self.pool.available()
    }

    /// Analyses one game. Tic-tac-toe and connect-four run on a blocking thread; chess
    /// searches its positions on the pool, as many at once as it has processes.
    pub async fn analyse(&self, input: &AnalysisInput) -> Result<GameAnalysis, AnalysisError> {
        if input.move_ms.len() != input.moves.len() {
            return Err(AnalysisError::IllegalGame(format!(
                "{} moves but {} move times",
                input.moves.len(),
                input.move_ms.len()
            )));
        }
        let (plies, engine, accurate_within) = match input.kind {
            GameKind::TicTacToe => (
                blocking(&input.moves, tictactoe::analyse).await?,
                tictactoe::ENGINE.to_string(),
                tictactoe::ACCURATE_WITHIN,
            ),
            GameKind::Connect4 => (
                blocking(&input.moves, connect4::analyse).await?,
                connect4::engine(),
                connect4::ACCURATE_WITHIN,
            ),
            GameKind::Chess => (
                stockfish::analyse(&self.pool, &input.moves).await?,
                format!("stockfish depth {}", self.pool.depth()),
                stockfish::ACCURATE_WITHIN,
            ),
        };
        let player = |side: usize| {
            let mine = |i: &usize| i % 2 == side;
            let scores: Vec<PlyScore> = (0..plies.len()).filter(mine).map(|i| plies[i]).collect();
            let times: Vec<f64> = (0..plies.len())
                .filter(mine)
                .map(|i| input.move_ms[i] as f64)
                .collect();
            fold(
                &input.players[side],
                input.kind,
                &scores,
                &times,
                accurate_within,
            )
        };
        Ok(GameAnalysis {
            players: [player(0), player(1)],
            engine,
        })
    }
}

/// Runs a CPU-bound analysis on tokio's blocking threads.
async fn blocking(
    moves: &[Move],
    analyse: fn(&[Move]) -> Result<Vec<PlyScore>, String>,
) -> Result<Vec<PlyScore>, AnalysisError> {
    let moves = moves.to_vec();
    tokio::task::spawn_blocking(move || analyse(&moves))
        .await
        .map_err(|e| AnalysisError::Engine(format!("the analysis task failed: {e}")))?
        .map_err(AnalysisError::IllegalGame)
}

/// One player's plies and times, summed up.
fn fold(
    name: &str,
    kind: GameKind,
    scores: &[PlyScore],
    times: &[f64],
    accurate_within: f64,
) -> PlayerAnalysis {
    let moves = scores.len();
    // Means over the player's moves; 0 for a player who made none.
    let mean_of = |sum: f64| {
        if moves == 0 {
            0.0
        } else {
            sum / moves as f64
        }
    };
    let accurate = scores.iter().filter(|s| s.loss <= accurate_within).count();
    let perfect = scores.iter().filter(|s| s.perfect).count();
    let mean = mean_of(times.iter().sum());
    let variance = mean_of(times.iter().map(|t| (t - mean).powi(2)).sum());
    let mut player = PlayerAnalysis {
        name: name.to_string(),
        kind,
        accuracy: 100.0 * mean_of(accurate as f64),
        perfect_moves: perfect as u32,
        moves: moves as u32,
        average_loss: mean_of(scores.iter().map(|s| s.loss).sum()),
        move_time_mean_ms: mean,
        move_time_spread_ms: variance.sqrt(),
        suspicion: 0.0,
    };
    player.suspicion = suspicion::game_suspicion(&player);
    player
}

#[cfg(test)]
mod tests;
