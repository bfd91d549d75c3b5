//! Server-side only code: the sqlx store, password hashing and session tokens.

pub mod auth;
pub mod store;
