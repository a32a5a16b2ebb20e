//! Spectators and chat on one node over real sockets: watching a game from its first update to
//! its end, crowd counts batched, the live-games list, every chat rule and error code, rooms
//! kept apart (players never read their watchers), a moderator's deletion and a mute, and the
//! players' chat kept with the finished game.

use serde_json::{json, Value};

use crate::helpers::*;

/// A node with a fast crowd tick (counts reach games within 50 ms); `admin` is an admin.
async fn node() -> TestApp {
    spawn_app_with(|c| {
        c.crowd_tick_ms = 50;
        c.admins = vec!["admin".into()];
    })
    .await
}

async fn watch(client: &mut Client, game: &str) -> Value {
    client
        .send(json!({"type": "server/WATCH_GAME", "game": game, "ref": "w"}))
        .await;
    let view = client.expect("client/WATCH_GAME").await;
    assert_eq!(view["ref"], "w", "{view}");
    view
}

async fn join(client: &mut Client, room: &str) -> Value {
    client
        .send(json!({"type": "server/CHAT_JOIN", "room": room, "ref": "j"}))
        .await;
    let history = client.expect("client/CHAT_HISTORY").await;
    assert_eq!(history["room"], room);
    assert_eq!(history["ref"], "j");
    history
}

/// Says `text` in `room` and returns the sender's own copy (with its ref).
async fn say(client: &mut Client, room: &str, text: &str) -> Value {
    client
        .send(json!({"type": "server/CHAT_SEND", "room": room, "text": text, "ref": "s"}))
        .await;
    let line = client
        .expect_matching("own chat line", |m| {
            m["ref"] == "s" && (m["type"] == "client/CHAT_MESSAGE" || m["type"] == "client/ERROR")
        })
        .await;
    assert_eq!(line["type"], "client/CHAT_MESSAGE", "{line}");
    line
}

/// Sends `frame` with ref "r" and expects its refusal `code`, whatever comes meanwhile (players
/// and watchers also hear `client/CROWD` as watchers come and go).
async fn refusal(client: &mut Client, mut frame: Value, code: &str) -> Value {
    frame["ref"] = json!("r");
    client.send(frame).await;
    let error = client
        .expect_matching("a refusal", |m| m["ref"] == "r")
        .await;
    assert_eq!(
        (error["type"].clone(), error["code"].clone()),
        (json!("client/ERROR"), json!(code)),
        "{error}"
    );
    error
}

/// Says `text` in `room` and expects the refusal `code`.
async fn refused(client: &mut Client, room: &str, text: &str, code: &str) -> Value {
    let frame = json!({"type": "server/CHAT_SEND", "room": room, "text": text});
    refusal(client, frame, code).await
}

/// Joins `room` and expects the refusal `code`.
async fn join_refused(client: &mut Client, room: &str, code: &str) -> Value {
    refusal(
        client,
        json!({"type": "server/CHAT_JOIN", "room": room}),
        code,
    )
    .await
}

fn chat_lines(client: &Client, room: &str) -> Vec<Value> {
    client
        .seen
        .iter()
        .filter(|m| m["type"] == "client/CHAT_MESSAGE" && m["room"] == room)
        .cloned()
        .collect()
}

#[actix_web::test]
async fn a_watcher_sees_the_game_as_no_side_then_every_update_in_order_and_the_end() {
    let app = node().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    game.play(&[json!(4)]).await;
    let mut watcher = app.connect(&app.guest().await).await;
    let view = watch(&mut watcher, &game.id).await;
    assert_eq!(view["you"], Value::Null, "a watcher has no side: {view}");
    assert_eq!(
        (view["seq"].clone(), view["status"].clone()),
        (json!(1), json!("playing"))
    );
    assert_eq!(view["moves"], json!([4]));
    assert_eq!(view["players"].as_array().unwrap().len(), 2);

    game.play(&[json!(0), json!(3), json!(1), json!(5)]).await;
    for seq in 2..=5 {
        let update = watcher.expect("client/UPDATE_GAME").await;
        assert_eq!(update["seq"], seq, "in order: {update}");
        assert!(
            update.get("ref").is_none(),
            "the mover's ref is the mover's: {update}"
        );
    }
    let over = watcher.expect("client/GAME_OVER").await;
    assert_eq!(
        (over["result"].clone(), over["reason"].clone()),
        (json!("first"), json!("line"))
    );

    // The game is over: the session no longer watches it.
    watcher
        .send(json!({"type": "server/UNWATCH_GAME", "game": game.id, "ref": "u"}))
        .await;
    let unwatched = watcher.expect("client/UNWATCHED").await;
    assert_eq!(
        (unwatched["game"].clone(), unwatched["ref"].clone()),
        (json!(game.id), json!("u"))
    );
    let updates = watcher
        .seen
        .iter()
        .filter(|m| m["type"] == "client/UPDATE_GAME")
        .count();
    assert_eq!(updates, 4, "no update twice: {:#?}", watcher.seen);
}

#[actix_web::test]
async fn watching_an_unknown_game_and_unwatching_answer_as_the_contract_says() {
    let app = node().await;
    let mut watcher = app.connect(&app.guest().await).await;
    watcher
        .send(json!({"type": "server/WATCH_GAME", "game": "nosuchgm", "ref": "a"}))
        .await;
    assert_eq!(watcher.expect_error("no_such_game").await["ref"], "a");
    watcher
        .send(json!({"type": "server/WATCH_GAME", "game": "not a game id!", "ref": "b"}))
        .await;
    assert_eq!(watcher.expect_error("no_such_game").await["ref"], "b");
    let mut anonymous = app.connect_raw("/ws").await;
    anonymous
        .send(json!({"type": "server/WATCH_GAME", "game": "nosuchgm"}))
        .await;
    anonymous.expect_error("unauthenticated").await;
}

#[actix_web::test]
async fn a_resumed_session_watches_its_games_again() {
    let app = node().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let who = app.guest().await;
    let mut watcher = app.connect(&who).await;
    watch(&mut watcher, &game.id).await;
    watcher.close().await;
    game.play(&[json!(4)]).await;
    let mut back = app.connect(&who).await;
    let view = back.expect("client/WATCH_GAME").await;
    assert_eq!(
        (view["seq"].clone(), view["you"].clone()),
        (json!(1), Value::Null)
    );
    game.play(&[json!(0)]).await;
    assert_eq!(back.expect("client/UPDATE_GAME").await["seq"], 2);
}

#[actix_web::test]
async fn fifty_watchers_joining_at_once_make_at_most_two_crowd_frames_per_player() {
    // The default tick: each node reports its count at most once a second.
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let mut watchers = Vec::new();
    for _ in 0..50 {
        let client = app.connect(&app.guest().await).await;
        watchers.push(client);
    }
    for watcher in &mut watchers {
        watcher
            .send(json!({"type": "server/WATCH_GAME", "game": game.id}))
            .await;
    }
    for player in [&mut game.first, &mut game.second] {
        player
            .expect_matching("a crowd of 50", |m| {
                m["type"] == "client/CROWD" && m["watchers"] == 50
            })
            .await;
        let crowds: Vec<&Value> = player
            .seen
            .iter()
            .filter(|m| m["type"] == "client/CROWD")
            .collect();
        assert!(crowds.len() <= 2, "batched: {crowds:#?}");
        assert!(crowds.iter().all(|c| c["game"] == json!(game.id)));
    }
    let last = watchers.last_mut().unwrap();
    last.expect_matching("the crowd, for a watcher too", |m| {
        m["type"] == "client/CROWD" && m["watchers"] == 50
    })
    .await;
    // Leaving counts too.
    for watcher in watchers.drain(..40) {
        watcher.close().await;
    }
    game.first
        .expect_matching("a crowd of 10", |m| {
            m["type"] == "client/CROWD" && m["watchers"] == 10
        })
        .await;
}

#[actix_web::test]
async fn the_live_list_has_games_in_play_most_watched_first() {
    let app = node().await;
    let quiet = playing(&app, queue("tictactoe")).await;
    let watched = playing(&app, queue("connect4")).await;
    let mut watcher = app.connect(&app.guest().await).await;
    watch(&mut watcher, &watched.id).await;
    let list = poll(|| async {
        let (status, list) = app.get("/api/games/live").await;
        assert_eq!(status, 200, "{list}");
        let games = list["games"].as_array().unwrap().clone();
        (games.len() == 2 && games[0]["watchers"] == 1).then_some(games)
    })
    .await;
    assert_eq!(list[0]["game"], json!(watched.id));
    assert_eq!(list[0]["kind"], "connect4");
    assert_eq!(list[1]["game"], json!(quiet.id));
    for entry in &list {
        for field in [
            "players",
            "seq",
            "startedAt",
            "watchers",
            "rated",
            "tournament",
        ] {
            assert!(entry.get(field).is_some(), "{field} in {entry}");
        }
    }
    let (_, only) = app.get("/api/games/live?game=tictactoe&limit=5").await;
    assert_eq!(only["games"].as_array().unwrap().len(), 1);
    assert_eq!(only["games"][0]["game"], json!(quiet.id));
    let (_, none) = app.get("/api/games/live?game=chess").await;
    assert_eq!(none["games"], json!([]));
    for bad in [
        "/api/games/live?game=go",
        "/api/games/live?limit=0",
        "/api/games/live?limit=x",
    ] {
        let (status, body) = app.get(bad).await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!("invalid_field")),
            "{bad}: {body}"
        );
    }
    // A finished game leaves the list.
    let mut quiet = quiet;
    quiet.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    poll(|| async {
        let (_, list) = app.get("/api/games/live").await;
        (list["games"].as_array().unwrap().len() == 1).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn chat_text_rules_membership_and_history() {
    let app = node().await;
    let mut ann = app.connect(&app.register("ann").await).await;
    let mut ben = app.connect(&app.register("ben").await).await;
    refused(&mut ann, "lobby", "hi", "forbidden").await;
    assert_eq!(join(&mut ann, "lobby").await["messages"], json!([]));
    join(&mut ben, "lobby").await;

    let own = say(&mut ann, "lobby", "  hello  ").await;
    assert_eq!(
        (
            own["from"].clone(),
            own["text"].clone(),
            own["room"].clone()
        ),
        (json!("ann"), json!("hello"), json!("lobby"))
    );
    assert!(own["id"].is_string() && own["at"].is_u64(), "{own}");
    let heard = ben.expect("client/CHAT_MESSAGE").await;
    assert_eq!(heard["id"], own["id"]);
    assert!(heard.get("ref").is_none());

    refused(&mut ann, "lobby", " \t ", "invalid_field").await;
    refused(&mut ann, "lobby", "two\nlines", "invalid_field").await;
    refused(&mut ann, "lobby", "bell\u{7}", "invalid_field").await;
    refused(&mut ann, "lobby", &"x".repeat(501), "invalid_field").await;
    refused(&mut ann, "hall", "hi", "invalid_field").await;
    refused(&mut ann, "game:nosuchgm", "hi", "forbidden").await;
    // NFC: a decomposed é is kept composed, and 500 of them fit.
    let composed = say(&mut ann, "lobby", &"e\u{301}".repeat(500)).await;
    assert_eq!(composed["text"], json!("\u{e9}".repeat(500)));

    // A near-repeat of one of the last two.
    refused(&mut ann, "lobby", "HELLO!", "chat_flood").await;
    // Flood: the 6th accepted message within 10 s (2 so far).
    for text in ["three", "four", "five"] {
        say(&mut ann, "lobby", text).await;
    }
    refused(&mut ann, "lobby", "six", "chat_flood").await;

    // Only the sender's own copy: one each, nothing twice.
    let mine = chat_lines(&ann, "lobby");
    let mut ids: Vec<&Value> = mine.iter().map(|l| &l["id"]).collect();
    ids.dedup();
    assert_eq!(ids.len(), mine.len(), "{mine:#?}");

    // History: the last 50, oldest first, from many senders.
    for n in 0..10 {
        let mut c = app.connect(&app.guest().await).await;
        join(&mut c, "lobby").await;
        for k in 0..5 {
            say(&mut c, "lobby", &format!("{n}-{k}")).await;
        }
    }
    ann.send(json!({"type": "server/CHAT_LEAVE", "room": "lobby"}))
        .await;
    let history = join(&mut ann, "lobby").await["messages"].clone();
    let texts: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 50);
    assert_eq!(texts.last(), Some(&"9-4"));
    assert_eq!(
        texts.first(),
        Some(&"0-0"),
        "the 5 oldest are gone: {texts:?}"
    );
}

#[actix_web::test]
async fn players_and_watchers_chat_apart() {
    let app = node().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let room = format!("game:{}", game.id);
    let watchers_room = format!("watchers:{}", game.id);
    let mut w1 = app.connect(&app.guest().await).await;
    let mut w2 = app.connect(&app.guest().await).await;
    // Watchers need to watch first; players may never read their watchers while they play.
    join_refused(&mut w1, &watchers_room, "forbidden").await;
    for w in [&mut w1, &mut w2] {
        watch(w, &game.id).await;
        join(w, &watchers_room).await;
    }
    join_refused(&mut game.first, &watchers_room, "forbidden").await;
    join_refused(&mut w1, &room, "forbidden").await;
    refused(&mut w1, &room, "let me in", "forbidden").await;

    // Players are in their game's room without joining.
    let said = say(&mut game.first, &room, "good luck").await;
    let heard = game.second.expect("client/CHAT_MESSAGE").await;
    assert_eq!(
        (heard["id"].clone(), heard["room"].clone()),
        (said["id"].clone(), json!(room))
    );
    assert_eq!(
        join(&mut game.second, &room).await["messages"][0]["text"],
        "good luck"
    );

    let whisper = say(&mut w1, &watchers_room, "x is winning").await;
    assert_eq!(w2.expect("client/CHAT_MESSAGE").await["id"], whisper["id"]);
    // Ordered after the whisper on the node: the players' next frames show no watcher chat.
    game.play(&[json!(4)]).await;
    say(&mut game.second, &room, "nice move").await;
    game.first.expect("client/CHAT_MESSAGE").await;
    for player in [&game.first, &game.second] {
        assert!(
            chat_lines(player, &watchers_room).is_empty(),
            "{:#?}",
            player.seen
        );
    }
    for w in [&w1, &w2] {
        assert!(chat_lines(w, &room).is_empty(), "{:#?}", w.seen);
    }
}

#[actix_web::test]
async fn a_moderator_deletes_a_line_for_everyone_and_a_muted_user_is_refused() {
    let app = node().await;
    let admin = app.register("admin").await;
    let mut moderator = app.connect(&admin).await;
    let troll = app.register("troll").await;
    let mut loud = app.connect(&troll).await;
    let mut reader = app.connect(&app.guest().await).await;
    for c in [&mut moderator, &mut loud, &mut reader] {
        join(c, "lobby").await;
    }
    let line = say(&mut loud, "lobby", "buy gold").await;
    reader.expect("client/CHAT_MESSAGE").await;
    let id = line["id"].clone();

    // Not a moderator: refused and audited.
    reader
        .send(json!({"type": "server/CHAT_DELETE", "room": "lobby", "id": id, "ref": "d"}))
        .await;
    assert_eq!(reader.expect_error("forbidden").await["ref"], "d");

    moderator
        .send(json!({"type": "server/CHAT_DELETE", "room": "lobby", "id": id, "ref": "d"}))
        .await;
    let deleted = moderator.expect("client/CHAT_DELETED").await;
    assert_eq!(
        (deleted["id"].clone(), deleted["ref"].clone()),
        (id.clone(), json!("d"))
    );
    for c in [&mut loud, &mut reader] {
        let gone = c.expect("client/CHAT_DELETED").await;
        assert_eq!(
            (gone["room"].clone(), gone["id"].clone()),
            (json!("lobby"), id.clone())
        );
    }
    let deletions = moderator
        .seen
        .iter()
        .filter(|m| m["type"] == "client/CHAT_DELETED")
        .count();
    assert_eq!(deletions, 1, "the moderator's copy once");
    let mut late = app.connect(&app.guest().await).await;
    assert_eq!(join(&mut late, "lobby").await["messages"], json!([]));
    moderator
        .send(json!({"type": "server/CHAT_DELETE", "room": "lobby", "id": id, "ref": "again"}))
        .await;
    moderator.expect_error("not_found").await;

    let audit = poll(|| async {
        let (_, page) = app
            .call(
                "GET",
                "/api/admin/audit?type=chat_deleted",
                Some(&admin.token),
                None,
            )
            .await;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        (events.len() >= 2).then_some(events)
    })
    .await;
    let done = audit
        .iter()
        .find(|e| e["outcome"] == "ok")
        .expect("the deletion");
    assert_eq!(
        (done["actor"].clone(), done["target"].clone()),
        (json!("admin"), json!("troll"))
    );
    assert!(
        audit.iter().any(|e| e["outcome"] == "refused"),
        "{audit:#?}"
    );

    let (status, _) = app
        .call(
            "POST",
            "/api/admin/users/troll/mute",
            Some(&admin.token),
            Some(json!({"reason": "spam", "durationMs": 600_000})),
        )
        .await;
    assert_eq!(status, 200);
    let muted = refused(&mut loud, "lobby", "still here", "muted").await;
    assert!(muted["until"].as_u64().unwrap() > now(), "{muted}");
}

#[actix_web::test]
async fn a_finished_games_record_keeps_its_players_chat() {
    let app = node().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let room = format!("game:{}", game.id);
    say(&mut game.first, &room, "have fun").await;
    say(&mut game.second, &room, "you too").await;
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    let record = poll(|| async {
        let (status, record) = app.get(&format!("/api/games/{}", game.id)).await;
        (status == 200).then_some(record)
    })
    .await;
    let chat = record["chat"].as_array().expect("chat in the record");
    let texts: Vec<&Value> = chat.iter().map(|l| &l["text"]).collect();
    assert_eq!(texts, [&json!("have fun"), &json!("you too")], "{record:#}");
    assert_eq!(chat[0]["room"], json!(room));
    // The game's room closed with it.
    refused(&mut game.first, &room, "gg", "forbidden").await;
}

#[actix_web::test]
async fn a_game_that_ended_while_its_watcher_was_away_is_watched_no_more() {
    let app = node().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let who = app.guest().await;
    let mut watcher = app.connect(&who).await;
    watch(&mut watcher, &game.id).await;
    watcher.close().await;
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    game.first.expect("client/GAME_OVER").await;
    let mut back = app.connect(&who).await;
    // Told once, then nothing more about the game: the next frame answers a message sent now.
    let unwatched = back.next_is("client/UNWATCHED").await;
    assert_eq!(unwatched["game"], json!(game.id));
    back.send(json!({"type": "server/CHAT_JOIN", "room": "lobby", "ref": "j"}))
        .await;
    let next = back.recv().await;
    assert_eq!(next["type"], "client/CHAT_HISTORY", "{next}");
}
