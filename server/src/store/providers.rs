//! What SMS replies, delivery reports and team chat channels need stored: the person behind a
//! verified number, the incidents they were paged about by text and that are still open, a
//! delivery report on each incident a message was about, and a team's chat webhook.

use serde_json::json;

use super::jobs::enqueue_in;
use super::notify::Notify;
use super::paging::add_event;
use super::tx::sql;
use super::{Store, StoreError};
use app::domain::notify::About;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamChat {
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

    /// Incidents not resolved that `contact_id` was texted about, oldest first.
    pub async fn sms_open_pages(&self, contact_id: &str) -> Result<Vec<PagedOpen>, StoreError> {
        let rows: Vec<(String, i64, String, Option<String>, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT i.id, i.number, i.title, s.name, i.status FROM oncall_incidents i \
             LEFT JOIN services s ON s.id = i.service_id \
             WHERE i.status <> 'resolved' AND i.id IN (SELECT o.incident_id FROM notify_outbox o \
             WHERE o.contact_id = $1 AND o.state = 'sent') ORDER BY i.created_at, i.id")
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
                let moved: Vec<(String, String)> = tx
                    .fetch_all(
                        sql("UPDATE notify_outbox SET due_at = $1 WHERE user_id = $2 AND page_key = $3 \
                             AND contact_id <> $4 AND state = 'pending' AND due_at > $1 \
                             RETURNING id, contact_id")
                        .bind(now)
                        .bind(user)
                        .bind(key)
                        .bind(contact),
                    )
                    .await?;
                for (id, c) in &moved {
                    enqueue_in(
                        &mut tx,
                        &Notify {
                            contact_id: c.clone(),
                            key: format!("{id}:undelivered"),
                        },
                        now,
                    )
                    .await?;
                }
                out.sooner.extend(moved);
            }
            out.incidents.push(incident.clone());
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A team's chat channel, if it has one.
    pub async fn team_chat(&self, team_id: &str) -> Result<Option<TeamChat>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT chat_url, chat_flavor FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(p)
            .await)?;
        let (url, flavor) = row.ok_or(StoreError::NotFound)?;
        Ok(url.map(|url| TeamChat {
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
