//! Operations endpoints: liveness, readiness (each dependency checked), Prometheus metrics.

use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use serde_json::json;

use super::NodeData;
use crate::telemetry;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive" }))
}

/// Runs one readiness check with a timeout and reports it as JSON.
async fn check<F, E>(probe: F) -> (bool, serde_json::Value)
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let (ok, error) = match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(())) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, Some("timed out after 2 s".to_owned())),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    (
        ok,
        json!({ "ok": ok, "latencyMs": (ms * 100.0).round() / 100.0, "error": error }),
    )
}

pub async fn readyz(node: NodeData) -> HttpResponse {
    let (store_ok, store) = check(node.store.ping()).await;
    let (snap_ok, snapshots) =
        check(async { node.snapshots.load("readyz-probe").await.map(|_| ()) }).await;
    let peers = match tokio::time::timeout(Duration::from_secs(2), node.membership.peers()).await {
        Ok(Ok(nodes)) => json!({ "ok": true, "nodes": nodes }),
        Ok(Err(e)) => json!({ "ok": false, "error": e.to_string() }),
        Err(_) => json!({ "ok": false, "error": "timed out after 2 s" }),
    };
    let hosted: serde_json::Map<String, serde_json::Value> = node
        .router
        .hosted()
        .into_iter()
        .map(|(kind, n)| (format!("{}s", kind.prefix()), json!(n)))
        .collect();
    // Details that do not make the node unready: how far behind each listener is, and
    // whether chess games are analysed here.
    let mut lags = serde_json::Map::new();
    for name in node.listeners.names() {
        let lag = match tokio::time::timeout(Duration::from_secs(2), node.events.lag(name)).await {
            Ok(Ok(lag)) => json!(lag),
            _ => serde_json::Value::Null,
        };
        lags.insert((*name).to_owned(), lag);
    }
    let draining = node.is_draining();
    let ready = store_ok && snap_ok && !draining;
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "node": node.id,
        "mode": node.mode,
        "draining": draining,
        "checks": { "store": store, "snapshots": snapshots, "peers": peers },
        "listeners": { "lag": lags },
        "analysis": { "chess": node.chess_analysis },
        "hosted": hosted,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(telemetry::prometheus().render() + &telemetry::process_metrics())
}
