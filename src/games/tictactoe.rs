//! Tic-tac-toe rules: a 3x3 grid, cells 0-8 row-major from the top left, three in a line wins.

use super::{
    mark, parse_index, Applied, EndReason, Move, Outcome, Position, RuleError, Rules, Side,
};

/// The eight lines of three cells that win.
const LINES: [[usize; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

/// A tic-tac-toe position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicTacToe {
    cells: [Option<Side>; 9],
    to_move: Side,
    outcome: Option<Outcome>,
}

impl Default for TicTacToe {
    fn default() -> Self {
        TicTacToe::new()
    }
}

impl TicTacToe {
    /// The empty grid, first side to move.
    pub fn new() -> TicTacToe {
        TicTacToe {
            cells: [None; 9],
            to_move: Side::First,
            outcome: None,
        }
    }

    fn judge(&self, mover: Side) -> Option<Outcome> {
        let won = LINES
            .iter()
            .any(|line| line.iter().all(|&c| self.cells[c] == Some(mover)));
        if won {
            Some(Outcome::win(mover, EndReason::Line))
        } else if self.cells.iter().all(Option::is_some) {
            Some(Outcome::draw(EndReason::BoardFull))
        } else {
            None
        }
    }
}

impl Rules for TicTacToe {
    fn to_move(&self) -> Side {
        self.to_move
    }

    fn parse_move(&self, mv: &Move) -> Result<Move, RuleError> {
        parse_index(mv, 9).map(|n| Move::Index(n as u32))
    }

    fn apply(&mut self, mv: &Move) -> Result<Applied, RuleError> {
        if self.outcome.is_some() {
            return Err(RuleError::GameOver);
        }
        let cell = parse_index(mv, 9)?;
        if self.cells[cell].is_some() {
            return Err(RuleError::Illegal(format!("cell {cell} is occupied")));
        }
        let mover = self.to_move;
        self.cells[cell] = Some(mover);
        self.to_move = mover.other();
        self.outcome = self.judge(mover);
        Ok(Applied {
            canonical: Move::Index(cell as u32),
            outcome: self.outcome,
        })
    }

    fn position(&self) -> Position {
        Position::Rows(
            self.cells
                .chunks(3)
                .map(|row| row.iter().map(|&c| mark(c)).collect())
                .collect(),
        )
    }

    fn legal_moves(&self) -> Vec<Move> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        (0..9u32)
            .filter(|&c| self.cells[c as usize].is_none())
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

    fn play(cells: &[u32]) -> TicTacToe {
        let mut game = TicTacToe::new();
        for &c in cells {
            game.apply(&Move::Index(c)).unwrap();
        }
        game
    }

    #[test]
    fn lines_win_for_the_side_that_completes_them() {
        // (moves, winner): first side plays the even-indexed moves.
        let cases: [(&[u32], GameResult); 8] = [
            (&[0, 3, 1, 4, 2], GameResult::First),     // top row
            (&[3, 0, 4, 1, 8, 2], GameResult::Second), // top row for second
            (&[0, 1, 3, 2, 6], GameResult::First),     // left column
            (&[0, 1, 3, 4, 8, 7], GameResult::Second), // middle column
            (&[0, 1, 4, 2, 8], GameResult::First),     // main diagonal
            (&[0, 2, 1, 4, 8, 6], GameResult::Second), // anti-diagonal
            (&[6, 0, 7, 1, 8], GameResult::First),     // bottom row
            (&[0, 2, 1, 5, 3, 8], GameResult::Second), // right column
        ];
        for (moves, winner) in cases {
            let mut game = TicTacToe::new();
            let (last, init) = moves.split_last().unwrap();
            for &c in init {
                let applied = game.apply(&Move::Index(c)).unwrap();
                assert_eq!(applied.outcome, None, "{moves:?}");
            }
            let applied = game.apply(&Move::Index(*last)).unwrap();
            let expected = Outcome {
                result: winner,
                reason: EndReason::Line,
            };
            assert_eq!(applied.outcome, Some(expected), "{moves:?}");
            assert_eq!(game.outcome(), Some(expected), "{moves:?}");
        }
    }

    #[test]
    fn a_full_board_without_a_line_is_a_draw() {
        // x o x / x o o / o x x
        let game = play(&[0, 1, 2, 4, 3, 5, 7, 6, 8]);
        assert_eq!(
            game.outcome(),
            Some(Outcome {
                result: GameResult::Draw,
                reason: EndReason::BoardFull
            })
        );
        assert_eq!(
            game.position(),
            Position::Rows(vec!["xox".into(), "xoo".into(), "oxx".into()])
        );
    }

    #[test]
    fn an_occupied_cell_is_illegal_and_changes_nothing() {
        let mut game = play(&[4]);
        let before = game.clone();
        assert!(matches!(
            game.apply(&Move::Index(4)),
            Err(RuleError::Illegal(_))
        ));
        assert_eq!(game, before);
    }

    #[test]
    fn cells_out_of_range_or_not_numbers_are_malformed() {
        for mv in [
            Move::Index(9),
            Move::Index(12),
            Move::Text("-1".into()),
            Move::Text("a".into()),
        ] {
            let mut game = TicTacToe::new();
            assert!(
                matches!(game.apply(&mv), Err(RuleError::Malformed(_))),
                "{mv:?}"
            );
            assert_eq!(game, TicTacToe::new());
        }
    }

    #[test]
    fn numeric_text_is_accepted_and_canonicalised_to_an_index() {
        let mut game = TicTacToe::new();
        let applied = game.apply(&Move::Text("4".into())).unwrap();
        assert_eq!(applied.canonical, Move::Index(4));
        assert_eq!(game.to_move(), Side::Second);
        assert_eq!(
            game.position(),
            Position::Rows(vec!["...".into(), ".x.".into(), "...".into()])
        );
    }

    #[test]
    fn moves_after_the_end_are_refused_and_none_are_listed() {
        let mut game = play(&[0, 3, 1, 4, 2]);
        assert_eq!(game.apply(&Move::Index(8)), Err(RuleError::GameOver));
        assert!(game.legal_moves().is_empty());
    }

    #[test]
    fn legal_moves_are_the_empty_cells() {
        let game = play(&[0, 4]);
        assert_eq!(
            game.legal_moves(),
            [1, 2, 3, 5, 6, 7, 8].map(Move::Index).to_vec()
        );
    }
}
