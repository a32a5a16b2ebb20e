//! The Origin check: a browser on a foreign page may neither open a socket here nor POST to the
//! routes that set this node's cookies (login CSRF). Refusals are audited as `origin_refused`.

use actix_web::HttpRequest;
use client_protocol::ErrorCode;

use super::error::HttpError;
use super::NodeData;
use crate::audit::{AuditOutcome, AuditType, NewEvent};

/// Is this `Origin` (if any) allowed here? A browser always sends one with a socket or a POST;
/// its absence means a non-browser client, which cannot ride a player's cookie.
fn origin_allowed(req: &HttpRequest, allowed: &[String], public: Option<&str>) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = super::peer::host(req);
    let own = [format!("http://{host}"), format!("https://{host}")];
    own.iter()
        .map(String::as_str)
        .chain(allowed.iter().map(String::as_str))
        .chain(public)
        .any(|o| o.eq_ignore_ascii_case(origin))
}

/// Refuses (403, audited as `origin_refused`) a request that a browser sent from a foreign
/// page: a socket, or a POST that would set this node's cookies (login CSRF).
pub fn check_origin(node: &NodeData, req: &HttpRequest, what: &str) -> Result<(), HttpError> {
    let public = node.config.public_origin();
    if origin_allowed(req, &node.config.allowed_origins, public) {
        return Ok(());
    }
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
    let origin: String = origin.unwrap_or("").chars().take(200).collect();
    let event = NewEvent::new(AuditType::OriginRefused, AuditOutcome::Refused)
        .ip(super::peer::client_ip(req))
        .text("origin", origin)
        .text("what", what);
    node.accounts.auditor.record(event);
    Err(HttpError::new(
        ErrorCode::Forbidden,
        format!("{what} from a foreign origin"),
    ))
}
