//! Whole games through `Analyser::analyse`: every kind, chess against the real Stockfish.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use super::*;
use crate::games::{Board, Rules};

fn analyser() -> Analyser {
    Analyser::new(AnalyserConfig {
        stockfish_path: Some(DEFAULT_STOCKFISH_PATH.into()),
        stockfish_processes: 2,
        ..AnalyserConfig::default()
    })
}

fn input(kind: GameKind, moves: Vec<Move>, move_ms: Vec<u64>) -> AnalysisInput {
    AnalysisInput {
        kind,
        moves,
        move_ms,
        players: ["ann".into(), "bob".into()],
    }
}

fn cells(cells: &[u32]) -> Vec<Move> {
    cells.iter().map(|&c| Move::Index(c)).collect()
}

#[tokio::test]
async fn a_tic_tac_toe_game_of_perfect_moves_is_all_perfect_for_both() {
    // Centre, corner reply, and every later move a block or a draw-keeping one.
    let moves = cells(&[4, 0, 2, 6, 3, 5, 7, 1, 8]);
    let game = input(GameKind::TicTacToe, moves, vec![900; 9]);
    let analysis = analyser().analyse(&game).await.unwrap();
    assert_eq!(analysis.engine, "solved");
    let [ann, bob] = &analysis.players;
    assert_eq!((ann.name.as_str(), ann.moves), ("ann", 5));
    assert_eq!((bob.name.as_str(), bob.moves), ("bob", 4));
    for player in [ann, bob] {
        assert_eq!(player.perfect_moves, player.moves, "{player:?}");
        assert_eq!(player.accuracy, 100.0);
        assert_eq!(player.average_loss, 0.0);
        assert_eq!(player.move_time_mean_ms, 900.0);
        assert_eq!(player.move_time_spread_ms, 0.0);
    }
}

#[tokio::test]
async fn a_blundering_tic_tac_toe_game_shows_the_loss() {
    // The edge reply to the centre loses: X forks with 0 and 6 and wins on the left column.
    let moves = cells(&[4, 1, 0, 8, 6, 2, 3]);
    let game = input(
        GameKind::TicTacToe,
        moves,
        vec![1000, 500, 1000, 3000, 1000, 700, 1000],
    );
    let [ann, bob] = analyser().analyse(&game).await.unwrap().players;
    assert_eq!(ann.perfect_moves, ann.moves);
    assert_eq!((bob.moves, bob.perfect_moves), (3, 2));
    assert!(
        (bob.accuracy - 200.0 / 3.0).abs() < 1e-9,
        "{}",
        bob.accuracy
    );
    assert!((bob.average_loss - 1.0 / 3.0).abs() < 1e-9);
    assert!(bob.move_time_spread_ms > 1000.0);
}

#[tokio::test]
async fn a_connect_four_game_against_the_search_is_perfect_and_its_opponent_is_not() {
    // Ann plays the search's best column, Bob random columns.
    let mut rng = StdRng::seed_from_u64(4);
    let mut board = Board::new(GameKind::Connect4);
    let mut moves = Vec::new();
    while board.outcome().is_none() {
        let mv = if moves.len() % 2 == 0 {
            Move::Index(connect4::best_column(&moves))
        } else {
            board.legal_moves().choose(&mut rng).unwrap().clone()
        };
        board.apply(&mv).unwrap();
        moves.push(mv);
    }
    let plies = moves.len();
    let game = input(GameKind::Connect4, moves, vec![1200; plies]);
    let started = Instant::now();
    let analysis = analyser().analyse(&game).await.unwrap();
    eprintln!("connect-four, {plies} plies: {:?}", started.elapsed());
    assert_eq!(analysis.engine, "negamax depth 8");
    let [ann, bob] = &analysis.players;
    assert_eq!(ann.perfect_moves, ann.moves, "{ann:?}");
    assert_eq!(ann.moves + bob.moves, plies as u32);
    assert!(bob.accuracy < ann.accuracy, "{bob:?}");
    assert!(bob.average_loss > 0.0);
    assert!(ann.suspicion > bob.suspicion);
}

/// A chess game of `plies` plies where white plays Stockfish's best move (at the analysis
/// depth) in a steady 1.5 s and black random legal moves at random speeds. Random games that
/// end sooner (black walks into a mate) are played again with the next seed.
async fn engine_against_random(analyser: &Analyser, plies: usize) -> AnalysisInput {
    for seed in 0..50 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut board = Board::new(GameKind::Chess);
        let (mut uci, mut moves, mut times) = (Vec::new(), Vec::new(), Vec::new());
        while moves.len() < plies && board.outcome().is_none() {
            let (mv, ms) = if moves.len() % 2 == 0 {
                let best = analyser.pool.evaluate(&uci).await.unwrap().best.unwrap();
                (Move::Text(best), 1500 + rng.random_range(0..100))
            } else {
                let legal = board.legal_moves();
                let mv = legal.choose(&mut rng).unwrap().clone();
                (mv, rng.random_range(300..9000))
            };
            board.apply(&mv).unwrap();
            uci.push(mv.to_string());
            moves.push(mv);
            times.push(ms);
        }
        if moves.len() == plies {
            return input(GameKind::Chess, moves, times);
        }
    }
    panic!("no random game lasted {plies} plies");
}

#[tokio::test]
async fn a_side_playing_stockfish_moves_is_accurate_and_suspicious_and_a_random_side_is_not() {
    let analyser = analyser();
    let game = engine_against_random(&analyser, 20).await;
    let started = Instant::now();
    let analysis = analyser.analyse(&game).await.unwrap();
    eprintln!("chess, 20 plies: {:?}", started.elapsed());
    eprintln!("{}", serde_json::to_string_pretty(&analysis).unwrap());
    assert_eq!(analysis.engine, "stockfish depth 10");
    let [ann, bob] = &analysis.players;
    assert_eq!((ann.moves, bob.moves), (10, 10));
    assert!(ann.accuracy >= 90.0, "{ann:?}");
    assert!(ann.suspicion > bob.suspicion + 30.0, "{ann:?} {bob:?}");
    assert!(bob.average_loss > ann.average_loss, "{bob:?}");

    // Five such games flag Ann's account; five of Bob's do not flag his.
    let steady = account_suspicion(&vec![ann.clone(); 5]);
    let random = account_suspicion(&vec![bob.clone(); 5]);
    assert!(steady >= FLAG_THRESHOLD, "{steady}");
    assert!(random < FLAG_THRESHOLD, "{random}");
}

#[tokio::test]
async fn a_chess_game_analyses_the_same_on_one_process_or_several() {
    let moves: Vec<Move> = "c2c3 a7a5 d2d4 g8f6 d1c2 d7d5 c1f4 g7g6 g1f3 f8g7 e2e3 e8g8"
        .split(' ')
        .map(|m| Move::Text(m.into()))
        .collect();
    let game = input(GameKind::Chess, moves, (1..=12).map(|i| i * 250).collect());
    let mut analyses = Vec::new();
    for processes in [1, 3] {
        let analyser = Analyser::new(AnalyserConfig {
            stockfish_path: Some(DEFAULT_STOCKFISH_PATH.into()),
            stockfish_processes: processes,
            ..AnalyserConfig::default()
        });
        analyses.push(analyser.analyse(&game).await.unwrap());
    }
    assert_eq!(analyses[0], analyses[1]);
    let [ann, bob] = &analyses[0].players;
    assert_eq!((ann.moves, bob.moves), (6, 6));
}

#[tokio::test]
async fn chess_without_a_binary_is_engine_missing() {
    for path in [None, Some(PathBuf::from("/nonexistent/stockfish"))] {
        let analyser = Analyser::new(AnalyserConfig {
            stockfish_path: path.clone(),
            ..AnalyserConfig::default()
        });
        assert!(!analyser.chess_available(), "{path:?}");
        let game = input(GameKind::Chess, vec![Move::Text("e2e4".into())], vec![100]);
        let err = analyser.analyse(&game).await.unwrap_err();
        assert!(
            matches!(err, AnalysisError::EngineMissing),
            "{path:?}: {err}"
        );
    }
    assert!(analyser().chess_available());
}

#[tokio::test]
async fn games_that_do_not_replay_or_whose_times_do_not_match_are_refused() {
    let cases = [
        input(GameKind::TicTacToe, cells(&[4, 4]), vec![1, 1]),
        input(GameKind::Connect4, cells(&[7]), vec![1]),
        input(GameKind::Chess, vec![Move::Text("e2e5".into())], vec![1]),
        input(GameKind::TicTacToe, cells(&[4]), vec![]),
    ];
    let analyser = analyser();
    for game in cases {
        let err = analyser.analyse(&game).await.unwrap_err();
        assert!(
            matches!(err, AnalysisError::IllegalGame(_)),
            "{game:?}: {err}"
        );
    }
}

#[tokio::test]
async fn an_empty_game_has_no_moves_and_no_suspicion() {
    let game = input(GameKind::TicTacToe, vec![], vec![]);
    let analysis = analyser().analyse(&game).await.unwrap();
    for player in &analysis.players {
        assert_eq!(
            (player.moves, player.accuracy, player.suspicion),
            (0, 0.0, 0.0)
        );
    }
}

#[test]
fn an_analyser_can_be_shared_and_its_analysis_run_on_any_worker_thread() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn sendable<T: Send>(_: &T) {}
    let analyser = analyser();
    shared(&analyser);
    let game = input(GameKind::Chess, vec![], vec![]);
    sendable(&analyser.analyse(&game));
}
