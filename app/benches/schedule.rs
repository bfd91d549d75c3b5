//! Benchmark of `domain::schedule::expand`: one year of a schedule with 3 layers (one limited to
//! business hours), 10 participants and 200 overrides.

use std::hint::black_box;

use app::domain::schedule::{
    expand, Layer, Override, Restriction, RosterChange, Rotation, Schedule, ShiftLength, Window,
};
use criterion::{criterion_group, criterion_main, Criterion};
use jiff::civil::{date, time, Weekday};
use jiff::{SignedDuration, Timestamp};

const ZONE: &str = "America/New_York";

fn people() -> Vec<String> {
    (0..10).map(|i| format!("user-{i}")).collect()
}

fn layer(id: &str, shift: ShiftLength, hour: i8, restrictions: Vec<Restriction>) -> Layer {
    Layer {
        id: id.to_string(),
        name: id.to_string(),
        rotation: Rotation {
            time_zone: ZONE.to_string(),
            // Monday 2025-12-29, so weekly hand-offs are on Mondays.
            start: date(2025, 12, 29).at(hour, 0, 0, 0),
            shift,
            rosters: vec![RosterChange {
                effective_from: Timestamp::MIN,
                participants: people(),
            }],
        },
        restrictions,
    }
}

fn schedule() -> Schedule {
    let business = Restriction {
        days: vec![
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ],
        start: time(9, 0, 0, 0),
        end: time(17, 0, 0, 0),
    };
    let layers = vec![
        layer("primary", ShiftLength::Weeks(1), 9, vec![]),
        layer("secondary", ShiftLength::Hours(12), 8, vec![]),
        layer("business", ShiftLength::Days(1), 9, vec![business]),
    ];
    // 200 overrides spread over the year (a fixed linear congruential sequence), half of them
    // standing in for one participant only.
    let users = people();
    let year_start = Timestamp::from_second(1_767_225_600).expect("2026-01-01T00:00:00Z");
    let mut seed: u64 = 0x5eed;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % m
    };
    let overrides = (0..200)
        .map(|i| {
            let start = year_start + SignedDuration::from_mins(next(365 * 24 * 60) as i64);
            let end = start + SignedDuration::from_mins(30 + next(48 * 60) as i64);
            let user = users[next(10) as usize].clone();
            let replaces = (i % 2 == 0)
                .then(|| users[next(10) as usize].clone())
                .filter(|r| r != &user);
            Override {
                id: format!("o{i}"),
                user,
                start,
                end,
                replaces,
            }
        })
        .collect();
    Schedule {
        time_zone: ZONE.to_string(),
        layers,
        overrides,
    }
}

fn bench_expand(c: &mut Criterion) {
    let s = schedule();
    let from = Timestamp::from_second(1_767_225_600).expect("2026-01-01T00:00:00Z");
    let to = from + SignedDuration::from_hours(365 * 24);
    let window = Window::new(from, to).expect("a one-year window");
    let shifts = expand(&s, &window);
    println!("one year expands to {} shifts", shifts.len());
    c.bench_function("expand 1 year, 3 layers, 10 people, 200 overrides", |b| {
        b.iter(|| expand(black_box(&s), black_box(&window)))
    });
}

criterion_group!(benches, bench_expand);
criterion_main!(benches);
