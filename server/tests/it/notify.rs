//! Reaching a person through their own rules, on a fake clock through the real server with a
//! recording notifier: the defaults by what a person has, their own rules in order, rules that
//! stop the moment someone acknowledges, low urgency, a failed method bringing the next one
//! forward, a method gone for good switched off, and an alert storm that reaches a person as a
//! handful of bundled messages instead of hundreds.

use std::collections::BTreeMap;

use app::domain::escalation::{ServicePaging, Urgency};
use app::domain::notify::{MethodKind, NewRule, Rule};
use app::domain::oncall::Act;
use firstline::notify::verify::code_hash;
use firstline::notify::Purpose;
use serde_json::json;

use crate::common::{client, Backend};
use crate::escalation::Esc;

/// Adds a contact method to `user` and verifies it the way a person does (the code sent,
/// typed back).
async fn verified(e: &Esc, user: &str, kind: MethodKind, target: &str) -> String {
    let store = e.store();
    let id = store
        .add_contact(user, kind, target, Some(kind.label()), &json!({}), 1)
        .await
        .unwrap();
    let code = code_hash("123456");
    store
        .set_verification(user, &id, &code, e.clock.now_ms() + 60_000)
        .await
        .unwrap();
    let wrong = store
        .verify_contact(user, &id, &code_hash("654321"), e.clock.now_ms())
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("code"), "{wrong}");
    store
        .verify_contact(user, &id, &code, e.clock.now_ms())
        .await
        .unwrap();
    id
}

/// The kinds of method each page so far went out through, in order.
fn kinds(e: &Esc) -> Vec<MethodKind> {
    e.fakes
        .pages
        .pages()
        .iter()
        .map(|p| p.page.contact.kind)
        .collect()
}

/// Jonas on call for a one-step policy (30 min) on one service; returns (jonas, key, policy).
async fn jonas_on_call(e: &Esc) -> (String, String, String) {
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 30)], 0, false)
        .await;
    let (_, key) = e
        .service("Sparse index", &policy, ServicePaging::default())
        .await;
    (jonas, key, policy)
}

async fn defaults_reach_in_order_and_stop_at_acknowledgement(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, key, _) = jonas_on_call(&e).await;
    verified(&e, &jonas, MethodKind::Push, "https://push.example/p1").await;
    verified(&e, &jonas, MethodKind::Sms, "+4915112345678").await;
    e.send(&key, "trigger", "5xx", "critical").await;
    e.settle().await;
    // No rules of his own: push at once, SMS after 2 min, email after 5.
    assert_eq!(kinds(&e), vec![MethodKind::Push]);
    e.at(1).await;
    assert_eq!(kinds(&e), vec![MethodKind::Push]);
    e.at(2).await;
    assert_eq!(kinds(&e), vec![MethodKind::Push, MethodKind::Sms]);
    let inc = e.incidents().await.pop().unwrap();
    let page = &e.fakes.pages.pages()[0].page;
    assert_eq!(page.purpose, Purpose::Page);
    assert_eq!(page.items.len(), 1);
    assert!(page.subject.starts_with("[HIGH] #"), "{}", page.subject);
    assert!(
        page.items[0]
            .ack_url
            .as_deref()
            .is_some_and(|u| u.contains("/a/")),
        "a one-tap link: {:?}",
        page.items[0].ack_url
    );
    // Maya acknowledges: Jonas's email (due at 5 min) never goes.
    let maya = e.user("maya").await;
    e.store()
        .act_on_incident(&inc.id, &maya, "web", &Act::Acknowledge, e.t0 + 3 * 60_000)
        .await
        .unwrap();
    e.at(6).await;
    e.at(10).await;
    assert_eq!(kinds(&e), vec![MethodKind::Push, MethodKind::Sms]);
    let timeline = e.store().timeline(&inc.id).await.unwrap();
    let said: Vec<String> = timeline
        .iter()
        .filter(|t| ["paged", "notified"].contains(&t.kind.as_str()))
        .map(|t| t.describe(None, |_| "Jonas".to_string()))
        .collect();
    assert_eq!(
        said,
        vec![
            "Paging Jonas: push (push) at once, SMS (SMS) after 2 min, email (Login email) after 5 min",
            "Sent to Jonas: test push",
            "Sent to Jonas: test sms",
        ],
        "{timeline:?}"
    );
    e.app.stop().await;
}
on_both_backends!(defaults_reach_in_order_and_stop_at_acknowledgement);

async fn own_rules_and_low_urgency(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, key, policy) = jonas_on_call(&e).await;
    let push = verified(&e, &jonas, MethodKind::Push, "https://push.example/p1").await;
    let sms = verified(&e, &jonas, MethodKind::Sms, "+4915112345678").await;
    for (urgency, contact_id, delay_min) in [(Urgency::High, &sms, 0), (Urgency::High, &push, 1)] {
        e.store()
            .add_notification_rule(
                &jonas,
                &NewRule {
                    urgency,
                    rule: Rule {
                        contact_id: contact_id.clone(),
                        delay_min,
                    },
                },
                1,
            )
            .await
            .unwrap();
    }
    // A duplicate rule is refused, naming the field.
    let dup = e
        .store()
        .add_notification_rule(
            &jonas,
            &NewRule {
                urgency: Urgency::High,
                rule: Rule {
                    contact_id: sms.clone(),
                    delay_min: 0,
                },
            },
            1,
        )
        .await
        .unwrap_err();
    assert!(format!("{dup:?}").contains("delay_min"), "{dup:?}");
    e.send(&key, "trigger", "5xx", "critical").await;
    e.settle().await;
    assert_eq!(kinds(&e), vec![MethodKind::Sms]);
    e.at(1).await;
    assert_eq!(kinds(&e), vec![MethodKind::Sms, MethodKind::Push]);
    // A warning is low urgency: his low-urgency defaults are email only.
    let (_, low) = e.service("Docs", &policy, ServicePaging::default()).await;
    e.send(&low, "trigger", "typo", "warning").await;
    e.settle().await;
    assert_eq!(
        kinds(&e),
        vec![MethodKind::Sms, MethodKind::Push, MethodKind::Email]
    );
    let last = e.fakes.pages.pages().pop().unwrap().page;
    assert_eq!(last.urgency, Urgency::Low);
    assert!(last.subject.starts_with("[low]"), "{}", last.subject);
    e.app.stop().await;
}
on_both_backends!(own_rules_and_low_urgency);

async fn a_failed_method_brings_the_next_forward(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, key, _) = jonas_on_call(&e).await;
    let push = verified(&e, &jonas, MethodKind::Push, "https://push.example/p1").await;
    e.fakes.pages.fail_contact(&push, true);
    e.send(&key, "trigger", "5xx", "critical").await;
    e.settle().await;
    // Push failed: the email planned for 5 min goes at once.
    assert_eq!(kinds(&e), vec![MethodKind::Email]);
    let inc = e.incidents().await.pop().unwrap();
    let k = e.kinds(&inc.id).await;
    let failed = k
        .iter()
        .position(|x| x == "notify_failed")
        .expect("failure noted");
    let sent = k.iter().position(|x| x == "notified").expect("email noted");
    assert!(failed < sent, "{k:?}");
    // The push is retried with backoff and reaches him once it works again.
    e.fakes.pages.fail_contact(&push, false);
    e.at(1).await;
    assert_eq!(kinds(&e), vec![MethodKind::Email, MethodKind::Push]);
    e.app.stop().await;
}
on_both_backends!(a_failed_method_brings_the_next_forward);

async fn a_gone_method_is_switched_off(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, key, _) = jonas_on_call(&e).await;
    let push = verified(&e, &jonas, MethodKind::Push, "https://push.example/p1").await;
    e.fakes.pages.gone(&push);
    e.send(&key, "trigger", "5xx", "critical").await;
    e.settle().await;
    assert_eq!(kinds(&e), vec![MethodKind::Email]);
    let c = e.store().contact(&push).await.unwrap();
    assert!(
        c.disabled_reason
            .as_deref()
            .is_some_and(|r| r.contains("gone")),
        "{c:?}"
    );
    // The next page plans without it.
    e.send(&key, "resolve", "5xx", "critical").await;
    e.at(1).await;
    e.send(&key, "trigger", "disk", "critical").await;
    e.settle().await;
    assert_eq!(kinds(&e), vec![MethodKind::Email, MethodKind::Email]);
    e.app.stop().await;
}
on_both_backends!(a_gone_method_is_switched_off);

const STORM: usize = 500;

/// 500 alerts on 500 services within seconds, all paging Jonas: he gets a handful of messages
/// that say how many incidents are open, and every incident is in exactly one of them.
async fn an_alert_storm_reaches_a_person_as_a_handful_of_messages(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let policy = e
        .policy(vec![(vec![e.person("jonas").await], 30)], 0, false)
        .await;
    let mut keys = Vec::new();
    for i in 0..STORM {
        let (_, key) = e
            .service(
                &format!("Service {i:03}"),
                &policy,
                ServicePaging::default(),
            )
            .await;
        keys.push(key);
    }
    let url = e.app.url("/v2/enqueue");
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in keys.chunks(STORM / 16) {
        let (chunk, url) = (chunk.to_vec(), url.clone());
        tasks.spawn(async move {
            let c = client();
            for key in chunk {
                let r = c
                    .post(&url)
                    .json(&json!({
                        "routing_key": key, "event_action": "trigger", "dedup_key": "storm",
                        "payload": { "summary": "upstream down", "source": "lb", "severity": "critical" }
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 202);
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    e.settle().await;
    e.at(2).await;
    e.at(4).await;
    let pages = e.fakes.pages.pages();
    let mut per_incident: BTreeMap<String, usize> = BTreeMap::new();
    for p in &pages {
        assert_eq!(p.page.user_id, jonas);
        for i in &p.page.items {
            *per_incident.entry(i.incident_id.clone()).or_default() += 1;
        }
    }
    assert_eq!(per_incident.len(), STORM, "every incident reached him");
    assert!(per_incident.values().all(|n| *n == 1), "none twice");
    eprintln!(
        "{backend:?}: {STORM} incidents reached Jonas in {} messages: {:?}",
        pages.len(),
        pages.iter().map(|p| &p.page.subject).collect::<Vec<_>>()
    );
    assert!(
        pages.len() <= 5,
        "a handful of messages, not {}: {:?}",
        pages.len(),
        pages.iter().map(|p| &p.page.subject).collect::<Vec<_>>()
    );
    let bundle = pages
        .iter()
        .map(|p| &p.page)
        .find(|p| p.items.len() > 1)
        .expect("a bundle");
    assert!(
        bundle.subject.contains("new incidents") && bundle.subject.ends_with(" open"),
        "{}",
        bundle.subject
    );
    assert_eq!(
        bundle.url,
        format!("{}/oncall", e.app.state().config.base_url)
    );
    e.app.stop().await;
}
on_both_backends!(an_alert_storm_reaches_a_person_as_a_handful_of_messages);

/// Due rows another send holds (one cut off by its timeout, or a crashed one within its lease)
/// are sent once that claim runs out: the send that found them held tries again then, instead
/// of finishing with nothing to do and leaving them without a send.
async fn rows_held_by_a_cut_off_send_go_out_when_its_claim_runs_out(backend: Backend) {
    let e = Esc::start(backend).await;
    let (jonas, key, _) = jonas_on_call(&e).await;
    verified(&e, &jonas, MethodKind::Push, "https://push.example/p1").await;
    e.send(&key, "trigger", "5xx", "critical").await;
    e.settle().await;
    assert_eq!(kinds(&e), vec![MethodKind::Push]);
    // The email comes due at 5 min; a send that "died" claimed it a moment before, for 2 min.
    let email = e
        .store()
        .contact_methods(&jonas)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "email")
        .unwrap();
    let at = e.t0 + 5 * 60_000;
    let held = e
        .store()
        .claim_outbox(&email.id, "a-send-that-died", at, 2 * 60_000, 60_000)
        .await
        .unwrap();
    assert!(
        matches!(held, firstline::store::Claim::Rows(ref r) if r.len() == 1),
        "{held:?}"
    );
    e.at(5).await;
    assert_eq!(kinds(&e), vec![MethodKind::Push], "still held at 5 min");
    e.at(8).await;
    assert_eq!(
        kinds(&e),
        vec![MethodKind::Push, MethodKind::Email],
        "sent once the claim ran out"
    );
    e.app.stop().await;
}
on_both_backends!(rows_held_by_a_cut_off_send_go_out_when_its_claim_runs_out);

/// Wrong codes sent at once each count: twenty at once cannot get around the limit of five
/// (on PostgreSQL each would otherwise read the count before any was added).
async fn wrong_codes_at_once_all_count(backend: Backend) {
    let e = Esc::start(backend).await;
    let jonas = e.user("jonas").await;
    let store = e.store().clone();
    let id = store
        .add_contact(
            &jonas,
            MethodKind::Sms,
            "+4915100000001",
            None,
            &json!({}),
            1,
        )
        .await
        .unwrap();
    let code = code_hash("123456");
    let now = e.clock.now_ms();
    store
        .set_verification(&jonas, &id, &code, now + 60_000)
        .await
        .unwrap();
    let mut tries = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (store, jonas, id) = (store.clone(), jonas.clone(), id.clone());
        tries.spawn(async move {
            store
                .verify_contact(&jonas, &id, &code_hash(&format!("{i:06}")), now)
                .await
        });
    }
    while let Some(r) = tries.join_next().await {
        assert!(r.unwrap().is_err(), "a wrong code");
    }
    let last = store
        .verify_contact(&jonas, &id, &code, now)
        .await
        .unwrap_err();
    assert!(last.to_string().contains("too many"), "{last}");
    e.app.stop().await;
}
on_both_backends!(wrong_codes_at_once_all_count);
