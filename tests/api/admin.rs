//! Roles, moderation and the audit log, end to end: the role matrix of every admin route, a
//! ban that closes sockets and resigns the game, mutes, the audit log's filters and pages, no
//! secret in any event, and a verify that finds events edited or removed behind its back.

use serde_json::{json, Value};

use crate::helpers::*;

/// A node where `alice` is an admin by configuration, with `mod` made a moderator by her.
struct Staff {
    app: TestApp,
    admin: Identity,
    moderator: Identity,
    player: Identity,
}

async fn staff() -> Staff {
    let app = spawn_app_with(|c| c.admins = vec!["alice".into()]).await;
    let admin = app.register("alice").await;
    let moderator = app.register("bob").await;
    let player = app.register("carol").await;
    let (status, body) = app
        .call(
            "PUT",
            "/api/admin/users/bob/roles",
            Some(&admin.token),
            Some(json!({"roles": ["moderator"]})),
        )
        .await;
    assert_eq!(
        (status, body["roles"].clone()),
        (200, json!(["moderator"])),
        "{body}"
    );
    Staff {
        app,
        admin,
        moderator,
        player,
    }
}

#[actix_web::test]
async fn admins_named_by_the_config_hold_the_role_from_their_first_request() {
    let s = staff().await;
    let (_, me) = s
        .app
        .call("GET", "/api/me", Some(&s.admin.token), None)
        .await;
    assert_eq!(me["roles"], json!(["admin"]));
    let (_, bob) = s
        .app
        .call("GET", "/api/me", Some(&s.moderator.token), None)
        .await;
    assert_eq!(
        bob["roles"],
        json!(["moderator"]),
        "a role change is seen at the next request"
    );
    let (_, carol) = s.app.call("GET", "/api/users/carol", None, None).await;
    assert_eq!(carol["roles"], json!([]));
    // Logging in again keeps one admin role.
    let (status, login) = s
        .app
        .post(
            "/api/auth/login",
            json!({"username": "Alice", "password": "correct horse"}),
        )
        .await;
    assert_eq!(
        (status, login["user"]["roles"].clone()),
        (200, json!(["admin"]))
    );
}

#[actix_web::test]
async fn every_admin_route_checks_the_token_then_the_role_then_the_target() {
    let s = staff().await;
    s.app.register("target").await;
    let ban = json!({"reason": "test", "durationMs": 60_000});
    // (method, path, body, needs admin)
    let routes: Vec<(&str, String, Option<Value>, bool)> = vec![
        ("GET", "/api/admin/users/target".into(), None, false),
        (
            "PUT",
            "/api/admin/users/target/roles".into(),
            Some(json!({"roles": []})),
            true,
        ),
        (
            "POST",
            "/api/admin/users/target/ban".into(),
            Some(ban.clone()),
            false,
        ),
        ("DELETE", "/api/admin/users/target/ban".into(), None, false),
        (
            "POST",
            "/api/admin/users/target/mute".into(),
            Some(ban.clone()),
            false,
        ),
        ("DELETE", "/api/admin/users/target/mute".into(), None, false),
        ("GET", "/api/admin/audit".into(), None, true),
        ("GET", "/api/admin/audit/verify".into(), None, true),
    ];
    for (method, path, body, admin_only) in &routes {
        let cases = [
            ("no token", None, 401),
            ("a forged token", Some("not.a.token"), 401),
            ("a player", Some(s.player.token.as_str()), 403),
            (
                "a moderator",
                Some(s.moderator.token.as_str()),
                if *admin_only { 403 } else { 200 },
            ),
            ("an admin", Some(s.admin.token.as_str()), 200),
        ];
        for (who, token, expected) in cases {
            let (status, answer) = s.app.call(method, path, token, body.clone()).await;
            assert_eq!(status, expected, "{method} {path} by {who}: {answer}");
            if status >= 400 {
                let code = match status {
                    401 => "unauthenticated",
                    _ => "forbidden",
                };
                assert_eq!(answer["code"], code, "{method} {path} by {who}");
            }
        }
    }
    // Authentication before authorization before lookup.
    let unknown = "/api/admin/users/nobody-here/ban";
    assert_eq!(
        s.app.call("POST", unknown, None, Some(ban.clone())).await.0,
        401
    );
    assert_eq!(
        s.app
            .call("POST", unknown, Some(&s.player.token), Some(ban.clone()))
            .await
            .0,
        403
    );
    let (status, body) = s
        .app
        .call("POST", unknown, Some(&s.moderator.token), Some(ban))
        .await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));
    // Bad bodies, only once the caller may act.
    let (status, body) = s
        .app
        .call(
            "POST",
            "/api/admin/users/target/ban",
            Some(&s.moderator.token),
            Some(json!({"durationMs": "soon"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_field"))
    );
    let (status, _) = s
        .app
        .call(
            "POST",
            "/api/admin/users/target/ban",
            Some(&s.player.token),
            Some(json!({"durationMs": "soon"})),
        )
        .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn a_guest_cannot_be_given_a_role_and_a_moderator_cannot_sanction_staff() {
    let s = staff().await;
    let guest = s.app.guest().await;
    let path = format!("/api/admin/users/{}/roles", guest.name);
    let (status, body) = s
        .app
        .call(
            "PUT",
            &path,
            Some(&s.admin.token),
            Some(json!({"roles": ["moderator"]})),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("conflict")),
        "{body}"
    );
    let (status, _) = s
        .app
        .call(
            "POST",
            "/api/admin/users/alice/ban",
            Some(&s.moderator.token),
            Some(json!({"reason": "coup", "durationMs": null})),
        )
        .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn a_ban_closes_the_players_sockets_resigns_the_game_and_refuses_login_until_lifted() {
    let s = staff().await;
    let griefer = s.app.register("griefer").await;
    let victim = s.app.register("victim").await;
    let mut game =
        playing_between(&s.app, griefer.clone(), victim.clone(), queue("tictactoe")).await;
    let griefer_is_first = game.first_who.name == "griefer";

    let (status, account) = s
        .app
        .call(
            "POST",
            "/api/admin/users/griefer/ban",
            Some(&s.moderator.token),
            Some(json!({"reason": "griefing", "durationMs": 3_600_000})),
        )
        .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["banned"], true);
    let until = account["bannedUntil"].as_u64().expect("an end");

    let (banned_socket, other) = if griefer_is_first {
        (&mut game.first, &mut game.second)
    } else {
        (&mut game.second, &mut game.first)
    };
    // First what the account is told (a notification), then the refusal and the close.
    let told = banned_socket.next_is("client/NOTIFICATION").await;
    assert_eq!(told["kind"], "account", "{told}");
    let error = banned_socket.expect_error("banned").await;
    assert_eq!(error["until"], until);
    assert_eq!(banned_socket.closed().await, Closed::Code(4003));
    let over = other.expect("client/GAME_OVER").await;
    assert_eq!(over["reason"], "resign");
    let winner = if griefer_is_first { "second" } else { "first" };
    assert_eq!(over["result"], winner);

    let login = json!({"username": "griefer", "password": "correct horse"});
    let (status, refused) = s.app.post("/api/auth/login", login.clone()).await;
    assert_eq!(
        (status, refused["code"].clone(), refused["until"].clone()),
        (403, json!("banned"), json!(until))
    );
    let (status, _) = s
        .app
        .call("GET", "/api/me", Some(&griefer.token), None)
        .await;
    assert_eq!(status, 403, "the old token is refused too");
    let mut again = s.app.connect_raw(&griefer.ws_path()).await;
    assert_eq!(again.expect_error("banned").await["until"], until);
    assert_eq!(again.closed().await, Closed::Code(4003));

    let (status, lifted) = s
        .app
        .call(
            "DELETE",
            "/api/admin/users/griefer/ban",
            Some(&s.moderator.token),
            None,
        )
        .await;
    assert_eq!((status, lifted["banned"].clone()), (200, json!(false)));
    assert_eq!(s.app.post("/api/auth/login", login).await.0, 200);
}

#[actix_web::test]
async fn a_permanent_ban_says_so_and_a_timed_mute_ends_by_itself() {
    let s = staff().await;
    s.app.register("loud").await;
    let (_, banned) = s
        .app
        .call(
            "POST",
            "/api/admin/users/loud/ban",
            Some(&s.admin.token),
            Some(json!({"reason": "spam", "durationMs": null})),
        )
        .await;
    assert_eq!(
        (banned["banned"].clone(), banned["bannedUntil"].clone()),
        (json!(true), Value::Null)
    );
    let (status, refused) = s
        .app
        .post(
            "/api/auth/login",
            json!({"username": "loud", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        refused.as_object().unwrap().contains_key("until") && refused["until"].is_null(),
        "{refused}"
    );

    let (_, muted) = s
        .app
        .call(
            "POST",
            "/api/admin/users/carol/mute",
            Some(&s.moderator.token),
            Some(json!({"reason": "shouting", "durationMs": 300})),
        )
        .await;
    assert_eq!(muted["muted"], true);
    assert_eq!(muted["sanctions"][0]["reason"], "shouting");
    assert_eq!(muted["sanctions"][0]["by"], "bob");
    let token = s.moderator.token.clone();
    poll(|| {
        let (app, token) = (&s.app, token.clone());
        async move {
            let (_, view) = app
                .call("GET", "/api/admin/users/carol", Some(&token), None)
                .await;
            (view["muted"] == false).then_some(())
        }
    })
    .await;
}

/// Every event of the log, oldest first, read page by page (`limit` 3).
async fn all_events(s: &Staff, filter: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let path = format!("/api/admin/audit?limit=3{filter}{cursor}");
        let (status, page) = s.app.call("GET", &path, Some(&s.admin.token), None).await;
        assert_eq!(status, 200, "{page}");
        let got = page["events"].as_array().unwrap().clone();
        assert!(got.len() <= 3);
        events.extend(got);
        match page["next"].as_u64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    events.reverse();
    events
}

#[actix_web::test]
async fn the_audit_log_records_each_security_event_with_no_secret_in_any() {
    let s = staff().await;
    // A failed login, a refused token and origin, a refused ban by a player, a ban, an unban.
    let (status, _) = s
        .app
        .post(
            "/api/auth/login",
            json!({"username": "carol", "password": "wrong password"}),
        )
        .await;
    assert_eq!(status, 401);
    let mut forged = s.app.connect_raw("/ws?token=forged.token.value").await;
    forged.expect_error("unauthenticated").await;
    let origin = [("origin", "https://evil.example")];
    assert_eq!(s.app.request("GET", "/ws", &origin, &[]).await.status, 403);
    let ban = json!({"reason": "cheating", "durationMs": 60_000});
    let (status, _) = s
        .app
        .call(
            "POST",
            "/api/admin/users/bob/ban",
            Some(&s.player.token),
            Some(ban.clone()),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        s.app
            .call(
                "POST",
                "/api/admin/users/carol/ban",
                Some(&s.moderator.token),
                Some(ban)
            )
            .await
            .0,
        200
    );
    assert_eq!(
        s.app
            .call(
                "DELETE",
                "/api/admin/users/carol/ban",
                Some(&s.moderator.token),
                None
            )
            .await
            .0,
        200
    );

    let events = all_events(&s, "").await;
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "pages are newest first and do not overlap: {ids:?}"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "register",
        "role_changed",
        "login_failed",
        "token_refused",
        "origin_refused",
        "ban",
        "unban",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let find = |kind: &str, outcome: &str| {
        events
            .iter()
            .find(|e| e["type"] == kind && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {kind} {outcome} in {events:#?}"))
    };
    let refused = find("ban", "refused");
    assert_eq!(
        refused["actor"], "carol",
        "a refused action names its caller"
    );
    let granted = find("ban", "ok");
    assert_eq!(
        (granted["actor"].clone(), granted["target"].clone()),
        (json!("bob"), json!("carol"))
    );
    assert_eq!(granted["details"]["reason"], "cheating");
    assert_eq!(granted["ip"], "127.0.0.1");
    let promoted = events
        .iter()
        .find(|e| e["type"] == "role_changed" && e["target"] == "bob")
        .expect("bob's promotion");
    assert_eq!(promoted["actor"], "alice");
    let bootstrap = events
        .iter()
        .find(|e| e["type"] == "role_changed" && e["target"] == "alice")
        .expect("alice's bootstrap");
    assert_eq!(
        (
            bootstrap["actor"].clone(),
            bootstrap["details"]["by"].clone()
        ),
        (Value::Null, json!("ROOKERY_ADMINS"))
    );
    assert_eq!(find("login_failed", "refused")["actor"], "carol");
    assert!(events
        .iter()
        .all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64)));

    // Filters, as the log's users will combine them.
    let bans = all_events(&s, "&type=ban").await;
    assert!(bans.iter().all(|e| e["type"] == "ban") && bans.len() == 2);
    let by_bob = all_events(&s, "&actor=bob").await;
    assert!(!by_bob.is_empty() && by_bob.iter().all(|e| e["actor"] == "bob"));
    let on_carol = all_events(&s, "&target=carol").await;
    assert!(on_carol.iter().any(|e| e["type"] == "unban"));
    let last_at = events.last().unwrap()["at"].as_u64().unwrap();
    assert_eq!(
        all_events(&s, &format!("&since={}", last_at + 1))
            .await
            .len(),
        0
    );
    let (status, body) = s
        .app
        .call(
            "GET",
            "/api/admin/audit?type=nonsense",
            Some(&s.admin.token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_field"))
    );

    // No password, token or session id anywhere in the log.
    let text = serde_json::to_string(&events).unwrap();
    for secret in [
        "correct horse",
        "wrong password",
        "forged.token.value",
        &s.admin.token,
        &s.moderator.token,
        &s.player.token,
        &s.admin.session,
        &s.player.session,
    ] {
        assert!(
            !text.contains(secret),
            "the audit log holds a secret: {secret}"
        );
    }
}

#[actix_web::test]
async fn verify_names_the_first_event_edited_or_removed_behind_the_logs_back() {
    let s = staff().await;
    for name in ["dave", "erin", "frank"] {
        s.app.register(name).await;
    }
    let verify = || async {
        let (status, body) = s
            .app
            .call("GET", "/api/admin/audit/verify", Some(&s.admin.token), None)
            .await;
        assert_eq!(status, 200);
        body
    };
    let fine = verify().await;
    assert_eq!(
        (fine["ok"].clone(), fine["firstBad"].clone()),
        (json!(true), Value::Null)
    );
    let checked = fine["checked"].as_u64().unwrap();
    assert!(checked >= 6, "{fine}");

    let db = rusqlite::Connection::open(s.app.data_dir().join("audit.sqlite3")).unwrap();
    db.execute("UPDATE audit SET actor = 'mallory' WHERE id = 3", [])
        .unwrap();
    let edited = verify().await;
    assert_eq!(
        (edited["ok"].clone(), edited["firstBad"].clone()),
        (json!(false), json!(3)),
        "{edited}"
    );
    db.execute("DELETE FROM audit WHERE id IN (2, 3)", [])
        .unwrap();
    let removed = verify().await;
    assert_eq!(removed["firstBad"], 4, "{removed}");
}

#[actix_web::test]
async fn logout_forgets_the_session_clears_the_cookies_and_is_audited() {
    let s = staff().await;
    let path = format!("/api/auth/logout?session={}", s.player.session);
    let bearer = format!("Bearer {}", s.player.token);
    let response = s
        .app
        .request("POST", &path, &[("authorization", bearer.as_str())], &[])
        .await;
    assert_eq!(response.status, 204);
    let cleared: Vec<&str> = response.header_values("set-cookie").collect();
    assert!(
        cleared.iter().any(|c| c.starts_with("rookery_session=;")),
        "{cleared:?}"
    );
    assert!(
        cleared.iter().any(|c| c.starts_with("rookery_refresh=;")),
        "{cleared:?}"
    );
    // The sign-in is over: its token opens no session, and the session is gone.
    let mut socket = s.app.connect_raw(&s.player.ws_path()).await;
    socket.expect_error("unauthenticated").await;
    let session = rookery::domain::SessionId::parse(&s.player.session).unwrap();
    assert!(s.app.node.sessions.load(&session).await.unwrap().is_none());
    let events = all_events(&s, "&type=logout").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "carol");
    assert_eq!(
        s.app.call("POST", "/api/auth/logout", None, None).await.0,
        401
    );
}

#[actix_web::test]
async fn an_admin_sees_each_tube_kicks_a_buried_job_and_deletes_one() {
    use rookery::jobs::{PutOptions, Tube};
    let s = staff().await;
    let tube = Tube::parse("email").unwrap();
    let jobs = &s.app.node.jobs;
    let id = jobs
        .put(&tube, b"{}".to_vec(), PutOptions::default())
        .await
        .unwrap();
    let reserved = jobs
        .reserve(
            std::slice::from_ref(&tube),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap()
        .expect("the job");
    jobs.bury(&reserved.token, 0, Some("smtp refused"))
        .await
        .unwrap();

    let (status, listing) = s
        .app
        .call(
            "GET",
            "/api/admin/jobs?tube=email&state=buried",
            Some(&s.admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["tubes"][0]["buried"], 1, "{listing}");
    let job = &listing["jobs"][0];
    assert_eq!(
        (job["id"].as_u64(), job["state"].clone()),
        (Some(id), json!("buried"))
    );
    assert_eq!(
        (job["attempts"].clone(), job["lastError"].clone()),
        (json!(1), json!("smtp refused"))
    );
    let (status, _) = s
        .app
        .call("GET", "/api/admin/jobs", Some(&s.moderator.token), None)
        .await;
    assert_eq!(status, 403, "jobs are for admins");
    let (status, body) = s
        .app
        .call(
            "GET",
            "/api/admin/jobs?state=lost",
            Some(&s.admin.token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_field"))
    );

    let kick = format!("/api/admin/jobs/{id}/kick");
    assert_eq!(
        s.app
            .call("POST", &kick, Some(&s.admin.token), None)
            .await
            .0,
        200
    );
    let (_, ready) = s
        .app
        .call(
            "GET",
            "/api/admin/jobs?tube=email&state=ready",
            Some(&s.admin.token),
            None,
        )
        .await;
    assert_eq!(ready["jobs"][0]["id"].as_u64(), Some(id), "{ready}");
    assert_eq!(
        s.app
            .call("POST", &kick, Some(&s.admin.token), None)
            .await
            .0,
        404,
        "nothing buried now"
    );
    let delete = format!("/api/admin/jobs/{id}");
    assert_eq!(
        s.app
            .call("DELETE", &delete, Some(&s.admin.token), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.app
            .call("DELETE", &delete, Some(&s.admin.token), None)
            .await
            .0,
        404
    );
}
