//! The outside services through their fakes: the engine's probes answer from a script, so a
//! monitor can fail and recover without any HTTP server.

use crate::common;

use app::domain::monitor::{MonitorDraft, MonitorKind};
use common::{eventually, Backend, TestApp};

/// A scripted failure opens an alert with the prober's message; the next (healthy) probe
/// resolves it. Nothing listens on a socket.
#[tokio::test]
async fn a_scripted_probe_failure_opens_an_alert_and_recovery_resolves_it() {
    let fakes = firstline::fakes::Fakes::new();
    let url = "https://api.example.org/health";
    fakes
        .probes
        .push(url, [Err("connection refused (scripted)".to_string())]);
    let app = TestApp::start_with_services(Backend::Sqlite, &[], fakes.services()).await;
    let ids = app.seed_components(&[("API", "")]).await;
    let store = &app.state().store;
    store
        .create_monitor(
            &MonitorDraft {
                kind: MonitorKind::Http,
                name: "API probe".into(),
                component_id: Some(ids[0].clone()),
                service_id: None,
                url: Some(url.into()),
                // The shortest interval the form accepts.
                interval_s: 5,
                timeout_ms: 2_000,
                expect_status: None,
                keyword: None,
                failure_threshold: 1,
            },
            app.state().clock.now_ms(),
        )
        .await
        .unwrap();
    let alert = eventually(10, "the scripted failure opens an alert", || async {
        store.alerts(10).await.unwrap().into_iter().next()
    })
    .await;
    assert_eq!(alert.status, "triggered");
    assert!(
        alert.details.contains("connection refused (scripted)"),
        "{}",
        alert.details
    );
    eventually(15, "the next probe finds it healthy", || async {
        let alerts = store.alerts(10).await.unwrap();
        (alerts.len() == 1 && alerts[0].status == "resolved").then_some(())
    })
    .await;
    assert!(fakes.probes.calls().len() >= 2);
    assert!(fakes.probes.calls().iter().all(|u| u == url));
    app.stop().await;
}
