//! Sign-ins over time: short access tokens renewed by rotating refresh tokens, logout ending a
//! sign-in everywhere (access, refresh and renewed tokens alike), a reused refresh token
//! revoking its whole sign-in, and the token carried as a websocket subprotocol instead of
//! in the URL.

use serde_json::{json, Value};

use crate::helpers::*;

async fn login(app: &TestApp, name: &str) -> Value {
    app.register(name).await;
    let (status, body) = app
        .post(
            "/api/auth/login",
            json!({"username": name, "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(app: &TestApp, refresh_token: &Value) -> (u16, Value) {
    app.post("/api/auth/refresh", json!({"refreshToken": refresh_token}))
        .await
}

async fn me(app: &TestApp, token: &Value) -> u16 {
    app.call("GET", "/api/me", token.as_str(), None).await.0
}

#[actix_web::test]
async fn a_refresh_token_renews_the_sign_in_once_and_keeps_the_session() {
    let app = spawn_app_with(|c| c.refresh_reuse_grace_ms = 0).await;
    let first = login(&app, "renewer").await;
    let expires_at = first["expiresAt"].as_u64().expect("expiresAt");
    let hour = 3_600_000;
    assert!(
        expires_at > now() + hour - 60_000 && expires_at <= now() + hour + 5_000,
        "an access token lives an hour by default: {first}"
    );
    assert!(first["refreshToken"].is_string(), "{first}");

    let (status, second) = app
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": first["refreshToken"], "session": first["session"]}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["session"], first["session"], "the session is kept");
    assert_eq!(second["user"]["name"], "renewer");
    assert_ne!(second["token"], first["token"]);
    assert_ne!(second["refreshToken"], first["refreshToken"], "rotated");
    assert_eq!(me(&app, &second["token"]).await, 200);
    assert_eq!(
        me(&app, &first["token"]).await,
        200,
        "older access tokens live on"
    );

    // The spent refresh token, used again past the grace: a stolen copy. The whole sign-in
    // ends, the renewed tokens with it.
    let (status, body) = refresh(&app, &first["refreshToken"]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated")),
        "{body}"
    );
    assert_eq!(me(&app, &second["token"]).await, 401);
    assert_eq!(refresh(&app, &second["refreshToken"]).await.0, 401);
    let mut socket = app
        .connect_raw(&format!("/ws?token={}", second["token"].as_str().unwrap()))
        .await;
    socket.expect_error("unauthenticated").await;

    // An access token is no refresh token, and the reverse.
    let other = login(&app, "renewer2").await;
    assert_eq!(refresh(&app, &other["token"]).await.0, 401);
    assert_eq!(me(&app, &other["refreshToken"]).await, 401);
    assert_eq!(
        me(&app, &other["token"]).await,
        200,
        "another sign-in is untouched"
    );
    let (status, body) = app.post("/api/auth/refresh", json!({})).await;
    assert_eq!(status, 401, "no refresh token: {body}");
    let (status, body) = app.post("/api/auth/refresh", json!([1])).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_field")),
        "{body}"
    );
}

#[actix_web::test]
async fn two_renewals_racing_with_one_refresh_token_both_succeed_within_the_grace() {
    let app = spawn_app().await;
    let first = login(&app, "twotabs").await;
    let (a, b) = tokio::join!(
        refresh(&app, &first["refreshToken"]),
        refresh(&app, &first["refreshToken"])
    );
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    assert_eq!(me(&app, &a.1["token"]).await, 200);
    assert_eq!(me(&app, &b.1["token"]).await, 200);
}

#[actix_web::test]
async fn logout_ends_the_sign_in_on_http_and_socket_and_for_its_refresh_token() {
    let app = spawn_app_with(|c| c.admins = vec!["boss".into()]).await;
    let signed = login(&app, "leaver").await;
    let token = signed["token"].as_str().unwrap().to_owned();
    let session = signed["session"].as_str().unwrap().to_owned();
    let (status, body) = app
        .call(
            "POST",
            "/api/auth/logout",
            Some(&token),
            Some(json!({"refreshToken": signed["refreshToken"]})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        me(&app, &signed["token"]).await,
        401,
        "the token is revoked"
    );
    assert_eq!(refresh(&app, &signed["refreshToken"]).await.0, 401);
    let mut socket = app
        .connect_raw(&format!("/ws?token={token}&session={session}"))
        .await;
    let error = socket.expect_error("unauthenticated").await;
    assert!(
        error["message"].as_str().unwrap().contains("log in again"),
        "{error}"
    );
    let (status, _) = app
        .call("POST", "/api/auth/logout", Some(&token), None)
        .await;
    assert_eq!(status, 204, "logging out twice is no error");
    let (status, body) = app
        .call("POST", "/api/auth/logout", Some("forged.token.here"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated")),
        "{body}"
    );

    let admin = app.register("boss").await;
    let (_, audit) = app
        .call(
            "GET",
            "/api/admin/audit?type=logout",
            Some(&admin.token),
            None,
        )
        .await;
    let events = audit["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{audit}");
    assert!(events.iter().all(|e| e["actor"] == "leaver"), "{audit}");
}

#[actix_web::test]
async fn the_refresh_cookie_renews_a_browser_sign_in() {
    let app = spawn_app().await;
    let response = app
        .request(
            "POST",
            "/api/auth/guest",
            &[("content-type", "application/json")],
            b"{}",
        )
        .await;
    assert_eq!(response.status, 200);
    let cookies: Vec<String> = response
        .header_values("set-cookie")
        .map(str::to_owned)
        .collect();
    let refresh_cookie = cookies
        .iter()
        .find(|c| c.starts_with("rookery_refresh="))
        .unwrap_or_else(|| panic!("a refresh cookie: {cookies:?}"));
    assert!(
        refresh_cookie.contains("Path=/api/auth/"),
        "{refresh_cookie}"
    );
    assert!(refresh_cookie.contains("HttpOnly"), "{refresh_cookie}");
    let pair = |c: &str| c.split(';').next().unwrap().to_owned();
    let jar = cookies
        .iter()
        .map(|c| pair(c))
        .collect::<Vec<_>>()
        .join("; ");
    let renewed = app
        .request(
            "POST",
            "/api/auth/refresh",
            &[("cookie", jar.as_str())],
            b"",
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text());
    let body = renewed.json();
    assert_eq!(body["session"], response.json()["session"], "{body}");
    assert_eq!(body["user"]["guest"], true);
}

#[actix_web::test]
async fn a_token_offered_as_a_subprotocol_opens_the_socket_without_a_url_token() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let protocols = format!("rookery, rookery.bearer.{}", who.token);
    let path = format!("/ws?session={}", who.session);
    let mut client = Client::connect_with(
        &app.endpoint,
        &path,
        &[("sec-websocket-protocol", protocols.as_str())],
    )
    .await
    .expect("the node answers the rookery subprotocol");
    let first = client.recv().await;
    assert_eq!(first["type"], "client/RESUME_SESSION", "{first}");

    // A fresh session by subprotocol: SESSION_STARTED says when the token expires and leaves
    // the refresh token to the client, which holds its own.
    let mut fresh = Client::connect_with(
        &app.endpoint,
        "/ws",
        &[("sec-websocket-protocol", protocols.as_str())],
    )
    .await
    .expect("opens");
    let started = fresh.expect("client/SESSION_STARTED").await;
    assert!(started["expiresAt"].as_u64().unwrap() > now(), "{started}");
    assert!(started["refreshToken"].is_null(), "{started}");

    // A login over the socket hands out a refresh token.
    let mut anonymous = app.connect_raw("/ws").await;
    anonymous.send(json!({"type": "server/GUEST"})).await;
    let started = anonymous.expect("client/SESSION_STARTED").await;
    assert!(started["refreshToken"].is_string(), "{started}");
    let (status, body) = refresh(&app, &started["refreshToken"]).await;
    assert_eq!(status, 200, "{body}");
}
