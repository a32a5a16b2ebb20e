//! Tournaments end to end on one node, over real sockets: a 5-player 3-round swiss (a bye
//! each round, a withdrawal, an admin's add and remove) checked pairing by pairing and point
//! by point; an arena with a streak; the contract's error codes; the socket messages
//! (`JOIN_TOURNAMENT`, `WATCH_TOURNAMENT`) and `in_tournament_game`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::helpers::*;

/// A node where `admin` is an admin, with a fast tournament clock and a ready timeout of
/// `ready_ms`.
async fn node_with(ready_ms: u64) -> TestApp {
    spawn_app_with(move |c| {
        c.admins = vec!["admin".into()];
        c.tournament_tick_ms = 50;
        c.ready_timeout_ms = ready_ms;
    })
    .await
}

async fn node() -> TestApp {
    node_with(10_000).await
}

async fn create(app: &TestApp, admin: &Identity, body: Value) -> Value {
    let (status, view) = app
        .call("POST", "/api/tournaments", Some(&admin.token), Some(body))
        .await;
    assert_eq!(status, 201, "{view}");
    view
}

fn ttt(format: &str, starts_in_ms: u64) -> Value {
    let mut body = json!({
        "name": "Friday Blitz", "format": format, "game": "tictactoe", "clock": null,
        "rated": false, "startsAt": now() + starts_in_ms,
    });
    match format {
        "swiss" => body["rounds"] = json!(3),
        _ => body["durationMs"] = json!(6_000),
    }
    body
}

async fn view(app: &TestApp, id: &str) -> Value {
    let (status, view) = app.get(&format!("/api/tournaments/{id}")).await;
    assert_eq!(status, 200, "{view}");
    view
}

/// Waits (polling the view) until `done` holds.
async fn until(app: &TestApp, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let v = view(app, id).await;
        if done(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what} within {WAIT:?}: {v:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn standing<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["standings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the standings: {view:#}"))
}

/// Plays the game `start` announced to `first` and `second` (by side) so that `winner` wins.
async fn play(first: &mut Client, second: &mut Client, game: &str, winner_first: bool) {
    for c in [&mut *first, &mut *second] {
        c.send(json!({"type": "game/PLAYER_READY", "game": game}))
            .await;
    }
    for c in [&mut *first, &mut *second] {
        c.expect_matching("the game's start", |m| {
            m["type"] == "client/UPDATE_GAME" && m["game"] == game && m["status"] == "playing"
        })
        .await;
    }
    // First wins with 0 1 2 against 3 4; second wins with 3 4 5 against 0 1 8.
    let script: &[(bool, u32)] = if winner_first {
        &[(true, 0), (false, 3), (true, 1), (false, 4), (true, 2)]
    } else {
        &[
            (true, 0),
            (false, 3),
            (true, 1),
            (false, 4),
            (true, 8),
            (false, 5),
        ]
    };
    for (seq, (is_first, cell)) in script.iter().enumerate() {
        let mover = if *is_first { &mut *first } else { &mut *second };
        mover
            .send(json!({"type": "game/PLAYER_MOVE", "game": game, "seq": seq, "move": cell}))
            .await;
        mover
            .expect_matching("the move's update", |m| {
                m["type"] == "client/UPDATE_GAME" && m["game"] == game && m["seq"] == seq + 1
            })
            .await;
    }
    for c in [&mut *first, &mut *second] {
        c.expect_matching("the game over", |m| {
            m["type"] == "client/GAME_OVER" && m["game"] == game
        })
        .await;
    }
}

/// Plays every game of the view's current round; `first_wins` decides each result by the
/// first player's name. Returns the pairings played as (first, second).
async fn play_round(
    clients: &mut BTreeMap<String, Client>,
    view: &Value,
    tournament: &str,
    first_wins: impl Fn(&str, &str) -> bool,
) -> Vec<(String, String)> {
    let round = view["round"].clone();
    let mut played = Vec::new();
    for pairing in view["pairings"].as_array().unwrap() {
        assert_eq!(pairing["round"], round);
        let (a, b) = (
            pairing["first"].as_str().unwrap().to_owned(),
            pairing["second"].as_str().unwrap().to_owned(),
        );
        let game = pairing["game"].as_str().unwrap().to_owned();
        let mut first = clients.remove(&a).unwrap();
        let mut second = clients.remove(&b).unwrap();
        assert_eq!(
            started(&mut first, tournament).await,
            (game.clone(), "first".into())
        );
        assert_eq!(
            started(&mut second, tournament).await,
            (game.clone(), "second".into())
        );
        play(&mut first, &mut second, &game, first_wins(&a, &b)).await;
        clients.insert(a.clone(), first);
        clients.insert(b.clone(), second);
        played.push((a, b));
    }
    played
}

#[actix_web::test]
async fn a_five_player_swiss_pairs_each_round_counts_every_point_and_breaks_ties() {
    let app = node().await;
    let admin = app.register("admin").await;
    let names = ["ana", "ben", "cai", "dee", "eve"];
    let mut ids = BTreeMap::new();
    let mut clients = BTreeMap::new();
    for name in names {
        let who = app.register(name).await;
        clients.insert(name.to_owned(), app.connect(&who).await);
        ids.insert(name, who);
    }
    let noshow = app.register("noshow").await;
    let t = create(&app, &admin, ttt("swiss", 1_500)).await;
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            t["status"].clone(),
            t["round"].clone(),
            t["players"].clone()
        ),
        (json!("created"), json!(0), json!(0))
    );
    // Four register themselves (one over the socket), the admin adds eve (who is not
    // watching her socket) and a no-show, then removes the no-show.
    for name in ["ana", "ben", "cai"] {
        let (status, v) = app
            .call(
                "POST",
                &format!("/api/tournaments/{id}/join"),
                Some(&ids[name].token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let dee = clients.get_mut("dee").unwrap();
    dee.send(json!({"type": "server/JOIN_TOURNAMENT", "tournament": id, "ref": "j1"}))
        .await;
    let joined = dee.expect("client/TOURNAMENT_JOINED").await;
    assert_eq!(
        (joined["tournament"].as_str(), joined["ref"].as_str()),
        (Some(id.as_str()), Some("j1"))
    );
    for name in ["eve", "noshow"] {
        let (status, v) = app
            .call(
                "POST",
                &format!("/api/tournaments/{id}/registrations"),
                Some(&admin.token),
                Some(json!({"username": name})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    // eve's open socket hears of it, and from then on follows the tournament.
    let eve = clients.get_mut("eve").unwrap();
    let joined = eve.expect("client/TOURNAMENT_JOINED").await;
    assert_eq!(joined["tournament"].as_str(), Some(id.as_str()));
    let (status, v) = app
        .call(
            "DELETE",
            &format!("/api/tournaments/{id}/registrations/noshow"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, list) = app
        .call(
            "GET",
            &format!("/api/tournaments/{id}/registrations"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let by: Vec<(String, String)> = list["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["by"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("ana", "ana"),
            ("ben", "ben"),
            ("cai", "cai"),
            ("dee", "dee"),
            ("eve", "admin")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let (status, _) = app
        .call(
            "GET",
            &format!("/api/tournaments/{id}/registrations"),
            Some(&ids["ana"].token),
            None,
        )
        .await;
    assert_eq!(status, 403, "players never see who registered whom");
    // The no-show was told both times.
    let (_, inbox) = app
        .call("GET", "/api/me/notifications", Some(&noshow.token), None)
        .await;
    let kinds: Vec<&str> = inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["registration_changed", "registration_changed"]);

    // Every round: no repeat, one bye to someone who had none; the lower name wins.
    let mut met = BTreeSet::new();
    let mut byes = BTreeSet::new();
    let mut expected_points: BTreeMap<String, f64> = BTreeMap::new();
    let mut withdrawn = false;
    for round in 1..=3 {
        let v = until(&app, &id, "the round's pairings", |v| {
            v["round"] == round && v["status"] == "started"
        })
        .await;
        let playing: BTreeSet<String> = v["pairings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| {
                [
                    p["first"].as_str().unwrap().to_owned(),
                    p["second"].as_str().unwrap().to_owned(),
                ]
            })
            .collect();
        let active: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !(withdrawn && *n == "cai"))
            .collect();
        assert_eq!(playing.len(), active.len() / 2 * 2, "round {round}: {v:#}");
        let sitting: Vec<&str> = active
            .iter()
            .copied()
            .filter(|n| !playing.contains(*n))
            .collect();
        if active.len() % 2 == 1 {
            assert_eq!(sitting.len(), 1, "round {round}: one bye: {v:#}");
            assert!(
                byes.insert(sitting[0].to_owned()),
                "a second bye for {}",
                sitting[0]
            );
            *expected_points.entry(sitting[0].to_owned()).or_default() += 1.0;
        }
        let played = play_round(&mut clients, &v, &id, |a, b| a < b).await;
        for (a, b) in played {
            let pair = if a < b {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            };
            assert!(
                met.insert(pair.clone()),
                "round {round}: {pair:?} met before"
            );
            *expected_points.entry(a.min(b)).or_default() += 1.0;
        }
        if round == 1 {
            // cai withdraws after round 1: no further pairings, the played game stays.
            let (status, v) = app
                .call(
                    "POST",
                    &format!("/api/tournaments/{id}/withdraw"),
                    Some(&ids["cai"].token),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{v}");
            withdrawn = true;
        }
    }
    let v = until(&app, &id, "the end", |v| v["status"] == "finished").await;
    for (name, points) in &expected_points {
        let row = standing(&v, name);
        assert_eq!(row["score"].as_f64(), Some(*points), "{name}: {v:#}");
        let games = row["games"].as_u64().unwrap();
        let sum = ["wins", "draws", "losses"]
            .iter()
            .map(|k| row[*k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(sum, games, "{name}: wins + draws + losses = games");
        assert_eq!(
            row["tieBreak"].as_array().unwrap().len(),
            2,
            "swiss: [buchholz, sonnebornBerger]"
        );
    }
    // Buchholz is the sum of the opponents' scores, ranks follow score then tie-breaks.
    let rows = v["standings"].as_array().unwrap();
    for pair in rows.windows(2) {
        let key = |r: &Value| {
            (
                r["score"].as_f64().unwrap(),
                r["tieBreak"][0].as_f64().unwrap(),
                r["tieBreak"][1].as_f64().unwrap(),
            )
        };
        assert!(key(&pair[0]) >= key(&pair[1]), "ranked: {v:#}");
    }
    assert!(standing(&v, "cai")["withdrawn"].as_bool().unwrap());
    // Closed once started (checked on a finished one: closed too).
    let (status, e) = app
        .call(
            "POST",
            &format!("/api/tournaments/{id}/join"),
            Some(&noshow.token),
            None,
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("tournament_closed"))
    );
    app.stop().await;
}

#[actix_web::test]
async fn an_arena_pairs_again_at_once_and_scores_a_streak() {
    let app = node_with(1_000).await;
    let admin = app.register("admin").await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let t = create(&app, &admin, ttt("arena", 300)).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let mut ca = app.connect(&a).await;
    let mut cb = app.connect(&b).await;
    for c in [&mut ca, &mut cb] {
        c.send(json!({"type": "server/JOIN_TOURNAMENT", "tournament": id}))
            .await;
        c.expect("client/TOURNAMENT_JOINED").await;
    }
    // A watcher gets the view at once, then the updates.
    let watcher = app.guest().await;
    let mut cw = app.connect(&watcher).await;
    cw.send(json!({"type": "server/WATCH_TOURNAMENT", "tournament": id}))
        .await;
    let first = cw.expect("client/TOURNAMENT_UPDATE").await;
    assert_eq!(first["tournament"]["id"], id.as_str());
    // alice wins three in a row (2 + 2 + 4): she is on a streak.
    for _ in 0..3 {
        let (game, side) = started(&mut ca, &id).await;
        let (game_b, _) = started(&mut cb, &id).await;
        assert_eq!(game, game_b);
        let alice_first = side == "first";
        if alice_first {
            play(&mut ca, &mut cb, &game, true).await;
        } else {
            play(&mut cb, &mut ca, &game, false).await;
        }
    }
    // The players follow the tournament on their sockets as well as the watcher.
    for c in [&mut ca, &mut cb] {
        let update = c.expect("client/TOURNAMENT_UPDATE").await;
        assert_eq!(update["tournament"]["id"], id.as_str());
    }
    let v = until(&app, &id, "three results", |v| {
        standing(v, "alice")["wins"] == 3
    })
    .await;
    let alice = standing(&v, "alice");
    assert_eq!(alice["score"].as_f64(), Some(8.0), "{v:#}");
    assert_eq!(alice["streak"], true);
    assert_eq!(alice["tieBreak"], json!([]));
    // The two keep being paired until the end; a game never readied is lost by abandonment,
    // and the arena ends once its last game has.
    let v = until(&app, &id, "the end", |v| v["status"] == "finished").await;
    assert!(v["pairings"].as_array().unwrap().is_empty(), "{v:#}");
    let updates = cw
        .expect_matching("the final update", |m| {
            m["type"] == "client/TOURNAMENT_UPDATE" && m["tournament"]["status"] == "finished"
        })
        .await;
    assert_eq!(updates["tournament"]["id"], id.as_str());
    app.stop().await;
}

#[actix_web::test]
async fn tournament_routes_answer_the_contracts_codes() {
    let app = node().await;
    let admin = app.register("admin").await;
    let player = app.register("player").await;
    let guest = app.guest().await;
    // Authentication before authorization before lookup.
    let (status, _) = app
        .call("POST", "/api/tournaments/nope/join", None, None)
        .await;
    assert_eq!(status, 401);
    let (status, e) = app
        .call(
            "POST",
            "/api/tournaments",
            Some(&player.token),
            Some(ttt("swiss", 60_000)),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (403, Some("forbidden")));
    let (status, e) = app
        .call(
            "POST",
            "/api/tournaments/AAAAAAAA/join",
            Some(&player.token),
            None,
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (404, Some("not_found")));
    // A create body says what is wrong.
    let mut bad = ttt("swiss", 60_000);
    bad["rounds"] = json!(21);
    let (status, e) = app
        .call("POST", "/api/tournaments", Some(&admin.token), Some(bad))
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("invalid_field")),
        "{e}"
    );
    let mut bad = ttt("arena", 60_000);
    bad["rounds"] = json!(3);
    let (status, _) = app
        .call("POST", "/api/tournaments", Some(&admin.token), Some(bad))
        .await;
    assert_eq!(status, 400);
    // Guests only in unrated tournaments; full is 409.
    let mut rated = ttt("swiss", 60_000);
    rated["rated"] = json!(true);
    rated["maxPlayers"] = json!(2);
    let t = create(&app, &admin, rated).await;
    let id = t["id"].as_str().unwrap();
    let (status, e) = app
        .call(
            "POST",
            &format!("/api/tournaments/{id}/join"),
            Some(&guest.token),
            None,
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (403, Some("forbidden")));
    for who in [&player, &admin] {
        let (status, v) = app
            .call(
                "POST",
                &format!("/api/tournaments/{id}/join"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let third = app.register("third").await;
    let (status, e) = app
        .call(
            "POST",
            &format!("/api/tournaments/{id}/join"),
            Some(&third.token),
            None,
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (409, Some("tournament_full")));
    // Listed by status; cancelled by an admin, then closed.
    let (status, list) = app.get("/api/tournaments?status=created").await;
    assert_eq!(status, 200);
    assert!(list["tournaments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id));
    let (status, _) = app.get("/api/tournaments?status=bogus").await;
    assert_eq!(status, 400);
    let (status, v) = app
        .call(
            "POST",
            &format!("/api/tournaments/{id}/cancel"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("cancelled")),
        "{v}"
    );
    let (status, e) = app
        .call(
            "POST",
            &format!("/api/tournaments/{id}/withdraw"),
            Some(&player.token),
            None,
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("tournament_closed"))
    );
    let (_, audit) = app
        .call(
            "GET",
            "/api/admin/audit?type=tournament_cancelled",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(audit["events"][0]["actor"], "admin", "{audit}");
    app.stop().await;
}

#[actix_web::test]
async fn a_player_in_a_tournament_game_cannot_queue_and_an_absent_one_loses() {
    let app = node_with(1_000).await;
    let admin = app.register("admin").await;
    let here = app.register("here").await;
    let away = app.register("away").await;
    let t = create(&app, &admin, ttt("swiss", 300)).await;
    let id = t["id"].as_str().unwrap().to_owned();
    for who in [&here, &away] {
        let (status, v) = app
            .call(
                "POST",
                &format!("/api/tournaments/{id}/join"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let mut c = app.connect(&here).await;
    let (game, _) = started(&mut c, &id).await;
    c.send(json!({"type": "server/START_MATCHMAKING", "queue": {"game": "tictactoe", "clock": null, "rated": false}}))
        .await;
    let refused = c
        .expect_matching("the refusal", |m| m["type"] == "client/ERROR")
        .await;
    assert_eq!(refused["code"], "in_tournament_game", "{refused}");
    c.send(json!({"type": "game/PLAYER_READY", "game": game}))
        .await;
    let over = c
        .expect_matching("the game over", |m| m["type"] == "client/GAME_OVER")
        .await;
    assert_eq!(over["reason"], "abandoned", "{over}");
    let v = until(&app, &id, "the result", |v| {
        standing(v, "here")["wins"] == 1
    })
    .await;
    assert_eq!(standing(&v, "away")["losses"], 1, "{v:#}");
    app.stop().await;
}
