//! Matchmaking over real sockets: queueing, cancelling, proposals, declines and timeouts.

use serde_json::{json, Value};

use crate::helpers::*;

async fn queued(app: &TestApp, queue: &Value) -> (Identity, Client) {
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    client
        .send(json!({"type": "server/START_MATCHMAKING", "queue": queue, "ref": "q"}))
        .await;
    let ack = client.next_is("client/QUEUED").await;
    assert_eq!(ack["ref"], "q");
    assert_eq!(&ack["queue"], queue);
    assert!(ack["queuedAt"].as_u64().unwrap() > 0);
    (who, client)
}

#[actix_web::test]
async fn joining_twice_says_already_in_queue_and_cancel_leaves() {
    let app = spawn_app().await;
    let q = queue("connect4");
    let (_, mut client) = queued(&app, &q).await;

    client
        .send(json!({"type": "server/START_MATCHMAKING", "queue": queue("chess"), "ref": "again"}))
        .await;
    let already = client.next_is("client/ALREADY_IN_QUEUE").await;
    assert_eq!(
        (already["queue"].clone(), already["ref"].clone()),
        (q.clone(), json!("again"))
    );

    let (_, sizes) = app.get("/api/queues").await;
    assert_eq!(sizes, json!([{"queue": q, "waiting": 1}]));

    client
        .send(json!({"type": "server/CANCEL_MATCHMAKING", "ref": "c"}))
        .await;
    let left = client.next_is("client/QUEUE_LEFT").await;
    assert_eq!(
        (left["reason"].clone(), left["ref"].clone()),
        (json!("cancelled"), json!("c"))
    );
    client
        .send(json!({"type": "server/CANCEL_MATCHMAKING"}))
        .await;
    client.expect_error("not_in_queue").await;
    let (_, sizes) = app.get("/api/queues").await;
    assert_eq!(sizes[0]["waiting"], 0);
}

#[actix_web::test]
async fn bad_queues_are_refused() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    let cases = [
        (
            json!({"game": "go", "clock": null, "rated": false}),
            "invalid_field",
        ),
        (
            json!({"game": "chess", "clock": {"initialMs": 0, "incrementMs": 0}, "rated": false}),
            "invalid_field",
        ),
        (
            json!({"game": "chess", "clock": {"initialMs": 60000}, "rated": false}),
            "invalid_field",
        ),
        (
            json!({"game": "chess", "clock": null, "rated": true}),
            "forbidden",
        ),
    ];
    for (queue, code) in cases {
        client
            .send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
            .await;
        let err = client.expect_error(code).await;
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
}

#[actix_web::test]
async fn a_declined_matchup_removes_the_decliner_and_requeues_the_other() {
    let app = spawn_app().await;
    let q = queue("tictactoe");
    let (_, mut a) = queued(&app, &q).await;
    let (_, mut b) = queued(&app, &q).await;
    let proposal = a.next_is("client/PROPOSE_MATCHUP").await;
    b.next_is("client/PROPOSE_MATCHUP").await;
    assert_eq!(proposal["opponent"]["rating"], 1500);
    let matchup = proposal["matchup"].clone();

    b.send(json!({"type": "server/REPLY_MATCHUP", "matchup": "nope", "accept": true}))
        .await;
    b.expect_error("no_such_matchup").await;

    a.send(json!({"type": "server/REPLY_MATCHUP", "matchup": matchup, "accept": true}))
        .await;
    b.send(
        json!({"type": "server/REPLY_MATCHUP", "matchup": matchup, "accept": false, "ref": "no"}),
    )
    .await;
    let cancelled = b.next_is("client/MATCHUP_CANCELLED").await;
    assert_eq!(
        (cancelled["reason"].clone(), cancelled["ref"].clone()),
        (json!("declined"), json!("no"))
    );
    assert_eq!(b.next_is("client/QUEUE_LEFT").await["reason"], "declined");
    assert_eq!(
        a.next_is("client/MATCHUP_CANCELLED").await["reason"],
        "declined"
    );

    // The accepter is still waiting, at the front: the next player is proposed to them.
    let (_, mut c) = queued(&app, &q).await;
    let again = a.next_is("client/PROPOSE_MATCHUP").await;
    assert_ne!(again["matchup"], matchup);
    c.next_is("client/PROPOSE_MATCHUP").await;
}

#[actix_web::test]
async fn an_unanswered_matchup_times_out_and_requeues_only_the_accepter() {
    let app = spawn_app_with(|c| c.matchup_timeout_ms = 300).await;
    let q = queue("tictactoe");
    let (_, mut a) = queued(&app, &q).await;
    let (_, mut b) = queued(&app, &q).await;
    let matchup = a.next_is("client/PROPOSE_MATCHUP").await["matchup"].clone();
    b.next_is("client/PROPOSE_MATCHUP").await;
    a.send(json!({"type": "server/REPLY_MATCHUP", "matchup": matchup, "accept": true}))
        .await;

    assert_eq!(
        a.next_is("client/MATCHUP_CANCELLED").await["reason"],
        "timeout"
    );
    assert_eq!(
        b.next_is("client/MATCHUP_CANCELLED").await["reason"],
        "timeout"
    );
    assert_eq!(b.next_is("client/QUEUE_LEFT").await["reason"], "timeout");
    let (_, sizes) = app.get("/api/queues").await;
    assert_eq!(sizes[0]["waiting"], 1, "the accepter waits on: {sizes}");

    a.send(json!({"type": "server/START_MATCHMAKING", "queue": q}))
        .await;
    a.next_is("client/ALREADY_IN_QUEUE").await;
}

#[actix_web::test]
async fn players_far_apart_in_rating_wait_for_the_window_to_widen() {
    // No slack at first; the window widens by GROWTH every whole second a ticket waits.
    const GROWTH: u64 = 200;
    const MATCHUP_TIMEOUT_MS: u64 = 15_000;
    let app = spawn_app_with(|c| {
        c.match_window = 0;
        c.match_window_growth_per_sec = GROWTH as u32;
        c.matchup_timeout_ms = MATCHUP_TIMEOUT_MS;
    })
    .await;
    // Arrange: from the same 1500 (paired at once even by a zero window), a rated win moves
    // the winner up and the loser down, far apart.
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let rated = json!({"game": "tictactoe", "clock": null, "rated": true});
    let mut game = playing_between(&app, alice, bob, rated.clone()).await;
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    let over = game.first.expect("client/GAME_OVER").await;
    game.second.expect("client/GAME_OVER").await;
    let rating = |side: &str| {
        over["ratingChange"][side]["after"]
            .as_i64()
            .expect("rating")
    };
    let (winner_rating, loser_rating) = (rating("first"), rating("second"));
    for (who, expected) in [
        (&game.first_who, winner_rating),
        (&game.second_who, loser_rating),
    ] {
        // A ticket carries the stored rating: wait until the result is stored.
        poll(|| async {
            let (_, user) = app.get(&format!("/api/users/{}", who.name)).await;
            (user["rating"] == expected).then_some(())
        })
        .await;
    }
    let apart = winner_rating.abs_diff(loser_rating);
    let widen_secs = apart.div_ceil(GROWTH);
    assert!(
        (1..5).contains(&widen_secs),
        "{apart} points apart: the window must widen for a few seconds ({over})"
    );

    // Act: both queue again.
    let mut queued_at = Vec::new();
    for client in [&mut game.first, &mut game.second] {
        client
            .send(json!({"type": "server/START_MATCHMAKING", "queue": rated}))
            .await;
        let queued = client.expect("client/QUEUED").await;
        queued_at.push(queued["queuedAt"].as_u64().expect("queuedAt"));
    }
    let to_winner = game.first.expect("client/PROPOSE_MATCHUP").await;
    let to_loser = game.second.expect("client/PROPOSE_MATCHUP").await;

    // Assert: they are paired with their far-apart ratings, and only once the later ticket had
    // waited long enough for both windows to reach the gap (the queue's own clock: a proposal
    // expires MATCHUP_TIMEOUT_MS after the pairing).
    assert_eq!(to_winner["matchup"], to_loser["matchup"]);
    assert_eq!(to_winner["opponent"]["rating"], loser_rating);
    assert_eq!(to_loser["opponent"]["rating"], winner_rating);
    let paired_at = to_winner["expiresAt"].as_u64().expect("expiresAt") - MATCHUP_TIMEOUT_MS;
    let waited_ms = paired_at - queued_at.iter().max().expect("two tickets");
    assert!(
        waited_ms >= widen_secs * 1000,
        "{apart} points apart with a window of {GROWTH} more per second: not paired before \
         {widen_secs} s of waiting, but paired after {waited_ms} ms"
    );
}

#[actix_web::test]
async fn a_player_in_a_game_cannot_queue_for_another() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    game.first
        .send(json!({"type": "server/START_MATCHMAKING", "queue": queue("chess")}))
        .await;
    game.first.expect_error("already_in_game").await;
}
