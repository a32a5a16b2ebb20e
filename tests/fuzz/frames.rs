//! Target 1, the frame parser (`session::frame::parse`, what a socket does with each text
//! frame): arbitrary text, arbitrary JSON, and valid frames of every client message type,
//! mutated (fields missing, wrong types, extra fields, huge numbers, long strings). Never a
//! panic; every refusal has the code an independent reading of the protocol gives it
//! (`bad_frame` for what is not a JSON object, ...); a valid frame round-trips; and what parses
//! routes (`session::route`) without a panic.

use client_protocol::{
    ClientFrame, ClientMessage, ClockSpec, ErrorCode, GameKind, Move, QueueSpec, UserView,
    MAX_FRAME_BYTES, MAX_REF_CHARS,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseResult;
use rookery::domain::{GameId, SessionId, UserId};
use rookery::session::frame::{parse, FrameError};
use rookery::session::route::{route, Route};
use rookery::session::SessionState;
use serde_json::Value;

use crate::json::{self, Step};
use crate::{cases, fuzz};

type Parsed = Result<(Option<String>, ClientMessage), FrameError>;

// ---- generators -----------------------------------------------------------------------------

/// A string field's value: an identifier, any Unicode, or a long one (some frames then exceed
/// the size limit).
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        5 => "[a-zA-Z0-9_-]{0,12}",
        3 => any::<String>(),
        1 => prop::collection::vec(any::<char>(), 1000..6000).prop_map(String::from_iter),
    ]
    .boxed()
}

fn edge_u32() -> BoxedStrategy<u32> {
    prop_oneof![3 => 0u32..20, 1 => Just(u32::MAX), 2 => any::<u32>()].boxed()
}

fn edge_u64() -> BoxedStrategy<u64> {
    prop_oneof![
        2 => 0u64..400_000,
        1 => Just(u64::MAX),
        1 => Just(u32::MAX as u64 + 1),
        2 => any::<u64>(),
    ]
    .boxed()
}

fn game_kind() -> impl Strategy<Value = GameKind> {
    prop::sample::select(GameKind::ALL)
}

fn queue_spec() -> BoxedStrategy<QueueSpec> {
    (
        game_kind(),
        prop::option::of((edge_u64(), edge_u64())),
        any::<bool>(),
    )
        .prop_map(|(game, clock, rated)| QueueSpec {
            game,
            clock: clock.map(|(initial_ms, increment_ms)| ClockSpec {
                initial_ms,
                increment_ms,
            }),
            rated,
        })
        .boxed()
}

fn a_move() -> BoxedStrategy<Move> {
    prop_oneof![
        edge_u32().prop_map(Move::Index),
        "[a-h][1-8][a-h][1-8][qrbn]?".prop_map(Move::Text),
        "[0-9]{1,3}".prop_map(Move::Text),
        text().prop_map(Move::Text),
    ]
    .boxed()
}

/// Messages of one wire type with random field values. Every type in `ClientMessage::TYPES`
/// has a generator: a new message type fails here until it gets one.
fn message_for(ty: &'static str) -> BoxedStrategy<ClientMessage> {
    use ClientMessage as M;
    match ty {
        "server/REGISTER_USER" => (text(), text())
            .prop_map(|(username, password)| M::RegisterUser { username, password })
            .boxed(),
        "server/LOGIN" => (text(), text())
            .prop_map(|(username, password)| M::Login { username, password })
            .boxed(),
        "server/GUEST" => Just(M::Guest).boxed(),
        "server/START_MATCHMAKING" => queue_spec()
            .prop_map(|queue| M::StartMatchmaking { queue })
            .boxed(),
        "server/CANCEL_MATCHMAKING" => Just(M::CancelMatchmaking).boxed(),
        "server/REPLY_MATCHUP" => (text(), any::<bool>())
            .prop_map(|(matchup, accept)| M::ReplyMatchup { matchup, accept })
            .boxed(),
        "game/PLAYER_READY" => text().prop_map(|game| M::PlayerReady { game }).boxed(),
        "game/PLAYER_MOVE" => (text(), edge_u32(), a_move())
            .prop_map(|(game, seq, mv)| M::PlayerMove { game, seq, mv })
            .boxed(),
        "game/OFFER_DRAW" => text().prop_map(|game| M::OfferDraw { game }).boxed(),
        "game/DECLINE_DRAW" => text().prop_map(|game| M::DeclineDraw { game }).boxed(),
        "game/CONCEDE" => text().prop_map(|game| M::Concede { game }).boxed(),
        "server/JOIN_TOURNAMENT" => text()
            .prop_map(|tournament| M::JoinTournament { tournament })
            .boxed(),
        "server/WITHDRAW_TOURNAMENT" => text()
            .prop_map(|tournament| M::WithdrawTournament { tournament })
            .boxed(),
        "server/WATCH_TOURNAMENT" => text()
            .prop_map(|tournament| M::WatchTournament { tournament })
            .boxed(),
        "server/UNWATCH_TOURNAMENT" => text()
            .prop_map(|tournament| M::UnwatchTournament { tournament })
            .boxed(),
        "server/WATCH_GAME" => text().prop_map(|game| M::WatchGame { game }).boxed(),
        "server/UNWATCH_GAME" => text().prop_map(|game| M::UnwatchGame { game }).boxed(),
        "server/CHAT_JOIN" => text().prop_map(|room| M::ChatJoin { room }).boxed(),
        "server/CHAT_LEAVE" => text().prop_map(|room| M::ChatLeave { room }).boxed(),
        "server/CHAT_SEND" => (text(), text())
            .prop_map(|(room, text)| M::ChatSend { room, text })
            .boxed(),
        "server/CHAT_DELETE" => (text(), text())
            .prop_map(|(room, id)| M::ChatDelete { room, id })
            .boxed(),
        other => panic!("no generator for client message {other}: add one in tests/fuzz/frames.rs"),
    }
}

/// Any client message, every type equally likely.
fn message() -> BoxedStrategy<ClientMessage> {
    prop::sample::select(ClientMessage::TYPES)
        .prop_flat_map(message_for)
        .boxed()
}

/// A `ref` the protocol accepts: at most 64 characters (not bytes).
fn good_ref() -> BoxedStrategy<Option<String>> {
    prop::option::of(prop_oneof![
        "[a-z0-9]{0,8}",
        prop::collection::vec(any::<char>(), 0..=MAX_REF_CHARS).prop_map(String::from_iter),
    ])
    .boxed()
}

fn frame() -> BoxedStrategy<(Option<String>, ClientMessage)> {
    (good_ref(), message()).boxed()
}

fn encode(reference: &Option<String>, message: &ClientMessage) -> Value {
    serde_json::to_value(ClientFrame {
        reference: reference.clone(),
        message: message.clone(),
    })
    .expect("a client frame serialises")
}

/// Text that is nearly JSON: bytes of valid frames edited, JSON punctuation, any Unicode.
fn arbitrary_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<String>(),
        2 => "[{}\\[\\]\":,0-9a-zA-Z_/ .eE+-]{0,60}",
        3 => (frame(), prop::collection::vec(json::byte_edit(), 1..6)).prop_map(|((r, m), edits)| {
            let mut bytes = serde_json::to_vec(&encode(&r, &m)).unwrap();
            json::edit_bytes(&mut bytes, &edits);
            String::from_utf8_lossy(&bytes).into_owned()
        }),
        1 => prop::collection::vec(any::<char>(), MAX_FRAME_BYTES - 8..MAX_FRAME_BYTES + 8)
            .prop_map(String::from_iter),
    ]
    .boxed()
}

/// A JSON object that gets past the first checks: a known type (mostly) and fields the
/// protocol uses, with any values.
fn frame_like_object() -> BoxedStrategy<Value> {
    (
        prop_oneof![
            4 => prop::sample::select(ClientMessage::TYPES).prop_map(|t| Value::String(t.to_owned())),
            1 => json::value(),
        ],
        prop::collection::vec((json::key(), json::value()), 0..6),
    )
        .prop_map(|(ty, fields)| {
            let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
            object.insert("type".into(), ty);
            Value::Object(object)
        })
        .boxed()
}

// ---- the oracle -----------------------------------------------------------------------------

/// Words of Rust, not of JSON, that a refusal must not show (unless the frame itself said
/// them: a refusal may quote the client).
const RUST_WORDS: &[&str] = &[
    "struct",
    "enum",
    "u32",
    "u64",
    "usize",
    "QueueSpec",
    "ClockSpec",
    "ClientMessage",
    "GameKind",
    "Move",
    "Option",
];

/// Checks `got` (the parse of `text`) against the protocol read independently: the order of
/// the checks, each refusal's code, the `ref` it echoes, and for a parsed message that every
/// field it holds is in the frame as sent.
fn check(text: &str, got: &Parsed) -> TestCaseResult {
    if let Err(e) = got {
        for word in RUST_WORDS {
            prop_assert!(
                text.contains(word) || !e.message.contains(word),
                "a refusal in Rust's words ({word}): {:?}",
                e.message
            );
        }
    }
    let refused = |code: ErrorCode, reference: Option<&String>| -> TestCaseResult {
        match got {
            Err(e) => {
                prop_assert_eq!(e.code, code, "{}", e.message);
                prop_assert_eq!(e.reference.as_ref(), reference);
                Ok(())
            }
            Ok(parsed) => Err(TestCaseError::fail(format!(
                "accepted {parsed:?}, expected {code}"
            ))),
        }
    };
    if text.len() > MAX_FRAME_BYTES {
        return refused(ErrorCode::BadFrame, None);
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return refused(ErrorCode::BadFrame, None);
    };
    let Value::Object(object) = &value else {
        return refused(ErrorCode::BadFrame, None);
    };
    let reference = match object.get("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.chars().count() <= MAX_REF_CHARS => Some(r),
        Some(_) => return refused(ErrorCode::InvalidField, None),
    };
    let Some(Value::String(ty)) = object.get("type") else {
        return refused(ErrorCode::InvalidField, reference);
    };
    if ty.starts_with("matchmaker/") {
        return refused(ErrorCode::Forbidden, reference);
    }
    if !ClientMessage::TYPES.contains(&ty.as_str()) {
        return refused(ErrorCode::UnknownType, reference);
    }
    match got {
        Err(_) => refused(ErrorCode::InvalidField, reference),
        Ok((r, message)) => {
            prop_assert_eq!(r.as_ref(), reference);
            prop_assert_eq!(message.type_name(), ty.as_str());
            let fields = serde_json::to_value(message).unwrap();
            prop_assert!(
                json::within(&fields, &value),
                "{fields} holds what the frame did not say"
            );
            Ok(())
        }
    }
}

fn parse_and_check(text: &str) -> Result<Parsed, TestCaseError> {
    let got = parse(text);
    check(text, &got)?;
    Ok(got)
}

// ---- what a mutation should do --------------------------------------------------------------

/// What the protocol says a frame becomes after one field changed.
#[derive(Debug)]
enum Expect {
    /// Parses to the frame as mutated, read back.
    Accepted,
    /// `invalid_field`.
    Refused,
    /// Only the oracle's checks (an object replaced whole, the type changed).
    Unspecified,
}

fn expect_replaced(path: &[Step], value: &Value) -> Expect {
    let key = |i: usize| match path.get(i) {
        Some(Step::Key(k)) => Some(k.as_str()),
        _ => None,
    };
    let verdict = |ok: bool| {
        if ok {
            Expect::Accepted
        } else {
            Expect::Refused
        }
    };
    let u64_number = value.as_u64().is_some();
    match (path.len(), key(0), key(1), key(2)) {
        (1, Some("ref"), _, _) => verdict(match value {
            Value::Null => true,
            Value::String(s) => s.chars().count() <= MAX_REF_CHARS,
            _ => false,
        }),
        (1, Some("type"), _, _) => Expect::Unspecified,
        (1, Some("seq"), _, _) => verdict(value.as_u64().is_some_and(|n| n <= u32::MAX as u64)),
        (1, Some("move"), _, _) => {
            verdict(value.is_string() || value.as_u64().is_some_and(|n| n <= u32::MAX as u64))
        }
        (1, Some("accept"), _, _) => verdict(value.is_boolean()),
        (1, Some("queue"), _, _) if value.is_object() => Expect::Unspecified,
        (1, Some("queue"), _, _) => Expect::Refused,
        (1, Some(_), _, _) => verdict(value.is_string()),
        (2, Some("queue"), Some("game"), _) => {
            verdict(value.as_str().is_some_and(|s| GameKind::parse(s).is_some()))
        }
        (2, Some("queue"), Some("rated"), _) => verdict(value.is_boolean()),
        (2, Some("queue"), Some("clock"), _) if value.is_object() => Expect::Unspecified,
        (2, Some("queue"), Some("clock"), _) => verdict(value.is_null()),
        (3, Some("queue"), Some("clock"), Some(_)) => verdict(u64_number),
        _ => Expect::Unspecified,
    }
}

/// A frame as a document, the `ref` apart (null and absent are one).
fn without_ref(mut doc: Value) -> (Option<Value>, Value) {
    let reference = doc
        .as_object_mut()
        .and_then(|o| o.remove("ref"))
        .filter(|r| !r.is_null());
    (reference, doc)
}

fn check_expected(doc: &Value, expect: Expect, got: &Parsed) -> TestCaseResult {
    match (expect, got) {
        (Expect::Unspecified, _) => Ok(()),
        (Expect::Refused, Err(e)) => {
            prop_assert_eq!(e.code, ErrorCode::InvalidField, "{}", e.message);
            Ok(())
        }
        (Expect::Accepted, Ok((reference, message))) => {
            let back = encode(reference, message);
            prop_assert_eq!(without_ref(back), without_ref(doc.clone()));
            Ok(())
        }
        (expect, got) => Err(TestCaseError::fail(format!(
            "expected {expect:?}, got {got:?}"
        ))),
    }
}

// ---- the properties -------------------------------------------------------------------------

#[test]
fn the_generators_cover_every_client_message_type() {
    for ty in ClientMessage::TYPES {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let message = message_for(ty).new_tree(&mut runner).unwrap().current();
        assert_eq!(message.type_name(), *ty);
    }
}

#[test]
fn arbitrary_text_never_panics_and_each_refusal_has_its_code() {
    fuzz(
        "frames::arbitrary_text",
        cases(1500, 1),
        arbitrary_text(),
        |text| parse_and_check(&text).map(drop),
    );
}

#[test]
fn arbitrary_json_never_panics_and_each_refusal_has_its_code() {
    let values = prop_oneof![json::value(), frame_like_object()];
    fuzz("frames::arbitrary_json", cases(1500, 1), values, |value| {
        parse_and_check(&value.to_string()).map(drop)
    });
}

#[test]
fn a_valid_frame_round_trips_unless_it_is_over_the_size_limit() {
    fuzz(
        "frames::round_trip",
        cases(1500, 1),
        frame(),
        |(reference, message)| {
            let text = serde_json::to_string(&ClientFrame {
                reference: reference.clone(),
                message: message.clone(),
            })
            .unwrap();
            let got = parse_and_check(&text)?;
            if text.len() > MAX_FRAME_BYTES {
                prop_assert!(
                    matches!(
                        got,
                        Err(FrameError {
                            code: ErrorCode::BadFrame,
                            ..
                        })
                    ),
                    "over the limit: {:?}",
                    got
                );
            } else {
                prop_assert_eq!(got, Ok((reference, message)));
            }
            Ok(())
        },
    );
}

#[test]
fn a_mutated_frame_is_refused_or_read_as_the_protocol_says() {
    fuzz(
        "frames::mutated",
        cases(2000, 1),
        (frame(), json::mutation()),
        |((reference, message), mutation)| {
            let mut doc = encode(&reference, &message);
            let original = doc.clone();
            let path = json::apply(&mut doc, &mutation);
            let got = parse_and_check(&doc.to_string())?;
            if doc.to_string().len() > MAX_FRAME_BYTES {
                return Ok(());
            }
            let expect = match (&mutation, path.as_slice()) {
                (_, []) => Expect::Unspecified,
                (json::Mutation::Remove { .. }, [Step::Key(k)]) if k == "ref" => Expect::Accepted,
                (json::Mutation::Remove { .. }, _) => Expect::Refused,
                (json::Mutation::Replace { value, .. }, path) => expect_replaced(path, value),
                (json::Mutation::Add { key, value, .. }, path) => {
                    // A field added to an object is ignored, unless it was already there or
                    // names the frame's own `type` or `ref`: then it is replaced. Added to a
                    // scalar, the value replaces the scalar.
                    let target = json::node_mut(&mut original.clone(), path).cloned();
                    let mut field = path.to_vec();
                    field.push(Step::Key(key.clone()));
                    match target {
                        Some(Value::Object(fields))
                            if !fields.contains_key(key.as_str())
                                && !(path.is_empty() && (key == "type" || key == "ref")) =>
                        {
                            // Read back as the original frame: the new field is not part of it.
                            return check_expected(&original, Expect::Accepted, &got);
                        }
                        Some(Value::Object(_)) => expect_replaced(&field, value),
                        _ => expect_replaced(path, value),
                    }
                }
            };
            check_expected(&doc, expect, &got)
        },
    );
}

#[test]
fn a_frame_with_extra_fields_parses_as_without_them() {
    let extra = prop::collection::vec((json::key(), json::value()), 1..5);
    fuzz(
        "frames::extra_fields",
        cases(1000, 1),
        (frame(), extra),
        |((reference, message), extra)| {
            let mut doc = encode(&reference, &message);
            let object = doc.as_object_mut().unwrap();
            for (key, value) in extra {
                if !object.contains_key(&key) && key != "type" && key != "ref" {
                    object.insert(key, value);
                }
            }
            let text = doc.to_string();
            let got = parse_and_check(&text)?;
            if text.len() <= MAX_FRAME_BYTES {
                prop_assert_eq!(got, Ok((reference, message)));
            }
            Ok(())
        },
    );
}

/// A session for routing: a guest, maybe queued, maybe in a game.
fn session(in_game: bool, queued: Option<QueueSpec>) -> SessionState {
    let user = UserView {
        id: "u".into(),
        name: "ada".into(),
        rating: 1500,
        guest: true,
        roles: Vec::new(),
    };
    let mut state = SessionState::new(SessionId::generate(), UserId::generate(), user);
    state.game = in_game.then(|| GameId::parse("AbCd_-12").unwrap());
    state.queue = queued;
    state
}

#[test]
fn every_parsed_message_routes_without_a_panic() {
    fuzz(
        "frames::route",
        cases(1000, 1),
        (frame(), any::<bool>(), prop::option::of(queue_spec())),
        |((reference, message), in_game, queued)| {
            let state = session(in_game, queued.clone());
            let anonymous = route(message.clone(), reference.clone(), None, None);
            if !message.allowed_anonymously() {
                prop_assert!(
                    matches!(
                        &anonymous,
                        Route::Reply(client_protocol::ServerMessage::Error {
                            code: ErrorCode::Unauthenticated,
                            ..
                        })
                    ),
                    "{anonymous:?}"
                );
            } else {
                prop_assert!(matches!(anonymous, Route::Authenticate(_)));
            }
            route(message.clone(), reference.clone(), Some(&state), None);
            route(message, reference, Some(&state), queued.as_ref());
            Ok(())
        },
    );
}

// ---- regressions: what the fuzzing found ----------------------------------------------------

/// Found by `extra_fields`: the check that `queue` is an object ran for every message type, so
/// an unknown `queue` field in another message (which must be ignored) refused the frame.
#[test]
fn a_queue_field_is_checked_in_start_matchmaking_and_ignored_elsewhere() {
    let register = r#"{"type":"server/REGISTER_USER","username":"","password":"","queue":false}"#;
    assert_eq!(
        parse(register),
        Ok((
            None,
            ClientMessage::RegisterUser {
                username: String::new(),
                password: String::new()
            }
        ))
    );
    let guest = r#"{"type":"server/GUEST","queue":{"clock":[1,2]}}"#;
    assert_eq!(parse(guest), Ok((None, ClientMessage::Guest)));
    for (queue, says) in [
        (
            r#"["chess",null,false]"#,
            "queue must be an object, not an array",
        ),
        (
            r#"{"game":"chess","clock":[1,2],"rated":false}"#,
            "queue.clock must be an object",
        ),
    ] {
        let text = format!(r#"{{"type":"server/START_MATCHMAKING","queue":{queue}}}"#);
        let err = parse(&text).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidField);
        assert!(err.message.contains(says), "{text}: {}", err.message);
    }
}
