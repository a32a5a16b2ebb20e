//! The test client: a [`Socket`] that speaks JSON frames, keeps every frame it received (for
//! diagnostics and for assertions on what came), bounds every wait by [`WAIT`], and panics
//! with what it saw when the expected frame does not come.

use serde_json::Value;

use crate::{Closed, Endpoint, Error, Socket, WAIT};

pub struct Client {
    socket: Socket,
    /// Every frame received, in order.
    pub seen: Vec<Value>,
}

impl Client {
    /// Opens a websocket at `path_and_query`; panics if it cannot within [`WAIT`].
    pub async fn connect(endpoint: &Endpoint, path_and_query: &str) -> Client {
        match Client::connect_with(endpoint, path_and_query, &[]).await {
            Ok(client) => client,
            Err(e) => panic!("websocket {path_and_query} did not open: {e}"),
        }
    }

    /// Opens a websocket with extra request headers; a refused upgrade is `Error::Status`.
    pub async fn connect_with(
        endpoint: &Endpoint,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Client, Error> {
        let socket = tokio::time::timeout(
            WAIT,
            Socket::connect_with(endpoint, path_and_query, headers),
        )
        .await
        .map_err(|_| Error::Timeout(format!("websocket {path_and_query} within {WAIT:?}")))??;
        Ok(Client::from(socket))
    }

    /// The socket underneath, for what the JSON helpers do not cover.
    pub fn socket(&mut self) -> &mut Socket {
        &mut self.socket
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send_json(&message).await.expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send_text(text).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.socket.send_binary(bytes).await.expect("send");
    }

    /// The next frame within [`WAIT`], whatever it is.
    pub async fn recv(&mut self) -> Value {
        match tokio::time::timeout(WAIT, self.next_json()).await {
            Ok(Ok(value)) => value,
            Ok(Err(closed)) => panic!(
                "socket {closed} while waiting for a frame; seen: {:#?}",
                self.seen
            ),
            Err(_) => panic!("no frame within {:?}; seen: {:#?}", WAIT, self.seen),
        }
    }

    async fn next_json(&mut self) -> Result<Value, Closed> {
        let text = self.socket.next_text().await?;
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the server sends JSON ({e}): {text}"));
        self.seen.push(value.clone());
        Ok(value)
    }

    /// Receives until a frame of type `ty` arrives, all within [`WAIT`], and returns it (the
    /// frames before it stay in `seen`).
    pub async fn expect(&mut self, ty: &str) -> Value {
        self.expect_matching(ty, |message| message["type"] == ty)
            .await
    }

    /// Receives until a frame `matches`, all within [`WAIT`], and returns it; `what` names it
    /// in the panic, which lists the frames that came meanwhile.
    pub async fn expect_matching(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let from = self.seen.len();
        let wait = async {
            loop {
                let message = self.next_json().await?;
                if matches(&message) {
                    return Ok::<Value, Closed>(message);
                }
            }
        };
        match tokio::time::timeout(WAIT, wait).await {
            Ok(Ok(message)) => message,
            Ok(Err(closed)) => panic!(
                "socket {closed} while waiting for {what}; seen meanwhile: {:#?}",
                &self.seen[from..]
            ),
            Err(_) => panic!(
                "no {what} within {WAIT:?}; seen meanwhile: {:#?}",
                &self.seen[from..]
            ),
        }
    }

    /// The very next frame must be of type `ty`.
    pub async fn next_is(&mut self, ty: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["type"], ty, "expected {ty}, got {message}");
        message
    }

    /// Expects a `client/ERROR` with `code` next, and returns it.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let message = self.next_is("client/ERROR").await;
        assert_eq!(message["code"], code, "{message}");
        message
    }

    /// Reads (keeping frames in `seen`) until the socket closes, within [`WAIT`]; returns how.
    pub async fn closed(&mut self) -> Closed {
        let wait = async {
            loop {
                if let Err(closed) = self.next_json().await {
                    return closed;
                }
            }
        };
        match tokio::time::timeout(WAIT, wait).await {
            Ok(closed) => closed,
            Err(_) => panic!(
                "socket not closed within {:?}; seen: {:#?}",
                WAIT, self.seen
            ),
        }
    }

    /// Sends a close frame and drops the socket.
    pub async fn close(mut self) {
        self.socket.close().await;
    }
}

impl From<Socket> for Client {
    fn from(socket: Socket) -> Client {
        Client {
            socket,
            seen: Vec::new(),
        }
    }
}
