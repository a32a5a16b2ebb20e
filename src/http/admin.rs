//! The administration API (`/api/admin/...`): roles (admin), moderation (moderator) and the
//! audit log (admin), deferred work (admin), anti-cheat analyses and reports (moderator). Every route goes through one guard, [`authorize`]: authentication
//! first (401), then the role (403), then the lookup (404), and every refusal of an action is
//! audited under that action's own type with the caller as its actor.

use actix_web::{web, HttpRequest, HttpResponse};
use client_protocol::admin::{
    AccountFlag, AdminUserView, AnalysisPlayer, AuditPage, DeadLetter, GameAnalysisView,
    ListenerList, ListenerView, ReplayBody, Report, ReportList, RolesBody, SanctionBody,
    SanctionView,
};
use client_protocol::{ErrorCode, NotificationKind, Role};
use serde::Deserialize;

use super::api::{bearer, client_ip, find_user};
use super::error::HttpError;
use super::NodeData;
use crate::audit::{chain, AuditOutcome, AuditQuery, AuditType, Detail, NewEvent};
use crate::auth::AuthError;
use crate::domain::now_ms;
use crate::games::utc_date_time;
use crate::jobs::{JobId, JobState, JobsError, Tube, TUBES};
use crate::messages::{Envelope, UserEvent};
use crate::notify::{data, Data, Draft};
use crate::store::{Sanction, StandingChange, User};

/// Longest moderation reason kept.
const MAX_REASON_CHARS: usize = 500;
/// Audit page sizes.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// The one guard of the administration API. `action` is what a refusal is audited as (None
/// for reads, whose refusals are only the token's).
pub(super) async fn authorize(
    node: &NodeData,
    req: &HttpRequest,
    need: Role,
    action: Option<AuditType>,
) -> Result<User, HttpError> {
    let ip = client_ip(req);
    let token =
        bearer(req).ok_or_else(|| HttpError::new(ErrorCode::Unauthenticated, "no token"))?;
    let caller = match node.accounts.user_from_token(&token).await {
        Ok(user) => user,
        Err(e @ (AuthError::Unavailable(_) | AuthError::Banned { .. })) => return Err(e.into()),
        Err(e) => {
            let event = NewEvent::new(AuditType::TokenRefused, AuditOutcome::Refused)
                .ip(ip)
                .text("via", "http")
                .text("reason", e.to_string());
            node.accounts.auditor.record(event);
            return Err(e.into());
        }
    };
    if !caller.may(need) {
        if let Some(action) = action {
            let event = NewEvent::new(action, AuditOutcome::Refused)
                .actor(caller.name.clone())
                .ip(ip)
                .text("reason", format!("needs the {need} role"));
            let event = match req.match_info().get("name") {
                Some(target) => {
                    event.text("targetAsked", target.chars().take(40).collect::<String>())
                }
                None => event,
            };
            node.accounts.auditor.record(event);
        }
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            format!("this needs the {need} role"),
        ));
    }
    Ok(caller)
}

fn view(user: &User) -> AdminUserView {
    let now = now_ms();
    let standing = &user.standing;
    let in_force = |s: &Option<Sanction>| s.as_ref().filter(|s| s.in_force(now)).cloned();
    let (ban, mute, playban) = (
        in_force(&standing.ban),
        in_force(&standing.mute),
        in_force(&standing.playban),
    );
    let sanctions = [("ban", &ban), ("mute", &mute), ("playban", &playban)]
        .into_iter()
        .filter_map(|(kind, s)| {
            s.as_ref().map(|s| SanctionView {
                kind: kind.to_owned(),
                until: s.until,
                reason: s.reason.clone(),
                by: s.by.clone(),
                at: s.at,
            })
        })
        .collect();
    AdminUserView {
        id: user.id.to_string(),
        name: user.name.clone(),
        rating: user.glicko.display(),
        guest: user.guest,
        roles: standing.roles.clone(),
        banned: ban.is_some(),
        banned_until: ban.as_ref().and_then(|s| s.until),
        muted: mute.is_some(),
        muted_until: mute.as_ref().and_then(|s| s.until),
        playbanned: playban.is_some(),
        playban_until: playban.as_ref().and_then(|s| s.until),
        flags: flag_views(&standing.flags),
        sanctions,
        games_played: user.games_played,
        created_at: user.created_at,
    }
}

/// Applies `change` to `target` and answers with the account as it is now.
async fn change(
    node: &NodeData,
    target: &User,
    change: StandingChange,
) -> Result<HttpResponse, HttpError> {
    if !node.store.change_standing(&target.id, change).await? {
        return Err(HttpError::new(ErrorCode::NotFound, "no such user"));
    }
    let now = find_user(node, &target.name).await?;
    Ok(HttpResponse::Ok().json(view(&now)))
}

fn role_names(roles: &[Role]) -> Detail {
    Detail::List(roles.iter().map(|r| r.as_str().to_owned()).collect())
}

/// `GET /api/admin/users/{name}` (moderator).
pub async fn user(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Moderator, None).await?;
    Ok(HttpResponse::Ok().json(view(&find_user(&node, &name).await?)))
}

/// `PUT /api/admin/users/{name}/roles` (admin).
pub async fn set_roles(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let caller = authorize(&node, &req, Role::Admin, Some(AuditType::RoleChanged)).await?;
    let body: RolesBody = parse(&body)?;
    let target = find_user(&node, &name).await?;
    let mut roles = body.roles;
    roles.sort();
    roles.dedup();
    if target.guest && !roles.is_empty() {
        return Err(HttpError::new(ErrorCode::Conflict, "guests hold no role"));
    }
    let event = NewEvent::new(AuditType::RoleChanged, AuditOutcome::Ok)
        .actor(caller.name.clone())
        .target(target.name.clone())
        .ip(client_ip(&req))
        .detail("roles", role_names(&roles))
        .detail("before", role_names(&target.standing.roles));
    let listed = roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let text = match listed.as_str() {
        "" => "You no longer hold a role.".to_owned(),
        roles => format!("Your roles are now: {}.", roles.replace(',', ", ")),
    };
    let changed = roles != target.standing.roles;
    let answer = change(&node, &target, StandingChange::Roles(roles)).await?;
    node.accounts.auditor.record(event);
    if changed {
        let draft = Draft::new(NotificationKind::Account, text, data([("roles", listed)]));
        node.notifier.tell(&node.router, &target.id, draft).await;
    }
    Ok(answer)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Ban,
    Mute,
}

impl Kind {
    fn audit(self, on: bool) -> AuditType {
        match (self, on) {
            (Kind::Ban, true) => AuditType::Ban,
            (Kind::Ban, false) => AuditType::Unban,
            (Kind::Mute, true) => AuditType::Mute,
            (Kind::Mute, false) => AuditType::Unmute,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Ban => "ban",
            Kind::Mute => "mute",
        }
    }

    fn participle(self) -> &'static str {
        match self {
            Kind::Ban => "banned",
            Kind::Mute => "muted",
        }
    }

    fn change(self, sanction: Option<Sanction>) -> StandingChange {
        match self {
            Kind::Ban => StandingChange::Ban(sanction),
            Kind::Mute => StandingChange::Mute(sanction),
        }
    }
}

/// Sets (`body` Some) or lifts a ban or mute: audited, and a ban closes the account's sockets
/// on every node (its live game is lost by resignation).
async fn sanction(
    node: NodeData,
    req: HttpRequest,
    name: String,
    kind: Kind,
    body: Option<web::Bytes>,
) -> Result<HttpResponse, HttpError> {
    let audit = kind.audit(body.is_some());
    let caller = authorize(&node, &req, Role::Moderator, Some(audit)).await?;
    let body: Option<SanctionBody> = body.as_deref().map(parse).transpose()?;
    let target = find_user(&node, &name).await?;
    let mut event = NewEvent::new(audit, AuditOutcome::Ok)
        .actor(caller.name.clone())
        .target(target.name.clone())
        .ip(client_ip(&req));
    if target.may(Role::Moderator) && !caller.may(Role::Admin) {
        node.accounts
            .auditor
            .record(event.text("reason", "only an admin sanctions staff"));
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            "only an admin may sanction a moderator or admin",
        ));
    }
    let Some(body) = body else {
        let answer = change(&node, &target, kind.change(None)).await?;
        node.accounts.auditor.record(event);
        let text = format!("Your {} was lifted.", kind.noun());
        let draft = Draft::new(NotificationKind::Account, text, Data::new());
        node.notifier.tell(&node.router, &target.id, draft).await;
        return Ok(answer);
    };
    let reason = body.reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(HttpError::new(
            ErrorCode::InvalidField,
            format!("reason: at most {MAX_REASON_CHARS} characters"),
        ));
    }
    if body.duration_ms == Some(0) {
        return Err(HttpError::new(
            ErrorCode::InvalidField,
            "durationMs: more than 0, or null for until lifted",
        ));
    }
    let now = now_ms();
    let until = body.duration_ms.map(|d| now.saturating_add(d));
    let sanction = Sanction {
        until,
        reason: reason.to_owned(),
        by: caller.name.clone(),
        at: now,
    };
    event = event.text("reason", reason);
    event = match body.duration_ms {
        Some(ms) => event.detail("durationMs", Detail::Int(ms.min(i64::MAX as u64) as i64)),
        None => event.detail("permanent", Detail::Bool(true)),
    };
    let answer = change(&node, &target, kind.change(Some(sanction))).await?;
    node.accounts.auditor.record(event);
    let (text, about) = match until {
        Some(until) => (
            format!(
                "Your account is {} until {} (UTC): {reason}",
                kind.participle(),
                utc(until)
            ),
            data([("until", until.to_string())]),
        ),
        None => (
            format!(
                "Your account is {} until lifted: {reason}",
                kind.participle()
            ),
            Data::new(),
        ),
    };
    let draft = Draft::new(NotificationKind::Account, text, about);
    node.notifier.tell(&node.router, &target.id, draft).await;
    if let Kind::Ban = kind {
        let banned = UserEvent::Banned {
            until,
            reason: reason.to_owned(),
        };
        node.router.send(Envelope::user(&target.id, banned));
    }
    Ok(answer)
}

pub async fn ban(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    sanction(node, req, name.into_inner(), Kind::Ban, Some(body)).await
}

pub async fn unban(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    sanction(node, req, name.into_inner(), Kind::Ban, None).await
}

pub async fn mute(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    sanction(node, req, name.into_inner(), Kind::Mute, Some(body)).await
}

pub async fn unmute(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    sanction(node, req, name.into_inner(), Kind::Mute, None).await
}

/// The query of `GET /api/admin/audit`.
#[derive(Deserialize)]
pub struct AuditSearch {
    #[serde(rename = "type")]
    kind: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    since: Option<u64>,
    until: Option<u64>,
    limit: Option<u32>,
    before: Option<u64>,
}

/// `GET /api/admin/audit` (admin): newest first, `next` pages on.
pub async fn audit(
    node: NodeData,
    req: HttpRequest,
    query: web::Query<AuditSearch>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let query = query.into_inner();
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(name) => Some(AuditType::parse(name).ok_or_else(|| {
            HttpError::new(
                ErrorCode::InvalidField,
                format!("type: no event type {name:?}"),
            )
        })?),
        None => None,
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let search = AuditQuery {
        kind,
        actor: query.actor.filter(|a| !a.is_empty()),
        target: query.target.filter(|t| !t.is_empty()),
        since: query.since,
        until: query.until,
        before: query.before,
        limit,
    };
    // What this node recorded up to now is in the log before it is searched.
    node.accounts.auditor.flush().await;
    let events = node
        .accounts
        .auditor
        .store()
        .search(&search)
        .await
        .map_err(unavailable)?;
    let next = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(HttpResponse::Ok().json(AuditPage { events, next }))
}

/// `GET /api/admin/audit/verify` (admin): walks the whole chain.
pub async fn verify(node: NodeData, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    node.accounts.auditor.flush().await;
    let verified = chain::verify(node.accounts.auditor.store())
        .await
        .map_err(unavailable)?;
    Ok(HttpResponse::Ok().json(verified))
}

/// A JSON body, read after authorization (a caller without the role learns nothing of what a
/// valid body looks like).
/// `2026.12.01 20:00:00` for a Unix time in ms.
fn utc(ms: u64) -> String {
    let (date, time) = utc_date_time(ms);
    format!("{date} {time}")
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    super::body::parse_object(body)
}

fn unavailable(e: crate::audit::AuditError) -> HttpError {
    tracing::warn!(error = %e, "audit log unavailable");
    HttpError::new(
        ErrorCode::Unavailable,
        "the audit log is unavailable, retry",
    )
}

/// The query of `GET /api/admin/jobs`.
#[derive(Deserialize)]
pub struct JobSearch {
    tube: Option<String>,
    state: Option<String>,
}

/// At most this many jobs per tube and state in one listing.
const JOB_LIST: usize = 100;

/// `GET /api/admin/jobs?tube=&state=` (admin): each tube's counts, and its jobs.
pub async fn jobs(
    node: NodeData,
    req: HttpRequest,
    query: web::Query<JobSearch>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let query = query.into_inner();
    let bad = |e: JobsError| HttpError::new(ErrorCode::InvalidField, e.to_string());
    let tubes: Vec<Tube> = match query.tube.as_deref().filter(|t| !t.is_empty()) {
        Some(name) => vec![Tube::parse(name).map_err(bad)?],
        None => TUBES
            .iter()
            .map(|t| Tube::parse(t).expect("a valid tube"))
            .collect(),
    };
    let states: Vec<JobState> = match query.state.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => vec![JobState::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                HttpError::new(
                    ErrorCode::InvalidField,
                    format!("state: one of ready, delayed, reserved, buried, not {name:?}"),
                )
            })?],
        None => JobState::ALL.to_vec(),
    };
    let unavailable = |e: JobsError| {
        tracing::warn!(error = %e, "job queue unavailable");
        HttpError::new(
            ErrorCode::Unavailable,
            "the job queue is unavailable, retry",
        )
    };
    let mut counts = Vec::new();
    let mut listed = Vec::new();
    for tube in &tubes {
        let stats = node.jobs.stats(tube).await.map_err(unavailable)?;
        counts.push(serde_json::json!({
            "tube": tube.as_str(),
            "ready": stats.ready,
            "delayed": stats.delayed,
            "reserved": stats.reserved,
            "buried": stats.buried,
        }));
        for state in &states {
            listed.extend(
                node.jobs
                    .list(tube, *state, JOB_LIST)
                    .await
                    .map_err(unavailable)?,
            );
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"tubes": counts, "jobs": listed})))
}

/// `POST /api/admin/jobs/{id}/kick` (admin): a buried (or delayed) job to ready.
pub async fn kick_job(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let id = job_id(&id)?;
    let kicked = node.jobs.kick_job(id).await.map_err(job_error)?;
    if !kicked {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!("no buried or delayed job {id}"),
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "kicked": true})))
}

/// `DELETE /api/admin/jobs/{id}` (admin): removes a job whatever its state.
pub async fn delete_job(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let id = job_id(&id)?;
    if !node.jobs.delete_job(id).await.map_err(job_error)? {
        return Err(HttpError::new(ErrorCode::NotFound, format!("no job {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn job_id(text: &str) -> Result<JobId, HttpError> {
    text.parse()
        .map_err(|_| HttpError::new(ErrorCode::NotFound, format!("no job {text:?}")))
}

fn job_error(e: JobsError) -> HttpError {
    match e {
        JobsError::ReservedElsewhere(_) => HttpError::new(
            ErrorCode::Conflict,
            "the job is reserved by a worker: it cannot be deleted until it is released",
        ),
        e => {
            tracing::warn!(error = %e, "job queue unavailable");
            HttpError::new(
                ErrorCode::Unavailable,
                "the job queue is unavailable, retry",
            )
        }
    }
}

fn flag_views(flags: &[crate::store::Flag]) -> Vec<AccountFlag> {
    flags
        .iter()
        .map(|f| AccountFlag {
            kind: f.kind.clone(),
            at: f.at,
            details: f.details.clone(),
        })
        .collect()
}

fn analysis_player(p: &crate::analysis::PlayerAnalysis) -> AnalysisPlayer {
    AnalysisPlayer {
        name: p.name.clone(),
        accuracy: round1(p.accuracy),
        perfect_moves: p.perfect_moves,
        moves: p.moves,
        move_time_spread_ms: round1(p.move_time_spread_ms),
        suspicion: round1(p.suspicion),
        average_loss: round1(p.average_loss),
        move_time_mean_ms: round1(p.move_time_mean_ms),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `GET /api/admin/games/{id}/analysis` (moderator): 404 while the analysis is pending (or
/// for a game that is not analysed: unrated, aborted, chess without an engine).
pub async fn game_analysis(
    node: NodeData,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Moderator, None).await?;
    let found = node.store.analysis(&id).await?.ok_or_else(|| {
        HttpError::new(
            ErrorCode::NotFound,
            format!("no analysis of game {:?} (yet)", id.as_str()),
        )
    })?;
    Ok(HttpResponse::Ok().json(GameAnalysisView {
        game: found.game,
        players: found.players.iter().map(analysis_player).collect(),
        engine: found.engine,
    }))
}

/// `GET /api/admin/reports` (moderator): accounts anti-cheat flagged, with their suspicion
/// now.
pub async fn reports(node: NodeData, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Moderator, None).await?;
    let mut reports = Vec::new();
    for user in node.store.flagged(MAX_PAGE).await? {
        let recent = node
            .store
            .analyses_of(&user.id, crate::analysis::RECENT_GAMES as u32)
            .await?;
        reports.push(Report {
            suspicion: round1(crate::analysis::account_suspicion(&recent)),
            games: recent.len() as u32,
            flags: flag_views(&user.standing.flags),
            name: user.name,
        });
    }
    Ok(HttpResponse::Ok().json(ReportList { reports }))
}

/// `GET /api/admin/listeners` (admin): each listener of the event stream, its lag and the
/// events it set aside.
pub async fn listeners(node: NodeData, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let mut listeners = Vec::new();
    for name in node.listeners.names() {
        let lag = node.events.lag(name).await.map_err(events_down)?;
        let dead = node.events.dead_letters(name).await.map_err(events_down)?;
        listeners.push(ListenerView {
            name: (*name).to_owned(),
            lag,
            dead_letters: dead
                .into_iter()
                .map(|(entry, event, error)| DeadLetter {
                    entry,
                    event,
                    error,
                })
                .collect(),
        });
    }
    Ok(HttpResponse::Ok().json(ListenerList { listeners }))
}

/// `POST /api/admin/listeners/{name}/replay` `{since}` (admin): the listener is handed every
/// event again from `since` (its handlers are idempotent; a new listener rebuilds its state).
pub async fn replay(
    node: NodeData,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    authorize(&node, &req, Role::Admin, None).await?;
    let body: ReplayBody = if body.is_empty() {
        ReplayBody::default()
    } else {
        parse(&body)?
    };
    let Some(listener) = node.listeners.names().iter().find(|n| **n == name.as_str()) else {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!("no listener {:?}", name.as_str()),
        ));
    };
    let since = body.since.unwrap_or(0);
    node.events
        .rewind(listener, since)
        .await
        .map_err(events_down)?;
    tracing::info!(listener, since, "listener rewound");
    Ok(HttpResponse::Ok().json(serde_json::json!({"listener": listener, "since": since})))
}

fn events_down(e: crate::events::EventsError) -> HttpError {
    tracing::warn!(error = %e, "event log unavailable");
    HttpError::new(
        ErrorCode::Unavailable,
        "the event log is unavailable, retry",
    )
}
