//! The administrator's changes to assignments (包联) beyond imports: an enterprise's open
//! assignments ended, or the enterprise moved to another officer, each written with its audit
//! entry (`/api/admin/assignments/{enterprise}/end|move`); and the rules both these and the
//! assignment import check — who may be assigned an enterprise, and how an enterprise is named.
//! The devices of the officers concerned follow at their next sync (re-scoping,
//! `crate::sync`): the enterprise's history arrives on the new officer's phone and leaves the
//! old one's.

use std::collections::BTreeSet;

use shared::model::{CreditCode, EnterpriseId, Role, Timestamp, UserId};

use super::AdminError;
use super::accounts::DirectoryFacts;
use crate::store::{SqliteStore, StoreError};

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
    Ok(match store.user_by_login(login)? {
        Some(u) if assignable(u.user.role) => Ok(u.user.id),
        Some(u) => Err(format!(
            "{login} is a {}: only officers and leaders are assigned enterprises",
            u.user.role.code()
        )),
        None => Err(format!("no user {login:?}")),
    })
}

/// The enterprise `name` names: its id, or its credit code when stored.
///
/// # Errors
/// [`StoreError::NotFound`] when it names none.
pub fn enterprise(store: &SqliteStore, name: &str) -> Result<EnterpriseId, AdminError> {
    if let Ok(id) = EnterpriseId::parse(name) {
        return Ok(id);
    }
    let found = match CreditCode::parse(name) {
        Ok(code) => store.enterprise_by_credit_code(code.as_str())?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        AdminError::Store(StoreError::NotFound {
            what: "enterprise",
            key: name.to_string(),
        })
    })
}

/// Ends every open assignment of `enterprise` at `now`, audited as `actor`'s. Returns the
/// users whose assignment ended.
///
/// # Errors
/// [`StoreError::NotFound`] when it has none.
pub fn end(
    store: &mut SqliteStore,
    enterprise: EnterpriseId,
    now: Timestamp,
    actor: &str,
) -> Result<BTreeSet<UserId>, AdminError> {
    Ok(store.end_assignments_audited(enterprise, now, actor)?)
}

/// Moves `enterprise` to `to` at `now`, audited as `actor`'s, from its one open assignee (or
/// from `from` when given: the enterprise may be assigned to several).
///
/// # Errors
/// [`AdminError::Invalid`] when `to` may not be assigned enterprises, or no `from` is given
/// while the enterprise has several assignees; [`StoreError::NotFound`] when it has none, or
/// none of `from`.
pub fn move_to(
    store: &mut SqliteStore,
    enterprise: EnterpriseId,
    from: Option<&str>,
    to: &str,
    now: Timestamp,
    actor: &str,
) -> Result<(), AdminError> {
    let to = assignee(&*store, to)?.map_err(AdminError::Invalid)?;
    let from = match from {
        Some(login) => {
            store
                .find_user_by_login(login)?
                .ok_or_else(|| {
                    AdminError::Store(StoreError::NotFound {
                        what: "user",
                        key: login.to_string(),
                    })
                })?
                .user
                .id
        }
        None => {
            let open = store.assignees(enterprise, now)?;
            let mut open = open.into_iter();
            match (open.next(), open.next()) {
                (Some(one), None) => one,
                (None, _) => {
                    return Err(AdminError::Store(StoreError::NotFound {
                        what: "open assignment of enterprise",
                        key: enterprise.to_string(),
                    }));
                }
                (Some(_), Some(_)) => {
                    return Err(AdminError::Invalid(
                        "该企业有多名包联干部，请指明 from / the enterprise is assigned to \
                         several users: name the one it moves from (from)"
                            .into(),
                    ));
                }
            }
        }
    };
    if from == to {
        return Err(AdminError::Invalid(
            "已由该干部包联 / the enterprise is already that user's".into(),
        ));
    }
    store.move_assignment_audited(enterprise, from, to, now, actor)?;
    Ok(())
}
