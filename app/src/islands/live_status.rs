//! Live status island: renders the banner and components, then follows `/events/status` (SSE)
//! and replaces its snapshot on every change. Shows when the stream is lost and catches up on
//! reconnect, because the server sends the full current snapshot first on every connection.

use leptos::prelude::*;

use crate::domain::status::{PublicGroup, StatusSnapshot};

/// State of the live connection, shown under the banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Server-rendered, no live stream (yet, or JavaScript is off).
    Static,
    /// Receiving updates.
    Live,
    /// Lost the stream; retrying.
    Reconnecting,
}

/// The live part of the status page.
#[island]
pub fn LiveStatus(snapshot: StatusSnapshot) -> impl IntoView {
    let (snap, set_snap) = signal(snapshot);
    let (conn, set_conn) = signal(Connection::Static);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::connect(set_snap, set_conn, 0));
    #[cfg(not(feature = "hydrate"))]
    let _ = (set_snap, set_conn);

    let banner_class = move || format!("banner indicator-{}", snap.with(|s| s.indicator.as_str()));
    let banner_text = move || snap.with(|s| s.indicator.description());
    let live_line = move || {
        let updated = snap.with(|s| s.updated_at.clone());
        match conn.get() {
            Connection::Static => format!("Updated {updated}"),
            Connection::Live => format!("Live · updated {updated}"),
            Connection::Reconnecting => {
                format!("Connection lost, reconnecting… Showing status as of {updated}")
            }
        }
    };
    let live_class = move || match conn.get() {
        Connection::Static => "live-line",
        Connection::Live => "live-line is-live",
        Connection::Reconnecting => "live-line is-lost",
    };
    let groups = move || {
        snap.with(|s| {
            s.groups
                .iter()
                .cloned()
                .map(|g| view! { <Group group=g/> })
                .collect_view()
        })
    };
    view! {
        <div class="live-status">
            <div class=banner_class role="status">
                <span class="dot" aria-hidden="true"></span>
                <strong>{banner_text}</strong>
            </div>
            <p class=live_class aria-live="polite">{live_line}</p>
            <div class="groups">{groups}</div>
        </div>
    }
}

#[component]
fn Group(group: PublicGroup) -> impl IntoView {
    let heading = group.name.clone().unwrap_or_else(|| "Services".to_string());
    view! {
        <section class="group">
            <h2>{heading}</h2>
            <ul class="components">
                {group.components.into_iter().map(|c| {
                    let status = c.status;
                    view! {
                        <li class="component" data-component=c.id.clone()>
                            <div class="component-text">
                                <span class="component-name">{c.name.clone()}</span>
                                {c.description.clone().map(|d| view! { <span class="component-desc">{d}</span> })}
                            </div>
                            <span class=format!("pill status-{}", status.as_str()) data-status=status.as_str()>
                                <span class="dot" aria-hidden="true"></span>
                                {status.label()}
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! Browser-only: the EventSource and its reconnect backoff.
    use super::Connection;
    use crate::domain::status::StatusSnapshot;
    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    /// Opens the stream; on a closed stream, retries with capped exponential backoff.
    pub fn connect(
        set_snap: WriteSignal<StatusSnapshot>,
        set_conn: WriteSignal<Connection>,
        attempt: u32,
    ) {
        let Ok(es) = web_sys::EventSource::new("/events/status") else {
            retry(set_snap, set_conn, attempt);
            return;
        };
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if let Some(text) = ev.data().as_string() {
                    if let Ok(s) = serde_json::from_str::<StatusSnapshot>(&text) {
                        set_snap.set(s);
                        set_conn.set(Connection::Live);
                    }
                }
            });
        es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let es2 = es.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_ev: web_sys::Event| {
            set_conn.set(Connection::Reconnecting);
            // The browser retries by itself unless the stream is closed for good.
            if es2.ready_state() == web_sys::EventSource::CLOSED {
                es2.close();
                retry(set_snap, set_conn, attempt + 1);
            }
        });
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }

    fn retry(
        set_snap: WriteSignal<StatusSnapshot>,
        set_conn: WriteSignal<Connection>,
        attempt: u32,
    ) {
        let delay = 1000u32.saturating_mul(1 << attempt.min(5)).min(30_000);
        gloo_timers::callback::Timeout::new(delay, move || connect(set_snap, set_conn, attempt))
            .forget();
    }
}
