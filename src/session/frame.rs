//! Client frames: parsing one text frame into a message (with the right error code for every
//! way it can be wrong), and the per-connection rate limit. Pure; no I/O.

use std::time::{Duration, Instant};

use client_protocol::{ClientMessage, ErrorCode, MAX_FRAME_BYTES, MAX_REF_CHARS};
use serde_json::Value;

/// A frame that cannot be acted on, and the `client/ERROR` it earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    /// The frame's `ref`, when it had a usable one.
    pub reference: Option<String>,
}

impl FrameError {
    fn new(code: ErrorCode, message: impl Into<String>, reference: Option<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
            reference,
        }
    }
}

/// Parses one text frame. Unknown extra fields are ignored (forward compatibility).
pub fn parse(text: &str) -> Result<(Option<String>, ClientMessage), FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::new(
            ErrorCode::BadFrame,
            format!("frame over {MAX_FRAME_BYTES} bytes"),
            None,
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| FrameError::new(ErrorCode::BadFrame, format!("not JSON: {e}"), None))?;
    let Value::Object(object) = &value else {
        return Err(FrameError::new(
            ErrorCode::BadFrame,
            "a frame must be a JSON object",
            None,
        ));
    };
    let reference = match object.get("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.chars().count() <= MAX_REF_CHARS => Some(r.clone()),
        Some(_) => {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                format!("ref must be a string of at most {MAX_REF_CHARS} characters"),
                None,
            ))
        }
    };
    let kind = match object.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                "type must be a string",
                reference,
            ))
        }
        None => {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                "type is required",
                reference,
            ))
        }
    };
    if kind.starts_with("matchmaker/") {
        return Err(FrameError::new(
            ErrorCode::Forbidden,
            "matchmaker/ messages are internal to the cluster",
            reference,
        ));
    }
    if !ClientMessage::TYPES.contains(&kind) {
        metrics::counter!(crate::telemetry::names::UNKNOWN_TYPES).increment(1);
        return Err(FrameError::new(
            ErrorCode::UnknownType,
            format!("unknown message type {kind:?}"),
            reference,
        ));
    }
    // serde reads a struct from an array too, field by field (`"queue":["chess",null,false]`):
    // the protocol's objects must be objects.
    for (_, path) in OBJECT_FIELDS.iter().filter(|(ty, _)| *ty == kind) {
        let mut field = Some(&value);
        for key in *path {
            field = field.and_then(|f| f.get(key));
        }
        if let Some(field) = field.filter(|f| !f.is_object() && !f.is_null()) {
            let kind = match field {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            };
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                format!("{} must be an object, not {kind}", path.join(".")),
                reference,
            ));
        }
    }
    let message = serde_json::from_value::<ClientMessage>(value)
        .map_err(|e| FrameError::new(ErrorCode::InvalidField, in_words(&e), reference.clone()))?;
    Ok((reference, message))
}

/// The fields of client messages that hold an object, by message type (null where the protocol
/// allows it is left to the message's type). In another type such a field is unknown, and
/// ignored like any other.
const OBJECT_FIELDS: &[(&str, &[&str])] = &[
    ("server/START_MATCHMAKING", &["queue"]),
    ("server/START_MATCHMAKING", &["queue", "clock"]),
];

/// A JSON error as a client author reads it: what was expected in JSON's words (an object, a
/// non-negative integer), never a Rust type name (`struct QueueSpec`, `u64`). Shared by the
/// socket and the HTTP bodies.
pub fn in_words(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // serde_json ends errors read from text with " at line L column C": keep it apart.
    let (head, position) = match text.rfind(" at line ") {
        Some(i) if err.line() > 0 => text.split_at(i),
        _ => (text.as_str(), ""),
    };
    if let Some(rest) = head.strip_prefix("data did not match any variant of untagged enum ") {
        let what = match rest {
            "Move" => "a move: UCI text for chess, a number for the other games",
            _ => "a value of one of the accepted shapes",
        };
        return format!("expected {what}{position}");
    }
    let head = match head.split_once(", expected ") {
        Some((got, expected)) => format!(
            "{}, expected {}",
            got_in_words(got),
            expected_in_words(expected)
        ),
        None => head.to_owned(),
    };
    format!("{head}{position}")
}

/// serde's "invalid type: map" and friends, in JSON's names.
fn got_in_words(got: &str) -> String {
    let Some((kind, value)) = got.split_once(": ") else {
        return got.to_owned();
    };
    let value = match value {
        "map" => "an object",
        "sequence" => "an array",
        "unit value" => "null",
        "Option value" => "a value",
        other => other,
    };
    format!("{kind}: {value}")
}

/// What serde says it expected, in JSON's words.
fn expected_in_words(expected: &str) -> String {
    let words = match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "a borrowed string" | "a string" | "string" => "a string",
        "char" => "a single character",
        "unit" => "null",
        "a sequence" => "an array",
        "a map" => "an object",
        "option" => "a value or null",
        e if e.starts_with("struct ")
            || e.starts_with("struct variant ")
            || e.starts_with("internally tagged enum ")
            || e.starts_with("adjacently tagged enum ") =>
        {
            "an object"
        }
        e if e.starts_with("tuple struct ") || e.starts_with("tuple variant ") => "an array",
        e if e.starts_with("enum ") => "a string naming one of its values",
        other => other,
    };
    words.to_owned()
}

/// What the rate limiter says about one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over the limit: answer `rate_limited` and drop the message.
    Drop,
    /// Over the limit for too long: close the socket (1008).
    Close,
}

/// A token bucket: `per_sec` sustained, `burst` at once. A client that keeps going over the
/// limit (drops less than a second apart) for `close_after` is closed; a second without a
/// drop forgives it.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    close_after: Duration,
    tokens: f64,
    last: Instant,
    /// When the current run of drops began, and the latest drop in it.
    over_since: Option<(Instant, Instant)>,
}

/// Drops further apart than this end a run of limiting.
const FORGIVE_AFTER: Duration = Duration::from_secs(1);

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32, close_after: Duration, now: Instant) -> Self {
        RateLimiter {
            per_sec: per_sec as f64,
            burst: burst.max(1) as f64,
            close_after,
            tokens: burst.max(1) as f64,
            last: now,
            over_since: None,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * self.per_sec;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if let Some((_, last_drop)) = self.over_since {
            if now.saturating_duration_since(last_drop) >= FORGIVE_AFTER {
                self.over_since = None;
            }
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        let since = self.over_since.map_or(now, |(since, _)| since);
        self.over_since = Some((since, now));
        if now.saturating_duration_since(since) >= self.close_after {
            Verdict::Close
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_malformed_frame_gets_its_own_code() {
        let big = format!(
            r#"{{"type":"server/GUEST","pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        let long_ref = format!(r#"{{"type":"server/GUEST","ref":"{}"}}"#, "r".repeat(65));
        let cases: &[(&str, ErrorCode)] = &[
            ("not json", ErrorCode::BadFrame),
            ("[1,2]", ErrorCode::BadFrame),
            ("\"text\"", ErrorCode::BadFrame),
            (&big, ErrorCode::BadFrame),
            (r#"{"ref":"a"}"#, ErrorCode::InvalidField),
            (r#"{"type":7}"#, ErrorCode::InvalidField),
            (&long_ref, ErrorCode::InvalidField),
            (r#"{"type":"server/NOPE"}"#, ErrorCode::UnknownType),
            (r#"{"type":"matchmaker/PAIR"}"#, ErrorCode::Forbidden),
            (
                r#"{"type":"game/PLAYER_MOVE","game":"g","move":"e2e4"}"#,
                ErrorCode::InvalidField,
            ),
            (
                r#"{"type":"game/PLAYER_MOVE","game":"g","seq":"one","move":"e2e4"}"#,
                ErrorCode::InvalidField,
            ),
            (
                r#"{"type":"server/REPLY_MATCHUP","matchup":"m","accept":"yes"}"#,
                ErrorCode::InvalidField,
            ),
        ];
        for (text, code) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.code, *code, "{text}: {}", err.message);
        }
    }

    #[test]
    fn field_errors_say_what_is_expected_without_rust_type_names() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"type":"game/PLAYER_MOVE","game":"g","seq":"one","move":"e2e4"}"#,
                "expected a non-negative integer",
            ),
            (
                r#"{"type":"game/PLAYER_MOVE","game":"g","seq":0,"move":{"from":"e2"}}"#,
                "expected a move",
            ),
            (
                r#"{"type":"server/START_MATCHMAKING","queue":5}"#,
                "queue must be an object, not a number",
            ),
            (
                r#"{"type":"server/START_MATCHMAKING","queue":{"game":"chess","clock":[1,2],"rated":false}}"#,
                "queue.clock must be an object, not an array",
            ),
            (
                r#"{"type":"server/START_MATCHMAKING","queue":{"game":"chess","clock":null}}"#,
                "missing field `rated`",
            ),
            (
                r#"{"type":"server/REPLY_MATCHUP","matchup":"m","accept":"yes"}"#,
                "expected a boolean",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.code, ErrorCode::InvalidField, "{text}");
            assert!(err.message.contains(expected), "{text}: {}", err.message);
            for rust in [
                "struct",
                "enum",
                "u64",
                "u32",
                "QueueSpec",
                "ClockSpec",
                "Move",
            ] {
                assert!(
                    !err.message.contains(rust),
                    "{text}: no Rust type name in {:?}",
                    err.message
                );
            }
        }
    }

    #[test]
    fn the_ref_is_kept_on_errors_after_it_was_read() {
        let err = parse(r#"{"type":"server/NOPE","ref":"r1"}"#).unwrap_err();
        assert_eq!(err.reference.as_deref(), Some("r1"));
    }

    #[test]
    fn unknown_extra_fields_are_ignored() {
        let (reference, message) =
            parse(r#"{"type":"server/GUEST","ref":"x","future":1}"#).unwrap();
        assert_eq!(reference.as_deref(), Some("x"));
        assert_eq!(message, ClientMessage::Guest);
    }

    #[test]
    fn a_sustained_flood_is_closed_even_though_some_messages_get_through() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10, 1, Duration::from_secs(2), start);
        let mut verdicts = Vec::new();
        for i in 0..60 {
            // 20 messages/s against 10/s for 3 s: every other one passes.
            verdicts.push(limiter.check(start + Duration::from_millis(50 * i)));
        }
        assert!(verdicts.contains(&Verdict::Allow));
        assert_eq!(verdicts.last(), Some(&Verdict::Close), "{verdicts:?}");
    }

    #[test]
    fn the_limiter_allows_a_burst_then_drops_then_closes() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20, 40, Duration::from_secs(10), start);
        for _ in 0..40 {
            assert_eq!(limiter.check(start), Verdict::Allow);
        }
        assert_eq!(limiter.check(start), Verdict::Drop);
        assert_eq!(
            limiter.check(start + Duration::from_millis(60)),
            Verdict::Allow,
            "refilled one token"
        );
        assert_eq!(
            limiter.check(start + Duration::from_millis(60)),
            Verdict::Drop
        );
        assert_eq!(
            limiter.check(start + Duration::from_secs(11)),
            Verdict::Allow
        );
        let mut limiter = RateLimiter::new(0, 1, Duration::from_secs(10), start);
        assert_eq!(limiter.check(start), Verdict::Allow);
        for half_seconds in 0..20 {
            let verdict = limiter.check(start + Duration::from_millis(500 * half_seconds));
            assert_eq!(verdict, Verdict::Drop, "at {half_seconds} half-seconds");
        }
        assert_eq!(
            limiter.check(start + Duration::from_secs(10)),
            Verdict::Close
        );
    }
}
