//! The browser page and the JavaScript SDK, embedded in the binary: `/` (web/index.html),
//! `/static/...` (the rest of web/, boards/ included) and `/sdk/...` (the SDK's modules and
//! `rookery.d.ts`), all from one table.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TS: &str = "application/typescript; charset=utf-8";

/// A row of [`FILES`]: URL path, content type, and a file of the repository, embedded.
macro_rules! embed {
    ($path:literal, $content_type:expr, $file:literal) => {
        (
            $path,
            $content_type,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file)),
        )
    };
}

/// Every file served: URL path, content type, bytes. Anything else is the JSON 404 of the
/// default service. A file added under web/ or to the SDK needs its row here (the tests below
/// and `client-protocol/js/test/served.test.mjs` say which).
const FILES: &[(&str, &str, &str)] = &[
    embed!("/", HTML, "web/index.html"),
    embed!("/static/admin.js", JS, "web/admin.js"),
    embed!("/static/app.js", JS, "web/app.js"),
    embed!("/static/boards.js", JS, "web/boards.js"),
    embed!("/static/boards/chess.js", JS, "web/boards/chess.js"),
    embed!("/static/boards/connect4.js", JS, "web/boards/connect4.js"),
    embed!("/static/boards/tictactoe.js", JS, "web/boards/tictactoe.js"),
    embed!("/static/chess.js", JS, "web/chess.js"),
    embed!("/static/dom.js", JS, "web/dom.js"),
    embed!("/static/style.css", CSS, "web/style.css"),
    embed!("/static/favicon.svg", SVG, "web/favicon.svg"),
    embed!("/sdk/rookery.js", JS, "client-protocol/js/rookery.js"),
    embed!("/sdk/rookery.d.ts", TS, "client-protocol/js/rookery.d.ts"),
    embed!("/sdk/client.js", JS, "client-protocol/js/client.js"),
    embed!("/sdk/connection.js", JS, "client-protocol/js/connection.js"),
    embed!("/sdk/errors.js", JS, "client-protocol/js/errors.js"),
    embed!("/sdk/http.js", JS, "client-protocol/js/http.js"),
    embed!("/sdk/messages.js", JS, "client-protocol/js/messages.js"),
    embed!("/sdk/protocol.js", JS, "client-protocol/js/protocol.js"),
    embed!("/sdk/requests.js", JS, "client-protocol/js/requests.js"),
    embed!("/sdk/view.js", JS, "client-protocol/js/view.js"),
];

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

/// Registers `GET` and `HEAD` for each row of [`FILES`] (405 for other methods).
pub fn routes(cfg: &mut web::ServiceConfig) {
    for &(path, content_type, body) in FILES {
        let file = move |req: HttpRequest| async move { serve(&req, content_type, body) };
        cfg.service(super::resource!(path, get => file));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    fn body(path: &str) -> &'static str {
        FILES
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, _, b)| *b)
            .unwrap_or_else(|| panic!("{path} is not served"))
    }

    /// Every file under `dir`, as paths relative to it with `/` separators.
    fn files_under(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("a readable directory") {
            let entry = entry.expect("an entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().expect("a file type").is_dir() {
                files_under(&entry.path(), &format!("{prefix}{name}/"), out);
            } else {
                out.insert(format!("{prefix}{name}"));
            }
        }
    }

    #[test]
    fn etags_differ_when_bodies_do_and_look_like_etags() {
        let sdk = body("/sdk/rookery.js");
        assert_ne!(etag("a"), etag("b"));
        assert_eq!(etag(sdk), etag(sdk));
        assert!(etag("").starts_with('"') && etag("").ends_with('"'));
    }

    #[test]
    fn every_file_of_the_page_and_the_sdk_is_served() {
        let served: BTreeSet<&str> = FILES.iter().map(|(p, _, _)| *p).collect();
        assert_eq!(served.len(), FILES.len(), "a path is in FILES twice");
        let mut web = BTreeSet::new();
        files_under(&Path::new(ROOT).join("web"), "", &mut web);
        for file in web {
            let path = if file == "index.html" {
                "/".to_owned()
            } else {
                format!("/static/{file}")
            };
            assert!(served.contains(path.as_str()), "web/{file} is not in FILES");
        }
        let sdk = std::fs::read_dir(Path::new(ROOT).join("client-protocol/js")).expect("js/");
        for entry in sdk {
            let name = entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".js") || name.ends_with(".d.ts") {
                let path = format!("/sdk/{name}");
                assert!(
                    served.contains(path.as_str()),
                    "client-protocol/js/{name} is not in FILES"
                );
            }
        }
    }

    #[test]
    fn every_game_kind_has_its_board() {
        let schema: serde_json::Value = serde_json::from_str(include_str!(
            "../../client-protocol/schema/rookery.schema.json"
        ))
        .expect("the schema is JSON");
        let kinds = schema["$defs"]["GameKind"]["enum"]
            .as_array()
            .expect("GameKind is an enum");
        let registry = body("/static/boards.js");
        for kind in kinds {
            let kind = kind.as_str().expect("a kind is a string");
            body(&format!("/static/boards/{kind}.js"));
            assert!(
                registry.contains(&format!("\"./boards/{kind}.js\"")),
                "web/boards.js does not import the {kind} board"
            );
        }
    }

    #[test]
    fn the_page_loads_only_files_that_are_served() {
        let index = body("/");
        for name in ["favicon.svg", "style.css", "app.js"] {
            body(&format!("/static/{name}"));
            assert!(
                index.contains(&format!("static/{name}")),
                "{name} not in index.html"
            );
        }
        // The page, its scripts and the SDK use relative URLs only: they work behind a proxy
        // unchanged.
        for (path, _, body) in FILES {
            for absolute in ["src=\"/", "href=\"/", "from \"/", "fetch(\"/"] {
                assert!(
                    !body.contains(absolute),
                    "{path} has an absolute URL: {absolute}"
                );
            }
        }
    }
}
