//! The axum router: pages, forms, live events, health checks and assets.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod branding;
pub mod client_ip;
pub mod error;
pub mod events;
pub mod health;
pub mod ical;
pub mod incidents;
pub mod ingest;
pub mod links;
pub mod login_guard;
pub mod monitors;
pub mod oncall;
pub mod pages;
pub mod people;
pub mod policies;
pub mod public_api;
pub mod push;
pub mod schedule_admin;
pub mod schedules;
pub mod session;
pub mod sms;
pub mod status_public;
pub mod teams;

use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use error::AppError;

/// Largest accepted request body (forms are small).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let csp = HeaderValue::from_str(&app::ssr::csp::content_security_policy(&state.leptos))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; object-src 'none'"));
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/status", get(pages::status_page))
        .route("/dashboard", get(pages::dashboard))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/admin/audit", get(audit::page))
        .route("/admin/components", get(admin::list).post(admin::create))
        .route(
            "/admin/components/{id}",
            get(admin::edit_form).post(admin::update),
        )
        .route("/admin/components/{id}/status", post(admin::set_status))
        .route("/admin/components/{id}/delete", post(admin::delete))
        .route(
            "/schedules",
            get(schedules::index).post(schedule_admin::create),
        )
        .route("/schedules/new", get(schedule_admin::new_form))
        .route("/schedules/{id}", get(schedules::calendar))
        .route("/schedules/{id}/shift", get(schedules::shift_page))
        .route(
            "/schedules/{id}/overrides",
            post(schedules::create_override),
        )
        .route(
            "/schedules/{id}/swaps",
            get(schedules::schedule_swaps).post(schedules::create_swap),
        )
        .route(
            "/schedules/{id}/swaps/{swap}/{action}",
            post(schedules::swap_action),
        )
        .route("/schedules/{id}/swaps/ask", post(schedules::ask_confirm))
        .route("/schedules/{id}/publish", post(schedule_admin::publish))
        .route("/schedules/{id}/edit", get(schedule_admin::edit))
        .route(
            "/schedules/{id}/ical/rotate",
            post(schedules::rotate_schedule_ical),
        )
        .route("/schedules/{id}/layers", post(schedule_admin::add_layer))
        .route(
            "/schedules/{id}/layers/{layer}",
            post(schedule_admin::update_layer),
        )
        .route(
            "/schedules/{id}/layers/{layer}/delete",
            post(schedule_admin::delete_layer),
        )
        .route(
            "/admin/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route("/admin/maintenance", post(incidents::create_maintenance))
        .route("/admin/incidents/{id}", get(incidents::detail))
        .route(
            "/admin/incidents/{id}/updates",
            post(incidents::post_update),
        )
        .route(
            "/admin/incidents/{id}/title",
            post(incidents::correct_title),
        )
        .route("/admin/incidents/{id}/delete", post(incidents::delete))
        .route(
            "/admin/incidents/{id}/updates/{update}/correct",
            post(incidents::correct_message),
        )
        .route(
            "/admin/monitors",
            get(monitors::list).post(monitors::create),
        )
        .route("/admin/monitors/{id}/delete", post(monitors::delete))
        .route(
            "/admin/monitors/{id}",
            get(monitors::edit_form).post(monitors::update),
        )
        .route("/admin/monitors/{id}/pause", post(monitors::pause))
        .route("/admin/branding", get(branding::show).post(branding::save))
        .route("/admin/branding/logo", post(branding::upload_logo))
        .route("/admin/branding/logo/delete", post(branding::delete_logo))
        .route("/status/logo", get(branding::logo))
        .route("/admin/monitors/{id}/resume", post(monitors::resume))
        .route(
            "/admin/subscribers",
            get(monitors::subscribers).post(monitors::add_webhook),
        )
        .route(
            "/admin/subscribers/{id}/delete",
            post(monitors::delete_subscriber),
        )
        .route("/oncall", get(oncall::list))
        .route("/oncall/live", get(oncall::list_live))
        .route("/oncall/{id}", get(oncall::detail))
        .route("/oncall/{id}/live", get(oncall::detail_live))
        .route("/oncall/{id}/act", post(oncall::act))
        .route("/oncall/{id}/status", post(oncall::post_status))
        .route(
            "/services",
            get(oncall::services).post(oncall::create_service),
        )
        .route(
            "/services/{id}",
            get(oncall::service).post(oncall::update_service),
        )
        .route("/policies", get(policies::list).post(policies::create))
        .route("/policies/new", get(policies::new_form))
        .route("/policies/{id}", get(policies::show).post(policies::update))
        .route("/policies/{id}/delete", post(policies::delete))
        .route("/services/{id}/paging", post(policies::set_paging))
        .route(
            "/services/{id}/maintenance",
            post(policies::add_maintenance),
        )
        .route(
            "/services/{id}/maintenance/{window}/end",
            post(policies::end_maintenance),
        )
        .route("/services/{id}/keys", post(oncall::add_key))
        .route("/services/{id}/heartbeats", post(oncall::add_heartbeat))
        .route("/services/{id}/keys/{key}/revoke", post(oncall::revoke_key))
        .route("/api/v1/incidents", get(oncall::api_list))
        .route("/api/v1/incidents/{id}", get(oncall::api_get))
        .route("/api/v1/incidents/{id}/{action}", post(oncall::api_act))
        .route("/incidents/{id}", get(status_public::incident))
        .route("/history", get(status_public::history_now))
        .route("/history/{month}", get(status_public::history_month))
        .route("/subscribe", post(status_public::subscribe))
        .route(
            "/subscribe/confirm/{token}",
            get(status_public::confirm_page).post(status_public::confirm),
        )
        .route(
            "/unsubscribe/{token}",
            get(status_public::unsubscribe_page).post(status_public::unsubscribe),
        )
        .route("/swaps", get(schedules::all_swaps))
        .route("/my/shifts", get(schedules::my_shifts))
        .route(
            "/profile",
            get(schedules::profile).post(schedules::save_profile),
        )
        .route("/profile/ical/rotate", post(schedules::rotate_ical))
        .route("/profile/contacts", post(schedules::add_contact))
        .route("/profile/contacts/sms", post(schedules::add_sms))
        .route("/profile/contacts/chat", post(schedules::add_chat))
        .route("/profile/contacts/webhook", post(schedules::add_webhook))
        .route(
            "/profile/contacts/{id}/code",
            post(schedules::send_method_code),
        )
        .route(
            "/profile/contacts/{id}/verify",
            post(schedules::verify_method),
        )
        .route("/profile/contacts/{id}/test", post(schedules::test_method))
        .route("/profile/rules", post(schedules::add_rule))
        .route("/profile/rules/{id}/delete", post(schedules::remove_rule))
        .route(
            "/profile/contacts/{id}/delete",
            post(schedules::remove_contact),
        )
        .route("/admin/people", get(people::list))
        .route("/admin/people/invitations", post(people::invite))
        .route(
            "/admin/people/invitations/{id}/revoke",
            post(people::revoke),
        )
        .route(
            "/admin/people/{id}/deactivate",
            get(people::deactivate_form).post(people::deactivate),
        )
        .route("/admin/people/{id}/reactivate", post(people::reactivate))
        .route("/invite/{token}", get(people::join_form).post(people::join))
        .route("/admin/teams", get(teams::list).post(teams::create))
        .route("/admin/teams/{id}", post(teams::rename))
        .route("/admin/teams/{id}/members", post(teams::set_members))
        .route("/admin/teams/{id}/delete", post(teams::delete))
        .route("/admin/teams/{id}/chat", post(teams::set_chat))
        .route("/ical/user/{file}", get(ical::user_feed))
        .route("/ical/schedule/{file}", get(ical::schedule_feed))
        .route("/api/v1/oncall", get(schedules::api_oncall))
        .route("/api/v1/schedules/{id}/shifts", get(schedules::api_shifts))
        .fallback(pages::not_found)
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), page_caching));
    Router::new()
        .route("/events/status", get(events::status))
        .route("/status/live", get(events::live_body))
        .route("/events/oncall", get(oncall::list_events))
        .route("/events/oncall/{id}", get(oncall::detail_events))
        .route("/api/v2/{*file}", get(public_api::v2))
        .route("/history.rss", get(public_api::rss))
        .route("/history.atom", get(public_api::atom))
        .route(
            "/heartbeat/{token}",
            get(status_public::heartbeat).post(status_public::heartbeat),
        )
        .route("/badge.svg", get(public_api::page_badge))
        .route("/badge/{file}", get(public_api::component_badge))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/pkg/{version}/{*file}", get(pkg_asset))
        .route("/favicon.svg", get(favicon))
        .merge(push::routes())
        .merge(pages)
        // A route layer, so the audit sees the matched route template and path parameters.
        .route_layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::same_origin,
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            branding::oversize_logo,
        ))
        // One-tap links: the signed token in the path is the credential (no cookie is used),
        // so the same-origin check has nothing to protect, and it would refuse the link's own
        // page: that page is served with `Referrer-Policy: no-referrer` (the token is in its
        // URL), under which browsers send `Origin: null` with its form post.
        .merge(
            Router::new()
                .route("/a/{token}", get(links::page).post(links::act))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        )
        // Alerts in: bodies up to PagerDuty's limit, from any origin (monitoring tools, not
        // browsers), not audited (a flood would drown the log; the incidents record them).
        .merge(
            Router::new()
                .route("/v2/enqueue", post(ingest::pagerduty))
                .route("/v2/change/enqueue", post(ingest::pagerduty_change))
                .route("/hooks/alertmanager/{key}", post(ingest::alertmanager))
                .route("/hooks/grafana/{key}", post(ingest::alertmanager))
                .route("/hooks/generic/{key}", post(ingest::generic))
                .route("/webhooks/sms", post(sms::reply))
                .route("/webhooks/sms/status", post(sms::status))
                .route(
                    "/hooks/heartbeat/{token}",
                    get(status_public::heartbeat).post(status_public::heartbeat),
                )
                .layer(RequestBodyLimitLayer::new(ingest::EVENT_BODY_LIMIT))
                // A sender that cannot finish in time gets 503 (retried), not the 408 every
                // other path gets, which Alertmanager would drop: just inside the outer limit.
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    state
                        .config
                        .conn
                        .request_timeout
                        .saturating_sub(std::time::Duration::from_millis(250))
                        .max(std::time::Duration::from_millis(250)),
                )),
        )
        // A request (its body included) must be answered within this time: a client that
        // trickles a body cannot hold a handler. Live streams return their response at once,
        // so the stream itself is not cut.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            state.config.conn.request_timeout,
        ))
        // Errors on API paths are answered in JSON, those of the layers above (inner) included.
        .layer(middleware::from_fn(error::json_for_api))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Pages are never stored by shared caches. A request that carries the session cookie gets
/// `private, no-store` whatever the handler said: such pages hold the person's CSRF token and
/// private data. Anonymous pages keep their own caching (the status page's ETag) or `no-store`.
async fn page_caching(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let signed_in = session::cookie(req.headers(), state.session_cookie_name()).is_some();
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    if signed_in {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    } else if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// `/pkg/{version}/{file}`: immutable for the current version; older versions are not kept.
async fn pkg_asset(
    State(state): State<AppState>,
    Path((version, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = state.assets.get(&format!("pkg/{file}")) else {
        return AppError::NotFound.into_response();
    };
    let cache = if version == state.assets.version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    asset.respond(&headers, cache)
}

async fn favicon(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.assets.get("favicon.svg") {
        Some(a) => a.respond(&headers, "public, max-age=86400"),
        None => AppError::NotFound.into_response(),
    }
}
