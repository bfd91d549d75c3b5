//! The public status documents in the Statuspage v2 JSON shapes (`/api/v2/status.json`,
//! `components.json`, `summary.json`, incidents and scheduled maintenances, as hosted status
//! pages serve them). They are built once per change, kept in memory with their ETag, and
//! compressed once on first request.

use crate::store::{Component, ComponentGroup, Incident, Store, StoreError};
use app::domain::incident::{IncidentKind, IncidentStatus};
use app::domain::status::{derive_indicator, ComponentStatus, Indicator};
use bytes::Bytes;
use jiff::Timestamp;
use serde_json::{json, Value};

use crate::assets::Asset;

/// The page's identity, as the API reports it.
#[derive(Debug, Clone)]
pub struct PageInfo {
    /// Stable id.
    pub id: String,
    /// Name, e.g. "crates.io".
    pub name: String,
    /// Public URL of the page.
    pub url: String,
    /// IANA zone.
    pub time_zone: String,
}

impl PageInfo {
    /// The server's public base URL (the page URL without `/status`).
    pub fn base_url(&self) -> &str {
        self.url.strip_suffix("/status").unwrap_or(&self.url)
    }

    /// Reads (and on first use creates) the page settings.
    pub async fn load(store: &Store, base_url: &str) -> Result<PageInfo, StoreError> {
        Ok(PageInfo {
            id: store
                .setting_or_insert("page_id", &crate::store::new_id())
                .await?,
            name: store
                .setting("page_name")
                .await?
                .unwrap_or_else(|| "Firstline".into()),
            url: format!("{base_url}/status"),
            time_zone: store
                .setting("page_time_zone")
                .await?
                .unwrap_or_else(|| "UTC".into()),
        })
    }
}

/// ISO 8601 with milliseconds and offset: `2026-11-23T10:15:00.000Z`.
pub fn iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Every public JSON document, ready to serve, by file name under `/api/v2/`.
#[derive(Debug)]
pub struct PublicDocs {
    docs: Vec<(&'static str, Asset)>,
}

impl PublicDocs {
    /// The document served as `/api/v2/{file}`.
    pub fn get(&self, file: &str) -> Option<&Asset> {
        self.docs.iter().find(|(n, _)| *n == file).map(|(_, a)| a)
    }

    /// The file names, for error messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.docs.iter().map(|(n, _)| *n).collect()
    }
}

/// The page's status object, derived from component statuses and unresolved incidents.
pub fn status_value(components: &[Component], incidents: &[Incident]) -> Value {
    let indicator = page_indicator(components, incidents);
    json!({ "indicator": indicator.as_str(), "description": indicator.description() })
}

/// The page's headline ([`derive_indicator`]): the worst of the open incidents' impacts and the
/// statuses of the components none of them holds.
pub fn page_indicator(components: &[Component], incidents: &[Incident]) -> Indicator {
    let open: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Incident && i.status.is_open())
        .collect();
    let spoken_for = |c: &&Component| {
        open.iter()
            .any(|i| i.components.iter().any(|(id, _, _)| *id == c.id))
    };
    derive_indicator(
        components
            .iter()
            .filter(|c| !spoken_for(c))
            .map(|c| c.status),
        open.iter().filter_map(|i| i.impact),
    )
}

fn component_value(c: &Component, page_id: &str) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "status": c.status.as_str(),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "position": c.position,
        "description": c.description,
        "showcase": true,
        "start_date": Value::Null,
        "group_id": c.group_id,
        "page_id": page_id,
        "group": false,
        "only_show_if_degraded": false,
    })
}

fn group_value(g: &ComponentGroup, members: &[&Component], page_id: &str) -> Value {
    // A group shows the worst status of its members.
    let worst = members
        .iter()
        .map(|c| c.status)
        .max_by_key(|s| app::domain::uptime::rank(*s))
        .unwrap_or(ComponentStatus::Operational);
    json!({
        "id": g.id,
        "name": g.name,
        "status": worst.as_str(),
        "created_at": iso(g.created_at),
        "updated_at": iso(members.iter().map(|c| c.updated_at).max().unwrap_or(g.updated_at).max(g.updated_at)),
        "position": g.position,
        "description": Value::Null,
        "showcase": false,
        "start_date": Value::Null,
        "group_id": Value::Null,
        "page_id": page_id,
        "group": true,
        "only_show_if_degraded": false,
        "components": members.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
    })
}

/// An incident or maintenance in the API's shape (maintenance adds its window).
pub fn incident_value(i: &Incident, page: &PageInfo, components: &[Component]) -> Value {
    let updates: Vec<Value> = i
        .updates
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "incident_id": u.incident_id,
                "status": u.status.as_str(),
                "body": u.body,
                "created_at": iso(u.created_at),
                "updated_at": iso(u.edited_at.unwrap_or(u.created_at)),
                "display_at": iso(u.created_at),
                "affected_components": u.affected,
                "deliver_notifications": u.notify,
            })
        })
        .collect();
    let affected: Vec<Value> = i
        .components
        .iter()
        .filter_map(|(id, _, _)| components.iter().find(|c| c.id == *id))
        .map(|c| component_value(c, &page.id))
        .collect();
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "status": i.status.as_str(),
        "impact": i.impact_str(),
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "started_at": iso(i.started_at),
        "monitoring_at": i.monitoring_at.map(iso),
        "resolved_at": i.resolved_at.map(iso),
        "shortlink": format!("{}/incidents/{}", page.base_url(), i.id),
        "page_id": page.id,
        "incident_updates": updates,
        "components": affected,
        "postmortem_body": i.postmortem,
    });
    if i.kind == IncidentKind::Maintenance {
        v["scheduled_for"] = json!(i.scheduled_for.map(iso));
        v["scheduled_until"] = json!(i.scheduled_until.map(iso));
    }
    v
}

fn to_asset(v: &Value) -> Asset {
    Asset::new(
        "application/json",
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

/// What the documents are built from: components, groups, and the 50 most recent incidents and
/// maintenances of each kind plus any older ones still open (newest first).
pub struct Sources<'a> {
    /// The page.
    pub page: &'a PageInfo,
    /// Components.
    pub components: &'a [Component],
    /// Groups.
    pub groups: &'a [ComponentGroup],
    /// Incidents (kind incident).
    pub incidents: &'a [Incident],
    /// Maintenances.
    pub maintenances: &'a [Incident],
}

/// Builds every document.
pub fn build(src: &Sources<'_>) -> PublicDocs {
    let page = src.page;
    let updated = src
        .components
        .iter()
        .map(|c| c.updated_at)
        .chain(src.groups.iter().map(|g| g.updated_at))
        .chain(src.incidents.iter().map(|i| i.updated_at))
        .chain(src.maintenances.iter().map(|i| i.updated_at))
        .max()
        .unwrap_or(0);
    let page_v = json!({
        "id": page.id,
        "name": page.name,
        "url": page.url,
        "time_zone": page.time_zone,
        "updated_at": iso(updated),
    });
    let mut list: Vec<Value> = Vec::new();
    for g in src.groups {
        let members: Vec<&Component> = src
            .components
            .iter()
            .filter(|c| c.group_id.as_deref() == Some(g.id.as_str()))
            .collect();
        list.push(group_value(g, &members, &page.id));
    }
    list.extend(src.components.iter().map(|c| component_value(c, &page.id)));
    let status = status_value(src.components, src.incidents);
    let inc = |f: &dyn Fn(&Incident) -> bool, from: &[Incident]| -> Vec<Value> {
        from.iter()
            .filter(|i| f(i))
            .take(50)
            .map(|i| incident_value(i, page, src.components))
            .collect()
    };
    use IncidentStatus as S;
    let unresolved = inc(&|i| i.status.is_open(), src.incidents);
    let upcoming = inc(&|i| i.status == S::Scheduled, src.maintenances);
    let active = inc(
        &|i| matches!(i.status, S::InProgress | S::Verifying),
        src.maintenances,
    );
    // Soonest first for what is coming.
    let mut upcoming_sorted = upcoming.clone();
    upcoming_sorted.reverse();
    let summary_maint: Vec<Value> = active
        .iter()
        .chain(upcoming_sorted.iter())
        .cloned()
        .collect();
    let docs = vec![
        (
            "status.json",
            to_asset(&json!({ "page": page_v, "status": status })),
        ),
        (
            "components.json",
            to_asset(&json!({ "page": page_v, "components": list })),
        ),
        (
            "summary.json",
            to_asset(&json!({
                "page": page_v,
                "status": status,
                "components": list,
                "incidents": unresolved,
                "scheduled_maintenances": summary_maint,
            })),
        ),
        (
            "incidents.json",
            to_asset(&json!({ "page": page_v, "incidents": inc(&|_| true, src.incidents) })),
        ),
        (
            "incidents/unresolved.json",
            to_asset(&json!({ "page": page_v, "incidents": unresolved })),
        ),
        (
            "scheduled-maintenances.json",
            to_asset(
                &json!({ "page": page_v, "scheduled_maintenances": inc(&|_| true, src.maintenances) }),
            ),
        ),
        (
            "scheduled-maintenances/upcoming.json",
            to_asset(&json!({ "page": page_v, "scheduled_maintenances": upcoming_sorted })),
        ),
        (
            "scheduled-maintenances/active.json",
            to_asset(&json!({ "page": page_v, "scheduled_maintenances": active })),
        ),
    ];
    PublicDocs { docs }
}

#[cfg(test)]
mod tests {
    use super::iso;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(iso(1_795_507_500_123), "2026-11-24T08:05:00.123Z");
        assert_eq!(iso(1_795_507_500_000), "2026-11-24T08:05:00.000Z");
    }
}
