//! Accounts as the administrator manages them (账号管理), one implementation for the command
//! line (`users add|disable|enable|reset-password`, `devices revoke`) and for the running
//! server's `/api/admin/users…` (`crate::http::admin`): checking a new user's fields, and a
//! new password against the policy ([`crate::auth::policy`]) before it is hashed. The store
//! writes each change with its audit entry naming the acting administrator.

use shared::model::{OrgUnitKind, Role, User, UserId};

use super::AdminError;
use crate::auth::{self, Secret, password, policy};
use crate::store::{NewUser, PasswordHash, SqliteStore};

/// Most characters of a phone number.
const PHONE_CHARS: usize = 32;

/// A user to add, as the administrator gives it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewAccount {
    /// Login name: one word.
    pub login: String,
    /// Display name, e.g. 王芳.
    pub name: String,
    /// A role code (`Role::code`).
    pub role: String,
    /// The code of the user's org unit.
    pub org_unit: String,
    /// Phone number printed on the 连心卡 of the enterprises the user is assigned to.
    #[serde(default)]
    pub phone: Option<String>,
}

/// A [`NewAccount`] whose fields were checked, ready to store with a password hash.
#[derive(Debug, Clone)]
pub struct CheckedAccount {
    /// The user, with a fresh id.
    pub user: User,
    /// Their org unit's code.
    pub unit_code: String,
    /// The phone number, trimmed; none when empty.
    pub phone: Option<String>,
}

/// Checks a new user's fields: a known role, an org unit that exists and fits the role, a
/// login of one word, a phone number of digits, spaces, `+` and `-`.
///
/// # Errors
/// [`AdminError::Invalid`] naming what is wrong; [`AdminError::Store`] when the store fails.
pub fn check_account(store: &SqliteStore, a: &NewAccount) -> Result<CheckedAccount, AdminError> {
    let role = Role::from_code(&a.role).map_err(|e| {
        AdminError::Invalid(format!(
            "{e}: use one of {}",
            Role::ALL
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let unit = store
        .org_unit_by_code(&a.org_unit)?
        .ok_or_else(|| AdminError::Invalid(format!("no org unit {:?}", a.org_unit)))?;
    check_unit_for_role(role, unit.unit.kind)?;
    let login = a.login.trim().to_string();
    if login.is_empty() || login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::Invalid(
            "登录名是一个不含空格的词 / a login is one word without spaces".into(),
        ));
    }
    let name = a.name.trim().to_string();
    if name.is_empty() {
        return Err(AdminError::Invalid(
            "姓名不能为空 / a name is needed".into(),
        ));
    }
    let phone = a
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if phone.as_deref().is_some_and(|p| {
        p.chars().count() > PHONE_CHARS
            || !p
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+'))
    }) {
        return Err(AdminError::Invalid(format!(
            "a phone number is at most {PHONE_CHARS} digits, spaces, + and -"
        )));
    }
    Ok(CheckedAccount {
        user: User {
            id: UserId::from_random_bytes(auth::token::random_id_bytes()),
            login,
            name,
            role,
            org_unit: unit.unit.id,
        },
        unit_code: unit.code,
        phone,
    })
}

/// Checks `new` against the password policy for `login` (whose password now is `current`,
/// none for a new account) and hashes it. Slow (argon2): on the server, run it on a hashing
/// thread ([`password::limited`]).
///
/// # Errors
/// [`AdminError::Policy`] naming every rule broken; [`AdminError::Invalid`] when hashing
/// fails.
pub fn new_password(
    new: &Secret,
    login: &str,
    current: Option<&PasswordHash>,
) -> Result<PasswordHash, AdminError> {
    policy::check(new, login, current)?;
    password::hash(new).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// Stores a checked account with its password hash, audited as `actor`'s.
///
/// # Errors
/// [`AdminError::Store`]: a taken login (`Duplicate`), a store failure.
pub fn add_account(
    store: &mut SqliteStore,
    a: &CheckedAccount,
    password_hash: PasswordHash,
    now: shared::model::Timestamp,
    actor: &str,
) -> Result<(), AdminError> {
    let detail = added_detail(a);
    store.create_user(
        &NewUser {
            user: a.user.clone(),
            password_hash,
        },
        a.phone.as_deref(),
        now,
        actor,
        &detail,
    )?;
    Ok(())
}

/// What a `user_added` audit entry says of the user: name, role and org unit.
pub fn added_detail(a: &CheckedAccount) -> String {
    format!("{} {} in {}", a.user.name, a.user.role.code(), a.unit_code)
}

/// Officers and leaders belong to a town or the zone, handlers to a department.
fn check_unit_for_role(role: Role, kind: OrgUnitKind) -> Result<(), AdminError> {
    let ok = match role {
        Role::DepartmentHandler => kind == OrgUnitKind::Department,
        Role::Officer | Role::Leader | Role::Supervisor => kind != OrgUnitKind::Department,
        Role::WindowClerk | Role::Admin => true,
    };
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "a {} belongs to {}",
            role.code(),
            if role == Role::DepartmentHandler {
                "a department"
            } else {
                "a town or the zone"
            }
        )))
    }
}
