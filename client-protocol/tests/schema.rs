//! The committed JSON Schema (`schema/rookery.schema.json`) matches the wire types and the
//! numbers of `src/constants.rs` (`$defs/Constants`), and the SDK's generated `js/protocol.js`
//! holds the same numbers: regenerate the schema with
//! `UPDATE_SCHEMA=1 cargo test -p client-protocol --features schema`, then `npm run gen-types`
//! in `js/`.
#![cfg(feature = "schema")]

use std::path::Path;

use client_protocol::admin::{AdminUserView, AuditPage, AuditVerify, RolesBody, SanctionBody};
use client_protocol::constants::*;
use client_protocol::http::{
    ApiError, AuthResponse, Credentials, GameRecord, QueueSize, RefreshRequest, UserProfile,
};
use client_protocol::{ClientFrame, ServerFrame};
use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

/// The whole protocol in one document: a socket frame is a `ClientFrame` or a `ServerFrame`,
/// and `$defs` also holds every HTTP body.
fn generate() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let client = generator.subschema_for::<ClientFrame>();
    let server = generator.subschema_for::<ServerFrame>();
    generator.subschema_for::<Credentials>();
    generator.subschema_for::<AuthResponse>();
    generator.subschema_for::<RefreshRequest>();
    generator.subschema_for::<ApiError>();
    generator.subschema_for::<UserProfile>();
    generator.subschema_for::<GameRecord>();
    generator.subschema_for::<QueueSize>();
    generator.subschema_for::<AuditPage>();
    generator.subschema_for::<AuditVerify>();
    generator.subschema_for::<RolesBody>();
    generator.subschema_for::<SanctionBody>();
    generator.subschema_for::<AdminUserView>();
    let mut defs = generator.take_definitions(true);
    defs.insert("Constants".into(), constants_schema());
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rookery wire protocol v1",
        "description": "Every websocket frame (ClientFrame: what clients send; ServerFrame: what nodes send) and every HTTP body in $defs, and the protocol's numbers in $defs/Constants. Generated from the Rust types of the client-protocol crate: UPDATE_SCHEMA=1 cargo test -p client-protocol --features schema",
        "oneOf": [client, server],
        "$defs": defs,
    })
}

/// Every `pub const` of `src/constants.rs` with its value. The names and doc comments are read
/// from the source; each constant there must have its row here.
fn constant_values() -> Vec<(&'static str, Value)> {
    vec![
        ("CLOSE_POLICY", json!(CLOSE_POLICY)),
        ("CLOSE_RESTART", json!(CLOSE_RESTART)),
        ("CLOSE_NETWORK_CHANGED", json!(CLOSE_NETWORK_CHANGED)),
        ("CLOSE_TAKEN_OVER", json!(CLOSE_TAKEN_OVER)),
        ("CLOSE_BANNED", json!(CLOSE_BANNED)),
        ("NO_RECONNECT_CLOSE_CODES", json!(NO_RECONNECT_CLOSE_CODES)),
        ("MAX_FRAME_BYTES", json!(MAX_FRAME_BYTES)),
        ("MAX_REF_CHARS", json!(MAX_REF_CHARS)),
        ("USERNAME_MIN_CHARS", json!(USERNAME_MIN_CHARS)),
        ("USERNAME_MAX_CHARS", json!(USERNAME_MAX_CHARS)),
        ("PASSWORD_MIN_CHARS", json!(PASSWORD_MIN_CHARS)),
        ("PASSWORD_MAX_CHARS", json!(PASSWORD_MAX_CHARS)),
        ("READY_TIMEOUT_MS", json!(READY_TIMEOUT_MS)),
        ("REQUEST_TIMEOUT_MS", json!(REQUEST_TIMEOUT_MS)),
        (
            "RECONNECT_INITIAL_DELAY_MS",
            json!(RECONNECT_INITIAL_DELAY_MS),
        ),
        ("RECONNECT_MAX_DELAY_MS", json!(RECONNECT_MAX_DELAY_MS)),
        ("RECONNECT_FACTOR", json!(RECONNECT_FACTOR)),
        ("RECONNECT_JITTER_PERCENT", json!(RECONNECT_JITTER_PERCENT)),
    ]
}

/// The `pub const`s of `src/constants.rs` in source order, each with its doc comment (lines
/// joined with spaces, paragraphs with a newline).
fn constant_docs() -> Vec<(String, String)> {
    let source = include_str!("../src/constants.rs");
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in source.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            let name = rest.split(':').next().expect("a name").trim().to_owned();
            let paragraphs: Vec<String> = doc
                .split(|line| line.is_empty())
                .map(|lines| lines.join(" "))
                .filter(|p| !p.is_empty())
                .collect();
            let text = paragraphs.join("\n");
            assert!(!text.is_empty(), "constants.rs: {name} has no doc comment");
            out.push((name, text));
            doc.clear();
        } else {
            doc.clear();
        }
    }
    out
}

/// `$defs/Constants`: the numbers as one object schema, each a `const` with its doc.
fn constants_schema() -> Value {
    let values = constant_values();
    let docs = constant_docs();
    let listed: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
    let declared: Vec<&str> = docs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        declared, listed,
        "every pub const of src/constants.rs, in order, needs its row in constant_values() in tests/schema.rs"
    );
    let mut properties = serde_json::Map::new();
    for ((name, value), (_, doc)) in values.into_iter().zip(docs) {
        properties.insert(name.into(), json!({ "const": value, "description": doc }));
    }
    json!({
        "description": "Not a message: the protocol's numbers (close codes, limits, timers) from client-protocol/src/constants.rs, one property each. The SDK's js/protocol.js is generated from them (npm run gen-types).",
        "type": "object",
        "properties": properties,
        "required": listed,
        "additionalProperties": false,
    })
}

#[test]
fn the_sdk_protocol_js_has_the_constants() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/protocol.js");
    let js = std::fs::read_to_string(&path).unwrap_or_default();
    for (name, value) in constant_values() {
        let prefix = format!("export const {name} = ");
        let line = js.lines().find(|l| l.starts_with(&prefix));
        let value = value.to_string();
        assert!(
            line.is_some_and(|l| l[prefix.len()..].contains(&value)),
            "{} does not export {name} = {value}: regenerate the schema (UPDATE_SCHEMA=1 cargo test -p client-protocol --features schema), then `npm run gen-types` in client-protocol/js",
            path.display()
        );
    }
}

#[test]
fn the_committed_schema_matches_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/rookery.schema.json");
    let fresh = serde_json::to_string_pretty(&generate()).expect("schema serialises") + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("schema dir");
        std::fs::write(&path, &fresh).expect("schema written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is out of date with the wire types in client-protocol/src.\n\
         Regenerate it with: UPDATE_SCHEMA=1 cargo test -p client-protocol --features schema",
        path.display()
    );
}

#[test]
fn every_message_type_is_in_the_schema() {
    let text = generate().to_string();
    for ty in client_protocol::ClientMessage::TYPES {
        assert!(text.contains(&format!("\"{ty}\"")), "{ty} missing");
    }
}
