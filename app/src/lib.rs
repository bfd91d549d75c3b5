//! Firstline's shared crate: pure domain rules, server-rendered pages, the hydrated islands,
//! and (with the `ssr` feature) the store and session helpers the server uses.

// Deeply nested views (the service page with its paging section) need more than the default
// 128 in release builds, where their async render types are laid out.
#![recursion_limit = "256"]

pub mod domain;
pub mod islands;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
