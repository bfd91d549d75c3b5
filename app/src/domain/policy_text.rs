//! Plain-language sentences about an escalation policy: what it would do if an alert came in now
//! (the editor's preview, the service page's one-line chain) and what to warn about. Pure: the
//! caller resolves who each target means now and the names to show.

use super::escalation::TargetKind;

/// A target as it stands now: its kind, its name, and the names of the people it means now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetNow {
    /// Person, schedule or team.
    pub kind: TargetKind,
    /// The person's, schedule's or team's name.
    pub name: String,
    /// Who it means now (names), in order.
    pub people: Vec<String>,
}

/// A step as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepNow {
    /// Its targets.
    pub targets: Vec<TargetNow>,
    /// Minutes before the next step.
    pub delay_min: i64,
    /// Pages one person in turn instead of all.
    pub round_robin: bool,
    /// For a round-robin step, whose turn it would be first.
    pub first: Option<String>,
}

impl StepNow {
    /// Whether the step would page nobody now.
    pub fn pages_nobody(&self) -> bool {
        self.targets.iter().all(|t| t.people.is_empty())
    }
}

/// A coverage gap ahead on a schedule a step pages, its times already written for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapAhead {
    /// 0-based step.
    pub step: usize,
    /// The schedule's name.
    pub schedule: String,
    /// Its first instant, e.g. `3 Dec 2026, 02:00 CET`.
    pub from: String,
    /// The first instant after it.
    pub to: String,
    /// Further gaps on the same schedule in the horizon.
    pub more: usize,
}

/// Most names listed for a team before "and N more".
const NAMES_SHOWN: usize = 5;

/// "A, B and C"; long lists end with "and N more".
pub fn names(list: &[String]) -> String {
    let shown: Vec<&str> = list.iter().take(NAMES_SHOWN).map(String::as_str).collect();
    let rest = list.len().saturating_sub(NAMES_SHOWN);
    match (shown.as_slice(), rest) {
        ([], _) => "nobody".to_string(),
        ([one], 0) => (*one).to_string(),
        (many, 0) => {
            let (last, head) = many.split_last().unwrap_or((&"", &[]));
            format!("{} and {last}", head.join(", "))
        }
        (many, n) => format!("{} and {n} more", many.join(", ")),
    }
}

/// What one target means now, for the editor: "Jonas Berg (on call on First line)",
/// "everyone in Volunteers (Aisha, Ben)", "Maya Kim", or a "nobody (...)" saying why.
pub fn target_phrase(t: &TargetNow) -> String {
    match (t.kind, t.people.is_empty()) {
        (TargetKind::User, false) => t.name.clone(),
        (TargetKind::User, true) => format!("nobody ({} cannot be paged)", t.name),
        (TargetKind::Schedule, false) => {
            format!("{} (on call on {})", names(&t.people), t.name)
        }
        (TargetKind::Schedule, true) => {
            format!("nobody (nobody is on call on {} now)", t.name)
        }
        (TargetKind::Team, false) => format!("everyone in {} ({})", t.name, names(&t.people)),
        (TargetKind::Team, true) => format!("nobody (team {} has no active members)", t.name),
    }
}

fn joined(parts: &[String]) -> String {
    match parts {
        [] => "nobody".to_string(),
        [one] => one.clone(),
        [head @ .., last] => format!("{} and {last}", head.join(", ")),
    }
}

fn step_phrase(s: &StepNow) -> String {
    let all: Vec<String> = s.targets.iter().map(target_phrase).collect();
    match (&s.first, s.round_robin) {
        (Some(first), true) => format!("one person in turn from {}, {first} first", joined(&all)),
        _ => joined(&all),
    }
}

/// The editor's preview: "If an alert came in now: step 1 pages Jonas Berg (on call on First
/// line); after 5 min, step 2 pages ...; after 5 more min, step 3 pages .... Then it repeats 2
/// more times; after that escalation stops and the incident stays open."
pub fn preview_text(steps: &[StepNow], repeats: i64) -> String {
    if steps.is_empty() {
        return "This policy has no steps: an alert would page nobody.".to_string();
    }
    let at = firing_minutes(steps);
    let mut parts = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let when = match i {
            0 => String::new(),
            _ if at[i] == at[i - 1] => "at once, ".to_string(),
            _ if at[i - 1] == 0 => format!("after {} min, ", at[i]),
            _ => format!("after {} more min, ", at[i] - at[i - 1]),
        };
        parts.push(format!("{when}step {n} pages {}", step_phrase(s)));
    }
    let last = steps.last().map(|s| s.delay_min).unwrap_or_default();
    let end = match repeats {
        r if r <= 0 => format!(
            "If nobody acknowledges within {last} min of the last step, escalation stops and the incident stays open."
        ),
        1 => format!(
            "Then, {last} min after the last step, it repeats once more; after that escalation stops and the incident stays open."
        ),
        r => format!(
            "Then, {last} min after the last step, it repeats {r} more times; after that escalation stops and the incident stays open."
        ),
    };
    format!("If an alert came in now: {}. {end}", parts.join("; "))
}

/// When each step would fire, in minutes from the alert: a step that pages nobody takes no time
/// (the engine goes on to the next step at once), the others wait their delay.
fn firing_minutes(steps: &[StepNow]) -> Vec<i64> {
    let mut at = 0;
    steps
        .iter()
        .map(|s| {
            let now = at;
            if !s.pages_nobody() {
                at += s.delay_min;
            }
            now
        })
        .collect()
}

/// Who a step pages, said shortly for the service page: people's names, "team X (A, B)".
fn short_phrase(s: &StepNow) -> String {
    let mut parts: Vec<String> = Vec::new();
    for t in &s.targets {
        let p = match t.kind {
            TargetKind::Team if !t.people.is_empty() => {
                format!("team {} ({})", t.name, names(&t.people))
            }
            _ if !t.people.is_empty() => names(&t.people),
            _ => continue,
        };
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    if parts.is_empty() {
        return "nobody".to_string();
    }
    match (&s.first, s.round_robin) {
        (Some(first), true) => format!("{first} (in turn)"),
        _ => joined(&parts),
    }
}

/// The service page's one sentence: "If this alerts now: Jonas Berg is paged, then Maya after 5
/// min, then team Volunteers (Aisha, Ben) after 10 min." Minutes count from the alert.
pub fn chain_sentence(steps: &[StepNow]) -> String {
    if steps.is_empty() {
        return NO_POLICY.to_string();
    }
    let at = firing_minutes(steps);
    let mut out = String::from("If this alerts now: ");
    let mut first = true;
    // Steps that page nobody now are left out (the warnings name them): the engine skips them.
    for (i, s) in steps.iter().enumerate().filter(|(_, s)| !s.pages_nobody()) {
        let who = short_phrase(s);
        if first {
            let verb = if who.contains(" and ") { "are" } else { "is" };
            out.push_str(&format!("{who} {verb} paged"));
            if at[i] > 0 {
                out.push_str(&format!(" after {} min", at[i]));
            }
            first = false;
        } else {
            out.push_str(&format!(", then {who} after {} min", at[i]));
        }
    }
    if first {
        return "If this alerts now: nobody would be paged (none of its steps has anyone now)."
            .to_string();
    }
    out.push('.');
    out
}

/// What the service page says when a service has no policy.
pub const NO_POLICY: &str = "No escalation policy: alerts open incidents but nobody is paged.";

/// What to warn about: targets that mean nobody now, coverage gaps ahead on its schedules, and a
/// policy that would page nobody at all.
pub fn warnings(steps: &[StepNow], gaps: &[GapAhead]) -> Vec<String> {
    let mut out = Vec::new();
    if !steps.is_empty() && steps.iter().all(StepNow::pages_nobody) {
        out.push("Nobody is on this policy right now: an alert would page no one.".to_string());
    }
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        for t in s.targets.iter().filter(|t| t.people.is_empty()) {
            out.push(match t.kind {
                TargetKind::User => format!(
                    "Step {n}: {} cannot be paged (deactivated, or a viewer).",
                    t.name
                ),
                TargetKind::Schedule => format!("Step {n}: nobody is on call on {} now.", t.name),
                TargetKind::Team => format!("Step {n}: team {} has no active members.", t.name),
            });
        }
    }
    for g in gaps {
        let more = match g.more {
            0 => String::new(),
            1 => " (and 1 more gap in the next 4 weeks)".to_string(),
            m => format!(" (and {m} more gaps in the next 4 weeks)"),
        };
        out.push(format!(
            "Step {}: {} has nobody on call from {} to {}{more}.",
            g.step + 1,
            g.schedule,
            g.from,
            g.to
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: TargetKind, name: &str, people: &[&str]) -> TargetNow {
        TargetNow {
            kind,
            name: name.into(),
            people: people.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn step(targets: Vec<TargetNow>, delay_min: i64) -> StepNow {
        StepNow {
            targets,
            delay_min,
            round_robin: false,
            first: None,
        }
    }

    fn demo() -> Vec<StepNow> {
        vec![
            step(
                vec![t(TargetKind::Schedule, "First line", &["Jonas Berg"])],
                5,
            ),
            step(
                vec![t(TargetKind::Schedule, "Volunteer secondary", &["Maya"])],
                5,
            ),
            step(
                vec![t(TargetKind::Team, "Volunteers", &["Aisha", "Ben", "Leah"])],
                5,
            ),
        ]
    }

    #[test]
    fn names_lists_and_cuts_long_lists() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&l(&[])), "nobody");
        assert_eq!(names(&l(&["A"])), "A");
        assert_eq!(names(&l(&["A", "B", "C"])), "A, B and C");
        assert_eq!(
            names(&l(&["A", "B", "C", "D", "E", "F", "G"])),
            "A, B, C, D, E and 2 more"
        );
    }

    #[test]
    fn preview_reads_as_the_chain_with_repeats() {
        assert_eq!(
            preview_text(&demo(), 2),
            "If an alert came in now: step 1 pages Jonas Berg (on call on First line); \
             after 5 min, step 2 pages Maya (on call on Volunteer secondary); \
             after 5 more min, step 3 pages everyone in Volunteers (Aisha, Ben and Leah). \
             Then, 5 min after the last step, it repeats 2 more times; after that escalation \
             stops and the incident stays open."
        );
        assert!(preview_text(&demo(), 1).contains("repeats once more"));
        assert!(preview_text(&demo(), 0).contains("escalation stops"));
        assert!(!preview_text(&demo(), 0).contains("repeats"));
    }

    #[test]
    fn a_step_that_pages_nobody_takes_no_time() {
        let jonas = TargetNow {
            kind: TargetKind::User,
            name: "Jonas".into(),
            people: vec!["Jonas".into()],
        };
        let gap = TargetNow {
            kind: TargetKind::Schedule,
            name: "Secondary".into(),
            people: vec![],
        };
        let maya = TargetNow {
            kind: TargetKind::User,
            name: "Maya".into(),
            people: vec!["Maya".into()],
        };
        let steps = vec![
            step(vec![jonas], 5),
            step(vec![gap], 5),
            step(vec![maya], 5),
        ];
        let text = preview_text(&steps, 0);
        assert!(text.contains("after 5 min, step 2 pages nobody"), "{text}");
        assert!(text.contains("at once, step 3 pages Maya"), "{text}");
        assert_eq!(
            chain_sentence(&steps),
            "If this alerts now: Jonas is paged, then Maya after 5 min."
        );
        let empty = vec![step(
            vec![TargetNow {
                kind: TargetKind::Schedule,
                name: "S".into(),
                people: vec![],
            }],
            5,
        )];
        assert!(chain_sentence(&empty).contains("nobody would be paged"));
    }

    #[test]
    fn preview_delays_are_those_of_the_previous_step() {
        let mut s = demo();
        s[0].delay_min = 3;
        s[1].delay_min = 7;
        let text = preview_text(&s, 0);
        assert!(text.contains("after 3 min, step 2"), "{text}");
        assert!(text.contains("after 7 more min, step 3"), "{text}");
    }

    #[test]
    fn round_robin_says_whose_turn_it_is() {
        let mut s = vec![step(
            vec![t(TargetKind::Team, "Volunteers", &["Aisha", "Ben"])],
            5,
        )];
        s[0].round_robin = true;
        s[0].first = Some("Aisha".into());
        assert!(preview_text(&s, 0).contains(
            "one person in turn from everyone in Volunteers (Aisha and Ben), Aisha first"
        ));
        assert_eq!(
            chain_sentence(&s),
            "If this alerts now: Aisha (in turn) is paged."
        );
    }

    #[test]
    fn chain_counts_minutes_from_the_alert() {
        assert_eq!(
            chain_sentence(&demo()),
            "If this alerts now: Jonas Berg is paged, then Maya after 5 min, then team \
             Volunteers (Aisha, Ben and Leah) after 10 min."
        );
        assert_eq!(chain_sentence(&[]), NO_POLICY);
        let two = vec![step(
            vec![
                t(TargetKind::User, "A", &["A"]),
                t(TargetKind::User, "B", &["B"]),
            ],
            5,
        )];
        assert_eq!(
            chain_sentence(&two),
            "If this alerts now: A and B are paged."
        );
    }

    #[test]
    fn nobody_is_said_plainly() {
        let s = vec![step(vec![t(TargetKind::Schedule, "Night", &[])], 5)];
        assert_eq!(
            chain_sentence(&s),
            "If this alerts now: nobody would be paged (none of its steps has anyone now)."
        );
        assert!(
            preview_text(&s, 0).contains("step 1 pages nobody (nobody is on call on Night now)")
        );
        let w = warnings(&s, &[]);
        assert_eq!(
            w,
            vec![
                "Nobody is on this policy right now: an alert would page no one.".to_string(),
                "Step 1: nobody is on call on Night now.".to_string(),
            ]
        );
    }

    #[test]
    fn warnings_name_empty_targets_and_gaps() {
        let mut s = demo();
        s[2].targets.push(t(TargetKind::Team, "Empty", &[]));
        s[1].targets.push(t(TargetKind::User, "Gone", &[]));
        let gaps = [GapAhead {
            step: 0,
            schedule: "First line".into(),
            from: "3 Dec 2026, 02:00 CET".into(),
            to: "3 Dec 2026, 09:00 CET".into(),
            more: 2,
        }];
        assert_eq!(
            warnings(&s, &gaps),
            vec![
                "Step 2: Gone cannot be paged (deactivated, or a viewer).".to_string(),
                "Step 3: team Empty has no active members.".to_string(),
                "Step 1: First line has nobody on call from 3 Dec 2026, 02:00 CET to 3 Dec 2026, 09:00 CET (and 2 more gaps in the next 4 weeks).".to_string(),
            ]
        );
        assert!(warnings(&demo(), &[]).is_empty());
    }
}
