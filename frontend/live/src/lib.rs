//! The public status page's live island. The page is complete without it; with it, the page
//! follows `/events/status` (SSE), whose `version` events announce each new version of the
//! server-rendered body. On an announcement the module fetches `/status/live` (compressed, from
//! the server's memory) after a random delay of up to 250 ms, so that thousands of open pages do
//! not ask in the same millisecond, and the body replaces `#status-live`; groups the reader
//! folded stay folded. The connection line says whether the page is live.
//!
//! Failure handling: a lost stream is retried with capped backoff, and it is opened with the
//! version the page shows, so a reconnect announces only what the page has not got. A fetch that
//! fails or takes over 10 s is retried until it succeeds (the line says the page may be out of
//! date meanwhile). A fetch answered by an instance that has not caught up with the announcement
//! yet is repeated a few times.
//!
//! The same module follows responders' pages (the on-call incidents list, an incident's
//! timeline): `#status-live` names its stream and body in `data-events` and `data-body`. It also
//! keeps relative times (`<time data-ms>`: "3 min ago") current every 20 seconds, and shows
//! absolute times (`<time datetime data-local>`, rendered in the page's zone and labelled) in
//! the reader's own zone, named, with the server's text kept as the tooltip. Pages without
//! `#status-live` (an incident, the history) load it for the times alone and open no stream.
//!
//! It is deliberately framework-free (wasm-bindgen, web-sys, gloo-timers): the status page is
//! the page read by the most people at the worst moment, and this keeps its whole weight small.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

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

/// What the page shows and what the stream announced.
#[derive(Default)]
struct Versions {
    /// The version of the body on the page.
    shown: String,
    /// The newest version the stream announced.
    wanted: String,
    /// How many announcements arrived (a fetch that started before the newest one fetches again).
    announced: u64,
    /// A fetch is scheduled or running.
    busy: bool,
    /// The last fetch failed.
    failing: bool,
}

thread_local! {
    static VERSIONS: RefCell<Versions> = RefCell::new(Versions::default());
    /// The stream and the body this page follows.
    static URLS: RefCell<(String, String)> =
        RefCell::new(("/events/status".to_string(), "/status/live".to_string()));
}

/// "2 min ago" (the server renders the same words: `app::pages::oncall::ago`).
fn ago(at: i64, now: i64) -> String {
    let s = (now - at).max(0) / 1000;
    match s {
        0..=44 => "just now".to_string(),
        45..=89 => "1 min ago".to_string(),
        90..=3599 => format!("{} min ago", (s + 30) / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// Brings every relative time on the page up to the device clock.
fn refresh_times() {
    let Some(doc) = document() else { return };
    let Some(root) = doc.document_element() else {
        return;
    };
    let now = js_sys::Date::now() as i64;
    for el in elements(&root, "time[data-ms]") {
        if let Some(at) = el
            .get_attribute("data-ms")
            .and_then(|v| v.parse::<i64>().ok())
        {
            el.set_text_content(Some(&ago(at, now)));
        }
    }
}

/// Shows every absolute time on the page in the reader's zone ("29 Nov 2026, 10:05 CET").
fn local_times() {
    let Some(root) = document().and_then(|d| d.document_element()) else {
        return;
    };
    let opts = js_sys::Object::new();
    for (k, v) in [
        ("day", "numeric"),
        ("month", "short"),
        ("year", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        let _ = js_sys::Reflect::set(&opts, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &opts).format();
    for el in elements(&root, "time[datetime][data-local='']") {
        let Some(iso) = el.get_attribute("datetime") else {
            continue;
        };
        let date = js_sys::Date::new(&JsValue::from_str(&iso));
        if date.get_time().is_nan() {
            continue;
        }
        if let Some(text) = format
            .call1(&JsValue::NULL, &date)
            .ok()
            .and_then(|t| t.as_string())
        {
            let page_zone = el.text_content().unwrap_or_default();
            el.set_text_content(Some(&text));
            let _ = el.set_attribute("title", &page_zone);
            let _ = el.set_attribute("data-local", "shown");
        }
    }
}

/// How long one fetch of the body may take before it is abandoned and retried.
const FETCH_TIMEOUT_MS: u32 = 10_000;
/// How often a fetch that returned an older version than announced (another instance behind the
/// load balancer had not caught up yet) is repeated, with growing pauses.
const CATCH_UP_TRIES: u32 = 5;

/// Fetches the current body and its version.
async fn fetch_body() -> Result<(String, String), JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let init = web_sys::RequestInit::new();
    // Revalidate with the ETag: a page that already has the bytes gets a 304.
    init.set_cache(web_sys::RequestCache::NoCache);
    // A half-open connection (a phone changing networks) must not hold up every later update.
    let abort = web_sys::AbortController::new()?;
    init.set_signal(Some(&abort.signal()));
    let timer = gloo_timers::callback::Timeout::new(FETCH_TIMEOUT_MS, move || abort.abort());
    let result = async {
        let body_url = URLS.with(|u| u.borrow().1.clone());
        let resp: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(&body_url, &init))
                .await?
                .dyn_into()?;
        if !resp.ok() {
            return Err(JsValue::from_f64(f64::from(resp.status())));
        }
        let headers = resp.headers();
        let version = match headers.get("x-status-version")? {
            Some(v) => v,
            None => headers
                .get("etag")?
                .unwrap_or_default()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string(),
        };
        let html = JsFuture::from(resp.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        Ok((html, version))
    }
    .await;
    timer.cancel();
    result
}

/// What to do after a fetch.
enum Next {
    Done,
    /// Fetch again after this many ms; the count of catch-up tries so far.
    Again(u32, u32),
}

/// Brings the page to the newest announced version, after `delay_ms`. `failures` counts failed
/// fetches in a row, `catch_up` fetches that returned an older version than announced.
fn schedule_fetch(delay_ms: u32, failures: u32, catch_up: u32) {
    gloo_timers::callback::Timeout::new(delay_ms, move || {
        let started = VERSIONS.with(|v| v.borrow().announced);
        wasm_bindgen_futures::spawn_local(async move {
            let next = match fetch_body().await {
                Ok((html, version)) => VERSIONS.with(|v| {
                    let mut v = v.borrow_mut();
                    if v.failing {
                        v.failing = false;
                        set_line(Line::Live);
                    }
                    if version != v.shown {
                        swap_body(&html);
                        refresh_times();
                        local_times();
                        v.shown = version;
                    }
                    if v.wanted == v.shown {
                        v.busy = false;
                        Next::Done
                    } else if v.announced > started {
                        // Another version was announced while this fetch ran.
                        Next::Again(0, 0)
                    } else if catch_up < CATCH_UP_TRIES {
                        // The server that answered has not caught up with the announcement yet.
                        Next::Again(250 << catch_up, catch_up + 1)
                    } else {
                        // Versions have no order: the answer may well be newer than the
                        // announcement. Its own announcement (or the next change) comes anyway.
                        v.busy = false;
                        Next::Done
                    }
                }),
                Err(_) => {
                    VERSIONS.with(|v| v.borrow_mut().failing = true);
                    set_line(Line::Lost);
                    let delay = 1000u32.saturating_mul(1 << failures.min(5)).min(30_000);
                    schedule_fetch(delay, failures + 1, catch_up);
                    return;
                }
            };
            if let Next::Again(delay, tries) = next {
                schedule_fetch(delay, 0, tries);
            }
        });
    })
    .forget();
}

/// The stream announced `version`.
fn announced(version: String) {
    let start = VERSIONS.with(|v| {
        let mut v = v.borrow_mut();
        v.announced += 1;
        v.wanted = version;
        if v.wanted == v.shown || v.busy {
            return false;
        }
        v.busy = true;
        true
    });
    if start {
        // A quarter second of jitter at most spreads the fetches of every open page.
        schedule_fetch((js_sys::Math::random() * 250.0) as u32, 0, 0);
    }
}

fn connect(attempt: u32) {
    let shown = VERSIONS.with(|v| v.borrow().shown.clone());
    let events = URLS.with(|u| u.borrow().0.clone());
    let sep = if events.contains('?') { '&' } else { '?' };
    let url = format!("{events}{sep}v={}", js_sys::encode_uri_component(&shown));
    let Ok(es) = web_sys::EventSource::new(&url) else {
        retry(attempt);
        return;
    };
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(|_ev: web_sys::Event| {
        if !VERSIONS.with(|v| v.borrow().failing) {
            set_line(Line::Live);
        }
    });
    es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
    let on_version =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|ev: web_sys::MessageEvent| {
            if let Some(version) = ev.data().as_string() {
                announced(version);
            }
        });
    let _ = es.add_event_listener_with_callback("version", on_version.as_ref().unchecked_ref());
    on_version.forget();
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
    local_times();
    let root = document().and_then(|d| d.get_element_by_id("status-live"));
    if root.is_none() {
        return;
    }
    let attr = |name: &str| root.as_ref().and_then(|el| el.get_attribute(name));
    let shown = attr("data-version").unwrap_or_default();
    if let (Some(events), Some(body)) = (attr("data-events"), attr("data-body")) {
        URLS.with(|u| *u.borrow_mut() = (events, body));
    }
    VERSIONS.with(|v| v.borrow_mut().shown = shown);
    refresh_times();
    gloo_timers::callback::Interval::new(20_000, refresh_times).forget();
    connect(0);
}
