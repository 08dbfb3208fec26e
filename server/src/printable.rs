//! Text from outside (a login typed at the login screen, a device's name, a refusal's reason
//! quoting a pushed value) as logs and the admin CLI's tables show it: control characters
//! (line breaks, tabs, escape sequences) and the bidirectional overrides that reorder what a
//! terminal shows are escaped as `\u{…}`, and anything past [`MAX_CHARS`] is cut with `…`. So a
//! hostile phone cannot forge a log line or a row of `devices list`, or drive the terminal.

use std::fmt;

/// The most characters shown of one value.
pub const MAX_CHARS: usize = 200;

/// `text`, shown safely ([`fmt::Display`]).
pub fn printable(text: &str) -> Printable<'_> {
    Printable(text)
}

/// See [`printable`].
#[derive(Debug, Clone, Copy)]
pub struct Printable<'a>(&'a str);

/// Whether `c` reorders or hides text in a terminal: the bidirectional embeddings, overrides
/// and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, c) in self.0.chars().enumerate() {
            if n == MAX_CHARS {
                return f.write_str("…");
            }
            if c.is_control() || is_bidi_control(c) {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_cannot_break_a_line_or_a_column_or_drive_the_terminal() {
        let hostile = "王磊的手机\n2026-12-06 INFO logged in login=admin\t\u{1b}[2J\u{202E}cod.exe";
        let shown = printable(hostile).to_string();
        assert!(
            !shown.chars().any(|c| c.is_control() || is_bidi_control(c)),
            "{shown}"
        );
        assert!(shown.starts_with("王磊的手机\\u{a}2026-12-06"), "{shown}");
        assert!(
            shown.contains("\\u{9}\\u{1b}[2J\\u{202e}cod.exe"),
            "{shown}"
        );
    }

    #[test]
    fn ordinary_text_is_shown_as_it_is_and_long_text_is_cut() {
        assert_eq!(printable("李娜 (玉泉街道)").to_string(), "李娜 (玉泉街道)");
        let long = "长".repeat(MAX_CHARS + 5);
        let shown = printable(&long).to_string();
        assert_eq!(shown.chars().count(), MAX_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
