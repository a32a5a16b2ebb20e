//! Keeping leases while actors run: one keeper per node renews every lease the node holds in
//! one batch, well inside the TTL, and tells an actor whose lease is gone to stop at once.
//!
//! Renewing per node rather than per actor is what makes a short TTL cheap: a node with n live
//! games makes one Redis round trip per renewal period, not n, so the TTL (and with it the time
//! a game waits after its owner dies) can be short.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use actix::prelude::*;

use super::snapshot::{Lease, Leases};

/// Sent to an actor whose lease could not be renewed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LeaseLost;

/// At most this many leases go in one renewal call, so one call stays short for Redis.
const BATCH: usize = 512;

struct Held {
    lease: Lease,
    lost: Recipient<LeaseLost>,
}

/// Every lease this node holds, renewed together every third of the TTL.
pub struct LeaseKeeper {
    leases: Arc<dyn Leases>,
    node: String,
    ttl: Duration,
    held: Mutex<HashMap<String, Held>>,
}

impl LeaseKeeper {
    /// Creates the keeper and starts its renewal loop on the current tokio runtime; the loop
    /// ends when the keeper is dropped.
    pub fn start(leases: Arc<dyn Leases>, node: String, ttl: Duration) -> Arc<LeaseKeeper> {
        let keeper = Arc::new(LeaseKeeper {
            leases,
            node,
            ttl,
            held: Mutex::new(HashMap::new()),
        });
        tokio::spawn(renew_loop(Arc::downgrade(&keeper), ttl / 3));
        keeper
    }

    /// Renews `lease` until `forget`; `lost` hears `LeaseLost` if a renewal is refused. An
    /// older lease of the same key held here is superseded (this node took the key again, with
    /// a new fence): its actor hears `LeaseLost` at once, as its own renewal would have told it.
    pub fn keep(&self, lease: Lease, lost: Recipient<LeaseLost>) {
        let key = lease.key.clone();
        let superseded = self
            .held
            .lock()
            .expect("poisoned")
            .insert(key, Held { lease, lost });
        if let Some(old) = superseded {
            tracing::info!(key = %old.lease.key, "lease taken again here: stopping the old actor");
            old.lost.do_send(LeaseLost);
        }
    }

    /// Stops renewing `lease` (a newer acquisition of the same key is left alone).
    pub fn forget(&self, lease: &Lease) {
        let mut held = self.held.lock().expect("poisoned");
        if held.get(&lease.key).is_some_and(|h| h.lease == *lease) {
            held.remove(&lease.key);
        }
    }

    /// One renewal round: every held lease, in batches of `BATCH`.
    async fn renew_all(&self) {
        let leases: Vec<Lease> = {
            let held = self.held.lock().expect("poisoned");
            held.values().map(|h| h.lease.clone()).collect()
        };
        for batch in leases.chunks(BATCH) {
            match self.leases.renew_many(batch, &self.node, self.ttl).await {
                Ok(renewed) => {
                    for (lease, _) in batch.iter().zip(renewed).filter(|(_, ok)| !ok) {
                        tracing::info!(key = %lease.key, "lease lost: stopping its actor");
                        let gone = {
                            let mut held = self.held.lock().expect("poisoned");
                            match held.get(&lease.key) {
                                Some(h) if h.lease == *lease => held.remove(&lease.key),
                                _ => None,
                            }
                        };
                        if let Some(gone) = gone {
                            gone.lost.do_send(LeaseLost);
                        }
                    }
                }
                // The lease store is down: keep running until the TTL could have passed; the
                // fenced snapshot writes refuse us anyway if someone else took over.
                Err(e) => {
                    tracing::warn!(error = %e, leases = batch.len(), "lease renewal failed")
                }
            }
        }
    }
}

async fn renew_loop(keeper: Weak<LeaseKeeper>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(keeper) = keeper.upgrade() else {
            return;
        };
        keeper.renew_all().await;
    }
}

/// Keeps `lease` renewed for as long as the actor lives (the router forgets it when the actor
/// reports itself deactivated).
pub fn keep_lease<A>(ctx: &mut Context<A>, keeper: &LeaseKeeper, lease: Lease)
where
    A: Actor<Context = Context<A>> + Handler<LeaseLost>,
{
    keeper.keep(lease, ctx.address().recipient());
}
