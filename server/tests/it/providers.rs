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

pub async fn sms_reply(app: &TestApp, from: &str, body: &str) -> (u16, String) {
    callback(
        app,
        "/webhooks/sms",
        &[
            ("From", from),
            ("To", FROM),
            ("Body", body),
            ("MessageSid", "SMinbound"),
            ("AccountSid", SID),
        ],
        Some(TOKEN),
    )
    .await
}

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

    // An undelivered text: notify_failed with the provider's code.
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
        .find(|e| e.kind == "notify_failed")
        .expect("notify_failed");
    assert!(
        failed.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("30003"),
        "{failed:?}"
    );
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
