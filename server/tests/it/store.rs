//! The store test suite, run against SQLite and against a throwaway PostgreSQL cluster.

use crate::common;

use app::domain::account::{NewUserInput, Role};
use app::domain::status::{ComponentInput, ComponentStatus};
use common::{Backend, TestDb};
use firstline::store::{Queue, Store, StoreError};

fn user(email: &str, role: &str) -> app::domain::account::NewUser {
    NewUserInput {
        email: email.into(),
        name: "Person".into(),
        time_zone: "Europe/Berlin".into(),
        role: role.into(),
    }
    .normalize()
    .unwrap()
}

fn component(
    name: &str,
    group: &str,
    position: i64,
    status: &str,
) -> app::domain::status::ComponentDraft {
    ComponentInput {
        name: name.into(),
        description: String::new(),
        group: group.into(),
        position: position.to_string(),
        status: status.into(),
    }
    .normalize()
    .unwrap()
}

async fn migrations_are_idempotent(store: Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

async fn settings_insert_once(store: Store) {
    assert_eq!(store.setting("k").await.unwrap(), None);
    assert_eq!(
        store.setting_or_insert("k", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting_or_insert("k", "second").await.unwrap(),
        "first"
    );
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("first"));
}

async fn users_unique_email_and_roles(store: Store) {
    let a = store
        .create_user(&user("a@example.org", "admin"), "hash-a", 10)
        .await
        .unwrap();
    assert_eq!(a.role, Role::Admin);
    let dup = store
        .create_user(&user("a@example.org", "viewer"), "hash-b", 11)
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict { field: "email" })),
        "{dup:?}"
    );
    let (found, hash) = store
        .user_with_hash_by_email("a@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, a);
    assert_eq!(hash, "hash-a");
    assert_eq!(store.count_users().await.unwrap(), 1);
    store.set_password(&a.id, "hash-c").await.unwrap();
    assert_eq!(
        store
            .user_with_hash_by_email("a@example.org")
            .await
            .unwrap()
            .unwrap()
            .1,
        "hash-c"
    );
    assert!(matches!(
        store.set_password("nobody", "x").await,
        Err(StoreError::NotFound)
    ));
}

async fn teams_and_members(store: Store) {
    let u1 = store
        .create_user(&user("one@example.org", "responder"), "h", 1)
        .await
        .unwrap();
    let u2 = store
        .create_user(&user("two@example.org", "responder"), "h", 1)
        .await
        .unwrap();
    let t = store
        .create_team("First line", Some("24/7"), 1)
        .await
        .unwrap();
    store.add_team_member(&t, &u1.id).await.unwrap();
    store.add_team_member(&t, &u2.id).await.unwrap();
    store.add_team_member(&t, &u2.id).await.unwrap();
    let dup = store.create_team("First line", None, 2).await;
    assert!(matches!(dup, Err(StoreError::Conflict { field: "name" })));
    let teams = store.list_teams().await.unwrap();
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0].members.len(), 2);
}

async fn sessions_expire_and_end(store: Store) {
    let u = store
        .create_user(&user("s@example.org", "viewer"), "h", 1)
        .await
        .unwrap();
    store
        .create_session("tokhash", &u.id, "csrf", 100, 200)
        .await
        .unwrap();
    let s = store.session("tokhash", 150).await.unwrap().unwrap();
    assert_eq!(s.user.id, u.id);
    assert_eq!(s.csrf_token, "csrf");
    assert!(
        store.session("tokhash", 200).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.session("other", 150).await.unwrap().is_none());
    assert_eq!(store.purge_expired_sessions(250).await.unwrap(), 1);
    store
        .create_session("t2", &u.id, "c", 100, 900)
        .await
        .unwrap();
    store.delete_session("t2").await.unwrap();
    assert!(store.session("t2", 150).await.unwrap().is_none());
    // Changing the password ends sessions.
    store
        .create_session("t3", &u.id, "c", 100, 900)
        .await
        .unwrap();
    store.set_password(&u.id, "new").await.unwrap();
    assert!(store.session("t3", 150).await.unwrap().is_none());
}

async fn components_crud_and_history(store: Store) {
    let c = store
        .create_component(
            &component("Sparse index", "Index", 1, "operational"),
            None,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(c.group_name.as_deref(), Some("Index"));
    assert_eq!(c.status, ComponentStatus::Operational);
    let g = store
        .create_component(
            &component("Git index", "Index", 2, "operational"),
            None,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(g.group_id, c.group_id, "same group reused");
    let dup = store
        .create_component(&component("Sparse index", "", 0, "operational"), None, 1001)
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict { field: "name" })),
        "{dup:?}"
    );

    let changed = store
        .set_component_status(&c.id, ComponentStatus::PartialOutage, None, 2000)
        .await
        .unwrap();
    assert_eq!(changed.status, ComponentStatus::PartialOutage);
    assert_eq!(changed.updated_at, 2000);
    // Same status again: no new history row, no timestamp change.
    let same = store
        .set_component_status(&c.id, ComponentStatus::PartialOutage, None, 3000)
        .await
        .unwrap();
    assert_eq!(same.updated_at, 2000);
    let history = store.component_history(&c.id).await.unwrap();
    assert_eq!(
        history,
        vec![
            (None, "operational".to_string(), 1000),
            (
                Some("operational".to_string()),
                "partial_outage".to_string(),
                2000
            ),
        ]
    );

    let edited = store
        .update_component(
            &g.id,
            &component("Git index (legacy)", "", 5, "degraded_performance"),
            None,
            4000,
        )
        .await
        .unwrap();
    assert_eq!(edited.name, "Git index (legacy)");
    assert_eq!(edited.group_id, None);
    assert_eq!(edited.status, ComponentStatus::DegradedPerformance);
    let renamed_clash = store
        .update_component(
            &g.id,
            &component("Sparse index", "", 5, "operational"),
            None,
            4001,
        )
        .await;
    assert!(matches!(renamed_clash, Err(StoreError::Conflict { .. })));
    // The failed update changed nothing.
    assert_eq!(store.component(&g.id).await.unwrap(), edited);

    assert!(matches!(
        store
            .set_component_status("missing", ComponentStatus::MajorOutage, None, 1)
            .await,
        Err(StoreError::NotFound)
    ));
    store.delete_component(&c.id).await.unwrap();
    assert!(matches!(
        store.component(&c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_component(&c.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_components().await.unwrap().len(), 1);
    assert!(store.component_history(&c.id).await.unwrap().is_empty());
}

async fn concurrent_first_start_agrees_on_one_secret(store: Store) {
    // Several instances starting at once must end up with the same generated key.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .setting_or_insert("secret_key", &format!("candidate-{i}"))
                    .await
            })
        })
        .collect();
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap().unwrap());
    }
    values.dedup();
    assert_eq!(values.len(), 1, "{values:?}");
    assert!(values[0].starts_with("candidate-"));
}

const DAY: i64 = 86_400_000;

/// Status changes across midnight land in the right day's aggregate, and a change on a day
/// counts toward that day's worst status even when it lasted no time.
async fn daily_aggregates_follow_status_changes(store: Store) {
    use app::domain::uptime::{day_of, DayAggregate};
    let base = 20_000 * DAY; // a UTC midnight
    let c = store
        .create_component(
            &component("API", "", 1, "operational"),
            None,
            base - 10 * DAY,
        )
        .await
        .unwrap();
    // Major outage from 23:00 to 01:30 the next day.
    store
        .set_component_status(&c.id, ComponentStatus::MajorOutage, None, base - 3_600_000)
        .await
        .unwrap();
    store
        .set_component_status(
            &c.id,
            ComponentStatus::PartialOutage,
            None,
            base + 5_400_000,
        )
        .await
        .unwrap();
    store
        .set_component_status(&c.id, ComponentStatus::Operational, None, base + 7_200_000)
        .await
        .unwrap();
    let rows = store.daily_since(day_of(base) - 5).await.unwrap();
    let day = |d: i64| -> DayAggregate {
        rows.iter()
            .filter(|(id, dd, _)| *id == c.id && *dd == d)
            .map(|(_, _, a)| *a)
            .next()
            .unwrap_or_default()
    };
    let before = day(day_of(base) - 1);
    assert_eq!(before.major_ms, 3_600_000);
    assert_eq!(before.worst_rank, 4);
    let after = day(day_of(base));
    assert_eq!(after.major_ms, 5_400_000);
    assert_eq!(after.partial_ms, 1_800_000);
    assert_eq!(after.worst_rank, 4);
    assert_eq!(
        store.component(&c.id).await.unwrap().status_since,
        base + 7_200_000
    );
}

/// Publishing an update queues one fan-out job in its own transaction, however many subscribers
/// there are; the fan-out then queues one delivery per subscriber who wants it.
async fn publishing_queues_one_job_and_fan_out_reaches_every_subscriber(store: Store) {
    use app::domain::incident::{IncidentKind, IncidentStatus};
    use app::domain::status::Impact;
    use app::domain::subscription::SubscribeInput;
    use firstline::store::NewIncident;
    let c = store
        .create_component(&component("Web UI", "", 1, "operational"), None, 1)
        .await
        .unwrap();
    for i in 0..10_000 {
        let d = SubscribeInput {
            kind: "webhook".into(),
            target: format!("https://hooks.example/{i}"),
            components: if i % 2 == 0 {
                vec![]
            } else {
                vec!["other".into()]
            },
        }
        .normalize()
        .unwrap();
        store.subscribe(&d, "test", 2).await.unwrap();
    }
    let id = store
        .create_incident(
            &NewIncident {
                kind: IncidentKind::Incident,
                name: "Web UI down".into(),
                impact: Impact::Critical,
                status: IncidentStatus::Investigating,
                body: "Looking".into(),
                components: vec![(c.id.clone(), ComponentStatus::MajorOutage)],
                window: None,
                notify: true,
            },
            None,
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        store.job_backlog().await.unwrap().0,
        1,
        "only the fan-out job"
    );
    let jobs = store
        .claim_jobs(Queue::Subscribers, 4, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, "fanout");
    // Claimed jobs are not handed out twice while leased.
    assert!(store
        .claim_jobs(Queue::Subscribers, 5, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let update_id = store.incident(&id).await.unwrap().updates[0].id.clone();
    let affected = vec![c.id.clone()];
    let n = store
        .fan_out(
            &update_id,
            |choice| app::domain::subscription::wants(choice, &affected),
            6,
        )
        .await
        .unwrap();
    assert_eq!(n, 5_000, "only subscribers of all components or of Web UI");
    store.finish_job(&jobs[0], 7).await.unwrap();
    assert_eq!(store.job_backlog().await.unwrap().0, 5_000);
    // A fan-out that runs again (retry after a failure, or an expired lease) queues nothing twice.
    store
        .fan_out(
            &update_id,
            |choice| app::domain::subscription::wants(choice, &affected),
            8,
        )
        .await
        .unwrap();
    assert_eq!(store.job_backlog().await.unwrap().0, 5_000);
}

/// Resolving one incident restores a component only to what other open incidents still say.
async fn resolving_one_incident_keeps_what_another_holds(store: Store) {
    use app::domain::incident::{IncidentKind, IncidentStatus};
    use app::domain::status::Impact;
    use firstline::store::{NewIncident, NewUpdate};
    let c = store
        .create_component(&component("API", "", 1, "operational"), None, 1)
        .await
        .unwrap();
    let open = |name: &str, st: ComponentStatus| NewIncident {
        kind: IncidentKind::Incident,
        name: name.into(),
        impact: Impact::Major,
        status: IncidentStatus::Investigating,
        body: "x".into(),
        components: vec![(c.id.clone(), st)],
        window: None,
        notify: false,
    };
    let a = store
        .create_incident(&open("A", ComponentStatus::PartialOutage), None, 10)
        .await
        .unwrap();
    let b = store
        .create_incident(&open("B", ComponentStatus::MajorOutage), None, 20)
        .await
        .unwrap();
    let resolve = NewUpdate {
        status: IncidentStatus::Resolved,
        body: "done".into(),
        impact: None,
        components: vec![],
        notify: false,
    };
    // B set major outage and is resolved first: A still holds partial outage.
    store
        .add_update(&b, &resolve, None, None, 30)
        .await
        .unwrap();
    assert_eq!(
        store.component(&c.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );
    // The component now shows A's status, so resolving A restores it.
    store
        .add_update(&a, &resolve, None, None, 40)
        .await
        .unwrap();
    assert_eq!(
        store.component(&c.id).await.unwrap().status,
        ComponentStatus::Operational
    );
    // An update that expects a status the incident no longer has does nothing.
    let again = store
        .add_update(&a, &resolve, Some(IncidentStatus::Investigating), None, 50)
        .await
        .unwrap();
    assert!(again.is_none());
    assert_eq!(store.incident(&a).await.unwrap().updates.len(), 2);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::TestDb::new(super::Backend::Sqlite);
                    super::$name(db.store().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::TestDb::new(super::Backend::Postgres);
                    super::$name(db.store().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    migrations_are_idempotent,
    settings_insert_once,
    users_unique_email_and_roles,
    teams_and_members,
    sessions_expire_and_end,
    components_crud_and_history,
    concurrent_first_start_agrees_on_one_secret,
    daily_aggregates_follow_status_changes,
    publishing_queues_one_job_and_fan_out_reaches_every_subscriber,
    resolving_one_incident_keeps_what_another_holds,
);
