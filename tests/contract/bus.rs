//! The bus contract: a publish reaches every subscribed node and reports how many; nobody
//! subscribed means 0; a batch arrives in order with one count per message; unsubscribing
//! stops delivery.

use std::time::Duration;

use rookery::cluster::memory::MemoryCluster;
use rookery::cluster::{Bus, Incoming};
use tokio::sync::mpsc::UnboundedReceiver;

async fn next(rx: &mut UnboundedReceiver<Incoming>) -> Incoming {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("delivered in time")
        .expect("open")
}

/// `a` and `b` are two nodes' endpoints on one bus.
pub async fn contract(a: &dyn Bus, b: &dyn Bus, ns: &str) {
    let mut a_in = a.take_incoming().expect("incoming stream");
    let mut b_in = b.take_incoming().expect("incoming stream");
    assert!(a.take_incoming().is_none(), "taken once");
    let channel = format!("{ns}:game:bus");

    assert_eq!(a.publish(&channel, b"nobody".to_vec()).await.unwrap(), 0);

    b.subscribe(&channel).await.unwrap();
    assert_eq!(a.publish(&channel, b"hello".to_vec()).await.unwrap(), 1);
    let got = next(&mut b_in).await;
    assert_eq!(
        (got.channel.as_str(), got.payload.as_slice()),
        (channel.as_str(), &b"hello"[..])
    );

    a.subscribe(&channel).await.unwrap();
    assert_eq!(b.publish(&channel, b"both".to_vec()).await.unwrap(), 2);
    assert_eq!(next(&mut a_in).await.payload, b"both");
    assert_eq!(next(&mut b_in).await.payload, b"both");

    let quiet = format!("{ns}:game:nobody");
    let batch = (0..20)
        .map(|i| {
            let to = if i == 7 { &quiet } else { &channel };
            (to.clone(), format!("m{i}").into_bytes())
        })
        .collect();
    let receivers = a.publish_many(batch).await.unwrap();
    let expected: Vec<usize> = (0..20).map(|i| if i == 7 { 0 } else { 2 }).collect();
    assert_eq!(receivers, expected, "one count per message, in order");
    for i in (0..20).filter(|i| *i != 7) {
        assert_eq!(next(&mut a_in).await.payload, format!("m{i}").into_bytes());
        assert_eq!(next(&mut b_in).await.payload, format!("m{i}").into_bytes());
    }

    b.unsubscribe(&channel).await.unwrap();
    assert_eq!(a.publish(&channel, b"only a".to_vec()).await.unwrap(), 1);
    assert_eq!(next(&mut a_in).await.payload, b"only a");
}

#[actix_web::test]
async fn the_in_process_bus_keeps_the_contract() {
    let cluster = MemoryCluster::new();
    contract(&cluster.bus(), &cluster.bus(), "t").await;
}

#[actix_web::test]
async fn the_redis_bus_keeps_the_contract() {
    let prefix = crate::servers::unique("t");
    let url = &crate::servers::shared().redis_url;
    let a = rookery::cluster::redis::RedisCluster::new(url, &prefix).unwrap();
    let b = rookery::cluster::redis::RedisCluster::new(url, &prefix).unwrap();
    contract(&a.bus("a").await.unwrap(), &b.bus("b").await.unwrap(), "c").await;
}

#[actix_web::test]
async fn the_redis_cluster_bus_keeps_the_contract() {
    let prefix = crate::servers::unique("t");
    let (a, b) = (crate::sharded(&prefix), crate::sharded(&prefix));
    contract(&a.bus("a").await.unwrap(), &b.bus("b").await.unwrap(), "c").await;
}
