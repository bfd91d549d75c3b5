//! Server-side only code shared with the pages: password hashing, session tokens and the
//! Content-Security-Policy.

pub mod auth;
pub mod csp;
