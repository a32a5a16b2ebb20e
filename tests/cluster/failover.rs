//! Players across nodes, and nodes dying: games and queue tickets move to a survivor with no
//! acknowledged move lost or applied twice.

use std::time::Instant;

use serde_json::{json, Value};

use crate::harness::*;

fn tictactoe(rated: bool) -> Value {
    json!({"game": "tictactoe", "clock": {"initialMs": 120_000, "incrementMs": 0}, "rated": rated})
}

#[actix_web::test]
async fn players_on_different_nodes_are_matched_and_their_rated_game_reaches_mongodb() {
    let cluster = Cluster::start();
    let (n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (alice, bob) = (n1.register("alice").await, n2.register("bob").await);
    let mut duel = duel(&n1, alice, &n2, bob, tictactoe(true)).await;
    duel.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    let over = duel.first.expect("client/GAME_OVER").await;
    assert_eq!(
        (over["result"].clone(), over["reason"].clone()),
        (json!("first"), json!("line"))
    );
    duel.second.expect("client/GAME_OVER").await;

    // The outbox consumer (either node) writes it to MongoDB; both nodes serve it.
    let winner = duel.first_who.name.clone();
    let record = eventually("the game in the winner's history", || async {
        let (_, games) = n2.get(&format!("/api/users/{winner}/games")).await;
        games.as_array().and_then(|g| g.first().cloned())
    })
    .await;
    assert_eq!(record["game"], duel.game.as_str());
    let (_, profile) = n1.get(&format!("/api/users/{winner}")).await;
    assert_eq!(profile["rating"], over["ratingChange"]["first"]["after"]);
    let (_, ready) = n1.get("/readyz").await;
    let peers = ready["checks"]["peers"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        peers.contains(&json!("n1")) && peers.contains(&json!("n2")),
        "{ready}"
    );
}

#[actix_web::test]
async fn killing_the_node_that_owns_a_game_loses_no_acknowledged_move() {
    let cluster = Cluster::start();
    let (mut n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (a, b) = (n1.guest().await, n2.guest().await);
    let mut duel = duel(
        &n1,
        a,
        &n2,
        b,
        json!({"game": "connect4", "clock": null, "rated": false}),
    )
    .await;
    assert_eq!(
        n1.hosted_games().await,
        1,
        "the game lives where its queue lives"
    );

    let mut acknowledged = duel.play(&[3, 3, 4].map(|c| json!(c))).await;

    n1.kill9();
    let killed = Instant::now();
    // Whoever was on n1 reconnects to n2 and resumes; the game is rebuilt there.
    let (on_n1, other) = if duel.a_is_first {
        (duel.first_who.clone(), &mut duel.second)
    } else {
        (duel.second_who.clone(), &mut duel.first)
    };
    let mut back = n2.connect(&on_n1).await;
    let session = resumed(&mut back).await;
    assert_eq!(session["game"], duel.game.as_str());
    let view = back.next_is("client/RESUME_GAME").await;
    let resumed_after = killed.elapsed();
    assert_eq!(
        view["moves"],
        Value::Array(acknowledged.clone()),
        "every acknowledged move, once"
    );
    assert_eq!(view["seq"], 3);
    println!("kill -9 of the owner -> RESUME_GAME on the survivor: {resumed_after:?}");
    // A killed node never said its player left, so the opponent heard of no absence: a round
    // trip to the rebuilt game (ready again: answered with the game's state) comes back with
    // no presence news before it.
    let heard_from = other.seen.len();
    other
        .send(json!({"type": "game/PLAYER_READY", "game": duel.game, "ref": "probe"}))
        .await;
    let probe = other
        .expect_matching("the answer to the probe", |m| m["ref"] == "probe")
        .await;
    assert_eq!(
        (probe["type"].clone(), probe["seq"].clone()),
        (json!("client/UPDATE_GAME"), json!(3)),
        "{probe}"
    );
    let presence: Vec<&Value> = other.seen[heard_from..]
        .iter()
        .filter(|m| m["type"] == "client/OPPONENT_PRESENCE")
        .collect();
    assert!(presence.is_empty(), "the opponent heard: {presence:?}");

    let (mut first, mut second) = if duel.a_is_first {
        (back, duel.second)
    } else {
        (duel.first, back)
    };
    // Play on to the end: second to move at seq 3; first completes the bottom row 3-6.
    for (seq, column) in [(3u64, 0), (4, 5), (5, 0), (6, 6)] {
        let mover = if seq % 2 == 0 {
            &mut first
        } else {
            &mut second
        };
        let ack = move_acked(mover, &duel.game, seq, json!(column)).await;
        acknowledged.push(ack["lastMove"].clone());
    }
    let over = first.expect("client/GAME_OVER").await;
    assert_eq!(over["reason"], "line");
    assert_eq!(n2.hosted_games().await, 1, "the survivor owns the game now");

    let stored = eventually("the finished game in MongoDB", || async {
        let (status, record) = n2.get(&format!("/api/games/{}", duel.game)).await;
        (status == 200).then_some(record)
    })
    .await;
    assert_eq!(
        stored["moves"],
        Value::Array(acknowledged),
        "stored moves = acknowledged moves"
    );
}

#[actix_web::test]
async fn queue_tickets_survive_the_death_of_the_queues_node() {
    let cluster = Cluster::start();
    let (mut n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (a, b) = (n1.guest().await, n2.guest().await);
    let queue = json!({"game": "chess", "clock": null, "rated": false});
    let mut ca = n1.connect(&a).await;
    resumed(&mut ca).await;
    ca.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    ca.next_is("client/QUEUED").await;

    n1.kill9();
    drop(ca);
    let mut cb = n2.connect(&b).await;
    resumed(&mut cb).await;
    cb.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    cb.next_is("client/QUEUED").await;
    // The queue was rebuilt on n2 from its snapshot, with a's ticket: b is paired with a.
    let proposal = cb.next_is("client/PROPOSE_MATCHUP").await;
    assert_eq!(proposal["opponent"]["name"], a.name.as_str());

    // a resumes on n2 and hears the pending proposal: its resume repeats it, or (when the
    // proposal reached a's stored session while a was reconnecting) the queue does, told of
    // the resume.
    let mut ca = n2.connect(&a).await;
    resumed(&mut ca).await;
    assert_eq!(
        ca.expect("client/PROPOSE_MATCHUP").await["matchup"],
        proposal["matchup"]
    );
    for c in [&mut ca, &mut cb] {
        c.send(
            json!({"type": "server/REPLY_MATCHUP", "matchup": proposal["matchup"], "accept": true}),
        )
        .await;
    }
    let start = ca.expect("client/START_GAME").await;
    assert_eq!(cb.expect("client/START_GAME").await["game"], start["game"]);
}

#[actix_web::test]
async fn nodes_racing_to_activate_one_game_end_with_exactly_one_owner() {
    let cluster = Cluster::start();
    let (mut n1, n2, n3) = (
        cluster.node("n1").await,
        cluster.node("n2").await,
        cluster.node("n3").await,
    );
    let (a, b) = (n1.guest().await, n1.guest().await);
    let duel = duel(&n1, a, &n1, b, tictactoe(false)).await;
    let (game, first_who, second_who) = (
        duel.game.clone(),
        duel.first_who.clone(),
        duel.second_who.clone(),
    );
    drop(duel);
    n1.kill9();

    // Both players come back at once, on two different nodes: both nodes try to activate.
    let (mut first, mut second) = (n2.connect(&first_who).await, n3.connect(&second_who).await);
    resumed(&mut first).await;
    resumed(&mut second).await;
    first.next_is("client/RESUME_GAME").await;
    second.next_is("client/RESUME_GAME").await;
    let owners = n2.hosted_games().await + n3.hosted_games().await;
    assert_eq!(owners, 1, "exactly one node owns the game");

    // And it plays normally from both nodes.
    move_acked(&mut first, &game, 0, json!(4)).await;
    move_acked(&mut second, &game, 1, json!(0)).await;
}

#[actix_web::test]
async fn a_frozen_owner_that_wakes_up_cannot_overwrite_the_new_owners_state() {
    let cluster = Cluster::start();
    let (n1, n2) = (cluster.node("n1").await, cluster.node("n2").await);
    let (a, b) = (n1.guest().await, n2.guest().await);
    let duel = duel(
        &n1,
        a,
        &n2,
        b,
        json!({"game": "tictactoe", "clock": null, "rated": false}),
    )
    .await;
    let game = duel.game.clone();
    // `a` (on n1, with the game) and `b` (on n2).
    let (mut on_n1, mut on_n2) = if duel.a_is_first {
        (duel.first, duel.second)
    } else {
        (duel.second, duel.first)
    };
    let n1_moves_first = duel.a_is_first;

    n1.freeze(true);
    cluster.cut_bus_connection("n1").await;
    // While n1 is frozen and cut off, its lease runs out; n2 takes the game over on the next
    // state change.
    on_n2
        .send(json!({"type": "game/OFFER_DRAW", "game": game, "ref": "offer"}))
        .await;
    let offer = on_n2.expect("client/OFFER_DRAW").await;
    assert_eq!(offer["ref"], "offer");
    assert_eq!(n2.hosted_games().await, 1, "n2 owns the game now");
    // A move reaches the frozen node's socket; it is handled when n1 wakes up.
    let mover_on_n1 = n1_moves_first;
    if mover_on_n1 {
        on_n1.send(json!({"type": "game/PLAYER_MOVE", "game": game, "seq": 0, "move": 4, "ref": "late"})).await;
    }
    n1.freeze(false);
    // The next move may reach n1's game actor while it stops after its refused write: a
    // retiring actor sends what is in its mailbox on to the new owner (`actors::Tenure`).

    // Whatever n1 does on waking (renewal fails, or a fenced write is refused), the state n2
    // wrote stands: the draw offer exists until the move, and the move is applied once.
    let (mover, other) = if mover_on_n1 {
        (&mut on_n1, &mut on_n2)
    } else {
        (&mut on_n2, &mut on_n1)
    };
    let ack = move_acked(mover, &game, 0, json!(4)).await;
    assert_eq!(ack["position"], json!(["...", ".x.", "..."]));
    // n1's bus connection was cut, so the other player may see the move in the resync.
    sees_move(other, 0, json!(4)).await;
    let refreshed = move_acked(other, &game, 1, json!(0)).await;
    assert_eq!(
        refreshed["position"],
        json!(["o..", ".x.", "..."]),
        "one x, one o: nothing twice, nothing lost"
    );
    assert_eq!(
        n1.hosted_games().await,
        0,
        "the woken node gave the game up"
    );
    let log = n1.log_text();
    let fenced = log.contains("game snapshot write refused");
    let lost = log.contains("lease lost");
    assert!(
        fenced || lost,
        "n1 noticed it no longer owns the game: {log}"
    );
    println!("the woken owner: fenced write refused = {fenced}, lease renewal refused = {lost}");
}

#[actix_web::test]
async fn a_player_whose_node_is_killed_loses_by_abandonment_once_the_grace_runs_out() {
    let cluster = Cluster::start();
    let grace = [("ROOKERY_GRACE_MS", "1500".to_owned())];
    let n1 = cluster.node_with("n1", &grace).await;
    let mut n2 = cluster.node_with("n2", &grace).await;
    let (alice, bob) = (n1.register("stayer").await, n2.register("goner").await);
    // The game lives on n1 with alice's socket; bob's socket is on n2.
    let mut duel = duel(&n1, alice, &n2, bob, tictactoe(false)).await;
    duel.play(&[json!(4), json!(0)]).await;
    let (mut stayer, stayer_side) = if duel.a_is_first {
        (duel.first, "first")
    } else {
        (duel.second, "second")
    };
    n2.kill9();
    // No socket closed: n1 notices that n2 stopped heartbeating, and the grace starts.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let away = loop {
        assert!(
            Instant::now() < deadline,
            "the stayer never heard the goner left"
        );
        let message = stayer.recv().await;
        if message["type"] == "client/OPPONENT_PRESENCE" {
            break message;
        }
    };
    assert_eq!(away["connected"], false, "{away}");
    let over = stayer.expect("client/GAME_OVER").await;
    assert_eq!(
        (over["result"].as_str(), over["reason"].as_str()),
        (Some(stayer_side), Some("abandoned")),
        "{over}"
    );
}
