//! Pure game rules: the `Rules` trait, its three games and the `Board` that dispatches to them.
//!
//! Nothing here does I/O or reads a clock: every function is a state transition on plain data.

mod chess;
mod connect4;
mod pgn;
mod tictactoe;

pub use chess::Chess;
pub use client_protocol::{EndReason, GameKind, GameResult, Move, Position, Side};
pub use connect4::Connect4;
pub use pgn::{pgn, utc_date_time, PgnGame};
pub use tictactoe::TicTacToe;

/// Why a move was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The move text does not parse for this game (e.g. "z9" in chess, 12 in tic-tac-toe, -1).
    #[error("malformed move: {0}")]
    Malformed(String),
    /// Well-formed but not legal here (occupied cell, full column, illegal chess move).
    #[error("illegal move: {0}")]
    Illegal(String),
    /// The position is already decided.
    #[error("the game is already over")]
    GameOver,
}

/// How a game ended by its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub result: GameResult,
    pub reason: EndReason,
}

impl Outcome {
    /// `side` won for `reason`.
    pub fn win(side: Side, reason: EndReason) -> Outcome {
        Outcome {
            result: GameResult::win_for(side),
            reason,
        }
    }

    /// A draw for `reason`.
    pub fn draw(reason: EndReason) -> Outcome {
        Outcome {
            result: GameResult::Draw,
            reason,
        }
    }
}

/// A move that was applied: its canonical wire form and the outcome it caused, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub canonical: Move,
    pub outcome: Option<Outcome>,
}

/// The rules of one game: pure state transitions.
pub trait Rules {
    /// Whose turn it is.
    fn to_move(&self) -> Side;
    /// The canonical spelling of a well-formed move, without applying it: what a retry of an
    /// applied move compares equal to, however the client spelled it. Legality is `apply`'s.
    fn parse_move(&self, mv: &Move) -> Result<Move, RuleError>;
    /// Parse and apply a move for the side to move. On error the state is unchanged.
    fn apply(&mut self, mv: &Move) -> Result<Applied, RuleError>;
    /// The position as sent on the wire.
    fn position(&self) -> Position;
    /// All legal moves for the side to move, canonical form (empty once decided).
    fn legal_moves(&self) -> Vec<Move>;
    /// Could `side` still win at all? (chess: false with insufficient mating material, used to
    /// turn a flag fall into a draw; other games: true).
    fn can_win(&self, side: Side) -> bool;
    /// The outcome, if the position is already decided.
    fn outcome(&self) -> Option<Outcome>;
}

/// A board of any game kind, dispatching `Rules` to the concrete game.
#[derive(Debug, Clone)]
pub enum Board {
    TicTacToe(TicTacToe),
    Connect4(Connect4),
    Chess(Chess),
}

impl Board {
    /// The starting position of `kind`.
    pub fn new(kind: GameKind) -> Board {
        match kind {
            GameKind::TicTacToe => Board::TicTacToe(TicTacToe::new()),
            GameKind::Connect4 => Board::Connect4(Connect4::new()),
            GameKind::Chess => Board::Chess(Chess::new()),
        }
    }

    /// Which game this board plays.
    pub fn kind(&self) -> GameKind {
        match self {
            Board::TicTacToe(_) => GameKind::TicTacToe,
            Board::Connect4(_) => GameKind::Connect4,
            Board::Chess(_) => GameKind::Chess,
        }
    }

    /// Rebuild a board by replaying canonical moves from the start.
    pub fn replay(kind: GameKind, moves: &[Move]) -> Result<Board, RuleError> {
        let mut board = Board::new(kind);
        for mv in moves {
            board.apply(mv)?;
        }
        Ok(board)
    }

    fn rules(&self) -> &dyn Rules {
        match self {
            Board::TicTacToe(g) => g,
            Board::Connect4(g) => g,
            Board::Chess(g) => g,
        }
    }

    fn rules_mut(&mut self) -> &mut dyn Rules {
        match self {
            Board::TicTacToe(g) => g,
            Board::Connect4(g) => g,
            Board::Chess(g) => g,
        }
    }
}

impl Rules for Board {
    fn to_move(&self) -> Side {
        self.rules().to_move()
    }

    fn parse_move(&self, mv: &Move) -> Result<Move, RuleError> {
        self.rules().parse_move(mv)
    }

    fn apply(&mut self, mv: &Move) -> Result<Applied, RuleError> {
        self.rules_mut().apply(mv)
    }

    fn position(&self) -> Position {
        self.rules().position()
    }

    fn legal_moves(&self) -> Vec<Move> {
        self.rules().legal_moves()
    }

    fn can_win(&self, side: Side) -> bool {
        self.rules().can_win(side)
    }

    fn outcome(&self) -> Option<Outcome> {
        self.rules().outcome()
    }
}

/// Reads a cell or column number given as `Move::Index(n)` or a numeric `Move::Text`, and
/// checks it is below `limit`. Anything else is malformed.
/// A cell or column: a number, or the same number as decimal text (`4` or `"4"`); nothing
/// around it, no sign, no leading zero.
fn parse_index(mv: &Move, limit: u32) -> Result<usize, RuleError> {
    let expected = || {
        RuleError::Malformed(format!(
            "{mv}: expected a whole number from 0 to {}",
            limit - 1
        ))
    };
    let n = match mv {
        Move::Index(n) => *n,
        Move::Text(text) => {
            let canonical = !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_digit())
                && (text.len() == 1 || !text.starts_with('0'));
            if !canonical {
                return Err(expected());
            }
            text.parse::<u32>().map_err(|_| expected())?
        }
    };
    if n >= limit {
        return Err(expected());
    }
    Ok(n as usize)
}

/// The mark a side leaves in `Position::Rows`.
fn mark(cell: Option<Side>) -> char {
    match cell {
        Some(Side::First) => 'x',
        Some(Side::Second) => 'o',
        None => '.',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_starts_with_the_first_side_to_move_and_no_outcome() {
        for &kind in GameKind::ALL {
            let board = Board::new(kind);
            assert_eq!(board.kind(), kind);
            assert_eq!(board.to_move(), Side::First);
            assert_eq!(board.outcome(), None);
            assert!(!board.legal_moves().is_empty());
            assert!(board.can_win(Side::First) && board.can_win(Side::Second));
            // Every legal move is spelled canonically: parsing it gives it back.
            for mv in board.legal_moves() {
                assert_eq!(board.parse_move(&mv), Ok(mv.clone()), "{kind}: {mv}");
            }
            assert_eq!(GameKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn replay_rebuilds_the_same_position_for_every_kind() {
        let cases: [(GameKind, Vec<Move>); 3] = [
            (
                GameKind::TicTacToe,
                vec![Move::Index(4), Move::Index(0), Move::Index(8)],
            ),
            (
                GameKind::Connect4,
                vec![Move::Index(3), Move::Index(3), Move::Index(2)],
            ),
            (
                GameKind::Chess,
                ["e2e4", "c7c5", "g1f3", "d7d6", "f1b5", "c8d7", "e1g1"]
                    .iter()
                    .map(|m| Move::Text(m.to_string()))
                    .collect(),
            ),
        ];
        for (kind, moves) in cases {
            let mut live = Board::new(kind);
            for mv in &moves {
                live.apply(mv).unwrap();
            }
            let replayed = Board::replay(kind, &moves).unwrap();
            assert_eq!(replayed.position(), live.position(), "{kind:?}");
            assert_eq!(replayed.to_move(), live.to_move(), "{kind:?}");
        }
    }

    #[test]
    fn replay_reports_the_first_bad_move() {
        let moves = [Move::Index(4), Move::Index(4)];
        assert!(matches!(
            Board::replay(GameKind::TicTacToe, &moves),
            Err(RuleError::Illegal(_))
        ));
    }

    #[test]
    fn index_moves_parse_from_numbers_and_numeric_text_only() {
        let cases = [
            (Move::Index(3), Ok(3)),
            (Move::Text("4".into()), Ok(4)),
            (Move::Text("0".into()), Ok(0)),
            (Move::Text(" 6 ".into()), Err(())),
            (Move::Text("06".into()), Err(())),
            (Move::Index(7), Err(())),
            (Move::Text("-1".into()), Err(())),
            (Move::Text("+1".into()), Err(())),
            (Move::Text("e2e4".into()), Err(())),
            (Move::Text("".into()), Err(())),
            (Move::Text("99999999999999999999".into()), Err(())),
        ];
        for (mv, expected) in cases {
            let got = parse_index(&mv, 7);
            match expected {
                Ok(n) => assert_eq!(got, Ok(n), "{mv:?}"),
                Err(()) => assert!(matches!(got, Err(RuleError::Malformed(_))), "{mv:?}"),
            }
        }
    }
}
