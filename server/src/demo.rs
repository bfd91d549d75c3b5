//! Demo data, told as the founding story: the volunteers who run the crates.io registry hand
//! first-line pager duty to a contracted team of four, and keep themselves as the escalation.

use anyhow::Context;
use app::domain::account::{NewUserInput, Role};
use app::domain::status::ComponentInput;
use app::ssr::auth::{hash_password, random_token};
use app::ssr::store::Store;

use crate::config::Config;
use crate::format::now_ms;

/// The demo admin's email.
pub const ADMIN_EMAIL: &str = "aisha@crates-volunteers.example";

struct Person {
    name: &'static str,
    email: &'static str,
    tz: &'static str,
    role: Role,
}

const VOLUNTEERS: &[Person] = &[
    Person {
        name: "Aisha Rahman",
        email: ADMIN_EMAIL,
        tz: "Europe/London",
        role: Role::Admin,
    },
    Person {
        name: "Maya Keller",
        email: "maya@crates-volunteers.example",
        tz: "Europe/Zurich",
        role: Role::Responder,
    },
    Person {
        name: "Leah Cohen",
        email: "leah@crates-volunteers.example",
        tz: "America/New_York",
        role: Role::Responder,
    },
    Person {
        name: "Tobias Berg",
        email: "tobias@crates-volunteers.example",
        tz: "Europe/Stockholm",
        role: Role::Responder,
    },
    Person {
        name: "Sam Okafor",
        email: "sam@crates-volunteers.example",
        tz: "America/Chicago",
        role: Role::Viewer,
    },
];

const FIRST_LINE: &[Person] = &[
    Person {
        name: "Jonas Weber",
        email: "jonas@firstline-contractors.example",
        tz: "Europe/Berlin",
        role: Role::Responder,
    },
    Person {
        name: "Priya Nair",
        email: "priya@firstline-contractors.example",
        tz: "Asia/Kolkata",
        role: Role::Responder,
    },
    Person {
        name: "Diego Alvarez",
        email: "diego@firstline-contractors.example",
        tz: "America/Sao_Paulo",
        role: Role::Responder,
    },
    Person {
        name: "Mei Tanaka",
        email: "mei@firstline-contractors.example",
        tz: "Asia/Tokyo",
        role: Role::Responder,
    },
];

/// (group, name, description, position)
const COMPONENTS: &[(&str, &str, &str, i64)] = &[
    (
        "Website",
        "Web UI",
        "crates.io in the browser: search, crate pages, accounts",
        1,
    ),
    ("Website", "API", "The JSON API used by cargo and tools", 2),
    (
        "Index",
        "Sparse index",
        "index.crates.io over HTTP, used by cargo by default",
        1,
    ),
    (
        "Index",
        "Git index",
        "The crates.io-index git repository",
        2,
    ),
    (
        "Crates",
        "Publishing",
        "cargo publish, yank and owner changes",
        1,
    ),
    (
        "Crates",
        "Downloads (static CDN)",
        "static.crates.io crate files",
        2,
    ),
];

/// What `--demo` created, for printing.
pub struct DemoLogin {
    /// Admin email.
    pub email: String,
    /// Admin password (random unless FIRSTLINE_DEMO_PASSWORD is set).
    pub password: String,
}

/// Seeds the demo data into an empty database; does nothing when users exist.
pub async fn seed_if_empty(store: &Store, _config: &Config) -> anyhow::Result<Option<DemoLogin>> {
    if store.count_users().await? > 0 {
        println!(
            "Demo data is already present. Log in as {ADMIN_EMAIL} with the password printed when it was created,\n\
             or set a new one with: firstline user set-password --email {ADMIN_EMAIL}"
        );
        return Ok(None);
    }
    let password = std::env::var("FIRSTLINE_DEMO_PASSWORD")
        .ok()
        .filter(|p| p.len() >= app::domain::account::PASSWORD_MIN)
        .unwrap_or_else(|| random_token()[..20].to_string());
    let now = now_ms();
    let admin_hash = hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    // Members other than the admin get unguessable passwords; an admin can reset them.
    let other_hash = hash_password(&random_token()).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;

    let volunteers = store
        .create_team(
            "Registry volunteers",
            Some("The volunteers who run crates.io; the escalation after first line."),
            now,
        )
        .await?;
    let first_line = store
        .create_team(
            "First line",
            Some("Contracted 24/7 first-line responders on a weekly rotation."),
            now,
        )
        .await?;
    for (team, people) in [(&volunteers, VOLUNTEERS), (&first_line, FIRST_LINE)] {
        for p in people {
            let user = NewUserInput {
                email: p.email.into(),
                name: p.name.into(),
                time_zone: p.tz.into(),
                role: p.role.as_str().into(),
            }
            .normalize()
            .with_context(|| format!("demo user {}", p.email))?;
            let hash = if p.email == ADMIN_EMAIL {
                &admin_hash
            } else {
                &other_hash
            };
            let u = store.create_user(&user, hash, now).await?;
            store.add_team_member(team, &u.id).await?;
        }
    }
    for (group, name, description, position) in COMPONENTS {
        let draft = ComponentInput {
            name: (*name).into(),
            description: (*description).into(),
            group: (*group).into(),
            position: position.to_string(),
            status: "operational".into(),
        }
        .normalize()
        .with_context(|| format!("demo component {name}"))?;
        store.create_component(&draft, None, now).await?;
    }
    store.setting_or_insert("page_name", "crates.io").await?;
    println!(
        "\nDemo data created: the crates.io volunteers and their first-line team.\n\
         Log in as {ADMIN_EMAIL} with password: {password}\n"
    );
    Ok(Some(DemoLogin {
        email: ADMIN_EMAIL.into(),
        password,
    }))
}
