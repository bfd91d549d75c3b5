//! A component's status is derived from everything that holds it, on every write path: an open
//! incident's outage survives its monitor's recovery, deleting a failing monitor releases the
//! component and resolves its alert, and the headline follows components and incidents together.
//! Each write reaches the public documents by itself (no handler has to refresh them).

use crate::common;

use app::domain::incident::{IncidentKind, IncidentStatus};
use app::domain::monitor::{MonitorDraft, MonitorKind};
use app::domain::status::{ComponentStatus, Impact};
use common::{Backend, TestApp};
use firstline::store::{NewIncident, NewUpdate, Store};
use serde_json::Value;

const T0: i64 = 1_800_000_000_000;

fn probe(name: &str, component: &str) -> MonitorDraft {
    MonitorDraft {
        kind: MonitorKind::Http,
        name: name.into(),
        component_id: Some(component.into()),
        service_id: None,
        url: Some("http://127.0.0.1:9/health".into()),
        interval_s: 60,
        timeout_ms: 1000,
        expect_status: None,
        keyword: None,
        failure_threshold: 1,
    }
}

fn incident(name: &str, impact: Impact, components: &[(&str, ComponentStatus)]) -> NewIncident {
    NewIncident {
        kind: IncidentKind::Incident,
        name: name.into(),
        impact,
        status: IncidentStatus::Investigating,
        body: "Looking into it.".into(),
        components: components
            .iter()
            .map(|(c, s)| (c.to_string(), *s))
            .collect(),
        window: None,
        notify: false,
    }
}

async fn status(store: &Store, id: &str) -> ComponentStatus {
    store.component(id).await.unwrap().status
}

async fn summary(app: &TestApp) -> Value {
    let r = app
        .client
        .get(app.url("/api/v2/summary.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn component_status(summary: &Value, id: &str) -> String {
    summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Seen on a running server: a critical incident held the component at major outage, its probe
/// failed and recovered, and the page said Operational while the incident was still open.
async fn an_open_incident_outlives_its_monitors_recovery(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("API", "")]).await;
    let store = &app.state().store;
    let m = store
        .create_monitor(&probe("API probe", &ids[0]), T0)
        .await
        .unwrap();
    let id = store
        .create_incident(
            &incident(
                "API down",
                Impact::Critical,
                &[(&ids[0], ComponentStatus::MajorOutage)],
            ),
            None,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(status(store, &ids[0]).await, ComponentStatus::MajorOutage);
    let down = store
        .record_check(&m.id, false, None, Some("HTTP 500"), T0 + 1000)
        .await
        .unwrap();
    assert!(down.went_down);
    let up = store
        .record_check(&m.id, true, Some(20), None, T0 + 2000)
        .await
        .unwrap();
    assert!(up.recovered);
    assert_eq!(
        status(store, &ids[0]).await,
        ComponentStatus::MajorOutage,
        "the open incident still holds it"
    );
    assert_eq!(
        component_status(&summary(&app).await, &ids[0]),
        "major_outage"
    );
    assert_eq!(summary(&app).await["status"]["indicator"], "critical");
    // Resolving the incident releases it; nothing else holds it.
    let resolved = NewUpdate {
        status: IncidentStatus::Resolved,
        body: "Fixed.".into(),
        impact: None,
        components: Vec::new(),
        notify: false,
    };
    store
        .add_update(&id, &resolved, None, None, T0 + 3000)
        .await
        .unwrap();
    assert_eq!(status(store, &ids[0]).await, ComponentStatus::Operational);
    // And a monitor that fails again after the incident closed turns it red once more.
    store
        .record_check(&m.id, false, None, Some("HTTP 500"), T0 + 4000)
        .await
        .unwrap();
    assert_eq!(status(store, &ids[0]).await, ComponentStatus::MajorOutage);
    assert_eq!(
        component_status(&summary(&app).await, &ids[0]),
        "major_outage"
    );
    app.stop().await;
}
on_both_backends!(an_open_incident_outlives_its_monitors_recovery);

/// Deleting a failing monitor used to leave its component at major outage and its alert
/// triggered for good.
async fn deleting_a_failing_monitor_releases_its_component(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("Index", ""), ("Web", "")]).await;
    let csrf = app.login_admin().await;
    let store = &app.state().store;
    let a = store
        .create_monitor(&probe("Index probe", &ids[0]), T0)
        .await
        .unwrap();
    let b = store
        .create_monitor(&probe("Web probe", &ids[1]), T0)
        .await
        .unwrap();
    for m in [&a, &b] {
        store
            .record_check(&m.id, false, None, Some("timed out"), T0 + 1000)
            .await
            .unwrap();
    }
    assert_eq!(
        component_status(&summary(&app).await, &ids[0]),
        "major_outage"
    );
    let r = app
        .post_form(
            &format!("/admin/monitors/{}/delete", a.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(status(store, &ids[0]).await, ComponentStatus::Operational);
    // The public documents followed the write itself: no handler refreshed them.
    let s = summary(&app).await;
    assert_eq!(component_status(&s, &ids[0]), "operational");
    assert_eq!(
        component_status(&s, &ids[1]),
        "major_outage",
        "the other monitor still fails"
    );
    let alerts = store.alerts(10).await.unwrap();
    let of = |name: &str| {
        alerts
            .iter()
            .find(|x| x.summary.contains(name))
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(of("Index probe"), "resolved");
    assert_eq!(of("Web probe"), "triggered");
    app.stop().await;
}
on_both_backends!(deleting_a_failing_monitor_releases_its_component);

/// The headline follows one rule from components and open incidents together: a monitor's
/// outage said "Major System Outage", and a major incident on a second component must not
/// soften it to "Partial System Outage".
async fn the_headline_is_the_worst_of_components_and_incidents(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("Index", ""), ("Web", "")]).await;
    let store = &app.state().store;
    let m = store
        .create_monitor(&probe("Index probe", &ids[0]), T0)
        .await
        .unwrap();
    store
        .record_check(&m.id, false, None, Some("down"), T0 + 1000)
        .await
        .unwrap();
    let s = summary(&app).await;
    assert_eq!(s["status"]["indicator"], "critical");
    assert_eq!(s["status"]["description"], "Major System Outage");
    store
        .create_incident(
            &incident(
                "Web errors",
                Impact::Major,
                &[(&ids[1], ComponentStatus::MajorOutage)],
            ),
            None,
            T0 + 2000,
        )
        .await
        .unwrap();
    let s = summary(&app).await;
    assert_eq!(component_status(&s, &ids[1]), "major_outage");
    assert_eq!(s["status"]["indicator"], "critical");
    assert_eq!(s["status"]["description"], "Major System Outage");
    assert!(app
        .get_text("/status")
        .await
        .contains("Major System Outage"));
    app.stop().await;
}
on_both_backends!(the_headline_is_the_worst_of_components_and_incidents);

/// The admin's own setting is kept apart from what holds the component: setting it while an
/// incident holds the component changes nothing visible until the incident closes, and a
/// closing update's explicit status stays after the incident.
async fn the_admins_setting_shows_once_nothing_else_holds(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("Index", "")]).await;
    let store = &app.state().store;
    let id = store
        .create_incident(
            &incident(
                "Slow",
                Impact::Minor,
                &[(&ids[0], ComponentStatus::PartialOutage)],
            ),
            None,
            T0,
        )
        .await
        .unwrap();
    let c = store
        .set_component_status(
            &ids[0],
            ComponentStatus::DegradedPerformance,
            None,
            T0 + 1000,
        )
        .await
        .unwrap();
    assert_eq!(
        c.status,
        ComponentStatus::PartialOutage,
        "the incident holds it worse"
    );
    assert_eq!(c.manual_status, ComponentStatus::DegradedPerformance);
    let resolved = NewUpdate {
        status: IncidentStatus::Resolved,
        body: "Mostly fixed.".into(),
        impact: None,
        components: Vec::new(),
        notify: false,
    };
    store
        .add_update(&id, &resolved, None, None, T0 + 2000)
        .await
        .unwrap();
    assert_eq!(
        status(store, &ids[0]).await,
        ComponentStatus::DegradedPerformance
    );
    // A closing update that names a status leaves the component there.
    let id = store
        .create_incident(
            &incident(
                "Down",
                Impact::Critical,
                &[(&ids[0], ComponentStatus::MajorOutage)],
            ),
            None,
            T0 + 3000,
        )
        .await
        .unwrap();
    let resolved = NewUpdate {
        components: vec![(ids[0].clone(), ComponentStatus::Operational)],
        ..resolved
    };
    store
        .add_update(&id, &resolved, None, None, T0 + 4000)
        .await
        .unwrap();
    let c = store.component(&ids[0]).await.unwrap();
    assert_eq!(c.status, ComponentStatus::Operational);
    assert_eq!(c.manual_status, ComponentStatus::Operational);
    app.stop().await;
}
on_both_backends!(the_admins_setting_shows_once_nothing_else_holds);

/// Upgrading from the version before derived statuses: what the old code left behind is put
/// right when the server starts (it derives every component again), and what an admin set by
/// hand is kept.
async fn an_upgrade_puts_right_what_the_old_code_left_behind(backend: Backend) {
    let db = common::TestDb::new(backend);
    let t = T0;
    let component = |id: &str, status: &str| {
        format!(
            "INSERT INTO components (id, name, position, status, created_at, updated_at, status_since) \
             VALUES ('{id}', 'Component {id}', 0, '{status}', {t}, {t}, {t})"
        )
    };
    let change = |id: &str, old: &str, new: &str, by: &str| {
        format!(
            "INSERT INTO component_status_changes (component_id, old_status, new_status, changed_by, changed_at) \
             VALUES ('{id}', '{old}', '{new}', {by}, {t})"
        )
    };
    let statements = vec![
        format!(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) \
             VALUES ('admin1', 'a@example.org', 'Ada', 'admin', 'x', {t})"
        ),
        // Left at major outage by a monitor that was then deleted.
        component("stuck", "major_outage"),
        change("stuck", "operational", "major_outage", "NULL"),
        // Set by an admin by hand.
        component("manual", "partial_outage"),
        change("manual", "operational", "partial_outage", "'admin1'"),
        // Shown operational by a monitor's recovery while a critical incident holds it.
        component("held", "operational"),
        change("held", "major_outage", "operational", "NULL"),
        format!(
            "INSERT INTO incidents (id, kind, name, status, impact, created_at, updated_at, started_at) \
             VALUES ('inc1', 'incident', 'Down', 'investigating', 'critical', {t}, {t}, {t})"
        ),
        "INSERT INTO incident_components (incident_id, component_id, status) VALUES ('inc1', 'held', 'major_outage')".to_string(),
        // Named early by an update of a maintenance that has not started yet.
        component("early", "under_maintenance"),
        change("early", "operational", "under_maintenance", "'admin1'"),
        format!(
            "INSERT INTO incidents (id, kind, name, status, impact, scheduled_for, scheduled_until, created_at, updated_at, started_at) \
             VALUES ('mnt1', 'maintenance', 'Drain', 'scheduled', 'maintenance', {a}, {b}, {t}, {t}, {a})",
            a = t + 3_600_000,
            b = t + 7_200_000
        ),
        "INSERT INTO incident_components (incident_id, component_id, status) VALUES ('mnt1', 'early', 'under_maintenance')".to_string(),
    ];
    common::as_version(&db.url, backend, 6, &statements).await;
    let store = db.store().await;
    // On a fake clock at the data's time, so the maintenance window is still ahead.
    let (fakes, clock) = firstline::fakes::Fakes::at(t);
    let running = firstline::start_with(common::config(&db.url), store.clone(), fakes.services())
        .await
        .expect("start");
    let got = |c: firstline::store::Component| (c.status, c.manual_status);
    assert_eq!(
        got(store.component("stuck").await.unwrap()),
        (ComponentStatus::Operational, ComponentStatus::Operational),
        "nothing holds it any more"
    );
    assert_eq!(
        got(store.component("manual").await.unwrap()),
        (
            ComponentStatus::PartialOutage,
            ComponentStatus::PartialOutage
        ),
        "the admin's setting is kept"
    );
    assert_eq!(
        got(store.component("held").await.unwrap()),
        (ComponentStatus::MajorOutage, ComponentStatus::Operational),
        "the open incident holds it"
    );
    assert_eq!(
        got(store.component("early").await.unwrap()),
        (
            ComponentStatus::UnderMaintenance,
            ComponentStatus::Operational
        ),
        "the scheduled maintenance holds it"
    );
    // Past the window's end the engine completes it, and the component is released.
    clock.advance(std::time::Duration::from_secs(3 * 3600));
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        firstline::engine::ticked(&running.state, clock.now_ms()),
    )
    .await
    .expect("the engine ticks");
    assert_eq!(
        store.incident("mnt1").await.unwrap().status,
        IncidentStatus::Completed
    );
    assert_eq!(
        store.component("early").await.unwrap().status,
        ComponentStatus::Operational,
        "released when it completes"
    );
    running.stop().await.unwrap();
}
on_both_backends!(an_upgrade_puts_right_what_the_old_code_left_behind);

/// Deleting a maintenance that never started releases what it held: here a component it named
/// early while another window already had it under maintenance (so its update changed nothing
/// and it may be deleted).
async fn deleting_a_maintenance_releases_what_it_held(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("Index", "")]).await;
    let store = &app.state().store;
    let maintenance = |name: &str, status: IncidentStatus, from: i64| NewIncident {
        kind: IncidentKind::Maintenance,
        name: name.into(),
        impact: Impact::None,
        status,
        body: "Planned.".into(),
        components: vec![(ids[0].clone(), ComponentStatus::UnderMaintenance)],
        window: Some((from, from + 3_600_000)),
        notify: false,
    };
    let running = store
        .create_incident(
            &maintenance("Now", IncidentStatus::InProgress, T0),
            None,
            T0,
        )
        .await
        .unwrap();
    let later = store
        .create_incident(
            &maintenance("Later", IncidentStatus::Scheduled, T0 + 86_400_000),
            None,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        status(store, &ids[0]).await,
        ComponentStatus::UnderMaintenance
    );
    // The later one names the component early: nothing changes, it is already under maintenance.
    let named = NewUpdate {
        status: IncidentStatus::Scheduled,
        body: "Draining early.".into(),
        impact: None,
        components: vec![(ids[0].clone(), ComponentStatus::UnderMaintenance)],
        notify: false,
    };
    store
        .add_update(&later, &named, None, None, T0 + 1000)
        .await
        .unwrap();
    // The running one completes: the later one's early hold keeps it under maintenance.
    let done = NewUpdate {
        status: IncidentStatus::Completed,
        body: "Done.".into(),
        impact: None,
        components: Vec::new(),
        notify: false,
    };
    store
        .add_update(&running, &done, None, None, T0 + 2000)
        .await
        .unwrap();
    assert_eq!(
        status(store, &ids[0]).await,
        ComponentStatus::UnderMaintenance
    );
    // Cancelling the later one releases it.
    store.delete_incident(&later, T0 + 3000).await.unwrap();
    assert_eq!(status(store, &ids[0]).await, ComponentStatus::Operational);
    assert_eq!(
        component_status(&summary(&app).await, &ids[0]),
        "operational"
    );
    app.stop().await;
}
on_both_backends!(deleting_a_maintenance_releases_what_it_held);
