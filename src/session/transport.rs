//! The websocket transport under a session: whole messages out of frames (continuations
//! joined here, their UTF-8 checked here), and every way a frame can be refused, typed, with
//! the close code RFC 6455 gives it. A frame over the transport limit is 1009, text that is
//! not UTF-8 is 1007, anything else the codec refuses is 1002; a fragmented message over the
//! limit is skipped and the socket stays open.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::web::{Bytes, BytesMut};
use actix_ws::{CloseCode, CloseReason, Item, Message, MessageStream, ProtocolError};
use futures_util::stream::Stream;

/// One whole message from the client.
#[derive(Debug)]
pub enum Inbound {
    Text(String),
    Binary,
    Ping(Bytes),
    Pong,
    Close(Option<CloseReason>),
}

/// Why the transport refused what the client sent.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// One frame longer than the limit: its payload cannot be skipped, so the socket closes.
    #[error("a websocket frame over {limit} bytes")]
    FrameTooBig { limit: usize },
    /// A fragmented message whose frames add up to more than the limit: the rest of it is
    /// skipped, and the socket stays open.
    #[error("a websocket message over {limit} bytes")]
    MessageTooBig { limit: usize },
    /// A text message that is not UTF-8 (RFC 6455 §8.1: the connection must fail).
    #[error("a text frame that is not valid UTF-8")]
    InvalidUtf8,
    /// Any other violation of RFC 6455 (unmasked frame, bad opcode, stray continuation).
    #[error("a websocket protocol error: {0}")]
    Protocol(ProtocolError),
    /// The connection itself failed (reset, payload error): nothing to tell the client.
    #[error("the connection failed: {0}")]
    Io(std::io::Error),
}

impl TransportError {
    /// The close code RFC 6455 gives this error; None where the socket stays open.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            TransportError::FrameTooBig { .. } => Some(CloseCode::Size),
            TransportError::MessageTooBig { .. } => None,
            TransportError::InvalidUtf8 => Some(CloseCode::Invalid),
            TransportError::Protocol(_) | TransportError::Io(_) => Some(CloseCode::Protocol),
        }
    }

    /// The metric label (`rookery_ws_bad_frames_total`).
    pub fn reason(&self) -> &'static str {
        match self {
            TransportError::FrameTooBig { .. } | TransportError::MessageTooBig { .. } => "too_big",
            TransportError::InvalidUtf8 => "invalid_utf8",
            TransportError::Protocol(_) | TransportError::Io(_) => "protocol",
        }
    }

    fn of(error: ProtocolError, limit: usize) -> TransportError {
        match error {
            ProtocolError::Overflow => TransportError::FrameTooBig { limit },
            // actix-http checks a single text frame itself and reports a `str::Utf8Error` in an
            // I/O error; every other I/O error is the connection's.
            ProtocolError::Io(e)
                if e.get_ref()
                    .is_some_and(|inner| inner.is::<std::str::Utf8Error>()) =>
            {
                TransportError::InvalidUtf8
            }
            ProtocolError::Io(e) => TransportError::Io(e),
            other => TransportError::Protocol(other),
        }
    }
}

/// A fragmented message being joined.
struct Partial {
    text: bool,
    bytes: BytesMut,
    /// Past the limit: the rest of this message is read and dropped.
    skipping: bool,
}

/// Whole messages from a websocket, at most `limit` bytes each (and per frame).
pub struct Messages {
    stream: MessageStream,
    limit: usize,
    partial: Option<Partial>,
    /// After an error that closes the socket, nothing more is read.
    failed: bool,
}

impl Messages {
    pub fn new(stream: MessageStream, limit: usize) -> Messages {
        Messages {
            stream: stream.max_frame_size(limit),
            limit,
            partial: None,
            failed: false,
        }
    }

    /// One continuation frame: `Some` when it ends a message (or the message just went over
    /// the limit), `None` to read on.
    fn continuation(&mut self, item: Item) -> Option<Result<Inbound, TransportError>> {
        let mut begin = |text| {
            self.partial = Some(Partial {
                text,
                bytes: BytesMut::new(),
                skipping: false,
            });
        };
        let (bytes, last) = match item {
            Item::FirstText(bytes) => {
                begin(true);
                (bytes, false)
            }
            Item::FirstBinary(bytes) => {
                begin(false);
                (bytes, false)
            }
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        // The codec refuses a continuation that no first frame began.
        let partial = self.partial.as_mut()?;
        if !partial.skipping {
            if partial.bytes.len() + bytes.len() > self.limit {
                partial.skipping = true;
                partial.bytes = BytesMut::new();
                if last {
                    self.partial = None;
                }
                return Some(Err(TransportError::MessageTooBig { limit: self.limit }));
            }
            partial.bytes.extend_from_slice(&bytes);
        }
        if !last {
            return None;
        }
        let partial = self.partial.take()?;
        if partial.skipping {
            return None;
        }
        if !partial.text {
            return Some(Ok(Inbound::Binary));
        }
        Some(match String::from_utf8(partial.bytes.to_vec()) {
            Ok(text) => Ok(Inbound::Text(text)),
            Err(_) => Err(TransportError::InvalidUtf8),
        })
    }
}

impl Stream for Messages {
    type Item = Result<Inbound, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.failed {
                return Poll::Ready(None);
            }
            let message = match Pin::new(&mut this.stream).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => {
                    let error = TransportError::of(e, this.limit);
                    this.failed = error.close_code().is_some();
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(message))) => message,
            };
            let inbound = match message {
                Message::Text(text) => Ok(Inbound::Text(String::from(&*text))),
                Message::Binary(_) => Ok(Inbound::Binary),
                Message::Ping(bytes) => Ok(Inbound::Ping(bytes)),
                Message::Pong(_) => Ok(Inbound::Pong),
                Message::Close(reason) => Ok(Inbound::Close(reason)),
                Message::Continuation(item) => match this.continuation(item) {
                    Some(done) => done,
                    None => continue,
                },
                Message::Nop => continue,
            };
            if let Err(e) = &inbound {
                this.failed = e.close_code().is_some();
            }
            return Poll::Ready(Some(inbound));
        }
    }
}
