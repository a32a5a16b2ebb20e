//! The lease contract: one holder at a time, a larger fence at every acquisition, renewal
//! (one at a time or in a batch) and release only by the holder, expiry. On Redis, a fence
//! counter lives no longer than its snapshot and a grace: finished actors leave no keys.

use std::sync::Arc;
use std::time::Duration;

use rookery::cluster::memory::MemoryCluster;
use rookery::cluster::redis::RedisCluster;
use rookery::cluster::{Leases, SnapshotStore};

pub async fn contract(leases: Arc<dyn Leases>, ns: &str) {
    let key = format!("{ns}:game:lease");
    let ttl = Duration::from_secs(5);
    let a = leases
        .acquire(&key, "node-a", ttl)
        .await
        .unwrap()
        .expect("free lease");
    assert_eq!(
        leases.acquire(&key, "node-b", ttl).await.unwrap(),
        None,
        "held by a"
    );
    assert!(leases.renew(&a, "node-a", ttl).await.unwrap());
    assert!(
        !leases.renew(&a, "node-b", ttl).await.unwrap(),
        "only the holder renews"
    );

    leases.release(&a, "node-b").await.unwrap();
    assert_eq!(
        leases.acquire(&key, "node-b", ttl).await.unwrap(),
        None,
        "a stranger cannot release"
    );
    leases.release(&a, "node-a").await.unwrap();
    let b = leases
        .acquire(&key, "node-b", ttl)
        .await
        .unwrap()
        .expect("released");
    assert!(b.fence > a.fence, "every acquisition takes a larger fence");
    assert!(
        !leases.renew(&a, "node-a", ttl).await.unwrap(),
        "a's lease is gone"
    );

    // A batch renews what is still ours and answers, in order, for each lease.
    let other = leases
        .acquire(&format!("{ns}:game:other"), "node-b", ttl)
        .await
        .unwrap()
        .expect("free lease");
    assert_eq!(
        leases
            .renew_many(&[b.clone(), a.clone(), other.clone()], "node-b", ttl)
            .await
            .unwrap(),
        vec![true, false, true]
    );
    assert_eq!(
        leases.renew_many(&[], "node-b", ttl).await.unwrap(),
        Vec::<bool>::new()
    );

    let short = format!("{ns}:queue:lease");
    let first = leases
        .acquire(&short, "node-a", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await; // the configured TTL, exercised
    let second = leases
        .acquire(&short, "node-b", ttl)
        .await
        .unwrap()
        .expect("expired lease is free");
    assert!(second.fence > first.fence);
}

#[actix_web::test]
async fn in_process_leases_keep_the_contract() {
    contract(MemoryCluster::new(), "t").await;
}

#[actix_web::test]
async fn redis_leases_keep_the_contract() {
    let prefix = crate::servers::unique("t");
    let redis = RedisCluster::new(&crate::servers::shared().redis_url, &prefix).unwrap();
    contract(redis, "c").await;
}

#[actix_web::test]
async fn a_redis_fence_counter_lives_as_long_as_its_snapshot_and_a_grace() {
    let url = &crate::servers::shared().redis_url;
    let redis = RedisCluster::new(url, &crate::servers::unique("t")).unwrap();
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ttl = Duration::from_secs(5);
    let grace = 60_000;

    // An id nobody has (a new actor, or a probe for a game that does not exist).
    let probe = redis.acquire("game:none", "a", ttl).await.unwrap().unwrap();
    redis.release(&probe, "a").await.unwrap();
    let left = pttl(&mut raw, redis.tagged("game:none", ":fence")).await;
    assert!(left > grace - 5_000 && left <= grace + 5_000, "{left} ms");

    // A live actor keeps its counter as long as its snapshot: for ever.
    let actor = "game:live";
    let lease = redis.acquire(actor, "a", ttl).await.unwrap().unwrap();
    redis
        .save(actor, b"1".to_vec(), lease.fence, 1, None)
        .await
        .unwrap();
    assert_eq!(pttl(&mut raw, redis.tagged(actor, ":fence")).await, -1);

    // Finished: the snapshot expires, the counter a grace later; the next owner's fence is
    // still larger while the counter lives.
    let finished = Duration::from_secs(30);
    redis
        .save(actor, b"2".to_vec(), lease.fence, 2, Some(finished))
        .await
        .unwrap();
    let snapshot = pttl(&mut raw, redis.tagged(actor, "")).await;
    let counter = pttl(&mut raw, redis.tagged(actor, ":fence")).await;
    assert!(snapshot > 0 && snapshot <= 30_000, "{snapshot} ms");
    assert!(counter > 30_000 + grace - 5_000, "{counter} ms");
    redis.release(&lease, "a").await.unwrap();
    let next = redis.acquire(actor, "b", ttl).await.unwrap().unwrap();
    assert!(next.fence > lease.fence);
    assert!(
        pttl(&mut raw, redis.tagged(actor, ":fence")).await > 30_000,
        "taking the lease keeps it"
    );

    // A counter gone while a lease and a snapshot still hold fences: the next fence is larger
    // than both, whoever takes it.
    assert_eq!(del(&mut raw, redis.tagged(actor, ":fence")).await, 1);
    let again = redis.acquire(actor, "b", ttl).await.unwrap().unwrap();
    assert!(
        again.fence > next.fence,
        "{} after {}",
        again.fence,
        next.fence
    );
    redis
        .save(actor, b"3".to_vec(), again.fence, 3, Some(finished))
        .await
        .unwrap();
    redis.release(&again, "b").await.unwrap();
    assert_eq!(del(&mut raw, redis.tagged(actor, ":fence")).await, 1);
    let third = redis.acquire(actor, "c", ttl).await.unwrap().unwrap();
    assert!(
        third.fence > again.fence,
        "{} after {}",
        third.fence,
        again.fence
    );

    // Deleted: the counter goes after the grace.
    redis.delete(actor).await.unwrap();
    let left = pttl(&mut raw, redis.tagged(actor, ":fence")).await;
    assert!(left > 0 && left <= grace, "{left} ms");
}

/// A key's time to live in ms (-1 none, -2 no key).
async fn pttl(raw: &mut redis::aio::MultiplexedConnection, key: String) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(raw).await.unwrap()
}

/// Deletes a key behind the store's back; how many went.
async fn del(raw: &mut redis::aio::MultiplexedConnection, key: String) -> i64 {
    redis::cmd("DEL").arg(key).query_async(raw).await.unwrap()
}

#[actix_web::test]
async fn redis_cluster_leases_keep_the_contract() {
    contract(crate::sharded(&crate::servers::unique("t")), "c").await;
}
