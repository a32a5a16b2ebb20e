//! Arbitrary JSON, and mutations of a valid JSON document (a node removed, replaced or added,
//! bytes flipped or cut), shared by the frame and the snapshot targets.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Number, Value};

/// Field names the protocol and the snapshots use, so that random objects hit real fields.
pub const KEYS: &[&str] = &[
    "type",
    "ref",
    "game",
    "seq",
    "move",
    "queue",
    "clock",
    "initialMs",
    "incrementMs",
    "rated",
    "matchup",
    "accept",
    "username",
    "password",
    "tournament",
    "room",
    "text",
    "id",
    "kind",
    "moves",
    "status",
    "seats",
    "user",
    "watching",
];

/// Numbers around every edge a field could have: small, `u32`/`u64`/`i64` limits, negative,
/// fractional, huge floats.
pub fn number() -> BoxedStrategy<Number> {
    prop_oneof![
        4 => (0u64..16).prop_map(Number::from),
        2 => any::<u64>().prop_map(Number::from),
        2 => any::<i64>().prop_map(Number::from),
        1 => prop::sample::select(vec![
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            i64::MAX as u64,
            u64::MAX,
        ])
        .prop_map(Number::from),
        1 => Just(Number::from(i64::MIN)),
        2 => any::<f64>().prop_filter_map("finite", Number::from_f64),
        1 => prop::sample::select(vec![0.5, 3.0, -0.0, 1e300, -1e300, f64::MAX])
            .prop_filter_map("finite", Number::from_f64),
    ]
    .boxed()
}

/// Strings: short identifiers, any Unicode, the wire's own words, and now and then a long one.
pub fn string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_/-]{0,12}",
        3 => any::<String>(),
        2 => prop::sample::select(KEYS).prop_map(str::to_owned),
        2 => prop::sample::select(client_protocol::ClientMessage::TYPES).prop_map(str::to_owned),
        1 => prop::collection::vec(any::<char>(), 200..3000).prop_map(String::from_iter),
    ]
    .boxed()
}

/// A JSON scalar.
pub fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number().prop_map(Value::Number),
        3 => string().prop_map(Value::String),
    ]
    .boxed()
}

/// An object key: one of [`KEYS`] mostly, any string otherwise.
pub fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => string(),
    ]
    .boxed()
}

/// Any JSON value, nested a few levels.
pub fn value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// One step from the root to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    At(usize),
}

/// Every node's path, the root's (empty) first, in document order.
pub fn paths(doc: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(here.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    here.push(Step::Key(k.clone()));
                    walk(v, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    here.push(Step::At(i));
                    walk(v, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

/// The node at `path`, to change.
pub fn node_mut<'a>(doc: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |node, step| match step {
        Step::Key(k) => node.get_mut(k.as_str()),
        Step::At(i) => node.get_mut(*i),
    })
}

/// A change to a document at a node chosen by `at` among all its nodes.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Remove the node from its object or array (the root: replace it by null).
    Remove { at: Index },
    /// Put `value` in its place.
    Replace { at: Index, value: Value },
    /// Add `key: value` to it if it is an object, push `value` if it is an array.
    Add {
        at: Index,
        key: String,
        value: Value,
    },
}

pub fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        (any::<Index>()).prop_map(|at| Mutation::Remove { at }),
        (any::<Index>(), value()).prop_map(|(at, value)| Mutation::Replace { at, value }),
        (any::<Index>(), key(), value()).prop_map(|(at, key, value)| Mutation::Add {
            at,
            key,
            value
        }),
    ]
    .boxed()
}

/// Applies `mutation` to `doc`; returns the path it touched.
pub fn apply(doc: &mut Value, mutation: &Mutation) -> Vec<Step> {
    let all = paths(doc);
    let pick = |at: &Index| all[at.index(all.len())].clone();
    match mutation {
        Mutation::Remove { at } => {
            let path = pick(at);
            match path.split_last() {
                None => *doc = Value::Null,
                Some((last, parent)) => match (node_mut(doc, parent), last) {
                    (Some(Value::Object(map)), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Some(Value::Array(items)), Step::At(i)) => {
                        items.remove(*i);
                    }
                    _ => unreachable!("a path names a child of its parent"),
                },
            }
            path
        }
        Mutation::Replace { at, value } => {
            let path = pick(at);
            *node_mut(doc, &path).expect("path exists") = value.clone();
            path
        }
        Mutation::Add { at, key, value } => {
            let path = pick(at);
            match node_mut(doc, &path).expect("path exists") {
                Value::Object(map) => {
                    map.insert(key.clone(), value.clone());
                }
                Value::Array(items) => items.push(value.clone()),
                other => *other = value.clone(),
            }
            path
        }
    }
}

/// A byte-level edit of a document's text.
#[derive(Clone, Debug)]
pub enum ByteEdit {
    Flip { at: Index, bit: u8 },
    Insert { at: Index, byte: u8 },
    Delete { at: Index },
    Truncate { at: Index },
}

pub fn byte_edit() -> BoxedStrategy<ByteEdit> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        (
            any::<Index>(),
            prop_oneof![
                any::<u8>(),
                prop::sample::select(b"{}[]\",:0123456789-.eE\\nulltruefalse ".to_vec())
            ]
        )
            .prop_map(|(at, byte)| ByteEdit::Insert { at, byte }),
        any::<Index>().prop_map(|at| ByteEdit::Delete { at }),
        any::<Index>().prop_map(|at| ByteEdit::Truncate { at }),
    ]
    .boxed()
}

/// Applies byte edits in order (an edit of an empty text inserts or does nothing).
pub fn edit_bytes(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for edit in edits {
        let len = bytes.len();
        match edit {
            ByteEdit::Insert { at, byte } => bytes.insert(at.index(len + 1), *byte),
            _ if len == 0 => {}
            ByteEdit::Flip { at, bit } => bytes[at.index(len)] ^= 1 << bit,
            ByteEdit::Delete { at } => {
                bytes.remove(at.index(len));
            }
            ByteEdit::Truncate { at } => bytes.truncate(at.index(len)),
        }
    }
}

/// Is every field of `part` in `whole`, with the same value (objects compared field by field,
/// anything else as equal)?
pub fn within(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| within(v, wv))),
        _ => part == whole,
    }
}
