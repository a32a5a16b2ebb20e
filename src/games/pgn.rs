//! PGN export of finished chess games: tag pairs, SAN movetext, result token, wrapped lines.

use std::fmt::Write as _;

use client_protocol::http::GameRecord;
use client_protocol::{ClockSpec, Side};
use cozy_chess as cc;

use super::chess::{is_castle, Chess};
use super::{EndReason, GameResult, Move, RuleError, Rules};

/// Longest line of movetext, in characters (PGN asks for lines under 80).
const MAX_LINE: usize = 79;

/// What a PGN export needs to know about a finished chess game.
pub struct PgnGame<'a> {
    pub game_id: &'a str,
    pub white: &'a str,
    pub black: &'a str,
    pub result: GameResult,
    pub reason: EndReason,
    pub moves: &'a [Move],
    pub clock: Option<ClockSpec>,
    /// Unix ms when the game started (for the Date/UTCDate/UTCTime headers; format it yourself, no chrono).
    pub started_at_ms: u64,
    pub site: &'a str,
}

impl<'a> PgnGame<'a> {
    /// The game a finished record describes, with `site` for the Site tag.
    pub fn of(record: &'a GameRecord, site: &'a str) -> PgnGame<'a> {
        let name = |side: Side| {
            record
                .players
                .iter()
                .find(|p| p.side == side)
                .map_or("?", |p| p.name.as_str())
        };
        PgnGame {
            game_id: &record.game,
            white: name(Side::First),
            black: name(Side::Second),
            result: record.result,
            reason: record.reason,
            moves: &record.moves,
            clock: record.clock,
            started_at_ms: record.started_at,
            site,
        }
    }
}

/// A PGN export of a finished chess game (seven-tag roster plus TimeControl and Termination,
/// SAN movetext with check `+` and mate `#`, disambiguation, O-O/O-O-O, promotion `=Q`, the
/// result token at the end, lines wrapped under 80 chars).
///
/// The moves are replayed from the standard start; a move that does not apply is returned as
/// its `RuleError`. The result token comes from `game.result`, not from the replay, so
/// resignations and flag falls export as recorded.
pub fn pgn(game: &PgnGame) -> Result<String, RuleError> {
    let mut tokens = Vec::with_capacity(game.moves.len() * 3 / 2 + 1);
    let mut chess = Chess::new();
    for mv in game.moves {
        let board = chess.board().clone();
        let cozy = chess.resolve(mv)?;
        if board.side_to_move() == cc::Color::White {
            tokens.push(format!("{}.", board.fullmove_number()));
        }
        tokens.push(san(&board, cozy));
        chess.apply(mv)?;
    }
    tokens.push(result_token(game.result).to_string());

    let (date, time) = utc_date_time(game.started_at_ms);
    let time_control = game.clock.map_or_else(
        || "-".to_string(),
        |c| format!("{}+{}", seconds(c.initial_ms), seconds(c.increment_ms)),
    );
    let tags = [
        ("Event", "rookery game".to_string()),
        ("Site", game.site.to_string()),
        ("Date", date.clone()),
        ("Round", "-".to_string()),
        ("White", game.white.to_string()),
        ("Black", game.black.to_string()),
        ("Result", result_token(game.result).to_string()),
        ("GameId", game.game_id.to_string()),
        ("UTCDate", date),
        ("UTCTime", time),
        ("TimeControl", time_control),
        (
            "Termination",
            termination(game.result, game.reason).to_string(),
        ),
    ];

    let mut out = String::new();
    for (name, value) in tags {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "[{name} \"{}\"]", escape(&value));
    }
    out.push('\n');
    let mut line = String::new();
    for token in tokens {
        if !line.is_empty() && line.len() + 1 + token.len() > MAX_LINE {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&token);
    }
    out.push_str(&line);
    out.push('\n');
    Ok(out)
}

/// Standard algebraic notation for a legal cozy-chess move on `board`.
fn san(board: &cc::Board, mv: cc::Move) -> String {
    let mut s = String::new();
    let piece = board
        .piece_on(mv.from)
        .expect("a legal move starts on a piece");
    if is_castle(board, mv) {
        s.push_str(if mv.to.file() > mv.from.file() {
            "O-O"
        } else {
            "O-O-O"
        });
    } else if piece == cc::Piece::Pawn {
        if mv.from.file() != mv.to.file() {
            s.push(char::from(mv.from.file()));
            s.push('x');
        }
        s.push_str(&mv.to.to_string());
        if let Some(promotion) = mv.promotion {
            s.push('=');
            s.push(piece_letter(promotion));
        }
    } else {
        s.push(piece_letter(piece));
        if piece != cc::Piece::King {
            s.push_str(&disambiguation(board, piece, mv));
        }
        if board.piece_on(mv.to).is_some() {
            s.push('x');
        }
        s.push_str(&mv.to.to_string());
    }
    let mut after = board.clone();
    after.play_unchecked(mv);
    if !after.checkers().is_empty() {
        s.push(if after.generate_moves(|_| true) {
            '+'
        } else {
            '#'
        });
    }
    s
}

/// The file, rank or square needed to tell `mv` apart from other pieces of the same kind
/// that could also legally reach its destination.
fn disambiguation(board: &cc::Board, piece: cc::Piece, mv: cc::Move) -> String {
    let rivals_mask = board.colored_pieces(board.side_to_move(), piece) & !mv.from.bitboard();
    let mut rivals = Vec::new();
    board.generate_moves_for(rivals_mask, |moves| {
        if moves.to.has(mv.to) {
            rivals.push(moves.from);
        }
        false
    });
    if rivals.is_empty() {
        String::new()
    } else if rivals.iter().all(|sq| sq.file() != mv.from.file()) {
        char::from(mv.from.file()).to_string()
    } else if rivals.iter().all(|sq| sq.rank() != mv.from.rank()) {
        char::from(mv.from.rank()).to_string()
    } else {
        mv.from.to_string()
    }
}

fn piece_letter(piece: cc::Piece) -> char {
    char::from(piece).to_ascii_uppercase()
}

fn result_token(result: GameResult) -> &'static str {
    match result {
        GameResult::First => "1-0",
        GameResult::Second => "0-1",
        GameResult::Draw => "1/2-1/2",
        GameResult::Aborted => "*",
    }
}

/// The PGN standard's Termination values.
fn termination(result: GameResult, reason: EndReason) -> &'static str {
    if result == GameResult::Aborted {
        return "unterminated";
    }
    match reason {
        EndReason::Timeout => "time forfeit",
        EndReason::Abandoned => "abandoned",
        EndReason::Checkmate
        | EndReason::Resign
        | EndReason::DrawAgreed
        | EndReason::Stalemate
        | EndReason::Repetition
        | EndReason::FiftyMoves
        | EndReason::InsufficientMaterial
        | EndReason::Line
        | EndReason::BoardFull => "normal",
    }
}

/// A tag value with `\` and `"` escaped and control characters blanked.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds as seconds for TimeControl: `300`, or `0.5` when not whole.
fn seconds(ms: u64) -> String {
    let (whole, millis) = (ms / 1000, ms % 1000);
    if millis == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{millis:03}")
            .trim_end_matches('0')
            .to_string()
    }
}

/// (`YYYY.MM.DD`, `HH:MM:SS`) in UTC for a Unix time in milliseconds (PGN's spelling, and
/// what notifications print).
pub fn utc_date_time(ms: u64) -> (String, String) {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}.{m:02}.{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Gregorian (year, month, day) for a count of days since 1970-01-01, by shifting the year to
/// start in March so the leap day falls last, and counting 400-year eras of 146,097 days.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves(list: &[&str]) -> Vec<Move> {
        list.iter().map(|m| Move::Text(m.to_string())).collect()
    }

    fn export(list: &[&str], result: GameResult, reason: EndReason) -> String {
        let moves = moves(list);
        pgn(&PgnGame {
            game_id: "g1",
            white: "alice",
            black: "bob",
            result,
            reason,
            moves: &moves,
            clock: Some(ClockSpec {
                initial_ms: 300_000,
                increment_ms: 2_000,
            }),
            started_at_ms: 1_700_000_000_000,
            site: "rookery.test",
        })
        .unwrap()
    }

    /// The movetext of an export, joined onto one line.
    fn movetext(pgn: &str) -> String {
        let (_, body) = pgn.split_once("\n\n").unwrap();
        body.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// SAN of the last of `list` played from `fen`.
    fn san_from(fen: &str, list: &[&str]) -> String {
        let mut chess = Chess::from_fen(fen).unwrap();
        let mut last = String::new();
        for mv in moves(list) {
            last = san(chess.board(), chess.resolve(&mv).unwrap());
            chess.apply(&mv).unwrap();
        }
        last
    }

    #[test]
    fn fools_mate_exports_with_headers_mate_and_result() {
        let pgn = export(
            &["f2f3", "e7e5", "g2g4", "d8h4"],
            GameResult::Second,
            EndReason::Checkmate,
        );
        for expected in [
            "[Event \"rookery game\"]\n",
            "[Site \"rookery.test\"]\n",
            "[Date \"2023.11.14\"]\n",
            "[Round \"-\"]\n",
            "[White \"alice\"]\n",
            "[Black \"bob\"]\n",
            "[Result \"0-1\"]\n",
            "[GameId \"g1\"]\n",
            "[UTCDate \"2023.11.14\"]\n",
            "[UTCTime \"22:13:20\"]\n",
            "[TimeControl \"300+2\"]\n",
            "[Termination \"normal\"]\n",
            "\n\n1. f3 e5 2. g4 Qh4# 0-1\n",
        ] {
            assert!(pgn.contains(expected), "{expected:?} in\n{pgn}");
        }
        assert!(pgn.starts_with("[Event "));
        assert!(pgn.ends_with("0-1\n"));
    }

    #[test]
    fn castling_checks_and_captures_are_written_in_san() {
        let pgn = export(
            &[
                "e2e4", "e7e5", "g1f3", "b8c6", "f1b5", "a7a6", "b5c6", "d7c6", "e1g1", "f7f6",
                "d2d4", "c8e6", "f1e1", "d8d7", "b1c3", "e8c8",
            ],
            GameResult::Draw,
            EndReason::DrawAgreed,
        );
        assert_eq!(
            movetext(&pgn),
            "1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 4. Bxc6 dxc6 5. O-O f6 6. d4 Be6 7. Re1 Qd7 \
             8. Nc3 O-O-O 1/2-1/2"
        );
        assert!(pgn.contains("[Result \"1/2-1/2\"]"));
    }

    #[test]
    fn ambiguous_moves_name_the_file_rank_or_square() {
        let cases = [
            // knights on b1 and f3 can both reach d2
            (
                "knight by file",
                "4k3/8/8/8/8/5N2/8/1N2K3 w - - 0 1",
                &["b1d2"][..],
                "Nbd2",
            ),
            // rooks on a1 and a5 can both reach a3
            (
                "rook by rank",
                "4k3/8/8/R7/8/8/8/R3K3 w - - 0 1",
                &["a1a3"][..],
                "R1a3",
            ),
            // queens on h4, e4 and h1 can all reach e1
            (
                "queen by square",
                "8/k7/8/8/4Q2Q/8/8/K6Q w - - 0 1",
                &["h4e1"][..],
                "Qh4e1",
            ),
            // a pinned knight (f3, pinned by the d5 bishop) does not count as a rival
            (
                "pinned rival",
                "4k3/8/8/3b4/8/5N2/8/1N5K w - - 0 1",
                &["b1d2"][..],
                "Nd2",
            ),
            (
                "capture by file",
                "4k3/8/8/3p4/8/2N1N3/8/4K3 w - - 0 1",
                &["c3d5"][..],
                "Ncxd5",
            ),
        ];
        for (name, fen, list, expected) in cases {
            assert_eq!(san_from(fen, list), expected, "{name}");
        }
    }

    #[test]
    fn promotion_en_passant_and_check_are_written_in_san() {
        let cases = [
            (
                "promotion with check",
                "4k3/1P6/8/8/8/8/8/4K3 w - - 0 1",
                &["b7b8q"][..],
                "b8=Q+",
            ),
            (
                "underpromotion",
                "4k3/1P6/8/8/8/8/8/4K3 w - - 0 1",
                &["b7b8n"][..],
                "b8=N",
            ),
            (
                "capture promotion",
                "r3k3/1P6/8/8/8/8/8/4K3 w - - 0 1",
                &["b7a8r"][..],
                "bxa8=R+",
            ),
            (
                "en passant",
                "4k3/8/8/8/3p4/8/4P3/4K3 w - - 0 1",
                &["e2e4", "d4e3"][..],
                "dxe3",
            ),
            (
                "king move",
                "4k3/8/8/8/8/8/P7/4K3 w - - 0 1",
                &["e1d2"][..],
                "Kd2",
            ),
        ];
        for (name, fen, list, expected) in cases {
            assert_eq!(san_from(fen, list), expected, "{name}");
        }
    }

    #[test]
    fn long_games_wrap_movetext_under_eighty_characters() {
        let cycle = ["g1f3", "g8f6", "f3g1", "f6g8"];
        let mut list = vec!["e2e4", "e7e5"];
        // Fresh knight tours never repeat three times: alternate with pawn moves.
        for pawn in [
            ["a2a3", "a7a6"],
            ["b2b3", "b7b6"],
            ["c2c3", "c7c6"],
            ["h2h3", "h7h6"],
        ] {
            list.extend(cycle);
            list.extend(pawn);
        }
        let pgn = export(&list, GameResult::First, EndReason::Resign);
        assert!(pgn.lines().all(|l| l.len() < 80), "{pgn}");
        let (_, body) = pgn.split_once("\n\n").unwrap();
        assert!(body.lines().count() > 1, "{pgn}");
        assert!(pgn.trim_end().ends_with("1-0"));
    }

    #[test]
    fn tags_escape_quotes_and_backslashes_and_untimed_games_have_no_time_control() {
        let pgn = pgn(&PgnGame {
            game_id: "g2",
            white: "a \"quoted\" name",
            black: "back\\slash",
            result: GameResult::First,
            reason: EndReason::Timeout,
            moves: &[],
            clock: None,
            started_at_ms: 0,
            site: "rookery.test",
        })
        .unwrap();
        assert!(pgn.contains("[White \"a \\\"quoted\\\" name\"]"), "{pgn}");
        assert!(pgn.contains("[Black \"back\\\\slash\"]"), "{pgn}");
        assert!(pgn.contains("[TimeControl \"-\"]"), "{pgn}");
        assert!(pgn.contains("[Termination \"time forfeit\"]"), "{pgn}");
        assert!(pgn.contains("[Date \"1970.01.01\"]"), "{pgn}");
        assert!(pgn.contains("[UTCTime \"00:00:00\"]"), "{pgn}");
        assert!(pgn.ends_with("\n\n1-0\n"), "{pgn}");
    }

    #[test]
    fn an_illegal_move_in_the_record_is_an_error() {
        let moves = moves(&["e2e4", "e2e4"]);
        let result = pgn(&PgnGame {
            game_id: "g3",
            white: "a",
            black: "b",
            result: GameResult::Draw,
            reason: EndReason::DrawAgreed,
            moves: &moves,
            clock: None,
            started_at_ms: 0,
            site: "s",
        });
        assert!(matches!(result, Err(RuleError::Illegal(_))));
    }

    #[test]
    fn dates_and_time_controls_format_by_hand() {
        let dates = [
            (0, "1970.01.01", "00:00:00"),
            (951_782_400_000, "2000.02.29", "00:00:00"),
            (951_868_799_999, "2000.02.29", "23:59:59"),
            (1_709_251_200_000, "2024.03.01", "00:00:00"),
            (1_700_000_000_000, "2023.11.14", "22:13:20"),
            (4_107_542_400_000, "2100.03.01", "00:00:00"),
        ];
        for (ms, date, time) in dates {
            assert_eq!(
                utc_date_time(ms),
                (date.to_string(), time.to_string()),
                "{ms}"
            );
        }
        let clocks = [(300_000, "300"), (0, "0"), (500, "0.5"), (90_250, "90.25")];
        for (ms, text) in clocks {
            assert_eq!(seconds(ms), text);
        }
    }
}
