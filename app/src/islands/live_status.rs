//! Live status island: follows `/events/status` (SSE). Every event carries the server-rendered
//! body of the page, which replaces `#status-live` (groups the reader collapsed stay collapsed).
//! Shows when the stream is lost and catches up on reconnect, because the server sends the
//! current body first on every connection. Without JavaScript the page is complete as served.

use leptos::prelude::*;

/// State of the live connection, shown above the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Server-rendered, no live stream (yet, or JavaScript is off).
    Static,
    /// Receiving updates.
    Live,
    /// Lost the stream; retrying.
    Reconnecting,
}

/// The connection line of the status page; swaps in new bodies as they arrive.
#[island]
pub fn LiveStatus() -> impl IntoView {
    let (conn, set_conn) = signal(Connection::Static);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::connect(set_conn, 0));
    #[cfg(not(feature = "hydrate"))]
    let _ = set_conn;

    let text = move || match conn.get() {
        Connection::Static => "Reload the page for the latest status.",
        Connection::Live => "Live: this page updates by itself.",
        Connection::Reconnecting => "Connection lost, reconnecting… the page may be out of date.",
    };
    let class = move || match conn.get() {
        Connection::Static => "live-line",
        Connection::Live => "live-line is-live",
        Connection::Reconnecting => "live-line is-lost",
    };
    view! { <p class=class aria-live="polite">{text}</p> }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! Browser-only: the EventSource, the body swap and the reconnect backoff.
    use super::Connection;
    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    fn swap_body(html: &str) {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Some(target) = doc.get_element_by_id("status-live") else {
            return;
        };
        // Remember which groups the reader closed.
        let mut closed = Vec::new();
        if let Ok(list) = target.query_selector_all("details[data-group]:not([open])") {
            for i in 0..list.length() {
                if let Some(el) = list
                    .item(i)
                    .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                {
                    if let Some(g) = el.get_attribute("data-group") {
                        closed.push(g);
                    }
                }
            }
        }
        target.set_inner_html(html);
        for g in closed {
            if let Ok(list) = target.query_selector_all("details[data-group]") {
                for i in 0..list.length() {
                    if let Some(el) = list
                        .item(i)
                        .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                    {
                        if el.get_attribute("data-group").as_deref() == Some(g.as_str()) {
                            let _ = el.remove_attribute("open");
                        }
                    }
                }
            }
        }
    }

    /// Opens the stream; on a closed stream, retries with capped exponential backoff.
    pub fn connect(set_conn: WriteSignal<Connection>, attempt: u32) {
        let Ok(es) = web_sys::EventSource::new("/events/status") else {
            retry(set_conn, attempt);
            return;
        };
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if let Some(html) = ev.data().as_string() {
                    swap_body(&html);
                    set_conn.set(Connection::Live);
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
                retry(set_conn, attempt + 1);
            }
        });
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }

    fn retry(set_conn: WriteSignal<Connection>, attempt: u32) {
        let delay = 1000u32.saturating_mul(1 << attempt.min(5)).min(30_000);
        gloo_timers::callback::Timeout::new(delay, move || connect(set_conn, attempt)).forget();
    }
}
