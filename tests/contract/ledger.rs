//! The identity ledger contract (login windows, revoked and spent token ids), run against the
//! in-process ledger and the Redis one: what one node counts or revokes, every node sees.

use std::sync::Arc;
use std::time::Duration;

use rookery::auth::ledger::{Count, Ledger, MemoryLedger};
use rookery::auth::redis::RedisLedger;

async fn ledger_contract(node_a: &dyn Ledger, node_b: &dyn Ledger) {
    let minute = Duration::from_secs(60);
    for _ in 0..3 {
        assert_eq!(
            node_a.hit("ip:10.0.0.1", 3, minute).await.unwrap(),
            Count::Within
        );
    }
    let over = node_b.hit("ip:10.0.0.1", 3, minute).await.unwrap();
    let Count::Over { retry_after_secs } = over else {
        panic!("the 4th attempt, on another node, is over the limit: {over:?}");
    };
    assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
    assert!(matches!(
        node_b.peek("ip:10.0.0.1", 3, minute).await,
        Ok(Count::Over { .. })
    ));
    assert_eq!(
        node_b.peek("ip:10.0.0.2", 3, minute).await.unwrap(),
        Count::Within
    );
    assert_eq!(
        node_b.peek("ip:10.0.0.2", 1, minute).await.unwrap(),
        Count::Within,
        "peek counts nothing"
    );

    let short = Duration::from_millis(300);
    assert_eq!(
        node_a.hit("user:bob", 1, short).await.unwrap(),
        Count::Within
    );
    assert!(matches!(
        node_a.hit("user:bob", 1, short).await,
        Ok(Count::Over { .. })
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        node_b.hit("user:bob", 1, short).await.unwrap(),
        Count::Within,
        "a new window"
    );

    assert!(!node_b.revoked("fam-1").await.unwrap());
    node_a.revoke("fam-1", minute).await.unwrap();
    assert!(
        node_b.revoked("fam-1").await.unwrap(),
        "a revocation holds on every node"
    );
    node_a.revoke("fam-2", short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !node_b.revoked("fam-2").await.unwrap(),
        "forgotten once no token can carry it"
    );

    assert_eq!(
        node_a.spend("jti-1", minute).await.unwrap(),
        None,
        "first use"
    );
    let earlier = node_b.spend("jti-1", minute).await.unwrap();
    assert!(
        earlier.is_some_and(|at| at > 1_600_000_000_000),
        "{earlier:?}"
    );
    let racers: Vec<_> = (0..8).map(|_| node_a.spend("jti-2", minute)).collect();
    let firsts = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(None)))
        .count();
    assert_eq!(firsts, 1, "one of racing uses wins");
}

#[tokio::test]
async fn the_in_process_ledger_keeps_the_contract() {
    let ledger = MemoryLedger::default();
    ledger_contract(&ledger, &ledger).await;
}

#[tokio::test]
async fn the_redis_ledger_keeps_the_contract() {
    let prefix = crate::servers::unique("l");
    let url = &crate::servers::shared().redis_url;
    let node = |prefix: &str| {
        let cluster = rookery::cluster::redis::RedisCluster::new(url, prefix).expect("a client");
        Arc::new(RedisLedger::new(cluster))
    };
    let (a, b) = (node(&prefix), node(&prefix));
    ledger_contract(a.as_ref(), b.as_ref()).await;
}

#[tokio::test]
async fn the_redis_cluster_ledger_keeps_the_contract() {
    let prefix = crate::servers::unique("l");
    let node = || Arc::new(RedisLedger::new(crate::sharded(&prefix)));
    let (a, b) = (node(), node());
    ledger_contract(a.as_ref(), b.as_ref()).await;
}
