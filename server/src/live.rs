//! The public status page's presenter: the current public state (page body, JSON documents,
//! feeds), built once per change. Open pages hear of new versions through the live hub
//! ([`crate::hub`]).

use std::sync::{Arc, OnceLock, RwLock};

use crate::store::{Component, Incident, IncidentFilter, Store, StoreError};
use app::domain::incident::{IncidentKind, IncidentStatus};
use app::domain::status::{
    build_snapshot, ComponentRowView, ComponentStatus, PublicComponent, StatusSnapshot,
};
use app::domain::uptime;
use app::pages::status::{
    ComponentView, GroupView, IncidentCard, PageBrand, Stamp, StatusBody, StatusView, UpdateView,
};
use leptos::prelude::*;

use crate::assets::Asset;
use crate::clock::Clock;
use crate::format::display_time;
use crate::markdown::to_safe_html;
use crate::statuspage::{PageInfo, PublicDocs};

/// The current public state, built once per change.
#[derive(Debug, Clone)]
pub struct Current {
    /// For the dashboard banner and lists.
    pub snapshot: Arc<StatusSnapshot>,
    /// The live body of the status page (an HTML fragment): embedded in the page, and served
    /// compressed at `/status/live` to open pages when the SSE stream announces a new version.
    pub body: Arc<Asset>,
    /// The version of the live body: its ETag without quotes. Open pages compare it with the
    /// version they show, and fetch `/status/live` only when it differs.
    pub version: Arc<str>,
    /// The Statuspage-compatible JSON documents.
    pub docs: Arc<PublicDocs>,
    /// `/history.rss`.
    pub rss: Arc<Asset>,
    /// `/history.atom`.
    pub atom: Arc<Asset>,
    /// The anonymous status page, rendered on first request after the change.
    pub page_html: Arc<OnceLock<Asset>>,
    /// The page's branding as shown (name, site, footer links, logo link).
    pub brand: Arc<PageBrand>,
    /// The uploaded logo, served at `/status/logo`, with its hash.
    pub logo: Option<(String, Arc<Asset>)>,
}

/// Holds the snapshot and notifies subscribers when it changes.
#[derive(Debug)]
pub struct StatusHub {
    page: PageInfo,
    current: RwLock<Current>,
    clock: Clock,
    refresh_lock: tokio::sync::Mutex<()>,
}

/// Merges the open items into the recent ones (an old incident may still be open), newest first.
fn merge(mut recent: Vec<Incident>, open: Vec<Incident>) -> Vec<Incident> {
    for o in open {
        if !recent.iter().any(|r| r.id == o.id) {
            recent.push(o);
        }
    }
    recent.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then(b.created_at.cmp(&a.created_at))
    });
    recent
}

/// A moment in `tz`, labelled, with its instant.
pub fn stamp(ms: i64, tz: &str) -> Stamp {
    Stamp {
        text: display_time(ms, tz),
        ms,
    }
}

/// Formats an incident for the page in the page's zone.
pub fn card(i: &Incident, tz: &str) -> IncidentCard {
    IncidentCard {
        id: i.id.clone(),
        name: i.name.clone(),
        status: i.status.label().to_string(),
        impact: i.impact_str().to_string(),
        window: match (i.scheduled_for, i.scheduled_until) {
            (Some(s), Some(e)) => Some((stamp(s, tz), stamp(e, tz))),
            _ => None,
        },
        components: i
            .components
            .iter()
            .map(|(_, name, st)| {
                let active = i.status.is_open() && i.status != IncidentStatus::Scheduled;
                (name.clone(), active.then_some(*st))
            })
            .collect(),
        updates: i
            .updates
            .iter()
            // The postmortem has its own section.
            .filter(|u| !(u.status == IncidentStatus::Postmortem && i.postmortem.is_some()))
            .map(|u| UpdateView {
                status: u.status.label().to_string(),
                at: stamp(u.created_at, tz),
                edited: u.edited_at.map(|e| stamp(e, tz)),
                html: to_safe_html(&u.body),
            })
            .collect(),
        postmortem: i.postmortem.as_deref().map(to_safe_html),
        started: stamp(i.started_at, tz),
        resolved: i.resolved_at.map(|r| stamp(r, tz)),
    }
}

impl StatusHub {
    /// Builds the hub from the database.
    pub async fn load(
        store: &Store,
        base_url: &str,
        clock: Clock,
    ) -> Result<StatusHub, StoreError> {
        let page = PageInfo::load(store, base_url).await?;
        let current = Self::compute(store, &page, clock.now_ms(), None).await?;
        Ok(StatusHub {
            page,
            current: RwLock::new(current),
            clock,
            refresh_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The page's identity.
    pub fn page(&self) -> &PageInfo {
        &self.page
    }

    async fn compute(
        store: &Store,
        page: &PageInfo,
        now: i64,
        prev_logo: Option<(String, Arc<Asset>)>,
    ) -> Result<Current, StoreError> {
        let tz = page.time_zone.as_str();
        let stored = store.branding().await?;
        // The API and the feeds carry the name the admins set.
        let mut page = page.clone();
        if !stored.branding.page_name.is_empty() {
            page.name = stored.branding.page_name.clone();
        }
        let page = &page;
        let logo = match stored.logo {
            None => None,
            Some((ty, hash)) => match prev_logo.filter(|(h, _)| *h == hash) {
                Some(same) => Some(same),
                None => store.logo().await?.map(|bytes| {
                    let ty = match ty.as_str() {
                        "image/png" => "image/png",
                        "image/jpeg" => "image/jpeg",
                        _ => "image/webp",
                    };
                    (hash, Arc::new(Asset::new(ty, bytes::Bytes::from(bytes))))
                }),
            },
        };
        let brand = Arc::new(PageBrand {
            name: page.name.clone(),
            site_url: stored.branding.site_url.clone(),
            logo: logo.as_ref().map(|(h, _)| format!("/status/logo?v={h}")),
            links: stored.branding.footer_links.clone(),
        });
        let components = store.list_components().await?;
        let groups = store.list_component_groups().await?;
        let of_kind = |kind, open_only| IncidentFilter {
            kind: Some(kind),
            open_only,
            limit: if open_only { 100 } else { 50 },
            ..Default::default()
        };
        let incidents = merge(
            store
                .incidents(of_kind(IncidentKind::Incident, false))
                .await?,
            store
                .incidents(of_kind(IncidentKind::Incident, true))
                .await?,
        );
        let maintenances = merge(
            store
                .incidents(of_kind(IncidentKind::Maintenance, false))
                .await?,
            store
                .incidents(of_kind(IncidentKind::Maintenance, true))
                .await?,
        );
        let today = uptime::day_of(now);
        let first_day = today - uptime::BAR_DAYS + 1;
        let daily = store.daily_since(first_day).await?;
        let bar_incidents = store
            .incidents(IncidentFilter {
                kind: Some(IncidentKind::Incident),
                since: Some((first_day - 30) * uptime::DAY_MS),
                limit: 1000,
                ..Default::default()
            })
            .await?;

        let docs = Arc::new(crate::statuspage::build(&crate::statuspage::Sources {
            page,
            components: &components,
            groups: &groups,
            incidents: &incidents,
            maintenances: &maintenances,
        }));
        let rss = Arc::new(crate::feeds::rss(page, &incidents, &maintenances));
        let atom = Arc::new(crate::feeds::atom(page, &incidents, &maintenances));
        let indicator = crate::statuspage::page_indicator(&components, &incidents);
        let updated = components
            .iter()
            .map(|c| c.updated_at)
            .chain(incidents.iter().map(|i| i.updated_at))
            .chain(maintenances.iter().map(|i| i.updated_at))
            .max()
            .unwrap_or(0);

        // Dashboard snapshot.
        let rows = components
            .iter()
            .map(|c| ComponentRowView {
                component: PublicComponent {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    description: c.description.clone(),
                    status: c.status,
                },
                group: c.group_name.clone(),
                group_position: c.group_position,
                position: c.position,
            })
            .collect();
        let mut snapshot = build_snapshot(rows, display_time(updated, tz));
        snapshot.indicator = indicator;

        // The live body.
        let component_view = |c: &Component| {
            let mut aggs: Vec<(i64, uptime::DayAggregate)> = daily
                .iter()
                .filter(|(id, _, _)| *id == c.id)
                .map(|(_, d, a)| (*d, *a))
                .collect();
            // The open interval of the current status is not in the aggregates yet.
            aggs.extend(uptime::interval_days(
                c.status,
                c.status_since.max(first_day * uptime::DAY_MS),
                now,
            ));
            let mut mark = uptime::DayAggregate::default();
            mark.add(c.status, 0);
            aggs.push((today, mark));
            let mut days: Vec<(i64, String)> = Vec::new();
            let mut ids: Vec<(i64, String)> = Vec::new();
            // What phones list under the bar: the incidents of the days they show.
            let mut recent: Vec<(String, String, String)> = Vec::new();
            for i in bar_incidents
                .iter()
                .filter(|i| i.components.iter().any(|(id, _, _)| *id == c.id))
            {
                if uptime::day_of(i.resolved_at.unwrap_or(now)) > today - uptime::PHONE_DAYS {
                    let day = jiff::Timestamp::from_millisecond(i.started_at)
                        .map(|t| {
                            let zone =
                                jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
                            t.to_zoned(zone).strftime("%-d %b").to_string()
                        })
                        .unwrap_or_default();
                    recent.push((format!("/incidents/{}", i.id), day, i.name.clone()));
                }
                let end = uptime::day_of(i.resolved_at.unwrap_or(now));
                for d in uptime::day_of(i.started_at)..=end {
                    days.push((d, i.name.clone()));
                    ids.push((d, i.id.clone()));
                }
            }
            // Today's share of the percentage moves on by the hour, so an unchanged page is not
            // pushed to every open status page on each periodic refresh.
            let hour = now - now.rem_euclid(3_600_000);
            let bar = uptime::build_bar(&aggs, today, uptime::day_of(c.created_at), hour, &days);
            let links = (first_day..=today)
                .map(|d| {
                    let on_day: Vec<&String> = ids
                        .iter()
                        .filter(|(x, _)| *x == d)
                        .map(|(_, id)| id)
                        .collect();
                    match on_day.as_slice() {
                        [] => None,
                        [one] => Some(format!("/incidents/{one}")),
                        _ => Some(format!("/history/{}", &uptime::day_label(d)[..7])),
                    }
                })
                .collect();
            ComponentView {
                id: c.id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                status: c.status,
                bar,
                links,
                recent,
            }
        };
        let mut group_views: Vec<GroupView> = Vec::new();
        for g in &groups {
            let members: Vec<&Component> = components
                .iter()
                .filter(|c| c.group_id.as_deref() == Some(g.id.as_str()))
                .collect();
            if members.is_empty() {
                continue;
            }
            group_views.push(GroupView {
                name: Some(g.name.clone()),
                worst: members
                    .iter()
                    .map(|c| c.status)
                    .max_by_key(|s| uptime::rank(*s))
                    .unwrap_or(ComponentStatus::Operational),
                components: members.into_iter().map(component_view).collect(),
            });
        }
        let loose: Vec<ComponentView> = components
            .iter()
            .filter(|c| c.group_id.is_none())
            .map(component_view)
            .collect();
        if !loose.is_empty() {
            group_views.push(GroupView {
                name: None,
                worst: ComponentStatus::Operational,
                components: loose,
            });
        }
        let mut maint_cards: Vec<IncidentCard> = maintenances
            .iter()
            .filter(|m| m.status.is_open() && m.status != IncidentStatus::Scheduled)
            .map(|m| card(m, tz))
            .collect();
        let mut upcoming: Vec<&Incident> = maintenances
            .iter()
            .filter(|m| m.status == IncidentStatus::Scheduled)
            .collect();
        upcoming.sort_by_key(|m| m.scheduled_for);
        maint_cards.extend(upcoming.into_iter().map(|m| card(m, tz)));
        let view = StatusView {
            indicator,
            incidents: incidents
                .iter()
                .filter(|i| i.status.is_open())
                .map(|i| card(i, tz))
                .collect(),
            maintenance: maint_cards,
            groups: group_views,
            updated: stamp(updated, tz),
        };
        let body = Arc::new(Asset::new(
            "text/html; charset=utf-8",
            bytes::Bytes::from(render_fragment(view)),
        ));
        Ok(Current {
            snapshot: Arc::new(snapshot),
            version: body.etag().trim_matches('"').into(),
            body,
            docs,
            rss,
            atom,
            page_html: Arc::new(OnceLock::new()),
            brand,
            logo,
        })
    }

    /// Re-reads the database. Returns the new body version when the live body changed (open
    /// pages are to hear of it; the caller publishes it on the live hub).
    pub async fn refresh(&self, store: &Store) -> Result<Option<Arc<str>>, StoreError> {
        let _guard = self.refresh_lock.lock().await;
        let prev_logo = self.current().logo;
        let next = Self::compute(store, &self.page, self.clock.now_ms(), prev_logo).await?;
        let body_changed = {
            let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
            let etag = |c: &Current| {
                c.docs
                    .get("summary.json")
                    .map(|a| a.etag().to_string())
                    .unwrap_or_default()
            };
            let body_changed = cur.version != next.version;
            if body_changed
                || etag(&cur) != etag(&next)
                || cur.rss.etag() != next.rss.etag()
                || cur.brand != next.brand
            {
                *cur = next.clone();
            }
            body_changed
        };
        Ok(body_changed.then_some(next.version))
    }

    /// The current snapshot.
    pub fn current(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Renders the live body to HTML.
pub fn render_fragment(view: StatusView) -> String {
    let owner = Owner::new();
    owner.with(|| view! { <StatusBody view=view/> }.to_html())
}
