//! The JSON API: accounts (`/api/auth/*`), players, finished games, queues. The caller's own
//! account (`/api/me...`) is in `me`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::http::{AuthResponse, Credentials, QueueSize, RefreshRequest, UserProfile};
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
/// The refresh token's cookie, sent only to `/api/auth/` (refresh and logout).
pub const REFRESH_COOKIE: &str = "rookery_refresh";
const REFRESH_COOKIE_PATH: &str = "/api/auth/";

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

/// Starts a session for a fresh identity and answers with tokens, session and cookies.
async fn started(node: &NodeData, auth: Authenticated) -> Result<HttpResponse, HttpError> {
    let state = SessionState::new(
        SessionId::generate(),
        auth.user.id.clone(),
        auth.user.view(),
    );
    save_session(node, &state).await?;
    Ok(signed_in(node, auth, state.id.to_string()))
}

async fn save_session(node: &NodeData, state: &SessionState) -> Result<(), HttpError> {
    node.sessions.save(state).await.map_err(|e| {
        tracing::warn!(error = %e, "session snapshot not saved");
        HttpError::new(
            ErrorCode::Unavailable,
            "sessions are unavailable, retry shortly",
        )
    })
}

/// The answer to a sign-in or a renewal: tokens and session in the body and in cookies.
fn signed_in(node: &NodeData, auth: Authenticated, session: String) -> HttpResponse {
    let cookie = |name: &'static str, value: String, path: &'static str, ttl: u64| {
        Cookie::build(name, value)
            .path(path)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(node.config.secure_cookies())
            .max_age(actix_web::cookie::time::Duration::seconds(ttl as i64))
            .finish()
    };
    let (access_ttl, refresh_ttl) = (node.config.token_ttl_secs, node.config.refresh_ttl_secs);
    let issued = auth.issued;
    HttpResponse::Ok()
        .cookie(cookie(TOKEN_COOKIE, issued.token.clone(), "/", access_ttl))
        .cookie(cookie(SESSION_COOKIE, session.clone(), "/", refresh_ttl))
        .cookie(cookie(
            REFRESH_COOKIE,
            issued.refresh_token.clone(),
            REFRESH_COOKIE_PATH,
            refresh_ttl,
        ))
        .json(AuthResponse {
            token: issued.token,
            session,
            user: auth.user.view(),
            refresh_token: issued.refresh_token,
            expires_at: issued.expires_at,
        })
}

/// A JSON object body that may be left out altogether (no body, or an empty one).
fn optional_body(body: &[u8]) -> Result<RefreshRequest, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RefreshRequest::default());
    }
    super::body::parse_object(body)
}

/// `POST /api/auth/refresh`: a refresh token (body `refreshToken`, else the `rookery_refresh`
/// cookie) renews the sign-in with fresh tokens; it is spent. The caller's session (body
/// `session`, else the cookie) is kept, or a new one started.
pub async fn refresh(
    node: NodeData,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    check_origin(&node, &req, "refresh")?;
    let asked = optional_body(&body)?;
    let token = asked
        .refresh_token
        .or_else(|| req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()))
        .ok_or_else(|| HttpError::new(ErrorCode::Unauthenticated, "no refresh token"))?;
    let auth = node.accounts.refresh(&token, client_ip(&req)).await?;
    let session = asked
        .session
        .or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()));
    let mut kept = None;
    if let Some(id) = session.as_deref().and_then(SessionId::parse) {
        if let Ok(Some(state)) = node.sessions.load(&id).await {
            if state.user_id == auth.user.id {
                kept = Some(state.id.to_string());
            }
        }
    }
    match kept {
        Some(session) => Ok(signed_in(&node, auth, session)),
        None => started(&node, auth).await,
    }
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

/// `POST /api/auth/logout`: the sign-in ends on every node (the access token, the refresh
/// token and every token renewed from them are refused from now on), the session (from the
/// cookie, or `?session=`) can no longer be resumed, the cookies are cleared, and the logout
/// is audited. Either token proves the caller: an expired access token with a live refresh
/// cookie still logs out.
pub async fn logout(
    node: NodeData,
    req: HttpRequest,
    query: web::Query<SessionQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let asked = optional_body(&body)?;
    let access = bearer(&req);
    let refresh = asked
        .refresh_token
        .or_else(|| req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()));
    let presented: Vec<&str> = access
        .iter()
        .chain(refresh.iter())
        .map(String::as_str)
        .collect();
    let unauthenticated = || HttpError::new(ErrorCode::Unauthenticated, "no valid token");
    let user = node
        .accounts
        .revoke(&presented)
        .await?
        .ok_or_else(unauthenticated)?;
    let session = query
        .into_inner()
        .session
        .or(asked.session)
        .or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()));
    if let Some(id) = session.as_deref().and_then(SessionId::parse) {
        // Only the caller's own session: someone else's is left alone, and nothing is said.
        if let Ok(Some(state)) = node.sessions.load(&id).await {
            if state.user_id == user {
                node.sessions.delete(&id).await.map_err(|e| {
                    tracing::warn!(error = %e, "session not deleted");
                    HttpError::new(ErrorCode::Unavailable, "sessions are unavailable, retry")
                })?;
            }
        }
    }
    let name = match node.store.user_by_id(&user).await {
        Ok(Some(account)) => Some(account.name),
        _ => None,
    };
    let mut event = NewEvent::new(AuditType::Logout, AuditOutcome::Ok).ip(client_ip(&req));
    event.actor = name;
    node.accounts.auditor.record(event);
    let expired = |name: &'static str, path: &'static str| {
        let mut cookie = Cookie::build(name, "")
            .path(path)
            .http_only(true)
            .secure(node.config.secure_cookies())
            .finish();
        cookie.make_removal();
        cookie
    };
    Ok(HttpResponse::NoContent()
        .cookie(expired(TOKEN_COOKIE, "/"))
        .cookie(expired(SESSION_COOKIE, "/"))
        .cookie(expired(REFRESH_COOKIE, REFRESH_COOKIE_PATH))
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
