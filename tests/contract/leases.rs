//! The lease contract: one holder at a time, a larger fence at every acquisition, renewal
//! (one at a time or in a batch) and release only by the holder, expiry.

use std::sync::Arc;
use std::time::Duration;

use rookery::cluster::memory::MemoryCluster;
use rookery::cluster::Leases;

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
    let redis =
        rookery::cluster::redis::RedisCluster::new(&crate::servers::shared().redis_url, &prefix)
            .unwrap();
    contract(redis, "c").await;
}

#[actix_web::test]
async fn redis_cluster_leases_keep_the_contract() {
    contract(crate::sharded(&crate::servers::unique("t")), "c").await;
}
