//! A small HTTP/1.1 client (one request per connection, `Connection: close`, from the
//! endpoint's source address if set) and the auth calls built on it: guest, register, login.

use std::time::Duration;

use client_protocol::http::{AuthResponse, Credentials};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Endpoint, Error, Identity};

/// How long an answer may take once the request is sent.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, `Null` if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Every value of header `name` (any case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn ok(self) -> Result<Response, Error> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(Error::Status {
                status: self.status,
                body: self.text(),
            })
        }
    }
}

/// One request over a connection of its own: `headers` are sent as given, plus `Host`,
/// `Content-Length` and `Connection: close`.
pub async fn request(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, Error> {
    let mut stream = endpoint.tcp().await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", endpoint.addr);
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| Error::Io(format!("{method} {path}: {e}")))?;
    let mut raw = Vec::new();
    tokio::time::timeout(ANSWER_WITHIN, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| Error::Timeout(format!("{method} {path}: no answer in {ANSWER_WITHIN:?}")))?
        .map_err(|e| Error::Io(format!("{method} {path}: {e}")))?;
    parse_response(&raw).ok_or_else(|| {
        Error::Malformed(format!(
            "{method} {path}: {}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ))
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// `GET path`.
pub async fn get(endpoint: &Endpoint, path: &str) -> Result<Response, Error> {
    request(endpoint, "GET", path, &[], &[]).await
}

/// `POST path` with `body` as JSON.
pub async fn post_json(
    endpoint: &Endpoint,
    path: &str,
    body: &impl Serialize,
) -> Result<Response, Error> {
    let body = serde_json::to_vec(body).map_err(|e| Error::Malformed(e.to_string()))?;
    let headers = [("Content-Type", "application/json")];
    request(endpoint, "POST", path, &headers, &body).await
}

async fn auth(endpoint: &Endpoint, route: &str, body: &[u8]) -> Result<Identity, Error> {
    let path = format!("/api/auth/{route}");
    let headers = [("Content-Type", "application/json")];
    let response = request(endpoint, "POST", &path, &headers, body)
        .await?
        .ok()?;
    let auth: AuthResponse = serde_json::from_slice(&response.body)
        .map_err(|e| Error::Malformed(format!("{path}: {e}")))?;
    Ok(auth.into())
}

fn credentials(username: &str, password: &str) -> Vec<u8> {
    serde_json::to_vec(&Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
        email: None,
    })
    .expect("credentials serialize")
}

/// `POST /api/auth/guest`: a guest account, its token and a session.
pub async fn guest(endpoint: &Endpoint) -> Result<Identity, Error> {
    auth(endpoint, "guest", b"").await
}

/// `POST /api/auth/register`: a new account, its token and a session.
pub async fn register(
    endpoint: &Endpoint,
    username: &str,
    password: &str,
) -> Result<Identity, Error> {
    auth(endpoint, "register", &credentials(username, password)).await
}

/// `POST /api/auth/login`: an existing account, a fresh token and session.
pub async fn login(endpoint: &Endpoint, username: &str, password: &str) -> Result<Identity, Error> {
    auth(endpoint, "login", &credentials(username, password)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_answer_is_put_back_together() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let response = parse_response(raw).expect("parses");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"abcde");
        assert_eq!(
            response.header_values("SET-COOKIE").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
    }

    #[test]
    fn a_sized_answer_keeps_its_body_as_is() {
        let raw = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        let response = parse_response(raw).expect("parses");
        assert_eq!((response.status, response.text()), (404, "{}".to_owned()));
    }
}
