//! The chat channel: incoming webhooks of Slack, Mattermost, Zulip (its Slack-compatible
//! endpoint) and Discord. Each flavour gets the JSON it accepts (`{"text"}` in mrkdwn, or
//! Discord's `{"content"}` with mentions switched off), and alert text is escaped for that
//! format, so an alert cannot ping `@everyone` or forge a link. A person's chat method and a
//! team's channel use the same payloads.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{Item, Notifier, Outgoing, Purpose, SendFailure, Sent};
use crate::outbound::{Outbound, SendError};
use app::domain::notify::{clean, short, ChatFlavor, BUNDLE_LISTED};

/// How long one post may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// The flavour of a chat method: its config's `flavor`, else what the URL makes obvious, else
/// Slack's shape (which Mattermost and Zulip accept too).
pub fn flavor_of(url: &str, config: &Value) -> ChatFlavor {
    config
        .get("flavor")
        .and_then(Value::as_str)
        .and_then(ChatFlavor::parse)
        .or_else(|| ChatFlavor::guess(url))
        .unwrap_or(ChatFlavor::Slack)
}

/// Escapes text for Slack's mrkdwn (Mattermost and Zulip read the same): `&`, `<`, `>`.
pub fn escape_slack(s: &str) -> String {
    clean(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes text for Discord's markdown: formatting characters get a backslash, and `@` a
/// zero-width space after it so `@everyone` and `@here` stay words.
pub fn escape_discord(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '(' | ')' | '-'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200b}"),
            c => out.push(c),
        }
    }
    out
}

/// A link in the flavour's syntax (`url` is Firstline's own).
fn link(flavor: ChatFlavor, url: &str, text: &str) -> String {
    match flavor {
        ChatFlavor::Discord => format!("[{text}]({url})"),
        _ => format!("<{url}|{text}>"),
    }
}

/// Escapes text for Mattermost and Zulip: as Slack, and since they also ping on a plain
/// `@channel`, `@all` or `@**all**` and render `[text](url)`, `@` gets a zero-width space after
/// it and brackets a backslash.
pub fn escape_markdown_chat(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_slack(s).chars() {
        match c {
            '@' => out.push_str("@\u{200b}"),
            '[' | ']' | '(' | ')' | '*' | '_' | '`' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn esc(flavor: ChatFlavor, s: &str) -> String {
    match flavor {
        ChatFlavor::Discord => escape_discord(s),
        ChatFlavor::Mattermost | ChatFlavor::Zulip => escape_markdown_chat(s),
        ChatFlavor::Slack => escape_slack(s),
    }
}

fn bold(flavor: ChatFlavor, s: &str) -> String {
    match flavor {
        ChatFlavor::Discord => format!("**{s}**"),
        _ => format!("*{s}*"),
    }
}

fn item_links(flavor: ChatFlavor, item: &Item) -> String {
    let mut parts = vec![link(flavor, &item.url, "Open")];
    if let Some(a) = &item.ack_url {
        parts.push(link(flavor, a, "Acknowledge"));
    }
    if let Some(r) = &item.resolve_url {
        parts.push(link(flavor, r, "Resolve"));
    }
    parts.join(" · ")
}

/// The message text of `out` for `flavor`.
pub fn text(flavor: ChatFlavor, out: &Outgoing) -> String {
    match &out.purpose {
        Purpose::Verify { code } => format!(
            "Firstline verification code for {}: {}",
            esc(flavor, &out.user_name),
            bold(flavor, code)
        ),
        Purpose::Test | Purpose::Notice => {
            let mut t: Vec<String> = out.lines.iter().map(|l| esc(flavor, l)).collect();
            if !out.url.is_empty() {
                t.push(link(flavor, &out.url, "Open Firstline"));
            }
            t.join("\n")
        }
        Purpose::Page => {
            let mut t = vec![format!(
                "{} (for {})",
                bold(flavor, &esc(flavor, &short(&out.subject, 200))),
                esc(flavor, &out.user_name)
            )];
            match out.items.as_slice() {
                [one] => t.push(item_links(flavor, one)),
                many => {
                    let listed = many.len().min(BUNDLE_LISTED);
                    for (line, item) in out.lines.iter().zip(many).take(listed) {
                        t.push(format!(
                            "{} — {}",
                            esc(flavor, &short(line, 120)),
                            item_links(flavor, item)
                        ));
                    }
                    if many.len() > listed {
                        if let Some(more) = out.lines.get(listed) {
                            t.push(esc(flavor, more));
                        }
                    }
                    t.push(link(flavor, &out.url, "Everything open"));
                }
            }
            t.join("\n")
        }
    }
}

/// The JSON body a flavour's incoming webhook accepts for `text` (already escaped).
pub fn payload(flavor: ChatFlavor, text: &str) -> Value {
    match flavor {
        ChatFlavor::Discord => json!({
            "content": short(text, 2000),
            "allowed_mentions": { "parse": [] },
        }),
        _ => json!({ "text": text }),
    }
}

/// Posts `body` to a chat webhook: 2xx is sent, 404/410 means the webhook was deleted.
pub async fn post(outbound: &Outbound, url: &str, body: &Value) -> Result<(), SendFailure> {
    let resp = outbound
        .post_once(
            url,
            "application/json",
            body.to_string().into_bytes(),
            &[],
            POST_TIMEOUT,
        )
        .await
        .map_err(|e| match e {
            SendError::Timeout => SendFailure::Retry(format!(
                "the chat webhook did not answer within {} s",
                POST_TIMEOUT.as_secs()
            )),
            e => SendFailure::Retry(format!("chat webhook: {e}")),
        })?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let answer = resp.text().await.unwrap_or_default();
    let msg = format!(
        "chat webhook answered {status}: {}",
        short(&clean(&answer), 200)
    );
    if status == 404 || status == 410 {
        Err(SendFailure::Gone(msg))
    } else {
        Err(SendFailure::Retry(msg))
    }
}

/// Posts to people's chat webhooks.
pub struct ChatChannel {
    outbound: Outbound,
}

impl ChatChannel {
    /// Posts through `outbound`.
    pub fn new(outbound: Outbound) -> ChatChannel {
        ChatChannel { outbound }
    }
}

#[async_trait]
impl Notifier for ChatChannel {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        let flavor = flavor_of(&out.contact.target, &out.contact.config);
        let body = payload(flavor, &text(flavor, out));
        post(&self.outbound, &out.contact.target, &body).await?;
        let name = out
            .contact
            .label
            .clone()
            .unwrap_or_else(|| flavor.label().to_string());
        Ok(Sent {
            via: format!("chat ({name})"),
            provider_ref: None,
        })
    }
}

/// The team channel's message: the incident, who the step paged, and its links.
pub fn team_text(
    flavor: ChatFlavor,
    inc: &app::domain::oncall::OncallIncident,
    paged: &[String],
    url: &str,
) -> String {
    let about = app::domain::notify::About {
        number: inc.number,
        title: inc.title.clone(),
        service: inc.service_name.clone(),
    };
    let words = app::domain::notify::words(&[about], 1, inc.urgency);
    let who = if paged.is_empty() {
        "nobody could be paged".to_string()
    } else {
        format!("paged {}", paged.join(", "))
    };
    format!(
        "{} — {}\n{}",
        bold(flavor, &esc(flavor, &short(&words.subject, 200))),
        esc(flavor, &who),
        link(flavor, url, "Open the incident")
    )
}

#[async_trait]
impl crate::engine::Perform for crate::store::TeamChatPost {
    /// Posts to the team's channel, once per incident and step; nothing when the team has no
    /// channel any more or the incident no longer needs anyone.
    async fn perform(self, state: &crate::state::AppState) -> anyhow::Result<()> {
        use crate::store::StoreError;
        let chat = match state.store.team_chat(&self.team_id).await {
            Ok(Some(c)) => c,
            Ok(None) | Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let inc = match state.store.oncall_incident(&self.incident_id).await {
            Ok(i) => i,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if inc.state != app::domain::oncall::State::Triggered {
            return Ok(());
        }
        let mut names = Vec::new();
        for u in &self.users {
            if let Ok(user) = state.store.user(u).await {
                names.push(user.name);
            }
        }
        let flavor = ChatFlavor::parse(&chat.flavor).unwrap_or(ChatFlavor::Slack);
        let url = format!("{}/oncall/{}", state.config.base_url, inc.id);
        let body = payload(flavor, &team_text(flavor, &inc, &names, &url));
        let now = || state.clock.now_ms();
        match post(&state.outbound, &chat.url, &body).await {
            Ok(()) => {
                let note = json!({ "team": chat.team, "via": format!("chat channel of {}", chat.team), "bundle": 1 });
                state
                    .store
                    .note_oncall(&inc.id, "notified", "chat", &note, now())
                    .await?;
                Ok(())
            }
            Err(SendFailure::Gone(why)) => {
                let note = json!({ "team": chat.team, "error": why, "gone": true });
                state
                    .store
                    .note_oncall(&inc.id, "notify_failed", "chat", &note, now())
                    .await?;
                Ok(())
            }
            Err(SendFailure::Retry(why)) => {
                let note = json!({ "team": chat.team, "error": why, "gone": false });
                state
                    .store
                    .note_oncall(&inc.id, "notify_failed", "chat", &note, now())
                    .await?;
                anyhow::bail!("team chat {}: {why}", chat.team)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::email::tests::page;

    #[test]
    fn slack_text_escapes_and_links() {
        let mut out = page("<!channel> 5xx & <https://evil.example|click>", 1);
        out.user_name = "Maya".into();
        let t = text(ChatFlavor::Slack, &out);
        assert_eq!(
            t,
            "*[HIGH] #12 Sparse index: &lt;!channel&gt; 5xx &amp; &lt;https://evil.example|click&gt;* (for Maya)\n\
             <https://firstline.example/oncall/inc0|Open> · <https://firstline.example/a/ack0|Acknowledge> · <https://firstline.example/a/res0|Resolve>"
        );
        assert_eq!(payload(ChatFlavor::Mattermost, "x"), json!({"text": "x"}));
        assert_eq!(
            escape_markdown_chat("@channel [click](https://evil) @**all**"),
            "@\u{200b}channel \\[click\\]\\(https://evil\\) @\u{200b}\\*\\*all\\*\\*"
        );
        assert_eq!(payload(ChatFlavor::Zulip, "x"), json!({"text": "x"}));
    }

    #[test]
    fn discord_text_cannot_mention_or_format() {
        let mut out = page("@everyone **down** [x](https://evil.example)", 1);
        out.user_name = "Maya".into();
        let t = text(ChatFlavor::Discord, &out);
        assert!(
            t.starts_with("**\\[HIGH\\] \\#12 Sparse index\\: @\u{200b}everyone \\*\\*down\\*\\* \\[x\\]\\(https\\://evil.example\\)** (for Maya)\n"),
            "{t}"
        );
        assert!(
            t.ends_with("[Acknowledge](https://firstline.example/a/ack0) · [Resolve](https://firstline.example/a/res0)"),
            "{t}"
        );
        assert_eq!(
            payload(ChatFlavor::Discord, "hi"),
            json!({"content": "hi", "allowed_mentions": {"parse": []}})
        );
    }

    #[test]
    fn a_bundle_lists_each_with_its_links() {
        let t = text(ChatFlavor::Slack, &page("disk full", 3));
        assert!(t.starts_with("*[HIGH] 3 new incidents, 6 open*"), "{t}");
        assert!(
            t.contains(
                "#13 Sparse index: disk full — <https://firstline.example/oncall/inc1|Open>"
            ),
            "{t}"
        );
        assert!(
            t.ends_with("<https://firstline.example/oncall|Everything open>"),
            "{t}"
        );
    }

    #[test]
    fn a_verification_code_is_posted_to_the_channel() {
        let mut out = page("x", 1);
        out.purpose = Purpose::Verify {
            code: "123456".into(),
        };
        out.user_name = "Maya *bold*".into();
        assert_eq!(
            text(ChatFlavor::Slack, &out),
            "Firstline verification code for Maya *bold*: *123456*"
        );
        assert_eq!(
            text(ChatFlavor::Discord, &out),
            "Firstline verification code for Maya \\*bold\\*: **123456**"
        );
    }

    #[test]
    fn the_flavour_comes_from_the_config_then_the_host() {
        let url = "https://hooks.slack.com/services/x";
        assert_eq!(flavor_of(url, &json!({})), ChatFlavor::Slack);
        assert_eq!(
            flavor_of(url, &json!({"flavor": "mattermost"})),
            ChatFlavor::Mattermost
        );
        assert_eq!(
            flavor_of("https://discord.com/api/webhooks/1/x", &json!({})),
            ChatFlavor::Discord
        );
        assert_eq!(
            flavor_of(
                "https://chat.example.org/hooks/x",
                &json!({"flavor": "nope"})
            ),
            ChatFlavor::Slack
        );
    }
}
