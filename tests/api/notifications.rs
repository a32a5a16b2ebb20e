//! Notifications and their emails, end to end against a real SMTP server (aiosmtpd): the email
//! field of an account, a moderator's action reaching the socket, the inbox and the mailbox
//! once; a game that ended while its player was away; a mail server down for a while (sent
//! once when it returns) or for good (buried after the last try, seen and kicked by an admin,
//! audited as `job_buried`).

use serde_json::{json, Value};

use crate::helpers::*;
use crate::servers::{free_port, SmtpServer};

/// A node where `admin` is an admin, sending mail to `smtp_url` with fast retries.
async fn node_mailing(smtp_url: String, attempts: u32) -> TestApp {
    spawn_app_with(move |c| {
        c.admins = vec!["admin".into()];
        c.smtp_url = Some(rookery::config::Secret::new(smtp_url));
        c.mail_from = "rookery <noreply@example.org>".into();
        c.job_attempts = attempts;
        c.job_backoff_ms = 20;
        c.job_ttr_ms = 2_000;
    })
    .await
}

/// Registers `name` with an email through the HTTP API.
async fn register_with_email(app: &TestApp, name: &str, email: &str) -> (u16, Value) {
    app.call(
        "POST",
        "/api/auth/register",
        None,
        Some(json!({"username": name, "password": "correct horse", "email": email})),
    )
    .await
}

async fn mute(app: &TestApp, admin: &Identity, name: &str) {
    let (status, body) = app
        .call(
            "POST",
            &format!("/api/admin/users/{name}/mute"),
            Some(&admin.token),
            Some(json!({"reason": "spam in chat", "durationMs": 60_000})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn inbox(app: &TestApp, who: &Identity, query: &str) -> Vec<Value> {
    let (status, body) = app
        .call(
            "GET",
            &format!("/api/me/notifications{query}"),
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The tube's counts, as an admin sees them.
async fn email_tube(app: &TestApp, admin: &Identity, state: &str) -> (Value, Vec<Value>) {
    let (status, body) = app
        .call(
            "GET",
            &format!("/api/admin/jobs?tube=email&state={state}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tube = body["tubes"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tube"] == "email").cloned())
        .unwrap_or(Value::Null);
    (tube, body["jobs"].as_array().cloned().unwrap_or_default())
}

/// Waits until the email tube holds no job in any state.
async fn email_tube_empty(app: &TestApp, admin: &Identity) {
    poll(|| async {
        let (tube, _) = email_tube(app, admin, "ready").await;
        let empty = ["ready", "delayed", "reserved", "buried"]
            .iter()
            .all(|s| tube[*s] == 0);
        empty.then_some(())
    })
    .await;
}

#[actix_web::test]
async fn the_email_is_the_owners_alone_validated_and_removable() {
    let app = spawn_app().await;
    let (status, body) = register_with_email(&app, "alice", "not-an-address").await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_field")),
        "{body}"
    );
    let (status, body) = register_with_email(&app, "alice", "Alice@Example.ORG").await;
    assert_eq!(status, 200, "{body}");
    let alice = Identity::from(
        serde_json::from_value::<client_protocol::http::AuthResponse>(body).unwrap(),
    );
    let (_, me) = app.call("GET", "/api/me", Some(&alice.token), None).await;
    assert_eq!(me["email"], "Alice@example.org", "domain lower-cased: {me}");
    let (_, public) = app.call("GET", "/api/users/alice", None, None).await;
    assert!(
        public.get("email").is_none(),
        "never shown to others: {public}"
    );

    let put = |email: Value| {
        let token = alice.token.clone();
        let app = &app;
        async move {
            app.call(
                "PUT",
                "/api/me",
                Some(&token),
                Some(json!({"email": email})),
            )
            .await
        }
    };
    let (status, body) = put(json!("a b@example.org")).await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_field"))
    );
    let (status, body) = put(json!("alice@new.example.org")).await;
    assert_eq!(
        (status, body["email"].clone()),
        (200, json!("alice@new.example.org"))
    );
    let (status, body) = put(Value::Null).await;
    assert_eq!(status, 200);
    assert!(body.get("email").is_none(), "removed: {body}");
    let (status, _) = app
        .call(
            "PUT",
            "/api/me",
            None,
            Some(json!({"email": "x@example.org"})),
        )
        .await;
    assert_eq!(status, 401);
    let guest = app.guest().await;
    let (status, body) = app
        .call(
            "PUT",
            "/api/me",
            Some(&guest.token),
            Some(json!({"email": "g@example.org"})),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (403, json!("forbidden")));
}

#[actix_web::test]
async fn a_mute_reaches_the_socket_the_inbox_and_the_mailbox_exactly_once() {
    let smtp = SmtpServer::start();
    let app = node_mailing(smtp.url(), 5).await;
    let admin = app.register("admin").await;
    let (status, body) = register_with_email(&app, "carol", "carol@example.org").await;
    assert_eq!(status, 200, "{body}");
    let carol = Identity::from(
        serde_json::from_value::<client_protocol::http::AuthResponse>(body).unwrap(),
    );
    let mut socket = app.connect(&carol).await;

    mute(&app, &admin, "carol").await;
    let pushed = socket.expect("client/NOTIFICATION").await;
    assert_eq!(pushed["kind"], "account");
    let text = pushed["text"].as_str().unwrap().to_owned();
    assert!(
        text.contains("muted") && text.contains("spam in chat"),
        "{text}"
    );
    assert!(pushed["data"]["until"].is_string(), "{pushed}");

    let listed = inbox(&app, &carol, "").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], pushed["id"]);
    assert_eq!(listed[0]["read"], false);

    let mail = poll(|| async { smtp.received().into_iter().next() }).await;
    assert!(mail.contains("To: carol@example.org"), "{mail}");
    assert!(
        mail.contains("From: rookery <noreply@example.org>"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: rookery: Your account changed"),
        "{mail}"
    );
    assert!(mail.contains(&format!(
        "<{}@example.org>",
        listed[0]["id"].as_str().unwrap()
    )));
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(mail.contains("spam in chat"), "{mail}");
    email_tube_empty(&app, &admin).await;
    assert_eq!(smtp.received().len(), 1, "sent once");

    // Reading it: the unread filter and a second read that changes nothing.
    let id = listed[0]["id"].clone();
    let (status, body) = app
        .call(
            "POST",
            "/api/me/notifications/read",
            Some(&carol.token),
            Some(json!({"ids": [id, "someone-elses"]})),
        )
        .await;
    assert_eq!((status, body), (200, json!({"read": 1})));
    assert!(inbox(&app, &carol, "?unread=true").await.is_empty());
    assert_eq!(inbox(&app, &carol, "?limit=1").await[0]["read"], true);
    let (status, body) = app
        .call(
            "GET",
            "/api/me/notifications?limit=0",
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_field"))
    );

    // Without an email: in the inbox, and no mail.
    let dave = app.register("dave").await;
    mute(&app, &admin, "dave").await;
    assert_eq!(inbox(&app, &dave, "").await.len(), 1);
    email_tube_empty(&app, &admin).await;
    assert_eq!(
        smtp.received().len(),
        1,
        "nothing for an account without an email"
    );
}

#[actix_web::test]
async fn a_mail_server_down_for_a_while_gets_the_mail_once_when_it_returns() {
    let port = free_port();
    let app = node_mailing(format!("smtp://127.0.0.1:{port}"), 10_000).await;
    let admin = app.register("admin").await;
    register_with_email(&app, "erin", "erin@example.org").await;
    mute(&app, &admin, "erin").await;

    // Tried and failed at least twice while nothing listens.
    let failed = poll(|| async {
        let (_, jobs) = email_tube(&app, &admin, "delayed").await;
        let job = jobs.into_iter().next()?;
        (job["attempts"].as_u64()? >= 2).then_some(job)
    })
    .await;
    assert!(
        failed["lastError"].as_str().unwrap_or("").contains("smtp"),
        "{failed}"
    );

    let smtp = SmtpServer::start_on(port);
    let mail = poll(|| async { smtp.received().into_iter().next() }).await;
    assert!(mail.contains("To: erin@example.org"), "{mail}");
    email_tube_empty(&app, &admin).await;
    assert_eq!(smtp.received().len(), 1, "delivered once after it returned");
}

#[actix_web::test]
async fn a_mail_server_that_never_answers_buries_the_job_after_the_last_try() {
    let port = free_port();
    let app = node_mailing(format!("smtp://127.0.0.1:{port}"), 3).await;
    let admin = app.register("admin").await;
    register_with_email(&app, "frank", "frank@example.org").await;
    mute(&app, &admin, "frank").await;

    let buried = poll(|| async {
        let (_, jobs) = email_tube(&app, &admin, "buried").await;
        jobs.into_iter().next()
    })
    .await;
    assert_eq!(buried["attempts"], 3, "{buried}");
    assert_eq!(buried["state"], "buried");
    assert!(
        buried["lastError"].as_str().unwrap().contains("smtp"),
        "{buried}"
    );
    let (tube, _) = email_tube(&app, &admin, "buried").await;
    assert_eq!(tube["buried"], 1);

    let audited = poll(|| async {
        let (_, page) = app
            .call(
                "GET",
                "/api/admin/audit?type=job_buried",
                Some(&admin.token),
                None,
            )
            .await;
        page["events"].as_array().and_then(|e| e.first().cloned())
    })
    .await;
    assert_eq!(audited["target"], format!("job {}", buried["id"]));
    assert_eq!(audited["details"]["tube"], "email");
    assert_eq!(audited["details"]["attempts"], 3);

    // Once the server is up, an admin's kick sends it.
    let smtp = SmtpServer::start_on(port);
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/admin/jobs/{}/kick", buried["id"]),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mail = poll(|| async { smtp.received().into_iter().next() }).await;
    assert!(mail.contains("To: frank@example.org"), "{mail}");
}

#[actix_web::test]
async fn a_player_away_when_the_game_ends_is_told_how_it_ended() {
    let app = spawn_app_with(|c| c.grace_ms = 300).await;
    let mut game = playing(&app, queue("connect4")).await;
    game.play(&[json!(3)]).await;
    let Game {
        first,
        second,
        id,
        second_who,
        first_who,
        ..
    } = game;
    second.close().await;
    let mut first = first;
    first.expect("client/GAME_OVER").await;
    let told = poll(|| async { inbox(&app, &second_who, "").await.into_iter().next() }).await;
    assert_eq!(told["kind"], "game_finished");
    assert_eq!(told["data"]["game"], id.as_str());
    assert_eq!(told["data"]["result"], "lost");
    assert!(
        told["text"].as_str().unwrap().contains("abandoned"),
        "{told}"
    );
    assert!(
        inbox(&app, &first_who, "").await.is_empty(),
        "the player who was there saw the end"
    );
}
