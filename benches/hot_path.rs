//! The per-move hot path, measured in isolation so that a regression shows (`cargo bench`):
//! reading a `game/PLAYER_MOVE` frame, the game's decision on it (a connect-four game 20 moves
//! in, clock running), and encoding the `client/UPDATE_GAME` every player and watcher gets.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use client_protocol::{ClockSpec, GameKind, Move, ServerFrame};
use rookery::actors::game::decide::{decide, Decision, Limits};
use rookery::actors::game::{GameState, Seat};
use rookery::domain::{GameId, SessionId, UserId};
use rookery::games::Board;
use rookery::messages::{GameAction, GameCommand, Sender};

const LIMITS: Limits = Limits {
    ready_timeout_ms: 10_000,
    grace_ms: 5_000,
};
const T0: u64 = 1_700_000_000_000;
/// Connect-four columns that fill the board with no four in a line.
const DRAW: [u32; 42] = [
    3, 3, 3, 4, 0, 4, 6, 2, 5, 4, 6, 5, 3, 0, 5, 0, 4, 6, 5, 4, 4, 6, 6, 1, 2, 1, 2, 6, 1, 1, 1, 5,
    1, 0, 0, 2, 2, 3, 0, 5, 3, 2,
];

fn seat(name: &str) -> Seat {
    Seat {
        user_id: UserId::generate(),
        name: name.into(),
        guest: false,
        glicko: Default::default(),
        session: Some(SessionId::generate()),
        node: None,
    }
}

fn command(state: &GameState, mover: usize, action: GameAction) -> GameCommand {
    let seat = &state.seats[mover];
    GameCommand {
        from: Some(Sender {
            session: seat.session.clone().expect("seated"),
            user: seat.user_id.clone(),
            reference: Some("m".into()),
            node: None,
        }),
        action,
    }
}

fn committed(decision: Decision) -> (GameState, Board) {
    match decision {
        Decision::Commit { next, .. } => *next,
        Decision::Reply(outs) => panic!("expected a commit, got {outs:?}"),
    }
}

/// A connect-four game with `played` moves of the draw line behind it.
fn game_after(played: usize) -> (GameState, Board) {
    let clock = ClockSpec {
        initial_ms: 600_000,
        increment_ms: 2_000,
    };
    let mut state = GameState::new(
        GameId::generate(),
        GameKind::Connect4,
        Some(clock),
        true,
        [seat("ada"), seat("bob")],
        T0,
    );
    let mut board = Board::new(GameKind::Connect4);
    for side in 0..2 {
        (state, board) = committed(decide(
            &state,
            &board,
            command(&state, side, GameAction::Ready),
            T0,
            &LIMITS,
        ));
    }
    for (seq, column) in DRAW.iter().take(played).enumerate() {
        let mv = GameAction::Move {
            seq: seq as u32,
            mv: Move::Index(*column),
        };
        (state, board) = committed(decide(
            &state,
            &board,
            command(&state, seq % 2, mv),
            T0 + seq as u64 * 100,
            &LIMITS,
        ));
    }
    (state, board)
}

fn hot_path(c: &mut Criterion) {
    let (state, board) = game_after(20);
    let seq = state.moves.len() as u32;
    let text = format!(
        r#"{{"type":"game/PLAYER_MOVE","game":"{}","seq":{seq},"move":{},"ref":"m{seq}"}}"#,
        state.id, DRAW[20]
    );
    c.bench_function("frame parse: game/PLAYER_MOVE", |b| {
        b.iter(|| rookery::session::frame::parse(std::hint::black_box(&text)).unwrap())
    });
    let action = GameAction::Move {
        seq,
        mv: Move::Index(DRAW[20]),
    };
    c.bench_function("decide: a move 20 into connect-four", |b| {
        b.iter_batched(
            || command(&state, 0, action.clone()),
            |cmd| decide(&state, &board, cmd, T0 + 3_000, &LIMITS),
            BatchSize::SmallInput,
        )
    });
    let Decision::Commit { outs, .. } = decide(
        &state,
        &board,
        command(&state, 0, action),
        T0 + 3_000,
        &LIMITS,
    ) else {
        panic!("a legal move commits");
    };
    let update: &ServerFrame = &outs[0].frame;
    c.bench_function("encode: client/UPDATE_GAME", |b| {
        b.iter(|| serde_json::to_string(std::hint::black_box(update)).unwrap())
    });
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
