//! The router's replies: a request (an HTTP handler, a listener) waits here for the one answer
//! an actor sends to a fresh `reply:` address, from whichever node the actor runs on.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{Router, Slot};
use crate::messages::{Address, Body, Envelope, ReplyEvent};

impl Router {
    /// Sends the envelope `make` builds for a fresh reply address and waits up to `timeout`
    /// for the answer sent there. None when no answer came in time (the actor may still act:
    /// a caller that retries must send something idempotent).
    pub async fn ask(
        &self,
        make: impl FnOnce(Address) -> Envelope,
        timeout: Duration,
    ) -> Option<ReplyEvent> {
        let address = Address::reply();
        let (tx, rx) = oneshot::channel();
        self.inner
            .local
            .lock()
            .expect("poisoned")
            .insert(address.clone(), Slot::Waiter(tx));
        if let Err(e) = self.inner.bus.subscribe(address.key()).await {
            tracing::warn!(error = %e, channel = %address, "could not subscribe reply channel");
        }
        self.send(make(address.clone()));
        let answer = tokio::time::timeout(timeout, rx).await;
        self.inner.local.lock().expect("poisoned").remove(&address);
        let _ = self.inner.bus.unsubscribe(address.key()).await;
        match answer {
            Ok(Ok(Body::Reply(reply))) => Some(reply),
            _ => None,
        }
    }
}

/// Hands an answer to its waiter (the slot is used once).
pub(super) fn answer(waiter: oneshot::Sender<Body>, body: Body) {
    let _ = waiter.send(body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::memory::MemoryCluster;
    use crate::cluster::Registry;
    use crate::messages::Answer;
    use std::sync::Arc;

    #[tokio::test]
    async fn an_answer_reaches_the_waiter_and_a_late_one_goes_nowhere() {
        let cluster = MemoryCluster::new();
        let router = Router::start(
            "n1".into(),
            Arc::new(cluster.bus()),
            cluster.clone(),
            Duration::from_secs(5),
            Registry::default(),
        );
        let reply = router
            .ask(
                move |to| Envelope {
                    to,
                    body: ReplyEvent(Answer::Done).into(),
                },
                Duration::from_secs(5),
            )
            .await;
        assert_eq!(reply, Some(ReplyEvent(Answer::Done)));
        let none = router
            .ask(
                |_| Envelope {
                    to: Address::reply(),
                    body: ReplyEvent(Answer::Done).into(),
                },
                Duration::from_millis(50),
            )
            .await;
        assert_eq!(none, None);
    }
}
