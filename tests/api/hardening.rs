//! What a hostile probe found from outside (issue 16), each case pinned: cookies over HTTPS,
//! HTTP methods and parser errors, strict input, the metrics of a fresh node.

use serde_json::{json, Value};

use crate::helpers::*;

/// The attributes of each `Set-Cookie` of a response, lower-cased, keyed by cookie name.
fn cookie_attributes(response: &rookery_testkit::http::Response) -> Vec<(String, Vec<String>)> {
    response
        .header_values("set-cookie")
        .map(|cookie| {
            let mut parts = cookie.split(';');
            let name = parts
                .next()
                .and_then(|pair| pair.split_once('='))
                .map(|(name, _)| name.trim().to_owned())
                .unwrap_or_default();
            let attributes = parts.map(|a| a.trim().to_ascii_lowercase()).collect();
            (name, attributes)
        })
        .collect()
}

#[actix_web::test]
async fn cookies_are_secure_when_the_public_url_is_https_and_only_then() {
    let json_headers = [("content-type", "application/json")];
    for (public_url, secure) in [
        (None, false),
        (Some("http://localhost:8080"), false),
        (Some("https://play.example.com"), true),
    ] {
        let app = spawn_app_with(|c| c.public_url = public_url.map(str::to_owned)).await;
        let guest = app
            .request("POST", "/api/auth/guest", &json_headers, b"{}")
            .await;
        assert_eq!(guest.status, 200, "{public_url:?}: {}", guest.text());
        let token = guest.json()["token"].as_str().unwrap().to_owned();
        let bearer = format!("Bearer {token}");
        let logout = app
            .request(
                "POST",
                "/api/auth/logout",
                &[("authorization", &bearer)],
                b"",
            )
            .await;
        assert_eq!(logout.status, 204, "{public_url:?}: {}", logout.text());
        for (what, response) in [("guest", &guest), ("logout", &logout)] {
            let cookies = cookie_attributes(response);
            assert_eq!(
                cookies.len(),
                3,
                "{what}: token, session and refresh cookies: {cookies:?}"
            );
            for (name, attributes) in cookies {
                assert_eq!(
                    attributes.iter().any(|a| a == "secure"),
                    secure,
                    "{public_url:?} {what}: {name} Secure? {attributes:?}"
                );
            }
        }
    }
}

#[actix_web::test]
async fn the_public_url_origin_may_post_to_cookie_setting_routes() {
    let app = spawn_app_with(|c| c.public_url = Some("https://play.example.com".into())).await;
    let headers = [
        ("content-type", "application/json"),
        ("origin", "https://play.example.com"),
    ];
    let response = app
        .request("POST", "/api/auth/guest", &headers, b"{}")
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let foreign = [
        ("content-type", "application/json"),
        ("origin", "https://evil.example.com"),
    ];
    let response = app
        .request("POST", "/api/auth/guest", &foreign, b"{}")
        .await;
    assert_eq!(response.status, 403, "{}", response.text());
}

/// Registers `name` with `headers` added; the address the audit log recorded for it.
async fn audited_ip(
    app: &TestApp,
    admin: &Identity,
    name: &str,
    headers: &[(&str, &str)],
) -> Value {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let body = json!({"username": name, "password": "correct horse"}).to_string();
    let response = app
        .request("POST", "/api/auth/register", &all, body.as_bytes())
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let path = format!("/api/admin/audit?type=register&actor={name}");
    let (status, audit) = app.call("GET", &path, Some(&admin.token), None).await;
    assert_eq!(status, 200, "{audit}");
    audit["events"][0]["ip"].clone()
}

#[actix_web::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let spoof = [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=198.51.100.9"),
    ];
    // Nobody trusted: the peer is the client, whatever the headers claim.
    let app = spawn_app_with(|c| c.admins = vec!["admin".into()]).await;
    let admin = app.register("admin").await;
    assert_eq!(
        audited_ip(&app, &admin, "direct", &spoof).await,
        "127.0.0.1"
    );
    let foreign = [
        ("content-type", "application/json"),
        ("origin", "http://evil.example"),
        ("x-forwarded-host", "evil.example"),
    ];
    let response = app
        .request("POST", "/api/auth/guest", &foreign, b"{}")
        .await;
    assert_eq!(
        response.status, 403,
        "an untrusted X-Forwarded-Host cannot make a foreign origin ours"
    );
    app.stop().await;

    // Behind a trusted proxy (this test's loopback peer), the client it names counts.
    let app = spawn_app_with(|c| {
        c.admins = vec!["admin".into()];
        c.trusted_proxies = vec![rookery::config::Cidr::parse("127.0.0.0/8").unwrap()];
    })
    .await;
    let admin = app.register("admin").await;
    let chain = [("x-forwarded-for", "203.0.113.7, 127.0.0.5")];
    assert_eq!(
        audited_ip(&app, &admin, "proxied", &chain).await,
        "203.0.113.7",
        "the nearest address that is not a trusted proxy"
    );
    let forwarded = [("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")];
    assert_eq!(
        audited_ip(&app, &admin, "rfc7239", &forwarded).await,
        "2001:db8::7"
    );
    let response = app
        .request("POST", "/api/auth/guest", &foreign, b"{}")
        .await;
    assert_eq!(
        response.status,
        200,
        "the proxy vouches for the host: {}",
        response.text()
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// HTTP methods and requests refused before a handler

#[actix_web::test]
async fn a_method_a_known_path_does_not_serve_is_a_json_405_listing_the_allowed_ones() {
    let app = spawn_app().await;
    let cases = [
        ("DELETE", "/healthz", "GET, HEAD"),
        ("POST", "/metrics", "GET, HEAD"),
        ("GET", "/api/auth/login", "POST"),
        ("PUT", "/api/auth/register", "POST"),
        ("PATCH", "/api/users/alice", "GET, HEAD"),
        ("PUT", "/api/admin/users/alice/ban", "POST, DELETE"),
        ("POST", "/", "GET, HEAD"),
        ("POST", "/ws", "GET"),
    ];
    for (method, path, allow) in cases {
        let response = app.request(method, path, &[], b"").await;
        let body = response.json();
        assert_eq!(response.status, 405, "{method} {path}: {body}");
        assert_eq!(
            body["code"], "method_not_allowed",
            "{method} {path}: {body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        let allowed: Vec<&str> = response.header_values("allow").collect();
        assert_eq!(allowed, [allow], "{method} {path}");
    }
    let (status, body) = app.get("/no/such/path").await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
}

#[actix_web::test]
async fn head_answers_every_get_route_with_its_headers_and_no_body() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/metrics", "/", "/api/queues"] {
        let get = app.request("GET", path, &[], b"").await;
        let head = app.request("HEAD", path, &[], b"").await;
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has no body");
        let content_type = |r: &rookery_testkit::http::Response| {
            r.header_values("content-type")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(content_type(&head), content_type(&get), "HEAD {path}");
    }
}

type Headers<'a> = &'a [(&'a str, &'a str)];

#[actix_web::test]
async fn every_refused_body_is_a_json_error_that_says_what_is_expected() {
    let app = spawn_app().await;
    let json = [("content-type", "application/json")];
    let long = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(20_000));
    // (case, headers, body, what the message must say)
    let cases: Vec<(&str, Headers, &str, &str)> = vec![
        (
            "an array",
            &json,
            r#"["alice","correct horse"]"#,
            "JSON object",
        ),
        ("a string", &json, r#""alice""#, "JSON object"),
        ("null", &json, "null", "JSON object"),
        ("not JSON", &json, "{username", "not valid JSON"),
        (
            "no content type",
            &[],
            r#"{"username":"a","password":"b"}"#,
            "application/json",
        ),
        (
            "a number for a name",
            &json,
            r#"{"username":5,"password":"x"}"#,
            "expected a string",
        ),
        ("over the limit", &json, &long, "bytes"),
    ];
    for (case, headers, body, says) in cases {
        let response = app
            .request("POST", "/api/auth/register", headers, body.as_bytes())
            .await;
        let reply = response.json();
        assert_eq!(response.status, 400, "{case}: {}", response.text());
        assert_eq!(reply["code"], "invalid_field", "{case}: {reply}");
        let message = reply["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{case}: {message:?} says {says:?}");
        for rust in ["Credentials", "struct", "Json deserialize"] {
            assert!(
                !message.contains(rust),
                "{case}: no Rust names in {message:?}"
            );
        }
    }
    // The array did not register anyone.
    let (status, _) = app.get("/api/users/alice").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn bad_paths_and_queries_are_json_errors() {
    let app = spawn_app().await;
    for path in [
        "/api/users/alice/games?limit=many",
        "/api/users/alice/games?limit=-1",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "invalid_field", "{path}: {body}");
    }
}

#[actix_web::test]
async fn a_request_the_http_parser_refuses_is_answered_and_the_node_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let many_headers: String = (0..200).map(|i| format!("X-Probe-{i}: x\r\n")).collect();
    let cases = [
        ("a garbage request line", "GARBAGE\r\n\r\n".to_owned(), 400),
        (
            "too many headers",
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n"),
            431,
        ),
    ];
    for (case, request, status) in cases {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
            .await
            .expect("answered")
            .ok();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{case}: {answer}"
        );
    }
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------------------------
// Strict input on the socket

#[actix_web::test]
async fn a_queue_must_name_game_clock_and_rated() {
    let app = spawn_app().await;
    let who = app.guest().await;
    let mut client = app.connect(&who).await;
    let cases = [
        (json!({"game": "tictactoe"}), "clock"),
        (json!({"game": "tictactoe", "clock": null}), "rated"),
        (json!({"game": "tictactoe", "rated": false}), "clock"),
        (json!({"clock": null, "rated": false}), "game"),
        (
            json!({"game": "tictactoe", "clock": null, "rated": "no"}),
            "expected a boolean",
        ),
        (json!("tictactoe"), "queue must be an object"),
        (
            json!(["tictactoe", null, false]),
            "queue must be an object, not an array",
        ),
        (
            json!({"game": "chess", "clock": [60_000, 0], "rated": false}),
            "queue.clock must be an object",
        ),
    ];
    for (i, (queue, says)) in cases.into_iter().enumerate() {
        let reference = format!("q{i}");
        client
            .send(json!({"type": "server/START_MATCHMAKING", "queue": queue, "ref": reference}))
            .await;
        let error = client.next_is("client/ERROR").await;
        assert_eq!(error["code"], "invalid_field", "{queue}: {error}");
        assert_eq!(error["ref"], reference);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(says),
            "{queue}: {message:?} names {says:?}"
        );
        assert!(
            !message.contains("QueueSpec") && !message.contains("struct"),
            "{message}"
        );
    }
    // Nothing was queued: a cancel finds no queue.
    client
        .send(json!({"type": "server/CANCEL_MATCHMAKING"}))
        .await;
    client.expect_error("not_in_queue").await;
}

#[actix_web::test]
async fn a_chess_move_must_be_lower_case_uci_with_nothing_around_it() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("chess")).await;
    let id = game.id.clone();
    for loose in ["E2E4", " e2e4", "e2e4 ", "e2e4\t"] {
        game.first
            .send(json!({"type": "game/PLAYER_MOVE", "game": id, "seq": 0, "move": loose}))
            .await;
        let error = game.first.next_is("client/ERROR").await;
        assert_eq!(error["code"], "illegal_move", "{loose:?}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains("lower case"),
            "says what is expected: {error}"
        );
    }
    let ack = game.play(&[json!("e2e4")]).await;
    assert_eq!(ack["lastMove"], "e2e4");
}

// ---------------------------------------------------------------------------------------------
// Metrics on a fresh node

/// `# TYPE name kind` lines of a Prometheus text page.
fn types(page: &str) -> Vec<(String, String)> {
    page.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, k)| (n.to_owned(), k.to_owned()))
        .collect()
}

#[actix_web::test]
async fn a_fresh_node_describes_every_metric_with_zeros_build_info_and_process_metrics() {
    let app = spawn_app().await;
    let (status, page) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    let types = types(&page);
    let has = |name: &str, kind: &str| {
        assert!(
            types.iter().any(|(n, k)| n == name && k == kind),
            "{name} ({kind}) is described:\n{page}"
        );
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} "))),
            "{name} has HELP"
        );
    };
    for (name, kind) in [
        ("rookery_sessions_connected", "gauge"),
        ("rookery_games_live", "gauge"),
        ("rookery_moves_total", "counter"),
        ("rookery_games_finished_total", "counter"),
        ("rookery_client_errors_total", "counter"),
        ("rookery_unknown_message_types_total", "counter"),
        ("rookery_frames_received_total", "counter"),
        ("rookery_slow_consumers_total", "counter"),
        ("rookery_bus_published_total", "counter"),
        ("rookery_activations_total", "counter"),
        ("rookery_audit_events_total", "counter"),
        ("rookery_audit_dropped_total", "counter"),
        ("rookery_audit_write_failures_total", "counter"),
        ("rookery_http_rejected_total", "counter"),
        ("rookery_ws_bad_frames_total", "counter"),
        ("rookery_build_info", "gauge"),
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        has(name, kind);
    }
    // Labels are wire names, present before anything happened.
    for series in [
        r#"rookery_games_finished_total{kind="chess",reason="checkmate"}"#,
        r#"rookery_client_errors_total{code="bad_frame"}"#,
        r#"rookery_moves_total{kind="tictactoe"}"#,
    ] {
        assert!(
            page.lines().any(|l| l.starts_with(series)),
            "{series} is listed:\n{page}"
        );
    }
    let build = page
        .lines()
        .find(|l| l.starts_with("rookery_build_info{"))
        .expect("build info");
    assert!(
        build.contains(&format!(r#"version="{}""#, env!("CARGO_PKG_VERSION")))
            && build.contains("commit=\"")
            && build.ends_with(" 1"),
        "{build}"
    );
    let rss: f64 = page
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .expect("rss")
        .parse()
        .unwrap();
    assert!(rss > 0.0, "{rss}");
}

#[actix_web::test]
async fn a_finished_game_is_counted_under_its_lower_case_reason() {
    let app = spawn_app().await;
    let mut game = playing(&app, queue("tictactoe")).await;
    // x: 0, 1, 2 (top row); o: 3, 4.
    game.play(&[json!(0), json!(3), json!(1), json!(4), json!(2)])
        .await;
    game.first.expect("client/GAME_OVER").await;
    let (_, page) = app.get_text("/metrics").await;
    let line = page
        .lines()
        .find(|l| l.starts_with(r#"rookery_games_finished_total{kind="tictactoe",reason="line"}"#))
        .unwrap_or_else(|| panic!("the line reason is counted:\n{page}"));
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value >= 1.0, "{line}");
    assert!(!page.contains("reason=\"Line\""), "no Rust names in labels");
}
