//! Firstline's shared crate: pure domain rules, server-rendered pages, the hydrated islands,
//! and (with the `ssr` feature) the store and session helpers the server uses.

pub mod domain;
pub mod islands;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
