//! The browser page and the JavaScript SDK, embedded in the binary: `/` (web/index.html),
//! `/static/{file}` (the rest of web/) and `/sdk/rookery.js` (+ `.d.ts`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::ErrorCode;

use super::error::HttpError;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TS: &str = "application/typescript; charset=utf-8";

/// Everything under `/static/`: name, content type, bytes.
const STATIC: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../../web/app.js")),
    ("boards.js", JS, include_str!("../../web/boards.js")),
    ("chess.js", JS, include_str!("../../web/chess.js")),
    ("style.css", CSS, include_str!("../../web/style.css")),
    ("favicon.svg", SVG, include_str!("../../web/favicon.svg")),
];

const INDEX: &str = include_str!("../../web/index.html");
const SDK: &str = include_str!("../../client-protocol/js/rookery.js");
const SDK_TYPES: &str = include_str!("../../client-protocol/js/rookery.d.ts");

/// The page talks only to its own origin: scripts, styles, fetches and the socket.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// A strong validator for a body: FNV-1a, 64 bits.
fn etag(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// Serves an embedded file; browsers revalidate each time (`no-cache`) and get 304 when it did
/// not change, so a new binary's page is never mixed with an old one's scripts.
fn serve(req: &HttpRequest, content_type: &'static str, body: &'static str) -> HttpResponse {
    let tag = etag(body);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, tag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return response.finish();
    }
    if content_type == HTML {
        response
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"));
    }
    response.content_type(content_type).body(body)
}

/// `GET /`: the page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, HTML, INDEX)
}

/// `GET /static/{file}`: the page's scripts, styles and icon.
pub async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, HttpError> {
    let name = file.into_inner();
    STATIC
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, content_type, body)| serve(&req, content_type, body))
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, format!("no static file {name:?}")))
}

/// `GET /sdk/rookery.js`: the SDK as an ES module.
pub async fn sdk(req: HttpRequest) -> HttpResponse {
    serve(&req, JS, SDK)
}

/// `GET /sdk/rookery.d.ts`: its TypeScript declarations.
pub async fn sdk_types(req: HttpRequest) -> HttpResponse {
    serve(&req, TS, SDK_TYPES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_when_bodies_do_and_look_like_etags() {
        assert_ne!(etag("a"), etag("b"));
        assert_eq!(etag(SDK), etag(SDK));
        assert!(etag("").starts_with('"') && etag("").ends_with('"'));
    }

    #[test]
    fn the_page_loads_only_files_that_are_served() {
        for (name, _, _) in STATIC {
            if *name != "favicon.svg" && *name != "style.css" && *name != "app.js" {
                continue;
            }
            assert!(
                INDEX.contains(&format!("static/{name}")),
                "{name} not in index.html"
            );
        }
        // The page and its scripts use relative URLs only: they work behind a proxy unchanged.
        for (name, body) in [("index.html", INDEX)]
            .into_iter()
            .chain(STATIC.iter().map(|(n, _, b)| (*n, *b)))
        {
            for absolute in ["src=\"/", "href=\"/", "from \"/", "fetch(\"/"] {
                assert!(
                    !body.contains(absolute),
                    "{name} has an absolute URL: {absolute}"
                );
            }
        }
    }
}
