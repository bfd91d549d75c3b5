//! Firstline's server: configuration, start-up, the HTTP application, demo data.

pub mod assets;
pub mod clock;
pub mod config;
pub mod conn;
pub mod demo;
pub mod engine;
pub mod fakes;
pub mod feeds;
pub mod format;
pub mod http;
pub mod hub;
pub mod ingest;
pub mod live;
pub mod markdown;
pub mod notify;
pub mod oncall;
pub mod outbound;
pub mod services;
pub mod state;
pub mod statuspage;
pub mod store;

use std::time::{Duration, Instant};

use crate::store::Store;
use anyhow::Context;
use app::ssr::auth::random_token;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::assets::Assets;
use crate::config::Config;
use crate::live::StatusHub;
use crate::services::Services;
use crate::state::{AppState, Inner};

/// Opens the database named in the configuration and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening database {}", redact(&config.database_url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Hides a password in a database URL for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Builds the shared state: secret key (generated and stored on first start), page name,
/// live hub and assets; `services` defaults to [`Services::production`].
pub async fn build_state(
    config: Config,
    store: Store,
    shutdown: watch::Receiver<bool>,
    services: Option<Services>,
) -> anyhow::Result<AppState> {
    let secret = match &config.secret_key {
        Some(k) => k.clone(),
        None => store
            .setting_or_insert("secret_key", &random_token())
            .await
            .context("storing the generated secret key")?,
    };
    let page_name = store
        .setting("page_name")
        .await?
        .unwrap_or_else(|| "Firstline".to_string());
    let outbound = outbound::Outbound::new(outbound::Policy::from_config(&config));
    let services = match services {
        Some(s) => s,
        None => {
            let vapid = notify::push::Vapid::load_or_create(&store)
                .await
                .context("storing the generated VAPID key")?;
            Services::production(&config, outbound.clone(), vapid)
        }
    };
    let clock = services.clock.clone();
    let settled = store
        .settle_all(clock.now_ms())
        .await
        .context("deriving component statuses")?;
    if settled > 0 {
        tracing::info!(
            components = settled,
            "component statuses derived again at start-up"
        );
    }
    app::pages::set_open_oncall(
        store
            .open_oncall_count()
            .await
            .context("counting open incidents")?,
    );
    let hub = StatusHub::load(&store, &config.base_url, clock.clone()).await?;
    let assets = Assets::load();
    app::pages::set_pkg_dir(assets.pkg_dir());
    let leptos = LeptosOptions::builder()
        .output_name("firstline")
        .site_pkg_dir(assets.pkg_dir())
        .build();
    let workers = match store.backend() {
        store::Backend::Sqlite => 1,
        store::Backend::Postgres => 4,
    };
    let ingestor = ingest::Ingestor::start(store.clone(), clock.clone(), workers);
    Ok(AppState::new(Inner {
        ingestor,
        login: http::login_guard::LoginGuard::new(Default::default(), clock.clone()),
        clock,
        ticked: tokio::sync::watch::Sender::new(i64::MIN),
        outbound,
        services,
        store,
        config,
        secret: secret.into_bytes(),
        hub,
        live: Default::default(),
        assets,
        leptos,
        page_name,
        shutdown,
        live_streams: conn::StreamLimiter::default(),
        heartbeats: Default::default(),
        ingest_limits: Default::default(),
    }))
}

/// A running server, for tests and for `serve`.
pub struct Running {
    /// The bound address.
    pub addr: std::net::SocketAddr,
    /// The state (shared with the handlers).
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, ends live streams, waits for requests in flight (at most 10 s).
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(joined) => joined.context("server task")?.context("server")?,
            Err(_) => tracing::warn!("requests still running after 10 s; stopping anyway"),
        }
        self.state.store.close().await;
        Ok(())
    }
}

/// Binds and starts serving in the background, with the real outside services.
pub async fn start(config: Config, store: Store) -> anyhow::Result<Running> {
    start_inner(config, store, None).await
}

/// Like [`start`], with the given outside services (e.g. [`fakes::Fakes::services`] in tests).
pub async fn start_with(
    config: Config,
    store: Store,
    services: Services,
) -> anyhow::Result<Running> {
    start_inner(config, store, Some(services)).await
}

async fn start_inner(
    config: Config,
    store: Store,
    services: Option<Services>,
) -> anyhow::Result<Running> {
    let (tx, rx) = watch::channel(false);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen: cannot bind {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut config = config;
    if config.listen.port() == 0 {
        // Bound to a random port: links and self-checks use the real one.
        if config.base_url == format!("http://{}", config.listen) {
            config.base_url = format!("http://{addr}");
        }
        config.listen = addr;
    }
    let state = build_state(config, store, rx.clone(), services).await?;
    let follower = tokio::spawn(state::follow_peers(state.clone()));
    let engine = tokio::spawn(engine::run(state.clone()));
    let app = http::router(state.clone());
    let shutdown_rx = rx;
    let limits = state.config.conn;
    let trusted = state.config.trusted_proxies.clone();
    let task = tokio::spawn(async move {
        let r = conn::serve(listener, app, limits, trusted, shutdown_rx).await;
        follower.abort();
        engine.abort();
        r
    });
    Ok(Running {
        addr,
        state,
        shutdown: tx,
        task,
    })
}

/// Runs `firstline serve` until SIGTERM or SIGINT.
pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = open_store(&config).await?;
    if demo {
        demo::seed_if_empty(&store, &config).await?;
    }
    let running = start(config.clone(), store).await?;
    tracing::info!(
        addr = %running.addr,
        url = %config.base_url,
        database = %redact(&config.database_url),
        startup_ms = started.elapsed().as_millis() as u64,
        "Firstline is listening"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(
            super::redact("postgres://fl:secret@db/firstline"),
            "postgres://fl:***@db/firstline"
        );
        assert_eq!(
            super::redact("sqlite://firstline.db"),
            "sqlite://firstline.db"
        );
    }
}
