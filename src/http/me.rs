//! The caller's own account: `GET`/`PUT /api/me` (the profile, with the email only its owner
//! sees) and its notifications (`GET /api/me/notifications`, `POST .../read`).

use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::http::{NotificationList, ProfileUpdate, ReadCount, ReadNotifications};
use client_protocol::{ErrorCode, Until};
use serde::Deserialize;

use super::api::{bearer, profile};
use super::body::JsonObject;
use super::error::HttpError;
use super::NodeData;
use crate::domain::{now_ms, Email};
use crate::store::{User, NOTIFICATIONS_KEPT};

/// The most ids one `POST /api/me/notifications/read` takes (as many as are kept).
const MAX_READ_IDS: usize = NOTIFICATIONS_KEPT as usize;
/// Notifications listed when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;

/// The account of the request's bearer token.
pub(super) async fn caller(node: &NodeData, req: &HttpRequest) -> Result<User, HttpError> {
    let token =
        bearer(req).ok_or_else(|| HttpError::new(ErrorCode::Unauthenticated, "no token"))?;
    Ok(node.accounts.user_from_token(&token).await?)
}

/// The profile with the owner's email.
fn own_profile(user: User) -> client_protocol::http::UserProfile {
    let email = user.email.as_ref().map(|e| e.as_str().to_owned());
    let playban = user.standing.playbanned(now_ms()).map(|s| s.until);
    client_protocol::http::UserProfile {
        email,
        playban_until: Some(Until(playban.flatten())),
        ..profile(user)
    }
}

/// `GET /api/me`.
pub async fn me(node: NodeData, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(own_profile(caller(&node, &req).await?)))
}

/// `PUT /api/me` `{email}`: sets the email (validated), or removes it with null. Guests have
/// no email: they cannot be reached once they leave.
pub async fn update(
    node: NodeData,
    req: HttpRequest,
    body: JsonObject<ProfileUpdate>,
) -> Result<HttpResponse, HttpError> {
    let mut user = caller(&node, &req).await?;
    let email = match body.0.email.as_deref() {
        Some(text) => Some(
            Email::parse(text)
                .map_err(|e| HttpError::new(ErrorCode::InvalidField, format!("email: {e}")))?,
        ),
        None => None,
    };
    if user.guest && email.is_some() {
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            "guests cannot have an email: register an account",
        ));
    }
    if !node.store.set_email(&user.id, email.as_ref()).await? {
        return Err(HttpError::new(ErrorCode::NotFound, "no such account"));
    }
    user.email = email;
    Ok(HttpResponse::Ok().json(own_profile(user)))
}

/// The query of `GET /api/me/notifications`.
#[derive(Deserialize)]
pub struct Listing {
    limit: Option<u32>,
    unread: Option<bool>,
}

/// `GET /api/me/notifications?limit=&unread=`: newest first.
pub async fn notifications(
    node: NodeData,
    req: HttpRequest,
    query: web::Query<Listing>,
) -> Result<HttpResponse, HttpError> {
    let user = caller(&node, &req).await?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=NOTIFICATIONS_KEPT).contains(&limit) {
        return Err(HttpError::new(
            ErrorCode::InvalidField,
            format!("limit must be 1..={NOTIFICATIONS_KEPT}"),
        ));
    }
    let notifications = node
        .store
        .notifications(&user.id, limit, query.unread.unwrap_or(false))
        .await?;
    Ok(HttpResponse::Ok().json(NotificationList { notifications }))
}

/// `POST /api/me/notifications/read` `{ids}`: marks the caller's own ones read.
pub async fn read(
    node: NodeData,
    req: HttpRequest,
    body: JsonObject<ReadNotifications>,
) -> Result<HttpResponse, HttpError> {
    let user = caller(&node, &req).await?;
    let ids = body.0.ids;
    if ids.len() > MAX_READ_IDS {
        return Err(HttpError::new(
            ErrorCode::InvalidField,
            format!("ids: at most {MAX_READ_IDS} at once"),
        ));
    }
    let read = node.store.mark_read(&user.id, &ids).await?;
    Ok(HttpResponse::Ok().json(ReadCount { read }))
}
