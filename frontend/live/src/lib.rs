//! The public status page's live island. The page is complete without it; with it, the page
//! follows `/events/status` (SSE). Every event carries the server-rendered body, which replaces
//! `#status-live`; groups the reader folded stay folded. The connection line says whether the
//! page is live, and a lost stream is retried with capped backoff (the server sends the current
//! body first on every connection, so a reconnect catches up).
//!
//! It is deliberately framework-free (wasm-bindgen, web-sys, gloo-timers): the status page is
//! the page read by the most people at the worst moment, and this keeps its whole weight small.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// What the connection line shows.
#[derive(Clone, Copy)]
enum Line {
    Live,
    Lost,
}

fn document() -> Option<web_sys::Document> {
    web_sys::window().and_then(|w| w.document())
}

fn set_line(line: Line) {
    let Some(el) = document().and_then(|d| d.get_element_by_id("live-line")) else {
        return;
    };
    let (class, text) = match line {
        Line::Live => ("live-line is-live", "Live: this page updates by itself."),
        Line::Lost => (
            "live-line is-lost",
            "Connection lost, reconnecting… the page may be out of date.",
        ),
    };
    el.set_class_name(class);
    el.set_text_content(Some(text));
}

fn elements(root: &web_sys::Element, selector: &str) -> Vec<web_sys::Element> {
    let mut out = Vec::new();
    if let Ok(list) = root.query_selector_all(selector) {
        for i in 0..list.length() {
            if let Some(el) = list
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                out.push(el);
            }
        }
    }
    out
}

fn swap_body(html: &str) {
    let Some(target) = document().and_then(|d| d.get_element_by_id("status-live")) else {
        return;
    };
    let closed: Vec<String> = elements(&target, "details[data-group]:not([open])")
        .iter()
        .filter_map(|el| el.get_attribute("data-group"))
        .collect();
    target.set_inner_html(html);
    if closed.is_empty() {
        return;
    }
    for el in elements(&target, "details[data-group]") {
        if el
            .get_attribute("data-group")
            .is_some_and(|g| closed.contains(&g))
        {
            let _ = el.remove_attribute("open");
        }
    }
}

fn connect(attempt: u32) {
    let Ok(es) = web_sys::EventSource::new("/events/status") else {
        retry(attempt);
        return;
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|ev: web_sys::MessageEvent| {
            if let Some(html) = ev.data().as_string() {
                swap_body(&html);
                set_line(Line::Live);
            }
        });
    es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let es2 = es.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_ev: web_sys::Event| {
        set_line(Line::Lost);
        // The browser retries by itself unless the stream is closed for good.
        if es2.ready_state() == web_sys::EventSource::CLOSED {
            es2.close();
            retry(attempt + 1);
        }
    });
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
}

fn retry(attempt: u32) {
    let delay = 1000u32.saturating_mul(1 << attempt.min(5)).min(30_000);
    gloo_timers::callback::Timeout::new(delay, move || connect(attempt)).forget();
}

/// Runs when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    connect(0);
}
