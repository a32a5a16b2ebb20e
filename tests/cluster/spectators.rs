//! Spectators and chat across node processes: a watcher on another node than the game's
//! owner sees every update in order and the end, and the crowd count; watchers on two nodes
//! chat in the game's watchers room while the players, on a third socket each, never read it;
//! the lobby's history is shared; the live list is one list for the cluster.

use serde_json::{json, Value};

use crate::harness::{duel, resumed, Cluster};

#[tokio::test]
async fn a_watcher_on_another_node_sees_the_whole_game_and_watchers_chat_across_nodes() {
    let cluster = Cluster::start();
    let fast = [("ROOKERY_CROWD_TICK_MS", "100".to_owned())];
    let n1 = cluster.node_with("n1", &fast).await;
    let n2 = cluster.node_with("n2", &fast).await;
    // Both players queue on n1: the queue, and so the game, live there.
    let (a, b) = (n1.guest().await, n1.guest().await);
    let mut duel = duel(
        &n1,
        a,
        &n1,
        b,
        json!({"game": "tictactoe", "clock": null, "rated": false}),
    )
    .await;
    let game = duel.game.clone();

    let watcher = n2.guest().await;
    let mut w2 = n2.connect(&watcher).await;
    resumed(&mut w2).await;
    w2.send(json!({"type": "server/WATCH_GAME", "game": game, "ref": "w"}))
        .await;
    let view = w2.expect("client/WATCH_GAME").await;
    assert_eq!(
        (view["you"].clone(), view["seq"].clone()),
        (Value::Null, json!(0))
    );
    // A second watcher, on the game's node.
    let other = n1.guest().await;
    let mut w1 = n1.connect(&other).await;
    resumed(&mut w1).await;
    w1.send(json!({"type": "server/WATCH_GAME", "game": game}))
        .await;
    w1.expect("client/WATCH_GAME").await;

    // The players hear how many watch (one on each node).
    duel.first
        .expect_matching("a crowd of 2", |m| {
            m["type"] == "client/CROWD" && m["watchers"] == 2
        })
        .await;
    let (_, live) = n2.get("/api/games/live").await;
    assert_eq!(
        live["games"][0]["game"],
        json!(game),
        "one list for the cluster: {live}"
    );

    // Watchers chat across nodes; players cannot join their watchers' room.
    let room = format!("watchers:{game}");
    for w in [&mut w1, &mut w2] {
        w.send(json!({"type": "server/CHAT_JOIN", "room": room, "ref": "j"}))
            .await;
        w.expect("client/CHAT_HISTORY").await;
    }
    w2.send(json!({"type": "server/CHAT_SEND", "room": room, "text": "who wins?", "ref": "s"}))
        .await;
    let own = w2.expect("client/CHAT_MESSAGE").await;
    assert_eq!(own["ref"], "s");
    let heard = w1.expect("client/CHAT_MESSAGE").await;
    assert_eq!(
        (heard["id"].clone(), heard["from"].clone()),
        (own["id"].clone(), own["from"].clone())
    );
    duel.first
        .send(json!({"type": "server/CHAT_JOIN", "room": room, "ref": "j"}))
        .await;
    duel.first.expect_error("forbidden").await;

    let moves = [4, 0, 3, 1, 5].map(|c| json!(c));
    duel.play(&moves).await;
    for seq in 1..=moves.len() {
        let update = w2.expect("client/UPDATE_GAME").await;
        assert_eq!(update["seq"], seq, "every update, in order: {update}");
        assert_eq!(update["lastMove"], moves[seq - 1]);
    }
    let over = w2.expect("client/GAME_OVER").await;
    assert_eq!(
        (over["game"].clone(), over["reason"].clone()),
        (json!(game), json!("line"))
    );
    let updates = w2
        .seen
        .iter()
        .filter(|m| m["type"] == "client/UPDATE_GAME")
        .count();
    assert_eq!(updates, moves.len(), "none twice: {:#?}", w2.seen);
    for player in [&duel.first, &duel.second] {
        let read = player
            .seen
            .iter()
            .any(|m| m["type"] == "client/CHAT_MESSAGE" && m["room"] == json!(room));
        assert!(!read, "a player read the watchers: {:#?}", player.seen);
    }

    // The lobby's history is the cluster's.
    w1.send(json!({"type": "server/CHAT_JOIN", "room": "lobby"}))
        .await;
    w1.expect("client/CHAT_HISTORY").await;
    w1.send(json!({"type": "server/CHAT_SEND", "room": "lobby", "text": "hello from n1"}))
        .await;
    w1.expect("client/CHAT_MESSAGE").await;
    w2.send(json!({"type": "server/CHAT_JOIN", "room": "lobby"}))
        .await;
    let history = w2.expect("client/CHAT_HISTORY").await;
    assert_eq!(history["messages"][0]["text"], "hello from n1", "{history}");
}
