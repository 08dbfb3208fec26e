//! The administrator's end and move of an enterprise's assignments (包联) on PostgreSQL
//! ([`crate::db::Directory`]'s `end_assignments` and `move_assignment`), as SQLite's
//! (`store/directory/assignments.rs`): each one transaction with its audit entry. Several
//! servers share the database, so each first locks the enterprise's current and future
//! assignment rows `FOR UPDATE`, then reads its open assignees afresh: of two moves of one
//! enterprise at once, the later waits for the earlier and sees its result, and one current
//! assignment is left.

use std::collections::BTreeSet;

use deadpool_postgres::Transaction;
use shared::model::{EnterpriseId, Timestamp, UserId};

use super::PgDb;
use super::audit::append;
use super::directory::corrupt;
use crate::store::{AuditAction, StoreError, moved_from};

/// Locks `enterprise`'s assignment rows not ended by `at`, then answers its assignees at
/// `at` as committed once the lock is held.
async fn locked_assignees(
    tx: &Transaction<'_>,
    enterprise: &str,
    at: Timestamp,
) -> Result<BTreeSet<UserId>, StoreError> {
    tx.query(
        "SELECT id FROM assignments WHERE enterprise = $1 \
         AND (valid_to IS NULL OR valid_to > $2) FOR UPDATE",
        &[&enterprise, &at.0],
    )
    .await?;
    // A statement of its own: its snapshot is taken after the lock was granted.
    let rows = tx
        .query(
            "SELECT DISTINCT user_id FROM assignments WHERE enterprise = $1 \
             AND valid_from < $2 AND (valid_to IS NULL OR $2 < valid_to)",
            &[&enterprise, &at.0],
        )
        .await?;
    rows.iter()
        .map(|r| UserId::parse(r.get::<_, &str>(0)).map_err(|e| corrupt("assignments", e)))
        .collect()
}

/// Ends `user`'s open assignments to `enterprise` at `at`; returns how many.
async fn end_of(
    tx: &Transaction<'_>,
    enterprise: &str,
    user: UserId,
    at: Timestamp,
) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            "UPDATE assignments SET valid_to = $3 WHERE enterprise = $1 AND user_id = $2 \
             AND valid_from < $3 AND (valid_to IS NULL OR valid_to > $3)",
            &[&enterprise, &user.to_string(), &at.0],
        )
        .await?)
}

/// The logins of `users`, in their order (an unknown one by its id).
async fn logins_of(
    tx: &Transaction<'_>,
    users: &BTreeSet<UserId>,
) -> Result<Vec<String>, StoreError> {
    let mut logins = Vec::with_capacity(users.len());
    for user in users {
        let id = user.to_string();
        let row = tx
            .query_opt("SELECT login FROM users WHERE id = $1", &[&id])
            .await?;
        logins.push(row.map_or(id, |r| r.get(0)));
    }
    Ok(logins)
}

impl PgDb {
    /// `Directory::end_assignments`.
    pub(super) async fn end_assigned(
        &self,
        enterprise: EnterpriseId,
        at: Timestamp,
        actor: &str,
    ) -> Result<BTreeSet<UserId>, StoreError> {
        let key = enterprise.to_string();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let users = locked_assignees(&tx, &key, at).await?;
        if users.is_empty() {
            return Err(StoreError::NotFound {
                what: "open assignment of enterprise",
                key,
            });
        }
        for user in &users {
            end_of(&tx, &key, *user, at).await?;
        }
        let detail = logins_of(&tx, &users).await?.join(",");
        append(&tx, at, actor, AuditAction::AssignmentEnded, &key, &detail).await?;
        tx.commit().await?;
        Ok(users)
    }

    /// `Directory::move_assignment`.
    pub(super) async fn move_assigned(
        &self,
        enterprise: EnterpriseId,
        from: Option<UserId>,
        to: UserId,
        at: Timestamp,
        actor: &str,
    ) -> Result<(), StoreError> {
        let key = enterprise.to_string();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let open = locked_assignees(&tx, &key, at).await?;
        let from = moved_from(enterprise, &open, from, to)?;
        let to_id = to.to_string();
        if tx
            .query_opt("SELECT 1 FROM users WHERE id = $1", &[&to_id])
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound {
                what: "user",
                key: to_id,
            });
        }
        if end_of(&tx, &key, from, at).await? == 0 {
            return Err(StoreError::NotFound {
                what: "assignment",
                key: format!("{enterprise} of {from}"),
            });
        }
        tx.execute(
            "INSERT INTO assignments (enterprise, user_id, valid_from, valid_to) \
             VALUES ($1, $2, $3, NULL)",
            &[&key, &to_id, &at.0],
        )
        .await?;
        let detail = format!(
            "{} -> {}",
            logins_of(&tx, &BTreeSet::from([from])).await?.concat(),
            logins_of(&tx, &BTreeSet::from([to])).await?.concat()
        );
        append(&tx, at, actor, AuditAction::AssignmentMoved, &key, &detail).await?;
        tx.commit().await?;
        Ok(())
    }
}
