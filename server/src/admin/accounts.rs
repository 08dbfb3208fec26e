//! Accounts as the administrator manages them (账号管理), one implementation for the command
//! line (`users add|disable|enable|reset-password`, `devices revoke`) and for the running
//! server's `/api/admin/users…` (`crate::http::admin`) on either database: checking a new
//! user's fields against the directory's facts ([`DirectoryFacts`]: the SQLite store for the
//! command line, a [`Listing`] read through [`crate::db::Directory`] for the server), and a
//! new password against the policy ([`crate::auth::policy`]) before it is hashed. The store
//! writes each change with its audit entry naming the acting administrator.

use std::collections::BTreeMap;

use shared::model::{EnterpriseId, OrgUnitKind, Role, Timestamp, User, UserId};

use super::AdminError;
use crate::auth::{self, Secret, password, policy};
use crate::store::{
    ImportedUser, NewUser, OrgUnitEntry, PasswordHash, SqliteStore, StoreError, UserRecord,
};

/// What the administrator's checks look up in the directory.
pub trait DirectoryFacts {
    /// The org unit whose CSV code is `code`, if any.
    ///
    /// # Errors
    /// The store failed.
    fn org_unit_by_code(&self, code: &str) -> Result<Option<OrgUnitEntry>, StoreError>;

    /// The person whose login is `login`, if any (a disabled one too).
    ///
    /// # Errors
    /// The store failed.
    fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError>;

    /// The enterprise profile whose credit code is `code` (not one merged into another), if
    /// any.
    ///
    /// # Errors
    /// The store failed.
    fn enterprise_by_credit_code(&self, code: &str) -> Result<Option<EnterpriseId>, StoreError>;
}

impl DirectoryFacts for SqliteStore {
    fn org_unit_by_code(&self, code: &str) -> Result<Option<OrgUnitEntry>, StoreError> {
        SqliteStore::org_unit_by_code(self, code)
    }

    fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        self.find_user_by_login(login)
    }

    fn enterprise_by_credit_code(&self, code: &str) -> Result<Option<EnterpriseId>, StoreError> {
        SqliteStore::enterprise_by_credit_code(self, code)
    }
}

/// Every org unit and person as [`crate::db::Directory::listing`] read them (one snapshot),
/// and the enterprises a file names by credit code
/// ([`crate::db::Directory::enterprises_by_credit_code`]): what the server checks an addition
/// against, on either database.
#[derive(Debug, Default)]
pub struct Listing {
    /// The org units.
    pub units: Vec<OrgUnitEntry>,
    /// The people.
    pub users: Vec<UserRecord>,
    /// Enterprise profiles by credit code (those asked for).
    pub enterprises: BTreeMap<String, EnterpriseId>,
}

impl DirectoryFacts for Listing {
    fn org_unit_by_code(&self, code: &str) -> Result<Option<OrgUnitEntry>, StoreError> {
        Ok(self.units.iter().find(|u| u.code == code).cloned())
    }

    fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users.iter().find(|u| u.user.login == login).cloned())
    }

    fn enterprise_by_credit_code(&self, code: &str) -> Result<Option<EnterpriseId>, StoreError> {
        Ok(self.enterprises.get(code).copied())
    }
}

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
pub fn check_account(
    store: &dyn DirectoryFacts,
    a: &NewAccount,
) -> Result<CheckedAccount, AdminError> {
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
    now: Timestamp,
    actor: &str,
) -> Result<(), AdminError> {
    store.create_users(&[added(a, password_hash)], now, actor, None)?;
    Ok(())
}

/// The row that adds a checked account with its password hash, audited as `users add` is
/// ([`added_detail`]).
pub fn added(a: &CheckedAccount, password_hash: PasswordHash) -> ImportedUser {
    ImportedUser {
        new: NewUser {
            user: a.user.clone(),
            password_hash,
        },
        phone: a.phone.clone(),
        detail: added_detail(a),
    }
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
