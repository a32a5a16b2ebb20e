//! The audit log: every security-relevant event, append-only and tamper-evident, searchable by
//! administrators. One seam ([`AuditStore`]) with an embedded (SQLite) and a MongoDB
//! implementation; the hash chain over it (`chain`); and the [`Auditor`] that request handlers
//! record through, off the request path (`recorder`).
//!
//! The chain stays one chain in a cluster without a single writer: event ids are consecutive
//! and unique in the store, and a writer inserts event `n + 1` only over the head `n` it read.
//! Two nodes flushing at once race for the same id; the store's unique key lets exactly one
//! win, and the other re-reads the head and hashes its events again on top of it.

pub mod chain;
pub mod mongo;
mod recorder;
pub mod sqlite;

use std::collections::BTreeMap;

use async_trait::async_trait;
pub use client_protocol::admin::{AuditEvent, AuditOutcome, AuditType, Detail};

pub use recorder::Auditor;

/// An event as a handler records it; the chain gives it its id and hash.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub at: u64,
    pub kind: AuditType,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub outcome: AuditOutcome,
    pub details: BTreeMap<String, Detail>,
}

impl NewEvent {
    /// An event of `kind` now, with nothing else known yet.
    pub fn new(kind: AuditType, outcome: AuditOutcome) -> NewEvent {
        NewEvent {
            at: crate::domain::now_ms(),
            kind,
            actor: None,
            target: None,
            ip: None,
            outcome,
            details: BTreeMap::new(),
        }
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn ip(mut self, ip: Option<std::net::IpAddr>) -> Self {
        self.ip = ip.map(|ip| ip.to_string());
        self
    }

    pub fn detail(mut self, key: &str, value: Detail) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    pub fn text(self, key: &str, value: impl Into<String>) -> Self {
        self.detail(key, Detail::Text(value.into()))
    }
}

/// A search of the log: every field narrows it; newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditQuery {
    pub kind: Option<AuditType>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// Events at or after this instant.
    pub since: Option<u64>,
    /// Events before this instant.
    pub until: Option<u64>,
    /// Events with an id below this one (the `next` of the previous page).
    pub before: Option<u64>,
    pub limit: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit store unavailable: {0}")]
    Unavailable(String),
    /// Another writer took this id first: re-read the head and chain again.
    #[error("event {0} was written by another writer first")]
    Taken(u64),
}

/// Where audit events are kept. Ids are unique; events are never updated.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// The newest event's id and hash (the chain's head), if any.
    async fn head(&self) -> Result<Option<(u64, String)>, AuditError>;
    /// Inserts events with consecutive ids in order. `Taken(id)` when an id exists already:
    /// the events before it are in, that one and those after are not.
    async fn insert(&self, events: &[AuditEvent]) -> Result<(), AuditError>;
    /// Events matching `query`, newest first.
    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditError>;
    /// Events with an id above `after`, oldest first, at most `limit` (for verification).
    async fn scan(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>, AuditError>;
    /// Deletes the events older than `at` (retention), first keeping the id and hash of the
    /// newest one deleted as the chain's anchor; returns how many were deleted.
    async fn purge_before(&self, at: u64) -> Result<u64, AuditError>;
    /// The id and hash of the newest purged event: where verification starts.
    async fn anchor(&self) -> Result<Option<(u64, String)>, AuditError>;
}
