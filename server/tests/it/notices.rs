//! Shift notices through the contact methods, on a fake clock with a recording notifier: a swap
//! request reaches the teammates asked and the answer the requester, each in their own time
//! zone (named); the reminder 30 minutes before a shift comes once, at the right instant across
//! the spring daylight-saving change; the hand-off summary lists what is open on the services
//! that page the schedule, once.

use std::sync::Arc;

use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind};
use app::domain::schedule::ShiftLength;
use app::domain::service::KeyKind;
use firstline::clock::FakeClock;
use firstline::fakes::Fakes;
use firstline::notify::Purpose;
use firstline::store::{LayerDraft, Store};
use jiff::Timestamp;
use serde_json::json;

use crate::common::{client, eventually, ticked, Backend, TestApp};
use crate::ingest::service_with_key;

/// Saturday 2026-03-28, 13:00 in Berlin (CET); Berlin springs forward on Sunday at 02:00.
const T0: &str = "2026-03-28T12:00:00Z";

struct N {
    app: TestApp,
    fakes: Fakes,
    clock: Arc<FakeClock>,
    schedule: String,
    ana: String,
    ben: String,
}

fn ms(s: &str) -> i64 {
    s.parse::<Timestamp>().unwrap().as_millisecond()
}

impl N {
    /// Ana (Berlin) and Ben (New York) take turns daily at 09:00 Berlin time: Ben on Saturday
    /// 28 March, Ana on Sunday 29 (09:00 CEST = 07:00 UTC), Ben on Monday 30.
    async fn start(backend: Backend) -> N {
        let (fakes, clock) = Fakes::at(ms(T0));
        let app = TestApp::start_with_services(backend, &[], fakes.services()).await;
        for who in ["ana", "ben"] {
            app.create_user(
                &format!("{who}@example.org"),
                "a long test password",
                "responder",
            )
            .await;
        }
        let store = &app.state().store;
        let id = |who: &str| {
            let who = who.to_string();
            async move {
                store
                    .user_by_email(&format!("{who}@example.org"))
                    .await
                    .unwrap()
                    .unwrap()
                    .id
            }
        };
        let (ana, ben) = (id("ana").await, id("ben").await);
        store
            .set_user_time_zone(&ben, "America/New_York")
            .await
            .unwrap();
        let schedule = store
            .create_schedule("First line", None, "Europe/Berlin", 1)
            .await
            .unwrap();
        let draft = LayerDraft {
            name: "Daily".into(),
            time_zone: "Europe/Berlin".into(),
            start: "2026-03-27T09:00".parse().unwrap(),
            shift: ShiftLength::Days(1),
            restrictions: vec![],
        };
        store
            .create_layer(&schedule, &draft, &[ana.clone(), ben.clone()], 1)
            .await
            .unwrap();
        N {
            app,
            fakes,
            clock,
            schedule,
            ana,
            ben,
        }
    }

    fn store(&self) -> &Store {
        &self.app.state().store
    }

    /// Moves the clock to `at` and waits for the engine's round there and the queue to empty.
    async fn at(&self, at: &str) {
        let t = ms(at);
        self.clock.set(t);
        ticked(&self.app, t).await;
        self.settle().await;
    }

    async fn settle(&self) {
        eventually(10, "the job queue to empty", || async {
            let (pending, _) = self.store().job_backlog().await.unwrap();
            (pending == 0).then_some(())
        })
        .await;
    }

    /// Notices sent to `user` so far: (subject, lines).
    fn notices(&self, user: &str) -> Vec<(String, Vec<String>)> {
        self.fakes
            .pages
            .sent()
            .into_iter()
            .filter(|p| p.page.purpose == Purpose::Notice && p.page.user_id == user)
            .map(|p| {
                assert!(p.page.items.is_empty(), "a notice names no incidents");
                (p.page.subject, p.page.lines)
            })
            .collect()
    }
}

async fn a_swap_request_reaches_the_asked_in_their_zone(backend: Backend) {
    let n = N::start(backend).await;
    n.settle().await;
    // Ana asks someone to take her Sunday.
    let (ana_client, csrf) = n
        .app
        .login_client("ana@example.org", "a long test password")
        .await;
    let (start, end) = (ms("2026-03-29T07:00:00Z"), ms("2026-03-30T07:00:00Z"));
    let r = ana_client
        .post(n.app.url(&format!("/schedules/{}/swaps", n.schedule)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("start", &start.to_string()),
            ("end", &end.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    n.settle().await;
    let to_ben = eventually(10, "Ben's notice", || async {
        let l = n.notices(&n.ben);
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(to_ben.len(), 1, "{to_ben:?}");
    assert_eq!(
        to_ben[0].0,
        "[shift] Test User asks someone to take a shift on First line"
    );
    assert_eq!(
        to_ben[0].1[0],
        "Test User asks someone to take Sun 29 Mar, 03:00 EDT (America/New_York) to Mon 30 Mar, 03:00 EDT (America/New_York) on First line. Open the request to take it or decline."
    );
    // Through his login email, the method his low-urgency plan uses at once.
    let sent = n.fakes.pages.sent();
    let msg = sent.iter().find(|p| p.page.user_id == n.ben).expect("sent");
    assert_eq!(msg.page.contact.target, "ben@example.org");
    assert!(msg
        .page
        .url
        .ends_with(&format!("/schedules/{}/swaps", n.schedule)));
    assert!(n.notices(&n.ana).is_empty(), "the requester is not asked");

    // Ben takes it: Ana hears, in her zone.
    let swap = n
        .store()
        .list_swaps(Some(&n.schedule), true)
        .await
        .unwrap()
        .remove(0)
        .request
        .id;
    let (ben_client, csrf) = n
        .app
        .login_client("ben@example.org", "a long test password")
        .await;
    let r = ben_client
        .post(
            n.app
                .url(&format!("/schedules/{}/swaps/{swap}/accept", n.schedule)),
        )
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    n.settle().await;
    let to_ana = eventually(10, "Ana's notice", || async {
        let l = n.notices(&n.ana);
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(
        to_ana,
        vec![(
            "[shift] Test User took your shift on First line".to_string(),
            vec!["Test User took your shift Sun 29 Mar, 09:00 CEST (Europe/Berlin) to Mon 30 Mar, 09:00 CEST (Europe/Berlin) on First line. You are off call then.".to_string()]
        )]
    );
}
on_both_backends!(a_swap_request_reaches_the_asked_in_their_zone);

async fn reminder_once_before_a_shift_across_dst_and_a_handoff_summary(backend: Backend) {
    let n = N::start(backend).await;
    // Something is open when Ana comes on call: on a service whose policy pages her schedule,
    // and on one whose policy does not (not hers to hear about).
    let policy = PolicyInput {
        name: "First line".into(),
        description: String::new(),
        repeats: 0,
        steps: vec![Step {
            targets: vec![Target {
                kind: TargetKind::Schedule,
                id: n.schedule.clone(),
            }],
            delay_min: 5,
            round_robin: false,
        }],
    }
    .normalize()
    .unwrap();
    let policy = n.store().create_policy(&policy, 1).await.unwrap().id;
    for (service, summary, pages_her) in [
        ("Sparse index", "5xx above 5%", true),
        ("Docs", "docs build failing", false),
    ] {
        let (svc, key) = service_with_key(n.store(), service, KeyKind::Pagerduty).await;
        if pages_her {
            let paging = ServicePaging {
                policy_id: Some(policy.clone()),
                ..Default::default()
            };
            n.store()
                .set_service_paging(&svc.id, &paging, 1)
                .await
                .unwrap();
        }
        let r = client()
            .post(n.app.url("/v2/enqueue"))
            .json(&json!({
                "routing_key": key.key, "event_action": "trigger", "dedup_key": summary,
                "payload": { "summary": summary, "source": "lb1", "severity": "critical" }
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        n.settle().await;
    }
    // Ana's Sunday shift starts at 09:00 CEST = 07:00 UTC (in winter time it would be 08:00 UTC).
    n.at("2026-03-29T06:29:00Z").await;
    assert!(n.notices(&n.ana).is_empty(), "31 minutes ahead: not yet");
    n.at("2026-03-29T06:31:00Z").await;
    let reminders = n.notices(&n.ana);
    assert_eq!(
        reminders,
        vec![(
            "[shift] Your shift on First line starts at Sun 29 Mar, 09:00 CEST (Europe/Berlin)"
                .to_string(),
            vec!["You are on call for First line: Sun 29 Mar, 09:00 CEST (Europe/Berlin) to Mon 30 Mar, 09:00 CEST (Europe/Berlin).".to_string()]
        )]
    );
    n.at("2026-03-29T06:45:00Z").await;
    n.at("2026-03-29T06:59:00Z").await;
    assert_eq!(n.notices(&n.ana).len(), 1, "reminded once");
    assert!(n.notices(&n.ben).is_empty(), "Ben's shift is not next");

    // 07:01 UTC: the hand-off; Ana gets what is open.
    n.at("2026-03-29T07:01:00Z").await;
    n.at("2026-03-29T07:05:00Z").await;
    let all = n.notices(&n.ana);
    assert_eq!(all.len(), 2, "{all:?}");
    let (subject, lines) = &all[1];
    assert_eq!(subject, "[shift] You are on call for First line; 1 open");
    assert_eq!(
        lines,
        &vec![
            "Your shift on First line started: Sun 29 Mar, 09:00 CEST (Europe/Berlin) to Mon 30 Mar, 09:00 CEST (Europe/Berlin).".to_string(),
            "1 incident is open on the services First line pages for:".to_string(),
            "#1 5xx above 5% (Sparse index): triggered".to_string(),
        ]
    );
}
on_both_backends!(reminder_once_before_a_shift_across_dst_and_a_handoff_summary);

async fn a_failed_notice_is_retried(backend: Backend) {
    let n = N::start(backend).await;
    n.settle().await;
    n.fakes.pages.fail_for(&n.ana, true);
    let t = ms("2026-03-29T06:31:00Z");
    n.clock.set(t);
    ticked(&n.app, t).await;
    // The send failed: the job holds the provider's error and waits for its retry.
    eventually(10, "the failed send recorded on its job", || async {
        let (pending, failed) = n.store().job_backlog().await.unwrap();
        (pending == 1 && failed == 1).then_some(())
    })
    .await;
    assert!(n.notices(&n.ana).is_empty());
    n.fakes.pages.fail_for(&n.ana, false);
    n.at("2026-03-29T06:31:30Z").await;
    assert_eq!(n.notices(&n.ana).len(), 1, "sent on the retry");
    n.at("2026-03-29T06:40:00Z").await;
    assert_eq!(n.notices(&n.ana).len(), 1, "and only once");
}
on_both_backends!(a_failed_notice_is_retried);
