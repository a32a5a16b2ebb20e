//! Tournaments over HTTP: admins create and cancel them and manage registrations; players
//! list them, see one, join and withdraw. Reads come from the store's records; every change
//! goes to the tournament's actor, wherever it runs, and the handler waits for its answer
//! (`Router::ask`), so a `409 tournament_full` is the actor's decision, never a guess.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::tournament::{
    RegistrationAdd, RegistrationList, TournamentCreate, TournamentList,
};
use client_protocol::{ErrorCode, Role, TournamentStatus, TournamentView};
use serde::Deserialize;

use super::admin::authorize;
use super::api::{client_ip, find_user};
use super::body::JsonObject;
use super::error::HttpError;
use super::me::caller;
use super::NodeData;
use crate::actors::tournament::{self, TournamentState};
use crate::audit::{AuditOutcome, AuditType, NewEvent};
use crate::domain::{now_ms, TournamentId};
use crate::messages::{
    Address, Answer, Caller, Entrant, Envelope, TournamentAction, TournamentCommand,
};
use crate::store::User;

/// How long a handler waits for the tournament's answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Most tournaments one list shows.
const LIST_LIMIT: usize = 100;

fn parse_id(id: &str) -> Result<TournamentId, HttpError> {
    TournamentId::parse(id).ok_or_else(|| HttpError::new(ErrorCode::NotFound, "no such tournament"))
}

/// Sends `action` to the tournament and waits for its answer.
async fn ask(
    node: &NodeData,
    id: &TournamentId,
    action: TournamentAction,
) -> Result<Answer, HttpError> {
    let to = Address::tournament(id);
    let envelope = |reply: Address| Envelope {
        to,
        body: TournamentCommand {
            from: Caller::Request(reply),
            action: Box::new(action),
        }
        .into(),
    };
    match node.router.ask(envelope, ANSWER_WITHIN).await {
        Some(reply) => match reply.0 {
            Answer::Refused { code, message } => Err(HttpError::new(code, message)),
            answer => Ok(answer),
        },
        None => Err(HttpError::new(
            ErrorCode::Unavailable,
            "the tournament did not answer in time, retry",
        )),
    }
}

async fn ask_view(
    node: &NodeData,
    id: &TournamentId,
    action: TournamentAction,
) -> Result<TournamentView, HttpError> {
    match ask(node, id, action).await? {
        Answer::Tournament(view) => Ok(*view),
        other => {
            tracing::error!(?other, "a tournament answered without its view");
            Err(HttpError::new(ErrorCode::Internal, "unexpected answer"))
        }
    }
}

fn entrant(user: &User) -> Entrant {
    Entrant {
        user_id: user.id.clone(),
        name: user.name.clone(),
        rating: user.glicko.display(),
        guest: user.guest,
    }
}

/// `POST /api/tournaments` (admin): 201 with the view.
pub async fn create(
    node: NodeData,
    req: HttpRequest,
    body: JsonObject<TournamentCreate>,
) -> Result<HttpResponse, HttpError> {
    let admin = authorize(&node, &req, Role::Admin, Some(AuditType::TournamentCreated)).await?;
    let now = now_ms();
    let spec = tournament::check(&body.0, now)
        .map_err(|message| HttpError::new(ErrorCode::InvalidField, message))?;
    let id = TournamentId::generate();
    let state = TournamentState::new(id.clone(), spec, admin.name.clone(), now);
    let record = tournament::create(&*node.snapshots, &*node.store, state)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "tournament not created");
            HttpError::new(
                ErrorCode::Unavailable,
                "the tournament could not be saved, retry",
            )
        })?;
    let event = NewEvent::new(AuditType::TournamentCreated, AuditOutcome::Ok)
        .actor(admin.name)
        .ip(client_ip(&req))
        .text("tournament", id.to_string())
        .text("name", record.view.name.clone());
    node.accounts.auditor.record(event);
    // Wake it now: it reminds, starts and pairs on its own from here.
    node.router.send(Envelope {
        to: Address::tournament(&id),
        body: TournamentCommand {
            from: Caller::Server,
            action: Box::new(TournamentAction::Wake),
        }
        .into(),
    });
    Ok(HttpResponse::Created().json(record.view))
}

/// `POST /api/tournaments/{id}/cancel` (admin).
pub async fn cancel(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let admin = authorize(
        &node,
        &req,
        Role::Admin,
        Some(AuditType::TournamentCancelled),
    )
    .await?;
    let id = parse_id(&id)?;
    let view = ask_view(
        &node,
        &id,
        TournamentAction::Cancel {
            by: admin.name.clone(),
        },
    )
    .await?;
    let event = NewEvent::new(AuditType::TournamentCancelled, AuditOutcome::Ok)
        .actor(admin.name)
        .ip(client_ip(&req))
        .text("tournament", id.to_string());
    node.accounts.auditor.record(event);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    status: Option<String>,
}

/// `GET /api/tournaments?status=`: soonest first for `created`, newest first otherwise.
pub async fn list(node: NodeData, query: web::Query<Listing>) -> Result<HttpResponse, HttpError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(text) => Some(TournamentStatus::parse(text).ok_or_else(|| {
            HttpError::new(
                ErrorCode::InvalidField,
                "status: created, started, finished or cancelled",
            )
        })?),
    };
    let records = node.store.tournaments(status, LIST_LIMIT).await?;
    let tournaments = records.into_iter().map(|r| r.view).collect();
    Ok(HttpResponse::Ok().json(TournamentList { tournaments }))
}

/// `GET /api/tournaments/{id}`.
pub async fn one(node: NodeData, id: web::Path<String>) -> Result<HttpResponse, HttpError> {
    let id = parse_id(&id)?;
    match node.store.tournament(id.as_str()).await? {
        Some(record) => Ok(HttpResponse::Ok().json(record.view)),
        None => Err(HttpError::new(ErrorCode::NotFound, "no such tournament")),
    }
}

/// `POST /api/tournaments/{id}/join`: the caller registers.
pub async fn join(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    own_registration(node, req, id, |user| TournamentAction::Join {
        entrant: entrant(user),
        by: None,
    })
    .await
}

/// `POST /api/tournaments/{id}/withdraw`: the caller withdraws.
pub async fn withdraw(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    own_registration(node, req, id, |user| TournamentAction::Withdraw {
        user: user.id.clone(),
        by: None,
    })
    .await
}

/// The caller's own registration change, answered with the view.
async fn own_registration(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
    action: impl FnOnce(&User) -> TournamentAction,
) -> Result<HttpResponse, HttpError> {
    let user = caller(&node, &req).await?;
    let id = parse_id(&id)?;
    Ok(HttpResponse::Ok().json(ask_view(&node, &id, action(&user)).await?))
}

/// `GET /api/tournaments/{id}/registrations` (admin): with who registered whom.
pub async fn registrations(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let id = parse_id(&id)?;
    match ask(&node, &id, TournamentAction::Registrations).await? {
        Answer::Registrations(registrations) => {
            Ok(HttpResponse::Ok().json(RegistrationList { registrations }))
        }
        _ => Err(HttpError::new(ErrorCode::Internal, "unexpected answer")),
    }
}

/// `POST /api/tournaments/{id}/registrations` `{username}` (admin): registers someone, who
/// is notified.
pub async fn add_registration(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
    body: JsonObject<RegistrationAdd>,
) -> Result<HttpResponse, HttpError> {
    let admin = authorize(&node, &req, Role::Admin, Some(AuditType::RegistrationAdded)).await?;
    let id = parse_id(&id)?;
    let player = find_user(&node, body.0.username.trim()).await?;
    let action = TournamentAction::Join {
        entrant: entrant(&player),
        by: Some(admin.name.clone()),
    };
    let result = ask_view(&node, &id, action).await;
    audit_registration(
        &node,
        &req,
        AuditType::RegistrationAdded,
        &admin,
        &player,
        &id,
        &result,
    );
    Ok(HttpResponse::Ok().json(result?))
}

/// `DELETE /api/tournaments/{id}/registrations/{name}` (admin): removes someone, who is
/// notified.
pub async fn remove_registration(
    node: NodeData,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let admin = authorize(
        &node,
        &req,
        Role::Admin,
        Some(AuditType::RegistrationRemoved),
    )
    .await?;
    let (id, name) = path.into_inner();
    let id = parse_id(&id)?;
    let player = find_user(&node, &name).await?;
    let action = TournamentAction::Withdraw {
        user: player.id.clone(),
        by: Some(admin.name.clone()),
    };
    let result = ask_view(&node, &id, action).await;
    audit_registration(
        &node,
        &req,
        AuditType::RegistrationRemoved,
        &admin,
        &player,
        &id,
        &result,
    );
    Ok(HttpResponse::Ok().json(result?))
}

/// Records an admin's registration change, done or refused by the tournament.
fn audit_registration(
    node: &NodeData,
    req: &HttpRequest,
    kind: AuditType,
    admin: &User,
    player: &User,
    id: &TournamentId,
    result: &Result<TournamentView, HttpError>,
) {
    let outcome = if result.is_ok() {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Refused
    };
    let mut event = NewEvent::new(kind, outcome)
        .actor(admin.name.clone())
        .target(player.name.clone())
        .ip(client_ip(req))
        .text("tournament", id.to_string());
    if let Err(e) = result {
        event = event.text("reason", e.message.clone());
    }
    node.accounts.auditor.record(event);
}
