//! The JSON API: accounts (`/api/auth/*`), players, finished games, queues. The caller's own
//! account (`/api/me...`) is in `me`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::http::{AuthResponse, Credentials, QueueSize, UserProfile};
use client_protocol::{ErrorCode, GameKind};
use serde::Deserialize;

use super::body::JsonObject;
use super::error::HttpError;
use super::origin::check_origin;
use super::NodeData;
use crate::audit::{AuditOutcome, AuditType, NewEvent};
use crate::auth::Authenticated;
use crate::domain::{QueueKey, SessionId};
use crate::games::{pgn, PgnGame};
use crate::session::SessionState;
use crate::store::User;

/// Cookie names a browser carries to `/ws`.
pub const TOKEN_COOKIE: &str = "rookery_token";
pub const SESSION_COOKIE: &str = "rookery_session";

pub use super::peer::client_ip;

/// The bearer token of a request: `Authorization: Bearer`, else the cookie.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    // The scheme is case-insensitive (RFC 7235): `bearer` is as good as `Bearer`.
    let token = header.and_then(|h| {
        let (scheme, token) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token)
    });
    if let Some(token) = token {
        return Some(token.trim().to_owned());
    }
    req.cookie(TOKEN_COOKIE).map(|c| c.value().to_owned())
}

/// Starts a session for a fresh identity and answers with token, session and cookies.
async fn started(node: &NodeData, auth: Authenticated) -> Result<HttpResponse, HttpError> {
    let state = SessionState::new(
        SessionId::generate(),
        auth.user.id.clone(),
        auth.user.view(),
    );
    node.sessions.save(&state).await.map_err(|e| {
        tracing::warn!(error = %e, "session snapshot not saved");
        HttpError::new(
            ErrorCode::Unavailable,
            "sessions are unavailable, retry shortly",
        )
    })?;
    let max_age = actix_web::cookie::time::Duration::seconds(node.config.token_ttl_secs as i64);
    let cookie = |name: &'static str, value: String| {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(node.config.secure_cookies())
            .max_age(max_age)
            .finish()
    };
    Ok(HttpResponse::Ok()
        .cookie(cookie(TOKEN_COOKIE, auth.token.clone()))
        .cookie(cookie(SESSION_COOKIE, state.id.to_string()))
        .json(AuthResponse {
            token: auth.token,
            session: state.id.to_string(),
            user: auth.user.view(),
        }))
}

pub async fn register(
    node: NodeData,
    req: HttpRequest,
    body: JsonObject<Credentials>,
) -> Result<HttpResponse, HttpError> {
    check_origin(&node, &req, "register")?;
    let auth = node
        .accounts
        .register(
            &body.username,
            &body.password,
            body.email.as_deref(),
            client_ip(&req),
        )
        .await?;
    started(&node, auth).await
}

pub async fn login(
    node: NodeData,
    req: HttpRequest,
    body: JsonObject<Credentials>,
) -> Result<HttpResponse, HttpError> {
    check_origin(&node, &req, "login")?;
    let auth = node
        .accounts
        .login(&body.username, &body.password, client_ip(&req))
        .await?;
    started(&node, auth).await
}

/// `POST /api/auth/logout`: the session (from the cookie, or `?session=`) can no longer be
/// resumed, the cookies are cleared, and the logout is audited. The token itself stays valid
/// until it expires (tokens are not revocable; see ARCHITECTURE.md, known limits).
pub async fn logout(
    node: NodeData,
    req: HttpRequest,
    query: web::Query<SessionQuery>,
) -> Result<HttpResponse, HttpError> {
    let token =
        bearer(&req).ok_or_else(|| HttpError::new(ErrorCode::Unauthenticated, "no token"))?;
    let user = node.accounts.user_from_token(&token).await?;
    let session = query
        .into_inner()
        .session
        .or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()));
    if let Some(id) = session.as_deref().and_then(SessionId::parse) {
        // Only the caller's own session: someone else's is left alone, and nothing is said.
        if let Ok(Some(state)) = node.sessions.load(&id).await {
            if state.user_id == user.id {
                node.sessions.delete(&id).await.map_err(|e| {
                    tracing::warn!(error = %e, "session not deleted");
                    HttpError::new(ErrorCode::Unavailable, "sessions are unavailable, retry")
                })?;
            }
        }
    }
    let event = NewEvent::new(AuditType::Logout, AuditOutcome::Ok)
        .actor(user.name.clone())
        .ip(client_ip(&req));
    node.accounts.auditor.record(event);
    let expired = |name: &'static str| {
        let mut cookie = Cookie::build(name, "")
            .path("/")
            .http_only(true)
            .secure(node.config.secure_cookies())
            .finish();
        cookie.make_removal();
        cookie
    };
    Ok(HttpResponse::NoContent()
        .cookie(expired(TOKEN_COOKIE))
        .cookie(expired(SESSION_COOKIE))
        .finish())
}

#[derive(Deserialize)]
pub struct SessionQuery {
    session: Option<String>,
}

pub async fn guest(node: NodeData, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    check_origin(&node, &req, "guest")?;
    let auth = node.accounts.guest(client_ip(&req)).await?;
    started(&node, auth).await
}

/// An account as `GET /api/users/{name}` shows it to anyone (no email).
pub fn profile(user: User) -> UserProfile {
    UserProfile {
        id: user.id.to_string(),
        rating: user.glicko.display(),
        rating_deviation: (user.glicko.deviation * 10.0).round() / 10.0,
        name: user.name,
        guest: user.guest,
        games_played: user.games_played,
        created_at: user.created_at,
        roles: user.standing.roles,
        email: None,
        playban_until: None,
    }
}

pub async fn find_user(node: &NodeData, name: &str) -> Result<User, HttpError> {
    let found = node.store.user_by_name(&name.to_ascii_lowercase()).await?;
    found
        .map(|(user, _)| user)
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, format!("no user {name:?}")))
}

pub async fn user(node: NodeData, name: web::Path<String>) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(profile(find_user(&node, &name).await?)))
}

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<u32>,
}

/// A list's `limit`: 1 to 100, 20 when absent.
fn page_limit(limit: Option<u32>) -> Result<u32, HttpError> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(HttpError::new(
            ErrorCode::InvalidField,
            "limit must be 1..=100",
        ));
    }
    Ok(limit)
}

pub async fn user_games(
    node: NodeData,
    name: web::Path<String>,
    query: web::Query<Limit>,
) -> Result<HttpResponse, HttpError> {
    let limit = page_limit(query.limit)?;
    let user = find_user(&node, &name).await?;
    Ok(HttpResponse::Ok().json(node.store.games_of(&user.id, limit).await?))
}

/// The query of `GET /api/games/live`.
#[derive(Deserialize)]
pub struct LiveQuery {
    game: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/games/live?game=&limit=`: the games in play, most watched first, from the
/// cluster-wide index.
pub async fn live_games(
    node: NodeData,
    query: web::Query<LiveQuery>,
) -> Result<HttpResponse, HttpError> {
    let limit = page_limit(query.limit)?;
    let kind = match query.game.as_deref().filter(|g| !g.is_empty()) {
        Some(name) => Some(GameKind::parse(name).ok_or_else(|| {
            HttpError::new(
                ErrorCode::InvalidField,
                format!("game: no game kind {name:?} (tictactoe, connect4, chess)"),
            )
        })?),
        None => None,
    };
    let games = node
        .rooms
        .live
        .top(kind, limit as usize, crate::domain::now_ms())
        .await
        .map_err(|e| HttpError::new(ErrorCode::Unavailable, e.to_string()))?;
    Ok(HttpResponse::Ok().json(client_protocol::http::LiveGames { games }))
}

/// `/api/games/{id}` as JSON, or `/api/games/{id}.pgn` as PGN (chess only).
pub async fn game(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (id, as_pgn) = match id.strip_suffix(".pgn") {
        Some(id) => (id.to_owned(), true),
        None => (id.into_inner(), false),
    };
    let record =
        node.store.game(&id).await?.ok_or_else(|| {
            HttpError::new(ErrorCode::NotFound, format!("no finished game {id:?}"))
        })?;
    if !as_pgn {
        return Ok(HttpResponse::Ok().json(record));
    }
    if record.kind != GameKind::Chess {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            "PGN exists for chess games only",
        ));
    }
    let site = super::peer::host(&req);
    let text = pgn(&PgnGame::of(&record, &site)).map_err(|e| {
        HttpError::new(
            ErrorCode::Internal,
            format!("stored game does not replay: {e}"),
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-chess-pgn; charset=utf-8")
        .body(text))
}

pub async fn queues(node: NodeData) -> Result<HttpResponse, HttpError> {
    let sizes = node
        .snapshots
        .queue_sizes()
        .await
        .map_err(|e| HttpError::new(ErrorCode::Unavailable, e.to_string()))?;
    let body: Vec<QueueSize> = sizes
        .into_iter()
        .filter_map(|(key, waiting)| {
            Some(QueueSize {
                queue: QueueKey::parse(&key)?.spec()?,
                waiting,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
