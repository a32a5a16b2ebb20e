//! Anti-cheat end to end on one node: a rated game ends, the anti-cheat listener puts an
//! analysis job, a worker analyses it (tic-tac-toe against the solved game), and a moderator
//! reads the result; pending or unknown analyses are 404, players cannot read them.

use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn a_rated_game_is_analysed_after_it_ends_and_moderators_read_it() {
    let app = spawn_app_with(|c| c.admins = vec!["admin".into()]).await;
    let admin = app.register("admin").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let rated = json!({"game": "tictactoe", "clock": null, "rated": true});
    let mut game = playing_between(&app, alice.clone(), bob.clone(), rated).await;
    let id = game.id.clone();
    // Both sides keep the draw with every move: the solved game calls each one perfect.
    let moves: Vec<Value> = [4, 0, 2, 6, 3, 5, 7, 1, 8]
        .into_iter()
        .map(|c| json!(c))
        .collect();
    game.play(&moves).await;
    game.first.expect("client/GAME_OVER").await;

    let path = format!("/api/admin/games/{id}/analysis");
    let (status, body) = app.call("GET", &path, Some(&alice.token), None).await;
    assert_eq!((status, body["code"].clone()), (403, json!("forbidden")));
    let analysis = poll(|| async {
        let (status, body) = app.call("GET", &path, Some(&admin.token), None).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(analysis["game"], id.as_str());
    assert_eq!(analysis["engine"], "solved");
    let players = analysis["players"].as_array().unwrap();
    assert_eq!(players.len(), 2);
    for (player, moves) in players.iter().zip([5, 4]) {
        assert_eq!(player["moves"], moves, "{player}");
        assert_eq!(player["perfectMoves"], moves, "{player}");
        assert_eq!(player["accuracy"], 100.0, "{player}");
        assert!(player["moveTimeSpreadMs"].as_f64().is_some(), "{player}");
        assert!(player["suspicion"].as_f64().is_some(), "{player}");
    }
    let names: Vec<&str> = players
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{names:?}"
    );

    let (status, body) = app
        .call(
            "GET",
            "/api/admin/games/nosuchgame/analysis",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));
    let (status, body) = app
        .call("GET", "/api/admin/reports", Some(&admin.token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["reports"],
        json!([]),
        "one tic-tac-toe game flags nobody"
    );
}
