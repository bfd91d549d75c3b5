//! Formatting of times for people.

use jiff::{tz::TimeZone, Timestamp};

/// Formats Unix milliseconds in a named zone, e.g. `24 Nov 2026, 09:05 CET`.
/// An unknown zone falls back to UTC; 0 (never) gives "never".
pub fn display_time(ms: i64, zone: &str) -> String {
    if ms == 0 {
        return "never".to_string();
    }
    let Ok(ts) = Timestamp::from_millisecond(ms) else {
        return "never".to_string();
    };
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    ts.to_zoned(tz).strftime("%-d %b %Y, %H:%M %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_zone() {
        // 2026-11-24T08:05:00Z
        let ms = 1_795_507_500_000;
        assert_eq!(display_time(ms, "UTC"), "24 Nov 2026, 08:05 UTC");
        assert_eq!(display_time(ms, "Europe/Berlin"), "24 Nov 2026, 09:05 CET");
        assert_eq!(display_time(ms, "Nowhere/Else"), "24 Nov 2026, 08:05 UTC");
        assert_eq!(display_time(0, "UTC"), "never");
    }
}
