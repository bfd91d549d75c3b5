//! SMS, chat and webhooks against local fakes of each provider: a fake Twilio (records the
//! Messages API calls and their Basic auth, answers with a sid, and posts signed replies and
//! delivery reports back), chat sinks that check each flavour's JSON, and a webhook receiver
//! that verifies the HMAC signature the way docs/WEBHOOKS.md tells receivers to.

use std::sync::{Arc, Mutex};

use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind};
use app::domain::notify::MethodKind;
use app::domain::oncall::{OncallIncident, State};
use app::domain::service::KeyKind;
use axum::extract::State as AxState;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;

use crate::common::{client, eventually, Backend, TestApp};
use crate::ingest::service_with_key;

pub const SID: &str = "AC0123456789";
pub const TOKEN: &str = "twilio-auth-token-for-tests";
pub const FROM: &str = "+15005550006";
pub const MAYA: &str = "+4915123456789";

/// One call to the fake Messages API.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub path: String,
    pub auth: String,
    pub form: Vec<(String, String)>,
}

impl ApiCall {
    pub fn get(&self, k: &str) -> String {
        self.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// A fake Twilio on 127.0.0.1.
#[derive(Clone, Default)]
pub struct FakeTwilio {
    pub calls: Arc<Mutex<Vec<ApiCall>>>,
    /// Answer this status and JSON instead of a sid.
    pub fail: Arc<Mutex<Option<(u16, serde_json::Value)>>>,
    pub url: String,
}

async fn messages(
    AxState(t): AxState<FakeTwilio>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    let form = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let n = {
        let mut calls = t.calls.lock().unwrap();
        calls.push(ApiCall {
            path: uri.path().to_string(),
            auth,
            form,
        });
        calls.len()
    };
    if let Some((status, body)) = t.fail.lock().unwrap().clone() {
        return (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(body),
        );
    }
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({ "sid": format!("SM{n:032}"), "status": "queued" })),
    )
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut t = FakeTwilio {
            url: format!("http://{}", listener.local_addr().unwrap()),
            ..Default::default()
        };
        let router = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
            .with_state(t.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        t.url = t.url.clone();
        t
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FIRSTLINE_SMS_API_URL", self.url.clone()),
            ("FIRSTLINE_SMS_ACCOUNT_SID", SID.into()),
            ("FIRSTLINE_SMS_AUTH_TOKEN", TOKEN.into()),
            ("FIRSTLINE_SMS_FROM", FROM.into()),
        ]
    }

    pub fn calls(&self) -> Vec<ApiCall> {
        self.calls.lock().unwrap().clone()
    }
}

/// Twilio's signature, computed here from its documentation (not with Firstline's code):
/// base64(HMAC-SHA1(token, url + each name and value sorted by name)).
pub fn twilio_signature(token: &str, url: &str, form: &[(&str, &str)]) -> String {
    let mut sorted = form.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(token.as_bytes()).unwrap();
    m.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

/// Posts a form to `path` as Twilio would, signed with `token` (`None`: unsigned).
pub async fn callback(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    token: Option<&str>,
) -> (u16, String) {
    let signed_url = format!("{}{path}", app.state().config.base_url);
    let mut req = client().post(app.url(path)).form(form);
    if let Some(t) = token {
        req = req.header("X-Twilio-Signature", twilio_signature(t, &signed_url, form));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// A text from `from`, as Twilio posts it (each with a message id of its own).
pub async fn sms_reply(app: &TestApp, from: &str, body: &str) -> (u16, String) {
    let sid = format!("SMin{}", firstline::store::new_id());
    sms_reply_with_sid(app, from, body, &sid).await
}

/// A text from `from` with the given message id (the same id twice: a replayed request).
pub async fn sms_reply_with_sid(app: &TestApp, from: &str, body: &str, sid: &str) -> (u16, String) {
    callback(
        app,
        "/webhooks/sms",
        &[
            ("From", from),
            ("To", FROM),
            ("Body", body),
            ("MessageSid", sid),
            ("AccountSid", SID),
        ],
        Some(TOKEN),
    )
    .await
}

/// A signed reply replayed later (captured, or the provider retrying) acts once: here a
/// resolve, replayed when another incident is open, resolves nothing more.
async fn a_replayed_reply_acts_once(backend: Backend) {
    let twilio = FakeTwilio::start().await;
    let env = twilio.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start_with(backend, &extra).await;
    let (maya, _) = person_with_sms(&app, "maya", MAYA).await;
    let key = paging_service(
        &app,
        "Sparse index",
        vec![Target {
            kind: TargetKind::User,
            id: maya,
        }],
    )
    .await;
    trigger(&app, &key, "5xx").await;
    let first = incident(&app, "5xx").await;
    texts(&twilio, 1).await;
    let (status, answer) = sms_reply_with_sid(&app, MAYA, "2", "SMreplayed").await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("Resolved"), "{answer}");
    assert_eq!(status_of(&app, &first.id).await, State::Resolved);
    trigger(&app, &key, "disk").await;
    let second = incident(&app, "disk").await;
    texts(&twilio, 2).await;
    let (status, answer) = sms_reply_with_sid(&app, MAYA, "2", "SMreplayed").await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        !answer.contains("Resolved"),
        "a replay says nothing: {answer}"
    );
    assert_eq!(
        status_of(&app, &second.id).await,
        State::Triggered,
        "the replay resolved nothing"
    );
    app.stop().await;
}
on_both_backends!(a_replayed_reply_acts_once);

/// A responder with a verified SMS number; returns (user id, contact id).
pub async fn person_with_sms(app: &TestApp, who: &str, number: &str) -> (String, String) {
    let email = format!("{who}@example.org");
    app.create_user(&email, "a long test password", "responder")
        .await;
    let store = &app.state().store;
    let user = store.user_by_email(&email).await.unwrap().unwrap().id;
    let contact = store
        .add_contact(&user, MethodKind::Sms, number, None, &json!({}), 1)
        .await
        .unwrap();
    let hash = firstline::notify::verify::code_hash("123456");
    store
        .set_verification(&user, &contact, &hash, i64::MAX / 2)
        .await
        .unwrap();
    store
        .verify_contact(&user, &contact, &hash, 2)
        .await
        .unwrap();
    (user, contact)
}

/// A service whose policy pages `targets` at once; returns its PagerDuty key.
pub async fn paging_service(app: &TestApp, name: &str, targets: Vec<Target>) -> String {
    let store = &app.state().store;
    let input = PolicyInput {
        name: format!("Policy {}", firstline::store::new_id()),
        description: String::new(),
        repeats: 0,
        steps: vec![Step {
            targets,
            delay_min: 30,
            round_robin: false,
        }],
    }
    .normalize()
    .unwrap();
    let policy = store.create_policy(&input, 1).await.unwrap().id;
    let (svc, key) = service_with_key(store, name, KeyKind::Pagerduty).await;
    let paging = ServicePaging {
        policy_id: Some(policy),
        ..ServicePaging::default()
    };
    store.set_service_paging(&svc.id, &paging, 1).await.unwrap();
    key.key
}

pub async fn trigger(app: &TestApp, key: &str, dedup: &str) {
    let r = client()
        .post(app.url("/v2/enqueue"))
        .json(&json!({
            "routing_key": key, "event_action": "trigger", "dedup_key": dedup,
            "payload": { "summary": format!("{dedup} above 5%"), "source": "db1", "severity": "critical" }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

pub async fn incident(app: &TestApp, title_start: &str) -> OncallIncident {
    eventually(10, "the incident", || async {
        app.state()
            .store
            .oncall_incidents(&firstline::store::OncallFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.title.starts_with(title_start))
    })
    .await
}

async fn status_of(app: &TestApp, id: &str) -> State {
    app.state().store.oncall_incident(id).await.unwrap().state
}

async fn texts(t: &FakeTwilio, n: usize) -> Vec<ApiCall> {
    eventually(15, "the texts", || async {
        let c = t.calls();
        (c.len() >= n).then_some(c)
    })
    .await
}

/// Paged by SMS; the reply "1" acknowledges (named on the timeline as SMS); several open and
/// "1" asks which; "1 <n>" acts on that one; unsigned, mis-signed and unknown senders change
/// nothing; delivery reports land on the timeline.
async fn sms_pages_and_replies(backend: Backend) {
    let twilio = FakeTwilio::start().await;
    let env = twilio.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start_with(backend, &extra).await;
    let (maya, _) = person_with_sms(&app, "maya", MAYA).await;
    let maya_target = || {
        vec![Target {
            kind: TargetKind::User,
            id: maya.clone(),
        }]
    };
    let key = paging_service(&app, "Sparse index", maya_target()).await;
    let key2 = paging_service(&app, "Storage", maya_target()).await;
    trigger(&app, &key, "5xx").await;
    let first = incident(&app, "5xx").await;
    let sent = texts(&twilio, 1).await;
    let call = &sent[0];
    assert_eq!(
        call.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(call.auth, format!("Basic {basic}"));
    assert_eq!(call.get("To"), MAYA);
    assert_eq!(call.get("From"), FROM);
    assert_eq!(
        call.get("StatusCallback"),
        format!("{}/webhooks/sms/status", app.state().config.base_url)
    );
    let body = call.get("Body");
    assert!(
        body.starts_with(&format!(
            "[HIGH] #{} Sparse index: 5xx above 5% - reply 1 to acknowledge, 2 to resolve",
            first.number
        )),
        "{body}"
    );
    let sid = format!("SM{:032}", 1);
    // The sid is kept: the delivery report lands on the incident.
    eventually(10, "the notified entry", || async {
        let t = app.state().store.timeline(&first.id).await.unwrap();
        t.iter().any(|e| e.kind == "notified").then_some(())
    })
    .await;
    let (code, _) = callback(
        &app,
        "/webhooks/sms/status",
        &[("MessageSid", &sid), ("MessageStatus", "delivered")],
        Some(TOKEN),
    )
    .await;
    assert_eq!(code, 204);
    let t = app.state().store.timeline(&first.id).await.unwrap();
    let delivered: Vec<_> = t.iter().filter(|e| e.kind == "delivered").collect();
    assert_eq!(delivered.len(), 1, "{t:?}");
    assert_eq!(delivered[0].channel, "sms");
    // A repeated report is recorded once.
    callback(
        &app,
        "/webhooks/sms/status",
        &[("MessageSid", &sid), ("MessageStatus", "delivered")],
        Some(TOKEN),
    )
    .await;
    let t = app.state().store.timeline(&first.id).await.unwrap();
    assert_eq!(t.iter().filter(|e| e.kind == "delivered").count(), 1);

    // Unsigned, mis-signed, and signed for another URL: 403, nothing happens.
    let form = [("From", MAYA), ("To", FROM), ("Body", "1")];
    assert_eq!(callback(&app, "/webhooks/sms", &form, None).await.0, 403);
    assert_eq!(
        callback(&app, "/webhooks/sms", &form, Some("not-the-token"))
            .await
            .0,
        403
    );
    let wrong_url = client()
        .post(app.url("/webhooks/sms"))
        .form(&form)
        .header(
            "X-Twilio-Signature",
            twilio_signature(TOKEN, "https://elsewhere.example/webhooks/sms", &form),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_url.status(), 403);
    assert_eq!(
        callback(
            &app,
            "/webhooks/sms/status",
            &[("MessageSid", &sid), ("MessageStatus", "failed")],
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(status_of(&app, &first.id).await, State::Triggered);
    // A stranger's number: a polite answer, nothing changes.
    let (code, answer) = sms_reply(&app, "+4917000000000", "1").await;
    assert_eq!(code, 200);
    assert!(
        answer.contains("<Response><Message>Firstline does not know this number"),
        "{answer}"
    );
    assert_eq!(status_of(&app, &first.id).await, State::Triggered);

    // A second page: "1" asks which.
    trigger(&app, &key2, "disk").await;
    let second = incident(&app, "disk").await;
    texts(&twilio, 2).await;
    eventually(10, "the second page's text recorded", || async {
        let open = app
            .state()
            .store
            .sms_open_pages(
                &app.state()
                    .store
                    .sms_sender(MAYA)
                    .await
                    .unwrap()
                    .unwrap()
                    .contact_id,
            )
            .await
            .unwrap();
        (open.len() == 2).then_some(())
    })
    .await;
    let (_, answer) = sms_reply(&app, MAYA, "1").await;
    let (a, b) = (first.number, second.number);
    assert!(
        answer.contains(&format!(
            "<Message>2 open: #{a} 5xx above 5%, #{b} disk above 5%. Reply 1 {a} to acknowledge #{a}</Message>"
        )),
        "{answer}"
    );
    assert_eq!(status_of(&app, &first.id).await, State::Triggered);
    assert_eq!(status_of(&app, &second.id).await, State::Triggered);
    // An undelivered text: notify_failed with the provider's code, and Maya's next method
    // (email, 5 min later by the defaults) is tried at once: it fails here (no SMTP), which
    // is on the timeline seconds later, not minutes.
    let sid2 = format!("SM{:032}", 2);
    let (code, _) = callback(
        &app,
        "/webhooks/sms/status",
        &[
            ("MessageSid", &sid2),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ],
        Some(TOKEN),
    )
    .await;
    assert_eq!(code, 204);
    let t = app.state().store.timeline(&second.id).await.unwrap();
    let failed = t
        .iter()
        .find(|e| e.kind == "notify_failed" && e.channel == "sms")
        .expect("notify_failed");
    assert!(
        failed.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("30003"),
        "{failed:?}"
    );
    eventually(10, "the email tried at once", || async {
        let t = app.state().store.timeline(&second.id).await.unwrap();
        t.iter()
            .any(|e| e.kind == "notify_failed" && e.channel == "email")
            .then_some(())
    })
    .await;
    // "1 <b>" acknowledges that one.
    let (_, answer) = sms_reply(&app, MAYA, &format!("1 {b}")).await;
    assert!(
        answer.contains(&format!(
            "<Message>Acknowledged #{b} disk above 5%</Message>"
        )),
        "{answer}"
    );
    assert_eq!(status_of(&app, &second.id).await, State::Acknowledged);
    let t = app.state().store.timeline(&second.id).await.unwrap();
    let ack = t
        .iter()
        .find(|e| e.kind == "acknowledged")
        .expect("acknowledged");
    assert_eq!(ack.channel, "sms");
    assert_eq!(ack.actor_id.as_deref(), Some(maya.as_str()));
    // Now one is open: "1" acknowledges it; "2" then resolves it.
    let (_, answer) = sms_reply(&app, MAYA, "1").await;
    assert!(answer.contains(&format!("Acknowledged #{a}")), "{answer}");
    assert_eq!(status_of(&app, &first.id).await, State::Acknowledged);
    let (_, answer) = sms_reply(&app, MAYA, "2").await;
    assert!(answer.contains("open: "), "both are still open: {answer}");
    let (_, answer) = sms_reply(&app, MAYA, &format!("resolve #{a}")).await;
    assert!(answer.contains(&format!("Resolved #{a}")), "{answer}");
    assert_eq!(status_of(&app, &first.id).await, State::Resolved);
    // Anything else: help, nothing changes.
    let (_, answer) = sms_reply(&app, MAYA, "who is this?").await;
    assert!(answer.contains("Reply 1 to acknowledge"), "{answer}");

    // A number the provider says is invalid: the method is disabled with the provider's
    // words, the profile shows why, and the number's replies no longer act.
    *twilio.fail.lock().unwrap() = Some((
        400,
        json!({"code": 21211, "message": "The 'To' number +4915123456789 is not a valid phone number.", "status": 400}),
    ));
    let key3 = paging_service(&app, "Search", maya_target()).await;
    trigger(&app, &key3, "slow").await;
    let third = incident(&app, "slow").await;
    eventually(15, "the method disabled", || async {
        let c = app.state().store.contact_methods(&maya).await.unwrap();
        c.into_iter()
            .find(|c| c.kind == "sms")
            .and_then(|c| c.disabled_reason)
    })
    .await;
    let t = app.state().store.timeline(&third.id).await.unwrap();
    assert!(
        t.iter().any(|e| e.kind == "notify_failed"
            && e.body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("(error 21211)")),
        "{t:?}"
    );
    app.login("maya@example.org", "a long test password").await;
    let page = app.get_text("/profile").await;
    assert!(
        page.contains("stopped working: SMS provider answered 400: The &#x27;To&#x27; number")
            || page.contains("stopped working: SMS provider answered 400: The 'To' number"),
        "{page}"
    );
    let (_, answer) = sms_reply(&app, MAYA, &format!("1 {}", third.number)).await;
    assert!(answer.contains("does not know this number"), "{answer}");
    assert_eq!(status_of(&app, &third.id).await, State::Triggered);
    app.stop().await;
}
on_both_backends!(sms_pages_and_replies);

/// Replies from one number are rate-limited: past the limit they are not answered.
async fn sms_replies_are_rate_limited(backend: Backend) {
    let twilio = FakeTwilio::start().await;
    let env = twilio.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start_with(backend, &extra).await;
    let limit = firstline::http::sms::REPLIES_PER_WINDOW as usize;
    for _ in 0..limit {
        let (_, a) = sms_reply(&app, "+4917000000001", "hi").await;
        assert!(a.contains("<Message>"), "{a}");
    }
    let (code, a) = sms_reply(&app, "+4917000000001", "hi").await;
    assert_eq!(code, 200);
    assert!(!a.contains("<Message>"), "{a}");
    app.stop().await;
}
on_both_backends!(sms_replies_are_rate_limited);

/// Without SMS settings the callbacks do not exist.
async fn without_sms_settings_there_are_no_callbacks(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (code, _) = sms_reply(&app, MAYA, "1").await;
    assert_eq!(code, 404);
    app.stop().await;
}
on_both_backends!(without_sms_settings_there_are_no_callbacks);

fn dummy_sms_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("FIRSTLINE_SMS_API_URL", "http://127.0.0.1:9"),
        ("FIRSTLINE_SMS_ACCOUNT_SID", SID),
        ("FIRSTLINE_SMS_AUTH_TOKEN", TOKEN),
        ("FIRSTLINE_SMS_FROM", FROM),
    ]
}

/// The code the (recording) notifier last sent to `contact`.
fn last_code(fakes: &firstline::fakes::Fakes, contact: &str) -> String {
    fakes
        .pages
        .sent()
        .iter()
        .rev()
        .find_map(|p| match &p.page.purpose {
            firstline::notify::Purpose::Verify { code } if p.page.contact.id == contact => {
                Some(code.clone())
            }
            _ => None,
        })
        .expect("a code was sent")
}

/// The profile's contact methods and rules: add a phone (a wrong one is refused naming
/// `phone`, what was typed kept), send a code, a wrong code names `code`, the right one
/// verifies, a test says how it went, rules are added and removed (errors name the field),
/// sends are rate-limited, and nobody touches someone else's methods.
async fn profile_methods_and_rules(backend: Backend) {
    let fakes = firstline::fakes::Fakes::new();
    let app = TestApp::start_with_services(backend, &dummy_sms_env(), fakes.services()).await;
    app.create_user("maya@example.org", "a long test password", "responder")
        .await;
    let csrf = app.login("maya@example.org", "a long test password").await;
    let store = &app.state().store;
    let maya = store
        .user_by_email("maya@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let page = app.get_text("/profile").await;
    assert!(page.contains("Add a phone number for SMS"), "{page}");
    assert!(
        page.contains(
            "High urgency: using the defaults: Email (maya@example.org, Login email) at once"
        ),
        "{page}"
    );

    // A phone number without its country code.
    let r = app
        .post_form(
            "/profile/contacts/sms",
            &[("csrf", &csrf), ("phone", "0151 2345"), ("label", "Mine")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Enter the number with its country code"),
        "{text}"
    );
    assert!(
        text.contains("value=\"0151 2345\""),
        "what was typed is kept: {text}"
    );
    // Without CSRF: refused.
    let r = app
        .post_form("/profile/contacts/sms", &[("phone", "+49 151 2345 6789")])
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_form(
            "/profile/contacts/sms",
            &[
                ("csrf", &csrf),
                ("phone", "+49 151 2345 6789"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let sms = store
        .contact_methods(&maya)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "sms")
        .expect("the phone");
    assert_eq!(sms.target, "+4915123456789");
    assert!(sms.verified_at.is_none());
    let page = app.get_text("/profile").await;
    assert!(page.contains("SMS (+4915123456789)"), "{page}");
    assert!(page.contains("not verified yet"), "{page}");

    // Send a code; a wrong one names `code`; the right one verifies.
    let r = app
        .post_form(
            &format!("/profile/contacts/{}/code", sms.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Code sent by test sms. Enter it below."));
    let code = last_code(&fakes, &sms.id);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = app
        .post_form(
            &format!("/profile/contacts/{}/verify", sms.id),
            &[("csrf", &csrf), ("code", wrong)],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("That code is not the one we sent"));
    let r = app
        .post_form(
            &format!("/profile/contacts/{}/verify", sms.id),
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(store
        .contact_methods(&maya)
        .await
        .unwrap()
        .iter()
        .any(|c| c.id == sms.id && c.verified_at.is_some()));

    // A test says what happened, and the provider's error when it fails.
    let r = app
        .post_form(
            &format!("/profile/contacts/{}/test", sms.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Test sent by test sms."));
    fakes.pages.fail_for(&maya, true);
    let r = app
        .post_form(
            &format!("/profile/contacts/{}/test", sms.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 502);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The test could not be sent: the test provider refused the message"));
    fakes.pages.fail_for(&maya, false);

    // Rules: errors name the field; added, shown, removed.
    for (form, field) in [
        (
            vec![
                ("urgency", "urgent"),
                ("contact_id", sms.id.as_str()),
                ("delay_min", "2"),
            ],
            "urgency",
        ),
        (
            vec![
                ("urgency", "high"),
                ("contact_id", "nope"),
                ("delay_min", "2"),
            ],
            "contact_id",
        ),
        (
            vec![
                ("urgency", "high"),
                ("contact_id", sms.id.as_str()),
                ("delay_min", "two"),
            ],
            "delay_min",
        ),
    ] {
        let mut f = form.clone();
        f.push(("csrf", &csrf));
        let r = app.post_form("/profile/rules", &f).await;
        assert_eq!(r.status(), 400, "{form:?}");
        // A plain sentence about the field, never the raw "field: message".
        let text = r.text().await.unwrap();
        let sentence = match field {
            "urgency" => "Choose high or low urgency.",
            "contact_id" => "Choose one of your contact methods.",
            _ => "Enter the delay as whole minutes, like 2.",
        };
        assert!(text.contains(sentence), "{field}: {text}");
    }
    let r = app
        .post_form(
            "/profile/rules",
            &[
                ("csrf", &csrf),
                ("urgency", "high"),
                ("contact_id", &sms.id),
                ("delay_min", "2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.get_text("/profile").await;
    assert!(
        page.contains("High urgency: SMS (+4915123456789) after 2 min"),
        "{page}"
    );
    assert!(
        page.contains("Low urgency: using the defaults: Email"),
        "{page}"
    );
    let rule = store.notification_rules(&maya).await.unwrap()[0].id.clone();

    // Someone else cannot touch Maya's methods or rules.
    app.create_user("jonas@example.org", "a long test password", "responder")
        .await;
    app.create_user("vera@example.org", "a long test password", "viewer")
        .await;
    let jonas = app
        .login_client("jonas@example.org", "a long test password")
        .await;
    let vera = app
        .login_client("vera@example.org", "a long test password")
        .await;
    for ((other, other_csrf), path) in [&jonas, &vera].into_iter().flat_map(|who| {
        [
            format!("/profile/contacts/{}/code", sms.id),
            format!("/profile/contacts/{}/verify", sms.id),
            format!("/profile/contacts/{}/test", sms.id),
            format!("/profile/contacts/{}/delete", sms.id),
            format!("/profile/rules/{rule}/delete"),
        ]
        .into_iter()
        .map(move |p| (who, p))
    }) {
        let r = other
            .post(app.url(&path))
            .form(&[("csrf", other_csrf.as_str()), ("code", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    assert_eq!(store.notification_rules(&maya).await.unwrap().len(), 1);
    assert!(store
        .contact_methods(&maya)
        .await
        .unwrap()
        .iter()
        .any(|c| c.id == sms.id));

    let r = app
        .post_form(&format!("/profile/rules/{rule}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(store.notification_rules(&maya).await.unwrap().is_empty());

    // Codes and tests are rate-limited per person (two sent above, plus one refused test).
    let mut last = 0;
    for _ in 0..4 {
        let r = app
            .post_form(
                &format!("/profile/contacts/{}/test", sms.id),
                &[("csrf", &csrf)],
            )
            .await;
        last = r.status().as_u16();
        if last == 429 {
            assert!(r
                .text()
                .await
                .unwrap()
                .contains("wait a few minutes, then try again"));
            break;
        }
    }
    assert_eq!(last, 429);

    // A chat webhook: the URL and flavour are checked.
    for (url, flavor, field) in [
        ("ftp://chat.example.org/x", "", "The URL "),
        (
            "https://chat.example.org/hooks/x",
            "irc",
            "Choose Slack, Mattermost, Discord or Zulip.",
        ),
        (
            "http://169.254.169.254/latest",
            "",
            "Firstline may not call it: reaches 169.254.169.254",
        ),
    ] {
        let r = app
            .post_form(
                "/profile/contacts/chat",
                &[
                    ("csrf", &csrf),
                    ("url", url),
                    ("flavor", flavor),
                    ("label", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 400, "{url}");
        // A plain sentence about the field, never the raw "field: message".
        let text = r.text().await.unwrap();
        assert!(text.contains(field), "{field}: {text}");
    }
    let r = app
        .post_form(
            "/profile/contacts/chat",
            &[
                ("csrf", &csrf),
                ("url", "https://discord.com/api/webhooks/1/x"),
                ("flavor", ""),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let chat = store
        .contact_methods(&maya)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "chat")
        .unwrap();
    assert_eq!(chat.config, r#"{"flavor":"discord"}"#);

    // A webhook: its secret is shown once.
    let r = app
        .post_form(
            "/profile/contacts/webhook",
            &[
                ("csrf", &csrf),
                ("url", "https://hooks.example.org/firstline"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let hook = store
        .contact_methods(&maya)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "webhook")
        .unwrap();
    let secret: serde_json::Value = serde_json::from_str(&hook.config).unwrap();
    let secret = secret["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert!(text.contains(&secret), "{text}");
    assert!(!app.get_text("/profile").await.contains(&secret));
    app.stop().await;
}
on_both_backends!(profile_methods_and_rules);

/// Without SMS settings the profile says so instead of offering a phone number.
async fn profile_without_sms(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let page = app.get_text("/profile").await;
    assert!(page.contains("SMS is not set up on this server."), "{page}");
    assert!(!page.contains("Add a phone number for SMS"), "{page}");
    let r = app
        .post_form(
            "/profile/contacts/sms",
            &[("csrf", &csrf), ("phone", "+49 151 2345 6789")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("SMS is not set up on this server"));
    app.stop().await;
}
on_both_backends!(profile_without_sms);

/// One request a sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A local HTTP sink: records every POST and answers `status`.
#[derive(Clone, Default)]
pub struct Sink {
    pub got: Arc<Mutex<Vec<Received>>>,
    pub status: Arc<Mutex<u16>>,
    pub url: String,
}

async fn sink_post(
    AxState(s): AxState<Sink>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    s.got.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
    });
    axum::http::StatusCode::from_u16(*s.status.lock().unwrap()).unwrap()
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut s = Sink {
            url: format!("http://{}", listener.local_addr().unwrap()),
            ..Default::default()
        };
        *s.status.lock().unwrap() = 200;
        let router = axum::Router::new()
            .route("/{*path}", post(sink_post))
            .with_state(s.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        s.url = s.url.clone();
        s
    }

    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub fn json(&self, i: usize) -> serde_json::Value {
        serde_json::from_slice(&self.got()[i].body).unwrap()
    }
}

fn outbound() -> firstline::outbound::Outbound {
    let config = crate::common::config("sqlite::memory:");
    firstline::outbound::Outbound::new(firstline::outbound::Policy::from_config(&config))
}

fn outgoing(
    kind: MethodKind,
    target: &str,
    config: serde_json::Value,
) -> firstline::notify::Outgoing {
    use firstline::notify::{Contact, Item, Outgoing, Purpose};
    let about = app::domain::notify::About {
        number: 12,
        title: "5xx above 5% @everyone <!channel> *now*".into(),
        service: Some("Sparse index".into()),
    };
    let w = app::domain::notify::words(
        std::slice::from_ref(&about),
        1,
        app::domain::escalation::Urgency::High,
    );
    Outgoing {
        key: "page:inc1:1:0:0:u1:chat".into(),
        user_id: "u1".into(),
        user_name: "Maya".into(),
        contact: Contact {
            id: "c1".into(),
            kind,
            target: target.into(),
            label: None,
            config,
        },
        purpose: Purpose::Page,
        urgency: app::domain::escalation::Urgency::High,
        subject: w.subject,
        lines: w.lines,
        items: vec![Item {
            incident_id: "inc1".into(),
            about,
            since_ms: 1_764_468_600_000,
            url: "https://firstline.example/oncall/inc1".into(),
            ack_url: Some("https://firstline.example/a/ack".into()),
            resolve_url: Some("https://firstline.example/a/res".into()),
        }],
        open: 1,
        url: "https://firstline.example/oncall/inc1".into(),
    }
}

/// Each chat flavour gets exactly the JSON its incoming webhook accepts, alert text escaped.
#[tokio::test]
async fn chat_sinks_get_each_flavours_json() {
    use firstline::notify::Notifier;
    let sink = Sink::start().await;
    let chat = firstline::notify::chat::ChatChannel::new(outbound());
    let slack_text = "*[HIGH] #12 Sparse index: 5xx above 5% @everyone &lt;!channel&gt; *now** (for Maya)\n\
        <https://firstline.example/oncall/inc1|Open> · <https://firstline.example/a/ack|Acknowledge> · <https://firstline.example/a/res|Resolve>";
    // Mattermost and Zulip also ping on a plain @everyone and render [text](url): `@` gets a
    // zero-width space, brackets and emphasis a backslash.
    let markdown_text = "*\\[HIGH\\] #12 Sparse index: 5xx above 5% @\u{200b}everyone &lt;!channel&gt; \\*now\\** (for Maya)\n\
        <https://firstline.example/oncall/inc1|Open> · <https://firstline.example/a/ack|Acknowledge> · <https://firstline.example/a/res|Resolve>";
    for (flavor, want) in [
        ("slack", json!({ "text": slack_text })),
        ("mattermost", json!({ "text": markdown_text })),
        ("zulip", json!({ "text": markdown_text })),
        (
            "discord",
            json!({
                "content": "**\\[HIGH\\] \\#12 Sparse index\\: 5xx above 5% @\u{200b}everyone \\<!channel\\> \\*now\\*** (for Maya)\n\
                    [Open](https://firstline.example/oncall/inc1) · [Acknowledge](https://firstline.example/a/ack) · [Resolve](https://firstline.example/a/res)",
                "allowed_mentions": { "parse": [] },
            }),
        ),
    ] {
        let n = sink.got().len();
        let out = outgoing(
            MethodKind::Chat,
            &format!("{}/hooks/{flavor}", sink.url),
            json!({ "flavor": flavor }),
        );
        let sent = chat.send(&out).await.unwrap();
        assert!(sent.via.starts_with("chat"), "{sent:?}");
        let got = &sink.got()[n];
        assert_eq!(got.path, format!("/hooks/{flavor}"));
        assert_eq!(got.headers["content-type"], "application/json");
        assert_eq!(sink.json(n), want, "{flavor}");
    }
    // A deleted webhook is gone; a 5xx is retried.
    *sink.status.lock().unwrap() = 404;
    let out = outgoing(
        MethodKind::Chat,
        &format!("{}/hooks/x", sink.url),
        json!({}),
    );
    assert!(matches!(
        chat.send(&out).await,
        Err(firstline::notify::SendFailure::Gone(_))
    ));
    *sink.status.lock().unwrap() = 503;
    assert!(matches!(
        chat.send(&out).await,
        Err(firstline::notify::SendFailure::Retry(_))
    ));
}

/// A receiver checks the webhook the way docs/WEBHOOKS.md says: HMAC-SHA256 of "t.body" with
/// the secret, hex, compared with v1; t within 5 minutes; the Idempotency-Key drops repeats.
fn receiver_accepts(secret: &str, r: &Received, now_s: i64) -> Result<serde_json::Value, String> {
    let header = r
        .headers
        .get("firstline-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Firstline-Signature")?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (t, v1) = (t.ok_or("no t")?, v1.ok_or("no v1")?);
    if (now_s - t).abs() > 300 {
        return Err("outside the replay window".into());
    }
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("{t}.").as_bytes());
    m.update(&r.body);
    let want: String = m
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if want != v1 {
        return Err("bad signature".into());
    }
    serde_json::from_slice(&r.body).map_err(|e| e.to_string())
}

#[tokio::test]
async fn webhooks_are_signed_the_documented_way() {
    use firstline::notify::Notifier;
    let sink = Sink::start().await;
    let hook = firstline::notify::webhook::WebhookChannel::new(outbound());
    let secret = firstline::notify::webhook::new_secret();
    let out = outgoing(
        MethodKind::Webhook,
        &format!("{}/firstline", sink.url),
        json!({ "secret": secret }),
    );
    let sent = hook.send(&out).await.unwrap();
    assert_eq!(sent.via, "webhook to 127.0.0.1");
    let got = &sink.got()[0];
    assert_eq!(got.headers["idempotency-key"], "page:inc1:1:0:0:u1:chat");
    let now = jiff::Timestamp::now().as_second();
    let body = receiver_accepts(&secret, got, now).expect("a valid signature");
    assert_eq!(body["event"], "page");
    assert_eq!(body["user"], json!({"id": "u1", "name": "Maya"}));
    assert_eq!(body["incidents"][0]["number"], 12);
    assert_eq!(
        body["incidents"][0]["ack_url"],
        "https://firstline.example/a/ack"
    );
    assert_eq!(
        body["incidents"][0]["resolve_url"],
        "https://firstline.example/a/res"
    );
    assert_eq!(body["open"], 1);
    // The checks bite: another secret, a changed body, an old timestamp.
    assert!(receiver_accepts(&firstline::notify::webhook::new_secret(), got, now).is_err());
    let mut changed = got.clone();
    changed.body.push(b' ');
    assert!(receiver_accepts(&secret, &changed, now).is_err());
    assert!(receiver_accepts(&secret, got, now + 301).is_err());
    // 410: gone; 500: retried.
    *sink.status.lock().unwrap() = 410;
    assert!(matches!(
        hook.send(&out).await,
        Err(firstline::notify::SendFailure::Gone(_))
    ));
    *sink.status.lock().unwrap() = 500;
    assert!(matches!(
        hook.send(&out).await,
        Err(firstline::notify::SendFailure::Retry(_))
    ));
}

/// When an escalation step pages a team, the team's chat channel gets one message per incident
/// step naming who was paged; the URL is set by an admin and checked when saved.
async fn a_team_step_posts_to_the_team_channel(backend: Backend) {
    let sink = Sink::start().await;
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let store = &app.state().store;
    app.create_user("maya@example.org", "a long test password", "responder")
        .await;
    let maya = store
        .user_by_email("maya@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let team = store.create_team("Storage", None, 1).await.unwrap();
    store
        .set_team_members(&team, std::slice::from_ref(&maya))
        .await
        .unwrap();
    // Checked when saved: a metadata address and an unknown flavour are refused.
    for (url, flavor, field, sentence) in [
        (
            "http://169.254.169.254/x",
            "",
            "url",
            "Firstline may not call it: reaches 169.254.169.254",
        ),
        (
            &format!("{}/team", sink.url) as &str,
            "irc",
            "flavor",
            "Choose Slack, Mattermost, Discord or Zulip.",
        ),
    ] {
        let r = app
            .post_form(
                &format!("/admin/teams/{}/chat", team),
                &[("csrf", &csrf), ("url", url), ("flavor", flavor)],
            )
            .await;
        assert_eq!(r.status(), 400, "{url}");
        let text = r.text().await.unwrap();
        assert!(text.contains(sentence), "{text}");
        assert!(!text.contains(&format!("{field}: ")), "{text}");
    }
    let r = app
        .post_form(
            &format!("/admin/teams/{}/chat", team),
            &[
                ("csrf", &csrf),
                ("url", &format!("{}/team", sink.url)),
                ("flavor", "discord"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(app
        .get_text("/admin/teams")
        .await
        .contains(&format!("{}/team", sink.url)));
    let key = paging_service(
        &app,
        "Storage",
        vec![Target {
            kind: TargetKind::Team,
            id: team.clone(),
        }],
    )
    .await;
    trigger(&app, &key, "disk").await;
    let inc = incident(&app, "disk").await;
    eventually(15, "the team's chat message", || async {
        (!sink.got().is_empty()).then_some(())
    })
    .await;
    let url = format!("{}/oncall/{}", app.state().config.base_url, inc.id);
    assert_eq!(
        sink.json(0),
        json!({
            "content": format!(
                "**\\[HIGH\\] \\#{} Storage\\: disk above 5%** — paged Test User\n[Open the incident]({url})",
                inc.number
            ),
            "allowed_mentions": { "parse": [] },
        })
    );
    eventually(10, "the timeline entry", || async {
        let t = store.timeline(&inc.id).await.unwrap();
        t.iter()
            .any(|e| e.kind == "notified" && e.channel == "chat" && e.body["team"] == "Storage")
            .then_some(())
    })
    .await;
    // One message per incident step.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.got().len(), 1);
    app.stop().await;
}
on_both_backends!(a_team_step_posts_to_the_team_channel);
