//! The event log contract, over SQLite and Redis: entries in order to each listener's group
//! separately; unacknowledged ones handed again (to the same consumer, or claimed by another
//! once idle); dead letters; rewind for a replay; lag. Partitioned (Redis): a game's events in
//! one partition and in order there, acknowledgements, lag and rewinds across partitions. And
//! the listener runner over each, one reader per partition: a
//! listener that keeps failing sets the event aside after its tries, counts its side effects
//! once per event, and a rewound listener rebuilds what it had.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use client_protocol::Side;
use rookery::audit::sqlite::SqliteAudit;
use rookery::audit::Auditor;
use rookery::cluster::redis::RedisCluster;
use rookery::events::listener::{Listener, ListenerError, Listeners, Policy};
use rookery::events::redis::RedisEvents;
use rookery::events::sqlite::SqliteEvents;
use rookery::events::{EventLog, GameEvent, Retention};

const IDLE: Duration = Duration::from_millis(300);
const NOW: Duration = Duration::from_millis(50);

fn offer(game: &str) -> GameEvent {
    GameEvent::DrawOffered {
        game: game.to_owned(),
        side: Side::First,
        at: rookery::domain::now_ms(),
    }
}

/// The `n`th event of `game` (its number in `at`).
fn nth(game: &str, n: u64) -> GameEvent {
    GameEvent::DrawOffered {
        game: game.to_owned(),
        side: Side::First,
        at: n,
    }
}

fn games(entries: &[rookery::events::Entry]) -> Vec<String> {
    entries.iter().map(|e| e.event.game().to_owned()).collect()
}

async fn log_contract(log: &dyn EventLog) {
    for g in ["a", "b", "c"] {
        log.append(&offer(g)).await.unwrap();
    }
    assert_eq!(log.lag("one").await.unwrap(), 3);
    let first = log.read("one", "n1", 0, 2, NOW).await.unwrap();
    assert_eq!(games(&first), ["a", "b"]);
    assert!(first.iter().all(|e| e.deliveries == 1));
    // Another group reads the same log from its own start.
    let other = log.read("two", "n1", 0, 10, NOW).await.unwrap();
    assert_eq!(games(&other), ["a", "b", "c"]);

    log.ack("one", std::slice::from_ref(&first[0].id))
        .await
        .unwrap();
    // Unacknowledged "b" comes again to its consumer before anything new.
    let again = log.read("one", "n1", 0, 10, NOW).await.unwrap();
    assert_eq!(games(&again), ["b"]);
    log.ack("one", std::slice::from_ref(&again[0].id))
        .await
        .unwrap();
    let next = log.read("one", "n1", 0, 10, NOW).await.unwrap();
    assert_eq!(games(&next), ["c"]);

    // n1 dies holding "c": n2 claims it once it has been idle long enough.
    assert!(log.read("one", "n2", 0, 10, NOW).await.unwrap().is_empty());
    tokio::time::sleep(IDLE * 2).await;
    let claimed = log.read("one", "n2", 0, 10, NOW).await.unwrap();
    assert_eq!(games(&claimed), ["c"]);
    assert!(claimed[0].deliveries >= 2, "{:?}", claimed[0].deliveries);
    log.dead_letter("one", &claimed[0], "poison").await.unwrap();
    assert!(log.read("one", "n2", 0, 10, NOW).await.unwrap().is_empty());
    let dead = log.dead_letters("one").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].1.as_str(), dead[0].2.as_str()),
        ("draw_offered", "poison")
    );
    assert_eq!(log.lag("one").await.unwrap(), 0);

    // A read of an idle log waits out its block (a listener's is 1 s) and finds nothing: no
    // error from a client-side timeout shorter than the block.
    let idle = log.read("one", "n1", 0, 10, Duration::from_secs(1)).await;
    assert!(idle.expect("an idle read is no failure").is_empty());

    // A blocked read wakes on an append, also one later than a connection's usual timeout.
    let reader = log.read("one", "n1", 0, 10, Duration::from_secs(5));
    let appender = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        log.append(&offer("d")).await.unwrap();
    };
    let (woken, ()) = tokio::join!(reader, appender);
    assert_eq!(games(&woken.unwrap()), ["d"]);

    // A rewind hands the group everything again.
    log.rewind("one", 0).await.unwrap();
    let replay = log.read("one", "n3", 0, 10, NOW).await.unwrap();
    assert_eq!(games(&replay), ["a", "b", "c", "d"]);
    log.trim(Retention {
        max_len: 1_000,
        max_age: Duration::from_secs(3600),
    })
    .await
    .unwrap();
}

async fn partitioned_contract(log: &dyn EventLog) {
    let partitions = log.partitions();
    assert!(partitions > 1);
    let names: Vec<String> = (0..24).map(|g| format!("g{g}")).collect();
    for n in 0..3 {
        for game in &names {
            log.append(&nth(game, n)).await.unwrap();
        }
    }
    assert_eq!(log.lag("p").await.unwrap(), 72);
    // Each partition read to its end: every game in one partition, its events in order.
    let mut seen: BTreeMap<String, (usize, Vec<u64>)> = BTreeMap::new();
    for partition in 0..partitions {
        loop {
            let batch = log.read("p", "n1", partition, 10, NOW).await.unwrap();
            if batch.is_empty() {
                break;
            }
            for entry in &batch {
                let GameEvent::DrawOffered { game, at, .. } = &entry.event else {
                    panic!("{entry:?}");
                };
                let (home, order) = seen.entry(game.clone()).or_insert((partition, Vec::new()));
                assert_eq!(*home, partition, "{game} is in two partitions");
                order.push(*at);
            }
            let ids: Vec<String> = batch.into_iter().map(|e| e.id).collect();
            log.ack("p", &ids).await.unwrap();
        }
    }
    assert_eq!(seen.len(), 24);
    assert!(
        seen.values().all(|(_, order)| order == &[0, 1, 2]),
        "{seen:?}"
    );
    let used: BTreeSet<usize> = seen.values().map(|(p, _)| *p).collect();
    assert!(used.len() > 1, "every game in one partition: {used:?}");
    assert_eq!(log.lag("p").await.unwrap(), 0);

    // A rewind reaches every partition; one acknowledgement settles entries of several.
    log.rewind("p", 0).await.unwrap();
    assert_eq!(log.lag("p").await.unwrap(), 72);
    let mut taken = Vec::new();
    for partition in used.iter().take(2) {
        let one = log.read("p", "n2", *partition, 1, NOW).await.unwrap();
        assert_eq!(one.len(), 1);
        taken.push(one[0].id.clone());
    }
    log.ack("p", &taken).await.unwrap();
    assert_eq!(log.lag("p").await.unwrap(), 70);
    for partition in used.iter().take(2) {
        let next = log.read("p", "n2", *partition, 1, NOW).await.unwrap();
        assert!(
            !taken.contains(&next[0].id),
            "an acknowledged entry came again"
        );
    }
    assert!(log.read("p", "n2", partitions, 1, NOW).await.is_err());
    assert!(log.ack("p", &[format!("{partitions}/1-0")]).await.is_err());
}

/// Counts its side effects per game; fails on games named "poison".
struct Counter {
    seen: Mutex<BTreeMap<String, u32>>,
}

#[async_trait]
impl Listener for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn wants(&self, _: &GameEvent) -> bool {
        true
    }
    async fn handle(&self, event: &GameEvent) -> Result<(), ListenerError> {
        if event.game() == "poison" {
            return Err(ListenerError("cannot digest".into()));
        }
        *self
            .seen
            .lock()
            .unwrap()
            .entry(event.game().to_owned())
            .or_default() += 1;
        Ok(())
    }
}

async fn runner_contract(log: Arc<dyn EventLog>) {
    let dir = tempfile::tempdir().unwrap();
    let audit = SqliteAudit::open(&dir.path().join("audit.sqlite3")).unwrap();
    let auditor = Auditor::start(Arc::new(audit), Duration::from_secs(3600));
    let counter = Arc::new(Counter {
        seen: Mutex::new(BTreeMap::new()),
    });
    let policy = Policy {
        pause_after_handling: Vec::new(),
        max_deliveries: 3,
        retry_after: Duration::from_millis(20),
        retention: Retention {
            max_len: 1_000,
            max_age: Duration::from_secs(3600),
        },
    };
    for g in ["x", "poison", "y"] {
        log.append(&offer(g)).await.unwrap();
    }
    let listeners = Listeners::start(
        log.clone(),
        vec![counter.clone()],
        "node".into(),
        auditor.clone(),
        policy,
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while log.dead_letters("counter").await.unwrap().is_empty()
        || counter.seen.lock().unwrap().get("y").is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poison event was not set aside"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = log.dead_letters("counter").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].2, "cannot digest");
    let seen = counter.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        BTreeMap::from([("x".into(), 1), ("y".into(), 1)]),
        "once each"
    );
    listeners.stop();
    auditor.flush().await;
    let events = auditor
        .store()
        .search(&rookery::audit::AuditQuery {
            kind: Some(client_protocol::admin::AuditType::EventDeadLettered),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
}

#[actix_web::test]
async fn the_sqlite_event_log_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let log = SqliteEvents::open(&dir.path().join("events.sqlite3"))
        .unwrap()
        .claim_idle(IDLE);
    log_contract(&log).await;
    let dir = tempfile::tempdir().unwrap();
    let log = SqliteEvents::open(&dir.path().join("events.sqlite3")).unwrap();
    runner_contract(Arc::new(log)).await;
}

/// The embedded log hands its own recent appends to listeners from memory and decodes the rest
/// from the file: either way a listener reads exactly what was appended.
#[actix_web::test]
async fn the_sqlite_event_log_reads_back_what_was_appended_from_memory_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite3");
    let log = SqliteEvents::open(&path).unwrap();
    // More than the log keeps decoded (4,096), so the first ones come from the file.
    let appended: Vec<GameEvent> = (0..5_000).map(|n| nth(&format!("g{}", n % 7), n)).collect();
    for event in &appended {
        log.append(event).await.unwrap();
    }
    let read_all = |log: SqliteEvents, group: &'static str| async move {
        let mut events = Vec::new();
        loop {
            let entries = log.read(group, "n1", 0, 1_000, NOW).await.unwrap();
            if entries.is_empty() {
                return events;
            }
            let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
            log.ack(group, &ids).await.unwrap();
            events.extend(entries.into_iter().map(|e| e.event));
        }
    };
    assert_eq!(read_all(log.clone(), "here").await, appended);
    // Another process's view of the same file decodes every entry.
    let reopened = SqliteEvents::open(&path).unwrap();
    assert_eq!(read_all(reopened, "there").await, appended);
}

#[actix_web::test]
async fn the_redis_event_log_keeps_the_contract() {
    let url = &crate::servers::shared().redis_url;
    let cluster = RedisCluster::new(url, &crate::servers::unique("ev")).unwrap();
    log_contract(&RedisEvents::new(cluster).claim_idle(IDLE)).await;
    let cluster = RedisCluster::new(url, &crate::servers::unique("ev")).unwrap();
    runner_contract(Arc::new(RedisEvents::new(cluster))).await;
    let cluster = RedisCluster::new(url, &crate::servers::unique("ev")).unwrap();
    partitioned_contract(&RedisEvents::new(cluster).partitioned(6)).await;
    let cluster = RedisCluster::new(url, &crate::servers::unique("ev")).unwrap();
    runner_contract(Arc::new(RedisEvents::new(cluster).partitioned(3))).await;
}

#[actix_web::test]
async fn the_redis_cluster_event_log_keeps_the_contract() {
    let cluster = crate::sharded(&crate::servers::unique("ev"));
    log_contract(&RedisEvents::new(cluster).claim_idle(IDLE)).await;
    let cluster = crate::sharded(&crate::servers::unique("ev"));
    runner_contract(Arc::new(RedisEvents::new(cluster))).await;
    // Spread over the shards' slots, as a node on a Redis Cluster runs it.
    let cluster = crate::sharded(&crate::servers::unique("ev"));
    partitioned_contract(&RedisEvents::new(cluster).partitioned(6)).await;
    let cluster = crate::sharded(&crate::servers::unique("ev"));
    runner_contract(Arc::new(RedisEvents::new(cluster).partitioned(6))).await;
}
