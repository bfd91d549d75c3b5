//! Server-side only code: the sqlx store, password hashing, session tokens and the
//! Content-Security-Policy.

pub mod auth;
pub mod csp;
pub mod store;
