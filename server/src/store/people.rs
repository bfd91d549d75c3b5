//! People and teams in the store: invitations (only a SHA-256 hash of each token is kept),
//! accepting one (the account, its teams, its first contact method and its session in one
//! transaction), deactivating and reactivating accounts, teams, and contact methods.

use std::collections::BTreeMap;

use app::domain::account::{NewUser, Role, User};
use app::domain::people::{
    contact_removable, leave_overrides, leave_roster, team_deletable, InvitationState, Invite,
    NewContact, OverrideEdit,
};
use app::domain::permission::{self, Action, Actor, Refusal, Relation};
use app::domain::schedule::{Override, RosterChange, UserId};
use jiff::Timestamp;

use super::tx::{sql, Tx};
use super::{found, map_unique, new_id, Store, StoreError, Team, UserRow, USER_COLS};

/// Every table that can point at a team, as (what it is called, a count of the team's rows
/// with the team id as `$1`). A team owning anything cannot be deleted.
pub const TEAM_OWNERS: &[(&str, &str)] = &[
    ("services", "SELECT COUNT(*) FROM services WHERE team_id = $1"),
    (
        "escalation policies",
        // Steps are JSON; a team target is `{"id":"ID","kind":"team"}` (keys sorted as stored;
        // the other order too, should a writer keep its fields' order).
        "SELECT COUNT(*) FROM escalation_policies WHERE steps LIKE '%\"id\":\"' || $1 || '\",\"kind\":\"team\"%' \
         OR steps LIKE '%\"kind\":\"team\",\"id\":\"' || $1 || '\"%'",
    ),
];

/// An invitation to join (never its token: only the token's hash is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: String,
    /// Whom it is for.
    pub email: String,
    /// The role they will have.
    pub role: Role,
    /// Teams they will join.
    pub team_ids: Vec<String>,
    /// The admin who made it.
    pub invited_by: Option<String>,
    /// When it was made, Unix ms.
    pub created_at: i64,
    /// When its link stops working, Unix ms.
    pub expires_at: i64,
    /// When it was used.
    pub accepted_at: Option<i64>,
    /// When an admin took it back.
    pub revoked_at: Option<i64>,
}

impl Invitation {
    /// Where it stands at `now` (Unix ms).
    pub fn state(&self, now: i64) -> InvitationState {
        InvitationState::at(self.accepted_at, self.revoked_at, self.expires_at, now)
    }
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    email: String,
    role: String,
    team_ids: String,
    invited_by: Option<String>,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Self, StoreError> {
        Ok(Invitation {
            role: r
                .role
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("invitation role {:?}", r.role)))?,
            team_ids: serde_json::from_str(&r.team_ids)
                .map_err(|e| StoreError::Corrupt(format!("invitation team_ids: {e}")))?,
            id: r.id,
            email: r.email,
            invited_by: r.invited_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            accepted_at: r.accepted_at,
            revoked_at: r.revoked_at,
        })
    }
}

const INVITATION_COLS: &str =
    "id, email, role, team_ids, invited_by, created_at, expires_at, accepted_at, revoked_at";

/// A way to reach a person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactMethod {
    /// Id.
    pub id: String,
    /// `email`, `push`, `sms`, `chat` or `webhook`.
    pub kind: String,
    /// The address, number or URL.
    pub target: String,
    /// Optional label.
    pub label: Option<String>,
    /// When it was shown to work, Unix ms.
    pub verified_at: Option<i64>,
    /// When it was added, Unix ms.
    pub created_at: i64,
    /// Per kind settings (JSON): push keys, chat flavour, webhook secret.
    pub config: String,
    /// Why it stopped working (a push subscription gone), if it did.
    pub disabled_reason: Option<String>,
}

impl ContactMethod {
    /// As the notification rules see it.
    pub fn method(&self) -> Option<app::domain::notify::Method> {
        Some(app::domain::notify::Method {
            id: self.id.clone(),
            kind: app::domain::notify::MethodKind::parse(&self.kind)?,
            verified: self.verified_at.is_some(),
            disabled: self.disabled_reason.is_some(),
        })
    }

    /// As a channel needs it.
    pub fn contact(&self) -> Option<crate::notify::Contact> {
        Some(crate::notify::Contact {
            id: self.id.clone(),
            kind: app::domain::notify::MethodKind::parse(&self.kind)?,
            target: self.target.clone(),
            label: self.label.clone(),
            config: serde_json::from_str(&self.config).unwrap_or_default(),
        })
    }
}

/// The columns [`ContactMethod`] reads.
pub(crate) const CONTACT_COLS: &str =
    "id, kind, target, label, verified_at, created_at, config, disabled_reason";

/// What a deactivation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeactivateOutcome {
    /// Sessions ended.
    pub sessions_ended: u64,
    /// Roster rows written (the person taken off).
    pub rosters_changed: usize,
    /// Their overrides ended or removed.
    pub overrides_changed: usize,
}

/// Inserts a user and their login email as their first (verified) contact method.
pub(crate) async fn insert_user(
    tx: &mut Tx,
    user: &NewUser,
    password_hash: &str,
    now: i64,
) -> Result<User, StoreError> {
    let id = new_id();
    tx.execute(
        sql(
            "INSERT INTO users (id, email, name, time_zone, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.time_zone)
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(now),
    )
    .await
    .map_err(|e| map_unique(e, "email"))?;
    tx.execute(
        sql("INSERT INTO contact_methods (id, user_id, kind, target, label, verified_at, created_at) \
             VALUES ($1, $2, 'email', $3, 'Login email', $4, $4)")
        .bind(new_id())
        .bind(&id)
        .bind(&user.email)
        .bind(now),
    )
    .await?;
    Ok(User {
        id,
        email: user.email.clone(),
        name: user.name.clone(),
        time_zone: user.time_zone.clone(),
        role: user.role,
        created_at: now,
        deactivated_at: None,
    })
}

/// A session to start along with a new account.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The hash of the cookie's token.
    pub token_hash: &'a str,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
    /// When it ends, Unix ms.
    pub expires_at: i64,
}

impl Store {
    // ---- invitations ----

    /// Stores an invitation under the hash of its token. `Conflict { field: "email" }` when
    /// someone already has an account with that email.
    pub async fn create_invitation(
        &self,
        invite: &Invite,
        token_hash: &str,
        invited_by: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Invitation, StoreError> {
        let teams = serde_json::to_string(&invite.team_ids)
            .map_err(|e| StoreError::Corrupt(format!("team ids: {e}")))?;
        let id = new_id();
        let mut tx = self.begin().await?;
        let taken: Option<(String,)> = tx
            .fetch_optional(sql("SELECT id FROM users WHERE email = $1").bind(&invite.email))
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict { field: "email" });
        }
        tx.execute(
            sql("INSERT INTO invitations (id, token_hash, email, role, team_ids, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(token_hash)
            .bind(&invite.email)
            .bind(invite.role.as_str())
            .bind(&teams)
            .bind(invited_by)
            .bind(now)
            .bind(expires_at),
        )
        .await?;
        tx.commit().await?;
        Ok(Invitation {
            id,
            email: invite.email.clone(),
            role: invite.role,
            team_ids: invite.team_ids.clone(),
            invited_by: Some(invited_by.to_string()),
            created_at: now,
            expires_at,
            accepted_at: None,
            revoked_at: None,
        })
    }

    /// The latest invitations (at most `limit`), newest first.
    pub async fn list_invitations(&self, limit: i64) -> Result<Vec<Invitation>, StoreError> {
        let q = format!(
            "SELECT {INVITATION_COLS} FROM invitations ORDER BY created_at DESC, id LIMIT $1"
        );
        let rows: Vec<InvitationRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(Invitation::try_from).collect()
    }

    /// The invitation whose token hashes to `token_hash`.
    pub async fn invitation_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Invitation, StoreError> {
        let q = format!("SELECT {INVITATION_COLS} FROM invitations WHERE token_hash = $1");
        let row: Option<InvitationRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(token_hash).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Takes a pending invitation back; `NotFound` unless it exists and is neither used nor
    /// revoked.
    pub async fn revoke_invitation(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        found(n)
    }

    /// Joins with an invitation, in one transaction: marks it used (only if it still works at
    /// `now`), creates the account with the invited email and role, its first contact method,
    /// its team memberships (teams deleted meanwhile are skipped), a welcome notice (shown on
    /// the dashboard) and its session. The inner
    /// `Err` says why the link no longer works; of two racing acceptances one gets it.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        user: &NewUser,
        password_hash: &str,
        session: &NewSession<'_>,
        now: i64,
    ) -> Result<Result<User, InvitationState>, StoreError> {
        let mut tx = self.begin().await?;
        let q = format!("SELECT {INVITATION_COLS} FROM invitations WHERE token_hash = $1");
        let row: Option<InvitationRow> = tx.fetch_optional(sql(q).bind(token_hash)).await?;
        let inv = Invitation::try_from(row.ok_or(StoreError::NotFound)?)?;
        let state = inv.state(now);
        if state != InvitationState::Pending {
            return Ok(Err(state));
        }
        if user.email != inv.email || user.role != inv.role {
            return Err(StoreError::Corrupt(
                "an invitation is accepted with its own email and role".into(),
            ));
        }
        // The claim: a concurrent acceptance that got here first has set accepted_at, and on
        // PostgreSQL this statement waits for it and then matches nothing.
        let claimed = tx
            .execute(
                sql("UPDATE invitations SET accepted_at = $1 \
                     WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
                .bind(now)
                .bind(&inv.id),
            )
            .await?;
        if claimed == 0 {
            return Ok(Err(InvitationState::Accepted));
        }
        let created = insert_user(&mut tx, user, password_hash, now).await?;
        let mut joined = Vec::new();
        for team in &inv.team_ids {
            let name: Option<(String,)> = tx
                .fetch_optional(sql("SELECT name FROM teams WHERE id = $1").bind(team))
                .await?;
            let Some((name,)) = name else { continue };
            tx.execute(
                sql("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                    .bind(team)
                    .bind(&created.id),
            )
            .await?;
            joined.push(name);
        }
        let welcome = if joined.is_empty() {
            format!(
                "Welcome to Firstline, {}. You joined as {}.",
                created.name,
                created.role.as_str()
            )
        } else {
            format!(
                "Welcome to Firstline, {}. You joined as {} in {}.",
                created.name,
                created.role.as_str(),
                joined.join(", ")
            )
        };
        tx.execute(
            sql("INSERT INTO notices (id, user_id, message, link, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(new_id())
                .bind(&created.id)
                .bind(welcome)
                .bind("/profile")
                .bind(now),
        )
        .await?;
        tx.execute(
            sql(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.token_hash)
            .bind(&created.id)
            .bind(session.csrf_token)
            .bind(now)
            .bind(session.expires_at),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(created))
    }

    // ---- accounts ----

    /// One user by id, active or not.
    pub async fn user(&self, id: &str) -> Result<User, StoreError> {
        let q = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let row: Option<UserRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// How many admins have an active account.
    pub async fn active_admin_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL")
            .fetch_one(p)
            .await)?;
        Ok(n)
    }

    /// Deactivates `person` at `now`, if [`permission::check`] lets `actor` do it on the
    /// numbers read inside this transaction (never oneself, never the last active admin): ends
    /// every session of theirs, takes them off every roster from `leave_from` on
    /// ([`leave_roster`]) and ends their overrides then ([`leave_overrides`]: one that starts
    /// later is a plan and is removed; one running across is cut). Their account and history
    /// stay. The inner `Err` is the refusal.
    pub async fn deactivate_user(
        &self,
        actor: Actor<'_>,
        person: &str,
        leave_from: Timestamp,
        now: i64,
    ) -> Result<Result<DeactivateOutcome, Refusal>, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<(String, Option<i64>)> = tx
            .fetch_optional(
                sql("SELECT role, deactivated_at FROM users WHERE id = $1").bind(person),
            )
            .await?;
        let (role, deactivated_at) = row.ok_or(StoreError::NotFound)?;
        // Counted by a no-op update, which locks the active admins' rows on PostgreSQL: of two
        // admins deactivating each other at once, the second waits for the first, then counts
        // again and finds itself the last one (SQLite's write transaction already serialises).
        let admins = tx
            .execute(sql(
                "UPDATE users SET role = role WHERE role = 'admin' AND deactivated_at IS NULL",
            ))
            .await?;
        let action = Action::Deactivate {
            person,
            person_is_active_admin: role == "admin" && deactivated_at.is_none(),
            active_admins: usize::try_from(admins).unwrap_or(0),
        };
        if let Err(r) = permission::check(Some(actor), Relation::default(), &action) {
            return Ok(Err(r));
        }
        if deactivated_at.is_some() {
            return Ok(Err(Refusal::Invalid(app::domain::ValidationError::new(
                "person",
                "this account is already deactivated",
            ))));
        }
        tx.execute(
            sql("UPDATE users SET deactivated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(person),
        )
        .await?;
        let sessions_ended = tx
            .execute(sql("DELETE FROM sessions WHERE user_id = $1").bind(person))
            .await?;
        // Every roster row of the layers the person is in now or later (participants are a
        // JSON list of ids: the LIKE only narrows, the decision reads the list).
        let rows: Vec<(String, i64, String)> = tx
            .fetch_all(
                sql("SELECT layer_id, effective_from, participants FROM layer_rosters \
                     WHERE layer_id IN (SELECT layer_id FROM layer_rosters WHERE participants LIKE $1) \
                     ORDER BY layer_id, effective_from")
                .bind(format!("%\"{person}\"%")),
            )
            .await?;
        let mut layers: BTreeMap<String, Vec<RosterChange>> = BTreeMap::new();
        for (layer, from, participants) in rows {
            let participants: Vec<UserId> = serde_json::from_str(&participants)
                .map_err(|e| StoreError::Corrupt(format!("participants: {e}")))?;
            layers.entry(layer).or_default().push(RosterChange {
                effective_from: Timestamp::from_millisecond(from)
                    .map_err(|e| StoreError::Corrupt(format!("effective_from: {e}")))?,
                participants,
            });
        }
        let mut rosters_changed = 0;
        for (layer, mut rosters) in layers {
            for (from, participants) in leave_roster(&mut rosters, person, leave_from) {
                let list = serde_json::to_string(&participants)
                    .map_err(|e| StoreError::Corrupt(format!("participants: {e}")))?;
                tx.execute(
                    sql("DELETE FROM layer_rosters WHERE layer_id = $1 AND effective_from = $2")
                        .bind(&layer)
                        .bind(from.as_millisecond()),
                )
                .await?;
                tx.execute(
                    sql("INSERT INTO layer_rosters (layer_id, effective_from, participants, created_at) \
                         VALUES ($1, $2, $3, $4)")
                    .bind(&layer)
                    .bind(from.as_millisecond())
                    .bind(&list)
                    .bind(now),
                )
                .await?;
                rosters_changed += 1;
            }
        }
        // Their overrides that reach past the leaving instant.
        let rows: Vec<(String, i64, i64)> = tx
            .fetch_all(
                sql("SELECT id, start_at, end_at FROM schedule_overrides \
                     WHERE user_id = $1 AND end_at > $2 ORDER BY start_at, id")
                .bind(person)
                .bind(leave_from.as_millisecond()),
            )
            .await?;
        let mut overrides = Vec::new();
        for (id, start, end) in rows {
            let at = |ms: i64| {
                Timestamp::from_millisecond(ms)
                    .map_err(|e| StoreError::Corrupt(format!("override time: {e}")))
            };
            overrides.push(Override {
                id,
                user: person.to_string(),
                start: at(start)?,
                end: at(end)?,
                replaces: None,
            });
        }
        let override_edits = leave_overrides(&mut overrides, person, leave_from);
        for edit in &override_edits {
            match edit {
                OverrideEdit::Remove(id) => {
                    tx.execute(sql("DELETE FROM schedule_overrides WHERE id = $1").bind(id))
                        .await?
                }
                OverrideEdit::EndAt(id, end) => {
                    tx.execute(
                        sql("UPDATE schedule_overrides SET end_at = $1 WHERE id = $2")
                            .bind(end.as_millisecond())
                            .bind(id),
                    )
                    .await?
                }
            };
        }
        tx.commit().await?;
        Ok(Ok(DeactivateOutcome {
            sessions_ended,
            rosters_changed,
            overrides_changed: override_edits.len(),
        }))
    }

    /// Lets a deactivated person log in again (they are not put back on any roster).
    pub async fn reactivate_user(&self, id: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE users SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        found(n)
    }

    // ---- teams ----

    /// One team with its members.
    pub async fn team(&self, id: &str) -> Result<Team, StoreError> {
        self.list_teams()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// Renames a team; `Conflict { field: "name" }` when another team has the name.
    pub async fn rename_team(&self, id: &str, name: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("UPDATE teams SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| map_unique(e, "name"))?;
        found(n)
    }

    /// Deletes a team that owns nothing (every table of [`TEAM_OWNERS`] is asked, in the same
    /// transaction); its memberships go with it. `Invalid` (field `team`) when it owns anything.
    pub async fn delete_team(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // Lock the team first: a service being given to it waits, and is counted.
        let n = tx
            .execute(sql("UPDATE teams SET name = name WHERE id = $1").bind(id))
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let mut owned = Vec::new();
        for (what, count) in TEAM_OWNERS {
            let (n,): (i64,) = tx.fetch_one(sql(*count).bind(id)).await?;
            owned.push((*what, n));
        }
        team_deletable(&owned)?;
        tx.execute(sql("DELETE FROM team_members WHERE team_id = $1").bind(id))
            .await?;
        tx.execute(sql("DELETE FROM teams WHERE id = $1").bind(id))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a team's active members to exactly `user_ids`, each of which must be an active
    /// account (`Invalid`, field `members`, otherwise); deactivated members stay members.
    pub async fn set_team_members(&self, id: &str, user_ids: &[String]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let exists: Option<(String,)> = tx
            .fetch_optional(sql("SELECT id FROM teams WHERE id = $1").bind(id))
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        // Deactivated members are not offered in the form, so their memberships stay as they
        // are (they come back with a reactivation).
        tx.execute(
            sql("DELETE FROM team_members WHERE team_id = $1 \
                 AND user_id IN (SELECT id FROM users WHERE deactivated_at IS NULL)")
            .bind(id),
        )
        .await?;
        let mut seen: Vec<&str> = Vec::new();
        for user in user_ids {
            if seen.contains(&user.as_str()) {
                continue;
            }
            seen.push(user);
            let n = tx
                .execute(
                    sql("INSERT INTO team_members (team_id, user_id) \
                         SELECT $1, id FROM users WHERE id = $2 AND deactivated_at IS NULL")
                    .bind(id)
                    .bind(user),
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Invalid(app::domain::ValidationError::new(
                    "members",
                    "one of the people is not an active account; reload the page",
                )));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ids of the teams `user_id` belongs to.
    pub async fn team_ids_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
            .bind(user_id)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    // ---- contact methods ----

    /// A person's contact methods, oldest first.
    pub async fn contact_methods(&self, user_id: &str) -> Result<Vec<ContactMethod>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            &format!("SELECT {CONTACT_COLS} FROM contact_methods \
             WHERE user_id = $1 ORDER BY created_at, id"))
            .bind(user_id)
            .fetch_all(p)
            .await)?)
    }

    /// Adds an email contact method (not verified yet); `Conflict { field: "email" }` when the
    /// person already has it.
    pub async fn add_email_contact(
        &self,
        user_id: &str,
        contact: &NewContact,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO contact_methods (id, user_id, kind, target, label, created_at) \
             VALUES ($1, $2, 'email', $3, $4, $5)")
            .bind(&id)
            .bind(user_id)
            .bind(&contact.email)
            .bind(contact.label.as_deref())
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| map_unique(e, "email"))?;
        Ok(id)
    }

    /// Removes one of `user_id`'s contact methods, unless it is their last email address
    /// (`Invalid`, field `contact`). `NotFound` when it is not theirs.
    pub async fn remove_contact(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<(String,)> = tx
            .fetch_optional(
                sql("SELECT kind FROM contact_methods WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id),
            )
            .await?;
        let (kind,) = row.ok_or(StoreError::NotFound)?;
        // Counted by a no-op update that locks the person's email rows (PostgreSQL), so two
        // removals at once cannot each leave the other as the last address.
        let emails = tx
            .execute(
                sql("UPDATE contact_methods SET kind = kind WHERE user_id = $1 AND kind = 'email'")
                    .bind(user_id),
            )
            .await?;
        let others = usize::try_from(emails)
            .unwrap_or(0)
            .saturating_sub(usize::from(kind == "email"));
        contact_removable(&kind, others)?;
        tx.execute(
            sql("DELETE FROM contact_methods WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
