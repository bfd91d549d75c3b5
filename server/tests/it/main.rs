//! Firstline's integration tests, linked into one test binary: one link step instead of one per
//! file, one throwaway PostgreSQL cluster for the whole run, and a much smaller `target/`.

mod common;

mod durability;
mod http;
mod public_api;
mod schedules;
mod status_page;
mod store;
