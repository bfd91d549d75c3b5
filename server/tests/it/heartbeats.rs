//! Heartbeat pings are coalesced per token: a burst stores one result, pings at the monitor's
//! cadence are all stored, and every ping is answered 200 (so `curl -fsS` in cron never fails).

use std::time::Duration;

use crate::common::{Backend, TestApp};

/// Creates a heartbeat monitor with `interval` seconds; returns its token.
async fn heartbeat(app: &TestApp, csrf: &str, name: &str, interval: &str) -> String {
    let r = app
        .post_form(
            "/admin/monitors",
            &[
                ("csrf", csrf),
                ("kind", "heartbeat"),
                ("name", name),
                ("interval", interval),
                ("failures", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.state()
        .store
        .monitors()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == name)
        .and_then(|m| m.token)
        .expect("token")
}

/// Deletes every stored check result and says how many there were.
async fn stored(app: &TestApp) -> u64 {
    app.state()
        .store
        .prune_monitor_results(i64::MAX)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_burst_of_pings_is_stored_once() {
    let app = TestApp::start(Backend::Sqlite).await;
    let csrf = app.login_admin().await;
    let token = heartbeat(&app, &csrf, "Nightly backup", "60").await;
    let url = app.url(&format!("/heartbeat/{token}"));
    let pings = (0..300).map(|_| {
        let (client, url) = (app.client.clone(), url.clone());
        tokio::spawn(async move { client.post(url).send().await.unwrap() })
    });
    let mut recorded = 0;
    for p in futures::future::join_all(pings).await {
        let r = p.unwrap();
        assert_eq!(r.status(), 200, "coalesced pings are not errors");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["monitor"], "Nightly backup");
        if body["recorded"] == true {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1, "one ping of the burst is stored");
    assert_eq!(stored(&app).await, 1, "one row for 300 pings");
    // Unknown tokens are still told so, and are not remembered.
    let r = app
        .client
        .get(app.url("/heartbeat/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(app.state().heartbeats.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn pings_at_the_monitors_cadence_are_all_stored() {
    let (app, clock) = TestApp::start_with_clock(Backend::Sqlite, &[]).await;
    let csrf = app.login_admin().await;
    // A 5-second heartbeat coalesces for 1 s only.
    let token = heartbeat(&app, &csrf, "Queue drain", "5").await;
    let url = app.url(&format!("/heartbeat/{token}"));
    for _ in 0..3 {
        let r = app.client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let again = app.client.get(&url).send().await.unwrap();
        assert_eq!(again.status(), 200);
        clock.advance(Duration::from_millis(1200));
    }
    assert_eq!(stored(&app).await, 3, "one per second-apart pair");
    app.stop().await;
}
