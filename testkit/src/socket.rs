//! The lean websocket: connect (`/ws?token=&session=`, TCP_NODELAY, an optional source
//! address), send typed or raw frames, read the next text frame (cancel-safe, so it can sit in
//! a `select!`), parse frames as `client-protocol` types. No per-frame work beyond the frame:
//! the load generator's hot path runs on it.

use std::time::Duration;

use client_protocol::{ClientFrame, ClientMessage, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::{Closed, Endpoint, Error};

/// Small buffers: an idle client socket should cost little, as on the server.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// The `/ws` path for a token, with a session to resume if any.
pub fn ws_path(token: &str, session: Option<&str>) -> String {
    match session {
        Some(s) => format!("/ws?token={token}&session={s}"),
        None => format!("/ws?token={token}"),
    }
}

/// A server frame from its text, if it is one.
pub fn parse(text: &str) -> Option<ServerFrame> {
    serde_json::from_str(text).ok()
}

/// The opcode of a raw data frame ([`Socket::send_raw_frame`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawFrame {
    Text,
    Binary,
    Continuation,
}

/// One websocket to a node. Pings are answered while reading.
pub struct Socket {
    ws: WebSocketStream<TcpStream>,
}

impl Socket {
    /// Opens a websocket at `path_and_query` (see [`ws_path`]). No timeout of its own.
    pub async fn connect(endpoint: &Endpoint, path_and_query: &str) -> Result<Socket, Error> {
        Socket::connect_with(endpoint, path_and_query, &[]).await
    }

    /// Opens a websocket with extra request headers (`origin`, `cookie`, `authorization`).
    /// A refused upgrade is `Error::Status` with the answer's status and body.
    pub async fn connect_with(
        endpoint: &Endpoint,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Socket, Error> {
        let url = format!("ws://{}{path_and_query}", endpoint.addr);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| Error::Malformed(format!("{url}: {e}")))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::Malformed(format!("header {name}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Error::Malformed(format!("header {name}: {e}")))?;
            request.headers_mut().append(name, value);
        }
        let stream = endpoint.tcp().await?;
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config()))
                .await
                .map_err(|e| match e {
                    tungstenite::Error::Http(response) => Error::Status {
                        status: response.status().as_u16(),
                        body: String::from_utf8_lossy(response.body().as_deref().unwrap_or(&[]))
                            .into_owned(),
                    },
                    e => Error::Io(format!("upgrade: {e}")),
                })?;
        Ok(Socket { ws })
    }

    /// Sends a typed message with an optional `ref`.
    pub async fn send(
        &mut self,
        message: ClientMessage,
        reference: Option<String>,
    ) -> Result<(), Error> {
        self.send_json(&ClientFrame { reference, message }).await
    }

    /// Sends anything that serializes as a frame (a `ClientFrame`, a `serde_json::Value`).
    pub async fn send_json(&mut self, frame: &impl Serialize) -> Result<(), Error> {
        let text = serde_json::to_string(frame).map_err(|e| Error::Malformed(e.to_string()))?;
        self.send_text(text).await
    }

    /// Sends a text frame as is.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), Error> {
        self.send_message(Message::text(text.into())).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.send_message(Message::binary(bytes.into())).await
    }

    /// Sends one raw data frame, for tests of the transport itself: a first frame of a text or
    /// binary message, or a continuation; `fin` ends the message. The payload goes as is (it
    /// may be invalid UTF-8 in a text frame).
    pub async fn send_raw_frame(
        &mut self,
        kind: RawFrame,
        payload: impl Into<Vec<u8>>,
        fin: bool,
    ) -> Result<(), Error> {
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        let opcode = OpCode::Data(match kind {
            RawFrame::Text => Data::Text,
            RawFrame::Binary => Data::Binary,
            RawFrame::Continuation => Data::Continue,
        });
        let frame = tungstenite::protocol::frame::Frame::message(payload.into(), opcode, fin);
        self.send_message(Message::Frame(frame)).await
    }

    async fn send_message(&mut self, message: Message) -> Result<(), Error> {
        self.ws
            .send(message)
            .await
            .map_err(|e| Error::Io(format!("send: {e}")))
    }

    /// The next text frame; other frames are skipped (pings are answered on the way). Waits as
    /// long as it takes. Cancel-safe: a frame is never lost to a `select!` that drops this.
    pub async fn next_text(&mut self) -> Result<Utf8Bytes, Closed> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(Closed::Gone, |f| Closed::Code(u16::from(f.code))))
                }
                Some(Ok(_)) => {}
                Some(Err(
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                ))
                | None => return Err(Closed::Gone),
                Some(Err(e)) => return Err(Closed::Failed(e.to_string())),
            }
        }
    }

    /// The next text frame within `limit`.
    pub async fn next_text_within(&mut self, limit: Duration) -> Result<Utf8Bytes, Error> {
        match tokio::time::timeout(limit, self.next_text()).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(closed)) => Err(Error::Closed(closed)),
            Err(_) => Err(Error::Timeout(format!("no frame within {limit:?}"))),
        }
    }

    /// The next frame within `limit`, as a protocol type.
    pub async fn next_frame_within(&mut self, limit: Duration) -> Result<ServerFrame, Error> {
        let text = self.next_text_within(limit).await?;
        parse(&text).ok_or_else(|| Error::Malformed(format!("not a server frame: {text}")))
    }

    /// Reads until a frame of type `ty` (e.g. `client/SESSION_STARTED`) arrives within
    /// `limit`, skipping others; the error names the types that came instead.
    pub async fn wait_for(&mut self, ty: &str, limit: Duration) -> Result<ServerFrame, Error> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = match self.next_frame_within(left).await {
                Ok(frame) => frame,
                Err(Error::Timeout(_)) => {
                    return Err(Error::Timeout(format!(
                        "no {ty} within {limit:?}; seen {skipped:?}"
                    )))
                }
                Err(e) => return Err(e),
            };
            if frame.message.type_name() == ty {
                return Ok(frame);
            }
            skipped.push(frame.message.type_name());
        }
    }

    /// Sends a close frame and flushes it (errors ignored: the socket may be gone already).
    pub async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}
