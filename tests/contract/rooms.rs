//! The chat log and live-games index contracts, run against the in-process implementations and
//! the Redis ones: history capped at 50 and oldest first, the flood rule checked and recorded
//! in one step per sender, deletion, and the live games most watched first, by kind, with
//! stale entries dropped.

use client_protocol::http::LiveGame;
use client_protocol::{ChatLine, GameKind, PlayerView, Side};
use rookery::domain::GameId;
use rookery::rooms::{
    fingerprint, PostError, Room, Rooms, FLOOD_WINDOW_MS, HISTORY, LIVE_STALE_MS,
};

fn line(room: &Room, id: &str, text: &str, at: u64) -> ChatLine {
    ChatLine {
        room: room.to_string(),
        id: id.to_owned(),
        from: "ann".into(),
        text: text.to_owned(),
        at,
    }
}

async fn chat_contract(rooms: &Rooms, sender: &str) {
    let chat = &rooms.chat;
    let room = Room::Game(GameId::generate());
    let t = 1_000_000;
    assert!(chat.history(&room).await.unwrap().is_empty());
    for (i, text) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        let at = t + i as u64;
        chat.post(
            sender,
            &line(&room, &format!("m{i}"), text, at),
            &fingerprint(text),
        )
        .await
        .unwrap();
    }
    let sixth = chat
        .post(sender, &line(&room, "m5", "six", t + 10), "six")
        .await;
    assert!(matches!(sixth, Err(PostError::Flood)), "a 6th within 10 s");
    let later = t + FLOOD_WINDOW_MS + 5;
    let repeat = chat
        .post(
            sender,
            &line(&room, "m6", "FIVE!", later),
            &fingerprint("FIVE!"),
        )
        .await;
    assert!(
        matches!(repeat, Err(PostError::Flood)),
        "a near-repeat of the last"
    );
    chat.post(sender, &line(&room, "m7", "one", later), "one")
        .await
        .expect("an older text may come back, once the window passed");
    let texts: Vec<String> = chat
        .history(&room)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        texts,
        ["one", "two", "three", "four", "five", "one"],
        "oldest first, refusals not kept"
    );

    // Deletion: gone from the history, and only once.
    let deleted = chat
        .delete(&room, "m1")
        .await
        .unwrap()
        .expect("m1 is there");
    assert_eq!(deleted.text, "two");
    assert!(chat.delete(&room, "m1").await.unwrap().is_none());
    assert!(chat
        .delete(&Room::Lobby, "nothing")
        .await
        .unwrap()
        .is_none());
    assert_eq!(chat.history(&room).await.unwrap().len(), 5);

    // Capped at the last 50, from many senders.
    let lobby = Room::Tournament(rookery::domain::TournamentId::generate());
    for n in 0..(HISTORY + 7) {
        let who = format!("{sender}-{n}");
        let text = format!("line {n}");
        chat.post(&who, &line(&lobby, &format!("l{n}"), &text, t), &text)
            .await
            .unwrap();
    }
    let history = chat.history(&lobby).await.unwrap();
    assert_eq!(history.len(), HISTORY);
    assert_eq!(history[0].text, "line 7");
    assert_eq!(history[HISTORY - 1].text, format!("line {}", HISTORY + 6));
}

fn live(game: &str, kind: GameKind, watchers: u32, started_at: u64) -> LiveGame {
    LiveGame {
        game: game.to_owned(),
        kind,
        players: vec![PlayerView {
            name: "a".into(),
            rating: 1500,
            side: Side::First,
        }],
        seq: 3,
        started_at,
        watchers,
        rated: false,
        tournament: None,
    }
}

async fn live_contract(rooms: &Rooms) {
    let index = &rooms.live;
    let now = 10_000_000;
    let (a, b, c) = (GameId::generate(), GameId::generate(), GameId::generate());
    index
        .upsert(&live(a.as_str(), GameKind::Chess, 5, 1), now)
        .await
        .unwrap();
    index
        .upsert(&live(b.as_str(), GameKind::TicTacToe, 9, 2), now)
        .await
        .unwrap();
    index
        .upsert(&live(c.as_str(), GameKind::Chess, 0, 3), now)
        .await
        .unwrap();
    let ids = |games: Vec<LiveGame>| games.into_iter().map(|g| g.game).collect::<Vec<_>>();
    let all = ids(index.top(None, 10, now).await.unwrap());
    assert_eq!(all, [b.to_string(), a.to_string(), c.to_string()]);
    let chess = ids(index.top(Some(GameKind::Chess), 10, now).await.unwrap());
    assert_eq!(chess, [a.to_string(), c.to_string()]);
    assert_eq!(index.top(None, 1, now).await.unwrap().len(), 1);
    // A refresh moves a game up; a removal takes it out.
    index
        .upsert(&live(c.as_str(), GameKind::Chess, 20, 3), now)
        .await
        .unwrap();
    assert_eq!(ids(index.top(None, 1, now).await.unwrap()), [c.to_string()]);
    index.remove(b.as_str()).await.unwrap();
    assert_eq!(
        ids(index.top(Some(GameKind::TicTacToe), 10, now).await.unwrap()),
        Vec::<String>::new()
    );
    // An entry nobody refreshed is dropped.
    let later = now + LIVE_STALE_MS + 1;
    index
        .upsert(&live(a.as_str(), GameKind::Chess, 5, 1), later)
        .await
        .unwrap();
    assert_eq!(
        ids(index.top(None, 10, later).await.unwrap()),
        [a.to_string()]
    );
}

#[actix_web::test]
async fn the_in_process_rooms_keep_the_contract() {
    let rooms = Rooms::in_process();
    chat_contract(&rooms, "u1").await;
    live_contract(&rooms).await;
}

#[actix_web::test]
async fn the_redis_rooms_keep_the_contract() {
    let prefix = crate::servers::unique("r");
    let redis =
        rookery::cluster::redis::RedisCluster::new(&crate::servers::shared().redis_url, &prefix)
            .unwrap();
    let rooms = Rooms::on_redis(redis);
    chat_contract(&rooms, "u1").await;
    live_contract(&rooms).await;
}

#[actix_web::test]
async fn the_redis_cluster_rooms_keep_the_contract() {
    let rooms = Rooms::on_redis(crate::sharded(&crate::servers::unique("r")));
    chat_contract(&rooms, "u1").await;
    live_contract(&rooms).await;
}
