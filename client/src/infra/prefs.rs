//! Preferences kept in the browser's `localStorage`, so they survive reloads.

use super::i18n::Lang;

const LANG_KEY: &str = "lianxin.lang";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The language chosen last time, or the default when none was chosen or storage is blocked.
pub fn load_lang() -> Lang {
    storage()
        .and_then(|storage| storage.get_item(LANG_KEY).ok().flatten())
        .and_then(|tag| Lang::from_tag(&tag))
        .unwrap_or_default()
}

/// Remembers the chosen language; silently does nothing where storage is blocked.
pub fn save_lang(lang: Lang) {
    if let Some(storage) = storage() {
        // Private modes may refuse to store; the choice then lasts until the page closes.
        let _ = storage.set_item(LANG_KEY, lang.tag());
    }
}
