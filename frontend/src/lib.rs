//! The wasm entry point: hydrates the islands on a server-rendered page, nothing else.

/// Called by the hydration script on pages that contain islands.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
