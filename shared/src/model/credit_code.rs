//! The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters whose last one
//! is a check character over the first 17, with the organization code (组织机构代码,
//! GB 11714) at positions 9–17 carrying a check character of its own.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The 31 characters a credit code may use (no I, O, S, V, Z), in value order.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17: 3^(i-1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Weights of the organization code's 8 body characters (GB 11714).
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why a text is not a valid credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("a credit code has 18 characters, this one has {0}")]
    Length(usize),
    /// A character outside the code's alphabet.
    #[error("character {ch:?} at position {position} is not allowed in a credit code")]
    Character {
        /// 1-based position.
        position: usize,
        /// The offending character.
        ch: char,
    },
    /// Positions 3–8 must be the six digits of an administrative division code.
    #[error("positions 3-8 must be the six digits of an administrative division code")]
    Region,
    /// The organization code's check character (position 17) is wrong.
    #[error("the organization code check character is {found:?}, expected {expected:?}")]
    OrgCheck {
        /// What the code has.
        found: char,
        /// What GB 11714 computes.
        expected: char,
    },
    /// The final check character (position 18) is wrong.
    #[error("the check character is {found:?}, expected {expected:?}")]
    Check {
        /// What the code has.
        found: char,
        /// What GB 32100 computes.
        expected: char,
    },
}

/// A unified social credit code whose format and both check characters are valid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

fn value_of(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// GB 32100: the check character over the first 17 characters.
fn check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(CHARSET[v as usize])
}

/// GB 11714: the organization code's check character over its 8 body characters.
fn org_check_char(body: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(ORG_WEIGHTS) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        v => b'0' + v as u8,
    })
}

impl CreditCode {
    /// Parses a code typed by a person: surrounding spaces are ignored and lower-case letters
    /// accepted; everything else must be exact.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let s = input.trim().to_ascii_uppercase();
        let count = s.chars().count();
        if count != 18 {
            return Err(CreditCodeError::Length(count));
        }
        let bytes = s.as_bytes();
        if let Some((i, ch)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || value_of(*c as u8).is_none())
        {
            return Err(CreditCodeError::Character {
                position: i + 1,
                ch,
            });
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Region);
        }
        let expected_org = org_check_char(&bytes[8..16]).ok_or(CreditCodeError::Character {
            position: 9,
            ch: char::from(bytes[8]),
        })?;
        if bytes[16] != expected_org {
            return Err(CreditCodeError::OrgCheck {
                found: char::from(bytes[16]),
                expected: char::from(expected_org),
            });
        }
        let expected = check_char(&bytes[..17]).ok_or(CreditCodeError::Region)?;
        if bytes[17] != expected {
            return Err(CreditCodeError::Check {
                found: char::from(bytes[17]),
                expected: char::from(expected),
            });
        }
        Ok(CreditCode(s))
    }

    /// Builds a valid code from its parts, computing both check characters: the registration
    /// authority and organization type characters, the six-digit division code and the
    /// organization code's eight body characters. Used for demo data and tests.
    pub fn from_parts(
        authority: char,
        org_type: char,
        region: &str,
        org_body: &str,
    ) -> Result<Self, CreditCodeError> {
        let mut s = String::with_capacity(18);
        s.push(authority);
        s.push(org_type);
        s.push_str(region);
        s.push_str(org_body);
        let bytes = s.as_bytes().to_vec();
        if bytes.len() != 16 {
            return Err(CreditCodeError::Length(s.chars().count() + 2));
        }
        let org = org_check_char(&bytes[8..16]).ok_or(CreditCodeError::Character {
            position: 9,
            ch: char::from(bytes[8]),
        })?;
        s.push(char::from(org));
        let check = check_char(s.as_bytes()).ok_or(CreditCodeError::Region)?;
        s.push(char::from(check));
        CreditCode::parse(&s)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit administrative division code (positions 3–8).
    pub fn region(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&value)
    }
}

impl From<CreditCode> for String {
    fn from(value: CreditCode) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_example_codes_are_valid() {
        for code in ["91350100M000100Y43", "91110000802100433B"] {
            assert!(CreditCode::parse(code).is_ok(), "{code} should be valid");
        }
    }

    #[test]
    fn lower_case_and_surrounding_spaces_are_accepted() {
        let c = CreditCode::parse(" 91350100m000100y43 ").expect("valid");
        assert_eq!(c.as_str(), "91350100M000100Y43");
        assert_eq!(c.region(), "350100");
    }

    #[test]
    fn a_wrong_final_check_character_is_refused_with_the_expected_one() {
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(CreditCodeError::Check {
                found: '4',
                expected: '3'
            })
        );
    }

    #[test]
    fn a_wrong_organization_code_check_character_is_refused() {
        // Position 17 changed from 4 to 5; the final character recomputed so only the
        // organization code check is wrong.
        let mut s = b"91350100M000100Y5".to_vec();
        let check = check_char(&s).expect("charset");
        s.push(check);
        let code = String::from_utf8(s).expect("ascii");
        assert_eq!(
            CreditCode::parse(&code),
            Err(CreditCodeError::OrgCheck {
                found: '5',
                expected: '4'
            })
        );
    }

    #[test]
    fn letters_outside_the_alphabet_wrong_lengths_and_regions_are_refused() {
        assert_eq!(
            CreditCode::parse("91350100M000100I43"),
            Err(CreditCodeError::Character {
                position: 16,
                ch: 'I'
            })
        );
        assert_eq!(
            CreditCode::parse("9135010"),
            Err(CreditCodeError::Length(7))
        );
        assert_eq!(
            CreditCode::parse("91A50100M000100Y43"),
            Err(CreditCodeError::Region)
        );
        assert!(matches!(
            CreditCode::parse("9135010０M000100Y43"),
            Err(CreditCodeError::Character { position: 8, .. })
        ));
    }

    #[test]
    fn codes_built_from_parts_are_valid_and_match_a_published_one() {
        let c = CreditCode::from_parts('9', '1', "350100", "M000100Y").expect("valid parts");
        assert_eq!(c.as_str(), "91350100M000100Y43");
        let demo = CreditCode::from_parts('9', '1', "419001", "MA4K0012").expect("valid parts");
        assert!(CreditCode::parse(demo.as_str()).is_ok());
    }
}
