//! Sign-ins across node processes: a logout on one node is refused on every other within a
//! bus hop (the revocation is the cluster's, in Redis, and heard by every node's cache), a
//! refresh token spent on one node cannot be spent again on another, and the login limits
//! count attempts from every node together.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Cluster, NodeProc};
use crate::helpers::http_post;

#[tokio::test]
async fn a_logout_holds_on_every_node_and_login_limits_are_the_clusters() {
    let cluster = Cluster::start();
    let env = [
        ("ROOKERY_LOGIN_PER_USER_PER_MIN", "4".to_owned()),
        ("ROOKERY_REFRESH_REUSE_GRACE_MS", "0".to_owned()),
    ];
    let n1 = cluster.node_with("n1", &env).await;
    let n2 = cluster.node_with("n2", &env).await;
    n1.register("walker").await;
    let login = json!({"username": "walker", "password": "correct horse"});
    let (status, signed) = http_post(&n1.endpoint, "/api/auth/login", &login).await;
    assert_eq!(status, 200, "{signed}");
    let token = signed["token"].as_str().unwrap();
    let (status, _) = n2.call("GET", "/api/me", token, json!(null)).await;
    assert_eq!(status, 200, "n2 takes n1's token");

    // Spent on n1, the refresh token is a stolen copy on n2: the sign-in ends everywhere.
    let spend = json!({"refreshToken": signed["refreshToken"]});
    let (status, renewed) = http_post(&n1.endpoint, "/api/auth/refresh", &spend).await;
    assert_eq!(status, 200, "{renewed}");
    let (status, body) = http_post(&n2.endpoint, "/api/auth/refresh", &spend).await;
    assert_eq!(status, 401, "{body}");
    let renewed_token = renewed["token"].as_str().unwrap();
    for node in [&n1, &n2] {
        refused_within_a_second(node, renewed_token).await;
    }

    // A plain logout on n2 ends a fresh sign-in on n1 too, socket included, though n1 had
    // checked that sign-in (and keeps what it checked): the revocation reaches it on the bus.
    let (_, again) = http_post(&n2.endpoint, "/api/auth/login", &login).await;
    let token = again["token"].as_str().unwrap();
    let (status, _) = n1.call("GET", "/api/me", token, json!(null)).await;
    assert_eq!(status, 200, "n1 checked the sign-in: not revoked");
    let (status, _) = n2.call("POST", "/api/auth/logout", token, json!({})).await;
    assert_eq!(status, 204);
    refused_within_a_second(&n1, token).await;
    let mut socket =
        rookery_testkit::Client::connect(&n1.endpoint, &format!("/ws?token={token}")).await;
    socket.expect_error("unauthenticated").await;

    // Four wrong passwords, two on each node: the fifth attempt is refused on either.
    let wrong = json!({"username": "walker", "password": "not the password"});
    for node in [&n1, &n2, &n1, &n2] {
        let (status, body) = http_post(&node.endpoint, "/api/auth/login", &wrong).await;
        assert_eq!(status, 401, "{body}");
    }
    for node in [&n1, &n2] {
        let (status, body) = http_post(&node.endpoint, "/api/auth/login", &login).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("rate_limited")),
            "on {}: {body}",
            node.id
        );
    }
}

/// `node` refuses `token` (401) within a second: at once where it was revoked, after a bus hop
/// elsewhere.
async fn refused_within_a_second(node: &NodeProc, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (status, _) = node.call("GET", "/api/me", token, json!(null)).await;
        if status == 401 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} still takes the revoked token: {status}",
            node.id
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
