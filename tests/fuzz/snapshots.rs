//! Target 4, the snapshot decode: a game's and a session's snapshot read back from the store's
//! bytes (what Redis hands a node) as the node reads them: `serde_json::from_slice` and
//! `Board::replay` for a game (`Activation::activate`, `GameActor::rebuild`), then what a
//! rebuilt game computes first (its record, its next deadline, its views, its timer's tick);
//! `Sessions::load` for a session, then its fold. Arbitrary bytes and mutated valid snapshots
//! never panic; a valid snapshot round-trips.

use std::time::Duration;

use client_protocol::*;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseResult;
use rookery::actors::game::decide::{self, Limits};
use rookery::actors::game::{Finish, GameState, MoveRecord, Seat};
use rookery::actors::queue::QueueState;
use rookery::actors::tournament::TournamentState;
use rookery::cluster::memory::MemoryCluster;
use rookery::cluster::SnapshotStore;
use rookery::domain::{GameId, SessionId, UserId};
use rookery::games::{Board, Rules};
use rookery::messages::Address;
use rookery::session::{SessionState, Sessions};
use rookery::store::Glicko;
use serde_json::Value;

use crate::json::{self, Step};
use crate::session_fold::{check_invariants, fresh_session, now, server_frame, user};
use crate::{cases, fuzz};

const GAME: &str = "AbCd_-12";
const TTL: Duration = Duration::from_secs(60);

/// The limits a node runs with by default.
const LIMITS: Limits = Limits {
    ready_timeout_ms: client_protocol::constants::READY_TIMEOUT_MS,
    grace_ms: 60_000,
};

// ---- valid game snapshots -------------------------------------------------------------------

fn glicko() -> BoxedStrategy<Glicko> {
    (100.0f64..3500.0, 30.0f64..350.0, 0.03f64..0.1)
        .prop_map(|(rating, deviation, volatility)| Glicko {
            rating,
            deviation,
            volatility,
        })
        .boxed()
}

fn seat(n: u8) -> BoxedStrategy<Seat> {
    (glicko(), any::<bool>(), any::<bool>())
        .prop_map(move |(glicko, guest, joined)| Seat {
            user_id: UserId::parse(&format!("user{n}user{n}user{n}x")).expect("a user id"),
            name: format!("player{n}"),
            guest,
            glicko,
            session: joined
                .then(|| SessionId::parse(&format!("sess{n}sess{n}sess{n}sess{n}xx")).unwrap()),
            node: joined.then(|| format!("node-{n}").into()),
        })
        .boxed()
}

/// A game as a game actor writes it: moves played by the rules, clocks spent, maybe finished.
fn game_state() -> BoxedStrategy<(GameState, Board)> {
    (
        (
            prop::sample::select(GameKind::ALL),
            prop::collection::vec(any::<Index>(), 0..60),
            prop::option::of((1_000u64..600_000, 0u64..10_000)),
            any::<bool>(),
        ),
        (seat(1), seat(2)),
        (
            1_700_000_000_000u64..1_800_000_000_000,
            prop::collection::vec(0u64..20_000, 60),
            prop::option::of(side_strategy()),
            [
                prop::option::of(0u64..100_000),
                prop::option::of(0u64..100_000),
            ],
        ),
        (
            0u64..1_000,
            any::<bool>(),
            prop::option::of("t[0-9]"),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (kind, picks, clock, rated),
                (first, second),
                (created_at, think, draw_offer, away),
                (rev, rebuilt, tournament, resigned),
            )| {
                let clock = clock.map(|(initial_ms, increment_ms)| ClockSpec {
                    initial_ms,
                    increment_ms,
                });
                let mut state = GameState::new(
                    GameId::parse(GAME).unwrap(),
                    kind,
                    clock,
                    rated,
                    [first, second],
                    created_at,
                );
                let mut board = Board::new(kind);
                let mut at = created_at + 500;
                state.started_at = Some(at);
                state.status = GameStatus::Playing;
                state.ready = [true, true];
                let mut outcome = None;
                for (pick, used) in picks.iter().zip(&think) {
                    let legal = board.legal_moves();
                    if legal.is_empty() {
                        break;
                    }
                    let mover = board.to_move().index();
                    let applied = board.apply(&legal[pick.index(legal.len())]).unwrap();
                    at += used;
                    if let Some(clock) = clock {
                        state.remaining[mover] =
                            state.remaining[mover].saturating_sub(*used) + clock.increment_ms;
                    }
                    state.moves.push(MoveRecord {
                        mv: applied.canonical,
                        at,
                        clocks: state.remaining,
                    });
                    outcome = applied.outcome;
                }
                state.turn_started_at = clock.map(|_| at);
                state.draw_offer = draw_offer;
                state.away_since = away.map(|a| a.map(|a| at + a));
                state.saved_at = at;
                state.rev = rev;
                state.rebuilt = rebuilt;
                state.tournament = tournament;
                let outcome = outcome.or_else(|| {
                    resigned.then(|| rookery::games::Outcome::win(Side::First, EndReason::Resign))
                });
                if let Some(outcome) = outcome {
                    state.finish(outcome, at + 10);
                    if let Some(finish) = state.finish.as_mut() {
                        finish.recorded = rev % 2 == 0;
                    }
                }
                (state, board)
            },
        )
        .boxed()
}

fn side_strategy() -> BoxedStrategy<Side> {
    prop::sample::select(Side::BOTH.to_vec()).boxed()
}

/// Equal, but for the last bit of a float: serde_json reads floats to best effort unless its
/// `float_roundtrip` feature is on (rookery does not turn it on), so a Glicko-2 rating can come
/// back one unit in the last place off (`1645.7207761896261` as `1645.720776189626`).
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    fn close(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| close(v, w))
            }
            (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                x == y || (x - y).abs() <= 2.0 * f64::EPSILON * x.abs().max(y.abs())
            }
            _ => a == b,
        }
    }
    close(
        &serde_json::to_value(a).unwrap(),
        &serde_json::to_value(b).unwrap(),
    )
}

// ---- decoding as a node does ----------------------------------------------------------------

/// A game snapshot read as a node reads it, and everything a rebuilt game computes from it
/// before it hears from anyone: `Some` when it decodes and replays.
fn decode_game(bytes: &[u8], at: u64) -> Option<(GameState, Board)> {
    let state: GameState = serde_json::from_slice(bytes).ok()?;
    let moves: Vec<Move> = state.moves.iter().map(|m| m.mv.clone()).collect();
    let board = Board::replay(state.kind, &moves).ok()?;
    // `started`: a finished game's record, the timer's deadline; then the views and the tick.
    if state.finish.as_ref().is_some_and(|f: &Finish| !f.recorded) {
        state.record(&board);
    }
    state.next_deadline(LIMITS.ready_timeout_ms, LIMITS.grace_ms);
    state.view(&board, Some(Side::First), at);
    state.update(&board, at);
    state.clocks(at);
    state.move_ms();
    state.events_to(&state);
    state.game_over_message();
    decide::tick(&state, &board, at, &LIMITS);
    Some((state, board))
}

/// The same bytes through the store and `GameState::is_live`, which answers whether a resumed
/// session's game is still played: true exactly for a snapshot that decodes and is not over.
fn check_is_live(bytes: &[u8]) -> TestCaseResult {
    let store = MemoryCluster::new();
    let id = GameId::parse(GAME).unwrap();
    now(store.put(&GameState::snapshot_key(&id), bytes.to_vec(), TTL)).unwrap();
    let live = now(GameState::is_live(store.as_ref(), &id));
    let decoded = serde_json::from_slice::<GameState>(bytes).ok();
    prop_assert_eq!(live, decoded.is_some_and(|s| s.status != GameStatus::Over));
    Ok(())
}

/// Instants around a snapshot's own and at the edges.
fn instant() -> BoxedStrategy<u64> {
    prop_oneof![
        3 => 1_700_000_000_000u64..1_800_000_000_000,
        1 => Just(0u64),
        1 => Just(u64::MAX),
        1 => any::<u64>(),
    ]
    .boxed()
}

// ---- mutations ------------------------------------------------------------------------------

/// Numbers a corrupted or hand-edited snapshot might hold where a count or an instant goes:
/// mostly ones a `u64` field takes (so that the snapshot still decodes), some it does not.
fn edge_number() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0u64,
            1,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ])
        .prop_map(Value::from),
        1 => prop::sample::select(vec![
            Value::from(i64::MIN),
            Value::from(-1i64),
            Value::from(1e300),
            Value::from(-1e300),
            Value::from(0.5),
        ]),
    ]
    .boxed()
}

/// The snapshots' own words, to put one string field's value in another's place (a status
/// that contradicts the moves, a side where none is, a move of another game).
const WORDS: &[&str] = &[
    "first",
    "second",
    "draw",
    "aborted",
    "waiting_ready",
    "playing",
    "over",
    "tictactoe",
    "connect4",
    "chess",
    "checkmate",
    "timeout",
    "e2e4",
    "e1g1",
    "4",
    "",
];

/// A change to a snapshot document: any JSON mutation; or, mostly, one that keeps its shape
/// so that it still decodes: a number set to an edge value, a string to another word, a node
/// to null (an option emptied).
#[derive(Clone, Debug)]
enum Edit {
    Json(json::Mutation),
    Number { at: Index, value: Value },
    Word { at: Index, word: &'static str },
    Null { at: Index },
}

fn edits() -> BoxedStrategy<Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            1 => json::mutation().prop_map(Edit::Json),
            4 => (any::<Index>(), edge_number()).prop_map(|(at, value)| Edit::Number { at, value }),
            2 => (any::<Index>(), prop::sample::select(WORDS)).prop_map(|(at, word)| Edit::Word { at, word }),
            1 => any::<Index>().prop_map(|at| Edit::Null { at }),
        ],
        1..4,
    )
    .boxed()
}

/// Sets one of the nodes `matching` picks out, chosen by `at`, to `value`.
fn set_one(doc: &mut Value, at: &Index, matching: fn(&Value) -> bool, value: Value) {
    let chosen: Vec<Vec<Step>> = json::paths(doc)
        .into_iter()
        .filter(|p| json::node_mut(doc, p).is_some_and(|n| matching(n)))
        .collect();
    if !chosen.is_empty() {
        let path = &chosen[at.index(chosen.len())];
        *json::node_mut(doc, path).unwrap() = value;
    }
}

fn apply_edits(doc: &mut Value, edits: &[Edit]) {
    for edit in edits {
        match edit {
            Edit::Json(mutation) => {
                json::apply(doc, mutation);
            }
            Edit::Number { at, value } => set_one(doc, at, Value::is_number, value.clone()),
            Edit::Word { at, word } => set_one(doc, at, Value::is_string, Value::from(*word)),
            Edit::Null { at } => set_one(doc, at, |_| true, Value::Null),
        }
    }
}

/// Bytes a store might hand back: anything, JSON-like text, a valid snapshot cut or flipped.
fn corrupt_bytes(valid: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => "[{}\\[\\]\":,0-9a-z_ .-]{0,80}".prop_map(String::into_bytes),
        1 => json::value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        3 => (valid, prop::collection::vec(json::byte_edit(), 1..6)).prop_map(|(mut bytes, edits)| {
            json::edit_bytes(&mut bytes, &edits);
            bytes
        }),
    ]
    .boxed()
}

// ---- game snapshots -------------------------------------------------------------------------

#[test]
fn a_valid_game_snapshot_round_trips_and_replays_to_its_board() {
    fuzz(
        "snapshots::game_round_trip",
        cases(800, 2),
        game_state(),
        |(state, board)| {
            let bytes = serde_json::to_vec(&state).unwrap();
            let (decoded, replayed) = decode_game(&bytes, state.saved_at).expect("decodes");
            prop_assert!(
                same(&decoded, &state),
                "{decoded:?}\nread back from\n{state:?}"
            );
            prop_assert_eq!(replayed.position(), board.position());
            prop_assert_eq!(replayed.outcome(), board.outcome());
            check_is_live(&bytes)
        },
    );
}

#[test]
fn arbitrary_bytes_never_panic_a_snapshot_decode() {
    let valid = game_state()
        .prop_map(|(state, _)| serde_json::to_vec(&state).unwrap())
        .boxed();
    fuzz(
        "snapshots::game_bytes",
        cases(1500, 1),
        (corrupt_bytes(valid), instant()),
        |(bytes, at)| {
            decode_game(&bytes, at);
            check_is_live(&bytes)?;
            // The other virtual actors' snapshots are read the same way.
            let _ = serde_json::from_slice::<QueueState>(&bytes);
            let _ = serde_json::from_slice::<TournamentState>(&bytes);
            Ok(())
        },
    );
}

#[test]
fn a_mutated_game_snapshot_never_panics_a_rebuilt_game() {
    fuzz(
        "snapshots::game_mutated",
        cases(1500, 2),
        (game_state(), edits(), instant()),
        |((state, _), edits, at)| {
            let mut doc = serde_json::to_value(&state).unwrap();
            apply_edits(&mut doc, &edits);
            let bytes = serde_json::to_vec(&doc).unwrap();
            if let Some((decoded, _)) = decode_game(&bytes, at) {
                // What decodes writes back as it was read.
                let again = serde_json::to_vec(&decoded).unwrap();
                let back = serde_json::from_slice::<GameState>(&again).unwrap();
                prop_assert!(
                    same(&back, &decoded),
                    "{back:?}\nread back from\n{decoded:?}"
                );
            }
            check_is_live(&bytes)
        },
    );
}

// ---- session snapshots ----------------------------------------------------------------------

/// A session as a node keeps it: a fresh one after a random fold.
fn session_state() -> BoxedStrategy<SessionState> {
    (user(), prop::collection::vec(server_frame(), 0..30))
        .prop_map(|(user, frames)| {
            let mut state = fresh_session(user);
            for frame in &frames {
                state.apply(frame);
            }
            state
        })
        .boxed()
}

/// Stores `bytes` as session `id`'s snapshot and loads it as a resuming socket does.
fn load_session(id: &SessionId, bytes: Vec<u8>) -> Option<SessionState> {
    let store = MemoryCluster::new();
    now(store.put(Address::session(id).key(), bytes, TTL)).unwrap();
    let sessions = Sessions::new(store, TTL);
    now(sessions.load(id)).expect("the in-process store does not fail")
}

#[test]
fn a_valid_session_snapshot_round_trips() {
    fuzz(
        "snapshots::session_round_trip",
        cases(1000, 1),
        session_state(),
        |state| {
            let sessions = Sessions::new(MemoryCluster::new(), TTL);
            now(sessions.save(&state)).unwrap();
            prop_assert_eq!(now(sessions.load(&state.id)).unwrap(), Some(state.clone()));
            let bytes = serde_json::to_vec(&state).unwrap();
            prop_assert_eq!(load_session(&state.id, bytes), Some(state));
            Ok(())
        },
    );
}

/// What a resumed session does with its state: says where it is, folds what comes next.
fn use_session(mut state: SessionState, frames: &[ServerFrame]) -> TestCaseResult {
    state.resume_message();
    for frame in frames {
        state.apply(frame);
    }
    let bytes = serde_json::to_vec(&state).unwrap();
    prop_assert_eq!(
        serde_json::from_slice::<SessionState>(&bytes).unwrap(),
        state
    );
    Ok(())
}

#[test]
fn arbitrary_or_mutated_session_snapshots_never_panic_a_resume() {
    let valid = session_state()
        .prop_map(|s| serde_json::to_vec(&s).unwrap())
        .boxed();
    let mutated = (session_state(), edits())
        .prop_map(|(state, edits)| {
            let mut doc = serde_json::to_value(&state).unwrap();
            apply_edits(&mut doc, &edits);
            serde_json::to_vec(&doc).unwrap()
        })
        .boxed();
    fuzz(
        "snapshots::session_corrupt",
        cases(1500, 1),
        (
            prop_oneof![corrupt_bytes(valid), mutated],
            prop::collection::vec(server_frame(), 0..10),
        ),
        |(bytes, frames)| {
            let id = SessionId::parse("sessionsessionsession0").unwrap();
            if let Some(state) = load_session(&id, bytes) {
                use_session(state, &frames)?;
            }
            Ok(())
        },
    );
}

#[test]
fn a_loaded_valid_session_keeps_the_fold_invariants() {
    fuzz(
        "snapshots::session_invariants",
        cases(500, 1),
        session_state(),
        |state| {
            let loaded = load_session(&state.id, serde_json::to_vec(&state).unwrap()).unwrap();
            check_invariants(&loaded)
        },
    );
}

// ---- regressions: what the fuzzing found ----------------------------------------------------

/// Found by `game_mutated`: an instant near the end of time in a snapshot (`away_since`,
/// `created_at`, `turn_started_at`) overflowed the deadline arithmetic of a rebuilt game's
/// timer and tick (a panic in a debug build, a wrapped deadline in a release one).
#[test]
fn a_snapshot_with_instants_at_the_end_of_time_is_scheduled_and_ticked() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (state, _) = game_state().new_tree(&mut runner).unwrap().current();
    for status in [
        GameStatus::WaitingReady,
        GameStatus::Playing,
        GameStatus::Over,
    ] {
        let mut state = state.clone();
        state.status = status;
        state.finish = None;
        state.created_at = u64::MAX;
        state.turn_started_at = Some(u64::MAX);
        state.remaining = [u64::MAX, u64::MAX];
        state.away_since = [Some(u64::MAX), None];
        let bytes = serde_json::to_vec(&state).unwrap();
        let (decoded, board) = decode_game(&bytes, u64::MAX - 1).expect("decodes");
        let deadline = decoded.next_deadline(LIMITS.ready_timeout_ms, LIMITS.grace_ms);
        assert_eq!(
            deadline,
            (status != GameStatus::Over).then_some(u64::MAX),
            "{status:?}"
        );
        // Not yet due: the deadlines are at the end of time.
        let decision = decide::tick(&decoded, &board, u64::MAX - 1, &LIMITS);
        assert!(
            matches!(&decision, decide::Decision::Reply(outs) if outs.is_empty()),
            "{decision:?}"
        );
    }
}
