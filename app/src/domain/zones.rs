//! Choosing a time zone: the order a form offers the IANA names in (the person's own zone
//! first), and the plain sentence, with a suggestion, for a name that is not a zone.

/// Whether `name` is offered in the list: region names like `Europe/Berlin` and `UTC`, not the
/// legacy aliases (`EST5EDT`, `Etc/GMT+5`, `posix/...`) that only confuse a chooser.
fn offered(name: &str) -> bool {
    if name == "UTC" {
        return true;
    }
    let Some((region, _)) = name.split_once('/') else {
        return false;
    };
    !matches!(
        region,
        "Etc" | "posix" | "right" | "SystemV" | "US" | "Brazil" | "Canada" | "Chile" | "Mexico"
    )
}

/// The zones a form offers, in order: `own` first (when it is a name in `available`), then `UTC`,
/// then the others alphabetically, each once.
pub fn ordered(own: &str, available: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all: Vec<String> = available.into_iter().filter(|n| offered(n)).collect();
    all.sort();
    all.dedup();
    let mut out = Vec::with_capacity(all.len());
    if all.iter().any(|n| n == own) {
        out.push(own.to_string());
    }
    if own != "UTC" && all.iter().any(|n| n == "UTC") {
        out.push("UTC".to_string());
    }
    out.extend(all.into_iter().filter(|n| n != own && n != "UTC"));
    out
}

/// The zone a mistyped `input` most likely means: the only offered zone whose city part (after
/// the last `/`) equals it, ignoring case and with spaces read as `_` ("new york" ->
/// `America/New_York`); `None` when there is none or several.
pub fn suggest(input: &str, available: impl IntoIterator<Item = String>) -> Option<String> {
    let wanted = input.trim().replace(' ', "_").to_lowercase();
    if wanted.is_empty() {
        return None;
    }
    let mut hits = available.into_iter().filter(|n| {
        offered(n)
            && (n.to_lowercase() == wanted
                || n.rsplit('/')
                    .next()
                    .is_some_and(|c| c.to_lowercase() == wanted))
    });
    let first = hits.next()?;
    hits.next().is_none().then_some(first)
}

/// The sentence shown next to a time zone field whose `input` is not a zone.
pub fn unknown_zone_sentence(input: &str, suggestion: Option<&str>) -> String {
    let input = input.trim();
    if input.is_empty() {
        return "Choose a time zone from the list.".to_string();
    }
    let shown: String = input.chars().take(64).collect();
    match suggestion {
        Some(s) => format!("“{shown}” is not a time zone name. Did you mean {s}? Choose it from the list."),
        None => format!(
            "“{shown}” is not a time zone name. Choose one from the list, e.g. Europe/Berlin or America/New_York."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn own_zone_first_then_utc_then_alphabetical() {
        let db = names(&[
            "Europe/Zurich",
            "America/New_York",
            "UTC",
            "EST5EDT",
            "Etc/GMT+5",
            "Europe/Berlin",
            "Europe/Berlin",
            "US/Eastern",
        ]);
        let cases: [(&str, &[&str]); 4] = [
            (
                "America/New_York",
                &["America/New_York", "UTC", "Europe/Berlin", "Europe/Zurich"],
            ),
            (
                "UTC",
                &["UTC", "America/New_York", "Europe/Berlin", "Europe/Zurich"],
            ),
            // An own zone that is not offered is not invented.
            (
                "Berlin",
                &["UTC", "America/New_York", "Europe/Berlin", "Europe/Zurich"],
            ),
            (
                "",
                &["UTC", "America/New_York", "Europe/Berlin", "Europe/Zurich"],
            ),
        ];
        for (own, want) in cases {
            assert_eq!(ordered(own, db.clone()), names(want), "{own}");
        }
    }

    #[test]
    fn suggestions_for_city_names() {
        let db = names(&[
            "Europe/Berlin",
            "America/New_York",
            "America/Argentina/Buenos_Aires",
            "UTC",
            "Asia/Kolkata",
        ]);
        let cases = [
            ("Berlin", Some("Europe/Berlin")),
            ("berlin ", Some("Europe/Berlin")),
            ("new york", Some("America/New_York")),
            ("Buenos Aires", Some("America/Argentina/Buenos_Aires")),
            ("utc", Some("UTC")),
            ("Mars", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(suggest(input, db.clone()).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn sentences_name_no_field_and_are_bounded() {
        assert_eq!(
            unknown_zone_sentence("Berlin", Some("Europe/Berlin")),
            "“Berlin” is not a time zone name. Did you mean Europe/Berlin? Choose it from the list."
        );
        assert_eq!(
            unknown_zone_sentence("  ", None),
            "Choose a time zone from the list."
        );
        let long = unknown_zone_sentence(&"x".repeat(5000), None);
        assert!(long.len() < 200, "{long}");
        assert!(!long.contains("time_zone"));
    }
}
