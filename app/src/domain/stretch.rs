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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
