//! Tic-tac-toe against the solved game: exact minimax over every reachable position, memoised.
//!
//! A position's value is +1 (the side to move wins with best play), 0 (draw) or -1 (it
//! loses). A move's loss is the best move's value minus its own, so 0, 1 or 2. The rules
//! (legality, lines, a full board) are `games::TicTacToe`'s; this file only searches.

use std::collections::HashMap;

use super::PlyScore;
use crate::games::{GameResult, Move, Rules, Side, TicTacToe};

/// What the engine is called in a `GameAnalysis`.
pub(super) const ENGINE: &str = "solved";

/// Every move that keeps the game-theoretic value is accurate: the values are exact.
pub(super) const ACCURATE_WITHIN: f64 = 0.0;

/// A position and the key it is memoised under: which cells each side holds, 9 bits each.
#[derive(Clone)]
struct Node {
    game: TicTacToe,
    key: u32,
}

impl Node {
    fn start() -> Node {
        Node {
            game: TicTacToe::new(),
            key: 0,
        }
    }

    /// The position after `mv` (canonical, legal), or the rules' refusal.
    fn after(&self, mv: &Move) -> Result<Node, String> {
        let mover = self.game.to_move();
        let mut game = self.game.clone();
        let applied = game.apply(mv).map_err(|e| e.to_string())?;
        let Move::Index(cell) = applied.canonical else {
            return Err(format!("{mv} is not a cell"));
        };
        let shift = match mover {
            Side::First => cell,
            Side::Second => cell + 9,
        };
        Ok(Node {
            game,
            key: self.key | 1 << shift,
        })
    }
}

/// The solved game, filled in as positions are met.
#[derive(Default)]
pub(super) struct Solver {
    values: HashMap<u32, i8>,
}

impl Solver {
    /// The value of `node` for the side to move.
    fn value(&mut self, node: &Node) -> i8 {
        if let Some(&v) = self.values.get(&node.key) {
            return v;
        }
        let v = match node.game.outcome() {
            // A decided position: the side that just moved made a line, or nobody did.
            Some(outcome) if outcome.result == GameResult::Draw => 0,
            Some(_) => -1,
            None => node
                .game
                .legal_moves()
                .iter()
                .map(|mv| {
                    let child = node.after(mv).expect("a legal move applies");
                    -self.value(&child)
                })
                .max()
                .expect("an undecided position has a move"),
        };
        self.values.insert(node.key, v);
        v
    }

    /// How many positions have been solved so far.
    #[cfg(test)]
    fn solved(&self) -> usize {
        self.values.len()
    }
}

/// Scores every ply of a game against the solved game.
pub(super) fn analyse(moves: &[Move]) -> Result<Vec<PlyScore>, String> {
    let mut solver = Solver::default();
    let mut node = Node::start();
    let mut plies = Vec::with_capacity(moves.len());
    for (i, mv) in moves.iter().enumerate() {
        let best = solver.value(&node);
        let next = node.after(mv).map_err(|e| format!("ply {}: {e}", i + 1))?;
        let played = -solver.value(&next);
        let loss = f64::from(best - played);
        plies.push(PlyScore {
            loss,
            perfect: loss == 0.0,
        });
        node = next;
    }
    Ok(plies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(cells: &[u32]) -> Vec<Move> {
        cells.iter().map(|&c| Move::Index(c)).collect()
    }

    #[test]
    fn solving_from_the_empty_grid_meets_all_5478_positions_and_finds_a_draw() {
        let mut solver = Solver::default();
        assert_eq!(solver.value(&Node::start()), 0);
        assert_eq!(solver.solved(), 5478);
    }

    #[test]
    fn an_edge_reply_to_the_centre_loses_and_the_rest_of_a_lost_game_costs_nothing() {
        // X centre, O edge (loses by force), then X forks with 0 and 6 and wins.
        let plies = analyse(&cells(&[4, 1, 0, 8, 6, 2, 3])).unwrap();
        let losses: Vec<f64> = plies.iter().map(|p| p.loss).collect();
        assert_eq!(losses, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn missing_a_win_in_one_costs_the_whole_value() {
        // X holds 0 and 1 and could win at 2; it plays 8 instead, and O completes 3-4-5.
        let plies = analyse(&cells(&[0, 4, 1, 3, 8, 5])).unwrap();
        // X's 8 turned a win (+1) into a loss (-1); O's winning 5 is perfect.
        assert_eq!(plies[4].loss, 2.0);
        assert!(plies[5].perfect);
        assert!(!plies[4].perfect);
    }

    #[test]
    fn an_illegal_move_names_its_ply() {
        let err = analyse(&cells(&[4, 4])).unwrap_err();
        assert!(err.starts_with("ply 2:"), "{err}");
    }
}
