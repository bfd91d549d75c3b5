//! Web Push against a local fake push service (an axum server on 127.0.0.1 that records every
//! request and answers a settable status): a device subscribes on the profile, the code goes
//! out by push and comes back the way the service worker sends it, a page reaches the device
//! with the right headers, its payload decrypted here by an independent RFC 8291
//! implementation (p256 ECDH, HKDF, AES-128-GCM straight from RustCrypto, not the crate that
//! encrypted it) and its VAPID JWT verified (ES256 against the `k=` key, aud, exp, sub). A
//! gone subscription (410) is disabled, the next method is tried at once and the person is
//! told; endpoints at internal addresses are refused.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind};
use app::domain::service::KeyKind;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use firstline::fakes::Fakes;
use firstline::notify::push::{vapid_subject, PushChannel, Vapid};
use firstline::notify::Channels;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::{client, config_with, eventually, Backend, TestApp, TestDb};
use crate::ingest::service_with_key;

/// One request the fake push service got.
#[derive(Debug, Clone)]
pub(crate) struct PushRequest {
    pub(crate) path: String,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// A push service on 127.0.0.1: records requests, answers `status` (201 unless set).
pub(crate) struct FakePush {
    addr: std::net::SocketAddr,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<PushRequest>>>,
}

impl FakePush {
    pub(crate) async fn start() -> FakePush {
        let status = Arc::new(AtomicU16::new(201));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (st, g) = (status.clone(), got.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (st, g) = (st.clone(), g.clone());
                async move {
                    g.lock().unwrap().push(PushRequest {
                        path: uri.path().to_string(),
                        headers,
                        body: body.to_vec(),
                    });
                    let code = axum::http::StatusCode::from_u16(st.load(Ordering::SeqCst))
                        .unwrap_or(axum::http::StatusCode::CREATED);
                    (code, "push service says hello")
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePush { addr, status, got }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    pub(crate) fn got(&self) -> Vec<PushRequest> {
        self.got.lock().unwrap().clone()
    }
}

/// A browser's side of a subscription: its key pair and auth secret.
pub(crate) struct Device {
    secret: p256::SecretKey,
    auth: [u8; 16],
    pub(crate) endpoint: String,
}

impl Device {
    pub(crate) fn new(endpoint: String) -> Device {
        let mut auth = [0u8; 16];
        rand::Rng::fill(&mut rand::thread_rng(), &mut auth);
        Device {
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth,
            endpoint,
        }
    }

    /// `PushSubscription.toJSON()`.
    pub(crate) fn json(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// RFC 8291 decryption, written here from the RFC (RFC 8188 record layout, one record).
    pub(crate) fn decrypt(&self, body: &[u8]) -> Value {
        assert!(body.len() > 86, "too short: {} bytes", body.len());
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().unwrap());
        let idlen = body[20] as usize;
        assert_eq!(idlen, 65, "keyid is the server's uncompressed public key");
        let as_public = p256::PublicKey::from_sec1_bytes(&body[21..21 + idlen]).unwrap();
        let ciphertext = &body[21 + idlen..];
        assert!(ciphertext.len() as u32 <= rs, "one record");
        // ECDH, then the key combining step (section 3.3).
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let ua_public = self.secret.public_key().to_encoded_point(false);
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(ua_public.as_bytes());
        info.extend_from_slice(as_public.to_encoded_point(false).as_bytes());
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes().as_slice())
            .expand(&info, &mut ikm)
            .unwrap();
        // RFC 8188 content encryption key and nonce.
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0u8; 16];
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        let mut nonce = [0u8; 12];
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();
        let plain = Aes128Gcm::new_from_slice(&cek)
            .unwrap()
            .decrypt(Nonce::from_slice(&nonce), ciphertext)
            .expect("the payload decrypts with the subscription's keys");
        // The last record ends with the delimiter 2, then zero padding.
        let end = plain.iter().rposition(|b| *b != 0).unwrap();
        assert_eq!(plain[end], 2, "last-record delimiter");
        serde_json::from_slice(&plain[..end]).expect("JSON payload")
    }
}

/// Checks the VAPID `Authorization` header for a request to `origin`; returns the claims and
/// the public key (base64url) it names.
fn check_vapid(headers: &axum::http::HeaderMap, origin: &str) -> (Value, String) {
    let auth = headers
        .get("authorization")
        .expect("Authorization")
        .to_str()
        .unwrap();
    let rest = auth.strip_prefix("vapid ").expect("vapid scheme");
    let mut t = None;
    let mut k = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=').unwrap();
        match name {
            "t" => t = Some(value.to_string()),
            "k" => k = Some(value.to_string()),
            _ => {}
        }
    }
    let (t, k) = (t.expect("t="), k.expect("k="));
    let key_bytes = URL_SAFE_NO_PAD.decode(&k).unwrap();
    assert_eq!(key_bytes.len(), 65);
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key_bytes).unwrap();
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        .expect("a 64-byte r||s signature");
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("the JWT is signed by the key in k=");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], origin, "aud is the push service's origin");
    let now = jiff::Timestamp::now().as_second();
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now, "not expired");
    assert!(exp <= now + 12 * 3600 + 60, "at most 12 hours ahead");
    let sub = claims["sub"].as_str().expect("sub");
    assert!(
        sub.starts_with("mailto:") || sub.starts_with("https://") || sub.starts_with("http://"),
        "{sub}"
    );
    (claims, k)
}

/// A server whose notifier is the real push channel (to the fake push service) and the real
/// email channel (to the recording mailer); real clock.
async fn start(backend: Backend, extra: &[(&str, &str)]) -> (TestApp, Fakes) {
    let db = TestDb::new(backend);
    let store = db.store().await;
    // Bind a port first, so the outbound policy knows which address is Firstline's own.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = config_with(&db.url, extra);
    config.listen = addr;
    config.base_url = format!("http://{addr}");
    let vapid = Vapid::load_or_create(&store).await.unwrap();
    let outbound =
        firstline::outbound::Outbound::new(firstline::outbound::Policy::from_config(&config));
    let fakes = Fakes::new();
    let mut services = fakes.services();
    services.notifier = Arc::new(Channels {
        email: Some(Arc::new(firstline::notify::email::EmailChannel::new(
            fakes.mail.clone(),
            &config.mail_from,
        ))),
        push: Some(Arc::new(PushChannel::new(
            vapid,
            vapid_subject(&config.mail_from, &config.base_url),
            outbound,
        ))),
        ..Default::default()
    });
    let running = firstline::start_with(config, store, services)
        .await
        .expect("start");
    let app = TestApp {
        base: format!("http://{}", running.addr),
        client: client(),
        running: Some(running),
        db,
    };
    (app, fakes)
}

const EMAIL: &str = "jonas@example.org";
const PASSWORD: &str = "a long test password";

async fn subscribe(app: &TestApp, csrf: &str, sub: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/profile/push"))
        .header("X-CSRF-Token", csrf)
        .header(
            "User-Agent",
            "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
        )
        .json(sub)
        .send()
        .await
        .unwrap()
}

/// Logs Jonas in, subscribes `device`, and sends the code back as the service worker does;
/// returns the contact method's id.
async fn enable_push(app: &TestApp, push: &FakePush, device: &Device) -> String {
    let csrf = app.login(EMAIL, PASSWORD).await;
    let before = push.got().len();
    let r = subscribe(app, &csrf, &device.json()).await;
    assert_eq!(r.status(), 201);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["sent"], true, "{answer}");
    assert_eq!(answer["label"], "Chrome on Android");
    let id = answer["id"].as_str().unwrap().to_string();
    let got = push.got();
    assert_eq!(got.len(), before + 1, "the code went out by push");
    let code = device.decrypt(&got[before].body);
    assert_eq!(code["type"], "verify");
    assert_eq!(code["contact"], id.as_str());
    // Before the code comes back, the method is not verified.
    let c = app.state().store.contact(&id).await.unwrap();
    assert!(c.verified_at.is_none());
    // A wrong code is refused, naming the field.
    let r = app
        .client
        .post(app.url("/push/verify"))
        .json(&json!({"contact": id, "code": "000000x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "code");
    // The service worker's fetch: the session cookie and the code.
    let r = app
        .client
        .post(app.url("/push/verify"))
        .json(&json!({"contact": code["contact"], "code": code["code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = app.state().store.contact(&id).await.unwrap();
    assert!(c.verified_at.is_some(), "verified by the round trip");
    id
}

/// A service whose policy pages Jonas at once; returns its PagerDuty routing key.
async fn paging_service(app: &TestApp, name: &str) -> String {
    let store = &app.state().store;
    let jonas = store.user_by_email(EMAIL).await.unwrap().unwrap().id;
    let input = PolicyInput {
        name: format!("{name}: Jonas first"),
        description: String::new(),
        repeats: 0,
        steps: vec![Step {
            targets: vec![Target {
                kind: TargetKind::User,
                id: jonas,
            }],
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
        ..Default::default()
    };
    store.set_service_paging(&svc.id, &paging, 1).await.unwrap();
    key.key
}

async fn trigger(app: &TestApp, key: &str, dedup: &str) {
    let r = client()
        .post(app.url("/v2/enqueue"))
        .json(&json!({
            "routing_key": key, "event_action": "trigger", "dedup_key": dedup,
            "payload": { "summary": "5xx above 5%", "source": "db1", "severity": "critical" }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

async fn timeline(app: &TestApp, incident: &str) -> Vec<app::domain::oncall::TimelineEvent> {
    app.state().store.timeline(incident).await.unwrap()
}

async fn a_page_reaches_the_device_encrypted_and_signed(backend: Backend) {
    let push = FakePush::start().await;
    let (app, _fakes) = start(backend, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let device = Device::new(push.url("/push/v2/device-1"));
    enable_push(&app, &push, &device).await;
    let key = paging_service(&app, "Sparse index").await;
    trigger(&app, &key, "five-xx").await;
    let page = eventually(10, "the page at the push service", || async {
        push.got().get(1).cloned()
    })
    .await;
    assert_eq!(page.path, "/push/v2/device-1");
    let h = &page.headers;
    assert_eq!(h["content-encoding"], "aes128gcm");
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["urgency"], "high", "a high-urgency page");
    let ttl: u64 = h["ttl"].to_str().unwrap().parse().unwrap();
    assert!(ttl >= 3600, "{ttl}");
    let topic = h["topic"].to_str().unwrap();
    assert_eq!(topic.len(), 32);
    assert!(topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert!(page.body.len() <= 4096, "{} bytes", page.body.len());
    let (claims, k) = check_vapid(h, &format!("http://{}", push.addr));
    assert!(
        claims["sub"]
            .as_str()
            .unwrap()
            .starts_with("mailto:status@"),
        "{claims}"
    );
    // The key that signed is the one browsers subscribe with.
    let served: Value = app
        .client
        .get(app.url("/push/vapid-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["key"], k.as_str());
    // The payload: what, where a tap goes, the one-tap links.
    let p = device.decrypt(&page.body);
    let incident = app
        .state()
        .store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(p["type"], "page");
    assert_eq!(
        p["title"],
        format!("#{} {}", incident.number, incident.title)
    );
    assert!(
        incident.title.contains("5xx above 5%"),
        "{}",
        incident.title
    );
    assert!(p["body"].as_str().unwrap().contains("Sparse index"), "{p}");
    assert_eq!(p["incidents"], json!([incident.id]));
    assert_eq!(p["tag"], format!("incident-{}", incident.id));
    let actions = p["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["action"], "ack");
    assert_eq!(actions[1]["action"], "resolve");
    for a in actions {
        assert!(
            a["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/a/", app.base)),
            "{a}"
        );
    }
    assert_eq!(
        p["url"], actions[0]["url"],
        "a plain tap opens the ack page"
    );
    assert_eq!(
        p["incident_url"],
        format!("{}/oncall/{}", app.base, incident.id)
    );
    // The ack link is signed for this person, this incident, through push.
    let token = actions[0]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let claims = firstline::notify::links::verify(
        &app.state().secret,
        token,
        jiff::Timestamp::now().as_millisecond(),
    )
    .unwrap();
    assert_eq!(claims.incident_id, incident.id);
    assert_eq!(claims.action, "ack");
    assert_eq!(claims.channel, "push");
    // On the timeline: sent by push to the device.
    let via = eventually(10, "notified on the timeline", || async {
        timeline(&app, &incident.id)
            .await
            .iter()
            .find(|e| e.kind == "notified")
            .map(|e| e.body["via"].clone())
    })
    .await;
    assert_eq!(via, "push to Chrome on Android");
    app.stop().await;
}
on_both_backends!(a_page_reaches_the_device_encrypted_and_signed);

async fn a_gone_subscription_is_disabled_and_email_goes_at_once(backend: Backend) {
    let push = FakePush::start().await;
    let (app, fakes) = start(backend, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let device = Device::new(push.url("/push/v2/device-2"));
    let id = enable_push(&app, &push, &device).await;
    let key = paging_service(&app, "Sparse index").await;
    push.set_status(410);
    trigger(&app, &key, "gone").await;
    // The push service said gone: the method is disabled with a sentence saying so.
    let reason = eventually(10, "the subscription disabled", || async {
        app.state()
            .store
            .contact(&id)
            .await
            .unwrap()
            .disabled_reason
    })
    .await;
    assert!(reason.contains("no longer exists"), "{reason}");
    assert!(reason.contains("Chrome on Android"), "{reason}");
    // Email (due in 5 minutes by the default rules) goes at once, and the person is told.
    let mails = eventually(10, "the page and the notice by email", || async {
        let texts = fakes.mail.texts();
        let page = texts.iter().any(|t| t.contains("Subject: [HIGH]"));
        let notice = texts
            .iter()
            .any(|t| t.contains("Subject: Push stopped on Chrome on Android"));
        (page && notice).then_some(texts)
    })
    .await;
    let notice = mails
        .iter()
        .find(|t| t.contains("Push stopped on"))
        .unwrap();
    assert!(notice.contains("Enable push on this device"), "{notice}");
    assert!(notice.contains("/profile"), "{notice}");
    // The failure is on the incident's timeline, with the push service's word.
    let incident = app
        .state()
        .store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .unwrap();
    let failed = timeline(&app, &incident.id)
        .await
        .into_iter()
        .find(|e| e.kind == "notify_failed")
        .expect("notify_failed");
    assert_eq!(failed.body["gone"], true);
    // A second page does not try the dead device, nor tell the person again.
    let before = push.got().len();
    let other = paging_service(&app, "Search").await;
    trigger(&app, &other, "gone-again").await;
    eventually(10, "the second page by email", || async {
        (fakes
            .mail
            .texts()
            .iter()
            .filter(|t| t.contains("Subject: [HIGH]"))
            .count()
            >= 2)
            .then_some(())
    })
    .await;
    assert_eq!(push.got().len(), before, "a disabled device gets nothing");
    assert_eq!(
        fakes
            .mail
            .texts()
            .iter()
            .filter(|t| t.contains("Push stopped on"))
            .count(),
        1
    );
    app.stop().await;
}
on_both_backends!(a_gone_subscription_is_disabled_and_email_goes_at_once);

async fn subscriptions_are_checked_and_need_a_session_and_csrf(backend: Backend) {
    let push = FakePush::start().await;
    let (app, _fakes) = start(backend, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let device = Device::new(push.url("/push/v2/device-3"));
    // No session.
    let r = client()
        .post(app.url("/profile/push"))
        .header("X-CSRF-Token", "x")
        .json(&device.json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .post(app.url("/push/verify"))
        .json(&json!({"contact": "x", "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let csrf = app.login(EMAIL, PASSWORD).await;
    // No or a wrong CSRF token.
    for token in ["", "wrong"] {
        let r = subscribe(&app, token, &device.json()).await;
        assert_eq!(r.status(), 403, "csrf {token:?}");
    }
    // From another site.
    let r = app
        .client
        .post(app.url("/profile/push"))
        .header("X-CSRF-Token", &csrf)
        .header("Origin", "https://evil.example")
        .json(&device.json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "cross-site");
    // Bad fields, each named.
    let mut cases: Vec<(Value, &str, &str)> = Vec::new();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = device.json();
        f(&mut v);
        v
    };
    cases.push((with(&|v| v["endpoint"] = json!("")), "endpoint", "missing"));
    cases.push((
        with(&|v| v["endpoint"] = json!("http://push.example/x")),
        "endpoint",
        "https",
    ));
    cases.push((
        with(&|v| v["endpoint"] = json!("https://10.1.2.3/push")),
        "endpoint",
        "outbound_allow",
    ));
    cases.push((
        with(&|v| v["endpoint"] = json!("https://169.254.169.254/latest/meta-data")),
        "endpoint",
        "never",
    ));
    cases.push((
        with(&|v| v["endpoint"] = json!(format!("{}/profile", app.base))),
        "endpoint",
        "Firstline",
    ));
    cases.push((
        with(&|v| v["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 33]))),
        "keys.p256dh",
        "65",
    ));
    cases.push((
        with(&|v| v["keys"]["p256dh"] = json!("*not base64*")),
        "keys.p256dh",
        "base64",
    ));
    cases.push((
        with(&|v| v["keys"]["auth"] = json!(URL_SAFE_NO_PAD.encode([1u8; 8]))),
        "keys.auth",
        "16 bytes",
    ));
    cases.push((with(&|v| v["keys"] = json!(null)), "keys.p256dh", "65"));
    for (body, field, says) in cases {
        let r = subscribe(&app, &csrf, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["field"], field, "{body}: {e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{body}: {e}");
    }
    let r = app
        .client
        .post(app.url("/profile/push"))
        .header("X-CSRF-Token", &csrf)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        push.got().is_empty(),
        "nothing refused reached the push service"
    );
    // At most ten devices a person.
    for i in 0..10 {
        let d = Device::new(push.url(&format!("/push/v2/many-{i}")));
        assert_eq!(subscribe(&app, &csrf, &d.json()).await.status(), 201);
    }
    let d = Device::new(push.url("/push/v2/one-too-many"));
    let r = subscribe(&app, &csrf, &d.json()).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "endpoint");
    // The same device again replaces its method rather than counting twice.
    let again = Device::new(push.url("/push/v2/many-3"));
    assert_eq!(subscribe(&app, &csrf, &again.json()).await.status(), 201);
    let jonas = app
        .state()
        .store
        .user_by_email(EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let pushes = app
        .state()
        .store
        .contact_methods(&jonas)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "push")
        .count();
    assert_eq!(pushes, 10);
    // Someone else's contact method cannot be verified with one's own session.
    app.create_user("maya@example.org", PASSWORD, "responder")
        .await;
    let (maya, _) = app.login_client("maya@example.org", PASSWORD).await;
    let theirs = app
        .state()
        .store
        .contact_methods(&jonas)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "push")
        .unwrap();
    let r = maya
        .post(app.url("/push/verify"))
        .json(&json!({"contact": theirs.id, "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}
on_both_backends!(subscriptions_are_checked_and_need_a_session_and_csrf);

/// The outbound policy holds at send time too: a subscription stored for an address that is
/// not (or no longer) allowed is never called.
async fn a_push_endpoint_at_an_internal_address_is_refused(backend: Backend) {
    let push = FakePush::start().await;
    let (app, _fakes) = start(backend, &[("FIRSTLINE_OUTBOUND_ALLOW", "")]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let store = &app.state().store;
    let jonas = store.user_by_email(EMAIL).await.unwrap().unwrap();
    let device = Device::new(push.url("/push/v2/internal"));
    let keys = device.json()["keys"].clone();
    // Through the profile: refused, naming the setting.
    let csrf = app.login(EMAIL, PASSWORD).await;
    let r = subscribe(&app, &csrf, &device.json()).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"].as_str().unwrap().contains("outbound_allow"),
        "{e}"
    );
    // Stored some other way (an older version, an allow-list since narrowed): still refused.
    let id = store
        .add_contact(
            &jonas.id,
            app::domain::notify::MethodKind::Push,
            &device.endpoint,
            Some("Old phone"),
            &keys,
            1,
        )
        .await
        .unwrap();
    let contact = store.contact(&id).await.unwrap();
    let outcome = firstline::notify::verify::send_code(app.state(), &jonas, &contact)
        .await
        .unwrap();
    match outcome {
        firstline::notify::verify::SendOutcome::Failed(why) => {
            assert!(why.contains("refused"), "{why}")
        }
        other => panic!("sent to an internal address: {other:?}"),
    }
    assert!(push.got().is_empty(), "the push service was never called");
    app.stop().await;
}
on_both_backends!(a_push_endpoint_at_an_internal_address_is_refused);

/// Rules follow the device: the same subscription sent again (Enable pressed twice, new keys)
/// keeps its rules, and a device that replaces one the push service said is gone takes over
/// the gone one's rules, instead of the person being reached by none of them.
async fn rules_stay_with_a_renewed_subscription_and_move_to_its_replacement(backend: Backend) {
    use app::domain::escalation::Urgency;
    use app::domain::notify::{NewRule, Rule};
    let push = FakePush::start().await;
    let (app, _fakes) = start(backend, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let store = &app.state().store;
    let jonas = store.user_by_email(EMAIL).await.unwrap().unwrap().id;
    let phone = Device::new(push.url("/push/v2/phone"));
    let id = enable_push(&app, &push, &phone).await;
    let email = store
        .contact_methods(&jonas)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "email")
        .unwrap()
        .id;
    for (contact, delay_min) in [(&id, 0), (&email, 5)] {
        let rule = NewRule {
            urgency: Urgency::High,
            rule: Rule {
                contact_id: contact.clone(),
                delay_min,
            },
        };
        store.add_notification_rule(&jonas, &rule, 1).await.unwrap();
    }
    let rules = || async {
        let mut r: Vec<(String, i64)> = store
            .notification_rules(&jonas)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.contact_id, r.delay_min))
            .collect();
        r.sort();
        r
    };
    let mut want = vec![(id.clone(), 0), (email.clone(), 5)];
    want.sort();
    assert_eq!(rules().await, want);

    // Enable pressed again: the same method, still verified, its rules kept.
    let csrf = app.login(EMAIL, PASSWORD).await;
    let r = subscribe(&app, &csrf, &phone.json()).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], id.as_str());
    assert!(store.contact(&id).await.unwrap().verified_at.is_some());
    assert_eq!(rules().await, want);
    // New keys for the same endpoint: verified again by the round trip, same method and rules.
    let rekeyed = Device::new(phone.endpoint.clone());
    assert_eq!(enable_push(&app, &push, &rekeyed).await, id);
    assert_eq!(rules().await, want);
    assert_eq!(store.contact_methods(&jonas).await.unwrap().len(), 2);

    // The push service says the phone is gone; the phone subscribes anew (a new endpoint).
    let key = paging_service(&app, "Crates").await;
    push.set_status(410);
    trigger(&app, &key, "gone").await;
    eventually(10, "the phone switched off", || async {
        store.contact(&id).await.unwrap().disabled_reason
    })
    .await;
    push.set_status(201);
    let renewed = Device::new(push.url("/push/v2/phone-renewed"));
    let new_id = enable_push(&app, &push, &renewed).await;
    assert_ne!(new_id, id);
    let mut want = vec![(new_id.clone(), 0), (email.clone(), 5)];
    want.sort();
    assert_eq!(
        rules().await,
        want,
        "the new device took over the gone one's rule"
    );
    // And the next page reaches it at once.
    let before = push.got().len();
    let other = paging_service(&app, "Docs").await;
    trigger(&app, &other, "after").await;
    let page = eventually(10, "the page on the new device", || async {
        push.got().get(before..).and_then(|g| {
            g.iter()
                .find(|p| p.path.ends_with("phone-renewed"))
                .cloned()
        })
    })
    .await;
    assert_eq!(renewed.decrypt(&page.body)["type"], "page");
    // The gone subscription sent again, keys unchanged: switched back on, but not used until
    // the code's round trip shows it works again.
    let csrf = app.login(EMAIL, PASSWORD).await;
    let r = subscribe(&app, &csrf, &rekeyed.json()).await;
    assert_eq!(r.status(), 201);
    let c = store.contact(&id).await.unwrap();
    assert!(
        c.disabled_reason.is_none() && c.verified_at.is_none(),
        "{c:?}"
    );
    app.stop().await;
}
on_both_backends!(rules_stay_with_a_renewed_subscription_and_move_to_its_replacement);

/// A push service in trouble (429, 5xx) is a retry with its status and words, not a dead
/// subscription.
async fn a_busy_push_service_is_retried_with_its_answer(backend: Backend) {
    let push = FakePush::start().await;
    let (app, _fakes) = start(backend, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let device = Device::new(push.url("/push/v2/busy"));
    let id = enable_push(&app, &push, &device).await;
    let jonas = app
        .state()
        .store
        .user_by_email(EMAIL)
        .await
        .unwrap()
        .unwrap();
    let contact = app.state().store.contact(&id).await.unwrap();
    for code in [429, 503] {
        push.set_status(code);
        match firstline::notify::verify::send_test(app.state(), &jonas, &contact).await {
            firstline::notify::verify::SendOutcome::Failed(why) => {
                assert!(why.contains(&format!("HTTP {code}")), "{why}");
                assert!(why.contains("push service says hello"), "{why}");
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    let c = app.state().store.contact(&id).await.unwrap();
    assert!(c.disabled_reason.is_none());
    // The test message itself, when the service is back.
    push.set_status(201);
    let before = push.got().len();
    assert!(matches!(
        firstline::notify::verify::send_test(app.state(), &jonas, &contact).await,
        firstline::notify::verify::SendOutcome::Sent(via) if via == "push to Chrome on Android"
    ));
    let p = device.decrypt(&push.got()[before].body);
    assert_eq!(p["type"], "test");
    assert_eq!(push.got()[before].headers["urgency"], "normal");
    app.stop().await;
}
on_both_backends!(a_busy_push_service_is_retried_with_its_answer);

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    (
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
    )
}

/// The web app installs: manifest, icons, a root-scoped service worker that is never cached
/// stale, the page shell's links, the profile's button, a strict CSP.
#[tokio::test]
async fn the_web_app_is_installable() {
    let (app, _fakes) = start(Backend::Sqlite, &[]).await;
    let r = app
        .client
        .get(app.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["name"], "Firstline");
    assert_eq!(m["start_url"], "/oncall");
    assert_eq!(m["display"], "standalone");
    let icons = m["icons"].as_array().unwrap();
    for (size, purpose) in [(192, "any"), (512, "any"), (512, "maskable")] {
        let icon = icons
            .iter()
            .find(|i| i["sizes"] == format!("{size}x{size}") && i["purpose"] == purpose)
            .unwrap_or_else(|| panic!("{size} {purpose}"));
        let r = app
            .client
            .get(app.url(icon["src"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(png_size(&r.bytes().await.unwrap()), (size, size));
    }
    let r = app
        .client
        .get(app.url("/apple-touch-icon.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(png_size(&r.bytes().await.unwrap()), (180, 180));
    let r = app.client.get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("worker-src 'self'") && csp.contains("manifest-src 'self'"),
        "{csp}"
    );
    let sw = r.text().await.unwrap();
    assert!(
        sw.contains("self.firstlineAction"),
        "the action function tests call"
    );
    // The shell links the manifest; the profile offers push.
    app.create_user(EMAIL, PASSWORD, "responder").await;
    app.login(EMAIL, PASSWORD).await;
    let profile = app.get_text("/profile").await;
    assert!(profile.contains(r#"<link rel="manifest" href="/manifest.webmanifest""#));
    assert!(profile.contains(r#"<link rel="apple-touch-icon" href="/apple-touch-icon.png""#));
    assert!(profile.contains(r##"<meta name="theme-color" content="#0f6b4f""##));
    assert!(profile.contains("Enable push on this device"));
    assert!(profile.contains("Add to Home Screen"));
    assert!(profile.contains(r#"<script src="/push.js" defer"#));
    assert!(profile.contains("data-csrf="));
    app.stop().await;
}

/// The outbound policy's `send_with` (what the push channel sends through): headers go with
/// the request and with a redirect to the same origin; a redirect to another origin loses the
/// `Authorization` header (the VAPID token is for the push service it was made for).
#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let other = FakePush::start().await;
    let to = other.url("/elsewhere");
    // (path, Authorization) of each request here.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let got: Seen = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
            let (g, to) = (g.clone(), to.clone());
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                g.lock().unwrap().push((uri.path().to_string(), auth));
                let location = if uri.path() == "/first" {
                    "/second".to_string()
                } else {
                    to
                };
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, location)],
                )
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let outbound = firstline::outbound::Outbound::new(firstline::outbound::Policy {
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        listen: "127.0.0.1:1".parse().unwrap(),
        public: None,
        is_local: |_| false,
    });
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", "vapid t=x, k=y".parse().unwrap());
    headers.insert("ttl", "60".parse().unwrap());
    let r = outbound
        .send_with(
            reqwest::Method::POST,
            &format!("http://{addr}/first"),
            headers,
            Some(b"ciphertext".to_vec()),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let here = got.lock().unwrap().clone();
    assert_eq!(
        here,
        vec![
            ("/first".to_string(), Some("vapid t=x, k=y".to_string())),
            ("/second".to_string(), Some("vapid t=x, k=y".to_string())),
        ]
    );
    let there = other.got();
    assert_eq!(there.len(), 1);
    assert_eq!(there[0].path, "/elsewhere");
    assert!(there[0].headers.get("authorization").is_none());
    assert_eq!(there[0].headers["ttl"], "60");
    assert_eq!(there[0].body, b"ciphertext");
}

/// Subscribing is a write and a push to a URL the caller chose: twenty in ten minutes, then 429
/// and nothing more reaches the push service.
async fn subscribing_is_rate_limited(backend: Backend) {
    let push = FakePush::start().await;
    let (app, _fakes) = start(backend, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let csrf = app.login(EMAIL, PASSWORD).await;
    let device = Device::new(push.url("/push/v2/again-and-again"));
    for _ in 0..20 {
        assert_eq!(subscribe(&app, &csrf, &device.json()).await.status(), 201);
    }
    let sent = push.got().len();
    let r = subscribe(&app, &csrf, &device.json()).await;
    assert_eq!(r.status(), 429);
    assert_eq!(push.got().len(), sent, "nothing more was pushed");
    app.stop().await;
}
on_both_backends!(subscribing_is_rate_limited);
