//! The websocket endpoint: checks the upgrade (Origin, draining), negotiates the session from
//! the token (`?token=`, the `rookery.bearer.` subprotocol, `Authorization` or the cookie) and
//! `?session=`, starts the session actor and its single writer task.

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::ErrorCode;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::api::{bearer, SESSION_COOKIE};
use super::error::HttpError;
use super::origin::check_origin;
use super::NodeData;
use crate::session::actor::{Outbound, SessionActor};
use crate::session::opening::Opening;
use crate::session::transport::Messages;

/// Largest frame and message the transport reads; past 16 KiB the session answers `bad_frame`.
/// A frame past this is answered `bad_frame` and closed (1009); a fragmented message past it is
/// answered `bad_frame` and skipped.
const MAX_TRANSPORT_FRAME: usize = 1024 * 1024;

/// The subprotocol a client offers beside its token (`Sec-WebSocket-Protocol: rookery,
/// rookery.bearer.<token>`), so that the token stays out of the URL and of access logs; the
/// node answers with this one (a browser refuses an answer naming none it offered).
const SUBPROTOCOL: &str = "rookery";
const BEARER_SUBPROTOCOL: &str = "rookery.bearer.";

/// The token offered as a subprotocol, if any.
fn subprotocol_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(BEARER_SUBPROTOCOL))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[derive(Deserialize)]
pub struct Connect {
    token: Option<String>,
    session: Option<String>,
}

pub async fn upgrade(
    node: NodeData,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<Connect>,
) -> Result<HttpResponse, actix_web::Error> {
    if node.is_draining() {
        return Err(HttpError::new(
            ErrorCode::Unavailable,
            "node is draining: connect to another",
        )
        .into());
    }
    let peer = super::peer::client_ip(&req);
    check_origin(&node, &req, "websocket")?;
    let query = query.into_inner();
    let token = query
        .token
        .or_else(|| subprotocol_token(&req))
        .or_else(|| bearer(&req));
    let session = query
        .session
        .or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()));
    let env = node.session_env();
    let opening = Opening::negotiate(&env, token.as_deref(), session.as_deref(), peer).await;

    let (response, mut socket, stream) =
        actix_ws::handle_with_protocols(&req, body, &[SUBPROTOCOL])?;
    let stream = Messages::new(stream, MAX_TRANSPORT_FRAME);
    let (tx, mut rx) = mpsc::channel::<Outbound>(node.config.outbound_queue.max(1));
    actix_web::rt::spawn(async move {
        while let Some(out) = rx.recv().await {
            let sent = match out {
                Outbound::Text(text) => socket.text(text).await,
                Outbound::Ping => socket.ping(b"").await,
                Outbound::Pong(bytes) => socket.pong(&bytes).await,
                Outbound::Close(reason) => {
                    let _ = socket.close(reason).await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = socket.close(None).await;
    });
    SessionActor::create(move |ctx| {
        ctx.add_stream(stream);
        SessionActor::new(env, tx, peer, opening)
    });
    Ok(response)
}
