//! The audit log: append-only rows of who changed what, when and from where. There are no
//! update or delete functions here on purpose, and the database refuses both (triggers).

use super::{Store, StoreError};

/// Most characters kept of any one text field (paths and names are user-controlled).
const FIELD_MAX: usize = 200;

/// One change (or refused attempt) to record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    /// The acting user's id; `None` for anonymous requests and the command line.
    pub actor_id: Option<String>,
    /// The actor's email at the time.
    pub actor_email: Option<String>,
    /// The actor's display name at the time.
    pub actor_name: Option<String>,
    /// What kind of thing: `component`, `incident`, `schedule`, `swap`, `session`, ...
    pub kind: String,
    /// What was done: `create`, `update`, `delete`, `accept`, `login`, ...
    pub action: String,
    /// `ok` for a change that happened, `denied` for a refused attempt (403).
    pub outcome: String,
    /// The ids the change was about, e.g. `id=abc, layer=def`.
    pub target: Option<String>,
    /// The route template, e.g. `/admin/components/{id}`, or `cli: user add`.
    pub route: String,
    /// HTTP method (`POST`), or `CLI`.
    pub method: String,
    /// The client's address (behind trusted proxies, the forwarded one).
    pub ip: Option<String>,
    /// HTTP status of the answer (0 for the command line).
    pub status: i64,
    /// When, Unix ms.
    pub created_at: i64,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Row id; larger is newer.
    pub id: i64,
    /// The recorded fields.
    pub entry: AuditEntry,
}

/// Which rows to read: newest first, optionally one actor and/or one kind, older than a row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this actor's rows (user id); `None` for everyone.
    pub actor_id: Option<String>,
    /// Only this kind; `None` for all.
    pub kind: Option<String>,
    /// Only rows with a smaller id (the "older" link); `None` from the newest.
    pub before: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    created_at: i64,
    actor_id: Option<String>,
    actor_email: Option<String>,
    actor_name: Option<String>,
    kind: String,
    action: String,
    outcome: String,
    target: Option<String>,
    route: String,
    method: String,
    ip: Option<String>,
    status: i64,
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(FIELD_MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl Store {
    /// Appends one row to the audit log. Long fields are cut to a bounded length.
    pub async fn record_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let opt = |v: &Option<String>| v.as_deref().map(clip);
        on_pool!(self, p => sqlx::query(
            "INSERT INTO audit_log (created_at, actor_id, actor_email, actor_name, kind, action, \
             outcome, target, route, method, ip, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(e.created_at)
            .bind(opt(&e.actor_id))
            .bind(opt(&e.actor_email))
            .bind(opt(&e.actor_name))
            .bind(clip(&e.kind))
            .bind(clip(&e.action))
            .bind(&e.outcome)
            .bind(opt(&e.target))
            .bind(clip(&e.route))
            .bind(clip(&e.method))
            .bind(opt(&e.ip))
            .bind(e.status)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Audit rows, newest first, by the filter.
    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, created_at, actor_id, actor_email, actor_name, kind, action, outcome, \
             target, route, method, ip, status FROM audit_log \
             WHERE ($1 = '' OR actor_id = $1) AND ($2 = '' OR kind = $2) AND ($3 = 0 OR id < $3) \
             ORDER BY id DESC LIMIT $4")
            .bind(f.actor_id.as_deref().unwrap_or(""))
            .bind(f.kind.as_deref().unwrap_or(""))
            .bind(f.before.unwrap_or(0))
            .bind(f.limit.clamp(1, 1000))
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                entry: AuditEntry {
                    actor_id: r.actor_id,
                    actor_email: r.actor_email,
                    actor_name: r.actor_name,
                    kind: r.kind,
                    action: r.action,
                    outcome: r.outcome,
                    target: r.target,
                    route: r.route,
                    method: r.method,
                    ip: r.ip,
                    status: r.status,
                    created_at: r.created_at,
                },
            })
            .collect())
    }
}
