//! Escalation scenarios on a fake clock, through the real server (ingestion over HTTP, the
//! engine, the page queue) with a recording notifier: step after step until someone
//! acknowledges, repeats then "exhausted", schedule targets resolved at the instant a step
//! fires (hand-offs and overrides made between steps), round robin, acknowledgement timeout,
//! maintenance, duplicates, low urgency outside working hours, failed pages. No test sleeps to
//! let time pass: the clock is moved and the engine's round awaited.

use std::sync::Arc;
use std::time::Duration;

use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind, WorkingHours};
use app::domain::ingest::Severity;
use app::domain::oncall::{Act, State};
use app::domain::schedule::{Override, Restriction, ShiftLength};
use app::domain::service::KeyKind;
use firstline::clock::FakeClock;
use firstline::fakes::Fakes;
use firstline::store::{LayerDraft, Store};
use jiff::civil::{time, Weekday};
use jiff::Timestamp;
use serde_json::json;

use crate::common::{client, eventually, ticked, Backend, TestApp};
use crate::ingest::service_with_key;

const MIN: i64 = 60_000;
/// Monday 2026-11-30, 03:10 in Berlin: the middle of the night.
const T0: &str = "2026-11-30T02:10:00Z";

pub(crate) struct Esc {
    pub(crate) app: TestApp,
    pub(crate) fakes: Fakes,
    pub(crate) clock: Arc<FakeClock>,
    pub(crate) t0: i64,
}

impl Esc {
    pub(crate) async fn start(backend: Backend) -> Esc {
        let e = Esc::empty(backend).await;
        for who in ["jonas", "maya", "aisha", "ben"] {
            e.app
                .create_user(
                    &format!("{who}@example.org"),
                    "a long test password",
                    "responder",
                )
                .await;
        }
        e
    }

    /// Without anyone in it (the demo seeds only an empty database).
    pub(crate) async fn empty(backend: Backend) -> Esc {
        let t0 = T0.parse::<Timestamp>().unwrap().as_millisecond();
        let (fakes, clock) = Fakes::at(t0);
        let app = TestApp::start_with_services(backend, &[], fakes.services()).await;
        Esc {
            app,
            fakes,
            clock,
            t0,
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.app.state().store
    }

    pub(crate) async fn user(&self, who: &str) -> String {
        self.store()
            .user_by_email(&format!("{who}@example.org"))
            .await
            .unwrap()
            .expect("user")
            .id
    }

    pub(crate) async fn person(&self, who: &str) -> Target {
        Target {
            kind: TargetKind::User,
            id: self.user(who).await,
        }
    }

    pub(crate) async fn policy(
        &self,
        steps: Vec<(Vec<Target>, i64)>,
        repeats: i64,
        round_robin: bool,
    ) -> String {
        let input = PolicyInput {
            name: format!("Policy {}", firstline::store::new_id()),
            description: String::new(),
            repeats,
            steps: steps
                .into_iter()
                .map(|(targets, delay_min)| Step {
                    targets,
                    delay_min,
                    round_robin,
                })
                .collect(),
        }
        .normalize()
        .unwrap();
        self.store().create_policy(&input, 1).await.unwrap().id
    }

    /// A service with a PagerDuty key and `paging` (its policy `policy`); returns (id, secret).
    pub(crate) async fn service(
        &self,
        name: &str,
        policy: &str,
        mut paging: ServicePaging,
    ) -> (String, String) {
        let (svc, key) = service_with_key(self.store(), name, KeyKind::Pagerduty).await;
        paging.policy_id = Some(policy.to_string());
        paging.validate().unwrap();
        self.store()
            .set_service_paging(&svc.id, &paging, 1)
            .await
            .unwrap();
        (svc.id, key.key)
    }

    pub(crate) async fn send(&self, key: &str, action: &str, dedup: &str, severity: &str) {
        let r = client()
            .post(self.app.url("/v2/enqueue"))
            .json(&json!({
                "routing_key": key, "event_action": action, "dedup_key": dedup,
                "payload": { "summary": format!("{dedup} is failing"), "source": "db1", "severity": severity }
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{action} {dedup}");
    }

    /// Moves the clock to `t0 + minutes` once the engine has settled at the current time (a
    /// page still running when the fake clock leaps minutes ahead would outlive its lease, which
    /// real time never allows), and waits for the engine's round there.
    pub(crate) async fn at(&self, minutes: i64) {
        self.settle().await;
        let t = self.t0 + minutes * MIN;
        self.clock.set(t);
        ticked(&self.app, t).await;
        self.settle().await;
    }

    /// Waits until nothing is due: no escalation due now (a round woken by a commit may still be
    /// running when the tick's round ends) and every job due by now run (a message a rule
    /// delays, or the rate limit holds, waits for its time).
    pub(crate) async fn settle(&self) {
        let last = std::sync::Mutex::new(String::new());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = self.clock.now_ms();
            let due = self.store().next_escalation_due().await.unwrap();
            let pending = self.store().due_jobs(now).await.unwrap();
            if pending == 0 && due.is_none_or(|d| d > now) {
                return;
            }
            *last.lock().unwrap() = format!(
                "{pending} job(s) due, next escalation at {due:?} (now {now}, +{:?} ms)",
                due.map(|d| d - now)
            );
            assert!(
                std::time::Instant::now() < deadline,
                "escalation and the page queue did not settle in 10 s: {}",
                last.lock().unwrap()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Pages so far, as user ids, once the engine has settled.
    pub(crate) async fn paged(&self) -> Vec<String> {
        self.settle().await;
        self.fakes.pages.who().into_iter().map(|(u, _)| u).collect()
    }

    pub(crate) async fn incidents(&self) -> Vec<app::domain::oncall::OncallIncident> {
        self.store()
            .oncall_incidents(&firstline::store::OncallFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
    }

    pub(crate) async fn kinds(&self, incident: &str) -> Vec<String> {
        self.store()
            .timeline(incident)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

async fn steps_until_acknowledged(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, maya) = (e.user("jonas").await, e.user("maya").await);
    let team = e.store().create_team("Volunteers", None, 1).await.unwrap();
    for who in ["aisha", "ben"] {
        e.store()
            .add_team_member(&team, &e.user(who).await)
            .await
            .unwrap();
    }
    let policy = e
        .policy(
            vec![
                (vec![e.person("jonas").await], 5),
                (vec![e.person("maya").await], 5),
                (
                    vec![Target {
                        kind: TargetKind::Team,
                        id: team,
                    }],
                    5,
                ),
            ],
            0,
            false,
        )
        .await;
    let (_, key) = e
        .service("Sparse index", &policy, ServicePaging::default())
        .await;
    e.send(&key, "trigger", "5xx", "critical").await;
    // Step 1 pages without the clock moving: the commit woke the engine, no tick was needed.
    let first = eventually(10, "step 1's page", || async {
        let who = e.fakes.pages.who();
        (!who.is_empty()).then_some(who)
    })
    .await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, jonas);
    e.at(4).await;
    assert_eq!(e.paged().await, vec![jonas.clone()], "not before the delay");
    e.at(5).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), maya.clone()],
        "step 2 at 5 min"
    );
    let inc = e.incidents().await.remove(0);
    e.store()
        .act_on_incident(&inc.id, &maya, "web", &Act::Acknowledge, e.t0 + 6 * MIN)
        .await
        .unwrap();
    e.at(10).await;
    e.at(60).await;
    assert_eq!(
        e.paged().await,
        vec![jonas, maya],
        "an acknowledgement stops it"
    );
    let kinds = e.kinds(&inc.id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "step_fired").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "paged").count(),
        2,
        "{kinds:?}"
    );
    let inc = e.store().oncall_incident(&inc.id).await.unwrap();
    assert_eq!((inc.state, inc.esc_due_at), (State::Acknowledged, None));
    // The page shows who was paged.
    e.app
        .login("jonas@example.org", "a long test password")
        .await;
    let page = e.app.get_text(&format!("/oncall/{}", inc.id)).await;
    assert!(page.contains("Escalation step 2: paging"), "{page}");
    e.app.stop().await;
}
on_both_backends!(steps_until_acknowledged);

async fn repeats_then_exhausted(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 5)], 2, false)
        .await;
    let (_, key) = e.service("API", &policy, ServicePaging::default()).await;
    e.send(&key, "trigger", "down", "critical").await;
    for m in [0, 5, 10, 15, 20, 40] {
        e.at(m).await;
    }
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), jonas.clone(), jonas],
        "three passes, no more"
    );
    let inc = e.incidents().await.remove(0);
    assert_eq!(inc.state, State::Triggered, "it stays open");
    assert!(e
        .kinds(&inc.id)
        .await
        .contains(&"escalation_exhausted".to_string()));
    e.app
        .login("jonas@example.org", "a long test password")
        .await;
    let page = e.app.get_text(&format!("/oncall/{}", inc.id)).await;
    assert!(page.contains("Escalation exhausted"), "{page}");
    e.app.stop().await;
}
on_both_backends!(repeats_then_exhausted);

async fn schedule_target_is_whoever_is_on_call_when_the_step_fires(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, maya, aisha) = (
        e.user("jonas").await,
        e.user("maya").await,
        e.user("aisha").await,
    );
    let store = e.store();
    let sched = store
        .create_schedule("First line", None, "Europe/Berlin", 1)
        .await
        .unwrap();
    // Daily shifts handing off at 03:13 Berlin: Jonas until 03:13 on Monday, then Maya.
    let draft = LayerDraft {
        name: "Daily".into(),
        time_zone: "Europe/Berlin".into(),
        start: "2026-11-29T03:13".parse().unwrap(),
        shift: ShiftLength::Days(1),
        restrictions: vec![],
    };
    store
        .create_layer(&sched, &draft, &[jonas.clone(), maya.clone()], 1)
        .await
        .unwrap();
    let target = Target {
        kind: TargetKind::Schedule,
        id: sched.clone(),
    };
    let policy = e
        .policy(
            vec![
                (vec![target.clone()], 5),
                (vec![target.clone()], 5),
                (vec![target], 5),
            ],
            0,
            false,
        )
        .await;
    let (_, key) = e.service("Web UI", &policy, ServicePaging::default()).await;
    e.send(&key, "trigger", "ui", "critical").await;
    e.at(0).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone()],
        "03:10: Jonas is on call"
    );
    e.at(5).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), maya.clone()],
        "03:15: after the hand-off, Maya"
    );
    // An override made between the steps: Aisha covers from 03:16.
    let o = Override {
        id: firstline::store::new_id(),
        user: aisha.clone(),
        start: Timestamp::from_millisecond(e.t0 + 6 * MIN).unwrap(),
        end: Timestamp::from_millisecond(e.t0 + 60 * MIN).unwrap(),
        replaces: None,
    };
    store
        .create_override(&sched, &o, None, None, 1)
        .await
        .unwrap();
    e.at(10).await;
    assert_eq!(
        e.paged().await,
        vec![jonas, maya, aisha],
        "03:20: the override's Aisha"
    );
    e.app.stop().await;
}
on_both_backends!(schedule_target_is_whoever_is_on_call_when_the_step_fires);

async fn round_robin_takes_turns_per_incident(backend: Backend) {
    let e = Esc::start(backend).await;
    let people = vec![
        e.person("jonas").await,
        e.person("maya").await,
        e.person("aisha").await,
    ];
    let ids: Vec<String> = people.iter().map(|t| t.id.clone()).collect();
    let policy = e.policy(vec![(people, 5)], 0, true).await;
    let (_, key) = e.service("Docs", &policy, ServicePaging::default()).await;
    for n in 0..4 {
        let dedup = format!("d{n}");
        e.send(&key, "trigger", &dedup, "critical").await;
        eventually(10, "the incident's page", || async {
            (e.fakes.pages.who().len() > n).then_some(())
        })
        .await;
        e.send(&key, "resolve", &dedup, "critical").await;
    }
    // Incidents #1..#4 start their turn at their number: Maya, Aisha, Jonas, Maya.
    let paged = e.paged().await;
    assert_eq!(
        paged,
        vec![
            ids[1].clone(),
            ids[2].clone(),
            ids[0].clone(),
            ids[1].clone()
        ]
    );
    e.app.stop().await;
}
on_both_backends!(round_robin_takes_turns_per_incident);

async fn acknowledgement_timeout_triggers_again(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(
            vec![
                (vec![e.person("jonas").await], 5),
                (vec![e.person("maya").await], 5),
            ],
            0,
            false,
        )
        .await;
    let paging = ServicePaging {
        ack_timeout_min: Some(10),
        ..ServicePaging::default()
    };
    let (_, key) = e.service("Index", &policy, paging).await;
    e.send(&key, "trigger", "lag", "critical").await;
    assert_eq!(e.paged().await, vec![jonas.clone()]);
    let inc = e.incidents().await.remove(0);
    e.store()
        .act_on_incident(&inc.id, &jonas, "web", &Act::Acknowledge, e.t0 + MIN)
        .await
        .unwrap();
    e.at(10).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone()],
        "still acknowledged at 10 min"
    );
    e.at(11).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), jonas],
        "at 11 min: triggered again, step 1 again"
    );
    let inc = e.store().oncall_incident(&inc.id).await.unwrap();
    assert_eq!(inc.state, State::Triggered);
    assert!(e.kinds(&inc.id).await.contains(&"ack_timeout".to_string()));
    e.app.stop().await;
}
on_both_backends!(acknowledgement_timeout_triggers_again);

async fn maintenance_pages_nobody_until_it_ends(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 5)], 0, false)
        .await;
    let (quiet, key) = e.service("Mirror", &policy, ServicePaging::default()).await;
    let (other_sid, other) = e
        .service("Resolved meanwhile", &policy, ServicePaging::default())
        .await;
    for sid in [&quiet, &other_sid] {
        e.store()
            .add_maintenance(sid, e.t0, e.t0 + 30 * MIN, "upgrade", None, e.t0)
            .await
            .unwrap();
    }
    e.send(&key, "trigger", "sync", "critical").await;
    e.send(&other, "trigger", "flap", "critical").await;
    e.at(1).await;
    assert!(
        e.paged().await.is_empty(),
        "nobody is paged during maintenance"
    );
    let incs = e.incidents().await;
    assert_eq!(incs.len(), 2, "the alerts are recorded and shown");
    e.send(&other, "resolve", "flap", "critical").await;
    e.at(30).await;
    assert_eq!(
        e.paged().await,
        vec![jonas],
        "what still fires when it ends pages then; the resolved one does not"
    );
    e.app.stop().await;
}
on_both_backends!(maintenance_pages_nobody_until_it_ends);

async fn duplicates_open_one_incident_and_one_page_sequence(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, maya) = (e.user("jonas").await, e.user("maya").await);
    let policy = e
        .policy(
            vec![
                (vec![e.person("jonas").await], 5),
                (vec![e.person("maya").await], 5),
            ],
            0,
            false,
        )
        .await;
    let (_, key) = e.service("Crates", &policy, ServicePaging::default()).await;
    for dedup in ["a", "a", "a", "b", "c", "a"] {
        e.send(&key, "trigger", dedup, "critical").await;
    }
    e.at(0).await;
    assert_eq!(e.incidents().await.len(), 1);
    assert_eq!(e.paged().await, vec![jonas.clone()]);
    e.at(5).await;
    e.at(30).await;
    assert_eq!(e.paged().await, vec![jonas, maya]);
    e.app.stop().await;
}
on_both_backends!(duplicates_open_one_incident_and_one_page_sequence);

async fn low_urgency_waits_for_working_hours(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 5)], 0, false)
        .await;
    let hours = WorkingHours {
        time_zone: "Europe/Berlin".into(),
        window: Restriction {
            days: vec![
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
            ],
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        },
    };
    let paging = ServicePaging {
        high_urgency_from: Severity::Error,
        low_urgency_hours: Some(hours),
        ..ServicePaging::default()
    };
    let (_, key) = e.service("Stats", &policy, paging.clone()).await;
    let (_, loud) = e.service("Downloads", &policy, paging).await;
    e.send(&key, "trigger", "slow", "warning").await;
    e.at(1).await;
    assert!(
        e.paged().await.is_empty(),
        "a warning at 03:11 wakes nobody"
    );
    let inc = e.incidents().await.remove(0);
    assert_eq!(inc.urgency.as_str(), "low");
    e.send(&loud, "trigger", "down", "critical").await;
    e.at(2).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone()],
        "a critical alert pages at once"
    );
    // 09:00 Berlin is 08:00 UTC, 5 h 50 min after T0.
    e.at(350).await;
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), jonas],
        "the warning pages when working hours begin"
    );
    e.app.stop().await;
}
on_both_backends!(low_urgency_waits_for_working_hours);

async fn a_failed_page_is_on_the_timeline_and_retried(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 30)], 0, false)
        .await;
    let (_, key) = e.service("Search", &policy, ServicePaging::default()).await;
    e.fakes.pages.fail_for(&jonas, true);
    e.send(&key, "trigger", "q", "critical").await;
    let inc = eventually(10, "the incident", || async { e.incidents().await.pop() }).await;
    eventually(10, "the failure on the timeline", || async {
        e.kinds(&inc.id)
            .await
            .contains(&"notify_failed".to_string())
            .then_some(())
    })
    .await;
    e.fakes.pages.fail_for(&jonas, false);
    e.clock.advance(Duration::from_secs(11));
    let who = eventually(10, "the retry", || async {
        let who = e.fakes.pages.who();
        (!who.is_empty()).then_some(who)
    })
    .await;
    assert_eq!(who.len(), 1);
    e.app.stop().await;
}
on_both_backends!(a_failed_page_is_on_the_timeline_and_retried);

/// Across instances: a commit that makes an escalation due on one instance wakes the engine of
/// another through PostgreSQL `NOTIFY` (heard as a wake, not as a live topic), so whichever
/// instance claims it does so at once instead of at its next tick.
#[tokio::test]
async fn a_due_escalation_wakes_the_other_instances() {
    use firstline::store::{Work, LIVE_CHANNEL};
    let db = crate::common::TestDb::new(Backend::Postgres);
    let (a, b) = (db.store().await, db.store().await);
    let mut listener = b
        .listener(LIVE_CHANNEL)
        .await
        .unwrap()
        .expect("PostgreSQL listens");
    let (svc, key) = service_with_key(&a, "Registry", KeyKind::Pagerduty).await;
    let input = PolicyInput {
        name: "Someone".into(),
        description: String::new(),
        repeats: 0,
        steps: vec![Step {
            targets: vec![Target {
                kind: TargetKind::Team,
                id: a.create_team("Ops", None, 1).await.unwrap(),
            }],
            delay_min: 5,
            round_robin: false,
        }],
    };
    let policy = a
        .create_policy(&input.normalize().unwrap(), 1)
        .await
        .unwrap();
    let paging = ServicePaging {
        policy_id: Some(policy.id),
        ..ServicePaging::default()
    };
    a.set_service_paging(&svc.id, &paging, 1).await.unwrap();
    let signal = app::domain::ingest::parse_pagerduty(
        json!({ "routing_key": key.key, "event_action": "trigger",
                 "payload": { "summary": "down", "source": "x", "severity": "critical" } })
        .to_string()
        .as_bytes(),
    )
    .expect("valid event");
    let batch = vec![firstline::store::Ingest::Signal {
        key_id: key.id.clone(),
        signal: signal.signal,
        truncated: 0,
    }];
    a.ingest(&batch, Timestamp::now().as_millisecond())
        .await
        .unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = listener.recv().await.unwrap();
            // Reading the message is what wakes B's workers.
            let topics = b.read_live_message(n.payload());
            if n.payload().split(' ').any(|k| k == "wake:escalation") {
                // The same commit's topics come in the same message.
                assert!(
                    topics.contains(&app::domain::live::Topic::Oncall),
                    "{topics:?}"
                );
                break;
            }
        }
        tokio::time::timeout(Duration::from_secs(1), b.wakes().woken(Work::Escalation)).await
    })
    .await
    .expect("B hears of the due escalation");
    assert!(woke.is_ok(), "B's escalation worker is woken");
    // A woke its own worker directly too.
    tokio::time::timeout(Duration::from_secs(1), a.wakes().woken(Work::Escalation))
        .await
        .expect("A's escalation worker is woken");
}

/// One commit touching hundreds of incidents announces them in a few `NOTIFY` messages (each
/// under PostgreSQL's 8000-byte limit), not one round trip per topic, and none is lost.
#[tokio::test]
async fn a_big_commit_announces_every_topic_in_few_messages() {
    use firstline::store::LIVE_CHANNEL;
    let db = crate::common::TestDb::new(Backend::Postgres);
    let (a, b) = (db.store().await, db.store().await);
    let mut listener = b
        .listener(LIVE_CHANNEL)
        .await
        .unwrap()
        .expect("PostgreSQL listens");
    let mut batch = Vec::new();
    for i in 0..300 {
        let (_, key) = service_with_key(&a, &format!("S{i}"), KeyKind::Pagerduty).await;
        let body = json!({ "routing_key": key.key, "event_action": "trigger",
                           "payload": { "summary": "down", "source": "x", "severity": "critical" } });
        let signal = app::domain::ingest::parse_pagerduty(body.to_string().as_bytes())
            .expect("valid event")
            .signal;
        batch.push(firstline::store::Ingest::Signal {
            key_id: key.id,
            signal,
            truncated: 0,
        });
    }
    a.ingest(&batch, Timestamp::now().as_millisecond())
        .await
        .unwrap();
    let mut incidents = std::collections::HashSet::new();
    let mut messages = 0;
    while incidents.len() < 300 {
        let n = tokio::time::timeout(Duration::from_secs(5), listener.recv())
            .await
            .expect("every topic arrives")
            .unwrap();
        assert!(n.payload().len() < 8000);
        messages += 1;
        for t in b.read_live_message(n.payload()) {
            if let app::domain::live::Topic::OncallIncident(id) = t {
                incidents.insert(id);
            }
        }
    }
    assert!(messages <= 10, "{messages} messages for one commit");
}

async fn escalate_now_and_reassign(backend: Backend) {
    let e = Esc::start(backend).await;
    let [jonas, maya, aisha, ben] = [
        e.user("jonas").await,
        e.user("maya").await,
        e.user("aisha").await,
        e.user("ben").await,
    ];
    let policy = e
        .policy(
            vec![
                (vec![e.person("jonas").await], 30),
                (vec![e.person("maya").await], 30),
                (vec![e.person("aisha").await], 30),
            ],
            0,
            false,
        )
        .await;
    let (_, key) = e.service("Sparse", &policy, ServicePaging::default()).await;
    e.send(&key, "trigger", "x", "critical").await;
    assert_eq!(e.paged().await, vec![jonas.clone()]);
    let inc = e.incidents().await.remove(0);
    // "Escalate now": step 2 at once, without the clock moving.
    e.store()
        .act_on_incident(&inc.id, &jonas, "web", &Act::EscalateNow, e.t0)
        .await
        .unwrap();
    assert_eq!(e.paged().await, vec![jonas.clone(), maya.clone()]);
    // Reassigned to Ben: he is paged at once; if he does not acknowledge, step 3 follows after
    // the grace period.
    e.store()
        .act_on_incident(&inc.id, &maya, "web", &Act::Reassign(ben.clone()), e.t0)
        .await
        .unwrap();
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), maya.clone(), ben.clone()]
    );
    e.at(4).await;
    assert_eq!(e.paged().await.len(), 3);
    e.at(5).await;
    assert_eq!(e.paged().await, vec![jonas, maya, ben, aisha]);
    e.app.stop().await;
}
on_both_backends!(escalate_now_and_reassign);

/// The demo story's alert: Alertmanager says the sparse index answers 5xx, at 03:09 Berlin.
pub(crate) fn sparse_index_alert() -> serde_json::Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"SparseIndex5xx\"}", "status": "firing",
        "receiver": "firstline", "groupLabels": { "alertname": "SparseIndex5xx" },
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager.example.org",
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "SparseIndex5xx", "severity": "critical" },
            "annotations": { "summary": "Sparse index 5xx above 5%" },
            "startsAt": "2026-11-30T02:09:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org/graph", "fingerprint": "5xx1"
        }]
    })
}

/// The demo's story end to end, on the fake clock: an Alertmanager alert on the sparse index at
/// 03:10 Berlin pages the first line's person on call; nobody acknowledges; 5 minutes later the
/// volunteers' secondary on call is paged, 5 more and every volunteer; one acknowledges and
/// the pages stop.
async fn the_demo_story_runs_end_to_end(backend: Backend) {
    let e = Esc::empty(backend).await;
    let store = e.store();
    firstline::demo::seed_if_empty(store, &e.app.state().config)
        .await
        .unwrap()
        .expect("the demo is seeded");
    let services = store.services().await.unwrap();
    let sparse = services.iter().find(|s| s.name == "Sparse index").unwrap();
    let policy = store
        .policy(
            store
                .service_paging(&sparse.id)
                .await
                .unwrap()
                .policy_id
                .as_deref()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((policy.steps.len(), policy.repeats), (3, 2), "{policy:?}");
    let key = store.keys(&sparse.id).await.unwrap().remove(0);
    let who_at = |step: usize, minutes: i64| {
        let targets = policy.steps[step].targets.clone();
        async move {
            let at = e.t0 + minutes * MIN;
            let map = store.resolve_targets(&targets, at).await.unwrap();
            let mut users = Vec::new();
            for t in &targets {
                users.extend(map[t].clone());
            }
            users
        }
    };
    let first = who_at(0, 0).await;
    let second = who_at(1, 5).await;
    let everyone = who_at(2, 10).await;
    assert_eq!((first.len(), second.len()), (1, 1));
    assert!(everyone.len() >= 2, "{everyone:?}");
    let body = sparse_index_alert();
    let r = client()
        .post(e.app.url(&format!("/hooks/alertmanager/{}", key.key)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // The story's incident (the demo's own, resolved long ago, may have paged while being
    // seeded into this running server: only the story's pages count).
    let story = eventually(10, "the story's incident", || async {
        e.incidents()
            .await
            .into_iter()
            .find(|i| i.state == State::Triggered)
    })
    .await;
    let pages = |n: usize| {
        let (f, id) = (&e.fakes, story.id.clone());
        async move {
            eventually(10, "the pages", || async {
                let who: Vec<String> = f
                    .pages
                    .who()
                    .into_iter()
                    .filter(|(_, i)| *i == id)
                    .map(|(u, _)| u)
                    .collect();
                (who.len() >= n).then_some(who)
            })
            .await
        }
    };
    assert_eq!(pages(1).await, first, "03:10: the first line");
    e.clock.set(e.t0 + 5 * MIN);
    ticked(&e.app, e.t0 + 5 * MIN).await;
    assert_eq!(
        pages(2).await[1..],
        second[..],
        "03:15: the volunteers' secondary"
    );
    e.clock.set(e.t0 + 10 * MIN);
    ticked(&e.app, e.t0 + 10 * MIN).await;
    let all = pages(1 + 1 + everyone.len()).await;
    let mut third = all[2..].to_vec();
    let mut want = everyone.clone();
    third.sort();
    want.sort();
    assert_eq!(third, want, "03:20: every volunteer");
    store
        .act_on_incident(
            &story.id,
            &everyone[0],
            "web",
            &Act::Acknowledge,
            e.t0 + 11 * MIN,
        )
        .await
        .unwrap();
    for m in [15, 20, 45] {
        e.clock.set(e.t0 + m * MIN);
        ticked(&e.app, e.t0 + m * MIN).await;
    }
    assert_eq!(
        pages(0).await.len(),
        all.len(),
        "the acknowledgement stopped it"
    );
    e.app.stop().await;
}
on_both_backends!(the_demo_story_runs_end_to_end);

async fn a_team_an_escalation_policy_pages_cannot_be_deleted(backend: Backend) {
    let e = Esc::start(backend).await;
    let store = e.store();
    let team = store.create_team("Volunteers", None, 1).await.unwrap();
    let _policy = e
        .policy(
            vec![(
                vec![Target {
                    kind: TargetKind::Team,
                    id: team.clone(),
                }],
                5,
            )],
            0,
            false,
        )
        .await;
    let err = store.delete_team(&team).await.unwrap_err().to_string();
    assert!(err.contains("1 escalation policy"), "{err}");
    assert!(store.team(&team).await.is_ok(), "the team is kept");
    let other = store.create_team("Unused", None, 1).await.unwrap();
    store.delete_team(&other).await.unwrap();
    e.app.stop().await;
}
on_both_backends!(a_team_an_escalation_policy_pages_cannot_be_deleted);

async fn settings_changes_reach_open_incidents_and_escalate_now_is_not_held(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 30)], 0, false)
        .await;
    // A service without a policy: its incident pages nobody, and says so.
    let (svc, key) = service_with_key(e.store(), "Late policy", KeyKind::Pagerduty).await;
    e.send(&key.key, "trigger", "a", "critical").await;
    let inc = eventually(10, "the incident", || async { e.incidents().await.pop() }).await;
    assert!(e.kinds(&inc.id).await.contains(&"no_policy".to_string()));
    assert!(e.paged().await.is_empty());
    // Given a policy, its open incident starts escalating at once.
    let paging = ServicePaging {
        policy_id: Some(policy.clone()),
        ..ServicePaging::default()
    };
    e.store()
        .set_service_paging(&svc.id, &paging, e.t0)
        .await
        .unwrap();
    assert_eq!(e.paged().await, vec![jonas.clone()]);
    // In maintenance, a new incident is held; "escalate now" pages anyway.
    let (quiet, qkey) = e.service("Quiet", &policy, ServicePaging::default()).await;
    e.store()
        .add_maintenance(&quiet, e.t0, e.t0 + 60 * MIN, "upgrade", None, e.t0)
        .await
        .unwrap();
    e.send(&qkey, "trigger", "b", "critical").await;
    e.at(1).await;
    assert_eq!(e.paged().await.len(), 1, "held by maintenance");
    let held = e
        .incidents()
        .await
        .into_iter()
        .find(|i| i.service_id.as_deref() == Some(quiet.as_str()))
        .unwrap();
    e.store()
        .act_on_incident(&held.id, &jonas, "web", &Act::EscalateNow, e.t0 + MIN)
        .await
        .unwrap();
    assert_eq!(
        e.paged().await,
        vec![jonas.clone(), jonas.clone()],
        "escalate now is not held"
    );
    // Low urgency held for working hours pages at once when the hours are taken away.
    let hours = WorkingHours {
        time_zone: "Europe/Berlin".into(),
        window: Restriction {
            days: vec![Weekday::Monday],
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        },
    };
    let night = ServicePaging {
        low_urgency_hours: Some(hours),
        ..ServicePaging::default()
    };
    let (stats, skey) = e.service("Stats", &policy, night).await;
    e.send(&skey, "trigger", "c", "warning").await;
    e.at(2).await;
    assert_eq!(e.paged().await.len(), 2, "held for working hours");
    let at_once = ServicePaging {
        policy_id: Some(policy),
        ..ServicePaging::default()
    };
    e.store()
        .set_service_paging(&stats, &at_once, e.t0 + 2 * MIN)
        .await
        .unwrap();
    assert_eq!(e.paged().await.len(), 3, "pages once the hours are gone");
    e.app.stop().await;
}
on_both_backends!(settings_changes_reach_open_incidents_and_escalate_now_is_not_held);
