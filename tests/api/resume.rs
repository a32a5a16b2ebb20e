//! Sessions that outlive their sockets: resuming a game, presence and abandonment, resuming
//! a queue, and one socket per session.

use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn a_player_who_reconnects_mid_game_resumes_it_exactly() {
    let app = spawn_app().await;
    let mut game = playing(&app, timed_queue("chess", 120_000, 1_000)).await;
    let before = game.play(&["e2e4", "e7e5", "g1f3"].map(|m| json!(m))).await;

    let Game {
        first,
        second,
        second_who,
        id,
        ..
    } = game;
    second.close().await;
    let away = first_presence(first, &id, false).await;
    let (mut first, presence) = away;
    assert!(presence["graceMs"].as_u64().unwrap() > 0);

    let mut second = app
        .connect_raw(&format!(
            "/ws?token={}&session={}",
            second_who.token, second_who.session
        ))
        .await;
    let resumed = second.next_is("client/RESUME_SESSION").await;
    assert_eq!(resumed["game"], id.as_str());
    assert_eq!(resumed["session"], second_who.session.as_str());
    let view = second.next_is("client/RESUME_GAME").await;
    assert_eq!(view["you"], "second");
    assert_eq!(view["seq"], 3);
    assert_eq!(view["moves"], json!(["e2e4", "e7e5", "g1f3"]));
    assert_eq!(view["position"], before["position"]);
    assert_eq!(view["status"], "playing");
    assert_eq!(view["clocks"]["running"], "second");
    assert_eq!(
        view["clocks"]["first"], before["clocks"]["first"],
        "the waiting side's clock is frozen"
    );
    let back = first.expect("client/OPPONENT_PRESENCE").await;
    assert_eq!(back["connected"], true);

    // And play goes on from where it was.
    second
        .send(json!({"type": "game/PLAYER_MOVE", "game": id, "seq": 3, "move": "b8c6", "ref": "r"}))
        .await;
    assert_eq!(second.expect("client/UPDATE_GAME").await["seq"], 4);
    assert_eq!(first.expect("client/UPDATE_GAME").await["lastMove"], "b8c6");
}

async fn first_presence(mut client: Client, game: &str, connected: bool) -> (Client, Value) {
    let presence = client.expect("client/OPPONENT_PRESENCE").await;
    assert_eq!(presence["game"], game);
    assert_eq!(presence["connected"], connected);
    (client, presence)
}

#[actix_web::test]
async fn a_player_who_stays_away_past_the_grace_period_loses_by_abandonment() {
    let app = spawn_app_with(|c| c.grace_ms = 300).await;
    let mut game = playing(&app, queue("connect4")).await;
    game.play(&[json!(3)]).await;
    let Game {
        first,
        second,
        id,
        second_who,
        ..
    } = game;
    second.close().await;
    let (mut first, presence) = first_presence(first, &id, false).await;
    assert_eq!(presence["graceMs"], 300);
    let over = first.expect("client/GAME_OVER").await;
    assert_eq!(
        (over["result"].clone(), over["reason"].clone()),
        (json!("first"), json!("abandoned"))
    );

    // Coming back later: the session no longer has a game; the game is in the history.
    let mut back = app
        .connect_raw(&format!(
            "/ws?token={}&session={}",
            second_who.token, second_who.session
        ))
        .await;
    let resumed = back.next_is("client/RESUME_SESSION").await;
    assert_eq!(resumed["game"], Value::Null);
    let history = poll(|| async {
        let (_, games) = app
            .get(&format!("/api/users/{}/games", second_who.name))
            .await;
        games.as_array().filter(|g| !g.is_empty()).cloned()
    })
    .await;
    assert_eq!(history[0]["game"], id.as_str());
    assert_eq!(history[0]["reason"], "abandoned");
}

#[actix_web::test]
async fn a_queued_player_resumes_in_the_queue_and_a_pending_matchup_is_proposed_again() {
    let app = spawn_app().await;
    let (a, b) = (app.guest().await, app.guest().await);
    let q = queue("chess");
    let mut ca = app.connect(&a).await;
    ca.send(json!({"type": "server/START_MATCHMAKING", "queue": q}))
        .await;
    ca.next_is("client/QUEUED").await;
    ca.close().await;

    let mut again = app
        .connect_raw(&format!("/ws?token={}&session={}", a.token, a.session))
        .await;
    let resumed = again.next_is("client/RESUME_SESSION").await;
    assert_eq!(resumed["queue"], q);

    let mut cb = app.connect(&b).await;
    cb.send(json!({"type": "server/START_MATCHMAKING", "queue": q}))
        .await;
    cb.next_is("client/QUEUED").await;
    let proposal = again.next_is("client/PROPOSE_MATCHUP").await;
    cb.next_is("client/PROPOSE_MATCHUP").await;
    again.close().await;

    let mut third = app
        .connect_raw(&format!("/ws?token={}&session={}", a.token, a.session))
        .await;
    let resumed = third.next_is("client/RESUME_SESSION").await;
    assert_eq!(resumed["matchup"], proposal["matchup"]);
    let reproposed = third.next_is("client/PROPOSE_MATCHUP").await;
    assert_eq!(reproposed["matchup"], proposal["matchup"]);
    third
        .send(
            json!({"type": "server/REPLY_MATCHUP", "matchup": proposal["matchup"], "accept": true}),
        )
        .await;
    cb.send(
        json!({"type": "server/REPLY_MATCHUP", "matchup": proposal["matchup"], "accept": true}),
    )
    .await;
    third.expect("client/START_GAME").await;
    cb.expect("client/START_GAME").await;
}

#[actix_web::test]
async fn a_second_socket_on_the_same_session_takes_it_over() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut old = app.connect(&who).await;
    let mut new = app.connect(&who).await;
    assert_eq!(old.closed().await, Closed::Code(4001));
    new.send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "alive"}))
        .await;
    assert_eq!(new.expect_error("not_in_queue").await["ref"], "alive");
}

#[actix_web::test]
async fn a_token_without_a_session_starts_a_new_session() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect_raw(&format!("/ws?token={}", who.token)).await;
    let started = client.next_is("client/SESSION_STARTED").await;
    assert_ne!(started["session"], who.session.as_str());
    assert_eq!(started["user"]["name"], who.name.as_str());
    assert_eq!(started["token"], who.token.as_str());
}

#[actix_web::test]
async fn a_draining_node_closes_sockets_with_1012() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    app.stop().await;
    assert_eq!(client.closed().await, Closed::Code(1012));
}
