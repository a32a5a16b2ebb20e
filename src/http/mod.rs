//! HTTP: the JSON API, the websocket upgrade, and the operations endpoints, with every error
//! mapped to a status and a `{code, message}` body in one place (`error`).

pub mod admin;
pub mod api;
pub mod error;
pub mod me;
pub mod ops;
pub mod origin;
pub mod ws;
// The page and SDK (src/http/web.rs); `web` itself would clash with `actix_web::web` below.
#[path = "web.rs"]
pub mod page;

use actix_web::web;

use crate::node::Node;

/// Registers every route. Used by `startup` for the real server and thus by the tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(16 * 1024)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .route("/ws", web::get().to(ws::upgrade))
    .route("/healthz", web::get().to(ops::healthz))
    .route("/readyz", web::get().to(ops::readyz))
    .route("/metrics", web::get().to(ops::metrics))
    .route("/api/auth/register", web::post().to(api::register))
    .route("/api/auth/login", web::post().to(api::login))
    .route("/api/auth/guest", web::post().to(api::guest))
    .route("/api/auth/logout", web::post().to(api::logout))
    .route("/api/me", web::get().to(me::me))
    .route("/api/me", web::put().to(me::update))
    .route("/api/me/notifications", web::get().to(me::notifications))
    .route("/api/me/notifications/read", web::post().to(me::read))
    .route("/api/users/{name}", web::get().to(api::user))
    .route("/api/users/{name}/games", web::get().to(api::user_games))
    .route("/api/games/{id}", web::get().to(api::game))
    .route("/api/queues", web::get().to(api::queues))
    .route("/api/admin/users/{name}", web::get().to(admin::user))
    .route(
        "/api/admin/users/{name}/roles",
        web::put().to(admin::set_roles),
    )
    .route("/api/admin/users/{name}/ban", web::post().to(admin::ban))
    .route(
        "/api/admin/users/{name}/ban",
        web::delete().to(admin::unban),
    )
    .route("/api/admin/users/{name}/mute", web::post().to(admin::mute))
    .route(
        "/api/admin/users/{name}/mute",
        web::delete().to(admin::unmute),
    )
    .route("/api/admin/audit", web::get().to(admin::audit))
    .route("/api/admin/audit/verify", web::get().to(admin::verify))
    .route("/api/admin/jobs", web::get().to(admin::jobs))
    .route("/api/admin/jobs/{id}/kick", web::post().to(admin::kick_job))
    .route("/api/admin/jobs/{id}", web::delete().to(admin::delete_job))
    .configure(page::routes)
    .default_service(web::to(error::not_found));
}

/// The node, as handlers receive it.
pub type NodeData = web::Data<Node>;
