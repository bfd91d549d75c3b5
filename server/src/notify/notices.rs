//! Shift notices through the channels: the engine's [`ShiftNotice`] job (a person's
//! low-urgency methods that are due at once, one send each), and the clock's round that queues
//! reminders before shifts and hand-off summaries, once per shift start. What is due and what
//! it says are decided in `app::domain::notice`; here things are only loaded, asked and queued.

use anyhow::anyhow;
use app::domain::escalation::Urgency;
use app::domain::notice::{self, NoticeKind, OpenIncident, ShiftAbout};
use app::domain::notify::{self as rules, Rule};
use app::domain::schedule::{expand, Window};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::{Outgoing, Purpose, SendFailure};
use crate::engine::Perform;
use crate::state::AppState;
use crate::store::{OncallFilter, ShiftNotice, StoreError};

/// How often the clock's round looks for shift starts.
pub const ROUND_EVERY_MS: i64 = 60_000;

#[async_trait]
impl Perform for ShiftNotice {
    async fn perform(self, state: &AppState) -> anyhow::Result<()> {
        let user = match state.store.user(&self.user_id).await {
            Ok(u) if u.is_active() => u,
            Ok(_) | Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let contacts = state.store.contact_methods(&user.id).await?;
        let Some(contact_id) = &self.contact_id else {
            // The person's plan for low urgency, the methods it uses at once.
            let methods: Vec<_> = contacts.iter().filter_map(|c| c.method()).collect();
            let own: Vec<Rule> = state
                .store
                .notification_rules(&user.id)
                .await?
                .into_iter()
                .filter(|r| r.urgency == Urgency::Low.as_str())
                .map(|r| Rule {
                    contact_id: r.contact_id,
                    delay_min: r.delay_min,
                })
                .collect();
            let each: Vec<ShiftNotice> = rules::plan(&own, &methods, Urgency::Low)
                .into_iter()
                .filter(|r| r.delay_min == 0)
                .map(|r| ShiftNotice {
                    contact_id: Some(r.contact_id),
                    ..self.clone()
                })
                .collect();
            if each.is_empty() {
                tracing::info!(user = %user.email, key = %self.key, "a shift notice has no method to go to; in-app only");
            }
            state
                .store
                .enqueue_notices(&each, state.clock.now_ms())
                .await?;
            return Ok(());
        };
        let Some(to) = contacts
            .iter()
            .find(|c| c.id == *contact_id)
            .filter(|c| c.method().is_some_and(|m| m.usable()))
            .and_then(|c| c.contact())
        else {
            // Removed or disabled meanwhile.
            return Ok(());
        };
        let (subject, lines) = notice::words(&self.about, &user.time_zone);
        let out = Outgoing {
            key: format!("{}:{}", self.key, to.id),
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            contact: to.clone(),
            purpose: Purpose::Notice,
            urgency: Urgency::Low,
            subject,
            lines,
            items: vec![],
            open: 0,
            url: format!("{}{}", state.config.base_url, self.about.link),
        };
        match state.services.notifier.send(&out).await {
            Ok(sent) => {
                tracing::info!(user = %user.email, key = %self.key, via = %sent.via, "shift notice sent");
                Ok(())
            }
            Err(SendFailure::Gone(why)) => {
                tracing::warn!(contact = %to.id, error = %why, "a shift notice found its method gone");
                Ok(())
            }
            Err(SendFailure::Retry(why)) => Err(anyhow!("{}: {why}", to.kind.as_str())),
        }
    }
}

/// Queues the reminders and hand-off summaries due at `now` (each once per shift start: the
/// job's key names schedule, person and start).
pub async fn shift_round(state: &AppState, now: i64) -> anyhow::Result<()> {
    let at = Timestamp::from_millisecond(now)?;
    // From an hour back (a shift that started before is no start), far enough ahead that a
    // starting shift's end is its own, not the window's.
    let window = Window::new(
        at - SignedDuration::from_hours(1),
        at + SignedDuration::from_hours(24 * crate::oncall::HORIZON_DAYS),
    )?;
    let mut jobs = Vec::new();
    let mut paging: Option<Paging> = None;
    for full in state.store.schedules_full(window.start, window.end).await? {
        // A draft is being built: nobody is reminded of its shifts yet.
        if full.info.draft {
            continue;
        }
        let shifts = expand(&full.schedule, &window);
        let starts = notice::starts(&shifts, window.start);
        let about = |kind, s: &notice::ShiftStart, open: Vec<OpenIncident>| ShiftAbout {
            kind,
            schedule: full.info.name.clone(),
            by: None,
            start_ms: s.start.as_millisecond(),
            end_ms: s.end.as_millisecond(),
            open,
            link: format!("/schedules/{}", full.info.id),
        };
        for s in notice::reminders_due(&starts, at, notice::REMINDER_LEAD_MS) {
            jobs.push(ShiftNotice {
                user_id: s.user.clone(),
                key: format!(
                    "reminder:{}:{}:{}",
                    full.info.id,
                    s.user,
                    s.start.as_millisecond()
                ),
                about: about(NoticeKind::Reminder, &s, vec![]),
                contact_id: None,
            });
        }
        for s in notice::handoffs_due(&starts, at) {
            if paging.is_none() {
                paging = Some(Paging::load(state).await?);
            }
            let open = paging
                .as_ref()
                .map(|p| p.open_for(&full.info.id))
                .unwrap_or_default();
            let mut a = about(NoticeKind::Handoff, &s, open);
            a.link = "/oncall".into();
            jobs.push(ShiftNotice {
                user_id: s.user.clone(),
                key: format!(
                    "handoff:{}:{}:{}",
                    full.info.id,
                    s.user,
                    s.start.as_millisecond()
                ),
                about: a,
                contact_id: None,
            });
        }
    }
    state.store.enqueue_notices(&jobs, now).await?;
    Ok(())
}

/// What hand-off summaries are made from: the open on-call incidents, the policies and which
/// service uses which.
struct Paging {
    open: Vec<app::domain::oncall::OncallIncident>,
    policies: Vec<app::domain::escalation::Policy>,
    services: Vec<(String, Option<String>)>,
}

impl Paging {
    async fn load(state: &AppState) -> Result<Paging, StoreError> {
        let mut open = state
            .store
            .oncall_incidents(&OncallFilter {
                open_only: true,
                limit: 500,
                ..Default::default()
            })
            .await?;
        open.sort_by_key(|i| i.number);
        let policies = state.store.policies().await?;
        let mut services = Vec::new();
        for s in state.store.services().await? {
            let policy = state.store.service_paging(&s.id).await?.policy_id;
            services.push((s.id, policy));
        }
        Ok(Paging {
            open,
            policies,
            services,
        })
    }

    /// The open incidents on the services whose policy pages `schedule_id`, oldest first.
    fn open_for(&self, schedule_id: &str) -> Vec<OpenIncident> {
        let services = notice::services_paging(schedule_id, &self.policies, &self.services);
        self.open
            .iter()
            .filter(|i| i.service_id.as_ref().is_some_and(|s| services.contains(s)))
            .map(|i| OpenIncident {
                number: i.number,
                title: i.title.clone(),
                service: i.service_name.clone(),
                state: i.state.as_str().to_string(),
            })
            .collect()
    }
}
