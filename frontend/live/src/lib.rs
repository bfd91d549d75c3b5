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
//! For the same reason it fetches with one `XMLHttpRequest` and a callback (no promises or
//! futures) and formats nothing with `format!` (Rust's formatting code would double the module:
//! about 14 KB of wasm with brotli instead of 22).

use std::cell::RefCell;

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
    let (n, unit) = match s {
        0..=44 => return "just now".to_string(),
        45..=89 => (1, " min ago"),
        90..=3599 => ((s + 30) / 60, " min ago"),
        3600..=86_399 => (s / 3600, " h ago"),
        _ => (s / 86_400, " d ago"),
    };
    // The number through JavaScript: `format!` would bring Rust's formatting code in.
    let mut out: String = js_sys::Number::from(n as f64)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default();
    out.push_str(unit);
    out
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

/// One fetch under way: when it started (in announcements) and the counts it carries.
#[derive(Clone, Copy)]
struct Pending {
    /// `Versions::announced` when the fetch started.
    started: u64,
    /// Failed fetches in a row before this one.
    failures: u32,
    /// Fetches before this one that returned an older version than announced.
    catch_up: u32,
}

thread_local! {
    /// The one request object the page fetches its body with (one fetch at a time), and the
    /// fetch it is doing. A plain `XMLHttpRequest` with one handler made once: promises and
    /// futures would double the module's weight.
    static XHR: RefCell<Option<web_sys::XmlHttpRequest>> = const { RefCell::new(None) };
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

fn request() -> Option<web_sys::XmlHttpRequest> {
    XHR.with(|x| {
        let mut x = x.borrow_mut();
        if x.is_none() {
            let xhr = web_sys::XmlHttpRequest::new().ok()?;
            // A half-open connection (a phone changing networks) must not hold up every later
            // update: the request ends (as failed) after this long.
            xhr.set_timeout(FETCH_TIMEOUT_MS);
            // Called once per request however it ends: loaded, failed, timed out.
            let done = Closure::<dyn FnMut()>::new(fetched);
            xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
            done.forget();
            *x = Some(xhr);
        }
        x.clone()
    })
}

/// Starts fetching the current body. The server's `no-cache` makes the browser revalidate
/// with the ETag: a page that already has the bytes gets them from its cache after a 304.
fn start_fetch(pending: Pending) {
    PENDING.with(|p| *p.borrow_mut() = Some(pending));
    let body_url = URLS.with(|u| u.borrow().1.clone());
    let sent =
        request().is_some_and(|xhr| xhr.open("GET", &body_url).is_ok() && xhr.send().is_ok());
    if !sent {
        fetched();
    }
}

/// The body and its version from the finished request, if it succeeded.
fn body_of(xhr: &web_sys::XmlHttpRequest) -> Option<(String, String)> {
    if !(200..300).contains(&xhr.status().ok()?) {
        return None;
    }
    // The version from its header, else the ETag; without either the body is still shown
    // (as version "", so the next announcement fetches again).
    let version = match xhr.get_response_header("x-status-version").ok()? {
        Some(v) => v,
        None => xhr
            .get_response_header("etag")
            .ok()
            .flatten()
            .map(|etag| {
                etag.strip_prefix("W/")
                    .unwrap_or(&etag)
                    .trim_matches('"')
                    .to_string()
            })
            .unwrap_or_default(),
    };
    Some((xhr.response_text().ok()??, version))
}

/// The request ended: shows what it got, and fetches again if the page is still behind.
fn fetched() {
    let Some(Pending {
        started,
        failures,
        catch_up,
    }) = PENDING.with(|p| p.borrow_mut().take())
    else {
        return;
    };
    let got = XHR.with(|x| x.borrow().as_ref().and_then(body_of));
    let Some((html, version)) = got else {
        VERSIONS.with(|v| v.borrow_mut().failing = true);
        set_line(Line::Lost);
        let delay = 1000u32.saturating_mul(1 << failures.min(5)).min(30_000);
        schedule_fetch(delay, failures + 1, catch_up);
        return;
    };
    let again = VERSIONS.with(|v| {
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
            None
        } else if v.announced > started {
            // Another version was announced while this fetch ran.
            Some((0, 0))
        } else if catch_up < CATCH_UP_TRIES {
            // The server that answered has not caught up with the announcement yet.
            Some((250 << catch_up, catch_up + 1))
        } else {
            // Versions have no order: the answer may well be newer than the announcement.
            // Its own announcement (or the next change) comes anyway.
            v.busy = false;
            None
        }
    });
    if let Some((delay, tries)) = again {
        schedule_fetch(delay, 0, tries);
    }
}

/// Brings the page to the newest announced version, after `delay_ms`. `failures` counts failed
/// fetches in a row, `catch_up` fetches that returned an older version than announced.
fn schedule_fetch(delay_ms: u32, failures: u32, catch_up: u32) {
    gloo_timers::callback::Timeout::new(delay_ms, move || {
        let started = VERSIONS.with(|v| v.borrow().announced);
        start_fetch(Pending {
            started,
            failures,
            catch_up,
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
    let mut url = events;
    url.push(sep);
    url.push_str("v=");
    url.push_str(&String::from(js_sys::encode_uri_component(&shown)));
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
