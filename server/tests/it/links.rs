//! One-tap links through the real server on a fake clock: a page's mail carries links; GET
//! shows the confirmation and changes nothing; POST acknowledges (or resolves) once, as the
//! person, through the channel that carried the link, and escalation stops; used, expired,
//! tampered and foreign links, a deactivated person, someone else first, JSON for the service
//! worker, the per-address rate limit.

use std::sync::Arc;

use app::domain::account::Role;
use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind};
use app::domain::oncall::{Act, State};
use app::domain::permission::Actor;
use app::domain::service::KeyKind;
use async_trait::async_trait;
use firstline::clock::FakeClock;
use firstline::fakes::Fakes;
use firstline::notify::email::EmailChannel;
use firstline::notify::links::{sign, LinkClaims};
use firstline::notify::{Notifier, Outgoing, SendFailure, Sent};
use firstline::store::Store;
use jiff::Timestamp;
use serde_json::json;

use crate::common::{client, eventually, ticked, Backend, TestApp};
use crate::ingest::service_with_key;

const MIN: i64 = 60_000;
/// Monday 2026-11-30, 03:10 in Berlin.
const T0: &str = "2026-11-30T02:10:00Z";

/// Mails every message through the real email channel (to the recording mailer) and records it.
struct MailAndRecord {
    email: EmailChannel,
    fakes: Fakes,
}

#[async_trait]
impl Notifier for MailAndRecord {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        self.email.send(out).await?;
        self.fakes.pages.send(out).await
    }
}

pub struct L {
    pub app: TestApp,
    pub fakes: Fakes,
    pub clock: Arc<FakeClock>,
    pub t0: i64,
    pub incident: String,
}

async fn add_user(store: &Store, who: &str, name: &str, role: &str) -> String {
    let user = app::domain::account::NewUserInput {
        email: format!("{who}@example.org"),
        name: name.into(),
        time_zone: "Europe/Berlin".into(),
        role: role.into(),
    }
    .normalize()
    .expect("valid user");
    store
        .create_user(&user, "not a real hash", 1)
        .await
        .expect("user")
        .id
}

impl L {
    /// Jonas (step 1) and Maya (step 2, 5 min later) on "Sparse index"; one incident, Jonas
    /// paged by email.
    pub async fn start(backend: Backend) -> L {
        let t0 = T0.parse::<Timestamp>().unwrap().as_millisecond();
        let (fakes, clock) = Fakes::at(t0);
        let mut services = fakes.services();
        services.notifier = Arc::new(MailAndRecord {
            email: EmailChannel::new(fakes.mail.clone(), "firstline@example.org"),
            fakes: fakes.clone(),
        });
        let app = TestApp::start_with_services(backend, &[], services).await;
        let store = &app.state().store;
        let jonas = add_user(store, "jonas", "Jonas", "responder").await;
        let maya = add_user(store, "maya", "Maya", "responder").await;
        add_user(store, "admin", "Ada", "admin").await;
        let target = |id: &str| Target {
            kind: TargetKind::User,
            id: id.to_string(),
        };
        let policy = PolicyInput {
            name: "First line".into(),
            description: String::new(),
            repeats: 0,
            steps: vec![
                Step {
                    targets: vec![target(&jonas)],
                    delay_min: 5,
                    round_robin: false,
                },
                Step {
                    targets: vec![target(&maya)],
                    delay_min: 5,
                    round_robin: false,
                },
            ],
        }
        .normalize()
        .unwrap();
        let policy = store.create_policy(&policy, 1).await.unwrap().id;
        let (svc, key) = service_with_key(store, "Sparse index", KeyKind::Pagerduty).await;
        let paging = ServicePaging {
            policy_id: Some(policy),
            ..Default::default()
        };
        store.set_service_paging(&svc.id, &paging, 1).await.unwrap();
        let r = client()
            .post(app.url("/v2/enqueue"))
            .json(&json!({
                "routing_key": key.key, "event_action": "trigger", "dedup_key": "5xx",
                "payload": { "summary": "5xx above 5%", "source": "lb1", "severity": "critical" }
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let l = L {
            app,
            fakes,
            clock,
            t0,
            incident: String::new(),
        };
        let incident = eventually(10, "Jonas's page", || async {
            l.fakes
                .pages
                .pages()
                .iter()
                .find(|p| p.page.user_id == jonas)
                .map(|p| p.page.items[0].incident_id.clone())
        })
        .await;
        L { incident, ..l }
    }

    pub fn store(&self) -> &Store {
        &self.app.state().store
    }

    pub async fn user(&self, who: &str) -> String {
        self.store()
            .user_by_email(&format!("{who}@example.org"))
            .await
            .unwrap()
            .expect("user")
            .id
    }

    /// The path of `who`'s latest `ack` or `resolve` link (from the recorded message).
    pub async fn link(&self, who: &str, resolve: bool) -> String {
        let id = self.user(who).await;
        let page = self
            .fakes
            .pages
            .pages()
            .into_iter()
            .rev()
            .find(|p| p.page.user_id == id)
            .expect("a page to them");
        let item = &page.page.items[0];
        let url = if resolve {
            item.resolve_url.clone()
        } else {
            item.ack_url.clone()
        }
        .expect("a link");
        path_of(&url)
    }

    /// Moves the clock to `t0 + minutes` and waits for the engine there.
    pub async fn at(&self, minutes: i64) {
        self.settle().await;
        let t = self.t0 + minutes * MIN;
        self.clock.set(t);
        ticked(&self.app, t).await;
        self.settle().await;
    }

    async fn settle(&self) {
        eventually(10, "the engine to settle", || async {
            let now = self.clock.now_ms();
            let due = self.store().next_escalation_due().await.unwrap();
            let (pending, _) = self.store().job_backlog().await.unwrap();
            (pending == 0 && due.is_none_or(|d| d > now)).then_some(())
        })
        .await;
    }

    pub async fn events(&self) -> Vec<(String, Option<String>, String)> {
        self.store()
            .timeline(&self.incident)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.actor_id, e.channel))
            .collect()
    }

    pub async fn state(&self) -> State {
        self.store()
            .oncall_incident(&self.incident)
            .await
            .unwrap()
            .state
    }

    /// GET (`post` false) or an empty POST (`Origin: null`, as from the link's page),
    /// anonymous; status, a header pair and the body.
    pub async fn call(&self, path: &str, post: bool, json: bool) -> (u16, String, String, String) {
        let c = client();
        let mut req = if post {
            // As a browser posts the link page's form: that page has `Referrer-Policy:
            // no-referrer`, so its form post says `Origin: null`.
            c.post(self.app.url(path)).header("origin", "null")
        } else {
            c.get(self.app.url(path))
        };
        if json {
            req = req.header("accept", "application/json");
        }
        let r = req.send().await.unwrap();
        let h = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (referrer, cache) = (h("referrer-policy"), h("cache-control"));
        let code = r.status().as_u16();
        let body = r.text().await.unwrap();
        (code, format!("{referrer}|{cache}"), body, String::new())
    }
}

/// Decodes a quoted-printable text (soft line breaks and `=XX` escapes).
fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'=', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn path_of(url: &str) -> String {
    let i = url.find("/a/").expect("an /a/ link");
    url[i..].to_string()
}

fn token_of(path: &str) -> &str {
    path.trim_start_matches("/a/")
}

/// `token` with one character of its payload (`sig` false) or signature changed.
fn altered(path: &str, sig: bool) -> String {
    let (payload, signature) = token_of(path).split_once('.').unwrap();
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        let i = c.len() / 2;
        c[i] = if c[i] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    if sig {
        format!("/a/{payload}.{}", flip(signature))
    } else {
        format!("/a/{}.{signature}", flip(payload))
    }
}

async fn get_changes_nothing_and_post_acknowledges_once(backend: Backend) {
    let l = L::start(backend).await;
    let jonas = l.user("jonas").await;
    let maya = l.user("maya").await;
    let ack = l.link("jonas", false).await;
    let before = l.events().await;

    // Opening it (a mail scanner, a link preview, the person) changes nothing.
    for _ in 0..2 {
        let (code, headers, body, _) = l.call(&ack, false, false).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(headers, "no-referrer|no-store");
        assert!(
            body.contains("Acknowledge #1: 5xx above 5% on Sparse index?"),
            "{body}"
        );
        assert_eq!(body.matches("<button").count(), 1, "one button: {body}");
        assert!(body.contains(&format!("action=\"{ack}\"")), "{body}");
        assert!(
            body.contains("Triggered since 03:10 CET (Europe/Berlin)"),
            "{body}"
        );
    }
    assert_eq!(l.state().await, State::Triggered);
    assert_eq!(l.events().await, before, "GET wrote nothing");

    l.at(1).await;
    let (code, headers, body, _) = l.call(&ack, true, false).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(headers, "no-referrer|no-store");
    assert!(
        body.contains("Acknowledged by you at 03:11:00 CET (Europe/Berlin). Escalation stopped."),
        "{body}"
    );
    assert!(
        body.contains(&format!("href=\"/oncall/{}\"", l.incident)),
        "{body}"
    );
    let inc = l.store().oncall_incident(&l.incident).await.unwrap();
    assert_eq!(inc.state, State::Acknowledged);
    assert_eq!(inc.acknowledged_by.as_deref(), Some(jonas.as_str()));
    let acks: Vec<_> = l
        .events()
        .await
        .into_iter()
        .filter(|e| e.0 == "acknowledged")
        .collect();
    assert_eq!(
        acks,
        vec![(
            "acknowledged".to_string(),
            Some(jonas.clone()),
            "email".to_string()
        )],
        "acknowledged by Jonas via email"
    );

    // Escalation stopped at once: Maya's step (due at 5 min) never pages.
    l.at(5).await;
    l.at(15).await;
    let paged: Vec<String> = l
        .fakes
        .pages
        .pages()
        .into_iter()
        .map(|p| p.page.user_id)
        .collect();
    assert!(!paged.contains(&maya), "nobody more is paged: {paged:?}");

    // Used: 409, and nothing changes (opening it says so too).
    let after = l.events().await;
    let (code, _, body, _) = l.call(&ack, true, false).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("This link was already used"), "{body}");
    let (code, _, body, _) = l.call(&ack, false, false).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("This link was already used"), "{body}");
    assert_eq!(l.events().await, after);
}
on_both_backends!(get_changes_nothing_and_post_acknowledges_once);

async fn the_mail_carries_working_links(backend: Backend) {
    let l = L::start(backend).await;
    let base = l.app.state().config.base_url.clone();
    let mail = l
        .fakes
        .mail
        .sent()
        .into_iter()
        .find(|m| m.to == vec!["jonas@example.org".to_string()])
        .expect("Jonas's mail");
    // As a mail client reads it (the body is quoted-printable: long lines are folded).
    let text = quoted_printable(&mail.text);
    let line = |label: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(label)
                    .map(str::trim)
                    .map(String::from)
            })
            .unwrap_or_else(|| panic!("{label} in {text}"))
    };
    let (ack, resolve) = (line("Acknowledge:"), line("Resolve:"));
    assert!(ack.starts_with(&format!("{base}/a/")), "{ack}");
    // The resolve link resolves.
    let (code, _, body, _) = l.call(&path_of(&resolve), true, false).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Resolved by you at"), "{body}");
    assert_eq!(l.state().await, State::Resolved);
    let jonas = l.user("jonas").await;
    assert!(l
        .events()
        .await
        .contains(&("resolved".into(), Some(jonas), "email".into())));
    // The other link of the same mail now finds nothing to do, and says who did what.
    let (code, _, body, _) = l.call(&path_of(&ack), true, false).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("Already resolved by you at 03:10:00 CET (Europe/Berlin)"),
        "{body}"
    );
}
on_both_backends!(the_mail_carries_working_links);

async fn expired_tampered_and_foreign_links_are_refused(backend: Backend) {
    let l = L::start(backend).await;
    let ack = l.link("jonas", false).await;
    let before = l.events().await;
    let secret = l.app.state().secret.clone();
    let claims = LinkClaims {
        incident_id: l.incident.clone(),
        action: "ack".into(),
        user_id: l.user("jonas").await,
        channel: "push".into(),
        expires_at: l.t0 + 60 * MIN,
        nonce: "forged-nonce".into(),
    };
    let foreign = format!("/a/{}", sign(b"another server's secret", &claims));
    let cases = [
        (altered(&ack, false), 400),
        (altered(&ack, true), 400),
        (foreign, 400),
        ("/a/not-a-token".to_string(), 400),
        (
            format!(
                "/a/{}",
                sign(
                    &secret,
                    &LinkClaims {
                        action: "snooze".into(),
                        ..claims.clone()
                    }
                )
            ),
            400,
        ),
    ];
    for (path, want) in &cases {
        for post in [false, true] {
            let (code, headers, body, _) = l.call(path, post, false).await;
            assert_eq!(code, *want, "{path} post={post}: {body}");
            assert_eq!(headers, "no-referrer|no-store");
            assert!(body.contains("This link does not work"), "{body}");
            assert!(body.contains("href=\"/login?next=/oncall\""), "{body}");
        }
    }
    assert_eq!(l.events().await, before, "nothing changed");
    assert_eq!(l.state().await, State::Triggered);

    // Signed with this server's secret, the same claims work: the secret is what counts.
    let genuine = format!("/a/{}", sign(&secret, &claims));
    assert_eq!(l.call(&genuine, false, false).await.0, 200);

    // A day later the real link has expired.
    l.clock.set(l.t0 + 24 * 60 * MIN + 1);
    for post in [false, true] {
        let (code, _, body, _) = l.call(&ack, post, false).await;
        assert_eq!(code, 410, "{body}");
        assert!(body.contains("This link has expired"), "{body}");
    }
    assert_eq!(l.state().await, State::Triggered);
}
on_both_backends!(expired_tampered_and_foreign_links_are_refused);

async fn someone_else_first_and_a_deactivated_person(backend: Backend) {
    let l = L::start(backend).await;
    let (jonas, maya) = (l.user("jonas").await, l.user("maya").await);
    let ack = l.link("jonas", false).await;
    let resolve = l.link("jonas", true).await;
    l.store()
        .act_on_incident(&l.incident, &maya, "push", &Act::Acknowledge, l.t0 + 30_000)
        .await
        .unwrap();
    // The page already says so, without a button.
    let (code, _, body, _) = l.call(&ack, false, false).await;
    assert_eq!(code, 200, "{body}");
    assert!(!body.contains("<button"), "{body}");
    assert!(
        body.contains("Already acknowledged by Maya at 03:10:30 CET (Europe/Berlin)"),
        "{body}"
    );
    // A tap from an older page says the same, plainly, and changes nothing.
    let (code, _, body, _) = l.call(&ack, true, false).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Already acknowledged by Maya"), "{body}");
    let inc = l.store().oncall_incident(&l.incident).await.unwrap();
    assert_eq!(inc.acknowledged_by.as_deref(), Some(maya.as_str()));

    // Jonas leaves: his links stop working.
    let admin = l.user("admin").await;
    l.store()
        .deactivate_user(
            Actor {
                id: &admin,
                role: Role::Admin,
            },
            &jonas,
            Timestamp::from_millisecond(l.clock.now_ms()).unwrap(),
            l.t0 + MIN,
        )
        .await
        .unwrap()
        .expect("deactivated");
    for post in [false, true] {
        let (code, _, body, _) = l.call(&resolve, post, false).await;
        assert_eq!(code, 403, "{body}");
        assert!(body.contains("This link no longer works"), "{body}");
    }
    assert_eq!(l.state().await, State::Acknowledged);
}
on_both_backends!(someone_else_first_and_a_deactivated_person);

async fn the_service_worker_gets_json(backend: Backend) {
    let l = L::start(backend).await;
    let ack = l.link("jonas", false).await;
    let parse = |b: &str| serde_json::from_str::<serde_json::Value>(b).expect("json");
    let (code, headers, body, _) = l.call(&ack, true, true).await;
    assert_eq!((code, headers.as_str()), (200, "no-referrer|no-store"));
    let v = parse(&body);
    assert_eq!(v["ok"], true, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Acknowledged by you at 03:10:00 CET"),
        "{v}"
    );
    assert_eq!(l.state().await, State::Acknowledged);
    let (code, _, body, _) = l.call(&ack, true, true).await;
    assert_eq!(code, 409);
    let v = parse(&body);
    assert_eq!(v["ok"], false);
    assert!(
        v["message"].as_str().unwrap().contains("already used"),
        "{v}"
    );
    let (code, _, body, _) = l.call(&altered(&ack, true), true, true).await;
    assert_eq!((code, parse(&body)["ok"].clone()), (400, json!(false)));
    l.clock.set(l.t0 + 25 * 60 * MIN);
    let resolve = l.link("jonas", true).await;
    let (code, _, body, _) = l.call(&resolve, true, true).await;
    assert_eq!((code, parse(&body)["ok"].clone()), (410, json!(false)));
}
on_both_backends!(the_service_worker_gets_json);

async fn taps_are_rate_limited_and_used_links_pruned(backend: Backend) {
    let l = L::start(backend).await;
    let ack = l.link("jonas", false).await;
    for i in 0..firstline::http::links::POSTS_PER_WINDOW {
        let (code, _, _, _) = l.call("/a/nonsense.token", true, false).await;
        assert_eq!(code, 400, "tap {i}");
    }
    let (code, _, body, _) = l.call(&ack, true, false).await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(
        l.state().await,
        State::Triggered,
        "a refused tap does nothing"
    );
    // The next window lets it through.
    l.clock
        .set(l.t0 + firstline::http::links::RATE_WINDOW_MS + 1);
    assert_eq!(l.call(&ack, true, false).await.0, 200);

    // A used link's nonce is kept until the link expires, then pruned.
    let nonce = "n-prune";
    let store = l.store();
    store
        .act_by_link(
            nonce,
            l.t0 + MIN,
            &l.incident,
            &l.user("maya").await,
            "sms",
            &Act::Resolve,
            l.t0,
        )
        .await
        .unwrap();
    assert!(store.link_used(nonce).await.unwrap());
    assert_eq!(store.prune_link_uses(l.t0).await.unwrap(), 0);
    assert!(store.link_used(nonce).await.unwrap());
    assert!(store.prune_link_uses(l.t0 + 2 * MIN).await.unwrap() >= 1);
    assert!(!store.link_used(nonce).await.unwrap());
}
on_both_backends!(taps_are_rate_limited_and_used_links_pruned);
