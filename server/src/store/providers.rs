//! What SMS replies, delivery reports and team chat channels need stored: the person behind a
//! verified number, the incidents they were paged about by text and that are still open, a
//! delivery report on each incident a message was about, and a team's chat webhook.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::jobs::{enqueue_in, JobSpec, Queue};
use super::paging::add_event;
use super::tx::sql;
use super::tx::Tx;
use super::{Store, StoreError};
use app::domain::escalation::{Effect, Policy, TargetKind};
use app::domain::notify::About;

/// Tells a team's chat channel that an escalation step paged the team (one message per
/// incident and step firing: the key names both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamChatPost {
    /// The team.
    pub team_id: String,
    /// The on-call incident.
    pub incident_id: String,
    /// `teamchat:INCIDENT:GEN:PASS:STEP:TEAM`.
    pub key: String,
    /// Everyone the step paged (user ids).
    pub users: Vec<String>,
}

impl JobSpec for TeamChatPost {
    const KIND: &'static str = "team_chat";
    const QUEUE: Queue = Queue::Pages;
    const PRIORITY: i64 = 20;

    fn dedup_key(&self) -> Option<String> {
        Some(self.key.clone())
    }
}

/// Queues a [`TeamChatPost`] for each team with a chat channel that a step in `effects`
/// paged (a team target of that step of `policy`).
pub(crate) async fn queue_team_chats(
    tx: &mut Tx,
    incident_id: &str,
    policy: Option<&Policy>,
    effects: &[Effect],
    now: i64,
) -> Result<(), StoreError> {
    let Some(policy) = policy else {
        return Ok(());
    };
    let mut steps: Vec<(i64, i64, i64)> = Vec::new();
    for e in effects {
        if let Effect::Page {
            gen, pass, step, ..
        } = e
        {
            if !steps.contains(&(*gen, *pass, *step)) {
                steps.push((*gen, *pass, *step));
            }
        }
    }
    for (gen, pass, step) in steps {
        let Some(s) = usize::try_from(step).ok().and_then(|i| policy.steps.get(i)) else {
            continue;
        };
        let users: Vec<String> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Page {
                    user,
                    gen: g,
                    pass: p,
                    step: st,
                } if (*g, *p, *st) == (gen, pass, step) => Some(user.clone()),
                _ => None,
            })
            .collect();
        for t in s.targets.iter().filter(|t| t.kind == TargetKind::Team) {
            let chat: Option<(Option<String>,)> = tx
                .fetch_optional(sql("SELECT chat_url FROM teams WHERE id = $1").bind(&t.id))
                .await?;
            if !matches!(chat, Some((Some(_),))) {
                continue;
            }
            let job = TeamChatPost {
                team_id: t.id.clone(),
                incident_id: incident_id.to_string(),
                key: format!("teamchat:{incident_id}:{gen}:{pass}:{step}:{}", t.id),
                users: users.clone(),
            };
            enqueue_in(tx, &job, now).await?;
        }
    }
    Ok(())
}

/// A verified SMS method and its person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SmsSender {
    /// The person.
    pub user_id: String,
    /// The contact method.
    pub contact_id: String,
}

/// An open incident someone was paged about by text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagedOpen {
    /// The incident's id.
    pub incident_id: String,
    /// Number, title, service.
    pub about: About,
    /// Someone acknowledged it already.
    pub acknowledged: bool,
}

/// What a delivery report changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Incidents whose timeline got the report.
    pub incidents: Vec<String>,
    /// Later outbox rows brought forward (a failed text): `(outbox id, contact id)`.
    pub sooner: Vec<(String, String)>,
}

/// A team's chat channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamChat {
    /// The team's name (read only).
    pub team: String,
    /// The incoming webhook's URL.
    pub url: String,
    /// `slack`, `mattermost`, `discord` or `zulip`.
    pub flavor: String,
}

impl Store {
    /// The active person whose verified, working SMS method is `number` (the oldest such, if
    /// several share it).
    pub async fn sms_sender(&self, number: &str) -> Result<Option<SmsSender>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT c.user_id, c.id AS contact_id FROM contact_methods c JOIN users u ON u.id = c.user_id \
             WHERE c.kind = 'sms' AND c.target = $1 AND c.verified_at IS NOT NULL \
             AND c.disabled_at IS NULL AND u.deactivated_at IS NULL \
             ORDER BY c.created_at, c.id LIMIT 1")
            .bind(number)
            .fetch_optional(p)
            .await)?)
    }

    /// Incidents not resolved that `contact_id` was texted about (the text went out, even if
    /// the provider reported it undelivered later), oldest first.
    pub async fn sms_open_pages(&self, contact_id: &str) -> Result<Vec<PagedOpen>, StoreError> {
        let rows: Vec<(String, i64, String, Option<String>, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT i.id, i.number, i.title, s.name, i.status FROM oncall_incidents i \
             LEFT JOIN services s ON s.id = i.service_id \
             WHERE i.status <> 'resolved' AND i.id IN (SELECT o.incident_id FROM notify_outbox o \
             WHERE o.contact_id = $1 AND o.sent_at IS NOT NULL) ORDER BY i.created_at, i.id")
            .bind(contact_id)
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(id, number, title, service, status)| PagedOpen {
                acknowledged: status == "acknowledged",
                incident_id: id,
                about: About {
                    number,
                    title,
                    service,
                },
            })
            .collect())
    }

    /// Records the provider's report on the message `provider_ref`: delivered, a `delivered`
    /// entry on each incident it was about (once); failed, a `notify_failed` entry with the
    /// provider's error, and the person's later methods for the same pages become due at once.
    pub async fn sms_delivery(
        &self,
        provider_ref: &str,
        delivered: bool,
        error: &str,
        now: i64,
    ) -> Result<Delivery, StoreError> {
        let mut tx = self.begin().await?;
        let rows: Vec<(String, String, String, String)> = if delivered {
            tx.fetch_all(
                sql(
                    "UPDATE notify_outbox SET delivered_at = $1 WHERE provider_ref = $2 \
                     AND state = 'sent' AND delivered_at IS NULL \
                     RETURNING incident_id, user_id, page_key, contact_id",
                )
                .bind(now)
                .bind(provider_ref),
            )
            .await?
        } else {
            tx.fetch_all(
                sql(
                    "UPDATE notify_outbox SET state = 'failed' WHERE provider_ref = $1 \
                     AND state = 'sent' RETURNING incident_id, user_id, page_key, contact_id",
                )
                .bind(provider_ref),
            )
            .await?
        };
        let mut out = Delivery::default();
        for (incident, user, key, contact) in &rows {
            if delivered {
                let body = json!({ "user": user, "via": "SMS", "ref": provider_ref });
                add_event(
                    &mut tx,
                    incident,
                    "delivered",
                    None,
                    "sms",
                    None,
                    &body,
                    now,
                )
                .await?;
            } else {
                let body =
                    json!({ "user": user, "error": error, "gone": false, "ref": provider_ref });
                add_event(
                    &mut tx,
                    incident,
                    "notify_failed",
                    None,
                    "sms",
                    None,
                    &body,
                    now,
                )
                .await?;
                let moved = super::notify::bring_forward_in(
                    &mut tx,
                    user,
                    key,
                    contact,
                    "undelivered",
                    now,
                )
                .await?;
                out.sooner.extend(moved);
            }
            out.incidents.push(incident.clone());
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A team's chat channel, if it has one.
    pub async fn team_chat(&self, team_id: &str) -> Result<Option<TeamChat>, StoreError> {
        let row: Option<(String, Option<String>, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT name, chat_url, chat_flavor FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(p)
            .await)?;
        let (team, url, flavor) = row.ok_or(StoreError::NotFound)?;
        Ok(url.map(|url| TeamChat {
            team,
            url,
            flavor: flavor.unwrap_or_else(|| "slack".into()),
        }))
    }

    /// Sets (or, `None`, clears) a team's chat channel.
    pub async fn set_team_chat(
        &self,
        team_id: &str,
        chat: Option<&TeamChat>,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE teams SET chat_url = $1, chat_flavor = $2 WHERE id = $3")
            .bind(chat.map(|c| c.url.as_str()))
            .bind(chat.map(|c| c.flavor.as_str()))
            .bind(team_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }
}
