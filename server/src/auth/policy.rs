//! The password policy (密码规则): the one place saying what a new password must be, whoever
//! sets it — a user changing their own (`POST /api/account/password`), an administrator's
//! `users reset-password` or `users add`. Every rule that fails is reported, in Chinese and
//! English, so the user fixes them all at once.

use super::{Secret, password};
use crate::store::PasswordHash;

/// Fewest characters of a new password.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// One rule a new password breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyFailure {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// The login itself (in any letter case).
    SameAsLogin,
    /// Digits only (a date, a phone number).
    OnlyDigits,
    /// The password the account has now.
    SameAsCurrent,
}

impl PolicyFailure {
    /// The stable code clients branch on.
    pub fn code(self) -> &'static str {
        match self {
            PolicyFailure::TooShort => "too_short",
            PolicyFailure::SameAsLogin => "same_as_login",
            PolicyFailure::OnlyDigits => "only_digits",
            PolicyFailure::SameAsCurrent => "same_as_current",
        }
    }

    /// What the rule asks, Chinese then English.
    pub fn message(self) -> String {
        match self {
            PolicyFailure::TooShort => format!(
                "至少 {MIN_PASSWORD_CHARS} 个字符 / at least {MIN_PASSWORD_CHARS} characters"
            ),
            PolicyFailure::SameAsLogin => "不能与登录名相同 / not the login name".into(),
            PolicyFailure::OnlyDigits => "不能全是数字 / not only digits".into(),
            PolicyFailure::SameAsCurrent => "不能与当前密码相同 / not the current password".into(),
        }
    }
}

/// A new password that breaks the policy, with every rule it breaks (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "新密码不符合要求 / the new password does not meet the policy: {}",
    .0.iter().map(|f| f.message()).collect::<Vec<_>>().join("; ")
)]
pub struct PolicyError(pub Vec<PolicyFailure>);

/// Checks `new` as the password of `login`, whose password now is `current` (none for a new
/// account). Comparing with the current password takes one argon2 verification: on the
/// server, call it on a hashing thread ([`password::limited`]).
///
/// # Errors
/// [`PolicyError`] listing every rule broken.
pub fn check(new: &Secret, login: &str, current: Option<&PasswordHash>) -> Result<(), PolicyError> {
    let text = new.expose();
    let mut failures = Vec::new();
    if text.chars().count() < MIN_PASSWORD_CHARS {
        failures.push(PolicyFailure::TooShort);
    }
    if text.trim().to_lowercase() == login.trim().to_lowercase() {
        failures.push(PolicyFailure::SameAsLogin);
    }
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        failures.push(PolicyFailure::OnlyDigits);
    }
    if current.is_some_and(|hash| password::verify(new, hash)) {
        failures.push(PolicyFailure::SameAsCurrent);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(PolicyError(failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_broken_rule_is_listed_and_a_good_password_passes() {
        let current = password::hash(&Secret::new("old password 1")).expect("hashes");
        let check = |p: &str| check(&Secret::new(p), "13800001111", Some(&current));
        assert_eq!(
            check("13800001111"),
            Err(PolicyError(vec![
                PolicyFailure::SameAsLogin,
                PolicyFailure::OnlyDigits
            ]))
        );
        assert_eq!(
            check("12345"),
            Err(PolicyError(vec![
                PolicyFailure::TooShort,
                PolicyFailure::OnlyDigits
            ]))
        );
        assert_eq!(
            check("old password 1"),
            Err(PolicyError(vec![PolicyFailure::SameAsCurrent]))
        );
        assert_eq!(check("玉泉街道走访 2026"), Ok(()));
        let message = check("short").expect_err("too short").to_string();
        assert!(message.contains("至少 10 个字符") && message.contains("at least 10"));
    }
}
