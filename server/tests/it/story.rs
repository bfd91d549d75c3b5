//! The founding story, end to end on the fake clock with the real channels: an Alertmanager
//! alert at 03:10 Berlin pages the first line's person on call by Web Push (to a local push
//! service; the payload decrypted here); nobody acknowledges; at 03:15 the volunteers'
//! secondary gets a push and an SMS (a local Twilio); she acknowledges by replying "1"; the
//! escalation stops (nobody is paged at 03:20, when every volunteer would have been); the
//! incident's timeline shows every attempt.

use std::sync::Arc;

use app::domain::escalation::Urgency;
use app::domain::notify::{MethodKind, NewRule, Rule};
use app::domain::oncall::State;
use firstline::fakes::Fakes;
use firstline::notify::push::{vapid_subject, PushChannel, Vapid};
use firstline::notify::Channels;
use jiff::Timestamp;
use serde_json::json;

use crate::common::{client, config_with, eventually, ticked, Backend, TestApp, TestDb};
use crate::providers::{sms_reply, FakeTwilio};
use crate::push::{Device, FakePush};

const MIN: i64 = 60_000;
/// Monday 2026-11-30, 03:10 in Berlin.
const T0: &str = "2026-11-30T02:10:00Z";

/// Gives `user` a verified method (the code sent and typed back, as on the profile).
async fn verified(
    store: &firstline::store::Store,
    user: &str,
    kind: MethodKind,
    target: &str,
    config: serde_json::Value,
) -> String {
    let id = store
        .add_contact(user, kind, target, Some("Phone"), &config, 1)
        .await
        .unwrap();
    let code = firstline::notify::verify::code_hash("424242");
    store
        .set_verification(user, &id, &code, i64::MAX / 2)
        .await
        .unwrap();
    store.verify_contact(user, &id, &code, 2).await.unwrap();
    id
}

async fn the_founding_story_by_push_and_sms(backend: Backend) {
    let push = FakePush::start().await;
    let twilio = FakeTwilio::start().await;
    let t0 = T0.parse::<Timestamp>().unwrap().as_millisecond();
    let (fakes, clock) = Fakes::at(t0);
    let db = TestDb::new(backend);
    let store = db.store().await;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut env: Vec<(&str, String)> = twilio.env();
    env.push(("FIRSTLINE_OUTBOUND_ALLOW", "127.0.0.1".into()));
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = config_with(&db.url, &extra);
    config.listen = addr;
    config.base_url = format!("http://{addr}");
    let outbound =
        firstline::outbound::Outbound::new(firstline::outbound::Policy::from_config(&config));
    let vapid = Vapid::load_or_create(&store).await.unwrap();
    let mut services = fakes.services();
    services.notifier = Arc::new(Channels {
        email: Some(Arc::new(firstline::notify::email::EmailChannel::new(
            fakes.mail.clone(),
            &config.mail_from,
        ))),
        push: Some(Arc::new(PushChannel::new(
            vapid,
            vapid_subject(&config.mail_from, &config.base_url),
            outbound.clone(),
        ))),
        sms: config.sms.clone().map(|c| {
            Arc::new(firstline::notify::sms::SmsChannel::new(
                outbound.clone(),
                c,
                &config.base_url,
            )) as Arc<dyn firstline::notify::Notifier>
        }),
        ..Default::default()
    });
    firstline::demo::seed_if_empty(&store, &config)
        .await
        .unwrap()
        .expect("the demo is seeded");
    let running = firstline::start_with(config, store, services)
        .await
        .expect("start");
    let app = TestApp {
        base: format!("http://{}", running.addr),
        client: client(),
        running: Some(running),
        db,
    };
    let store = &app.state().store;
    let sparse = store
        .services()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == "Sparse index")
        .unwrap();
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
    let who = |step: usize, at: i64| {
        let targets = policy.steps[step].targets.clone();
        async move {
            let map = store.resolve_targets(&targets, at).await.unwrap();
            targets
                .iter()
                .flat_map(|t| map[t].clone())
                .collect::<Vec<String>>()
        }
    };
    let first = who(0, t0).await.remove(0);
    let second = who(1, t0 + 5 * MIN).await.remove(0);
    // The first-line person has a phone with push; the volunteer secondary a phone with push
    // and SMS, and a rule of her own: SMS at once too (not after 2 min).
    let phone1 = Device::new(push.url("/push/first-line-phone"));
    let phone2 = Device::new(push.url("/push/secondary-phone"));
    let keys = |d: &Device| {
        let j = d.json();
        json!({ "p256dh": j["keys"]["p256dh"], "auth": j["keys"]["auth"] })
    };
    verified(
        store,
        &first,
        MethodKind::Push,
        &phone1.endpoint,
        keys(&phone1),
    )
    .await;
    let her_push = verified(
        store,
        &second,
        MethodKind::Push,
        &phone2.endpoint,
        keys(&phone2),
    )
    .await;
    let number = "+4915112340000";
    let her_sms = verified(store, &second, MethodKind::Sms, number, json!({})).await;
    for contact_id in [her_push, her_sms] {
        store
            .add_notification_rule(
                &second,
                &NewRule {
                    urgency: Urgency::High,
                    rule: Rule {
                        contact_id,
                        delay_min: 0,
                    },
                },
                1,
            )
            .await
            .unwrap();
    }
    // 03:10: Alertmanager fires.
    let key = store.keys(&sparse.id).await.unwrap().remove(0);
    let alert = crate::escalation::sparse_index_alert();
    let r = client()
        .post(app.url(&format!("/hooks/alertmanager/{}", key.key)))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let story = eventually(10, "the story's incident", || async {
        store
            .oncall_incidents(&firstline::store::OncallFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.state == State::Triggered)
    })
    .await;
    let pushes_to = |path: &'static str| {
        push.got()
            .into_iter()
            .filter(|r| r.path == path)
            .collect::<Vec<_>>()
    };
    let got = eventually(10, "a push to the first line's phone", || async {
        let got = pushes_to("/push/first-line-phone");
        (!got.is_empty()).then_some(got)
    })
    .await;
    let payload = phone1.decrypt(&got[0].body);
    assert_eq!(payload["type"], "page", "{payload}");
    assert!(
        payload["title"]
            .as_str()
            .is_some_and(|t| t.contains("Sparse index 5xx above 5%")),
        "{payload}"
    );
    assert!(
        payload.to_string().contains("/a/"),
        "one-tap actions: {payload}"
    );
    assert!(pushes_to("/push/secondary-phone").is_empty());
    assert!(twilio.calls().is_empty());
    // Nobody acknowledges. 03:15: the volunteer secondary, by push and SMS.
    clock.set(t0 + 5 * MIN);
    ticked(&app, t0 + 5 * MIN).await;
    eventually(10, "her push and her SMS", || async {
        (!pushes_to("/push/secondary-phone").is_empty() && !twilio.calls().is_empty()).then_some(())
    })
    .await;
    let sms = twilio.calls().remove(0);
    assert_eq!(sms.get("To"), number);
    assert!(
        sms.get("Body").contains("reply 1 to acknowledge"),
        "{}",
        sms.get("Body")
    );
    // Her text is recorded sent (a reply is matched to the pages texted to her).
    eventually(10, "her text recorded sent", || async {
        let t = store.timeline(&story.id).await.unwrap();
        t.iter()
            .any(|e| e.kind == "notified" && e.channel == "sms")
            .then_some(())
    })
    .await;
    // 03:16: she answers "1".
    clock.set(t0 + 6 * MIN);
    let (status, answer) = sms_reply(&app, number, "1").await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("Acknowledged"), "{answer}");
    let inc = store.oncall_incident(&story.id).await.unwrap();
    assert_eq!(inc.state, State::Acknowledged);
    // 03:20 and 03:45: nobody more is paged.
    let pushes_before = push.got().len();
    for m in [10, 20, 45] {
        clock.set(t0 + m * MIN);
        ticked(&app, t0 + m * MIN).await;
    }
    assert_eq!(push.got().len(), pushes_before, "no more pushes");
    assert_eq!(twilio.calls().len(), 1, "no more texts");
    // The first line's defaults: push at once, email after 5 min (03:15, still unacknowledged
    // then); one mail, to him. Hers had faster methods only.
    let first_email = store.user(&first).await.unwrap().email;
    let mails = fakes.mail.sent();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, vec![first_email.clone()]);
    // The timeline says every attempt, in order.
    let timeline = store.timeline(&story.id).await.unwrap();
    let said: Vec<String> = timeline
        .iter()
        .map(|e| {
            let actor = e.actor_id.as_deref().map(|a| {
                if a == second {
                    "SECOND".to_string()
                } else {
                    a.to_string()
                }
            });
            e.describe(actor.as_deref(), |u| {
                if u == first {
                    "FIRST".into()
                } else if u == second {
                    "SECOND".into()
                } else {
                    u.to_string()
                }
            })
        })
        .collect();
    let expect_in_order = [
        "Escalation step 1: paging FIRST",
        "Paging FIRST: push (Phone) at once, email (Login email) after 5 min",
        "Sent to FIRST: push",
        "Escalation step 2: paging SECOND",
        "Paging SECOND: push (Phone) at once, SMS (Phone) at once",
        "Acknowledged by SECOND via SMS",
    ];
    // Her push and her SMS went out together (in either order), before she acknowledged.
    let paging_her = said
        .iter()
        .position(|s| s.starts_with("Paging SECOND"))
        .unwrap();
    let acked = said
        .iter()
        .position(|s| s.starts_with("Acknowledged by SECOND"))
        .unwrap();
    for sent in ["Sent to SECOND: push", "Sent to SECOND: SMS"] {
        assert!(
            said[paging_her..acked].iter().any(|s| s.starts_with(sent)),
            "{sent:?} in {said:#?}"
        );
    }
    assert!(
        said.iter()
            .any(|s| s == &format!("Sent to FIRST: email to {first_email}")),
        "{said:#?}"
    );
    let mut at = 0;
    for want in expect_in_order {
        let found = said[at..]
            .iter()
            .position(|s| s.starts_with(want))
            .unwrap_or_else(|| panic!("{want:?} after entry {at} in {said:#?}"));
        at += found + 1;
    }
    app.stop().await;
}
on_both_backends!(the_founding_story_by_push_and_sms);
