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
            .request("POST", "/api/auth/logout", &[("authorization", &bearer)], b"")
            .await;
        assert_eq!(logout.status, 204, "{public_url:?}: {}", logout.text());
        for (what, response) in [("guest", &guest), ("logout", &logout)] {
            let cookies = cookie_attributes(response);
            assert_eq!(cookies.len(), 2, "{what}: token and session cookies: {cookies:?}");
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
