//! The account/game store contract: unique names, finished games recorded once (ratings
//! counted once), newest-first history.

use std::sync::Arc;

use client_protocol::http::{GameRecord, GameRecordPlayer};
use client_protocol::*;
use rookery::domain::UserId;
use rookery::store::sqlite::SqliteStore;
use rookery::store::{FinishedGame, NewUser, RatingUpdate, Store, StoreError};

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        name: name.to_owned(),
        name_key: name.to_ascii_lowercase(),
        password_hash: Some("$argon2id$fake".to_owned()),
        guest: false,
        created_at: 1,
    }
}

fn finished(id: &str, users: [&UserId; 2], ended_at: u64, delta: f64) -> FinishedGame {
    let player = |user: &UserId, side| GameRecordPlayer {
        user_id: user.to_string(),
        name: "n".into(),
        side,
        rating: 1500,
        rating_change: None,
    };
    FinishedGame {
        record: GameRecord {
            game: id.to_owned(),
            kind: GameKind::TicTacToe,
            rated: true,
            clock: None,
            players: vec![
                player(users[0], Side::First),
                player(users[1], Side::Second),
            ],
            moves: vec![Move::Index(4)],
            result: GameResult::First,
            reason: EndReason::Resign,
            clocks: Clocks {
                first: 0,
                second: 0,
                running: None,
            },
            final_position: Position::Rows(vec!["...".into(), ".x.".into(), "...".into()]),
            started_at: ended_at - 10,
            ended_at,
        },
        user_ids: [users[0].clone(), users[1].clone()],
        ratings: vec![
            RatingUpdate {
                user_id: users[0].clone(),
                rating_delta: delta,
                deviation: 300.0,
                volatility: 0.06,
            },
            RatingUpdate {
                user_id: users[1].clone(),
                rating_delta: -delta,
                deviation: 300.0,
                volatility: 0.06,
            },
        ],
    }
}

pub async fn contract(store: Arc<dyn Store>, ns: &str) {
    store.ping().await.expect("reachable");
    let alice = store
        .create_user(new_user(&format!("{ns}Alice")))
        .await
        .unwrap();
    let clash = store.create_user(new_user(&format!("{ns}ALICE"))).await;
    assert!(
        matches!(clash, Err(StoreError::UsernameTaken)),
        "names are unique regardless of case"
    );
    let bob = store
        .create_user(new_user(&format!("{ns}Bob")))
        .await
        .unwrap();

    let (found, hash) = store
        .user_by_name(&format!("{ns}alice").to_ascii_lowercase())
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        (found.id.clone(), hash.as_deref()),
        (alice.id.clone(), Some("$argon2id$fake"))
    );
    assert_eq!(
        store.user_by_id(&bob.id).await.unwrap().unwrap().name,
        format!("{ns}Bob")
    );
    assert!(store.user_by_name("nobody-here").await.unwrap().is_none());

    let older = finished(&format!("{ns}g1"), [&alice.id, &bob.id], 1_000, 10.0);
    store.record_game(&older).await.unwrap();
    store
        .record_game(&older)
        .await
        .expect("a second delivery is harmless");
    let newer = finished(&format!("{ns}g2"), [&bob.id, &alice.id], 2_000, 5.0);
    store.record_game(&newer).await.unwrap();

    let alice_now = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        alice_now.glicko.rating,
        1500.0 + 10.0 - 5.0,
        "each game's delta counted once"
    );
    assert_eq!(alice_now.games_played, 2);
    assert_eq!(alice_now.glicko.deviation, 300.0);

    let history = store.games_of(&alice.id, 10).await.unwrap();
    let ids: Vec<_> = history.iter().map(|g| g.game.clone()).collect();
    assert_eq!(ids, [format!("{ns}g2"), format!("{ns}g1")], "newest first");
    assert_eq!(
        store.games_of(&alice.id, 1).await.unwrap().len(),
        1,
        "limit"
    );
    assert_eq!(
        store.game(&format!("{ns}g1")).await.unwrap().unwrap(),
        older.record
    );
    assert!(store.game("missing").await.unwrap().is_none());
}

#[actix_web::test]
async fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("contract.sqlite3")).unwrap();
    contract(Arc::new(store), "t").await;
}

#[actix_web::test]
async fn the_mongodb_store_keeps_the_contract() {
    let database = crate::servers::unique("rookery_test_");
    let store = rookery::store::mongo::MongoStore::connect(
        &crate::servers::shared().mongodb_uri,
        &database,
    )
    .await
    .unwrap();
    store.ensure_indexes().await.expect("indexes");
    contract(Arc::new(store), "c").await;
}
