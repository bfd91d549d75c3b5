//! Public, unauthenticated status interfaces: the Statuspage v2 JSON (CORS open, ETag/304,
//! short public caching) and SVG badges for the page and each component.

use app::domain::status::{ComponentStatus, Indicator};
use app::domain::ValidationError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use crate::state::AppState;

const API_CACHE: &str = "public, max-age=10, stale-while-revalidate=30";

fn cors(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// `GET /api/v2/{*file}`.
pub async fn v2(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let current = state.hub.current();
    let Some(doc) = current.docs.get(&file) else {
        return cors(
            AppError::Unknown(ValidationError::new(
                "file",
                format!(
                    "unknown document {file:?}; available: {}",
                    current.docs.names().join(", ")
                ),
            ))
            .into_response(),
        );
    };
    cors(doc.respond(&headers, API_CACHE))
}

fn colour(status: Option<ComponentStatus>, indicator: Indicator) -> &'static str {
    match (status, indicator) {
        (Some(ComponentStatus::Operational), _) | (None, Indicator::None) => "#11622e",
        (Some(ComponentStatus::DegradedPerformance), _) | (None, Indicator::Minor) => "#6e4700",
        (Some(ComponentStatus::PartialOutage), _) | (None, Indicator::Major) => "#8f3508",
        (Some(ComponentStatus::MajorOutage), _) | (None, Indicator::Critical) => "#9c1c12",
        (Some(ComponentStatus::UnderMaintenance), _) | (None, Indicator::Maintenance) => "#1a43b8",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A flat two-part badge; widths estimated at 7 px per character (Verdana 11 px).
pub fn badge_svg(label: &str, value: &str, fill: &str) -> String {
    let lw = 10 + 7 * label.chars().count();
    let vw = 10 + 7 * value.chars().count();
    let (l, v) = (escape(label), escape(value));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{l}: {v}"><title>{l}: {v}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="{fill}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{l}</text><text x="{vx}" y="14">{v}</text></g></svg>"##,
        w = lw + vw,
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

fn svg(body: String) -> Response {
    cors(
        (
            [
                (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=30"),
            ],
            body,
        )
            .into_response(),
    )
}

/// `GET /badge.svg`: the page's overall status.
pub async fn page_badge(State(state): State<AppState>) -> Response {
    let current = state.hub.current();
    let ind = current.snapshot.indicator;
    svg(badge_svg(
        &state.hub.current().brand.name,
        ind.description(),
        colour(None, ind),
    ))
}

/// `GET /badge/{component}.svg`: one component's status.
pub async fn component_badge(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let current = state.hub.current();
    let id = file.strip_suffix(".svg").unwrap_or(&file);
    let found = current
        .snapshot
        .groups
        .iter()
        .flat_map(|g| g.components.iter())
        .find(|c| c.id == id);
    match found {
        Some(c) => svg(badge_svg(
            &c.name,
            c.status.label(),
            colour(Some(c.status), Indicator::None),
        )),
        None => cors((StatusCode::NOT_FOUND, "no such component\n").into_response()),
    }
}

/// `GET /history.rss`.
pub async fn rss(State(state): State<AppState>, headers: HeaderMap) -> Response {
    cors(state.hub.current().rss.respond(&headers, API_CACHE))
}

/// `GET /history.atom`.
pub async fn atom(State(state): State<AppState>, headers: HeaderMap) -> Response {
    cors(state.hub.current().atom.respond(&headers, API_CACHE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_escapes_and_sizes() {
        let s = badge_svg("a<b", "Operational", "#11622e");
        assert!(s.contains("a&lt;b"));
        assert!(s.starts_with("<svg"));
        // 3 label characters and 11 value characters at 7 px plus 10 px padding each.
        assert!(s.contains(r#"width="118""#), "{s}");
    }
}
