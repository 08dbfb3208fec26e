//! The card's QR code, drawn on the server as SVG (one path of dark modules, a few KB), so
//! neither the card's page nor the officer's app carries QR code of its own.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The QR code of `link` as a standalone SVG document, one unit per module with the quiet
/// zone, scaled by whoever shows it; `None` if the link is too long for a QR code.
pub fn svg(link: &str) -> Option<String> {
    // Level M survives a crease or a smudge on a printed card and keeps the code small.
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .module_dimensions(1, 1)
            .quiet_zone(true)
            .build(),
    )
}

/// The same code as an element to put inside an HTML page (without the XML declaration).
pub fn inline_svg(link: &str) -> Option<String> {
    let doc = svg(link)?;
    let start = doc.find("<svg")?;
    Some(doc[start..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_link_makes_a_small_svg_without_a_declaration_inline() {
        let link = format!("https://lianxin.example.cn/k/{}", "a".repeat(40));
        let inline = inline_svg(&link).expect("fits a QR code");
        assert!(inline.starts_with("<svg") && inline.ends_with("</svg>"));
        assert!(inline.len() < 12 * 1024, "{} bytes", inline.len());
        assert!(svg(&link).is_some_and(|s| s.starts_with("<?xml")));
    }
}
