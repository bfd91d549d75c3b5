//! Test harness: throwaway databases (a temp SQLite file, or a database in a PostgreSQL cluster
//! this test binary starts itself) and an in-process server with an HTTP client.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use firstline::config::Config;
use firstline::store::Store;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database URL; the temp dir lives as long as the value.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}/test.db", dir.path().display());
                TestDb {
                    url,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let cluster = pg_cluster();
                let name = format!("t_{}", firstline::store::new_id());
                let out = Command::new(&cluster.psql)
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &cluster.port.to_string(),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-c",
                    ])
                    .arg(format!("CREATE DATABASE {name}"))
                    .output()
                    .expect("run psql");
                assert!(
                    out.status.success(),
                    "CREATE DATABASE failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port),
                    _dir: None,
                }
            }
        }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

/// A PostgreSQL cluster started for this test process; stopped by a watchdog when it exits.
pub struct PgCluster {
    pub port: u16,
    pub psql: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn pg_bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return p;
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .find(|d| d.join("initdb").exists())
        .expect("PostgreSQL server binaries (initdb) not found: install the postgresql package")
}

/// Starts (once per test binary) a throwaway cluster. Panics loudly if it cannot start.
pub fn pg_cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let bin = pg_bin_dir();
        let is_root = unsafe_geteuid() == 0;
        let dir = tempfile::Builder::new().prefix("firstline-pg-").tempdir().expect("tempdir").keep();
        let data = dir.join("data");
        let port = free_port();
        let as_pg = |cmd: &str| -> Command {
            if is_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(cmd));
                c
            } else {
                Command::new(bin.join(cmd))
            }
        };
        if is_root {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().expect("chown");
            assert!(ok.success(), "chown of the cluster directory failed");
        }
        let out = as_pg("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        // postgres runs under a watchdog shell that stops it and removes the data when this
        // test process is gone, whatever way it ends.
        let postgres = bin.join("postgres");
        let runner = if is_root { "runuser -u postgres -- " } else { "" };
        let script = format!(
            "{runner}{pg} -D {data} -p {port} -c listen_addresses=127.0.0.1 -k {dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 >{dir}/log 2>&1 &\n\
             PG=$!\n\
             while kill -0 {parent} 2>/dev/null && kill -0 $PG 2>/dev/null; do sleep 0.5; done\n\
             kill -INT \"$(head -n 1 {data}/postmaster.pid 2>/dev/null)\" 2>/dev/null; wait $PG; rm -rf {dir}",
            pg = postgres.display(),
            data = data.display(),
            dir = dir.display(),
            parent = std::process::id(),
        );
        #[expect(
            clippy::zombie_processes,
            reason = "the watchdog must outlive this process to stop the cluster after it"
        )]
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres watchdog");
        let psql = bin.join("psql");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new(&psql)
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-d", "postgres", "-c", "SELECT 1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                panic!("PostgreSQL did not start within 30 s on port {port}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        PgCluster { port, psql }
    })
}

fn unsafe_geteuid() -> u32 {
    // `id -u` keeps the harness free of libc bindings.
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(1000)
}

/// Test configuration for a database URL, on a random local port.
pub fn config(url: &str) -> Config {
    config_with(url, &[])
}

/// Test configuration with extra `FIRSTLINE_*` settings.
pub fn config_with(url: &str, extra: &[(&str, &str)]) -> Config {
    let env = |k: &str| match k {
        "FIRSTLINE_DATABASE_URL" => Some(url.to_string()),
        "FIRSTLINE_LISTEN" => Some("127.0.0.1:0".to_string()),
        other => extra
            .iter()
            .find(|(key, _)| *key == other)
            .map(|(_, v)| v.to_string())
            // Probes and webhooks in tests call sinks on 127.0.0.1; a test that sets the
            // variable (even to "") gets its own value.
            .or_else(|| (other == "FIRSTLINE_OUTBOUND_ALLOW").then(|| "127.0.0.0/8".into())),
    };
    Config::load(None, env).expect("config")
}

/// A running in-process server with a cookie-keeping client that does not follow redirects.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub running: Option<firstline::Running>,
    pub db: TestDb,
}

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, &[]).await
    }

    /// Starts with extra `FIRSTLINE_*` settings.
    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        Self::start_inner(backend, extra, None).await
    }

    /// Starts with extra `FIRSTLINE_*` settings and the given outside services, e.g. the
    /// recording fakes of `firstline::fakes::Fakes::services`.
    pub async fn start_with_services(
        backend: Backend,
        extra: &[(&str, &str)],
        services: firstline::services::Services,
    ) -> TestApp {
        Self::start_inner(backend, extra, Some(services)).await
    }

    /// Starts with the real outside services on a fake clock set to the real now; the handle
    /// moves it on, so tests wait for nothing.
    pub async fn start_with_clock(
        backend: Backend,
        extra: &[(&str, &str)],
    ) -> (TestApp, std::sync::Arc<firstline::clock::FakeClock>) {
        let (clock, handle) =
            firstline::clock::Clock::fake(jiff::Timestamp::now().as_millisecond());
        let config = config_with("sqlite::memory:", extra);
        let outbound =
            firstline::outbound::Outbound::new(firstline::outbound::Policy::from_config(&config));
        let services = firstline::services::Services {
            clock,
            ..firstline::services::Services::production(
                &config,
                outbound,
                firstline::notify::push::Vapid::generate(),
            )
        };
        (
            Self::start_inner(backend, extra, Some(services)).await,
            handle,
        )
    }

    async fn start_inner(
        backend: Backend,
        extra: &[(&str, &str)],
        services: Option<firstline::services::Services>,
    ) -> TestApp {
        let db = TestDb::new(backend);
        let store = db.store().await;
        let config = config_with(&db.url, extra);
        let running = match services {
            Some(s) => firstline::start_with(config, store, s).await,
            None => firstline::start(config, store).await,
        }
        .expect("start");
        let base = format!("http://{}", running.addr);
        TestApp {
            base,
            client: client(),
            running: Some(running),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn state(&self) -> &firstline::state::AppState {
        &self.running.as_ref().expect("running").state
    }

    /// Creates components `(name, group)` directly in the store and refreshes the public page;
    /// returns their ids in order.
    pub async fn seed_components(&self, list: &[(&str, &str)]) -> Vec<String> {
        let mut ids = Vec::new();
        for (name, group) in list {
            let draft = app::domain::status::ComponentInput {
                name: name.to_string(),
                group: group.to_string(),
                position: "1".into(),
                ..Default::default()
            }
            .normalize()
            .expect("valid component");
            let c = self
                .state()
                .store
                .create_component(&draft, None, 1_700_000_000_000)
                .await
                .expect("create component");
            ids.push(c.id);
        }
        self.state()
            .hub
            .refresh(&self.state().store)
            .await
            .expect("refresh");
        ids
    }

    /// Creates a user directly in the store.
    pub async fn create_user(&self, email: &str, password: &str, role: &str) {
        let user = app::domain::account::NewUserInput {
            email: email.into(),
            name: "Test User".into(),
            time_zone: "Europe/Berlin".into(),
            role: role.into(),
        }
        .normalize()
        .expect("valid user");
        let hash = app::ssr::auth::hash_password(password).expect("hash");
        self.state()
            .store
            .create_user(&user, &hash, 1)
            .await
            .expect("create user");
    }

    /// Creates the admin and logs the client in; returns the CSRF token from a page.
    pub async fn login_admin(&self) -> String {
        self.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "admin").await;
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Logs in and returns the session's CSRF token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .client
            .post(self.url("/login"))
            .form(&[
                ("email", email),
                ("password", password),
                ("next", "/dashboard"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 303, "login should redirect");
        let page = self.get_text("/dashboard").await;
        csrf_of(&page)
    }

    /// Logs `email` in on a fresh client of its own (the app's client keeps its session);
    /// returns that client and its CSRF token.
    pub async fn login_client(&self, email: &str, password: &str) -> (reqwest::Client, String) {
        let c = client();
        let r = c
            .post(self.url("/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 303, "login of {email}");
        let page = c
            .get(self.url("/dashboard"))
            .send()
            .await
            .expect("dashboard")
            .text()
            .await
            .expect("body");
        (c, csrf_of(&page))
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("post")
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("stop");
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Extracts the CSRF token from a rendered page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let end = html[start..].find('"').expect("end quote") + start;
    html[start..end].to_string()
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A local SMTP server that accepts every message and keeps it (headers and body as text).
pub struct SmtpSink {
    pub port: u16,
    pub mails: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut in_data = false;
                    let mut data = String::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                store.lock().unwrap().push(std::mem::take(&mut data));
                                let _ = w.write_all(b"250 queued\r\n").await;
                            } else {
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                                data.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<String> {
        self.mails.lock().unwrap().clone()
    }
}

/// A local HTTP server for probes and webhooks: answers with the current status code and records
/// every request body.
pub struct HttpSink {
    pub addr: std::net::SocketAddr,
    pub status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpSink {
    pub async fn start() -> HttpSink {
        use std::sync::atomic::{AtomicU16, Ordering};
        use std::sync::{Arc, Mutex};
        let status = Arc::new(AtomicU16::new(200));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (st, bd) = (status.clone(), bodies.clone());
        let app = axum::Router::new().fallback(move |body: String| {
            let (st, bd) = (st.clone(), bd.clone());
            async move {
                bd.lock().unwrap().push(body);
                let code = axum::http::StatusCode::from_u16(st.load(Ordering::SeqCst))
                    .unwrap_or(axum::http::StatusCode::OK);
                (code, "service healthy")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpSink {
            addr,
            status,
            bodies,
        }
    }

    pub fn set_status(&self, code: u16) {
        self.status.store(code, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// Waits (at most 10 s) until the app's engine has done its clock-driven round at `at_ms`.
pub async fn ticked(app: &TestApp, at_ms: i64) {
    tokio::time::timeout(
        Duration::from_secs(10),
        firstline::engine::ticked(app.state(), at_ms),
    )
    .await
    .expect("the engine ticks at the fake clock's time");
}

/// Migrates a fresh database at `url` up to migration `version` only (an older Firstline's
/// schema), then runs `statements` (rows the way that version wrote them). Opening a `Store`
/// on it afterwards applies the newer migrations, as an upgrade does.
pub async fn as_version(url: &str, backend: Backend, version: i64, statements: &[String]) {
    use sqlx::migrate::Migrator;
    use std::str::FromStr;
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(dir);
    let mut migrator = Migrator::new(path).await.expect("migrations");
    let old: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect();
    assert_eq!(old.len() as i64, version);
    migrator.migrations = old.into();
    match backend {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .expect("url")
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options)
                .await
                .expect("sqlite");
            migrator.run(&pool).await.expect("old migrations");
            for q in statements {
                sqlx::query(q).execute(&pool).await.expect(q);
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            migrator.run(&pool).await.expect("old migrations");
            for q in statements {
                sqlx::query(q).execute(&pool).await.expect(q);
            }
            pool.close().await;
        }
    }
}
