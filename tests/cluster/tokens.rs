//! Sign-ins across node processes: a logout on one node is refused on every other (the
//! revocation is the cluster's, in Redis), a refresh token spent on one node cannot be spent
//! again on another, and the login limits count attempts from every node together.

use serde_json::json;

use crate::harness::Cluster;
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
        let (status, _) = node
            .call("GET", "/api/me", renewed_token, json!(null))
            .await;
        assert_eq!(status, 401, "revoked on {}", node.id);
    }

    // A plain logout on n2 ends a fresh sign-in on n1 too, socket included.
    let (_, again) = http_post(&n2.endpoint, "/api/auth/login", &login).await;
    let token = again["token"].as_str().unwrap();
    let (status, _) = n2.call("POST", "/api/auth/logout", token, json!({})).await;
    assert_eq!(status, 204);
    let (status, _) = n1.call("GET", "/api/me", token, json!(null)).await;
    assert_eq!(status, 401);
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
