//! Dependencies failing under live games: Redis restarted, FerretDB stopped, a node drained.

use serde_json::{json, Value};

use crate::harness::*;
use crate::helpers::Closed;

#[actix_web::test]
async fn a_game_goes_on_after_redis_restarts() {
    let mut cluster = Cluster::start();
    let (n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (a, b) = (n1.guest().await, n2.guest().await);
    let mut duel = duel(
        &n1,
        a,
        &n2,
        b,
        json!({"game": "tictactoe", "clock": null, "rated": false}),
    )
    .await;
    move_acked(&mut duel.first, &duel.game, 0, json!(4)).await;

    cluster.redis.stop();
    let (status, ready) = n1.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["checks"]["snapshots"]["ok"], false);
    cluster.redis.resume();

    // Moves are acknowledged again once Redis is back (retried on `unavailable`), and the
    // opponent on the other node learns of each: from its update, or from the resync each node
    // sends its sessions once its subscriptions are restored.
    move_acked(&mut duel.second, &duel.game, 1, json!(0)).await;
    sees_move(&mut duel.first, 1, json!(0)).await;
    move_acked(&mut duel.first, &duel.game, 2, json!(8)).await;
    sees_move(&mut duel.second, 2, json!(8)).await;
    let (status, _) = n2.get("/readyz").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn games_that_finish_while_mongodb_is_down_are_stored_once_it_returns() {
    let mut cluster = Cluster::start();
    let (n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (alice, bob) = (n1.register("alice").await, n2.register("bob").await);
    cluster.ferret.stop();

    let rated = json!({"game": "tictactoe", "clock": null, "rated": true});
    let mut duel = duel(&n1, alice.clone(), &n2, bob.clone(), rated).await;
    duel.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    let over = duel.first.expect("client/GAME_OVER").await;
    let (status, ready) = n1.get("/readyz").await;
    assert_eq!(
        (status, ready["checks"]["store"]["ok"].clone()),
        (503, json!(false))
    );

    cluster.ferret.resume();
    let winner = duel.first_who.name.clone();
    let record = eventually("the game stored after MongoDB returned", || async {
        let (_, games) = n2.get(&format!("/api/users/{winner}/games")).await;
        games.as_array().and_then(|g| g.first().cloned())
    })
    .await;
    assert_eq!(record["game"], duel.game.as_str());
    // Ratings counted once, even if the outbox delivered more than once: checked once the
    // outbox has delivered and acknowledged everything (no delivery can follow).
    eventually("the outbox settled", || async {
        cluster.outbox_settled().await.then_some(())
    })
    .await;
    let (_, profile) = n1.get(&format!("/api/users/{winner}")).await;
    assert_eq!(profile["rating"], over["ratingChange"]["first"]["after"]);
    assert_eq!(profile["gamesPlayed"], 1);
}

#[actix_web::test]
async fn a_drained_node_sends_its_players_elsewhere_and_their_game_goes_on() {
    let cluster = Cluster::start();
    let (mut n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (a, b) = (n1.guest().await, n2.guest().await);
    let mut duel = duel(
        &n1,
        a,
        &n2,
        b,
        json!({"game": "tictactoe", "clock": null, "rated": false}),
    )
    .await;
    move_acked(&mut duel.first, &duel.game, 0, json!(4)).await;

    n1.terminate();
    let crate::harness::Duel {
        first,
        second,
        first_who,
        second_who,
        a_is_first,
        game,
    } = duel;
    // `a` was on n1.
    let (on_n1, mut on_n1_client, mut other) = if a_is_first {
        (first_who, first, second)
    } else {
        (second_who, second, first)
    };
    assert_eq!(on_n1_client.closed().await, Closed::Code(1012));
    assert!(n1.wait_exit().success(), "a drained node exits cleanly");

    let mut back = n2.connect(&on_n1).await;
    assert_eq!(resumed(&mut back).await["game"], game.as_str());
    let view = back.next_is("client/RESUME_GAME").await;
    assert_eq!(view["moves"], json!([4]));
    let seq = view["seq"].as_u64().unwrap();
    let mover = if view["toMove"] == view["you"] {
        &mut back
    } else {
        &mut other
    };
    let ack: Value = move_acked(mover, &game, seq, json!(0)).await;
    assert_eq!(ack["seq"], 2);
}
