//! Connect-four by a bounded search: negamax with alpha-beta to a fixed depth, centre columns
//! first, over a heuristic of open lines; each move's value against the best at that depth.
//!
//! The rules (legality, four in a line, a full board) are `games::Connect4`'s. The search keeps
//! its own copy of the cells beside it only to evaluate leaves and key its table.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::PlyScore;
use crate::games::{Connect4, GameResult, Move, Rules, Side};

/// How many plies each move's value looks ahead (the move itself included). Eight sees most
/// tactics a player can, and a whole game stays well under a second in an optimised build.
pub(super) const DEPTH: u32 = 8;

/// A decided win, in heuristic units: larger than any heuristic value can get.
const WIN: i32 = 1000;

/// The largest loss a move is charged: throwing away a won game.
const MAX_LOSS: i32 = 2 * WIN;

/// A move within this many units of the best is accurate: less than one centre piece, so
/// only evaluation noise, never a tactic.
pub(super) const ACCURATE_WITHIN: f64 = 2.0;

const COLS: usize = 7;
const ROWS: usize = 6;

/// Columns in the order they are tried: centre first, where the best move most often is.
const ORDER: [usize; COLS] = [3, 2, 4, 1, 5, 0, 6];

/// The value of an open window holding 0, 1, 2 or 3 pieces of one side only.
const WINDOW: [i32; 4] = [0, 0, 2, 5];

/// The value of a piece in the centre column, which lies in the most lines.
const CENTRE: i32 = 3;

/// What the engine is called in a `GameAnalysis`.
pub(super) fn engine() -> String {
    format!("negamax depth {DEPTH}")
}

/// Every line of four cells (`row * COLS + col`, row 0 at the bottom) that can win: 24
/// across, 21 up, 12 on each diagonal.
const WINDOWS: [[usize; 4]; 69] = windows();

const fn windows() -> [[usize; 4]; 69] {
    let mut all = [[0; 4]; 69];
    let mut n = 0;
    let directions: [(isize, isize); 4] = [(0, 1), (1, 0), (1, 1), (1, -1)];
    let mut d = 0;
    while d < directions.len() {
        let (dr, dc) = directions[d];
        let mut r = 0;
        while r < ROWS as isize {
            let mut c = 0;
            while c < COLS as isize {
                let (end_r, end_c) = (r + 3 * dr, c + 3 * dc);
                if end_r >= 0 && end_r < ROWS as isize && end_c >= 0 && end_c < COLS as isize {
                    let mut k = 0;
                    while k < 4 {
                        all[n][k] =
                            ((r + k as isize * dr) * COLS as isize + c + k as isize * dc) as usize;
                        k += 1;
                    }
                    n += 1;
                }
                c += 1;
            }
            r += 1;
        }
        d += 1;
    }
    assert!(n == 69);
    all
}

/// A position: the rules' board, plus the cells (+1 first side, -1 second) for the search.
#[derive(Clone)]
struct Node {
    game: Connect4,
    /// `row * COLS + col`, row 0 at the bottom.
    cells: [i8; ROWS * COLS],
    heights: [usize; COLS],
    /// The cells as a table key, two bits each: who holds it, if anyone. The side to move
    /// follows from the count, so it needs no bit.
    key: u128,
}

impl Node {
    fn start() -> Node {
        Node {
            game: Connect4::new(),
            cells: [0; ROWS * COLS],
            heights: [0; COLS],
            key: 0,
        }
    }

    /// The position after dropping a piece in `col`, or the rules' refusal.
    fn after(&self, mv: &Move) -> Result<Node, String> {
        let mover = self.game.to_move();
        let mut next = self.clone();
        let applied = next.game.apply(mv).map_err(|e| e.to_string())?;
        let Move::Index(col) = applied.canonical else {
            return Err(format!("{mv} is not a column"));
        };
        let col = col as usize;
        let cell = self.heights[col] * COLS + col;
        next.cells[cell] = sign(mover);
        next.heights[col] += 1;
        let bits: u128 = match mover {
            Side::First => 1,
            Side::Second => 2,
        };
        next.key |= bits << (2 * cell);
        Ok(next)
    }

    /// The open-lines heuristic for the side to move.
    fn heuristic(&self) -> i32 {
        let mut score = 0;
        for row in 0..ROWS {
            score += CENTRE * i32::from(self.cells[row * COLS + COLS / 2]);
        }
        for window in &WINDOWS {
            let (mut first, mut second) = (0, 0);
            for &cell in window {
                match self.cells[cell] {
                    1 => first += 1,
                    -1 => second += 1,
                    _ => {}
                }
            }
            if second == 0 {
                score += WINDOW[first.min(3)];
            } else if first == 0 {
                score -= WINDOW[second.min(3)];
            }
        }
        score * i32::from(sign(self.game.to_move()))
    }
}

fn sign(side: Side) -> i8 {
    match side {
        Side::First => 1,
        Side::Second => -1,
    }
}

/// What a table entry says about the position's value at its depth.
#[derive(Clone, Copy)]
enum Bound {
    Exact,
    /// The value is at least this (the search failed high).
    Lower,
    /// The value is at most this (the search failed low).
    Upper,
}

/// The search and its tables. Values are keyed by position and remaining depth, and only an
/// entry of the same depth is used, so a position's value is the same however it is reached.
/// The best column found in a position at any depth is kept apart, to be tried first: it
/// changes how fast a value is found, never the value.
#[derive(Default)]
struct Search {
    values: HashMap<u128, (i32, Bound), BuildHasherDefault<KeyHasher>>,
    best: HashMap<u128, usize, BuildHasherDefault<KeyHasher>>,
    /// Positions visited, for tests to bound the work.
    #[cfg(test)]
    nodes: u64,
}

/// A hasher for table keys: a fold of the key and splitmix64's finaliser, so every bit of
/// the key reaches the bucket bits. SipHash's defence against chosen keys is not needed here
/// and costs much of a node.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 ^= (key as u64) ^ ((key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.0 ^= n as u64;
    }
}

impl Search {
    /// The positions after each legal move, the remembered best column first, then `ORDER`.
    fn children(&self, node: &Node) -> Vec<(usize, Node)> {
        let first = self.best.get(&node.key).copied();
        first
            .into_iter()
            .chain(ORDER.into_iter().filter(|&c| Some(c) != first))
            .filter(|&col| node.heights[col] < ROWS)
            .map(|col| {
                let child = node
                    .after(&Move::Index(col as u32))
                    .expect("a column with room takes a piece");
                (col, child)
            })
            .collect()
    }

    /// The value of `node` for the side to move, searched `depth` plies ahead (principal
    /// variation search: the first move with the full window, the others proven worse with a
    /// null window, searched again only when they are not).
    fn negamax(&mut self, node: &Node, depth: u32, mut alpha: i32, beta: i32) -> i32 {
        #[cfg(test)]
        {
            self.nodes += 1;
        }
        match node.game.outcome() {
            Some(outcome) if outcome.result == GameResult::Draw => return 0,
            // The side that just moved made four: the side to move has lost.
            Some(_) => return -WIN,
            None => {}
        }
        if depth == 0 {
            return node.heuristic();
        }
        let key = node.key | u128::from(depth) << 96;
        if let Some(&(value, bound)) = self.values.get(&key) {
            match bound {
                Bound::Exact => return value,
                Bound::Lower if value >= beta => return value,
                Bound::Upper if value <= alpha => return value,
                _ => {}
            }
        }
        let children = self.children(node);
        // A move that makes four is worth the most there is: nothing else needs a look.
        if let Some(&(col, _)) = children.iter().find(|(_, c)| {
            c.game
                .outcome()
                .is_some_and(|o| o.result != GameResult::Draw)
        }) {
            self.values.insert(key, (WIN, Bound::Exact));
            self.best.insert(node.key, col);
            return WIN;
        }
        let alpha0 = alpha;
        let mut best = (-WIN - 1, children[0].0);
        for (i, (col, child)) in children.iter().enumerate() {
            let value = if i == 0 {
                -self.negamax(child, depth - 1, -beta, -alpha)
            } else {
                let probe = -self.negamax(child, depth - 1, -alpha - 1, -alpha);
                if probe > alpha && probe < beta {
                    -self.negamax(child, depth - 1, -beta, -probe)
                } else {
                    probe
                }
            };
            if value > best.0 {
                best = (value, *col);
            }
            alpha = alpha.max(value);
            if alpha >= beta {
                break;
            }
        }
        let bound = if best.0 <= alpha0 {
            Bound::Upper
        } else if best.0 >= beta {
            Bound::Lower
        } else {
            Bound::Exact
        };
        self.values.insert(key, (best.0, bound));
        self.best.insert(node.key, best.1);
        best.0
    }

    /// The played move's exact value and the best move's, for the side to move at `node`.
    fn score(&mut self, node: &Node, played: &Node) -> (i32, i32) {
        let own = -self.negamax(played, DEPTH - 1, -WIN - 1, WIN + 1);
        let mut best = own;
        for (_, child) in self.children(node) {
            if child.key == played.key {
                continue;
            }
            // Only whether (and by how much) another move beats the played one matters:
            // first a null window proves it does not, as it mostly does not.
            let probe = -self.negamax(&child, DEPTH - 1, -best - 1, -best);
            if probe > best {
                best = -self.negamax(&child, DEPTH - 1, -WIN - 1, -best);
            }
        }
        (own, best)
    }
}

/// Scores every ply of a game against the bounded search.
pub(super) fn analyse(moves: &[Move]) -> Result<Vec<PlyScore>, String> {
    let mut search = Search::default();
    let mut node = Node::start();
    let mut plies = Vec::with_capacity(moves.len());
    for (i, mv) in moves.iter().enumerate() {
        let next = node.after(mv).map_err(|e| format!("ply {}: {e}", i + 1))?;
        let (own, best) = search.score(&node, &next);
        let loss = (best - own).clamp(0, MAX_LOSS);
        plies.push(PlyScore {
            loss: f64::from(loss),
            perfect: loss == 0,
        });
        node = next;
    }
    Ok(plies)
}

/// The column the search likes best after `moves` (the first in `ORDER` on a tie): what a
/// test's perfect player plays.
#[cfg(test)]
pub(super) fn best_column(moves: &[Move]) -> u32 {
    let mut node = Node::start();
    for mv in moves {
        node = node.after(mv).expect("a legal game");
    }
    let mut search = Search::default();
    let mut best = (i32::MIN, 0);
    for col in ORDER.into_iter().filter(|&c| node.heights[c] < ROWS) {
        let child = node.after(&Move::Index(col as u32)).expect("room");
        let value = -search.negamax(&child, DEPTH - 1, -WIN - 1, WIN + 1);
        if value > best.0 {
            best = (value, col as u32);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(cols: &[u32]) -> Vec<Move> {
        cols.iter().map(|&c| Move::Index(c)).collect()
    }

    #[test]
    fn the_empty_board_favours_the_centre() {
        let node = Node::start();
        let mut search = Search::default();
        let value = |search: &mut Search, col: u32| {
            let child = node.after(&Move::Index(col)).unwrap();
            -search.negamax(&child, 3, -WIN - 1, WIN + 1)
        };
        let centre = value(&mut search, 3);
        let edge = value(&mut search, 0);
        assert!(centre > edge, "centre {centre}, edge {edge}");
    }

    #[test]
    fn missing_a_win_in_one_is_charged_and_taking_it_is_perfect() {
        // First holds 0, 1, 2 on the bottom row; second stacked on 0-2.
        let missed = analyse(&columns(&[0, 0, 1, 1, 2, 2, 6])).unwrap();
        assert!(missed[6].loss >= 100.0, "{:?}", missed[6].loss);
        let taken = analyse(&columns(&[0, 0, 1, 1, 2, 2, 3])).unwrap();
        assert!(taken[6].perfect);
    }

    #[test]
    fn not_blocking_an_open_three_is_charged() {
        // Second holds 3 and 4 on the bottom row with 2, 5 and 6 open; first's third move
        // (ply 5) does not block, second's 5 then threatens both 2 and 6.
        let plies = analyse(&columns(&[0, 3, 0, 4, 1, 5, 2])).unwrap();
        assert!(plies[4].loss >= 100.0, "{:?}", plies[4].loss);
        // Once lost, every move is as bad as the best: nothing more is charged.
        assert!(plies[6].perfect, "{:?}", plies[6].loss);
    }

    #[test]
    fn an_illegal_move_names_its_ply() {
        let full = [0u32; 7];
        let err = analyse(&columns(&full)).unwrap_err();
        assert!(err.starts_with("ply 7:"), "{err}");
    }

    #[test]
    fn a_whole_random_game_is_searched_in_a_bounded_number_of_positions() {
        use rand::seq::IndexedRandom;
        use rand::SeedableRng;
        // A budget that keeps a whole game around a second in a debug build.
        let mut rng = rand::rngs::StdRng::seed_from_u64(99);
        let (mut search, mut node, mut plies) = (Search::default(), Node::start(), 0);
        while node.game.outcome().is_none() {
            let mv = node.game.legal_moves().choose(&mut rng).unwrap().clone();
            let next = node.after(&mv).unwrap();
            let (own, best) = search.score(&node, &next);
            assert!(best >= own, "ply {plies}: {own} > {best}");
            node = next;
            plies += 1;
        }
        assert!(plies >= 7);
        assert!(search.nodes < 250_000, "{} positions", search.nodes);
    }

    /// Plain negamax, every move searched: what the pruned search must agree with.
    fn minimax(node: &Node, depth: u32) -> i32 {
        match node.game.outcome() {
            Some(outcome) if outcome.result == GameResult::Draw => return 0,
            Some(_) => return -WIN,
            None => {}
        }
        if depth == 0 {
            return node.heuristic();
        }
        (0..COLS)
            .filter(|&c| node.heights[c] < ROWS)
            .map(|c| -minimax(&node.after(&Move::Index(c as u32)).unwrap(), depth - 1))
            .max()
            .unwrap()
    }

    #[test]
    fn pruning_and_tables_never_change_a_value() {
        use rand::seq::IndexedRandom;
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut search = Search::default();
        for _ in 0..12 {
            let mut node = Node::start();
            for _ in 0..12 {
                if node.game.outcome().is_some() {
                    break;
                }
                for depth in 1..=4 {
                    let exact = minimax(&node, depth);
                    assert_eq!(search.negamax(&node, depth, -WIN - 1, WIN + 1), exact);
                }
                let mv = node.game.legal_moves().choose(&mut rng).unwrap().clone();
                node = node.after(&mv).unwrap();
            }
        }
    }
}
