//! Pure domain logic: no I/O, no clock, no leptos or sqlx. Compiles to native and wasm.

pub mod account;
pub mod branding;
pub mod escalation;
pub mod holds;
pub mod incident;
pub mod ingest;
pub mod live;
pub mod login;
pub mod monitor;
pub mod notice;
pub mod notify;
pub mod oncall;
pub mod onetap;
pub mod people;
pub mod permission;
pub mod policy_text;
pub mod schedule;
pub mod service;
pub mod status;
pub mod stretch;
pub mod subscription;
pub mod uptime;
pub mod validate;
pub mod zones;

pub use validate::ValidationError;
