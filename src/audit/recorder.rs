//! Recording audit events off the request path: a bounded buffer per node, drained by one
//! task that chains and writes them in batches. A handler's `record` never waits on the
//! store. When the buffer is full (the store has been down for a while), the event is dropped
//! and counted, and still reaches the JSON logs, which every event does as it is recorded.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{chain, AuditStore, NewEvent};
use crate::domain::now_ms;
use crate::telemetry::names;

/// Events a node holds while its writes are slow or the store is down.
const BUFFER: usize = 10_000;
/// At most this many events go to the store in one write.
const BATCH: usize = 256;
/// A flush waits at most this long (a drain or a search must not hang on a store that is down).
const FLUSH_WAIT: Duration = Duration::from_secs(3);
/// How often old events are purged.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

enum Item {
    Event(NewEvent),
    /// Answered once everything recorded before it is written.
    Flush(oneshot::Sender<()>),
}

/// The node's handle on the audit log: record events, flush, read.
#[derive(Clone)]
pub struct Auditor {
    tx: mpsc::Sender<Item>,
    store: Arc<dyn AuditStore>,
}

impl Auditor {
    /// Starts the writer (and the retention purge, keeping `retention`) on the current runtime.
    pub fn start(store: Arc<dyn AuditStore>, retention: Duration) -> Auditor {
        let (tx, rx) = mpsc::channel(BUFFER);
        tokio::spawn(write_loop(store.clone(), rx));
        let purging = store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RETENTION_EVERY);
            loop {
                tick.tick().await;
                let cutoff = now_ms().saturating_sub(retention.as_millis() as u64);
                match purging.purge_before(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "audit events past retention deleted"),
                    Err(e) => tracing::warn!(error = %e, "audit retention purge failed"),
                }
            }
        });
        Auditor { tx, store }
    }

    /// Records `event`: logged now, written soon. Never waits.
    pub fn record(&self, event: NewEvent) {
        let details = serde_json::to_string(&event.details).unwrap_or_default();
        tracing::info!(
            event = "audit",
            kind = event.kind.as_str(),
            actor = event.actor.as_deref(),
            target = event.target.as_deref(),
            ip = event.ip.as_deref(),
            outcome = event.outcome.as_str(),
            details = %details,
            "audit event"
        );
        metrics::counter!(names::AUDIT_EVENTS, "type" => event.kind.as_str()).increment(1);
        if let Err(e) = self.tx.try_send(Item::Event(event)) {
            metrics::counter!(names::AUDIT_DROPPED).increment(1);
            tracing::error!(error = %e, "audit buffer full: event dropped (it is in this log)");
        }
    }

    /// Waits until every event recorded on this node before the call is in the store (a
    /// search right after an action sees it), or until `FLUSH_WAIT` passed: with the store
    /// down, writes are retried in the background and the caller goes on.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        let flushed = async {
            if self.tx.send(Item::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        };
        if tokio::time::timeout(FLUSH_WAIT, flushed).await.is_err() {
            tracing::warn!("audit log not flushed in time: its writes go on in the background");
        }
    }

    pub fn store(&self) -> &dyn AuditStore {
        self.store.as_ref()
    }
}

async fn write_loop(store: Arc<dyn AuditStore>, mut rx: mpsc::Receiver<Item>) {
    let mut items = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut items, BATCH).await > 0 {
        let mut events = Vec::with_capacity(items.len());
        let mut flushes = Vec::new();
        for item in items.drain(..) {
            match item {
                Item::Event(event) => events.push(event),
                Item::Flush(done) => flushes.push(done),
            }
        }
        let mut delay = Duration::from_millis(100);
        while let Err(e) = chain::append(store.as_ref(), &events).await {
            metrics::counter!(names::AUDIT_WRITE_FAILURES).increment(1);
            tracing::warn!(error = %e, events = events.len(), "audit write failed, retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
