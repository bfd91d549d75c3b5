//! Public and signed-in pages: `/`, `/status`, `/dashboard`.

use app::pages::dashboard::{DashboardPage, TeamSummary};
use app::pages::render_document;
use app::pages::status::{PageExtras, StatusPage};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;

use super::error::AppError;
use super::session::{MaybeSession, Member};
use crate::state::AppState;

/// `/`: the status page for visitors, the dashboard for people who are logged in.
pub async fn home(
    state: State<AppState>,
    session: MaybeSession,
    headers: axum::http::HeaderMap,
) -> Response {
    if session.0.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    status_page(state, session, headers).await
}

/// `/status`: the public status page, complete without JavaScript; one island keeps it live.
pub async fn status_page(
    State(state): State<AppState>,
    session: MaybeSession,
    headers: axum::http::HeaderMap,
) -> Response {
    let current = state.hub.current();
    if session.0.is_none() {
        // Anonymous visitors (nearly all traffic during an outage) get bytes rendered once per
        // change, compressed once, with an ETag; the next request after a change sees it.
        let asset = current.page_html.get_or_init(|| {
            let html = render_status(&state, &current, MaybeSession(None));
            crate::assets::Asset::new("text/html; charset=utf-8", bytes::Bytes::from(html))
        });
        return asset.respond(&headers, "no-cache");
    }
    let html = render_status(&state, &current, session);
    ([(header::CACHE_CONTROL, "private, no-store")], Html(html)).into_response()
}

fn render_status(
    state: &AppState,
    current: &crate::live::Current,
    session: MaybeSession,
) -> String {
    let viewer = session.viewer();
    let brand = (*current.brand).clone();
    let page_name = brand.name.clone();
    let title = format!(
        "{} status: {}",
        page_name,
        current.snapshot.indicator.description()
    );
    let description = format!("Current status of {page_name} services and incidents.");
    let body_html = String::from_utf8_lossy(current.body.identity()).into_owned();
    let version = current.version.to_string();
    let extras = PageExtras {
        email: state.services.mail.is_configured(),
        components: current
            .snapshot
            .groups
            .iter()
            .flat_map(|g| g.components.iter())
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect(),
    };
    let live = state.assets.has_live();
    // No Leptos hydration here: the page's only live part is the small live module.
    render_document(&title, None, Some(&description), move || {
        view! { <StatusPage viewer=viewer brand=brand body_html=body_html version=version extras=extras live=live/> }
    })
}

/// `/dashboard`: the signed-in home page.
pub async fn dashboard(
    State(state): State<AppState>,
    member: Member,
) -> Result<Html<String>, AppError> {
    let teams = state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| TeamSummary {
            name: t.name,
            members: t
                .members
                .into_iter()
                .filter(|u| u.is_active())
                .map(|u| u.name)
                .collect(),
        })
        .collect::<Vec<_>>();
    let me = member.0;
    let names = super::schedules::user_names(&state).await?;
    let tz = jiff::tz::TimeZone::get(&me.user.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let nows = super::schedules::now_views(&state, &names, &tz, &super::schedules::Looker::of(&me))
        .await?;
    let (takeable, my_requests) = super::schedules::open_requests(&state, &me).await?;
    let notices = state
        .store
        .notices(&me.user.id, 5)
        .await?
        .into_iter()
        .map(|n| {
            (
                n.message,
                n.link,
                crate::format::display_time(n.created_at, &me.user.time_zone),
            )
        })
        .collect::<Vec<_>>();
    let tzn = me.user.time_zone.clone();
    let link_base = if me.user.role == app::domain::account::Role::Viewer {
        "/incidents"
    } else {
        "/admin/incidents"
    };
    let open_incidents = state
        .store
        .incidents(crate::store::IncidentFilter {
            open_only: true,
            limit: 20,
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|i| i.status != app::domain::incident::IncidentStatus::Scheduled)
        .map(|i| {
            (
                i.name.clone(),
                format!("{link_base}/{}", i.id),
                i.status.label().to_string(),
            )
        })
        .collect::<Vec<_>>();
    let open_alerts = state
        .store
        .alerts(50)
        .await?
        .into_iter()
        .filter(|a| a.status != "resolved")
        .map(|a| (a.summary, crate::format::display_time(a.created_at, &tzn)))
        .collect::<Vec<_>>();
    let oncall = state
        .store
        .oncall_incidents(&crate::store::OncallFilter {
            open_only: true,
            limit: 20,
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|i| {
            (
                format!("#{} {}", i.number, i.title),
                format!("/oncall/{}", i.id),
                i.state.as_str().to_string(),
                format!(
                    "{} · since {}",
                    i.service_name.unwrap_or_default(),
                    crate::format::display_time(i.created_at, &tzn)
                ),
            )
        })
        .collect::<Vec<_>>();
    let zone = me.user.time_zone.clone();
    let viewer = MaybeSession(Some(me)).viewer();
    let snapshot = (*state.hub.current().snapshot).clone();
    Ok(Html(render_document(
        "Firstline",
        state.hydration(),
        None,
        move || {
            view! {
                <DashboardPage viewer=viewer snapshot=snapshot teams=teams nows=nows notices=notices
                    open_incidents=open_incidents open_alerts=open_alerts oncall=oncall
                    takeable=takeable my_requests=my_requests zone=zone/>
            }
        },
    )))
}

/// Any unknown path.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
