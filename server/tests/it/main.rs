//! Firstline's integration tests, linked into one test binary: one link step instead of one per
//! file, one throwaway PostgreSQL cluster for the whole run, and a much smaller `target/`.

/// Runs `async fn $test(Backend)` as two tests, `$test::sqlite` and `$test::postgres`.
macro_rules! on_both_backends {
    ($test:ident) => {
        mod $test {
            #[tokio::test]
            async fn sqlite() {
                super::$test(crate::common::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$test(crate::common::Backend::Postgres).await;
            }
        }
    };
}

mod common;

mod atomic_writes;
mod audit;
mod compat;
mod conn;
mod crash;
mod durability;
mod errors;
mod escalation;
mod escalation_crash;
mod escalation_faults;
mod escalation_load;
mod escalation_multi;
mod heartbeats;
mod holds;
mod http;
mod ical_feeds;
mod ingest;
mod jobs;
mod links;
mod login;
mod newcomer_oncall;
mod notices;
mod notify;
mod oncall;
mod outbound;
mod paging;
mod people;
mod permissions;
mod policies;
mod providers;
mod public_api;
mod push;
mod schedules;
mod services;
mod status_admin;
mod status_page;
mod store;
mod story;
mod web_security;
