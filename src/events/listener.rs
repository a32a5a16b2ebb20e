//! Listeners and their runner: each listener is an independent module behind [`Listener`],
//! reading the event log through a consumer group named after it, one consumer per node, and
//! one reader per partition of the log (so a game's events reach it in order). An
//! entry is acknowledged only once handled (at least once: handlers are idempotent); one that
//! keeps failing is moved to the listener's dead-letter log after `max_deliveries` tries
//! (counted, logged, audited as `event_dead_lettered`); lag per listener is a gauge.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use client_protocol::admin::{AuditOutcome, AuditType, Detail};
use tokio::sync::watch;

use super::{Entry, EventLog, GameEvent, Retention};
use crate::audit::{Auditor, NewEvent};
use crate::telemetry::names;

/// Entries one read takes.
const BATCH: usize = 32;
/// How long one read waits for a new entry.
const READ_WAIT: Duration = Duration::from_secs(1);
/// After a read shorter than a batch, a listener waits this long before it reads again: under
/// load one read and one acknowledgement then carry every event of that spell instead of one
/// each (four listeners reading and acknowledging each move cost more than the move itself),
/// while an event appended to an idle log is still handled at once.
const LINGER: Duration = Duration::from_millis(10);
/// How often lag is sampled and the log trimmed.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(5);

/// Why a handler could not handle an event (it will be handed it again).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ListenerError(pub String);

impl ListenerError {
    pub fn new(e: impl std::fmt::Display) -> ListenerError {
        ListenerError(e.to_string())
    }
}

/// One independent module that reacts to game events.
#[async_trait]
pub trait Listener: Send + Sync + 'static {
    /// Its consumer group (stable: renaming it starts it from the beginning of the log).
    fn name(&self) -> &'static str;
    /// The events it handles; the others are acknowledged unread.
    fn wants(&self, event: &GameEvent) -> bool;
    /// Handles one event. May be called more than once for one entry (a node died before the
    /// acknowledgement): the same event must have the same effect once.
    async fn handle(&self, event: &GameEvent) -> Result<(), ListenerError>;
    /// Whether the events of one read may be handled at once rather than one after the other
    /// (their order does not matter to it, and each waits on something remote).
    fn concurrent(&self) -> bool {
        false
    }
}

/// How the runner treats failures.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Tries of one entry before it is set aside.
    pub max_deliveries: u64,
    /// Wait after a failure before the next try.
    pub retry_after: Duration,
    pub retention: Retention,
    /// Fault injection (`ROOKERY_FAILPOINTS=listener.<name>.handled=pause`): these listeners
    /// stop for good after handling an event, before acknowledging it, as a node killed there
    /// would.
    pub pause_after_handling: Vec<&'static str>,
}

/// The listeners running on this node.
pub struct Listeners {
    stop: watch::Sender<bool>,
    names: Vec<&'static str>,
}

impl Listeners {
    pub fn start(
        log: Arc<dyn EventLog>,
        listeners: Vec<Arc<dyn Listener>>,
        consumer: String,
        auditor: Auditor,
        policy: Policy,
    ) -> Listeners {
        let (stop, _) = watch::channel(false);
        let names = listeners.iter().map(|l| l.name()).collect::<Vec<_>>();
        for listener in listeners {
            for partition in 0..log.partitions() {
                let run = Run {
                    log: log.clone(),
                    listener: listener.clone(),
                    partition,
                    consumer: consumer.clone(),
                    auditor: auditor.clone(),
                    policy: policy.clone(),
                    failures: HashMap::new(),
                };
                tokio::spawn(run.run(stop.subscribe()));
            }
        }
        tokio::spawn(housekeeping(
            log,
            names.clone(),
            policy.retention,
            stop.subscribe(),
        ));
        Listeners { stop, names }
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// Stops reading (an entry being handled is finished and acknowledged first).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// One listener reading one partition of the log.
struct Run {
    log: Arc<dyn EventLog>,
    listener: Arc<dyn Listener>,
    partition: usize,
    consumer: String,
    auditor: Auditor,
    policy: Policy,
    /// Failures per entry on this node (a delivery count the log may not raise on re-reads).
    failures: HashMap<String, u64>,
}

/// What the listener makes of one entry (one it does not want is done unread).
async fn handle(listener: &dyn Listener, entry: &Entry) -> Result<(), ListenerError> {
    if listener.wants(&entry.event) {
        listener.handle(&entry.event).await
    } else {
        Ok(())
    }
}

impl Run {
    async fn run(mut self, stop: watch::Receiver<bool>) {
        let name = self.listener.name();
        let partition = self.partition;
        tracing::info!(listener = name, consumer = %self.consumer, partition, "listener started");
        while !*stop.borrow() {
            let read = self
                .log
                .read(name, &self.consumer, partition, BATCH, READ_WAIT)
                .await;
            let entries = match read {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(listener = name, partition, error = %e, "event log read failed");
                    tokio::time::sleep(self.policy.retry_after).await;
                    continue;
                }
            };
            // Failure counts only for entries still ours: one claimed and finished by another
            // node (or set aside) is never read here again.
            self.failures
                .retain(|id, _| entries.iter().any(|entry| &entry.id == id));
            // Handled entries are acknowledged together, once the batch is through or stops.
            let mut done = Vec::with_capacity(entries.len());
            let mut failed = false;
            if self.listener.concurrent() {
                let listener = self.listener.clone();
                let outcomes = futures_util::future::join_all(
                    entries.iter().map(|entry| handle(&*listener, entry)),
                )
                .await;
                for (entry, outcome) in entries.into_iter().zip(outcomes) {
                    if self.settle(&entry, outcome).await {
                        done.push(entry.id);
                    } else {
                        failed = true;
                    }
                }
            } else {
                for entry in entries {
                    let outcome = handle(&*self.listener, &entry).await;
                    if self.settle(&entry, outcome).await {
                        if self.policy.pause_after_handling.contains(&name) {
                            tracing::warn!(listener = name, entry = %entry.id, "failpoint listener.handled=pause: this listener stops here");
                            std::future::pending::<()>().await;
                        }
                        done.push(entry.id);
                    } else {
                        failed = true;
                        break;
                    }
                }
            }
            if let Err(e) = self.log.ack(name, &done).await {
                tracing::warn!(listener = name, error = %e, "ack failed: those events come again");
            }
            if failed {
                // Wait, and start again from the pending entries.
                tokio::time::sleep(self.policy.retry_after).await;
            } else if !done.is_empty() && done.len() < BATCH {
                tokio::time::sleep(LINGER).await;
            }
        }
    }

    /// Books one entry's outcome; true when it is done (handled, skipped, or set aside as a
    /// dead letter: to be acknowledged), false when it failed and stays pending.
    async fn settle(&mut self, entry: &Entry, outcome: Result<(), ListenerError>) -> bool {
        let name = self.listener.name();
        let error = match outcome {
            Ok(()) => {
                self.failures.remove(&entry.id);
                metrics::counter!(names::EVENTS_HANDLED, "listener" => name).increment(1);
                return true;
            }
            Err(e) => e.0,
        };
        let failures = self.failures.entry(entry.id.clone()).or_insert(0);
        *failures += 1;
        let tries = (*failures).max(entry.deliveries);
        metrics::counter!(names::EVENTS_FAILED, "listener" => name).increment(1);
        tracing::warn!(listener = name, entry = %entry.id, event = entry.event.name(), tries, %error, "listener failed");
        if tries < self.policy.max_deliveries {
            return false;
        }
        match self.log.dead_letter(name, entry, &error).await {
            Ok(()) => {
                self.failures.remove(&entry.id);
                metrics::counter!(names::EVENTS_DEAD, "listener" => name).increment(1);
                tracing::error!(listener = name, entry = %entry.id, %error, "event set aside (dead letter)");
                let audit = NewEvent::new(AuditType::EventDeadLettered, AuditOutcome::Ok)
                    .target(format!("{name} {}", entry.id))
                    .text("listener", name)
                    .text("event", entry.event.name())
                    .text("game", entry.event.game())
                    .detail("tries", Detail::Int(tries as i64))
                    .text("error", error);
                self.auditor.record(audit);
                true
            }
            Err(e) => {
                tracing::warn!(listener = name, error = %e, "dead letter failed");
                false
            }
        }
    }
}

/// Samples each listener's lag and trims the log, until stopped.
async fn housekeeping(
    log: Arc<dyn EventLog>,
    names: Vec<&'static str>,
    retention: Retention,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        for name in &names {
            match log.lag(name).await {
                Ok(lag) => {
                    metrics::gauge!(names::LISTENER_LAG, "listener" => *name).set(lag as f64)
                }
                Err(e) => tracing::debug!(listener = name, error = %e, "lag not sampled"),
            }
        }
        if let Err(e) = log.trim(retention).await {
            tracing::debug!(error = %e, "event log not trimmed");
        }
        let stopped = tokio::time::timeout(HOUSEKEEPING_EVERY, stop.wait_for(|s| *s)).await;
        if matches!(stopped, Ok(Ok(_))) {
            return;
        }
    }
}
