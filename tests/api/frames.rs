//! Frame rules on a signed-in socket: each malformed frame earns its own `client/ERROR` code and
//! leaves the socket working, unknown extra fields are ignored, replies echo `ref`, and the
//! per-connection rate limit drops messages and finally closes a socket that stays past it.

use std::time::Duration;

use rookery_testkit::{RawFrame, Socket};
use serde_json::{json, Value};

use crate::helpers::*;

/// The protocol's largest frame: 16 KiB.
const MAX_FRAME: usize = 16 * 1024;

/// A valid message that always gets an answer on a signed-in socket that is in no queue:
/// `client/ERROR` `not_in_queue` echoing `reference`.
fn probe(reference: &str) -> Value {
    json!({"type": "server/CANCEL_MATCHMAKING", "ref": reference})
}

/// Proves the socket still serves messages after whatever came before.
async fn assert_still_works(client: &mut Client, reference: &str, case: &str) {
    client.send(probe(reference)).await;
    let reply = client.next_is("client/ERROR").await;
    assert_eq!(
        reply["code"], "not_in_queue",
        "{case}: the socket keeps working: {reply}"
    );
    assert_eq!(reply["ref"], reference, "{case}: {reply}");
}

/// `{"type":"server/CANCEL_MATCHMAKING","ref":<reference>,"pad":"xxx..."}` of exactly `len` bytes.
fn padded_probe(reference: &str, len: usize) -> String {
    let empty =
        json!({"type": "server/CANCEL_MATCHMAKING", "ref": reference, "pad": ""}).to_string();
    let frame = json!({"type": "server/CANCEL_MATCHMAKING", "ref": reference, "pad": "x".repeat(len - empty.len())})
        .to_string();
    assert_eq!(frame.len(), len);
    frame
}

enum Frame {
    Text(String),
    Binary(&'static str),
}

impl Frame {
    fn text(s: &str) -> Frame {
        Frame::Text(s.to_owned())
    }
}

/// A node whose rate limit stays out of the way of a long table of frames.
async fn unlimited_app() -> TestApp {
    spawn_app_with(|c| {
        c.rate_per_sec = 10_000;
        c.rate_burst = 10_000;
    })
    .await
}

#[actix_web::test]
async fn each_malformed_frame_is_answered_with_its_code_and_the_socket_keeps_working() {
    let app = unlimited_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    let long_ref = "r".repeat(65);
    // (case, frame, code, the ref the error must echo)
    let cases: Vec<(&str, Frame, &str, Option<&str>)> = vec![
        ("not JSON", Frame::text("not json"), "bad_frame", None),
        (
            "truncated JSON",
            Frame::text(r#"{"type":"server/CANCEL_MATCHMAKING","ref":"t"#),
            "bad_frame",
            None,
        ),
        ("an empty frame", Frame::text(""), "bad_frame", None),
        (
            "a JSON array",
            Frame::text(r#"[{"type":"server/CANCEL_MATCHMAKING","ref":"a"}]"#),
            "bad_frame",
            None,
        ),
        (
            "a JSON string",
            Frame::text(r#""server/CANCEL_MATCHMAKING""#),
            "bad_frame",
            None,
        ),
        ("a JSON number", Frame::text("42"), "bad_frame", None),
        ("JSON null", Frame::text("null"), "bad_frame", None),
        (
            "one byte over 16 KiB",
            Frame::Text(padded_probe("big", MAX_FRAME + 1)),
            "bad_frame",
            None,
        ),
        (
            "64 KiB",
            Frame::Text(padded_probe("bigger", 4 * MAX_FRAME)),
            "bad_frame",
            None,
        ),
        (
            "a binary frame holding JSON",
            Frame::Binary(r#"{"type":"server/CANCEL_MATCHMAKING"}"#),
            "bad_frame",
            None,
        ),
        (
            "an unknown server/ type",
            Frame::text(r#"{"type":"server/NOPE","ref":"u1"}"#),
            "unknown_type",
            Some("u1"),
        ),
        (
            "an unknown game/ type",
            Frame::text(r#"{"type":"game/TELEPORT","ref":"u2"}"#),
            "unknown_type",
            Some("u2"),
        ),
        (
            "an unknown namespace",
            Frame::text(r#"{"type":"lobby/JOIN","ref":"u3"}"#),
            "unknown_type",
            Some("u3"),
        ),
        (
            "a type without namespace",
            Frame::text(r#"{"type":"GUEST","ref":"u4"}"#),
            "unknown_type",
            Some("u4"),
        ),
        (
            "a missing type",
            Frame::text(r#"{"ref":"t1","game":"abcdefgh"}"#),
            "invalid_field",
            Some("t1"),
        ),
        (
            "a type that is not a string",
            Frame::text(r#"{"type":7,"ref":"t2"}"#),
            "invalid_field",
            Some("t2"),
        ),
        (
            "PLAYER_MOVE without seq",
            Frame::text(
                r#"{"type":"game/PLAYER_MOVE","ref":"f1","game":"abcdefgh","move":"e2e4"}"#,
            ),
            "invalid_field",
            Some("f1"),
        ),
        (
            "PLAYER_MOVE without game",
            Frame::text(r#"{"type":"game/PLAYER_MOVE","ref":"f2","seq":0,"move":"e2e4"}"#),
            "invalid_field",
            Some("f2"),
        ),
        (
            "REPLY_MATCHUP without accept",
            Frame::text(r#"{"type":"server/REPLY_MATCHUP","ref":"f3","matchup":"m"}"#),
            "invalid_field",
            Some("f3"),
        ),
        (
            "seq as a string",
            Frame::text(
                r#"{"type":"game/PLAYER_MOVE","ref":"w1","game":"abcdefgh","seq":"0","move":"e2e4"}"#,
            ),
            "invalid_field",
            Some("w1"),
        ),
        (
            "a negative seq",
            Frame::text(
                r#"{"type":"game/PLAYER_MOVE","ref":"w2","game":"abcdefgh","seq":-1,"move":"e2e4"}"#,
            ),
            "invalid_field",
            Some("w2"),
        ),
        (
            "accept as a string",
            Frame::text(
                r#"{"type":"server/REPLY_MATCHUP","ref":"w3","matchup":"m","accept":"yes"}"#,
            ),
            "invalid_field",
            Some("w3"),
        ),
        (
            "game as a number",
            Frame::text(r#"{"type":"game/PLAYER_READY","ref":"w4","game":12345678}"#),
            "invalid_field",
            Some("w4"),
        ),
        (
            "a queue for an unknown game",
            Frame::text(
                r#"{"type":"server/START_MATCHMAKING","ref":"w5","queue":{"game":"checkers","clock":null,"rated":false}}"#,
            ),
            "invalid_field",
            Some("w5"),
        ),
        (
            "a ref over 64 characters",
            Frame::Text(probe(&long_ref).to_string()),
            "invalid_field",
            None,
        ),
        (
            "a ref that is not a string",
            Frame::text(r#"{"type":"server/CANCEL_MATCHMAKING","ref":5}"#),
            "invalid_field",
            None,
        ),
        (
            "a matchmaker/ message",
            Frame::text(r#"{"type":"matchmaker/ENQUEUE","ref":"mm1"}"#),
            "forbidden",
            Some("mm1"),
        ),
        (
            "matchmaker/ANYTHING",
            Frame::text(r#"{"type":"matchmaker/ANYTHING","ref":"mm2"}"#),
            "forbidden",
            Some("mm2"),
        ),
    ];

    for (i, (case, frame, code, reference)) in cases.into_iter().enumerate() {
        match frame {
            Frame::Text(text) => client.send_text(&text).await,
            Frame::Binary(bytes) => client.send_binary(bytes.as_bytes()).await,
        }
        let error = client.next_is("client/ERROR").await;
        assert_eq!(error["code"], code, "{case}: {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{case}: a message: {error}"
        );
        match reference {
            Some(reference) => {
                assert_eq!(error["ref"], reference, "{case}: echoes the ref: {error}")
            }
            None => assert!(
                error.get("ref").is_none(),
                "{case}: no usable ref to echo: {error}"
            ),
        }
        assert_still_works(&mut client, &format!("probe-{i}"), case).await;
    }
}

#[actix_web::test]
async fn frames_at_the_limits_are_handled_normally() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    let ascii_ref = "r".repeat(64);
    let wide_ref = "é".repeat(64);
    let cases: [(&str, String, &str); 3] = [
        (
            "exactly 16 KiB",
            padded_probe("exactly", MAX_FRAME),
            "exactly",
        ),
        (
            "a ref of 64 characters",
            probe(&ascii_ref).to_string(),
            &ascii_ref,
        ),
        (
            "a ref of 64 two-byte characters",
            probe(&wide_ref).to_string(),
            &wide_ref,
        ),
    ];

    for (case, text, reference) in cases {
        client.send_text(&text).await;
        let reply = client.next_is("client/ERROR").await;
        assert_eq!(
            reply["code"], "not_in_queue",
            "{case}: handled as a valid message: {reply}"
        );
        assert_eq!(reply["ref"], reference, "{case}");
    }
}

#[actix_web::test]
async fn a_frame_with_unknown_extra_fields_is_accepted_normally() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;

    client
        .send(json!({
            "type": "server/START_MATCHMAKING",
            "ref": "join",
            "queue": {"game": "connect4", "clock": null, "rated": false, "variant": "pop-out"},
            "clientVersion": "9.9.9",
            "future": {"nested": [1, 2, 3]},
        }))
        .await;
    let queued = client.next_is("client/QUEUED").await;
    client
        .send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "leave", "why": "bored"}))
        .await;
    let left = client.next_is("client/QUEUE_LEFT").await;

    assert_eq!(queued["ref"], "join");
    assert_eq!(queued["queue"]["game"], "connect4");
    assert_eq!(left["ref"], "leave");
    assert_eq!(left["reason"], "cancelled");
}

#[actix_web::test]
async fn every_reply_echoes_the_ref_of_the_message_it_answers() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    let q = queue("tictactoe");
    let exchanges = [
        (
            json!({"type": "server/START_MATCHMAKING", "queue": q, "ref": "q1"}),
            "client/QUEUED",
        ),
        (
            json!({"type": "server/START_MATCHMAKING", "queue": q, "ref": "q2"}),
            "client/ALREADY_IN_QUEUE",
        ),
        (
            json!({"type": "server/CANCEL_MATCHMAKING", "ref": "c1"}),
            "client/QUEUE_LEFT",
        ),
        (
            json!({"type": "server/CANCEL_MATCHMAKING", "ref": "c2"}),
            "client/ERROR",
        ),
        (
            json!({"type": "server/REPLY_MATCHUP", "matchup": "nope", "accept": true, "ref": "r1"}),
            "client/ERROR",
        ),
    ];

    for (message, reply_type) in exchanges {
        client.send(message.clone()).await;
        let reply = client.next_is(reply_type).await;
        assert_eq!(reply["ref"], message["ref"], "{message} -> {reply}");
    }
}

// ---------------------------------------------------------------------------------------------
// The transport: frames past what the codec takes, UTF-8, fragmentation

/// The transport's limit: a frame (or a fragmented message) past it is refused.
const TRANSPORT_LIMIT: usize = 1024 * 1024;

#[actix_web::test]
async fn a_text_frame_over_one_mib_is_told_bad_frame_then_closed_with_1009() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;

    client
        .send_text(&padded_probe("huge", TRANSPORT_LIMIT + 1))
        .await;

    let error = client.next_is("client/ERROR").await;
    assert_eq!(error["code"], "bad_frame", "{error}");
    assert_eq!(client.closed().await, Closed::Code(1009));
}

#[actix_web::test]
async fn a_text_frame_with_invalid_utf8_is_told_bad_frame_then_closed_with_1007() {
    let app = spawn_app().await;
    let who = app.guest().await;
    // A single frame, and the same bytes split over a fragmented message.
    for fragmented in [false, true] {
        let mut client = app.connect(&who).await;
        let mut bytes = br#"{"type":"server/CANCEL_MATCHMAKING","ref":""#.to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(br#""}"#);
        let socket = client.socket();
        if fragmented {
            let (first, rest) = bytes.split_at(10);
            socket
                .send_raw_frame(RawFrame::Text, first, false)
                .await
                .unwrap();
            socket
                .send_raw_frame(RawFrame::Continuation, rest, true)
                .await
                .unwrap();
        } else {
            socket
                .send_raw_frame(RawFrame::Text, bytes, true)
                .await
                .unwrap();
        }

        let error = client.next_is("client/ERROR").await;
        assert_eq!(
            error["code"], "bad_frame",
            "fragmented {fragmented}: {error}"
        );
        assert!(
            error["message"].as_str().unwrap().contains("UTF-8"),
            "says why: {error}"
        );
        assert_eq!(
            client.closed().await,
            Closed::Code(1007),
            "fragmented {fragmented}"
        );
    }
}

#[actix_web::test]
async fn a_fragmented_message_is_joined_and_one_over_the_limit_is_skipped_with_the_socket_open() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;

    // A valid message in three fragments is one message.
    let whole = probe("joined").to_string();
    let (a, rest) = whole.as_bytes().split_at(5);
    let (b, c) = rest.split_at(7);
    let socket = client.socket();
    socket
        .send_raw_frame(RawFrame::Text, a, false)
        .await
        .unwrap();
    socket
        .send_raw_frame(RawFrame::Continuation, b, false)
        .await
        .unwrap();
    socket
        .send_raw_frame(RawFrame::Continuation, c, true)
        .await
        .unwrap();
    let reply = client.next_is("client/ERROR").await;
    assert_eq!(
        reply["code"], "not_in_queue",
        "handled as one message: {reply}"
    );
    assert_eq!(reply["ref"], "joined");

    // Three fragments of 512 KiB each: over the limit after the second; the third is skipped.
    let chunk = vec![b' '; TRANSPORT_LIMIT / 2];
    let socket = client.socket();
    socket
        .send_raw_frame(RawFrame::Text, chunk.clone(), false)
        .await
        .unwrap();
    socket
        .send_raw_frame(RawFrame::Continuation, chunk.clone(), false)
        .await
        .unwrap();
    socket
        .send_raw_frame(RawFrame::Continuation, b"x".to_vec(), false)
        .await
        .unwrap();
    socket
        .send_raw_frame(RawFrame::Continuation, chunk, true)
        .await
        .unwrap();
    let error = client.next_is("client/ERROR").await;
    assert_eq!(error["code"], "bad_frame", "{error}");
    assert_still_works(&mut client, "after-skip", "a skipped oversized message").await;
}

// ---------------------------------------------------------------------------------------------
// The rate limit

/// 1 message/s sustained, bursts of 5: a test can go past it at once and quickly refill.
fn tight_limit(c: &mut rookery::Config) {
    c.rate_per_sec = 1;
    c.rate_burst = 5;
}

#[actix_web::test]
async fn a_burst_past_the_rate_limit_is_answered_with_rate_limited_and_dropped() {
    let app = spawn_app_with(tight_limit).await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;

    for i in 0..10 {
        client.send(probe(&format!("b{i}"))).await;
    }
    // Past the limit now: this one must be dropped, not queued.
    client
        .send(
            json!({"type": "server/START_MATCHMAKING", "queue": queue("chess"), "ref": "dropped"}),
        )
        .await;
    let mut limited = 0;
    for i in 0..11 {
        let reply = client.next_is("client/ERROR").await;
        match reply["code"].as_str() {
            Some("rate_limited") => limited += 1,
            Some("not_in_queue") => assert_eq!(reply["ref"], format!("b{i}"), "in order: {reply}"),
            _ => panic!("message {i}: {reply}"),
        }
    }

    assert!(
        limited >= 1,
        "a burst of 11 past a burst allowance of 5: {:#?}",
        client.seen
    );
    assert!(
        limited <= 6,
        "the first 5 are within the burst: {:#?}",
        client.seen
    );
    // Once the bucket refills (1/s), the socket is served again, and the dropped join never happened.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_still_works(&mut client, "refilled", "after the refill").await;
}

#[actix_web::test]
async fn a_rate_limited_error_echoes_the_ref_of_the_dropped_message() {
    let app = spawn_app_with(tight_limit).await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;

    for i in 0..10 {
        client.send(probe(&format!("b{i}"))).await;
    }
    let replies: Vec<Value> = {
        let mut replies = Vec::new();
        for _ in 0..10 {
            replies.push(client.next_is("client/ERROR").await);
        }
        replies
    };

    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(
            reply["ref"],
            format!("b{i}"),
            "every client/ERROR caused by a message echoes its ref: {reply}"
        );
    }
    assert!(
        replies.iter().any(|r| r["code"] == "rate_limited"),
        "{replies:#?}"
    );
}

/// Sends a probe every `every` for `flood_for` (tolerating a socket that has gone), reading all
/// along, and returns how the socket ended and how many `rate_limited` errors came first.
async fn flood_until_closed(
    socket: &mut Socket,
    every: Duration,
    flood_for: Duration,
) -> (Closed, usize) {
    use tokio::time::{timeout_at, Instant};
    let start = Instant::now();
    let (stop_sending, give_up) = (start + flood_for, start + flood_for + WAIT);
    let mut next_send = start;
    let mut sending = true;
    let (mut sent, mut limited) = (0, 0);
    loop {
        if sending && Instant::now() >= next_send {
            sent += 1;
            let frame = probe(&format!("flood-{sent}"));
            sending = socket.send_json(&frame).await.is_ok() && Instant::now() < stop_sending;
            next_send += every;
        }
        let until = if sending { next_send } else { give_up };
        match timeout_at(until, socket.next_text()).await {
            Err(_) if sending => {}
            Err(_) => panic!(
                "not closed within {WAIT:?} of the end of the flood ({limited} rate_limited)"
            ),
            Ok(Ok(text)) => {
                let reply: Value = serde_json::from_str(&text).expect("JSON");
                if reply["code"] == "rate_limited" {
                    limited += 1;
                }
            }
            Ok(Err(closed)) => return (closed, limited),
        }
    }
}

#[actix_web::test]
async fn a_socket_that_stays_past_the_rate_limit_is_closed_with_1008() {
    let app = spawn_app_with(|c| {
        tight_limit(c);
        c.rate_close_after_ms = 1500;
    })
    .await;
    let who = app.guest().await;
    let mut client = app.connect_raw(&who.ws_path()).await;
    let socket = client.socket();
    for i in 0..10 {
        socket
            .send_json(&probe(&format!("burst-{i}")))
            .await
            .expect("send");
    }

    // 10 messages/s against 1/s, for well past the configured 1.5 s.
    let (closed, limited) = flood_until_closed(
        socket,
        Duration::from_millis(100),
        Duration::from_millis(2500),
    )
    .await;

    assert!(limited >= 1, "rate_limited errors came before the close");
    assert_eq!(closed, Closed::Code(1008));
}
