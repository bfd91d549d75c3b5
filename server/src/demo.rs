//! Demo data, told as the founding story: the volunteers who run the crates.io registry hand
//! first-line pager duty to a contracted team of four, and keep themselves as the escalation.

use crate::store::{LayerDraft, Store};
use anyhow::Context;
use app::domain::account::{NewUserInput, Role};
use app::domain::schedule::{expand, Restriction, ShiftLength, Window};
use app::domain::status::ComponentInput;
use app::ssr::auth::{hash_password, random_token};
use jiff::civil::Weekday;
use jiff::{SignedDuration, Timestamp};

use crate::clock::Clock;
use crate::config::Config;

const DAY: i64 = 86_400_000;
const MIN: i64 = 60_000;

/// The demo admin's email.
pub const ADMIN_EMAIL: &str = "aisha@crates-volunteers.example";

struct Person {
    name: &'static str,
    email: &'static str,
    tz: &'static str,
    role: Role,
}

const VOLUNTEERS: &[Person] = &[
    Person {
        name: "Aisha Rahman",
        email: ADMIN_EMAIL,
        tz: "Europe/London",
        role: Role::Admin,
    },
    Person {
        name: "Maya Keller",
        email: "maya@crates-volunteers.example",
        tz: "Europe/Zurich",
        role: Role::Responder,
    },
    Person {
        name: "Leah Cohen",
        email: "leah@crates-volunteers.example",
        tz: "America/New_York",
        role: Role::Responder,
    },
    Person {
        name: "Tobias Berg",
        email: "tobias@crates-volunteers.example",
        tz: "Europe/Stockholm",
        role: Role::Responder,
    },
    Person {
        name: "Sam Okafor",
        email: "sam@crates-volunteers.example",
        tz: "America/Chicago",
        role: Role::Viewer,
    },
];

const FIRST_LINE: &[Person] = &[
    Person {
        name: "Jonas Weber",
        email: "jonas@firstline-contractors.example",
        tz: "Europe/Berlin",
        role: Role::Responder,
    },
    Person {
        name: "Priya Nair",
        email: "priya@firstline-contractors.example",
        tz: "Asia/Kolkata",
        role: Role::Responder,
    },
    Person {
        name: "Diego Alvarez",
        email: "diego@firstline-contractors.example",
        tz: "America/Sao_Paulo",
        role: Role::Responder,
    },
    Person {
        name: "Mei Tanaka",
        email: "mei@firstline-contractors.example",
        tz: "Asia/Tokyo",
        role: Role::Responder,
    },
];

/// (group, name, description, position)
const COMPONENTS: &[(&str, &str, &str, i64)] = &[
    (
        "Website",
        "Web UI",
        "crates.io in the browser: search, crate pages, accounts",
        1,
    ),
    ("Website", "API", "The JSON API used by cargo and tools", 2),
    (
        "Index",
        "Sparse index",
        "index.crates.io over HTTP, used by cargo by default",
        1,
    ),
    (
        "Index",
        "Git index",
        "The crates.io-index git repository",
        2,
    ),
    (
        "Crates",
        "Publishing",
        "cargo publish, yank and owner changes",
        1,
    ),
    (
        "Crates",
        "Downloads (static CDN)",
        "static.crates.io crate files",
        2,
    ),
];

/// What `--demo` created, for printing.
pub struct DemoLogin {
    /// Admin email.
    pub email: String,
    /// Admin password (random unless FIRSTLINE_DEMO_PASSWORD is set).
    pub password: String,
}

/// Seeds the demo data into an empty database; does nothing when users exist.
pub async fn seed_if_empty(store: &Store, _config: &Config) -> anyhow::Result<Option<DemoLogin>> {
    if store.count_users().await? > 0 {
        println!(
            "Demo data is already present. Log in as {ADMIN_EMAIL} with the password printed when it was created,\n\
             or set a new one with: firstline user set-password --email {ADMIN_EMAIL}"
        );
        return Ok(None);
    }
    // FIRSTLINE_DEMO_PASSWORD gives every demo account that password (to try swaps as Maya
    // and Leah, and for the end-to-end tests); otherwise only the admin's random one is printed.
    let shared = std::env::var("FIRSTLINE_DEMO_PASSWORD")
        .ok()
        .filter(|p| p.len() >= app::domain::account::PASSWORD_MIN);
    let password = shared
        .clone()
        .unwrap_or_else(|| random_token()[..20].to_string());
    // The demo is seeded before the server (and its state) exists: the system clock.
    let now = Clock::System.now_ms();
    let admin_hash = hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    // Members other than the admin get unguessable passwords unless a shared one is set.
    let other_hash = match &shared {
        Some(_) => admin_hash.clone(),
        None => hash_password(&random_token()).map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
    };

    let volunteers = store
        .create_team(
            "Registry volunteers",
            Some("The volunteers who run crates.io; the escalation after first line."),
            now,
        )
        .await?;
    let first_line = store
        .create_team(
            "First line",
            Some("Contracted 24/7 first-line responders on a weekly rotation."),
            now,
        )
        .await?;
    for (team, people) in [(&volunteers, VOLUNTEERS), (&first_line, FIRST_LINE)] {
        for p in people {
            let user = NewUserInput {
                email: p.email.into(),
                name: p.name.into(),
                time_zone: p.tz.into(),
                role: p.role.as_str().into(),
            }
            .normalize()
            .with_context(|| format!("demo user {}", p.email))?;
            let hash = if p.email == ADMIN_EMAIL {
                &admin_hash
            } else {
                &other_hash
            };
            let u = store.create_user(&user, hash, now).await?;
            store.add_team_member(team, &u.id).await?;
        }
    }
    for (group, name, description, position) in COMPONENTS {
        let draft = ComponentInput {
            name: (*name).into(),
            description: (*description).into(),
            group: (*group).into(),
            position: position.to_string(),
            status: "operational".into(),
        }
        .normalize()
        .with_context(|| format!("demo component {name}"))?;
        // Created four months ago, so the uptime bars have a full 90 days.
        store
            .create_component(&draft, None, now - 120 * DAY)
            .await?;
    }
    store.setting_or_insert("page_name", "crates.io").await?;
    let (primary, secondary) = seed_schedules(store, now).await?;
    seed_status_history(store, now).await?;
    let (services, keys) = seed_services(store, &first_line, now).await?;
    seed_escalation(store, &services, &primary, &secondary, &volunteers, now).await?;
    seed_worked_incident(store, &keys[0], &primary, now).await?;
    println!(
        "\nDemo data created: the crates.io volunteers and their first-line team.\n\
         Log in as {ADMIN_EMAIL} with password: {password}\n"
    );
    Ok(Some(DemoLogin {
        email: ADMIN_EMAIL.into(),
        password,
    }))
}

/// The crates.io escalation: the contractors' first line, then the volunteers' secondary, then
/// every volunteer, 5 minutes apart, twice more; set on every service of the demo.
async fn seed_escalation(
    store: &Store,
    services: &[String],
    first_line: &str,
    secondary: &str,
    volunteers: &str,
    now: i64,
) -> anyhow::Result<()> {
    use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind};
    let step = |kind, id: &str| Step {
        targets: vec![Target {
            kind,
            id: id.to_string(),
        }],
        delay_min: 5,
        round_robin: false,
    };
    let input = PolicyInput {
        name: "crates.io escalation".into(),
        description: "First line, then the volunteer secondary, then every volunteer.".into(),
        repeats: 2,
        steps: vec![
            step(TargetKind::Schedule, first_line),
            step(TargetKind::Schedule, secondary),
            step(TargetKind::Team, volunteers),
        ],
    }
    .normalize()?;
    let policy = store.create_policy(&input, now).await?;
    for s in services {
        let paging = ServicePaging {
            policy_id: Some(policy.id.clone()),
            ..ServicePaging::default()
        };
        store.set_service_paging(s, &paging, now).await?;
    }
    Ok(())
}

/// Services the first line is paged about, with their integration keys. Returns the services'
/// ids and their keys.
async fn seed_services(
    store: &Store,
    team: &str,
    now: i64,
) -> anyhow::Result<(Vec<String>, Vec<app::domain::service::IntegrationKey>)> {
    use app::domain::service::{KeyKind, ServiceInput};
    let mut keys = Vec::new();
    let mut services = Vec::new();
    for (name, description, kind, key_name) in [
        (
            "Sparse index",
            "index.crates.io: what cargo fetches first",
            KeyKind::Alertmanager,
            "Prometheus",
        ),
        (
            "Downloads CDN",
            "static.crates.io crate downloads",
            KeyKind::Pagerduty,
            "CDN monitoring",
        ),
        (
            "Web UI and API",
            "crates.io and its API",
            KeyKind::Grafana,
            "Grafana",
        ),
    ] {
        let s = store
            .create_service(
                &ServiceInput {
                    name: name.into(),
                    description: description.into(),
                    team_id: team.into(),
                }
                .normalize()?,
                now - 30 * DAY,
            )
            .await?;
        keys.push(
            store
                .create_key(&s.id, kind, key_name, now - 30 * DAY)
                .await?,
        );
        services.push(s.id);
    }
    Ok((services, keys))
}

/// A past on-call incident on the sparse index: Alertmanager fired, the escalation paged the
/// first line's person on call, who acknowledged and noted; the alert resolved itself.
async fn seed_worked_incident(
    store: &Store,
    sparse: &app::domain::service::IntegrationKey,
    first_line: &str,
    now: i64,
) -> anyhow::Result<()> {
    use crate::store::Ingest;
    use app::domain::escalation::{Target, TargetKind};
    use app::domain::ingest::{Action, Link, Severity, Signal};
    use app::domain::oncall::Act;
    let at = now - 3 * DAY - 5 * 3_600_000;
    let signal = |action| Signal {
        action,
        dedup_key: Some("3f9c2a7e1b".into()),
        summary: "Sparse index 5xx above 5%".into(),
        source: "prometheus".into(),
        severity: Severity::Critical,
        occurred_at: Some(at),
        details: serde_json::json!({
            "labels": { "alertname": "SparseIndex5xx", "severity": "critical", "service": "sparse-index" },
            "annotations": { "summary": "Sparse index 5xx above 5%", "description": "5.3% of index requests failed over 5 minutes." }
        }),
        links: vec![Link {
            href: "https://runbooks.crates-volunteers.example/sparse-index".into(),
            text: Some("Runbook".into()),
        }],
        images: Vec::new(),
    };
    let trigger = Ingest::Signal {
        key_id: sparse.id.clone(),
        signal: signal(Action::Trigger),
        truncated: 0,
    };
    let applied = store.ingest(&[trigger], at).await?;
    let incident = match applied.first() {
        Some(crate::store::IngestOutcome::Accepted(Some(a))) => a.incident_id.clone(),
        _ => None,
    };
    if let Some(id) = incident {
        // The engine's first step, as it ran then: it pages whoever was on call.
        store.escalate_due(at, 10).await?;
        let on_call = Target {
            kind: TargetKind::Schedule,
            id: first_line.to_string(),
        };
        let paged = store
            .resolve_targets(std::slice::from_ref(&on_call), at)
            .await?;
        let responder = match paged.get(&on_call).and_then(|u| u.first()) {
            Some(u) => u.clone(),
            None => id_of(store, "jonas@firstline-contractors.example").await?,
        };
        store
            .act_on_incident(&id, &responder, "web", &Act::Acknowledge, at + 100_000)
            .await?;
        store
            .act_on_incident(
                &id,
                &responder,
                "web",
                &Act::Note("Index node 2 out of disk; rotating logs and moving traffic.".into()),
                at + 400_000,
            )
            .await?;
        let resolve = Ingest::Signal {
            key_id: sparse.id.clone(),
            signal: signal(Action::Resolve),
            truncated: 0,
        };
        store.ingest(&[resolve], at + 1_500_000).await?;
    }
    Ok(())
}

async fn id_of(store: &Store, email: &str) -> anyhow::Result<String> {
    Ok(store
        .user_by_email(email)
        .await?
        .with_context(|| format!("demo user {email}"))?
        .id)
}

/// The two schedules of the story: the contractors' 24/7 weekly rotation (hand-off Monday 09:00
/// Berlin), and the volunteers' secondary (a weekly rotation around the clock, with a New York
/// business-hours layer on top); one override next week and one open swap request. Returns
/// the two schedules' ids.
async fn seed_schedules(store: &Store, now_ms: i64) -> anyhow::Result<(String, String)> {
    let now = Timestamp::from_millisecond(now_ms)?;
    let mut first_line = Vec::new();
    for p in FIRST_LINE {
        first_line.push(id_of(store, p.email).await?);
    }
    let primary = store
        .create_schedule(
            "First line",
            Some("24/7 first-line pager, weekly hand-off Monday 09:00 Berlin"),
            "Europe/Berlin",
            now_ms,
        )
        .await?;
    store
        .create_layer(
            &primary,
            &LayerDraft {
                name: "Weekly rotation".into(),
                time_zone: "Europe/Berlin".into(),
                start: "2026-01-05T09:00".parse()?,
                shift: ShiftLength::Weeks(1),
                restrictions: vec![],
            },
            &first_line,
            now_ms,
        )
        .await?;

    let around_the_clock = vec![
        id_of(store, ADMIN_EMAIL).await?,
        id_of(store, "tobias@crates-volunteers.example").await?,
        id_of(store, "maya@crates-volunteers.example").await?,
    ];
    let business_hours = vec![
        id_of(store, "leah@crates-volunteers.example").await?,
        id_of(store, "maya@crates-volunteers.example").await?,
    ];
    let secondary = store
        .create_schedule(
            "Volunteer secondary",
            Some("Escalation after first line: registry volunteers"),
            "Europe/London",
            now_ms,
        )
        .await?;
    store
        .create_layer(
            &secondary,
            &LayerDraft {
                name: "Volunteers around the clock".into(),
                time_zone: "Europe/London".into(),
                start: "2026-01-05T09:00".parse()?,
                shift: ShiftLength::Weeks(1),
                restrictions: vec![],
            },
            &around_the_clock,
            now_ms,
        )
        .await?;
    store
        .create_layer(
            &secondary,
            &LayerDraft {
                name: "New York business hours".into(),
                time_zone: "America/New_York".into(),
                start: "2026-01-05T09:00".parse()?,
                shift: ShiftLength::Days(1),
                restrictions: vec![Restriction {
                    days: vec![
                        Weekday::Monday,
                        Weekday::Tuesday,
                        Weekday::Wednesday,
                        Weekday::Thursday,
                        Weekday::Friday,
                    ],
                    start: "09:00".parse()?,
                    end: "17:00".parse()?,
                }],
            },
            &business_hours,
            now_ms,
        )
        .await?;

    // One override next week: the next contractor covers Wednesday for whoever is on call.
    let next_week = Window::new(
        now + SignedDuration::from_hours(24 * 7),
        now + SignedDuration::from_hours(24 * 14),
    )?;
    let full = store
        .schedule_full(&primary, next_week.start, next_week.end)
        .await?;
    if let Some(shift) = expand(&full.schedule, &next_week)
        .into_iter()
        .find(|s| s.user.is_some())
    {
        let on_call = shift.user.clone().unwrap_or_default();
        let idx = first_line.iter().position(|u| *u == on_call).unwrap_or(0);
        let cover = first_line[(idx + 1) % first_line.len()].clone();
        let start = shift.start + SignedDuration::from_hours(48);
        let o = app::domain::schedule::Override {
            id: crate::store::new_id(),
            user: cover,
            start,
            end: start + SignedDuration::from_hours(24),
            replaces: Some(on_call),
        };
        store
            .create_override(&primary, &o, Some("Dentist appointment"), None, now_ms)
            .await?;
    }

    // One open swap request: Maya asks someone to take her next business-hours shift.
    let maya = id_of(store, "maya@crates-volunteers.example").await?;
    let two_weeks = Window::new(now, now + SignedDuration::from_hours(24 * 14))?;
    let full = store
        .schedule_full(&secondary, two_weeks.start, two_weeks.end)
        .await?;
    if let Some(shift) = expand(&full.schedule, &two_weeks)
        .into_iter()
        .find(|s| s.user.as_deref() == Some(maya.as_str()) && s.start > now)
    {
        store
            .create_swap(
                &secondary,
                &maya,
                shift.start,
                shift.end,
                Some("I'm at a wedding that day"),
                now_ms,
            )
            .await?;
    }
    Ok((primary, secondary))
}

/// Past incidents with full timelines (they shape the uptime bars) and a maintenance next week.
async fn seed_status_history(store: &Store, now: i64) -> anyhow::Result<()> {
    use crate::store::{NewIncident, NewUpdate};
    use app::domain::incident::{IncidentKind, IncidentStatus as S};
    use app::domain::status::{ComponentStatus as C, Impact};

    let components = store.list_components().await?;
    let id = |name: &str| -> anyhow::Result<String> {
        components
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.id.clone())
            .with_context(|| format!("demo component {name}"))
    };
    let update = |status, body: &str, components: Vec<(String, C)>| NewUpdate {
        status,
        body: body.to_string(),
        impact: None,
        components,
        notify: false,
    };

    // 12 days ago: the sparse index served stale files after a CDN purge failed.
    let t0 = (now - 12 * DAY) - (now - 12 * DAY).rem_euclid(DAY) + 14 * 60 * MIN + 7 * MIN;
    let sparse = id("Sparse index")?;
    let inc = store
        .create_incident(
            &NewIncident {
                kind: IncidentKind::Incident,
                name: "Sparse index serving stale crate versions".into(),
                impact: Impact::Major,
                status: S::Investigating,
                body:
                    "`cargo` may not see versions published in the last hour. We are investigating."
                        .into(),
                components: vec![(sparse.clone(), C::PartialOutage)],
                window: None,
                notify: false,
            },
            None,
            t0,
        )
        .await?;
    for (at, u) in [
        (
            t0 + 24 * MIN,
            update(
                S::Identified,
                "A CDN cache purge failed after a deploy, so index files were served from stale cache. \
                 We are purging again by hand.",
                vec![],
            ),
        ),
        (
            t0 + 71 * MIN,
            update(
                S::Monitoring,
                "The purge completed and fresh index files are being served. We are watching error rates.",
                vec![(sparse.clone(), C::DegradedPerformance)],
            ),
        ),
        (
            t0 + 112 * MIN,
            update(
                S::Resolved,
                "All index files are current. `cargo update` works as expected.",
                vec![],
            ),
        ),
        (
            t0 + 3 * DAY,
            update(
                S::Postmortem,
                "**What happened.** A deploy changed the purge API token; purges failed silently for 68 minutes.\n\n\
                 **What we change.** Purge failures now page first line, and the deploy checks the token.",
                vec![],
            ),
        ),
    ] {
        store.add_update(&inc, &u, None, None, at).await?;
    }

    // 41 days ago: slow downloads for some regions.
    let t1 = (now - 41 * DAY) - (now - 41 * DAY).rem_euclid(DAY) + 3 * 60 * MIN;
    let cdn = id("Downloads (static CDN)")?;
    let inc = store
        .create_incident(
            &NewIncident {
                kind: IncidentKind::Incident,
                name: "Slow crate downloads in Asia-Pacific".into(),
                impact: Impact::Minor,
                status: S::Investigating,
                body: "Downloads from static.crates.io are slow for some users in Asia-Pacific."
                    .into(),
                components: vec![(cdn.clone(), C::DegradedPerformance)],
                window: None,
                notify: false,
            },
            None,
            t1,
        )
        .await?;
    store
        .add_update(
            &inc,
            &update(
                S::Resolved,
                "The CDN provider rerouted traffic around a congested link. Downloads are fast again.",
                vec![],
            ),
            None,
            None,
            t1 + 46 * MIN,
        )
        .await?;

    // 67 days ago: the API was down for a quarter of an hour.
    let t2 = (now - 67 * DAY) - (now - 67 * DAY).rem_euclid(DAY) + 21 * 60 * MIN;
    let api = id("API")?;
    let inc = store
        .create_incident(
            &NewIncident {
                kind: IncidentKind::Incident,
                name: "API returning errors".into(),
                impact: Impact::Critical,
                status: S::Identified,
                body: "The database ran out of connections. We are restarting the API servers."
                    .into(),
                components: vec![
                    (api.clone(), C::MajorOutage),
                    (id("Publishing")?, C::MajorOutage),
                ],
                window: None,
                notify: false,
            },
            None,
            t2,
        )
        .await?;
    store
        .add_update(
            &inc,
            &update(
                S::Resolved,
                "The API is back. Publishing works again.",
                vec![],
            ),
            None,
            None,
            t2 + 16 * MIN,
        )
        .await?;

    // Next week: a database upgrade, announced ahead.
    let start = (now + 6 * DAY) - (now + 6 * DAY).rem_euclid(DAY) + 2 * 60 * MIN;
    store
        .create_incident(
            &NewIncident {
                kind: IncidentKind::Maintenance,
                name: "Database upgrade".into(),
                impact: Impact::None,
                status: S::Scheduled,
                body: "We are upgrading the main database to PostgreSQL 17. Publishing will be paused for up to an hour; \
                       downloads and the index are not affected."
                    .into(),
                components: vec![(id("Publishing")?, C::UnderMaintenance)],
                window: Some((start, start + 60 * MIN)),
                notify: false,
            },
            None,
            now,
        )
        .await?;
    Ok(())
}
