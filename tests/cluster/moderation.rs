//! Moderation across node processes: a ban given on one node closes the account's sockets on
//! every other node, through the account's group on the bus, and drops the account from every
//! node's cache (a ban and its lifting show at the next connect anywhere); the audit log stays
//! one verified chain whichever node recorded each event.

use serde_json::json;

use crate::harness::Cluster;
use crate::helpers::Closed;

#[tokio::test]
async fn a_ban_given_on_one_node_closes_the_players_socket_on_another() {
    let cluster = Cluster::start();
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let admin = n1.register("admin").await;
    let griefer = n2.register("griefer").await;
    let mut socket = n2.connect(&griefer).await;
    socket.expect("client/RESUME_SESSION").await;

    let ban = json!({"reason": "griefing", "durationMs": 3_600_000});
    let (status, account) = n1
        .call("POST", "/api/admin/users/griefer/ban", &admin.token, ban)
        .await;
    assert_eq!(status, 200, "{account}");

    // First what the account is told (a notification), then the refusal and the close.
    let told = socket.next_is("client/NOTIFICATION").await;
    assert_eq!(told["kind"], "account", "{told}");
    let error = socket.expect_error("banned").await;
    assert_eq!(error["until"], account["bannedUntil"]);
    assert_eq!(socket.closed().await, Closed::Code(4003));
    let login = json!({"username": "griefer", "password": "correct horse"});
    let (status, _) = crate::helpers::http_post(&n2.endpoint, "/api/auth/login", &login).await;
    assert_eq!(status, 403, "refused on the other node too");

    // n2 keeps accounts it read in its cache (the socket above read this one): the ban
    // dropped it there too, so the next socket on n2 is refused at once.
    let mut again = n2.connect(&griefer).await;
    assert_eq!(
        again.expect_error("banned").await["until"],
        account["bannedUntil"]
    );
    assert_eq!(again.closed().await, Closed::Code(4003));
    // n2 now holds the banned account; lifting the ban on n1 drops that too.
    let (status, lifted) = n1
        .call(
            "DELETE",
            "/api/admin/users/griefer/ban",
            &admin.token,
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{lifted}");
    let mut back = n2.connect(&griefer).await;
    back.expect("client/RESUME_SESSION").await;

    // Events recorded by both nodes form one chain.
    let (status, verified) = n2
        .call("GET", "/api/admin/audit/verify", &admin.token, json!(null))
        .await;
    assert_eq!(status, 200);
    assert_eq!(verified["ok"], true, "{verified}");
    let (_, page) = n1
        .call(
            "GET",
            "/api/admin/audit?type=login&limit=50",
            &admin.token,
            json!(null),
        )
        .await;
    let logins = page["events"].as_array().unwrap();
    assert!(
        logins.iter().any(|e| e["actor"] == "griefer"),
        "n2's refused login is in n1's view: {page}"
    );
}
