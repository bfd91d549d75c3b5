//! A page that went out is not sent again when what follows it fails: here the timeline entry
//! saying it was sent cannot be written (the message is still recorded sent) (the events table is moved away inside the notifier
//! call). Before, the page job failed on that and its retry paged the person a second time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::common::{eventually, ticked, Backend, TestApp};
use crate::escalation_crash::{exec, paged_service, policy, responder, strings, trigger};
use async_trait::async_trait;
use firstline::fakes::{Fakes, RecordingNotifier};
use firstline::notify::{Notifier, Outgoing, SendFailure, Sent};
use firstline::services::Services;

/// Records pages; on the first, moves the timeline table away so noting the page fails.
struct BreaksTimeline {
    pages: Arc<RecordingNotifier>,
    db: OnceLock<(Backend, String)>,
}

#[async_trait]
impl Notifier for BreaksTimeline {
    async fn send(&self, page: &Outgoing) -> Result<Sent, SendFailure> {
        let via = self.pages.send(page).await?;
        if self.pages.sent().len() == 1 {
            let (backend, url) = self.db.get().expect("set after start");
            exec(
                *backend,
                url,
                "ALTER TABLE oncall_events RENAME TO oncall_events_away",
            )
            .await;
        }
        Ok(via)
    }
}

async fn page_sent_then_note_failed_is_not_sent_again(backend: Backend) {
    let start = jiff::Timestamp::now().as_millisecond();
    let (fakes, clock) = Fakes::at(start);
    let notifier = Arc::new(BreaksTimeline {
        pages: fakes.pages.clone(),
        db: OnceLock::new(),
    });
    let services = Services {
        notifier: notifier.clone(),
        ..fakes.services()
    };
    let app = TestApp::start_with_services(backend, &[], services).await;
    let _ = notifier.db.set((backend, app.db.url.clone()));
    let store = &app.state().store;
    let jonas = responder(store, "jonas@example.org", "Jonas").await;
    let pid = policy(store, "Checkout", &[&jonas], 30).await;
    let (_, key) = paged_service(store, "Checkout", &pid).await;
    let r = app
        .client
        .post(app.url("/v2/enqueue"))
        .json(&trigger(&key.key, "disk-full"))
        .send()
        .await
        .expect("trigger");
    assert_eq!(r.status(), 202);
    let url = &app.db.url;
    eventually(10, "the send job ran", || async move {
        let ran = strings(
            backend,
            url,
            "SELECT dedup_key FROM jobs WHERE kind = 'send' AND (done_at IS NOT NULL OR last_error IS NOT NULL)",
        )
        .await;
        (ran.len() == 1).then_some(())
    })
    .await;
    exec(
        backend,
        url,
        "ALTER TABLE oncall_events_away RENAME TO oncall_events",
    )
    .await;
    // Past any retry (the first comes 10 s later), before step 1's delay runs out.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(5 * 60));
        ticked(&app, clock.now_ms()).await;
        // The page queue looks for due jobs every second.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert_eq!(fakes.pages.sent().len(), 1, "Jonas paged once");
    app.stop().await;
}
on_both_backends!(page_sent_then_note_failed_is_not_sent_again);
