//! Test harness: a real node on port 0 (through the same `Application::build` as `main`), an
//! HTTP helper, and a websocket client that speaks the wire protocol with timeouts on every wait.

use std::time::Duration;

use actix_web::web::Bytes;
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use rookery::{Application, Config};
use serde_json::{json, Value};

/// Every wait in a test ends after this.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub port: u16,
    pub address: String,
    shutdown: rookery::startup::Shutdown,
    _data_dir: tempfile::TempDir,
}

/// A node with the defaults tests rely on; `tune` shortens what a test exercises.
pub async fn spawn_app_with(tune: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        rookery::telemetry::init_tracing(rookery::config::LogFormat::Pretty);
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests(data_dir.path());
    config.match_interval_ms = 50;
    tune(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let port = app.port();
    let shutdown = app.shutdown();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        port,
        address: format!("http://127.0.0.1:{port}"),
        shutdown,
        _data_dir: data_dir,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A signed-in identity, as `/api/auth/*` returns it.
#[derive(Clone, Debug)]
pub struct Identity {
    pub token: String,
    pub session: String,
    pub name: String,
    pub user_id: String,
}

impl Identity {
    /// From the body of a `/api/auth/*` answer.
    pub fn from_auth(body: &Value) -> Identity {
        Identity {
            token: body["token"].as_str().expect("token").to_owned(),
            session: body["session"].as_str().expect("session").to_owned(),
            name: body["user"]["name"].as_str().expect("name").to_owned(),
            user_id: body["user"]["id"].as_str().expect("id").to_owned(),
        }
    }
}

/// GET `url`: the status and the body as text.
pub async fn http_get(url: &str) -> (u16, String) {
    let client = awc::Client::builder().timeout(WAIT).finish();
    let mut response = client.get(url).send().await.expect("GET");
    let body = response.body().await.expect("body");
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// POST `body` as JSON to `url`: the status and the body as JSON (null if it is not JSON).
pub async fn http_post(url: &str, body: &Value) -> (u16, Value) {
    let client = awc::Client::builder().timeout(WAIT).finish();
    let mut response = client.post(url).send_json(body).await.expect("POST");
    let bytes = response.body().await.expect("body");
    (
        response.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

impl TestApp {
    /// An HTTP client with the test timeout.
    pub fn http(&self) -> awc::Client {
        awc::Client::builder().timeout(WAIT).finish()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = http_get(&format!("{}{path}", self.address)).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        http_get(&format!("{}{path}", self.address)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        http_post(&format!("{}{path}", self.address), &body).await
    }

    pub async fn guest(&self) -> Identity {
        let (status, body) = self.post("/api/auth/guest", json!({})).await;
        assert_eq!(status, 200, "{body}");
        Identity::from_auth(&body)
    }

    pub async fn register(&self, name: &str) -> Identity {
        let (status, body) = self
            .post(
                "/api/auth/register",
                json!({"username": name, "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        Identity::from_auth(&body)
    }

    /// Opens a socket resuming this identity's session; expects `client/RESUME_SESSION` first.
    pub async fn connect(&self, who: &Identity) -> Client {
        let mut client = self
            .connect_raw(&format!("/ws?token={}&session={}", who.token, who.session))
            .await;
        let first = client.recv().await;
        assert_eq!(first["type"], "client/RESUME_SESSION", "{first}");
        client
    }

    /// Opens a socket at `path_and_query` with no further checks.
    pub async fn connect_raw(&self, path_and_query: &str) -> Client {
        Client::connect(&format!("ws://127.0.0.1:{}{path_and_query}", self.port)).await
    }

    pub async fn stop(&self) {
        self.shutdown.trigger().await;
    }
}

/// A websocket client that speaks JSON frames.
pub struct Client {
    framed: actix_codec::Framed<awc::BoxedSocket, ws::Codec>,
    /// Every message received, in order (for diagnostics).
    pub seen: Vec<Value>,
}

/// How a socket ended.
#[derive(Debug, PartialEq)]
pub enum Closed {
    Code(u16),
    Gone,
}

impl Client {
    /// Opens a websocket to `url`.
    pub async fn connect(url: &str) -> Client {
        let (_, framed) = awc::Client::new()
            .ws(url)
            .connect()
            .await
            .expect("websocket connects");
        Client {
            framed,
            seen: Vec::new(),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.framed
            .send(ws::Message::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.framed
            .send(ws::Message::Binary(Bytes::copy_from_slice(bytes)))
            .await
            .expect("send");
    }

    /// The next message, whatever it is (pings are answered on the way).
    pub async fn recv(&mut self) -> Value {
        match tokio::time::timeout(WAIT, self.next_json()).await {
            Ok(Ok(value)) => value,
            Ok(Err(closed)) => panic!(
                "socket closed ({closed:?}) while waiting; seen: {:#?}",
                self.seen
            ),
            Err(_) => panic!("no message within {WAIT:?}; seen: {:#?}", self.seen),
        }
    }

    async fn next_json(&mut self) -> Result<Value, Closed> {
        loop {
            match self.framed.next().await {
                Some(Ok(ws::Frame::Text(bytes))) => {
                    let value: Value = serde_json::from_slice(&bytes).expect("server sends JSON");
                    self.seen.push(value.clone());
                    return Ok(value);
                }
                Some(Ok(ws::Frame::Ping(bytes))) => {
                    let _ = self.framed.send(ws::Message::Pong(bytes)).await;
                }
                Some(Ok(ws::Frame::Close(reason))) => {
                    return Err(reason.map_or(Closed::Gone, |r| Closed::Code(u16::from(r.code))));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(Closed::Gone),
            }
        }
    }

    /// Receives until a message of `ty` arrives, returning it (messages before it are kept in `seen`).
    pub async fn expect(&mut self, ty: &str) -> Value {
        loop {
            let message = self.recv().await;
            if message["type"] == ty {
                return message;
            }
        }
    }

    /// The very next message must be of `ty`.
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

    /// Waits for the socket to close and returns how.
    pub async fn closed(&mut self) -> Closed {
        let wait = async {
            loop {
                if let Err(closed) = self.next_json().await {
                    return closed;
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .expect("socket closes in time")
    }

    pub async fn close(mut self) {
        let _ = self.framed.send(ws::Message::Close(None)).await;
    }
}

/// The two players of a running game, by side.
pub struct Game {
    pub id: String,
    pub first: Client,
    pub second: Client,
    pub first_who: Identity,
    pub second_who: Identity,
    /// Moves played so far (the next move's `seq`).
    pub seq: u64,
}

/// Two players queue, accept the matchup and get the game's `client/START_GAME`.
pub async fn matched(app: &TestApp, a: Identity, b: Identity, queue: Value) -> (Game, Value) {
    let mut ca = app.connect(&a).await;
    let mut cb = app.connect(&b).await;
    ca.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    ca.next_is("client/QUEUED").await;
    cb.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    cb.next_is("client/QUEUED").await;
    let pa = ca.next_is("client/PROPOSE_MATCHUP").await;
    let pb = cb.next_is("client/PROPOSE_MATCHUP").await;
    assert_eq!(pa["matchup"], pb["matchup"]);
    ca.send(json!({"type": "server/REPLY_MATCHUP", "matchup": pa["matchup"], "accept": true}))
        .await;
    cb.send(json!({"type": "server/REPLY_MATCHUP", "matchup": pb["matchup"], "accept": true}))
        .await;
    let left = ca.next_is("client/QUEUE_LEFT").await;
    assert_eq!(left["reason"], "matched");
    cb.next_is("client/QUEUE_LEFT").await;
    let start_a = ca.next_is("client/START_GAME").await;
    let start_b = cb.next_is("client/START_GAME").await;
    assert_eq!(start_a["game"], start_b["game"]);
    assert_eq!(start_a["status"], "waiting_ready");
    let id = start_a["game"].as_str().unwrap().to_owned();
    let game = if start_a["you"] == "first" {
        Game {
            id,
            first: ca,
            second: cb,
            first_who: a,
            second_who: b,
            seq: 0,
        }
    } else {
        Game {
            id,
            first: cb,
            second: ca,
            first_who: b,
            second_who: a,
            seq: 0,
        }
    };
    (game, start_a)
}

/// `matched`, then both ready: returns a game in `playing` at seq 0.
pub async fn playing(app: &TestApp, queue: Value) -> Game {
    let (a, b) = (app.guest().await, app.guest().await);
    playing_between(app, a, b, queue).await
}

pub async fn playing_between(app: &TestApp, a: Identity, b: Identity, queue: Value) -> Game {
    let (mut game, _) = matched(app, a, b, queue).await;
    let id = game.id.clone();
    game.first
        .send(json!({"type": "game/PLAYER_READY", "game": id}))
        .await;
    game.second
        .send(json!({"type": "game/PLAYER_READY", "game": id, "ref": "ready-2"}))
        .await;
    for (client, _) in [(&mut game.first, 0), (&mut game.second, 1)] {
        let update = client.next_is("client/UPDATE_GAME").await;
        assert_eq!(update["status"], "playing", "{update}");
        assert_eq!(update["seq"], 0);
        assert_eq!(update["lastMove"], Value::Null);
    }
    game
}

impl Game {
    /// Plays moves alternately starting with `first`, each acknowledged to both players.
    pub async fn play(&mut self, moves: &[Value]) -> Value {
        let mut last = Value::Null;
        for mv in moves {
            let seq = self.seq;
            let (mover, other) = if seq.is_multiple_of(2) {
                (&mut self.first, &mut self.second)
            } else {
                (&mut self.second, &mut self.first)
            };
            let reference = format!("m{seq}");
            mover.send(json!({"type": "game/PLAYER_MOVE", "game": self.id, "seq": seq, "move": mv, "ref": reference})).await;
            let ack = mover.expect("client/UPDATE_GAME").await;
            assert_eq!(
                ack["ref"], reference,
                "the mover's update echoes its ref: {ack}; seen {:?}",
                mover.seen
            );
            assert_eq!(ack["seq"], seq + 1);
            let seen = other.expect("client/UPDATE_GAME").await;
            assert_eq!(seen["lastMove"], ack["lastMove"]);
            assert!(
                seen.get("ref").is_none(),
                "the opponent's copy carries no ref: {seen}"
            );
            self.seq += 1;
            last = ack;
        }
        last
    }
}

pub fn queue(game: &str) -> Value {
    json!({"game": game, "clock": null, "rated": false})
}

pub fn timed_queue(game: &str, initial_ms: u64, increment_ms: u64) -> Value {
    json!({"game": game, "clock": {"initialMs": initial_ms, "incrementMs": increment_ms}, "rated": false})
}

/// Polls `probe` until it yields a value (persistence happens just after `client/GAME_OVER`).
pub async fn poll<T, F, Fut>(mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {WAIT:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
