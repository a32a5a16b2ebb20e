//! Listeners across node deaths: the recorder on n1 handles a finished game (the store has it)
//! and is killed (kill -9) before acknowledging it; n2's recorder claims the event once it has
//! been idle long enough and handles it again, and the game still counts once: one stored
//! game, one rating change, nothing left pending.

use serde_json::json;

use crate::harness::{duel, eventually, Cluster};

#[tokio::test]
async fn a_node_killed_before_acknowledging_an_event_loses_nothing_and_counts_nothing_twice() {
    let cluster = Cluster::start();
    let claim = ("ROOKERY_LISTENER_CLAIM_MS", "1000".to_owned());
    let paused = (
        "ROOKERY_FAILPOINTS",
        "listener.recorders.handled=pause".to_owned(),
    );
    let mut n1 = cluster.node_with("n1", &[claim.clone(), paused]).await;
    let (alice, bob) = (n1.register("alice").await, n1.register("bob").await);
    let rated = json!({"game": "tictactoe", "clock": null, "rated": true});
    let mut game = duel(&n1, alice.clone(), &n1, bob.clone(), rated).await;
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    let over = game.first.expect("client/GAME_OVER").await;
    eventually("n1's recorder handled the game and paused", || async {
        n1.log_text()
            .contains("failpoint listener.handled=pause")
            .then_some(())
    })
    .await;
    n1.kill9();

    let n2 = cluster.node_with("n2", &[claim]).await;
    eventually("n2 claimed and acknowledged the event", || async {
        cluster.outbox_settled().await.then_some(())
    })
    .await;
    let winner = game.first_who.name.clone();
    let (_, profile) = n2.get(&format!("/api/users/{winner}")).await;
    assert_eq!(profile["gamesPlayed"], 1, "counted once: {profile}");
    assert_eq!(profile["rating"], over["ratingChange"]["first"]["after"]);
    let (_, games) = n2.get(&format!("/api/users/{winner}/games")).await;
    assert_eq!(games.as_array().map(Vec::len), Some(1), "{games}");
}
