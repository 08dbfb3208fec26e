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
