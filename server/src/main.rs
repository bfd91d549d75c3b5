//! The `firstline` command: serve, demo, migrate, user management.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{bail, Context};
use app::domain::account::{check_password, NewUserInput};
use app::ssr::auth::hash_password;
use clap::{Parser, Subcommand};
use firstline::clock::Clock;
use firstline::config::{Config, ENV_HELP};

/// Firstline: on-call schedules, paging and a public status page.
#[derive(Parser)]
#[command(name = "firstline", version, after_help = ENV_HELP)]
struct Cli {
    /// TOML configuration file; FIRSTLINE_* environment variables override its values.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log JSON lines instead of text (same as FIRSTLINE_LOG_FORMAT=json).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default). Creates and migrates the database if needed.
    Serve {
        /// Seed the demo data (crates.io story) when the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Same as `serve --demo`.
    Demo,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is asked for on a terminal, or read from the first line of stdin.
    Add {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make the user an admin (same as --role admin).
        #[arg(long)]
        admin: bool,
        /// admin, responder (default) or viewer.
        #[arg(long, default_value = "responder")]
        role: String,
        /// IANA time zone, e.g. Europe/Berlin (default UTC).
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// Set a user's password (ends their sessions). Read like `user add`.
    SetPassword {
        /// Login email.
        #[arg(long)]
        email: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("Password: ")?;
        let b = rpassword::prompt_password("Repeat password: ")?;
        if a != b {
            bail!("password: the two entries differ");
        }
        Ok(a)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok())?;
    init_logging(cli.log_json || config.log_json);
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => firstline::serve(config, demo).await,
        Command::Demo => firstline::serve(config, true).await,
        Command::Migrate => {
            firstline::open_store(&config).await?;
            println!(
                "Database is up to date: {}",
                firstline::redact(&config.database_url)
            );
            Ok(())
        }
        Command::User { command } => {
            let store = firstline::open_store(&config).await?;
            match command {
                UserCommand::Add {
                    email,
                    name,
                    admin,
                    role,
                    time_zone,
                } => {
                    let user = NewUserInput {
                        email,
                        name,
                        time_zone,
                        role: if admin { "admin".into() } else { role },
                    }
                    .normalize()?;
                    let password = read_password()?;
                    check_password(&password)?;
                    let hash =
                        hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
                    let u = store
                        .create_user(&user, &hash, Clock::System.now_ms())
                        .await
                        .with_context(|| format!("creating {}", user.email))?;
                    let target = format!("new={}, email={}", u.id, u.email);
                    firstline::http::audit::record_cli(
                        &store,
                        "user",
                        "create",
                        "cli: user add",
                        target,
                        Clock::System.now_ms(),
                    )
                    .await?;
                    println!("Created {} <{}> ({})", u.name, u.email, u.role.as_str());
                }
                UserCommand::SetPassword { email } => {
                    let email = app::domain::account::normalize_email(&email)?;
                    let Some(user) = store.user_by_email(&email).await? else {
                        bail!("email: no user with email {email}");
                    };
                    let password = read_password()?;
                    check_password(&password)?;
                    let hash =
                        hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
                    store.set_password(&user.id, &hash).await?;
                    let target = format!("id={}, email={}", user.id, user.email);
                    firstline::http::audit::record_cli(
                        &store,
                        "user",
                        "set_password",
                        "cli: user set-password",
                        target,
                        Clock::System.now_ms(),
                    )
                    .await?;
                    println!("Password changed for {email}; their sessions were ended.");
                }
            }
            store.close().await;
            Ok(())
        }
    }
}
