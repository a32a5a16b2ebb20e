//! The snapshot store contract: fenced compare-and-set writes, claims by a new owner, plain
//! puts with expiry.

use std::sync::Arc;
use std::time::Duration;

use rookery::cluster::memory::MemoryCluster;
use rookery::cluster::{SaveError, SnapshotStore};

/// Every snapshot store must pass this. `ns` keeps runs apart on a shared server.
pub async fn contract(store: Arc<dyn SnapshotStore>, ns: &str) {
    let key = format!("{ns}:game:a");
    assert_eq!(store.load(&key).await.unwrap(), None, "nothing stored yet");

    store
        .save(&key, b"v1".to_vec(), 0, 1, None)
        .await
        .expect("first write");
    let stored = store.load(&key).await.unwrap().expect("stored");
    assert_eq!(
        (stored.data.as_slice(), stored.fence, stored.rev),
        (&b"v1"[..], 0, 1)
    );

    store
        .save(&key, b"v2".to_vec(), 1, 2, None)
        .await
        .expect("a newer fence and revision");
    assert_eq!(
        store.save(&key, b"old".to_vec(), 1, 2, None).await,
        Err(SaveError::Stale { stored: 2, ours: 2 }),
        "the same revision twice"
    );
    assert_eq!(
        store.save(&key, b"old".to_vec(), 0, 9, None).await,
        Err(SaveError::Fenced { stored: 1, ours: 0 }),
        "an owner with an older fence"
    );
    store
        .save(&key, b"v3".to_vec(), 2, 3, None)
        .await
        .expect("a new owner");
    assert_eq!(store.load(&key).await.unwrap().unwrap().data, b"v3");

    // A new owner (fence 5) claims the state it starts from: the previous owner (fence 2)
    // can no longer write, not even a newer revision, and the claim changed nothing else.
    let claimed = store.claim(&key, 5).await.unwrap().expect("stored");
    assert_eq!(
        (claimed.data.as_slice(), claimed.fence, claimed.rev),
        (&b"v3"[..], 5, 3)
    );
    assert_eq!(
        store.save(&key, b"late".to_vec(), 2, 4, None).await,
        Err(SaveError::Fenced { stored: 5, ours: 2 }),
        "the old owner's late write"
    );
    assert_eq!(
        store.claim(&key, 4).await,
        Err(SaveError::Fenced { stored: 5, ours: 4 }),
        "an older claimant"
    );
    store
        .save(&key, b"v4".to_vec(), 5, 4, None)
        .await
        .expect("the claimant writes on");
    assert_eq!(
        store.claim(&format!("{ns}:game:none"), 9).await.unwrap(),
        None
    );

    let session = format!("{ns}:session:s");
    store
        .put(&session, b"one".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    store
        .put(&session, b"two".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.load(&session).await.unwrap().unwrap().data, b"two");
    store.delete(&session).await.unwrap();
    assert_eq!(store.load(&session).await.unwrap(), None);

    let short = format!("{ns}:session:short");
    store
        .put(&short, b"x".to_vec(), Duration::from_millis(50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await; // the configured TTL, exercised
    assert_eq!(store.load(&short).await.unwrap(), None, "expired");

    let queue = format!("{ns}:queue:tictactoe:untimed:casual");
    store.set_queue_size(&queue, 3).await.unwrap();
    store.set_queue_size(&queue, 2).await.unwrap();
    let sizes = store.queue_sizes().await.unwrap();
    assert!(sizes.contains(&(queue, 2)), "{sizes:?}");
}

#[actix_web::test]
async fn the_in_process_snapshot_store_keeps_the_contract() {
    contract(MemoryCluster::new(), "t").await;
}

#[actix_web::test]
async fn the_redis_snapshot_store_keeps_the_contract() {
    let prefix = crate::servers::unique("t");
    let redis =
        rookery::cluster::redis::RedisCluster::new(&crate::servers::shared().redis_url, &prefix)
            .unwrap();
    contract(redis, "c").await;
}

#[actix_web::test]
async fn the_redis_cluster_snapshot_store_keeps_the_contract() {
    contract(crate::sharded(&crate::servers::unique("t")), "c").await;
}
