//! Stockfish over UCI: a pool of child processes, each position searched to a fixed depth; a
//! process that dies or stops answering in time is killed and replaced.
//!
//! Every search starts from `ucinewgame` (an empty hash), so a position's evaluation depends on
//! the position and depth only: the same game analyses the same on any node, and a test driver
//! that asks the pool for a best move gets the move the analysis will call best.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use super::{AnalysisError, PlyScore};
use crate::games::{Chess, EndReason, Move, Rules};

/// A mate, in centipawns: larger than any material evaluation. Mate in `n` is `MATE_CP - n`,
/// so a nearer mate is worth more.
pub(super) const MATE_CP: i32 = 10_000;

/// A move losing at most this many centipawns is accurate: below what a depth-10 search can
/// tell apart from noise.
pub(super) const ACCURATE_WITHIN: f64 = 20.0;

/// The most one move is charged: a blunder from a won game to a lost one counts as losing a
/// queen and a half, so one blunder does not drown a game's average.
const MAX_LOSS_CP: i32 = 1000;

/// Hash per process, in MiB: plenty for the depths analysis uses, small enough for many.
const HASH_MB: u32 = 16;

/// How a position was judged: the score for the side to move and the move the engine prefers
/// (none when it has no legal move).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Evaluation {
    pub(super) cp: i32,
    pub(super) best: Option<String>,
}

/// Why talking to one process failed. The pool answers it by replacing the process.
#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error("the binary was not found: {0}")]
    Missing(PathBuf),
    #[error("could not start {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no answer to `{command}` within {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("the engine closed its output")]
    Closed,
    #[error("talking to the engine: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected engine output: {0}")]
    Protocol(String),
}

/// One running Stockfish.
struct Process {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Process {
    /// Starts the binary and completes the UCI handshake.
    async fn start(path: &Path, timeout: Duration) -> Result<Process, ProcessError> {
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => ProcessError::Missing(path.to_path_buf()),
                _ => ProcessError::Spawn {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        let stdin = child.stdin.take().ok_or(ProcessError::Closed)?;
        let stdout = child.stdout.take().ok_or(ProcessError::Closed)?;
        let mut process = Process {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        };
        process.send("uci").await?;
        process.wait_for("uci", timeout, |l| l == "uciok").await?;
        process.send("setoption name Threads value 1").await?;
        process
            .send(&format!("setoption name Hash value {HASH_MB}"))
            .await?;
        process.ready(timeout).await?;
        Ok(process)
    }

    async fn send(&mut self, line: &str) -> Result<(), ProcessError> {
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.write_all(b"\n").await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// Reads lines until one satisfies `done`, handing each earlier line to `seen`; gives up
    /// after `timeout` for the whole wait.
    async fn read_until(
        &mut self,
        command: &str,
        timeout: Duration,
        mut seen: impl FnMut(&str),
        done: impl Fn(&str) -> bool,
    ) -> Result<String, ProcessError> {
        let read = async {
            loop {
                let line = self.lines.next_line().await?.ok_or(ProcessError::Closed)?;
                let line = line.trim();
                if done(line) {
                    return Ok(line.to_string());
                }
                seen(line);
            }
        };
        tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| ProcessError::Timeout {
                command: command.to_string(),
                timeout,
            })?
    }

    async fn wait_for(
        &mut self,
        command: &str,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<String, ProcessError> {
        self.read_until(command, timeout, |_| {}, done).await
    }

    async fn ready(&mut self, timeout: Duration) -> Result<(), ProcessError> {
        self.send("isready").await?;
        self.wait_for("isready", timeout, |l| l == "readyok")
            .await?;
        Ok(())
    }

    /// Searches the position after `moves` (standard UCI) from the start to `depth`.
    async fn evaluate(
        &mut self,
        moves: &[String],
        depth: u32,
        timeout: Duration,
    ) -> Result<Evaluation, ProcessError> {
        self.send("ucinewgame").await?;
        self.ready(timeout).await?;
        let position = if moves.is_empty() {
            "position startpos".to_string()
        } else {
            format!("position startpos moves {}", moves.join(" "))
        };
        self.send(&position).await?;
        let go = format!("go depth {depth}");
        self.send(&go).await?;
        let mut cp = None;
        let bestmove = self
            .read_until(
                &go,
                timeout,
                |line| {
                    if let Some(score) = parse_score(line) {
                        cp = Some(score);
                    }
                },
                |line| line.starts_with("bestmove"),
            )
            .await?;
        let best = match bestmove.split_whitespace().nth(1) {
            None => return Err(ProcessError::Protocol(bestmove)),
            Some("(none)") => None,
            Some(mv) => Some(mv.to_string()),
        };
        let cp = cp.ok_or_else(|| ProcessError::Protocol(format!("no score before {bestmove}")))?;
        Ok(Evaluation { cp, best })
    }
}

/// The score of an `info` line in centipawns for the side to move, if it carries an exact one
/// (bounds from an aspiration window are skipped: the final depth reports an exact score).
fn parse_score(line: &str) -> Option<i32> {
    let mut words = line.split_whitespace();
    if words.next() != Some("info") {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    if rest.contains(&"lowerbound") || rest.contains(&"upperbound") {
        return None;
    }
    let at = rest.iter().position(|&w| w == "score")?;
    let value: i32 = rest.get(at + 2)?.parse().ok()?;
    match *rest.get(at + 1)? {
        "cp" => Some(value),
        "mate" if value > 0 => Some(MATE_CP - value),
        // Mate 0 (already mated) or mated in `-value`.
        "mate" => Some(-MATE_CP - value),
        _ => None,
    }
}

/// A file with an execute bit: what `Command::spawn` could start.
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A bounded pool of Stockfish processes, started on first use and kept between games.
pub(super) struct Pool {
    path: Option<PathBuf>,
    depth: u32,
    timeout: Duration,
    idle: Mutex<Vec<Process>>,
    permits: Semaphore,
}

impl Pool {
    pub(super) fn new(
        path: Option<PathBuf>,
        depth: u32,
        processes: usize,
        timeout: Duration,
    ) -> Pool {
        Pool {
            path,
            depth,
            timeout,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(processes.max(1)),
        }
    }

    /// Is there an executable to start? (Whether it speaks UCI shows on first use.)
    pub(super) fn available(&self) -> bool {
        self.path.as_deref().is_some_and(executable)
    }

    pub(super) fn depth(&self) -> u32 {
        self.depth
    }

    /// Evaluates the position after `moves`. A process that fails is killed and the search is
    /// tried once more on a fresh one.
    pub(super) async fn evaluate(&self, moves: &[String]) -> Result<Evaluation, AnalysisError> {
        let path = match &self.path {
            Some(path) if executable(path) => path,
            _ => return Err(AnalysisError::EngineMissing),
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AnalysisError::Engine(e.to_string()))?;
        let mut last = None;
        for _ in 0..2 {
            let idle = self.idle.lock().expect("pool lock").pop();
            let mut process = match idle {
                Some(process) => process,
                None => match Process::start(path, self.timeout).await {
                    Ok(process) => process,
                    Err(ProcessError::Missing(_)) => return Err(AnalysisError::EngineMissing),
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                },
            };
            match process.evaluate(moves, self.depth, self.timeout).await {
                Ok(evaluation) => {
                    self.idle.lock().expect("pool lock").push(process);
                    return Ok(evaluation);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stockfish failed; replacing the process");
                    // Dropping kills it (kill_on_drop); start_kill makes it immediate.
                    let _ = process.child.start_kill();
                    last = Some(e);
                }
            }
        }
        Err(AnalysisError::Engine(
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }

    /// Kills every idle process (a test's way to make the next search meet a dead one).
    #[cfg(test)]
    fn kill_idle(&self) -> usize {
        let mut idle = self.idle.lock().expect("pool lock");
        for process in idle.iter_mut() {
            process.child.start_kill().expect("kill stockfish");
        }
        idle.len()
    }
}

/// Scores every ply of a chess game: each position before and after a move is searched (the
/// positions at once, as far as the pool allows) and the mover is charged the centipawns the
/// move gave away. A decided final position is scored by the rules, not searched.
pub(super) async fn analyse(pool: &Pool, moves: &[Move]) -> Result<Vec<PlyScore>, AnalysisError> {
    if !pool.available() {
        return Err(AnalysisError::EngineMissing);
    }
    let mut game = Chess::new();
    let mut played = Vec::with_capacity(moves.len());
    for (i, mv) in moves.iter().enumerate() {
        let applied = game
            .apply(mv)
            .map_err(|e| AnalysisError::IllegalGame(format!("ply {}: {e}", i + 1)))?;
        played.push(applied.canonical.to_string());
    }
    let last = game.outcome().map(|outcome| Evaluation {
        cp: match outcome.reason {
            EndReason::Checkmate => -MATE_CP,
            _ => 0,
        },
        best: None,
    });
    let plies = played.len();
    let played = &played;
    let searches = (0..=plies).map(|i| {
        let decided = last.clone().filter(|_| i == plies);
        async move {
            match decided {
                Some(decided) => Ok(decided),
                None => pool.evaluate(&played[..i]).await,
            }
        }
    });
    let evaluations = futures_util::future::try_join_all(searches).await?;
    Ok(played
        .iter()
        .enumerate()
        .map(|(i, mv)| {
            let (before, after) = (&evaluations[i], &evaluations[i + 1]);
            if before.best.as_deref() == Some(mv.as_str()) {
                return PlyScore {
                    loss: 0.0,
                    perfect: true,
                };
            }
            // Both scores are for the side to move: after the move that is the opponent.
            let loss = (before.cp + after.cp).clamp(0, MAX_LOSS_CP);
            PlyScore {
                loss: f64::from(loss),
                perfect: loss == 0,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOCKFISH: &str = "/usr/games/stockfish";

    fn pool(path: &str, timeout: Duration) -> Pool {
        Pool::new(Some(PathBuf::from(path)), 8, 1, timeout)
    }

    #[test]
    fn scores_are_read_from_info_lines_with_mates_beyond_any_material() {
        let cases = [
            (
                "info depth 10 seldepth 14 score cp 35 nodes 100 pv e2e4",
                Some(35),
            ),
            ("info depth 3 score cp -120 lowerbound nodes 9", None),
            ("info depth 3 score cp 20 upperbound", None),
            ("info depth 12 score mate 3 pv d8h4", Some(MATE_CP - 3)),
            ("info depth 12 score mate -2 pv a2a3", Some(-MATE_CP + 2)),
            ("info depth 0 score mate 0", Some(-MATE_CP)),
            ("info string NNUE evaluation using nn.nnue enabled", None),
            ("bestmove e2e4 ponder e7e5", None),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_score(line), expected, "{line}");
        }
    }

    #[tokio::test]
    async fn a_mate_in_one_is_found_and_a_mated_side_has_no_move() {
        let pool = pool(STOCKFISH, Duration::from_secs(30));
        // Fool's mate: after f3 e5 g4, black mates with Qh4.
        let moves: Vec<String> = ["f2f3", "e7e5", "g2g4"].map(String::from).to_vec();
        let before = pool.evaluate(&moves).await.unwrap();
        assert_eq!(before.best.as_deref(), Some("d8h4"));
        assert_eq!(before.cp, MATE_CP - 1);
        let mut mated = moves.clone();
        mated.push("d8h4".into());
        let after = pool.evaluate(&mated).await.unwrap();
        assert_eq!(
            after,
            Evaluation {
                cp: -MATE_CP,
                best: None
            }
        );
    }

    #[tokio::test]
    async fn a_killed_process_is_replaced_and_the_search_still_answers() {
        let pool = pool(STOCKFISH, Duration::from_secs(30));
        let first = pool.evaluate(&[]).await.unwrap();
        assert_eq!(pool.kill_idle(), 1);
        let again = pool.evaluate(&[]).await.unwrap();
        assert_eq!(again, first, "a fresh process searches the same");
    }

    #[tokio::test]
    async fn a_process_that_never_answers_times_out_as_an_engine_error() {
        // `cat` echoes `uci` back but never says `uciok`.
        let pool = pool("/bin/cat", Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = pool.evaluate(&[]).await.unwrap_err();
        assert!(
            matches!(err, AnalysisError::Engine(ref m) if m.contains("uci")),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_missing_or_unrunnable_binary_is_engine_missing() {
        let dir = tempfile::tempdir().unwrap();
        let unrunnable = dir.path().join("stockfish");
        std::fs::write(&unrunnable, "not a program").unwrap();
        let missing = dir.path().join("absent");
        for path in [&missing, &unrunnable, &dir.path().to_path_buf()] {
            let pool = Pool::new(Some(path.clone()), 8, 1, Duration::from_secs(1));
            assert!(!pool.available(), "{path:?}");
            let err = pool.evaluate(&[]).await.unwrap_err();
            assert!(
                matches!(err, AnalysisError::EngineMissing),
                "{path:?}: {err}"
            );
        }
        assert!(pool(STOCKFISH, Duration::from_secs(1)).available());
    }
}
