//! What the router holds of each local actor: a `Mailbox` (typed delivery behind one door,
//! and the way to passivate it), so that the router never names an actor type.

use std::sync::Arc;

use actix::prelude::*;

use crate::messages::{Body, Deliverable};

/// Sent to every actor of a draining node. A virtual actor stops, releasing its lease, so
/// that another node takes over at the next message; a socket closes, telling its client to
/// reconnect elsewhere.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Passivate;

/// A local actor as the router holds it: where its messages go, and how to passivate it.
#[derive(Clone)]
pub struct Mailbox {
    deliver: Arc<dyn Fn(Body) -> Result<(), Body> + Send + Sync>,
    pub(super) passivate: Recipient<Passivate>,
}

impl Mailbox {
    /// The mailbox of an actor that takes `M` out of envelopes.
    pub fn of<A, M>(addr: &Addr<A>) -> Mailbox
    where
        A: Actor<Context = Context<A>> + Handler<M> + Handler<Passivate>,
        M: Deliverable,
    {
        let recipient: Recipient<M> = addr.clone().recipient();
        Mailbox {
            deliver: Arc::new(move |body| {
                if !recipient.connected() {
                    return Err(body);
                }
                match M::from_body(body) {
                    Ok(message) => {
                        recipient.do_send(message);
                        Ok(())
                    }
                    Err(body) => {
                        tracing::error!(kind = ?body.kind(), "message for another kind of actor");
                        Ok(())
                    }
                }
            }),
            passivate: addr.clone().recipient(),
        }
    }

    /// Hands the body to the actor, or gives it back if the actor has stopped.
    pub(super) fn deliver(&self, body: Body) -> Result<(), Body> {
        (self.deliver)(body)
    }
}
