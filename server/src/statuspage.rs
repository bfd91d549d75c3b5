//! The public status documents in the Statuspage v2 JSON shapes (`/api/v2/status.json`,
//! `components.json`, `summary.json`; see shared/specs/statuspage-api-v2.md). They are built once
//! per change, kept in memory with their ETag, and compressed once on first request.

use app::domain::status::{derive_indicator, ComponentStatus};
use app::ssr::store::{Component, ComponentGroup, Store, StoreError};
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
    /// Reads (and on first use creates) the page settings.
    pub async fn load(store: &Store, base_url: &str) -> Result<PageInfo, StoreError> {
        Ok(PageInfo {
            id: store
                .setting_or_insert("page_id", &app::ssr::store::new_id())
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

/// The three documents, ready to serve.
#[derive(Debug)]
pub struct PublicDocs {
    /// `status.json`
    pub status: Asset,
    /// `components.json`
    pub components: Asset,
    /// `summary.json`
    pub summary: Asset,
}

fn status_value(components: &[Component]) -> Value {
    let indicator = derive_indicator(components.iter().map(|c| c.status), []);
    json!({ "indicator": indicator.as_str(), "description": indicator.description() })
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
        .max_by_key(|s| match s {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        })
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

fn to_asset(v: &Value) -> Asset {
    Asset::new(
        "application/json",
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

/// Builds the documents from the stored components and groups.
pub fn build(page: &PageInfo, components: &[Component], groups: &[ComponentGroup]) -> PublicDocs {
    let updated = components
        .iter()
        .map(|c| c.updated_at)
        .chain(groups.iter().map(|g| g.updated_at))
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
    for g in groups {
        let members: Vec<&Component> = components
            .iter()
            .filter(|c| c.group_id.as_deref() == Some(g.id.as_str()))
            .collect();
        list.push(group_value(g, &members, &page.id));
    }
    list.extend(components.iter().map(|c| component_value(c, &page.id)));
    let status = status_value(components);
    PublicDocs {
        status: to_asset(&json!({ "page": page_v, "status": status })),
        components: to_asset(&json!({ "page": page_v, "components": list })),
        // Incidents and maintenance arrive with the incidents feature; none exist yet.
        summary: to_asset(&json!({
            "page": page_v,
            "status": status,
            "components": list,
            "incidents": [],
            "scheduled_maintenances": [],
        })),
    }
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
