//! Live countdown to the next hand-off ("in 2 d 3 h 10 min"), ticking every second with gloo-timers.
//! The server renders it with its own clock; the browser takes over with the device clock.

use leptos::prelude::*;

/// Formats the time left until `until_ms` as seen at `now_ms`.
pub fn countdown_text(until_ms: i64, now_ms: i64) -> String {
    let secs = (until_ms - now_ms).max(0) / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if secs == 0 {
        "now".to_string()
    } else if d > 0 {
        format!("in {d} d {h} h {m} min")
    } else if h > 0 {
        format!("in {h} h {m} min")
    } else if m > 0 {
        format!("in {m} min {s} s")
    } else {
        format!("in {s} s")
    }
}

/// The countdown text, live.
#[island]
pub fn HandoffCountdown(until_ms: i64, now_ms: i64) -> impl IntoView {
    let (now, set_now) = signal(now_ms);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        set_now.set(js_sys_now());
        gloo_timers::callback::Interval::new(1000, move || set_now.set(js_sys_now())).forget();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_now;
    view! { <span class="countdown">{move || countdown_text(until_ms, now.get())}</span> }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> i64 {
    web_sys::window()
        .and_then(|w| w.performance().map(|p| p.time_origin() + p.now()))
        .unwrap_or(0.0) as i64
}

#[cfg(test)]
mod tests {
    use super::countdown_text;

    #[test]
    fn countdown_table() {
        let cases = [
            (0, "now"),
            (-5_000, "now"),
            (42_000, "in 42 s"),
            (125_000, "in 2 min 5 s"),
            (3 * 3_600_000 + 10 * 60_000, "in 3 h 10 min"),
            (2 * 86_400_000 + 3 * 3_600_000 + 60_000, "in 2 d 3 h 1 min"),
        ];
        for (left, want) in cases {
            assert_eq!(
                countdown_text(1_000_000_000 + left, 1_000_000_000),
                want,
                "{left}"
            );
        }
    }
}
