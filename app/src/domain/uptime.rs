//! Uptime from per-day aggregates: how a status interval is split over UTC days, how a day's
//! cell is coloured, and the uptime percentage (major outage counts fully, partial outage 30 %,
//! degraded performance and maintenance not at all, the weighting hosted status pages use).

use serde::{Deserialize, Serialize};

use super::status::ComponentStatus;

/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 86_400_000;
/// Days shown on the bar.
pub const BAR_DAYS: i64 = 90;

/// Severity rank used for "worst status of the day".
pub fn rank(s: ComponentStatus) -> u8 {
    match s {
        ComponentStatus::Operational => 0,
        ComponentStatus::UnderMaintenance => 1,
        ComponentStatus::DegradedPerformance => 2,
        ComponentStatus::PartialOutage => 3,
        ComponentStatus::MajorOutage => 4,
    }
}

/// The status of a rank (inverse of [`rank`]).
pub fn from_rank(r: u8) -> ComponentStatus {
    match r {
        0 => ComponentStatus::Operational,
        1 => ComponentStatus::UnderMaintenance,
        2 => ComponentStatus::DegradedPerformance,
        3 => ComponentStatus::PartialOutage,
        _ => ComponentStatus::MajorOutage,
    }
}

/// Day number (days since 1970-01-01, UTC) of a Unix-ms time.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` of a day number.
pub fn day_label(day: i64) -> String {
    jiff::Timestamp::from_second(day * 86_400)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Day number of a `YYYY-MM-DD` label.
pub fn day_from_label(label: &str) -> Option<i64> {
    let d: jiff::civil::Date = label.parse().ok()?;
    let ts = d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(day_of(ts.as_millisecond()))
}

/// Splits `[start, end)` into the pieces that fall on each UTC day: `(day, milliseconds)`.
pub fn split_by_day(start: i64, end: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut t = start;
    while t < end {
        let day = day_of(t);
        let next = ((day + 1) * DAY_MS).min(end);
        out.push((day, next - t));
        t = next;
    }
    out
}

/// What one day of one component adds up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DayAggregate {
    /// Worst status rank seen that day.
    pub worst_rank: u8,
    /// Time in degraded performance.
    pub degraded_ms: i64,
    /// Time in partial outage.
    pub partial_ms: i64,
    /// Time in major outage.
    pub major_ms: i64,
    /// Time under maintenance.
    pub maintenance_ms: i64,
}

impl DayAggregate {
    /// Adds `ms` spent in `status`, and counts the status towards the worst of the day.
    pub fn add(&mut self, status: ComponentStatus, ms: i64) {
        match status {
            ComponentStatus::Operational => {}
            ComponentStatus::DegradedPerformance => self.degraded_ms += ms,
            ComponentStatus::PartialOutage => self.partial_ms += ms,
            ComponentStatus::MajorOutage => self.major_ms += ms,
            ComponentStatus::UnderMaintenance => self.maintenance_ms += ms,
        }
        self.worst_rank = self.worst_rank.max(rank(status));
    }

    /// Weighted downtime of the day.
    pub fn downtime_ms(&self) -> f64 {
        self.major_ms as f64 + 0.3 * self.partial_ms as f64
    }
}

/// The aggregate changes one status interval makes: `[start, end)` in `status`, plus the day
/// on which the interval ends (when the next status begins), which counts toward that day's worst.
pub fn interval_days(status: ComponentStatus, start: i64, end: i64) -> Vec<(i64, DayAggregate)> {
    split_by_day(start, end)
        .into_iter()
        .map(|(day, ms)| {
            let mut a = DayAggregate::default();
            a.add(status, ms);
            (day, a)
        })
        .collect()
}

/// One cell of the bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCell {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Worst status that day; `None` before the component existed.
    pub worst: Option<ComponentStatus>,
    /// Weighted downtime in minutes, rounded.
    pub down_minutes: i64,
    /// Titles of incidents that touched this component that day.
    pub incidents: Vec<String>,
}

/// A component's uptime bar and percentage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UptimeBar {
    /// Oldest first, [`BAR_DAYS`] cells ending today.
    pub cells: Vec<DayCell>,
    /// Uptime over the days the component existed, in percent.
    pub percent: f64,
    /// The same over the last [`PHONE_DAYS`] days only (what phones show).
    pub percent_30: f64,
}

/// Days of the bar that phones show.
pub const PHONE_DAYS: i64 = 30;

/// Builds the bar ending on day `today` from aggregates by day number. Days before `created_day`
/// have no data and do not count. `incidents` lists `(day, title)` pairs.
pub fn build_bar(
    aggregates: &[(i64, DayAggregate)],
    today: i64,
    created_day: i64,
    now_ms: i64,
    incidents: &[(i64, String)],
) -> UptimeBar {
    let first = today - BAR_DAYS + 1;
    let mut cells = Vec::with_capacity(BAR_DAYS as usize);
    let mut down = 0.0;
    let mut total = 0i64;
    let (mut down_30, mut total_30) = (0.0, 0i64);
    for day in first..=today {
        let agg = aggregates.iter().filter(|(d, _)| *d == day).fold(
            DayAggregate::default(),
            |mut acc, (_, a)| {
                acc.worst_rank = acc.worst_rank.max(a.worst_rank);
                acc.degraded_ms += a.degraded_ms;
                acc.partial_ms += a.partial_ms;
                acc.major_ms += a.major_ms;
                acc.maintenance_ms += a.maintenance_ms;
                acc
            },
        );
        let exists = day >= created_day;
        if exists {
            let length = if day == today {
                now_ms - day * DAY_MS
            } else {
                DAY_MS
            };
            down += agg.downtime_ms();
            total += length;
            if day > today - PHONE_DAYS {
                down_30 += agg.downtime_ms();
                total_30 += length;
            }
        }
        cells.push(DayCell {
            date: day_label(day),
            worst: exists.then(|| from_rank(agg.worst_rank)),
            down_minutes: (agg.downtime_ms() / 60_000.0).round() as i64,
            incidents: incidents
                .iter()
                .filter(|(d, _)| *d == day)
                .map(|(_, t)| t.clone())
                .collect(),
        });
    }
    let share = |down: f64, total: i64| {
        if total <= 0 {
            100.0
        } else {
            (100.0 * (1.0 - down / total as f64)).clamp(0.0, 100.0)
        }
    };
    UptimeBar {
        cells,
        percent: share(down, total),
        percent_30: share(down_30, total_30),
    }
}

/// The percentage as shown: two decimals, never rounded up to 100 when there was downtime.
pub fn format_percent(p: f64) -> String {
    let floored = (p * 100.0).floor() / 100.0;
    format!("{floored:.2}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ComponentStatus::*;

    #[test]
    fn phone_percentage_covers_only_the_last_30_days() {
        // A whole day of major outage 60 days ago, nothing since.
        let today = 20_000;
        let mut agg = DayAggregate::default();
        agg.add(MajorOutage, DAY_MS);
        let bar = build_bar(
            &[(today - 60, agg)],
            today,
            0,
            today * DAY_MS + DAY_MS / 2,
            &[],
        );
        assert!(bar.percent < 99.0, "{}", bar.percent);
        assert_eq!(bar.percent_30, 100.0);
    }

    #[test]
    fn split_table() {
        let d = DAY_MS;
        type Case<'a> = (i64, i64, &'a [(i64, i64)]);
        let cases: &[Case] = &[
            (0, 0, &[]),
            (10, 20, &[(0, 10)]),
            (d - 5, d + 5, &[(0, 5), (1, 5)]),
            (d, 2 * d, &[(1, d)]),
            (d / 2, 2 * d + 1, &[(0, d / 2), (1, d), (2, 1)]),
            // Before 1970 still splits on UTC midnights.
            (-5, 5, &[(-1, 5), (0, 5)]),
        ];
        for (s, e, want) in cases {
            assert_eq!(split_by_day(*s, *e), want.to_vec(), "[{s}, {e})");
        }
    }

    #[test]
    fn labels_round_trip() {
        assert_eq!(day_label(0), "1970-01-01");
        let today = day_of(1_795_507_500_000);
        assert_eq!(day_label(today), "2026-11-24");
        assert_eq!(day_from_label("2026-11-24"), Some(today));
        assert_eq!(day_from_label("nope"), None);
    }

    #[test]
    fn bar_weights_partial_outage_and_ignores_days_before_creation() {
        let today = 20_000;
        let now = today * DAY_MS + DAY_MS / 2; // noon
        let mut major = DayAggregate::default();
        major.add(MajorOutage, 3_600_000);
        let mut partial = DayAggregate::default();
        partial.add(PartialOutage, 6_000_000);
        let mut maint = DayAggregate::default();
        maint.add(UnderMaintenance, 7_200_000);
        let aggs = vec![(today - 1, major), (today - 2, partial), (today - 3, maint)];
        let bar = build_bar(
            &aggs,
            today,
            today - 9,
            now,
            &[(today - 1, "API down".into())],
        );
        assert_eq!(bar.cells.len(), 90);
        assert_eq!(bar.cells[89].date, day_label(today));
        assert_eq!(bar.cells[88].worst, Some(MajorOutage));
        assert_eq!(bar.cells[88].incidents, vec!["API down".to_string()]);
        assert_eq!(bar.cells[88].down_minutes, 60);
        assert_eq!(bar.cells[87].worst, Some(PartialOutage));
        assert_eq!(bar.cells[87].down_minutes, 30);
        assert_eq!(bar.cells[86].worst, Some(UnderMaintenance));
        assert_eq!(bar.cells[86].down_minutes, 0);
        assert_eq!(bar.cells[79].worst, None, "before creation");
        assert_eq!(bar.cells[80].worst, Some(Operational));
        // 9 full days + half a day = 9.5 days; down 1 h + 0.3 * 100 min = 90 min.
        let want = 100.0 * (1.0 - 5_400_000.0 / (9.5 * DAY_MS as f64));
        assert!((bar.percent - want).abs() < 1e-9, "{}", bar.percent);
        assert_eq!(format_percent(bar.percent), "99.34%");
    }

    #[test]
    fn percent_never_rounds_up_to_100() {
        assert_eq!(format_percent(99.999), "99.99%");
        assert_eq!(format_percent(100.0), "100.00%");
    }

    proptest! {
        /// The pieces of any interval cover it exactly, each within one day.
        #[test]
        fn split_covers_interval(start in -10 * DAY_MS..10 * DAY_MS, len in 0..5 * DAY_MS) {
            let pieces = split_by_day(start, start + len);
            prop_assert_eq!(pieces.iter().map(|(_, ms)| ms).sum::<i64>(), len);
            for w in pieces.windows(2) {
                prop_assert_eq!(w[1].0, w[0].0 + 1);
            }
            for (_, ms) in &pieces {
                prop_assert!(*ms > 0 && *ms <= DAY_MS);
            }
        }
    }
}
