//! The MongoDB audit store: collection `audit`, one native document per event with the event
//! id as `_id` (the unique key that keeps the chain single across nodes), indexed for every
//! filter; the retention anchor in `audit_anchor`. Retention is a periodic delete, not a TTL
//! index, so that the newest deleted event's hash is kept as the anchor first.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use mongodb::{Collection, Database, IndexModel};

use super::{AuditError, AuditEvent, AuditOutcome, AuditQuery, AuditStore, AuditType};

const DUPLICATE_KEY: i32 = 11000;

fn unavailable(e: impl std::fmt::Display) -> AuditError {
    AuditError::Unavailable(e.to_string())
}

#[derive(Clone)]
pub struct MongoAudit {
    db: Database,
}

fn to_document(e: &AuditEvent) -> Result<Document, AuditError> {
    Ok(doc! {
        "_id": e.id as i64,
        "at": e.at as i64,
        "type": e.kind.as_str(),
        "actor": e.actor.clone(),
        "target": e.target.clone(),
        "ip": e.ip.clone(),
        "outcome": e.outcome.as_str(),
        "details": bson::to_bson(&e.details).map_err(unavailable)?,
        "hash": e.hash.clone(),
    })
}

fn from_document(d: &Document) -> Result<AuditEvent, AuditError> {
    let bad = |field: &str| unavailable(format!("audit event without a valid {field}"));
    let text = |field: &str| match d.get(field) {
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(Bson::Null) | None => Ok(None),
        _ => Err(bad(field)),
    };
    let int = |field: &str| match d.get(field) {
        Some(Bson::Int64(n)) => Ok(*n as u64),
        Some(Bson::Int32(n)) => Ok(*n as u64),
        _ => Err(bad(field)),
    };
    let kind = text("type")?.ok_or_else(|| bad("type"))?;
    let outcome = text("outcome")?.ok_or_else(|| bad("outcome"))?;
    let details = d
        .get("details")
        .cloned()
        .unwrap_or(Bson::Document(Document::new()));
    Ok(AuditEvent {
        id: int("_id")?,
        at: int("at")?,
        kind: AuditType::parse(&kind).ok_or_else(|| bad("type"))?,
        actor: text("actor")?,
        target: text("target")?,
        ip: text("ip")?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| bad("outcome"))?,
        details: bson::from_bson(details).map_err(unavailable)?,
        hash: text("hash")?.ok_or_else(|| bad("hash"))?,
    })
}

impl MongoAudit {
    /// Connects lazily and ensures the indexes in the background, as the store does.
    pub async fn connect(uri: &str, database: &str) -> Result<Self, AuditError> {
        let mut options = ClientOptions::parse(uri).await.map_err(unavailable)?;
        options.app_name = Some("rookery-audit".to_owned());
        options.server_selection_timeout = Some(Duration::from_secs(2));
        options.connect_timeout = Some(Duration::from_secs(2));
        let client = mongodb::Client::with_options(options).map_err(unavailable)?;
        let audit = MongoAudit {
            db: client.database(database),
        };
        let indexing = audit.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(200);
            while let Err(e) = indexing.ensure_indexes().await {
                tracing::warn!(error = %e, "audit indexes not ready, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        });
        Ok(audit)
    }

    pub async fn ensure_indexes(&self) -> Result<(), AuditError> {
        // One index per filter, newest first within it (`at` grows with `_id`; FerretDB 1.24
        // panics on a compound index that includes `_id`).
        for keys in [
            doc! {"type": 1, "at": -1},
            doc! {"actor": 1, "at": -1},
            doc! {"target": 1, "at": -1},
            doc! {"at": -1},
        ] {
            let model = IndexModel::builder().keys(keys).build();
            self.events()
                .create_index(model)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// The events collection (tests use it to tamper with events).
    pub fn events(&self) -> Collection<Document> {
        self.db.collection("audit")
    }

    fn anchors(&self) -> Collection<Document> {
        self.db.collection("audit_anchor")
    }

    async fn find(
        &self,
        filter: Document,
        sort: Document,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditError> {
        let docs: Vec<Document> = self
            .events()
            .find(filter)
            .sort(sort)
            .limit(limit as i64)
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        docs.iter().map(from_document).collect()
    }
}

#[async_trait]
impl AuditStore for MongoAudit {
    async fn head(&self) -> Result<Option<(u64, String)>, AuditError> {
        let newest = self.find(doc! {}, doc! {"_id": -1}, 1).await?;
        Ok(newest.into_iter().next().map(|e| (e.id, e.hash)))
    }

    async fn insert(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        if events.is_empty() {
            return Ok(());
        }
        let docs = events
            .iter()
            .map(to_document)
            .collect::<Result<Vec<_>, _>>()?;
        match self.events().insert_many(docs).ordered(true).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // An ordered insert stops at the first error: the events before it are in.
                let taken = match &*e.kind {
                    ErrorKind::InsertMany(failure) => failure
                        .write_errors
                        .as_ref()
                        .and_then(|errors| errors.iter().min_by_key(|w| w.index))
                        .filter(|w| w.code == DUPLICATE_KEY)
                        .map(|w| events[w.index].id),
                    ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w))
                        if w.code == DUPLICATE_KEY =>
                    {
                        Some(events[0].id)
                    }
                    _ => None,
                };
                Err(taken.map_or_else(|| unavailable(e), AuditError::Taken))
            }
        }
    }

    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditError> {
        let mut filter = Document::new();
        if let Some(kind) = query.kind {
            filter.insert("type", kind.as_str());
        }
        if let Some(actor) = &query.actor {
            filter.insert("actor", actor.as_str());
        }
        if let Some(target) = &query.target {
            filter.insert("target", target.as_str());
        }
        let mut at = Document::new();
        if let Some(since) = query.since {
            at.insert("$gte", since as i64);
        }
        if let Some(until) = query.until {
            at.insert("$lt", until as i64);
        }
        if !at.is_empty() {
            filter.insert("at", at);
        }
        if let Some(before) = query.before {
            filter.insert("_id", doc! {"$lt": before as i64});
        }
        self.find(filter, doc! {"_id": -1}, query.limit).await
    }

    async fn scan(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>, AuditError> {
        self.find(doc! {"_id": {"$gt": after as i64}}, doc! {"_id": 1}, limit)
            .await
    }

    async fn purge_before(&self, at: u64) -> Result<u64, AuditError> {
        let newest = self
            .find(doc! {"at": {"$lt": at as i64}}, doc! {"_id": -1}, 1)
            .await?;
        let Some(newest) = newest.into_iter().next() else {
            return Ok(0);
        };
        // Anchor first: a delete that fails after it leaves events the anchor already covers.
        // The anchor only moves forward, whichever node purges, and however they interleave.
        let anchor = doc! {"id": newest.id as i64, "hash": newest.hash.clone()};
        let forward = doc! {"_id": "anchor", "id": {"$lt": newest.id as i64}};
        let set = doc! {"$set": anchor.clone()};
        let moved = self
            .anchors()
            .update_one(forward.clone(), set.clone())
            .await
            .map_err(unavailable)?;
        if moved.matched_count == 0 && self.anchor().await?.is_none() {
            let mut first = anchor;
            first.insert("_id", "anchor");
            if let Err(e) = self.anchors().insert_one(first).await {
                let duplicate = matches!(&*e.kind,
                    ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY);
                if !duplicate {
                    return Err(unavailable(e));
                }
                // Another node anchored first: move its anchor forward if it is older.
                self.anchors()
                    .update_one(forward, set)
                    .await
                    .map_err(unavailable)?;
            }
        }
        let deleted = self
            .events()
            .delete_many(doc! {"_id": {"$lte": newest.id as i64}})
            .await
            .map_err(unavailable)?;
        Ok(deleted.deleted_count)
    }

    async fn anchor(&self) -> Result<Option<(u64, String)>, AuditError> {
        let anchor = self
            .anchors()
            .find_one(doc! {"_id": "anchor"})
            .await
            .map_err(unavailable)?;
        Ok(anchor.and_then(|d| {
            let id = d.get_i64("id").ok()? as u64;
            Some((id, d.get_str("hash").ok()?.to_owned()))
        }))
    }
}
