//! The administrator's changes to assignments (包联) beyond imports: an enterprise's open
//! assignments ended, or the enterprise moved to another officer, each written with its audit
//! entry (`/api/admin/assignments/{enterprise}/end|move`); and the rules both these and the
//! assignment import check — who may be assigned an enterprise, and how an enterprise is named.
//! The end and the move themselves are [`crate::db::Directory`]'s `end_assignments` and
//! `move_assignment` on either backend; whom a move takes the enterprise from is
//! `crate::store::moved_from`, decided inside the move's transaction.
//! The devices of the officers concerned follow at their next sync (re-scoping,
//! `crate::sync`): the enterprise's history arrives on the new officer's phone and leaves the
//! old one's.

use shared::model::{CreditCode, EnterpriseId, Role, UserId};

use super::AdminError;
use super::accounts::DirectoryFacts;
use crate::store::{StoreError, UserRecord};

/// Whether a user of `role` may be assigned enterprises: officers and leaders.
pub fn assignable(role: Role) -> bool {
    matches!(role, Role::Officer | Role::Leader)
}

/// The user `login` if they may be assigned enterprises, else why not.
///
/// # Errors
/// The reason, for the administrator; [`AdminError::Store`] when the store fails.
pub fn assignee(
    store: &dyn DirectoryFacts,
    login: &str,
) -> Result<Result<UserId, String>, AdminError> {
    Ok(assignee_of(login, store.user_by_login(login)?.as_ref()))
}

/// `found`, the user `login` names, if they may be assigned enterprises, else why not.
///
/// # Errors
/// The reason, for the administrator.
pub fn assignee_of(login: &str, found: Option<&UserRecord>) -> Result<UserId, String> {
    match found {
        Some(u) if assignable(u.user.role) => Ok(u.user.id),
        Some(u) => Err(format!(
            "{login} is a {}: only officers and leaders are assigned enterprises",
            u.user.role.code()
        )),
        None => Err(format!("no user {login:?}")),
    }
}

/// How the administrator names an enterprise: by its id, or by its credit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterpriseName {
    /// Its id.
    Id(EnterpriseId),
    /// Its credit code, to be looked up.
    CreditCode(String),
}

impl EnterpriseName {
    /// What `name` names.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is neither an id nor a credit code.
    pub fn parse(name: &str) -> Result<Self, AdminError> {
        if let Ok(id) = EnterpriseId::parse(name) {
            return Ok(Self::Id(id));
        }
        match CreditCode::parse(name) {
            Ok(code) => Ok(Self::CreditCode(code.as_str().to_string())),
            Err(_) => Err(no_enterprise(name)),
        }
    }
}

/// The refusal of a name that names no enterprise.
pub fn no_enterprise(name: &str) -> AdminError {
    AdminError::Store(StoreError::NotFound {
        what: "enterprise",
        key: name.to_string(),
    })
}
