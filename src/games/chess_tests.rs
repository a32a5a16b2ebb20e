//! Tests of the chess rules (`chess.rs`): legal moves, castling and promotion spelling, every
//! ending the rules know.

use super::*;

fn text(s: &str) -> Move {
    Move::Text(s.to_string())
}

fn play(game: &mut Chess, moves: &[&str]) -> Option<Outcome> {
    let mut last = None;
    for mv in moves {
        assert_eq!(game.outcome(), None, "decided before {mv}");
        last = game
            .apply(&text(mv))
            .unwrap_or_else(|e| panic!("{mv}: {e}"))
            .outcome;
    }
    last
}

fn fen_game(fen: &str) -> Chess {
    Chess::from_fen(fen).unwrap()
}

#[test]
fn fools_mate_is_checkmate_for_second() {
    let mut game = Chess::new();
    let outcome = play(&mut game, &["f2f3", "e7e5", "g2g4", "d8h4"]);
    let mate = Some(Outcome::win(Side::Second, EndReason::Checkmate));
    assert_eq!(outcome, mate);
    assert_eq!(game.outcome(), mate);
    assert!(game.legal_moves().is_empty());
    assert_eq!(game.apply(&text("a2a3")), Err(RuleError::GameOver));
}

#[test]
fn the_start_position_has_twenty_moves_and_the_standard_fen() {
    let game = Chess::new();
    assert_eq!(game.legal_moves().len(), 20);
    assert_eq!(
        game.position(),
        Position::Fen("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1".into())
    );
    assert_eq!(game.to_move(), Side::First);
}

#[test]
fn a_queen_move_into_stalemate_draws() {
    let mut game = fen_game("k7/8/1K6/8/8/8/8/2Q5 w - - 0 1");
    let outcome = play(&mut game, &["c1c7"]);
    assert_eq!(outcome, Some(Outcome::draw(EndReason::Stalemate)));
    assert!(game.legal_moves().is_empty());
}

#[test]
fn knights_shuffling_draw_on_the_third_occurrence() {
    let mut game = Chess::new();
    let cycle = ["g1f3", "g8f6", "f3g1", "f6g8"];
    assert_eq!(play(&mut game, &cycle), None);
    assert_eq!(play(&mut game, &cycle[..3]), None);
    let applied = game.apply(&text("f6g8")).unwrap();
    assert_eq!(applied.outcome, Some(Outcome::draw(EndReason::Repetition)));
}

#[test]
fn a_double_push_without_a_possible_capture_does_not_make_a_new_position() {
    // After 1. e4 the en-passant square e3 is in the FEN, but no black pawn can take, so
    // the position after 1. e4 and the one reached again by knight moves are the same.
    let mut game = Chess::new();
    let cycle = ["g8f6", "g1f3", "f6g8", "f3g1"];
    play(&mut game, &["e2e4"]);
    play(&mut game, &cycle);
    play(&mut game, &cycle[..3]);
    let applied = game.apply(&text("f3g1")).unwrap();
    assert_eq!(applied.outcome, Some(Outcome::draw(EndReason::Repetition)));
}

#[test]
fn the_hundredth_quiet_halfmove_draws_unless_it_mates() {
    let mut game = fen_game("8/8/8/4k3/8/8/8/R3K3 w - - 99 80");
    assert_eq!(
        play(&mut game, &["a1a2"]),
        Some(Outcome::draw(EndReason::FiftyMoves))
    );

    let mut game = fen_game("k7/8/1K6/8/8/8/8/7R w - - 99 80");
    assert_eq!(
        play(&mut game, &["h1h8"]),
        Some(Outcome::win(Side::First, EndReason::Checkmate))
    );

    let mut game = fen_game("8/8/8/4k3/8/8/P7/R3K3 w - - 99 80");
    assert_eq!(
        play(&mut game, &["a2a3"]),
        None,
        "a pawn move resets the clock"
    );
}

#[test]
fn captures_leaving_no_mating_material_draw() {
    // White's king takes a black rook on d2; what is left decides.
    let cases = [
        ("K v K", "7k/8/8/8/8/8/3r4/4K3 w - - 0 1", true),
        ("K+B v K", "7k/8/8/8/8/8/3r4/4KB2 w - - 0 1", true),
        ("K+N v K", "7k/8/8/8/8/8/3r4/4K1N1 w - - 0 1", true),
        (
            "K+B v K+B same colour",
            "2b4k/8/8/8/8/8/3r4/4KB2 w - - 0 1",
            true,
        ),
        (
            "K+B v K+B opposite colour",
            "1b5k/8/8/8/8/8/3r4/4KB2 w - - 0 1",
            false,
        ),
        ("K+N v K+N", "1n5k/8/8/8/8/8/3r4/4K1N1 w - - 0 1", false),
        ("K+R v K", "7k/8/8/8/8/8/3r4/R3K3 w - - 0 1", false),
    ];
    for (name, fen, drawn) in cases {
        let mut game = fen_game(fen);
        assert_eq!(game.outcome(), None, "{name}");
        let outcome = play(&mut game, &["e1d2"]);
        let expected = drawn.then(|| Outcome::draw(EndReason::InsufficientMaterial));
        assert_eq!(outcome, expected, "{name}");
    }
}

#[test]
fn can_win_needs_more_than_a_king_and_one_minor_piece() {
    let cases = [
        ("4k3/8/8/8/8/8/8/4K3 w - - 0 1", false, false),
        ("4k3/8/8/8/8/8/8/3NK3 w - - 0 1", false, false),
        ("4k3/8/8/8/8/8/8/3BK3 w - - 0 1", false, false),
        ("4k3/8/8/8/8/8/8/2NNK3 w - - 0 1", true, false),
        ("4k3/8/8/8/8/8/8/3RK3 w - - 0 1", true, false),
        ("4k3/p7/8/8/8/8/8/3NK3 w - - 0 1", false, true),
        (
            "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
            true,
            true,
        ),
    ];
    for (fen, first, second) in cases {
        let game = fen_game(fen);
        assert_eq!(game.can_win(Side::First), first, "{fen}");
        assert_eq!(game.can_win(Side::Second), second, "{fen}");
    }
}

#[test]
fn castling_uses_standard_uci_for_both_sides_and_colours() {
    let white = "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w KQkq - 0 1";
    let black = "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R b KQkq - 0 1";
    let cases = [
        (
            white,
            "e1g1",
            "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R4RK1 b kq - 1 1",
        ),
        (
            white,
            "e1c1",
            "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/2KR3R b kq - 1 1",
        ),
        (
            black,
            "e8g8",
            "r4rk1/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w KQ - 1 2",
        ),
        (
            black,
            "e8c8",
            "2kr3r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w KQ - 1 2",
        ),
    ];
    for (fen, mv, after) in cases {
        let mut game = fen_game(fen);
        let listed = game.legal_moves();
        let canonical = text(&mv.to_ascii_lowercase());
        assert!(listed.contains(&canonical), "{mv} in {listed:?}");
        let applied = game.apply(&text(mv)).unwrap();
        assert_eq!(applied.canonical, canonical);
        assert_eq!(game.fen(), after, "{mv}");
    }
}

#[test]
fn castling_in_king_takes_rook_form_is_refused() {
    let fen = "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w KQkq - 0 1";
    let mut game = fen_game(fen);
    assert!(!game.legal_moves().contains(&text("e1h1")));
    for mv in ["e1h1", "e1a1"] {
        assert!(matches!(game.apply(&text(mv)), Err(RuleError::Illegal(_))));
    }
    assert_eq!(game.fen(), fen);
}

#[test]
fn castling_without_the_right_or_out_of_or_through_check_is_illegal() {
    let cases = [
        (
            "no right",
            "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w Qkq - 0 1",
        ),
        ("in check", "4k3/4r3/8/8/8/8/8/R3K2R w KQ - 0 1"),
        (
            "through check",
            "r3kr2/ppppp1pp/8/8/8/8/PPPPP2P/R3K2R w KQq - 0 1",
        ),
    ];
    for (name, fen) in cases {
        let mut game = fen_game(fen);
        assert!(!game.legal_moves().contains(&text("e1g1")), "{name}");
        assert!(
            matches!(game.apply(&text("e1g1")), Err(RuleError::Illegal(_))),
            "{name}"
        );
        assert_eq!(game.fen(), fen, "{name}");
    }
}

#[test]
fn en_passant_removes_the_passed_pawn() {
    let mut game = Chess::new();
    play(&mut game, &["e2e4", "a7a6", "e4e5", "d7d5"]);
    assert!(game.legal_moves().contains(&text("e5d6")));
    let applied = game.apply(&text("e5d6")).unwrap();
    assert_eq!(applied.canonical, text("e5d6"));
    assert_eq!(
        game.fen(),
        "rnbqkbnr/1pp1pppp/p2P4/8/8/8/PPPP1PPP/RNBQKBNR b KQkq - 0 3"
    );
}

#[test]
fn promotion_needs_a_piece_and_allows_underpromotion() {
    let fen = "8/4P3/8/8/8/8/k7/4K3 w - - 0 1";
    let cases = [
        ("e7e8q", Ok("4Q3/8/8/8/8/8/k7/4K3 b - - 0 1")),
        ("e7e8n", Ok("4N3/8/8/8/8/8/k7/4K3 b - - 0 1")),
        ("e7e8r", Ok("4R3/8/8/8/8/8/k7/4K3 b - - 0 1")),
        ("e7e8b", Ok("4B3/8/8/8/8/8/k7/4K3 b - - 0 1")),
        ("e7e8", Err("illegal")),
        ("e7e8k", Err("malformed")),
        ("e1e2q", Err("illegal")),
    ];
    for (mv, expected) in cases {
        let mut game = fen_game(fen);
        let got = game.apply(&text(mv));
        match expected {
            Ok(after) => {
                assert_eq!(got.unwrap().canonical, text(&mv.to_ascii_lowercase()));
                assert_eq!(game.fen(), after, "{mv}");
            }
            Err(kind) => {
                let err = got.unwrap_err();
                assert!(err.to_string().starts_with(kind), "{mv}: {err}");
                assert_eq!(game.fen(), fen, "{mv}");
            }
        }
    }
    assert_eq!(fen_game(fen).legal_moves().len(), 4 + 5);
}

#[test]
fn illegal_and_malformed_moves_leave_the_state_unchanged() {
    let cases = [
        (text("e2e5"), "illegal"),
        (text("e7e5"), "illegal"),
        (text("e1e3"), "illegal"),
        (text("e1g1"), "illegal"),
        (text("z9z9"), "malformed"),
        (text("e2"), "malformed"),
        (text("e2e4qq"), "malformed"),
        (text("e2-e4"), "malformed"),
        (text(""), "malformed"),
        (Move::Index(12), "malformed"),
    ];
    let mut game = Chess::new();
    play(&mut game, &["e2e4"]);
    play(&mut game, &["e7e5"]);
    let before = game.clone();
    for (mv, kind) in cases {
        let err = game.apply(&mv).unwrap_err();
        assert!(err.to_string().starts_with(kind), "{mv:?}: {err}");
        assert_eq!(game, before, "{mv:?}");
    }
}

#[test]
fn moves_are_strict_lower_case_uci_with_nothing_around_them() {
    let mut game = Chess::new();
    for loose in ["E2E4", "e2E4", " e2e4", "e2e4 ", "e2e4\n", "e7e8Q"] {
        let err = game.parse_move(&text(loose)).unwrap_err();
        assert!(matches!(err, RuleError::Malformed(_)), "{loose:?}: {err}");
        assert!(
            err.to_string().contains("lower case"),
            "says what is expected: {err}"
        );
        assert!(game.apply(&text(loose)).is_err(), "{loose:?}");
    }
    assert_eq!(game.parse_move(&text("e2e4")), Ok(text("e2e4")));
    let applied = game.apply(&text("e2e4")).unwrap();
    assert_eq!(applied.canonical, text("e2e4"));
    assert_eq!(game.to_move(), Side::Second);
}

#[test]
fn replay_rebuilds_the_same_fen() {
    let moves: Vec<Move> = [
        "e2e4", "e7e5", "g1f3", "b8c6", "f1c4", "g8f6", "e1g1", "f8c5", "d2d4", "e5d4",
    ]
    .iter()
    .map(|m| text(m))
    .collect();
    let mut live = Chess::new();
    for mv in &moves {
        live.apply(mv).unwrap();
    }
    let replayed = crate::games::Board::replay(crate::games::GameKind::Chess, &moves).unwrap();
    assert_eq!(replayed.position(), Position::Fen(live.fen()));
    assert_eq!(
        live.fen(),
        "r1bqk2r/pppp1ppp/2n2n2/2b5/2BpP3/5N2/PPP2PPP/RNBQ1RK1 w kq - 0 6"
    );
}

#[test]
fn a_fen_that_is_already_decided_is_decided_from_the_start() {
    let cases = [
        (
            "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3",
            Outcome::win(Side::Second, EndReason::Checkmate),
        ),
        (
            "k7/2Q5/1K6/8/8/8/8/8 b - - 0 1",
            Outcome::draw(EndReason::Stalemate),
        ),
        (
            "4k3/8/8/8/8/8/8/4K3 w - - 0 1",
            Outcome::draw(EndReason::InsufficientMaterial),
        ),
    ];
    for (fen, outcome) in cases {
        let game = fen_game(fen);
        assert_eq!(game.outcome(), Some(outcome), "{fen}");
        assert!(game.legal_moves().is_empty(), "{fen}");
    }
}

#[test]
fn a_bad_fen_is_malformed() {
    for fen in ["", "not a fen", "8/8/8/8/8/8/8/8 w - - 0 1"] {
        assert!(
            matches!(Chess::from_fen(fen), Err(RuleError::Malformed(_))),
            "{fen:?}"
        );
    }
}
