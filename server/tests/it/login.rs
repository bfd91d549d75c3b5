//! Login protection through HTTP: `next` never leads off-site and control characters in it are
//! refused before a session exists; failed logins are throttled per network with `Retry-After`,
//! the account's owner still gets in from another network, waits end with time; a full password
//! hashing queue answers 429 instead of growing.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::{Backend, TestApp};

const EMAIL: &str = "owner@example.org";
const PASSWORD: &str = "the owner's long password";

/// A cookie-keeping client that connects from another loopback address.
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::from(ip)))
        .build()
        .expect("client")
}

async fn post_login(
    client: &reqwest::Client,
    app: &TestApp,
    password: &str,
    next: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut req = client.post(app.url("/login")).form(&[
        ("email", EMAIL),
        ("password", password),
        ("next", next),
    ]);
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.expect("login request")
}

/// How many sessions exist (and ends them all).
async fn sessions(app: &TestApp) -> u64 {
    app.state()
        .store
        .purge_expired_sessions(i64::MAX)
        .await
        .expect("count sessions")
}

#[tokio::test]
async fn next_never_leads_off_site() {
    let app = TestApp::start(Backend::Sqlite).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    let base = reqwest::Url::parse(&app.base).expect("base url");
    // Control characters: 400 naming `next`, before any session is created.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\t//evil.example",
    ] {
        let r = post_login(&app.client, &app, PASSWORD, next, None).await;
        assert_eq!(r.status(), 400, "next {next:?}");
        assert!(r.headers().get("set-cookie").is_none(), "next {next:?}");
        let body = r.text().await.expect("body");
        assert!(
            body.contains("next: must not contain control characters"),
            "{body}"
        );
        assert_eq!(sessions(&app).await, 0, "no session for next {next:?}");
        let r = app
            .client
            .get(app.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .expect("login page");
        assert_eq!(r.status(), 400, "GET /login?next={next:?}");
    }
    // Everything else logs in and stays on this origin, as a browser resolves `Location`
    // (the url crate follows the WHATWG URL standard browsers use).
    for next in [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        " //evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%09/evil.example",
        "/%2F%2Fevil.example",
        "/..//evil.example",
        "/incidents/ü",
        "/admin/components",
    ] {
        let r = post_login(&app.client, &app, PASSWORD, next, None).await;
        assert_eq!(r.status(), 303, "next {next:?}");
        let location = r.headers()["location"].to_str().expect("ascii").to_string();
        let target = base.join(&location).expect("resolvable");
        assert_eq!(
            target.origin(),
            base.origin(),
            "next {next:?} sent the browser to {target}"
        );
    }
    let r = post_login(&app.client, &app, PASSWORD, "/admin/components", None).await;
    assert_eq!(r.headers()["location"], "/admin/components");
    app.stop().await;
}

#[tokio::test]
async fn failed_logins_are_throttled_without_locking_out_the_owner() {
    let (app, clock) = TestApp::start_with_clock(Backend::Sqlite, &[]).await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    // A flood of wrong passwords from one network (127.0.0.1), all at once.
    let flood: Vec<_> = (0..30)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/login"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .form(&[
                        ("email", EMAIL),
                        ("password", "a wrong guess"),
                        ("next", "/"),
                    ])
                    .send()
                    .await
                    .expect("login request")
            })
        })
        .collect();
    let (mut wrong, mut throttled) = (0, 0);
    for r in flood {
        let r = r.await.expect("task");
        match r.status().as_u16() {
            401 => wrong += 1,
            429 => {
                throttled += 1;
                let secs: u64 = r.headers()["retry-after"]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("Retry-After in seconds");
                assert!((1..=900).contains(&secs), "Retry-After {secs}");
                let body = r.text().await.expect("body");
                assert!(body.contains("Too many failed logins"), "{body}");
                assert!(body.contains("name=\"password\""), "the login page again");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // Five were checked (the free attempts per network and account); the rest were refused
    // without hashing, concurrency notwithstanding.
    assert_eq!((wrong, throttled), (5, 25));
    // The owner, from another network, logs in at once.
    let owner = client_from([127, 0, 0, 2]);
    let r = post_login(&owner, &app, PASSWORD, "/dashboard", None).await;
    assert_eq!(r.status(), 303, "owner from another network");
    // The flooding network waits, even with the right password ...
    let r = post_login(&app.client, &app, PASSWORD, "/dashboard", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    // ... until its wait is over (the fake clock moves on instead of sleeping); the
    // next failure then doubles the wait.
    clock.advance(std::time::Duration::from_millis(1_000));
    let r = post_login(&app.client, &app, "a wrong guess", "/dashboard", None).await;
    assert_eq!(r.status(), 401, "after the wait");
    let r = post_login(&app.client, &app, PASSWORD, "/dashboard", None).await;
    assert_eq!(r.headers()["retry-after"], "2");
    clock.advance(std::time::Duration::from_millis(2_000));
    let r = post_login(&app.client, &app, PASSWORD, "/dashboard", None).await;
    assert_eq!(r.status(), 303, "after the second wait");
    app.stop().await;
}

#[tokio::test]
async fn an_attack_from_many_networks_does_not_lock_out_the_owner() {
    // Behind a trusted proxy, each attacker appears with its own address.
    let (app, _clock) = TestApp::start_with_clock(
        Backend::Sqlite,
        &[("FIRSTLINE_TRUSTED_PROXIES", "127.0.0.1/32")],
    )
    .await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    for i in 0..25 {
        let ip = format!("198.51.100.{i}");
        let r = post_login(&app.client, &app, "a wrong guess", "/", Some(&ip)).await;
        assert_eq!(r.status(), 401, "first guess from {ip}");
    }
    // The account is under attack: a network that failed at it once now waits.
    let r = post_login(
        &app.client,
        &app,
        "another guess",
        "/",
        Some("198.51.100.0"),
    )
    .await;
    assert_eq!(r.status(), 429);
    // Its owner, from a network that has not failed, gets straight in.
    let r = post_login(&app.client, &app, PASSWORD, "/", Some("203.0.113.7")).await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_full_hashing_queue_answers_429_instead_of_growing() {
    let app = TestApp::start_with(
        Backend::Sqlite,
        &[("FIRSTLINE_TRUSTED_PROXIES", "127.0.0.1/32")],
    )
    .await;
    app.create_user(EMAIL, PASSWORD, "responder").await;
    // 200 wrong logins at once, each from its own network: no throttle holds them back, so all
    // of them want a password check.
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let (client, url) = (app.client.clone(), app.url("/login"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("x-forwarded-for", format!("10.0.{}.{}", i / 256, i % 256))
                    .form(&[
                        ("email", EMAIL),
                        ("password", "a wrong guess"),
                        ("next", "/"),
                    ])
                    .send()
                    .await
                    .expect("login request")
            })
        })
        .collect();
    let (mut wrong, mut busy) = (0, 0);
    for r in flood {
        let r = r.await.expect("task");
        match r.status().as_u16() {
            401 => wrong += 1,
            429 => {
                busy += 1;
                assert_eq!(r.headers()["retry-after"], "5");
                let body = r.text().await.expect("body");
                assert!(
                    body.contains("The server is busy checking other logins"),
                    "{body}"
                );
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(busy > 0, "no login was turned away ({wrong} checked)");
    assert!(wrong >= 8, "the queue's places were used ({wrong} checked)");
    // The queue drains; the owner gets in.
    let r = post_login(&app.client, &app, PASSWORD, "/", Some("203.0.113.7")).await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}
