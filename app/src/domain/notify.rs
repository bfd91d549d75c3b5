//! Reaching a person: the kinds of contact method, personal notification rules ("high
//! urgency: push at once, SMS after 2 min, email after 5"), the defaults for someone who set
//! none, the per-method rate limit that turns an alert storm into a few bundled messages, and
//! the words those messages say. Pure: the engine hands in what is stored and the time.

use serde::{Deserialize, Serialize};

use super::escalation::Urgency;
use super::ValidationError;

/// How a contact method reaches its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// Mail through the configured SMTP server.
    Email,
    /// Web Push to a browser or installed web app (one device).
    Push,
    /// A text message through the SMS provider.
    Sms,
    /// A chat incoming webhook (Slack, Mattermost, Discord, Zulip).
    Chat,
    /// A signed JSON POST to the person's own URL.
    Webhook,
}

impl MethodKind {
    /// Every kind, in the order a profile lists them.
    pub const ALL: [MethodKind; 5] = [
        MethodKind::Push,
        MethodKind::Sms,
        MethodKind::Email,
        MethodKind::Chat,
        MethodKind::Webhook,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Email => "email",
            MethodKind::Push => "push",
            MethodKind::Sms => "sms",
            MethodKind::Chat => "chat",
            MethodKind::Webhook => "webhook",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<MethodKind> {
        MethodKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What a person calls it ("push", "SMS").
    pub fn label(self) -> &'static str {
        match self {
            MethodKind::Email => "email",
            MethodKind::Push => "push",
            MethodKind::Sms => "SMS",
            MethodKind::Chat => "chat",
            MethodKind::Webhook => "webhook",
        }
    }
}

/// A contact method as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: MethodKind,
    /// A message reached it and its person said so (the code came back).
    pub verified: bool,
    /// It stopped working (a push subscription gone); never used until added again.
    pub disabled: bool,
}

impl Method {
    /// Whether messages may go to it.
    pub fn usable(&self) -> bool {
        self.verified && !self.disabled
    }
}

/// Longest delay a rule may have, in minutes.
pub const RULE_DELAY_MAX_MIN: i64 = 120;

/// One step of a person's own plan: use this method this many minutes after being paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The contact method.
    pub contact_id: String,
    /// Minutes after the page.
    pub delay_min: i64,
}

/// A notification rule as a form posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInput {
    /// `high` or `low`.
    #[serde(default)]
    pub urgency: String,
    /// The contact method's id.
    #[serde(default)]
    pub contact_id: String,
    /// Minutes, as typed.
    #[serde(default)]
    pub delay_min: String,
}

/// A validated rule for one urgency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// For which urgency.
    pub urgency: Urgency,
    /// The rule.
    pub rule: Rule,
}

impl RuleInput {
    /// Checks the form against the person's own methods.
    pub fn normalize(&self, methods: &[Method]) -> Result<NewRule, ValidationError> {
        let urgency = Urgency::parse(self.urgency.trim())
            .ok_or_else(|| ValidationError::new("urgency", "choose high or low urgency"))?;
        let contact_id = self.contact_id.trim();
        let Some(m) = methods.iter().find(|m| m.id == contact_id) else {
            return Err(ValidationError::new(
                "contact_id",
                "choose one of your contact methods",
            ));
        };
        if !m.verified {
            return Err(ValidationError::new(
                "contact_id",
                "verify this contact method first: enter the code it was sent",
            ));
        }
        let delay = self.delay_min.trim();
        let delay_min: i64 = if delay.is_empty() {
            0
        } else {
            delay.parse().map_err(|_| {
                ValidationError::new("delay_min", "enter the delay as whole minutes, like 2")
            })?
        };
        if !(0..=RULE_DELAY_MAX_MIN).contains(&delay_min) {
            return Err(ValidationError::new(
                "delay_min",
                format!("the delay is between 0 and {RULE_DELAY_MAX_MIN} minutes"),
            ));
        }
        Ok(NewRule {
            urgency,
            rule: Rule {
                contact_id: m.id.clone(),
                delay_min,
            },
        })
    }
}

/// What a person gets without rules of their own. High urgency: every push device and chat
/// or webhook at once; SMS at once, or after 2 min when a push device comes first; email at
/// once, or after 5 min when something faster comes first. Low urgency: email, else the same
/// as high.
pub fn default_rules(methods: &[Method], urgency: Urgency) -> Vec<Rule> {
    let usable = |k: MethodKind| methods.iter().filter(move |m| m.usable() && m.kind == k);
    let has = |k: MethodKind| usable(k).next().is_some();
    let mut out = Vec::new();
    if urgency == Urgency::Low && has(MethodKind::Email) {
        out.extend(usable(MethodKind::Email).map(|m| rule(m, 0)));
        return out;
    }
    for k in [MethodKind::Push, MethodKind::Chat, MethodKind::Webhook] {
        out.extend(usable(k).map(|m| rule(m, 0)));
    }
    let sms_delay = if has(MethodKind::Push) { 2 } else { 0 };
    out.extend(usable(MethodKind::Sms).map(|m| rule(m, sms_delay)));
    let email_delay = if out.is_empty() { 0 } else { 5 };
    out.extend(usable(MethodKind::Email).map(|m| rule(m, email_delay)));
    out
}

fn rule(m: &Method, delay_min: i64) -> Rule {
    Rule {
        contact_id: m.id.clone(),
        delay_min,
    }
}

/// The plan for one page: the person's own rules for its urgency that point at usable
/// methods, soonest first; the defaults when none do (nobody becomes unreachable by removing a
/// method their rules used).
pub fn plan(rules: &[Rule], methods: &[Method], urgency: Urgency) -> Vec<Rule> {
    let usable = |id: &str| methods.iter().any(|m| m.id == id && m.usable());
    let mut own: Vec<Rule> = rules
        .iter()
        .filter(|r| usable(&r.contact_id))
        .cloned()
        .collect();
    if own.is_empty() {
        own = default_rules(methods, urgency);
    }
    // Soonest first; at the same delay the quicker kind first (push, SMS, email, ...).
    let rank = |r: &Rule| {
        methods
            .iter()
            .find(|m| m.id == r.contact_id)
            .and_then(|m| MethodKind::ALL.iter().position(|k| *k == m.kind))
            .unwrap_or(usize::MAX)
    };
    own.sort_by(|a, b| {
        (a.delay_min, rank(a), &a.contact_id).cmp(&(b.delay_min, rank(b), &b.contact_id))
    });
    own.dedup();
    own
}

/// Messages one contact method may send within [`THROTTLE_WINDOW_MS`] before the rest wait
/// and go out together.
pub const THROTTLE_BURST: usize = 3;

/// The rate limit's window (default; a setting).
pub const THROTTLE_WINDOW_MS: i64 = 60_000;

/// Whether a method may send at `now`, given when it sent recently (any order): `None` when
/// it may, else the time the oldest counted send leaves the window. Messages owed meanwhile
/// wait and go out as one.
pub fn throttled_until(recent: &[i64], now: i64, window_ms: i64) -> Option<i64> {
    let mut inside: Vec<i64> = recent
        .iter()
        .copied()
        .filter(|t| *t > now - window_ms && *t <= now)
        .collect();
    if inside.len() < THROTTLE_BURST {
        return None;
    }
    inside.sort_unstable();
    // Sending becomes possible when enough sends have left the window to make room for one.
    let must_leave = inside.len() + 1 - THROTTLE_BURST;
    Some(inside[must_leave - 1] + window_ms)
}

/// One incident a message is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    /// Its short number.
    pub number: i64,
    /// What is wrong.
    pub title: String,
    /// The service, if any.
    pub service: Option<String>,
}

/// The words of one message: a subject line, and a text short enough for an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// One line: "[HIGH] #12 Sparse index: 5xx above 5%" or "[HIGH] 5 new incidents, 37 open".
    pub subject: String,
    /// The first lines of the body: one incident, or a list of the new ones.
    pub lines: Vec<String>,
}

/// How many incidents a bundled message lists by name.
pub const BUNDLE_LISTED: usize = 10;

/// The words for a message about `new` incidents (oldest first) when `open` incidents are
/// open for the person in all. Text from alerts is stripped of control characters, so it
/// cannot shape a header or a line.
pub fn words(new: &[About], open: usize, urgency: Urgency) -> Words {
    let tag = match urgency {
        Urgency::High => "[HIGH]",
        Urgency::Low => "[low]",
    };
    let line = |a: &About| match &a.service {
        Some(s) => format!("#{} {}: {}", a.number, clean(s), clean(&a.title)),
        None => format!("#{} {}", a.number, clean(&a.title)),
    };
    match new {
        [one] => Words {
            subject: format!("{tag} {}", line(one)),
            lines: vec![clean(&one.title)],
        },
        many => {
            let mut lines: Vec<String> = many.iter().take(BUNDLE_LISTED).map(line).collect();
            if many.len() > BUNDLE_LISTED {
                lines.push(format!("and {} more", many.len() - BUNDLE_LISTED));
            }
            let open = open.max(many.len());
            Words {
                subject: format!("{tag} {} new incidents, {open} open", many.len()),
                lines,
            }
        }
    }
}

/// Replaces control characters (newlines included) with spaces.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// How long a verification code works.
pub const CODE_TTL_MS: i64 = 15 * 60_000;

/// Wrong codes a contact method accepts before a new one must be sent.
pub const CODE_MAX_ATTEMPTS: i64 = 5;

/// A pending verification as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    /// SHA-256 (hex) of the code sent, if one is pending.
    pub hash: Option<String>,
    /// Until when it works.
    pub expires_at: Option<i64>,
    /// Wrong tries so far.
    pub attempts: i64,
}

/// Whether `given_hash` (SHA-256 hex of what the person typed) verifies the method at `now`;
/// the error is the sentence for the `code` field.
pub fn check_code(
    pending: &PendingCode,
    given_hash: &str,
    now: i64,
) -> Result<(), ValidationError> {
    let err = |m: &str| Err(ValidationError::new("code", m));
    let Some(hash) = &pending.hash else {
        return err("no code is waiting: send a new one");
    };
    if pending.attempts >= CODE_MAX_ATTEMPTS {
        return err("too many wrong codes: send a new one");
    }
    if pending.expires_at.is_none_or(|e| e <= now) {
        return err("this code has expired: send a new one");
    }
    // Both are hex digests of the same length; compared without an early exit.
    let same = hash.len() == given_hash.len()
        && hash
            .bytes()
            .zip(given_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return err("that code is not the one we sent");
    }
    Ok(())
}

/// What a text message reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    /// "1", "ack": acknowledge.
    Acknowledge,
    /// "2", "resolve": resolve.
    Resolve,
}

impl ReplyAction {
    /// The past tense for the answer ("Acknowledged").
    pub fn done(self) -> &'static str {
        match self {
            ReplyAction::Acknowledge => "Acknowledged",
            ReplyAction::Resolve => "Resolved",
        }
    }
}

/// A text message reply, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Act on the incident with this short number, or on the only one open.
    Act {
        /// What to do.
        action: ReplyAction,
        /// Which incident (its short number), if the reply names one.
        number: Option<i64>,
    },
    /// Anything else: the answer explains the replies.
    Help,
}

/// Reads a reply: "1" acknowledges, "2" resolves; "1 12", "ack 12", "ack #12", "resolve 12"
/// name the incident; "#12" alone acknowledges #12. Case and surrounding space do not matter.
pub fn parse_reply(body: &str) -> Reply {
    let lower = body.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    let number = |w: &str| {
        let digits = w.strip_prefix('#').unwrap_or(w);
        (!digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<i64>().ok())
            .flatten()
            .filter(|n| *n > 0)
    };
    let action = |w: &str| match w {
        "1" | "ack" | "acknowledge" | "a" => Some(ReplyAction::Acknowledge),
        "2" | "resolve" | "res" | "r" => Some(ReplyAction::Resolve),
        _ => None,
    };
    match words.as_slice() {
        [one] if one.starts_with('#') => match number(one) {
            Some(n) => Reply::Act {
                action: ReplyAction::Acknowledge,
                number: Some(n),
            },
            None => Reply::Help,
        },
        [one] => match action(one) {
            Some(action) => Reply::Act {
                action,
                number: None,
            },
            None => Reply::Help,
        },
        [a, n] => match (action(a), number(n)) {
            (Some(action), Some(n)) => Reply::Act {
                action,
                number: Some(n),
            },
            _ => Reply::Help,
        },
        _ => Reply::Help,
    }
}

/// What to do about a reply, given the incidents still open that the person was paged
/// about by text (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyDecision {
    /// Act on the incident with this short number.
    Act(ReplyAction, i64),
    /// Answer with this sentence; nothing changes.
    Answer(String),
}

/// The answer to a reply that did not say what it wants.
pub const REPLY_HELP: &str =
    "Reply 1 to acknowledge, 2 to resolve. With several open, add the number: 1 12 acknowledges #12.";

/// Decides a reply against the open incidents the person was paged about.
pub fn decide_reply(reply: Reply, open: &[About]) -> ReplyDecision {
    let Reply::Act { action, number } = reply else {
        return ReplyDecision::Answer(REPLY_HELP.to_string());
    };
    match (number, open) {
        (Some(n), _) if open.iter().any(|a| a.number == n) => ReplyDecision::Act(action, n),
        (Some(n), _) => ReplyDecision::Answer(format!(
            "#{n} is not open among the incidents you were paged about. {REPLY_HELP}"
        )),
        (None, []) => ReplyDecision::Answer(
            "Nothing you were paged about by text is open any more.".to_string(),
        ),
        (None, [one]) => ReplyDecision::Act(action, one.number),
        (None, many) => {
            let listed: Vec<String> = many
                .iter()
                .take(5)
                .map(|a| format!("#{} {}", a.number, short(&clean(&a.title), 30)))
                .collect();
            let more = if many.len() > 5 { ", ..." } else { "" };
            let verb = match action {
                ReplyAction::Acknowledge => "acknowledge",
                ReplyAction::Resolve => "resolve",
            };
            let digit = match action {
                ReplyAction::Acknowledge => 1,
                ReplyAction::Resolve => 2,
            };
            ReplyDecision::Answer(format!(
                "{} open: {}{more}. Reply {digit} {} to {verb} #{}",
                many.len(),
                listed.join(", "),
                many[0].number,
                many[0].number
            ))
        }
    }
}

/// At most `max` characters of `s`, with "..." when cut.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// A phone number as typed, in E.164 form: "+49 151 2345 6789" or "0049 151 23456789" become
/// "+4915123456789". Spaces, dashes, dots and brackets are dropped; the error names `phone`.
pub fn normalize_phone(raw: &str) -> Result<String, ValidationError> {
    let kept: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect();
    let digits = match (kept.strip_prefix('+'), kept.strip_prefix("00")) {
        (Some(d), _) | (None, Some(d)) => d,
        _ => {
            return Err(ValidationError::new(
                "phone",
                "enter the number with its country code, like +49 151 23456789",
            ))
        }
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::new(
            "phone",
            "a phone number has only digits after the +",
        ));
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(ValidationError::new(
            "phone",
            "that is not a full international number: + then the country code, 8 to 15 digits",
        ));
    }
    Ok(format!("+{digits}"))
}

/// The chat service a chat webhook posts to (its payload differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatFlavor {
    /// Slack incoming webhook: `{"text"}`, mrkdwn.
    Slack,
    /// Mattermost incoming webhook: Slack-compatible.
    Mattermost,
    /// Discord webhook: `{"content"}`, markdown.
    Discord,
    /// Zulip's Slack-compatible incoming webhook.
    Zulip,
}

impl ChatFlavor {
    /// Every flavour, as a form lists them.
    pub const ALL: [ChatFlavor; 4] = [
        ChatFlavor::Slack,
        ChatFlavor::Mattermost,
        ChatFlavor::Discord,
        ChatFlavor::Zulip,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatFlavor::Slack => "slack",
            ChatFlavor::Mattermost => "mattermost",
            ChatFlavor::Discord => "discord",
            ChatFlavor::Zulip => "zulip",
        }
    }

    /// Its name for people.
    pub fn label(self) -> &'static str {
        match self {
            ChatFlavor::Slack => "Slack",
            ChatFlavor::Mattermost => "Mattermost",
            ChatFlavor::Discord => "Discord",
            ChatFlavor::Zulip => "Zulip",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<ChatFlavor> {
        ChatFlavor::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }

    /// The flavour a webhook URL's host makes obvious (hooks.slack.com, discord.com,
    /// *.zulipchat.com); `None` for a self-hosted server (Mattermost, Zulip) the form must name.
    pub fn guess(url: &str) -> Option<ChatFlavor> {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let host = rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('@')
            .next()
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let is = |d: &str| host == d || host.ends_with(&format!(".{d}"));
        if is("slack.com") {
            Some(ChatFlavor::Slack)
        } else if is("discord.com") || is("discordapp.com") {
            Some(ChatFlavor::Discord)
        } else if is("zulipchat.com") {
            Some(ChatFlavor::Zulip)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, kind: MethodKind) -> Method {
        Method {
            id: id.into(),
            kind,
            verified: true,
            disabled: false,
        }
    }

    fn r(id: &str, d: i64) -> Rule {
        Rule {
            contact_id: id.into(),
            delay_min: d,
        }
    }

    #[test]
    fn defaults_by_what_a_person_has() {
        use MethodKind::*;
        let email = m("e", Email);
        let push = m("p", Push);
        let sms = m("s", Sms);
        let unverified = Method {
            verified: false,
            ..m("p2", Push)
        };
        let gone = Method {
            disabled: true,
            ..m("p3", Push)
        };
        let cases: Vec<(Vec<Method>, Urgency, Vec<Rule>)> = vec![
            (vec![email.clone()], Urgency::High, vec![r("e", 0)]),
            (vec![email.clone()], Urgency::Low, vec![r("e", 0)]),
            (
                vec![email.clone(), push.clone(), sms.clone()],
                Urgency::High,
                vec![r("p", 0), r("s", 2), r("e", 5)],
            ),
            (
                vec![email.clone(), sms.clone()],
                Urgency::High,
                vec![r("s", 0), r("e", 5)],
            ),
            (
                vec![email.clone(), push.clone(), sms.clone()],
                Urgency::Low,
                vec![r("e", 0)],
            ),
            (vec![push.clone()], Urgency::Low, vec![r("p", 0)]),
            (
                vec![email.clone(), unverified, gone],
                Urgency::High,
                vec![r("e", 0)],
            ),
            (vec![], Urgency::High, vec![]),
        ];
        for (methods, urgency, want) in cases {
            assert_eq!(
                default_rules(&methods, urgency),
                want,
                "{methods:?} {urgency:?}"
            );
        }
    }

    #[test]
    fn own_rules_win_unless_they_reach_nobody() {
        let methods = vec![
            m("e", MethodKind::Email),
            m("s", MethodKind::Sms),
            Method {
                disabled: true,
                ..m("p", MethodKind::Push)
            },
        ];
        // Sorted by delay.
        assert_eq!(
            plan(&[r("e", 5), r("s", 1)], &methods, Urgency::High),
            vec![r("s", 1), r("e", 5)]
        );
        // Only a gone push device: the defaults.
        assert_eq!(
            plan(&[r("p", 0)], &methods, Urgency::High),
            vec![r("s", 0), r("e", 5)]
        );
        // At the same delay: push, then SMS, then email.
        assert_eq!(
            plan(&[r("e", 0), r("s", 0)], &methods, Urgency::High),
            vec![r("s", 0), r("e", 0)]
        );
        // A method that no longer exists is skipped.
        assert_eq!(
            plan(&[r("x", 0), r("e", 3)], &methods, Urgency::High),
            vec![r("e", 3)]
        );
    }

    #[test]
    fn rule_input_names_the_field() {
        let methods = vec![
            m("e", MethodKind::Email),
            Method {
                verified: false,
                ..m("s", MethodKind::Sms)
            },
        ];
        let input = |u: &str, c: &str, d: &str| RuleInput {
            urgency: u.into(),
            contact_id: c.into(),
            delay_min: d.into(),
        };
        assert_eq!(
            input("high", "e", " 5 ").normalize(&methods).unwrap(),
            NewRule {
                urgency: Urgency::High,
                rule: r("e", 5)
            }
        );
        assert_eq!(
            input("low", "e", "").normalize(&methods).unwrap().rule,
            r("e", 0)
        );
        for (i, field) in [
            (input("urgent", "e", "0"), "urgency"),
            (input("high", "nope", "0"), "contact_id"),
            (input("high", "s", "0"), "contact_id"),
            (input("high", "e", "two"), "delay_min"),
            (input("high", "e", "-1"), "delay_min"),
            (input("high", "e", "121"), "delay_min"),
        ] {
            assert_eq!(i.normalize(&methods).unwrap_err().field, field, "{i:?}");
        }
    }

    #[test]
    fn codes_expire_and_count_wrong_tries() {
        let p = |hash: Option<&str>, exp: i64, attempts: i64| PendingCode {
            hash: hash.map(str::to_string),
            expires_at: Some(exp),
            attempts,
        };
        assert!(check_code(&p(Some("ab"), 100, 0), "ab", 99).is_ok());
        let msg = |r: Result<(), ValidationError>| r.unwrap_err().message;
        assert!(msg(check_code(&p(Some("ab"), 100, 0), "ab", 100)).contains("expired"));
        assert!(msg(check_code(&p(Some("ab"), 100, 0), "ac", 50)).contains("not the one"));
        assert!(msg(check_code(&p(Some("ab"), 100, 5), "ab", 50)).contains("too many"));
        assert!(msg(check_code(&p(None, 100, 0), "ab", 50)).contains("no code"));
        assert_eq!(
            check_code(&p(None, 100, 0), "ab", 50).unwrap_err().field,
            "code"
        );
    }

    #[test]
    fn throttle_lets_a_burst_through_then_waits() {
        let w = 60_000;
        assert_eq!(throttled_until(&[], 1_000, w), None);
        assert_eq!(throttled_until(&[0, 10], 1_000, w), None);
        assert_eq!(throttled_until(&[0, 10, 20], 1_000, w), Some(60_000));
        // Old sends leave the window.
        assert_eq!(throttled_until(&[0, 10, 20], 60_005, w), None);
        assert_eq!(
            throttled_until(&[30, 0, 10, 20], 60_001, w),
            Some(60_010),
            "four inside: two must leave"
        );
    }

    #[test]
    fn words_for_one_and_for_a_bundle() {
        let a = |n: i64| About {
            number: n,
            title: format!("disk full\r\nBcc: x@y #{n}"),
            service: Some("API".into()),
        };
        let one = words(&[a(12)], 1, Urgency::High);
        assert_eq!(one.subject, "[HIGH] #12 API: disk full  Bcc: x@y #12");
        assert!(!one.subject.contains('\n'));
        let many: Vec<About> = (1..=12).map(a).collect();
        let b = words(&many, 37, Urgency::Low);
        assert_eq!(b.subject, "[low] 12 new incidents, 37 open");
        assert_eq!(b.lines.len(), BUNDLE_LISTED + 1);
        assert_eq!(b.lines.last().map(String::as_str), Some("and 2 more"));
    }

    #[test]
    fn replies_are_read() {
        use ReplyAction::*;
        let act = |action, number| Reply::Act { action, number };
        for (body, want) in [
            ("1", act(Acknowledge, None)),
            (" 1\n", act(Acknowledge, None)),
            ("2", act(Resolve, None)),
            ("ACK", act(Acknowledge, None)),
            ("resolve", act(Resolve, None)),
            ("1 12", act(Acknowledge, Some(12))),
            ("2 #12", act(Resolve, Some(12))),
            ("ack 12", act(Acknowledge, Some(12))),
            ("Ack #12", act(Acknowledge, Some(12))),
            ("#12", act(Acknowledge, Some(12))),
            ("resolve, 7", act(Resolve, Some(7))),
            ("12", Reply::Help),
            ("3", Reply::Help),
            ("1 twelve", Reply::Help),
            ("1 0", Reply::Help),
            ("#", Reply::Help),
            ("ok thanks", Reply::Help),
            ("1 12 13", Reply::Help),
            ("", Reply::Help),
            ("1 99999999999999999999", Reply::Help),
        ] {
            assert_eq!(parse_reply(body), want, "{body:?}");
        }
    }

    #[test]
    fn reply_decisions() {
        let a = |n: i64| About {
            number: n,
            title: format!("disk full on db{n}"),
            service: None,
        };
        let ack = |number| Reply::Act {
            action: ReplyAction::Acknowledge,
            number,
        };
        assert_eq!(
            decide_reply(ack(None), &[a(12)]),
            ReplyDecision::Act(ReplyAction::Acknowledge, 12)
        );
        assert_eq!(
            decide_reply(ack(Some(13)), &[a(12), a(13)]),
            ReplyDecision::Act(ReplyAction::Acknowledge, 13)
        );
        let ReplyDecision::Answer(which) = decide_reply(ack(None), &[a(12), a(13)]) else {
            panic!("several open must ask which");
        };
        assert_eq!(
            which,
            "2 open: #12 disk full on db12, #13 disk full on db13. Reply 1 12 to acknowledge #12"
        );
        let ReplyDecision::Answer(not_open) = decide_reply(ack(Some(14)), &[a(12)]) else {
            panic!("an incident not open must not be acted on");
        };
        assert!(not_open.starts_with("#14 is not open"), "{not_open}");
        assert!(matches!(
            decide_reply(ack(None), &[]),
            ReplyDecision::Answer(_)
        ));
        assert_eq!(
            decide_reply(Reply::Help, &[a(12)]),
            ReplyDecision::Answer(REPLY_HELP.to_string())
        );
    }

    #[test]
    fn phone_numbers_become_e164() {
        for (raw, want) in [
            ("+49 151 2345 6789", "+4915123456789"),
            ("0049 (151) 2345-6789", "+4915123456789"),
            (" +1.415.867.5309 ", "+14158675309"),
        ] {
            assert_eq!(normalize_phone(raw).unwrap(), want, "{raw}");
        }
        for raw in [
            "0151 23456789",
            "+49 151 CALLME",
            "+1234",
            "+0123456789",
            "",
            "+1234567890123456",
        ] {
            assert_eq!(normalize_phone(raw).unwrap_err().field, "phone", "{raw}");
        }
    }

    #[test]
    fn chat_flavours_are_guessed_from_obvious_hosts() {
        for (url, want) in [
            (
                "https://hooks.slack.com/services/T0/B0/x",
                Some(ChatFlavor::Slack),
            ),
            (
                "https://discord.com/api/webhooks/1/abc",
                Some(ChatFlavor::Discord),
            ),
            (
                "https://ptb.discordapp.com/api/webhooks/1/abc",
                Some(ChatFlavor::Discord),
            ),
            (
                "https://team.zulipchat.com/api/v1/external/slack_incoming?api_key=k",
                Some(ChatFlavor::Zulip),
            ),
            ("https://chat.example.org/hooks/abc", None),
            ("https://slack.com.evil.example/hooks", None),
        ] {
            assert_eq!(ChatFlavor::guess(url), want, "{url}");
        }
        assert_eq!(
            ChatFlavor::parse("mattermost"),
            Some(ChatFlavor::Mattermost)
        );
        assert_eq!(ChatFlavor::parse("irc"), None);
    }
}
