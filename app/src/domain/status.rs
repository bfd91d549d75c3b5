//! Status-page domain: component statuses, the derived page indicator, and component input rules.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::validate::{optional_text, required_text, ValidationError};

/// The five component statuses of the Statuspage v2 API, in order of severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Working normally.
    Operational,
    /// Working, but slower or flakier than usual.
    DegradedPerformance,
    /// Some users or requests fail.
    PartialOutage,
    /// Down for most or all users.
    MajorOutage,
    /// Planned work in progress.
    UnderMaintenance,
}

impl ComponentStatus {
    /// Every status, in the order a form lists them.
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
        ComponentStatus::UnderMaintenance,
    ];

    /// The wire value (`partial_outage`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::DegradedPerformance => "degraded_performance",
            Self::PartialOutage => "partial_outage",
            Self::MajorOutage => "major_outage",
            Self::UnderMaintenance => "under_maintenance",
        }
    }

    /// The words shown to people ("Partial outage").
    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::DegradedPerformance => "Degraded performance",
            Self::PartialOutage => "Partial outage",
            Self::MajorOutage => "Major outage",
            Self::UnderMaintenance => "Under maintenance",
        }
    }

    /// One line on when to choose it.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Operational => "Working normally.",
            Self::DegradedPerformance => "Working, but slow or with occasional errors.",
            Self::PartialOutage => "Failing for some people or some requests.",
            Self::MajorOutage => "Not working for most people.",
            Self::UnderMaintenance => "Planned work; may be unavailable.",
        }
    }

    /// The indicator this status alone would give the page (maintenance is ranked apart).
    pub fn indicator(self) -> Indicator {
        match self {
            Self::Operational => Indicator::None,
            Self::DegradedPerformance => Indicator::Minor,
            Self::PartialOutage => Indicator::Major,
            Self::MajorOutage => Indicator::Critical,
            Self::UnderMaintenance => Indicator::Maintenance,
        }
    }
}

impl fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComponentStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    format!(
                        "unknown status {:?}; expected one of: {}",
                        truncate(s, 40),
                        Self::ALL.map(|s| s.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// Incident impact, as in the Statuspage v2 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// No impact.
    None,
    /// Minor impact.
    Minor,
    /// Major impact.
    Major,
    /// Critical impact.
    Critical,
}

/// The page's overall indicator (`status.indicator` in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// All systems operational.
    None,
    /// Minor problems.
    Minor,
    /// Partial outage.
    Major,
    /// Major outage.
    Critical,
    /// Something is under maintenance, nothing is broken.
    Maintenance,
}

impl Indicator {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minor => "minor",
            Self::Major => "major",
            Self::Critical => "critical",
            Self::Maintenance => "maintenance",
        }
    }

    /// The sentence for the page banner, as hosted status pages word it.
    pub fn description(self) -> &'static str {
        match self {
            Self::None => "All Systems Operational",
            Self::Minor => "Minor Service Outage",
            Self::Major => "Partial System Outage",
            Self::Critical => "Major System Outage",
            Self::Maintenance => "Service Under Maintenance",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Maintenance => 1,
            Self::Minor => 2,
            Self::Major => 3,
            Self::Critical => 4,
        }
    }
}

impl From<Impact> for Indicator {
    fn from(i: Impact) -> Self {
        match i {
            Impact::None => Indicator::None,
            Impact::Minor => Indicator::Minor,
            Impact::Major => Indicator::Major,
            Impact::Critical => Indicator::Critical,
        }
    }
}

/// Derives the page's headline from components and unresolved incidents together, by one rule:
/// the worst of every unresolved incident's stated impact and the status of every component that
/// no unresolved incident speaks for (the caller leaves out components an open incident holds:
/// its impact is the admin's word on them). So a monitor's outage says "Major System Outage"
/// whatever another incident's impact, and `maintenance` shows only when nothing is worse.
pub fn derive_indicator(
    component_statuses: impl IntoIterator<Item = ComponentStatus>,
    unresolved_impacts: impl IntoIterator<Item = Impact>,
) -> Indicator {
    unresolved_impacts
        .into_iter()
        .map(Indicator::from)
        .chain(
            component_statuses
                .into_iter()
                .map(ComponentStatus::indicator),
        )
        .max_by_key(|i| i.rank())
        .unwrap_or(Indicator::None)
}

/// Longest component or group name.
pub const NAME_MAX: usize = 100;
/// Longest component description.
pub const DESCRIPTION_MAX: usize = 500;
/// Largest position number.
pub const POSITION_MAX: i64 = 10_000;

/// A component as an admin submits it (create or edit), before and after validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ComponentInput {
    /// Display name, unique on the page.
    pub name: String,
    /// Optional one-line description.
    #[serde(default)]
    pub description: String,
    /// Optional group name; components with the same group are shown together.
    #[serde(default)]
    pub group: String,
    /// Order within its group (smaller first), as text from a form.
    #[serde(default)]
    pub position: String,
    /// One of the five statuses, as its wire value.
    #[serde(default)]
    pub status: String,
}

/// A validated component input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDraft {
    /// Trimmed, non-empty name.
    pub name: String,
    /// Trimmed description, if any.
    pub description: Option<String>,
    /// Trimmed group name, if any.
    pub group: Option<String>,
    /// Position within the group.
    pub position: i64,
    /// Current status.
    pub status: ComponentStatus,
}

impl ComponentInput {
    /// Checks every field and returns the cleaned draft, or the first field that is wrong.
    pub fn normalize(&self) -> Result<ComponentDraft, ValidationError> {
        let name = required_text("name", &self.name, NAME_MAX)?;
        let description = optional_text("description", &self.description, DESCRIPTION_MAX)?;
        let group = optional_text("group", &self.group, NAME_MAX)?;
        let position = match self.position.trim() {
            "" => 0,
            p => p
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=POSITION_MAX).contains(n))
                .ok_or_else(|| {
                    ValidationError::new(
                        "position",
                        format!("must be a whole number from 0 to {POSITION_MAX}"),
                    )
                })?,
        };
        let status = match self.status.trim() {
            "" => ComponentStatus::Operational,
            s => s.parse()?,
        };
        Ok(ComponentDraft {
            name,
            description,
            group,
            position,
            status,
        })
    }
}

/// One component as the public page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicComponent {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Current status.
    pub status: ComponentStatus,
}

/// A group of components (or the ungrouped ones, with `name: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicGroup {
    /// Group name; `None` for components outside any group.
    pub name: Option<String>,
    /// Members, in display order.
    pub components: Vec<PublicComponent>,
}

/// Everything the live part of the public status page shows; sent whole on every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// The page's overall indicator.
    pub indicator: Indicator,
    /// Groups in display order.
    pub groups: Vec<PublicGroup>,
    /// When anything on the page last changed, RFC 3339 UTC.
    pub updated_at: String,
}

/// A component row with its group, in any order; input to [`build_snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRowView {
    /// The component.
    pub component: PublicComponent,
    /// Its group name.
    pub group: Option<String>,
    /// The group's position among groups.
    pub group_position: i64,
    /// Position within the group.
    pub position: i64,
}

/// Groups and orders components for the page: ungrouped components first, then groups by their
/// position and name; members by position then name.
pub fn build_snapshot(mut rows: Vec<ComponentRowView>, updated_at: String) -> StatusSnapshot {
    let indicator = derive_indicator(rows.iter().map(|r| r.component.status), []);
    rows.sort_by(|a, b| (a.position, &a.component.name).cmp(&(b.position, &b.component.name)));
    let mut groups: Vec<(i64, PublicGroup)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(_, g)| g.name == row.group) {
            Some((_, g)) => g.components.push(row.component),
            None => groups.push((
                row.group_position,
                PublicGroup {
                    name: row.group,
                    components: vec![row.component],
                },
            )),
        }
    }
    groups.sort_by(|(pa, a), (pb, b)| {
        (a.name.is_some(), *pa, &a.name).cmp(&(b.name.is_some(), *pb, &b.name))
    });
    StatusSnapshot {
        indicator,
        groups: groups.into_iter().map(|(_, g)| g).collect(),
        updated_at,
    }
}

// ---- components as stored and shown ----

/// A status-page component as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Stable id.
    pub id: String,
    /// Unique display name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Group id, if grouped.
    pub group_id: Option<String>,
    /// Group name, if grouped.
    pub group_name: Option<String>,
    /// The group's position among groups (0 when ungrouped).
    pub group_position: i64,
    /// Position within its group.
    pub position: i64,
    /// Current status, derived from what holds it ([`super::holds::derive_component_status`]).
    pub status: ComponentStatus,
    /// The status an admin set by hand; what it shows when nothing else holds it.
    pub manual_status: ComponentStatus,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last change, Unix ms.
    pub updated_at: i64,
    /// Since when it has had its current status, Unix ms.
    pub status_since: i64,
}

/// A group of components on the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentGroup {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Position among groups.
    pub position: i64,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn status_round_trips_through_wire_value() {
        for s in ComponentStatus::ALL {
            assert_eq!(s.as_str().parse::<ComponentStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        let err = "sideways".parse::<ComponentStatus>().unwrap_err();
        assert_eq!(err.field, "status");
        assert!(err.message.contains("sideways"));
        assert!(err.message.contains("partial_outage"));
    }

    #[test]
    fn indicator_table() {
        let cases: &[(&[ComponentStatus], &[Impact], Indicator)] = &[
            (&[], &[], Indicator::None),
            (&[Operational, Operational], &[], Indicator::None),
            (&[Operational, DegradedPerformance], &[], Indicator::Minor),
            (&[PartialOutage, DegradedPerformance], &[], Indicator::Major),
            (&[PartialOutage, MajorOutage], &[], Indicator::Critical),
            (
                &[UnderMaintenance, Operational],
                &[],
                Indicator::Maintenance,
            ),
            (
                &[UnderMaintenance, DegradedPerformance],
                &[],
                Indicator::Minor,
            ),
            // A component's outage is never hidden by a milder incident.
            (&[MajorOutage], &[Impact::Minor], Indicator::Critical),
            (&[Operational], &[Impact::Minor], Indicator::Minor),
            // A monitor's outage, then a major incident on another component.
            (
                &[MajorOutage, MajorOutage],
                &[Impact::Major],
                Indicator::Critical,
            ),
            (&[UnderMaintenance], &[Impact::Minor], Indicator::Minor),
            (
                &[Operational],
                &[Impact::Major, Impact::Critical],
                Indicator::Critical,
            ),
            (&[PartialOutage], &[Impact::None], Indicator::Major),
        ];
        for (statuses, impacts, want) in cases {
            assert_eq!(
                derive_indicator(statuses.iter().copied(), impacts.iter().copied()),
                *want,
                "{statuses:?} {impacts:?}"
            );
        }
    }

    fn input(name: &str, position: &str, status: &str) -> ComponentInput {
        ComponentInput {
            name: name.into(),
            description: String::new(),
            group: String::new(),
            position: position.into(),
            status: status.into(),
        }
    }

    #[test]
    fn component_input_table() {
        let long = "x".repeat(NAME_MAX + 1);
        let cases: Vec<(ComponentInput, Result<(), &str>)> = vec![
            (input("API", "1", "operational"), Ok(())),
            (input("API", "", ""), Ok(())),
            (input("", "1", "operational"), Err("name")),
            (input("   ", "1", "operational"), Err("name")),
            (input(&long, "1", "operational"), Err("name")),
            (input("API", "-1", "operational"), Err("position")),
            (input("API", "1.5", "operational"), Err("position")),
            (input("API", "99999999", "operational"), Err("position")),
            (input("API", "1", "on_fire"), Err("status")),
            (
                ComponentInput {
                    description: "d".repeat(DESCRIPTION_MAX + 1),
                    ..input("API", "1", "operational")
                },
                Err("description"),
            ),
            (
                ComponentInput {
                    group: long.clone(),
                    ..input("API", "1", "operational")
                },
                Err("group"),
            ),
        ];
        for (inp, want) in cases {
            match (inp.normalize(), want) {
                (Ok(_), Ok(())) => {}
                (Err(e), Err(field)) => assert_eq!(e.field, field, "{inp:?}"),
                (got, want) => panic!("{inp:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    fn row(
        name: &str,
        group: Option<(&str, i64)>,
        position: i64,
        status: ComponentStatus,
    ) -> ComponentRowView {
        ComponentRowView {
            group_position: group.map(|g| g.1).unwrap_or(0),
            component: PublicComponent {
                id: name.to_lowercase(),
                name: name.into(),
                description: None,
                status,
            },
            group: group.map(|g| g.0.into()),
            position,
        }
    }

    #[test]
    fn snapshot_groups_and_orders() {
        let snap = build_snapshot(
            vec![
                row("Git index", Some(("Index", 1)), 2, Operational),
                row("Web UI", None, 1, Operational),
                row("Sparse index", Some(("Index", 1)), 1, PartialOutage),
                row("Downloads", Some(("Delivery", 2)), 5, Operational),
            ],
            "2026-11-24T00:00:00Z".into(),
        );
        assert_eq!(snap.indicator, Indicator::Major);
        let names: Vec<(Option<&str>, Vec<&str>)> = snap
            .groups
            .iter()
            .map(|g| {
                (
                    g.name.as_deref(),
                    g.components.iter().map(|c| c.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                (None, vec!["Web UI"]),
                (Some("Index"), vec!["Sparse index", "Git index"]),
                (Some("Delivery"), vec!["Downloads"]),
            ]
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = ComponentStatus> {
        prop::sample::select(ComponentStatus::ALL.to_vec())
    }

    fn rows() -> impl Strategy<Value = Vec<ComponentRowView>> {
        prop::collection::vec(
            (0usize..40, prop::option::of(0usize..4), 0i64..5, status()),
            0..30,
        )
        .prop_map(|raw| {
            let mut seen = std::collections::HashSet::new();
            raw.into_iter()
                .filter(|(n, ..)| seen.insert(*n))
                .map(|(n, g, pos, st)| ComponentRowView {
                    component: PublicComponent {
                        id: format!("c{n}"),
                        name: format!("Component {n}"),
                        description: None,
                        status: st,
                    },
                    group: g.map(|g| format!("Group {g}")),
                    group_position: g.map(|g| (4 - g) as i64).unwrap_or(0),
                    position: pos,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn snapshot_keeps_every_component_once_in_one_group(rows in rows()) {
            let want: std::collections::BTreeSet<String> =
                rows.iter().map(|r| r.component.id.clone()).collect();
            let statuses: Vec<ComponentStatus> = rows.iter().map(|r| r.component.status).collect();
            let group_of: std::collections::HashMap<String, Option<String>> =
                rows.iter().map(|r| (r.component.id.clone(), r.group.clone())).collect();
            let snap = build_snapshot(rows, String::new());
            let got: Vec<String> = snap.groups.iter()
                .flat_map(|g| g.components.iter().map(|c| c.id.clone())).collect();
            prop_assert_eq!(got.len(), want.len());
            prop_assert_eq!(got.iter().cloned().collect::<std::collections::BTreeSet<_>>(), want);
            // Each group appears once, holds only its members, and ungrouped come first.
            let names: Vec<Option<String>> = snap.groups.iter().map(|g| g.name.clone()).collect();
            let unique: std::collections::HashSet<_> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len());
            for (i, g) in snap.groups.iter().enumerate() {
                prop_assert!(g.name.is_some() || i == 0);
                for c in &g.components {
                    prop_assert_eq!(&group_of[&c.id], &g.name);
                }
            }
            prop_assert_eq!(snap.indicator, derive_indicator(statuses, []));
        }

        #[test]
        fn indicator_is_never_better_than_any_component(statuses in prop::collection::vec(status(), 1..10)) {
            let ind = derive_indicator(statuses.iter().copied(), []);
            for s in statuses {
                prop_assert!(ind.rank() >= s.indicator().rank());
            }
        }
    }
}
