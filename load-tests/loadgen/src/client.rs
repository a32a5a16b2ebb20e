//! The client side of the wire protocol: targets, guests and accounts over HTTP, websocket connections
//! from a chosen loopback source address, and frames as `client-protocol` types.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use client_protocol::http::{AuthResponse, Credentials};
use client_protocol::{ClientFrame, ClientMessage, ServerFrame};
use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// A node (or the echo server) by its base URL, `http://IP:PORT`.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub base: String,
}

impl Target {
    /// Parses `http://IP:PORT`. Only loopback addresses are accepted unless `remote` is set:
    /// this tool measures the local baseline.
    pub fn parse(url: &str, remote: bool) -> Result<Target, String> {
        let rest = url
            .trim_end_matches('/')
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: expected http://IP:PORT"))?;
        let addr: SocketAddr = rest
            .parse()
            .map_err(|_| format!("{url}: expected http://IP:PORT with an IP address"))?;
        if !remote && !addr.ip().is_loopback() {
            return Err(format!(
                "{url}: not a loopback address (pass --allow-remote to load another host)"
            ));
        }
        Ok(Target {
            addr,
            base: format!("http://{rest}"),
        })
    }
}

/// Source addresses used in turn, so that tens of thousands of sockets do not run out of
/// ephemeral ports on one address (127.0.0.0/8 is all loopback).
pub struct Sources {
    ips: Vec<IpAddr>,
    next: AtomicUsize,
}

impl Sources {
    pub fn parse(list: &str) -> Result<Sources, String> {
        let ips = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| format!("bad source address {s}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ips.is_empty() {
            return Err("no source address".into());
        }
        Ok(Sources {
            ips,
            next: AtomicUsize::new(0),
        })
    }

    pub fn next(&self) -> IpAddr {
        self.ips[self.next.fetch_add(1, Ordering::Relaxed) % self.ips.len()]
    }
}

/// Small buffers: an idle client socket should cost little, as on the server.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

async fn tcp(target: &Target, source: IpAddr) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// `POST /api/auth/guest`: a guest account, its token and a session.
pub async fn guest(target: &Target, source: IpAddr) -> Result<AuthResponse, String> {
    auth(target, source, "guest", "").await
}

/// `POST /api/auth/register`: a registered account (username and password), its token and
/// a session.
pub async fn register(
    target: &Target,
    source: IpAddr,
    username: &str,
    password: &str,
) -> Result<AuthResponse, String> {
    let body = serde_json::to_string(&Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
    .map_err(|e| e.to_string())?;
    auth(target, source, "register", &body).await
}

/// One `POST /api/auth/<route>` with a JSON body (or none), over a connection of its own.
async fn auth(
    target: &Target,
    source: IpAddr,
    route: &str,
    body: &str,
) -> Result<AuthResponse, String> {
    let mut stream = tcp(target, source).await?;
    let request = format!(
        "POST /api/auth/{route} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        target.addr,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .map_err(|_| format!("{route}: timed out"))?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{route}: malformed HTTP response"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{route}: {} {}",
            head.lines().next().unwrap_or(""),
            body.trim()
        ));
    }
    serde_json::from_str(body).map_err(|e| format!("{route}: {e}"))
}

/// Opens a websocket to `target` at `path_and_query` from `source`.
pub async fn connect(target: &Target, path_and_query: &str, source: IpAddr) -> Result<Ws, String> {
    let stream = tcp(target, source).await?;
    let url = format!("ws://{}{path_and_query}", target.addr);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("upgrade: {e}"))?;
    Ok(ws)
}

/// The `/ws` path for a token, with a session to resume if any.
pub fn ws_path(token: &str, session: Option<&str>) -> String {
    match session {
        Some(s) => format!("/ws?token={token}&session={s}"),
        None => format!("/ws?token={token}"),
    }
}

pub async fn send(
    ws: &mut Ws,
    message: ClientMessage,
    reference: Option<String>,
) -> Result<(), String> {
    let frame = ClientFrame { reference, message };
    let text = serde_json::to_string(&frame).map_err(|e| e.to_string())?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("send: {e}"))
}

pub async fn send_text(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("send: {e}"))
}

pub fn parse(text: &str) -> Option<ServerFrame> {
    serde_json::from_str(text).ok()
}
