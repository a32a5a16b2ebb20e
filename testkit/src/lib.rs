//! rookery-testkit: the one client of the wire protocol shared by the end-to-end tests, the
//! cluster tests and the load generator. [`Socket`] is the lean websocket (typed or raw frames,
//! `Result`s, no waits of its own); [`Client`] wraps it for tests (JSON frames, a log of what
//! was seen, every wait bounded by a timeout, panics that say what arrived instead); [`http`]
//! has a small HTTP/1.1 client and the auth calls. Everything runs on any tokio runtime,
//! including actix's.

mod client;
pub mod http;
mod socket;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use client_protocol::http::AuthResponse;

pub use client::Client;
pub use socket::{parse, ws_config, ws_path, RawFrame, Socket};
/// The websocket library underneath, for the types [`Socket`] hands out (`Utf8Bytes`).
pub use tokio_tungstenite::tungstenite;

/// Columns, in order, that fill a connect-four board with no four in a line: a draw, so every
/// game played with them is 42 acknowledged moves long.
pub const CONNECT4_DRAW: [u32; 42] = [
    3, 3, 3, 4, 0, 4, 6, 2, 5, 4, 6, 5, 3, 0, 5, 0, 4, 6, 5, 4, 4, 6, 6, 1, 2, 1, 2, 6, 1, 1, 1, 5,
    1, 0, 0, 2, 2, 3, 0, 5, 3, 2,
];

/// How long a test waits for anything (a frame, a close, an HTTP answer).
pub const WAIT: Duration = Duration::from_secs(10);

/// Where to connect: a node (or the load generator's echo server), and optionally the local
/// address to connect from (many loopback sources keep tens of thousands of sockets from
/// running out of ephemeral ports on one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub source: Option<IpAddr>,
}

impl Endpoint {
    pub fn new(addr: SocketAddr) -> Endpoint {
        Endpoint { addr, source: None }
    }

    /// `127.0.0.1:port`.
    pub fn localhost(port: u16) -> Endpoint {
        Endpoint::new(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Parses `http://IP:PORT` (a trailing `/` is allowed; host names are not resolved).
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = url
            .trim_end_matches('/')
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: expected http://IP:PORT"))?;
        let addr = rest
            .parse()
            .map_err(|_| format!("{url}: expected http://IP:PORT with an IP address"))?;
        Ok(Endpoint::new(addr))
    }

    /// The same target, connected to from `source`.
    pub fn from_source(self, source: IpAddr) -> Endpoint {
        Endpoint {
            source: Some(source),
            ..self
        }
    }

    /// `http://IP:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A TCP connection with Nagle off (a frame is sent when written), from `source` if set.
    pub(crate) async fn tcp(&self) -> Result<tokio::net::TcpStream, Error> {
        let stream = match self.source {
            None => tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| Error::Io(format!("connect {}: {e}", self.addr)))?,
            Some(source) => {
                let socket = if self.addr.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()
                } else {
                    tokio::net::TcpSocket::new_v6()
                }
                .map_err(|e| Error::Io(format!("socket: {e}")))?;
                socket
                    .bind(SocketAddr::new(source, 0))
                    .map_err(|e| Error::Io(format!("bind {source}: {e}")))?;
                socket
                    .connect(self.addr)
                    .await
                    .map_err(|e| Error::Io(format!("connect {}: {e}", self.addr)))?
            }
        };
        stream
            .set_nodelay(true)
            .map_err(|e| Error::Io(format!("TCP_NODELAY: {e}")))?;
        Ok(stream)
    }
}

/// How a socket ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closed {
    /// The server sent a close frame with this code.
    Code(u16),
    /// The connection ended without a close code.
    Gone,
    /// The connection failed (an I/O or protocol error).
    Failed(String),
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::Code(code) => write!(f, "closed by the server with {code}"),
            Closed::Gone => write!(f, "closed"),
            Closed::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// What can go wrong talking to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The server could not be reached or the connection broke.
    Io(String),
    /// Nothing arrived within the allowed time; `seen` lists what came meanwhile, if anything.
    Timeout(String),
    /// An HTTP answer (or a refused websocket upgrade) with a status other than success.
    Status { status: u16, body: String },
    /// The socket closed while something was awaited.
    Closed(Closed),
    /// A body or frame that does not parse as expected.
    Malformed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Timeout(what) => write!(f, "timed out: {what}"),
            Error::Status { status, body } => write!(f, "HTTP {status}: {}", body.trim()),
            Error::Closed(closed) => write!(f, "socket {closed}"),
            Error::Malformed(e) => write!(f, "malformed: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}

/// A signed-in identity, as `/api/auth/*` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub token: String,
    pub session: String,
    pub name: String,
    pub user_id: String,
}

impl From<AuthResponse> for Identity {
    fn from(auth: AuthResponse) -> Identity {
        Identity {
            token: auth.token,
            session: auth.session,
            name: auth.user.name,
            user_id: auth.user.id,
        }
    }
}

impl Identity {
    /// The `/ws` path that resumes this identity's session.
    pub fn ws_path(&self) -> String {
        ws_path(&self.token, Some(&self.session))
    }
}
