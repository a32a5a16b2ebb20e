//! Test harness: a real node on port 0 (through the same `Application::build` as `main`), HTTP
//! helpers, and the shared test client (`rookery-testkit`) that speaks the wire protocol with
//! timeouts on every wait.

use rookery::{Application, Config};
use rookery_testkit::http::{self, Response};
use rookery_testkit::Endpoint;
use serde_json::{json, Value};

pub use rookery_testkit::{Client, Closed, Identity, WAIT};

pub struct TestApp {
    pub port: u16,
    /// The node's services, for tests that arrange state the API cannot (jobs in a tube).
    pub node: rookery::node::Node,
    pub endpoint: Endpoint,
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
    let node = app.node();
    let shutdown = app.shutdown();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        port,
        node,
        endpoint: Endpoint::localhost(port),
        shutdown,
        _data_dir: data_dir,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// One HTTP request to `endpoint`, answered within `WAIT` (whatever its status).
pub async fn http_request(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    tokio::time::timeout(WAIT, http::request(endpoint, method, path, headers, body))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// GET `path`: the status and the body as text.
pub async fn http_get(endpoint: &Endpoint, path: &str) -> (u16, String) {
    let response = http_request(endpoint, "GET", path, &[], &[]).await;
    (response.status, response.text())
}

/// POST `body` as JSON to `path`: the status and the body as JSON (null if it is not JSON).
pub async fn http_post(endpoint: &Endpoint, path: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let headers = [("content-type", "application/json")];
    let response = http_request(endpoint, "POST", path, &headers, body.as_bytes()).await;
    (response.status, response.json())
}

impl TestApp {
    /// One HTTP request to this node, with headers of the test's choosing.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        http_request(&self.endpoint, method, path, headers, body).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = http_get(&self.endpoint, path).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        http_get(&self.endpoint, path).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        http_post(&self.endpoint, path, &body).await
    }

    pub async fn guest(&self) -> Identity {
        tokio::time::timeout(WAIT, http::guest(&self.endpoint))
            .await
            .expect("guest within WAIT")
            .unwrap_or_else(|e| panic!("guest: {e}"))
    }

    pub async fn register(&self, name: &str) -> Identity {
        tokio::time::timeout(WAIT, http::register(&self.endpoint, name, "correct horse"))
            .await
            .expect("register within WAIT")
            .unwrap_or_else(|e| panic!("register {name}: {e}"))
    }

    /// Opens a socket resuming this identity's session; expects `client/RESUME_SESSION` first.
    pub async fn connect(&self, who: &Identity) -> Client {
        let mut client = self.connect_raw(&who.ws_path()).await;
        let first = client.recv().await;
        assert_eq!(first["type"], "client/RESUME_SESSION", "{first}");
        client
    }

    /// Opens a socket at `path_and_query` with no further checks.
    pub async fn connect_raw(&self, path_and_query: &str) -> Client {
        Client::connect(&self.endpoint, path_and_query).await
    }

    pub async fn stop(&self) {
        self.shutdown.trigger().await;
    }

    /// The node's data dir (its SQLite files).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// An HTTP call with an optional bearer token and JSON body: status and JSON answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let response = self.request(method, path, &headers, body.as_bytes()).await;
        (response.status, response.json())
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

/// Milliseconds since the Unix epoch (a tournament's `startsAt`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The next `client/START_GAME` that `client` was told of for `tournament`: (game, side).
pub async fn started(client: &mut Client, tournament: &str) -> (String, String) {
    let start = client
        .expect_matching("a tournament game", |m| {
            m["type"] == "client/START_GAME" && m["tournament"] == tournament
        })
        .await;
    (
        start["game"].as_str().unwrap().to_owned(),
        start["you"].as_str().unwrap().to_owned(),
    )
}
