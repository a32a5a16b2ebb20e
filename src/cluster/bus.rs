//! The bus: publish bytes to a named channel and receive what is published to the channels
//! this node subscribed to. Redis pub/sub in a cluster; a shared in-process map otherwise.

use async_trait::async_trait;
use tokio::sync::mpsc;

/// A message that arrived on a channel this node subscribed to.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub channel: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes to a channel; returns how many subscribers received it (0: nobody hosts it).
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<usize, BusError>;
    /// Publishes several messages, in order (in one round trip where the bus allows): one
    /// receiver count per message, in order.
    async fn publish_many(&self, messages: Vec<(String, Vec<u8>)>) -> Result<Vec<usize>, BusError> {
        let mut receivers = Vec::with_capacity(messages.len());
        for (channel, payload) in messages {
            receivers.push(self.publish(&channel, payload).await?);
        }
        Ok(receivers)
    }
    /// Starts receiving a channel's messages on this node's incoming stream.
    async fn subscribe(&self, channel: &str) -> Result<(), BusError>;
    /// Stops receiving a channel.
    async fn unsubscribe(&self, channel: &str) -> Result<(), BusError>;
    /// The stream of everything this node receives. Taken once, by the router.
    fn take_incoming(&self) -> Option<mpsc::UnboundedReceiver<Incoming>>;

    /// Counts the times this node's subscriptions were restored after a lost connection;
    /// messages published meanwhile were missed, so the router resyncs its sessions. None for
    /// a bus that cannot lose its connection.
    fn resubscriptions(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}
