//! The few hydrated components. Everything else on a page is plain server-rendered HTML.

pub mod countdown;
pub mod live_status;
