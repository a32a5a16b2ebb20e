//! Connect-four rules: seven columns of six, pieces fall to the bottom, four in a line wins.

use super::{
    mark, parse_index, Applied, EndReason, Move, Outcome, Position, RuleError, Rules, Side,
};

const COLS: usize = 7;
const ROWS: usize = 6;

/// A connect-four position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect4 {
    /// `grid[row][col]`, row 0 at the bottom.
    grid: [[Option<Side>; COLS]; ROWS],
    /// How many pieces each column holds.
    heights: [usize; COLS],
    to_move: Side,
    outcome: Option<Outcome>,
}

impl Default for Connect4 {
    fn default() -> Self {
        Connect4::new()
    }
}

impl Connect4 {
    /// The empty board, first side to move.
    pub fn new() -> Connect4 {
        Connect4 {
            grid: [[None; COLS]; ROWS],
            heights: [0; COLS],
            to_move: Side::First,
            outcome: None,
        }
    }

    /// How many of `side`'s pieces run from (row, col) in direction (dr, dc), not counting
    /// the start.
    fn run(&self, side: Side, row: usize, col: usize, dr: isize, dc: isize) -> usize {
        let mut n = 0;
        let (mut r, mut c) = (row as isize + dr, col as isize + dc);
        while (0..ROWS as isize).contains(&r)
            && (0..COLS as isize).contains(&c)
            && self.grid[r as usize][c as usize] == Some(side)
        {
            n += 1;
            r += dr;
            c += dc;
        }
        n
    }

    fn judge(&self, mover: Side, row: usize, col: usize) -> Option<Outcome> {
        let won = [(0, 1), (1, 0), (1, 1), (1, -1)].iter().any(|&(dr, dc)| {
            1 + self.run(mover, row, col, dr, dc) + self.run(mover, row, col, -dr, -dc) >= 4
        });
        if won {
            Some(Outcome::win(mover, EndReason::Line))
        } else if self.heights.iter().all(|&h| h == ROWS) {
            Some(Outcome::draw(EndReason::BoardFull))
        } else {
            None
        }
    }
}

impl Rules for Connect4 {
    fn to_move(&self) -> Side {
        self.to_move
    }

    fn parse_move(&self, mv: &Move) -> Result<Move, RuleError> {
        parse_index(mv, COLS as u32).map(|n| Move::Index(n as u32))
    }

    fn apply(&mut self, mv: &Move) -> Result<Applied, RuleError> {
        if self.outcome.is_some() {
            return Err(RuleError::GameOver);
        }
        let col = parse_index(mv, COLS as u32)?;
        let row = self.heights[col];
        if row == ROWS {
            return Err(RuleError::Illegal(format!("column {col} is full")));
        }
        let mover = self.to_move;
        self.grid[row][col] = Some(mover);
        self.heights[col] += 1;
        self.to_move = mover.other();
        self.outcome = self.judge(mover, row, col);
        Ok(Applied {
            canonical: Move::Index(col as u32),
            outcome: self.outcome,
        })
    }

    fn position(&self) -> Position {
        Position::Rows(
            self.grid
                .iter()
                .rev()
                .map(|row| row.iter().map(|&c| mark(c)).collect())
                .collect(),
        )
    }

    fn legal_moves(&self) -> Vec<Move> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        (0..COLS as u32)
            .filter(|&c| self.heights[c as usize] < ROWS)
            .map(Move::Index)
            .collect()
    }

    fn can_win(&self, _side: Side) -> bool {
        true
    }

    fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::GameResult;

    fn play(cols: &[u32]) -> (Connect4, Option<Outcome>) {
        let mut game = Connect4::new();
        let mut last = None;
        for (i, &c) in cols.iter().enumerate() {
            assert_eq!(game.outcome(), None, "decided before move {i} of {cols:?}");
            last = game.apply(&Move::Index(c)).unwrap().outcome;
        }
        (game, last)
    }

    #[test]
    fn four_in_a_line_wins_in_every_direction() {
        let cases: [(&str, &[u32], GameResult); 5] = [
            ("horizontal", &[0, 0, 1, 1, 2, 2, 3], GameResult::First),
            ("vertical", &[6, 0, 6, 0, 6, 0, 5, 0], GameResult::Second),
            (
                "rising diagonal",
                &[0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3],
                GameResult::First,
            ),
            (
                "falling diagonal",
                &[6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3],
                GameResult::First,
            ),
            (
                "horizontal in the middle",
                &[0, 2, 0, 3, 6, 5, 6, 4],
                GameResult::Second,
            ),
        ];
        for (name, cols, winner) in cases {
            let (game, last) = play(cols);
            let expected = Some(Outcome {
                result: winner,
                reason: EndReason::Line,
            });
            assert_eq!(last, expected, "{name}");
            assert_eq!(game.outcome(), expected, "{name}");
            assert!(game.legal_moves().is_empty(), "{name}");
        }
    }

    #[test]
    fn pieces_fall_to_the_bottom_row_which_is_the_last_string() {
        let (game, _) = play(&[3, 3]);
        let Position::Rows(rows) = game.position() else {
            panic!("connect-four positions are rows")
        };
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[5], "...x...");
        assert_eq!(rows[4], "...o...");
        assert!(rows[..4].iter().all(|r| r == "......."));
    }

    #[test]
    fn a_full_column_is_illegal_and_changes_nothing() {
        let (mut game, _) = play(&[0, 0, 0, 0, 0, 0]);
        let before = game.clone();
        assert!(matches!(
            game.apply(&Move::Index(0)),
            Err(RuleError::Illegal(_))
        ));
        assert_eq!(game, before);
        assert_eq!(
            game.legal_moves(),
            (1..7).map(Move::Index).collect::<Vec<_>>()
        );
    }

    #[test]
    fn column_seven_is_malformed() {
        let mut game = Connect4::new();
        assert!(matches!(
            game.apply(&Move::Index(7)),
            Err(RuleError::Malformed(_))
        ));
        assert!(matches!(
            game.apply(&Move::Text("7".into())),
            Err(RuleError::Malformed(_))
        ));
        assert_eq!(game, Connect4::new());
    }

    #[test]
    fn numeric_text_is_accepted_and_canonicalised_to_an_index() {
        let mut game = Connect4::new();
        let applied = game.apply(&Move::Text("4".into())).unwrap();
        assert_eq!(applied.canonical, Move::Index(4));
    }

    #[test]
    fn a_full_board_without_four_in_a_line_is_a_draw() {
        let cols = [
            4, 3, 6, 0, 1, 4, 5, 5, 1, 1, 5, 0, 1, 6, 0, 1, 5, 5, 1, 0, 4, 6, 3, 2, 6, 6, 0, 4, 6,
            5, 2, 0, 4, 2, 4, 2, 2, 2, 3, 3, 3, 3,
        ];
        let (mut game, last) = play(&cols);
        let draw = Some(Outcome {
            result: GameResult::Draw,
            reason: EndReason::BoardFull,
        });
        assert_eq!(last, draw);
        assert_eq!(game.outcome(), draw);
        assert_eq!(
            game.position(),
            Position::Rows(
                ["oxooxox", "xoxxxoo", "oxoooxx", "xooxxxo", "oxxxooo", "oxooxxx"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(game.apply(&Move::Index(0)), Err(RuleError::GameOver));
    }
}
