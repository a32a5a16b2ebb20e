//! Tournaments across node processes: the node running a swiss is killed (kill -9) in the
//! middle of round 2, with a game in progress; the other node takes the tournament over, the
//! game goes on, and the tournament finishes with no pairing repeated and every result
//! counted once. And two nodes racing to start one tournament: exactly one starts it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::harness::{eventually, move_acked, Cluster, NodeProc};
use crate::helpers::{now, started, Client, Identity};

/// Every node: a fast tournament clock, events of a dead node claimed after a second.
fn env() -> Vec<(&'static str, String)> {
    vec![
        ("ROOKERY_TOURNAMENT_TICK_MS", "100".to_owned()),
        ("ROOKERY_LISTENER_CLAIM_MS", "1000".to_owned()),
    ]
}

async fn swiss(node: &NodeProc, admin: &Identity, rounds: u32, starts_in: u64) -> String {
    let body = json!({
        "name": "Failover Swiss", "format": "swiss", "game": "tictactoe", "clock": null,
        "rated": true, "startsAt": now() + starts_in, "rounds": rounds,
    });
    let (status, view) = node
        .call("POST", "/api/tournaments", &admin.token, body)
        .await;
    assert_eq!(status, 201, "{view}");
    view["id"].as_str().unwrap().to_owned()
}

async fn view(node: &NodeProc, id: &str) -> Value {
    let (status, view) = node.get(&format!("/api/tournaments/{id}")).await;
    assert_eq!(status, 200, "{view}");
    view
}

async fn hosted_tournaments(node: &NodeProc) -> u64 {
    let (_, ready) = node.get("/readyz").await;
    ready["hosted"]["tournaments"].as_u64().unwrap_or(0)
}

/// Both ready (until the game runs), then the first side wins with 0 1 2 against 3 4; moves
/// are retried while an owner is away. `kill` runs after the first `after` moves.
async fn play(
    first: &mut Client,
    second: &mut Client,
    game: &str,
    after: usize,
    kill: &mut dyn FnMut(),
) {
    for c in [&mut *first, &mut *second] {
        c.send(json!({"type": "game/PLAYER_READY", "game": game}))
            .await;
    }
    for c in [&mut *first, &mut *second] {
        c.expect_matching("the start", |m| {
            m["type"] == "client/UPDATE_GAME" && m["game"] == game && m["status"] == "playing"
        })
        .await;
    }
    for (seq, cell) in [0, 3, 1, 4, 2].into_iter().enumerate() {
        if seq == after {
            kill();
        }
        let mover = if seq % 2 == 0 {
            &mut *first
        } else {
            &mut *second
        };
        move_acked(mover, game, seq as u64, json!(cell)).await;
    }
    for c in [&mut *first, &mut *second] {
        c.expect_matching("the game over", |m| {
            m["type"] == "client/GAME_OVER" && m["game"] == game
        })
        .await;
    }
}

#[tokio::test]
async fn a_swiss_survives_the_death_of_its_node_with_no_pairing_repeated_and_no_result_twice() {
    let cluster = Cluster::start();
    let (mut a, mut b) = (
        cluster.node_with("a", &env()).await,
        cluster.node_with("b", &env()).await,
    );
    let admin = a.register("admin").await;
    let names = ["pat", "pam", "pia", "pol"];
    let mut who = BTreeMap::new();
    for name in names {
        who.insert(name, a.register(name).await);
    }
    let id = swiss(&a, &admin, 3, 2_000).await;
    for name in names {
        let (status, v) = a
            .call(
                "POST",
                &format!("/api/tournaments/{id}/join"),
                &who[name].token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    // The owner is whichever node won the lease; the players sit on the other one.
    let a_owns = eventually("one node runs the tournament", || async {
        match (hosted_tournaments(&a).await, hosted_tournaments(&b).await) {
            (1, 0) => Some(true),
            (0, 1) => Some(false),
            _ => None,
        }
    })
    .await;
    let (owner, survivor) = if a_owns { (&mut a, &b) } else { (&mut b, &a) };
    let mut clients = BTreeMap::new();
    for name in names {
        clients.insert(name.to_owned(), survivor.connect(&who[name]).await);
    }
    let mut met = BTreeSet::new();
    let mut wins: BTreeMap<String, u64> = BTreeMap::new();
    for round in 1..=3u64 {
        let v = eventually("the round's pairings", || async {
            let v = view(survivor, &id).await;
            (v["round"] == round && v["status"] == "started").then_some(v)
        })
        .await;
        let pairings = v["pairings"].as_array().unwrap().clone();
        assert_eq!(pairings.len(), 2, "round {round}: {v:#}");
        for (board, pairing) in pairings.iter().enumerate() {
            let (f, s) = (
                pairing["first"].as_str().unwrap().to_owned(),
                pairing["second"].as_str().unwrap().to_owned(),
            );
            let game = pairing["game"].as_str().unwrap().to_owned();
            let pair = if f < s {
                (f.clone(), s.clone())
            } else {
                (s.clone(), f.clone())
            };
            assert!(
                met.insert(pair.clone()),
                "round {round}: {pair:?} met twice"
            );
            let mut first = clients.remove(&f).unwrap();
            let mut second = clients.remove(&s).unwrap();
            assert_eq!(started(&mut first, &id).await.0, game);
            assert_eq!(started(&mut second, &id).await.0, game);
            // Round 2, board 2: the tournament's node dies after two moves.
            let after = if round == 2 && board == 1 {
                2
            } else {
                usize::MAX
            };
            play(&mut first, &mut second, &game, after, &mut || owner.kill9()).await;
            *wins.entry(f.clone()).or_default() += 1;
            clients.insert(f, first);
            clients.insert(s, second);
        }
    }
    let v = eventually("the tournament finished on the survivor", || async {
        let v = view(survivor, &id).await;
        (v["status"] == "finished").then_some(v)
    })
    .await;
    assert_eq!(hosted_tournaments(survivor).await, 1, "taken over: {v:#}");
    for row in v["standings"].as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        assert_eq!(row["games"], 3, "every result counted once: {v:#}");
        let won = wins.get(name).copied().unwrap_or(0);
        assert_eq!(row["wins"], won, "{name}: {v:#}");
        assert_eq!(row["score"].as_f64(), Some(won as f64), "{name}: {v:#}");
    }
}

#[tokio::test]
async fn two_nodes_racing_to_start_a_tournament_start_it_once() {
    let cluster = Cluster::start();
    let (a, b) = (
        cluster.node_with("a", &env()).await,
        cluster.node_with("b", &env()).await,
    );
    let admin = a.register("admin").await;
    let names = ["qat", "qam", "qia", "qol"];
    let mut players = Vec::new();
    for name in names {
        players.push(a.register(name).await);
    }
    let id = swiss(&a, &admin, 1, 2_000).await;
    let mut clients = Vec::new();
    for (i, player) in players.iter().enumerate() {
        let (status, v) = a
            .call(
                "POST",
                &format!("/api/tournaments/{id}/join"),
                &player.token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        // Half the players on each node.
        let node = if i % 2 == 0 { &a } else { &b };
        clients.push(node.connect(player).await);
    }
    let mut games = BTreeSet::new();
    for client in &mut clients {
        games.insert(started(client, &id).await.0);
    }
    assert_eq!(games.len(), 2, "one pairing of four players: two games");
    let v = view(&b, &id).await;
    assert_eq!(v["round"], 1, "{v:#}");
    assert_eq!(v["pairings"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(
        hosted_tournaments(&a).await + hosted_tournaments(&b).await,
        1,
        "exactly one node runs it"
    );
    // Nobody got a second game for the round from another owner.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for client in &mut clients {
        client
            .send(json!({"type": "server/WATCH_TOURNAMENT", "tournament": id}))
            .await;
        let update = client.expect("client/TOURNAMENT_UPDATE").await;
        assert_eq!(update["tournament"]["round"], 1);
        let again = client
            .seen
            .iter()
            .filter(|m| m["type"] == "client/START_GAME")
            .count();
        assert_eq!(again, 1, "one game each");
    }
}
