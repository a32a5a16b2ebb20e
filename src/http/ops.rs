//! Operations endpoints: liveness, readiness (each dependency checked), Prometheus metrics.

use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use serde_json::json;

use super::NodeData;
use crate::telemetry;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive" }))
}

/// How long one readiness check may take. The checks run at once, so `/readyz` answers within
/// about this long even with every dependency hanging (a Kubernetes probe gives up after 1 s
/// by default).
const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

/// Runs one readiness check with a timeout and reports it as JSON.
async fn check<F, E>(probe: F) -> (bool, serde_json::Value)
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let (ok, error) = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, Some(format!("timed out after {CHECK_TIMEOUT:?}"))),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    (
        ok,
        json!({ "ok": ok, "latencyMs": (ms * 100.0).round() / 100.0, "error": error }),
    )
}

pub async fn readyz(node: NodeData) -> HttpResponse {
    let peers = async {
        match tokio::time::timeout(CHECK_TIMEOUT, node.membership.peers()).await {
            Ok(Ok(nodes)) => json!({ "ok": true, "nodes": nodes }),
            Ok(Err(e)) => json!({ "ok": false, "error": e.to_string() }),
            Err(_) => json!({ "ok": false, "error": format!("timed out after {CHECK_TIMEOUT:?}") }),
        }
    };
    // Details that do not make the node unready: how far behind each listener is.
    let lags = futures_util::future::join_all(node.listeners.names().iter().map(|name| async {
        let lag = match tokio::time::timeout(CHECK_TIMEOUT, node.events.lag(name)).await {
            Ok(Ok(lag)) => json!(lag),
            _ => serde_json::Value::Null,
        };
        ((*name).to_owned(), lag)
    }));
    let ((store_ok, store), (snap_ok, snapshots), peers, lags) = tokio::join!(
        check(node.store.ping()),
        check(async { node.snapshots.load("readyz-probe").await.map(|_| ()) }),
        peers,
        lags,
    );
    let lags: serde_json::Map<String, serde_json::Value> = lags.into_iter().collect();
    let hosted: serde_json::Map<String, serde_json::Value> = node
        .router
        .hosted()
        .into_iter()
        .map(|(kind, n)| (format!("{}s", kind.prefix()), json!(n)))
        .collect();
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
