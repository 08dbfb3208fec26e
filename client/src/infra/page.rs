//! The document around the app: its language attribute and title.

use super::i18n::{Key, Lang};

/// Marks the page as being in `lang` (for screen readers and fonts) and titles it accordingly.
pub fn apply_lang(lang: Lang) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    if let Some(html) = document.document_element() {
        // Setting `lang` on <html> cannot fail for a valid attribute name.
        let _ = html.set_attribute("lang", lang.tag());
    }
    document.set_title(lang.t(Key::PageTitle));
}

thread_local! {
    static FLASH: std::cell::RefCell<Option<(String, f64)>> = const { std::cell::RefCell::new(None) };
}

/// Shows a short confirmation ("saved on this device") on the next screens for a few seconds.
pub fn flash(text: &str) {
    let until = js_sys::Date::now() + 6_000.0;
    FLASH.with(|f| *f.borrow_mut() = Some((text.to_string(), until)));
}

/// The confirmation to show now, if any.
pub fn current_flash() -> Option<String> {
    FLASH.with(|f| {
        f.borrow()
            .as_ref()
            .filter(|(_, until)| js_sys::Date::now() < *until)
            .map(|(text, _)| text.clone())
    })
}
