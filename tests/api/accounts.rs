//! Accounts and identity: register, login and guest over HTTP and over the socket, the rules a
//! username and password must meet, tokens that must be refused, sessions that belong to one
//! user, the websocket Origin check, and the rest of the HTTP API (profiles, errors, ops).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use crate::helpers::*;
use rookery_testkit::Error;

/// The JWT secret `Config::for_tests` gives every test node.
const TEST_SECRET: &str = "test-secret-test-secret-test-secret";
const PASSWORD: &str = "correct horse";

/// Name-value pairs: request headers, metric labels.
type Pairs<'a> = &'a [(&'a str, &'a str)];

// ---------------------------------------------------------------------------------------------
// Small helpers for what the shared harness does not do: raw bodies, headers, sockets with headers.

/// POSTs `body` verbatim as `application/json`.
async fn post_raw(app: &TestApp, path: &str, body: &str) -> (u16, Value) {
    let headers = [("content-type", "application/json")];
    let response = app.request("POST", path, &headers, body.as_bytes()).await;
    (response.status, response.json())
}

/// GETs `path` with `Authorization: Bearer <token>`.
async fn get_as(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let response = app
        .request("GET", path, &[("authorization", &bearer)], &[])
        .await;
    (response.status, response.json())
}

/// Opens `/ws...` with `headers`; the upgrade's outcome is returned as is.
async fn open_socket(
    app: &TestApp,
    path_and_query: &str,
    headers: Pairs<'_>,
) -> Result<Client, Error> {
    Client::connect_with(&app.endpoint, path_and_query, headers).await
}

/// An HS256 token over `claims`, signed with `secret`.
fn signed_token(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signs")
}

/// A token with `alg: none` and no signature.
fn unsigned_token(claims: &Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = b64.encode(claims.to_string());
    format!("{header}.{payload}.")
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Claims shaped like the node's own tokens, for `who`, expiring `exp_offset` seconds from now.
fn claims_for(who: &Identity, guest: bool, exp_offset: i64) -> Value {
    let now = now_secs();
    json!({
        "sub": who.user_id,
        "name": who.name,
        "guest": guest,
        "iat": now - 3600,
        "exp": now.checked_add_signed(exp_offset).expect("in range"),
    })
}

/// The protocol's session id: 128 random bits as base64url (22 characters unpadded).
fn assert_session_id(session: &Value) {
    let session = session
        .as_str()
        .unwrap_or_else(|| panic!("session is a string: {session}"));
    assert_eq!(session.len(), 22, "128 bits of base64url: {session}");
    assert!(
        session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url: {session}"
    );
}

/// `user` is `{id, name, rating, guest}` with these values.
fn assert_user(user: &Value, name: Option<&str>, guest: bool) {
    assert!(
        user["id"].as_str().is_some_and(|id| !id.is_empty()),
        "id: {user}"
    );
    match name {
        Some(name) => assert_eq!(user["name"], name, "{user}"),
        None => assert!(
            user["name"].as_str().is_some_and(|n| !n.is_empty()),
            "name: {user}"
        ),
    }
    assert!(user["rating"].is_i64(), "rating is an integer: {user}");
    assert_eq!(user["guest"], guest, "{user}");
}

/// A token is an HS256 JWT signed with the node's secret.
fn assert_hs256_token(token: &Value) {
    let token = token
        .as_str()
        .unwrap_or_else(|| panic!("token is a string: {token}"));
    let header = jsonwebtoken::decode_header(token).expect("a JWT");
    assert_eq!(header.alg, Algorithm::HS256);
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        &Validation::new(Algorithm::HS256),
    )
    .expect("signed with the node's secret");
}

/// An HTTP error body: `{code, message}` with this code.
fn assert_api_error(status: u16, body: &Value, want_status: u16, want_code: &str, case: &str) {
    assert_eq!(status, want_status, "{case}: {body}");
    assert_eq!(body["code"], want_code, "{case}: {body}");
    assert!(body["message"].is_string(), "{case}: message: {body}");
}

fn credentials(username: &str, password: &str) -> Value {
    json!({"username": username, "password": password})
}

// ---------------------------------------------------------------------------------------------
// Identity over HTTP

#[actix_web::test]
async fn registering_over_http_returns_a_token_a_session_and_the_user() {
    let app = spawn_app().await;

    let (status, body) = app
        .post("/api/auth/register", credentials("alice", PASSWORD))
        .await;

    assert_eq!(status, 200, "{body}");
    assert_hs256_token(&body["token"]);
    assert_session_id(&body["session"]);
    assert_user(&body["user"], Some("alice"), false);
}

#[actix_web::test]
async fn each_guest_over_http_is_a_new_guest_user_with_its_own_session() {
    let app = spawn_app().await;

    let (status_a, a) = app.post("/api/auth/guest", json!({})).await;
    let (status_b, b) = app.post("/api/auth/guest", json!({})).await;

    for (status, body) in [(status_a, &a), (status_b, &b)] {
        assert_eq!(status, 200, "{body}");
        assert_hs256_token(&body["token"]);
        assert_session_id(&body["session"]);
        assert_user(&body["user"], None, true);
    }
    assert_ne!(a["user"]["id"], b["user"]["id"]);
    assert_ne!(a["user"]["name"], b["user"]["name"]);
    assert_ne!(a["session"], b["session"]);
}

#[actix_web::test]
async fn logging_in_over_http_returns_the_same_user_with_a_new_session() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;

    let (status, body) = app
        .post("/api/auth/login", credentials("alice", PASSWORD))
        .await;

    assert_eq!(status, 200, "{body}");
    assert_hs256_token(&body["token"]);
    assert_session_id(&body["session"]);
    assert_user(&body["user"], Some("alice"), false);
    assert_eq!(body["user"]["id"], registered.user_id);
    assert_ne!(body["session"], registered.session);
}

#[actix_web::test]
async fn login_sets_http_only_cookies_carrying_the_token_and_the_session() {
    let app = spawn_app().await;
    app.register("alice").await;

    let login = credentials("alice", PASSWORD).to_string();
    let headers = [("content-type", "application/json")];
    let response = app
        .request("POST", "/api/auth/login", &headers, login.as_bytes())
        .await;
    let body = response.json();

    assert_eq!(response.status, 200, "{body}");
    let cookies: Vec<String> = response
        .header_values("set-cookie")
        .map(str::to_owned)
        .collect();
    for (what, value) in [("token", &body["token"]), ("session", &body["session"])] {
        let value = value.as_str().expect("string");
        let cookie = cookies
            .iter()
            .find(|c| {
                c.split(';')
                    .next()
                    .and_then(|pair| pair.split_once('='))
                    .is_some_and(|(_, v)| v == value)
            })
            .unwrap_or_else(|| panic!("a cookie carries the {what}: {cookies:?}"));
        let attributes: Vec<String> = cookie
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        assert!(
            attributes.iter().any(|a| a == "httponly"),
            "{what} cookie is HttpOnly: {cookie}"
        );
        assert!(
            attributes.iter().any(|a| a == "path=/"),
            "{what} cookie reaches /ws (Path=/): {cookie}"
        );
    }
}

#[actix_web::test]
async fn the_socket_takes_its_token_from_the_query_a_bearer_header_or_the_login_cookies() {
    let app = spawn_app().await;
    app.register("alice").await;
    let body = credentials("alice", PASSWORD).to_string();
    let headers = [("content-type", "application/json")];
    let response = app
        .request("POST", "/api/auth/login", &headers, body.as_bytes())
        .await;
    let login = response.json();
    let token = login["token"].as_str().expect("token").to_owned();
    let session = login["session"].as_str().expect("session").to_owned();
    // What a browser would send back: the name=value pairs it was given.
    let cookie_header = response
        .header_values("set-cookie")
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");

    let query = format!("/ws?token={token}&session={session}");
    let session_only = format!("/ws?session={session}");
    let bearer = format!("Bearer {token}");
    let cases: [(&str, &str, Pairs); 3] = [
        ("token in the query", &query, &[]),
        (
            "Authorization: Bearer",
            &session_only,
            &[("authorization", &bearer)],
        ),
        ("login cookies", "/ws", &[("cookie", &cookie_header)]),
    ];

    for (how, path, headers) in cases {
        let mut socket = open_socket(&app, path, headers)
            .await
            .unwrap_or_else(|e| panic!("{how}: {e:?}"));
        let first = socket.recv().await;
        assert_eq!(first["type"], "client/RESUME_SESSION", "{how}: {first}");
        assert_eq!(first["session"], session, "{how}: {first}");
        assert_eq!(first["user"]["id"], login["user"]["id"], "{how}: {first}");
        socket.close().await;
    }
}

#[actix_web::test]
async fn a_socket_with_a_token_and_no_session_starts_a_fresh_session_for_that_user() {
    let app = spawn_app().await;
    let who = app.register("alice").await;

    let mut socket = app.connect_raw(&format!("/ws?token={}", who.token)).await;
    let first = socket.next_is("client/SESSION_STARTED").await;

    assert_session_id(&first["session"]);
    assert_ne!(first["session"], who.session);
    assert_eq!(first["user"]["id"], who.user_id);
    assert!(first.get("ref").is_none(), "nothing to echo: {first}");
}

// ---------------------------------------------------------------------------------------------
// Identity over the socket

#[actix_web::test]
async fn an_anonymous_socket_can_register_log_in_or_become_a_guest() {
    let app = spawn_app().await;
    app.register("carol").await;
    let cases = [
        (
            "register",
            json!({"type": "server/REGISTER_USER", "username": "dave", "password": PASSWORD, "ref": "reg-1"}),
            Some("dave"),
            false,
        ),
        (
            "login",
            json!({"type": "server/LOGIN", "username": "carol", "password": PASSWORD, "ref": "login-1"}),
            Some("carol"),
            false,
        ),
        (
            "guest",
            json!({"type": "server/GUEST", "ref": "guest-1"}),
            None,
            true,
        ),
    ];

    for (how, message, name, guest) in cases {
        let mut socket = app.connect_raw("/ws").await;
        socket.send(message.clone()).await;
        let started = socket.next_is("client/SESSION_STARTED").await;

        assert_eq!(started["ref"], message["ref"], "{how}: echoes the ref");
        assert_hs256_token(&started["token"]);
        assert_session_id(&started["session"]);
        assert_user(&started["user"], name, guest);
        // The socket is now signed in: a matchmaking message is handled, not refused.
        socket
            .send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "after"}))
            .await;
        let error = socket.expect_error("not_in_queue").await;
        assert_eq!(error["ref"], "after", "{how}");
        // The token is good for the HTTP API, and the session can be resumed.
        let token = started["token"].as_str().expect("token");
        let (status, me) = get_as(&app, "/api/me", token).await;
        assert_eq!(status, 200, "{how}: {me}");
        assert_eq!(me["id"], started["user"]["id"], "{how}");
        let who = Identity {
            token: token.to_owned(),
            session: started["session"].as_str().expect("session").to_owned(),
            name: started["user"]["name"].as_str().expect("name").to_owned(),
            user_id: started["user"]["id"].as_str().expect("id").to_owned(),
        };
        let resumed = app.connect(&who).await;
        assert_eq!(resumed.seen[0]["session"], started["session"], "{how}");
    }
}

#[actix_web::test]
async fn an_anonymous_socket_may_send_nothing_but_register_login_or_guest() {
    let app = spawn_app().await;
    let mut socket = app.connect_raw("/ws").await;
    let refused = [
        json!({"type": "server/START_MATCHMAKING", "queue": queue("tictactoe")}),
        json!({"type": "server/CANCEL_MATCHMAKING"}),
        json!({"type": "server/REPLY_MATCHUP", "matchup": "m", "accept": true}),
        json!({"type": "game/PLAYER_READY", "game": "abcdefgh"}),
        json!({"type": "game/PLAYER_MOVE", "game": "abcdefgh", "seq": 0, "move": 4}),
        json!({"type": "game/OFFER_DRAW", "game": "abcdefgh"}),
        json!({"type": "game/DECLINE_DRAW", "game": "abcdefgh"}),
        json!({"type": "game/CONCEDE", "game": "abcdefgh"}),
    ];

    for (i, mut message) in refused.into_iter().enumerate() {
        let reference = format!("anon-{i}");
        message["ref"] = json!(reference);
        socket.send(message.clone()).await;
        let error = socket.expect_error("unauthenticated").await;
        assert_eq!(error["ref"], reference, "{message}");
        assert!(error["message"].is_string(), "{error}");
    }

    // The socket still works: it can sign in.
    socket
        .send(json!({"type": "server/GUEST", "ref": "finally"}))
        .await;
    let started = socket.next_is("client/SESSION_STARTED").await;
    assert_eq!(started["ref"], "finally");
    assert_user(&started["user"], None, true);
}

// ---------------------------------------------------------------------------------------------
// Username and password rules, duplicates, wrong passwords, login limits

#[actix_web::test]
async fn usernames_that_break_the_rules_are_refused_with_invalid_field() {
    let app = spawn_app().await;
    let too_long = "a".repeat(21);
    let cases: [(&str, &str); 11] = [
        ("empty", ""),
        ("too short", "ab"),
        ("too long", &too_long),
        ("a space", "bad name"),
        ("punctuation", "al!ce"),
        ("a non-ASCII letter", "ålice"),
        ("a leading digit", "1alice"),
        ("a leading underscore", "_alice"),
        ("reserved: guest", "guest"),
        ("reserved: guest prefix", "Guest42"),
        ("reserved: guest prefix in capitals", "GUEST_x"),
    ];
    let mut socket = app.connect_raw("/ws").await;

    for (i, (why, name)) in cases.iter().enumerate() {
        let (status, body) = app
            .post("/api/auth/register", credentials(name, PASSWORD))
            .await;
        assert_api_error(status, &body, 400, "invalid_field", why);

        let reference = format!("name-{i}");
        socket
            .send(json!({"type": "server/REGISTER_USER", "username": name, "password": PASSWORD, "ref": reference}))
            .await;
        let error = socket.expect_error("invalid_field").await;
        assert_eq!(error["ref"], reference, "{why}");
    }
    let (status, _) = app.get("/api/users/Guest42").await;
    assert_eq!(status, 404, "a refused name was not created");
}

#[actix_web::test]
async fn usernames_at_the_edges_of_the_rules_are_accepted_as_written() {
    let app = spawn_app().await;
    let longest = "z".repeat(20);
    let cases: [(&str, &str); 4] = [
        ("shortest", "abc"),
        ("longest", &longest),
        ("mixed case, digits, '_' and '-'", "Zed_the-2nd"),
        ("close to the reserved prefix", "gues7"),
    ];

    for (why, name) in cases {
        let (status, body) = app
            .post("/api/auth/register", credentials(name, PASSWORD))
            .await;
        assert_eq!(status, 200, "{why}: {body}");
        assert_eq!(body["user"]["name"], name, "{why}: the name keeps its case");
    }
}

#[actix_web::test]
async fn passwords_of_the_wrong_length_are_refused_with_invalid_field() {
    let app = spawn_app().await;
    let too_long = "p".repeat(129);
    let cases: [(&str, &str); 3] = [
        ("empty", ""),
        ("seven characters", "1234567"),
        ("129 characters", &too_long),
    ];
    let mut socket = app.connect_raw("/ws").await;

    for (i, (why, password)) in cases.iter().enumerate() {
        let (status, body) = app
            .post("/api/auth/register", credentials("alice", password))
            .await;
        assert_api_error(status, &body, 400, "invalid_field", why);

        let reference = format!("pw-{i}");
        socket
            .send(json!({"type": "server/REGISTER_USER", "username": "alice", "password": password, "ref": reference}))
            .await;
        let error = socket.expect_error("invalid_field").await;
        assert_eq!(error["ref"], reference, "{why}");
    }
    let (status, _) = app.get("/api/users/alice").await;
    assert_eq!(status, 404, "no account was created");
    let (status, body) = app
        .post("/api/auth/register", credentials("alice", "12345678"))
        .await;
    assert_eq!(status, 200, "eight characters is enough: {body}");
}

#[actix_web::test]
async fn a_duplicate_username_is_refused_with_username_taken() {
    let app = spawn_app().await;
    let first = app.register("alice").await;
    let mut socket = app.connect_raw("/ws").await;

    for (i, name) in ["alice", "Alice", "ALICE"].into_iter().enumerate() {
        let (status, body) = app
            .post("/api/auth/register", credentials(name, "another password"))
            .await;
        assert_api_error(status, &body, 409, "username_taken", name);

        let reference = format!("dup-{i}");
        socket
            .send(json!({"type": "server/REGISTER_USER", "username": name, "password": "another password", "ref": reference}))
            .await;
        let error = socket.expect_error("username_taken").await;
        assert_eq!(error["ref"], reference, "{name}");
    }
    // The first owner keeps the name and the password.
    let (status, body) = app
        .post("/api/auth/login", credentials("alice", PASSWORD))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["id"], first.user_id);
}

#[actix_web::test]
async fn a_wrong_password_or_unknown_user_is_refused_with_bad_credentials() {
    let app = spawn_app().await;
    app.register("alice").await;
    let cases = [
        ("wrong password", "alice", "not the password"),
        ("unknown user", "nobody", PASSWORD),
    ];
    let mut socket = app.connect_raw("/ws").await;

    for (why, username, password) in cases {
        let (status, body) = app
            .post("/api/auth/login", credentials(username, password))
            .await;
        assert_api_error(status, &body, 401, "bad_credentials", why);

        socket
            .send(json!({"type": "server/LOGIN", "username": username, "password": password, "ref": why}))
            .await;
        let error = socket.expect_error("bad_credentials").await;
        assert_eq!(error["ref"], why);
    }
    // A refused login leaves the socket anonymous.
    socket
        .send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "still-anon"}))
        .await;
    let error = socket.expect_error("unauthenticated").await;
    assert_eq!(error["ref"], "still-anon");
}

#[actix_web::test]
async fn failed_logins_past_the_per_username_limit_are_rate_limited() {
    let app = spawn_app_with(|c| c.login_per_user_per_min = 2).await;
    app.register("alice").await;
    app.register("bob").await;

    for attempt in 1..=2 {
        let (status, body) = app
            .post("/api/auth/login", credentials("alice", "wrong password"))
            .await;
        assert_api_error(
            status,
            &body,
            401,
            "bad_credentials",
            &format!("attempt {attempt}"),
        );
    }
    let (status, body) = app
        .post("/api/auth/login", credentials("alice", "wrong password"))
        .await;
    assert_api_error(status, &body, 429, "rate_limited", "third failed attempt");

    // Locked out for now, even with the right password, over HTTP and over the socket.
    let (status, body) = app
        .post("/api/auth/login", credentials("alice", PASSWORD))
        .await;
    assert_api_error(
        status,
        &body,
        429,
        "rate_limited",
        "right password while limited",
    );
    let mut socket = app.connect_raw("/ws").await;
    socket.send(json!({"type": "server/LOGIN", "username": "alice", "password": PASSWORD, "ref": "locked"})).await;
    let error = socket.expect_error("rate_limited").await;
    assert_eq!(error["ref"], "locked");
    // The limit is per username: another player logs in as usual.
    let (status, body) = app
        .post("/api/auth/login", credentials("bob", PASSWORD))
        .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Tokens and sessions that must be refused

#[actix_web::test]
async fn a_forged_expired_or_unsigned_token_leaves_the_socket_anonymous() {
    let app = spawn_app().await;
    let victim = app.register("victim").await;
    let stranger = Identity {
        user_id: "AAAAAAAAAAAAAAAA".into(),
        ..victim.clone()
    };
    let cases = [
        (
            "signed with another secret",
            signed_token(
                "another-secret-another-secret-xx",
                &claims_for(&victim, false, 3600),
            ),
        ),
        (
            "expired a minute ago",
            signed_token(TEST_SECRET, &claims_for(&victim, false, -60)),
        ),
        (
            "unsigned (alg none)",
            unsigned_token(&claims_for(&victim, false, 3600)),
        ),
        (
            "for a user that does not exist",
            signed_token(TEST_SECRET, &claims_for(&stranger, false, 3600)),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];

    for (why, token) in cases {
        let mut socket = app
            .connect_raw(&format!("/ws?token={token}&session={}", victim.session))
            .await;
        let first = socket.next_is("client/ERROR").await;
        assert_eq!(first["code"], "unauthenticated", "{why}: {first}");
        // Still anonymous: game and matchmaking messages are refused ...
        socket
            .send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "probe"}))
            .await;
        let error = socket.expect_error("unauthenticated").await;
        assert_eq!(error["ref"], "probe", "{why}");
        // ... and signing in works, into a session that is not the victim's.
        socket
            .send(json!({"type": "server/GUEST", "ref": "guest"}))
            .await;
        let started = socket.next_is("client/SESSION_STARTED").await;
        assert_ne!(started["session"], victim.session, "{why}");
        assert_ne!(started["user"]["id"], victim.user_id, "{why}");
        // The HTTP API refuses the same token.
        let (status, body) = get_as(&app, "/api/me", &token).await;
        assert_api_error(status, &body, 401, "unauthenticated", why);
    }
}

#[actix_web::test]
async fn a_token_crafted_with_the_nodes_secret_and_a_future_expiry_is_accepted() {
    // The control for the refused tokens above: the same crafting, valid, resumes the session.
    let app = spawn_app().await;
    let who = app.register("alice").await;
    let token = signed_token(TEST_SECRET, &claims_for(&who, false, 3600));

    let client = app
        .connect(&Identity {
            token: token.clone(),
            ..who.clone()
        })
        .await;
    let (status, me) = get_as(&app, "/api/me", &token).await;

    assert_eq!(client.seen[0]["session"], who.session);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], who.user_id);
}

#[actix_web::test]
async fn resuming_another_users_session_is_forbidden_and_reveals_nothing() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut bob_socket = app.connect(&bob).await;
    bob_socket
        .send(json!({"type": "server/START_MATCHMAKING", "queue": queue("chess")}))
        .await;
    bob_socket.next_is("client/QUEUED").await;

    let mut intruder = app
        .connect_raw(&format!(
            "/ws?token={}&session={}",
            alice.token, bob.session
        ))
        .await;
    let error = intruder.expect_error("forbidden").await;
    let closed = intruder.closed().await;

    assert_eq!(closed, Closed::Code(1008));
    assert!(error.get("ref").is_none(), "{error}");
    for message in &intruder.seen {
        assert_ne!(message["type"], "client/RESUME_SESSION", "{message}");
        let text = message.to_string();
        assert!(
            !text.contains("bob") && !text.contains("chess"),
            "nothing of bob's session leaks: {text}"
        );
    }
    // Bob's session is untouched: his socket still works and he is still queued.
    bob_socket
        .send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "bob-leaves"}))
        .await;
    let left = bob_socket.next_is("client/QUEUE_LEFT").await;
    assert_eq!(left["ref"], "bob-leaves");
    assert_eq!(left["reason"], "cancelled");
}

// ---------------------------------------------------------------------------------------------
// The websocket Origin check

#[actix_web::test]
async fn a_websocket_upgrade_from_a_foreign_origin_is_refused() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://play.example.com".into()]).await;
    let own = format!("http://127.0.0.1:{}", app.port);
    let cases: [(&str, Option<&str>, bool); 6] = [
        ("no Origin (not a browser)", None, true),
        ("the node's own origin", Some(&own), true),
        (
            "a configured origin",
            Some("https://play.example.com"),
            true,
        ),
        ("a foreign origin", Some("http://evil.example"), false),
        (
            "the node's host on another port",
            Some("http://127.0.0.1:1"),
            false,
        ),
        ("an opaque origin", Some("null"), false),
    ];

    for (why, origin, allowed) in cases {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        let opened = open_socket(&app, "/ws", &headers).await;
        if allowed {
            let mut socket = opened.unwrap_or_else(|e| panic!("{why}: {e:?}"));
            socket
                .send(json!({"type": "server/GUEST", "ref": "hello"}))
                .await;
            let started = socket.recv().await;
            assert_eq!(
                started["type"], "client/SESSION_STARTED",
                "{why}: {started}"
            );
            socket.close().await;
        } else {
            match opened {
                Err(Error::Status { status, .. }) => assert_eq!(status, 403, "{why}"),
                Err(other) => panic!("{why}: refused with 403, not {other:?}"),
                Ok(_) => panic!("{why}: the upgrade must be refused"),
            }
        }
    }

    // The refusal is the API's JSON error.
    let response = app
        .request("GET", "/ws", &[("origin", "http://evil.example")], &[])
        .await;
    assert_api_error(
        response.status,
        &response.json(),
        403,
        "forbidden",
        "foreign origin",
    );
}

// ---------------------------------------------------------------------------------------------
// The HTTP API

#[actix_web::test]
async fn api_me_answers_the_bearer_of_a_token_and_refuses_a_request_without_one() {
    let app = spawn_app().await;
    let who = app.register("alice").await;

    let (status, me) = get_as(&app, "/api/me", &who.token).await;
    let (anonymous_status, anonymous) = app.get("/api/me").await;

    assert_eq!(status, 200, "{me}");
    assert_user(&me, Some("alice"), false);
    assert_eq!(me["id"], who.user_id);
    assert_api_error(
        anonymous_status,
        &anonymous,
        401,
        "unauthenticated",
        "no token",
    );
}

#[actix_web::test]
async fn a_player_profile_is_public_and_an_unknown_player_is_not_found() {
    let app = spawn_app().await;
    let who = app.register("alice").await;

    let (status, profile) = app.get("/api/users/alice").await;
    let (missing_status, missing) = app.get("/api/users/nobody").await;

    assert_eq!(status, 200, "{profile}");
    assert_user(&profile, Some("alice"), false);
    assert_eq!(profile["id"], who.user_id);
    assert_api_error(missing_status, &missing, 404, "not_found", "unknown player");
}

#[actix_web::test]
async fn a_game_history_limit_out_of_range_is_refused_with_invalid_field() {
    let app = spawn_app().await;
    app.register("alice").await;
    let cases = [
        ("zero", "0"),
        ("negative", "-1"),
        ("over 100", "101"),
        ("not a number", "ten"),
    ];

    for (why, limit) in cases {
        let (status, body) = app
            .get(&format!("/api/users/alice/games?limit={limit}"))
            .await;
        assert_api_error(status, &body, 400, "invalid_field", why);
    }
    let (status, body) = app.get("/api/users/alice/games?limit=5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!([]), "a new player has no finished games");
}

#[actix_web::test]
async fn an_unknown_finished_game_is_not_found() {
    let app = spawn_app().await;

    for path in ["/api/games/nope", "/api/games/nope.pgn"] {
        let (status, body) = app.get(path).await;
        assert_api_error(status, &body, 404, "not_found", path);
    }
}

#[actix_web::test]
async fn the_node_reports_itself_alive_and_ready() {
    let app = spawn_app().await;

    let (health, _) = app.get_text("/healthz").await;
    let (ready, body) = app.get("/readyz").await;

    assert_eq!(health, 200);
    assert_eq!(ready, 200, "{body}");
    assert!(body["checks"].is_object(), "each check is reported: {body}");
    assert_eq!(body["checks"]["store"]["ok"], true, "{body}");
}

/// The value of the Prometheus sample `name` with exactly `labels`; 0 when the series does not
/// exist yet (a counter appears with its first increment).
fn sample(metrics: &str, name: &str, labels: Pairs) -> f64 {
    let mut wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    wanted.sort();
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(series, _)| {
            let (series_name, rest) = series.split_once('{').unwrap_or((series, "}"));
            let mut found: Vec<String> = rest
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            found.sort();
            series_name == name && found == wanted
        })
        .map_or(0.0, |(_, value)| value.parse().expect("a number"))
}

#[actix_web::test]
async fn metrics_count_the_frames_and_errors_of_this_tests_own_traffic() {
    // Every node of this test process renders one registry, and other tests run alongside:
    // each counter must have gone up by at least what this test caused.
    let series: [(&str, Pairs, f64); 4] = [
        ("rookery_client_errors_total", &[("code", "bad_frame")], 3.0),
        (
            "rookery_client_errors_total",
            &[("code", "not_in_queue")],
            2.0,
        ),
        (
            "rookery_frames_received_total",
            &[("namespace", "server")],
            2.0,
        ),
        ("rookery_unknown_message_types_total", &[], 1.0),
    ];
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    let (status, before) = app.get_text("/metrics").await;
    assert_eq!(status, 200);

    for _ in 0..3 {
        client.send_text("not json").await;
        client.expect_error("bad_frame").await;
    }
    for _ in 0..2 {
        client
            .send(json!({"type": "server/CANCEL_MATCHMAKING"}))
            .await;
        client.expect_error("not_in_queue").await;
    }
    client.send(json!({"type": "server/NOPE"})).await;
    client.expect_error("unknown_type").await;
    let (status, after) = app.get_text("/metrics").await;

    assert_eq!(status, 200);
    for (name, labels, caused) in series {
        let (was, is) = (sample(&before, name, labels), sample(&after, name, labels));
        assert!(
            is - was >= caused,
            "{name}{labels:?} went from {was} to {is}, not up by {caused}:\n{after}"
        );
    }
}

#[actix_web::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;

    for path in ["/nope", "/api/nope", "/api/users/alice/friends"] {
        let (status, body) = app.get(path).await;
        assert_api_error(status, &body, 404, "not_found", path);
    }
}

#[actix_web::test]
async fn a_malformed_register_body_is_refused_with_invalid_field() {
    let app = spawn_app().await;
    let cases = [
        ("not JSON", "{username: alice"),
        ("empty", ""),
        ("no password", r#"{"username": "alice"}"#),
        (
            "username not a string",
            r#"{"username": 5, "password": "correct horse"}"#,
        ),
    ];

    for (why, body) in cases {
        let (status, reply) = post_raw(&app, "/api/auth/register", body).await;
        assert_api_error(status, &reply, 400, "invalid_field", why);
    }
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let who = app.register("casey").await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let header = format!("{scheme} {}", who.token);
        let response = app
            .request("GET", "/api/me", &[("authorization", header.as_str())], &[])
            .await;
        assert_eq!(response.status, 200, "{scheme}: {}", response.text());
    }
}

#[cfg(unix)]
#[actix_web::test]
async fn the_data_dir_and_its_files_are_readable_by_the_node_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    app.register("private").await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(app.data_dir()), 0o700);
    let files: Vec<_> = std::fs::read_dir(app.data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert!(
        files.iter().any(|p| p.ends_with("rookery.sqlite3")),
        "{files:?}"
    );
    for file in files {
        assert_eq!(
            mode(&file) & 0o077,
            0,
            "{} is readable by others",
            file.display()
        );
    }
}

#[actix_web::test]
async fn a_cross_site_post_cannot_set_this_nodes_cookies() {
    let app = spawn_app().await;
    let own = format!("http://127.0.0.1:{}", app.port);
    let body = br#"{"username":"csrf-target","password":"correct horse"}"#;
    for path in ["/api/auth/guest", "/api/auth/register", "/api/auth/login"] {
        let foreign = [
            ("origin", "https://evil.example"),
            ("content-type", "application/json"),
        ];
        let refused = app.request("POST", path, &foreign, body).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text());
        assert_eq!(
            refused.header_values("set-cookie").count(),
            0,
            "{path} set a cookie"
        );
    }
    let same = [
        ("origin", own.as_str()),
        ("content-type", "application/json"),
    ];
    assert_eq!(
        app.request("POST", "/api/auth/register", &same, body)
            .await
            .status,
        200
    );
    // A client that is not a browser sends no Origin, and is served.
    assert_eq!(
        app.request("POST", "/api/auth/guest", &[], &[])
            .await
            .status,
        200
    );
}
