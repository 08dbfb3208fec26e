//! Assignments (包联): which officer looks after which enterprise over which period, set,
//! imported, ended and moved from one officer to another in one step; the administrator's
//! end and move (`/api/admin/assignments/…`) are written with their audit entry.

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::model::{Assignment, EnterpriseId, Timestamp, UserId};

use super::*;
use crate::store::audit::{AuditAction, append};
use crate::store::{SqliteStore, StoreError};

impl SqliteStore {
    /// Makes `user` responsible for `enterprise` from `valid_from` (until `valid_to`, when
    /// given). Returns the assignment's row id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user; [`StoreError::Invalid`] when the period is
    /// empty.
    pub fn set_assignment(&mut self, a: &Assignment) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert_assignment(&tx, a)?;
        tx.commit()?;
        Ok(id)
    }

    /// Adds many assignments in one transaction: all or nothing.
    ///
    /// # Errors
    /// As [`SqliteStore::set_assignment`]; nothing is stored then.
    pub fn import_assignments(&mut self, rows: &[Assignment]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for a in rows {
            insert_assignment(&tx, a)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds many assignments (an administrator's import) with the import's
    /// [`AuditAction::Imported`] entry naming `subject` with `detail`, as `actor`'s, in one
    /// transaction: all or nothing (PostgreSQL's `Directory::import_assignments` does the
    /// same).
    ///
    /// # Errors
    /// As [`SqliteStore::set_assignment`]; nothing is stored then.
    pub fn import_assignments_audited(
        &mut self,
        rows: &[Assignment],
        now: Timestamp,
        actor: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for a in rows {
            insert_assignment(&tx, a)?;
        }
        append(&tx, now, actor, AuditAction::Imported, subject, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Ends `user`'s open assignments to `enterprise` at `at`. Returns how many ended.
    pub fn end_assignment(
        &mut self,
        enterprise: EnterpriseId,
        user: UserId,
        at: Timestamp,
    ) -> Result<usize, StoreError> {
        end_in(&self.conn, enterprise, user, at)
    }

    /// Moves an enterprise from one officer to another at `at`, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `from` holds no open assignment of it, or `to` is unknown.
    pub fn move_assignment(
        &mut self,
        enterprise: EnterpriseId,
        from: UserId,
        to: UserId,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = move_in(&tx, enterprise, from, to, at)?;
        tx.commit()?;
        Ok(id)
    }

    /// The users assigned `enterprise` at `at` (open assignments, begun before `at`), by id.
    pub fn assignees(
        &self,
        enterprise: EnterpriseId,
        at: Timestamp,
    ) -> Result<BTreeSet<UserId>, StoreError> {
        assignees_in(&self.conn, enterprise, at)
    }

    /// The administrator's end of `enterprise`'s open assignments at `at`, with its audit
    /// entry naming `actor` and the logins whose assignment ended, in one transaction. Returns
    /// those users.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the enterprise has no open assignment.
    pub fn end_assignments_audited(
        &mut self,
        enterprise: EnterpriseId,
        at: Timestamp,
        actor: &str,
    ) -> Result<BTreeSet<UserId>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let users = assignees_in(&tx, enterprise, at)?;
        if users.is_empty() {
            return Err(StoreError::NotFound {
                what: "open assignment of enterprise",
                key: enterprise.to_string(),
            });
        }
        for user in &users {
            end_in(&tx, enterprise, *user, at)?;
        }
        let logins = logins_of(&tx, &users)?;
        append(
            &tx,
            at,
            actor,
            AuditAction::AssignmentEnded,
            &enterprise.to_string(),
            &logins.join(","),
        )?;
        tx.commit()?;
        Ok(users)
    }

    /// The administrator's move of `enterprise` to `to` at `at`, from the assignee
    /// [`moved_from`] picks among its open ones (`from` when given), with its audit entry
    /// naming `actor`, in one transaction (PostgreSQL's `Directory::move_assignment` does the
    /// same).
    ///
    /// # Errors
    /// As [`moved_from`]; [`StoreError::NotFound`] when `to` is unknown.
    pub fn move_assignment_audited(
        &mut self,
        enterprise: EnterpriseId,
        from: Option<UserId>,
        to: UserId,
        at: Timestamp,
        actor: &str,
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from = moved_from(enterprise, &assignees_in(&tx, enterprise, at)?, from, to)?;
        let id = move_in(&tx, enterprise, from, to, at)?;
        let detail = format!(
            "{} -> {}",
            logins_of(&tx, &BTreeSet::from([from]))?.concat(),
            logins_of(&tx, &BTreeSet::from([to]))?.concat()
        );
        append(
            &tx,
            at,
            actor,
            AuditAction::AssignmentMoved,
            &enterprise.to_string(),
            &detail,
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The enterprises assigned to `user` at `now`.
    pub fn active_assignments(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT enterprise FROM assignments WHERE user = ?1 \
                 AND valid_from <= ?2 AND (valid_to IS NULL OR ?2 < valid_to)",
            )?
            .query_map(params![user.to_string(), now.0], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| EnterpriseId::parse(id).map_err(|e| corrupt("assignments", e)))
            .collect()
    }

    /// Every assignment, past, present and future, by enterprise then start.
    pub fn list_assignments(&self) -> Result<Vec<AssignmentEntry>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, enterprise, user, valid_from, valid_to FROM assignments \
                 ORDER BY enterprise, valid_from, id",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(to_assignment).collect()
    }
}

/// Ends `user`'s open assignments to `enterprise` at `at` inside `tx`; returns how many.
pub(super) fn end_in(
    tx: &rusqlite::Connection,
    enterprise: EnterpriseId,
    user: UserId,
    at: Timestamp,
) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE assignments SET valid_to = ?3 WHERE enterprise = ?1 AND user = ?2 \
             AND valid_from < ?3 AND (valid_to IS NULL OR valid_to > ?3)",
        )?
        .execute(params![enterprise.to_string(), user.to_string(), at.0])?)
}

/// The move of [`SqliteStore::move_assignment`] inside `tx`.
fn move_in(
    tx: &rusqlite::Transaction<'_>,
    enterprise: EnterpriseId,
    from: UserId,
    to: UserId,
    at: Timestamp,
) -> Result<i64, StoreError> {
    if end_in(tx, enterprise, from, at)? == 0 {
        return Err(StoreError::NotFound {
            what: "assignment",
            key: format!("{enterprise} of {from}"),
        });
    }
    insert_assignment(
        tx,
        &Assignment {
            enterprise,
            user: to,
            valid_from: at,
            valid_to: None,
        },
    )
}

/// The users assigned `enterprise` at `at`.
pub(super) fn assignees_in(
    conn: &rusqlite::Connection,
    enterprise: EnterpriseId,
    at: Timestamp,
) -> Result<BTreeSet<UserId>, StoreError> {
    let ids = conn
        .prepare_cached(
            "SELECT DISTINCT user FROM assignments WHERE enterprise = ?1 \
             AND valid_from < ?2 AND (valid_to IS NULL OR ?2 < valid_to)",
        )?
        .query_map(params![enterprise.to_string(), at.0], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    ids.iter()
        .map(|id| UserId::parse(id).map_err(|e| corrupt("assignments", e)))
        .collect()
}

/// The logins of `users`, in their order.
pub(super) fn logins_of(
    conn: &rusqlite::Connection,
    users: &BTreeSet<UserId>,
) -> Result<Vec<String>, StoreError> {
    let mut logins = Vec::with_capacity(users.len());
    for user in users {
        let login: Option<String> = conn
            .prepare_cached("SELECT login FROM users WHERE id = ?1")?
            .query_row([user.to_string()], |r| r.get(0))
            .optional()?;
        logins.push(login.unwrap_or_else(|| user.to_string()));
    }
    Ok(logins)
}

/// Whom a move of `enterprise` to `to` takes it from, among its `open` assignees at the
/// move: `from` when given, else its one assignee. Both backends decide a move by it, inside
/// the move's transaction.
///
/// # Errors
/// [`StoreError::NotFound`] when it has no open assignee, or `from` is not one;
/// [`StoreError::Invalid`] when it has several and no `from` is given, or it moves to whom it
/// is already assigned.
pub(crate) fn moved_from(
    enterprise: EnterpriseId,
    open: &BTreeSet<UserId>,
    from: Option<UserId>,
    to: UserId,
) -> Result<UserId, StoreError> {
    let from = match from {
        Some(from) if open.contains(&from) => from,
        Some(from) => {
            return Err(StoreError::NotFound {
                what: "assignment",
                key: format!("{enterprise} of {from}"),
            });
        }
        None => {
            let mut open = open.iter();
            match (open.next(), open.next()) {
                (Some(one), None) => *one,
                (None, _) => {
                    return Err(StoreError::NotFound {
                        what: "open assignment of enterprise",
                        key: enterprise.to_string(),
                    });
                }
                (Some(_), Some(_)) => {
                    return Err(StoreError::Invalid(
                        "该企业有多名包联干部，请指明 from / the enterprise is assigned to \
                         several users: name the one it moves from (from)"
                            .into(),
                    ));
                }
            }
        }
    };
    if from == to {
        return Err(StoreError::Invalid(
            "已由该干部包联 / the enterprise is already that user's".into(),
        ));
    }
    Ok(from)
}

/// Refuses an assignment whose period is empty (it ends before it starts): both backends
/// check it before storing one.
///
/// # Errors
/// [`StoreError::Invalid`] naming the enterprise and the two times.
pub(crate) fn period_checked(a: &Assignment) -> Result<(), StoreError> {
    if a.valid_to.is_some_and(|to| to <= a.valid_from) {
        return Err(StoreError::Invalid(format!(
            "the assignment of {} ends ({}) before it starts ({})",
            a.enterprise,
            a.valid_to.map_or(0, |t| t.0),
            a.valid_from.0
        )));
    }
    Ok(())
}

pub(super) fn insert_assignment(
    tx: &rusqlite::Connection,
    a: &Assignment,
) -> Result<i64, StoreError> {
    period_checked(a)?;
    let known: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
        .query_row([a.user.to_string()], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound {
            what: "user",
            key: a.user.to_string(),
        });
    }
    tx.prepare_cached(
        "INSERT INTO assignments (enterprise, user, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        a.enterprise.to_string(),
        a.user.to_string(),
        a.valid_from.0,
        a.valid_to.map(|t| t.0)
    ])?;
    Ok(tx.last_insert_rowid())
}
