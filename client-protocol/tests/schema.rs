//! The committed JSON Schema (`schema/rookery.schema.json`) matches the wire types: regenerate
//! it with `UPDATE_SCHEMA=1 cargo test -p client-protocol --features schema`.
#![cfg(feature = "schema")]

use std::path::Path;

use client_protocol::http::{
    ApiError, AuthResponse, Credentials, GameRecord, QueueSize, UserProfile,
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
    generator.subschema_for::<ApiError>();
    generator.subschema_for::<UserProfile>();
    generator.subschema_for::<GameRecord>();
    generator.subschema_for::<QueueSize>();
    let defs = generator.take_definitions(true);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rookery wire protocol v1",
        "description": "Every websocket frame (ClientFrame: what clients send; ServerFrame: what nodes send) and every HTTP body in $defs. Generated from the Rust types of the client-protocol crate: UPDATE_SCHEMA=1 cargo test -p client-protocol --features schema",
        "oneOf": [client, server],
        "$defs": defs,
    })
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
