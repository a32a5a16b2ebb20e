//! Chess rules on top of cozy-chess: UCI moves, FEN positions, mate, stalemate and automatic draws.
//!
//! cozy-chess writes castling as the king taking its own rook (`e1h1`); the wire uses standard
//! UCI (`e1g1`), so moves are converted at this boundary in both directions.

use cozy_chess as cc;

use super::{Applied, EndReason, Move, Outcome, Position, RuleError, Rules, Side};

/// A chess game: the position plus what the automatic draws need from its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chess {
    board: cc::Board,
    /// Repetition keys of the positions since the last irreversible move, current one last.
    history: Vec<u64>,
    outcome: Option<Outcome>,
}

impl Default for Chess {
    fn default() -> Self {
        Chess::new()
    }
}

impl Chess {
    /// The standard starting position.
    pub fn new() -> Chess {
        Chess::from_board(cc::Board::startpos())
    }

    /// A game starting from `fen` (regular FEN; Shredder FEN is accepted too). Nothing before
    /// it is known: the FEN position itself is the first occurrence for threefold repetition.
    /// A FEN that is already mate, stalemate, a dead position or at a halfmove clock of 100 is
    /// decided from the start. Castling rights other than standard chess's (a king off e1/e8,
    /// a rook off the a/h file: Chess960) are refused: standard UCI cannot spell that castling.
    pub fn from_fen(fen: &str) -> Result<Chess, RuleError> {
        let board = fen
            .trim()
            .parse::<cc::Board>()
            .map_err(|_| RuleError::Malformed(format!("bad FEN: {fen}")))?;
        if !standard_castling(&board) {
            return Err(RuleError::Malformed(format!(
                "castling rights standard chess does not have: {fen}"
            )));
        }
        Ok(Chess::from_board(board))
    }

    fn from_board(board: cc::Board) -> Chess {
        let mut chess = Chess {
            history: vec![repetition_key(&board)],
            board,
            outcome: None,
        };
        chess.outcome = chess.judge();
        chess
    }

    /// The position as FEN, with halfmove clock and fullmove number.
    pub fn fen(&self) -> String {
        self.board.to_string()
    }

    /// The underlying cozy-chess board.
    pub(super) fn board(&self) -> &cc::Board {
        &self.board
    }

    /// Parses a wire move and checks it is legal for the side to move, in cozy-chess form.
    pub(super) fn resolve(&self, mv: &Move) -> Result<cc::Move, RuleError> {
        let Move::Text(text) = mv else {
            return Err(RuleError::Malformed(format!(
                "chess moves are UCI text, not {mv}"
            )));
        };
        let parsed = parse_uci(text)?;
        let cozy = to_cozy(&self.board, parsed)?;
        if self.board.is_legal(cozy) {
            Ok(cozy)
        } else {
            Err(RuleError::Illegal(text.clone()))
        }
    }

    /// The decided state of the current position, if any. Checkmate first, then the draws.
    fn judge(&self) -> Option<Outcome> {
        let board = &self.board;
        let has_moves = board.generate_moves(|_| true);
        if !has_moves {
            return Some(if board.checkers().is_empty() {
                Outcome::draw(EndReason::Stalemate)
            } else {
                Outcome::win(side_of(!board.side_to_move()), EndReason::Checkmate)
            });
        }
        if insufficient_material(board) {
            return Some(Outcome::draw(EndReason::InsufficientMaterial));
        }
        let current = repetition_key(board);
        if self.history.iter().filter(|&&k| k == current).count() >= 3 {
            return Some(Outcome::draw(EndReason::Repetition));
        }
        if board.halfmove_clock() >= 100 {
            return Some(Outcome::draw(EndReason::FiftyMoves));
        }
        None
    }
}

impl Rules for Chess {
    fn to_move(&self) -> Side {
        side_of(self.board.side_to_move())
    }

    fn parse_move(&self, mv: &Move) -> Result<Move, RuleError> {
        match mv {
            Move::Text(text) => parse_uci(text).map(|_| Move::Text(text.clone())),
            Move::Index(_) => Err(RuleError::Malformed(format!(
                "{mv}: chess moves are UCI text, like \"e2e4\""
            ))),
        }
    }

    fn apply(&mut self, mv: &Move) -> Result<Applied, RuleError> {
        if self.outcome.is_some() {
            return Err(RuleError::GameOver);
        }
        let cozy = self.resolve(mv)?;
        let canonical = Move::Text(to_uci(&self.board, cozy));
        self.board.play_unchecked(cozy);
        if self.board.halfmove_clock() == 0 {
            // A capture or pawn move: no earlier position can ever come back.
            self.history.clear();
        }
        self.history.push(repetition_key(&self.board));
        self.outcome = self.judge();
        Ok(Applied {
            canonical,
            outcome: self.outcome,
        })
    }

    fn position(&self) -> Position {
        Position::Fen(self.fen())
    }

    fn legal_moves(&self) -> Vec<Move> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        let mut moves = Vec::new();
        self.board.generate_moves(|piece_moves| {
            moves.extend(piece_moves.into_iter().map(|mv| to_uci(&self.board, mv)));
            false
        });
        moves.sort();
        moves.into_iter().map(Move::Text).collect()
    }

    /// Simplified: a side cannot win when it has only its king, or its king and a single
    /// knight or bishop. Anything else (even K+N+N) counts as able to win.
    fn can_win(&self, side: Side) -> bool {
        let color = color_of(side);
        let ours = self.board.colors(color);
        let minors =
            ours & (self.board.pieces(cc::Piece::Knight) | self.board.pieces(cc::Piece::Bishop));
        !(ours.len() == 1 || (ours.len() == 2 && minors.len() == 1))
    }

    fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
}

fn side_of(color: cc::Color) -> Side {
    match color {
        cc::Color::White => Side::First,
        cc::Color::Black => Side::Second,
    }
}

fn color_of(side: Side) -> cc::Color {
    match side {
        Side::First => cc::Color::White,
        Side::Second => cc::Color::Black,
    }
}

/// Parses UCI text strictly: two squares and an optional promotion piece (q, r, b, n),
/// case-insensitive, surrounding whitespace ignored.
/// Strict UCI: four or five lower-case characters, nothing around them (`e2e4`, `e7e8q`).
fn parse_uci(text: &str) -> Result<cc::Move, RuleError> {
    let malformed = || {
        RuleError::Malformed(format!(
            "{text:?}: chess moves are UCI in lower case, like e2e4 or e7e8q"
        ))
    };
    let bytes = text.as_bytes();
    if !(bytes.len() == 4 || bytes.len() == 5) {
        return Err(malformed());
    }
    let square = |s: &[u8]| -> Option<cc::Square> {
        let file = cc::File::try_index(s[0].checked_sub(b'a')? as usize)?;
        let rank = cc::Rank::try_index(s[1].checked_sub(b'1')? as usize)?;
        Some(cc::Square::new(file, rank))
    };
    let from = square(&bytes[0..2]).ok_or_else(malformed)?;
    let to = square(&bytes[2..4]).ok_or_else(malformed)?;
    let promotion = match bytes.get(4) {
        None => None,
        Some(b'q') => Some(cc::Piece::Queen),
        Some(b'r') => Some(cc::Piece::Rook),
        Some(b'b') => Some(cc::Piece::Bishop),
        Some(b'n') => Some(cc::Piece::Knight),
        Some(_) => return Err(malformed()),
    };
    Ok(cc::Move {
        from,
        to,
        promotion,
    })
}

/// Turns a standard-UCI move into cozy-chess form: a king on its start square moving two files
/// along its back rank becomes king-takes-rook when that castling right exists. The cozy form
/// itself (king onto its own rook) is refused, so each move has one spelling.
fn to_cozy(board: &cc::Board, mv: cc::Move) -> Result<cc::Move, RuleError> {
    let color = board.side_to_move();
    if board.piece_on(mv.from) != Some(cc::Piece::King) || board.color_on(mv.from) != Some(color) {
        return Ok(mv);
    }
    if board.color_on(mv.to) == Some(color) {
        return Err(RuleError::Illegal(format!(
            "{mv}: castle with the king's destination (e.g. e1g1)"
        )));
    }
    let back_rank = cc::Rank::First.relative_to(color);
    let start = cc::Square::new(cc::File::E, back_rank);
    if mv.from != start || mv.to.rank() != back_rank || mv.promotion.is_some() {
        return Ok(mv);
    }
    let rights = board.castle_rights(color);
    let rook_file = match mv.to.file() {
        cc::File::G => rights.short,
        cc::File::C => rights.long,
        _ => None,
    };
    Ok(match rook_file {
        Some(file) => cc::Move {
            from: mv.from,
            to: cc::Square::new(file, back_rank),
            promotion: None,
        },
        None => mv,
    })
}

/// Does every castling right have its king on e1/e8 and its rook on the a- or h-file? Only
/// then does a king's two-file move name the castling alone (not a plain king move too).
fn standard_castling(board: &cc::Board) -> bool {
    cc::Color::ALL.into_iter().all(|color| {
        let rights = board.castle_rights(color);
        let home = cc::Square::new(cc::File::E, cc::Rank::First.relative_to(color));
        (rights.short.is_none() && rights.long.is_none())
            || (board.king(color) == home
                && rights.short.is_none_or(|f| f == cc::File::H)
                && rights.long.is_none_or(|f| f == cc::File::A))
    })
}

/// Is `mv` (legal, cozy form) a castling move?
pub(super) fn is_castle(board: &cc::Board, mv: cc::Move) -> bool {
    board.piece_on(mv.from) == Some(cc::Piece::King)
        && board.color_on(mv.to) == Some(board.side_to_move())
}

/// Lowercase standard UCI for a legal cozy-chess move on `board`.
fn to_uci(board: &cc::Board, mv: cc::Move) -> String {
    if is_castle(board, mv) {
        let file = if mv.to.file() > mv.from.file() {
            cc::File::G
        } else {
            cc::File::C
        };
        let to = cc::Square::new(file, mv.from.rank());
        format!("{}{}", mv.from, to)
    } else {
        mv.to_string()
    }
}

/// The position's identity for threefold repetition: placement, side to move and castling
/// rights, plus the en-passant file only when an en-passant capture is actually legal.
fn repetition_key(board: &cc::Board) -> u64 {
    let Some(file) = board.en_passant() else {
        return board.hash();
    };
    let color = board.side_to_move();
    let target = cc::Square::new(file, cc::Rank::Sixth.relative_to(color));
    let capturers =
        cc::get_pawn_attacks(target, !color) & board.colored_pieces(color, cc::Piece::Pawn);
    let capturable = capturers.into_iter().any(|from| {
        board.is_legal(cc::Move {
            from,
            to: target,
            promotion: None,
        })
    });
    if capturable {
        board.hash()
    } else {
        board.hash_without_ep()
    }
}

/// Dead positions drawn automatically: bare kings, a single minor piece, or only bishops that
/// all stand on squares of one colour (covers K+B v K+B with same-coloured bishops).
fn insufficient_material(board: &cc::Board) -> bool {
    let heavy = board.pieces(cc::Piece::Pawn)
        | board.pieces(cc::Piece::Rook)
        | board.pieces(cc::Piece::Queen);
    if !heavy.is_empty() {
        return false;
    }
    let knights = board.pieces(cc::Piece::Knight);
    let bishops = board.pieces(cc::Piece::Bishop);
    if knights.len() + bishops.len() <= 1 {
        return true;
    }
    knights.is_empty()
        && (bishops.is_subset(cc::BitBoard::DARK_SQUARES)
            || bishops.is_subset(cc::BitBoard::LIGHT_SQUARES))
}

#[cfg(test)]
#[path = "chess_tests.rs"]
mod tests;
