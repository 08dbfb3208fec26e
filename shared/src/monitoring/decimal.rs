//! Plain decimals (`1234.5`, `.5`, `12.`) read as `f64` without the standard library's float
//! parser: `str::parse::<f64>` brings its tables (about 21 KB of powers of five) into the
//! phone's download, and monitoring figures are the app's only decimals typed as text.
//!
//! Exact (the nearest `f64`, as `str::parse` gives) when the digits without the point fit in
//! 2⁵³ and the point is at most 22 places from the end: both parts are then exact `f64`s and one
//! division rounds once. Longer figures (more than 15 significant digits, beyond any meter or
//! price) are read to within a few units in the last place.

/// Powers of ten exact in `f64`.
const EXACT: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of `text`: ASCII digits with at most one `.` and at least one digit; `None` for
/// anything else (signs, exponents, `inf`, `NaN` included).
pub(crate) fn parse(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = whole.bytes().chain(fraction.bytes());
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut exact: u64 = 0;
    let mut approx: f64 = 0.0;
    let mut fits = true;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = u64::from(d - b'0');
        approx = approx * 10.0 + d as f64;
        match exact.checked_mul(10).and_then(|m| m.checked_add(d)) {
            Some(m) if m <= 1 << 53 => exact = m,
            _ => fits = false,
        }
    }
    let places = fraction.len();
    if fits && places < EXACT.len() {
        return Some(exact as f64 / EXACT[places]);
    }
    let mut value = approx;
    for _ in 0..places {
        value /= 10.0;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn plain_decimals_read_as_the_standard_parser_reads_them() {
        for text in [
            "0",
            "7",
            "12800",
            "1234.5",
            "0.1",
            "0.3",
            ".5",
            "12.",
            "3650.25",
            "1520.5",
            "9007199254740992",
            "0.000001",
            "123456789.123456",
            "9999999999999.99",
        ] {
            assert_eq!(parse(text), text.parse::<f64>().ok(), "{text}");
        }
    }

    #[test]
    fn anything_but_digits_and_one_point_is_refused() {
        for text in [
            "", ".", "1.2.3", "+1", "-1", "1e5", "inf", "NaN", "1,5", " 1", "１",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_figure_longer_than_an_exact_double_is_read_closely() {
        for text in [
            "123456789012345678901234.5",
            "99999999999999.99",
            "0.12345678901234567",
        ] {
            let read = parse(text).expect("digits");
            let std: f64 = text.parse().expect("digits");
            assert!(
                ((read - std) / std).abs() < 1e-14,
                "{text}: {read} vs {std}"
            );
        }
    }
}
