//! The one store module: every query Firstline runs, on SQLite (embedded default) or PostgreSQL.
//!
//! Each query is written once; [`on_pool!`] expands it for both backends. The SQL sticks to the
//! common subset (`$n` placeholders, `ON CONFLICT`, `RETURNING`), and times are stored as Unix
//! milliseconds so both backends sort and compare them the same way.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::domain::account::{NewUser, Role};
use crate::domain::status::{ComponentDraft, ComponentStatus};
use crate::domain::uptime;

/// A store failure. `Conflict` and `NotFound` are the caller's to show; the rest are bugs or outages.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field already holds this value.
    #[error("{field} is already taken")]
    Conflict {
        /// Which field.
        field: &'static str,
    },
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL is not `sqlite:` or `postgres:`.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    BadUrl(String),
    /// Anything else the database said.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that cannot be read back (corrupt row).
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// The input refers to something that does not exist or cannot be used (shown to the caller).
    #[error(transparent)]
    Invalid(#[from] crate::domain::ValidationError),
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool of either backend.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.db {
            Db::Sqlite($p) => $body,
            Db::Postgres($p) => $body,
        }
    };
}

/// Sets component `$id` to `$new` inside transaction `$tx`: records the change, and adds the time
/// spent in the old status to the per-day aggregates (the uptime bars). Evaluates to
/// `Result<Option<old status>, StoreError>`: `None` when the status was already `$new`.
macro_rules! apply_status {
    ($tx:ident, $id:expr, $new:expr, $by:expr, $now:expr) => {{
        let new: ComponentStatus = $new;
        let now: i64 = $now;
        // Lock the row first (a no-op write), so concurrent changes on PostgreSQL queue up
        // instead of both adding the same interval to the aggregates.
        sqlx::query("UPDATE components SET status_since = status_since WHERE id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT status, status_since FROM components WHERE id = $1")
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await?;
        match row {
            None => Err(StoreError::NotFound),
            Some((old, _)) if old == new.as_str() => Ok(None),
            Some((old, since)) => {
                let old_status = ComponentStatus::from_str(&old)
                    .map_err(|_| StoreError::Corrupt(format!("status {old:?}")))?;
                sqlx::query(
                    "UPDATE components SET status = $1, status_since = $2, updated_at = $2 WHERE id = $3",
                )
                .bind(new.as_str())
                .bind(now)
                .bind($id)
                .execute(&mut *$tx)
                .await?;
                sqlx::query(
                    "INSERT INTO component_status_changes (component_id, old_status, new_status, changed_by, changed_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($id)
                .bind(&old)
                .bind(new.as_str())
                .bind($by)
                .bind(now)
                .execute(&mut *$tx)
                .await?;
                let start = since.clamp(now - 92 * uptime::DAY_MS, now);
                let mut mark = uptime::DayAggregate::default();
                mark.add(new, 0);
                for (day, agg) in uptime::interval_days(old_status, start, now)
                    .into_iter()
                    .chain([(uptime::day_of(now), mark)])
                {
                    add_daily!($tx, $id, day, agg);
                }
                Ok(Some(old_status))
            }
        }
    }};
}

/// Queues a background job inside transaction `$tx`, so it exists exactly when the change does.
macro_rules! enqueue {
    ($tx:ident, $kind:expr, $payload:expr, $now:expr) => {{
        sqlx::query("INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ($1, $2, $3, $3)")
            .bind($kind)
            .bind($payload)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Adds one day's aggregate for a component inside transaction `$tx`.
macro_rules! add_daily {
    ($tx:ident, $id:expr, $day:expr, $agg:expr) => {{
        let agg: uptime::DayAggregate = $agg;
        sqlx::query(
            "INSERT INTO component_daily (component_id, day, worst_rank, degraded_ms, partial_ms, major_ms, maintenance_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (component_id, day) DO UPDATE SET \
             worst_rank = CASE WHEN excluded.worst_rank > component_daily.worst_rank \
                 THEN excluded.worst_rank ELSE component_daily.worst_rank END, \
             degraded_ms = component_daily.degraded_ms + excluded.degraded_ms, \
             partial_ms = component_daily.partial_ms + excluded.partial_ms, \
             major_ms = component_daily.major_ms + excluded.major_ms, \
             maintenance_ms = component_daily.maintenance_ms + excluded.maintenance_ms",
        )
        .bind($id)
        .bind(uptime::day_label($day))
        .bind(i64::from(agg.worst_rank))
        .bind(agg.degraded_ms)
        .bind(agg.partial_ms)
        .bind(agg.major_ms)
        .bind(agg.maintenance_ms)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Finds or creates the group named `$name` inside transaction `$tx`; evaluates to its id.
macro_rules! ensure_group {
    ($tx:ident, $name:expr, $now:expr) => {{
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT id FROM component_groups WHERE name = $1")
                .bind($name)
                .fetch_optional(&mut *$tx)
                .await?;
        match existing {
            Some((gid,)) => gid,
            None => {
                let gid = new_id();
                sqlx::query(
                    "INSERT INTO component_groups (id, name, position, created_at, updated_at) \
                     VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM component_groups), $3, $3)",
                )
                .bind(&gid)
                .bind($name)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
                gid
            }
        }
    }};
}

/// How each backend starts a transaction that will write.
pub(crate) trait WriteBegin: sqlx::Database {
    const BEGIN: &'static str;
}
impl WriteBegin for sqlx::Sqlite {
    // Take the write lock up front: a deferred transaction that reads first can fail with
    // SQLITE_BUSY_SNAPSHOT when it later writes, which the busy timeout does not retry.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
}
impl WriteBegin for sqlx::Postgres {
    const BEGIN: &'static str = "BEGIN";
}

pub(crate) async fn begin_write<DB: WriteBegin>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    pool.begin_with(DB::BEGIN).await
}

/// Cheap to clone handle to the database pool.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A user account as the rest of the app sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Login email, lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Role.
    pub role: Role,
    /// Creation time, Unix ms.
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    name: String,
    time_zone: String,
    role: String,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            role: r
                .role
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("role {:?}", r.role)))?,
            id: r.id,
            email: r.email,
            name: r.name,
            time_zone: r.time_zone,
            created_at: r.created_at,
        })
    }
}

/// A team and its members' ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Members, by name.
    pub members: Vec<User>,
}

/// A status-page component as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Stable id.
    pub id: String,
    /// Unique display name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Group id, if grouped.
    pub group_id: Option<String>,
    /// Group name, if grouped.
    pub group_name: Option<String>,
    /// The group's position among groups (0 when ungrouped).
    pub group_position: i64,
    /// Position within its group.
    pub position: i64,
    /// Current status.
    pub status: ComponentStatus,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last change, Unix ms.
    pub updated_at: i64,
    /// Since when it has had its current status, Unix ms.
    pub status_since: i64,
}

#[derive(sqlx::FromRow)]
struct ComponentRow {
    id: String,
    name: String,
    description: Option<String>,
    group_id: Option<String>,
    group_name: Option<String>,
    group_position: Option<i64>,
    position: i64,
    status: String,
    created_at: i64,
    updated_at: i64,
    status_since: i64,
}

impl TryFrom<ComponentRow> for Component {
    type Error = StoreError;
    fn try_from(r: ComponentRow) -> Result<Self, StoreError> {
        Ok(Component {
            status: ComponentStatus::from_str(&r.status)
                .map_err(|_| StoreError::Corrupt(format!("status {:?}", r.status)))?,
            id: r.id,
            name: r.name,
            description: r.description,
            group_id: r.group_id,
            group_name: r.group_name,
            group_position: r.group_position.unwrap_or(0),
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
            status_since: r.status_since,
        })
    }
}

/// A group of components on the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentGroup {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Position among groups.
    pub position: i64,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

/// A session found by its token.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Who is logged in.
    pub user: User,
    /// The session's CSRF token, embedded in every form.
    pub csrf_token: String,
}

/// A short lowercase alphanumeric id (Statuspage-style), 12 characters of base 36.
pub fn new_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `Ok` when a statement touched a row, `NotFound` otherwise.
pub(crate) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub(crate) fn map_unique(e: sqlx::Error, field: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { field },
        _ => StoreError::Db(e),
    }
}

const COMPONENT_SELECT: &str = "SELECT c.id, c.name, c.description, c.group_id, g.name AS group_name, g.position AS group_position, \
     c.position, c.status, c.created_at, c.updated_at, c.status_since \
     FROM components c LEFT JOIN component_groups g ON g.id = c.group_id";

impl Store {
    /// Opens a pool for `url` (`sqlite://path` or `sqlite::memory:`, `postgres://...`).
    /// A SQLite file is created if missing, in WAL mode with full fsync on commit.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .connect_with(opts)
                .await?;
            Ok(Store {
                db: Db::Sqlite(pool),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Store {
                db: Db::Postgres(pool),
            })
        } else {
            Err(StoreError::BadUrl(url.to_string()))
        }
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool, waiting for queries in flight.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// Tells other instances (PostgreSQL `NOTIFY`) that something on `channel` changed.
    /// A no-op on SQLite, where there is only one instance.
    pub async fn notify(&self, channel: &str) -> Result<(), StoreError> {
        if let Db::Postgres(p) = &self.db {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(channel)
                .execute(p)
                .await?;
        }
        Ok(())
    }

    /// A `LISTEN`ing connection on PostgreSQL; `None` on SQLite.
    pub async fn listener(
        &self,
        channel: &str,
    ) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match &self.db {
            Db::Postgres(p) => {
                let mut l = sqlx::postgres::PgListener::connect_with(p).await?;
                l.listen(channel).await?;
                Ok(Some(l))
            }
            Db::Sqlite(_) => Ok(None),
        }
    }

    // ---- settings ----

    /// Reads a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let v: Option<(String,)> = on_pool!(self, p => sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(p)
            .await)?;
        Ok(v.map(|(v,)| v))
    }

    /// Stores `value` under `key` unless the key exists; returns the value now stored.
    /// Safe when several instances race to initialise the same key.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        on_pool!(self, p => sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        self.setting(key).await?.ok_or(StoreError::NotFound)
    }

    // ---- users and teams ----

    /// Creates a user with an already-hashed password.
    pub async fn create_user(
        &self,
        user: &NewUser,
        password_hash: &str,
        now: i64,
    ) -> Result<User, StoreError> {
        let id = new_id();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO users (id, email, name, time_zone, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(&user.time_zone)
            .bind(user.role.as_str())
            .bind(password_hash)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| map_unique(e, "email"))?;
        Ok(User {
            id,
            email: user.email.clone(),
            name: user.name.clone(),
            time_zone: user.time_zone.clone(),
            role: user.role,
            created_at: now,
        })
    }

    /// Replaces a user's password hash (and ends their sessions).
    pub async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        })?;
        found(n)
    }

    /// Finds a user and their password hash by email (for login).
    pub async fn user_with_hash_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, email, name, time_zone, role, created_at, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(p)
            .await)?;
        row.map(|r| Ok((User::try_from(r.user)?, r.password_hash)))
            .transpose()
    }

    /// Finds a user by email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(self.user_with_hash_by_email(email).await?.map(|(u, _)| u))
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, email, name, time_zone, role, created_at FROM users ORDER BY name, email")
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(User::try_from).collect()
    }

    /// Number of users (0 on a fresh database).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            on_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(p).await)?;
        Ok(n)
    }

    /// Creates a team.
    pub async fn create_team(
        &self,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        on_pool!(self, p => sqlx::query("INSERT INTO teams (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(name)
            .bind(description)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| map_unique(e, "name"))?;
        Ok(id)
    }

    /// Adds a user to a team (no-op if already a member).
    pub async fn add_team_member(&self, team_id: &str, user_id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(team_id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// All teams with their members, by name.
    pub async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct TeamRow {
            id: String,
            name: String,
            description: Option<String>,
        }
        #[derive(sqlx::FromRow)]
        struct MemberRow {
            team_id: String,
            #[sqlx(flatten)]
            user: UserRow,
        }
        let (teams, members): (Vec<TeamRow>, Vec<MemberRow>) = on_pool!(self, p => {
            let teams = sqlx::query_as("SELECT id, name, description FROM teams ORDER BY name")
                .fetch_all(p)
                .await?;
            let members = sqlx::query_as(
                "SELECT m.team_id, u.id, u.email, u.name, u.time_zone, u.role, u.created_at \
                 FROM team_members m JOIN users u ON u.id = m.user_id ORDER BY u.name")
                .fetch_all(p)
                .await?;
            Ok::<_, sqlx::Error>((teams, members))
        })?;
        let mut out: Vec<Team> = teams
            .into_iter()
            .map(|t| Team {
                id: t.id,
                name: t.name,
                description: t.description,
                members: Vec::new(),
            })
            .collect();
        for m in members {
            if let Some(t) = out.iter_mut().find(|t| t.id == m.team_id) {
                t.members.push(User::try_from(m.user)?);
            }
        }
        Ok(out)
    }

    // ---- sessions ----

    /// Stores a new session.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The live session for a token hash, if any.
    pub async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionInfo>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            csrf_token: String,
        }
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.time_zone, u.role, u.created_at, s.csrf_token \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(p)
            .await)?;
        row.map(|r| {
            Ok(SessionInfo {
                user: User::try_from(r.user)?,
                csrf_token: r.csrf_token,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let r = on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(r)
    }

    // ---- components ----

    /// All components with their group, in no particular order.
    pub async fn list_components(&self) -> Result<Vec<Component>, StoreError> {
        let sql = format!("{COMPONENT_SELECT} ORDER BY g.position, g.name, c.position, c.name");
        let rows: Vec<ComponentRow> = on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        rows.into_iter().map(Component::try_from).collect()
    }

    /// All component groups: `(id, name, position, created_at, updated_at)`, in display order.
    pub async fn list_component_groups(&self) -> Result<Vec<ComponentGroup>, StoreError> {
        let rows: Vec<(String, String, i64, i64, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, position, created_at, updated_at FROM component_groups ORDER BY position, name")
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, position, created_at, updated_at)| ComponentGroup {
                    id,
                    name,
                    position,
                    created_at,
                    updated_at,
                },
            )
            .collect())
    }

    /// One component.
    pub async fn component(&self, id: &str) -> Result<Component, StoreError> {
        let sql = format!("{COMPONENT_SELECT} WHERE c.id = $1");
        let row: Option<ComponentRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Creates a component (and its group, if new) in one transaction.
    pub async fn create_component(
        &self,
        draft: &ComponentDraft,
        by: Option<&str>,
        now: i64,
    ) -> Result<Component, StoreError> {
        let id = new_id();
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let group_id = match &draft.group {
                Some(name) => Some(ensure_group!(tx, name, now)),
                None => None,
            };
            sqlx::query(
                "INSERT INTO components (id, name, description, group_id, position, status, created_at, updated_at, status_since) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)")
                .bind(&id)
                .bind(&draft.name)
                .bind(&draft.description)
                .bind(&group_id)
                .bind(draft.position)
                .bind(draft.status.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, "name"))?;
            sqlx::query(
                "INSERT INTO component_status_changes (component_id, old_status, new_status, changed_by, changed_at) \
                 VALUES ($1, NULL, $2, $3, $4)")
                .bind(&id)
                .bind(draft.status.as_str())
                .bind(by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let mut mark = uptime::DayAggregate::default();
            mark.add(draft.status, 0);
            add_daily!(tx, &id, uptime::day_of(now), mark);
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.component(&id).await
    }

    /// Replaces a component's fields (name, description, group, position, status).
    pub async fn update_component(
        &self,
        id: &str,
        draft: &ComponentDraft,
        by: Option<&str>,
        now: i64,
    ) -> Result<Component, StoreError> {
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            apply_status!(tx, id, draft.status, by, now)?;
            let group_id = match &draft.group {
                Some(name) => Some(ensure_group!(tx, name, now)),
                None => None,
            };
            sqlx::query(
                "UPDATE components SET name = $1, description = $2, group_id = $3, position = $4, \
                 updated_at = $5 WHERE id = $6")
                .bind(&draft.name)
                .bind(&draft.description)
                .bind(&group_id)
                .bind(draft.position)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, "name"))?;
            sqlx::query("DELETE FROM component_groups WHERE id NOT IN \
                         (SELECT group_id FROM components WHERE group_id IS NOT NULL)")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.component(id).await
    }

    /// Sets only the status; records the change. Returns the component as stored.
    pub async fn set_component_status(
        &self,
        id: &str,
        status: ComponentStatus,
        by: Option<&str>,
        now: i64,
    ) -> Result<Component, StoreError> {
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            apply_status!(tx, id, status, by, now)?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.component(id).await
    }

    /// Deletes a component and its history; removes its group if now empty.
    pub async fn delete_component(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let n = sqlx::query("DELETE FROM components WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM component_groups WHERE id NOT IN \
                         (SELECT group_id FROM components WHERE group_id IS NOT NULL)")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })
    }

    /// Status changes of a component, oldest first: `(old, new, changed_at)`.
    pub async fn component_history(
        &self,
        id: &str,
    ) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT old_status, new_status, changed_at FROM component_status_changes \
             WHERE component_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(p)
            .await)?)
    }
}

mod audit;
mod jobs;
mod schedules;
mod status_page;
pub use audit::{AuditEntry, AuditFilter, AuditRecord};
pub use jobs::{Job, Subscriber};
pub use schedules::{LayerDraft, Notice, NoticeDraft, ScheduleFull, ScheduleInfo, SwapRecord};
pub use status_page::{
    AffectedComponent, Alert, Incident, IncidentFilter, IncidentUpdate, Monitor, NewIncident,
    NewUpdate,
};
