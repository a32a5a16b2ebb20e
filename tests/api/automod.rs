//! Automod end to end on one node: a player who abandons three games within a day cannot queue
//! (`playban` with `until`), is told by a notification, sees `playbanUntil` in `/api/me`, and
//! the playban is audited; the opponent, who stayed, is not touched.

use serde_json::{json, Value};

use crate::helpers::*;

/// One game between `victim` and `other` that `victim` abandons (closes the socket and stays
/// away past the grace period).
async fn abandon(app: &TestApp, victim: &Identity, other: &Identity) {
    let game = playing_between(app, victim.clone(), other.clone(), queue("connect4")).await;
    let (leaver, mut stayer) = if game.first_who.name == victim.name {
        (game.first, game.second)
    } else {
        (game.second, game.first)
    };
    leaver.close().await;
    let over = stayer.expect("client/GAME_OVER").await;
    assert_eq!(over["reason"], "abandoned", "{over}");
    stayer.close().await;
}

#[actix_web::test]
async fn three_abandoned_games_in_a_day_stop_a_player_from_queueing() {
    let app = spawn_app_with(|c| {
        c.grace_ms = 200;
        c.admins = vec!["admin".into()];
    })
    .await;
    let admin = app.register("admin").await;
    let (victim, other) = (app.register("leaver").await, app.register("stayer").await);
    for round in 1..=3 {
        abandon(&app, &victim, &other).await;
        // Told of each loss while away (stored, and pushed to no socket): then play again.
        poll(|| async {
            let (_, inbox) = app
                .call("GET", "/api/me/notifications", Some(&victim.token), None)
                .await;
            let n = inbox["notifications"].as_array().map_or(0, Vec::len);
            (n >= round).then_some(())
        })
        .await;
    }

    let playban = poll(|| async {
        let (_, me) = app.call("GET", "/api/me", Some(&victim.token), None).await;
        me["playbanUntil"].as_u64()
    })
    .await;
    let mut socket = app.connect(&victim).await;
    socket
        .send(json!({"type": "server/START_MATCHMAKING", "ref": "q", "queue": queue("tictactoe")}))
        .await;
    let refused = socket.expect_error("playban").await;
    assert_eq!(refused["until"], playban);
    assert_eq!(refused["ref"], "q");
    let fifteen_minutes = 15 * 60 * 1000;
    let (_, me) = app.call("GET", "/api/me", Some(&victim.token), None).await;
    let ends_in = playban.saturating_sub(rookery::domain::now_ms());
    assert!(
        ends_in <= fifteen_minutes,
        "the first playban lasts 15 min: {me}"
    );

    let (_, inbox) = app
        .call("GET", "/api/me/notifications", Some(&victim.token), None)
        .await;
    let told: Vec<&Value> = inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "playban")
        .collect();
    assert_eq!(told.len(), 1, "{inbox}");
    assert_eq!(told[0]["data"]["until"], playban.to_string());

    let (_, audit) = app
        .call(
            "GET",
            "/api/admin/audit?type=playban",
            Some(&admin.token),
            None,
        )
        .await;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["target"], "leaver");
    assert_eq!(events[0]["actor"], "automod");

    let (_, stayer) = app.call("GET", "/api/me", Some(&other.token), None).await;
    assert_eq!(stayer["playbanUntil"], Value::Null, "{stayer}");
    let (_, view) = app
        .call("GET", "/api/admin/users/leaver", Some(&admin.token), None)
        .await;
    assert_eq!(view["playbanned"], true, "{view}");
}

#[actix_web::test]
async fn an_admin_sees_the_listeners_and_a_replay_counts_nothing_twice() {
    let app = spawn_app_with(|c| c.admins = vec!["admin".into()]).await;
    let admin = app.register("admin").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let rated = json!({"game": "tictactoe", "clock": null, "rated": true});
    let mut game = playing_between(&app, alice.clone(), bob.clone(), rated).await;
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    game.first.expect("client/GAME_OVER").await;
    let winner = game.first_who.name.clone();
    let profile = poll(|| async {
        let (_, p) = app.get(&format!("/api/users/{winner}")).await;
        (p["gamesPlayed"] == 1).then_some(p)
    })
    .await;

    let settled = || async {
        let (status, body) = app
            .call("GET", "/api/admin/listeners", Some(&admin.token), None)
            .await;
        assert_eq!(status, 200, "{body}");
        let all = body["listeners"].as_array().cloned().unwrap_or_default();
        let names: Vec<&str> = all.iter().filter_map(|l| l["name"].as_str()).collect();
        assert_eq!(names, ["recorders", "anticheat", "tournaments", "automod"]);
        all.iter().all(|l| l["lag"] == 0).then_some(body)
    };
    poll(settled).await;
    let (status, _) = app
        .call(
            "POST",
            "/api/admin/listeners/recorders/replay",
            Some(&admin.token),
            Some(json!({"since": 0})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(
            "POST",
            "/api/admin/listeners/nobody/replay",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));
    let (status, _) = app
        .call(
            "POST",
            "/api/admin/listeners/recorders/replay",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(status, 403);
    poll(settled).await;
    let (_, after) = app.get(&format!("/api/users/{winner}")).await;
    assert_eq!(after["gamesPlayed"], 1, "replayed, recorded once: {after}");
    assert_eq!(after["rating"], profile["rating"]);
}
