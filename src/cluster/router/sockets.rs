//! The router's sockets: a websocket session registers its address here (taking it over from
//! any previous socket of the same session, on any node) and unregisters it as it closes.

use super::{Router, Slot};
use crate::cluster::Mailbox;
use crate::domain::SessionId;
use crate::messages::{Address, Envelope, SessionEvent};

impl Router {
    /// Makes a websocket session reachable here. A previous socket of the same session, on this
    /// node or another, is told it was taken over by `connection`. The takeover notice and the
    /// subscription go to Redis together (one round trip, not two): if the subscription lands
    /// first, this socket hears its own notice, which names its connection and is ignored.
    pub async fn register_socket(&self, session: &SessionId, mailbox: Mailbox, connection: u64) {
        let address = Address::session(session);
        let takeover = Envelope::session(session, SessionEvent::TakenOver { by: connection });
        tracing::debug!(%session, connection, "registering session");
        let previous = {
            let mut local = self.inner.local.lock().expect("poisoned");
            let slot = Slot::Active {
                mailbox,
                socket: Some(connection),
                fence: None,
            };
            local.insert(address.clone(), slot)
        };
        if let Some(Slot::Active {
            mailbox: old,
            socket: Some(old_connection),
            ..
        }) = previous
        {
            if old_connection != connection {
                let _ = old.deliver(takeover.body.clone());
            }
        }
        let (_, subscribed) = tokio::join!(
            self.publish(takeover),
            self.inner.bus.subscribe(address.key())
        );
        if let Err(e) = subscribed {
            tracing::warn!(error = %e, channel = %address, "could not subscribe session channel");
        }
    }

    /// Removes a socket, if `connection` is still the one registered for its session.
    pub fn unregister_socket(&self, session: &SessionId, connection: u64) {
        let address = Address::session(session);
        let removed = {
            let mut local = self.inner.local.lock().expect("poisoned");
            match local.get(&address) {
                Some(Slot::Active {
                    socket: Some(registered),
                    ..
                }) if *registered == connection => {
                    tracing::debug!(%session, "unregistering session");
                    local.remove(&address);
                    true
                }
                _ => false,
            }
        };
        if removed {
            let bus = self.inner.bus.clone();
            self.spawn(async move {
                let _ = bus.unsubscribe(address.key()).await;
            });
        }
    }
}
