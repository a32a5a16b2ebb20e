//! HTTP: the JSON API, the websocket upgrade, and the operations endpoints, with every error
//! mapped to a status and a `{code, message}` body in one place (`error`).

pub mod admin;
pub mod api;
pub mod body;
pub mod error;
pub mod me;
pub mod ops;
pub mod origin;
pub mod peer;
pub mod tournaments;
pub mod ws;
// The page and SDK (src/http/web.rs); `web` itself would clash with `actix_web::web` below.
#[path = "web.rs"]
pub mod page;

use actix_web::web;

use crate::node::Node;

/// One resource: its routes by method, `HEAD` beside every `GET` (same handler; actix sends
/// the head without the body), and a 405 with `Allow` for any other method.
/// `resource!("/p", get => handler, post => other)`; `get_only` leaves `HEAD` out (`/ws`).
macro_rules! resource {
    (@allow get) => { "GET, HEAD" };
    (@allow get_only) => { "GET" };
    (@allow post) => { "POST" };
    (@allow put) => { "PUT" };
    (@allow delete) => { "DELETE" };
    (@route $r:expr, get, $h:expr) => {
        $r.route(actix_web::web::get().to($h)).route(actix_web::web::head().to($h))
    };
    (@route $r:expr, get_only, $h:expr) => { $r.route(actix_web::web::get().to($h)) };
    (@route $r:expr, $m:ident, $h:expr) => { $r.route(actix_web::web::$m().to($h)) };
    ($path:expr, $first:ident => $fh:expr $(, $method:ident => $handler:expr)* $(,)?) => {{
        let r = $crate::http::resource!(@route actix_web::web::resource($path), $first, $fh);
        $(let r = $crate::http::resource!(@route r, $method, $handler);)*
        r.default_service($crate::http::error::method_not_allowed(concat!(
            $crate::http::resource!(@allow $first)
            $(, ", ", $crate::http::resource!(@allow $method))*
        )))
    }};
}
pub(crate) use resource;

/// Registers every route. Used by `startup` for the real server and thus by the tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(16 * 1024)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .app_data(web::PathConfig::default().error_handler(error::path_error))
    .service(resource!("/ws", get_only => ws::upgrade))
    .service(resource!("/healthz", get => ops::healthz))
    .service(resource!("/readyz", get => ops::readyz))
    .service(resource!("/metrics", get => ops::metrics))
    .service(resource!("/api/auth/register", post => api::register))
    .service(resource!("/api/auth/login", post => api::login))
    .service(resource!("/api/auth/guest", post => api::guest))
    .service(resource!("/api/auth/refresh", post => api::refresh))
    .service(resource!("/api/auth/logout", post => api::logout))
    .service(resource!("/api/me", get => me::me, put => me::update))
    .service(resource!("/api/me/notifications", get => me::notifications))
    .service(resource!("/api/me/notifications/read", post => me::read))
    .service(resource!("/api/users/{name}", get => api::user))
    .service(resource!("/api/users/{name}/games", get => api::user_games))
    .service(resource!("/api/games/live", get => api::live_games))
    .service(resource!("/api/games/{id}", get => api::game))
    .service(resource!("/api/queues", get => api::queues))
    .service(resource!(
        "/api/tournaments",
        get => tournaments::list,
        post => tournaments::create,
    ))
    .service(resource!("/api/tournaments/{id}", get => tournaments::one))
    .service(resource!("/api/tournaments/{id}/cancel", post => tournaments::cancel))
    .service(resource!("/api/tournaments/{id}/join", post => tournaments::join))
    .service(resource!("/api/tournaments/{id}/withdraw", post => tournaments::withdraw))
    .service(resource!(
        "/api/tournaments/{id}/registrations",
        get => tournaments::registrations,
        post => tournaments::add_registration,
    ))
    .service(resource!(
        "/api/tournaments/{id}/registrations/{name}",
        delete => tournaments::remove_registration,
    ))
    .service(resource!("/api/admin/users/{name}", get => admin::user))
    .service(resource!("/api/admin/users/{name}/roles", put => admin::set_roles))
    .service(resource!(
        "/api/admin/users/{name}/ban",
        post => admin::ban,
        delete => admin::unban,
    ))
    .service(resource!(
        "/api/admin/users/{name}/mute",
        post => admin::mute,
        delete => admin::unmute,
    ))
    .service(resource!("/api/admin/games/{id}/analysis", get => admin::game_analysis))
    .service(resource!("/api/admin/listeners", get => admin::listeners))
    .service(resource!("/api/admin/listeners/{name}/replay", post => admin::replay))
    .service(resource!("/api/admin/reports", get => admin::reports))
    .service(resource!("/api/admin/audit", get => admin::audit))
    .service(resource!("/api/admin/audit/verify", get => admin::verify))
    .service(resource!("/api/admin/jobs", get => admin::jobs))
    .service(resource!("/api/admin/jobs/{id}/kick", post => admin::kick_job))
    .service(resource!("/api/admin/jobs/{id}", delete => admin::delete_job))
    .configure(page::routes)
    .default_service(web::to(error::not_found));
}

/// The node, as handlers receive it.
pub type NodeData = web::Data<Node>;
