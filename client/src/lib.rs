//! Lianxin's web client: the yew app compiled to WebAssembly, which the server ships from the
//! site folder that `cargo xtask build-client` writes.
//!
//! `components/` holds one file per screen or widget; `infra/` holds the browser plumbing
//! (server calls, IndexedDB, the clock, routes, stored preferences, the UI's words); `sync/`
//! is the browser driver of the shared sync engine and the device's records around it;
//! `bundle` tells the officer bundle from the full one (the `leader` feature) and switches;
//! `size_probe` stands in for the app only in the `size-stack` size measurement.

// The size measurements (`size-stack`, `size-core`) leave the app, or most screens, unused.
#![cfg_attr(
    any(feature = "size-stack", feature = "size-core"),
    allow(dead_code, unused_imports)
)]

mod bundle;
mod components;
mod infra;
#[cfg(feature = "size-stack")]
mod size_probe;
mod sync;

use wasm_bindgen::prelude::wasm_bindgen;

/// The allocator: talc, which grows the wasm memory as it needs, instead of the standard
/// library's dlmalloc (≈7.5 KB of code before wasm-opt). The app is single-threaded (no
/// `atomics` target feature), which talc's wasm allocator requires.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Mounts the app into `<div id="app">` (or `<body>` if the page has none). wasm-bindgen runs it
/// when the page's `boot.js` calls `init()`.
#[wasm_bindgen(start)]
fn start() {
    let root = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id("app"));
    #[cfg(not(feature = "size-stack"))]
    type Root = components::app::App;
    #[cfg(feature = "size-stack")]
    type Root = size_probe::StackProbe;
    match root {
        Some(root) => yew::Renderer::<Root>::with_root(root).render(),
        None => yew::Renderer::<Root>::new().render(),
    };
}
