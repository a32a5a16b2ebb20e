//! The hash chain: each event's `hash` is SHA-256 (hex) over the previous event's hash (hex,
//! empty for the first event) followed by the event's canonical JSON (the event without
//! `hash`, keys sorted, no whitespace, UTF-8: RFC 8785 for these types, which hold no
//! floats). Appending chains new events onto the store's head; verifying walks the chain.

use sha2::{Digest, Sha256};

use super::{AuditError, AuditEvent, AuditStore, NewEvent};
pub use client_protocol::admin::AuditVerify as Verified;

/// The canonical JSON of an event, without its hash.
pub fn canonical(event: &AuditEvent) -> String {
    let mut value = serde_json::to_value(event).expect("an audit event serialises");
    if let serde_json::Value::Object(map) = &mut value {
        map.remove("hash");
    }
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out
}

/// Writes `value` with object keys sorted by their UTF-16 code units (RFC 8785), whatever
/// order the map keeps them in.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The hash of `event` chained after `previous`.
pub fn hash(previous: &str, event: &AuditEvent) -> String {
    let mut sha = Sha256::new();
    sha.update(previous.as_bytes());
    sha.update(canonical(event).as_bytes());
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `events` as they follow `head` (id and hash of the newest stored event, if any).
fn chained(head: &Option<(u64, String)>, events: &[NewEvent]) -> Vec<AuditEvent> {
    let (mut id, mut previous) = head.clone().unwrap_or((0, String::new()));
    events
        .iter()
        .map(|e| {
            id += 1;
            let mut event = AuditEvent {
                id,
                at: e.at,
                kind: e.kind,
                actor: e.actor.clone(),
                target: e.target.clone(),
                ip: e.ip.clone(),
                outcome: e.outcome,
                details: e.details.clone(),
                hash: String::new(),
            };
            event.hash = hash(&previous, &event);
            previous = event.hash.clone();
            event
        })
        .collect()
}

/// Appends `events` to the chain, in order: chained onto the head, inserted, and chained
/// again onto the new head for whatever another writer's events displaced.
pub async fn append(store: &dyn AuditStore, events: &[NewEvent]) -> Result<(), AuditError> {
    let mut rest = events;
    // Each lost race means another writer made progress, so this ends; the bound is a guard.
    for _ in 0..1000 {
        if rest.is_empty() {
            return Ok(());
        }
        let head = store.head().await?;
        let batch = chained(&head, rest);
        match store.insert(&batch).await {
            Ok(()) => return Ok(()),
            Err(AuditError::Taken(id)) => {
                let first = batch[0].id;
                rest = &rest[(id - first) as usize..];
            }
            Err(e) => return Err(e),
        }
    }
    Err(AuditError::Unavailable(
        "audit chain contended for too long".into(),
    ))
}

/// Walks the whole chain from its anchor: the first event whose id does not follow, or
/// whose hash does not match its content and its predecessor, is `firstBad`.
pub async fn verify(store: &dyn AuditStore) -> Result<Verified, AuditError> {
    const PAGE: u32 = 1000;
    let (mut last, mut previous) = store.anchor().await?.unwrap_or((0, String::new()));
    let mut checked = 0;
    loop {
        let page = store.scan(last, PAGE).await?;
        let done = page.len() < PAGE as usize;
        for event in page {
            checked += 1;
            if event.id != last + 1 || hash(&previous, &event) != event.hash {
                return Ok(Verified {
                    ok: false,
                    checked,
                    first_bad: Some(event.id),
                });
            }
            last = event.id;
            previous = event.hash;
        }
        if done {
            return Ok(Verified {
                ok: true,
                checked,
                first_bad: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditOutcome, AuditType, Detail};

    fn event() -> NewEvent {
        NewEvent::new(AuditType::Ban, AuditOutcome::Ok)
            .actor("bob")
            .target("eve")
            .text("reason", "griefing \"a lot\"")
            .detail("durationMs", Detail::Int(3_600_000))
    }

    #[test]
    fn canonical_json_sorts_keys_and_has_no_whitespace() {
        let mut e = chained(&None, &[event()]).remove(0);
        e.at = 5;
        assert_eq!(
            canonical(&e),
            r#"{"actor":"bob","at":5,"details":{"durationMs":3600000,"reason":"griefing \"a lot\""},"id":1,"ip":null,"outcome":"ok","target":"eve","type":"ban"}"#
        );
    }

    #[test]
    fn each_hash_covers_the_previous_one() {
        let events = chained(&None, &[event(), event()]);
        assert_eq!(events[0].hash, hash("", &events[0]));
        assert_eq!(events[1].hash, hash(&events[0].hash, &events[1]));
        let after = chained(&Some((1, events[0].hash.clone())), &[event()]);
        assert_eq!(after[0].id, 2);
        assert_eq!(after[0].hash, hash(&events[0].hash, &after[0]));
        assert_eq!(events[0].hash.len(), 64);
    }
}
