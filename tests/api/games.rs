//! Whole games over real sockets: each game kind to its end, clocks, draws, concede, and every
//! way a move can be refused.

use serde_json::{json, Value};

use crate::helpers::*;

async fn both_get_game_over(game: &mut Game) -> Value {
    let a = game.first.expect("client/GAME_OVER").await;
    let b = game.second.expect("client/GAME_OVER").await;
    assert_eq!(a["result"], b["result"]);
    assert_eq!(a["reason"], b["reason"]);
    a
}

#[actix_web::test]
async fn a_tictactoe_game_is_played_to_a_win() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let last = game
        .play(&[json!(0), json!(3), json!(1), json!(4), json!(2)])
        .await;
    assert_eq!(last["position"], json!(["xxx", "oo.", "..."]));
    let over = both_get_game_over(&mut game).await;
    assert_eq!(over["result"], "first");
    assert_eq!(over["reason"], "line");
    assert_eq!(over["ratingChange"], Value::Null);
}

#[actix_web::test]
async fn a_tictactoe_game_fills_the_board_to_a_draw() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    // x o x / x o o / o x x
    let moves = [0, 1, 2, 4, 3, 5, 7, 6, 8].map(|c| json!(c));
    game.play(&moves).await;
    let over = both_get_game_over(&mut game).await;
    assert_eq!(over["result"], "draw");
    assert_eq!(over["reason"], "board_full");
}

#[actix_web::test]
async fn a_connect_four_game_ends_with_four_in_a_column() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("connect4")).await;
    let last = game.play(&[0, 1, 0, 1, 0, 1, 0].map(|c| json!(c))).await;
    assert_eq!(last["position"][2], "x......");
    assert_eq!(last["position"][5], "xo.....");
    let over = both_get_game_over(&mut game).await;
    assert_eq!(over["result"], "first");
    assert_eq!(over["reason"], "line");
}

#[actix_web::test]
async fn fools_mate_ends_a_chess_game_by_checkmate() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("chess")).await;
    let last = game
        .play(&["f2f3", "e7e5", "g2g4", "d8h4"].map(|m| json!(m)))
        .await;
    assert_eq!(
        last["position"],
        "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3"
    );
    let over = both_get_game_over(&mut game).await;
    assert_eq!(over["result"], "second");
    assert_eq!(over["reason"], "checkmate");
}

#[actix_web::test]
async fn a_chess_game_ends_in_a_draw_by_threefold_repetition() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("chess")).await;
    let shuffle = [
        "g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1", "f6g8",
    ];
    game.play(&shuffle.map(|m| json!(m))).await;
    let over = both_get_game_over(&mut game).await;
    assert_eq!(over["result"], "draw");
    assert_eq!(over["reason"], "repetition");
}

#[actix_web::test]
async fn the_player_to_move_loses_when_their_flag_falls() {
    let app = spawn_app().await;
    let mut game = playing(&app, timed_queue("tictactoe", 300, 0)).await;
    let over = both_get_game_over(&mut game).await;
    assert_eq!(
        over["result"], "second",
        "first was to move and ran out of time"
    );
    assert_eq!(over["reason"], "timeout");
}

#[actix_web::test]
async fn clocks_are_charged_to_the_mover_and_get_the_increment() {
    let app = spawn_app().await;
    let mut game = playing(&app, timed_queue("connect4", 60_000, 2_000)).await;
    let after = game.play(&[json!(3)]).await;
    let first = after["clocks"]["first"].as_u64().unwrap();
    assert!(
        first > 60_000 && first <= 62_000,
        "increment added, little time used: {after}"
    );
    assert_eq!(after["clocks"]["second"], 60_000);
    assert_eq!(after["clocks"]["running"], "second");
}

#[actix_web::test]
async fn a_draw_offer_can_be_declined_then_accepted() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("chess")).await;
    let id = game.id.clone();

    game.first
        .send(json!({"type": "game/OFFER_DRAW", "game": id, "ref": "o1"}))
        .await;
    let offer = game.first.next_is("client/OFFER_DRAW").await;
    assert_eq!(
        (offer["from"].as_str(), offer["ref"].as_str()),
        (Some("first"), Some("o1"))
    );
    assert_eq!(
        game.second.next_is("client/OFFER_DRAW").await["from"],
        "first"
    );

    game.second
        .send(json!({"type": "game/DECLINE_DRAW", "game": id, "ref": "d1"}))
        .await;
    let declined = game.second.next_is("client/UPDATE_GAME").await;
    assert_eq!(
        (declined["drawOffer"].clone(), declined["ref"].clone()),
        (Value::Null, json!("d1"))
    );
    assert_eq!(
        game.first.next_is("client/UPDATE_GAME").await["drawOffer"],
        Value::Null
    );

    game.second
        .send(json!({"type": "game/DECLINE_DRAW", "game": id}))
        .await;
    game.second.expect_error("no_draw_offer").await;

    game.first
        .send(json!({"type": "game/OFFER_DRAW", "game": id}))
        .await;
    game.first.next_is("client/OFFER_DRAW").await;
    game.second.next_is("client/OFFER_DRAW").await;
    game.second
        .send(json!({"type": "game/OFFER_DRAW", "game": id, "ref": "accept"}))
        .await;
    let over = game.second.next_is("client/GAME_OVER").await;
    assert_eq!(
        (over["result"].clone(), over["reason"].clone()),
        (json!("draw"), json!("draw_agreed"))
    );
    assert_eq!(over["ref"], "accept");
    assert_eq!(
        game.first.next_is("client/GAME_OVER").await["reason"],
        "draw_agreed"
    );
}

#[actix_web::test]
async fn a_player_who_concedes_loses() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("connect4")).await;
    game.play(&[json!(3)]).await;
    game.first
        .send(json!({"type": "game/CONCEDE", "game": game.id}))
        .await;
    let over = both_get_game_over(&mut game).await;
    assert_eq!(
        (over["result"].clone(), over["reason"].clone()),
        (json!("second"), json!("resign"))
    );

    game.second
        .send(json!({"type": "game/PLAYER_MOVE", "game": game.id, "seq": 1, "move": 3}))
        .await;
    game.second.expect_error("game_over").await;
}

#[actix_web::test]
async fn a_retried_move_is_applied_once_and_acknowledged_again() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let first_ack = game.play(&[json!(4)]).await;

    let retry =
        json!({"type": "game/PLAYER_MOVE", "game": game.id, "seq": 0, "move": 4, "ref": "retry"});
    game.first.send(retry).await;
    let again = game.first.next_is("client/UPDATE_GAME").await;
    assert_eq!(again["ref"], "retry");
    for field in ["seq", "lastMove", "position", "toMove", "status"] {
        assert_eq!(again[field], first_ack[field], "{field}");
    }

    // Nothing was applied twice: the game is still at seq 1 with second to move.
    let next = game.play(&[json!(0)]).await;
    assert_eq!(next["seq"], 2);
    assert_eq!(next["position"], json!(["o..", ".x.", "..."]));
}

#[actix_web::test]
async fn a_move_with_a_stale_seq_is_refused_and_resynced() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    game.play(&[json!(4)]).await;
    let stale =
        json!({"type": "game/PLAYER_MOVE", "game": game.id, "seq": 0, "move": 0, "ref": "s"});
    game.second.send(stale).await;
    assert_eq!(game.second.expect_error("stale_seq").await["ref"], "s");
    let fresh = game.second.next_is("client/UPDATE_GAME").await;
    assert_eq!(fresh["seq"], 1);
    assert_eq!(fresh["toMove"], "second");
}

#[actix_web::test]
async fn illegal_and_out_of_turn_moves_are_refused_without_changing_the_game() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let id = game.id.clone();
    game.play(&[json!(4)]).await;

    game.first
        .send(json!({"type": "game/PLAYER_MOVE", "game": id, "seq": 1, "move": 0, "ref": "t"}))
        .await;
    assert_eq!(game.first.expect_error("not_your_turn").await["ref"], "t");

    let cases = [json!(4), json!(9), json!("x"), json!(-1)];
    for mv in cases {
        game.second
            .send(json!({"type": "game/PLAYER_MOVE", "game": id, "seq": 1, "move": mv}))
            .await;
        let err = game.second.recv().await;
        assert_eq!(err["type"], "client/ERROR", "{mv}: {err}");
        assert!(
            err["code"] == "illegal_move" || err["code"] == "invalid_field",
            "{mv}: {err}"
        );
    }
    let next = game.play(&[json!(0)]).await;
    assert_eq!(next["seq"], 2);
}

#[actix_web::test]
async fn game_messages_are_refused_before_the_start_and_from_outsiders() {
    let app = spawn_app().await;
    let (mut game, _) = matched(
        &app,
        app.guest().await,
        app.guest().await,
        queue("tictactoe"),
    )
    .await;
    let id = game.id.clone();

    game.first
        .send(json!({"type": "game/PLAYER_MOVE", "game": id, "seq": 0, "move": 4, "ref": "early"}))
        .await;
    assert_eq!(game.first.expect_error("not_started").await["ref"], "early");

    let outsider = app.guest().await;
    let mut stranger = app.connect(&outsider).await;
    stranger
        .send(json!({"type": "game/PLAYER_MOVE", "game": id, "seq": 0, "move": 4}))
        .await;
    stranger.expect_error("not_in_game").await;
    stranger
        .send(json!({"type": "game/CONCEDE", "game": "AAAAAAAA"}))
        .await;
    stranger.expect_error("no_such_game").await;
    stranger
        .send(json!({"type": "game/CONCEDE", "game": "not a game id"}))
        .await;
    stranger.expect_error("no_such_game").await;
}

#[actix_web::test]
async fn a_rated_game_changes_ratings_and_lands_in_both_histories() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let rated = json!({"game": "tictactoe", "clock": {"initialMs": 60_000, "incrementMs": 0}, "rated": true});
    let mut game = playing_between(&app, alice, bob, rated).await;
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    let over = both_get_game_over(&mut game).await;
    let change = &over["ratingChange"];
    assert_eq!(change["first"]["before"], 1500);
    assert!(change["first"]["delta"].as_i64().unwrap() > 0, "{over}");
    assert_eq!(
        change["first"]["delta"],
        -change["second"]["delta"].as_i64().unwrap()
    );

    let winner = game.first_who.name.clone();
    let expected = change["first"]["after"].clone();
    let history = poll(|| async {
        let (_, games) = app.get(&format!("/api/users/{winner}/games?limit=5")).await;
        games.as_array().filter(|g| !g.is_empty()).cloned()
    })
    .await;
    let record = &history[0];
    assert_eq!(record["game"], game.id.as_str());
    assert_eq!(record["result"], "first");
    assert_eq!(record["moves"], json!([0, 3, 1, 4, 2]));
    let (_, user) = app.get(&format!("/api/users/{winner}")).await;
    assert_eq!(user["rating"], expected);
    assert_eq!(user["gamesPlayed"], 1);
    let (_, loser_games) = app
        .get(&format!("/api/users/{}/games", game.second_who.name))
        .await;
    assert_eq!(loser_games[0]["game"], game.id.as_str());
}

#[actix_web::test]
async fn a_finished_chess_game_exports_as_pgn() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("chess")).await;
    game.play(&["f2f3", "e7e5", "g2g4", "d8h4"].map(|m| json!(m)))
        .await;
    both_get_game_over(&mut game).await;
    let id = game.id.clone();
    let pgn = poll(|| async {
        let (status, text) = app.get_text(&format!("/api/games/{id}.pgn")).await;
        (status == 200).then_some(text)
    })
    .await;
    assert!(pgn.contains("1. f3 e5 2. g4 Qh4#"), "{pgn}");
    assert!(pgn.contains("[Result \"0-1\"]"), "{pgn}");
    assert!(
        pgn.contains(&format!("[White \"{}\"]", game.first_who.name)),
        "{pgn}"
    );
    let (status, record) = app.get(&format!("/api/games/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(record["reason"], "checkmate");
}

#[actix_web::test]
async fn a_finished_games_actor_stops_once_its_result_is_recorded() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    let (_, ready) = app.get("/readyz").await;
    assert_eq!(ready["hosted"]["games"], 1, "{ready}");
    game.play(&[0, 3, 1, 4, 2].map(|c| json!(c))).await;
    both_get_game_over(&mut game).await;
    // Recorded, then stopped: nothing left hosted after a short linger.
    poll(|| async {
        let (_, ready) = app.get("/readyz").await;
        (ready["hosted"]["games"] == 0).then_some(())
    })
    .await;
    let (status, record) = app.get(&format!("/api/games/{}", game.id)).await;
    assert_eq!(status, 200, "{record}");
    // A late move still hears the game is over (its snapshot outlives the actor a while).
    game.first
        .send(json!({"type": "game/PLAYER_MOVE", "game": game.id, "seq": 5, "move": 8, "ref": "late"}))
        .await;
    let late = game.first.expect_error("game_over").await;
    assert_eq!(late["ref"], "late");
}
