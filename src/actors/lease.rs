//! Keeping a lease while an actor runs: renewal well inside the TTL, and the message an actor
//! gets when its lease is gone (another node owns it now, so it must stop at once).

use actix::prelude::*;

use crate::cluster::Lease;
use crate::node::Node;

/// Sent to an actor whose lease could not be renewed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LeaseLost;

/// Sent to every game and queue actor of a draining node: stop now, releasing the lease, so
/// that another node can take over at the next message.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Passivate;

/// Renews `lease` every third of its TTL for as long as the actor lives.
pub fn keep_lease<A>(ctx: &mut Context<A>, node: Node, lease: Lease)
where
    A: Actor<Context = Context<A>> + Handler<LeaseLost>,
{
    let addr = ctx.address();
    let ttl = node.router.lease_ttl();
    ctx.run_interval(ttl / 3, move |_, _| {
        let (node, lease, addr) = (node.clone(), lease.clone(), addr.clone());
        actix::spawn(async move {
            match node.router.leases().renew(&lease, &node.id, ttl).await {
                Ok(true) => {}
                Ok(false) => addr.do_send(LeaseLost),
                // The lease store is down: keep running until the TTL could have passed; the
                // fenced snapshot writes refuse us anyway if someone else took over.
                Err(e) => tracing::warn!(error = %e, key = %lease.key, "lease renewal failed"),
            }
        });
    });
}
