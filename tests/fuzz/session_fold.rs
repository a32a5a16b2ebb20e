//! Target 3, the session state fold (`SessionState::apply`, `session/state.rs`): random
//! sequences of every frame a node sends, over a few games, matchups, queues and tournaments
//! so that they meet. Never a panic; each frame does what the protocol says to the state and
//! nothing else; the invariants hold after every step (one pending matchup, kept whole; a side
//! and a tournament flag only with a game; `apply` says truly whether it changed anything, and
//! a frame applied twice changes nothing the second time); and the offline path (the snapshot
//! updated in place through `Sessions`) ends where the live fold does.

use std::time::Duration;

use client_protocol::tournament::{TournamentFormat, TournamentLeftReason, TournamentStatus};
use client_protocol::*;
use futures_util::FutureExt;
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use rookery::cluster::memory::MemoryCluster;
use rookery::domain::{GameId, SessionId, UserId};
use rookery::session::{SessionState, Sessions};

use crate::{cases, fuzz};

// ---- generators (the snapshot target uses them too) -----------------------------------------

/// The games frames name: three valid ids and one that does not parse.
pub const GAMES: &[&str] = &["AbCd_-12", "Zz09xy-_", "q1w2e3r4", "not a game"];
const MATCHUPS: &[&str] = &["m1", "m2", "m3"];
const TOURNAMENTS: &[&str] = &["t1", "t2", "t3"];

fn game() -> BoxedStrategy<String> {
    prop::sample::select(GAMES).prop_map(str::to_owned).boxed()
}

fn matchup() -> BoxedStrategy<String> {
    prop::sample::select(MATCHUPS)
        .prop_map(str::to_owned)
        .boxed()
}

fn tournament() -> BoxedStrategy<String> {
    prop::sample::select(TOURNAMENTS)
        .prop_map(str::to_owned)
        .boxed()
}

fn side() -> BoxedStrategy<Side> {
    prop::sample::select(Side::BOTH.to_vec()).boxed()
}

/// Three queues, so that a `QUEUE_LEFT` sometimes names the one the session is in.
pub fn queue() -> BoxedStrategy<QueueSpec> {
    prop::sample::select(vec![
        QueueSpec {
            game: GameKind::TicTacToe,
            clock: None,
            rated: false,
        },
        QueueSpec {
            game: GameKind::Chess,
            clock: Some(ClockSpec {
                initial_ms: 300_000,
                increment_ms: 3_000,
            }),
            rated: true,
        },
        QueueSpec {
            game: GameKind::Connect4,
            clock: Some(ClockSpec {
                initial_ms: 60_000,
                increment_ms: 0,
            }),
            rated: false,
        },
    ])
    .boxed()
}

fn status() -> BoxedStrategy<GameStatus> {
    prop::sample::select(vec![
        GameStatus::WaitingReady,
        GameStatus::Playing,
        GameStatus::Over,
    ])
    .boxed()
}

fn clocks() -> BoxedStrategy<Clocks> {
    (any::<u64>(), any::<u64>(), prop::option::of(side()))
        .prop_map(|(first, second, running)| Clocks {
            first,
            second,
            running,
        })
        .boxed()
}

pub fn user() -> BoxedStrategy<UserView> {
    (
        "[a-z]{3,8}",
        any::<i32>(),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(Role::ALL), 0..2),
    )
        .prop_map(|(name, rating, guest, roles)| UserView {
            id: "u1".into(),
            name,
            rating,
            guest,
            roles,
        })
        .boxed()
}

fn rating_delta() -> BoxedStrategy<RatingDelta> {
    (-4000i32..4000, -400i32..400)
        .prop_map(|(before, delta)| RatingDelta {
            before,
            after: before + delta,
            delta,
        })
        .boxed()
}

fn game_view() -> BoxedStrategy<GameView> {
    (
        (
            game(),
            prop::sample::select(GameKind::ALL),
            prop::option::of(side()),
        ),
        (
            any::<u32>(),
            clocks(),
            side(),
            status(),
            prop::option::of(side()),
        ),
        (
            any::<bool>(),
            prop::option::of(tournament()),
            prop::collection::vec(("[a-z]{3,6}", any::<i32>(), side()), 0..3),
        ),
    )
        .prop_map(
            |(
                (game, kind, you),
                (seq, clocks, to_move, status, draw_offer),
                (rated, tournament, players),
            )| {
                GameView {
                    game,
                    kind,
                    players: players
                        .into_iter()
                        .map(|(name, rating, side)| PlayerView { name, rating, side })
                        .collect(),
                    you,
                    seq,
                    moves: vec![Move::Index(4), Move::Text("e2e4".into())],
                    position: Position::Rows(vec!["x..".into(), ".o.".into(), "...".into()]),
                    clocks,
                    to_move,
                    status,
                    draw_offer,
                    rated,
                    clock: None,
                    tournament,
                }
            },
        )
        .boxed()
}

fn tournament_view() -> BoxedStrategy<TournamentView> {
    (
        tournament(),
        prop::sample::select(TournamentStatus::ALL),
        prop::sample::select(TournamentFormat::ALL),
    )
        .prop_map(|(id, status, format)| TournamentView {
            id,
            name: "Friday".into(),
            format,
            game: GameKind::Chess,
            clock: None,
            rated: false,
            status,
            starts_at: 0,
            duration_ms: Some(60_000),
            rounds: None,
            round: 1,
            players: 2,
            max_players: None,
            created_by: "admin".into(),
            standings: Vec::new(),
            pairings: Vec::new(),
            ended_at: None,
        })
        .boxed()
}

/// Messages of one wire type. Every type in `ServerMessage::TYPES` has a generator: a new one
/// fails here until it gets one.
fn server_message_for(ty: &'static str) -> BoxedStrategy<ServerMessage> {
    use ServerMessage as S;
    match ty {
        "client/SESSION_STARTED" => user()
            .prop_map(|user| S::SessionStarted {
                session: "s".into(),
                token: "t".into(),
                user,
                refresh_token: None,
                expires_at: 0,
            })
            .boxed(),
        "client/RESUME_SESSION" => (user(), prop::option::of(queue()), prop::option::of(game()))
            .prop_map(|(user, queue, game)| S::ResumeSession {
                session: "s".into(),
                user,
                queue,
                matchup: None,
                game,
            })
            .boxed(),
        "client/QUEUED" => (queue(), any::<u64>())
            .prop_map(|(queue, queued_at)| S::Queued { queue, queued_at })
            .boxed(),
        "client/ALREADY_IN_QUEUE" => queue()
            .prop_map(|queue| S::AlreadyInQueue { queue })
            .boxed(),
        "client/QUEUE_LEFT" => (
            queue(),
            prop::sample::select(vec![
                QueueLeftReason::Cancelled,
                QueueLeftReason::Matched,
                QueueLeftReason::Declined,
                QueueLeftReason::Timeout,
            ]),
        )
            .prop_map(|(queue, reason)| S::QueueLeft { queue, reason })
            .boxed(),
        "client/PROPOSE_MATCHUP" => (matchup(), queue(), "[a-z]{3,6}", any::<i32>(), any::<u64>())
            .prop_map(
                |(matchup, queue, name, rating, expires_at)| S::ProposeMatchup {
                    matchup,
                    queue,
                    opponent: Opponent { name, rating },
                    expires_at,
                },
            )
            .boxed(),
        "client/MATCHUP_CANCELLED" => (
            matchup(),
            prop::sample::select(vec![
                MatchupCancelReason::Declined,
                MatchupCancelReason::Timeout,
            ]),
        )
            .prop_map(|(matchup, reason)| S::MatchupCancelled { matchup, reason })
            .boxed(),
        "client/START_GAME" => game_view().prop_map(S::StartGame).boxed(),
        "client/RESUME_GAME" => game_view().prop_map(S::ResumeGame).boxed(),
        "client/UPDATE_GAME" => (game(), any::<u32>(), clocks(), side(), status())
            .prop_map(|(game, seq, clocks, to_move, status)| {
                S::UpdateGame(GameUpdate {
                    game,
                    seq,
                    last_move: Some(Move::Index(3)),
                    position: Position::Fen("8/8/8/8/8/8/8/K6k w - - 0 1".into()),
                    clocks,
                    to_move,
                    status,
                    draw_offer: None,
                })
            })
            .boxed(),
        "client/OFFER_DRAW" => (game(), side())
            .prop_map(|(game, from)| S::OfferDraw { game, from })
            .boxed(),
        "client/OPPONENT_PRESENCE" => (game(), any::<bool>(), any::<u64>())
            .prop_map(|(game, connected, grace_ms)| S::OpponentPresence {
                game,
                connected,
                grace_ms,
            })
            .boxed(),
        "client/GAME_OVER" => (
            game(),
            prop::sample::select(vec![
                GameResult::First,
                GameResult::Second,
                GameResult::Draw,
                GameResult::Aborted,
            ]),
            prop::sample::select(EndReason::ALL),
            prop::option::of((rating_delta(), rating_delta())),
        )
            .prop_map(|(game, result, reason, change)| S::GameOver {
                game,
                result,
                reason,
                rating_change: change.map(|(first, second)| RatingChange { first, second }),
            })
            .boxed(),
        "client/TOURNAMENT_JOINED" => tournament()
            .prop_map(|tournament| S::TournamentJoined { tournament })
            .boxed(),
        "client/TOURNAMENT_LEFT" => (
            tournament(),
            prop::sample::select(TournamentLeftReason::ALL),
        )
            .prop_map(|(tournament, reason)| S::TournamentLeft { tournament, reason })
            .boxed(),
        "client/TOURNAMENT_UPDATE" => tournament_view()
            .prop_map(|view| S::TournamentUpdate {
                tournament: Box::new(view),
            })
            .boxed(),
        "client/NOTIFICATION" => prop::sample::select(NotificationKind::ALL)
            .prop_map(|kind| {
                S::Notification(Notification {
                    id: "n1".into(),
                    kind,
                    text: "hello".into(),
                    at: 1,
                    data: Default::default(),
                })
            })
            .boxed(),
        "client/WATCH_GAME" => game_view().prop_map(S::WatchGame).boxed(),
        "client/UNWATCHED" => game().prop_map(|game| S::Unwatched { game }).boxed(),
        "client/CROWD" => (game(), any::<u32>())
            .prop_map(|(game, watchers)| S::Crowd { game, watchers })
            .boxed(),
        "client/CHAT_HISTORY" => Just(S::ChatHistory {
            room: "lobby".into(),
            messages: Vec::new(),
        })
        .boxed(),
        "client/CHAT_MESSAGE" => any::<String>()
            .prop_map(|text| {
                S::ChatMessage(ChatLine {
                    room: "lobby".into(),
                    id: "c1".into(),
                    from: "ada".into(),
                    text,
                    at: 2,
                })
            })
            .boxed(),
        "client/CHAT_DELETED" => Just(S::ChatDeleted {
            room: "lobby".into(),
            id: "c1".into(),
        })
        .boxed(),
        "client/ERROR" => (
            prop::sample::select(ErrorCode::ALL),
            prop::option::of(prop::option::of(any::<u64>())),
        )
            .prop_map(|(code, until)| S::Error {
                code,
                message: "no".into(),
                until: until.map(Until),
            })
            .boxed(),
        other => {
            panic!("no generator for server message {other}: add one in tests/fuzz/session_fold.rs")
        }
    }
}

/// Any frame a node sends, every type equally likely, sometimes with a `ref`.
pub fn server_frame() -> BoxedStrategy<ServerFrame> {
    (
        prop::option::of("[a-z0-9]{1,4}"),
        prop::sample::select(ServerMessage::TYPES).prop_flat_map(server_message_for),
    )
        .prop_map(|(reference, message)| ServerFrame { reference, message })
        .boxed()
}

pub fn fresh_session(user: UserView) -> SessionState {
    SessionState::new(SessionId::generate(), UserId::generate(), user)
}

// ---- the model ------------------------------------------------------------------------------

/// What the protocol says a frame does to a session, read from the protocol page and the
/// state's field docs, not from `apply`. `updated_at` is left as it was.
fn expected(before: &SessionState, frame: &ServerFrame) -> SessionState {
    use ServerMessage as S;
    let mut next = before.clone();
    let clear_matchup = |s: &mut SessionState| {
        s.matchup = None;
        s.matchup_id = None;
    };
    match &frame.message {
        // Queued: in that queue now.
        S::Queued { queue, .. } => next.queue = Some(queue.clone()),
        // Left the queue it is in: no queue, and no matchup from it.
        S::QueueLeft { queue, .. } => {
            if before.queue.as_ref() == Some(queue) {
                next.queue = None;
                clear_matchup(&mut next);
            }
        }
        // A proposal: the pending one, kept whole without its ref (it is asked again on resume).
        S::ProposeMatchup { matchup, .. } => {
            next.matchup_id = Some(matchup.clone());
            next.matchup = Some(ServerFrame {
                reference: None,
                message: frame.message.clone(),
            });
        }
        S::MatchupCancelled { matchup, .. } => {
            if before.matchup_id.as_deref() == Some(matchup.as_str()) {
                clear_matchup(&mut next);
            }
        }
        // In a game: out of any queue and matchup; its side and tournament only with a game.
        S::StartGame(view) | S::ResumeGame(view) => {
            next.game = GameId::parse(&view.game);
            next.side = next.game.as_ref().and(view.you);
            next.in_tournament = next.game.is_some() && view.tournament.is_some();
            if let Some(t) = &view.tournament {
                next.tournaments.insert(t.clone());
            }
            next.queue = None;
            clear_matchup(&mut next);
        }
        // A game's end: watched no more; our game's end ends our game, with our new rating.
        S::GameOver {
            game,
            rating_change,
            ..
        } => {
            next.watching.remove(game);
            if before.game.as_ref().map(GameId::as_str) == Some(game.as_str()) {
                if let (Some(change), Some(side)) = (rating_change, before.side) {
                    next.user.rating = [change.first, change.second][side.index()].after;
                }
                next.game = None;
                next.side = None;
                next.in_tournament = false;
            }
        }
        S::WatchGame(view) => {
            if view.status != GameStatus::Over {
                next.watching.insert(view.game.clone());
            }
        }
        S::Unwatched { game } => {
            next.watching.remove(game);
        }
        S::TournamentJoined { tournament } => {
            next.tournaments.insert(tournament.clone());
        }
        S::TournamentLeft { tournament, .. } => {
            next.tournaments.remove(tournament);
        }
        S::TournamentUpdate { tournament } => {
            if matches!(
                tournament.status,
                TournamentStatus::Finished | TournamentStatus::Cancelled
            ) {
                next.tournaments.remove(&tournament.id);
            }
        }
        // Nothing else is part of a session's state.
        S::SessionStarted { .. }
        | S::ResumeSession { .. }
        | S::AlreadyInQueue { .. }
        | S::UpdateGame(_)
        | S::OfferDraw { .. }
        | S::OpponentPresence { .. }
        | S::Notification(_)
        | S::Crowd { .. }
        | S::ChatHistory { .. }
        | S::ChatMessage(_)
        | S::ChatDeleted { .. }
        | S::Error { .. } => {}
    }
    next
}

fn without_time(state: &SessionState) -> SessionState {
    SessionState {
        updated_at: 0,
        ..state.clone()
    }
}

/// The invariants any session state keeps.
pub fn check_invariants(state: &SessionState) -> TestCaseResult {
    prop_assert_eq!(state.matchup.is_some(), state.matchup_id.is_some());
    if let Some(frame) = &state.matchup {
        prop_assert_eq!(&frame.reference, &None);
        match &frame.message {
            ServerMessage::ProposeMatchup { matchup, .. } => {
                prop_assert_eq!(Some(matchup), state.matchup_id.as_ref())
            }
            other => return Err(TestCaseError::fail(format!("pending matchup {other:?}"))),
        }
    }
    prop_assert!(
        state.side.is_none() || state.game.is_some(),
        "a side in no game"
    );
    prop_assert!(
        !state.in_tournament || state.game.is_some(),
        "a tournament game that is none"
    );
    match state.resume_message() {
        ServerMessage::ResumeSession {
            session,
            queue,
            matchup,
            game,
            ..
        } => {
            prop_assert_eq!(session, state.id.to_string());
            prop_assert_eq!(queue, state.queue.clone());
            prop_assert_eq!(matchup, state.matchup_id.clone());
            prop_assert_eq!(game, state.game.as_ref().map(GameId::to_string));
        }
        other => return Err(TestCaseError::fail(format!("resume message {other:?}"))),
    }
    Ok(())
}

/// Applies `frame` and checks it against the model and the invariants.
fn step(state: &mut SessionState, frame: &ServerFrame) -> TestCaseResult {
    let before = state.clone();
    let changed = state.apply(frame);
    prop_assert_eq!(without_time(state), without_time(&expected(&before, frame)));
    prop_assert_eq!(changed, without_time(state) != without_time(&before));
    if !changed {
        prop_assert_eq!(&*state, &before, "unchanged, but updated_at moved");
    }
    let settled = state.clone();
    prop_assert!(
        !state.apply(frame),
        "the same frame again changed {frame:?}"
    );
    prop_assert_eq!(&*state, &settled);
    check_invariants(state)
}

#[test]
fn the_generators_cover_every_server_message_type() {
    use proptest::strategy::ValueTree;
    for ty in ServerMessage::TYPES {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let message = server_message_for(ty)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        assert_eq!(message.type_name(), *ty);
    }
}

#[test]
fn random_frames_fold_as_the_protocol_says_and_keep_the_invariants() {
    fuzz(
        "session_fold::model",
        cases(2000, 1),
        (user(), prop::collection::vec(server_frame(), 0..40)),
        |(user, frames)| {
            let mut state = fresh_session(user);
            check_invariants(&state)?;
            for frame in &frames {
                step(&mut state, frame)?;
            }
            Ok(())
        },
    );
}

#[test]
fn the_offline_snapshot_ends_where_the_live_fold_does() {
    fuzz(
        "session_fold::offline",
        cases(1000, 1),
        (user(), prop::collection::vec(server_frame(), 0..30)),
        |(user, frames)| {
            let sessions = Sessions::new(MemoryCluster::new(), Duration::from_secs(60));
            let mut live = fresh_session(user);
            now(sessions.save(&live)).unwrap();
            for frame in &frames {
                live.apply(frame);
                now(sessions.apply_offline(&live.id, frame)).unwrap();
            }
            let offline = now(sessions.load(&live.id)).unwrap().expect("still stored");
            prop_assert_eq!(without_time(&offline), without_time(&live));
            Ok(())
        },
    );
}

/// The in-process snapshot store answers at once: its futures are ready when first polled.
pub fn now<T>(future: impl std::future::Future<Output = T>) -> T {
    future
        .now_or_never()
        .expect("the in-process store never waits")
}

// ---- regressions: what the fuzzing found ----------------------------------------------------

/// Found by `model`: a `client/START_GAME` whose game id does not parse left the session in no
/// game but with a side and a tournament game (a side "in no game").
#[test]
fn a_start_game_whose_id_does_not_parse_leaves_no_side_and_no_tournament_game() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut view = game_view().new_tree(&mut runner).unwrap().current();
    view.game = "not a game".into();
    view.you = Some(Side::First);
    view.tournament = Some("t1".into());
    let user = user().new_tree(&mut runner).unwrap().current();
    let mut state = fresh_session(user);
    state.queue = Some(QueueSpec {
        game: GameKind::Chess,
        clock: None,
        rated: false,
    });
    state.apply(&ServerFrame {
        reference: None,
        message: ServerMessage::StartGame(view),
    });
    assert_eq!(state.game, None);
    assert_eq!(state.side, None);
    assert!(!state.in_tournament);
    assert_eq!(state.queue, None, "a game started: the queue is left");
    assert!(state.tournaments.contains("t1"));
}
