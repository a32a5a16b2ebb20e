//! Listeners across node deaths: the recorder on n1 handles a finished game (the store has it)
//! and is killed (kill -9) before acknowledging it; n2's recorder claims the event once it has
//! been idle long enough and handles it again, and the game still counts once: one stored
//! game, one rating change, nothing left pending.

use serde_json::json;

use crate::harness::{duel, eventually, move_acked, Cluster};

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

/// A player whose games were lost because their node died is never playbanned: three times,
/// the node holding the player's socket and the game is killed with the player to move and
/// no move of theirs made; the game is rebuilt on the survivor, and the player's clock runs
/// out there. Three losses by timeout without a move, each in a game rebuilt after its owner
/// stopped: automod counts none of them.
#[tokio::test]
async fn three_losses_caused_by_dead_nodes_do_not_playban_the_player() {
    let cluster = Cluster::start();
    // Events a dead owner's listeners had taken are claimed by n2 a second later.
    let claim = [("ROOKERY_LISTENER_CLAIM_MS", "1000".to_owned())];
    let n2 = cluster.node_with("n2", &claim).await;
    let opponent = n2.register("opponent").await;
    let mut victim = None;
    for round in 0..3u64 {
        let mut owner = cluster.node_with(&format!("owner{round}"), &claim).await;
        let who = match &victim {
            Some(who) => who,
            None => victim.insert(owner.register("victim").await),
        };
        // A queue of its own per round, so that its actor (and the game) live on this owner.
        let queue = json!({"game": "tictactoe", "clock": {"initialMs": 1500 + round * 100, "incrementMs": 0}, "rated": false});
        let mut game = duel(&owner, who.clone(), &n2, opponent.clone(), queue).await;
        assert_eq!(owner.hosted_games().await, 1, "the game lives on its owner");
        let stayer = if game.a_is_first {
            &mut game.second
        } else {
            // The opponent moves first: then the victim is to move, with no move made.
            move_acked(&mut game.first, &game.game, 0, json!(4)).await;
            &mut game.first
        };
        owner.kill9();
        // The opponent's next message rebuilds the game on n2, where the victim's clock runs.
        let probe = json!({"type": "game/PLAYER_READY", "game": game.game, "ref": "probe"});
        let over = loop {
            stayer.send(probe.clone()).await;
            let answer = stayer
                .expect_matching("the probe's answer or the end", |m| {
                    m["ref"] == "probe" || m["type"] == "client/GAME_OVER"
                })
                .await;
            match answer["type"].as_str() {
                Some("client/GAME_OVER") => break answer,
                // Refused while the dead owner's lease runs out: ask again.
                Some("client/ERROR") => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await
                }
                // Rebuilt and answering: the victim's clock runs out next.
                _ => break stayer.expect("client/GAME_OVER").await,
            }
        };
        assert_eq!(over["reason"], "timeout", "{over}");
    }
    // Every finished game reached the listeners (the recorder acknowledged all three)...
    eventually("the listeners settled", || async {
        cluster.outbox_settled().await.then_some(())
    })
    .await;
    let victim = victim.unwrap();
    let (_, history) = n2.get("/api/users/victim/games").await;
    assert_eq!(history.as_array().map(Vec::len), Some(3), "{history}");
    // ...and none counted against the victim.
    let (_, me) = n2.call("GET", "/api/me", &victim.token, json!(null)).await;
    assert_eq!(me["playbanUntil"], json!(null), "{me}");
    let mut socket = n2.connect(&victim).await;
    crate::harness::resumed(&mut socket).await;
    let queue = json!({"game": "connect4", "clock": null, "rated": false});
    socket
        .send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
        .await;
    socket.next_is("client/QUEUED").await;
}
