//! The account/game store contract: unique names, finished games recorded once (ratings
//! counted once), newest-first history, emails and notifications (capped, read per user,
//! email markers); and each store's own promises about its stored shape:
//! native documents (MongoDB) and columns (SQLite), migrated from the legacy JSON-text records.

use std::sync::Arc;

use client_protocol::http::{GameRecord, GameRecordPlayer};
use client_protocol::*;
use mongodb::bson::{doc, Bson, Document};
use rookery::domain::{Email, UserId};
use rookery::store::mongo::MongoStore;
use rookery::store::sqlite::SqliteStore;
use rookery::store::{
    FinishedGame, NewUser, RatingUpdate, Store, StoreError, NOTIFICATIONS_KEPT, NOTIFICATION_TTL_MS,
};

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        name: name.to_owned(),
        name_key: name.to_ascii_lowercase(),
        password_hash: Some("$argon2id$fake".to_owned()),
        guest: false,
        created_at: 1,
        email: None,
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
            // Kept natively, read back whole (`finished games round trip` below).
            chat: vec![client_protocol::ChatLine {
                room: format!("game:{id}"),
                id: "m1".into(),
                from: "n".into(),
                text: "gg \u{e9}".into(),
                at: ended_at - 5,
            }],
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

/// A rated chess game, won by the second side on move three, with a rating change each.
fn chess(id: &str, users: [&UserId; 2], ended_at: u64) -> FinishedGame {
    let mut game = finished(id, users, ended_at, 7.0);
    let record = &mut game.record;
    record.kind = GameKind::Chess;
    record.clock = Some(ClockSpec {
        initial_ms: 180_000,
        increment_ms: 2_000,
    });
    record.moves = ["f2f3", "e7e5", "g2g4", "d8h4"]
        .map(|m| Move::Text(m.into()))
        .to_vec();
    record.result = GameResult::Second;
    record.reason = EndReason::Checkmate;
    record.final_position =
        Position::Fen("rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3".into());
    record.clocks.first = 170_000;
    record.clocks.second = 175_500;
    record.players[0].name = "White \"W\" One".into();
    record.players[0].rating_change = Some(RatingDelta {
        before: 1500,
        after: 1493,
        delta: -7,
    });
    record.players[1].name = "Black".into();
    record.players[1].rating_change = Some(RatingDelta {
        before: 1500,
        after: 1507,
        delta: 7,
    });
    game
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

    let mate = chess(&format!("{ns}g3"), [&alice.id, &bob.id], 3_000);
    store.record_game(&mate).await.unwrap();
    assert_eq!(
        store.game(&format!("{ns}g3")).await.unwrap().unwrap(),
        mate.record,
        "a chess game with clock and rating changes reads back unchanged"
    );
    let history = store.games_of(&bob.id, 10).await.unwrap();
    assert_eq!(history, [mate.record, newer.record, older.record]);

    notifications_and_email(&*store, ns, &alice.id, &bob.id).await;

    // Staff: the accounts holding a role, and only those.
    let before: Vec<_> = store
        .staff()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert!(!before.contains(&bob.id));
    store
        .change_standing(
            &bob.id,
            rookery::store::StandingChange::Roles(vec![Role::Moderator]),
        )
        .await
        .unwrap();
    let staff: Vec<_> = store
        .staff()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert!(
        staff.contains(&bob.id) && !staff.contains(&alice.id),
        "{staff:?}"
    );
}

fn notification(id: &str, at: u64) -> Notification {
    Notification {
        id: id.to_owned(),
        kind: NotificationKind::Account,
        text: format!("text of {id}"),
        at,
        data: [("game".to_owned(), "g1".to_owned())].into(),
    }
}

/// Emails, notifications (newest first, capped, read state per user) and email markers.
async fn notifications_and_email(store: &dyn Store, ns: &str, alice: &UserId, bob: &UserId) {
    let email = Email::parse("alice@example.org").unwrap();
    assert!(store.set_email(alice, Some(&email)).await.unwrap());
    assert_eq!(
        store.user_by_id(alice).await.unwrap().unwrap().email,
        Some(email)
    );
    assert!(store.set_email(alice, None).await.unwrap());
    assert_eq!(store.user_by_id(alice).await.unwrap().unwrap().email, None);
    assert!(!store.set_email(&UserId::generate(), None).await.unwrap());
    let mut registered = new_user(&format!("{ns}Carol"));
    registered.email = Some(Email::parse("carol@example.org").unwrap());
    let carol = store.create_user(registered).await.unwrap();
    assert_eq!(
        store.user_by_id(&carol.id).await.unwrap().unwrap().email,
        carol.email
    );

    let now = rookery::domain::now_ms();
    let first = notification(&format!("{ns}n1"), now - 10);
    store.add_notification(alice, &first).await.unwrap();
    store
        .add_notification(alice, &first)
        .await
        .expect("idempotent");
    store
        .add_notification(alice, &notification(&format!("{ns}n2"), now))
        .await
        .unwrap();
    store
        .add_notification(bob, &notification(&format!("{ns}n3"), now))
        .await
        .unwrap();
    let listed = store.notifications(alice, 10, false).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|e| e.notification.id.clone()).collect();
    assert_eq!(
        ids,
        [format!("{ns}n2"), format!("{ns}n1")],
        "newest first, own only"
    );
    assert_eq!(listed[1].notification, first, "reads back unchanged");
    assert!(listed.iter().all(|e| !e.read));

    let read = store
        .mark_read(
            alice,
            &[format!("{ns}n1"), format!("{ns}n3"), "missing".into()],
        )
        .await
        .unwrap();
    assert_eq!(read, 1, "only alice's own unread one");
    assert_eq!(
        store.mark_read(alice, &[format!("{ns}n1")]).await.unwrap(),
        0,
        "already read"
    );
    let unread = store.notifications(alice, 10, true).await.unwrap();
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0].notification.id, format!("{ns}n2"));
    assert_eq!(store.notifications(bob, 10, true).await.unwrap().len(), 1);

    // The cap: the oldest go, and an expired one is dropped on the next insert.
    let expired = notification(&format!("{ns}old"), now - NOTIFICATION_TTL_MS - 1);
    store.add_notification(bob, &expired).await.unwrap();
    for i in 0..NOTIFICATIONS_KEPT {
        let n = notification(&format!("{ns}cap{i}"), now + 1 + u64::from(i));
        store.add_notification(bob, &n).await.unwrap();
    }
    let kept = store.notifications(bob, 1000, false).await.unwrap();
    assert_eq!(kept.len(), NOTIFICATIONS_KEPT as usize);
    assert_eq!(
        kept[0].notification.id,
        format!("{ns}cap{}", NOTIFICATIONS_KEPT - 1)
    );
    assert!(kept.iter().all(|e| e.notification.id.contains("cap")));

    let key = format!("{ns}n1");
    assert!(!store.email_sent(&key).await.unwrap());
    store.record_email_sent(&key, now).await.unwrap();
    store
        .record_email_sent(&key, now)
        .await
        .expect("idempotent");
    assert!(store.email_sent(&key).await.unwrap());
    assert!(!store.email_sent(&format!("{ns}n2")).await.unwrap());
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
    let store = MongoStore::connect(&crate::servers::shared().mongodb_uri, &database)
        .await
        .unwrap();
    store.ensure_indexes().await.expect("indexes");
    contract(Arc::new(store), "c").await;
}

/// The test's own view of a database, through the driver rather than the store.
async fn raw_database(database: &str) -> mongodb::Database {
    mongodb::Client::with_uri_str(&crate::servers::shared().mongodb_uri)
        .await
        .unwrap()
        .database(database)
}

async fn raw_game(db: &mongodb::Database, id: &str) -> Document {
    db.collection::<Document>("games")
        .find_one(doc! {"_id": id})
        .await
        .unwrap()
        .expect("stored")
}

/// The record as the store wrote it before games were native documents.
fn legacy_document(game: &FinishedGame) -> Document {
    let ids: Vec<&str> = game.user_ids.iter().map(|u| u.as_str()).collect();
    doc! {
        "_id": &game.record.game,
        "endedAt": game.record.ended_at as i64,
        "playerIds": ids,
        "record": serde_json::to_string(&game.record).unwrap(),
    }
}

/// The store's startup migration count, failing the test rather than waiting forever when
/// the startup work keeps failing (it retries in the background).
async fn converted(store: &MongoStore) -> u64 {
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        store.legacy_games_converted(),
    )
    .await
    .expect("the startup work finishes")
    .unwrap()
}

async fn two_users(store: &dyn Store, ns: &str) -> (UserId, UserId) {
    let a = store
        .create_user(new_user(&format!("{ns}A")))
        .await
        .unwrap();
    let b = store
        .create_user(new_user(&format!("{ns}B")))
        .await
        .unwrap();
    (a.id, b.id)
}

#[actix_web::test]
async fn the_mongodb_store_keeps_finished_games_as_native_documents() {
    let database = crate::servers::unique("rookery_test_");
    let store = MongoStore::connect(&crate::servers::shared().mongodb_uri, &database)
        .await
        .unwrap();
    assert_eq!(converted(&store).await, 0);
    let (a, b) = two_users(&store, "n").await;
    let mate = chess("native-chess-1", [&a, &b], 5_000);
    store.record_game(&mate).await.unwrap();
    let cells = finished("native-ttt-1", [&b, &a], 4_000, 3.0);
    store.record_game(&cells).await.unwrap();

    let db = raw_database(&database).await;
    let stored = raw_game(&db, "native-chess-1").await;
    assert!(stored.get("record").is_none(), "no JSON text: {stored}");
    assert_eq!(stored.get_str("kind").unwrap(), "chess");
    assert!(stored.get_bool("rated").unwrap());
    assert_eq!(stored.get("tournament"), Some(&Bson::Null));
    let clock = stored.get_document("clock").unwrap();
    assert_eq!(clock.get_i64("initialMs").unwrap(), 180_000);
    assert_eq!(clock.get_i64("incrementMs").unwrap(), 2_000);
    let players = stored.get_array("players").unwrap();
    assert_eq!(players.len(), 2);
    let white = players[0].as_document().expect("players are documents");
    assert_eq!(white.get_str("userId").unwrap(), a.as_str());
    assert_eq!(white.get_str("side").unwrap(), "first");
    assert_eq!(white.get_i32("ratingBefore").unwrap(), 1500);
    assert_eq!(white.get_i32("ratingAfter").unwrap(), 1493);
    assert_eq!(white.get_i32("ratingDelta").unwrap(), -7);
    let moves = stored.get_array("moves").unwrap();
    assert_eq!(moves.len(), 4);
    assert_eq!(moves[3], Bson::String("d8h4".into()));
    assert_eq!(stored.get_str("result").unwrap(), "second");
    assert_eq!(stored.get_str("reason").unwrap(), "checkmate");
    assert_eq!(stored.get_i64("startedAt").unwrap(), 4_990);
    assert_eq!(stored.get_i64("endedAt").unwrap(), 5_000);
    assert_eq!(
        stored
            .get_document("clocks")
            .unwrap()
            .get_i64("second")
            .unwrap(),
        175_500
    );
    assert!(stored
        .get_str("finalPosition")
        .unwrap()
        .starts_with("rnb1kbnr"));
    let pgn = stored.get_str("pgn").expect("chess games carry their PGN");
    assert!(pgn.contains("[White \"White \\\"W\\\" One\"]"), "{pgn}");
    assert!(pgn.contains("1. f3 e5 2. g4 Qh4# 0-1"), "{pgn}");

    let stored = raw_game(&db, "native-ttt-1").await;
    assert_eq!(stored.get_array("moves").unwrap(), &vec![Bson::Int32(4)]);
    assert_eq!(stored.get("pgn"), Some(&Bson::Null), "no PGN but for chess");
    let rows = stored.get_array("finalPosition").unwrap();
    assert_eq!(rows[1], Bson::String(".x.".into()));

    // Queryable as documents: moves and rating changes, by plain filters.
    let games = db.collection::<Document>("games");
    let mated = games
        .count_documents(doc! {"moves": "d8h4", "result": "second"})
        .await
        .unwrap();
    assert_eq!(mated, 1);
    let lost_rating = games
        .count_documents(doc! {"players.ratingDelta": {"$lt": 0}})
        .await
        .unwrap();
    assert_eq!(lost_rating, 1);

    let indexes = games.list_index_names().await.unwrap();
    for name in ["players.userId_1_endedAt_-1__id_1", "endedAt_-1"] {
        assert!(indexes.iter().any(|i| i == name), "{name} in {indexes:?}");
    }

    assert_eq!(
        store.games_of(&a, 10).await.unwrap(),
        [mate.record.clone(), cells.record.clone()],
        "newest first"
    );
    assert_eq!(
        store.game("native-chess-1").await.unwrap().unwrap(),
        mate.record
    );
}

#[actix_web::test]
async fn a_fresh_mongodb_store_migrates_legacy_string_records_once() {
    let uri = &crate::servers::shared().mongodb_uri;
    let database = crate::servers::unique("rookery_test_");
    let first = MongoStore::connect(uri, &database).await.unwrap();
    converted(&first).await;
    let (a, b) = two_users(&first, "m").await;
    let mate = chess("legacy-chess-1", [&a, &b], 2_000);
    let cells = finished("legacy-ttt-1", [&b, &a], 1_000, 4.0);
    first.record_game(&mate).await.unwrap();
    first.record_game(&cells).await.unwrap();
    let rated = first.user_by_id(&a).await.unwrap().unwrap();

    // Turn both into what the previous version wrote: the record as JSON text.
    let db = raw_database(&database).await;
    let games = db.collection::<Document>("games");
    for game in [&mate, &cells] {
        games
            .replace_one(doc! {"_id": &game.record.game}, legacy_document(game))
            .await
            .unwrap();
    }
    assert!(raw_game(&db, "legacy-chess-1")
        .await
        .get_str("record")
        .is_ok());

    let second = MongoStore::connect(uri, &database).await.unwrap();
    assert_eq!(converted(&second).await, 2);
    let migrated = raw_game(&db, "legacy-chess-1").await;
    assert!(migrated.get("record").is_none(), "{migrated}");
    assert!(migrated.get("playerIds").is_none(), "{migrated}");
    let players = migrated.get_array("players").unwrap();
    assert_eq!(
        players[1]
            .as_document()
            .unwrap()
            .get_i32("ratingAfter")
            .unwrap(),
        1507
    );
    assert!(migrated.get_str("pgn").unwrap().contains("Qh4#"));
    assert_eq!(
        second.game("legacy-chess-1").await.unwrap().unwrap(),
        mate.record
    );
    assert_eq!(
        second.games_of(&a, 10).await.unwrap(),
        [mate.record.clone(), cells.record.clone()],
        "newest first, found through players.userId"
    );

    // The outbox may deliver a migrated game again: ratings still count once.
    second.record_game(&mate).await.unwrap();
    second.record_game(&cells).await.unwrap();
    assert_eq!(second.user_by_id(&a).await.unwrap().unwrap(), rated);

    let before: Vec<Document> = raw_all(&games).await;
    let third = MongoStore::connect(uri, &database).await.unwrap();
    assert_eq!(converted(&third).await, 0, "nothing left");
    assert_eq!(
        raw_all(&games).await,
        before,
        "a second migration changes nothing"
    );
}

async fn raw_all(games: &mongodb::Collection<Document>) -> Vec<Document> {
    use futures_util::TryStreamExt;
    games
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

/// The tables as the previous version created them.
const LEGACY_SQLITE_GAMES: &str = "
CREATE TABLE games (id TEXT PRIMARY KEY, ended_at INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE game_players (
    game_id TEXT NOT NULL REFERENCES games(id),
    user_id TEXT NOT NULL,
    ended_at INTEGER NOT NULL,
    PRIMARY KEY (game_id, user_id)
);
CREATE INDEX game_players_newest ON game_players (user_id, ended_at DESC);
";

#[actix_web::test]
async fn the_sqlite_store_keeps_games_in_columns_and_migrates_legacy_rows_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.sqlite3");
    let (a, b) = (UserId::generate(), UserId::generate());
    let mate = chess("legacy-chess-1", [&a, &b], 2_000);
    let cells = finished("legacy-ttt-1", [&b, &a], 1_000, 4.0);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(LEGACY_SQLITE_GAMES).unwrap();
        for game in [&mate, &cells] {
            let json = serde_json::to_string(&game.record).unwrap();
            let id = &game.record.game;
            let ended = game.record.ended_at as i64;
            conn.execute(
                "INSERT INTO games (id, ended_at, record) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, ended, json],
            )
            .unwrap();
            for user in &game.user_ids {
                conn.execute(
                    "INSERT INTO game_players (game_id, user_id, ended_at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![id, user.as_str(), ended],
                )
                .unwrap();
            }
        }
    }

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.legacy_games_converted(), 2);
    assert_eq!(
        store.game("legacy-chess-1").await.unwrap().unwrap(),
        mate.record
    );
    assert_eq!(
        store.games_of(&a, 10).await.unwrap(),
        [mate.record.clone(), cells.record.clone()],
        "newest first"
    );
    store
        .record_game(&cells)
        .await
        .expect("a second delivery is harmless");
    drop(store);

    let columns = |sql: &str| -> Vec<String> {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows
    };
    assert_eq!(
        columns("SELECT kind || ' ' || result || ' ' || reason || ' ' || json_array_length(moves) || ' ' || (pgn IS NOT NULL) FROM games ORDER BY ended_at DESC"),
        ["chess second checkmate 4 1", "tictactoe first resign 1 0"]
    );
    assert_eq!(
        columns("SELECT side || ' ' || rating_before || ' ' || ifnull(rating_after, '-') FROM game_players WHERE game_id = 'legacy-chess-1' ORDER BY seat"),
        ["first 1500 1493", "second 1500 1507"]
    );
    assert_eq!(
        columns("SELECT name FROM sqlite_master WHERE name LIKE 'legacy%' OR name = 'game_players_newest'"),
        ["game_players_newest"],
        "legacy tables gone, index rebuilt"
    );

    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.legacy_games_converted(), 0, "nothing left");
    assert_eq!(
        again.game("legacy-ttt-1").await.unwrap().unwrap(),
        cells.record
    );
}

#[actix_web::test]
async fn the_mongodb_store_keeps_a_bounded_window_of_applied_games() {
    let database = crate::servers::unique("rookery_test_");
    let store = MongoStore::connect(&crate::servers::shared().mongodb_uri, &database)
        .await
        .unwrap()
        .applied_window(3);
    let (a, b) = two_users(&store, "w").await;
    let games: Vec<FinishedGame> = (0..5)
        .map(|i| finished(&format!("window-{i}"), [&a, &b], 1_000 + i, 1.0))
        .collect();
    for game in &games {
        store.record_game(game).await.unwrap();
    }
    store.record_game(&games[4]).await.unwrap();
    store.record_game(&games[2]).await.unwrap();
    let db = raw_database(&database).await;
    let account = db
        .collection::<Document>("users")
        .find_one(doc! {"_id": a.as_str()})
        .await
        .unwrap()
        .expect("stored");
    let applied: Vec<&str> = account
        .get_array("appliedGames")
        .unwrap()
        .iter()
        .filter_map(|id| id.as_str())
        .collect();
    assert_eq!(
        applied,
        ["window-2", "window-3", "window-4"],
        "the newest 3"
    );
    let user = store.user_by_id(&a).await.unwrap().unwrap();
    assert_eq!(
        user.games_played, 5,
        "retries within the window count nothing twice"
    );
}
