//! The tournament's decisions on an injected clock: registrations and their refusals, the
//! reminder and the start, swiss rounds with byes and withdrawals, results counted once,
//! arena re-pairing and pausing, and the standings' scores and tie-breaks.

use client_protocol::tournament::TournamentCreate;
use client_protocol::*;

use super::*;
use crate::messages::{Caller, Entrant, TournamentAction};

const T0: u64 = 1_000_000;

fn spec(format: TournamentFormat, rated: bool, max: Option<u32>) -> TournamentCreate {
    TournamentCreate {
        name: "Friday".into(),
        format,
        game: GameKind::TicTacToe,
        clock: None,
        rated,
        starts_at: T0 + REMINDER_MS + 1_000,
        duration_ms: (format == TournamentFormat::Arena).then_some(600_000),
        rounds: (format == TournamentFormat::Swiss).then_some(3),
        max_players: max,
    }
}

fn tournament(format: TournamentFormat) -> TournamentState {
    TournamentState::new(
        TournamentId::generate(),
        spec(format, false, None),
        "admin".into(),
        T0,
    )
}

fn entrant(name: &str, rating: i32, guest: bool) -> Entrant {
    Entrant {
        user_id: UserId::generate(),
        name: name.into(),
        rating,
        guest,
    }
}

fn join(state: &TournamentState, who: &Entrant, now: u64) -> (TournamentState, Effects) {
    let action = TournamentAction::Join {
        entrant: who.clone(),
        by: None,
    };
    state.decide(&Caller::Server, action, now)
}

fn refusal(effects: &Effects) -> Option<ErrorCode> {
    match effects.replies.last() {
        Some((_, Reply::Refused(code, _))) => Some(*code),
        _ => None,
    }
}

/// A tournament with `n` players of falling ratings, decided at `now`.
fn with_players(format: TournamentFormat, n: usize) -> (TournamentState, Vec<Entrant>) {
    let mut state = tournament(format);
    let mut all = Vec::new();
    for i in 0..n {
        let who = entrant(&format!("p{i}"), 2000 - i as i32 * 10, false);
        state = join(&state, &who, T0 + i as u64).0;
        all.push(who);
    }
    (state, all)
}

fn wake(state: &TournamentState, now: u64) -> (TournamentState, Effects) {
    state.decide(&Caller::Server, TournamentAction::Wake, now)
}

fn ended(state: &TournamentState, game: &GameId, result: GameResult) -> TournamentState {
    let action = TournamentAction::GameEnded {
        game: game.clone(),
        result,
        reason: EndReason::Line,
        moves: 5,
    };
    state
        .decide(&Caller::Server, action, T0 + REMINDER_MS + 5_000)
        .0
}

#[test]
fn registrations_are_refused_as_the_contract_says() {
    let mut rated = tournament(TournamentFormat::Swiss);
    rated.spec.rated = true;
    rated.spec.max_players = Some(1);
    let guest = entrant("guest", 1500, true);
    assert_eq!(
        refusal(&join(&rated, &guest, T0).1),
        Some(ErrorCode::Forbidden)
    );
    let (rated, _) = join(&rated, &entrant("ana", 1500, false), T0);
    assert_eq!(
        refusal(&join(&rated, &entrant("ben", 1500, false), T0).1),
        Some(ErrorCode::TournamentFull)
    );
    let (started, players) = with_players(TournamentFormat::Swiss, 2);
    let (started, _) = wake(&started, started.spec.starts_at);
    assert_eq!(started.status, TournamentStatus::Started);
    let late = entrant("late", 1500, false);
    assert_eq!(
        refusal(&join(&started, &late, started.spec.starts_at).1),
        Some(ErrorCode::TournamentClosed),
        "a started swiss is closed"
    );
    let (again, effects) = join(&started, &players[0], started.spec.starts_at);
    assert_eq!(refusal(&effects), Some(ErrorCode::TournamentClosed));
    assert_eq!(again.players.len(), 2);
    let (arena, _) = with_players(TournamentFormat::Arena, 2);
    let (arena, _) = wake(&arena, arena.spec.starts_at);
    let (arena, effects) = join(&arena, &late, arena.spec.starts_at + 1);
    assert_eq!(refusal(&effects), None, "an arena takes latecomers");
    assert_eq!(arena.players.len(), 3);
}

#[test]
fn an_admin_adding_and_removing_someone_notifies_them_and_a_withdrawal_before_the_start_removes_them(
) {
    let state = tournament(TournamentFormat::Swiss);
    let eve = entrant("eve", 1500, false);
    let add = TournamentAction::Join {
        entrant: eve.clone(),
        by: Some("admin".into()),
    };
    let (state, effects) = state.decide(&Caller::Server, add, T0);
    assert_eq!(state.registrations()[0].by.as_deref(), Some("admin"));
    assert_eq!(effects.notices.len(), 1);
    assert_eq!(effects.notices[0].1, NotificationKind::RegistrationChanged);
    let remove = TournamentAction::Withdraw {
        user: eve.user_id.clone(),
        by: Some("admin".into()),
    };
    let (state, effects) = state.decide(&Caller::Server, remove, T0);
    assert!(state.players.is_empty());
    assert_eq!(effects.notices.len(), 1);
    assert_eq!(effects.pushes.len(), 1, "told on the socket too");
}

#[test]
fn the_reminder_goes_out_five_minutes_before_and_the_start_pairs_round_one_with_a_bye() {
    let (state, _) = with_players(TournamentFormat::Swiss, 5);
    let (early, effects) = wake(&state, state.spec.starts_at - REMINDER_MS - 1);
    assert!(effects.notices.is_empty() && !early.reminded);
    let (reminded, effects) = wake(&state, state.spec.starts_at - REMINDER_MS);
    assert!(reminded.reminded);
    assert_eq!(effects.notices.len(), 5);
    let (again, effects) = wake(&reminded, state.spec.starts_at - 1);
    assert!(effects.notices.is_empty(), "once: {again:?}");
    let (started, effects) = wake(&reminded, state.spec.starts_at);
    assert_eq!(
        (started.status, started.round),
        (TournamentStatus::Started, 1)
    );
    assert_eq!(effects.new_games.len(), 2);
    assert_eq!(effects.notices.len(), 5, "and at the start");
    let byes: Vec<&Player> = started
        .players
        .iter()
        .filter(|p| !p.byes.is_empty())
        .collect();
    assert_eq!(byes.len(), 1);
    assert_eq!(byes[0].name, "p4", "the lowest seed");
}

#[test]
fn a_round_follows_when_the_last_game_ends_and_a_result_counts_once() {
    let (state, _) = with_players(TournamentFormat::Swiss, 4);
    let (state, _) = wake(&state, state.spec.starts_at);
    let (first, second) = (state.games[0].game.clone(), state.games[1].game.clone());
    let state = ended(&state, &first, GameResult::First);
    assert_eq!(state.round, 1, "one game still runs");
    let twice = ended(&state, &first, GameResult::Second);
    assert_eq!(
        twice.games[0].result,
        Some(GameResult::First),
        "counted once"
    );
    let state = ended(&twice, &second, GameResult::Draw);
    assert_eq!(state.round, 2);
    assert_eq!(state.games.len(), 4);
    for round2 in &state.games[2..] {
        for round1 in &state.games[..2] {
            let mut a = round1.players;
            let mut b = round2.players;
            a.sort();
            b.sort();
            assert_ne!(a, b, "no pair meets twice");
        }
    }
}

#[test]
fn a_withdrawn_player_is_not_paired_again_and_the_swiss_ends_after_its_rounds() {
    let (state, players) = with_players(TournamentFormat::Swiss, 4);
    let (mut state, _) = wake(&state, state.spec.starts_at);
    let withdraw = TournamentAction::Withdraw {
        user: players[3].user_id.clone(),
        by: None,
    };
    state = state.decide(&Caller::Server, withdraw, T0).0;
    let gone = state.players.iter().position(|p| p.name == "p3").unwrap();
    for round in 1..=3 {
        let games: Vec<GameId> = state
            .games
            .iter()
            .filter(|g| g.round == round)
            .map(|g| g.game.clone())
            .collect();
        for game in games {
            state = ended(&state, &game, GameResult::First);
        }
        if round < 3 && state.status == TournamentStatus::Started {
            assert!(state
                .games
                .iter()
                .filter(|g| g.round == round + 1)
                .all(|g| !g.players.contains(&gone)));
        }
    }
    assert_eq!(state.status, TournamentStatus::Finished);
    let standings = standings::of(&state);
    let row = standings.iter().find(|s| s.name == "p3").unwrap();
    assert!(row.withdrawn);
    assert_eq!(row.games, 1, "the played game stays");
}

#[test]
fn too_few_players_cancel_the_start() {
    let (state, _) = with_players(TournamentFormat::Swiss, 1);
    let (state, effects) = wake(&state, state.spec.starts_at);
    assert_eq!(state.status, TournamentStatus::Cancelled);
    assert!(effects.new_games.is_empty());
}

#[test]
fn an_arena_pairs_players_again_as_they_finish_and_pauses_one_who_never_readied() {
    let (state, _) = with_players(TournamentFormat::Arena, 4);
    let (state, effects) = wake(&state, state.spec.starts_at);
    assert_eq!(effects.new_games.len(), 2);
    let game = state.games[0].game.clone();
    let (next, effects) = state.decide(
        &Caller::Server,
        TournamentAction::GameEnded {
            game: game.clone(),
            result: GameResult::First,
            reason: EndReason::Abandoned,
            moves: 0,
        },
        state.spec.starts_at + 1_000,
    );
    let loser = state.games[0].players[1];
    assert!(next.players[loser].paused, "never readied: paused");
    assert!(effects.new_games.is_empty(), "only one idle player left");
    let back = TournamentAction::Join {
        entrant: Entrant {
            user_id: next.players[loser].user_id.clone(),
            name: next.players[loser].name.clone(),
            rating: 1500,
            guest: false,
        },
        by: None,
    };
    let (next, effects) = next.decide(&Caller::Server, back, state.spec.starts_at + 2_000);
    assert!(!next.players[loser].paused);
    assert_eq!(effects.new_games.len(), 1, "joined again: paired at once");
    // No pairing after the end; finished once the last game ends.
    let ends = state.ends_at().unwrap();
    let (over, effects) = wake(&next, ends);
    assert!(effects.new_games.is_empty());
    assert_eq!(over.status, TournamentStatus::Started, "games still run");
    let mut over = over;
    for g in over.games.clone().iter().filter(|g| g.result.is_none()) {
        over = over
            .decide(
                &Caller::Server,
                TournamentAction::GameEnded {
                    game: g.game.clone(),
                    result: GameResult::Draw,
                    reason: EndReason::DrawAgreed,
                    moves: 4,
                },
                ends + 1,
            )
            .0;
    }
    assert_eq!(over.status, TournamentStatus::Finished);
}

#[test]
fn swiss_standings_score_byes_and_break_ties_by_buchholz_then_sonneborn_berger() {
    let (mut state, _) = with_players(TournamentFormat::Swiss, 4);
    state.status = TournamentStatus::Started;
    state.round = 2;
    let game = |round, players, result| Pairing {
        game: GameId::generate(),
        round,
        players,
        result: Some(result),
    };
    // p0 beats p1, p2 draws p3; p0 beats p2, p1 beats p3.
    state.games = vec![
        game(1, [0, 1], GameResult::First),
        game(1, [2, 3], GameResult::Draw),
        game(2, [2, 0], GameResult::Second),
        game(2, [1, 3], GameResult::First),
    ];
    let rows = standings::of(&state);
    let got: Vec<(&str, f64, Vec<f64>)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.score, r.tie_break.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("p0", 2.0, vec![1.5, 1.5]),
            ("p1", 1.0, vec![2.5, 0.5]),
            ("p2", 0.5, vec![2.5, 0.25]),
            ("p3", 0.5, vec![1.5, 0.25]),
        ]
    );
    assert_eq!(
        rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    state.players[3].byes.push(3);
    let p3 = standings::of(&state)
        .into_iter()
        .find(|r| r.name == "p3")
        .unwrap();
    assert_eq!(
        (p3.score, p3.byes, p3.games),
        (1.5, 1, 2),
        "a bye is a point, not a game"
    );
}

#[test]
fn arena_standings_score_a_streak() {
    let (mut state, _) = with_players(TournamentFormat::Arena, 2);
    state.games = (0..3)
        .map(|i| Pairing {
            game: GameId::generate(),
            round: i + 1,
            players: if i % 2 == 0 { [0, 1] } else { [1, 0] },
            result: Some(if i % 2 == 0 {
                GameResult::First
            } else {
                GameResult::Second
            }),
        })
        .collect();
    let rows = standings::of(&state);
    assert_eq!((rows[0].name.as_str(), rows[0].score), ("p0", 8.0));
    assert!(rows[0].streak);
    assert!(rows[0].tie_break.is_empty());
    assert_eq!((rows[1].losses, rows[1].score), (3, 0.0));
}

#[test]
fn a_create_body_is_checked() {
    let ok = spec(TournamentFormat::Swiss, true, None);
    assert!(check(&ok, T0).is_ok());
    let mut past = ok.clone();
    past.starts_at = 5;
    assert_eq!(check(&past, T0).unwrap().starts_at, T0, "starts at once");
    for bad in [
        TournamentCreate {
            rounds: Some(0),
            ..ok.clone()
        },
        TournamentCreate {
            duration_ms: Some(60_000),
            ..ok.clone()
        },
        TournamentCreate {
            name: "  ".into(),
            ..ok.clone()
        },
        TournamentCreate {
            max_players: Some(1),
            ..ok.clone()
        },
        TournamentCreate {
            format: TournamentFormat::Arena,
            ..ok.clone()
        },
    ] {
        assert!(check(&bad, T0).is_err(), "{bad:?}");
    }
}
