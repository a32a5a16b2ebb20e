//! Table-driven tests of the game's pure decisions (`decide.rs`): every rule of the protocol's
//! game flow, decided on an injected clock.

use super::*;
use crate::actors::game::state::{Inbox, Seat};
use crate::domain::{GameId, SessionId, UserId};
use crate::store::Glicko;

const T0: u64 = 1_000_000;
const LIMITS: Limits = Limits {
    ready_timeout_ms: 10_000,
    grace_ms: 5_000,
};
const CLOCK: ClockSpec = ClockSpec {
    initial_ms: 60_000,
    increment_ms: 2_000,
};

fn seat(name: &str) -> Seat {
    Seat {
        user_id: UserId::generate(),
        name: name.into(),
        guest: false,
        glicko: Glicko::default(),
        session: Some(SessionId::generate()),
        node: None,
    }
}

/// A tic-tac-toe game waiting for its players, created at `T0`.
fn waiting(clock: Option<ClockSpec>) -> (GameState, Board) {
    let seats = [seat("ada"), seat("bob")];
    let state = GameState::new(
        GameId::generate(),
        GameKind::TicTacToe,
        clock,
        false,
        seats,
        T0,
    );
    (state, Board::new(GameKind::TicTacToe))
}

/// The same game once both players were ready at `T0`.
fn playing(clock: Option<ClockSpec>) -> (GameState, Board) {
    let (state, board) = waiting(clock);
    let (state, board) = committed(decide(
        &state,
        &board,
        ready(&state, Side::First),
        T0,
        &LIMITS,
    ));
    committed(decide(
        &state,
        &board,
        ready(&state, Side::Second),
        T0,
        &LIMITS,
    ))
}

fn from(state: &GameState, side: Side, reference: Option<&str>) -> Sender {
    let seat = &state.seats[side.index()];
    Sender {
        session: seat.session.clone().expect("a bound seat"),
        user: seat.user_id.clone(),
        reference: reference.map(str::to_owned),
        node: Some("n1".into()),
    }
}

fn command(state: &GameState, side: Side, action: GameAction) -> GameCommand {
    GameCommand {
        from: Some(from(state, side, Some("r"))),
        action,
    }
}

fn ready(state: &GameState, side: Side) -> GameCommand {
    command(state, side, GameAction::Ready)
}

fn play(state: &GameState, side: Side, seq: u32, cell: u32) -> GameCommand {
    let mv = Move::Index(cell);
    command(state, side, GameAction::Move { seq, mv })
}

fn committed(decision: Decision) -> (GameState, Board) {
    let (next, _) = commit(decision);
    next
}

fn commit(decision: Decision) -> ((GameState, Board), Vec<Out>) {
    match decision {
        Decision::Commit { next, outs } => (*next, outs),
        Decision::Reply(outs) => panic!("expected a commit, got replies {outs:?}"),
    }
}

fn replies(decision: Decision) -> Vec<Out> {
    match decision {
        Decision::Reply(outs) => outs,
        Decision::Commit { next, .. } => panic!("expected replies, got a commit to {next:?}"),
    }
}

fn codes(outs: &[Out]) -> Vec<ErrorCode> {
    outs.iter()
        .filter_map(|o| match &o.frame.message {
            ServerMessage::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

fn types(outs: &[Out]) -> Vec<&'static str> {
    outs.iter().map(|o| o.frame.message.type_name()).collect()
}

fn over(state: &GameState) -> (GameResult, EndReason) {
    let finish = state.finish.as_ref().expect("the game is over");
    assert_eq!(state.status, GameStatus::Over);
    (finish.result, finish.reason)
}

#[test]
fn the_game_starts_when_both_players_are_ready_and_tells_both() {
    let (state, board) = waiting(Some(CLOCK));
    let ((state, board), outs) = commit(decide(
        &state,
        &board,
        ready(&state, Side::First),
        T0,
        &LIMITS,
    ));
    assert!(outs.is_empty(), "one ready player starts nothing");
    assert_eq!(state.status, GameStatus::WaitingReady);
    let ((state, _), outs) = commit(decide(
        &state,
        &board,
        ready(&state, Side::Second),
        T0 + 5,
        &LIMITS,
    ));
    assert_eq!(state.status, GameStatus::Playing);
    assert_eq!(
        state.turn_started_at,
        Some(T0 + 5),
        "the clock runs from the start"
    );
    assert_eq!(types(&outs), ["client/UPDATE_GAME", "client/UPDATE_GAME"]);
    let refs: Vec<_> = outs.iter().map(|o| o.frame.reference.as_deref()).collect();
    assert_eq!(refs, [None, Some("r")], "the sender's copy echoes its ref");
}

#[test]
fn ready_again_while_playing_resends_the_game_and_commits_nothing() {
    let (state, board) = playing(None);
    let outs = replies(decide(
        &state,
        &board,
        ready(&state, Side::First),
        T0,
        &LIMITS,
    ));
    assert_eq!(types(&outs), ["client/UPDATE_GAME"]);
}

#[test]
fn commands_that_break_a_rule_are_refused_with_its_code() {
    let (waiting, waiting_board) = waiting(None);
    let (playing, board) = playing(None);
    let mut offered = playing.clone();
    offered.draw_offer = Some(Side::First);
    let stranger = GameCommand {
        from: Some(Sender {
            session: SessionId::generate(),
            user: UserId::generate(),
            reference: None,
            node: None,
        }),
        action: GameAction::Ready,
    };
    let cases: Vec<(&str, &GameState, &Board, GameCommand, Vec<ErrorCode>)> = vec![
        (
            "move before the start",
            &waiting,
            &waiting_board,
            play(&waiting, Side::First, 0, 4),
            vec![ErrorCode::NotStarted],
        ),
        (
            "draw before the start",
            &waiting,
            &waiting_board,
            command(&waiting, Side::First, GameAction::OfferDraw),
            vec![ErrorCode::NotStarted],
        ),
        (
            "a seq ahead",
            &playing,
            &board,
            play(&playing, Side::First, 1, 4),
            vec![ErrorCode::StaleSeq],
        ),
        (
            "out of turn",
            &playing,
            &board,
            play(&playing, Side::Second, 0, 4),
            vec![ErrorCode::NotYourTurn],
        ),
        (
            "off the board",
            &playing,
            &board,
            play(&playing, Side::First, 0, 9),
            vec![ErrorCode::IllegalMove],
        ),
        (
            "not a player",
            &playing,
            &board,
            stranger,
            vec![ErrorCode::NotInGame],
        ),
        (
            "decline with no offer",
            &playing,
            &board,
            command(&playing, Side::First, GameAction::DeclineDraw),
            vec![ErrorCode::NoDrawOffer],
        ),
        (
            "decline one's own offer",
            &offered,
            &board,
            command(&offered, Side::First, GameAction::DeclineDraw),
            vec![ErrorCode::NoDrawOffer],
        ),
    ];
    for (case, state, board, command, expected) in cases {
        let outs = replies(decide(state, board, command, T0, &LIMITS));
        assert_eq!(codes(&outs), expected, "{case}");
    }
}

#[test]
fn a_stale_seq_is_refused_and_resynced_with_the_current_game() {
    let (state, board) = playing(None);
    let outs = replies(decide(
        &state,
        &board,
        play(&state, Side::First, 3, 4),
        T0,
        &LIMITS,
    ));
    assert_eq!(types(&outs), ["client/ERROR", "client/UPDATE_GAME"]);
    let ServerMessage::UpdateGame(update) = &outs[1].frame.message else {
        unreachable!()
    };
    assert_eq!(update.seq, 0);
}

#[test]
fn an_accepted_move_charges_the_mover_adds_the_increment_and_reaches_both() {
    let (state, board) = playing(Some(CLOCK));
    let ((next, board), outs) = commit(decide(
        &state,
        &board,
        play(&state, Side::First, 0, 4),
        T0 + 3_000,
        &LIMITS,
    ));
    assert_eq!(next.moves.len(), 1);
    assert_eq!(next.remaining, [60_000 - 3_000 + 2_000, 60_000]);
    assert_eq!(
        next.turn_started_at,
        Some(T0 + 3_000),
        "the opponent's clock runs"
    );
    assert_eq!(types(&outs), ["client/UPDATE_GAME", "client/UPDATE_GAME"]);
    assert_eq!(board.to_move(), Side::Second);
}

#[test]
fn a_retried_move_is_acknowledged_again_and_applied_once_however_it_is_spelled() {
    let (state, board) = playing(Some(CLOCK));
    let ((next, board), outs) = commit(decide(
        &state,
        &board,
        play(&state, Side::First, 0, 4),
        T0 + 1_000,
        &LIMITS,
    ));
    let acknowledged = outs
        .into_iter()
        .find(|o| o.frame.reference.is_some())
        .expect("the ack");
    let (next, board) = committed(decide(
        &next,
        &board,
        play(&next, Side::Second, 1, 0),
        T0 + 2_000,
        &LIMITS,
    ));
    for spelling in [Move::Index(4), Move::Text("4".into())] {
        let retry = command(
            &next,
            Side::First,
            GameAction::Move {
                seq: 0,
                mv: spelling,
            },
        );
        let outs = replies(decide(&next, &board, retry, T0 + 9_000, &LIMITS));
        assert_eq!(outs.len(), 1);
        assert_eq!(
            outs[0].frame, acknowledged.frame,
            "the same acknowledgement again"
        );
    }
    let other = command(
        &next,
        Side::First,
        GameAction::Move {
            seq: 0,
            mv: Move::Index(8),
        },
    );
    let outs = replies(decide(&next, &board, other, T0 + 9_000, &LIMITS));
    assert_eq!(
        codes(&outs),
        [ErrorCode::StaleSeq],
        "another move at an old seq is stale"
    );
}

#[test]
fn a_move_after_the_flag_fell_loses_on_time_instead() {
    let (state, board) = playing(Some(CLOCK));
    let ((next, _), outs) = commit(decide(
        &state,
        &board,
        play(&state, Side::First, 0, 4),
        T0 + 60_000,
        &LIMITS,
    ));
    assert_eq!(over(&next), (GameResult::Second, EndReason::Timeout));
    assert!(next.moves.is_empty(), "the late move is not played");
    assert_eq!(types(&outs), ["client/GAME_OVER", "client/GAME_OVER"]);
}

#[test]
fn a_tick_ends_the_game_when_the_flag_falls_and_not_before() {
    let (state, board) = playing(Some(CLOCK));
    assert!(replies(tick(&state, &board, T0 + 59_999, &LIMITS)).is_empty());
    let (next, _) = committed(tick(&state, &board, T0 + 60_000, &LIMITS));
    assert_eq!(over(&next), (GameResult::Second, EndReason::Timeout));
    assert_eq!(next.remaining[0], 0);
}

#[test]
fn an_untimed_game_never_flags() {
    let (state, board) = playing(None);
    assert!(replies(tick(&state, &board, T0 + 86_400_000, &LIMITS)).is_empty());
}

#[test]
fn a_draw_offer_is_sent_accepted_by_a_counter_offer_and_declined_by_a_move() {
    let (state, board) = playing(None);
    let offer = |s: &GameState, side| command(s, side, GameAction::OfferDraw);
    let ((offered, board), outs) = commit(decide(
        &state,
        &board,
        offer(&state, Side::First),
        T0,
        &LIMITS,
    ));
    assert_eq!(offered.draw_offer, Some(Side::First));
    assert_eq!(types(&outs), ["client/OFFER_DRAW", "client/OFFER_DRAW"]);
    let again = replies(decide(
        &offered,
        &board,
        offer(&offered, Side::First),
        T0,
        &LIMITS,
    ));
    assert_eq!(
        types(&again),
        ["client/OFFER_DRAW"],
        "offering twice changes nothing"
    );

    let (drawn, _) = committed(decide(
        &offered,
        &board,
        offer(&offered, Side::Second),
        T0,
        &LIMITS,
    ));
    assert_eq!(over(&drawn), (GameResult::Draw, EndReason::DrawAgreed));

    let (declined, _) = committed(decide(
        &offered,
        &board,
        command(&offered, Side::Second, GameAction::DeclineDraw),
        T0,
        &LIMITS,
    ));
    assert_eq!(declined.draw_offer, None);

    // Ada offered; Bob is to move after Ada's move, and moving declines her offer.
    let (moved, board) = committed(decide(
        &state,
        &board,
        play(&state, Side::First, 0, 4),
        T0,
        &LIMITS,
    ));
    let (offered, board) = committed(decide(
        &moved,
        &board,
        offer(&moved, Side::First),
        T0,
        &LIMITS,
    ));
    let (answered, _) = committed(decide(
        &offered,
        &board,
        play(&offered, Side::Second, 1, 0),
        T0,
        &LIMITS,
    ));
    assert_eq!(answered.draw_offer, None);
}

#[test]
fn conceding_aborts_a_game_not_started_and_loses_a_game_in_play() {
    let concede = |s: &GameState| command(s, Side::First, GameAction::Concede);
    let (state, board) = waiting(None);
    let (aborted, _) = committed(decide(&state, &board, concede(&state), T0, &LIMITS));
    assert_eq!(over(&aborted), (GameResult::Aborted, EndReason::Resign));
    let (state, board) = playing(None);
    let (lost, board) = committed(decide(&state, &board, concede(&state), T0, &LIMITS));
    assert_eq!(over(&lost), (GameResult::Second, EndReason::Resign));
    let outs = replies(decide(&lost, &board, concede(&lost), T0, &LIMITS));
    assert_eq!(codes(&outs), [ErrorCode::GameOver]);
}

#[test]
fn a_player_away_past_the_grace_period_loses_by_abandonment() {
    let (state, board) = playing(None);
    let leave = command(&state, Side::First, GameAction::Leave);
    let ((away, board), outs) = commit(decide(&state, &board, leave, T0 + 100, &LIMITS));
    assert_eq!(away.away_since, [Some(T0 + 100), None]);
    assert_eq!(types(&outs), ["client/OPPONENT_PRESENCE"]);
    assert_eq!(
        outs[0].to,
        state.seats[1].inbox(),
        "the opponent hears of it"
    );
    assert!(replies(tick(&away, &board, T0 + 100 + 4_999, &LIMITS)).is_empty());
    let (lost, _) = committed(tick(&away, &board, T0 + 100 + 5_000, &LIMITS));
    assert_eq!(over(&lost), (GameResult::Second, EndReason::Abandoned));
}

#[test]
fn a_player_whose_node_died_is_away_and_a_move_of_theirs_brings_them_back() {
    let (mut state, board) = playing(None);
    state.seats[0].node = Some("n1".into());
    state.seats[1].node = Some("n2".into());
    let alive = |nodes: &[&str]| GameCommand {
        from: None,
        action: GameAction::NodesAlive {
            alive: nodes.iter().map(|n| n.to_string()).collect(),
        },
    };
    assert!(replies(decide(&state, &board, alive(&["n1", "n2"]), T0, &LIMITS)).is_empty());
    let ((away, board), outs) = commit(decide(&state, &board, alive(&["n2"]), T0 + 10, &LIMITS));
    assert_eq!(away.away_since, [Some(T0 + 10), None]);
    assert_eq!(types(&outs), ["client/OPPONENT_PRESENCE"]);
    assert_eq!(outs[0].to, state.seats[1].inbox());
    assert!(
        replies(decide(&away, &board, alive(&["n2"]), T0 + 20, &LIMITS)).is_empty(),
        "told once"
    );
    // Its node was only slow: the player moves (from n1, as `from` says), and is back.
    let mv = command(
        &away,
        Side::First,
        GameAction::Move {
            seq: 0,
            mv: Move::Index(4),
        },
    );
    let ((back, _), outs) = commit(decide(&away, &board, mv, T0 + 30, &LIMITS));
    assert_eq!(back.away_since, [None, None]);
    assert_eq!(types(&outs)[0], "client/OPPONENT_PRESENCE");
}

#[test]
fn a_player_who_comes_back_in_time_gets_the_game_and_the_opponent_is_told() {
    let (state, board) = playing(None);
    let leave = command(&state, Side::First, GameAction::Leave);
    let (away, board) = committed(decide(&state, &board, leave, T0, &LIMITS));
    let join = command(&away, Side::First, GameAction::Join);
    let ((back, _), outs) = commit(decide(&away, &board, join, T0 + 1_000, &LIMITS));
    assert_eq!(back.away_since, [None, None]);
    assert_eq!(
        types(&outs),
        ["client/RESUME_GAME", "client/OPPONENT_PRESENCE"]
    );
}

#[test]
fn joining_a_finished_game_sends_it_and_its_result_and_changes_nothing() {
    let (state, board) = playing(None);
    let (lost, board) = committed(decide(
        &state,
        &board,
        command(&state, Side::First, GameAction::Concede),
        T0,
        &LIMITS,
    ));
    let outs = replies(decide(
        &lost,
        &board,
        command(&lost, Side::Second, GameAction::Join),
        T0,
        &LIMITS,
    ));
    assert_eq!(types(&outs), ["client/RESUME_GAME", "client/GAME_OVER"]);
}

#[test]
fn a_game_not_ready_in_time_or_abandoned_before_the_start_is_aborted() {
    let (state, board) = waiting(None);
    assert!(replies(tick(&state, &board, T0 + 9_999, &LIMITS)).is_empty());
    let (late, _) = committed(tick(&state, &board, T0 + 10_000, &LIMITS));
    assert_eq!(over(&late), (GameResult::Aborted, EndReason::Abandoned));

    let leave = command(&state, Side::Second, GameAction::Leave);
    let (away, board) = committed(decide(&state, &board, leave, T0 + 1_000, &LIMITS));
    let (gone, _) = committed(tick(&away, &board, T0 + 6_000, &LIMITS));
    assert_eq!(over(&gone), (GameResult::Aborted, EndReason::Abandoned));
}

#[test]
fn start_shows_each_player_the_game_from_their_side() {
    let (state, board) = waiting(None);
    let start = GameCommand {
        from: None,
        action: GameAction::Start,
    };
    let outs = replies(decide(&state, &board, start, T0, &LIMITS));
    let sides: Vec<(Inbox, Side)> = outs
        .iter()
        .map(|o| match &o.frame.message {
            ServerMessage::StartGame(view) => (o.to.clone(), view.you.expect("a player's view")),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sides,
        [
            (state.seats[0].inbox(), Side::First),
            (state.seats[1].inbox(), Side::Second)
        ]
    );
}

#[test]
fn a_winning_move_ends_the_game_in_the_same_commit() {
    let (mut state, mut board) = playing(None);
    for (seq, cell) in [0, 3, 1, 4].into_iter().enumerate() {
        let side = if seq % 2 == 0 {
            Side::First
        } else {
            Side::Second
        };
        (state, board) = committed(decide(
            &state,
            &board,
            play(&state, side, seq as u32, cell),
            T0,
            &LIMITS,
        ));
    }
    let ((done, _), outs) = commit(decide(
        &state,
        &board,
        play(&state, Side::First, 4, 2),
        T0,
        &LIMITS,
    ));
    assert_eq!(over(&done), (GameResult::First, EndReason::Line));
    assert_eq!(
        types(&outs),
        [
            "client/UPDATE_GAME",
            "client/UPDATE_GAME",
            "client/GAME_OVER",
            "client/GAME_OVER"
        ]
    );
}

#[test]
fn a_tournament_game_reaches_the_account_until_a_session_readies_and_the_absent_player_loses() {
    let (mut state, board) = waiting(None);
    state.tournament = Some("T0urname".into());
    state.seats[0].session = None;
    state.seats[1].session = None;
    let start = GameCommand {
        from: None,
        action: GameAction::Start,
    };
    let outs = replies(decide(&state, &board, start, T0, &LIMITS));
    assert_eq!(outs[0].to, Inbox::User(state.seats[0].user_id.clone()));
    let session = SessionId::generate();
    let ready = GameCommand {
        from: Some(Sender {
            session: session.clone(),
            user: state.seats[0].user_id.clone(),
            reference: None,
            node: None,
        }),
        action: GameAction::Ready,
    };
    let ((readied, board), _) = commit(decide(&state, &board, ready, T0 + 10, &LIMITS));
    assert_eq!(
        readied.seats[0].session,
        Some(session),
        "the ready session is bound"
    );
    let deadline = T0 + LIMITS.ready_timeout_ms;
    let ((over, _), outs) = commit(tick(&readied, &board, deadline, &LIMITS));
    let finish = over.finish.expect("over");
    assert_eq!(
        (finish.result, finish.reason),
        (GameResult::First, EndReason::Abandoned),
        "the player who never readied loses a tournament game"
    );
    assert_eq!(outs[1].to, Inbox::User(state.seats[1].user_id.clone()));
}
