//! Shifts as a person sees them: back-to-back pieces of the same schedule (a layer's shift, then
//! an override, then the layer again) are one stretch on call, shown as one card.

/// A time on call: what it belongs to (`key`, e.g. the schedule), `[start, end)` in Unix ms, and
/// whether any of its pieces covers someone else (an override).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch<K> {
    /// What the piece belongs to; only pieces with equal keys merge.
    pub key: K,
    /// Start, Unix ms.
    pub start: i64,
    /// End, Unix ms (after `start`).
    pub end: i64,
    /// Some piece of it was an override.
    pub covering: bool,
}

/// Merges pieces that touch or overlap and share a key, in any input order; the result is
/// sorted by start (then by key order of first appearance), no two results of one key touch.
/// Empty or reversed pieces are dropped.
pub fn merge<K: Clone + Ord>(pieces: &[Stretch<K>]) -> Vec<Stretch<K>> {
    let mut sorted: Vec<&Stretch<K>> = pieces.iter().filter(|p| p.end > p.start).collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key).then(a.start.cmp(&b.start)));
    let mut out: Vec<Stretch<K>> = Vec::new();
    for p in sorted {
        match out.last_mut() {
            Some(last) if last.key == p.key && p.start <= last.end => {
                last.end = last.end.max(p.end);
                last.covering |= p.covering;
            }
            _ => out.push(p.clone()),
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.key.cmp(&b.key)));
    out
}

/// The parts of `[start, end)` that none of `taken` (`[start, end)` each, any order, may
/// overlap or reach outside) covers, in order: what is left of a stretch to ask about when
/// requests already cover some of it.
pub fn uncovered(start: i64, end: i64, taken: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut taken: Vec<(i64, i64)> = taken.iter().copied().filter(|(a, b)| b > a).collect();
    taken.sort_unstable();
    let mut out = Vec::new();
    let mut from = start;
    for (a, b) in taken {
        if a > from && from < end {
            out.push((from, a.min(end)));
        }
        from = from.max(b);
    }
    if from < end {
        out.push((from, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (what, the stretch, taken, left).
    type Uncovered = (
        &'static str,
        (i64, i64),
        &'static [(i64, i64)],
        &'static [(i64, i64)],
    );

    #[test]
    fn uncovered_parts() {
        let cases: &[Uncovered] = &[
            ("nothing taken", (10, 20), &[], &[(10, 20)]),
            ("all taken", (10, 20), &[(10, 20)], &[]),
            ("taken beyond both ends", (10, 20), &[(0, 30)], &[]),
            ("the end taken", (10, 20), &[(15, 20)], &[(10, 15)]),
            ("the start taken", (10, 20), &[(5, 12)], &[(12, 20)]),
            (
                "the middle taken",
                (10, 20),
                &[(12, 14)],
                &[(10, 12), (14, 20)],
            ),
            (
                "two, unordered, overlapping",
                (10, 20),
                &[(16, 18), (11, 13), (12, 14)],
                &[(10, 11), (14, 16), (18, 20)],
            ),
            ("outside", (10, 20), &[(0, 5), (25, 30)], &[(10, 20)]),
            (
                "empty and reversed ignored",
                (10, 20),
                &[(12, 12), (15, 13)],
                &[(10, 20)],
            ),
        ];
        for (what, (start, end), taken, want) in cases {
            assert_eq!(uncovered(*start, *end, taken), want.to_vec(), "{what}");
        }
    }

    fn s(key: &str, start: i64, end: i64, covering: bool) -> Stretch<String> {
        Stretch {
            key: key.into(),
            start,
            end,
            covering,
        }
    }

    /// (what, input, merged).
    type Case = (&'static str, Vec<Stretch<String>>, Vec<Stretch<String>>);

    #[test]
    fn table() {
        let h = 3_600_000;
        let cases: Vec<Case> = vec![
            ("empty", vec![], vec![]),
            (
                "10-15 then 15-23 is one stretch",
                vec![s("a", 10 * h, 15 * h, false), s("a", 15 * h, 23 * h, true)],
                vec![s("a", 10 * h, 23 * h, true)],
            ),
            (
                "a gap keeps two",
                vec![s("a", 0, h, false), s("a", 2 * h, 3 * h, false)],
                vec![s("a", 0, h, false), s("a", 2 * h, 3 * h, false)],
            ),
            (
                "other schedules never merge, order by start",
                vec![
                    s("b", 0, h, false),
                    s("a", h, 2 * h, false),
                    s("b", h, 2 * h, false),
                ],
                vec![s("b", 0, 2 * h, false), s("a", h, 2 * h, false)],
            ),
            (
                "unsorted and overlapping",
                vec![
                    s("a", 5, 9, false),
                    s("a", 0, 6, false),
                    s("a", 9, 10, false),
                ],
                vec![s("a", 0, 10, false)],
            ),
            ("empty piece dropped", vec![s("a", 5, 5, false)], vec![]),
        ];
        for (name, input, want) in cases {
            assert_eq!(merge(&input), want, "{name}");
        }
    }

    fn covered(pieces: &[Stretch<String>], key: &str, t: i64) -> bool {
        pieces
            .iter()
            .any(|p| p.key == key && p.start <= t && t < p.end)
    }

    proptest! {
        /// The parts left are inside the stretch, in order, apart, and are exactly the
        /// instants (sampled) no taken range covers.
        #[test]
        fn uncovered_is_exactly_what_nothing_takes(
            start in 0i64..50,
            len in 1i64..50,
            raw in proptest::collection::vec((0i64..120, 0i64..30), 0..8),
        ) {
            let end = start + len;
            let taken: Vec<(i64, i64)> = raw.iter().map(|(a, l)| (*a, a + l)).collect();
            let left = uncovered(start, end, &taken);
            for w in left.windows(2) {
                prop_assert!(w[0].1 < w[1].0);
            }
            for t in start..end {
                let free = !taken.iter().any(|(a, b)| *a <= t && t < *b);
                let listed = left.iter().any(|(a, b)| *a <= t && t < *b);
                prop_assert_eq!(free, listed, "instant {}", t);
            }
            for (a, b) in &left {
                prop_assert!(start <= *a && a < b && *b <= end);
            }
        }

        #[test]
        fn merge_keeps_the_covered_time_and_leaves_no_touching_pair(
            raw in proptest::collection::vec((0u8..3, 0i64..100, 1i64..20, any::<bool>()), 0..30),
            probes in proptest::collection::vec(0i64..130, 0..40),
        ) {
            let input: Vec<Stretch<String>> = raw
                .iter()
                .map(|(k, a, len, c)| s(&k.to_string(), *a, a + len, *c))
                .collect();
            let out = merge(&input);
            for w in out.windows(2) {
                prop_assert!(w[0].start <= w[1].start);
            }
            for (i, a) in out.iter().enumerate() {
                prop_assert!(a.start < a.end);
                for b in &out[i + 1..] {
                    if a.key == b.key {
                        prop_assert!(a.end < b.start || b.end < a.start, "{a:?} {b:?}");
                    }
                }
                let any_cover = input.iter().any(|p| p.key == a.key && p.covering && p.start < a.end && p.end > a.start);
                prop_assert_eq!(a.covering, any_cover);
            }
            for key in ["0", "1", "2"] {
                for t in &probes {
                    prop_assert_eq!(covered(&input, key, *t), covered(&out, key, *t));
                }
            }
            prop_assert!(out.len() <= input.len());
        }
    }
}
